//! `int-nonmonotonic-send`: inside one transaction, a send to a key was acknowledged at an
//! offset at or below that of an earlier send of the same transaction to that key
//! (HISTORY.md; Jepsen's kafka checker). A producer appends a transaction's records in the
//! order it sends them. Violates `ordered`.

use super::txn_sends::{walk, SendStep};
use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every backwards step between successive sends of one transaction.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(ctx, |SendStep { key, from, to, op }| {
        if to.0 > from.0 {
            return;
        }
        out.push(ctx.finding(
            AnomalyKind::IntNonmonotonicSend,
            key,
            Some(to.1),
            Some(to.0),
            &[op],
            format!(
                "transaction op {} sent value {} (acknowledged at offset {}) before value {} (acknowledged at offset {}) to key {}",
                ctx.line(op),
                from.1,
                from.0,
                to.1,
                to.0,
                ctx.key_name(key)
            ),
        ));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, Script};
    use super::*;

    // Goal: a txn's later send at a lower offset is flagged; in order it is not.
    #[test]
    fn a_transactions_sends_out_of_order_are_flagged() {
        let invoke = r#"[["send", "0", 1], ["send", "0", 2]]"#;
        let mut s = Script::default();
        s.txn(
            0,
            invoke,
            r#"[["send", "0", [11, 1]], ["send", "0", [10, 2]]]"#,
        );
        assert_eq!(run(detect, &s.build()).len(), 1);

        let mut twin = Script::default();
        twin.txn(
            0,
            invoke,
            r#"[["send", "0", [10, 1]], ["send", "0", [11, 2]]]"#,
        );
        assert!(run(detect, &twin.build()).is_empty());
    }
}
