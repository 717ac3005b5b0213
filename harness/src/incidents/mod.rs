//! Incidents: the findings of a check grouped by the event that caused them, each tied to
//! the faults and the cluster state of its moment and explained in plain words. A
//! zombie leader gives hundreds of findings of five kinds, all on one key, at
//! neighbouring offsets, in one window of time; an incident says that it was one event,
//! and which.
//!
//! This module only reads: the verdict (`checker::check::CheckResult`), the history, and
//! the run's `state.jsonl` and `test.json` when there are any. The verdict never depends
//! on it.
//!
//! - **Which findings.** Every finding of an anomaly that violates a property (everything
//!   but `unseen`, which is no violation by itself), counted or not; an incident is
//!   `counted` when one of its findings counts against the verdict. So a valid run has no
//!   counted incident, and one whose configuration promises every property none at all.
//! - **Grouping** ([`group`]): findings of one key whose offsets touch (a gap of at most 1)
//!   and whose windows overlap (within 1 s) belong together, transitively; findings
//!   without an offset or a key join an incident they overlap in time, never bridging two.
//! - **A finding's offsets and window.** Its `offset` (or, without one, the offset its
//!   acknowledged send got); its window runs from the first invoke to the last completion
//!   of its witness operations, leaving out the final reads (made after the faults healed)
//!   unless it has no other witness: a lost write happened when it was acknowledged, not
//!   when the final read missed it.
//! - **Facts** ([`facts`]) and **explanations** ([`rules`]): the faults active during or
//!   up to 5 s before the window, the partition's state at its start and end and every
//!   change of leadership inside it; one sentence per rule that fits, the facts alone
//!   when none does.

pub mod facts;
pub mod group;
pub mod rules;
#[cfg(test)]
pub(crate) mod testing;

use std::collections::{BTreeMap, BTreeSet};

use checker::anomaly::{AnomalyKind, Finding};
use checker::check::CheckResult;
use checker::history::model::{Function, History, LineIndex, MicroOp, Nanos, Offset, Value};
use serde::Serialize;

use crate::cluster::state::StateSample;
use crate::run_dir::TestJson;
use facts::{ms, partition_of, Claim, FaultFact, LeaderChange, PartitionStates, Snapshot};
use group::Span;

/// At most this many leader changes are listed per incident (a flapping partition would
/// list thousands); the explanation still counts them all.
pub const LEADER_CHANGES_MAX: usize = 20;

/// What the run directory adds to the history: the state samples and the configuration.
/// Both may be missing (`samsa check FILE` on a bare history): the incidents then have no
/// state facts, and the rules that need them do not fire.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFacts<'a> {
    /// `state.jsonl`, in time order.
    pub states: &'a [StateSample],
    /// The topic's `min.insync.replicas`.
    pub min_insync_replicas: Option<i32>,
}

/// `min.insync.replicas` as `test.json` records the run's configuration.
pub fn min_insync_replicas(test: &TestJson) -> Option<i32> {
    let v = test.config.as_ref()?.get("min_insync_replicas")?.as_i64()?;
    i32::try_from(v).ok()
}

/// The incidents of a run directory's verdict, with the state samples and configuration
/// its optional files hold (either may be missing).
pub fn for_run(
    result: &CheckResult,
    history: &History,
    inputs: &crate::report::inputs::RunInputs,
) -> Vec<Incident> {
    let run = RunFacts {
        states: inputs.states.as_deref().unwrap_or(&[]),
        min_insync_replicas: inputs.test.as_ref().and_then(min_insync_replicas),
    };
    find(result, history, &run)
}

/// One incident, as `results.json` lists it (docs/history-format.md, "Incidents").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// The keys of its findings.
    pub keys: Vec<String>,
    /// The partition whose state the facts describe (its first key's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// `[lowest, highest]` offset of its findings, if they name any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offsets: Option<[Offset; 2]>,
    /// `[start, end]` of its window, ms on the history's clock.
    pub window_ms: [f64; 2],
    /// Whether any of its findings counts against the verdict.
    pub counted: bool,
    /// Findings per anomaly type.
    pub counts: BTreeMap<&'static str, usize>,
    /// Per anomaly type, the witness of its finding with the fewest operations.
    pub witnesses: BTreeMap<&'static str, Vec<LineIndex>>,
    /// The faults active during the window or just before it.
    pub faults: Vec<FaultFact>,
    /// The partition per node at the last sample at or before the window's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_start: Option<Snapshot>,
    /// ... and at the first sample at or after its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_end: Option<Snapshot>,
    /// Every change of the nodes claiming leadership inside the window (at most
    /// [`LEADER_CHANGES_MAX`]).
    pub leader_changes: Vec<LeaderChange>,
    /// The rules of [`rules::RULES`] that fit, by name.
    pub rules: Vec<&'static str>,
    /// The explanation, in plain words.
    pub explanation: String,
}

/// Groups the findings of `result` into incidents, in order of their windows' start.
pub fn find(result: &CheckResult, history: &History, run: &RunFacts<'_>) -> Vec<Incident> {
    let findings: Vec<&Finding> = result
        .anomalies
        .values()
        .flatten()
        .filter(|f| f.kind.violates().is_some())
        .collect();
    if findings.is_empty() {
        return Vec::new();
    }
    let ops = op_positions(history, &findings);
    let spans: Vec<Span> = findings.iter().map(|f| span(f, history, &ops)).collect();
    let sends_of = sends_of_duplicates(history, &findings);
    group::group(&spans)
        .into_iter()
        .map(|g| {
            let members: Vec<&Finding> = g.members.iter().map(|&i| findings[i]).collect();
            let counted = members
                .iter()
                .any(|f| !result.not_counted.iter().any(|n| n.kind == f.kind));
            build(members, &g, counted, history, run, &ops, &sends_of)
        })
        .collect()
}

/// Witness line -> position of its operation in `history.ops`, for the lines findings name.
fn op_positions(history: &History, findings: &[&Finding]) -> BTreeMap<LineIndex, usize> {
    let wanted: BTreeSet<LineIndex> = findings.iter().flat_map(|f| &f.ops).copied().collect();
    let mut out = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        for l in op.witness() {
            if wanted.contains(&l) {
                out.insert(l, i);
            }
        }
    }
    out
}

fn span(f: &Finding, history: &History, ops: &BTreeMap<LineIndex, usize>) -> Span {
    let witnesses: Vec<&checker::history::model::Op> = f
        .ops
        .iter()
        .filter_map(|l| ops.get(l).map(|&i| &history.ops[i]))
        .collect();
    let during: Vec<_> = witnesses.iter().filter(|o| !o.is_final).collect();
    let timed = if during.is_empty() {
        witnesses.iter().collect()
    } else {
        during
    };
    let start = timed.iter().map(|o| o.invoke_time).min().unwrap_or(0);
    let end = timed
        .iter()
        .map(|o| o.complete_time.unwrap_or(o.invoke_time))
        .max()
        .unwrap_or(start);
    let acked = || {
        let key = history.keys.get(f.key.as_deref()?)?;
        let value = f.value?;
        witnesses
            .iter()
            .flat_map(|o| &o.mops)
            .find_map(|m| match m {
                MicroOp::Send {
                    key: k,
                    value: v,
                    offset,
                } if *k == key && *v == value => *offset,
                _ => None,
            })
    };
    Span {
        key: f.key.clone(),
        offsets: f.offset.or_else(acked).map(|o| (o, o)),
        start,
        end,
    }
}

/// The send operations of every value a duplicate finding names.
fn sends_of_duplicates(
    history: &History,
    findings: &[&Finding],
) -> BTreeMap<(String, Value), Vec<usize>> {
    let wanted: BTreeSet<(String, Value)> = findings
        .iter()
        .filter(|f| f.kind == AnomalyKind::Duplicate)
        .filter_map(|f| Some((f.key.clone()?, f.value?)))
        .collect();
    let mut out: BTreeMap<(String, Value), Vec<usize>> = BTreeMap::new();
    if wanted.is_empty() {
        return out;
    }
    for (i, op) in history.ops.iter().enumerate() {
        if op.f != Function::Send {
            continue;
        }
        for m in &op.mops {
            if let MicroOp::Send { key, value, .. } = m {
                let k = (history.keys.name(*key).to_owned(), *value);
                if wanted.contains(&k) {
                    out.entry(k).or_default().push(i);
                }
            }
        }
    }
    out
}

fn build(
    members: Vec<&Finding>,
    g: &group::Group,
    counted: bool,
    history: &History,
    run: &RunFacts<'_>,
    ops: &BTreeMap<LineIndex, usize>,
    sends_of: &BTreeMap<(String, Value), Vec<usize>>,
) -> Incident {
    let keys: Vec<String> = members
        .iter()
        .filter_map(|f| f.key.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut witnesses: BTreeMap<&'static str, Vec<LineIndex>> = BTreeMap::new();
    for f in &members {
        *counts.entry(f.kind.name()).or_default() += 1;
        let w = witnesses
            .entry(f.kind.name())
            .or_insert_with(|| f.ops.clone());
        if f.ops.len() < w.len() {
            *w = f.ops.clone();
        }
    }
    // The key that placed the incident: that of its lowest-offset finding, else any.
    let key = members
        .iter()
        .filter(|f| f.offset.is_some())
        .min_by_key(|f| f.offset)
        .or(members.first())
        .and_then(|f| f.key.as_deref());
    let partition = key.and_then(partition_of);
    let states = partition
        .filter(|_| !run.states.is_empty())
        .map(|p| PartitionStates::new(run.states, p));
    let faults = facts::faults(&history.nemesis, g.start, g.end);
    let state_start = states.and_then(|s| Some(s.snapshot(s.at_or_before(g.start)?)));
    let state_end = states.and_then(|s| Some(s.snapshot(s.at_or_after(g.end)?)));
    let mut leader_changes = states.map_or_else(Vec::new, |s| s.leader_changes(g.start, g.end));
    let changes_total = leader_changes.len();
    leader_changes.truncate(LEADER_CHANGES_MAX);
    let facts = rules::Facts {
        history,
        findings: members,
        key,
        start: g.start,
        end: g.end,
        states,
        min_insync_replicas: run.min_insync_replicas,
        ops,
        sends_of,
    };
    let fired = rules::apply(&facts);
    let explanation = explain(
        &ExplainInput {
            key,
            offsets: g.offsets,
            start: g.start,
            end: g.end,
            counts: &counts,
            faults: &faults,
            states,
            changes_total,
        },
        &fired,
    );
    Incident {
        keys,
        partition,
        offsets: g.offsets.map(|(a, b)| [a, b]),
        window_ms: [ms(g.start), ms(g.end)],
        counted,
        counts,
        witnesses,
        faults,
        state_start,
        state_end,
        leader_changes,
        rules: fired.iter().map(|(n, _)| *n).collect(),
        explanation,
    }
}

struct ExplainInput<'a> {
    key: Option<&'a str>,
    offsets: Option<(Offset, Offset)>,
    start: Nanos,
    end: Nanos,
    counts: &'a BTreeMap<&'static str, usize>,
    faults: &'a [FaultFact],
    states: Option<PartitionStates<'a>>,
    changes_total: usize,
}

fn seconds(t_ms: f64) -> String {
    format!("{:.1} s", t_ms / 1e3)
}

/// `partition n1 | n2, n3 (26.0–33.0 s)`, `kill n3 (...)`.
fn describe_fault(f: &FaultFact) -> String {
    let what = match f.label.strip_prefix("partition ").map(serde_json::from_str) {
        Some(Ok(serde_json::Value::Object(grudge))) => {
            format!("partition {}", grudge_text(&grudge))
        }
        _ => f.label.clone(),
    };
    format!("{what} ({}–{})", seconds(f.start_ms), seconds(f.end_ms))
}

/// A grudge (node -> nodes it drops traffic from) as its two sides, `n1 | n2, n3`, when
/// it is a clean cut, else each node's drops.
fn grudge_text(grudge: &serde_json::Map<String, serde_json::Value>) -> String {
    let drops: BTreeMap<&str, BTreeSet<&str>> = grudge
        .iter()
        .map(|(node, from)| {
            let from = from
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str());
            (node.as_str(), from.collect())
        })
        .collect();
    let clean = drops.iter().next().and_then(|(first, b)| {
        let a: BTreeSet<&str> = drops
            .keys()
            .copied()
            .filter(|n| n == first || !b.contains(n))
            .collect();
        let cut = drops
            .iter()
            .all(|(n, d)| if a.contains(n) { d == b } else { *d == a });
        cut.then_some((a, b.clone()))
    });
    let join = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join(", ");
    match clean {
        Some((a, b)) if a.len() <= b.len() => format!("{} | {}", join(&a), join(&b)),
        Some((a, b)) => format!("{} | {}", join(&b), join(&a)),
        None => {
            let each: Vec<String> = drops
                .iter()
                .map(|(n, d)| format!("{n} drops {}", join(d)))
                .collect();
            format!("({})", each.join("; "))
        }
    }
}

/// The faults clause: the fault the window began in (or just after), and how many more
/// began inside it.
fn faults_clause(faults: &[FaultFact], start_ms: f64) -> String {
    let slack_ms = group::TIME_SLACK_NS as f64 / 1e6;
    let Some(first) = faults
        .iter()
        .filter(|f| f.start_ms <= start_ms + slack_ms)
        .max_by(|a, b| a.start_ms.total_cmp(&b.start_ms))
        .or(faults.first())
    else {
        return "with no fault active".to_owned();
    };
    let how = if first.end_ms < start_ms {
        "just after"
    } else if first.start_ms <= start_ms + slack_ms {
        "during"
    } else {
        "as it began,"
    };
    let mut out = if how == "as it began," {
        format!("with {} beginning inside it", describe_fault(first))
    } else {
        format!("{how} {}", describe_fault(first))
    };
    let more = faults.len() - 1;
    if more > 0 {
        out.push_str(&format!(
            ", {more} more fault{} in the window",
            if more == 1 { "" } else { "s" }
        ));
    }
    out
}

fn claims_text(c: &[Claim]) -> String {
    if c.is_empty() {
        return "no node".to_owned();
    }
    c.iter()
        .map(Claim::describe)
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The first sentence (where, when, during which faults, what was found), the sentences of
/// the rules that fit, or the state facts when none does.
fn explain(x: &ExplainInput<'_>, fired: &[(&'static str, String)]) -> String {
    let mut where_ = match x.key {
        Some(k) => format!("on key {k}"),
        None => "on no single key".to_owned(),
    };
    match x.offsets {
        Some((a, b)) if a != b => where_.push_str(&format!(" (offsets {a}–{b})")),
        Some((a, _)) => where_.push_str(&format!(" (offset {a})")),
        None => {}
    }
    let during = faults_clause(x.faults, ms(x.start));
    let mut counts: Vec<(&&str, &usize)> = x.counts.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let found: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut out = format!(
        "Between {} and {}, {where_}, {during}; found {}.",
        seconds(ms(x.start)),
        seconds(ms(x.end)),
        found.join(", ")
    );
    for (_, sentence) in fired {
        out.push(' ');
        let mut chars = sentence.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
        out.push('.');
    }
    if fired.is_empty() {
        out.push_str(" No rule explains it; the facts: ");
        match x.states {
            None => out.push_str("no cluster state was sampled for this key."),
            Some(s) => {
                let at = |t: Option<&StateSample>| t.map_or_else(Vec::new, |t| s.claims(t));
                out.push_str(&format!(
                    "{} claimed leadership at the start and {} at the end, with {} change{} of leadership in between.",
                    claims_text(&at(s.at_or_before(x.start))),
                    claims_text(&at(s.at_or_after(x.end))),
                    x.changes_total,
                    if x.changes_total == 1 { "" } else { "s" }
                ));
            }
        }
    }
    out
}

/// The terminal summary's lines: one per incident (counted ones first), at most `max`,
/// then how many more.
pub fn summary_lines(incidents: &[Incident], max: usize) -> Vec<String> {
    let mut order: Vec<&Incident> = incidents.iter().collect();
    order.sort_by_key(|i| !i.counted);
    let mut out: Vec<String> = order
        .iter()
        .take(max)
        .map(|i| {
            let note = if i.counted { "" } else { " (not counted)" };
            format!("{}{note}", i.explanation)
        })
        .collect();
    if incidents.len() > max {
        out.push(format!(
            "and {} more (see results.json)",
            incidents.len() - max
        ));
    }
    out
}

#[cfg(test)]
mod tests;
