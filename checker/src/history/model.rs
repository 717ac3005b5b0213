//! The in-memory history model: what a `history.jsonl` means once each invocation has been
//! paired with its completion (see `shared/HISTORY.md`).
//!
//! Every analysis works on these types, never on JSON. They are compact on purpose: a
//! history of a million operations must fit comfortably in memory (keys are interned, a
//! value is an `i64`, a poll keeps only `(offset, value)` pairs).

use serde::{Deserialize, Serialize};

/// A record's position in a partition log (Kafka offsets are `i64`).
pub type Offset = i64;

/// A value the harness sent; unique per key within one history.
pub type Value = i64;

/// The `index` field of a history line: the position of that line among operation lines.
pub type LineIndex = u64;

/// Nanoseconds since the test started, from a monotonic clock.
pub type Nanos = u64;

/// An interned key (one partition). Keys are interned so that the hot loops of the
/// analyses compare integers instead of strings; [`KeyTable`] maps them back to names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

/// The names of the keys seen in a history, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    names: Vec<String>,
    ids: rustc_hash::FxHashMap<String, KeyId>,
}

impl KeyTable {
    /// The id of `name`, interning it on first sight.
    pub fn intern(&mut self, name: &str) -> KeyId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = KeyId(u32::try_from(self.names.len()).expect("fewer than 2^32 keys"));
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// The id of `name` if it was seen.
    pub fn get(&self, name: &str) -> Option<KeyId> {
        self.ids.get(name).copied()
    }

    /// The name of an interned key.
    pub fn name(&self, id: KeyId) -> &str {
        &self.names[id.0 as usize]
    }

    /// How many distinct keys the history mentions.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the history mentions no key at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every key id, in order of first appearance.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        (0..self.names.len() as u32).map(KeyId)
    }
}

/// The properties a run's configuration promises (HISTORY.md, "Header"). An anomaly that
/// violates a property not promised is reported but does not make the history invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guarantees {
    /// acks=all with unclean election off: no acknowledged write may be lost.
    pub no_loss: bool,
    /// Idempotent producer (KIP-98): no record written twice.
    pub no_duplicates: bool,
    /// Idempotent producer: per-partition order of one session's sends is kept.
    pub ordered: bool,
    /// The per-partition log is linearizable.
    pub linearizable: bool,
}

impl Default for Guarantees {
    /// A history without a header is checked against all four properties.
    fn default() -> Self {
        Guarantees {
            no_loss: true,
            no_duplicates: true,
            ordered: true,
            linearizable: true,
        }
    }
}

/// The optional first line of a history.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The `format` string, e.g. `samsa-history/1`.
    pub format: String,
    /// The test's name, if given.
    pub test: Option<String>,
    /// What the run's configuration promises.
    pub guarantees: Guarantees,
    /// Keys of the header this version does not know; kept, never interpreted.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// How an operation ended (the `type` of its completion line). Its names are those of
/// [`super::line::LineType`], the one table of `type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: it may or may not have happened (also an invoke never completed).
    Info,
}

/// What a client operation does (its `f`). The names written in a history are those of
/// [`FUNCTIONS`], the one table every reader and writer of `f` uses; adding a client
/// operation type is a variant here and a row there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// Produce one record.
    Send,
    /// Consume (one `poll` call of a consumer).
    Poll,
    /// Several sends and polls in one transaction (KIP-98 transactions, later).
    Txn,
    /// Manual partition assignment; resets the consumer's position.
    Assign,
    /// Group subscription; resets the consumer's position.
    Subscribe,
    /// The client was torn down and re-created (a new producer session follows).
    Crash,
}

/// Every client function with the `f` it is written as, in the order of the variants of
/// [`Function`] (a report numbers them by this position).
pub const FUNCTIONS: [(Function, &str); 6] = [
    (Function::Send, "send"),
    (Function::Poll, "poll"),
    (Function::Txn, "txn"),
    (Function::Assign, "assign"),
    (Function::Subscribe, "subscribe"),
    (Function::Crash, "crash"),
];

impl Function {
    /// The `f` this function is written as in a history line.
    pub fn name(self) -> &'static str {
        FUNCTIONS[self.position()].1
    }

    /// The client function written as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Function> {
        FUNCTIONS.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// This function's row in [`FUNCTIONS`].
    pub fn position(self) -> usize {
        self as usize
    }

    /// Every client function, in table order.
    pub fn all() -> impl Iterator<Item = Function> {
        FUNCTIONS.iter().map(|(f, _)| *f)
    }

    /// Whether the value of this function is a list of micro-operations (`send`, `poll`,
    /// `txn`) rather than an assignment (`assign`, `subscribe`) or nothing (`crash`).
    pub fn has_mops(self) -> bool {
        matches!(self, Function::Send | Function::Poll | Function::Txn)
    }

    /// Whether the value of this function is an assignment (`assign`, `subscribe`).
    pub fn has_assignment(self) -> bool {
        matches!(self, Function::Assign | Function::Subscribe)
    }
}

impl Serialize for Function {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Function {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Function::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown client function {name:?}")))
    }
}

impl Outcome {
    /// Every outcome, in the order of the variants (a report numbers them by position).
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

    /// The `type` of the completion line that ends so.
    pub fn name(self) -> &'static str {
        super::line::LineType::from(self).name()
    }

    /// This outcome's position in [`Outcome::ALL`].
    pub fn position(self) -> usize {
        self as usize
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One micro-operation inside an operation's `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicroOp {
    /// `["send", key, v]`, or at `ok` `["send", key, [offset, v]]` (offset may be null).
    Send {
        /// The partition written.
        key: KeyId,
        /// The value written.
        value: Value,
        /// Where the broker said it wrote it; `None` before completion or when not told.
        offset: Option<Offset>,
    },
    /// `["poll"]`, or at `ok` `["poll", {key: [[offset, v], ...]}]`.
    Poll {
        /// What was read, per key, in the order the consumer returned it.
        reads: Vec<KeyRead>,
    },
}

/// The records one poll returned for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRead {
    /// The partition read.
    pub key: KeyId,
    /// `(offset, value)` pairs in the order returned.
    pub records: Vec<(Offset, Value)>,
}

/// The value of an `assign` or `subscribe`: which keys, and whether the consumer was moved
/// to the beginning of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The keys assigned or subscribed.
    pub keys: Vec<KeyId>,
    /// Whether the consumer seeks to the beginning of each key.
    pub seek_to_beginning: bool,
    /// For a final read: each key's log end offset (the next offset to be written that a
    /// consumer may read: the high watermark, or the last stable offset under
    /// read_committed) when the read began, by ListOffsets. A final read that reaches
    /// `end - 1` has read everything the log held, which judges sends acknowledged
    /// without an offset (acks=0). Empty when not recorded.
    pub end_offsets: Vec<(KeyId, Offset)>,
}

/// A client operation: one invocation paired with its completion.
///
/// Positions are the history's own `index` values so witnesses can name lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The client process that ran it (one outstanding operation per process).
    pub process: u64,
    /// What it does.
    pub f: Function,
    /// How it ended; an invoke never completed is `Info`.
    pub outcome: Outcome,
    /// `index` of the invoke line.
    pub invoke_index: LineIndex,
    /// `index` of the completion line; `None` if the invoke was left open.
    pub complete_index: Option<LineIndex>,
    /// `time` of the invoke.
    pub invoke_time: Nanos,
    /// `time` of the completion; `None` if left open (it may take effect any time later).
    pub complete_time: Option<Nanos>,
    /// The micro-operations: the completion's value when `Ok`, else the invoke's.
    pub mops: Vec<MicroOp>,
    /// The value of an `assign`/`subscribe`. Boxed because few operations have one: an
    /// inline `Assignment` would add 48 bytes to every one of millions of operations.
    pub assignment: Option<Box<Assignment>>,
    /// The producer session that handled a send, if recorded.
    pub producer: Option<u64>,
    /// Why a `fail` or `info` ended so.
    pub error: Option<String>,
    /// Set on the final reads made after the faults healed.
    pub is_final: bool,
}

impl Op {
    /// The indices that name this operation in a witness: invoke, and completion if any.
    pub fn witness(&self) -> Vec<LineIndex> {
        let mut w = vec![self.invoke_index];
        w.extend(self.complete_index);
        w
    }
}

/// A fault the nemesis started or stopped (process `"nemesis"`), or an event the harness
/// itself recorded (process `"harness"`, e.g. a watchdog); kept for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct NemesisEvent {
    /// The line's `index`.
    pub index: LineIndex,
    /// The line's `time`.
    pub time: Nanos,
    /// `start-partition`, `kill`, ...
    pub f: String,
    /// The targets, as recorded.
    pub value: serde_json::Value,
    /// Why a fault was not applied, or what a harness note says, if recorded.
    pub error: Option<String>,
}

/// A whole history, paired and interned: the input of every analysis.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The header line, if the history has one.
    pub header: Option<Header>,
    /// The keys mentioned.
    pub keys: KeyTable,
    /// Client operations in the order of their invoke lines.
    pub ops: Vec<Op>,
    /// Nemesis operations in file order.
    pub nemesis: Vec<NemesisEvent>,
    /// Events of the harness itself (process `"harness"`) in file order: never faults,
    /// never client operations.
    pub harness_events: Vec<NemesisEvent>,
    /// How many operation lines (not counting the header) the file held.
    pub line_count: u64,
}

impl History {
    /// The properties to check: the header's, or all four without a header.
    pub fn guarantees(&self) -> Guarantees {
        self.header
            .as_ref()
            .map(|h| h.guarantees)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: an operation stays small, since a long soak's history holds ten million of
    // them. Method: the size of `Op`; the regression it guards is an inline `Assignment`
    // (56 bytes) or another large field added to every operation.
    #[test]
    fn an_operation_stays_compact() {
        assert!(
            std::mem::size_of::<Op>() <= 136,
            "{}",
            std::mem::size_of::<Op>()
        );
        assert_eq!(std::mem::size_of::<MicroOp>(), 32);
    }
}
