//! A producer session: one librdkafka producer instance whose every delivery report is
//! classified as the history needs it.
//!
//! librdkafka itself knows whether a failed message may have been written: each
//! delivery report carries a persistence status (`rd_kafka_message_status`:
//! NOT_PERSISTED, POSSIBLY_PERSISTED, PERSISTED). The history's `fail` must mean "certainly
//! not written", so only NOT_PERSISTED becomes `fail`; everything else uncertain is `info`.
//! With `enable.idempotence=true` librdkafka retries internally with the same producer id
//! and sequence numbers (KIP-98), which is exactly what the run tests.

use std::time::Duration;

use rdkafka::bindings::rd_kafka_msg_status_t as MsgStatus;
use rdkafka::config::ClientConfig;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use tokio::sync::oneshot;

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
    },
    /// Maybe written: possibly persisted, timed out, or the client went away.
    Info {
        /// The client's error or why we gave up waiting.
        error: String,
    },
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
                let error = error.to_string();
                if status == MsgStatus::RD_KAFKA_MSG_STATUS_NOT_PERSISTED {
                    SendOutcome::Fail { error }
                } else {
                    SendOutcome::Info { error }
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
    producer: ThreadedProducer<ReportRouter>,
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
        let producer: ThreadedProducer<ReportRouter> = ClientConfig::new()
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
            .set("log_level", "3")
            .create_with_context(ReportRouter)?;
        Ok(ProducerSession {
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
                error: error.to_string(),
            };
        }
        match tokio::time::timeout(self.wait_max, report).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_dropped)) => SendOutcome::Info {
                error: "the producer dropped the delivery report".into(),
            },
            Err(_elapsed) => SendOutcome::Info {
                error: format!("no delivery report within {:?}", self.wait_max),
            },
        }
    }

    /// Waits (bounded) for outstanding messages before the session is dropped.
    pub fn close(&self, wait: Duration) {
        if let Err(e) = self.producer.flush(wait) {
            tracing::debug!(session = self.session, "producer flush on close: {e}");
        }
    }
}
