//! Role changes and replication steps of one partition, applied under its lock: becoming
//! leader or follower when the controller's metadata says so (Kafka's `makeLeader` /
//! `makeFollower`), appending the leader's batches as a follower, and feeding the leader's
//! engine with follower fetches, ticks and the controller's answers to AlterPartition.

use crate::controller::metadata::PartitionRecord;
use crate::log::partition_log::{replay, LogError};
use crate::partition::{Partition, Role};
use crate::replication::epoch_cache::EpochEnd;
use crate::replication::leader::{Event, IsrProposal, LeaderEngine, LeaderSettings};

/// Why a follower could not take the leader's data.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The partition is no longer following `leader_epoch` (a newer metadata change won).
    #[error("no longer a follower at leader epoch {0}")]
    Stale(i32),
    /// The batches could not be parsed or written.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl Partition {
    /// Applies the controller's record when it is newer than what this broker acted on:
    /// a leader epoch change makes this broker leader, follower or offline; a partition
    /// epoch change alone updates the ISR (and the leader engine's view of it). Returns true
    /// when anything changed, so the caller wakes the fetches and acks=all produces waiting
    /// on this partition: a committed ISR shrink can advance the leader's high watermark
    /// here, before (or instead of) the answer to its own AlterPartition arrives.
    pub fn apply_record(
        &self,
        record: &PartitionRecord,
        settings: LeaderSettings,
        now_ms: u64,
    ) -> bool {
        let mut inner = self.lock();
        let me = settings.node_id;
        if record.leader_epoch > inner.state.leader_epoch {
            inner.state.leader = record.leader;
            inner.state.leader_epoch = record.leader_epoch;
            inner.state.partition_epoch = record.partition_epoch;
            inner.state.isr = record.isr.clone();
            inner.state.replicas = record.replicas.clone();
            let leo = inner.log.log_end_offset();
            inner.role = if record.leader == me {
                // Kafka's makeLeader: the new epoch starts at the current log end, so
                // OffsetForLeaderEpoch answers end older epochs here even before the first
                // append of this epoch.
                inner.log.assign_leader_epoch(record.leader_epoch, leo);
                inner.led_epoch = Some(record.leader_epoch);
                let engine = LeaderEngine::new(
                    settings,
                    record.leader_epoch,
                    record.partition_epoch,
                    record.isr.clone(),
                    leo,
                    inner.state.high_watermark,
                    now_ms,
                );
                inner.state.high_watermark = engine.high_watermark();
                Role::Leader(Box::new(engine))
            } else if record.leader < 0 {
                Role::Offline
            } else {
                inner.state.high_watermark = inner.state.high_watermark.min(leo);
                Role::Follower
            };
            tracing::info!(
                topic = %self.topic,
                partition = self.index,
                leader = record.leader,
                leader_epoch = record.leader_epoch,
                isr = ?record.isr,
                log_end_offset = leo,
                high_watermark = inner.state.high_watermark,
                role = inner.role.name(),
                "partition role from controller metadata"
            );
            return true;
        }
        if record.leader_epoch == inner.state.leader_epoch
            && record.partition_epoch > inner.state.partition_epoch
        {
            inner.state.partition_epoch = record.partition_epoch;
            inner.state.isr = record.isr.clone();
            inner.state.replicas = record.replicas.clone();
            let commands = match inner.leader_engine(Some(record.leader_epoch)) {
                Some(engine) => engine.handle(Event::IsrCommitted {
                    isr: record.isr.clone(),
                    partition_epoch: record.partition_epoch,
                }),
                None => Vec::new(),
            };
            inner.publish(&commands);
            tracing::info!(topic = %self.topic, partition = self.index, isr = ?record.isr, partition_epoch = record.partition_epoch, "ISR changed");
            return true;
        }
        false
    }

    /// True while this broker follows `leader` at `leader_epoch`.
    pub fn follows(&self, leader: i32, leader_epoch: i32) -> bool {
        let inner = self.lock();
        matches!(inner.role, Role::Follower)
            && inner.state.leader == leader
            && inner.state.leader_epoch == leader_epoch
    }

    /// The follower's side of the OffsetForLeaderEpoch exchange: its latest epoch, LEO, HW
    /// and epoch cache go into `truncation_offset`; the log is cut there (KIP-101/279).
    /// Returns (old LEO, new LEO).
    pub fn truncate_after_leader_change(
        &self,
        leader_epoch: i32,
        leader_answer: EpochEnd,
        faults: crate::faults::SeededFaults,
    ) -> Result<(i64, i64), FollowError> {
        let mut inner = self.lock();
        if !matches!(inner.role, Role::Follower) || inner.state.leader_epoch != leader_epoch {
            return Err(FollowError::Stale(leader_epoch));
        }
        let leo = inner.log.log_end_offset();
        let point = super::truncation::truncation_offset(
            inner.log.leader_epochs(),
            leo,
            inner.state.high_watermark,
            leader_answer,
            faults,
        );
        let inner = &mut *inner;
        let new_leo = inner.log.truncate_to(point, &mut inner.producers)?;
        inner.state.high_watermark = inner.state.high_watermark.min(new_leo);
        Ok((leo, new_leo))
    }

    /// The latest leader epoch in this replica's log (what it asks the leader about).
    pub fn latest_log_epoch(&self) -> Option<i32> {
        self.lock().log.leader_epochs().latest_epoch()
    }

    /// Log end offset.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log.log_end_offset()
    }

    /// Appends the record batches of a fetch response from the leader, unchanged, and takes
    /// the leader's high watermark (bounded by what this replica holds). The producer table is
    /// fed from every batch so deduplication holds if this replica becomes leader.
    pub fn append_as_follower(
        &self,
        leader_epoch: i32,
        records: &[u8],
        leader_high_watermark: i64,
    ) -> Result<usize, FollowError> {
        let mut inner = self.lock();
        if !matches!(inner.role, Role::Follower) || inner.state.leader_epoch != leader_epoch {
            return Err(FollowError::Stale(leader_epoch));
        }
        let mut rest = records;
        let mut appended = 0;
        while rest.len() >= crate::log::batch::HEADER_BYTES {
            let Ok(size) = crate::log::batch::peek_total_bytes(rest) else {
                break;
            };
            if size > rest.len() {
                break; // a partial batch at the end of a size-limited response
            }
            let (batch, tail) = rest.split_at(size);
            rest = tail;
            let header = crate::log::batch::parse_header(batch).map_err(|e| LogError::Io {
                context: "parse replicated batch",
                path: std::path::PathBuf::from(format!("{}-{}", self.topic, self.index)),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
            if header.last_offset() < inner.log.log_end_offset() {
                continue; // already held (the leader serves from the batch holding the offset)
            }
            let stored = inner.log.append_replicated(batch)?;
            replay(&mut inner.producers, &stored);
            appended += 1;
        }
        let leo = inner.log.log_end_offset();
        inner.state.high_watermark = leader_high_watermark.min(leo).max(0);
        Ok(appended)
    }

    /// The leader's side of a follower fetch (Kafka's `updateFollowerFetchState`): records the
    /// follower's LEO, may advance the HW (returned true so waiting produces are woken) and
    /// may propose an ISR expansion.
    pub fn follower_fetched(
        &self,
        replica: i32,
        fetch_offset: i64,
        now_ms: u64,
    ) -> (bool, Vec<IsrProposal>) {
        let mut inner = self.lock();
        let before = inner.state.high_watermark;
        let commands = match inner.leader_engine(None) {
            Some(engine) => engine.handle(Event::FollowerFetch {
                replica,
                fetch_offset,
                now_ms,
            }),
            None => return (false, Vec::new()),
        };
        let proposals = inner.publish(&commands);
        (inner.state.high_watermark > before, proposals)
    }

    /// Periodic leader check: followers lagging past `replica.lag.time.max.ms` are proposed
    /// out of the ISR. Returns (HW advanced, proposals).
    pub fn leader_tick(&self, now_ms: u64) -> (bool, Vec<IsrProposal>) {
        let mut inner = self.lock();
        let before = inner.state.high_watermark;
        let commands = match inner.leader_engine(None) {
            Some(engine) => engine.handle(Event::Tick { now_ms }),
            None => return (false, Vec::new()),
        };
        let proposals = inner.publish(&commands);
        (inner.state.high_watermark > before, proposals)
    }

    /// The controller's answer to an AlterPartition this leader sent at `leader_epoch`:
    /// `Some((isr, partition_epoch))` when committed, `None` when refused or undeliverable
    /// (the engine may then propose again on a later tick).
    pub fn isr_answer(&self, leader_epoch: i32, committed: Option<(Vec<i32>, i32)>) -> bool {
        let mut inner = self.lock();
        let commands = match inner.leader_engine(Some(leader_epoch)) {
            Some(engine) => match committed.clone() {
                Some((isr, partition_epoch)) => engine.handle(Event::IsrCommitted {
                    isr,
                    partition_epoch,
                }),
                None => engine.handle(Event::IsrRefused),
            },
            None => return false,
        };
        if let Some((isr, partition_epoch)) = committed {
            if partition_epoch > inner.state.partition_epoch {
                inner.state.isr = isr;
                inner.state.partition_epoch = partition_epoch;
            }
        }
        let before = inner.state.high_watermark;
        inner.publish(&commands);
        inner.state.high_watermark > before
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
