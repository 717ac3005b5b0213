//! The typed, borrowed shape of one history line before it is checked and paired.
//!
//! Each line is deserialized straight into these structs (never into a
//! `serde_json::Value` tree), so reading a 1 GB history keeps only one line's worth of
//! JSON in memory. Fields stay raw (`&RawValue`) until [`super::parse`] decodes them one by
//! one: that is what lets an error name the field at fault.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::line::{AssignValue as RawAssignment, LineType, MOP_POLL, MOP_SEND};
use super::model::{Function, Offset, Value};

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

/// A key as written; borrowed from the line unless it holds escapes, so the common case
/// allocates nothing before interning.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct KeyStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyStrVisitor)
    }
}

struct KeyStrVisitor;

impl<'de> Visitor<'de> for KeyStrVisitor {
    type Value = KeyStr<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key (a string)")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<KeyStr<'de>, E> {
        Ok(KeyStr(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyStr<'de>, E> {
        Ok(KeyStr(Cow::Owned(v.to_owned())))
    }
}

/// One key's records in a poll, as written: the key and its `(offset, value)` pairs.
pub(crate) type KeyRecords<'a> = (Cow<'a, str>, Vec<(Offset, Value)>);

/// A micro-operation as written: `["send", key, v]`, `["send", key, [offset, v]]`,
/// `["poll"]` or `["poll", {key: [[offset, v], ...]}]`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawMop<'a> {
    Send {
        key: Cow<'a, str>,
        value: Value,
        /// `Some(offset)` for the acknowledged form; `Some(None)` for `[null, v]`.
        ack: Option<Option<Offset>>,
    },
    Poll {
        reads: Vec<KeyRecords<'a>>,
    },
}

/// The fast path: one client line decoded in a single pass, every field typed. Any line it
/// cannot take (a nemesis line, a header, a malformed field, an unusual value) goes to the
/// field-by-field path of [`RawLine`], which also names the field at fault.
#[derive(Deserialize)]
pub(crate) struct FastLine<'a> {
    pub index: u64,
    pub time: u64,
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: LineType,
    pub f: Function,
    #[serde(borrow)]
    pub value: FastValue<'a>,
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
    #[serde(default)]
    pub producer: Option<u64>,
    #[serde(default, rename = "final")]
    pub is_final: bool,
    #[serde(default)]
    pub format: Option<IgnoredAny>,
}

/// A client `value` on the fast path: micro-operations, an assignment, or null.
#[derive(Debug)]
pub(crate) enum FastValue<'a> {
    Mops(Vec<RawMop<'a>>),
    Assignment(RawAssignment),
    Null,
}

impl<'de: 'a, 'a> Deserialize<'de> for FastValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FastValueVisitor)
    }
}

struct FastValueVisitor;

impl<'de> Visitor<'de> for FastValueVisitor {
    type Value = FastValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of micro-operations or an assignment")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FastValue<'de>, A::Error> {
        let mut mops = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(m) = seq.next_element::<RawMop<'de>>()? {
            mops.push(m);
        }
        Ok(FastValue::Mops(mops))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FastValue<'de>, A::Error> {
        RawAssignment::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(FastValue::Assignment)
    }

    fn visit_unit<E: de::Error>(self) -> Result<FastValue<'de>, E> {
        Ok(FastValue::Null)
    }
}

impl<'de> Deserialize<'de> for RawMop<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(MopVisitor)
    }
}

struct MopVisitor;

impl<'de> Visitor<'de> for MopVisitor {
    type Value = RawMop<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a micro-operation ["send", key, v] or ["poll", {...}]"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawMop<'de>, A::Error> {
        let tag: KeyStr<'de> = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("empty micro-operation"))?;
        let mop = match &*tag.0 {
            MOP_SEND => {
                let KeyStr(key) = seq
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
            MOP_POLL => {
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
struct PollReads<'a>(Vec<KeyRecords<'a>>);

impl<'de> Deserialize<'de> for PollReads<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PollReadsVisitor)
    }
}

struct PollReadsVisitor;

impl<'de> Visitor<'de> for PollReadsVisitor {
    type Value = PollReads<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of key to [[offset, value], ...]")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PollReads<'de>, A::Error> {
        let mut reads = Vec::new();
        while let Some((KeyStr(key), records)) =
            map.next_entry::<KeyStr<'de>, Vec<(Offset, Value)>>()?
        {
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
