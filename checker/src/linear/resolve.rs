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

/// Which operations touch each key: the positions in `History::ops` of every send (any
/// outcome) and every `ok` poll naming the key, in order. It lets [`project_key`] visit
/// only a key's own operations, so the keys can be projected (and checked) one at a time
/// instead of holding every key's projection at once: on a history of 10 million
/// operations the projections of all keys together take over a gigabyte.
#[derive(Debug, Clone, Default)]
pub struct KeyOps {
    positions: Vec<Vec<u32>>,
}

impl KeyOps {
    /// One pass over `history`.
    pub fn of(history: &History) -> KeyOps {
        let mut positions: Vec<Vec<u32>> = vec![Vec::new(); history.keys.len()];
        for (position, op) in history.ops.iter().enumerate() {
            let position = u32::try_from(position).expect("fewer than 2^32 operations");
            let mut touch = |key: KeyId| {
                let list = &mut positions[key.0 as usize];
                // An operation naming a key twice is listed once: project_key visits all
                // of its micro-operations of that key.
                if list.last() != Some(&position) {
                    list.push(position);
                }
            };
            match (op.f, op.outcome) {
                (Function::Send, _) => {
                    for mop in &op.mops {
                        if let MicroOp::Send { key, .. } = mop {
                            touch(*key);
                        }
                    }
                }
                (Function::Poll, Outcome::Ok) => {
                    for mop in &op.mops {
                        if let MicroOp::Poll { reads } = mop {
                            for read in reads.iter().filter(|r| !r.records.is_empty()) {
                                touch(read.key);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        KeyOps { positions }
    }

    /// The positions of the operations that touch `key`, in history order.
    pub fn of_key(&self, key: KeyId) -> &[u32] {
        self.positions
            .get(key.0 as usize)
            .map_or(&[], Vec::as_slice)
    }
}

/// Splits `history` by key and resolves indeterminate sends (see the module doc): every
/// key's projection at once, in key order.
pub fn project(history: &History) -> Vec<KeyHistory<'_>> {
    let ops = KeyOps::of(history);
    history
        .keys
        .ids()
        .map(|key| project_key(history, &ops, key))
        .collect()
}

/// Projects `history` onto `key` and resolves its indeterminate sends; `ops` lists the
/// operations touching each key ([`KeyOps::of`] of the same history).
pub fn project_key<'h>(history: &'h History, ops: &KeyOps, key: KeyId) -> KeyHistory<'h> {
    let mut projected = KeyHistory {
        key,
        sends: Vec::new(),
        polls: Vec::new(),
        dropped_sends: 0,
    };
    // Sends whose offset only a read can tell.
    let mut unplaced: Vec<KeySend> = Vec::new();
    for &position in ops.of_key(key) {
        let op = &history.ops[position as usize];
        let position = position as usize;
        match (op.f, op.outcome) {
            (Function::Send, outcome) => {
                for mop in &op.mops {
                    let MicroOp::Send {
                        key: sent_to,
                        value,
                        offset,
                    } = *mop
                    else {
                        continue;
                    };
                    if sent_to != key {
                        continue;
                    }
                    if outcome == Outcome::Fail {
                        projected.dropped_sends += 1;
                        continue;
                    }
                    let send = KeySend {
                        op: position,
                        process: op.process,
                        call: op.invoke_index,
                        ret: op.complete_index.filter(|_| outcome == Outcome::Ok),
                        offset: offset.unwrap_or(Offset::MAX),
                        value,
                    };
                    match offset.filter(|_| outcome == Outcome::Ok) {
                        Some(_) => projected.sends.push(send),
                        None => unplaced.push(send),
                    }
                }
            }
            (Function::Poll, Outcome::Ok) => {
                for mop in &op.mops {
                    let MicroOp::Poll { reads } = mop else {
                        continue;
                    };
                    for read in reads
                        .iter()
                        .filter(|r| r.key == key && !r.records.is_empty())
                    {
                        projected.polls.push(KeyPoll {
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
    place(&mut projected, unplaced);
    projected
}

/// Places each send of `pending` at the smallest offset a poll of `key` read its value at,
/// or drops it if nobody read it.
fn place(key: &mut KeyHistory<'_>, pending: Vec<KeySend>) {
    if pending.is_empty() {
        return;
    }
    let mut wanted: FxHashMap<Value, Offset> =
        pending.iter().map(|s| (s.value, Offset::MAX)).collect();
    for poll in &key.polls {
        for &(offset, value) in poll.reads {
            if let Some(best) = wanted.get_mut(&value) {
                *best = (*best).min(offset);
            }
        }
    }
    for mut send in pending {
        match wanted.get(&send.value) {
            Some(&offset) if offset != Offset::MAX => {
                send.offset = offset;
                key.sends.push(send);
            }
            _ => key.dropped_sends += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, Injection, SynthOptions};

    /// One key's share of the one-pass split: placed sends, polls, sends only a read can
    /// place, failed sends.
    type Split<'h> = (Vec<KeySend>, Vec<KeyPoll<'h>>, Vec<KeySend>, usize);

    /// The split as one pass over the whole history, every key at once (what
    /// `project_key` replaced): the reference it must agree with.
    fn reference(history: &History) -> Vec<Split<'_>> {
        let mut keys = vec![(Vec::new(), Vec::new(), Vec::new(), 0); history.keys.len()];
        for (position, op) in history.ops.iter().enumerate() {
            for mop in &op.mops {
                match (op.f, op.outcome, mop) {
                    (Function::Send, Outcome::Fail, MicroOp::Send { key, .. }) => {
                        keys[key.0 as usize].3 += 1;
                    }
                    (Function::Send, outcome, &MicroOp::Send { key, value, offset }) => {
                        let send = KeySend {
                            op: position,
                            process: op.process,
                            call: op.invoke_index,
                            ret: op.complete_index.filter(|_| outcome == Outcome::Ok),
                            offset: offset.unwrap_or(Offset::MAX),
                            value,
                        };
                        let k = &mut keys[key.0 as usize];
                        match offset.filter(|_| outcome == Outcome::Ok) {
                            Some(_) => k.0.push(send),
                            None => k.2.push(send),
                        }
                    }
                    (Function::Poll, Outcome::Ok, MicroOp::Poll { reads }) => {
                        for read in reads.iter().filter(|r| !r.records.is_empty()) {
                            keys[read.key.0 as usize].1.push(KeyPoll {
                                op: position,
                                process: op.process,
                                call: op.invoke_index,
                                ret: op.complete_index,
                                reads: &read.records,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        keys
    }

    // Goal: projecting one key at a time gives each key exactly the sends and polls of the
    // one-pass split, in the same order, before and after placing indeterminate sends.
    // Method: synthetic histories with indeterminate sends, unread ones and each injected
    // anomaly, projected both ways.
    #[test]
    fn per_key_projection_matches_the_one_pass_split() {
        let injections = std::iter::once(None).chain(Injection::all().map(Some));
        for (seed, inject) in injections.enumerate() {
            let options = SynthOptions {
                ops: 3_000,
                keys: 4,
                concurrency: 6,
                seed: seed as u64,
                indeterminate_ratio: 0.05,
                unread_indeterminate: 5,
                inject,
                final_reads: true,
            };
            let (history, _) = generate(&options).unwrap();
            let projected = project(&history);
            let expected = reference(&history);
            assert_eq!(projected.len(), expected.len());
            for (key, (sends, polls, unplaced, failed)) in projected.iter().zip(expected) {
                let mut want = KeyHistory {
                    key: key.key,
                    sends,
                    polls,
                    dropped_sends: failed,
                };
                place(&mut want, unplaced);
                assert_eq!(key.sends, want.sends, "{inject:?} key {:?}", key.key);
                assert_eq!(key.polls, want.polls, "{inject:?} key {:?}", key.key);
                assert_eq!(key.dropped_sends, want.dropped_sends, "{inject:?}");
            }
        }
    }
}
