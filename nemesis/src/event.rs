//! Nemesis events: the serialisable record of every fault start and stop, which the
//! harness writes into the history as a `process: "nemesis"` operation of type `info`
//! (see shared/HISTORY.md). The nemesis never writes the history itself: it never
//! depends on the recorder.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::grudge::Grudge;
use crate::schedule::PacketLoss;

/// The history's `f` for nemesis operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisFunction {
    /// A partition was applied (value: the grudge).
    StartPartition,
    /// Every partition rule was removed (value: the grudge that was healed).
    StopPartition,
    /// Nodes were killed with SIGKILL (value: the node names).
    Kill,
    /// Killed nodes were started again, data kept (value: the node names).
    Start,
    /// Nodes were frozen with the cgroup freezer (value: the node names).
    Pause,
    /// Frozen nodes were thawed (value: the node names).
    Resume,
    /// Nodes' links started losing packets (value: [`PacketLoss`], the nodes and the
    /// probability).
    StartPacketLoss,
    /// Every packet-loss rule was removed (value: the [`PacketLoss`] that was healed; after
    /// the final heal, `{"nodes": [...]}`, the nodes that still had rules).
    StopPacketLoss,
    /// A rolling restart began (value: [`RollingRestart`], the nodes in roll order).
    StartRestart,
    /// One node of a rolling restart stopped after SIGTERM (value: the node).
    NodeStopped,
    /// That node was started again, data kept (value: the node).
    NodeStarted,
    /// Every partition's ISR was full again after that node's restart, so the roll moved
    /// on (value: the node).
    NodeInSync,
    /// A rolling restart ended (value: [`RollingRestart`], the nodes it restarted and, if
    /// it stopped early, why).
    StopRestart,
    /// A planned fault could not be applied: its targets could not be resolved (no
    /// known leader, too few nodes) or the applier failed (value: [`NotApplied`]). It is
    /// recorded so a run whose faults never happened cannot pass for a run that survived
    /// them.
    NotApplied,
}

/// The value of a rolling restart's start and stop events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingRestart {
    /// At the start, the nodes in roll order; at the stop, those restarted.
    pub nodes: Vec<String>,
    /// Why the roll stopped before its last node (a node that did not stop or start, or
    /// an ISR that did not fill again in time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

impl RollingRestart {
    /// A roll of `nodes` that did not stop early.
    pub fn of(nodes: &[String]) -> Self {
        Self {
            nodes: nodes.to_vec(),
            aborted: None,
        }
    }
}

/// The value of a [`NemesisFunction::NotApplied`] event: which planned fault, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplied {
    /// The planned fault, as `kill:leaders`, `partition:leader-from-replicas`, ...
    pub fault: String,
    /// Why, starting with `not applied: `.
    pub reason: String,
}

/// The prefix of every [`NotApplied::reason`].
pub const NOT_APPLIED: &str = "not applied: ";

/// One fault start or stop, ready to become a history line: `f` and `value` as the
/// history wants them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NemesisEvent {
    /// What happened.
    pub f: NemesisFunction,
    /// The targets: `{node: [nodes it drops]}` for partitions, `[node, ...]` otherwise.
    pub value: Value,
}

impl NemesisEvent {
    /// A partition start or stop carrying its grudge.
    pub fn partition(f: NemesisFunction, grudge: &Grudge) -> Self {
        assert!(
            matches!(
                f,
                NemesisFunction::StartPartition | NemesisFunction::StopPartition
            ),
            "a grudge only belongs to partition events"
        );
        Self {
            f,
            value: serde_json::to_value(grudge).unwrap_or(Value::Null),
        }
    }

    /// A planned fault (`fault`, e.g. `kill:leaders`) that was not applied, and why.
    pub fn not_applied(fault: &str, why: &str) -> Self {
        let value = NotApplied {
            fault: fault.to_string(),
            reason: format!("{NOT_APPLIED}{why}"),
        };
        Self {
            f: NemesisFunction::NotApplied,
            value: serde_json::to_value(value).unwrap_or(Value::Null),
        }
    }

    /// A packet-loss start or stop carrying its nodes and probability.
    pub fn packet_loss(f: NemesisFunction, loss: &PacketLoss) -> Self {
        assert!(
            matches!(
                f,
                NemesisFunction::StartPacketLoss | NemesisFunction::StopPacketLoss
            ),
            "a packet loss only belongs to packet-loss events"
        );
        Self {
            f,
            value: serde_json::to_value(loss).unwrap_or(Value::Null),
        }
    }

    /// The final heal's removal of packet-loss rules that were still installed on `nodes`
    /// (the fault that installed them is not known there).
    pub fn loss_healed(nodes: &[String]) -> Self {
        Self {
            f: NemesisFunction::StopPacketLoss,
            value: json!({ "nodes": nodes }),
        }
    }

    /// A rolling restart's start or stop.
    pub fn restart(f: NemesisFunction, roll: &RollingRestart) -> Self {
        assert!(
            matches!(
                f,
                NemesisFunction::StartRestart | NemesisFunction::StopRestart
            ),
            "a rolling restart only belongs to restart events"
        );
        Self {
            f,
            value: serde_json::to_value(roll).unwrap_or(Value::Null),
        }
    }

    /// A kill, start, pause or resume of the named nodes.
    pub fn nodes(f: NemesisFunction, nodes: &[String]) -> Self {
        Self {
            f,
            value: json!(nodes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The JSON shape the history format documents.
    #[test]
    fn events_serialise_as_history_values() {
        let mut grudge = Grudge::new();
        grudge.drop_from("n1", "n2");
        let start = NemesisEvent::partition(NemesisFunction::StartPartition, &grudge);
        assert_eq!(
            serde_json::to_value(&start).unwrap(),
            json!({"f": "start-partition", "value": {"n1": ["n2"]}})
        );
        let kill = NemesisEvent::nodes(NemesisFunction::Kill, &["n3".to_string()]);
        assert_eq!(
            serde_json::to_value(&kill).unwrap(),
            json!({"f": "kill", "value": ["n3"]})
        );
        let loss = PacketLoss {
            nodes: vec!["n2".to_string()],
            probability: crate::loss::DEFAULT_LOSS,
        };
        let lossy = NemesisEvent::packet_loss(NemesisFunction::StartPacketLoss, &loss);
        assert_eq!(
            serde_json::to_value(&lossy).unwrap(),
            json!({"f": "start-packet-loss", "value": {"nodes": ["n2"], "probability": 0.2}})
        );
        let skipped = NemesisEvent::not_applied("kill:leaders", "no current leader is known");
        assert_eq!(
            serde_json::to_value(&skipped).unwrap(),
            json!({"f": "not-applied", "value": {"fault": "kill:leaders",
                "reason": "not applied: no current leader is known"}})
        );
    }
}
