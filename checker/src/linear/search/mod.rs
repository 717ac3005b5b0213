//! The search engine: Wing & Gong / Lowe linearizability search over a sequential model,
//! the general cross-check of the graph engine (as Knossos and Porcupine do it).
//!
//! Per key (P-compositionality), after indeterminate sends are resolved
//! ([`crate::linear::resolve`]), the key's calls are searched under the append-only log
//! model; a failure is shrunk to a minimal failing sub-history, the witness.

pub mod log_model;
pub mod model;
pub mod register;
pub mod shrink;
pub mod wgl;

use std::time::{Duration, Instant};

use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{History, LineIndex};

use super::resolve::KeyHistory;
use log_model::LogModel;
use wgl::{search, SearchResult};

/// Shrinking a witness gets at most this long (it never changes the verdict).
const SHRINK_TIME_MAX: Duration = Duration::from_secs(10);

/// What the search concluded for one key.
#[derive(Debug, Clone)]
pub enum KeyVerdict {
    /// A valid order exists.
    Linearizable,
    /// None exists; the finding carries a failing sub-history.
    Nonlinearizable(Box<Finding>),
    /// The deadline passed first.
    Unknown,
}

/// Searches one key, giving up at `deadline`.
pub fn check_key(history: &History, key: &KeyHistory<'_>, deadline: Instant) -> KeyVerdict {
    let name = history.keys.name(key.key).to_owned();
    let part = LogModel::for_key(name.clone(), key, |_| true);
    match search(&part.model, &part.calls, deadline) {
        SearchResult::Linearizable => KeyVerdict::Linearizable,
        SearchResult::Unknown => KeyVerdict::Unknown,
        SearchResult::Nonlinearizable => {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let shrink_deadline = Instant::now() + remaining.min(SHRINK_TIME_MAX);
            let (units, minimal) = shrink::shrink(key, shrink_deadline);
            KeyVerdict::Nonlinearizable(Box::new(witness(history, key, name, &units, minimal)))
        }
    }
}

fn witness(
    history: &History,
    key: &KeyHistory<'_>,
    name: String,
    units: &[usize],
    minimal: bool,
) -> Finding {
    let mut ops: Vec<LineIndex> = Vec::new();
    let mut described = Vec::new();
    for &u in units {
        let (op, text) = if let Some(s) = key.sends.get(u) {
            let ret = s.ret.map_or("never".to_owned(), |r| r.to_string());
            (
                s.op,
                format!(
                    "send of {} at offset {} (index {} to {ret})",
                    s.value, s.offset, s.call
                ),
            )
        } else {
            let p = key.polls[u - key.sends.len()];
            let reads: Vec<String> = p.reads.iter().map(|(o, v)| format!("{v}@{o}")).collect();
            let ret = p.ret.map_or("never".to_owned(), |r| r.to_string());
            (
                p.op,
                format!("poll of [{}] (index {} to {ret})", reads.join(", "), p.call),
            )
        };
        ops.extend(history.ops[op].witness());
        described.push(text);
    }
    ops.sort_unstable();
    ops.dedup();
    let qualifier = if minimal {
        "minimal"
    } else {
        "(not fully shrunk)"
    };
    let mut finding = Finding::new(
        AnomalyKind::Nonlinearizable,
        ops,
        format!(
            "key {name}: no order of these {} operations, consistent with real time, explains \
             them as one append-only log ({qualifier} failing sub-history): {}",
            units.len(),
            described.join("; ")
        ),
    );
    finding.key = Some(name);
    finding.details = serde_json::json!({
        "engine": "search",
        "sub_history": described,
        "minimal": minimal,
    });
    finding
}
