//! A consumer: assigns partitions (no consumer group, no committed offsets) and polls
//! them, returning each poll as the `(offset, value)` runs the history records.
//!
//! Manual assignment keeps the consumer's position entirely in the client, so the only
//! thing under test is the broker's log (Fetch and ListOffsets), not group coordination.
//! A poll takes what librdkafka has already fetched, bounded in records; when nothing is
//! there it waits (up to `poll_wait`) for librdkafka's signal that a fetch has landed,
//! on the calling task, without a thread blocked in librdkafka.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

/// What one poll returned: per partition, `(offset, value)` in the order received.
pub type PollResult = BTreeMap<i32, Vec<(i64, i64)>>;

/// Consumer options the run relies on, each set explicitly.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// `bootstrap.servers`.
    pub bootstrap: String,
    /// How long one poll waits for the first record.
    pub poll_wait: Duration,
    /// The most records one poll returns.
    pub records_max: usize,
    /// Extra librdkafka settings (`--client-config`), applied after samsa's own.
    pub extra: Vec<(String, String)>,
}

/// How long resolving one partition's start offset (ListOffsets) may take.
const RESOLVE_LIMIT: Duration = Duration::from_secs(5);

/// One consumer instance, shareable with the blocking pool that runs its polls.
#[derive(Clone)]
pub struct ConsumerSession {
    consumer: Arc<BaseConsumer>,
    /// Woken by librdkafka when the consumer's queue goes from empty to non-empty.
    arrived: Arc<Notify>,
    topic: String,
    options: ConsumerOptions,
}

impl ConsumerSession {
    /// Creates a consumer with nothing assigned.
    pub fn new(options: &ConsumerOptions, topic: &str, id: u64) -> Result<Self, KafkaError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &options.bootstrap)
            .set("client.id", format!("samsa-consumer-{id}"))
            // librdkafka's consumer API needs a group even with manual assignment; it is
            // never joined (no subscribe) and nothing is committed.
            .set("group.id", format!("samsa-consumer-{id}"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "false")
            // The client verifies each record batch's CRC32C too: the broker checks it
            // when it appends, the harness when it decodes (one property, two paths).
            .set("check.crcs", "true")
            .set("fetch.wait.max.ms", "100")
            .set("max.partition.fetch.bytes", "16384")
            // Fetch again only once the polls have drained what was fetched, re-checking
            // every 10 ms: a consumer's fetch rate follows its process's poll rate instead of
            // every high-watermark advance of its partitions.
            .set("queued.min.messages", "1")
            .set("fetch.queue.backoff.ms", "10")
            .set("session.timeout.ms", "6000")
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "500")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .set("log_level", "3");
        for (key, value) in &options.extra {
            config.set(key, value);
        }
        let mut consumer: BaseConsumer = config.create()?;
        let arrived = Arc::new(Notify::new());
        let waker = arrived.clone();
        // Called on a librdkafka thread under the queue's lock: it only wakes the poller.
        consumer.set_nonempty_callback(move || waker.notify_one());
        Ok(ConsumerSession {
            consumer: Arc::new(consumer),
            arrived,
            topic: topic.to_owned(),
            options: options.clone(),
        })
    }

    /// Assigns `partitions` (replacing the previous assignment), at the beginning of each or
    /// at its end. Blocks for the ListOffsets round trip.
    ///
    /// The start offsets are resolved here, synchronously, and handed to librdkafka as
    /// absolute offsets. Handing it the logical BEGINNING/END instead makes it resolve them
    /// in the background, and on a re-used instance a resolution still in flight from an
    /// earlier assignment can land after a later one and move the position forward: the
    /// checker then (rightly) reports `poll-skip` against a healthy broker. Absolute offsets
    /// leave nothing to resolve later, so one instance serves every assignment of its
    /// process.
    ///
    /// The resolution is one ListOffsets request per leader for all the partitions
    /// (`offsets_for_times` with Kafka's special timestamps -2, earliest, and -1, latest:
    /// the log start offset or the last stable offset under `read_committed`), instead of
    /// a low and a high watermark query per partition, one partition after another.
    pub fn assign(&self, partitions: &[i32], seek_to_beginning: bool) -> Result<(), KafkaError> {
        let mut query = TopicPartitionList::new();
        let timestamp = if seek_to_beginning {
            Offset::Beginning
        } else {
            Offset::End
        };
        for &p in partitions {
            query.add_partition_offset(&self.topic, p, timestamp)?;
        }
        let resolved = self.consumer.offsets_for_times(query, RESOLVE_LIMIT)?;
        let mut list = TopicPartitionList::new();
        for element in resolved.elements() {
            element.error()?;
            let Offset::Offset(start) = element.offset() else {
                // Anything but an absolute offset would be resolved later, in the
                // background: exactly what this function exists to avoid.
                return Err(KafkaError::OffsetFetch(
                    rdkafka::error::RDKafkaErrorCode::NoOffset,
                ));
            };
            list.add_partition_offset(&self.topic, element.partition(), Offset::Offset(start))?;
        }
        self.consumer.assign(&list)
    }

    /// The end of `partition`'s readable log: its last stable offset under
    /// `read_committed` (the high watermark without transactions), by one ListOffsets
    /// request with Kafka's "latest" timestamp (-1). Blocks for the round trip.
    pub fn end_offset(&self, partition: i32) -> Result<i64, KafkaError> {
        let mut query = TopicPartitionList::new();
        query.add_partition_offset(&self.topic, partition, Offset::End)?;
        let resolved = self.consumer.offsets_for_times(query, RESOLVE_LIMIT)?;
        for element in resolved.elements() {
            element.error()?;
            if let Offset::Offset(end) = element.offset() {
                return Ok(end);
            }
        }
        Err(KafkaError::OffsetFetch(
            rdkafka::error::RDKafkaErrorCode::NoOffset,
        ))
    }

    /// Polls once: takes what is buffered; if nothing is, waits up to `poll_wait` for
    /// librdkafka to signal that something arrived and takes that.
    pub async fn poll(&self) -> Result<PollResult, KafkaError> {
        let deadline = Instant::now() + self.options.poll_wait;
        loop {
            let ready = self.drain()?;
            let now = Instant::now();
            if !ready.is_empty() || now >= deadline {
                return Ok(ready);
            }
            // A wake-up left over from records an earlier poll already took only costs one
            // more look; the deadline bounds the whole poll.
            let _ = tokio::time::timeout(deadline - now, self.arrived.notified()).await;
        }
    }

    /// Takes what is buffered, without waiting, bounded by `records_max`.
    fn drain(&self) -> Result<PollResult, KafkaError> {
        let mut result = PollResult::new();
        let mut count = 0;
        while count < self.options.records_max {
            match self.consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => {
                    count += 1;
                    let Some(value) = parse_value(message.payload()) else {
                        tracing::warn!(
                            partition = message.partition(),
                            offset = message.offset(),
                            "record whose payload is not a samsa value; not recorded"
                        );
                        continue;
                    };
                    result
                        .entry(message.partition())
                        .or_default()
                        .push((message.offset(), value));
                }
                // Records already received are real observations; keep them and end the
                // poll. Only a poll that received nothing fails.
                Some(Err(e)) if result.is_empty() => return Err(e),
                Some(Err(e)) => {
                    tracing::debug!("poll ended early after {count} records: {e}");
                    break;
                }
            }
        }
        Ok(result)
    }
}

/// The harness writes each value as its decimal text.
fn parse_value(payload: Option<&[u8]>) -> Option<i64> {
    std::str::from_utf8(payload?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: only the harness's own decimal payloads are values.
    #[test]
    fn parses_only_decimal_payloads() {
        assert_eq!(parse_value(Some(b"42")), Some(42));
        assert_eq!(parse_value(Some(b"-3")), Some(-3));
        assert_eq!(parse_value(Some(b"x")), None);
        assert_eq!(parse_value(None), None);
    }
}
