//! The controller metadata state machine: what every quorum voter holds after applying the
//! metadata log in order (Kafka's KRaft image of brokers, topics and partitions).
//!
//! Deterministic and pure: `apply` never reads a clock or does I/O, so all voters agree and
//! every rule is unit-tested. The quorum leader alone proposes commands, including the
//! `FenceBroker` it derives from `expired_brokers` with its own clock. Seeded faults are
//! passed in with each command (every voter runs with the same flags, so they still agree).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::commands::{MetadataChange, MetadataCommand, MetadataError};
use super::election::{elect_leader, unclean_permitted, Election};
use crate::faults::SeededFaults;

/// A registered broker and its liveness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRecord {
    /// Advertised Kafka host.
    pub host: String,
    /// Advertised Kafka port.
    pub port: i32,
    /// Controller time of its last registration or heartbeat.
    pub last_heartbeat_ms: u64,
    /// Fenced brokers lead nothing and are in no ISR.
    pub fenced: bool,
    /// The registered process incarnation (see `MetadataCommand::RegisterBroker`).
    #[serde(default)]
    pub incarnation: u64,
}

/// Leadership and ISR of one partition (Kafka's PartitionRecord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRecord {
    /// Assigned replicas; the first is the preferred leader.
    pub replicas: Vec<i32>,
    /// Leader broker, -1 when offline.
    pub leader: i32,
    /// Bumped on every leader change (KIP-101 fencing of old leaders).
    pub leader_epoch: i32,
    /// Bumped on every leader or ISR change (KIP-497 fencing of stale AlterPartition).
    pub partition_epoch: i32,
    /// In-sync replicas; never empty (KIP-841 keeps the last member).
    pub isr: Vec<i32>,
}

/// A topic and its partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    /// Topic id (KIP-516), 32 hex digits.
    #[serde(default)]
    pub topic_id: String,
    /// `min.insync.replicas`.
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// Partitions by index.
    pub partitions: Vec<PartitionRecord>,
}

/// The whole replicated metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataState {
    /// Brokers by id.
    pub brokers: BTreeMap<i32, BrokerRecord>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicRecord>,
}

impl MetadataState {
    /// Applies one committed command on a correct controller; see [`MetadataState::apply_with`].
    pub fn apply(&mut self, cmd: &MetadataCommand) -> Result<Vec<MetadataChange>, MetadataError> {
        self.apply_with(cmd, SeededFaults::NONE)
    }

    /// Applies one committed command; a refused command leaves the state unchanged. `faults`
    /// reach the leader elections (`unclean-election`).
    pub fn apply_with(
        &mut self,
        cmd: &MetadataCommand,
        faults: SeededFaults,
    ) -> Result<Vec<MetadataChange>, MetadataError> {
        match cmd {
            MetadataCommand::RegisterBroker {
                broker_id,
                host,
                port,
                now_ms,
                incarnation,
            } => {
                let mut changes = Vec::new();
                let restarted = self
                    .brokers
                    .get(broker_id)
                    .is_some_and(|b| !b.fenced && b.incarnation != *incarnation);
                if restarted {
                    // Unclean restart: the old incarnation's leaderships and ISR places go
                    // first, as if its session had expired.
                    changes.extend(self.fence(*broker_id, faults)?);
                }
                let was_fenced = self.brokers.get(broker_id).is_none_or(|b| b.fenced);
                self.brokers.insert(
                    *broker_id,
                    BrokerRecord {
                        host: host.clone(),
                        port: *port,
                        last_heartbeat_ms: *now_ms,
                        fenced: false,
                        incarnation: *incarnation,
                    },
                );
                if was_fenced {
                    changes.extend(self.unfenced(*broker_id, faults));
                }
                Ok(changes)
            }
            MetadataCommand::Heartbeat { broker_id, now_ms } => {
                let b = self
                    .brokers
                    .get_mut(broker_id)
                    .ok_or(MetadataError::BrokerNotRegistered(*broker_id))?;
                b.last_heartbeat_ms = b.last_heartbeat_ms.max(*now_ms);
                if b.fenced {
                    b.fenced = false;
                    return Ok(self.unfenced(*broker_id, faults));
                }
                Ok(Vec::new())
            }
            MetadataCommand::FenceBroker { broker_id } => self.fence(*broker_id, faults),
            MetadataCommand::CreateTopic {
                name,
                topic_id,
                partitions,
                replication_factor,
                min_insync_replicas,
                unclean_leader_election,
            } => self.create_topic(
                name,
                topic_id,
                *partitions,
                *replication_factor,
                *min_insync_replicas,
                *unclean_leader_election,
            ),
            MetadataCommand::AlterPartition {
                topic,
                partition,
                broker_id,
                leader_epoch,
                partition_epoch,
                new_isr,
            } => self.alter_partition(
                topic,
                *partition,
                *broker_id,
                *leader_epoch,
                *partition_epoch,
                new_isr,
            ),
        }
    }

    /// Unfenced brokers whose last heartbeat is older than `session_timeout_ms` at `now_ms`:
    /// the quorum leader proposes `FenceBroker` for each.
    pub fn expired_brokers(&self, now_ms: u64, session_timeout_ms: u64) -> Vec<i32> {
        self.brokers
            .iter()
            .filter(|(_, b)| {
                !b.fenced && now_ms.saturating_sub(b.last_heartbeat_ms) > session_timeout_ms
            })
            .map(|(&id, _)| id)
            .collect()
    }

    /// The record of `topic`/`partition`.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionRecord> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }

    fn is_live(&self, broker: i32) -> bool {
        self.brokers.get(&broker).is_some_and(|b| !b.fenced)
    }

    fn fence(
        &mut self,
        broker_id: i32,
        faults: SeededFaults,
    ) -> Result<Vec<MetadataChange>, MetadataError> {
        let b = self
            .brokers
            .get_mut(&broker_id)
            .ok_or(MetadataError::BrokerNotRegistered(broker_id))?;
        if b.fenced {
            return Ok(Vec::new());
        }
        b.fenced = true;
        let mut changes = vec![MetadataChange::BrokerFenced(broker_id)];
        let brokers = self.brokers.clone();
        let alive = |r: i32| brokers.get(&r).is_some_and(|b| !b.fenced);
        for (name, topic) in &mut self.topics {
            for (index, p) in topic.partitions.iter_mut().enumerate() {
                let index = i32::try_from(index).unwrap_or(i32::MAX);
                let mut changed = false;
                if p.isr.contains(&broker_id) && p.isr.len() > 1 {
                    p.isr.retain(|&r| r != broker_id);
                    changed = true;
                }
                if p.leader == broker_id {
                    let election = elect_leader(
                        &p.replicas,
                        &p.isr,
                        alive,
                        unclean_permitted(topic.unclean_leader_election, faults),
                    );
                    set_leader(p, election);
                    changes.push(leader_changed(name, index, p, election));
                    changed = true;
                }
                if changed {
                    p.partition_epoch += 1;
                    changes.push(isr_changed(name, index, p));
                }
            }
        }
        Ok(changes)
    }

    /// A broker became live: offline partitions it can lead get a leader again.
    fn unfenced(&mut self, broker_id: i32, faults: SeededFaults) -> Vec<MetadataChange> {
        let mut changes = vec![MetadataChange::BrokerUnfenced(broker_id)];
        let brokers = self.brokers.clone();
        let alive = |r: i32| brokers.get(&r).is_some_and(|b| !b.fenced);
        for (name, topic) in &mut self.topics {
            for (index, p) in topic.partitions.iter_mut().enumerate() {
                if p.leader != -1 || !p.replicas.contains(&broker_id) {
                    continue;
                }
                let election = elect_leader(
                    &p.replicas,
                    &p.isr,
                    alive,
                    unclean_permitted(topic.unclean_leader_election, faults),
                );
                if election == Election::NoLeader {
                    continue;
                }
                let index = i32::try_from(index).unwrap_or(i32::MAX);
                set_leader(p, election);
                p.partition_epoch += 1;
                changes.push(leader_changed(name, index, p, election));
                changes.push(isr_changed(name, index, p));
            }
        }
        changes
    }

    fn create_topic(
        &mut self,
        name: &str,
        topic_id: &str,
        partitions: i32,
        replication_factor: i16,
        min_insync_replicas: i32,
        unclean_leader_election: bool,
    ) -> Result<Vec<MetadataChange>, MetadataError> {
        if self.topics.contains_key(name) {
            return Err(MetadataError::TopicAlreadyExists(name.to_string()));
        }
        if partitions < 1 {
            return Err(MetadataError::InvalidPartitions(partitions));
        }
        let live: Vec<i32> = self
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(&id, _)| id)
            .collect();
        let rf = usize::try_from(replication_factor).unwrap_or(0);
        if rf == 0 || rf > live.len() {
            return Err(MetadataError::InvalidReplicationFactor {
                asked: replication_factor,
                live: live.len(),
            });
        }
        let mut changes = Vec::new();
        let records = (0..partitions)
            .map(|p| {
                let start = usize::try_from(p).unwrap_or(0);
                let replicas: Vec<i32> = (0..rf).map(|j| live[(start + j) % live.len()]).collect();
                let record = PartitionRecord {
                    leader: replicas[0],
                    leader_epoch: 0,
                    partition_epoch: 0,
                    isr: replicas.clone(),
                    replicas,
                };
                changes.push(leader_changed(
                    name,
                    p,
                    &record,
                    Election::Clean(record.leader),
                ));
                record
            })
            .collect();
        self.topics.insert(
            name.to_string(),
            TopicRecord {
                topic_id: topic_id.to_string(),
                min_insync_replicas,
                unclean_leader_election,
                partitions: records,
            },
        );
        Ok(changes)
    }

    fn alter_partition(
        &mut self,
        topic: &str,
        partition: i32,
        broker_id: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        new_isr: &[i32],
    ) -> Result<Vec<MetadataChange>, MetadataError> {
        let eligible = new_isr.iter().all(|&r| self.is_live(r));
        let unknown = || MetadataError::UnknownTopicOrPartition(format!("{topic}-{partition}"));
        let index = usize::try_from(partition).map_err(|_| unknown())?;
        let p = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(index))
            .ok_or_else(unknown)?;
        if leader_epoch != p.leader_epoch {
            return Err(MetadataError::FencedLeaderEpoch {
                got: leader_epoch,
                current: p.leader_epoch,
            });
        }
        if broker_id != p.leader {
            return Err(MetadataError::NotLeader {
                broker: broker_id,
                leader: p.leader,
            });
        }
        if partition_epoch != p.partition_epoch {
            return Err(MetadataError::StalePartitionEpoch {
                got: partition_epoch,
                current: p.partition_epoch,
            });
        }
        let mut sorted = new_isr.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let valid = eligible
            && sorted.len() == new_isr.len()
            && new_isr.contains(&broker_id)
            && new_isr.iter().all(|r| p.replicas.contains(r));
        if !valid {
            return Err(MetadataError::IneligibleIsr(new_isr.to_vec()));
        }
        p.isr = new_isr.to_vec();
        p.partition_epoch += 1;
        Ok(vec![isr_changed(topic, partition, p)])
    }
}

fn set_leader(p: &mut PartitionRecord, election: Election) {
    p.leader_epoch += 1;
    match election {
        Election::Clean(r) => p.leader = r,
        Election::Unclean(r) => {
            p.leader = r;
            p.isr = vec![r];
        }
        Election::NoLeader => p.leader = -1,
    }
}

fn leader_changed(topic: &str, partition: i32, p: &PartitionRecord, e: Election) -> MetadataChange {
    MetadataChange::LeaderChanged {
        topic: topic.to_string(),
        partition,
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        unclean: matches!(e, Election::Unclean(_)),
    }
}

fn isr_changed(topic: &str, partition: i32, p: &PartitionRecord) -> MetadataChange {
    MetadataChange::IsrChanged {
        topic: topic.to_string(),
        partition,
        isr: p.isr.clone(),
        partition_epoch: p.partition_epoch,
    }
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
