//! One history line as an owned, typed value (docs/history-format.md, "Operations"): what
//! the harness's recorder writes, what tests, synthetic histories and tools build, and
//! what any of them reads back when it needs a line rather than a paired [`History`].
//!
//! The names of `type`, `f` (client functions, [`super::model::FUNCTIONS`]) and `process`
//! are defined once, here and in the model, and the streaming reader ([`super::read`])
//! decodes into the same enums; it keeps its own zero-copy field-by-field path so that a
//! 1 GB history stays cheap and every error names its field.
//!
//! [`History`]: super::model::History

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::model::{Function, Guarantees, Header, LineIndex, Nanos, Offset, Outcome, Value};

/// The `format` of the header this version writes.
pub const FORMAT: &str = "samsa-history/1";

/// The `process` of fault lines.
pub const NEMESIS: &str = "nemesis";
/// The `process` of the harness's own notes.
pub const HARNESS: &str = "harness";

/// Who performed an operation (`process`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Process {
    /// A client process (one outstanding operation at a time).
    Client(u64),
    /// The fault injector; its lines are always of type `info`.
    Nemesis,
    /// The harness itself (notes such as a watchdog's), never an operation on the broker;
    /// always of type `info`.
    Harness,
}

impl Process {
    /// The text of a non-client process, `None` for a client.
    pub fn event_name(self) -> Option<&'static str> {
        match self {
            Process::Client(_) => None,
            Process::Nemesis => Some(NEMESIS),
            Process::Harness => Some(HARNESS),
        }
    }

    /// The non-client process written as `name`, if it is one.
    pub fn from_event_name(name: &str) -> Option<Process> {
        [Process::Nemesis, Process::Harness]
            .into_iter()
            .find(|p| p.event_name() == Some(name))
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self, self.event_name()) {
            (Process::Client(p), _) => s.serialize_u64(*p),
            (_, name) => s.serialize_str(name.unwrap_or_default()),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) if n.is_u64() => {
                Ok(Process::Client(n.as_u64().unwrap_or_default()))
            }
            serde_json::Value::String(s) => Process::from_event_name(&s)
                .ok_or_else(|| de::Error::custom(format!("unknown process {s:?}"))),
            other => Err(de::Error::custom(format!(
                "process must be a non-negative integer, \"{NEMESIS}\" or \"{HARNESS}\", not {other}"
            ))),
        }
    }
}

/// The `type` of a history line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineType {
    /// The operation is about to be attempted.
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown whether it happened.
    Info,
}

/// Every `type` with its name: the one table of them.
pub const LINE_TYPES: [(LineType, &str); 4] = [
    (LineType::Invoke, "invoke"),
    (LineType::Ok, "ok"),
    (LineType::Fail, "fail"),
    (LineType::Info, "info"),
];

impl LineType {
    /// The name written in `type`.
    pub fn name(self) -> &'static str {
        LINE_TYPES[self as usize].1
    }

    /// The type written as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<LineType> {
        LINE_TYPES.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    /// How an operation completed by a line of this type ended; `None` for an invoke.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            LineType::Invoke => None,
            LineType::Ok => Some(Outcome::Ok),
            LineType::Fail => Some(Outcome::Fail),
            LineType::Info => Some(Outcome::Info),
        }
    }
}

impl From<Outcome> for LineType {
    fn from(o: Outcome) -> LineType {
        match o {
            Outcome::Ok => LineType::Ok,
            Outcome::Fail => LineType::Fail,
            Outcome::Info => LineType::Info,
        }
    }
}

impl Serialize for LineType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for LineType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        LineType::from_name(&name)
            .ok_or_else(|| de::Error::custom(format!("unknown type {name:?}")))
    }
}

/// The `f` of a line: a client function, or the name of a fault or harness event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LineFunction {
    /// `send`, `poll`, ... (only on client lines).
    Client(Function),
    /// `start-partition`, `kill`, `watchdog`, ... (only on nemesis and harness lines).
    Event(String),
}

impl LineFunction {
    /// The name written in `f`.
    pub fn name(&self) -> &str {
        match self {
            LineFunction::Client(f) => f.name(),
            LineFunction::Event(name) => name,
        }
    }
}

impl From<Function> for LineFunction {
    fn from(f: Function) -> LineFunction {
        LineFunction::Client(f)
    }
}

impl Serialize for LineFunction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One micro-operation of a `send`, `poll` or `txn` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mop {
    /// `["send", key, v]`: a send not (yet) acknowledged.
    Send {
        /// The partition.
        key: String,
        /// The value.
        value: Value,
    },
    /// `["send", key, [offset, v]]`: an acknowledged send; `offset` is `null` when the
    /// broker did not say where (acks=0).
    Sent {
        /// The partition.
        key: String,
        /// Where the broker wrote it, if it said.
        offset: Option<Offset>,
        /// The value.
        value: Value,
    },
    /// `["poll"]`: a poll not (yet) completed.
    Poll,
    /// `["poll", {key: [[offset, v], ...], ...}]`: what a poll returned, per key in the
    /// order written.
    Polled {
        /// Per key, its `(offset, value)` records.
        reads: Vec<(String, Vec<(Offset, Value)>)>,
    },
}

/// The micro-operation tag of a send (`["send", ...]`).
pub const MOP_SEND: &str = "send";
/// The micro-operation tag of a poll (`["poll", ...]`).
pub const MOP_POLL: &str = "poll";

/// `{key: records, ...}` written in the order given.
struct ReadsMap<'a>(&'a [(String, Vec<(Offset, Value)>)]);

impl Serialize for ReadsMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, records) in self.0 {
            map.serialize_entry(key, records)?;
        }
        map.end()
    }
}

impl Serialize for Mop {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = match self {
            Mop::Poll => 1,
            Mop::Polled { .. } => 2,
            Mop::Send { .. } | Mop::Sent { .. } => 3,
        };
        let mut seq = s.serialize_seq(Some(len))?;
        match self {
            Mop::Send { key, value } => {
                seq.serialize_element(MOP_SEND)?;
                seq.serialize_element(key)?;
                seq.serialize_element(value)?;
            }
            Mop::Sent { key, offset, value } => {
                seq.serialize_element(MOP_SEND)?;
                seq.serialize_element(key)?;
                seq.serialize_element(&(offset, value))?;
            }
            Mop::Poll => seq.serialize_element(MOP_POLL)?,
            Mop::Polled { reads } => {
                seq.serialize_element(MOP_POLL)?;
                seq.serialize_element(&ReadsMap(reads))?;
            }
        }
        seq.end()
    }
}

/// `v` or `[offset, v]` after a send's key.
#[derive(Deserialize)]
#[serde(untagged)]
enum SendArg {
    Value(Value),
    Ack(Option<Offset>, Value),
}

/// `{key: records, ...}` read in the order written.
struct OrderedReads(Vec<(String, Vec<(Offset, Value)>)>);

impl<'de> Deserialize<'de> for OrderedReads {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = OrderedReads;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of key to [[offset, value], ...]")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedReads, A::Error> {
                let mut reads = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    reads.push(entry);
                }
                Ok(OrderedReads(reads))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Mop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Mop;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a micro-operation ["send", key, v] or ["poll", {...}]"#)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Mop, A::Error> {
                let tag: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("empty micro-operation"))?;
                let mop = match tag.as_str() {
                    MOP_SEND => {
                        let key: String = seq
                            .next_element()?
                            .ok_or_else(|| de::Error::custom("send without a key"))?;
                        match seq.next_element()? {
                            Some(SendArg::Value(value)) => Mop::Send { key, value },
                            Some(SendArg::Ack(offset, value)) => Mop::Sent { key, offset, value },
                            None => return Err(de::Error::custom("send without a value")),
                        }
                    }
                    MOP_POLL => match seq.next_element::<OrderedReads>()? {
                        Some(OrderedReads(reads)) => Mop::Polled { reads },
                        None => Mop::Poll,
                    },
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown micro-operation {other:?}"
                        )))
                    }
                };
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("too many elements in micro-operation"));
                }
                Ok(mop)
            }
        }
        d.deserialize_seq(V)
    }
}

/// The value of `assign` and `subscribe`: `{"keys": [...], "seek_to_beginning": bool}`,
/// and for the assign that begins a final read, each key's log end offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignValue {
    /// The partitions assigned or subscribed.
    pub keys: Vec<String>,
    /// Whether the consumer seeks to the beginning of each.
    #[serde(default)]
    pub seek_to_beginning: bool,
    /// Final reads only: each key's log end offset (ListOffsets) when the read began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_offsets: Option<BTreeMap<String, Offset>>,
}

/// The `value` of a line, shaped by its `f`.
#[derive(Debug, Clone, PartialEq)]
pub enum LineValue {
    /// `send`, `poll`, `txn`: the micro-operations.
    Mops(Vec<Mop>),
    /// `assign`, `subscribe`.
    Assignment(AssignValue),
    /// Anything else as written: `null` for `crash`, a fault's targets, a note's details.
    Other(serde_json::Value),
}

impl LineValue {
    /// `[["send", key, v]]`: a send's invoke (and a failed or unknown one's completion).
    pub fn send(key: impl Into<String>, value: Value) -> LineValue {
        LineValue::Mops(vec![Mop::Send {
            key: key.into(),
            value,
        }])
    }

    /// `[["send", key, [offset, v]]]`: an acknowledged send.
    pub fn sent(key: impl Into<String>, offset: Option<Offset>, value: Value) -> LineValue {
        LineValue::Mops(vec![Mop::Sent {
            key: key.into(),
            offset,
            value,
        }])
    }

    /// `[["poll"]]`: a poll's invoke (and a failed one's completion).
    pub fn poll() -> LineValue {
        LineValue::Mops(vec![Mop::Poll])
    }

    /// `[["poll", {key: [[offset, v], ...]}]]`: what a poll returned.
    pub fn polled(reads: Vec<(String, Vec<(Offset, Value)>)>) -> LineValue {
        LineValue::Mops(vec![Mop::Polled { reads }])
    }

    /// `{"keys": [...], "seek_to_beginning": bool}`.
    pub fn assign(keys: Vec<String>, seek_to_beginning: bool) -> LineValue {
        LineValue::Assignment(AssignValue {
            keys,
            seek_to_beginning,
            end_offsets: None,
        })
    }

    /// `null`.
    pub fn null() -> LineValue {
        LineValue::Other(serde_json::Value::Null)
    }

    /// The value of a line with function `f`, read from its JSON text: the typed shape
    /// when it fits, the JSON as is otherwise (e.g. a `null` value of an unknown send).
    pub fn from_json(f: &LineFunction, json: &str) -> Result<LineValue, serde_json::Error> {
        let typed = match f {
            LineFunction::Client(f) if f.has_mops() => serde_json::from_str::<Vec<Mop>>(json)
                .ok()
                .map(LineValue::Mops),
            LineFunction::Client(f) if f.has_assignment() => {
                serde_json::from_str(json).ok().map(LineValue::Assignment)
            }
            _ => None,
        };
        match typed {
            Some(v) => Ok(v),
            None => serde_json::from_str(json).map(LineValue::Other),
        }
    }
}

impl Serialize for LineValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LineValue::Mops(mops) => mops.serialize(s),
            LineValue::Assignment(a) => a.serialize(s),
            LineValue::Other(v) => v.serialize(s),
        }
    }
}

/// One operation line, fields in the order docs/history-format.md lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LineRepr")]
pub struct Line {
    /// 0, 1, 2, ... in file order.
    pub index: LineIndex,
    /// Nanoseconds since the test started (monotonic; never decreases).
    pub time: Nanos,
    /// RFC 3339 wall-clock time, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall: Option<String>,
    /// Who performed it.
    pub process: Process,
    /// `invoke`, `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: LineType,
    /// What it does.
    pub f: LineFunction,
    /// Its value, shaped by `f`.
    pub value: LineValue,
    /// Why a `fail` or `info` ended so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The producer session that handled a send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<u64>,
    /// Set on the final reads made after the faults healed.
    #[serde(rename = "final", skip_serializing_if = "is_false")]
    pub is_final: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A line as JSON shapes it, before `f` decides how to read `value`.
#[derive(Deserialize)]
struct LineRepr {
    index: LineIndex,
    time: Nanos,
    #[serde(default)]
    wall: Option<String>,
    process: Process,
    #[serde(rename = "type")]
    kind: LineType,
    f: String,
    #[serde(default)]
    value: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    producer: Option<u64>,
    #[serde(default, rename = "final")]
    is_final: bool,
}

/// Why a JSON line is not an operation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineShapeError(String);

impl fmt::Display for LineShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<LineRepr> for Line {
    type Error = LineShapeError;

    fn try_from(r: LineRepr) -> Result<Line, LineShapeError> {
        let f = match (r.process, Function::from_name(&r.f)) {
            (Process::Client(_), Some(f)) => LineFunction::Client(f),
            (Process::Client(_), None) => {
                return Err(LineShapeError(format!("unknown client function {:?}", r.f)))
            }
            _ => LineFunction::Event(r.f),
        };
        Ok(Line {
            index: r.index,
            time: r.time,
            wall: r.wall,
            process: r.process,
            kind: r.kind,
            value: match &r.value {
                Some(raw) => LineValue::from_json(&f, raw.get())
                    .map_err(|e| LineShapeError(format!("value: {e}")))?,
                None => LineValue::null(),
            },
            f,
            error: r.error.map(|e| match e {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            producer: r.producer,
            is_final: r.is_final,
        })
    }
}

impl Line {
    /// A client line with no optional field set.
    pub fn client(
        index: LineIndex,
        time: Nanos,
        process: u64,
        kind: LineType,
        f: Function,
        value: LineValue,
    ) -> Line {
        Line {
            index,
            time,
            wall: None,
            process: Process::Client(process),
            kind,
            f: LineFunction::Client(f),
            value,
            error: None,
            producer: None,
            is_final: false,
        }
    }

    /// The line as one JSON text, without the newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a line always serializes")
    }
}

/// A whole history as JSON Lines text: the header (if any), then `lines` in the order
/// given, each ended by a newline.
pub fn to_jsonl(header: Option<&HeaderLine>, lines: &[Line]) -> String {
    let mut text = String::new();
    if let Some(h) = header {
        text.push_str(&serde_json::to_string(h).expect("a header always serializes"));
        text.push('\n');
    }
    for line in lines {
        text.push_str(&line.to_json());
        text.push('\n');
    }
    text
}

/// The optional first line: `{"format": "samsa-history/1", "test": ..., "guarantees":
/// {...}}`, plus any other keys, kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderLine {
    /// [`FORMAT`] for histories this version writes.
    pub format: String,
    /// The test's name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// What the run's configuration promises.
    #[serde(default)]
    pub guarantees: Guarantees,
    /// Other keys: kept, never interpreted.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl HeaderLine {
    /// The header of a run of `test` with the properties its configuration promises.
    pub fn new(test: Option<String>, guarantees: Guarantees) -> HeaderLine {
        HeaderLine {
            format: FORMAT.to_owned(),
            test,
            guarantees,
            extra: serde_json::Map::new(),
        }
    }
}

impl From<&Header> for HeaderLine {
    fn from(h: &Header) -> HeaderLine {
        HeaderLine {
            format: h.format.clone(),
            test: h.test.clone(),
            guarantees: h.guarantees,
            extra: h.extra.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: every table maps names both ways and matches the variants' order.
    #[test]
    fn name_tables_round_trip() {
        for (i, (f, name)) in super::super::model::FUNCTIONS.iter().enumerate() {
            assert_eq!(f.position(), i);
            assert_eq!(f.name(), *name);
            assert_eq!(Function::from_name(name), Some(*f));
        }
        for (t, name) in LINE_TYPES {
            assert_eq!(t.name(), name);
            assert_eq!(LineType::from_name(name), Some(t));
        }
        assert_eq!(Function::from_name("drop"), None);
        assert_eq!(LineType::from_name("done"), None);
        assert_eq!(Outcome::Fail.name(), "fail");
    }

    // Goal: the documented example lines read into the typed shape and write back to the
    // same JSON.
    #[test]
    fn documented_lines_round_trip() {
        for text in [
            r#"{"index":0,"time":1200,"process":0,"type":"invoke","f":"send","value":[["send","0",17]]}"#,
            r#"{"index":1,"time":5400,"process":0,"type":"ok","f":"send","value":[["send","0",[42,17]]],"producer":3}"#,
            r#"{"index":1,"time":5400,"process":0,"type":"ok","f":"send","value":[["send","0",[null,17]]]}"#,
            r#"{"index":2,"time":6000,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}"#,
            r#"{"index":3,"time":9100,"process":1,"type":"ok","f":"poll","value":[["poll",{"1":[[41,16]],"0":[[42,17]]}]]}"#,
            r#"{"index":4,"time":9500,"process":"nemesis","type":"info","f":"start-partition","value":{"n1":["n2","n3"]}}"#,
            r#"{"index":5,"time":9900,"process":"harness","type":"info","f":"watchdog","value":"quiet","error":"no ok"}"#,
            r#"{"index":6,"time":9901,"process":2,"type":"invoke","f":"assign","value":{"keys":["0"],"seek_to_beginning":true,"end_offsets":{"0":5}},"final":true}"#,
            r#"{"index":7,"time":9902,"process":3,"type":"info","f":"crash","value":null,"error":"re-created","producer":4}"#,
        ] {
            let line: Line = serde_json::from_str(text).unwrap();
            assert!(
                !matches!(line.f, LineFunction::Client(_))
                    || !matches!(line.value, LineValue::Other(_))
                    || line.f == LineFunction::Client(Function::Crash),
                "{text}: value not typed"
            );
            assert_eq!(line.to_json(), text);
        }
    }

    // Goal: a client line with an unknown function is refused, a nemesis one is not.
    #[test]
    fn unknown_client_function_is_refused() {
        let bad = r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"drop","value":null}"#;
        let err = serde_json::from_str::<Line>(bad).unwrap_err();
        assert!(err.to_string().contains("\"drop\""), "{err}");
        let ok =
            r#"{"index":0,"time":1,"process":"nemesis","type":"info","f":"drop","value":null}"#;
        assert!(serde_json::from_str::<Line>(ok).is_ok());
    }
}
