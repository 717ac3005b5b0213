//! Pairing invocations with completions, per process (HISTORY.md, "Operations").
//!
//! A client process has at most one operation outstanding; its next `ok`/`fail`/`info`
//! completes it. After an `info` the process counts as crashed and must never appear
//! again. An invoke still open at the end of the history is `info`. The [`Builder`] also
//! enforces what holds across lines: `index` runs 0, 1, 2, ... and `time` never decreases.

use rustc_hash::FxHashMap;

use super::decode::{ClientOp, Common, Decoded, EventSource, FieldError, LineType, Payload};
use super::error::LineProblem;
use super::model::{
    Assignment, Header, History, KeyId, KeyTable, LineIndex, MicroOp, Nanos, NemesisEvent, Op,
    Outcome,
};

/// The keys one decoding thread interned for a run of lines, and which of them the
/// history has interned so far. A key becomes the history's only when the builder takes a
/// line that uses it, so the history's keys stay in order of first appearance, exactly as
/// when every line is decoded and taken in turn.
///
/// The thread's table may start as a copy of the history's (its first `known` ids are the
/// history's own): then a run of lines that brings no new key needs no mapping at all.
#[derive(Default)]
pub(crate) struct LocalKeys {
    /// The decoding thread's table.
    pub table: KeyTable,
    /// How many of its first ids are the history's ids too.
    known: usize,
    /// Local id -> the history's id, once known (for ids from `known` on).
    global: Vec<Option<KeyId>>,
}

impl LocalKeys {
    /// Takes the table another thread decoded a run of lines with; its first `known` ids
    /// must be the history's.
    pub(crate) fn reset(&mut self, table: KeyTable, known: usize) {
        self.table = table;
        self.known = known;
        self.global.clear();
    }

    /// Whether some id of the table is not the history's id.
    fn maps(&self) -> bool {
        self.table.len() > self.known
    }

    fn global(&mut self, local: KeyId, keys: &mut KeyTable) -> KeyId {
        let i = local.0 as usize;
        if i < self.known {
            return local;
        }
        if self.global.len() <= i {
            self.global.resize(i + 1, None);
        }
        let table = &self.table;
        *self.global[i].get_or_insert_with(|| keys.intern(table.name(local)))
    }

    fn mops(&mut self, mops: &mut [MicroOp], keys: &mut KeyTable) {
        if !self.maps() {
            return;
        }
        for mop in mops {
            match mop {
                MicroOp::Send { key, .. } => *key = self.global(*key, keys),
                MicroOp::Poll { reads } => {
                    for read in reads {
                        read.key = self.global(read.key, keys);
                    }
                }
            }
        }
    }

    fn assignment(&mut self, assignment: &mut Assignment, keys: &mut KeyTable) {
        for key in &mut assignment.keys {
            *key = self.global(*key, keys);
        }
    }
}

/// Accumulates a [`History`] from decoded lines taken in file order.
#[derive(Default)]
pub(crate) struct Builder {
    header: Option<Header>,
    keys: KeyTable,
    ops: Vec<Op>,
    nemesis: Vec<NemesisEvent>,
    harness_events: Vec<NemesisEvent>,
    /// process -> position in `ops` of its outstanding invoke.
    open: FxHashMap<u64, usize>,
    /// process -> index of the `info` that ended it.
    crashed: FxHashMap<u64, LineIndex>,
    next_index: LineIndex,
    last_time: Nanos,
}

impl Builder {
    /// The keys interned so far (decoding threads start from a copy).
    pub(crate) fn keys(&self) -> &KeyTable {
        &self.keys
    }

    /// Takes one decoded line, the next in file order; `local` holds the keys of the
    /// thread that decoded it.
    pub(crate) fn take(
        &mut self,
        decoded: Decoded,
        local: &mut LocalKeys,
    ) -> Result<(), FieldError> {
        match decoded {
            Decoded::Blank => Ok(()),
            Decoded::Error(e) => Err(e),
            Decoded::Header(header) => {
                self.header = Some(header);
                Ok(())
            }
            Decoded::Event {
                common,
                source,
                f,
                value,
                error,
            } => {
                self.check_order(&common)?;
                let events = match source {
                    EventSource::Nemesis => &mut self.nemesis,
                    EventSource::Harness => &mut self.harness_events,
                };
                events.push(NemesisEvent {
                    index: common.index,
                    time: common.time,
                    f: f?,
                    value,
                    error,
                });
                self.advance(&common);
                Ok(())
            }
            Decoded::Client(op) => self.client(op, local),
        }
    }

    /// `index` must be the next integer and `time` must not decrease.
    fn check_order(&self, common: &Common) -> Result<(), FieldError> {
        if common.index != self.next_index {
            return Err((
                Some("index"),
                LineProblem::IndexOutOfOrder {
                    expected: self.next_index,
                    found: common.index,
                },
            ));
        }
        if common.time < self.last_time {
            return Err((
                Some("time"),
                LineProblem::TimeBackwards {
                    previous: self.last_time,
                    found: common.time,
                },
            ));
        }
        Ok(())
    }

    fn advance(&mut self, common: &Common) {
        self.next_index += 1;
        self.last_time = common.time;
    }

    fn client(&mut self, line: ClientOp, local: &mut LocalKeys) -> Result<(), FieldError> {
        self.check_order(&line.common)?;
        let process = line.process;
        if let Some(&info_index) = self.crashed.get(&process) {
            return Err((
                Some("process"),
                LineProblem::AfterCrash {
                    process,
                    info_index,
                },
            ));
        }
        let common = Common { ..line.common };
        match line.common.line_type {
            LineType::Invoke => self.invoke(line, local)?,
            _ => self.complete(line, local)?,
        }
        self.advance(&common);
        Ok(())
    }

    fn invoke(&mut self, line: ClientOp, local: &mut LocalKeys) -> Result<(), FieldError> {
        let process = line.process;
        if let Some(&pos) = self.open.get(&process) {
            return Err((
                Some("process"),
                LineProblem::SecondInvoke {
                    process,
                    open_index: self.ops[pos].invoke_index,
                },
            ));
        }
        let (mops, assignment) = match line.payload {
            Payload::Mops(mops) => {
                let mut mops = mops?;
                local.mops(&mut mops, &mut self.keys);
                (mops, None)
            }
            Payload::Assignment(assignment) => {
                let mut assignment = assignment?;
                local.assignment(&mut assignment, &mut self.keys);
                (Vec::new(), Some(Box::new(assignment)))
            }
            Payload::None => (Vec::new(), None),
        };
        self.open.insert(process, self.ops.len());
        self.ops.push(Op {
            process,
            f: line.f,
            outcome: Outcome::Info,
            invoke_index: line.common.index,
            complete_index: None,
            invoke_time: line.common.time,
            complete_time: None,
            mops,
            assignment,
            producer: line.producer,
            error: None,
            is_final: line.is_final,
        });
        Ok(())
    }

    fn complete(&mut self, line: ClientOp, local: &mut LocalKeys) -> Result<(), FieldError> {
        let process = line.process;
        let Some(&pos) = self.open.get(&process) else {
            return Err((
                Some("process"),
                LineProblem::CompletionWithoutInvoke { process },
            ));
        };
        let f = line.f;
        let invoke_index = self.ops[pos].invoke_index;
        if f != self.ops[pos].f {
            return Err((
                Some("f"),
                LineProblem::Mismatch {
                    invoke_index,
                    detail: format!("f {:?} completes an invoke of {:?}", f, self.ops[pos].f),
                },
            ));
        }
        let outcome = match line.common.line_type {
            LineType::Ok => Outcome::Ok,
            LineType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        // The decoder read the value of exactly the `ok` completions of send, poll and txn.
        let completed_mops = match line.payload {
            Payload::Mops(mops) => {
                let mut mops = mops?;
                local.mops(&mut mops, &mut self.keys);
                check_same_intent(&self.ops[pos].mops, &mops).map_err(|detail| {
                    (
                        Some("value"),
                        LineProblem::Mismatch {
                            invoke_index,
                            detail,
                        },
                    )
                })?;
                Some(mops)
            }
            Payload::Assignment(_) | Payload::None => None,
        };
        let op = &mut self.ops[pos];
        if let Some(mops) = completed_mops {
            op.mops = mops;
        }
        op.outcome = outcome;
        op.complete_index = Some(line.common.index);
        op.complete_time = Some(line.common.time);
        op.producer = line.producer.or(op.producer);
        op.error = line.error;
        op.is_final |= line.is_final;
        self.open.remove(&process);
        if outcome == Outcome::Info {
            self.crashed.insert(process, line.common.index);
        }
        Ok(())
    }

    /// The finished history: invokes still open stay `info` with no completion.
    pub(crate) fn finish(self) -> History {
        History {
            header: self.header,
            keys: self.keys,
            ops: self.ops,
            nemesis: self.nemesis,
            harness_events: self.harness_events,
            line_count: self.next_index,
        }
    }
}

/// An `ok` completion must report on the micro-operations its invoke asked for: the same
/// number, the same kinds, and each send with its key and value.
fn check_same_intent(invoked: &[MicroOp], completed: &[MicroOp]) -> Result<(), String> {
    if invoked.len() != completed.len() {
        return Err(format!(
            "{} micro-operations invoked, {} completed",
            invoked.len(),
            completed.len()
        ));
    }
    for (i, (a, b)) in invoked.iter().zip(completed).enumerate() {
        match (a, b) {
            (
                MicroOp::Send { key, value, .. },
                MicroOp::Send {
                    key: k2, value: v2, ..
                },
            ) if key != k2 || value != v2 => {
                return Err(format!(
                    "micro-operation {i}: send of value {value} completed as value {v2} (or another key)"
                ))
            }
            (MicroOp::Send { .. }, MicroOp::Send { .. })
            | (MicroOp::Poll { .. }, MicroOp::Poll { .. }) => {}
            _ => return Err(format!("micro-operation {i} changed kind")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str, fast: bool) -> Result<History, super::super::HistoryError> {
        super::super::parse::read_line_by_line(text.as_bytes(), fast)
    }

    // Goal: the one-pass fast path reads exactly what the field-by-field path reads.
    // Method: both paths over every corpus history and a synthetic one with every shape.
    #[test]
    fn fast_and_field_by_field_paths_agree() {
        let mut texts = super::super::parse::tests::corpus_texts();
        let mut synth = Vec::new();
        let options = crate::synth::SynthOptions {
            ops: 2_000,
            ..Default::default()
        };
        crate::synth::write_history(&options, &mut synth).unwrap();
        texts.push(String::from_utf8(synth).unwrap());
        texts.push(
            [
                r#"{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "send", "value": [["send", "k\"1", 5]], "wall": "x"}"#,
                r#"{"index": 1, "time": 2, "process": 0, "type": "info", "f": "send", "value": null, "error": {"code": 7}}"#,
                r#"{"index": 2, "time": 3, "process": 1, "type": "invoke", "f": "crash", "value": [1, 2]}"#,
            ]
            .join("\n"),
        );
        assert!(texts.len() > 20);
        for text in &texts {
            super::super::parse::tests::assert_same(
                &build(text, true).unwrap(),
                &build(text, false).unwrap(),
            );
        }
    }
}
