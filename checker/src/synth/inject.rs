//! Plants one anomaly into a valid simulated history, as a broker bug would: each
//! injection rewrites a few operations and says which ones in a sentence.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::history::model::{Function, History, KeyId, MicroOp, Offset, Outcome, Value};

use super::{Injection, SynthError};

/// Plants `injection`; returns what was done.
pub(super) fn inject(
    history: &mut History,
    injection: Injection,
    seed: u64,
) -> Result<String, SynthError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_1AEC_7000_0000);
    let none = || SynthError::NoInjectionSite(injection);
    match injection {
        Injection::LostWrite => {
            let (i, key, offset, value) =
                pick(&mut rng, read_acked_sends(history)).ok_or_else(none)?;
            rewrite_reads(history, key, |records| {
                records.retain(|r| *r != (offset, value))
            });
            Ok(format!("the record of the send at index {} ({value} at offset {offset}) vanished from every poll", history.ops[i].invoke_index))
        }
        Injection::Duplicate | Injection::PhantomRead => {
            let finals = last_final_polls(history);
            let (op, key) = pick(&mut rng, finals).ok_or_else(none)?;
            let records = records_mut(history, op, key).ok_or_else(none)?;
            let (last_offset, _) = *records.last().ok_or_else(none)?;
            let value = match injection {
                Injection::Duplicate => records[records.len() / 2].1,
                _ => Value::MAX - 1,
            };
            records.push((last_offset + 1, value));
            Ok(format!(
                "the final poll at index {} returns {value} again at offset {}",
                history.ops[op].invoke_index,
                last_offset + 1
            ))
        }
        Injection::InconsistentOffsets => {
            let sends = read_acked_sends(history);
            let (i, key, offset, _) = pick(&mut rng, sends.clone()).ok_or_else(none)?;
            let (_, _, other, _) = sends
                .iter()
                .copied()
                .find(|s| s.1 == key && s.2 != offset)
                .ok_or_else(none)?;
            set_ack(history, i, Some(other));
            Ok(format!("the send at index {} is acknowledged at offset {other}, which holds another record", history.ops[i].invoke_index))
        }
        Injection::AbortedRead => {
            let (i, ..) = pick(&mut rng, read_acked_sends(history)).ok_or_else(none)?;
            set_ack(history, i, None);
            let op = &mut history.ops[i];
            op.outcome = Outcome::Fail;
            op.error = Some("aborted".to_owned());
            Ok(format!(
                "the send at index {} ends fail although its record was written",
                op.invoke_index
            ))
        }
        Injection::NonmonotonicSend => nonmonotonic_send(history, &mut rng).ok_or_else(none),
        Injection::PollSkip | Injection::NonmonotonicPoll => {
            let pairs = successive_polls(history);
            let (previous, next, key) = pick(&mut rng, pairs).ok_or_else(none)?;
            let last_before = *records_mut(history, previous, key)
                .and_then(|r| r.last())
                .ok_or_else(none)?;
            let records = records_mut(history, next, key).ok_or_else(none)?;
            if injection == Injection::PollSkip {
                records.remove(0);
            } else {
                records.insert(0, last_before);
            }
            Ok(format!(
                "the poll at index {} of key {} {}",
                history.ops[next].invoke_index,
                history.keys.name(key),
                if injection == Injection::PollSkip {
                    "skips the record after its previous poll"
                } else {
                    "re-reads its previous poll's last record"
                }
            ))
        }
        Injection::IntPollSkip | Injection::IntNonmonotonicPoll => {
            let need = if injection == Injection::IntPollSkip {
                3
            } else {
                2
            };
            let mut polls: Vec<(usize, KeyId)> = polls_with(history, need);
            if injection == Injection::IntPollSkip {
                // Leave out a record an acknowledgement makes known, so the hole is provable.
                let acked: rustc_hash::FxHashSet<(KeyId, Offset, Value)> =
                    read_acked_sends(history)
                        .into_iter()
                        .map(|(_, k, o, v)| (k, o, v))
                        .collect();
                polls.retain(|&(op, key)| {
                    poll_records(history, op, key)
                        .is_some_and(|r| acked.contains(&(key, r[1].0, r[1].1)))
                });
            }
            let (op, key) = pick(&mut rng, polls).ok_or_else(none)?;
            let records = records_mut(history, op, key).ok_or_else(none)?;
            if injection == Injection::IntPollSkip {
                records.remove(1);
            } else {
                records.swap(0, 1);
            }
            Ok(format!(
                "the poll at index {} of key {} {}",
                history.ops[op].invoke_index,
                history.keys.name(key),
                if injection == Injection::IntPollSkip {
                    "leaves out its second record"
                } else {
                    "returns its first two records swapped"
                }
            ))
        }
        Injection::Nonlinearizable => late_last_send(history).ok_or_else(none),
    }
}

fn pick<T>(rng: &mut ChaCha8Rng, mut items: Vec<T>) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    let i = rng.random_range(0..items.len());
    Some(items.swap_remove(i))
}

/// `ok` sends with an acknowledged offset whose record some poll returned:
/// (op position, key, offset, value).
fn read_acked_sends(history: &History) -> Vec<(usize, KeyId, Offset, Value)> {
    let mut read = rustc_hash::FxHashSet::default();
    for op in history.ops.iter().filter(|o| o.f == Function::Poll) {
        for mop in &op.mops {
            if let MicroOp::Poll { reads } = mop {
                for r in reads {
                    read.extend(r.records.iter().map(|rec| (r.key, *rec)));
                }
            }
        }
    }
    history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.f == Function::Send && o.outcome == Outcome::Ok)
        .filter_map(|(i, o)| match o.mops[0] {
            MicroOp::Send {
                key,
                value,
                offset: Some(offset),
            } if read.contains(&(key, (offset, value))) => Some((i, key, offset, value)),
            _ => None,
        })
        .collect()
}

fn set_ack(history: &mut History, op: usize, to: Option<Offset>) {
    if let MicroOp::Send { offset, .. } = &mut history.ops[op].mops[0] {
        *offset = to;
    }
}

fn records_mut(history: &mut History, op: usize, key: KeyId) -> Option<&mut Vec<(Offset, Value)>> {
    history.ops[op].mops.iter_mut().find_map(|m| match m {
        MicroOp::Poll { reads } => reads
            .iter_mut()
            .find(|r| r.key == key)
            .map(|r| &mut r.records),
        _ => None,
    })
}

fn poll_records(history: &History, op: usize, key: KeyId) -> Option<&Vec<(Offset, Value)>> {
    history.ops[op].mops.iter().find_map(|m| match m {
        MicroOp::Poll { reads } => reads.iter().find(|r| r.key == key).map(|r| &r.records),
        _ => None,
    })
}

fn rewrite_reads(history: &mut History, key: KeyId, mut f: impl FnMut(&mut Vec<(Offset, Value)>)) {
    for op in history.ops.iter_mut().filter(|o| o.f == Function::Poll) {
        for mop in &mut op.mops {
            if let MicroOp::Poll { reads } = mop {
                reads
                    .iter_mut()
                    .filter(|r| r.key == key)
                    .for_each(|r| f(&mut r.records));
                reads.retain(|r| !r.records.is_empty());
            }
        }
    }
}

fn poll_keys(op: &crate::history::model::Op) -> Vec<(KeyId, usize)> {
    op.mops
        .iter()
        .flat_map(|m| match m {
            MicroOp::Poll { reads } => reads.iter().map(|r| (r.key, r.records.len())).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The last final poll of each key: (op position, key).
fn last_final_polls(history: &History) -> Vec<(usize, KeyId)> {
    let mut last: rustc_hash::FxHashMap<KeyId, usize> = Default::default();
    for (i, op) in history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_final && o.f == Function::Poll)
    {
        for (key, _) in poll_keys(op) {
            last.insert(key, i);
        }
    }
    let mut out: Vec<(usize, KeyId)> = last.into_iter().map(|(k, i)| (i, k)).collect();
    out.sort_unstable();
    out
}

/// `ok` polls (not final) with at least `need` records of one key.
fn polls_with(history: &History, need: usize) -> Vec<(usize, KeyId)> {
    let mut out = Vec::new();
    for (i, op) in history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.f == Function::Poll && !o.is_final)
    {
        out.extend(
            poll_keys(op)
                .into_iter()
                .filter(|(_, n)| *n >= need)
                .map(|(k, _)| (i, k)),
        );
    }
    out
}

/// Pairs of polls of one consumer, immediately successive, both reading one key, the
/// later with at least two records of it: (previous, next, key).
fn successive_polls(history: &History) -> Vec<(usize, usize, KeyId)> {
    let mut previous_op: rustc_hash::FxHashMap<u64, usize> = Default::default();
    let mut out = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        if let Some(&p) = previous_op.get(&op.process) {
            let before = &history.ops[p];
            if op.f == Function::Poll && before.f == Function::Poll && !op.is_final {
                let earlier = poll_keys(before);
                for (key, n) in poll_keys(op) {
                    if n >= 2 && earlier.iter().any(|(k, _)| *k == key) {
                        out.push((p, i, key));
                    }
                }
            }
        }
        previous_op.insert(op.process, i);
    }
    out
}

/// Two successive `ok` sends of one process to one key swap offsets, and every read of
/// them follows: the log holds the later send first.
fn nonmonotonic_send(history: &mut History, rng: &mut ChaCha8Rng) -> Option<String> {
    let mut last: rustc_hash::FxHashMap<(u64, KeyId), (usize, Offset, Value)> = Default::default();
    let mut pairs = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.f != Function::Send || op.outcome != Outcome::Ok {
            continue;
        }
        if let MicroOp::Send {
            key,
            value,
            offset: Some(offset),
        } = op.mops[0]
        {
            if let Some(&(a, oa, va)) = last.get(&(op.process, key)) {
                pairs.push((a, oa, va, i, offset, value, key));
            }
            last.insert((op.process, key), (i, offset, value));
        }
    }
    let (a, oa, va, b, ob, vb, key) = pick(rng, pairs)?;
    set_ack(history, a, Some(ob));
    set_ack(history, b, Some(oa));
    rewrite_reads(history, key, |records| {
        for r in records.iter_mut() {
            if *r == (oa, va) {
                *r = (oa, vb);
            } else if *r == (ob, vb) {
                *r = (ob, va);
            }
        }
    });
    Some(format!(
        "the sends at index {} and {} of one producer swap offsets {oa} and {ob}",
        history.ops[a].invoke_index, history.ops[b].invoke_index
    ))
}

/// The send holding the largest acknowledged offset of a key is re-recorded after
/// everything else, so the polls that returned it completed before it began.
fn late_last_send(history: &mut History) -> Option<String> {
    // The largest record any poll returned, per key.
    let mut top: rustc_hash::FxHashMap<KeyId, (Offset, Value)> = Default::default();
    for op in history.ops.iter().filter(|o| o.f == Function::Poll) {
        for mop in &op.mops {
            if let MicroOp::Poll { reads } = mop {
                for r in reads {
                    for rec in &r.records {
                        let best = top.entry(r.key).or_insert(*rec);
                        *best = (*best).max(*rec);
                    }
                }
            }
        }
    }
    // An acknowledged send that wrote exactly that record (lowest key first).
    let (_, i) = read_acked_sends(history)
        .into_iter()
        .filter(|(_, key, offset, value)| top.get(key) == Some(&(*offset, *value)))
        .map(|(i, key, _, _)| (key, i))
        .min()?;
    let process = history.ops.iter().map(|o| o.process).max().unwrap_or(0) + 1;
    let last_line = history.line_count;
    let last_time = history
        .ops
        .iter()
        .filter_map(|o| o.complete_time.or(Some(o.invoke_time)))
        .max()
        .unwrap_or(0);
    let mut moved = history.ops.remove(i);
    let old = moved.invoke_index;
    moved.process = process;
    moved.producer = Some(process);
    moved.invoke_index = last_line;
    moved.complete_index = Some(last_line + 1);
    moved.invoke_time = last_time + 1_000_000;
    moved.complete_time = Some(last_time + 2_000_000);
    history.ops.push(moved);
    renumber(history);
    Some(format!(
        "the send first recorded at index {old} now begins after every poll that returned it"
    ))
}

/// Makes line indices dense again (0, 1, 2, ...) after operations moved, keeping order.
fn renumber(history: &mut History) {
    let mut lines: Vec<(u64, usize, bool)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        lines.push((op.invoke_index, i, true));
        if let Some(c) = op.complete_index {
            lines.push((c, i, false));
        }
    }
    lines.sort_unstable();
    for (new, (_, i, is_invoke)) in lines.into_iter().enumerate() {
        let op = &mut history.ops[i];
        if is_invoke {
            op.invoke_index = new as u64;
        } else {
            op.complete_index = Some(new as u64);
        }
    }
    history.line_count = history
        .ops
        .iter()
        .map(|o| o.complete_index.unwrap_or(o.invoke_index) + 1)
        .max()
        .unwrap_or(0);
    history.ops.sort_by_key(|o| o.invoke_index);
}
