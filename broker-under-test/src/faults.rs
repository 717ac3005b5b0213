//! Seeded faults: deliberate, realistic replication bugs the harness must later catch.
//!
//! Every fault is off by default and switched on by name with `--seeded-faults a,b` (env
//! `BROKER_SEEDED_FAULTS`). The set is a small `Copy` value handed to the pure decisions it
//! corrupts (the ack rule, the idempotence check, the fetch limit, the truncation point, the
//! ISR-change rule, a new leader's first high watermark, produce fencing, the unclean-election
//! rule, the recovery end), so each bug lives in exactly one place and is unit-testable.

use std::fmt;
use std::str::FromStr;

/// One seeded bug, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeededFault {
    /// `ack-before-replication`: acks=all is answered once the leader has written, without
    /// waiting for the high watermark (the ISR) to pass the batch.
    AckBeforeReplication,
    /// `no-dedup`: a retried idempotent batch (KIP-98) is appended again instead of being
    /// acknowledged with its original offset.
    NoDedup,
    /// `no-truncation`: a follower keeps its divergent tail after a leader change instead of
    /// truncating to the OffsetForLeaderEpoch answer (KIP-101).
    NoTruncation,
    /// `read-above-hw`: fetches serve records above the high watermark (uncommitted data).
    ReadAboveHw,
    /// `zombie-leader`: a leader applies its own ISR shrink without the controller confirming
    /// it (KIP-497's AlterPartition), so, cut off, it keeps acknowledging acks=all writes.
    ZombieLeader,
    /// `hw-above-isr`: a broker becoming leader takes its own log end offset as high
    /// watermark instead of its last known HW (which only rises as the ISR fetches), so
    /// consumers read records other ISR members may not hold.
    HwAboveIsr,
    /// `fenced-leader-produce`: a deposed leader that already learned the newer leader epoch
    /// keeps appending produces (Kafka's `appendRecordsToLeader` check that this broker leads
    /// at the current epoch skipped), next to the new leader's records.
    FencedLeaderProduce,
    /// `unclean-election`: the controller elects an out-of-sync live replica when no ISR
    /// member is alive, although the topic's `unclean.leader.election.enable` is false.
    UncleanElection,
    /// `recovery-drops-tail`: recovery after an unclean shutdown truncates to the
    /// recovery-point checkpoint instead of validating the segments past it, dropping
    /// acknowledged records that were written but not yet flushed.
    RecoveryDropsTail,
}

impl SeededFault {
    /// Every fault, in `--help` order.
    pub const ALL: [SeededFault; 9] = [
        SeededFault::AckBeforeReplication,
        SeededFault::NoDedup,
        SeededFault::NoTruncation,
        SeededFault::ReadAboveHw,
        SeededFault::ZombieLeader,
        SeededFault::HwAboveIsr,
        SeededFault::FencedLeaderProduce,
        SeededFault::UncleanElection,
        SeededFault::RecoveryDropsTail,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            SeededFault::AckBeforeReplication => "ack-before-replication",
            SeededFault::NoDedup => "no-dedup",
            SeededFault::NoTruncation => "no-truncation",
            SeededFault::ReadAboveHw => "read-above-hw",
            SeededFault::ZombieLeader => "zombie-leader",
            SeededFault::HwAboveIsr => "hw-above-isr",
            SeededFault::FencedLeaderProduce => "fenced-leader-produce",
            SeededFault::UncleanElection => "unclean-election",
            SeededFault::RecoveryDropsTail => "recovery-drops-tail",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The set of enabled faults (empty by default: a correct broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeededFaults(u16);

impl SeededFaults {
    /// No fault enabled.
    pub const NONE: SeededFaults = SeededFaults(0);

    /// True when `fault` is enabled.
    pub fn has(self, fault: SeededFault) -> bool {
        self.0 & fault.bit() != 0
    }

    /// This set plus `fault`.
    pub fn with(self, fault: SeededFault) -> SeededFaults {
        SeededFaults(self.0 | fault.bit())
    }

    /// True when no fault is enabled.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromStr for SeededFaults {
    type Err = String;

    /// Parses a comma-separated list of fault names; empty means none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = SeededFaults::NONE;
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let fault = SeededFault::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    let known: Vec<_> = SeededFault::ALL.iter().map(|f| f.name()).collect();
                    format!(
                        "unknown seeded fault {name:?}: expected a comma-separated list of {}",
                        known.join(", ")
                    )
                })?;
            set = set.with(fault);
        }
        Ok(set)
    }
}

impl fmt::Display for SeededFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = SeededFault::ALL
            .into_iter()
            .filter(|x| self.has(*x))
            .map(SeededFault::name)
            .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_rejects_unknown_names() {
        assert_eq!("".parse(), Ok(SeededFaults::NONE));
        let set: SeededFaults = "no-dedup, read-above-hw".parse().expect("parse");
        assert!(set.has(SeededFault::NoDedup) && set.has(SeededFault::ReadAboveHw));
        assert!(!set.has(SeededFault::ZombieLeader));
        assert_eq!(set.to_string(), "no-dedup,read-above-hw");
        let all: SeededFaults = SeededFault::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(",")
            .parse()
            .expect("parse all");
        assert!(SeededFault::ALL.into_iter().all(|f| all.has(f)));
        let err = "no-dedup,lose-everything"
            .parse::<SeededFaults>()
            .expect_err("unknown");
        assert!(err.contains("lose-everything") && err.contains("zombie-leader"));
    }

    // Goal: every fault has a distinct bit and a distinct kebab-case name that parses back
    // to it alone. Method: walk `ALL` (the one list `--list-seeded-faults` prints).
    #[test]
    fn every_fault_has_its_own_bit_and_name() {
        for (i, f) in SeededFault::ALL.into_iter().enumerate() {
            let alone: SeededFaults = f.name().parse().expect("parse one");
            for g in SeededFault::ALL {
                assert_eq!(alone.has(g), f == g, "{} vs {}", f.name(), g.name());
            }
            assert!(f.name().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!(SeededFault::ALL[..i].iter().all(|g| g.name() != f.name()));
        }
    }
}
