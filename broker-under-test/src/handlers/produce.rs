//! Produce: validates each partition's record batch, runs the idempotence check, appends
//! (fsync per flush policy) and answers with the assigned or original base offset.
//!
//! Single node: acks=1 and acks=all are answered once the leader appended (the ISR is the
//! leader alone, so the high watermark already covers the batch); acks=0 gets no response.

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use crate::ack::{self, AckDecision};
use crate::broker::Broker;
use crate::partition::{AppendError, Partition};
use crate::producer::state::SequenceError;

/// Kafka error code for an append failure.
pub fn error_code(e: &AppendError) -> i16 {
    match e {
        AppendError::Corrupt(_) => 2,
        AppendError::Invalid(_) => 87,
        AppendError::Sequence(SequenceError::OutOfOrder { .. }) => 45,
        AppendError::Sequence(SequenceError::StaleEpoch { .. }) => 47,
        AppendError::Storage(_) => 56,
    }
}

/// Waits, per `ack::decide`, until the high watermark passes `last_offset`; returns the error
/// code for the partition (0, or REQUEST_TIMED_OUT after `timeout_ms`). On one node the HW
/// already equals the LEO after an append, so this returns at once; part 2's followers
/// advance the HW and signal through the same "appended" channel.
async fn await_acks(
    broker: &Broker,
    partition: &Partition,
    acks: i16,
    last_offset: i64,
    timeout_ms: i32,
) -> i16 {
    let mut changed = broker.subscribe_appended();
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
    loop {
        changed.borrow_and_update();
        let hw = partition.lock().state.high_watermark;
        if ack::decide(acks, last_offset, hw, broker.config.seeded_faults) == AckDecision::Respond {
            return 0;
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            tracing::warn!(topic = %partition.topic, partition = partition.index, last_offset, hw, code = 7, "acks=all timed out waiting for the high watermark");
            return 7;
        }
    }
}

/// Answers a Produce request; `None` when acks=0 (no response is sent).
pub async fn handle(broker: &Arc<Broker>, req: ProduceRequest) -> Option<ProduceResponse> {
    let acks = req.acks;
    let timeout_ms = req.timeout_ms;
    let acks_valid = matches!(acks, -1..=1);
    if !acks_valid {
        tracing::warn!(acks, code = 21, "Produce refused: INVALID_REQUIRED_ACKS");
    }
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let mut appended = false;
    for topic in req.topic_data {
        let name = topic.name.as_str().to_string();
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for pd in topic.partition_data {
            let resp = PartitionProduceResponse::default().with_index(pd.index);
            if !acks_valid {
                partitions.push(resp.with_error_code(21));
                continue;
            }
            let Some(partition) = broker.partition(&name, pd.index) else {
                tracing::warn!(topic = %name, partition = pd.index, code = 3, "Produce to unknown partition");
                partitions.push(resp.with_error_code(3));
                continue;
            };
            let Some(records) = pd.records.filter(|r| !r.is_empty()) else {
                tracing::warn!(topic = %name, partition = pd.index, code = 87, "Produce without records");
                partitions.push(resp.with_error_code(87));
                continue;
            };
            let p = Arc::clone(&partition);
            let faults = broker.config.seeded_faults;
            let outcome =
                tokio::task::spawn_blocking(move || p.append(records.to_vec(), faults)).await;
            let resp = match outcome {
                Ok(Ok(outcome)) => {
                    if outcome.duplicate {
                        tracing::info!(topic = %name, partition = pd.index, base_offset = outcome.base_offset, "retried batch acknowledged with its original offset, not appended");
                    } else {
                        appended = true;
                    }
                    let code =
                        await_acks(broker, &partition, acks, outcome.last_offset, timeout_ms).await;
                    resp.with_error_code(code)
                        .with_base_offset(outcome.base_offset)
                        .with_log_start_offset(outcome.log_start_offset)
                }
                Ok(Err(e)) => {
                    let code = error_code(&e);
                    tracing::warn!(topic = %name, partition = pd.index, code, reason = %e, "Produce batch rejected");
                    resp.with_error_code(code)
                        .with_error_message(Some(StrBytes::from_string(e.to_string())))
                }
                Err(join) => {
                    tracing::error!(topic = %name, partition = pd.index, error = %join, "append task failed");
                    resp.with_error_code(-1)
                }
            };
            partitions.push(resp);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partitions),
        );
    }
    if appended {
        broker.notify_appended();
    }
    if acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}
