//! Nemesis events: the serialisable record of every fault start and stop, which the
//! harness writes into the history as a `process: "nemesis"` operation of type `info`
//! (see shared/HISTORY.md). The nemesis never writes the history itself: it never
//! depends on the recorder.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::grudge::Grudge;

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
}

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
    }
}
