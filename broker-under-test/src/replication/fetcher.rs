//! The follower's replica fetcher for one partition (Kafka's `ReplicaFetcherThread`): first
//! the OffsetForLeaderEpoch exchange and truncation of a divergent tail (KIP-101/279), then a
//! loop of Fetch requests carrying this broker's replica id and the leader epoch, appending
//! the leader's batches unchanged and taking its high watermark.
//!
//! It runs while the partition follows the same leader at the same epoch; the replica
//! manager aborts it and starts another on the next leader change.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::epoch_cache::EpochEnd;
use super::roles::FollowError;
use super::wire::{WireClient, WireError};
use crate::broker::Broker;
use crate::partition::Partition;

/// Fetch version used between brokers (topics by name, leader epochs, KIP-320 fields).
const FETCH_VERSION: i16 = 12;
/// OffsetForLeaderEpoch version with a replica id (v3).
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 3;
/// How long the leader may hold a fetch open waiting for data.
const MAX_WAIT_MS: i32 = 500;
/// Bound on one call (connect, or a request and its response).
const CALL_LIMIT: Duration = Duration::from_secs(5);
/// Pause after an error before trying again.
const BACKOFF: Duration = Duration::from_millis(100);

/// Whom to follow.
#[derive(Debug, Clone)]
pub struct FollowTarget {
    /// Leader broker id.
    pub leader: i32,
    /// Leader epoch the metadata gave.
    pub leader_epoch: i32,
    /// Leader's Kafka address, `host:port`.
    pub addr: String,
}

/// Runs until the partition stops following `target` (or the task is aborted).
pub async fn run(broker: Arc<Broker>, partition: Arc<Partition>, target: FollowTarget) {
    let me = broker.config.node_id;
    let mut client: Option<WireClient> = None;
    let mut truncated = false;
    let mut out_of_range_logged = false;
    while partition.follows(target.leader, target.leader_epoch) {
        let c = match client.as_mut() {
            Some(c) => c,
            None => {
                match WireClient::connect(&target.addr, format!("replica-{me}"), CALL_LIMIT).await {
                    Ok(c) => client.insert(c),
                    Err(e) => {
                        tracing::debug!(topic = %partition.topic, partition = partition.index, leader = target.leader, error = %e, "cannot reach the leader");
                        tokio::time::sleep(BACKOFF * 2).await;
                        continue;
                    }
                }
            }
        };
        let step = if truncated {
            fetch_once(&broker, &partition, &target, c, &mut out_of_range_logged).await
        } else {
            truncate(&broker, &partition, &target, c)
                .await
                .map(|done| truncated = done)
        };
        match step {
            Ok(()) => {}
            Err(StepError::Wire(e)) => {
                tracing::debug!(topic = %partition.topic, partition = partition.index, leader = target.leader, error = %e, "leader connection failed: reconnecting");
                client = None;
                tokio::time::sleep(BACKOFF).await;
            }
            Err(StepError::Follow(FollowError::Stale(_))) => return,
            Err(StepError::Follow(e)) => {
                tracing::error!(topic = %partition.topic, partition = partition.index, error = %e, "follower could not store the leader's data");
                tokio::time::sleep(BACKOFF * 5).await;
            }
            Err(StepError::Retry) => tokio::time::sleep(BACKOFF).await,
        }
    }
}

#[derive(Debug)]
enum StepError {
    Wire(WireError),
    Follow(FollowError),
    /// The leader answered with a retriable partition error.
    Retry,
}

impl From<WireError> for StepError {
    fn from(e: WireError) -> Self {
        StepError::Wire(e)
    }
}

impl From<FollowError> for StepError {
    fn from(e: FollowError) -> Self {
        StepError::Follow(e)
    }
}

/// Asks the leader where this replica's latest epoch ends and cuts the log there. Returns
/// true when done (also when the log is empty: nothing can diverge).
async fn truncate(
    broker: &Broker,
    partition: &Partition,
    target: &FollowTarget,
    client: &mut WireClient,
) -> Result<bool, StepError> {
    let Some(epoch) = partition.latest_log_epoch() else {
        return Ok(true);
    };
    let request = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(broker.config.node_id))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(TopicName(StrBytes::from_string(partition.topic.clone())))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(partition.index)
                .with_current_leader_epoch(target.leader_epoch)
                .with_leader_epoch(epoch)])]);
    let response: OffsetForLeaderEpochResponse = client
        .call(
            ApiKey::OffsetForLeaderEpoch,
            OFFSET_FOR_LEADER_EPOCH_VERSION,
            &request,
            CALL_LIMIT,
        )
        .await?;
    let Some(answer) = response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition == partition.index)
    else {
        return Err(StepError::Retry);
    };
    if answer.error_code != 0 {
        tracing::debug!(topic = %partition.topic, partition = partition.index, code = answer.error_code, "OffsetForLeaderEpoch refused; retrying");
        return Err(StepError::Retry);
    }
    let leader_end = EpochEnd {
        leader_epoch: answer.leader_epoch,
        end_offset: answer.end_offset,
    };
    let (old, new) = partition.truncate_after_leader_change(
        target.leader_epoch,
        leader_end,
        broker.config.seeded_faults,
    )?;
    if new < old {
        tracing::warn!(topic = %partition.topic, partition = partition.index, leader = target.leader, leader_epoch = target.leader_epoch, asked_epoch = epoch, leader_end = answer.end_offset, from = old, to = new, "truncated a divergent tail after a leader change");
    } else {
        tracing::info!(topic = %partition.topic, partition = partition.index, leader = target.leader, leader_epoch = target.leader_epoch, asked_epoch = epoch, leader_end = answer.end_offset, log_end_offset = old, "nothing to truncate after the leader change");
    }
    Ok(true)
}

/// One Fetch from the leader at this replica's LEO, and the append of what came back.
async fn fetch_once(
    broker: &Broker,
    partition: &Partition,
    target: &FollowTarget,
    client: &mut WireClient,
    out_of_range_logged: &mut bool,
) -> Result<(), StepError> {
    let offset = partition.log_end_offset();
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(broker.config.node_id))
        .with_max_wait_ms(MAX_WAIT_MS)
        .with_min_bytes(1)
        .with_max_bytes(8 * 1024 * 1024)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(partition.topic.clone())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition.index)
                .with_current_leader_epoch(target.leader_epoch)
                .with_fetch_offset(offset)
                .with_last_fetched_epoch(partition.latest_log_epoch().unwrap_or(-1))
                .with_log_start_offset(-1)
                .with_partition_max_bytes(1024 * 1024)])]);
    let response: FetchResponse = client
        .call(ApiKey::Fetch, FETCH_VERSION, &request, CALL_LIMIT)
        .await?;
    let Some(data) = response
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition.index)
    else {
        return Err(StepError::Retry);
    };
    match data.error_code {
        0 => {
            *out_of_range_logged = false;
            let records = data.records.as_deref().unwrap_or_default();
            partition.append_as_follower(target.leader_epoch, records, data.high_watermark)?;
            // The follower's HW moved: wake what waits on it (only produces a deposed leader
            // accepted under the `fenced-leader-produce` seeded fault wait on a follower).
            partition.notify_changed();
            Ok(())
        }
        1 => {
            // Only a replica that kept a divergent tail (the `no-truncation` fault) is ahead
            // of its leader; it waits until the leader's log passes its own end.
            if !*out_of_range_logged {
                tracing::warn!(topic = %partition.topic, partition = partition.index, fetch_offset = offset, "fetch offset beyond the leader's log end: waiting for the leader to catch up");
                *out_of_range_logged = true;
            }
            tokio::time::sleep(BACKOFF * 5).await;
            Ok(())
        }
        code => {
            tracing::debug!(topic = %partition.topic, partition = partition.index, code, "fetch refused by the leader; retrying");
            Err(StepError::Retry)
        }
    }
}
