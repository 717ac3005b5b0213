//! Partition leader election: which replica leads after the leader is fenced or a leaderless
//! partition regains a live replica.
//!
//! Clean election picks the first live replica, in assignment order, that is in the ISR (so no
//! committed record is lost). Only when the topic sets `unclean.leader.election.enable` may an
//! out-of-sync live replica be chosen, and then the ISR shrinks to it alone (Kafka's rule).
//! The `unclean-election` seeded fault ignores the topic setting in `unclean_permitted`.

use crate::faults::{SeededFault, SeededFaults};

/// Outcome of an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Election {
    /// An in-sync live replica leads.
    Clean(i32),
    /// An out-of-sync live replica leads (committed records may be lost).
    Unclean(i32),
    /// No eligible replica: the partition is offline (leader -1).
    NoLeader,
}

/// Whether an out-of-sync replica may be elected: exactly when the topic's
/// `unclean.leader.election.enable` says so. The `unclean-election` seeded fault permits it
/// always, so a replica missing committed records can lead and the followers truncate them.
pub fn unclean_permitted(topic_setting: bool, faults: SeededFaults) -> bool {
    topic_setting || faults.has(SeededFault::UncleanElection)
}

/// Chooses a leader among `replicas` (assignment order), preferring the ISR.
pub fn elect_leader(
    replicas: &[i32],
    isr: &[i32],
    alive: impl Fn(i32) -> bool,
    unclean_allowed: bool,
) -> Election {
    if let Some(&r) = replicas.iter().find(|&&r| isr.contains(&r) && alive(r)) {
        return Election::Clean(r);
    }
    if unclean_allowed {
        if let Some(&r) = replicas.iter().find(|&&r| alive(r)) {
            return Election::Unclean(r);
        }
    }
    Election::NoLeader
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_live_isr_members_in_assignment_order() {
        let alive = |r: i32| r != 2;
        assert_eq!(
            elect_leader(&[2, 3, 1], &[1, 2, 3], alive, false),
            Election::Clean(3)
        );
        assert_eq!(
            elect_leader(&[2, 3, 1], &[2], alive, false),
            Election::NoLeader
        );
        assert_eq!(
            elect_leader(&[2, 3, 1], &[2], alive, true),
            Election::Unclean(3)
        );
        assert_eq!(elect_leader(&[2], &[2], alive, true), Election::NoLeader);
    }

    // Goal: with `unclean.leader.election.enable=false` an out-of-sync replica is never
    // elected, unless `unclean-election` is on. Method: the pure rule fed to the election.
    #[test]
    fn unclean_election_fault_ignores_the_topic_setting() {
        let alive = |r: i32| r != 2;
        let faulty = SeededFaults::NONE.with(SeededFault::UncleanElection);
        assert!(!unclean_permitted(false, SeededFaults::NONE));
        assert!(unclean_permitted(true, SeededFaults::NONE));
        assert!(unclean_permitted(false, faulty));
        let allowed = unclean_permitted(false, SeededFaults::NONE);
        assert_eq!(
            elect_leader(&[2, 3, 1], &[2], alive, allowed),
            Election::NoLeader
        );
        let allowed = unclean_permitted(false, faulty);
        assert_eq!(
            elect_leader(&[2, 3, 1], &[2], alive, allowed),
            Election::Unclean(3)
        );
    }
}
