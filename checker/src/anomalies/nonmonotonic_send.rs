//! `nonmonotonic-send`: two sends to one key where one was acknowledged before the other
//! was invoked, yet the later one got the lower offset (HISTORY.md). An append-only log
//! assigns increasing offsets in the order appends happen, so real-time order must show in
//! the offsets. This includes one producer session's sequential sends, whose order the
//! idempotent producer (KIP-98 sequence numbers) must keep. Violates `ordered`.
//!
//! A send acknowledged without an offset is judged too, when nobody read its value: it
//! was appended between the sends that completed before it began and those that began
//! after it completed, so an offset must be free between them (see `squeezed`).
//!
//! Real time is read from line order (a completion line before an invoke line), which is
//! exact even when two times are equal. Sends of one session that overlap in time are not
//! judged: the history cannot say which reached the producer first.

use super::index::OpPos;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{Offset, Outcome, Value};

/// Reports every acknowledged send whose offset is below that of a send acknowledged
/// before it began.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        // (invoke line, completion line, offset, value, op)
        let mut sends: Vec<(u64, u64, Offset, Value, OpPos)> = k
            .sends
            .iter()
            .filter(|(_, s)| s.outcome == Outcome::Ok)
            .filter_map(|(&v, s)| {
                let op = &ctx.history.ops[s.op as usize];
                Some((
                    op.invoke_index,
                    op.complete_index?,
                    s.acked_offset?,
                    v,
                    s.op,
                ))
            })
            .collect();
        sends.sort_unstable_by_key(|s| s.0);
        let mut completions: Vec<usize> = (0..sends.len()).collect();
        completions.sort_unstable_by_key(|&i| sends[i].1);
        let mut done = 0;
        // The completed send with the highest offset so far.
        let mut highest: Option<usize> = None;
        for later in 0..sends.len() {
            while done < completions.len() && sends[completions[done]].1 < sends[later].0 {
                let c = completions[done];
                if highest.is_none_or(|h| sends[c].2 > sends[h].2) {
                    highest = Some(c);
                }
                done += 1;
            }
            let Some(h) = highest else { continue };
            let (earlier, this) = (sends[h], sends[later]);
            if earlier.2 > this.2 {
                let ops = &ctx.history.ops;
                let same_session = match (
                    ops[earlier.4 as usize].producer,
                    ops[this.4 as usize].producer,
                ) {
                    (Some(a), Some(b)) if a == b => format!(" (both by producer session {a})"),
                    _ => String::new(),
                };
                out.push(ctx.finding(
                    AnomalyKind::NonmonotonicSend,
                    key,
                    Some(this.3),
                    Some(this.2),
                    &[earlier.4, this.4],
                    format!(
                        "value {} was acknowledged at offset {} of key {} (op {}) before the send of value {} began, yet that later send got the lower offset {} (op {}){same_session}",
                        earlier.3,
                        earlier.2,
                        ctx.key_name(key),
                        ctx.line(earlier.4),
                        this.3,
                        this.2,
                        ctx.line(this.4)
                    ),
                ));
            }
        }
        squeezed(ctx, key, k, &sends, &completions, &mut out);
    }
    out
}

/// Sends acknowledged without an offset and never read, with no room in the log: a send
/// that completed before it began was acknowledged at offset `a`, one that began after it
/// completed at `a + 1`. An acknowledged send was appended between the two in real time,
/// so it holds an offset strictly between them, and there is none. (A value someone read
/// is placed where it was read and judged by the linearizability check instead.)
///
/// `sends` are the key's acknowledged sends with an offset, by invoke line, as
/// `(invoke line, completion line, offset, value, op)`; `completions` orders them by
/// completion line.
fn squeezed(
    ctx: &Context<'_>,
    key: crate::history::model::KeyId,
    k: &super::index::KeyIndex,
    sends: &[(u64, u64, Offset, Value, OpPos)],
    completions: &[usize],
    out: &mut Vec<Finding>,
) {
    let mut nulls: Vec<(u64, u64, Value, OpPos)> = k
        .sends
        .iter()
        .filter(|(v, s)| {
            s.outcome == Outcome::Ok
                && s.acked_offset.is_none()
                && !k.offsets_of_value.contains_key(v)
        })
        .filter_map(|(&v, s)| {
            let op = &ctx.history.ops[s.op as usize];
            Some((op.invoke_index, op.complete_index?, v, s.op))
        })
        .collect();
    if nulls.is_empty() || sends.is_empty() {
        return;
    }
    nulls.sort_unstable();
    // Running maximum offset over sends by completion line: the highest offset
    // acknowledged before a given line.
    let mut before: Vec<(u64, usize)> = Vec::with_capacity(completions.len());
    for &c in completions {
        let best = match before.last() {
            Some(&(_, b)) if sends[b].2 >= sends[c].2 => b,
            _ => c,
        };
        before.push((sends[c].1, best));
    }
    // Running minimum offset over sends by invoke line, from the last: the lowest offset
    // of a send invoked after a given line.
    let mut after: Vec<usize> = vec![0; sends.len()];
    for i in (0..sends.len()).rev() {
        after[i] = match after.get(i + 1) {
            Some(&b) if sends[b].2 <= sends[i].2 => b,
            _ => i,
        };
    }
    for (invoke, complete, value, op) in nulls {
        let n = before.partition_point(|&(line, _)| line < invoke);
        let Some(&(_, low)) = n.checked_sub(1).and_then(|i| before.get(i)) else {
            continue;
        };
        let m = sends.partition_point(|s| s.0 <= complete);
        let Some(&high) = after.get(m) else {
            continue;
        };
        let (low, high) = (sends[low], sends[high]);
        if low.2.checked_add(1) != Some(high.2) {
            continue;
        }
        out.push(ctx.finding(
            AnomalyKind::NonmonotonicSend,
            key,
            Some(value),
            None,
            &[low.4, op, high.4],
            format!(
                "value {value} was acknowledged without an offset (op {}) after value {} was acknowledged at offset {} of key {} (op {}) and before the send of value {} began, which got offset {}: no offset is left between them for it, and no poll ever saw {value}",
                ctx.line(op),
                low.3,
                low.2,
                ctx.key_name(key),
                ctx.line(low.4),
                high.3,
                high.2,
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: a sequential pair acked in the opposite order is flagged; concurrent sends
    // acked in either order are not.
    #[test]
    fn sequential_sends_at_decreasing_offsets_are_nonmonotonic() {
        let mut s = Script::default();
        s.send(0, "0", 17, 5).send(0, "0", 18, 3);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ops, vec![1, 3]);

        let mut twin = Script::default();
        twin.send_invoke(0, "0", 17).send_invoke(1, "0", 18);
        twin.send_ok(0, "0", 17, Some(5))
            .send_ok(1, "0", 18, Some(3));
        assert!(run(detect, &twin.build()).is_empty());
    }

    // Goal: a send acknowledged without an offset between two sequential sends acked at
    // adjacent offsets has no room in the log, when nobody read its value. Method: acks at
    // 0, null, 1; the twins leave room (0, null, 2) or have the middle value read.
    #[test]
    fn a_null_ack_between_adjacent_sequential_acks_is_nonmonotonic() {
        let build = |last: i64, read_middle: bool| {
            let mut s = Script::default();
            s.send(0, "0", 16, 0)
                .send_invoke(0, "0", 17)
                .send_ok(0, "0", 17, None)
                .send(0, "0", 18, last);
            if read_middle {
                s.poll(1, "0", &[(0, 16), (1, 17)]);
            }
            s.build()
        };
        let found = run(detect, &build(1, false));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].value, found[0].offset), (Some(17), None));
        assert_eq!(found[0].ops, vec![1, 3, 5]);
        assert!(run(detect, &build(2, false)).is_empty());
        assert!(run(detect, &build(1, true)).is_empty());
    }
}
