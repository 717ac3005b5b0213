//! Topic definitions and their persistence in `<data>/topics.json`.
//!
//! Part 2 moves this record into the controller's replicated metadata; here it is a JSON file
//! rewritten atomically on every CreateTopics. Topic configs are validated here so a bad
//! `min.insync.replicas` is refused with INVALID_CONFIG rather than stored.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// File name inside the data directory.
pub const FILE_NAME: &str = "topics.json";

/// Stored definition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Topic id (KIP-516), 16 bytes as 32 hex digits.
    pub topic_id: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i16,
    /// `min.insync.replicas`: acks=all needs this many in-sync replicas (enforced in part 2).
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable`: may an out-of-sync replica become leader (part 2).
    pub unclean_leader_election_enable: bool,
    /// Every other config given at creation, stored verbatim.
    pub other_configs: BTreeMap<String, String>,
}

impl TopicConfig {
    /// The topic id as raw bytes for the wire.
    pub fn topic_id_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = self
                .topic_id
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
        out
    }
}

/// A fresh random topic id (std's randomly seeded hasher is the entropy source).
pub fn new_topic_id() -> String {
    let mut hex = String::with_capacity(32);
    for _ in 0..2 {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hex.push_str(&format!("{:016x}", h.finish()));
    }
    hex
}

/// A refused topic definition, with the Kafka error code to answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct TopicError {
    /// Kafka error code (INVALID_TOPIC_EXCEPTION, INVALID_CONFIG, ...).
    pub code: i16,
    /// Human-readable reason, returned as the error message.
    pub message: String,
}

/// Kafka's legal topic names: 1..=249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(TopicError {
            code: 17,
            message: format!("illegal topic name {name:?}"),
        })
    }
}

/// Applies CreateTopics configs over the broker defaults.
pub fn apply_configs(
    topic: &mut TopicConfig,
    configs: &[(String, Option<String>)],
) -> Result<(), TopicError> {
    let invalid = |message: String| TopicError { code: 40, message };
    for (key, value) in configs {
        let Some(value) = value else { continue };
        match key.as_str() {
            "min.insync.replicas" => {
                topic.min_insync_replicas = value
                    .parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        invalid(format!(
                            "min.insync.replicas must be an integer >= 1, got {value:?}"
                        ))
                    })?;
            }
            "unclean.leader.election.enable" => {
                topic.unclean_leader_election_enable = value.parse::<bool>().map_err(|_| {
                    invalid(format!(
                        "unclean.leader.election.enable must be true or false, got {value:?}"
                    ))
                })?;
            }
            _ => {
                topic.other_configs.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// Loads all topic definitions (missing file: none).
pub fn load(data_dir: &Path) -> anyhow::Result<BTreeMap<String, TopicConfig>> {
    let path = data_dir.join(FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => {
            Ok(serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Atomically rewrites the topic definitions.
pub fn store(data_dir: &Path, topics: &BTreeMap<String, TopicConfig>) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(topics).map_err(std::io::Error::other)?;
    let tmp = data_dir.join(format!("{FILE_NAME}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, data_dir.join(FILE_NAME))?;
    fs::File::open(data_dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> TopicConfig {
        TopicConfig {
            name: "t".into(),
            topic_id: new_topic_id(),
            partitions: 1,
            replication_factor: 1,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            other_configs: BTreeMap::new(),
        }
    }

    #[test]
    fn names_follow_kafka_rules() {
        assert!(validate_name("orders.v1_a-b").is_ok());
        for bad in ["", ".", "..", "a/b", "sp ace", &"x".repeat(250)] {
            assert_eq!(validate_name(bad).map_err(|e| e.code), Err(17), "{bad:?}");
        }
    }

    #[test]
    fn configs_override_defaults_and_bad_values_are_refused() {
        let mut t = topic();
        apply_configs(
            &mut t,
            &[
                ("min.insync.replicas".into(), Some("2".into())),
                ("unclean.leader.election.enable".into(), Some("true".into())),
                ("retention.ms".into(), Some("5".into())),
            ],
        )
        .expect("valid");
        assert_eq!(
            (t.min_insync_replicas, t.unclean_leader_election_enable),
            (2, true)
        );
        assert_eq!(
            t.other_configs.get("retention.ms").map(String::as_str),
            Some("5")
        );
        assert_eq!(
            apply_configs(&mut t, &[("min.insync.replicas".into(), Some("0".into()))])
                .map_err(|e| e.code),
            Err(40)
        );
    }

    #[test]
    fn topic_ids_are_random_and_round_trip() {
        let (a, b) = (topic(), topic());
        assert_ne!(a.topic_id, b.topic_id);
        assert_eq!(a.topic_id.len(), 32);
        let bytes = a.topic_id_bytes();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, a.topic_id);
    }

    #[test]
    fn store_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut all = BTreeMap::new();
        all.insert("t".to_string(), topic());
        store(dir.path(), &all).expect("store");
        assert_eq!(load(dir.path()).expect("load"), all);
    }
}
