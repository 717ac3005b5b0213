//! Produce: validates each partition's record batch, runs the idempotence check, appends
//! (fsync per flush policy) and answers with the assigned or original base offset.
//!
//! Only the partition's leader appends (others answer NOT_LEADER_OR_FOLLOWER); acks=all is
//! refused NOT_ENOUGH_REPLICAS while the ISR is below `min.insync.replicas`, and answered once
//! the high watermark passes the batch (followers have it), REQUEST_TIMED_OUT after the
//! request's timeout, NOT_LEADER_OR_FOLLOWER if leadership moves meanwhile. acks=0 gets no
//! response.

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use crate::ack::{self, AckDecision};
use crate::broker::Broker;
use crate::config::FlushPolicy;
use crate::faults::SeededFaults;
use crate::partition::{AppendError, AppendOutcome, Partition, Role};
use crate::producer::state::SequenceError;
use crate::replication::leader::NotEnoughReplicas;

/// Kafka error code for an append failure.
pub fn error_code(e: &AppendError) -> i16 {
    match e {
        AppendError::Corrupt(_) => 2,
        AppendError::Invalid(_) => 87,
        AppendError::Sequence(SequenceError::OutOfOrder { .. }) => 45,
        AppendError::Sequence(SequenceError::StaleEpoch { .. }) => 47,
        AppendError::Storage(_) => 56,
        AppendError::NotLeader { .. } => 6,
        AppendError::NotEnoughReplicas(_) => NotEnoughReplicas::CODE,
    }
}

/// Waits until the leader engine's acknowledgement rule (`ack::decide`: the high watermark
/// has passed `last_offset`, or the `ack-before-replication` fault) lets the produce be
/// answered; returns the partition's error code: 0, REQUEST_TIMED_OUT (7) after
/// `timeout_ms`, or NOT_LEADER_OR_FOLLOWER (6) once this broker no longer leads at the epoch
/// the batch was appended in (it may be truncated away by the new leader).
async fn await_acks(
    partition: &Partition,
    acks: i16,
    outcome: &AppendOutcome,
    timeout_ms: i32,
    faults: SeededFaults,
) -> i16 {
    let mut changed = partition.subscribe_changed();
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
    loop {
        changed.borrow_and_update();
        let (decision, hw) = {
            let mut inner = partition.lock();
            let hw = inner.state.high_watermark;
            // A deposed leader's append (`fenced-leader-produce`) completes on the HW it
            // learns from the new leader.
            let deposed = inner.state.leader_epoch == outcome.leader_epoch
                && !matches!(inner.role, Role::Leader(_))
                && inner.accepts_produce(faults);
            match inner.leader_engine(Some(outcome.leader_epoch)) {
                Some(engine) => (engine.ack_decision(acks, outcome.last_offset), hw),
                None if deposed => (ack::decide(acks, outcome.last_offset, hw, faults), hw),
                None => {
                    tracing::warn!(topic = %partition.topic, partition = partition.index, last_offset = outcome.last_offset, code = 6, "leadership moved while acks=all was waiting");
                    return 6;
                }
            }
        };
        if decision == AckDecision::Respond {
            return 0;
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            tracing::warn!(topic = %partition.topic, partition = partition.index, last_offset = outcome.last_offset, hw, code = 7, "acks=all timed out waiting for the high watermark");
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
            let faults = broker.config.seeded_faults;
            // An append that only reaches the page cache takes microseconds: done inline (a
            // hand-off to the blocking pool cost more than the write). One that fsyncs may
            // take milliseconds and goes to the blocking pool.
            let outcome = if broker.config.flush_policy == FlushPolicy::Os {
                Ok(partition.append(records.to_vec(), acks, faults))
            } else {
                let p = Arc::clone(&partition);
                tokio::task::spawn_blocking(move || p.append(records.to_vec(), acks, faults)).await
            };
            let resp = match outcome {
                Ok(Ok(outcome)) => {
                    if outcome.duplicate {
                        tracing::info!(topic = %name, partition = pd.index, base_offset = outcome.base_offset, "retried batch acknowledged with its original offset, not appended");
                    } else {
                        // Followers long-polling for data wake up now, not after the loop.
                        partition.notify_changed();
                    }
                    let code = await_acks(&partition, acks, &outcome, timeout_ms, faults).await;
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
    if acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}
