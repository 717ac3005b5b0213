//! Fault intervals for the plots: the history's nemesis events (HISTORY.md, process
//! `"nemesis"`) paired into start/stop spans so the latency plot can shade the time each
//! fault was active and name it.
//!
//! The pairs are data, not code: `kill` is closed by `start`, `pause` by `resume`, and any
//! `start-X` by `stop-X`. A fault never closed lasts until the end of the history.
//!
//! Planned faults that were not applied (nemesis `not-applied` operations, the value a
//! [`nemesis::NotApplied`]) are counted beside the applied ones, so the page and
//! `junit.xml` say "faults: 7 of 8 planned applied" and why the eighth was not.

use checker::history::model::{Nanos, NemesisEvent};

/// Which function closes a fault opened by another: `(opens, closes)`.
pub const FAULT_PAIRS: [(&str, &str); 2] = [("kill", "start"), ("pause", "resume")];

/// One fault, active from `start` to `end` (nanoseconds on the history's clock).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultInterval {
    /// When it began.
    pub start: Nanos,
    /// When it was healed, or the end of the history.
    pub end: Nanos,
    /// A short name: the fault and its targets, e.g. `partition {"n1":["n2"]}`.
    pub label: String,
    /// The kind of fault (`partition`, `kill`, `pause`, ...), for colours and legends.
    pub kind: String,
    /// Whether the history recorded the fault's end.
    pub closed: bool,
}

/// The history's `f` of a planned fault that was not applied.
pub const NOT_APPLIED_F: &str = "not-applied";

/// One planned fault that was not applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFault {
    /// When the harness gave up on it.
    pub time: Nanos,
    /// Its `--nemesis` word (`kill:leaders`).
    pub fault: String,
    /// Why (`not applied: ...`).
    pub reason: String,
}

/// Planned faults against applied ones, from the history's nemesis operations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultCounts {
    /// Faults started (every opener: `start-partition`, `kill`, `pause`, ...).
    pub applied: usize,
    /// Faults planned but not applied, with the reasons.
    pub skipped: Vec<SkippedFault>,
}

impl FaultCounts {
    /// Applied plus not applied.
    pub fn planned(&self) -> usize {
        self.applied + self.skipped.len()
    }

    /// `faults: 7 of 8 planned applied`.
    pub fn summary(&self) -> String {
        format!(
            "faults: {} of {} planned applied",
            self.applied,
            self.planned()
        )
    }
}

/// Counts the applied and the not-applied faults among `events`.
pub fn counts(events: &[NemesisEvent]) -> FaultCounts {
    let mut out = FaultCounts::default();
    for e in events {
        if e.f == NOT_APPLIED_F {
            let (fault, reason) =
                match serde_json::from_value::<nemesis::NotApplied>(e.value.clone()) {
                    Ok(n) => (n.fault, n.reason),
                    Err(_) => (
                        "?".to_owned(),
                        format!("{}{}", nemesis::NOT_APPLIED, e.value),
                    ),
                };
            out.skipped.push(SkippedFault {
                time: e.time,
                fault,
                reason,
            });
        } else if closer_of(&e.f).is_some() {
            out.applied += 1;
        }
    }
    out
}

/// The function that closes a fault opened by `f`, if `f` opens one.
pub fn closer_of(f: &str) -> Option<String> {
    if let Some((_, close)) = FAULT_PAIRS.iter().find(|(open, _)| *open == f) {
        return Some((*close).to_owned());
    }
    // `start-fault` is a failure record of the harness (a fault that could not start).
    match f.strip_prefix("start-") {
        Some(kind) if kind != "fault" => Some(format!("stop-{kind}")),
        _ => None,
    }
}

fn kind_of(f: &str) -> String {
    f.strip_prefix("start-").unwrap_or(f).to_owned()
}

/// Pairs the nemesis events into intervals; `history_end` closes faults left open.
pub fn intervals(events: &[NemesisEvent], history_end: Nanos) -> Vec<FaultInterval> {
    let mut open: Vec<(String, &NemesisEvent)> = Vec::new();
    let mut done = Vec::new();
    for e in events {
        if let Some(close) = closer_of(&e.f) {
            open.push((close, e));
            continue;
        }
        // A closer ends the oldest open fault it closes: one `heal` record may follow
        // several starts of the same kind, so an unmatched closer is simply ignored.
        if let Some(pos) = open.iter().position(|(close, _)| *close == e.f) {
            let (_, started) = open.remove(pos);
            done.push(interval(started, e.time.max(started.time), true));
        }
    }
    for (_, started) in open {
        done.push(interval(started, history_end.max(started.time), false));
    }
    done.sort_by_key(|i| i.start);
    done
}

fn interval(started: &NemesisEvent, end: Nanos, closed: bool) -> FaultInterval {
    let kind = kind_of(&started.f);
    let names = |items: &[serde_json::Value]| {
        items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(",")
    };
    let target = match &started.value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => names(items),
        // A packet loss or a rolling restart: its nodes, and a loss's probability,
        // `n2 (p 0.2)`, `n3,n1,n2`.
        serde_json::Value::Object(fault) if fault.get("nodes").is_some_and(|n| n.is_array()) => {
            let nodes = fault["nodes"]
                .as_array()
                .map_or_else(String::new, |n| names(n));
            match fault.get("probability") {
                Some(p) => format!("{nodes} (p {p})"),
                None => nodes,
            }
        }
        other => other.to_string(),
    };
    FaultInterval {
        start: started.time,
        end,
        label: if target.is_empty() {
            kind.clone()
        } else {
            format!("{kind} {target}")
        },
        kind,
        closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(time: Nanos, f: &str, value: serde_json::Value) -> NemesisEvent {
        NemesisEvent {
            index: time,
            time,
            f: f.to_owned(),
            value,
            error: None,
        }
    }

    // Goal: partitions, kills and pauses pair with their closers; an open fault runs to the end.
    #[test]
    fn pairs_each_fault_with_its_closer() {
        let events = vec![
            ev(10, "start-partition", json!({"n1": ["n2"]})),
            ev(20, "kill", json!(["n3"])),
            ev(30, "stop-partition", json!(null)),
            ev(40, "start", json!(["n3"])),
            ev(50, "pause", json!(["n1"])),
        ];
        let got = intervals(&events, 100);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].start, got[0].end, got[0].closed), (10, 30, true));
        assert_eq!(got[0].label, r#"partition {"n1":["n2"]}"#);
        let lossy = intervals(
            &[
                ev(
                    1,
                    "start-packet-loss",
                    json!({"nodes": ["n2", "n3"], "probability": 0.2}),
                ),
                ev(5, "stop-packet-loss", json!({"nodes": ["n2", "n3"]})),
            ],
            9,
        );
        assert_eq!(lossy.len(), 1);
        assert_eq!(lossy[0].label, "packet-loss n2,n3 (p 0.2)");
        assert_eq!((lossy[0].kind.as_str(), lossy[0].end), ("packet-loss", 5));
        let roll = intervals(
            &[
                ev(1, "start-restart", json!({"nodes": ["n3", "n1"]})),
                ev(2, "node-stopped", json!(["n3"])),
                ev(6, "stop-restart", json!({"nodes": ["n3", "n1"]})),
            ],
            9,
        );
        assert_eq!(roll.len(), 1, "the roll's own steps open nothing: {roll:?}");
        assert_eq!((roll[0].label.as_str(), roll[0].end), ("restart n3,n1", 6));
        assert_eq!(
            (got[1].start, got[1].end, got[1].label.as_str()),
            (20, 40, "kill n3")
        );
        assert_eq!((got[2].start, got[2].end, got[2].closed), (50, 100, false));
    }

    // Goal: applied faults are the openers, not-applied records are counted with their
    // reasons, closers and heals count for nothing (method: a mixed event list).
    #[test]
    fn counts_applied_and_not_applied() {
        let skipped =
            nemesis::NemesisEvent::not_applied("kill:leaders", "no current leader is known");
        let events = vec![
            ev(10, "start-partition", json!({"n1": ["n2"]})),
            ev(20, "stop-partition", json!(null)),
            ev(30, NOT_APPLIED_F, skipped.value),
            ev(40, "kill", json!(["n3"])),
            ev(50, "start", json!(["n3"])),
        ];
        let c = counts(&events);
        assert_eq!(c.summary(), "faults: 2 of 3 planned applied");
        assert_eq!(c.skipped[0].fault, "kill:leaders");
        assert_eq!(
            c.skipped[0].reason,
            "not applied: no current leader is known"
        );
        assert!(intervals(&events, 60)
            .iter()
            .all(|i| i.kind != NOT_APPLIED_F));
        assert_eq!(counts(&[]).planned(), 0);
    }

    // Goal: a closer with nothing open, and a harness failure record, make no interval.
    #[test]
    fn unmatched_closers_and_failures_are_ignored() {
        let events = vec![
            ev(5, "resume", json!(["n1"])),
            ev(6, "start-fault", json!(null)),
        ];
        assert!(intervals(&events, 10).is_empty());
    }
}
