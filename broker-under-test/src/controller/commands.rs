//! The controller log's entries and what applying them yields.
//!
//! Commands are serde types because they are the Raft log entries replicated between
//! controllers; every time they need (heartbeat times) is stamped by the proposing controller,
//! so every voter applies them to the same result. Errors carry the Kafka error code the
//! requesting broker receives (e.g. a stale AlterPartition gets INVALID_UPDATE_VERSION).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One entry of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataCommand {
    /// A broker starts (BrokerRegistration): it becomes live and unfenced.
    RegisterBroker {
        /// Broker id.
        broker_id: i32,
        /// Advertised Kafka host.
        host: String,
        /// Advertised Kafka port.
        port: i32,
        /// Controller time of the registration.
        now_ms: u64,
        /// Identifies one run of the broker process (fresh at every start). A registration
        /// with a new incarnation while the old one is still live is an unclean restart:
        /// the controller fences the old incarnation first (Kafka's
        /// `handleBrokerUncleanShutdown`), so the restarted broker leads nothing until it
        /// has caught up as a follower.
        #[serde(default)]
        incarnation: u64,
    },
    /// A broker's periodic heartbeat (BrokerHeartbeat); unfences a fenced broker.
    Heartbeat {
        /// Broker id.
        broker_id: i32,
        /// Controller time of the heartbeat.
        now_ms: u64,
    },
    /// Fence a broker: its session expired (missed heartbeats) or it shut down (controlled
    /// shutdown). Its leaderships move to other ISR members; it leaves every ISR.
    FenceBroker {
        /// Broker id.
        broker_id: i32,
    },
    /// CreateTopics: assign replicas round-robin over the unfenced brokers.
    CreateTopic {
        /// Topic name.
        name: String,
        /// Topic id (KIP-516), 32 hex digits, chosen by the broker that forwarded CreateTopics.
        #[serde(default)]
        topic_id: String,
        /// Partition count.
        partitions: i32,
        /// Replicas per partition.
        replication_factor: i16,
        /// `min.insync.replicas`.
        min_insync_replicas: i32,
        /// `unclean.leader.election.enable`.
        unclean_leader_election: bool,
    },
    /// AlterPartition (KIP-497): a leader's ISR change, based on the epochs it holds.
    AlterPartition {
        /// Topic.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The proposing broker (must be the leader).
        broker_id: i32,
        /// Leader epoch the proposer holds.
        leader_epoch: i32,
        /// Partition epoch the proposal is based on.
        partition_epoch: i32,
        /// Proposed ISR.
        new_isr: Vec<i32>,
    },
}

/// A metadata change brokers react to (become leader / follower, update the ISR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataChange {
    /// A partition has a new leader (or none: -1) at a new leader epoch.
    LeaderChanged {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// New leader, -1 when offline.
        leader: i32,
        /// New leader epoch.
        leader_epoch: i32,
        /// True when an out-of-sync replica was elected.
        unclean: bool,
    },
    /// A partition's ISR changed at a new partition epoch.
    IsrChanged {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// New ISR.
        isr: Vec<i32>,
        /// New partition epoch.
        partition_epoch: i32,
    },
    /// A broker was fenced.
    BrokerFenced(i32),
    /// A broker became live again.
    BrokerUnfenced(i32),
}

/// Why a command was refused; `code` is what the requesting broker receives.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum MetadataError {
    /// UNKNOWN_TOPIC_OR_PARTITION.
    #[error("unknown topic or partition {0}")]
    UnknownTopicOrPartition(String),
    /// TOPIC_ALREADY_EXISTS.
    #[error("topic {0} already exists")]
    TopicAlreadyExists(String),
    /// INVALID_PARTITIONS.
    #[error("invalid partition count {0}")]
    InvalidPartitions(i32),
    /// INVALID_REPLICATION_FACTOR: more replicas asked than live brokers.
    #[error("replication factor {asked} but {live} live brokers")]
    InvalidReplicationFactor {
        /// Asked.
        asked: i16,
        /// Unfenced brokers.
        live: usize,
    },
    /// BROKER_ID_NOT_REGISTERED.
    #[error("broker {0} is not registered")]
    BrokerNotRegistered(i32),
    /// NOT_LEADER_OR_FOLLOWER: the proposer does not lead the partition.
    #[error("broker {broker} is not the leader (leader is {leader})")]
    NotLeader {
        /// Proposer.
        broker: i32,
        /// Actual leader.
        leader: i32,
    },
    /// FENCED_LEADER_EPOCH: the proposer's leader epoch is not the current one.
    #[error("leader epoch {got} is fenced (current {current})")]
    FencedLeaderEpoch {
        /// Proposer's epoch.
        got: i32,
        /// Current epoch.
        current: i32,
    },
    /// INVALID_UPDATE_VERSION: the proposal is based on a stale partition epoch.
    #[error("partition epoch {got} is stale (current {current})")]
    StalePartitionEpoch {
        /// Proposer's epoch.
        got: i32,
        /// Current epoch.
        current: i32,
    },
    /// INELIGIBLE_REPLICA: the proposed ISR lacks the leader, holds a non-replica, a duplicate
    /// or a fenced broker.
    #[error("ineligible ISR {0:?}")]
    IneligibleIsr(Vec<i32>),
}

impl MetadataError {
    /// The Kafka error code for this refusal.
    pub fn code(&self) -> i16 {
        match self {
            MetadataError::UnknownTopicOrPartition(_) => 3,
            MetadataError::NotLeader { .. } => 6,
            MetadataError::TopicAlreadyExists(_) => 36,
            MetadataError::InvalidPartitions(_) => 37,
            MetadataError::InvalidReplicationFactor { .. } => 38,
            MetadataError::FencedLeaderEpoch { .. } => 74,
            MetadataError::StalePartitionEpoch { .. } => 95,
            MetadataError::BrokerNotRegistered(_) => 102,
            MetadataError::IneligibleIsr(_) => 107,
        }
    }
}
