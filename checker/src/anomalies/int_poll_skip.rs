//! `int-poll-skip`: inside one poll's records of one key, two consecutive records skip an
//! offset some poll read holding a value (HISTORY.md; Jepsen's kafka checker). A fetch returns a
//! contiguous run of the log, gaps aside (transaction markers, compaction), so skipping a
//! known record inside one response is the broker's doing. Violates `ordered`.

use super::consumer::Step;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every skip inside one poll.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for step in &ctx.irregular_steps {
        let Step::Within { key, from, to, op } = *step else {
            continue;
        };
        let k = ctx.index.key(key);
        let Some(skipped) = k.read_offset_between(from, to) else {
            continue;
        };
        let value = k.values_at_offset.get(&skipped).map(|s| s.first().0);
        out.push(ctx.finding(
            AnomalyKind::IntPollSkip,
            key,
            value,
            Some(skipped),
            &[op],
            format!(
                "poll op {} returned offset {from} then offset {to} of key {}, skipping offset {skipped}, which holds value {}",
                ctx.line(op),
                ctx.key_name(key),
                value.map_or("?".to_owned(), |v| v.to_string())
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: a skip over a known record inside one poll is flagged; an unknown gap is not.
    #[test]
    fn skipping_a_known_offset_inside_a_poll_is_flagged() {
        let mut s = Script::default();
        s.send(0, "0", 17, 2)
            .poll(1, "0", &[(1, 16), (3, 18)])
            .poll(2, "0", &[(2, 17)]);
        assert_eq!(run(detect, &s.build()).len(), 1);

        let mut twin = Script::default();
        twin.send(0, "0", 17, 7)
            .poll(1, "0", &[(1, 16), (3, 18)])
            .poll(2, "0", &[(7, 17)]);
        assert!(run(detect, &twin.build()).is_empty());

        // Acknowledged at 2 but never read: lost (see lost_write.rs), not skipped.
        let mut unread = Script::default();
        unread.send(0, "0", 17, 2).poll(1, "0", &[(1, 16), (3, 18)]);
        assert!(run(detect, &unread.build()).is_empty());
    }

    // Goal: two poll micro-ops of one txn are one operation: a skip between them is an
    // int-poll-skip, not a poll-skip. Method: a txn polls offset 1, then offset 3, while
    // another poll read offset 2; its twin's second micro-op reads offset 2.
    #[test]
    fn a_skip_between_two_polls_of_one_txn_is_an_int_poll_skip() {
        let build = |second: &str| {
            let mut s = Script::default();
            s.send(0, "0", 17, 2).poll(2, "0", &[(2, 17)]);
            s.txn(
                1,
                r#"[["poll"], ["poll"]]"#,
                &format!(r#"[["poll", {{"0": [[1, 16]]}}], ["poll", {{"0": [{second}]}}]]"#),
            );
            s.build()
        };
        let flagged = build("[3, 18]");
        let found = run(detect, &flagged);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].offset, Some(2));
        assert!(run(super::super::poll_skip::detect, &flagged).is_empty());
        assert!(run(detect, &build("[2, 17]")).is_empty());
    }
}
