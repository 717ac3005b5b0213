//! A hand-written scanner for the common shape of a client line, several times cheaper
//! than serde's generic path on the send and poll lines that make up nearly every history.
//!
//! It answers only when sure: any token it does not expect (an unknown or repeated field,
//! an escape in a string, a float, a number that does not fit, an `error` field, an
//! assignment) makes it give up with `None`, and the caller asks serde (the
//! [`FastLine`] derive, then the field-by-field path). Whenever it answers, the answer is
//! exactly what `serde_json::from_slice::<FastLine>` gives; a property test holds it to
//! that.

use std::borrow::Cow;

use super::line::{LineType, MOP_POLL, MOP_SEND};
use super::model::Function;
use super::model::{Offset, Value};
use super::raw::{FastLine, FastValue, KeyRecords, RawMop};

/// The line as [`FastLine`], or `None` when serde must decide.
pub(crate) fn fast_line(bytes: &[u8]) -> Option<FastLine<'_>> {
    Scanner { b: bytes, i: 0 }.line()
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The bytes of a string without escapes or control characters (not checked to be
    /// UTF-8: only for comparing with ASCII names).
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' | 0..0x20 => return None,
                _ => self.i += 1,
            }
        }
        self.i += 1;
        Some(&self.b[start..self.i - 1])
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_string()?).ok()
    }

    /// A non-negative integer as JSON writes it (no leading zero, no fraction, no exponent).
    fn u64(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        let digits = self.i - start;
        if digits == 0 || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return None;
        }
        Some(n)
    }

    /// An integer that fits in `i64` (serde reads `-0` as a float, so it is left to it).
    fn i64(&mut self) -> Option<i64> {
        if self.peek()? == b'-' {
            self.i += 1;
            if !self.b.get(self.i)?.is_ascii_digit() {
                return None;
            }
            let magnitude = self.u64()?;
            if magnitude == 0 || magnitude > 1 << 63 {
                return None;
            }
            Some((magnitude as i64).wrapping_neg())
        } else {
            i64::try_from(self.u64()?).ok()
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    fn line(mut self) -> Option<FastLine<'a>> {
        let (mut index, mut time, mut process) = (None, None, None);
        let (mut kind, mut f, mut value) = (None, None, None);
        let (mut producer, mut is_final) = (None, None);
        self.eat(b'{')?;
        loop {
            let name = self.raw_string()?;
            self.eat(b':')?;
            match name {
                b"index" if index.is_none() => index = Some(self.u64()?),
                b"time" if time.is_none() => time = Some(self.u64()?),
                b"process" if process.is_none() => process = Some(self.u64()?),
                b"type" if kind.is_none() => kind = Some(line_type(self.raw_string()?)?),
                b"f" if f.is_none() => f = Some(function(self.raw_string()?)?),
                b"value" if value.is_none() => value = Some(self.value()?),
                b"producer" if producer.is_none() => {
                    producer = Some(if self.peek()? == b'n' {
                        self.literal(b"null")?;
                        None
                    } else {
                        Some(self.u64()?)
                    })
                }
                b"final" if is_final.is_none() => {
                    is_final = Some(if self.peek()? == b't' {
                        self.literal(b"true").map(|()| true)?
                    } else {
                        self.literal(b"false").map(|()| false)?
                    })
                }
                _ => return None,
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.ws();
        if self.i != self.b.len() {
            return None;
        }
        Some(FastLine {
            index: index?,
            time: time?,
            process: process?,
            kind: kind?,
            f: f?,
            value: value?,
            error: None,
            producer: producer.flatten(),
            is_final: is_final.unwrap_or(false),
            format: None,
        })
    }

    /// `null` or a list of micro-operations (an assignment is left to serde).
    fn value(&mut self) -> Option<FastValue<'a>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| FastValue::Null),
            b'[' => {
                self.i += 1;
                let mut mops = Vec::with_capacity(1);
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(FastValue::Mops(mops));
                }
                loop {
                    mops.push(self.mop()?);
                    if self.list_next()? {
                        return Some(FastValue::Mops(mops));
                    }
                }
            }
            _ => None,
        }
    }

    /// After a list element: `false` after a comma (another follows), `true` at the end.
    fn list_next(&mut self) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(false)
            }
            b']' => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// `["send", key, v]`, `["send", key, [offset, v]]`, `["poll"]` or
    /// `["poll", {key: [[offset, v], ...], ...}]`.
    fn mop(&mut self) -> Option<RawMop<'a>> {
        self.eat(b'[')?;
        let tag = self.raw_string()?;
        let mop = if tag == MOP_SEND.as_bytes() {
            {
                self.eat(b',')?;
                let key = Cow::Borrowed(self.string()?);
                self.eat(b',')?;
                let (value, ack) = if self.peek()? == b'[' {
                    self.i += 1;
                    let offset = if self.peek()? == b'n' {
                        self.literal(b"null")?;
                        None
                    } else {
                        Some(self.i64()?)
                    };
                    self.eat(b',')?;
                    let value = self.i64()?;
                    self.eat(b']')?;
                    (value, Some(offset))
                } else {
                    (self.i64()?, None)
                };
                RawMop::Send { key, value, ack }
            }
        } else if tag == MOP_POLL.as_bytes() {
            {
                let reads = if self.peek()? == b',' {
                    self.i += 1;
                    self.poll_reads()?
                } else {
                    Vec::new()
                };
                RawMop::Poll { reads }
            }
        } else {
            return None;
        };
        self.eat(b']')?;
        Some(mop)
    }

    fn poll_reads(&mut self) -> Option<Vec<KeyRecords<'a>>> {
        self.eat(b'{')?;
        let mut reads = Vec::new();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(reads);
        }
        loop {
            let key = Cow::Borrowed(self.string()?);
            self.eat(b':')?;
            reads.push((key, self.records()?));
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(reads);
                }
                _ => return None,
            }
        }
    }

    /// `[[offset, v], ...]`, into a vector of exactly its length (most hold a few records:
    /// growing a vector record by record would allocate two or three times).
    fn records(&mut self) -> Option<Vec<(Offset, Value)>> {
        self.eat(b'[')?;
        let mut few = [(0, 0); 16];
        let mut n = 0;
        let mut many = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(many);
        }
        loop {
            self.eat(b'[')?;
            let offset = self.i64()?;
            self.eat(b',')?;
            let value = self.i64()?;
            self.eat(b']')?;
            if n < few.len() {
                few[n] = (offset, value);
                n += 1;
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&few);
                }
                many.push((offset, value));
            }
            if self.list_next()? {
                return Some(if many.is_empty() {
                    few[..n].to_vec()
                } else {
                    many
                });
            }
        }
    }
}

fn line_type(s: &[u8]) -> Option<LineType> {
    LineType::from_name(std::str::from_utf8(s).ok()?)
}

fn function(s: &[u8]) -> Option<Function> {
    Function::from_name(std::str::from_utf8(s).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything a [`FastLine`] holds, comparable.
    fn shape(line: &FastLine<'_>) -> String {
        format!(
            "{:?}",
            (
                line.index,
                line.time,
                line.process,
                line.kind,
                line.f,
                &line.value,
                line.error.map(|r| r.get()),
                line.producer,
                line.is_final,
                line.format.is_some()
            )
        )
    }

    /// Whenever the scanner answers, serde answers the same.
    fn same_as_serde(line: &[u8]) -> bool {
        let Some(scanned) = fast_line(line) else {
            return false;
        };
        match serde_json::from_slice::<FastLine<'_>>(line) {
            Ok(parsed) => assert_eq!(
                shape(&scanned),
                shape(&parsed),
                "{}",
                String::from_utf8_lossy(line)
            ),
            Err(e) => panic!(
                "the scanner read what serde rejects ({e}): {}",
                String::from_utf8_lossy(line)
            ),
        }
        true
    }

    fn lines() -> Vec<String> {
        let mut text = Vec::new();
        let options = crate::synth::SynthOptions {
            ops: 400,
            keys: 3,
            indeterminate_ratio: 0.05,
            ..Default::default()
        };
        crate::synth::write_history(&options, &mut text).unwrap();
        let mut lines: Vec<String> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        for text in super::super::parse::tests::corpus_texts() {
            lines.extend(text.lines().map(str::to_owned));
        }
        lines
    }

    // Goal: the scanner reads the lines of real histories (else it is useless) and reads
    // them as serde does. Method: the corpus and a synthetic history, line by line, and the
    // same lines with their spaces removed and doubled.
    #[test]
    fn reads_history_lines_as_serde_does() {
        let lines = lines();
        let mut answered = 0;
        for line in &lines {
            for variant in [
                line.clone(),
                line.replace(' ', ""),
                line.replace(' ', " \t "),
            ] {
                answered += usize::from(same_as_serde(variant.as_bytes()));
            }
        }
        assert!(
            answered * 10 > lines.len() * 3 * 8,
            "{answered} of {}",
            lines.len() * 3
        );
        for tricky in [
            r#"{"index":0,"time":1,"process":2,"type":"ok","f":"send","value":[["send","k",[-9223372036854775808,9223372036854775807]]],"producer":null,"final":false}"#,
            r#"{"index":0,"time":1,"process":2,"type":"ok","f":"poll","value":[["poll",{"a":[],"a":[[1,2]]}],["poll"]]}"#,
            r#"{"index":0,"time":1,"process":2,"type":"invoke","f":"poll","value":[]}"#,
            r#"{"index":0,"time":1,"process":2,"type":"info","f":"crash","value":null,"final":true}"#,
            "{\"index\":0,\"time\":1,\"process\":2,\"type\":\"ok\",\"f\":\"send\",\"value\":[[\"send\",\"\u{e9}\",1]]}",
        ] {
            assert!(same_as_serde(tricky.as_bytes()), "{tricky}");
        }
        // More records than the scanner keeps on its stack.
        for n in [15, 16, 17, 40] {
            let records: Vec<String> = (0..n).map(|i| format!("[{i},{}]", i * 7)).collect();
            let line = format!(
                r#"{{"index":0,"time":1,"process":2,"type":"ok","f":"poll","value":[["poll",{{"k":[{}]}}]]}}"#,
                records.join(",")
            );
            assert!(same_as_serde(line.as_bytes()), "{line}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        // Goal: on damaged lines the scanner either gives up or agrees with serde.
        // Method: a history line with one byte replaced by a JSON-significant one, or a
        // piece cut out.
        #[test]
        fn damaged_lines_agree_or_give_up(
            which in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"0123456789-.eE+\"\\,:[]{} nultrfsax\t\n\x01\xc3\xa9".to_vec()),
            cut in 0usize..4,
        ) {
            let lines = lines();
            let mut line = lines[which.index(lines.len())].clone().into_bytes();
            let i = at.index(line.len());
            if cut == 0 {
                line[i] = byte;
            } else {
                line.drain(i..(i + cut).min(line.len()));
            }
            same_as_serde(&line);
        }
    }
}
