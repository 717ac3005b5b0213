//! The typed, borrowed shape of one history line before it is checked and paired.
//!
//! Each line is deserialized straight into these structs (never into a
//! `serde_json::Value` tree), so reading a 1 GB history keeps only one line's worth of
//! JSON in memory. Fields stay raw (`&RawValue`) until [`super::parse`] decodes them one by
//! one: that is what lets an error name the field at fault.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::model::{Offset, Value};

/// One line, every field still raw. Unknown fields are ignored.
#[derive(Deserialize)]
pub(crate) struct RawLine<'a> {
    #[serde(borrow)]
    pub format: Option<&'a RawValue>,
    #[serde(borrow)]
    pub index: Option<&'a RawValue>,
    #[serde(borrow)]
    pub time: Option<&'a RawValue>,
    #[serde(borrow)]
    pub process: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    pub kind: Option<&'a RawValue>,
    #[serde(borrow)]
    pub f: Option<&'a RawValue>,
    #[serde(borrow)]
    pub value: Option<&'a RawValue>,
    #[serde(borrow)]
    pub error: Option<&'a RawValue>,
    #[serde(borrow)]
    pub producer: Option<&'a RawValue>,
    #[serde(borrow, rename = "final")]
    pub is_final: Option<&'a RawValue>,
}

/// A micro-operation as written: `["send", key, v]`, `["send", key, [offset, v]]`,
/// `["poll"]` or `["poll", {key: [[offset, v], ...]}]`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawMop {
    Send {
        key: String,
        value: Value,
        /// `Some(offset)` for the acknowledged form; `Some(None)` for `[null, v]`.
        ack: Option<Option<Offset>>,
    },
    Poll {
        reads: Vec<(String, Vec<(Offset, Value)>)>,
    },
}

/// The value of `assign` and `subscribe`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAssignment {
    pub keys: Vec<String>,
    #[serde(default)]
    pub seek_to_beginning: bool,
}

impl<'de> Deserialize<'de> for RawMop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(MopVisitor)
    }
}

struct MopVisitor;

impl<'de> Visitor<'de> for MopVisitor {
    type Value = RawMop;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a micro-operation ["send", key, v] or ["poll", {...}]"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawMop, A::Error> {
        let tag: std::borrow::Cow<'de, str> = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("empty micro-operation"))?;
        let mop = match &*tag {
            "send" => {
                let key: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("send without a key"))?;
                let arg: SendArg = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("send without a value"))?;
                RawMop::Send {
                    key,
                    value: arg.value,
                    ack: arg.ack,
                }
            }
            "poll" => {
                let reads: Option<PollReads> = seq.next_element()?;
                RawMop::Poll {
                    reads: reads.map(|r| r.0).unwrap_or_default(),
                }
            }
            other => {
                return Err(de::Error::custom(format!(
                    "unknown micro-operation {other:?} (expected \"send\" or \"poll\")"
                )))
            }
        };
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("too many elements in micro-operation"));
        }
        Ok(mop)
    }
}

/// `v` or `[offset, v]` (offset may be null).
struct SendArg {
    value: Value,
    ack: Option<Option<Offset>>,
}

impl<'de> Deserialize<'de> for SendArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SendArgVisitor)
    }
}

struct SendArgVisitor;

impl<'de> Visitor<'de> for SendArgVisitor {
    type Value = SendArg;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer value or [offset, value]")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SendArg, E> {
        Ok(SendArg {
            value: v,
            ack: None,
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SendArg, E> {
        let value = i64::try_from(v).map_err(|_| E::custom("value does not fit in i64"))?;
        self.visit_i64(value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SendArg, A::Error> {
        let offset: Option<Offset> = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("acknowledged send without an offset"))?;
        let value: Value = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("acknowledged send without a value"))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("too many elements in [offset, value]"));
        }
        Ok(SendArg {
            value,
            ack: Some(offset),
        })
    }
}

/// `{key: [[offset, v], ...], ...}`.
struct PollReads(Vec<(String, Vec<(Offset, Value)>)>);

impl<'de> Deserialize<'de> for PollReads {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PollReadsVisitor)
    }
}

struct PollReadsVisitor;

impl<'de> Visitor<'de> for PollReadsVisitor {
    type Value = PollReads;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of key to [[offset, value], ...]")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PollReads, A::Error> {
        let mut reads = Vec::new();
        while let Some((key, records)) = map.next_entry::<String, Vec<(Offset, Value)>>()? {
            reads.push((key, records));
        }
        Ok(PollReads(reads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: every micro-operation shape of HISTORY.md decodes; junk is rejected.
    #[test]
    fn micro_operations_decode_and_junk_is_rejected() {
        let m: RawMop = serde_json::from_str(r#"["send", "0", 17]"#).unwrap();
        assert_eq!(
            m,
            RawMop::Send {
                key: "0".into(),
                value: 17,
                ack: None
            }
        );
        let m: RawMop = serde_json::from_str(r#"["send", "0", [null, 17]]"#).unwrap();
        assert!(matches!(
            m,
            RawMop::Send {
                ack: Some(None),
                ..
            }
        ));
        let m: RawMop = serde_json::from_str(r#"["poll", {"0": [[41, 16], [42, 17]]}]"#).unwrap();
        assert_eq!(
            m,
            RawMop::Poll {
                reads: vec![("0".into(), vec![(41, 16), (42, 17)])]
            }
        );
        for bad in [
            r#"[]"#,
            r#"["send"]"#,
            r#"["send", "0"]"#,
            r#"["send", 0, 1]"#,
            r#"["send", "0", "x"]"#,
            r#"["send", "0", [1, 2, 3]]"#,
            r#"["poll", {"0": [[1]]}]"#,
            r#"["poll", {}, 3]"#,
            r#"["drop", "0"]"#,
            r#"{"send": 1}"#,
        ] {
            assert!(serde_json::from_str::<RawMop>(bad).is_err(), "{bad}");
        }
    }
}
