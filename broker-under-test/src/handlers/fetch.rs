//! Fetch: serves whole record batches below the high watermark (or the last stable offset for
//! read_committed), waiting up to `max_wait_ms` for `min_bytes` to accumulate.
//!
//! Only the leader serves. A fetch with a replica id (>= 0) comes from a follower: it is served
//! up to the log end offset, and its fetch offset is the follower's LEO, which the leader's
//! engine uses to advance the high watermark and to keep or expel the follower from the ISR
//! (Kafka's `updateFollowerFetchState`). `current_leader_epoch` (KIP-320) is checked:
//! older than ours is FENCED_LEADER_EPOCH, newer is UNKNOWN_LEADER_EPOCH.
//!
//! Fetch sessions (KIP-227) are not created: every response carries session id 0, which tells
//! the client to keep sending full fetch requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};

use tokio::sync::watch;

use crate::broker::Broker;
use crate::faults::{SeededFault, SeededFaults};

/// Upper bound on `max_wait_ms`, whatever the client asks.
pub const MAX_WAIT_CAP: Duration = Duration::from_secs(30);
const READ_COMMITTED: i8 = 1;

/// Answers a Fetch request.
pub async fn handle(broker: &Arc<Broker>, req: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    // Only the requested partitions' changes wake this fetch.
    let mut changes: Vec<watch::Receiver<u64>> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter_map(|p| broker.partition(t.topic.as_str(), p.partition))
        })
        .map(|p| p.subscribe_changed())
        .collect();
    loop {
        if req.replica_id.0 >= 0 {
            record_follower_fetch(broker, &req);
        }
        for c in &mut changes {
            c.borrow_and_update();
        }
        // Reads come from the page cache and are bounded by max_bytes: done inline, on the
        // worker (as a follower's append is), without handing the worker's other tasks to
        // another thread for each fetch.
        let (response, bytes, errors) = gather(broker, &req);
        let now = Instant::now();
        if bytes >= i64::from(req.min_bytes) || errors || now >= deadline || changes.is_empty() {
            return response;
        }
        let any_change =
            futures_util::future::select_all(changes.iter_mut().map(|c| Box::pin(c.changed())));
        if tokio::time::timeout(deadline - now, any_change)
            .await
            .is_err()
        {
            // Deadline passed: one last gather picks up anything that raced in.
            continue;
        }
    }
}

/// Offset below which records may be served: the high watermark (only committed records
/// reach consumers), or the LEO under the `read-above-hw` seeded fault.
pub fn serve_limit(high_watermark: i64, log_end_offset: i64, faults: SeededFaults) -> i64 {
    if faults.has(SeededFault::ReadAboveHw) {
        log_end_offset.max(high_watermark)
    } else {
        high_watermark
    }
}

/// Feeds each partition's follower fetch offset to its leader engine; a HW move wakes the
/// produces waiting for acks=all (and consumers' fetches), an ISR expansion goes to the
/// controller.
fn record_follower_fetch(broker: &Arc<Broker>, req: &FetchRequest) {
    let now = crate::controller::clock::now_ms();
    for topic in &req.topics {
        for fp in &topic.partitions {
            let Some(partition) = broker.partition(topic.topic.as_str(), fp.partition) else {
                continue;
            };
            let (moved, proposals) =
                partition.follower_fetched(req.replica_id.0, fp.fetch_offset, now);
            if moved {
                partition.notify_changed();
            }
            for proposal in proposals {
                crate::replication::alter::send(broker, &partition, proposal);
            }
        }
    }
}

fn gather(broker: &Broker, req: &FetchRequest) -> (FetchResponse, i64, bool) {
    let from_follower = req.replica_id.0 >= 0;
    let mut remaining = i64::from(req.max_bytes.max(0));
    let mut total = 0i64;
    let mut errors = false;
    let mut topics = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let mut parts = Vec::with_capacity(topic.partitions.len());
        for fp in &topic.partitions {
            let data = PartitionData::default()
                .with_partition_index(fp.partition)
                .with_aborted_transactions(None);
            let Some(partition) = broker.partition(topic.topic.as_str(), fp.partition) else {
                errors = true;
                parts.push(data.with_error_code(3));
                continue;
            };
            let inner = partition.lock();
            if let Some(code) = inner.serving_error(fp.current_leader_epoch) {
                errors = true;
                let current = LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(inner.state.leader))
                    .with_leader_epoch(inner.state.leader_epoch);
                parts.push(data.with_error_code(code).with_current_leader(current));
                continue;
            }
            let hw = inner.state.high_watermark;
            let leo = inner.log.log_end_offset();
            // No transactions: the last stable offset is the high watermark, so both isolation
            // levels read up to the same limit. Followers copy everything the leader has.
            let limit = if from_follower {
                leo
            } else {
                serve_limit(hw, leo, broker.config.seeded_faults)
            };
            let log_start = inner.log.log_start_offset();
            let data = data
                .with_high_watermark(hw)
                .with_last_stable_offset(hw)
                .with_log_start_offset(log_start);
            let data = if req.isolation_level == READ_COMMITTED {
                data.with_aborted_transactions(Some(Vec::new()))
            } else {
                data
            };
            // Between the HW and the LEO is in range (a new leader's HW may still trail what
            // the old one had exposed): the answer is empty until the HW moves.
            if fp.fetch_offset < log_start || fp.fetch_offset > leo {
                tracing::warn!(topic = %topic.topic.as_str(), partition = fp.partition, fetch_offset = fp.fetch_offset, log_start, hw, code = 1, "Fetch OFFSET_OUT_OF_RANGE");
                errors = true;
                parts.push(data.with_error_code(1));
                continue;
            }
            // KIP-74: the first partition with data may exceed the limits by one batch.
            let max_bytes = i64::from(fp.partition_max_bytes.max(0)).min(remaining.max(1)) as usize;
            match inner.log.read(fp.fetch_offset, limit, max_bytes) {
                Ok(Some(bytes)) => {
                    total += bytes.len() as i64;
                    remaining -= bytes.len() as i64;
                    parts.push(data.with_records(Some(Bytes::from(bytes))));
                }
                Ok(None) => parts.push(data.with_records(Some(Bytes::new()))),
                Err(e) => {
                    tracing::error!(topic = %topic.topic.as_str(), partition = fp.partition, error = %e, code = 56, "Fetch read failed");
                    errors = true;
                    parts.push(data.with_error_code(56));
                }
            }
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(parts),
        );
    }
    (
        FetchResponse::default()
            .with_session_id(0)
            .with_responses(topics),
        total,
        errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_below_the_high_watermark_unless_the_fault_is_seeded() {
        assert_eq!(serve_limit(5, 9, SeededFaults::NONE), 5);
        let faulty = SeededFaults::NONE.with(SeededFault::ReadAboveHw);
        assert_eq!(serve_limit(5, 9, faulty), 9);
    }
}
