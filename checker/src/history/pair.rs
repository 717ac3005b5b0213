//! Pairing invocations with completions, per process (HISTORY.md, "Operations").
//!
//! A client process has at most one operation outstanding; its next `ok`/`fail`/`info`
//! completes it. After an `info` the process counts as crashed and must never appear
//! again. An invoke still open at the end of the history is `info`. The [`Builder`] also
//! enforces what holds across lines: `index` runs 0, 1, 2, ... and `time` never decreases.

use rustc_hash::FxHashMap;

use super::decode::{self, FieldError, LineType, Process};
use super::error::LineProblem;
use super::model::{
    Function, Header, History, KeyTable, LineIndex, MicroOp, Nanos, NemesisEvent, Op, Outcome,
};
use super::raw::RawLine;

/// Accumulates a [`History`] line by line.
#[derive(Default)]
pub(crate) struct Builder {
    header: Option<Header>,
    keys: KeyTable,
    ops: Vec<Op>,
    nemesis: Vec<NemesisEvent>,
    /// process -> position in `ops` of its outstanding invoke.
    open: FxHashMap<u64, usize>,
    /// process -> index of the `info` that ended it.
    crashed: FxHashMap<u64, LineIndex>,
    next_index: LineIndex,
    last_time: Nanos,
    seen_any_line: bool,
}

impl Builder {
    /// Takes one non-blank line.
    pub(crate) fn line(&mut self, bytes: &[u8]) -> Result<(), FieldError> {
        let raw: RawLine<'_> = serde_json::from_slice(bytes)
            .map_err(|e| (None, LineProblem::BadJson(e.to_string())))?;
        let first = !self.seen_any_line;
        self.seen_any_line = true;
        if raw.format.is_some() {
            if !first {
                return Err((Some("format"), LineProblem::LateHeader));
            }
            self.header = Some(decode::header(bytes)?);
            return Ok(());
        }
        let common = decode::common(&raw)?;
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
        match common.process {
            Process::Nemesis => self.nemesis.push(NemesisEvent {
                index: common.index,
                time: common.time,
                f: decode::nemesis_f(&raw)?,
                value: decode::nemesis_value(&raw),
            }),
            Process::Client(process) => {
                if let Some(&info_index) = self.crashed.get(&process) {
                    return Err((
                        Some("process"),
                        LineProblem::AfterCrash {
                            process,
                            info_index,
                        },
                    ));
                }
                match common.line_type {
                    LineType::Invoke => self.invoke(&raw, process, common.index, common.time)?,
                    done => self.complete(&raw, process, done, common.index, common.time)?,
                }
            }
        }
        self.next_index += 1;
        self.last_time = common.time;
        Ok(())
    }

    fn invoke(
        &mut self,
        raw: &RawLine<'_>,
        process: u64,
        index: LineIndex,
        time: Nanos,
    ) -> Result<(), FieldError> {
        if let Some(&pos) = self.open.get(&process) {
            return Err((
                Some("process"),
                LineProblem::SecondInvoke {
                    process,
                    open_index: self.ops[pos].invoke_index,
                },
            ));
        }
        let f = decode::function(raw)?;
        let (mops, assignment) = match f {
            Function::Send | Function::Poll | Function::Txn => {
                (decode::mops(raw, f, false, &mut self.keys)?, None)
            }
            Function::Assign | Function::Subscribe => {
                (Vec::new(), Some(decode::assignment(raw, &mut self.keys)?))
            }
            Function::Crash => (Vec::new(), None),
        };
        self.open.insert(process, self.ops.len());
        self.ops.push(Op {
            process,
            f,
            outcome: Outcome::Info,
            invoke_index: index,
            complete_index: None,
            invoke_time: time,
            complete_time: None,
            mops,
            assignment,
            producer: decode::producer(raw)?,
            error: None,
            is_final: decode::is_final(raw)?,
        });
        Ok(())
    }

    fn complete(
        &mut self,
        raw: &RawLine<'_>,
        process: u64,
        line_type: LineType,
        index: LineIndex,
        time: Nanos,
    ) -> Result<(), FieldError> {
        let Some(&pos) = self.open.get(&process) else {
            return Err((
                Some("process"),
                LineProblem::CompletionWithoutInvoke { process },
            ));
        };
        let f = decode::function(raw)?;
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
        let outcome = match line_type {
            LineType::Ok => Outcome::Ok,
            LineType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        let completed_mops = if outcome == Outcome::Ok
            && matches!(f, Function::Send | Function::Poll | Function::Txn)
        {
            let mops = decode::mops(raw, f, true, &mut self.keys)?;
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
        } else {
            None
        };
        let producer = decode::producer(raw)?;
        let is_final = decode::is_final(raw)?;
        let op = &mut self.ops[pos];
        if let Some(mops) = completed_mops {
            op.mops = mops;
        }
        op.outcome = outcome;
        op.complete_index = Some(index);
        op.complete_time = Some(time);
        op.producer = producer.or(op.producer);
        op.error = decode::error_text(raw);
        op.is_final |= is_final;
        self.open.remove(&process);
        if outcome == Outcome::Info {
            self.crashed.insert(process, index);
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
