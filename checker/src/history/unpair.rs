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

/// Where a line comes from: an operation's invoke or completion, or an event.
#[derive(Clone, Copy)]
enum Source {
    Invoke(u32),
    Completion(u32),
    Nemesis(u32),
    Harness(u32),
}

/// Every operation line of `history` (client operations, faults and harness notes) in
/// `index` order, each built when the iterator reaches it (a history of millions of
/// operations is never held twice).
pub fn lines(history: &History) -> impl Iterator<Item = Line> + '_ {
    let mut order: Vec<(u64, Source)> =
        Vec::with_capacity(history.ops.len() * 2 + history.nemesis.len());
    for (i, op) in history.ops.iter().enumerate() {
        let i = i as u32;
        order.push((op.invoke_index, Source::Invoke(i)));
        if let Some(c) = op.complete_index {
            order.push((c, Source::Completion(i)));
        }
    }
    let events = |list: &[NemesisEvent], source: fn(u32) -> Source| {
        list.iter()
            .enumerate()
            .map(move |(i, e)| (e.index, source(i as u32)))
            .collect::<Vec<_>>()
    };
    order.extend(events(&history.nemesis, Source::Nemesis));
    order.extend(events(&history.harness_events, Source::Harness));
    order.sort_unstable_by_key(|(index, _)| *index);
    order.into_iter().map(move |(_, source)| match source {
        Source::Invoke(i) => invoke_line(&history.keys, &history.ops[i as usize]),
        Source::Completion(i) => {
            let op = &history.ops[i as usize];
            completion_line(&history.keys, op).expect("a completion index has a line")
        }
        Source::Nemesis(i) => event_line(&history.nemesis[i as usize], Process::Nemesis),
        Source::Harness(i) => event_line(&history.harness_events[i as usize], Process::Harness),
    })
}

/// The invoke line of `op`, and its completion line unless it was left open.
pub fn op_lines(keys: &KeyTable, op: &Op) -> (Line, Option<Line>) {
    (invoke_line(keys, op), completion_line(keys, op))
}

/// The invoke line of `op`.
pub fn invoke_line(keys: &KeyTable, op: &Op) -> Line {
    Line {
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
    }
}

/// The completion line of `op`, unless it was left open.
pub fn completion_line(keys: &KeyTable, op: &Op) -> Option<Line> {
    op.complete_index.map(|index| Line {
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
    })
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
