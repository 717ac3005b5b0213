//! Which client errors end a run instead of being recorded as one more failed operation.
//!
//! Faults make operations fail in ways the history must keep: a timed-out produce is
//! `info`, a NOT_LEADER answer is retried, a fenced idempotent producer is evidence about
//! the broker. But some errors say that this client, configured like this, can never do
//! anything against this broker: librdkafka refusing a setting (`enable.idempotence=true`
//! with `acks=1`, an unknown property), the broker refusing the client's credentials or
//! its right to the topic, or the producer's `acks` value. No fault causes these, and a
//! run that only records them tests nothing, so the run stops (exit 4) with the client's
//! own message.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Broker and librdkafka error codes that mean "misconfigured", never "faulty network or
/// broker": authorization and authentication (Kafka's ACLs and SASL), invalid settings.
const MISCONFIGURATION_CODES: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::TopicAuthorizationFailed,
    RDKafkaErrorCode::GroupAuthorizationFailed,
    RDKafkaErrorCode::ClusterAuthorizationFailed,
    RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
    RDKafkaErrorCode::SaslAuthenticationFailed,
    RDKafkaErrorCode::Authentication,
    RDKafkaErrorCode::SecurityDisabled,
    RDKafkaErrorCode::InvalidRequiredAcks,
    RDKafkaErrorCode::InvalidConfig,
    RDKafkaErrorCode::InvalidArgument,
];

/// True when `error` means the client cannot work as configured (see the module
/// documentation); false for everything a fault or a broker bug can cause.
pub fn is_misconfiguration(error: &KafkaError) -> bool {
    match error {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => true,
        other => other
            .rdkafka_error_code()
            .is_some_and(|code| MISCONFIGURATION_CODES.contains(&code)),
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaConfRes;

    use super::*;

    // Goal: settings and authorization errors stop the run; fault-shaped errors do not.
    #[test]
    fn misconfiguration_is_told_apart_from_faults() {
        assert!(is_misconfiguration(&KafkaError::ClientCreation(
            "`acks` must be set to `all` when `enable.idempotence` is true".into()
        )));
        assert!(is_misconfiguration(&KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN,
            "No such configuration property".into(),
            "bogus".into(),
            "1".into()
        )));
        assert!(is_misconfiguration(&KafkaError::MessageProduction(
            RDKafkaErrorCode::TopicAuthorizationFailed
        )));
        for fault in [
            RDKafkaErrorCode::RequestTimedOut,
            RDKafkaErrorCode::NotLeaderForPartition,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::NotEnoughReplicas,
            RDKafkaErrorCode::OutOfOrderSequenceNumber,
            RDKafkaErrorCode::Fatal,
        ] {
            assert!(
                !is_misconfiguration(&KafkaError::MessageProduction(fault)),
                "{fault:?}"
            );
        }
        assert!(!is_misconfiguration(&KafkaError::Canceled));
    }
}
