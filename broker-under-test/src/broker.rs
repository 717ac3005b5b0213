//! The broker's shared state: topics and their partitions, the producer-id allocator, the
//! controller-quorum member (with `--peers`), and the "data appended" signal that wakes
//! waiting fetches and acks=all produces.
//!
//! Single node (no `--peers`): topics live in `topics.json` and every partition is led here.
//! Clustered: the controller's metadata is the only source of topics; the replica manager
//! opens the partitions assigned to this broker (`ensure_partition`) and sets their roles.
//!
//! Request handlers borrow it through an `Arc`; no lock is held across an `.await`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::config::Config;
use crate::controller::node::ControllerNode;
use crate::log::checkpoint::{self, RecoveryPoints};
use crate::log::partition_log::{LogOptions, PartitionLog};
use crate::partition::{Partition, PartitionInner, PartitionState, Role};
use crate::producer::ids::ProducerIdAllocator;
use crate::producer::state::ProducerStateTable;
use crate::replication::leader::{LeaderEngine, LeaderSettings};
use crate::topics::{self, TopicConfig, TopicError};

/// A topic and the partitions open on this broker.
#[derive(Debug)]
pub struct Topic {
    /// Stored definition.
    pub config: TopicConfig,
    /// Partitions hosted here, by index (all of them on a single node; the assigned ones
    /// in a cluster).
    pub partitions: BTreeMap<i32, Arc<Partition>>,
}

/// Shared broker state.
#[derive(Debug)]
pub struct Broker {
    /// Parsed flags.
    pub config: Config,
    /// Host and port advertised in Metadata.
    pub advertised: (String, i32),
    topics: RwLock<BTreeMap<String, Topic>>,
    /// InitProducerId allocator.
    pub producer_ids: Mutex<ProducerIdAllocator>,
    ready: AtomicBool,
    /// This process's incarnation, registered with the controller (fresh at every start).
    pub incarnation: u64,
    /// The controller-quorum member, set at start-up with `--peers`.
    pub controller: OnceLock<Arc<ControllerNode>>,
    recovery_points: Mutex<RecoveryPoints>,
}

impl Broker {
    /// Opens every stored topic, running crash recovery on each partition.
    pub fn open(config: Config, advertised: (String, i32)) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let recovery_points = match checkpoint::read(&config.data_dir) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "recovery-point checkpoint unreadable; verifying every segment");
                RecoveryPoints::new()
            }
        };
        let mut topics = BTreeMap::new();
        // Clustered, the controller's metadata says which partitions are hosted here.
        let stored = if config.peers.0.is_empty() {
            topics::load(&config.data_dir)?
        } else {
            BTreeMap::new()
        };
        for (name, topic_config) in stored {
            let mut partitions = BTreeMap::new();
            for index in 0..topic_config.partitions {
                let rp = recovery_points
                    .get(&(name.clone(), index))
                    .copied()
                    .unwrap_or(0);
                let p = open_partition(&config, &topic_config, index, rp)?;
                partitions.insert(index, Arc::new(p));
            }
            topics.insert(
                name,
                Topic {
                    config: topic_config,
                    partitions,
                },
            );
        }
        tracing::info!(topics = topics.len(), "opened stored topics");
        let mut producer_ids = ProducerIdAllocator::open(&config.data_dir)?;
        if !config.peers.0.is_empty() {
            producer_ids = producer_ids.with_namespace(config.node_id);
        }
        Ok(Broker {
            config,
            advertised,
            topics: RwLock::new(topics),
            producer_ids: Mutex::new(producer_ids),
            ready: AtomicBool::new(false),
            incarnation: new_incarnation(),
            controller: OnceLock::new(),
            recovery_points: Mutex::new(recovery_points),
        })
    }

    /// True with `--peers`: topics, leaders and ISRs come from the controller quorum.
    pub fn is_clustered(&self) -> bool {
        !self.config.peers.0.is_empty()
    }

    /// The replication settings of a partition of `topic` led by this broker.
    pub fn leader_settings(&self, topic: &TopicConfig, replicas: &[i32]) -> LeaderSettings {
        LeaderSettings {
            node_id: self.config.node_id,
            replicas: replicas.to_vec(),
            min_insync_replicas: topic.min_insync_replicas,
            replica_lag_time_max_ms: self.config.replica_lag_time_max_ms,
            faults: self.config.seeded_faults,
        }
    }

    /// Opens (once) partition `index` of `topic` as the controller assigned it here; a newly
    /// opened partition has no role until its record is applied. Blocking (crash recovery).
    pub fn ensure_partition(
        &self,
        topic: &TopicConfig,
        index: i32,
    ) -> anyhow::Result<Arc<Partition>> {
        if let Some(p) = self.partition(&topic.name, index) {
            return Ok(p);
        }
        let rp = lock(&self.recovery_points)
            .get(&(topic.name.clone(), index))
            .copied()
            .unwrap_or(0);
        let opened = Arc::new(open_partition(&self.config, topic, index, rp)?);
        let mut topics = match self.topics.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entry = topics.entry(topic.name.clone()).or_insert_with(|| Topic {
            config: topic.clone(),
            partitions: BTreeMap::new(),
        });
        Ok(Arc::clone(entry.partitions.entry(index).or_insert(opened)))
    }

    /// Marks the broker as serving (flips `/health` to 200).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// True once the Kafka listener accepts connections.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn read_topics(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Topic>> {
        match self.topics.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The partition, if the topic and index exist.
    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        let topics = self.read_topics();
        topics.get(topic)?.partitions.get(&index).cloned()
    }

    /// True if the topic exists.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.read_topics().contains_key(topic)
    }

    /// Snapshot of topic configs and partitions, for Metadata and the admin endpoint.
    pub fn snapshot(&self) -> Vec<(TopicConfig, Vec<Arc<Partition>>)> {
        self.read_topics()
            .values()
            .map(|t| (t.config.clone(), t.partitions.values().cloned().collect()))
            .collect()
    }

    /// A validated topic definition from a CreateTopics entry: -1 partitions or replication
    /// factor take the broker defaults, configs override the default topic configs, and a
    /// fresh topic id is drawn. Fails with the Kafka error code to answer.
    pub fn topic_definition(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(String, Option<String>)],
    ) -> Result<TopicConfig, TopicError> {
        topics::validate_name(name)?;
        let partitions = if partitions == -1 {
            self.config.default_partitions
        } else {
            partitions
        };
        let replication_factor = if replication_factor == -1 {
            self.config.default_replication_factor
        } else {
            replication_factor
        };
        if partitions < 1 {
            return Err(TopicError {
                code: 37,
                message: format!("num_partitions must be >= 1, got {partitions}"),
            });
        }
        let mut config = TopicConfig {
            name: name.to_string(),
            topic_id: topics::new_topic_id(),
            partitions,
            replication_factor,
            min_insync_replicas: self.config.min_insync_replicas,
            unclean_leader_election_enable: self.config.unclean_leader_election_enable,
            other_configs: BTreeMap::new(),
        };
        topics::apply_configs(&mut config, configs)?;
        Ok(config)
    }

    /// Creates a topic (CreateTopics or auto-creation). `partitions`/`replication_factor` of -1
    /// take the broker defaults. Fails with the Kafka error code to answer.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<TopicConfig, TopicError> {
        let config = self.topic_definition(name, partitions, replication_factor, configs)?;
        if self.is_clustered() {
            return Err(TopicError {
                code: 41,
                message: "clustered brokers create topics through the controller".to_string(),
            });
        }
        if config.replication_factor != 1 {
            return Err(TopicError {
                code: 38,
                message: format!(
                    "replication factor {} is larger than the 1 available broker",
                    config.replication_factor
                ),
            });
        }
        let (partitions, replication_factor) = (config.partitions, config.replication_factor);
        let mut topics = match self.topics.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if topics.contains_key(name) {
            return Err(TopicError {
                code: 36,
                message: format!("topic {name:?} already exists"),
            });
        }
        if validate_only {
            return Ok(config);
        }
        let storage = |e: anyhow::Error| TopicError {
            code: 56,
            message: format!("creating topic {name:?}: {e}"),
        };
        let mut opened = BTreeMap::new();
        for index in 0..partitions {
            let p = open_partition(&self.config, &config, index, 0).map_err(storage)?;
            opened.insert(index, Arc::new(p));
        }
        let mut stored: BTreeMap<String, TopicConfig> = topics
            .iter()
            .map(|(k, v)| (k.clone(), v.config.clone()))
            .collect();
        stored.insert(name.to_string(), config.clone());
        topics::store(&self.config.data_dir, &stored).map_err(|e| storage(e.into()))?;
        topics.insert(
            name.to_string(),
            Topic {
                config: config.clone(),
                partitions: opened,
            },
        );
        tracing::info!(
            topic = name,
            partitions,
            replication_factor,
            min_insync_replicas = config.min_insync_replicas,
            "created topic"
        );
        Ok(config)
    }

    /// Recovery points of every partition, for the checkpoint file.
    pub fn recovery_points(&self) -> RecoveryPoints {
        let mut points = RecoveryPoints::new();
        for (config, partitions) in self.snapshot() {
            for p in partitions {
                points.insert(
                    (config.name.clone(), p.index),
                    p.lock().log.recovery_point(),
                );
            }
        }
        points
    }

    /// fsyncs every partition (clean shutdown) and writes the checkpoint.
    pub fn flush_all(&self) -> anyhow::Result<()> {
        for (_, partitions) in self.snapshot() {
            for p in partitions {
                p.lock().log.flush()?;
            }
        }
        checkpoint::write(&self.config.data_dir, &self.recovery_points())?;
        Ok(())
    }

    /// Data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A fresh incarnation id: start time in nanoseconds mixed with std's random hasher seed.
fn new_incarnation() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Opens one partition's log (crash recovery). Single node: this broker leads it alone.
/// Clustered: no role until the controller's record is applied.
fn open_partition(
    config: &Config,
    topic_config: &TopicConfig,
    index: i32,
    recovery_point: i64,
) -> anyhow::Result<Partition> {
    let topic = topic_config.name.as_str();
    let dir = config.data_dir.join(format!("{topic}-{index}"));
    let options = LogOptions {
        segment_bytes: config.segment_bytes,
        flush_policy: config.flush_policy,
        faults: config.seeded_faults,
    };
    let mut producers = ProducerStateTable::default();
    let (log, report) = PartitionLog::open(&dir, recovery_point, options, &mut producers)?;
    if report.truncated_bytes > 0 || report.segments_removed > 0 {
        tracing::warn!(
            topic,
            partition = index,
            truncated_bytes = report.truncated_bytes,
            reason = report.truncation_reason.as_deref().unwrap_or(""),
            segments_removed = report.segments_removed,
            log_end_offset = log.log_end_offset(),
            "recovery truncated a torn or corrupt tail"
        );
    }
    tracing::info!(
        topic,
        partition = index,
        recovery_point,
        segments = report.segments,
        segments_verified = report.segments_verified,
        batches_replayed = report.batches_replayed,
        producers = producers.len(),
        log_end_offset = log.log_end_offset(),
        "partition recovered"
    );
    let leo = log.log_end_offset();
    let (state, role, led_epoch) = if config.peers.0.is_empty() {
        let me = config.node_id;
        let settings = LeaderSettings {
            node_id: me,
            replicas: vec![me],
            min_insync_replicas: topic_config.min_insync_replicas,
            replica_lag_time_max_ms: config.replica_lag_time_max_ms,
            faults: config.seeded_faults,
        };
        let engine = LeaderEngine::new(settings, 0, 0, vec![me], leo, leo, 0);
        (
            PartitionState::single_node(me, leo),
            Role::Leader(Box::new(engine)),
            Some(0),
        )
    } else {
        (PartitionState::unassigned(), Role::Offline, None)
    };
    Ok(Partition::new(
        topic.to_string(),
        index,
        PartitionInner {
            state,
            log,
            producers,
            role,
            led_epoch,
        },
    ))
}
