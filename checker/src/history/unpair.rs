//! A paired [`History`] back to its lines ([`Line`]): the inverse of the reader, for
//! whoever writes a history that exists only in memory (synthetic histories, tests, a
//! re-encoded history) and for checking that reading loses nothing.
//!
//! A completion that did not end `ok` repeats its invoke's value, as the recorder writes
//! it; an `assign`/`subscribe` completion repeats the assignment; `crash` has `null`.

use super::line::{AssignValue, HeaderLine, Line, LineFunction, LineType, LineValue, Mop, Process};
use super::model::{Function, History, KeyTable, MicroOp, NemesisEvent, Op, Outcome};

/// The header line of `history`, if it has one.
pub fn header_line(history: &History) -> Option<HeaderLine> {
    history.header.as_ref().map(HeaderLine::from)
}

/// Every operation line of `history` (client operations, faults and harness notes) in
/// `index` order.
pub fn lines(history: &History) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::with_capacity(history.ops.len() * 2 + history.nemesis.len());
    for op in &history.ops {
        let (invoke, completion) = op_lines(&history.keys, op);
        out.push(invoke);
        out.extend(completion);
    }
    out.extend(
        history
            .nemesis
            .iter()
            .map(|e| event_line(e, Process::Nemesis)),
    );
    out.extend(
        history
            .harness_events
            .iter()
            .map(|e| event_line(e, Process::Harness)),
    );
    out.sort_by_key(|l| l.index);
    out
}

/// The invoke line of `op`, and its completion line unless it was left open.
pub fn op_lines(keys: &KeyTable, op: &Op) -> (Line, Option<Line>) {
    let invoke = Line {
        index: op.invoke_index,
        time: op.invoke_time,
        wall: None,
        process: Process::Client(op.process),
        kind: LineType::Invoke,
        f: LineFunction::Client(op.f),
        value: value_of(keys, op, false),
        error: None,
        producer: None,
        is_final: op.is_final,
    };
    let completion = op.complete_index.map(|index| Line {
        index,
        time: op.complete_time.unwrap_or(op.invoke_time),
        wall: None,
        process: Process::Client(op.process),
        kind: LineType::from(op.outcome),
        f: LineFunction::Client(op.f),
        value: value_of(keys, op, op.outcome == Outcome::Ok),
        error: op.error.clone(),
        producer: op.producer,
        is_final: op.is_final,
    });
    (invoke, completion)
}

/// The line of a fault or harness event.
pub fn event_line(e: &NemesisEvent, process: Process) -> Line {
    Line {
        index: e.index,
        time: e.time,
        wall: None,
        process,
        kind: LineType::Info,
        f: LineFunction::Event(e.f.clone()),
        value: LineValue::Other(e.value.clone()),
        error: e.error.clone(),
        producer: None,
        is_final: false,
    }
}

fn value_of(keys: &KeyTable, op: &Op, completed_ok: bool) -> LineValue {
    if let Some(a) = &op.assignment {
        return LineValue::Assignment(AssignValue {
            keys: a.keys.iter().map(|k| keys.name(*k).to_owned()).collect(),
            seek_to_beginning: a.seek_to_beginning,
            end_offsets: (!a.end_offsets.is_empty()).then(|| {
                a.end_offsets
                    .iter()
                    .map(|(k, o)| (keys.name(*k).to_owned(), *o))
                    .collect()
            }),
        });
    }
    if op.f == Function::Crash || !op.f.has_mops() {
        return LineValue::null();
    }
    LineValue::Mops(
        op.mops
            .iter()
            .map(|m| match m {
                MicroOp::Send { key, value, offset } if completed_ok => Mop::Sent {
                    key: keys.name(*key).to_owned(),
                    offset: *offset,
                    value: *value,
                },
                MicroOp::Send { key, value, .. } => Mop::Send {
                    key: keys.name(*key).to_owned(),
                    value: *value,
                },
                MicroOp::Poll { reads } if completed_ok => Mop::Polled {
                    reads: reads
                        .iter()
                        .map(|r| (keys.name(r.key).to_owned(), r.records.clone()))
                        .collect(),
                },
                MicroOp::Poll { .. } => Mop::Poll,
            })
            .collect(),
    )
}
