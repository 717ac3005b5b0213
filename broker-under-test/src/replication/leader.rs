//! The partition leader's replication engine: pure logic in the openraft style (events in,
//! commands out, no I/O, no clock of its own), so every rule is unit-testable.
//!
//! It tracks each follower's log end offset from its fetches (Kafka's `updateFollowerFetchState`),
//! keeps the high watermark at the smallest LEO of the ISR, proposes ISR shrinks after
//! `replica.lag.time.max.ms` without catching up and expansions once a follower caught up
//! (KIP-497 AlterPartition: proposals carry the partition epoch, and while one is pending the
//! HW is computed over the larger "maximal" ISR), and decides acks=all completion and
//! NOT_ENOUGH_REPLICAS against `min.insync.replicas`.

use std::collections::BTreeMap;

use crate::ack::{self, AckDecision};
use crate::faults::{SeededFault, SeededFaults};

/// Static settings of a leader's partition.
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    /// This broker (the leader).
    pub node_id: i32,
    /// All assigned replicas, leader included.
    pub replicas: Vec<i32>,
    /// Topic's `min.insync.replicas`.
    pub min_insync_replicas: i32,
    /// Kafka `replica.lag.time.max.ms`: how long a follower may stay behind before it leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// Seeded faults (`ack-before-replication`, `zombie-leader`, `hw-above-isr` act here).
    pub faults: SeededFaults,
}

/// What the leader knows of one follower, from its fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerProgress {
    /// Follower LEO (its fetch offset); -1 until its first fetch under this leader.
    pub log_end_offset: i64,
    /// Last time the follower was known to have caught up with the leader's LEO.
    pub last_caught_up_ms: u64,
    last_fetch_ms: u64,
    last_fetch_leader_leo: i64,
}

/// An ISR change sent to the controller (AlterPartition), refused there if stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrProposal {
    /// Proposed ISR.
    pub isr: Vec<i32>,
    /// Leader epoch the leader holds.
    pub leader_epoch: i32,
    /// Partition epoch the proposal is based on.
    pub partition_epoch: i32,
}

/// Inputs to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The leader appended; its LEO is now `log_end_offset`.
    Appended {
        /// Leader LEO after the append.
        log_end_offset: i64,
    },
    /// A follower fetched from `fetch_offset` (= its LEO).
    FollowerFetch {
        /// Follower node id.
        replica: i32,
        /// Offset it fetched from.
        fetch_offset: i64,
        /// Time of the fetch.
        now_ms: u64,
    },
    /// Periodic check for lagging followers.
    Tick {
        /// Current time.
        now_ms: u64,
    },
    /// The controller committed an ISR (ours or another change) at `partition_epoch`.
    IsrCommitted {
        /// Committed ISR.
        isr: Vec<i32>,
        /// Its partition epoch.
        partition_epoch: i32,
    },
    /// The controller refused the pending proposal (stale partition epoch, fenced leader...).
    IsrRefused,
}

/// Outputs the caller must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The HW moved forward: publish it and wake waiting acks=all produces and fetches.
    AdvanceHighWatermark(i64),
    /// Send this ISR change to the controller.
    ProposeIsr(IsrProposal),
}

/// Why an acks=all produce is refused before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ISR has {isr} replicas, min.insync.replicas is {min}")]
pub struct NotEnoughReplicas {
    /// Current ISR size.
    pub isr: usize,
    /// Required.
    pub min: i32,
}

impl NotEnoughReplicas {
    /// Kafka error code NOT_ENOUGH_REPLICAS.
    pub const CODE: i16 = 19;
}

/// Replication state of one partition on its leader.
#[derive(Debug, Clone)]
pub struct LeaderEngine {
    settings: LeaderSettings,
    leader_epoch: i32,
    partition_epoch: i32,
    isr: Vec<i32>,
    /// The ISR the controller last confirmed (equal to `isr` unless `zombie-leader` acted
    /// on an unconfirmed shrink): `min.insync.replicas` is judged against it.
    confirmed_isr: Vec<i32>,
    pending: Option<IsrProposal>,
    log_end_offset: i64,
    high_watermark: i64,
    epoch_start_offset: i64,
    followers: BTreeMap<i32, FollowerProgress>,
}

impl LeaderEngine {
    /// A broker becomes leader at `leader_epoch` with the controller's ISR, its own LEO and
    /// last known HW. Follower LEOs are unknown until they fetch; ISR followers count as caught
    /// up now, so they are not expelled before they had a chance to fetch.
    pub fn new(
        settings: LeaderSettings,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<i32>,
        log_end_offset: i64,
        high_watermark: i64,
        now_ms: u64,
    ) -> Self {
        let followers = settings
            .replicas
            .iter()
            .filter(|&&r| r != settings.node_id)
            .map(|&r| {
                let progress = FollowerProgress {
                    log_end_offset: -1,
                    last_caught_up_ms: if isr.contains(&r) { now_ms } else { 0 },
                    last_fetch_ms: 0,
                    last_fetch_leader_leo: -1,
                };
                (r, progress)
            })
            .collect();
        let settings_faults = settings.faults;
        let mut engine = LeaderEngine {
            settings,
            leader_epoch,
            partition_epoch,
            confirmed_isr: isr.clone(),
            isr,
            pending: None,
            log_end_offset,
            high_watermark: initial_high_watermark(high_watermark, log_end_offset, settings_faults),
            epoch_start_offset: log_end_offset,
            followers,
        };
        engine.maybe_advance_hw();
        engine
    }

    /// Feeds one event; returns what to do.
    pub fn handle(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Appended { log_end_offset } => {
                self.log_end_offset = self.log_end_offset.max(log_end_offset);
            }
            Event::FollowerFetch {
                replica,
                fetch_offset,
                now_ms,
            } => self.on_fetch(replica, fetch_offset, now_ms, &mut out),
            Event::Tick { now_ms } => self.maybe_shrink(now_ms, &mut out),
            Event::IsrCommitted {
                isr,
                partition_epoch,
            } => {
                if partition_epoch >= self.partition_epoch {
                    self.confirmed_isr = isr.clone();
                    self.isr = isr;
                    self.partition_epoch = partition_epoch;
                    self.pending = None;
                }
            }
            Event::IsrRefused => self.pending = None,
        }
        let before = self.high_watermark;
        if self.maybe_advance_hw() > before {
            out.push(Command::AdvanceHighWatermark(self.high_watermark));
        }
        out
    }

    fn on_fetch(&mut self, replica: i32, fetch_offset: i64, now_ms: u64, out: &mut Vec<Command>) {
        let leader_leo = self.log_end_offset;
        let Some(f) = self.followers.get_mut(&replica) else {
            tracing::warn!(replica, "fetch from a broker that is not a replica ignored");
            return;
        };
        if fetch_offset >= leader_leo {
            f.last_caught_up_ms = f.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= f.last_fetch_leader_leo && f.last_fetch_leader_leo >= 0 {
            f.last_caught_up_ms = f.last_caught_up_ms.max(f.last_fetch_ms);
        }
        f.log_end_offset = fetch_offset.min(leader_leo);
        f.last_fetch_ms = now_ms;
        f.last_fetch_leader_leo = leader_leo;
        let eligible =
            f.log_end_offset >= self.high_watermark && f.log_end_offset >= self.epoch_start_offset;
        if eligible && !self.maximal_isr().contains(&replica) && self.pending.is_none() {
            let mut isr = self.isr.clone();
            isr.push(replica);
            isr.sort_unstable();
            self.propose(isr, out);
        }
    }

    fn maybe_shrink(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        if self.pending.is_some() {
            return;
        }
        let lag_max = self.settings.replica_lag_time_max_ms;
        let leo = self.log_end_offset;
        let out_of_sync: Vec<i32> = self
            .isr
            .iter()
            .copied()
            .filter(|r| *r != self.settings.node_id)
            .filter(|r| {
                self.followers.get(r).is_none_or(|f| {
                    f.log_end_offset != leo && now_ms.saturating_sub(f.last_caught_up_ms) > lag_max
                })
            })
            .collect();
        if out_of_sync.is_empty() {
            return;
        }
        let isr: Vec<i32> = self
            .isr
            .iter()
            .copied()
            .filter(|r| !out_of_sync.contains(r))
            .collect();
        tracing::info!(
            ?out_of_sync,
            ?isr,
            "followers lag past replica.lag.time.max.ms: proposing ISR shrink"
        );
        if self.settings.faults.has(SeededFault::ZombieLeader) {
            // Seeded bug: act on the shrink before the controller confirmed it.
            self.isr = isr.clone();
        }
        self.propose(isr, out);
    }

    fn propose(&mut self, isr: Vec<i32>, out: &mut Vec<Command>) {
        let proposal = IsrProposal {
            isr,
            leader_epoch: self.leader_epoch,
            partition_epoch: self.partition_epoch,
        };
        self.pending = Some(proposal.clone());
        out.push(Command::ProposeIsr(proposal));
    }

    /// Committed ISR plus a pending proposal's members: the HW waits for all of them.
    fn maximal_isr(&self) -> Vec<i32> {
        let mut all = self.isr.clone();
        if let Some(p) = &self.pending {
            all.extend(p.isr.iter().filter(|r| !self.isr.contains(r)));
        }
        all
    }

    fn maybe_advance_hw(&mut self) -> i64 {
        let me = self.settings.node_id;
        let min_leo = self
            .maximal_isr()
            .iter()
            .filter(|&&r| r != me)
            .map(|r| self.followers.get(r).map_or(-1, |f| f.log_end_offset))
            .fold(self.log_end_offset, i64::min);
        // The HW never moves back on the leader (a follower's unknown LEO is -1).
        self.high_watermark = self.high_watermark.max(min_leo);
        self.high_watermark
    }

    /// Refuses acks=all appends while the ISR is below `min.insync.replicas`.
    pub fn check_produce(&self, acks: i16) -> Result<(), NotEnoughReplicas> {
        let isr = self.confirmed_isr.len();
        if acks == -1
            && i64::try_from(isr).unwrap_or(i64::MAX) < i64::from(self.settings.min_insync_replicas)
        {
            return Err(NotEnoughReplicas {
                isr,
                min: self.settings.min_insync_replicas,
            });
        }
        Ok(())
    }

    /// Whether a produce whose batch ends at `last_offset` may be answered now.
    pub fn ack_decision(&self, acks: i16, last_offset: i64) -> AckDecision {
        ack::decide(acks, last_offset, self.high_watermark, self.settings.faults)
    }

    /// The leader epoch this engine leads at.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// Current high watermark.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// Committed ISR as this leader knows it.
    pub fn isr(&self) -> &[i32] {
        &self.isr
    }

    /// The proposal awaiting the controller, if any.
    pub fn pending(&self) -> Option<&IsrProposal> {
        self.pending.as_ref()
    }

    /// What the leader knows of `replica`.
    pub fn follower(&self, replica: i32) -> Option<FollowerProgress> {
        self.followers.get(&replica).copied()
    }
}

/// The high watermark a broker starts leading with. Kafka's makeLeader keeps the HW this
/// replica last learned (bounded by its own log end): records above it are not known to be
/// on every ISR member, so they stay invisible until the followers' fetches under the new
/// epoch prove it. The `hw-above-isr` seeded fault takes the new leader's own LEO instead,
/// exposing a tail that a later leader without it truncates away.
pub fn initial_high_watermark(
    last_known_hw: i64,
    log_end_offset: i64,
    faults: SeededFaults,
) -> i64 {
    if faults.has(SeededFault::HwAboveIsr) {
        log_end_offset
    } else {
        last_known_hw.min(log_end_offset)
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
