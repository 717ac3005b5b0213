//! The single list of anomalies samsa names (HISTORY.md, "Anomalies"), what each violates,
//! and [`Finding`], one witnessed occurrence.
//!
//! Rules that are data stay data: which property an anomaly violates is a table here, not
//! a scattered `if` in the detectors or the verdict.

use serde::Serialize;

use crate::history::model::{LineIndex, Offset, Value};

/// A property a Kafka configuration may promise (HISTORY.md, the guarantees table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// No acknowledged write lost (acks=all, unclean election off).
    NoLoss,
    /// No record written twice (idempotent producer, KIP-98).
    NoDuplicates,
    /// Per-partition order kept (idempotent producer).
    Ordered,
    /// The per-partition log is linearizable.
    Linearizable,
}

/// Every anomaly samsa can report. Adding one means adding a variant here and a detector
/// under `anomalies/`; names and violated properties are in [`AnomalyKind::ALL`]'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// An acknowledged send is missing from a log that must contain it.
    LostWrite,
    /// An acknowledged send never observed, with no read reaching past it.
    Unseen,
    /// One (key, value) at two or more offsets.
    Duplicate,
    /// One (key, offset) observed with two different values.
    InconsistentOffsets,
    /// A poll returned a value whose send failed.
    AbortedRead,
    /// A poll returned a value never sent at that key.
    PhantomRead,
    /// Sends acknowledged at offsets contrary to session or real-time order.
    NonmonotonicSend,
    /// Successive polls of one consumer skipped offsets holding known values.
    PollSkip,
    /// A consumer's poll started at or before where its previous poll ended.
    NonmonotonicPoll,
    /// `poll-skip` inside one poll.
    IntPollSkip,
    /// `nonmonotonic-poll` inside one poll.
    IntNonmonotonicPoll,
    /// A skip between sends inside one transaction.
    IntSendSkip,
    /// Decreasing offsets between sends inside one transaction.
    IntNonmonotonicSend,
    /// No real-time-consistent total order explains the history as append-only logs.
    Nonlinearizable,
    /// Adya's G0: a cycle of write-write dependencies (write cycle).
    G0,
    /// Adya's G1c: a cycle of write-write and write-read dependencies.
    G1c,
    /// A cycle with exactly one read-write anti-dependency.
    GSingle,
    /// A cycle with one or more read-write anti-dependencies.
    G2,
}

/// One row of the anomaly table: its stable name and the property it violates.
struct AnomalyRow {
    kind: AnomalyKind,
    name: &'static str,
    violates: Option<Property>,
}

const TABLE: &[AnomalyRow] = &[
    row(AnomalyKind::LostWrite, "lost-write", Some(Property::NoLoss)),
    row(AnomalyKind::Unseen, "unseen", None),
    row(
        AnomalyKind::Duplicate,
        "duplicate",
        Some(Property::NoDuplicates),
    ),
    row(
        AnomalyKind::InconsistentOffsets,
        "inconsistent-offsets",
        Some(Property::NoLoss),
    ),
    row(
        AnomalyKind::AbortedRead,
        "aborted-read",
        Some(Property::NoLoss),
    ),
    row(
        AnomalyKind::PhantomRead,
        "phantom-read",
        Some(Property::NoLoss),
    ),
    row(
        AnomalyKind::NonmonotonicSend,
        "nonmonotonic-send",
        Some(Property::Ordered),
    ),
    row(AnomalyKind::PollSkip, "poll-skip", Some(Property::Ordered)),
    row(
        AnomalyKind::NonmonotonicPoll,
        "nonmonotonic-poll",
        Some(Property::Ordered),
    ),
    row(
        AnomalyKind::IntPollSkip,
        "int-poll-skip",
        Some(Property::Ordered),
    ),
    row(
        AnomalyKind::IntNonmonotonicPoll,
        "int-nonmonotonic-poll",
        Some(Property::Ordered),
    ),
    row(
        AnomalyKind::IntSendSkip,
        "int-send-skip",
        Some(Property::Ordered),
    ),
    row(
        AnomalyKind::IntNonmonotonicSend,
        "int-nonmonotonic-send",
        Some(Property::Ordered),
    ),
    row(
        AnomalyKind::Nonlinearizable,
        "nonlinearizable",
        Some(Property::Linearizable),
    ),
    row(AnomalyKind::G0, "G0", Some(Property::Linearizable)),
    row(AnomalyKind::G1c, "G1c", Some(Property::Linearizable)),
    row(
        AnomalyKind::GSingle,
        "G-single",
        Some(Property::Linearizable),
    ),
    row(AnomalyKind::G2, "G2", Some(Property::Linearizable)),
];

const fn row(kind: AnomalyKind, name: &'static str, violates: Option<Property>) -> AnomalyRow {
    AnomalyRow {
        kind,
        name,
        violates,
    }
}

impl AnomalyKind {
    /// Every kind, in the order reports list them.
    pub fn all() -> impl Iterator<Item = AnomalyKind> {
        TABLE.iter().map(|r| r.kind)
    }

    fn row(self) -> &'static AnomalyRow {
        TABLE
            .iter()
            .find(|r| r.kind == self)
            .expect("every AnomalyKind has a row in TABLE")
    }

    /// The stable identifier used in results and reports (HISTORY.md).
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The kind with this stable name.
    pub fn from_name(name: &str) -> Option<AnomalyKind> {
        TABLE.iter().find(|r| r.name == name).map(|r| r.kind)
    }

    /// The property it violates; `None` for anomalies reported but never a violation
    /// by themselves (`unseen`).
    pub fn violates(self) -> Option<Property> {
        self.row().violates
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One witnessed occurrence of an anomaly: where (key, value, offset), the operations that
/// prove it (by history `index`), and a sentence a broker developer can read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was found.
    #[serde(skip)]
    pub kind: AnomalyKind,
    /// The key (partition) concerned, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The offset concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<Offset>,
    /// The witness: history `index` values of the operations that prove it.
    pub ops: Vec<LineIndex>,
    /// One sentence explaining what happened.
    pub explanation: String,
    /// Anomaly-specific detail (e.g. the cycle's edges), `null` when there is none.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl Finding {
    /// A finding with only a kind, witness and explanation; set the rest with struct update.
    pub fn new(kind: AnomalyKind, ops: Vec<LineIndex>, explanation: String) -> Finding {
        Finding {
            kind,
            key: None,
            value: None,
            offset: None,
            ops,
            explanation,
            details: serde_json::Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the table is complete and names round-trip. Method: every kind has one row.
    #[test]
    fn every_kind_has_exactly_one_row_and_names_round_trip() {
        for kind in AnomalyKind::all() {
            assert_eq!(TABLE.iter().filter(|r| r.kind == kind).count(), 1);
            assert_eq!(AnomalyKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(AnomalyKind::all().count(), 18);
        assert_eq!(AnomalyKind::Unseen.violates(), None);
    }
}
