//! Decoding one history line: each field of a [`RawLine`] checked and turned into model
//! types, with an error naming the field when it is wrong (HISTORY.md, "Operations").
//!
//! This module knows the shape of one line only; pairing invokes with completions across
//! lines is [`super::pair`]'s job.

use serde_json::value::RawValue;

use super::error::LineProblem;
use super::model::{
    Assignment, Function, Guarantees, Header, KeyRead, KeyTable, LineIndex, MicroOp, Nanos,
};
use super::raw::{RawAssignment, RawLine, RawMop};

/// A field-level failure: which field, and what is wrong with it.
pub(crate) type FieldError = (Option<&'static str>, LineProblem);

/// The `type` of an operation line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// Who ran the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    Client(u64),
    Nemesis,
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
        Err(_) => match decode_str("process", process_raw) {
            Ok(s) if s == "nemesis" => Process::Nemesis,
            _ => {
                return Err(wrong(
                    "process",
                    "a non-negative integer or \"nemesis\"",
                    process_raw,
                ))
            }
        },
    };
    let type_raw = required("type", line.kind)?;
    let line_type = match &*decode_str("type", type_raw)? {
        "invoke" => LineType::Invoke,
        "ok" => LineType::Ok,
        "fail" => LineType::Fail,
        "info" => LineType::Info,
        other => return Err((Some("type"), LineProblem::UnknownType(other.to_owned()))),
    };
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
    match &*s {
        "send" => Ok(Function::Send),
        "poll" => Ok(Function::Poll),
        "txn" => Ok(Function::Txn),
        "assign" => Ok(Function::Assign),
        "subscribe" => Ok(Function::Subscribe),
        "crash" => Ok(Function::Crash),
        other => Err((Some("f"), LineProblem::UnknownFunction(other.to_owned()))),
    }
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

/// The micro-operations of a `send`, `poll` or `txn` line. `acked` is true for an `ok`
/// completion: its sends must carry `[offset, v]`, and an invoke's must carry a bare `v`.
pub(crate) fn mops(
    line: &RawLine<'_>,
    f: Function,
    acked: bool,
    keys: &mut KeyTable,
) -> Result<Vec<MicroOp>, FieldError> {
    let raw = required("value", line.value)?;
    let parsed: Vec<RawMop> =
        serde_json::from_str(raw.get()).map_err(|e| malformed(e.to_string()))?;
    match f {
        Function::Send | Function::Poll if parsed.len() != 1 => {
            return Err(malformed(format!(
                "a {} operation holds exactly one micro-operation, found {}",
                if f == Function::Send { "send" } else { "poll" },
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
                Ok(MicroOp::Send {
                    key: keys.intern(&key),
                    value,
                    offset,
                })
            }
            RawMop::Poll { reads } => Ok(MicroOp::Poll {
                reads: reads
                    .into_iter()
                    .map(|(key, records)| KeyRead {
                        key: keys.intern(&key),
                        records,
                    })
                    .collect(),
            }),
        })
        .collect()
}

/// The value of an `assign` or `subscribe`.
pub(crate) fn assignment(
    line: &RawLine<'_>,
    keys: &mut KeyTable,
) -> Result<Assignment, FieldError> {
    let raw = required("value", line.value)?;
    let parsed: RawAssignment = serde_json::from_str(raw.get()).map_err(|_| {
        wrong(
            "value",
            "{\"keys\": [key, ...], \"seek_to_beginning\": bool}",
            raw,
        )
    })?;
    Ok(Assignment {
        keys: parsed.keys.iter().map(|k| keys.intern(k)).collect(),
        seek_to_beginning: parsed.seek_to_beginning,
    })
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
