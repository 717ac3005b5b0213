//! `duplicate`: one (key, value) at two or more offsets of the key, by acknowledgements or
//! polls (HISTORY.md). Violates `no_duplicates`: the idempotent producer (KIP-98) exists to
//! stop a retried batch from being appended twice. A value sent `info` and read at two
//! offsets is still a duplicate.

use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every value observed at more than one offset.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut dups: Vec<_> = k
            .offsets_of_value
            .iter()
            .filter(|(_, s)| s.len() > 1)
            .collect();
        dups.sort_unstable_by_key(|(v, s)| (s.first().1, **v));
        for (&value, slot) in dups {
            let mut seen: Vec<_> = slot.iter().collect();
            seen.sort_unstable();
            let where_: Vec<String> = seen
                .iter()
                .map(|(o, op)| format!("offset {o} (op {})", ctx.line(*op)))
                .collect();
            let ops: Vec<_> = seen.iter().map(|(_, op)| *op).collect();
            out.push(ctx.finding(
                AnomalyKind::Duplicate,
                key,
                Some(value),
                Some(seen[0].0),
                &ops,
                format!(
                    "value {value} of key {} appears at {} offsets: {}",
                    ctx.key_name(key),
                    seen.len(),
                    where_.join(", ")
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

    // Goal: a value read at two offsets is a duplicate, also when its send was info;
    // the same value read twice at one offset is not.
    #[test]
    fn value_at_two_offsets_is_a_duplicate() {
        let mut s = Script::default();
        s.send_invoke(0, "0", 17).send_end(0, "info", "0", 17);
        s.poll(1, "0", &[(42, 17), (43, 17)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].value, found[0].offset), (Some(17), Some(42)));

        let mut twin = Script::default();
        twin.send(0, "0", 17, 42)
            .poll(1, "0", &[(42, 17)])
            .poll(2, "0", &[(42, 17)]);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
