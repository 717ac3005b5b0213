//! `phantom-read`: a poll returned a value that was never sent at that key (HISTORY.md).
//! Values are unique per key, so such a record was invented or misrouted to the wrong
//! partition by the broker. Violates `no_loss` (the log holds something nobody wrote).

use super::Context;
use crate::anomaly::{AnomalyKind, Finding};

/// Reports every read of a value with no send at that key.
pub fn detect(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, k) in ctx.index.iter() {
        let mut bad: Vec<_> = k
            .first_read
            .iter()
            .filter(|(v, _)| !k.sends.contains_key(v))
            .map(|(&v, &reader)| (reader, v))
            .collect();
        bad.sort_unstable();
        for (reader, value) in bad {
            let offset = k.offsets_of_value.get(&value).map(|s| s.first().0);
            out.push(ctx.finding(
                AnomalyKind::PhantomRead,
                key,
                Some(value),
                offset,
                &[reader],
                format!(
                    "poll op {} read value {value} from key {}, but no operation ever sent {value} to that key",
                    ctx.line(reader),
                    ctx.key_name(key)
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

    // Goal: a value sent to another key is a phantom here; one sent here is not.
    #[test]
    fn reading_a_value_never_sent_to_the_key_is_a_phantom() {
        let mut s = Script::default();
        s.send(0, "1", 17, 0).poll(1, "0", &[(0, 17)]);
        let found = run(detect, &s.build());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key.as_deref(), Some("0"));

        let mut twin = Script::default();
        twin.send(0, "0", 17, 0).poll(1, "0", &[(0, 17)]);
        assert!(run(detect, &twin.build()).is_empty());
    }
}
