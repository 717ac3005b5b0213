//! Idempotent-producer state per partition (KIP-98): for each producer id, its epoch and the
//! sequence ranges and offsets of its last 5 batches.
//!
//! Pure logic, no I/O: `check` decides what to do with an incoming batch, `record` remembers an
//! appended one. Recovery and (in part 2) followers rebuild the table by calling `record` for
//! every batch of the log, so deduplication survives restarts and failovers.

use std::collections::{HashMap, VecDeque};

/// Batches remembered per producer (Kafka's `max.in.flight.requests.per.connection` bound).
pub const BATCHES_PER_PRODUCER: usize = 5;

/// Sequence range and offsets of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence of the first record.
    pub first_sequence: i32,
    /// Sequence of the last record.
    pub last_sequence: i32,
    /// Offset of the first record.
    pub first_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
}

/// What the partition should do with a batch from an idempotent producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceDecision {
    /// In sequence: append it.
    Append,
    /// A retry of a batch already in the log: acknowledge with its original offset.
    Duplicate(BatchMetadata),
}

/// Why a batch from an idempotent producer is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceError {
    /// The batch's epoch is older than the producer's current one (a zombie producer).
    StaleEpoch {
        /// Epoch in the batch.
        batch_epoch: i16,
        /// Epoch the partition knows.
        current_epoch: i16,
    },
    /// The batch does not follow the last sequence (a gap or an old, evicted retry).
    OutOfOrder {
        /// Sequence the partition expected next.
        expected: i32,
        /// Sequence the batch starts with.
        received: i32,
    },
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
}

/// Producer id -> state, for one partition.
#[derive(Debug, Clone, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
}

fn next_sequence(last: i32) -> i32 {
    if last == i32::MAX {
        0
    } else {
        last + 1
    }
}

impl ProducerStateTable {
    /// Decides whether a batch `(producer_id, epoch, first..=last sequence)` is appended,
    /// acknowledged as a duplicate, or refused. Mirrors Kafka's `ProducerAppendInfo.checkSequence`:
    /// an unknown producer may start at any sequence; a new epoch must start at sequence 0.
    pub fn check(
        &self,
        producer_id: i64,
        epoch: i16,
        first_sequence: i32,
        last_sequence: i32,
    ) -> Result<SequenceDecision, SequenceError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(SequenceDecision::Append);
        };
        if epoch < entry.epoch {
            return Err(SequenceError::StaleEpoch {
                batch_epoch: epoch,
                current_epoch: entry.epoch,
            });
        }
        if epoch > entry.epoch {
            return if first_sequence == 0 {
                Ok(SequenceDecision::Append)
            } else {
                Err(SequenceError::OutOfOrder {
                    expected: 0,
                    received: first_sequence,
                })
            };
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_sequence == first_sequence && b.last_sequence == last_sequence)
        {
            return Ok(SequenceDecision::Duplicate(*dup));
        }
        let expected = entry
            .batches
            .back()
            .map_or(first_sequence, |b| next_sequence(b.last_sequence));
        if first_sequence == expected {
            Ok(SequenceDecision::Append)
        } else {
            Err(SequenceError::OutOfOrder {
                expected,
                received: first_sequence,
            })
        }
    }

    /// Remembers an appended batch; a newer epoch resets the producer's history.
    pub fn record(&mut self, producer_id: i64, epoch: i16, batch: BatchMetadata) {
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch,
                batches: VecDeque::new(),
            });
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(batch);
        while entry.batches.len() > BATCHES_PER_PRODUCER {
            entry.batches.pop_front();
        }
    }

    /// Number of producers known (for logs).
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// True when no producer is known.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(first: i32, last: i32, offset: i64) -> BatchMetadata {
        BatchMetadata {
            first_sequence: first,
            last_sequence: last,
            first_offset: offset,
            last_offset: offset + i64::from(last - first),
        }
    }

    #[test]
    fn in_sequence_batches_append_and_retries_get_original_offsets() {
        let mut t = ProducerStateTable::default();
        assert_eq!(t.check(1, 0, 0, 9), Ok(SequenceDecision::Append));
        t.record(1, 0, meta(0, 9, 100));
        assert_eq!(t.check(1, 0, 10, 19), Ok(SequenceDecision::Append));
        t.record(1, 0, meta(10, 19, 110));
        assert_eq!(
            t.check(1, 0, 0, 9),
            Ok(SequenceDecision::Duplicate(meta(0, 9, 100)))
        );
        assert_eq!(
            t.check(1, 0, 10, 19),
            Ok(SequenceDecision::Duplicate(meta(10, 19, 110)))
        );
    }

    #[test]
    fn gap_is_out_of_order_and_stale_epoch_is_refused() {
        let mut t = ProducerStateTable::default();
        t.record(1, 3, meta(0, 4, 0));
        assert_eq!(
            t.check(1, 3, 6, 6),
            Err(SequenceError::OutOfOrder {
                expected: 5,
                received: 6
            })
        );
        assert_eq!(
            t.check(1, 2, 5, 5),
            Err(SequenceError::StaleEpoch {
                batch_epoch: 2,
                current_epoch: 3
            })
        );
        assert_eq!(
            t.check(1, 4, 3, 3),
            Err(SequenceError::OutOfOrder {
                expected: 0,
                received: 3
            })
        );
        assert_eq!(t.check(1, 4, 0, 3), Ok(SequenceDecision::Append));
    }

    #[test]
    fn only_last_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..6 {
            t.record(9, 0, meta(i, i, i64::from(i)));
        }
        // Batch 0 was evicted: its retry can no longer be recognised and is out of order.
        assert_eq!(
            t.check(9, 0, 0, 0),
            Err(SequenceError::OutOfOrder {
                expected: 6,
                received: 0
            })
        );
        assert_eq!(
            t.check(9, 0, 1, 1),
            Ok(SequenceDecision::Duplicate(meta(1, 1, 1)))
        );
    }

    #[test]
    fn sequence_wraps_after_i32_max() {
        let mut t = ProducerStateTable::default();
        t.record(
            2,
            0,
            BatchMetadata {
                first_sequence: i32::MAX - 1,
                last_sequence: i32::MAX,
                first_offset: 0,
                last_offset: 1,
            },
        );
        assert_eq!(t.check(2, 0, 0, 4), Ok(SequenceDecision::Append));
    }
}
