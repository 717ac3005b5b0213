//! `inconsistent-offsets`: one (key, offset) observed holding two different values, by
//! acknowledgements or polls (HISTORY.md). A partition log is append-only: an offset, once
//! assigned, names one record forever, so two values there mean a log was truncated and
//! rewritten (e.g. an unclean leader election). Violates `no_loss`.

use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every offset observed with more than one value.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut bad: Vec<_> = k
            .values_at_offset
            .iter()
            .filter(|(_, s)| s.len() > 1)
            .collect();
        bad.sort_unstable_by_key(|(o, _)| *o);
        for (offset, slot) in bad {
            let seen: Vec<_> = slot.iter().collect();
            let what: Vec<String> = seen
                .iter()
                .map(|(v, op)| format!("{v} (op {})", ctx.line(*op)))
                .collect();
            let ops: Vec<_> = seen.iter().map(|(_, op)| *op).collect();
            out.push(ctx.finding(
                AnomalyKind::InconsistentOffsets,
                key,
                None,
                Some(offset),
                &ops,
                format!(
                    "offset {offset} of key {} was observed holding {} different values: {}",
                    ctx.key_name(key),
                    seen.len(),
                    what.join(", ")
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

    // Goal: an ack and a poll disagreeing on an offset's value are flagged; agreeing are not.
    #[test]
    fn two_values_at_one_offset_are_inconsistent() {
        let mut s = Script::default();
        s.send(0, "0", 17, 42)
            .send(0, "0", 18, 43)
            .poll(1, "0", &[(42, 18)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].offset, found[0].ops.clone()),
            (Some(42), vec![1, 5])
        );

        let mut twin = Script::default();
        twin.send(0, "0", 17, 42)
            .send(0, "0", 18, 43)
            .poll(1, "0", &[(42, 17), (43, 18)]);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
