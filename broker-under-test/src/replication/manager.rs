//! The replica manager of a clustered broker: follows the controller's applied metadata and
//! makes this broker's partitions match it (Kafka's `ReplicaManager` applying metadata
//! deltas). It opens assigned partitions, makes each leader, follower or offline at the
//! record's leader epoch, keeps one fetcher per followed partition, and ticks every leader
//! engine so lagging followers leave the ISR (AlterPartition).
//!
//! It acts only once this process's incarnation is registered: before that the metadata may
//! still show the previous incarnation as leader, which must not be resumed blindly.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::alter;
use super::fetcher::{self, FollowTarget};
use crate::broker::Broker;
use crate::controller::clock::now_ms;
use crate::controller::metadata::{MetadataState, TopicRecord};
use crate::controller::node::ControllerNode;
use crate::partition::Partition;
use crate::topics::TopicConfig;

/// How often leader engines are ticked (lag checks) and the metadata re-read.
const TICK: Duration = Duration::from_millis(100);

struct RunningFetcher {
    leader: i32,
    leader_epoch: i32,
    task: JoinHandle<()>,
}

/// Runs until `shutdown` flips; then stops every fetcher.
pub async fn run(
    broker: Arc<Broker>,
    node: Arc<ControllerNode>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut applied = node.state.subscribe();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fetchers: HashMap<(String, i32), RunningFetcher> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            changed = applied.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            _ = ticker.tick() => {}
        }
        match node.metadata() {
            Ok(metadata) => reconcile(&broker, &metadata, &mut fetchers),
            Err(e) => tracing::error!(error = %e, "controller metadata unreadable"),
        }
        tick_leaders(&broker);
    }
    for (_, f) in fetchers.drain() {
        f.task.abort();
    }
}

/// The topic definition a partition is opened with, from the controller's record.
pub fn topic_config(name: &str, topic: &TopicRecord) -> TopicConfig {
    TopicConfig {
        name: name.to_string(),
        topic_id: topic.topic_id.clone(),
        partitions: i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX),
        replication_factor: topic
            .partitions
            .first()
            .map_or(0, |p| i16::try_from(p.replicas.len()).unwrap_or(i16::MAX)),
        min_insync_replicas: topic.min_insync_replicas,
        unclean_leader_election_enable: topic.unclean_leader_election,
        other_configs: Default::default(),
    }
}

fn reconcile(
    broker: &Arc<Broker>,
    metadata: &MetadataState,
    fetchers: &mut HashMap<(String, i32), RunningFetcher>,
) {
    let me = broker.config.node_id;
    let registered = metadata
        .brokers
        .get(&me)
        .is_some_and(|b| b.incarnation == broker.incarnation);
    if !registered {
        return;
    }
    let now = now_ms();
    for (name, topic) in &metadata.topics {
        let config = topic_config(name, topic);
        for (index, record) in topic.partitions.iter().enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            if !record.replicas.contains(&me) {
                continue;
            }
            // Opening runs crash recovery (blocking); an open partition is a map lookup.
            let opened = match broker.partition(name, index) {
                Some(p) => Ok(p),
                None => tokio::task::block_in_place(|| broker.ensure_partition(&config, index)),
            };
            let partition = match opened {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(topic = %name, partition = index, error = %e, "cannot open an assigned partition");
                    continue;
                }
            };
            let settings = broker.leader_settings(&config, &record.replicas);
            if partition.apply_record(record, settings, now) {
                // Waiting fetches and produces re-check leadership and the HW now.
                partition.notify_changed();
            }
            manage_fetcher(broker, metadata, &partition, fetchers);
        }
    }
}

/// Starts, keeps or stops the partition's fetcher so that exactly the current leadership is
/// followed.
fn manage_fetcher(
    broker: &Arc<Broker>,
    metadata: &MetadataState,
    partition: &Arc<Partition>,
    fetchers: &mut HashMap<(String, i32), RunningFetcher>,
) {
    let key = (partition.topic.clone(), partition.index);
    let (leader, leader_epoch) = {
        let inner = partition.lock();
        (inner.state.leader, inner.state.leader_epoch)
    };
    let follow = partition.follows(leader, leader_epoch);
    if let Some(f) = fetchers.get(&key) {
        let current = f.leader == leader && f.leader_epoch == leader_epoch;
        if follow && current && !f.task.is_finished() {
            return;
        }
        if let Some(f) = fetchers.remove(&key) {
            f.task.abort();
        }
    }
    if !follow {
        return;
    }
    let Some(leader_broker) = metadata.brokers.get(&leader) else {
        return; // its registration has not been applied here yet: next round
    };
    let target = FollowTarget {
        leader,
        leader_epoch,
        addr: format!("{}:{}", leader_broker.host, leader_broker.port),
    };
    tracing::info!(topic = %partition.topic, partition = partition.index, leader, leader_epoch, addr = %target.addr, "starting the replica fetcher");
    let task = tokio::spawn(fetcher::run(
        Arc::clone(broker),
        Arc::clone(partition),
        target,
    ));
    fetchers.insert(
        key,
        RunningFetcher {
            leader,
            leader_epoch,
            task,
        },
    );
}

/// Lets every leader engine check for lagging followers; proposals go to the controller.
fn tick_leaders(broker: &Arc<Broker>) {
    let now = now_ms();
    for (_, partitions) in broker.snapshot() {
        for p in partitions {
            let (moved, proposals) = p.leader_tick(now);
            if moved {
                p.notify_changed();
            }
            for proposal in proposals {
                alter::send(broker, &p, proposal);
            }
        }
    }
}
