//! A producer session: one librdkafka producer instance whose every delivery report is
//! classified as the history needs it.
//!
//! librdkafka itself knows whether a failed message may have been written: each
//! delivery report carries a persistence status (`rd_kafka_message_status`:
//! NOT_PERSISTED, POSSIBLY_PERSISTED, PERSISTED). The history's `fail` must mean "certainly
//! not written", so only NOT_PERSISTED becomes `fail` ([`certainly_not_written`], which
//! also distrusts it for a message that timed out); everything else uncertain is `info`.
//! With `enable.idempotence=true` librdkafka retries internally with the same producer id
//! and sequence numbers (KIP-98), which is exactly what the run tests.
//!
//! Delivery reports are served by the sending task itself, woken through
//! [`MainQueueSignal`] when one arrives, rather than by a polling thread per producer.

use std::time::Duration;

use rdkafka::bindings::rd_kafka_msg_status_t as MsgStatus;
use rdkafka::client::Client;
use rdkafka::config::ClientConfig;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::client_error::is_misconfiguration;
use super::queue_signal::MainQueueSignal;

/// The longest a send waits for a wake-up before serving the queue again anyway: a
/// wake-up can only be missed if an event was left in the queue, and this bounds what
/// that costs.
const RECHECK: Duration = Duration::from_millis(50);

/// The most events one pass serves, so a flood of events cannot hold the task.
const EVENTS_PER_PASS: usize = 64;

/// How one send ended, as the history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Acknowledged; the offset is `None` when the broker did not say (acks=0).
    Ok {
        /// Where the broker wrote the record.
        offset: Option<i64>,
    },
    /// Certainly not written (librdkafka: NOT_PERSISTED).
    Fail {
        /// The client's error.
        error: String,
        /// The error says the client cannot work as configured
        /// ([`super::client_error::is_misconfiguration`]): the run must stop.
        misconfigured: bool,
    },
    /// Maybe written: possibly persisted, timed out, or the client went away.
    Info {
        /// The client's error or why we gave up waiting.
        error: String,
        /// As for `Fail`.
        misconfigured: bool,
    },
}

impl SendOutcome {
    /// The client's error when it means the run cannot go on.
    pub fn misconfiguration(&self) -> Option<&str> {
        match self {
            SendOutcome::Fail {
                error,
                misconfigured: true,
            }
            | SendOutcome::Info {
                error,
                misconfigured: true,
            } => Some(error),
            _ => None,
        }
    }
}

/// Client options the run relies on; each is set explicitly (never a librdkafka default).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// `bootstrap.servers`.
    pub bootstrap: String,
    /// `acks`: "0", "1" or "all".
    pub acks: String,
    /// `enable.idempotence` (KIP-98).
    pub idempotence: bool,
    /// `message.timeout.ms`: how long librdkafka keeps retrying one message.
    pub message_timeout: Duration,
    /// `request.timeout.ms`: one produce request's timeout.
    pub request_timeout: Duration,
    /// Extra librdkafka settings (`--client-config`), applied after samsa's own.
    pub extra: Vec<(String, String)>,
}

/// Whether a failed delivery report proves the record was not written: librdkafka says
/// NOT_PERSISTED, and the failure is not a message timeout.
///
/// librdkafka counts a produce answered NOT_LEADER_OR_FOLLOWER as not persisted, but a
/// leader answers so also for a record it had appended and was holding for acks=all when
/// it lost the leadership (Kafka's DelayedProduce; broker-under-test does the same), and
/// the new leader may already hold that record and commit it. A message retried through
/// such answers until `message.timeout.ms` then fails as NOT_PERSISTED while it sits in
/// the log: found under packet loss (`harness/tests/e2e_faults.rs`), offset 54 of key 0
/// appended by n2, copied by n3, answered NOT_LEADER_OR_FOLLOWER by n2 when n3 took
/// over, later read by every consumer. A timed-out message is therefore of unknown
/// outcome; other NOT_PERSISTED failures (a refused topic, a record too large) are
/// answered before any append.
pub fn certainly_not_written(status: MsgStatus, error: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    let timed_out = matches!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
    );
    status == MsgStatus::RD_KAFKA_MSG_STATUS_NOT_PERSISTED && !timed_out
}

/// Routes each delivery report to the task waiting for it.
struct ReportRouter;

impl ClientContext for ReportRouter {}

impl ProducerContext for ReportRouter {
    type DeliveryOpaque = Box<oneshot::Sender<SendOutcome>>;

    fn delivery(&self, result: &DeliveryResult<'_>, reply: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => {
                let offset = message.offset();
                SendOutcome::Ok {
                    offset: (offset >= 0).then_some(offset),
                }
            }
            Err((error, message)) => {
                // SAFETY: `message.ptr()` is the live rd_kafka_message_t of this delivery
                // report, valid for the duration of this callback; the call only reads it.
                let status = unsafe { rdkafka::bindings::rd_kafka_message_status(message.ptr()) };
                let misconfigured = is_misconfiguration(error);
                let certain = certainly_not_written(status, error);
                let error = error.to_string();
                if certain {
                    SendOutcome::Fail {
                        error,
                        misconfigured,
                    }
                } else {
                    SendOutcome::Info {
                        error,
                        misconfigured,
                    }
                }
            }
        };
        // The waiting task may have given up (its own timeout); then nobody needs this
        // report, and the send is already recorded as `info`.
        if reply.send(outcome).is_err() {
            tracing::debug!("delivery report arrived after its sender gave up");
        }
    }
}

/// One producer instance (one "producer session" in the history).
pub struct ProducerSession {
    /// Declared before `producer`: it holds a reference to the producer's queue and must
    /// be released first.
    signal: MainQueueSignal,
    producer: BaseProducer<ReportRouter>,
    /// The session id recorded in the history's `producer` field.
    pub session: u64,
    topic: String,
    wait_max: Duration,
}

impl ProducerSession {
    /// Creates a producer; `session` is the harness's id for it.
    pub fn new(
        options: &ProducerOptions,
        topic: &str,
        session: u64,
    ) -> Result<ProducerSession, rdkafka::error::KafkaError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &options.bootstrap)
            .set("client.id", format!("samsa-producer-{session}"))
            .set("acks", &options.acks)
            .set("enable.idempotence", options.idempotence.to_string())
            .set("max.in.flight.requests.per.connection", "5")
            .set("retries", "2147483647")
            .set("retry.backoff.ms", "50")
            .set("linger.ms", "0")
            .set("compression.type", "none")
            .set(
                "message.timeout.ms",
                options.message_timeout.as_millis().to_string(),
            )
            .set(
                "request.timeout.ms",
                options.request_timeout.as_millis().to_string(),
            )
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "500")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .set("log_level", "3");
        for (key, value) in &options.extra {
            config.set(key, value);
        }
        let producer: BaseProducer<ReportRouter> = config.create_with_context(ReportRouter)?;
        // SAFETY: `signal` is dropped before `producer` (field order of ProducerSession).
        let signal = unsafe { MainQueueSignal::install(Client::native_ptr(producer.client())) };
        Ok(ProducerSession {
            signal,
            producer,
            session,
            topic: topic.to_owned(),
            // librdkafka reports every message by message.timeout.ms; the margin covers
            // a report delayed by a paused broker or a slow machine.
            wait_max: options.message_timeout + Duration::from_secs(5),
        })
    }

    /// Sends `value` to `partition` and waits for its delivery report.
    pub async fn send(&self, partition: i32, value: i64) -> SendOutcome {
        let (reply, report) = oneshot::channel();
        let payload = value.to_string();
        let record = BaseRecord::with_opaque_to(&self.topic, Box::new(reply))
            .partition(partition)
            .payload(&payload);
        if let Err((error, _record)) = self.producer.send::<(), String>(record) {
            // Refused before it left the client (queue full, unknown partition): the
            // record was never handed to a broker.
            return SendOutcome::Fail {
                misconfigured: is_misconfiguration(&error),
                error: error.to_string(),
            };
        }
        self.await_report(report).await
    }

    /// Serves the producer's event queue until `report` is filled, waking on the queue's
    /// signal; gives up (as `info`) after `wait_max`.
    async fn await_report(&self, mut report: oneshot::Receiver<SendOutcome>) -> SendOutcome {
        let deadline = Instant::now() + self.wait_max;
        loop {
            self.serve_events();
            match report.try_recv() {
                Ok(outcome) => return outcome,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return SendOutcome::Info {
                        error: "the producer dropped the delivery report".into(),
                        misconfigured: false,
                    }
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return SendOutcome::Info {
                    error: format!("no delivery report within {:?}", self.wait_max),
                    misconfigured: false,
                };
            }
            let wait = RECHECK.min(deadline - now);
            // Timing out here is not an outcome: the loop serves the queue and looks again.
            let _ = tokio::time::timeout(wait, self.signal.became_non_empty()).await;
        }
    }

    /// Runs the callbacks of the events waiting in the queue (delivery reports, errors),
    /// without waiting. Emptying the queue is what re-arms its non-empty signal.
    fn serve_events(&self) {
        for _ in 0..EVENTS_PER_PASS {
            if self.signal.is_empty() {
                return;
            }
            self.producer.poll(Duration::ZERO);
        }
    }

    /// Waits (bounded) for outstanding messages before the session is dropped.
    pub fn close(&self, wait: Duration) {
        if let Err(e) = self.producer.flush(wait) {
            tracing::debug!(session = self.session, "producer flush on close: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};

    // Goal: only a NOT_PERSISTED failure that is not a timeout counts as certainly not
    // written; a timed-out message may sit in the log (a leader that appended it answered
    // NOT_LEADER_OR_FOLLOWER, which librdkafka counts as not persisted). Method: the
    // statuses against a timeout and a refusal.
    #[test]
    fn a_timed_out_message_is_never_certainly_unwritten() {
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let not = MsgStatus::RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
        let maybe = MsgStatus::RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
        assert!(certainly_not_written(not, &refused));
        assert!(!certainly_not_written(not, &timeout));
        assert!(!certainly_not_written(maybe, &refused));
        assert!(!certainly_not_written(maybe, &timeout));
    }
}
