//! OffsetForLeaderEpoch (KIP-101, KIP-279, KIP-320): where a leader epoch ends in the leader's
//! log. Followers ask it after a leader change to find the end of their divergent tail;
//! consumers ask it to validate their position after a leader change.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::broker::Broker;

/// Answers from each partition's leader-epoch cache (largest epoch not above the requested
/// one, and where it ends: the next epoch's start or the log end offset).
pub fn handle(broker: &Broker, req: &OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let answer = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let Some(partition) = broker.partition(t.topic.as_str(), p.partition) else {
                        return answer.with_error_code(3);
                    };
                    let inner = partition.lock();
                    if let Some(code) = inner.serving_error(p.current_leader_epoch) {
                        return answer.with_error_code(code);
                    }
                    let end = inner.log.end_offset_for_epoch(p.leader_epoch);
                    answer
                        .with_leader_epoch(end.leader_epoch)
                        .with_end_offset(end.end_offset)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
