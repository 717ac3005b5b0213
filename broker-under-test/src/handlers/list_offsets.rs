//! ListOffsets: earliest (-2), latest (-1, the high watermark or last stable offset) and
//! by-timestamp lookups (batch granularity: the first batch whose max timestamp is >= t).
//! Only the leader answers (KIP-320 epoch checks as for Fetch).

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::broker::Broker;

const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

/// Answers a ListOffsets request.
pub fn handle(broker: &Broker, req: &ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|lp| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(lp.partition_index);
                    let Some(partition) = broker.partition(t.name.as_str(), lp.partition_index)
                    else {
                        return resp.with_error_code(3);
                    };
                    let inner = partition.lock();
                    if let Some(code) = inner.serving_error(lp.current_leader_epoch) {
                        return resp.with_error_code(code);
                    }
                    // leader_epoch exists from v4; older encodings refuse a non-default value.
                    let resp = if version >= 4 {
                        resp.with_leader_epoch(inner.state.leader_epoch)
                    } else {
                        resp
                    };
                    match lp.timestamp {
                        EARLIEST => resp.with_offset(inner.log.log_start_offset()),
                        LATEST => resp.with_offset(inner.state.high_watermark),
                        ts if ts >= 0 => match inner.log.offset_for_timestamp(ts) {
                            Ok(Some(offset)) if offset < inner.state.high_watermark => {
                                resp.with_offset(offset).with_timestamp(ts)
                            }
                            Ok(_) => resp,
                            Err(e) => {
                                tracing::error!(error = %e, "ListOffsets timestamp search failed");
                                resp.with_error_code(56)
                            }
                        },
                        other => {
                            tracing::warn!(
                                timestamp = other,
                                code = 35,
                                "ListOffsets special timestamp not supported"
                            );
                            resp.with_error_code(35)
                        }
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(parts)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
