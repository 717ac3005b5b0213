//! The facts of an incident's window that the explanation rules read: the faults active
//! during or just before it (the report's own fault intervals, [`crate::report::faults`]),
//! and the partition's state from `state.jsonl`: each node's view at the window's start
//! and end, and every change of the nodes claiming leadership inside it.
//!
//! A history key is a partition of the test topic (the workload sends key `"3"` to
//! partition 3), so a key's state is that partition's. Leadership is what a node says of
//! itself, as in [`crate::cluster::state::partition_leaders`]: another node's view of who
//! leads may be stale; a deposed leader that still claims the partition is exactly what a
//! split brain looks like.

use std::collections::BTreeMap;

use checker::history::model::{Nanos, NemesisEvent};
use serde::Serialize;

use crate::cluster::state::{PartitionState, StateSample};
use crate::report::faults::{intervals, FaultInterval};

/// A fault that ended at most this long before a window still counts as "just before":
/// a leader cut off is replaced about 4 s later (session timeout plus election), so its
/// effects show up to then.
pub const FAULT_LOOKBACK_NS: Nanos = 5_000_000_000;

/// Nanoseconds as milliseconds, to 0.1 ms.
pub fn ms(t: Nanos) -> f64 {
    (t as f64 / 1e5).round() / 10.0
}

/// The partition a history key names, if it is one (`"0"` is partition 0).
pub fn partition_of(key: &str) -> Option<i32> {
    key.parse().ok()
}

/// A fault active during the window or just before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultFact {
    /// The fault and its targets as the report labels it (`partition {"n1":["n2"]}`).
    pub label: String,
    /// Its kind (`partition`, `kill`, `pause`).
    pub kind: String,
    /// When it began, ms on the history's clock.
    pub start_ms: f64,
    /// When it was healed (or the history ended), ms.
    pub end_ms: f64,
}

/// The faults of `events` active in `[start, end]`; when none is, those that ended at
/// most [`FAULT_LOOKBACK_NS`] before `start` (an earlier fault is no cause of what
/// happens while a later one is active).
pub fn faults(events: &[NemesisEvent], start: Nanos, end: Nanos) -> Vec<FaultFact> {
    let last = events.iter().map(|e| e.time).max().unwrap_or(0).max(end);
    let all = intervals(events, last);
    let during = |i: &FaultInterval| i.start <= end && i.end >= start;
    let any_during = all.iter().any(during);
    all.into_iter()
        .filter(|i: &FaultInterval| {
            if any_during {
                during(i)
            } else {
                i.start <= end && i.end.saturating_add(FAULT_LOOKBACK_NS) >= start
            }
        })
        .map(|i| FaultFact {
            label: i.label,
            kind: i.kind,
            start_ms: ms(i.start),
            end_ms: ms(i.end),
        })
        .collect()
}

/// One node's view of the partition in one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    /// The node (`n1`).
    pub node: String,
    /// Whether it answered the sampler.
    pub answered: bool,
    /// The leader it names (by node name), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// The leader epoch it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_epoch: Option<i32>,
    /// The ISR it names (node names).
    pub isr: Vec<String>,
    /// The high watermark it reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_watermark: Option<i64>,
    /// Its log end offset, when the broker has an admin endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_end_offset: Option<i64>,
}

/// Every node's view of the partition at one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// When the sample was taken, ms.
    pub time_ms: f64,
    /// One view per node, as sampled.
    pub nodes: Vec<NodeView>,
}

/// A node claiming to lead the partition, with the epoch it claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The node.
    pub node: String,
    /// Its leader epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_epoch: Option<i32>,
    /// The ISR it reports (node names).
    pub isr: Vec<String>,
    /// The high watermark it reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_watermark: Option<i64>,
}

impl Claim {
    /// `n1 (epoch 3)`.
    pub fn describe(&self) -> String {
        match self.leader_epoch {
            Some(e) => format!("{} (epoch {e})", self.node),
            None => self.node.clone(),
        }
    }
}

/// The nodes claiming leadership changed: who claims it from `time_ms` on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderChange {
    /// The first sample showing the new claims, ms.
    pub time_ms: f64,
    /// The claims before.
    pub from: Vec<Claim>,
    /// The claims from then on (empty: nobody claims the partition).
    pub to: Vec<Claim>,
}

/// The sampled state of one partition: the lookups the rules need, over samples in time
/// order.
#[derive(Debug, Clone, Copy)]
pub struct PartitionStates<'a> {
    samples: &'a [StateSample],
    partition: i32,
}

fn find(p: &[PartitionState], partition: i32) -> Option<&PartitionState> {
    p.iter().find(|p| p.partition == partition)
}

impl<'a> PartitionStates<'a> {
    /// The states of `partition` in `samples` (sorted by time, as `state.jsonl` is).
    pub fn new(samples: &'a [StateSample], partition: i32) -> PartitionStates<'a> {
        PartitionStates { samples, partition }
    }

    /// Whether there is no sample at all.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The last sample at or before `t`, else the first one.
    pub fn at_or_before(&self, t: Nanos) -> Option<&'a StateSample> {
        let after = self.samples.partition_point(|s| s.time <= t);
        self.samples
            .get(after.saturating_sub(1))
            .or(self.samples.first())
    }

    /// The first sample at or after `t`, else the last one.
    pub fn at_or_after(&self, t: Nanos) -> Option<&'a StateSample> {
        let at = self.samples.partition_point(|s| s.time < t);
        self.samples.get(at).or(self.samples.last())
    }

    /// The first sample at or after `t`, if it is at most `within` later.
    pub fn next_within(&self, t: Nanos, within: Nanos) -> Option<&'a StateSample> {
        let at = self.samples.partition_point(|s| s.time < t);
        self.samples
            .get(at)
            .filter(|s| s.time <= t.saturating_add(within))
    }

    /// The samples taken in `[start, end]`.
    pub fn between(&self, start: Nanos, end: Nanos) -> &'a [StateSample] {
        let lo = self.samples.partition_point(|s| s.time < start);
        let hi = self.samples.partition_point(|s| s.time <= end);
        &self.samples[lo..hi.max(lo)]
    }

    /// Every node's view of the partition in `sample`.
    pub fn snapshot(&self, sample: &StateSample) -> Snapshot {
        let names = node_names(sample);
        let nodes = sample
            .nodes
            .iter()
            .map(|n| {
                let p = n
                    .state
                    .as_ref()
                    .and_then(|s| find(&s.partitions, self.partition));
                NodeView {
                    node: n.node.clone(),
                    answered: n.ok,
                    leader: p.and_then(|p| p.leader).map(|id| name(&names, id)),
                    leader_epoch: p.and_then(|p| p.leader_epoch),
                    isr: p.map_or_else(Vec::new, |p| named(&names, &p.isr)),
                    high_watermark: p.and_then(|p| p.high_watermark),
                    log_end_offset: p.and_then(|p| p.log_end_offset),
                }
            })
            .collect();
        Snapshot {
            time_ms: ms(sample.time),
            nodes,
        }
    }

    /// The nodes that say they lead the partition in `sample`, by node name.
    pub fn claims(&self, sample: &StateSample) -> Vec<Claim> {
        let names = node_names(sample);
        let mut out: Vec<Claim> = sample
            .nodes
            .iter()
            .filter(|n| n.ok)
            .filter_map(|n| {
                let id = n.node_id?;
                let p = find(&n.state.as_ref()?.partitions, self.partition)?;
                (p.leader == Some(id)).then(|| Claim {
                    node: n.node.clone(),
                    leader_epoch: p.leader_epoch,
                    isr: named(&names, &p.isr),
                    high_watermark: p.high_watermark,
                })
            })
            .collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out
    }

    /// The highest high watermark any node reports for the partition in `sample`.
    pub fn high_watermark(&self, sample: &StateSample) -> Option<i64> {
        sample
            .nodes
            .iter()
            .filter_map(|n| find(&n.state.as_ref()?.partitions, self.partition)?.high_watermark)
            .max()
    }

    /// Each node's own log end offset of the partition in `sample`, when reported.
    pub fn log_end_offsets(&self, sample: &StateSample) -> BTreeMap<String, i64> {
        sample
            .nodes
            .iter()
            .filter_map(|n| {
                let p = find(&n.state.as_ref()?.partitions, self.partition)?;
                Some((n.node.clone(), p.log_end_offset?))
            })
            .collect()
    }

    /// Every change of the claims to leadership (node or epoch) in `(start, end]`,
    /// against the last sample at or before `start`.
    pub fn leader_changes(&self, start: Nanos, end: Nanos) -> Vec<LeaderChange> {
        let Some(base) = self.at_or_before(start) else {
            return Vec::new();
        };
        let key = |c: &[Claim]| -> Vec<(String, Option<i32>)> {
            c.iter().map(|c| (c.node.clone(), c.leader_epoch)).collect()
        };
        let mut last = self.claims(base);
        let mut out = Vec::new();
        for s in self.between(start.saturating_add(1), end) {
            let now = self.claims(s);
            if key(&now) != key(&last) {
                out.push(LeaderChange {
                    time_ms: ms(s.time),
                    from: last,
                    to: now.clone(),
                });
                last = now;
            }
        }
        out
    }
}

fn node_names(sample: &StateSample) -> BTreeMap<i32, String> {
    sample
        .nodes
        .iter()
        .filter_map(|n| Some((n.node_id?, n.node.clone())))
        .collect()
}

fn name(names: &BTreeMap<i32, String>, id: i32) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("broker {id}"))
}

fn named(names: &BTreeMap<i32, String>, ids: &[i32]) -> Vec<String> {
    ids.iter().map(|&id| name(names, id)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{node, sample, S};
    use super::*;
    use serde_json::json;

    // Goal: lookups pick the right sample, and leader changes list each new claim set.
    // Method: samples at 1, 2, 3 s: n1 leads, then n1 and n2 both claim, then n2 alone.
    #[test]
    fn samples_claims_and_changes() {
        let samples = vec![
            sample(
                1000,
                vec![
                    node("n1", 1, Some((1, 3, &[1, 2], 10))),
                    node("n2", 2, Some((1, 3, &[1, 2], 10))),
                ],
            ),
            sample(
                2000,
                vec![
                    node("n1", 1, Some((1, 3, &[1], 12))),
                    node("n2", 2, Some((2, 4, &[2], 11))),
                ],
            ),
            sample(
                3000,
                vec![
                    node("n1", 1, Some((2, 4, &[2], 11))),
                    node("n2", 2, Some((2, 4, &[2, 1], 11))),
                ],
            ),
        ];
        let p = PartitionStates::new(&samples, 0);
        assert_eq!(p.at_or_before(2 * S + 1).map(|s| s.time), Some(2 * S));
        assert_eq!(p.at_or_before(0).map(|s| s.time), Some(S));
        assert_eq!(p.at_or_after(2 * S + 1).map(|s| s.time), Some(3 * S));
        assert!(p.next_within(3 * S + 1, S).is_none());
        let both = p.claims(&samples[1]);
        assert_eq!(
            both.iter().map(Claim::describe).collect::<Vec<_>>(),
            vec!["n1 (epoch 3)", "n2 (epoch 4)"]
        );
        assert_eq!(p.high_watermark(&samples[1]), Some(12));
        let changes = p.leader_changes(S, 3 * S);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[1].to[0].describe(), "n2 (epoch 4)");
        let snap = p.snapshot(&samples[0]);
        assert_eq!(snap.nodes[0].leader.as_deref(), Some("n1"));
        assert_eq!(snap.nodes[0].isr, vec!["n1", "n2"]);
        assert!(PartitionStates::new(&[], 0).leader_changes(0, S).is_empty());
    }

    // Goal: a fault counts when active in the window, or, when none is, healed at most 5 s
    // before it.
    #[test]
    fn faults_during_or_just_before_the_window() {
        let ev = |time: Nanos, f: &str| NemesisEvent {
            index: time,
            time,
            f: f.to_owned(),
            value: json!(["n1"]),
            error: None,
        };
        let events = vec![ev(S, "kill"), ev(2 * S, "start"), ev(20 * S, "pause")];
        let got = faults(&events, 6 * S, 8 * S);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].label.as_str(), got[0].end_ms), ("kill n1", 2000.0));
        assert!(faults(&events, 8 * S, 9 * S).is_empty());
        assert_eq!(faults(&events, 21 * S, 22 * S)[0].kind, "pause");
        let later = faults(&events, 3 * S, 21 * S);
        assert_eq!(
            later.len(),
            1,
            "the kill healed 1 s before, the pause is active"
        );
        assert_eq!(later[0].kind, "pause");
    }
}
