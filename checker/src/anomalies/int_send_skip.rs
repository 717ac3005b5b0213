//! `int-send-skip`: inside one transaction, two successive sends to one key were
//! acknowledged at offsets with another known record between them (HISTORY.md; Jepsen's
//! kafka checker). Another producer's record landed inside the transaction's run of the
//! log. Violates `ordered`.

use super::txn_sends::{walk, SendStep};
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every skip between successive sends of one transaction.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(ctx, |SendStep { key, from, to, op }| {
        let k = ctx.index.key(key);
        let Some(between) = k.known_offset_between(from.0, to.0) else {
            return;
        };
        let other = k.values_at_offset.get(&between).map(|s| s.first().0);
        out.push(ctx.finding(
            AnomalyKind::IntSendSkip,
            key,
            other,
            Some(between),
            &[op],
            format!(
                "transaction op {} sent value {} at offset {} and value {} at offset {} of key {}, but offset {between} between them holds value {}",
                ctx.line(op),
                from.1,
                from.0,
                to.1,
                to.0,
                ctx.key_name(key),
                other.map_or("?".to_owned(), |v| v.to_string())
            ),
        ));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: a foreign record between a txn's sends is flagged; adjacent sends are not.
    #[test]
    fn a_record_between_a_transactions_sends_is_a_skip() {
        let invoke = r#"[["send", "0", 1], ["send", "0", 2]]"#;
        let mut s = Script::default();
        s.txn(
            0,
            invoke,
            r#"[["send", "0", [10, 1]], ["send", "0", [12, 2]]]"#,
        );
        s.send(1, "0", 3, 11);
        assert_eq!(run(detect, &s.build()).len(), 1);

        let mut twin = Script::default();
        twin.txn(
            0,
            invoke,
            r#"[["send", "0", [10, 1]], ["send", "0", [11, 2]]]"#,
        );
        twin.send(1, "0", 3, 12);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
