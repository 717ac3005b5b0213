//! Projects a history onto one key (one partition log) and resolves indeterminate sends
//! before either linearizability engine looks at it.
//!
//! Linearizability is P-compositional (Herlihy & Wing): a history is linearizable iff the
//! sub-history of every object is, so each key is checked alone. Before that, every send
//! whose fate is unknown is settled here, once, for both engines (HISTORY.md, "Operations"):
//!
//! - a `fail` send did not happen: dropped (if a poll read its value anyway, that record
//!   stays in the log as one no operation explains; `aborted-read` is another detector's);
//! - an `ok` send with an offset appended at that offset within its interval;
//! - an `ok` send without an offset, or an `info`/open send, that some poll read did happen,
//!   at the (smallest) offset it was read at; an `info` send may take effect any time after
//!   its invoke, so its interval never closes;
//! - one that nobody read is dropped: it constrains nothing an engine can see (the log's
//!   offsets are ordered, not dense), and keeping it is what makes Porcupine-style searches
//!   explode (8 unread indeterminate appends in one key exhaust its memory).
//!
//! Transactions (`txn`) are not projected yet: their anomalies are the G0..G2 cycles.

use rustc_hash::FxHashMap;

use crate::history::model::{Function, History, KeyId, LineIndex, MicroOp, Offset, Outcome, Value};

/// A send that certainly or provably happened, with the offset it occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySend {
    /// Position of the operation in `History::ops`.
    pub op: usize,
    /// The client process that ran it.
    pub process: u64,
    /// `index` of its invoke line.
    pub call: LineIndex,
    /// `index` of its completion line; `None` when it may take effect arbitrarily late.
    pub ret: Option<LineIndex>,
    /// The offset it occupies (acknowledged, or where a poll read it).
    pub offset: Offset,
    /// The value it wrote.
    pub value: Value,
}

/// What one `ok` poll returned for this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPoll<'h> {
    /// Position of the operation in `History::ops`.
    pub op: usize,
    /// The client process that ran it.
    pub process: u64,
    /// `index` of its invoke line.
    pub call: LineIndex,
    /// `index` of its completion line (an `ok` poll always has one).
    pub ret: Option<LineIndex>,
    /// The `(offset, value)` records returned for this key, in the order returned.
    pub reads: &'h [(Offset, Value)],
}

/// One key's operations, ready for an engine.
#[derive(Debug, Clone)]
pub struct KeyHistory<'h> {
    /// The key (partition).
    pub key: KeyId,
    /// The sends that happened, in invoke order.
    pub sends: Vec<KeySend>,
    /// The non-empty reads of this key, in invoke order.
    pub polls: Vec<KeyPoll<'h>>,
    /// Sends dropped because they failed, or their fate is unknown and nobody read them.
    pub dropped_sends: usize,
}

impl KeyHistory<'_> {
    /// How many operations the engines will order.
    pub fn len(&self) -> usize {
        self.sends.len() + self.polls.len()
    }

    /// Whether there is nothing to order.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Splits `history` by key and resolves indeterminate sends (see the module doc).
pub fn project(history: &History) -> Vec<KeyHistory<'_>> {
    let mut keys: Vec<KeyHistory<'_>> = history
        .keys
        .ids()
        .map(|key| KeyHistory {
            key,
            sends: Vec::new(),
            polls: Vec::new(),
            dropped_sends: 0,
        })
        .collect();
    let read_offsets = offsets_of_unplaced_sends(history);
    for (position, op) in history.ops.iter().enumerate() {
        match (op.f, op.outcome) {
            (Function::Send, Outcome::Fail) => {
                for mop in &op.mops {
                    if let MicroOp::Send { key, .. } = mop {
                        keys[key.0 as usize].dropped_sends += 1;
                    }
                }
            }
            (Function::Send, outcome) => {
                for mop in &op.mops {
                    let MicroOp::Send { key, value, offset } = *mop else {
                        continue;
                    };
                    let acked = offset.filter(|_| outcome == Outcome::Ok);
                    let offset = acked.or_else(|| read_offsets.get(&(key, value)).copied());
                    let entry = &mut keys[key.0 as usize];
                    let Some(offset) = offset else {
                        entry.dropped_sends += 1;
                        continue;
                    };
                    let ret = if outcome == Outcome::Ok {
                        op.complete_index
                    } else {
                        None
                    };
                    entry.sends.push(KeySend {
                        op: position,
                        process: op.process,
                        call: op.invoke_index,
                        ret,
                        offset,
                        value,
                    });
                }
            }
            (Function::Poll, Outcome::Ok) => {
                for mop in &op.mops {
                    let MicroOp::Poll { reads } = mop else {
                        continue;
                    };
                    for read in reads.iter().filter(|r| !r.records.is_empty()) {
                        keys[read.key.0 as usize].polls.push(KeyPoll {
                            op: position,
                            process: op.process,
                            call: op.invoke_index,
                            ret: op.complete_index,
                            reads: &read.records,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    keys
}

/// For every send that may need it (no acknowledged offset), the smallest offset at which
/// an `ok` poll read its value. Only those sends are indexed, so the map stays small.
fn offsets_of_unplaced_sends(history: &History) -> FxHashMap<(KeyId, Value), Offset> {
    let mut wanted: FxHashMap<(KeyId, Value), Offset> = FxHashMap::default();
    for op in history.ops.iter().filter(|op| op.f == Function::Send) {
        for mop in &op.mops {
            if let MicroOp::Send { key, value, offset } = *mop {
                let placed = op.outcome == Outcome::Ok && offset.is_some();
                if op.outcome != Outcome::Fail && !placed {
                    wanted.insert((key, value), Offset::MAX);
                }
            }
        }
    }
    if wanted.is_empty() {
        return wanted;
    }
    for op in history.ops.iter() {
        if op.f != Function::Poll || op.outcome != Outcome::Ok {
            continue;
        }
        for mop in &op.mops {
            let MicroOp::Poll { reads } = mop else {
                continue;
            };
            for read in reads {
                for &(offset, value) in &read.records {
                    if let Some(best) = wanted.get_mut(&(read.key, value)) {
                        *best = (*best).min(offset);
                    }
                }
            }
        }
    }
    wanted.retain(|_, offset| *offset != Offset::MAX);
    wanted
}
