//! `aborted-read`: a poll returned a value whose send `fail`ed, i.e. was definitely not
//! written (HISTORY.md; Adya's G1a in spirit). Violates `no_loss`: the client was told the
//! write did not happen, so acting on a `fail` is only safe if the broker honours it.

use super::Context;
use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::Outcome;

/// Reports every read of a failed send's value.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut bad: Vec<_> = k
            .first_read
            .iter()
            .filter_map(|(v, &reader)| {
                let send = k.sends.get(v)?;
                (send.outcome == Outcome::Fail).then_some((reader, *v, send.op))
            })
            .collect();
        bad.sort_unstable();
        for (reader, value, send_op) in bad {
            let offset = k.offsets_of_value.get(&value).map(|s| s.first().0);
            out.push(ctx.finding(
                AnomalyKind::AbortedRead,
                key,
                Some(value),
                offset,
                &[send_op, reader],
                format!(
                    "the send of value {value} to key {} failed (op {}), so it was definitely not written, but poll op {} read it",
                    ctx.key_name(key),
                    ctx.line(send_op),
                    ctx.line(reader)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: reading a failed send's value is flagged; reading an info send's is not.
    #[test]
    fn reading_a_failed_send_is_an_aborted_read() {
        let mut s = Script::default();
        s.send_invoke(0, "0", 17)
            .send_end(0, "fail", "0", 17)
            .poll(1, "0", &[(0, 17)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ops, vec![1, 3]);

        let mut twin = Script::default();
        twin.send_invoke(0, "0", 17)
            .send_end(0, "info", "0", 17)
            .poll(1, "0", &[(0, 17)]);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
