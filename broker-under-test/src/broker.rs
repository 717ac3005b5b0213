//! The broker's shared state: topics and their partitions, the producer-id allocator, and the
//! "data appended" signal that wakes waiting fetches.
//!
//! Request handlers borrow it through an `Arc`; no lock is held across an `.await`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use crate::config::Config;
use crate::log::checkpoint::{self, RecoveryPoints};
use crate::log::partition_log::{LogOptions, PartitionLog};
use crate::partition::{Partition, PartitionInner, PartitionState};
use crate::producer::ids::ProducerIdAllocator;
use crate::producer::state::ProducerStateTable;
use crate::topics::{self, TopicConfig, TopicError};

/// A topic and its open partitions.
#[derive(Debug)]
pub struct Topic {
    /// Stored definition.
    pub config: TopicConfig,
    /// Partitions by index.
    pub partitions: Vec<Arc<Partition>>,
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
    appended: watch::Sender<u64>,
    ready: AtomicBool,
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
        for (name, topic_config) in topics::load(&config.data_dir)? {
            let mut partitions = Vec::new();
            for index in 0..topic_config.partitions {
                let rp = recovery_points
                    .get(&(name.clone(), index))
                    .copied()
                    .unwrap_or(0);
                partitions.push(Arc::new(open_partition(&config, &name, index, rp)?));
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
        let producer_ids = ProducerIdAllocator::open(&config.data_dir)?;
        Ok(Broker {
            config,
            advertised,
            topics: RwLock::new(topics),
            producer_ids: Mutex::new(producer_ids),
            appended: watch::channel(0).0,
            ready: AtomicBool::new(false),
        })
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
        let t = topics.get(topic)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| t.partitions.get(i))
            .cloned()
    }

    /// True if the topic exists.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.read_topics().contains_key(topic)
    }

    /// Snapshot of topic configs and partitions, for Metadata and the admin endpoint.
    pub fn snapshot(&self) -> Vec<(TopicConfig, Vec<Arc<Partition>>)> {
        self.read_topics()
            .values()
            .map(|t| (t.config.clone(), t.partitions.clone()))
            .collect()
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
        if replication_factor != 1 {
            return Err(TopicError {
                code: 38,
                message: format!(
                    "replication factor {replication_factor} is larger than the 1 available broker"
                ),
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
        let mut opened = Vec::new();
        for index in 0..partitions {
            opened.push(Arc::new(
                open_partition(&self.config, name, index, 0).map_err(storage)?,
            ));
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

    /// Wakes fetches waiting for data (called after every append).
    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever data is appended.
    pub fn subscribe_appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
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

fn open_partition(
    config: &Config,
    topic: &str,
    index: i32,
    recovery_point: i64,
) -> anyhow::Result<Partition> {
    let dir = config.data_dir.join(format!("{topic}-{index}"));
    let options = LogOptions {
        segment_bytes: config.segment_bytes,
        flush_policy: config.flush_policy,
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
    let state = PartitionState::single_node(config.node_id, log.log_end_offset());
    Ok(Partition::new(
        topic.to_string(),
        index,
        PartitionInner {
            state,
            log,
            producers,
        },
    ))
}
