//! `nonmonotonic-send`: two sends to one key where one was acknowledged before the other
//! was invoked, yet the later one got the lower offset (HISTORY.md). An append-only log
//! assigns increasing offsets in the order appends happen, so real-time order must show in
//! the offsets. This includes one producer session's sequential sends, whose order the
//! idempotent producer (KIP-98 sequence numbers) must keep. Violates `ordered`.
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
    }
    out
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
}
