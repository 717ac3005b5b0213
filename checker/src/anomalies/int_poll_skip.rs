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
}
