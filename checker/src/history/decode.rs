//! Decoding one history line: each field of a [`RawLine`] checked and turned into model
//! types, with an error naming the field when it is wrong (HISTORY.md, "Operations").
//!
//! This module knows the shape of one line only; pairing invokes with completions across
//! lines is [`super::pair`]'s job.

use serde_json::value::RawValue;

use super::error::LineProblem;
use super::line::AssignValue as RawAssignment;
pub(crate) use super::line::{LineType, Process};
use super::model::{
    Assignment, Function, Guarantees, Header, KeyRead, KeyTable, LineIndex, MicroOp, Nanos, Offset,
};
use super::raw::{FastLine, FastValue, RawLine, RawMop};

/// One line decoded as far as it can be without knowing the lines before it, so that
/// worker threads can decode lines in any order while [`super::pair::Builder`] still
/// applies them, and reports their errors, in file order.
///
/// Keys in `Client` payloads are ids of the decoding thread's own [`KeyTable`]; the
/// builder maps them to the history's ids when it takes the line.
pub(crate) enum Decoded {
    /// Only whitespace.
    Blank,
    /// The header (only ever decoded as the first non-blank line).
    Header(Header),
    /// A nemesis or harness line; its `f` is only reported wrong after the line's order
    /// is checked.
    Event {
        common: Common,
        source: EventSource,
        f: Result<String, FieldError>,
        value: serde_json::Value,
        error: Option<String>,
    },
    /// A client line.
    Client(ClientOp),
    /// A problem the line has whatever came before it.
    Error(FieldError),
}

/// A client line with its value decoded (when the builder will need it): what
/// [`super::pair::Builder`] pairs.
pub(crate) struct ClientOp {
    pub common: Common,
    pub process: u64,
    pub f: Function,
    pub error: Option<String>,
    pub producer: Option<u64>,
    pub is_final: bool,
    pub payload: Payload,
}

/// The decoded value of a client line. Errors are kept, not raised: the builder raises
/// them only where it would have decoded the value (after the pairing checks).
pub(crate) enum Payload {
    /// No value is read: completions other than `ok` of send/poll/txn, `crash`, and
    /// completions of `assign`/`subscribe`.
    None,
    /// The micro-operations of an invoke or `ok` completion of send, poll or txn.
    Mops(Result<Vec<MicroOp>, FieldError>),
    /// The value of an `assign` or `subscribe` invoke.
    Assignment(Result<Assignment, FieldError>),
}

/// Decodes one line (its bytes with the trailing newline, if any). `first` says no
/// non-blank line comes before it (only such a line may be a header, and it is read
/// field by field); `try_fast` lets other lines take the one-pass path. Keys are
/// interned into `keys`, the caller's own table.
pub(crate) fn line(bytes: &[u8], first: bool, try_fast: bool, keys: &mut KeyTable) -> Decoded {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Decoded::Blank;
    }
    if !first && try_fast {
        let fast = super::scan::fast_line(bytes)
            .or_else(|| serde_json::from_slice::<FastLine<'_>>(bytes).ok());
        if let Some(line) = fast.and_then(fast_client_line) {
            return Decoded::Client(client_op(line, keys));
        }
    }
    match slow_line(bytes, first, keys) {
        Ok(decoded) => decoded,
        Err(e) => Decoded::Error(e),
    }
}

fn slow_line(bytes: &[u8], first: bool, keys: &mut KeyTable) -> Result<Decoded, FieldError> {
    let raw: RawLine<'_> =
        serde_json::from_slice(bytes).map_err(|e| (None, LineProblem::BadJson(e.to_string())))?;
    if raw.format.is_some() {
        if !first {
            return Err((Some("format"), LineProblem::LateHeader));
        }
        return Ok(Decoded::Header(header(bytes)?));
    }
    let common = common(&raw)?;
    match common.process {
        Process::Nemesis | Process::Harness => Ok(Decoded::Event {
            source: if common.process == Process::Nemesis {
                EventSource::Nemesis
            } else {
                EventSource::Harness
            },
            f: nemesis_f(&raw),
            value: nemesis_value(&raw),
            error: error_text(&raw),
            common,
        }),
        Process::Client(process) => Ok(Decoded::Client(client_op(
            client_line(&raw, common, process)?,
            keys,
        ))),
    }
}

/// Decodes the value the builder will need: the micro-operations of an invoke or `ok`
/// completion of send/poll/txn (an `ok` one acknowledged), or an assignment's invoke.
fn client_op(mut line: ClientLine<'_>, keys: &mut KeyTable) -> ClientOp {
    let payload = match (line.common.line_type, line.f) {
        (LineType::Invoke | LineType::Ok, Function::Send | Function::Poll | Function::Txn) => {
            Payload::Mops(line.mops(line.common.line_type == LineType::Ok, keys))
        }
        (LineType::Invoke, Function::Assign | Function::Subscribe) => {
            Payload::Assignment(line.assignment(keys))
        }
        _ => Payload::None,
    };
    ClientOp {
        common: line.common,
        process: line.process,
        f: line.f,
        error: line.error,
        producer: line.producer,
        is_final: line.is_final,
        payload,
    }
}

/// A field-level failure: which field, and what is wrong with it.
pub(crate) type FieldError = (Option<&'static str>, LineProblem);

/// Who recorded a non-client line: the fault injector, or the harness itself (a
/// watchdog's note that no operation completed for a while).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventSource {
    Nemesis,
    Harness,
}

/// The fields every operation line has.
pub(crate) struct Common {
    pub index: LineIndex,
    pub time: Nanos,
    pub process: Process,
    pub line_type: LineType,
}

fn required<'a>(
    field: &'static str,
    raw: Option<&'a RawValue>,
) -> Result<&'a RawValue, FieldError> {
    raw.ok_or((Some(field), LineProblem::MissingField))
}

fn wrong(field: &'static str, expected: &'static str, raw: &RawValue) -> FieldError {
    let text = raw.get();
    let found = if text.len() > 60 {
        let mut end = 60;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text.to_owned()
    };
    (Some(field), LineProblem::WrongType { expected, found })
}

fn decode_u64(field: &'static str, raw: &RawValue) -> Result<u64, FieldError> {
    serde_json::from_str::<u64>(raw.get()).map_err(|_| wrong(field, "a non-negative integer", raw))
}

fn decode_str<'a>(
    field: &'static str,
    raw: &'a RawValue,
) -> Result<std::borrow::Cow<'a, str>, FieldError> {
    serde_json::from_str::<std::borrow::Cow<'a, str>>(raw.get())
        .map_err(|_| wrong(field, "a string", raw))
}

/// Decodes `index`, `time`, `process` and `type`.
pub(crate) fn common(line: &RawLine<'_>) -> Result<Common, FieldError> {
    let index = decode_u64("index", required("index", line.index)?)?;
    let time = decode_u64("time", required("time", line.time)?)?;
    let process_raw = required("process", line.process)?;
    let process = match serde_json::from_str::<u64>(process_raw.get()) {
        Ok(p) => Process::Client(p),
        Err(_) => match decode_str("process", process_raw)
            .ok()
            .and_then(|s| Process::from_event_name(&s))
        {
            Some(p) => p,
            None => {
                return Err(wrong(
                    "process",
                    "a non-negative integer, \"nemesis\" or \"harness\"",
                    process_raw,
                ))
            }
        },
    };
    let type_raw = required("type", line.kind)?;
    let name = decode_str("type", type_raw)?;
    let line_type = LineType::from_name(&name)
        .ok_or_else(|| (Some("type"), LineProblem::UnknownType(name.into_owned())))?;
    Ok(Common {
        index,
        time,
        process,
        line_type,
    })
}

/// The nemesis function name (any string).
pub(crate) fn nemesis_f(line: &RawLine<'_>) -> Result<String, FieldError> {
    Ok(decode_str("f", required("f", line.f)?)?.into_owned())
}

/// The nemesis value, kept as JSON for reports (`null` when absent).
pub(crate) fn nemesis_value(line: &RawLine<'_>) -> serde_json::Value {
    line.value
        .and_then(|v| serde_json::from_str(v.get()).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A client function.
pub(crate) fn function(line: &RawLine<'_>) -> Result<Function, FieldError> {
    let s = decode_str("f", required("f", line.f)?)?;
    Function::from_name(&s).ok_or_else(|| (Some("f"), LineProblem::UnknownFunction(s.into_owned())))
}

/// The `error` field as text (a string as is, anything else as its JSON).
pub(crate) fn error_text(line: &RawLine<'_>) -> Option<String> {
    line.error.map(|raw| match decode_str("error", raw) {
        Ok(s) => s.into_owned(),
        Err(_) => raw.get().to_owned(),
    })
}

/// The `producer` session id, if present.
pub(crate) fn producer(line: &RawLine<'_>) -> Result<Option<u64>, FieldError> {
    line.producer
        .map(|raw| decode_u64("producer", raw))
        .transpose()
}

/// The `final` flag (absent means false).
pub(crate) fn is_final(line: &RawLine<'_>) -> Result<bool, FieldError> {
    match line.is_final {
        None => Ok(false),
        Some(raw) => serde_json::from_str::<bool>(raw.get())
            .map_err(|_| wrong("final", "true or false", raw)),
    }
}

fn malformed(detail: impl Into<String>) -> FieldError {
    (Some("value"), LineProblem::MalformedMicroOp(detail.into()))
}

/// A client line's `value`, decoded by the fast path or still raw.
pub(crate) enum LineValue<'a> {
    Fast(FastValue<'a>),
    Raw(Option<&'a RawValue>),
}

/// A client line with every field but `value` decoded; the same whichever path read it.
pub(crate) struct ClientLine<'a> {
    pub common: Common,
    pub process: u64,
    pub f: Function,
    pub value: LineValue<'a>,
    pub error: Option<String>,
    pub producer: Option<u64>,
    pub is_final: bool,
}

/// A client line decoded field by field from a [`RawLine`].
pub(crate) fn client_line<'a>(
    raw: &RawLine<'a>,
    common: Common,
    process: u64,
) -> Result<ClientLine<'a>, FieldError> {
    Ok(ClientLine {
        common,
        process,
        f: function(raw)?,
        value: LineValue::Raw(raw.value),
        error: error_text(raw),
        producer: producer(raw)?,
        is_final: is_final(raw)?,
    })
}

/// A client line from the fast path, or `None` when the field-by-field path must read it
/// (so that an error names the field exactly as that path does).
pub(crate) fn fast_client_line(fast: FastLine<'_>) -> Option<ClientLine<'_>> {
    if fast.format.is_some() {
        return None;
    }
    let line_type = fast.kind;
    let f = fast.f;
    let value_needed = matches!(line_type, LineType::Invoke | LineType::Ok);
    let fits = match (&fast.value, f) {
        (_, _) if !value_needed => true,
        (FastValue::Mops(_), Function::Send | Function::Poll | Function::Txn) => true,
        (_, Function::Send | Function::Poll | Function::Txn) => false,
        (FastValue::Assignment(_), Function::Assign | Function::Subscribe) => true,
        (_, Function::Assign | Function::Subscribe) => line_type == LineType::Ok,
        (_, Function::Crash) => true,
    };
    if !fits {
        return None;
    }
    let error = fast.error.map(|raw| {
        serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
    });
    Some(ClientLine {
        common: Common {
            index: fast.index,
            time: fast.time,
            process: Process::Client(fast.process),
            line_type,
        },
        process: fast.process,
        f,
        value: LineValue::Fast(fast.value),
        error,
        producer: fast.producer,
        is_final: fast.is_final,
    })
}

impl ClientLine<'_> {
    /// The micro-operations of a `send`, `poll` or `txn` line. `acked` is true for an
    /// `ok` completion: its sends must carry `[offset, v]`, and an invoke's a bare `v`.
    pub(crate) fn mops(
        &mut self,
        acked: bool,
        keys: &mut KeyTable,
    ) -> Result<Vec<MicroOp>, FieldError> {
        let parsed = match std::mem::replace(&mut self.value, LineValue::Raw(None)) {
            LineValue::Fast(FastValue::Mops(m)) => m,
            LineValue::Fast(_) => return Err(malformed("expected a list of micro-operations")),
            LineValue::Raw(raw) => {
                let raw = required("value", raw)?;
                let owned: Vec<RawMop<'_>> =
                    serde_json::from_str(raw.get()).map_err(|e| malformed(e.to_string()))?;
                return checked_mops(owned, self.f, acked, keys);
            }
        };
        checked_mops(parsed, self.f, acked, keys)
    }

    /// The value of an `assign` or `subscribe`.
    pub(crate) fn assignment(&mut self, keys: &mut KeyTable) -> Result<Assignment, FieldError> {
        let parsed = match std::mem::replace(&mut self.value, LineValue::Raw(None)) {
            LineValue::Fast(FastValue::Assignment(a)) => a,
            LineValue::Fast(_) => {
                return Err((
                    Some("value"),
                    LineProblem::WrongType {
                        expected: ASSIGNMENT_SHAPE,
                        found: "another value".to_owned(),
                    },
                ))
            }
            LineValue::Raw(raw) => {
                let raw = required("value", raw)?;
                serde_json::from_str(raw.get())
                    .map_err(|_| wrong("value", ASSIGNMENT_SHAPE, raw))?
            }
        };
        Ok(assignment_of(parsed, keys))
    }
}

const ASSIGNMENT_SHAPE: &str = "{\"keys\": [key, ...], \"seek_to_beginning\": bool, \"end_offsets\": {key: offset, ...} (optional)}";

fn assignment_of(parsed: RawAssignment, keys: &mut KeyTable) -> Assignment {
    Assignment {
        keys: parsed.keys.iter().map(|k| keys.intern(k)).collect(),
        seek_to_beginning: parsed.seek_to_beginning,
        end_offsets: parsed
            .end_offsets
            .unwrap_or_default()
            .iter()
            .map(|(k, &end)| (keys.intern(k), end))
            .collect(),
    }
}

/// Checks the micro-operations' shapes against the operation and interns their keys.
fn checked_mops(
    parsed: Vec<RawMop<'_>>,
    f: Function,
    acked: bool,
    keys: &mut KeyTable,
) -> Result<Vec<MicroOp>, FieldError> {
    match f {
        Function::Send | Function::Poll if parsed.len() != 1 => {
            return Err(malformed(format!(
                "a {} operation holds exactly one micro-operation, found {}",
                f.name(),
                parsed.len()
            )))
        }
        Function::Send if !matches!(parsed[0], RawMop::Send { .. }) => {
            return Err(malformed(
                "a send operation must hold a send micro-operation",
            ))
        }
        Function::Poll if !matches!(parsed[0], RawMop::Poll { .. }) => {
            return Err(malformed(
                "a poll operation must hold a poll micro-operation",
            ))
        }
        _ => {}
    }
    parsed
        .into_iter()
        .map(|m| match m {
            RawMop::Send { key, value, ack } => {
                let offset = match (acked, ack) {
                    (true, Some(offset)) => offset,
                    (true, None) => {
                        return Err(malformed(format!(
                            "an ok send must be [\"send\", key, [offset, v]], found a bare value {value}"
                        )))
                    }
                    (false, None) => None,
                    (false, Some(_)) => {
                        return Err(malformed(
                            "an invoked send must be [\"send\", key, v], found [offset, v]",
                        ))
                    }
                };
                if let Some(offset) = offset.filter(|&o| o < 0) {
                    return Err(negative(&key, offset));
                }
                Ok(MicroOp::Send {
                    key: keys.intern(&key),
                    value,
                    offset,
                })
            }
            RawMop::Poll { reads } => {
                for (key, records) in &reads {
                    if let Some(&(offset, _)) = records.iter().find(|r| r.0 < 0) {
                        return Err(negative(key, offset));
                    }
                }
                Ok(MicroOp::Poll {
                reads: reads
                    .into_iter()
                    .map(|(key, records)| KeyRead {
                        key: keys.intern(&key),
                        records,
                    })
                    .collect(),
                })
            }
        })
        .collect()
}

/// A negative offset in `key`'s acknowledgement or records.
fn negative(key: &str, offset: Offset) -> FieldError {
    (
        Some("value"),
        LineProblem::NegativeOffset {
            key: key.to_owned(),
            offset,
        },
    )
}

/// The header line: `format`, optional `test` and `guarantees`, and every other key kept.
/// A guarantee the header leaves out counts as promised, as without a header.
pub(crate) fn header(bytes: &[u8]) -> Result<Header, FieldError> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| (None, LineProblem::BadJson(e.to_string())))?;
    let format = match map.remove("format") {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => {
            return Err((
                Some("format"),
                LineProblem::WrongType {
                    expected: "a string",
                    found: other.to_string(),
                },
            ))
        }
        None => return Err((Some("format"), LineProblem::MissingField)),
    };
    let test = match map.remove("test") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => {
            return Err((
                Some("test"),
                LineProblem::WrongType {
                    expected: "a string",
                    found: other.to_string(),
                },
            ))
        }
    };
    let mut guarantees = Guarantees::default();
    match map.remove("guarantees") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(g)) => {
            let slots: [(&str, &mut bool); 4] = [
                ("no_loss", &mut guarantees.no_loss),
                ("no_duplicates", &mut guarantees.no_duplicates),
                ("ordered", &mut guarantees.ordered),
                ("linearizable", &mut guarantees.linearizable),
            ];
            for (name, slot) in slots {
                match g.get(name) {
                    None => {}
                    Some(serde_json::Value::Bool(b)) => *slot = *b,
                    Some(other) => {
                        return Err((
                            Some("guarantees"),
                            LineProblem::WrongType {
                                expected: "true or false for each guarantee",
                                found: format!("{name}: {other}"),
                            },
                        ))
                    }
                }
            }
        }
        Some(other) => {
            return Err((
                Some("guarantees"),
                LineProblem::WrongType {
                    expected: "an object of booleans",
                    found: other.to_string(),
                },
            ))
        }
    }
    Ok(Header {
        format,
        test,
        guarantees,
        extra: map,
    })
}
