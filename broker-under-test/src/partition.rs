//! A partition: its replication state (leader, epoch, ISR, high watermark), its log and its
//! idempotent-producer table, behind one lock.
//!
//! `PartitionState` mirrors the controller's record of the partition (leader, epochs, ISR) plus
//! the local high watermark; `Role` says what this broker does with it: as leader it owns a
//! `LeaderEngine` (follower progress, HW, ISR changes, acks=all) and appends produced batches;
//! as follower it appends the leader's batches unchanged (`replication::follower`).

use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use serde::Serialize;
use thiserror::Error;

use crate::faults::{SeededFault, SeededFaults};
use crate::log::batch::{self, BatchError};
use crate::log::partition_log::{LogError, PartitionLog};
use crate::producer::state::{BatchMetadata, ProducerStateTable, SequenceDecision, SequenceError};
use crate::replication::leader::{Command, Event, IsrProposal, LeaderEngine, NotEnoughReplicas};

/// Leadership and replication facts of one partition (Kafka's LeaderAndIsr + HW).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionState {
    /// Node id of the leader.
    pub leader: i32,
    /// Bumped on every leader change; stamped into appended batches (KIP-101).
    pub leader_epoch: i32,
    /// Bumped on every ISR or leader change; guards stale AlterPartition (KIP-497).
    pub partition_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// All assigned replicas.
    pub replicas: Vec<i32>,
    /// Offset below which records are committed and visible to consumers.
    pub high_watermark: i64,
}

impl PartitionState {
    /// A partition opened before the controller said anything about it: no leader, epochs
    /// below any real one (so the first metadata always applies), HW unknown (0).
    pub fn unassigned() -> Self {
        PartitionState {
            leader: -1,
            leader_epoch: -1,
            partition_epoch: -1,
            isr: Vec::new(),
            replicas: Vec::new(),
            high_watermark: 0,
        }
    }

    /// The state of a partition led by `node_id` alone (part 1: single node).
    pub fn single_node(node_id: i32, log_end_offset: i64) -> Self {
        PartitionState {
            leader: node_id,
            leader_epoch: 0,
            partition_epoch: 0,
            isr: vec![node_id],
            replicas: vec![node_id],
            high_watermark: log_end_offset,
        }
    }
}

/// Why a produced batch was refused; each maps to one Kafka error code.
#[derive(Debug, Error)]
pub enum AppendError {
    /// The batch failed validation (CORRUPT_MESSAGE).
    #[error("corrupt batch: {0}")]
    Corrupt(#[from] BatchError),
    /// The batch is structurally valid but not acceptable (INVALID_RECORD).
    #[error("invalid batch: {0}")]
    Invalid(String),
    /// Idempotence check refused it (OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH).
    #[error("sequence check: {0:?}")]
    Sequence(SequenceError),
    /// The log could not be written (KAFKA_STORAGE_ERROR).
    #[error("storage: {0}")]
    Storage(#[from] LogError),
    /// This broker does not lead the partition (NOT_LEADER_OR_FOLLOWER): the client refreshes
    /// its metadata and retries at the leader.
    #[error("this broker is not the leader (leader: {leader}, epoch {leader_epoch})")]
    NotLeader {
        /// The leader this broker knows, -1 if none.
        leader: i32,
        /// Its leader epoch.
        leader_epoch: i32,
    },
    /// acks=all while the ISR is smaller than `min.insync.replicas` (NOT_ENOUGH_REPLICAS).
    #[error(transparent)]
    NotEnoughReplicas(#[from] NotEnoughReplicas),
}

/// Result of a successful produce to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset of the batch's first record (the original one for a duplicate).
    pub base_offset: i64,
    /// Offset of the batch's last record (acks=all waits for the high watermark to pass it).
    pub last_offset: i64,
    /// Log start offset, returned in the produce response.
    pub log_start_offset: i64,
    /// True when the batch was a retry and was not appended again.
    pub duplicate: bool,
    /// The leader epoch it was appended under; a produce waiting for acks=all gives up
    /// with NOT_LEADER_OR_FOLLOWER once the partition is no longer led at this epoch.
    pub leader_epoch: i32,
}

/// What this broker does for the partition.
#[derive(Debug, Clone)]
pub enum Role {
    /// Leads at `state.leader_epoch`; the engine tracks followers, the HW and ISR changes.
    Leader(Box<LeaderEngine>),
    /// Copies the leader's log (`state.leader`, `state.leader_epoch`) through a fetcher.
    Follower,
    /// No leader known (not yet told by the controller, or leader -1): serves nothing.
    Offline,
}

impl Role {
    /// `leader`, `follower` or `offline`, for logs and the admin endpoint.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Leader(_) => "leader",
            Role::Follower => "follower",
            Role::Offline => "offline",
        }
    }
}

/// Everything guarded by the partition lock.
#[derive(Debug)]
pub struct PartitionInner {
    /// Leadership and HW.
    pub state: PartitionState,
    /// The log.
    pub log: PartitionLog,
    /// Idempotent producer table rebuilt from the log.
    pub producers: ProducerStateTable,
    /// Leader, follower or offline.
    pub role: Role,
    /// The latest leader epoch at which this broker led the partition (Kafka's makeLeader),
    /// kept after it is deposed: what the `fenced-leader-produce` fault compares against.
    pub led_epoch: Option<i32>,
}

/// Kafka's produce fencing (`Partition.appendRecordsToLeader` refuses with
/// NOT_LEADER_OR_FOLLOWER unless this broker leads at the partition's current leader epoch):
/// true when this broker may append a produced batch. Produce requests carry no leader epoch,
/// so this check is the only thing that stops a deposed leader, once it learned the newer
/// epoch, from writing next to the new leader. The `fenced-leader-produce` seeded fault
/// accepts the produce on any broker that led the partition at an older epoch.
pub fn accepts_produce(
    leads_now: bool,
    led_epoch: Option<i32>,
    leader_epoch: i32,
    faults: SeededFaults,
) -> bool {
    leads_now
        || (faults.has(SeededFault::FencedLeaderProduce)
            && led_epoch.is_some_and(|e| e < leader_epoch))
}

impl PartitionInner {
    /// [`accepts_produce`] for this partition's role and epochs.
    pub fn accepts_produce(&self, faults: SeededFaults) -> bool {
        accepts_produce(
            matches!(self.role, Role::Leader(_)),
            self.led_epoch,
            self.state.leader_epoch,
            faults,
        )
    }

    /// The leader engine when this broker leads at `leader_epoch` (any epoch when `None`).
    pub fn leader_engine(&mut self, leader_epoch: Option<i32>) -> Option<&mut LeaderEngine> {
        let current = self.state.leader_epoch;
        match &mut self.role {
            Role::Leader(engine) if leader_epoch.is_none_or(|e| e == current) => Some(engine),
            _ => None,
        }
    }

    /// The Kafka error code when this broker cannot serve a leader-only request (Fetch,
    /// ListOffsets, OffsetForLeaderEpoch) from a client that knows `current_leader_epoch`
    /// (-1: unknown), per KIP-320: an older epoch is FENCED_LEADER_EPOCH (74), a newer one
    /// UNKNOWN_LEADER_EPOCH (75, this broker has not learned it yet), otherwise
    /// NOT_LEADER_OR_FOLLOWER (6) unless this broker leads.
    pub fn serving_error(&self, current_leader_epoch: i32) -> Option<i16> {
        if current_leader_epoch >= 0 && current_leader_epoch < self.state.leader_epoch {
            return Some(74);
        }
        if current_leader_epoch > self.state.leader_epoch {
            return Some(75);
        }
        if !matches!(self.role, Role::Leader(_)) {
            return Some(6);
        }
        None
    }

    /// The error for a request this broker cannot serve as leader.
    pub fn not_leader(&self) -> AppendError {
        AppendError::NotLeader {
            leader: self.state.leader,
            leader_epoch: self.state.leader_epoch,
        }
    }

    /// Applies the engine's HW moves to the published state.
    pub fn publish(&mut self, commands: &[Command]) -> Vec<IsrProposal> {
        let mut proposals = Vec::new();
        for c in commands {
            match c {
                Command::AdvanceHighWatermark(hw) => {
                    self.state.high_watermark = self.state.high_watermark.max(*hw)
                }
                Command::ProposeIsr(p) => proposals.push(p.clone()),
            }
        }
        proposals
    }
}

/// One partition of a topic.
#[derive(Debug)]
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    inner: Mutex<PartitionInner>,
    /// Bumped when this partition's log, high watermark or role changes: wakes the fetches
    /// and acks=all produces waiting on this partition only (a broker-wide signal woke every
    /// waiting fetch on every append).
    changed: watch::Sender<u64>,
}

impl Partition {
    /// Wraps an opened log.
    pub fn new(topic: String, index: i32, inner: PartitionInner) -> Self {
        Partition {
            topic,
            index,
            inner: Mutex::new(inner),
            changed: watch::channel(0).0,
        }
    }

    /// Wakes whoever waits on this partition (data appended, HW moved, role changed).
    pub fn notify_changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever [`Partition::notify_changed`] is called.
    pub fn subscribe_changed(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Locks the partition; a poisoned lock (a panic while appending) is surfaced as-is, since
    /// the log state is only mutated after the bytes are written.
    pub fn lock(&self) -> MutexGuard<'_, PartitionInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Validates and appends one produced batch as leader (blocking: may fsync), refused
    /// NOT_LEADER_OR_FOLLOWER unless [`accepts_produce`] (`fenced-leader-produce`). The
    /// `no-dedup` seeded fault appends a retried batch again instead of acknowledging it with
    /// its original offset (the table keeps the original, so later sequences still check).
    pub fn append(
        &self,
        mut bytes: Vec<u8>,
        acks: i16,
        faults: SeededFaults,
    ) -> Result<AppendOutcome, AppendError> {
        let header = batch::validate(&bytes)?;
        if header.total_bytes != bytes.len() {
            return Err(AppendError::Invalid(format!(
                "produce data must hold exactly one record batch: batch is {} bytes, data {}",
                header.total_bytes,
                bytes.len()
            )));
        }
        if header.is_transactional() || header.is_control() {
            return Err(AppendError::Invalid(
                "transactional and control batches are not supported yet".into(),
            ));
        }
        let mut inner = self.lock();
        let leader_epoch = inner.state.leader_epoch;
        if !inner.accepts_produce(faults) {
            return Err(inner.not_leader());
        }
        match inner.leader_engine(None) {
            Some(engine) => engine.check_produce(acks)?,
            None => {
                tracing::warn!(topic = %self.topic, partition = self.index, led_epoch = ?inner.led_epoch, leader_epoch, "seeded fault fenced-leader-produce: a deposed leader appends a produce")
            }
        }
        let decision = if header.is_idempotent() {
            inner
                .producers
                .check(
                    header.producer_id,
                    header.producer_epoch,
                    header.base_sequence,
                    header.last_sequence(),
                )
                .map_err(AppendError::Sequence)?
        } else {
            SequenceDecision::Append
        };
        let skip_dedup = faults.has(SeededFault::NoDedup);
        if let SequenceDecision::Duplicate(original) = decision {
            if skip_dedup {
                tracing::warn!(topic = %self.topic, partition = self.index, base_offset = original.first_offset, "seeded fault no-dedup: appending a retried batch again");
            } else {
                return Ok(AppendOutcome {
                    base_offset: original.first_offset,
                    last_offset: original.last_offset,
                    log_start_offset: inner.log.log_start_offset(),
                    duplicate: true,
                    leader_epoch,
                });
            }
        }
        let stored = inner.log.append(&mut bytes, leader_epoch)?;
        if stored.is_idempotent() && decision == SequenceDecision::Append {
            inner.producers.record(
                stored.producer_id,
                stored.producer_epoch,
                BatchMetadata {
                    first_sequence: stored.base_sequence,
                    last_sequence: stored.last_sequence(),
                    first_offset: stored.base_offset,
                    last_offset: stored.last_offset(),
                },
            );
        }
        let leo = inner.log.log_end_offset();
        let commands = match inner.leader_engine(None) {
            Some(engine) => engine.handle(Event::Appended {
                log_end_offset: leo,
            }),
            None => Vec::new(),
        };
        // Appends never propose ISR changes (only fetches and ticks do).
        inner.publish(&commands);
        Ok(AppendOutcome {
            base_offset: stored.base_offset,
            last_offset: stored.last_offset(),
            log_start_offset: inner.log.log_start_offset(),
            duplicate: false,
            leader_epoch,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::FlushPolicy;
    use crate::log::batch::tests::make_batch;
    use crate::log::partition_log::LogOptions;
    use crate::replication::leader::LeaderSettings;

    /// Partition `t-0` over an empty log in `dir` (fsync every batch) with `state` and `role`.
    pub(crate) fn partition_with(
        dir: &std::path::Path,
        state: PartitionState,
        role: Role,
    ) -> Partition {
        let mut producers = ProducerStateTable::default();
        let opts = LogOptions {
            segment_bytes: 1 << 20,
            flush_policy: FlushPolicy::EveryBatch,
            faults: SeededFaults::NONE,
        };
        let (log, _) = PartitionLog::open(dir, 0, opts, &mut producers).expect("open");
        Partition::new(
            "t".into(),
            0,
            PartitionInner {
                led_epoch: None,
                state,
                log,
                producers,
                role,
            },
        )
    }

    /// A single-node leader of `t-0` on node 1.
    fn partition(dir: &std::path::Path) -> Partition {
        let settings = LeaderSettings {
            node_id: 1,
            replicas: vec![1],
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 1_000,
            faults: SeededFaults::NONE,
        };
        let engine = LeaderEngine::new(settings, 0, 0, vec![1], 0, 0, 0);
        partition_with(
            dir,
            PartitionState::single_node(1, 0),
            Role::Leader(Box::new(engine)),
        )
    }

    #[test]
    fn retried_batch_is_acked_with_original_offset_and_not_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let first = p
            .append(make_batch(5, 3, 0, 0), -1, SeededFaults::NONE)
            .expect("append");
        let second = p
            .append(make_batch(5, 3, 0, 5), -1, SeededFaults::NONE)
            .expect("append");
        let retry = p
            .append(make_batch(5, 3, 0, 0), -1, SeededFaults::NONE)
            .expect("retry");
        assert_eq!((first.base_offset, second.base_offset), (0, 5));
        assert_eq!(
            retry,
            AppendOutcome {
                base_offset: 0,
                last_offset: 4,
                log_start_offset: 0,
                duplicate: true,
                leader_epoch: 0,
            }
        );
        assert_eq!(p.lock().log.log_end_offset(), 10);
        assert_eq!(p.lock().state.high_watermark, 10);
        assert!(matches!(
            p.append(make_batch(1, 3, 0, 11), -1, SeededFaults::NONE),
            Err(AppendError::Sequence(SequenceError::OutOfOrder { .. }))
        ));
    }

    #[test]
    fn no_dedup_fault_appends_a_retry_again_and_keeps_checking_sequences() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let faulty = SeededFaults::NONE.with(SeededFault::NoDedup);
        p.append(make_batch(5, 3, 0, 0), -1, faulty)
            .expect("append");
        let retry = p.append(make_batch(5, 3, 0, 0), -1, faulty).expect("retry");
        assert_eq!((retry.base_offset, retry.duplicate), (5, false));
        assert_eq!(p.lock().log.log_end_offset(), 10);
        let next = p.append(make_batch(5, 3, 0, 5), -1, faulty).expect("next");
        assert_eq!(next.base_offset, 10);
    }

    #[test]
    fn two_batches_in_one_produce_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let mut two = make_batch(1, -1, -1, -1);
        two.extend(make_batch(1, -1, -1, -1));
        assert!(matches!(
            p.append(two, -1, SeededFaults::NONE),
            Err(AppendError::Invalid(_))
        ));
        assert_eq!(p.lock().log.log_end_offset(), 0);
    }
}
