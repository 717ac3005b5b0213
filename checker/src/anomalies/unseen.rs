//! `unseen`: an acknowledged send that no poll ever read and that nothing proves lost
//! (HISTORY.md). Reported, never a violation by itself: the consumers may simply not have
//! reached it. It becomes `lost-write` when a proof exists (see `lost_write.rs`).

use rustc_hash::FxHashSet;

use super::lost_write::losses;
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};
use crate::history::model::{KeyId, Outcome, Value};

/// Reports acknowledged, never-read sends that are not lost writes.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let lost: FxHashSet<(KeyId, Value)> = losses(ctx).iter().map(|l| (l.key, l.value)).collect();
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut unseen: Vec<_> = k
            .sends
            .iter()
            .filter(|(v, s)| {
                s.outcome == Outcome::Ok
                    && !k.first_read.contains_key(v)
                    && !lost.contains(&(key, **v))
            })
            .map(|(&v, s)| (s.op, v, s.acked_offset))
            .collect();
        unseen.sort_unstable();
        for (op, value, offset) in unseen {
            let at = offset.map_or("without an offset".to_owned(), |o| format!("at offset {o}"));
            out.push(ctx.finding(
                AnomalyKind::Unseen,
                key,
                Some(value),
                offset,
                &[op],
                format!(
                    "value {value} was acknowledged {at} of key {} by op {} but no poll ever read it; no read proves it missing, so the consumers may just not have reached it",
                    ctx.key_name(key),
                    ctx.line(op)
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

    // Goal: an acked, unread send is unseen; once read, it is not; once proven lost, it
    // is lost-write instead.
    #[test]
    fn unread_ack_is_unseen_until_read_or_proven_lost() {
        let mut s = Script::default();
        s.send(0, "0", 17, 42);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ops, vec![1]);

        let mut read = Script::default();
        read.send(0, "0", 17, 42).poll(1, "0", &[(42, 17)]);
        assert!(run(detect, &read.build()).is_empty());

        let mut lost = Script::default();
        lost.send(0, "0", 17, 42)
            .send(0, "0", 18, 43)
            .poll(1, "0", &[(41, 16), (43, 18)]);
        assert!(run(detect, &lost.build()).is_empty());
    }
}
