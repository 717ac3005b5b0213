//! A partition: its replication state (leader, epoch, ISR, high watermark), its log and its
//! idempotent-producer table, behind one lock.
//!
//! `PartitionState` is the record part 2's replicated controller metadata will own; the append
//! path here is the leader's side and the only writer of the log.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use thiserror::Error;

use crate::faults::{SeededFault, SeededFaults};
use crate::log::batch::{self, BatchError};
use crate::log::partition_log::{LogError, PartitionLog};
use crate::producer::state::{BatchMetadata, ProducerStateTable, SequenceDecision, SequenceError};

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

/// High watermark = smallest log end offset among the ISR (the leader's own LEO included).
/// Pure so the replication engine of part 2 can reuse it with follower LEOs.
pub fn high_watermark(leader_leo: i64, isr_follower_leos: &[i64]) -> i64 {
    isr_follower_leos.iter().copied().fold(leader_leo, i64::min)
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
}

/// One partition of a topic.
#[derive(Debug)]
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    inner: Mutex<PartitionInner>,
}

impl Partition {
    /// Wraps an opened log.
    pub fn new(topic: String, index: i32, inner: PartitionInner) -> Self {
        Partition {
            topic,
            index,
            inner: Mutex::new(inner),
        }
    }

    /// Locks the partition; a poisoned lock (a panic while appending) is surfaced as-is, since
    /// the log state is only mutated after the bytes are written.
    pub fn lock(&self) -> MutexGuard<'_, PartitionInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Validates and appends one produced batch as leader (blocking: may fsync). The
    /// `no-dedup` seeded fault appends a retried batch again instead of acknowledging it with
    /// its original offset (the table keeps the original, so later sequences still check).
    pub fn append(
        &self,
        mut bytes: Vec<u8>,
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
                });
            }
        }
        let leader_epoch = inner.state.leader_epoch;
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
        // Single node: the ISR is the leader alone, so the HW follows the LEO.
        let leo = inner.log.log_end_offset();
        inner.state.high_watermark = high_watermark(leo, &[]);
        Ok(AppendOutcome {
            base_offset: stored.base_offset,
            last_offset: stored.last_offset(),
            log_start_offset: inner.log.log_start_offset(),
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FlushPolicy;
    use crate::log::batch::tests::make_batch;
    use crate::log::partition_log::LogOptions;

    fn partition(dir: &std::path::Path) -> Partition {
        let mut producers = ProducerStateTable::default();
        let opts = LogOptions {
            segment_bytes: 1 << 20,
            flush_policy: FlushPolicy::EveryBatch,
        };
        let (log, _) = PartitionLog::open(dir, 0, opts, &mut producers).expect("open");
        let state = PartitionState::single_node(1, log.log_end_offset());
        Partition::new(
            "t".into(),
            0,
            PartitionInner {
                state,
                log,
                producers,
            },
        )
    }

    #[test]
    fn retried_batch_is_acked_with_original_offset_and_not_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let first = p
            .append(make_batch(5, 3, 0, 0), SeededFaults::NONE)
            .expect("append");
        let second = p
            .append(make_batch(5, 3, 0, 5), SeededFaults::NONE)
            .expect("append");
        let retry = p
            .append(make_batch(5, 3, 0, 0), SeededFaults::NONE)
            .expect("retry");
        assert_eq!((first.base_offset, second.base_offset), (0, 5));
        assert_eq!(
            retry,
            AppendOutcome {
                base_offset: 0,
                last_offset: 4,
                log_start_offset: 0,
                duplicate: true
            }
        );
        assert_eq!(p.lock().log.log_end_offset(), 10);
        assert_eq!(p.lock().state.high_watermark, 10);
        assert!(matches!(
            p.append(make_batch(1, 3, 0, 11), SeededFaults::NONE),
            Err(AppendError::Sequence(SequenceError::OutOfOrder { .. }))
        ));
    }

    #[test]
    fn no_dedup_fault_appends_a_retry_again_and_keeps_checking_sequences() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let faulty = SeededFaults::NONE.with(SeededFault::NoDedup);
        p.append(make_batch(5, 3, 0, 0), faulty).expect("append");
        let retry = p.append(make_batch(5, 3, 0, 0), faulty).expect("retry");
        assert_eq!((retry.base_offset, retry.duplicate), (5, false));
        assert_eq!(p.lock().log.log_end_offset(), 10);
        let next = p.append(make_batch(5, 3, 0, 5), faulty).expect("next");
        assert_eq!(next.base_offset, 10);
    }

    #[test]
    fn two_batches_in_one_produce_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = partition(dir.path());
        let mut two = make_batch(1, -1, -1, -1);
        two.extend(make_batch(1, -1, -1, -1));
        assert!(matches!(
            p.append(two, SeededFaults::NONE),
            Err(AppendError::Invalid(_))
        ));
        assert_eq!(p.lock().log.log_end_offset(), 0);
    }

    #[test]
    fn high_watermark_is_min_of_isr() {
        assert_eq!(high_watermark(10, &[]), 10);
        assert_eq!(high_watermark(10, &[7, 12]), 7);
    }
}
