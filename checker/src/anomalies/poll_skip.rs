//! `poll-skip`: a consumer's successive polls of one key (no `assign`/`subscribe`/crash/
//! `info` poll between) skipped offsets that are known to hold values (HISTORY.md;
//! Jepsen's kafka checker). Offsets may legitimately have gaps (transaction markers,
//! compaction), so only a skip over an offset some poll read holding a value counts; an
//! acknowledged offset that no poll ever read is a `lost-write` question, not a skip.
//! Violates `ordered`.

use super::consumer::Step;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every skip between successive polls of one consumer.
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
        let k = ctx.index.key(key);
        let Some(skipped) = k.read_offset_between(from, to) else {
            continue;
        };
        let value = k.values_at_offset.get(&skipped).map(|s| s.first().0);
        out.push(ctx.finding(
            AnomalyKind::PollSkip,
            key,
            value,
            Some(skipped),
            &[from_op, to_op],
            format!(
                "a consumer's poll (op {}) ended at offset {from} of key {} and its next poll (op {}) began at offset {to}, skipping offset {skipped}, which holds value {}",
                ctx.line(from_op),
                ctx.key_name(key),
                ctx.line(to_op),
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

    // Goal: skipping a known offset between polls is flagged; a gap with no known value
    // (e.g. a transaction marker) and a skip across an assign are not.
    #[test]
    fn skipping_a_known_offset_between_polls_is_a_poll_skip() {
        let mut s = Script::default();
        s.send(0, "0", 17, 2).poll(2, "0", &[(2, 17)]);
        s.poll(1, "0", &[(0, 15), (1, 16)]).poll(1, "0", &[(3, 18)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].offset, found[0].value), (Some(2), Some(17)));

        // Acknowledged at 2 but never read by anyone: lost, not skipped.
        let mut unread = Script::default();
        unread.send(0, "0", 17, 2);
        unread
            .poll(1, "0", &[(0, 15), (1, 16)])
            .poll(1, "0", &[(3, 18)]);
        assert!(run(detect, &unread.build()).is_empty());

        let mut gap = Script::default();
        gap.poll(1, "0", &[(0, 15), (1, 16)])
            .poll(1, "0", &[(3, 18)]);
        assert!(run(detect, &gap.build()).is_empty());

        // A failed poll certainly did not happen: the position stays, the skip is judged.
        let mut failed = Script::default();
        failed.send(0, "0", 17, 2).poll(2, "0", &[(2, 17)]);
        failed.poll(1, "0", &[(0, 15), (1, 16)]);
        failed.push_raw(1, "invoke", "poll", r#"[["poll"]]"#);
        failed.push_raw(1, "fail", "poll", r#"[["poll"]]"#);
        failed.poll(1, "0", &[(3, 18)]);
        assert_eq!(run(detect, &failed.build()).len(), 1);

        let mut reset = Script::default();
        reset.send(0, "0", 17, 2).poll(2, "0", &[(2, 17)]);
        reset.poll(1, "0", &[(0, 15), (1, 16)]);
        reset.assign(1, &["0"], false).poll(1, "0", &[(3, 18)]);
        assert!(run(detect, &reset.build()).is_empty());
    }

    // Goal: an offset some poll read is skippable even when the value there was first read
    // at another offset. Method: value 17 is first read at offset 5 (a duplicate), then
    // read at its acknowledged offset 2; a consumer stepping from 1 to 3 skips offset 2.
    // The twin's consumer reads offset 2 in between.
    #[test]
    fn a_skip_over_a_value_first_read_elsewhere_is_a_poll_skip() {
        let build = |middle: &[(i64, i64)]| {
            let mut s = Script::default();
            s.send(0, "0", 17, 2)
                .poll(2, "0", &[(5, 17)])
                .poll(3, "0", &[(2, 17)]);
            s.poll(1, "0", &[(0, 15), (1, 16)]);
            if !middle.is_empty() {
                s.poll(1, "0", middle);
            }
            s.poll(1, "0", &[(3, 18)]);
            s.build()
        };
        let found = run(detect, &build(&[]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].offset, found[0].value), (Some(2), Some(17)));
        assert!(run(detect, &build(&[(2, 17)])).is_empty());
    }
}
