//! The leader-epoch cache of one partition (KIP-101, Kafka's `leader-epoch-checkpoint`):
//! for every leader epoch, the first offset written in it.
//!
//! It answers OffsetForLeaderEpoch ("where does epoch E end in your log?"), which is how a
//! follower or a returning old leader finds the point where its log diverged from the new
//! leader's and truncates its tail. Pure data, no I/O; persistence comes with the wiring.

use serde::{Deserialize, Serialize};

/// Epoch and end offset of an OffsetForLeaderEpoch answer; `UNDEFINED` when the epoch is older
/// than anything the log holds (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEnd {
    /// The largest epoch ≤ the requested one that this log knows (-1 if none).
    pub leader_epoch: i32,
    /// Offset one past the last record of that epoch (-1 if none).
    pub end_offset: i64,
}

impl EpochEnd {
    /// The answer for an epoch the log does not reach back to.
    pub const UNDEFINED: EpochEnd = EpochEnd {
        leader_epoch: -1,
        end_offset: -1,
    };
}

/// Ordered `(epoch, start offset)` entries, epochs strictly increasing, offsets non-decreasing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderEpochCache {
    entries: Vec<(i32, i64)>,
}

impl LeaderEpochCache {
    /// Records that `epoch` starts at `start_offset`. An epoch not newer than the latest is
    /// ignored (it was already recorded: batches of one epoch arrive in order); an entry
    /// starting beyond `start_offset` is dropped, as Kafka does when a new epoch overlaps.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) {
        if self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return;
        }
        self.entries.retain(|&(_, start)| start < start_offset);
        self.entries.push((epoch, start_offset));
    }

    /// The newest epoch, if any batch was written.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|&(e, _)| e)
    }

    /// The first offset of `epoch`, if this log holds that epoch.
    pub fn start_offset(&self, epoch: i32) -> Option<i64> {
        self.entries
            .iter()
            .find(|&&(e, _)| e == epoch)
            .map(|&(_, s)| s)
    }

    /// The OffsetForLeaderEpoch answer for `requested` given this log's end offset: the largest
    /// known epoch ≤ `requested` and the start offset of the next epoch (or the LEO if it is
    /// the latest).
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> EpochEnd {
        let Some(pos) = self.entries.iter().rposition(|&(e, _)| e <= requested) else {
            return EpochEnd::UNDEFINED;
        };
        let end_offset = self
            .entries
            .get(pos + 1)
            .map_or(log_end_offset, |&(_, next_start)| next_start);
        EpochEnd {
            leader_epoch: self.entries[pos].0,
            end_offset,
        }
    }

    /// Forgets every epoch starting at or after `offset` (the log was truncated there).
    pub fn truncate_from(&mut self, offset: i64) {
        self.entries.retain(|&(_, start)| start < offset);
    }

    /// The entries, oldest first (for the admin endpoint and persistence).
    pub fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        c.assign(0, 0);
        c.assign(0, 5); // same epoch again: ignored
        c.assign(2, 10);
        c.assign(5, 20);
        c
    }

    #[test]
    fn answers_offset_for_leader_epoch_like_kafka() {
        let c = cache();
        assert_eq!(c.entries(), &[(0, 0), (2, 10), (5, 20)]);
        let at = |e| c.end_offset_for(e, 30);
        assert_eq!(
            at(0),
            EpochEnd {
                leader_epoch: 0,
                end_offset: 10
            }
        );
        // Epoch 1 never had a leader writing here: the largest epoch below it answers.
        assert_eq!(
            at(1),
            EpochEnd {
                leader_epoch: 0,
                end_offset: 10
            }
        );
        assert_eq!(
            at(2),
            EpochEnd {
                leader_epoch: 2,
                end_offset: 20
            }
        );
        assert_eq!(
            at(5),
            EpochEnd {
                leader_epoch: 5,
                end_offset: 30
            }
        );
        assert_eq!(
            at(9),
            EpochEnd {
                leader_epoch: 5,
                end_offset: 30
            }
        );
        assert_eq!(at(-1), EpochEnd::UNDEFINED);
        assert_eq!(c.start_offset(2), Some(10));
        assert_eq!(c.start_offset(3), None);
    }

    #[test]
    fn truncation_and_overlapping_epochs_drop_entries() {
        let mut c = cache();
        c.truncate_from(10);
        assert_eq!(c.entries(), &[(0, 0)]);
        let mut c = cache();
        c.assign(7, 15); // overlaps epoch 5's range: epoch 5 is dropped
        assert_eq!(c.entries(), &[(0, 0), (2, 10), (7, 15)]);
        assert_eq!(c.latest_epoch(), Some(7));
    }
}
