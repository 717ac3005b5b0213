//! `lost-write`: an acknowledged send missing from a log that must contain it
//! (HISTORY.md; Jepsen's kafka checker calls it the same). Violates `no_loss`.
//!
//! Conservative by design: a send is only called lost on proof, never because it was
//! merely not read. The proofs, for a send of `v` acknowledged at offset `o` of key `k`:
//! 1. no poll ever read `v`, and a poll read a different value at offset `o` (any poll,
//!    not only the first to read that value: a duplicate may have been read elsewhere first);
//! 2. no poll ever read `v`, and one consumer read key `k` straight across `o` (from an
//!    offset below `o` to one above it with no reset between, or from the beginning of the
//!    log after `assign` with `seek_to_beginning` to a first offset above `o`);
//! 3. a final read of `k` does not contain `v` although it passed `o`: `final` polls of one
//!    consumer that sought to the beginning and read an offset above `o`. Unlike proof 1 this
//!    holds even when some poll once read `v` at `o`: a leader cut off from the quorum (a
//!    "zombie") acknowledges and serves writes that the healed log no longer holds, and
//!    the final read, made after healing, is what shows they are gone. A final read is
//!    complete when it reached at least the highest acknowledged offset of `k` and, when
//!    the harness recorded it (`end_offsets` of the final assign), the last offset the log
//!    held when the read began; a complete one also covers sends acknowledged without an
//!    offset (acks=0), when the ack completed before that final read began.
//!
//! A send that ended `info` or `fail` is never lost. Sends not proven lost and never read
//! are `unseen` (see `unseen.rs`).

use std::cell::OnceCell;

use rustc_hash::{FxHashMap, FxHashSet};

use super::consumer::Step;
use super::index::{KeyIndex, OpPos};
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{Function, KeyId, LineIndex, MicroOp, Offset, Outcome, Value};

/// Why a send is known to be lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// Offset `o` was read holding another value.
    Overwritten { other: Value, reader: OpPos },
    /// A consumer read across `o` (`from` is `None` when it started at the log's beginning).
    ReadAcross {
        from: Option<Offset>,
        to: Offset,
        reader: OpPos,
    },
    /// A final read that passed its offset (or, `complete`, reached the highest
    /// acknowledged offset) did not contain it.
    FinalRead {
        max_offset: Offset,
        last_op: OpPos,
        complete: bool,
    },
}

/// One lost send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loss {
    pub key: KeyId,
    pub value: Value,
    pub send_op: OpPos,
    pub offset: Option<Offset>,
    pub proof: Proof,
}

/// Gaps consumers read across for one key, sorted by start, with a running maximum of
/// their ends so "does some gap contain `o`" is one binary search.
struct Gaps {
    /// (start, end, reader); start `None` = the beginning of the log.
    spans: Vec<(Option<Offset>, Offset, OpPos)>,
    /// For each prefix of `spans`, the index of the span with the greatest end.
    best_end: Vec<usize>,
}

impl Gaps {
    fn new(mut spans: Vec<(Option<Offset>, Offset, OpPos)>) -> Gaps {
        spans.sort_unstable_by_key(|s| s.0);
        let mut best_end: Vec<usize> = Vec::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            let best = match best_end.last() {
                Some(&b) if spans[b].1 >= s.1 => b,
                _ => i,
            };
            best_end.push(best);
        }
        Gaps { spans, best_end }
    }

    /// A span with start < `o` < end, if any.
    fn containing(&self, o: Offset) -> Option<(Option<Offset>, Offset, OpPos)> {
        let n = self
            .spans
            .partition_point(|s| s.0.is_none_or(|start| start < o));
        let best = self.spans[*self.best_end[..n].last()?];
        (best.1 > o).then_some(best)
    }
}

/// One consumer's final read of one key since it sought to the beginning.
#[derive(Default)]
struct FinalRead {
    values: FxHashSet<Value>,
    max_offset: Option<Offset>,
    first_invoke: Option<LineIndex>,
    last_op: OpPos,
    /// The key's log end offset when the read began, if the harness recorded it.
    end: Option<Offset>,
    /// Reached at least the highest acknowledged offset of the key, and the log end the
    /// read began with.
    complete: bool,
}

/// Final reads per key: consumers that sought to the beginning, then read with `final`
/// polls; each marked complete when it reached the highest acknowledged offset.
fn final_reads(ctx: &Context<'_>) -> FxHashMap<KeyId, Vec<FinalRead>> {
    let mut open: FxHashMap<(u64, KeyId), FinalRead> = FxHashMap::default();
    let mut done: Vec<(KeyId, FinalRead)> = Vec::new();
    let mut close = |open: &mut FxHashMap<(u64, KeyId), FinalRead>, process: u64| {
        let keys: Vec<(u64, KeyId)> = open.keys().filter(|k| k.0 == process).copied().collect();
        for k in keys {
            if let Some(fr) = open.remove(&k) {
                done.push((k.1, fr));
            }
        }
    };
    // Only consumers that made final polls can hold a final read; skip the others' records.
    let final_processes: FxHashSet<u64> = ctx
        .history
        .ops
        .iter()
        .filter(|op| op.is_final && matches!(op.f, Function::Poll | Function::Txn))
        .map(|op| op.process)
        .collect();
    for (pos, op) in ctx.history.ops.iter().enumerate() {
        if !final_processes.contains(&op.process) {
            continue;
        }
        match op.f {
            Function::Assign | Function::Subscribe | Function::Crash => {
                close(&mut open, op.process);
                if let (Function::Assign, Some(a)) = (op.f, &op.assignment) {
                    if a.seek_to_beginning && op.outcome != Outcome::Fail {
                        for &key in &a.keys {
                            let end = a
                                .end_offsets
                                .iter()
                                .find(|(k, _)| *k == key)
                                .map(|&(_, end)| end);
                            open.insert(
                                (op.process, key),
                                FinalRead {
                                    end,
                                    ..FinalRead::default()
                                },
                            );
                        }
                    }
                }
            }
            Function::Poll | Function::Txn if op.outcome == Outcome::Info => {
                // Records an unrecorded poll consumed are unknown: this read proves nothing.
                let keys: Vec<(u64, KeyId)> =
                    open.keys().filter(|k| k.0 == op.process).copied().collect();
                for k in keys {
                    open.remove(&k);
                }
            }
            Function::Poll | Function::Txn if op.outcome == Outcome::Fail => {}
            Function::Poll | Function::Txn => {
                for mop in &op.mops {
                    let MicroOp::Poll { reads } = mop else {
                        continue;
                    };
                    for read in reads {
                        let Some(fr) = open.get_mut(&(op.process, read.key)) else {
                            continue;
                        };
                        for &(offset, value) in &read.records {
                            fr.values.insert(value);
                            fr.max_offset = Some(fr.max_offset.map_or(offset, |m| m.max(offset)));
                        }
                        if op.is_final {
                            fr.first_invoke.get_or_insert(op.invoke_index);
                            fr.last_op = pos as OpPos;
                        }
                    }
                }
            }
            Function::Send => {}
        }
    }
    let processes: Vec<u64> = open.keys().map(|k| k.0).collect();
    for p in processes {
        close(&mut open, p);
    }
    let mut reads: FxHashMap<KeyId, Vec<FinalRead>> = FxHashMap::default();
    let mut highest: FxHashMap<KeyId, Option<Offset>> = FxHashMap::default();
    for (key, mut fr) in done {
        if fr.first_invoke.is_none() {
            continue; // no final poll read this key
        }
        let highest_ack = *highest
            .entry(key)
            .or_insert_with(|| highest_acked_offset(ctx.index.key(key)));
        // The read must reach the highest acknowledged offset and the last offset the
        // log held when it began; either alone suffices when the other is unknown.
        let needed = [highest_ack, fr.end.map(|end| end - 1)]
            .into_iter()
            .flatten()
            .max();
        fr.complete = matches!((fr.max_offset, needed), (Some(max), Some(n)) if max >= n);
        reads.entry(key).or_default().push(fr);
    }
    reads
}

fn highest_acked_offset(k: &KeyIndex) -> Option<Offset> {
    k.sends
        .values()
        .filter(|s| s.outcome == Outcome::Ok)
        .filter_map(|s| s.acked_offset)
        .max()
}

/// Every send proven lost, at most once each (computed once per context: `unseen` needs
/// it too).
pub(crate) fn losses<'c>(ctx: &'c Context<'_>) -> &'c [Loss] {
    ctx.losses.get_or_init(|| find_losses(ctx))
}

fn find_losses(ctx: &Context<'_>) -> Vec<Loss> {
    let mut spans: FxHashMap<KeyId, Vec<(Option<Offset>, Offset, OpPos)>> = FxHashMap::default();
    for step in &ctx.irregular_steps {
        match *step {
            Step::Within { key, from, to, op } if to > from.saturating_add(1) => {
                spans.entry(key).or_default().push((Some(from), to, op))
            }
            Step::Between {
                key,
                from,
                to,
                to_op,
                ..
            } if to > from.saturating_add(1) => {
                spans.entry(key).or_default().push((Some(from), to, to_op))
            }
            Step::FromBeginning { key, to, op } => {
                spans.entry(key).or_default().push((None, to, op))
            }
            _ => {}
        }
    }
    let gaps: FxHashMap<KeyId, Gaps> = spans.into_iter().map(|(k, s)| (k, Gaps::new(s))).collect();
    let finals = final_reads(ctx);
    let contested = OnceCell::new();
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut sends: Vec<(Value, OpPos, Option<Offset>)> = k
            .sends
            .iter()
            .filter(|(_, s)| s.outcome == Outcome::Ok)
            .map(|(&v, s)| (v, s.op, s.acked_offset))
            .collect();
        sends.sort_unstable_by_key(|s| s.1);
        for (value, send_op, offset) in sends {
            let never_read = !k.first_read.contains_key(&value);
            let proof = offset
                .filter(|_| never_read)
                .and_then(|o| read_proof(ctx, &contested, key, k, gaps.get(&key), o, value))
                .or_else(|| final_proof(ctx, finals.get(&key), value, send_op, offset));
            if let Some(proof) = proof {
                out.push(Loss {
                    key,
                    value,
                    send_op,
                    offset,
                    proof,
                });
            }
        }
    }
    out
}

fn read_proof(
    ctx: &Context<'_>,
    contested: &OnceCell<ContestedReaders>,
    key: KeyId,
    k: &KeyIndex,
    gaps: Option<&Gaps>,
    o: Offset,
    value: Value,
) -> Option<Proof> {
    if let Some(slot) = k.values_at_offset.get(&o) {
        for (other, _) in slot.iter().filter(|(w, _)| *w != value) {
            // Only a poll that read `other` at `o` itself proves the offset holds it; the
            // first poll to read `other` usually did, else any later one may have (when
            // `other` was read at several offsets).
            let first = k
                .first_read
                .get(&other)
                .copied()
                .filter(|&reader| read_at(ctx, reader, key, o, other));
            let reader = match first {
                Some(reader) => Some(reader),
                None if k.first_read.contains_key(&other) => contested
                    .get_or_init(|| contested_readers(ctx))
                    .get(&(key, o, other))
                    .copied(),
                None => None,
            };
            if let Some(reader) = reader {
                return Some(Proof::Overwritten { other, reader });
            }
        }
    }
    let (from, to, reader) = gaps?.containing(o)?;
    Some(Proof::ReadAcross { from, to, reader })
}

/// The first poll that read each `(key, offset, value)` at an offset observed holding more
/// than one value: few, and only needed when a value was read at several offsets.
type ContestedReaders = FxHashMap<(KeyId, Offset, Value), OpPos>;

/// Builds [`ContestedReaders`] in one pass over the history's `ok` polls.
fn contested_readers(ctx: &Context<'_>) -> ContestedReaders {
    let mut out = ContestedReaders::default();
    for (pos, op) in ctx.history.ops.iter().enumerate() {
        if op.outcome != Outcome::Ok {
            continue;
        }
        for mop in &op.mops {
            let MicroOp::Poll { reads } = mop else {
                continue;
            };
            for read in reads {
                let k = ctx.index.key(read.key);
                for &(offset, value) in &read.records {
                    if k.values_at_offset.get(&offset).is_some_and(|s| s.len() > 1) {
                        out.entry((read.key, offset, value)).or_insert(pos as OpPos);
                    }
                }
            }
        }
    }
    out
}

/// Whether operation `op` read `value` at `offset` of `key`.
fn read_at(ctx: &Context<'_>, op: OpPos, key: KeyId, offset: Offset, value: Value) -> bool {
    ctx.history.ops[op as usize].mops.iter().any(|m| match m {
        MicroOp::Poll { reads } => reads
            .iter()
            .any(|r| r.key == key && r.records.contains(&(offset, value))),
        MicroOp::Send { .. } => false,
    })
}

fn final_proof(
    ctx: &Context<'_>,
    finals: Option<&Vec<FinalRead>>,
    value: Value,
    send_op: OpPos,
    offset: Option<Offset>,
) -> Option<Proof> {
    let send = &ctx.history.ops[send_op as usize];
    finals?
        .iter()
        .find(|fr| {
            let covers = match (offset, fr.first_invoke) {
                (Some(o), _) => fr.complete || fr.max_offset.is_some_and(|m| m > o),
                (None, Some(start)) => {
                    fr.complete && send.complete_index.is_some_and(|c| c < start)
                }
                (None, None) => false,
            };
            covers && !fr.values.contains(&value)
        })
        .map(|fr| Proof::FinalRead {
            max_offset: fr.max_offset.unwrap_or(-1),
            last_op: fr.last_op,
            complete: fr.complete,
        })
}

/// Reports every lost send.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    losses(ctx)
        .iter()
        .map(|l| {
            let key = ctx.key_name(l.key);
            let s = ctx.line(l.send_op);
            let at = l
                .offset
                .map_or("without an offset".to_owned(), |o| format!("at offset {o}"));
            let (witness, why) = match l.proof {
                Proof::Overwritten { other, reader } => (
                    reader,
                    format!(
                        "poll op {} read value {other} at that offset and no poll ever saw {}",
                        ctx.line(reader),
                        l.value
                    ),
                ),
                Proof::ReadAcross {
                    from: Some(from),
                    to,
                    reader,
                } => (
                    reader,
                    format!(
                        "a consumer read key {key} from offset {from} straight to {to} (op {}) and no poll ever saw {}",
                        ctx.line(reader),
                        l.value
                    ),
                ),
                Proof::ReadAcross { from: None, to, reader } => (
                    reader,
                    format!(
                        "a consumer read key {key} from the beginning of the log and its first record was at offset {to} (op {}), and no poll ever saw {}",
                        ctx.line(reader),
                        l.value
                    ),
                ),
                Proof::FinalRead {
                    max_offset,
                    last_op,
                    complete,
                } => (
                    last_op,
                    if complete {
                        format!(
                            "the complete final read of key {key} (up to offset {max_offset}, ending with op {}) does not contain it",
                            ctx.line(last_op)
                        )
                    } else {
                        format!(
                            "the final read of key {key} from the beginning passed that offset (up to offset {max_offset}, ending with op {}) without it",
                            ctx.line(last_op)
                        )
                    },
                ),
            };
            ctx.finding(
                AnomalyKind::LostWrite,
                l.key,
                Some(l.value),
                l.offset,
                &[l.send_op, witness],
                format!("value {} was acknowledged {at} of key {key} by op {s}, but {why}", l.value),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: a read past an unread acked offset proves loss; reading it too does not.
    #[test]
    fn read_across_an_acked_offset_is_a_lost_write_and_reading_it_is_not() {
        let mut s = Script::default();
        s.send(0, "0", 16, 41)
            .send(0, "0", 17, 42)
            .send(0, "0", 18, 43);
        s.poll(1, "0", &[(41, 16), (43, 18)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].value, found[0].offset, found[0].ops.clone()),
            (Some(17), Some(42), vec![3, 7])
        );

        let mut twin = Script::default();
        twin.send(0, "0", 16, 41)
            .send(0, "0", 17, 42)
            .send(0, "0", 18, 43);
        twin.poll(1, "0", &[(41, 16), (42, 17), (43, 18)]);
        assert!(run(detect, &twin.build()).is_empty());
    }

    // Goal: a consumer that merely started later proves nothing (no false positive).
    #[test]
    fn a_consumer_starting_past_the_offset_without_seeking_to_beginning_proves_nothing() {
        let mut s = Script::default();
        s.send(0, "0", 17, 42).send(0, "0", 18, 43);
        s.assign(1, &["0"], false).poll(1, "0", &[(43, 18)]);
        assert!(run(detect, &s.build()).is_empty());

        let mut flagged = Script::default();
        flagged.send(0, "0", 17, 42).send(0, "0", 18, 43);
        flagged.assign(1, &["0"], true).poll(1, "0", &[(43, 18)]);
        assert_eq!(run(detect, &flagged.build()).len(), 1);
    }

    // Goal: a complete final read missing a value acked without offset proves loss;
    // an incomplete one (not reaching the highest ack) does not.
    #[test]
    fn complete_final_read_missing_a_value_is_a_lost_write() {
        let mut s = Script::default();
        s.send_invoke(0, "0", 17)
            .send_ok(0, "0", 17, None)
            .send(0, "0", 18, 5);
        s.assign(1, &["0"], true).final_poll(1, "0", &[(5, 18)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, Some(17));

        let mut twin = Script::default();
        twin.send_invoke(0, "0", 17)
            .send_ok(0, "0", 17, None)
            .send(0, "0", 18, 5);
        twin.assign(1, &["0"], true).final_poll(1, "0", &[(4, 17)]);
        assert!(run(detect, &twin.build()).is_empty());
    }

    // Goal: sends acknowledged without offsets (acks=0) are judged by a final read that
    // reached the log end it recorded when it began (`end_offsets`): one missing from it
    // is lost. Its twin without the recorded end proves nothing (no acked offset to reach).
    #[test]
    fn a_final_read_to_the_recorded_log_end_judges_offsetless_acks() {
        let build = |end_offsets: &str| {
            let mut s = Script::default();
            s.send_invoke(0, "0", 17)
                .send_ok(0, "0", 17, None)
                .send_invoke(0, "0", 18)
                .send_ok(0, "0", 18, None);
            let v = format!(r#"{{"keys": ["0"], "seek_to_beginning": true{end_offsets}}}"#);
            s.push_raw(1, "invoke", "assign", &v)
                .push_raw(1, "ok", "assign", &v)
                .final_poll(1, "0", &[(0, 18)]);
            s.build()
        };
        let found = run(detect, &build(r#", "end_offsets": {"0": 1}"#));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].value, Some(17));
        assert!(run(detect, &build("")).is_empty());
        // A read that stopped short of the recorded end is not complete either.
        assert!(run(detect, &build(r#", "end_offsets": {"0": 2}"#)).is_empty());
    }

    // Goal: a write once read at its offset but absent from a final read that passed that
    // offset is lost (a zombie leader's acknowledged and served write), even though the
    // final read stops short of the highest acknowledged offset; a final read that stops
    // before the offset proves nothing.
    #[test]
    fn a_write_read_once_but_gone_from_the_final_read_past_its_offset_is_lost() {
        let build = |final_records: &[(i64, i64)]| {
            let mut s = Script::default();
            s.send(0, "0", 16, 0)
                .send(0, "0", 17, 1)
                .send(0, "0", 19, 9)
                .poll(1, "0", &[(0, 16), (1, 17)]);
            s.assign(2, &["0"], true).final_poll(2, "0", final_records);
            s.build()
        };
        let found = run(detect, &build(&[(0, 16), (1, 18), (2, 20)]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].value, found[0].offset), (Some(17), Some(1)));
        assert!(
            found[0].explanation.contains("passed that offset"),
            "{}",
            found[0].explanation
        );
        assert!(run(detect, &build(&[(0, 16)])).is_empty());
        assert!(run(detect, &build(&[(0, 16), (1, 17), (2, 20)])).is_empty());
    }

    // Goal: a poll reading another value at the acked offset proves loss; another value
    // merely acknowledged there (an ack, not a read) does not.
    #[test]
    fn another_value_read_at_the_acked_offset_is_a_lost_write() {
        let mut s = Script::default();
        s.send(0, "0", 17, 0)
            .send_invoke(1, "0", 18)
            .send_end(1, "info", "0", 18);
        s.poll(2, "0", &[(0, 18)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].explanation.contains("read value 18"),
            "{}",
            found[0].explanation
        );

        let mut twin = Script::default();
        twin.send(0, "0", 17, 0)
            .send(1, "0", 18, 0)
            .poll(2, "0", &[(1, 18)]);
        assert!(run(detect, &twin.build()).is_empty());
    }

    // Goal: proof 1 holds whichever poll read the other value at the acked offset.
    // Method: the first reader of value 18 read it elsewhere (a duplicate at offset 3);
    // a second poll read 18 at offset 0, where 17 was acknowledged and nobody read 17.
    // Its twin has the second poll read 17 at offset 0 instead: nothing is lost.
    #[test]
    fn any_poll_reading_another_value_at_the_acked_offset_proves_the_loss() {
        let build = |second: &[(i64, i64)]| {
            let mut s = Script::default();
            s.send(0, "0", 17, 0)
                .send_invoke(1, "0", 18)
                .send_end(1, "info", "0", 18);
            s.poll(2, "0", &[(3, 18)]).poll(3, "0", second);
            s.build()
        };
        let found = run(detect, &build(&[(0, 18)]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].value, found[0].offset), (Some(17), Some(0)));
        assert!(run(detect, &build(&[(0, 17)])).is_empty());
    }

    // Goal: an indeterminate send is never lost, even when read across.
    #[test]
    fn an_info_send_is_never_lost() {
        let mut s = Script::default();
        s.send(0, "0", 16, 41)
            .send_invoke(1, "0", 17)
            .send_end(1, "info", "0", 17);
        s.send(0, "0", 18, 43).poll(2, "0", &[(41, 16), (43, 18)]);
        assert!(run(detect, &s.build()).is_empty());
    }
}
