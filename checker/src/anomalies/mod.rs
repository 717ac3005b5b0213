//! The anomaly detectors of HISTORY.md, one per file, over a shared [`index::Index`].
//!
//! Each detector is a function `detect(&Context) -> Vec<Finding>`; [`DETECTORS`] is the
//! single list the verdict runs. Linearizability is not here: it lives in `crate::linear`.

pub mod aborted_read;
pub mod consumer;
pub mod duplicate;
pub mod inconsistent_offsets;
pub mod index;
pub mod int_nonmonotonic_poll;
pub mod int_nonmonotonic_send;
pub mod int_poll_skip;
pub mod int_send_skip;
pub mod lost_write;
pub mod nonmonotonic_poll;
pub mod nonmonotonic_send;
pub mod phantom_read;
pub mod poll_skip;
pub mod txn_sends;
pub mod unseen;

#[cfg(test)]
pub(crate) mod testing;

use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{History, KeyId, LineIndex, Offset, Value};
use consumer::Step;
use index::{Index, OpPos};

/// What every detector reads: the history, its index, and the consumers' irregular steps
/// (every step that is not from offset `o` to `o + 1`), walked once for all detectors.
pub struct Context<'a> {
    /// The history being checked.
    pub history: &'a History,
    /// Its per-key index.
    pub index: &'a Index,
    /// Consumer steps that skip forward, go backwards or start from the beginning.
    pub irregular_steps: Vec<Step>,
    /// The sends proven lost, computed on first use (lost-write and unseen both need it).
    losses: std::cell::OnceCell<Vec<lost_write::Loss>>,
}

impl<'a> Context<'a> {
    /// Prepares the shared inputs of the detectors.
    pub fn new(history: &'a History, index: &'a Index) -> Context<'a> {
        let mut irregular_steps = Vec::new();
        consumer::walk(history, |step| {
            let regular = match step {
                Step::Within { from, to, .. } | Step::Between { from, to, .. } => {
                    from.checked_add(1) == Some(to)
                }
                Step::FromBeginning { .. } => false,
            };
            if !regular {
                irregular_steps.push(step);
            }
        });
        Context {
            history,
            index,
            irregular_steps,
            losses: std::cell::OnceCell::new(),
        }
    }

    /// The history line that names an operation in a witness: its completion if it has
    /// one (the line holding the result), else its invoke.
    pub fn line(&self, op: OpPos) -> LineIndex {
        let op = &self.history.ops[op as usize];
        op.complete_index.unwrap_or(op.invoke_index)
    }

    /// A key's name.
    pub fn key_name(&self, key: KeyId) -> &str {
        self.history.keys.name(key)
    }

    /// A finding about `key` (and optionally a value and offset), witnessed by `ops`.
    pub fn finding(
        &self,
        kind: AnomalyKind,
        key: KeyId,
        value: Option<Value>,
        offset: Option<Offset>,
        ops: &[OpPos],
        explanation: String,
    ) -> Finding {
        let mut lines: Vec<LineIndex> = ops.iter().map(|&o| self.line(o)).collect();
        lines.dedup();
        Finding {
            key: Some(self.key_name(key).to_owned()),
            value,
            offset,
            ..Finding::new(kind, lines, explanation)
        }
    }
}

/// A detector: one anomaly kind (or, for lost-write and unseen, two) found in a context.
pub type Detector = fn(&Context<'_>) -> Vec<Finding>;

/// Every detector, in report order.
pub const DETECTORS: &[Detector] = &[
    lost_write::detect,
    unseen::detect,
    duplicate::detect,
    inconsistent_offsets::detect,
    aborted_read::detect,
    phantom_read::detect,
    nonmonotonic_send::detect,
    poll_skip::detect,
    nonmonotonic_poll::detect,
    int_poll_skip::detect,
    int_nonmonotonic_poll::detect,
    int_send_skip::detect,
    int_nonmonotonic_send::detect,
];

/// Runs every detector.
pub fn detect_all(history: &History, index: &Index) -> Vec<Finding> {
    let ctx = Context::new(history, index);
    DETECTORS.iter().flat_map(|d| d(&ctx)).collect()
}
