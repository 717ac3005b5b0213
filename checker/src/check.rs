//! The verdict: runs every detector and the linearizability check over a history, and
//! decides `valid` (true, false or "unknown") by the guarantees the history's header
//! promises (HISTORY.md, "Header" and "Results").
//!
//! Which anomaly violates which property is the table in `anomaly.rs`; this module only
//! applies it. An anomaly of a property the configuration does not promise is reported but
//! listed under `not_counted`; `unseen` never counts; a linearizability check that ran out
//! of time, or a history in which no client operation completed `ok`, makes the verdict
//! "unknown" unless something already makes it invalid. The
//! detectors and the linearizability check run on two threads; `stats.time` gives each
//! phase's own duration (they overlap).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use crate::anomalies::{self, index::Index};
use crate::anomaly::{AnomalyKind, Finding, Property};
use crate::history::model::{Function, Guarantees, History, MicroOp, Outcome};
use crate::linear::{self, LinearOptions};

/// How to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Which linearizability engine(s) to run, and their time limit.
    pub linear: LinearOptions,
}

/// The verdict: `true`, `false` or `"unknown"` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Every promised property held as far as the history shows.
    Valid,
    /// Some promised property was violated.
    Invalid,
    /// Nothing violated, but an analysis could not decide (time limit).
    Unknown,
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => s.serialize_bool(true),
            Validity::Invalid => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

/// An anomaly type reported but not counted against the verdict, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCounted {
    /// The anomaly's name.
    #[serde(rename = "type")]
    pub kind: AnomalyKind,
    /// Why it does not invalidate this history.
    pub reason: String,
}

/// Milliseconds spent in each phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading and pairing the history (filled in by the caller that read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_ms: Option<f64>,
    /// Building the per-key index.
    pub index_ms: f64,
    /// Running the anomaly detectors.
    pub anomalies_ms: f64,
    /// The linearizability check.
    pub linear_ms: f64,
}

/// Counts that describe the history checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Client operations (invoke/completion pairs, or open invokes).
    pub ops: usize,
    /// Operation lines in the file (header excluded).
    pub lines: u64,
    /// Distinct keys.
    pub keys: usize,
    /// Sends acknowledged.
    pub sends_ok: usize,
    /// Sends that certainly failed.
    pub sends_fail: usize,
    /// Sends with unknown outcome (info, or never completed).
    pub sends_info: usize,
    /// Polls that returned.
    pub polls_ok: usize,
    /// Polls that did not return (fail or info).
    pub polls_other: usize,
    /// Transactions.
    pub txns: usize,
    /// Records returned by all polls.
    pub records_read: usize,
    /// Nemesis events.
    pub nemesis_events: usize,
    /// Findings per anomaly name.
    pub counts: BTreeMap<&'static str, usize>,
    /// Time per phase.
    pub time: Timings,
}

/// The result of checking one history; serializes exactly as HISTORY.md's "Results".
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The verdict.
    pub valid: Validity,
    /// Every anomaly type found (counted or not), sorted by name.
    pub anomaly_types: Vec<AnomalyKind>,
    /// The findings of each type, keyed by name.
    pub anomalies: BTreeMap<&'static str, Vec<Finding>>,
    /// Types found that do not count against the verdict, and why.
    pub not_counted: Vec<NotCounted>,
    /// Keys on which the two linearizability engines disagreed (`--engine both`): a checker
    /// bug, reported loudly rather than hidden.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub engine_disagreements: Vec<String>,
    /// Why the verdict is `"unknown"` although nothing was violated: an analysis that ran
    /// out of time, a history with nothing to judge, or a run the harness knows tested
    /// less than it planned. Empty when the verdict is decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_reasons: Vec<String>,
    /// Anomaly types whose witnesses were cut to a bound ([`CheckResult::bound_witnesses`]),
    /// each with how many findings there were in all: `anomalies` then lists only the
    /// first ones, so a run with millions of findings still prints bounded JSON.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub truncated: BTreeMap<&'static str, usize>,
    /// What the history held and how long checking took.
    pub stats: Stats,
}

/// The default bound on findings listed per anomaly type in JSON output: enough to study
/// a failure, few enough that 2.8 million phantom reads do not print hundreds of MB.
pub const WITNESSES_PER_TYPE_MAX: usize = 100;

impl CheckResult {
    /// Keeps at most `max` findings of each anomaly type and records, in `truncated`, the
    /// total of each type it cut (`stats.counts` keeps every total too). The verdict and
    /// `anomaly_types` are unchanged.
    pub fn bound_witnesses(&mut self, max: usize) {
        for (name, found) in self.anomalies.iter_mut() {
            if found.len() > max {
                self.truncated.insert(name, found.len());
                found.truncate(max);
            }
        }
    }

    /// The findings that count against the verdict: of a kind violating a property the
    /// configuration promises (not listed in `not_counted`).
    pub fn counted_findings(&self) -> impl Iterator<Item = &Finding> {
        self.anomalies
            .values()
            .flatten()
            .filter(|f| !self.not_counted.iter().any(|n| n.kind == f.kind))
    }

    /// Records why this result cannot be called valid: a `Valid` verdict becomes
    /// `Unknown`; an `Invalid` one stays invalid (a violation found is proven whatever
    /// else went wrong), but keeps the reason for the report.
    pub fn mark_unknown(&mut self, reason: impl Into<String>) {
        if self.valid == Validity::Valid {
            self.valid = Validity::Unknown;
        }
        self.unknown_reasons.push(reason.into());
    }
}

/// Whether `guarantees` promise `property`.
pub fn promised(guarantees: &Guarantees, property: Property) -> bool {
    match property {
        Property::NoLoss => guarantees.no_loss,
        Property::NoDuplicates => guarantees.no_duplicates,
        Property::Ordered => guarantees.ordered,
        Property::Linearizable => guarantees.linearizable,
    }
}

fn property_name(p: Property) -> &'static str {
    match p {
        Property::NoLoss => "no_loss",
        Property::NoDuplicates => "no_duplicates",
        Property::Ordered => "ordered",
        Property::Linearizable => "linearizable",
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Checks `history`: every detector, then linearizability, then the verdict.
pub fn check(history: &History, options: &CheckOptions) -> CheckResult {
    let mut stats = describe(history);
    // The detectors and the linearizability check only read the history: run them on two
    // threads (the target machine has two cores).
    let (mut findings, linear) = std::thread::scope(|scope| {
        let linear = scope.spawn(|| {
            let started = Instant::now();
            let outcome = linear::check(history, &options.linear);
            (outcome, started.elapsed())
        });
        let started = Instant::now();
        let index = Index::build(history);
        stats.time.index_ms = ms(started.elapsed());
        let started = Instant::now();
        let findings = anomalies::detect_all(history, &index);
        stats.time.anomalies_ms = ms(started.elapsed());
        let (outcome, took) = match linear.join() {
            Ok(done) => done,
            // A panic in the engine is a checker bug: surface it, never hide it.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        stats.time.linear_ms = ms(took);
        (findings, outcome)
    });
    findings.extend(linear.findings);
    let mut result = verdict(history.guarantees(), findings, linear.unknown, stats);
    result.engine_disagreements = linear.disagreements;
    if !history.ops.iter().any(|op| op.outcome == Outcome::Ok) {
        // Nothing happened for certain: no promise was put to the test, so "valid" would
        // claim what the history cannot show (an empty file, a run that never connected).
        result.mark_unknown(NO_OK_OPERATION);
    }
    result
}

/// The reason a history without any `ok` client operation gets no verdict.
pub const NO_OK_OPERATION: &str =
    "no client operation completed ok: the history shows nothing the broker did";

/// Applies the guarantees table to the findings.
fn verdict(
    guarantees: Guarantees,
    findings: Vec<Finding>,
    undecided: bool,
    mut stats: Stats,
) -> CheckResult {
    let mut anomalies: BTreeMap<&'static str, Vec<Finding>> = BTreeMap::new();
    for f in findings {
        anomalies.entry(f.kind.name()).or_default().push(f);
    }
    let mut anomaly_types: Vec<AnomalyKind> = anomalies
        .keys()
        .filter_map(|name| AnomalyKind::from_name(name))
        .collect();
    anomaly_types.sort_by_key(|k| k.name());
    let mut invalid = false;
    let mut not_counted = Vec::new();
    for &kind in &anomaly_types {
        match kind.violates() {
            Some(p) if promised(&guarantees, p) => invalid = true,
            Some(p) => not_counted.push(NotCounted {
                kind,
                reason: format!(
                    "violates {}, which this configuration does not promise",
                    property_name(p)
                ),
            }),
            None => not_counted.push(NotCounted {
                kind,
                reason: "reported for information; never a violation by itself".to_owned(),
            }),
        }
    }
    stats.counts = anomalies.iter().map(|(k, v)| (*k, v.len())).collect();
    let mut result = CheckResult {
        valid: if invalid {
            Validity::Invalid
        } else {
            Validity::Valid
        },
        anomaly_types,
        anomalies,
        not_counted,
        engine_disagreements: Vec::new(),
        unknown_reasons: Vec::new(),
        truncated: BTreeMap::new(),
        stats,
    };
    if undecided {
        result.mark_unknown("the linearizability check reached its time limit");
    }
    result
}

/// Counts what the history holds.
fn describe(history: &History) -> Stats {
    let mut s = Stats {
        ops: history.ops.len(),
        lines: history.line_count,
        keys: history.keys.len(),
        nemesis_events: history.nemesis.len(),
        ..Stats::default()
    };
    for op in &history.ops {
        match (op.f, op.outcome) {
            (Function::Send, Outcome::Ok) => s.sends_ok += 1,
            (Function::Send, Outcome::Fail) => s.sends_fail += 1,
            (Function::Send, Outcome::Info) => s.sends_info += 1,
            (Function::Poll, Outcome::Ok) => s.polls_ok += 1,
            (Function::Poll, _) => s.polls_other += 1,
            (Function::Txn, _) => s.txns += 1,
            _ => {}
        }
        if op.outcome == Outcome::Ok {
            for mop in &op.mops {
                if let MicroOp::Poll { reads } = mop {
                    s.records_read += reads.iter().map(|r| r.records.len()).sum::<usize>();
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: AnomalyKind) -> Finding {
        Finding::new(kind, vec![1], "x".into())
    }

    // Goal: the guarantees table decides what counts. Method: same findings, two headers.
    #[test]
    fn unpromised_and_informational_anomalies_do_not_invalidate() {
        let all = Guarantees::default();
        let r = verdict(
            all,
            vec![finding(AnomalyKind::Duplicate)],
            false,
            Stats::default(),
        );
        assert_eq!(r.valid, Validity::Invalid);

        let no_dups = Guarantees {
            no_duplicates: false,
            ..all
        };
        let r = verdict(
            no_dups,
            vec![
                finding(AnomalyKind::Duplicate),
                finding(AnomalyKind::Unseen),
            ],
            false,
            Stats::default(),
        );
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(r.not_counted.len(), 2);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["valid"], serde_json::json!(true));
        assert_eq!(
            json["anomaly_types"],
            serde_json::json!(["duplicate", "unseen"])
        );
        assert_eq!(
            json["anomalies"]["duplicate"][0]["ops"],
            serde_json::json!([1])
        );
    }

    // Goal: undecided linearizability gives unknown, unless already invalid.
    #[test]
    fn undecided_is_unknown_unless_invalid() {
        let all = Guarantees::default();
        let r = verdict(all, vec![], true, Stats::default());
        assert_eq!(
            serde_json::to_value(r.valid).unwrap(),
            serde_json::json!("unknown")
        );
        let r = verdict(
            all,
            vec![finding(AnomalyKind::LostWrite)],
            true,
            Stats::default(),
        );
        assert_eq!(r.valid, Validity::Invalid);
    }

    // Goal: a history with no client operation completed ok gives no verdict: "unknown",
    // with a reason. Method: empty input, a header alone, only fail/info/open operations;
    // the twin adds one ok send and is valid.
    #[test]
    fn a_history_without_an_ok_operation_is_unknown() {
        use crate::history::line::{to_jsonl, HeaderLine, Line, LineType, LineValue};
        use Function::{Poll, Send};
        let header = to_jsonl(Some(&HeaderLine::new(None, Guarantees::default())), &[]);
        let line = |i: u64, p, kind, f, value| Line::client(i, i + 1, p, kind, f, value);
        let mut lines = vec![
            line(0, 0, LineType::Invoke, Send, LineValue::send("0", 1)),
            line(1, 0, LineType::Fail, Send, LineValue::send("0", 1)),
            line(2, 1, LineType::Invoke, Poll, LineValue::poll()),
            line(3, 1, LineType::Info, Poll, LineValue::poll()),
            line(4, 2, LineType::Invoke, Send, LineValue::send("0", 2)),
        ];
        let failed = to_jsonl(None, &lines);
        for text in [String::new(), header, failed] {
            let history = crate::history::read(text.as_bytes()).unwrap();
            let r = check(&history, &CheckOptions::default());
            assert_eq!(r.valid, Validity::Unknown, "{text}");
            assert_eq!(r.unknown_reasons.len(), 1, "{text}");
            assert!(
                r.unknown_reasons[0].contains("no client operation"),
                "{:?}",
                r.unknown_reasons
            );
        }
        lines.push(line(5, 3, LineType::Invoke, Send, LineValue::send("0", 3)));
        lines.push(line(
            6,
            3,
            LineType::Ok,
            Send,
            LineValue::sent("0", Some(0), 3),
        ));
        let ok = to_jsonl(None, &lines);
        let history = crate::history::read(ok.as_bytes()).unwrap();
        let r = check(&history, &CheckOptions::default());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.unknown_reasons);
        assert!(r.unknown_reasons.is_empty());
    }

    // Goal: bounding witnesses keeps the first `max` of each type, says which types were
    // cut and their totals, and leaves the verdict alone. Method: 5 findings of one type,
    // 2 of another, bound 3.
    #[test]
    fn bounded_witnesses_say_what_was_cut() {
        let mut findings: Vec<Finding> =
            (0..5).map(|_| finding(AnomalyKind::PhantomRead)).collect();
        findings.extend((0..2).map(|_| finding(AnomalyKind::LostWrite)));
        let mut r = verdict(Guarantees::default(), findings, false, Stats::default());
        r.bound_witnesses(3);
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.anomalies["phantom-read"].len(), 3);
        assert_eq!(r.anomalies["lost-write"].len(), 2);
        assert_eq!(r.stats.counts["phantom-read"], 5);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["truncated"], serde_json::json!({"phantom-read": 5}));
        r.bound_witnesses(10);
        assert!(!serde_json::to_value(&r).unwrap()["truncated"].is_null());
        let untouched = verdict(Guarantees::default(), vec![], false, Stats::default());
        assert!(serde_json::to_value(&untouched)
            .unwrap()
            .get("truncated")
            .is_none());
    }
}
