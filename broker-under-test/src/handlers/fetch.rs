//! Fetch: serves whole record batches below the high watermark (or the last stable offset for
//! read_committed), waiting up to `max_wait_ms` for `min_bytes` to accumulate.
//!
//! Fetch sessions (KIP-227) are not created: every response carries session id 0, which tells
//! the client to keep sending full fetch requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use crate::broker::Broker;
use crate::faults::{SeededFault, SeededFaults};

/// Upper bound on `max_wait_ms`, whatever the client asks.
pub const MAX_WAIT_CAP: Duration = Duration::from_secs(30);
const READ_COMMITTED: i8 = 1;

/// Answers a Fetch request.
pub async fn handle(broker: &Arc<Broker>, req: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let mut appended = broker.subscribe_appended();
    let req = Arc::new(req);
    loop {
        appended.borrow_and_update();
        let (b, r) = (Arc::clone(broker), Arc::clone(&req));
        let gathered = tokio::task::spawn_blocking(move || gather(&b, &r)).await;
        let (response, bytes, errors) = match gathered {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "fetch task failed");
                return FetchResponse::default().with_error_code(-1);
            }
        };
        let now = Instant::now();
        if bytes >= i64::from(req.min_bytes) || errors || now >= deadline {
            return response;
        }
        if tokio::time::timeout(deadline - now, appended.changed())
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

fn gather(broker: &Broker, req: &FetchRequest) -> (FetchResponse, i64, bool) {
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
            let hw = inner.state.high_watermark;
            // No transactions: the last stable offset is the high watermark, so both isolation
            // levels read up to the same limit.
            let limit = serve_limit(hw, inner.log.log_end_offset(), broker.config.seeded_faults);
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
            if fp.fetch_offset < log_start || fp.fetch_offset > limit {
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
