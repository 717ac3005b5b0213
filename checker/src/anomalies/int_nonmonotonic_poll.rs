//! `int-nonmonotonic-poll`: inside one poll's records of one key, an offset is followed by
//! an equal or lower one (HISTORY.md; Jepsen's kafka checker). One fetch response must be
//! in log order. Violates `ordered`.

use super::consumer::Step;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every backwards step inside one poll.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for step in &ctx.irregular_steps {
        let Step::Within { key, from, to, op } = *step else {
            continue;
        };
        if to > from {
            continue;
        }
        out.push(ctx.finding(
            AnomalyKind::IntNonmonotonicPoll,
            key,
            None,
            Some(to),
            &[op],
            format!(
                "poll op {} returned offset {from} of key {} and then offset {to}, at or before it",
                ctx.line(op),
                ctx.key_name(key)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: records out of order inside one poll are flagged; in order they are not.
    #[test]
    fn out_of_order_records_inside_a_poll_are_flagged() {
        let mut s = Script::default();
        s.poll(1, "0", &[(2, 17), (1, 16)]);
        assert_eq!(run(detect, &s.build()).len(), 1);

        let mut twin = Script::default();
        twin.poll(1, "0", &[(1, 16), (2, 17)]);
        assert!(run(detect, &twin.build()).is_empty());
    }

    // Goal: a regression between two poll micro-ops of one txn is an
    // int-nonmonotonic-poll, not a nonmonotonic-poll. Method: a txn polls offset 2, then
    // offset 1; its twin polls 1 then 2.
    #[test]
    fn a_regression_between_two_polls_of_one_txn_is_int_nonmonotonic() {
        let build = |first: &str, second: &str| {
            let mut s = Script::default();
            s.txn(
                1,
                r#"[["poll"], ["poll"]]"#,
                &format!(r#"[["poll", {{"0": [{first}]}}], ["poll", {{"0": [{second}]}}]]"#),
            );
            s.build()
        };
        let flagged = build("[2, 17]", "[1, 16]");
        assert_eq!(run(detect, &flagged).len(), 1);
        assert!(run(super::super::nonmonotonic_poll::detect, &flagged).is_empty());
        let twin = build("[1, 16]", "[2, 17]");
        assert!(run(detect, &twin).is_empty());
        assert!(run(super::super::nonmonotonic_poll::detect, &twin).is_empty());
    }
}
