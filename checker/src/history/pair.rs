//! Pairing invocations with completions, per process (HISTORY.md, "Operations").
//!
//! A client process has at most one operation outstanding; its next `ok`/`fail`/`info`
//! completes it. After an `info` the process counts as crashed and must never appear
//! again. An invoke still open at the end of the history is `info`. The [`Builder`] also
//! enforces what holds across lines: `index` runs 0, 1, 2, ... and `time` never decreases.

use rustc_hash::FxHashMap;

use super::decode::{self, ClientLine, Common, FieldError, LineType, Process};
use super::error::LineProblem;
use super::model::{
    Function, Header, History, KeyTable, LineIndex, MicroOp, Nanos, NemesisEvent, Op, Outcome,
};
use super::raw::{FastLine, RawLine};

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
    /// Takes one non-blank line: the one-pass fast path when it can, else field by field.
    pub(crate) fn line(&mut self, bytes: &[u8]) -> Result<(), FieldError> {
        if self.seen_any_line {
            if let Ok(fast) = serde_json::from_slice::<FastLine<'_>>(bytes) {
                if let Some(line) = decode::fast_client_line(fast) {
                    return self.client(line);
                }
            }
        }
        self.slow_line(bytes)
    }

    fn slow_line(&mut self, bytes: &[u8]) -> Result<(), FieldError> {
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
        match common.process {
            Process::Nemesis => {
                self.check_order(&common)?;
                self.nemesis.push(NemesisEvent {
                    index: common.index,
                    time: common.time,
                    f: decode::nemesis_f(&raw)?,
                    value: decode::nemesis_value(&raw),
                });
                self.advance(&common);
                Ok(())
            }
            Process::Client(process) => {
                let line = decode::client_line(&raw, common, process)?;
                self.client(line)
            }
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

    fn client(&mut self, line: ClientLine<'_>) -> Result<(), FieldError> {
        self.seen_any_line = true;
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
            LineType::Invoke => self.invoke(line)?,
            _ => self.complete(line)?,
        }
        self.advance(&common);
        Ok(())
    }

    fn invoke(&mut self, mut line: ClientLine<'_>) -> Result<(), FieldError> {
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
        let f = line.f;
        let (mops, assignment) = match f {
            Function::Send | Function::Poll | Function::Txn => {
                (line.mops(false, &mut self.keys)?, None)
            }
            Function::Assign | Function::Subscribe => {
                (Vec::new(), Some(line.assignment(&mut self.keys)?))
            }
            Function::Crash => (Vec::new(), None),
        };
        self.open.insert(process, self.ops.len());
        self.ops.push(Op {
            process,
            f,
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

    fn complete(&mut self, mut line: ClientLine<'_>) -> Result<(), FieldError> {
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
        let completed_mops = if outcome == Outcome::Ok
            && matches!(f, Function::Send | Function::Poll | Function::Txn)
        {
            let mops = line.mops(true, &mut self.keys)?;
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

    fn build(text: &str, fast: bool) -> Result<History, FieldError> {
        let mut b = Builder::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if fast {
                b.line(line.as_bytes())?;
            } else {
                b.slow_line(line.as_bytes())?;
            }
        }
        Ok(b.finish())
    }

    fn same(a: &History, b: &History) {
        assert_eq!(a.ops, b.ops);
        assert_eq!(a.nemesis, b.nemesis);
        assert_eq!(a.line_count, b.line_count);
        let names = |h: &History| {
            h.keys
                .ids()
                .map(|k| h.keys.name(k).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(a), names(b));
    }

    // Goal: the one-pass fast path reads exactly what the field-by-field path reads.
    // Method: both paths over every corpus history and a synthetic one with every shape.
    #[test]
    fn fast_and_field_by_field_paths_agree() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../histories/corpus");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
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
            same(&build(text, true).unwrap(), &build(text, false).unwrap());
        }
    }
}
