//! Reads from the future: a poll that returned a value whose send was invoked only after
//! the poll had completed. No log, however its records were duplicated, holds a record
//! before anyone asked to append it, so such a history is `nonlinearizable` whatever the
//! header promises about duplicates.
//!
//! Both engines already see the common case (a value read at the offset its send
//! occupies: the real-time edge closes a cycle). What they cannot see is a value read at
//! another offset: that record is a duplicate (a producer retry without KIP-98
//! idempotence), which the engines model as a record appended by nobody at an unknown
//! time. This check covers exactly those records, for both engines alike, so a duplicate
//! that was not promised away still cannot come from the future. A read of a value whose
//! send `fail`ed, or that was never sent, is `aborted-read` / `phantom-read` instead.

use rustc_hash::{FxHashMap, FxHashSet};

use super::resolve::KeyHistory;
use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{History, LineIndex, Offset, Value};

/// At most this many reads from the future are reported per key; one proves the violation.
const FINDINGS_PER_KEY_MAX: usize = 16;

/// The value each send occupies at each offset, for the cheap "is this record a send's
/// own" test every polled record goes through.
struct Placed {
    base: Offset,
    dense: Vec<Option<Value>>,
    /// Offsets outside the dense range, and every further value claiming an offset.
    other: FxHashSet<(Offset, Value)>,
}

impl Placed {
    fn new(key: &KeyHistory<'_>) -> Placed {
        let low = key.sends.iter().map(|s| s.offset).min().unwrap_or(0);
        let high = key.sends.iter().map(|s| s.offset).max().unwrap_or(-1);
        let span = i128::from(high) - i128::from(low) + 1;
        let dense_len = if low <= high && span <= (key.sends.len() as i128) * 4 + 1024 {
            span as usize
        } else {
            0
        };
        let mut placed = Placed {
            base: low,
            dense: vec![None; dense_len],
            other: FxHashSet::default(),
        };
        for s in &key.sends {
            match placed.slot(s.offset) {
                Some(i) if placed.dense[i].is_none() => placed.dense[i] = Some(s.value),
                _ => {
                    placed.other.insert((s.offset, s.value));
                }
            }
        }
        placed
    }

    fn slot(&self, offset: Offset) -> Option<usize> {
        let i = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        (i < self.dense.len()).then_some(i)
    }

    /// Whether some send occupies `offset` with `value`.
    fn holds(&self, offset: Offset, value: Value) -> bool {
        self.slot(offset)
            .is_some_and(|i| self.dense[i] == Some(value))
            || self.other.contains(&(offset, value))
    }
}

/// Every poll of `key` that read, at an offset its send does not occupy, a value whose
/// send was invoked after the poll completed.
pub fn check_key(history: &History, key: &KeyHistory<'_>) -> Vec<Finding> {
    let placed = Placed::new(key);
    // value -> (invoke line, offset, op) of its send; built on the first duplicate seen.
    let mut sends: Option<FxHashMap<Value, (LineIndex, Offset, usize)>> = None;
    let mut out = Vec::new();
    for poll in &key.polls {
        let Some(ret) = poll.ret else { continue };
        for &(offset, value) in poll.reads {
            if placed.holds(offset, value) {
                continue;
            }
            let sends = sends.get_or_insert_with(|| {
                key.sends
                    .iter()
                    .map(|s| (s.value, (s.call, s.offset, s.op)))
                    .collect()
            });
            let Some(&(call, sent_at, send_op)) = sends.get(&value) else {
                continue;
            };
            if call <= ret {
                continue;
            }
            let name = history.keys.name(key.key).to_owned();
            let mut ops = history.ops[poll.op].witness();
            ops.extend(history.ops[send_op].witness());
            ops.sort_unstable();
            ops.dedup();
            let mut finding = Finding::new(
                AnomalyKind::Nonlinearizable,
                ops,
                format!(
                    "key {name}: the poll completed at index {ret} read value {value} at offset {offset}, but the send of {value} (placed at offset {sent_at}) was only invoked at index {call}: a record cannot be read before its send began"
                ),
            );
            finding.key = Some(name);
            finding.offset = Some(offset);
            finding.value = Some(value);
            finding.details = serde_json::json!({"engine": "future-read"});
            out.push(finding);
            if out.len() >= FINDINGS_PER_KEY_MAX {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::anomalies::testing::Script;
    use crate::check::{check, CheckOptions, Validity};
    use crate::linear::{Engine, LinearOptions};

    /// The verdict and anomaly names of `script` under both engines (which must agree).
    fn verdicts(script: &Script) -> Vec<(Validity, Vec<&'static str>)> {
        let history = script.build();
        [Engine::Graph, Engine::Search, Engine::Both]
            .into_iter()
            .map(|engine| {
                let options = CheckOptions {
                    linear: LinearOptions {
                        engine,
                        ..LinearOptions::default()
                    },
                };
                let r = check(&history, &options);
                assert!(r.engine_disagreements.is_empty(), "{engine:?}");
                (r.valid, r.anomaly_types.iter().map(|k| k.name()).collect())
            })
            .collect()
    }

    // Goal: a duplicate read before its send began is nonlinearizable even when duplicates
    // are not promised away. Method: the poll of value 17 at offset 0 completes before the
    // send of 17 (acked at 1) is invoked; the twin invokes the send before the poll ends.
    #[test]
    fn a_duplicate_read_before_its_send_began_is_nonlinearizable() {
        let header = r#"{"format": "samsa-history/1", "guarantees": {"no_duplicates": false}}"#;
        let mut s = Script::default();
        s.push_header(header)
            .send(0, "0", 16, 0)
            .poll(1, "0", &[(0, 16), (1, 17)]);
        s.send(0, "0", 17, 2);
        for (valid, types) in verdicts(&s) {
            assert_eq!(valid, Validity::Invalid, "{types:?}");
            assert!(types.contains(&"nonlinearizable"), "{types:?}");
        }

        let mut twin = Script::default();
        twin.push_header(header)
            .send(0, "0", 16, 0)
            .send_invoke(0, "0", 17);
        twin.poll(1, "0", &[(0, 16), (1, 17)]);
        twin.send_ok(0, "0", 17, Some(2));
        for (valid, types) in verdicts(&twin) {
            assert_eq!(valid, Validity::Valid, "{types:?}");
            assert!(!types.contains(&"nonlinearizable"), "{types:?}");
        }
    }
}
