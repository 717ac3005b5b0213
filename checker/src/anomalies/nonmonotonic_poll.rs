//! `nonmonotonic-poll`: a consumer's poll of a key began at or before the offset where its
//! previous poll of that key ended, with no `assign`/`subscribe`/crash between
//! (HISTORY.md). A consumer's position only moves forward until it is reset, so re-reading
//! means the broker served an old or rewritten log. Violates `ordered`.

use super::consumer::Step;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every backwards step between successive polls of one consumer.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for step in &ctx.irregular_steps {
        let Step::Between {
            key,
            from,
            from_op,
            to,
            to_op,
        } = *step
        else {
            continue;
        };
        if to > from {
            continue;
        }
        out.push(ctx.finding(
            AnomalyKind::NonmonotonicPoll,
            key,
            None,
            Some(to),
            &[from_op, to_op],
            format!(
                "a consumer's poll (op {}) ended at offset {from} of key {}, but its next poll (op {}) began at offset {to}, at or before it",
                ctx.line(from_op),
                ctx.key_name(key),
                ctx.line(to_op)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: re-reading between polls is flagged; re-reading after an assign is not.
    #[test]
    fn going_back_between_polls_is_nonmonotonic() {
        let mut s = Script::default();
        s.poll(1, "0", &[(0, 15), (1, 16)])
            .poll(1, "0", &[(1, 16), (2, 17)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ops, vec![1, 3]);

        let mut twin = Script::default();
        twin.poll(1, "0", &[(0, 15), (1, 16)])
            .assign(1, &["0"], true);
        twin.poll(1, "0", &[(0, 15), (1, 16)]);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
