//! A consumer: assigns partitions (no consumer group, no committed offsets) and polls
//! them, returning each poll as the `(offset, value)` runs the history records.
//!
//! Manual assignment keeps the consumer's position entirely in the client, so the only
//! thing under test is the broker's log (Fetch and ListOffsets), not group coordination.
//! A poll is one librdkafka `poll` that waits, then a drain of what is already buffered,
//! bounded in records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

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
}

/// How long resolving one partition's start offset (ListOffsets) may take.
const RESOLVE_LIMIT: Duration = Duration::from_secs(5);

/// One consumer instance, shareable with the blocking pool that runs its polls.
#[derive(Clone)]
pub struct ConsumerSession {
    consumer: Arc<BaseConsumer>,
    topic: String,
    options: ConsumerOptions,
}

impl ConsumerSession {
    /// Creates a consumer with nothing assigned.
    pub fn new(options: &ConsumerOptions, topic: &str, id: u64) -> Result<Self, KafkaError> {
        let consumer: BaseConsumer = ClientConfig::new()
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
            .set("fetch.wait.max.ms", "100")
            // Fetch again only once the polls have drained what was fetched, re-checking
            // every 50 ms: a consumer's fetch rate follows its process's poll rate instead of
            // every high-watermark advance of its partitions.
            .set("queued.min.messages", "1")
            .set("fetch.queue.backoff.ms", "50")
            .set("session.timeout.ms", "6000")
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "500")
            .set("topic.metadata.refresh.interval.ms", "1000")
            .set("log_level", "3")
            .create()?;
        Ok(ConsumerSession {
            consumer: Arc::new(consumer),
            topic: topic.to_owned(),
            options: options.clone(),
        })
    }

    /// Assigns `partitions` (replacing the previous assignment), at the beginning of each or
    /// at its end. Blocks for the ListOffsets round trips.
    ///
    /// The start offsets are resolved here, synchronously (ListOffsets through
    /// `query_watermark_offsets`), and handed to librdkafka as absolute offsets. Handing it
    /// the logical BEGINNING/END instead makes it resolve them in the background, and on a
    /// re-used instance a resolution still in flight from an earlier assignment can land
    /// after a later one and move the position forward: the checker then (rightly)
    /// reports `poll-skip` against a healthy broker. Absolute offsets leave nothing to
    /// resolve later, so one instance serves every assignment of its process.
    pub fn assign(&self, partitions: &[i32], seek_to_beginning: bool) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        for &p in partitions {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, p, RESOLVE_LIMIT)?;
            let start = if seek_to_beginning { low } else { high };
            list.add_partition_offset(&self.topic, p, Offset::Offset(start))?;
        }
        self.consumer.assign(&list)
    }

    /// Polls once: waits up to `poll_wait` for a record, then drains what is buffered.
    /// Records already fetched are taken on the calling task (a zero-wait librdkafka poll
    /// does not block); only an empty queue is waited on, on the blocking pool, because
    /// librdkafka's poll blocks the calling thread.
    pub async fn poll(&self) -> Result<PollResult, KafkaError> {
        let ready = self.drain(Duration::ZERO)?;
        if !ready.is_empty() {
            return Ok(ready);
        }
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.drain(me.options.poll_wait)).await {
            Ok(result) => result,
            Err(join) => Err(KafkaError::Canceled).inspect_err(|_| {
                tracing::warn!("consumer poll task ended abnormally: {join}");
            }),
        }
    }

    /// Waits up to `first_wait` for a record, then takes what is buffered, bounded by
    /// `records_max`.
    fn drain(&self, first_wait: Duration) -> Result<PollResult, KafkaError> {
        let mut result = PollResult::new();
        let mut wait = first_wait;
        let mut count = 0;
        while count < self.options.records_max {
            match self.consumer.poll(wait) {
                None => break,
                Some(Ok(message)) => {
                    count += 1;
                    wait = Duration::ZERO;
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
