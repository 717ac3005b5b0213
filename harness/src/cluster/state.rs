//! The one typed shape of `state.jsonl`: what every node said about the cluster at one
//! instant. The sampler writes it, the report's cluster timeline and the leader-aimed
//! faults read it; nobody looks fields up by name in untyped JSON.
//!
//! A node's view comes from the Kafka protocol itself (Metadata: controller, leader,
//! leader epoch, replicas, ISR, offline replicas; ListOffsets: log start offset, high
//! watermark and, read_committed, the last stable offset of KIP-98), so every
//! Kafka-compatible broker fills it. A broker with an HTTP admin endpoint adds its log end
//! offset and its own view of the ISR.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of `state.jsonl`: every node's answer at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSample {
    /// Nanoseconds since the test started (the history's clock).
    pub time: u64,
    /// Wall-clock time (RFC 3339), for matching broker logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<String>,
    /// One answer per node.
    #[serde(default)]
    pub nodes: Vec<NodeSample>,
}

/// One node's answer (or its failure to answer) in a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSample {
    /// The node's name (`n1`, ...).
    pub node: String,
    /// The broker id.
    #[serde(default)]
    pub node_id: Option<i32>,
    /// Whether the node answered Metadata.
    #[serde(default)]
    pub ok: bool,
    /// What it reported; `None` when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<NodeState>,
    /// Why it did not answer (or why part of its answer is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one broker reported about the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    /// The controller this broker names in Metadata (`None` when it knows none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_id: Option<i32>,
    /// One entry per partition in its metadata.
    #[serde(default)]
    pub partitions: Vec<PartitionState>,
}

/// One broker's view of a partition (DESIGN.md, "ISR, LEO, HW").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The topic.
    #[serde(default)]
    pub topic: String,
    /// The partition (Kafka partitions are `i32`).
    pub partition: i32,
    /// The leader this broker names (`None`: no leader, Kafka's -1).
    #[serde(default)]
    pub leader: Option<i32>,
    /// The leader epoch it names (KIP-320).
    #[serde(default)]
    pub leader_epoch: Option<i32>,
    /// The assigned replicas.
    #[serde(default)]
    pub replicas: Vec<i32>,
    /// The in-sync replica set it names.
    #[serde(default)]
    pub isr: Vec<i32>,
    /// Replicas it reports offline (Metadata v5+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offline_replicas: Vec<i32>,
    /// ListOffsets earliest: the log start offset (only from the leader itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_start_offset: Option<i64>,
    /// ListOffsets latest, read_uncommitted: the high watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_watermark: Option<i64>,
    /// ListOffsets latest, read_committed: the last stable offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_stable_offset: Option<i64>,
    /// The log end offset, from the admin endpoint when the broker has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_end_offset: Option<i64>,
    /// The ISR as the admin endpoint reports it, when the broker has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_isr: Option<Vec<i32>>,
    /// A partition-level error code Metadata or ListOffsets returned (0 omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i16>,
}

/// Who leads one partition, by the leaders' own answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeader {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The node that says it leads, with the highest leader epoch among such claims.
    pub leader: String,
    /// Its leader epoch.
    pub leader_epoch: Option<i32>,
    /// The assigned replicas (node names), as the leader reports them.
    pub replicas: Vec<String>,
    /// The in-sync replicas (node names), as the leader reports them: a replica missing
    /// here is out of sync, which `kill:isr` aims at.
    pub isr: Vec<String>,
}

/// Every partition's leader: a node counts as leader of a partition when its own
/// Metadata answer names itself (another node's view of leadership may be stale); when
/// two nodes claim the same partition (a deposed leader that has not noticed yet), the
/// claim with the highest leader epoch wins, as it does for Kafka clients (KIP-320).
/// Sorted by topic and partition.
pub fn partition_leaders(nodes: &[NodeSample]) -> Vec<PartitionLeader> {
    let names: BTreeMap<i32, &str> = nodes
        .iter()
        .filter_map(|n| Some((n.node_id?, n.node.as_str())))
        .collect();
    let mut best: BTreeMap<(String, i32), PartitionLeader> = BTreeMap::new();
    for node in nodes.iter().filter(|n| n.ok) {
        let (Some(id), Some(state)) = (node.node_id, &node.state) else {
            continue;
        };
        for p in state.partitions.iter().filter(|p| p.leader == Some(id)) {
            let key = (p.topic.clone(), p.partition);
            let newer = best
                .get(&key)
                .is_none_or(|held| p.leader_epoch > held.leader_epoch);
            if newer {
                let named = |ids: &[i32]| -> Vec<String> {
                    ids.iter()
                        .filter_map(|r| names.get(r).map(|n| (*n).to_string()))
                        .collect()
                };
                let replicas = named(&p.replicas);
                let isr = named(&p.isr);
                best.insert(
                    key,
                    PartitionLeader {
                        topic: p.topic.clone(),
                        partition: p.partition,
                        leader: node.node.clone(),
                        leader_epoch: p.leader_epoch,
                        replicas,
                        isr,
                    },
                );
            }
        }
    }
    best.into_values().collect()
}

/// The nodes leading at least one partition (see [`partition_leaders`]), sorted.
pub fn leaders(nodes: &[NodeSample]) -> Vec<String> {
    let mut names: Vec<String> = partition_leaders(nodes)
        .into_iter()
        .map(|p| p.leader)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, id: i32, partitions: Vec<PartitionState>) -> NodeSample {
        NodeSample {
            node: name.into(),
            node_id: Some(id),
            ok: true,
            state: Some(NodeState {
                controller_id: Some(1),
                partitions,
            }),
            error: None,
        }
    }

    fn part(partition: i32, leader: i32, epoch: i32) -> PartitionState {
        PartitionState {
            topic: "t".into(),
            partition,
            leader: Some(leader),
            leader_epoch: Some(epoch),
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
            ..PartitionState::default()
        }
    }

    // Goal: only self-declared leadership counts, and the highest epoch wins a dispute
    // (method: n1 still claims partition 0 at epoch 3, n2 claims it at epoch 4 with a
    // shrunk ISR; n2's view that n3 leads partition 1 does not count; a down node is
    // ignored).
    #[test]
    fn leaders_are_self_declared_and_newest_epoch_wins() {
        let down = NodeSample {
            node: "n3".into(),
            node_id: Some(3),
            ok: false,
            state: None,
            error: Some("timed out".into()),
        };
        let shrunk = PartitionState {
            isr: vec![2, 3],
            ..part(0, 2, 4)
        };
        let nodes = vec![
            node("n1", 1, vec![part(0, 1, 3)]),
            node("n2", 2, vec![shrunk, part(1, 3, 1)]),
            down,
        ];
        let got = partition_leaders(&nodes);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].leader, "n2");
        assert_eq!(got[0].replicas, vec!["n1", "n2", "n3"]);
        assert_eq!(got[0].isr, vec!["n2", "n3"], "the ISR of the winning claim");
        assert_eq!(leaders(&nodes), vec!["n2"]);
        assert!(leaders(&[]).is_empty());
    }

    // Goal: the sample round-trips through JSON unchanged, and the older admin-only
    // shape (state.partitions with leader/isr/high_watermark) still reads.
    #[test]
    fn sample_round_trips_and_reads_older_lines() {
        let sample = StateSample {
            time: 5,
            wall: None,
            nodes: vec![node("n1", 1, vec![part(0, 1, 2)])],
        };
        let text = serde_json::to_string(&sample).unwrap();
        assert_eq!(serde_json::from_str::<StateSample>(&text).unwrap(), sample);
        let old = r#"{"time":1,"nodes":[{"node":"n1","node_id":1,"ok":true,"state":{"node_id":1,"partitions":[{"topic":"t","partition":0,"leader":1,"leader_epoch":0,"isr":[1],"replicas":[1],"high_watermark":3,"log_end_offset":4}]}}]}"#;
        let read: StateSample = serde_json::from_str(old).unwrap();
        let p = &read.nodes[0].state.as_ref().unwrap().partitions[0];
        assert_eq!((p.high_watermark, p.log_end_offset), (Some(3), Some(4)));
    }
}
