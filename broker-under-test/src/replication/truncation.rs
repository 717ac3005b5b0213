//! Where a follower truncates its log before fetching from a new leader (KIP-101, KIP-279).
//!
//! After a leader change a follower (or the old leader coming back) sends OffsetForLeaderEpoch
//! with its latest epoch; the leader answers with the end of the largest epoch it knows that is
//! not newer. Everything the follower holds past that point diverged (it was never committed
//! under the new leader) and must go, or replicas disagree on what an offset holds.
//! Pure logic; the `no-truncation` seeded fault keeps the divergent tail.

use super::epoch_cache::{EpochEnd, LeaderEpochCache};
use crate::faults::{SeededFault, SeededFaults};

/// The offset the follower truncates its log to (equal to its LEO when nothing diverged).
///
/// - The leader does not know the epoch (UNDEFINED): fall back to the follower's high
///   watermark, the pre-KIP-101 rule (only committed data is kept).
/// - Otherwise: the smaller of the leader's end offset for that epoch and the follower's own
///   end offset for the same (or the largest older) epoch, never above the follower's LEO.
pub fn truncation_offset(
    local: &LeaderEpochCache,
    local_log_end_offset: i64,
    local_high_watermark: i64,
    leader_answer: EpochEnd,
    faults: SeededFaults,
) -> i64 {
    if faults.has(SeededFault::NoTruncation) {
        return local_log_end_offset;
    }
    let point = if leader_answer == EpochEnd::UNDEFINED || leader_answer.end_offset < 0 {
        local_high_watermark
    } else {
        let mine = local.end_offset_for(leader_answer.leader_epoch, local_log_end_offset);
        if mine == EpochEnd::UNDEFINED {
            local_high_watermark.min(leader_answer.end_offset)
        } else {
            leader_answer.end_offset.min(mine.end_offset)
        }
    };
    point.clamp(0, local_log_end_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        for &(e, s) in entries {
            c.assign(e, s);
        }
        c
    }

    #[test]
    fn old_leader_cuts_the_tail_it_wrote_alone() {
        // Old leader wrote offsets 10..15 in epoch 1 that nobody replicated; the new leader
        // (epoch 2) knows epoch 1 ended at 10.
        let old = cache(&[(0, 0), (1, 5)]);
        let answer = EpochEnd {
            leader_epoch: 1,
            end_offset: 10,
        };
        assert_eq!(
            truncation_offset(&old, 15, 8, answer, SeededFaults::NONE),
            10
        );
        let faulty = SeededFaults::NONE.with(SeededFault::NoTruncation);
        assert_eq!(truncation_offset(&old, 15, 8, answer, faulty), 15);
    }

    #[test]
    fn caught_up_follower_keeps_everything() {
        let f = cache(&[(0, 0), (1, 5)]);
        let answer = EpochEnd {
            leader_epoch: 1,
            end_offset: 20,
        };
        assert_eq!(
            truncation_offset(&f, 12, 12, answer, SeededFaults::NONE),
            12
        );
    }

    #[test]
    fn unknown_epochs_fall_back_to_the_high_watermark() {
        let f = cache(&[(3, 0)]);
        assert_eq!(
            truncation_offset(&f, 9, 4, EpochEnd::UNDEFINED, SeededFaults::NONE),
            4
        );
        // The leader answers with epoch 1, which this follower never saw.
        let answer = EpochEnd {
            leader_epoch: 1,
            end_offset: 6,
        };
        assert_eq!(truncation_offset(&f, 9, 4, answer, SeededFaults::NONE), 4);
        // A follower whose epoch is older than the leader's answer uses its own epoch's end.
        let g = cache(&[(0, 0)]);
        let answer = EpochEnd {
            leader_epoch: 2,
            end_offset: 7,
        };
        assert_eq!(truncation_offset(&g, 9, 3, answer, SeededFaults::NONE), 7);
    }
}
