//! When a produce may be acknowledged: pure decision, no I/O (openraft style), so part 2's
//! replication can drive it with follower progress and test it without sockets.
//!
//! acks=0 and acks=1 are answered once the leader appended; acks=all (-1) only once the high
//! watermark (smallest LEO in the ISR) has passed the batch's last offset, unless the
//! `ack-before-replication` seeded fault answers it as soon as the leader wrote.

use crate::faults::{SeededFault, SeededFaults};

/// What the produce path does after appending a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckDecision {
    /// Answer now.
    Respond,
    /// Hold the answer until the high watermark exceeds `last_offset` (or the request's
    /// timeout passes: REQUEST_TIMED_OUT).
    AwaitHighWatermark {
        /// Last offset of the appended batch.
        last_offset: i64,
    },
}

/// Decides for one partition of a produce request.
pub fn decide(
    acks: i16,
    last_offset: i64,
    high_watermark: i64,
    faults: SeededFaults,
) -> AckDecision {
    if acks != -1 || high_watermark > last_offset || faults.has(SeededFault::AckBeforeReplication) {
        AckDecision::Respond
    } else {
        AckDecision::AwaitHighWatermark { last_offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(acks: i16, last_offset: i64, hw: i64) -> AckDecision {
        super::decide(acks, last_offset, hw, SeededFaults::NONE)
    }

    #[test]
    fn ack_before_replication_answers_acks_all_at_once() {
        let faulty = SeededFaults::NONE.with(SeededFault::AckBeforeReplication);
        assert_eq!(super::decide(-1, 9, 3, faulty), AckDecision::Respond);
    }

    #[test]
    fn acks_all_waits_for_the_high_watermark_and_others_do_not() {
        assert_eq!(decide(1, 9, 5), AckDecision::Respond);
        assert_eq!(decide(0, 9, 5), AckDecision::Respond);
        assert_eq!(decide(-1, 9, 10), AckDecision::Respond);
        assert_eq!(
            decide(-1, 9, 9),
            AckDecision::AwaitHighWatermark { last_offset: 9 }
        );
    }
}
