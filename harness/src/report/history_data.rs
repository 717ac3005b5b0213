//! The history as compact binary data for the page's history view, so that a report of a
//! million operations stays a few megabytes and opens in seconds (issue 6).
//!
//! The operations become columns (one value per row, rows in history order: client
//! operations by invoke index with the nemesis events merged in). Every column is a stream
//! of LEB128 varints (zigzag-signed, optionally as deltas from the previous row), gzip
//! compressed; the page's script decompresses them with the browser's own
//! `DecompressionStream("gzip")`, so the data stays inside the page (a `file://` page may
//! not fetch a sibling file) and no library is embedded. The columns the filters need
//! (`index`, `complete`, `process`, `f`, `outcome`, `time`, `latency`, `keys`) are decoded
//! when the page opens; what a row shows in its value column is stored per chunk of
//! [`CHUNK_ROWS`] rows as typed parts (send, read, assignment, error, ...) and decoded only
//! when a page of rows needs that chunk.
//!
//! The page holds two script elements: `history-meta` (JSON: names, key sets, column specs
//! and the byte spans of every gzip member) and `history-bin` (base64 of all the members).
//!
//! A chunk member is `varint len(S)`, `varint len(V)`, then the streams S, V and O. S holds
//! each row's part count, then per part its tag and small numbers (key ids, counts, flags,
//! string indices); V holds values as zigzag deltas from the previous value of the stream;
//! O holds offsets as zigzag deltas from the previous offset of the same key and kind
//! (sends apart from reads), so a key's log advancing by one costs about one byte. Per
//! part, after the tag: [`TAG_SEND`] key (V value); [`TAG_SEND_AT`] key (V value, O
//! offset); [`TAG_READ`] key, count (O first, O last - first - (count - 1), which is 0
//! for a read without gaps, V first, V last); [`TAG_READ_NOTHING`]
//! key; [`TAG_NOTHING_READ`]; [`TAG_ASSIGN`] key set, from-start flag; [`TAG_ERROR`] and
//! [`TAG_TEXT`] a string index. The page's script (`assets.rs`) turns parts into the same
//! text as [`summary`]. A number a JavaScript double cannot hold exactly travels as text.

use std::collections::HashMap;
use std::io::Write as _;

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;

use checker::history::model::{Function, History, KeyId, MicroOp, NemesisEvent, Op, Outcome};

/// A summary longer than this many characters is cut (a poll may return thousands of
/// records); the page's script cuts at the same length.
pub const SUMMARY_CHARS_MAX: usize = 160;
/// Rows per detail chunk: a page of rows decompresses only the chunks it shows.
pub const CHUNK_ROWS: usize = 4096;
/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const JS_EXACT_MAX: i64 = (1 << 53) - 1;

/// Part tag: a send without a known offset.
pub const TAG_SEND: u64 = 0;
/// Part tag: a send with the offset the broker gave.
pub const TAG_SEND_AT: u64 = 1;
/// Part tag: the records a poll read from one key.
pub const TAG_READ: u64 = 2;
/// Part tag: a poll's read of one key that returned nothing.
pub const TAG_READ_NOTHING: u64 = 3;
/// Part tag: a successful poll that read no key at all.
pub const TAG_NOTHING_READ: u64 = 4;
/// Part tag: an assignment or subscription.
pub const TAG_ASSIGN: u64 = 5;
/// Part tag: the operation's error message.
pub const TAG_ERROR: u64 = 6;
/// Part tag: text as is (nemesis values, numbers too large for the page's arithmetic).
pub const TAG_TEXT: u64 = 7;

/// The part tags by name, in tag order. The page's script builds its tag table from
/// this list (the meta JSON's `part_tags`), so the numbers are written only here.
pub const PART_TAGS: [&str; 8] = [
    "send",
    "send_at",
    "read",
    "read_nothing",
    "nothing_read",
    "assign",
    "error",
    "text",
];

/// Nanoseconds to whole microseconds (the view shows milliseconds with three decimals).
fn micros(nanos: u64) -> i64 {
    ((nanos + 500) / 1000) as i64
}

/// A JSON string literal that is also safe inside an HTML `<script>` element: `</` cannot
/// close the element and `<!--` cannot open a comment.
pub fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/").replace("<!--", "<\\u0021--")
}

/// The encoded history, ready to be placed in the page.
#[derive(Debug, Clone)]
pub struct HistoryData {
    /// The `history-meta` JSON (script-safe).
    pub meta: String,
    /// The `history-bin` text: base64 of every gzip member, one after another.
    pub bin: String,
}

/// How one index column is stored, for the page's decoder.
#[derive(Debug, Serialize)]
struct ColumnSpec {
    /// Byte offset and length of its gzip member in the decoded `history-bin`.
    span: [usize; 2],
    /// Whether its varints are zigzag-signed.
    signed: bool,
    /// Whether each value is a delta from the previous row's.
    delta: bool,
}

#[derive(Debug, Serialize)]
struct Meta<'a> {
    rows: usize,
    chunk_rows: usize,
    summary_max: usize,
    keys: Vec<&'a str>,
    f: Vec<String>,
    outcomes: [&'static str; 3],
    part_tags: [&'static str; 8],
    keysets: Vec<Vec<u32>>,
    columns: Vec<(&'static str, ColumnSpec)>,
    strings: [usize; 2],
    chunks: Vec<[usize; 2]>,
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded (small magnitudes, either sign, stay short).
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// One index column being built.
struct Column {
    name: &'static str,
    signed: bool,
    delta: bool,
    bytes: Vec<u8>,
    prev: i64,
}

impl Column {
    fn new(name: &'static str, signed: bool, delta: bool) -> Column {
        Column {
            name,
            signed,
            delta,
            bytes: Vec::new(),
            prev: 0,
        }
    }

    fn push(&mut self, v: i64) {
        let stored = if self.delta {
            let d = v - self.prev;
            self.prev = v;
            d
        } else {
            v
        };
        if self.signed {
            put_signed(&mut self.bytes, stored);
        } else {
            put_varint(&mut self.bytes, stored as u64);
        }
    }
}

/// What one row shows in its value column, as typed parts (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// A send: key, value and the offset the broker gave, if any.
    Send {
        /// The key.
        key: KeyId,
        /// The value.
        value: i64,
        /// The offset.
        offset: Option<i64>,
    },
    /// The records a poll read from one key: how many, first and last (offset, value).
    Read {
        /// The key.
        key: KeyId,
        /// How many records.
        count: usize,
        /// The first record.
        first: (i64, i64),
        /// The last record.
        last: (i64, i64),
    },
    /// A read of one key that returned nothing.
    ReadNothing(KeyId),
    /// A successful poll that read nothing at all.
    NothingRead,
    /// An assignment: the keys and whether the consumer seeks to the beginning.
    Assign(Vec<KeyId>, bool),
    /// The operation's error.
    Error(String),
    /// Text shown as is.
    Text(String),
}

impl Part {
    /// The part as the view shows it.
    pub fn text(&self, history: &History) -> String {
        let name = |k: &KeyId| history.keys.name(*k);
        match self {
            Part::Send {
                key,
                value,
                offset: Some(o),
            } => format!("{}: {value} @{o}", name(key)),
            Part::Send { key, value, .. } => format!("{}: {value}", name(key)),
            Part::Read {
                key,
                count,
                first,
                last,
            } => format!(
                "{}: {count} recs @{}..{} ({}..{})",
                name(key),
                first.0,
                last.0,
                first.1,
                last.1
            ),
            Part::ReadNothing(key) => format!("{}: nothing", name(key)),
            Part::NothingRead => "nothing read".to_owned(),
            Part::Assign(keys, from_start) => {
                let names: Vec<&str> = keys.iter().map(name).collect();
                format!(
                    "keys {}{}",
                    names.join(","),
                    if *from_start { " from start" } else { "" }
                )
            }
            Part::Error(e) => format!("error: {e}"),
            Part::Text(t) => t.clone(),
        }
    }

    /// Whether every number of the part survives a JavaScript double unchanged.
    fn exact_in_js(&self) -> bool {
        let ok = |v: i64| v.unsigned_abs() <= JS_EXACT_MAX as u64;
        match self {
            Part::Send { value, offset, .. } => ok(*value) && offset.is_none_or(ok),
            Part::Read { first, last, .. } => {
                [first.0, first.1, last.0, last.1].into_iter().all(ok)
            }
            _ => true,
        }
    }
}

/// The parts of an operation's value column: its micro-operations, its assignment and
/// its error, in that order.
pub fn parts(op: &Op) -> Vec<Part> {
    let mut parts = Vec::new();
    for m in &op.mops {
        match m {
            MicroOp::Send { key, value, offset } => parts.push(Part::Send {
                key: *key,
                value: *value,
                offset: *offset,
            }),
            MicroOp::Poll { reads } => {
                if reads.is_empty() && op.outcome == Outcome::Ok {
                    parts.push(Part::NothingRead);
                }
                for r in reads {
                    parts.push(match (r.records.first(), r.records.last()) {
                        (Some(a), Some(b)) => Part::Read {
                            key: r.key,
                            count: r.records.len(),
                            first: *a,
                            last: *b,
                        },
                        _ => Part::ReadNothing(r.key),
                    });
                }
            }
        }
    }
    if let Some(a) = &op.assignment {
        parts.push(Part::Assign(a.keys.clone(), a.seek_to_beginning));
    }
    if let Some(e) = &op.error {
        parts.push(Part::Error(e.clone()));
    }
    parts
}

/// One line a reader can scan: what was sent or read, and the error if any. This is the
/// text the history view shows for the operation (the page builds it from [`parts`]).
pub fn summary(history: &History, op: &Op) -> String {
    let texts: Vec<String> = parts(op).iter().map(|p| p.text(history)).collect();
    cut(texts.join("; "))
}

/// The text the history view shows for a nemesis event: its value.
pub fn nemesis_summary(e: &NemesisEvent) -> String {
    cut(e.value.to_string())
}

fn cut(mut s: String) -> String {
    if s.chars().count() > SUMMARY_CHARS_MAX {
        s = s.chars().take(SUMMARY_CHARS_MAX).collect();
        s.push('…');
    }
    s
}

/// The keys an operation touches, without repeats.
pub fn op_keys(op: &Op) -> Vec<KeyId> {
    let mut keys = Vec::new();
    let mut add = |k: KeyId| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for m in &op.mops {
        match m {
            MicroOp::Send { key, .. } => add(*key),
            MicroOp::Poll { reads } => reads.iter().for_each(|r| add(r.key)),
        }
    }
    if let Some(a) = &op.assignment {
        a.keys.iter().copied().for_each(&mut add);
    }
    keys
}

/// Interns strings and key sets so that each travels once.
#[derive(Default)]
struct Tables {
    strings: Vec<String>,
    string_ids: HashMap<String, u64>,
    keysets: Vec<Vec<u32>>,
    keyset_ids: HashMap<Vec<u32>, i64>,
}

impl Tables {
    fn string(&mut self, s: &str) -> u64 {
        if let Some(id) = self.string_ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as u64;
        self.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), id);
        id
    }

    fn keyset(&mut self, keys: &[KeyId]) -> i64 {
        if keys.is_empty() {
            return -1;
        }
        let set: Vec<u32> = keys.iter().map(|k| k.0).collect();
        if let Some(id) = self.keyset_ids.get(&set) {
            return *id;
        }
        let id = self.keysets.len() as i64;
        self.keysets.push(set.clone());
        self.keyset_ids.insert(set, id);
        id
    }
}

/// The three streams of one detail chunk.
#[derive(Default)]
struct Chunk {
    s: Vec<u8>,
    v: Vec<u8>,
    o: Vec<u8>,
    prev_v: i64,
    /// The previous offset per (key, read): sends and reads of a key advance separately.
    prev_o: HashMap<(u32, bool), i64>,
    rows: usize,
}

impl Chunk {
    fn value(&mut self, v: i64) {
        put_signed(&mut self.v, v - self.prev_v);
        self.prev_v = v;
    }

    fn offset(&mut self, key: KeyId, read: bool, o: i64) {
        let prev = self.prev_o.entry((key.0, read)).or_insert(0);
        put_signed(&mut self.o, o - *prev);
        *prev = o;
    }

    fn row(&mut self, parts: &[Part], history: &History, tables: &mut Tables) {
        self.rows += 1;
        put_varint(&mut self.s, parts.len() as u64);
        for part in parts {
            if !part.exact_in_js() {
                let text = part.text(history);
                put_varint(&mut self.s, TAG_TEXT);
                put_varint(&mut self.s, tables.string(&text));
                continue;
            }
            match part {
                Part::Send { key, value, offset } => {
                    put_varint(
                        &mut self.s,
                        if offset.is_some() {
                            TAG_SEND_AT
                        } else {
                            TAG_SEND
                        },
                    );
                    put_varint(&mut self.s, u64::from(key.0));
                    self.value(*value);
                    if let Some(o) = offset {
                        self.offset(*key, false, *o);
                    }
                }
                Part::Read {
                    key,
                    count,
                    first,
                    last,
                } => {
                    put_varint(&mut self.s, TAG_READ);
                    put_varint(&mut self.s, u64::from(key.0));
                    put_varint(&mut self.s, *count as u64);
                    self.offset(*key, true, first.0);
                    // Relative to a gapless read; `last` becomes the key's previous offset.
                    put_signed(&mut self.o, last.0 - first.0 - (*count as i64 - 1));
                    self.prev_o.insert((key.0, true), last.0);
                    self.value(first.1);
                    self.value(last.1);
                }
                Part::ReadNothing(key) => {
                    put_varint(&mut self.s, TAG_READ_NOTHING);
                    put_varint(&mut self.s, u64::from(key.0));
                }
                Part::NothingRead => put_varint(&mut self.s, TAG_NOTHING_READ),
                Part::Assign(keys, from_start) => {
                    put_varint(&mut self.s, TAG_ASSIGN);
                    // An assignment of no key has no key set (-1): store it shifted by one.
                    put_varint(&mut self.s, (tables.keyset(keys) + 1) as u64);
                    put_varint(&mut self.s, u64::from(*from_start));
                }
                Part::Error(e) => {
                    put_varint(&mut self.s, TAG_ERROR);
                    put_varint(&mut self.s, tables.string(e));
                }
                Part::Text(t) => {
                    put_varint(&mut self.s, TAG_TEXT);
                    put_varint(&mut self.s, tables.string(t));
                }
            }
        }
    }

    fn member(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.s.len() + self.v.len() + self.o.len() + 10);
        put_varint(&mut out, self.s.len() as u64);
        put_varint(&mut out, self.v.len() as u64);
        out.extend_from_slice(&self.s);
        out.extend_from_slice(&self.v);
        out.extend_from_slice(&self.o);
        out
    }
}

/// Appends `bytes` gzip-compressed to `bin`; returns the member's span.
fn gzip_into(bin: &mut Vec<u8>, bytes: &[u8]) -> std::io::Result<[usize; 2]> {
    let start = bin.len();
    let mut enc = GzEncoder::new(std::mem::take(bin), Compression::default());
    enc.write_all(bytes)?;
    *bin = enc.finish()?;
    Ok([start, bin.len() - start])
}

/// A row of the view: a client operation or a nemesis event.
enum Row<'a> {
    Op(&'a Op),
    Nemesis(&'a NemesisEvent),
}

/// The rows in history order: client operations are in invoke order, nemesis events in
/// file order; they are merged by line index.
fn rows(history: &History) -> impl Iterator<Item = Row<'_>> {
    let mut ops = history.ops.iter().peekable();
    let mut nemesis = history.nemesis.iter().peekable();
    std::iter::from_fn(move || match (ops.peek(), nemesis.peek()) {
        (Some(o), Some(e)) if e.index < o.invoke_index => nemesis.next().map(Row::Nemesis),
        (Some(_), _) => ops.next().map(Row::Op),
        (None, _) => nemesis.next().map(Row::Nemesis),
    })
}

/// Encodes the whole history for the page.
pub fn encode(history: &History) -> Result<HistoryData, std::io::Error> {
    let keys: Vec<&str> = history.keys.ids().map(|k| history.keys.name(k)).collect();
    // Client functions by their position in the checker's table; nemesis functions follow.
    let mut functions: Vec<String> = Function::all().map(|f| f.name().to_owned()).collect();
    for e in &history.nemesis {
        if !functions.contains(&e.f) {
            functions.push(e.f.clone());
        }
    }
    let mut index = Column::new("index", true, true);
    let mut complete = Column::new("complete", true, false);
    let mut process = Column::new("process", true, false);
    let mut function = Column::new("f", false, false);
    let mut outcome = Column::new("outcome", false, false);
    let mut time = Column::new("time", true, true);
    let mut latency = Column::new("latency", true, false);
    let mut keysets = Column::new("keys", true, false);
    let mut tables = Tables::default();
    let mut bin = Vec::new();
    let mut chunks = Vec::new();
    let mut chunk = Chunk::default();
    let mut count = 0usize;
    for row in rows(history) {
        count += 1;
        match row {
            Row::Op(op) => {
                index.push(op.invoke_index as i64);
                // 0 stands for "not completed": a completion is always a later line.
                complete.push(
                    op.complete_index
                        .map_or(0, |c| c as i64 - op.invoke_index as i64),
                );
                process.push(op.process as i64);
                function.push(op.f.position() as i64);
                outcome.push(op.outcome.position() as i64);
                time.push(micros(op.invoke_time));
                latency.push(
                    op.complete_time
                        .map_or(-1, |t| micros(t.saturating_sub(op.invoke_time))),
                );
                keysets.push(tables.keyset(&op_keys(op)));
                chunk.row(&parts(op), history, &mut tables);
            }
            Row::Nemesis(e) => {
                index.push(e.index as i64);
                complete.push(0);
                process.push(-1);
                function.push(functions.iter().position(|x| *x == e.f).unwrap_or(0) as i64);
                outcome.push(Outcome::Info.position() as i64);
                time.push(micros(e.time));
                latency.push(-1);
                keysets.push(-1);
                chunk.row(&[Part::Text(nemesis_summary(e))], history, &mut tables);
            }
        }
        if chunk.rows == CHUNK_ROWS {
            chunks.push(gzip_into(&mut bin, &chunk.member())?);
            chunk = Chunk::default();
        }
    }
    if chunk.rows > 0 {
        chunks.push(gzip_into(&mut bin, &chunk.member())?);
    }
    let mut columns = Vec::new();
    for c in [
        index, complete, process, function, outcome, time, latency, keysets,
    ] {
        let span = gzip_into(&mut bin, &c.bytes)?;
        columns.push((
            c.name,
            ColumnSpec {
                span,
                signed: c.signed,
                delta: c.delta,
            },
        ));
    }
    let strings = gzip_into(&mut bin, serde_json::to_string(&tables.strings)?.as_bytes())?;
    let meta = Meta {
        part_tags: PART_TAGS,
        rows: count,
        chunk_rows: CHUNK_ROWS,
        summary_max: SUMMARY_CHARS_MAX,
        keys,
        f: functions,
        outcomes: Outcome::ALL.map(Outcome::name),
        keysets: tables.keysets,
        columns,
        strings,
        chunks,
    };
    Ok(HistoryData {
        meta: script_safe(&serde_json::to_string(&meta)?),
        bin: base64::engine::general_purpose::STANDARD.encode(&bin),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    use checker::synth::{generate, SynthOptions};

    // Goal: the named tag table the page reads agrees with the tags the encoder writes.
    #[test]
    fn part_tag_names_match_the_tags() {
        let tags = [
            (TAG_SEND, "send"),
            (TAG_SEND_AT, "send_at"),
            (TAG_READ, "read"),
            (TAG_READ_NOTHING, "read_nothing"),
            (TAG_NOTHING_READ, "nothing_read"),
            (TAG_ASSIGN, "assign"),
            (TAG_ERROR, "error"),
            (TAG_TEXT, "text"),
        ];
        for (tag, name) in tags {
            assert_eq!(PART_TAGS[tag as usize], name);
        }
        assert_eq!(PART_TAGS.len(), tags.len());
        // The script names every tag it handles through this table, never a number.
        for name in PART_TAGS {
            assert!(
                super::super::assets::JS.contains(&format!("TAG.{name})")),
                "report.js does not handle {name}"
            );
        }
    }

    /// Reads varints back (the page's decoder, in Rust, for these tests).
    struct Reader<'a>(&'a [u8], usize);

    impl Reader<'_> {
        fn u(&mut self) -> u64 {
            let (mut x, mut shift) = (0u64, 0);
            loop {
                let b = self.0[self.1];
                self.1 += 1;
                x |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return x;
                }
            }
        }

        fn s(&mut self) -> i64 {
            let x = self.u();
            ((x >> 1) as i64) ^ -((x & 1) as i64)
        }
    }

    fn gunzip(bin: &[u8], span: &serde_json::Value) -> Vec<u8> {
        let (at, len) = (
            span[0].as_u64().unwrap() as usize,
            span[1].as_u64().unwrap() as usize,
        );
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bin[at..at + len])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn decode_column(bin: &[u8], spec: &serde_json::Value, rows: usize) -> Vec<i64> {
        let bytes = gunzip(bin, &spec["span"]);
        let mut r = Reader(&bytes, 0);
        let mut prev = 0;
        (0..rows)
            .map(|_| {
                let v = if spec["signed"] == true {
                    r.s()
                } else {
                    r.u() as i64
                };
                if spec["delta"] == true {
                    prev += v;
                    prev
                } else {
                    v
                }
            })
            .collect()
    }

    // Goal: a closing tag inside data cannot end the script element that embeds it.
    #[test]
    fn script_safe_escapes_closing_tags() {
        let s = script_safe(r#"{"e":"</script><!--"}"#);
        assert!(!s.contains("</") && !s.contains("<!--"));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["e"], "</script><!--");
    }

    // Goal: long summaries are cut at a char boundary with an ellipsis.
    #[test]
    fn long_summaries_are_cut() {
        let s = cut("é".repeat(SUMMARY_CHARS_MAX + 10));
        assert_eq!(s.chars().count(), SUMMARY_CHARS_MAX + 1);
        assert!(s.ends_with('…'));
    }

    // Goal: varints and zigzag round-trip at the edges, including JavaScript's exact limit.
    #[test]
    fn varints_round_trip() {
        let values = [0i64, 1, -1, 63, -64, 127, 128, JS_EXACT_MAX, -JS_EXACT_MAX];
        let mut bytes = Vec::new();
        for v in values {
            put_signed(&mut bytes, v);
        }
        put_varint(&mut bytes, u64::MAX);
        let mut r = Reader(&bytes, 0);
        for v in values {
            assert_eq!(r.s(), v);
        }
        assert_eq!(r.u(), u64::MAX);
    }

    // Goal: the index columns decode back to every operation's fields, in history order,
    // and each detail chunk holds one part list per row (what the page's script reads).
    #[test]
    fn columns_and_chunks_decode_to_the_history() {
        let (history, _) = generate(&SynthOptions {
            ops: 9000,
            keys: 3,
            concurrency: 5,
            seed: 11,
            ..SynthOptions::default()
        })
        .unwrap();
        let data = encode(&history).unwrap();
        let meta: serde_json::Value = serde_json::from_str(&data.meta).unwrap();
        let bin = base64::engine::general_purpose::STANDARD
            .decode(&data.bin)
            .unwrap();
        let n = meta["rows"].as_u64().unwrap() as usize;
        assert_eq!(n, history.ops.len() + history.nemesis.len());
        let col = |name: &str| {
            let spec = meta["columns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[0] == name)
                .unwrap();
            decode_column(&bin, &spec[1], n)
        };
        let (index, complete, latency, keys) =
            (col("index"), col("complete"), col("latency"), col("keys"));
        let keysets = meta["keysets"].as_array().unwrap();
        for (i, op) in history.ops.iter().enumerate() {
            assert_eq!(index[i], op.invoke_index as i64);
            assert_eq!(
                complete[i],
                op.complete_index
                    .map_or(0, |c| c as i64 - op.invoke_index as i64)
            );
            if let Some(t) = op.complete_time {
                assert_eq!(latency[i], micros(t - op.invoke_time));
            }
            let want: Vec<u32> = op_keys(op).iter().map(|k| k.0).collect();
            let got: Vec<u32> = if keys[i] < 0 {
                Vec::new()
            } else {
                serde_json::from_value(keysets[keys[i] as usize].clone()).unwrap()
            };
            assert_eq!(got, want, "row {i}");
        }
        let chunks = meta["chunks"].as_array().unwrap();
        assert_eq!(chunks.len(), n.div_ceil(CHUNK_ROWS));
        // The first chunk: rebuild every part and compare with the operation's parts.
        let bytes = gunzip(&bin, &chunks[0]);
        let mut head = Reader(&bytes, 0);
        let (ls, lv) = (head.u() as usize, head.u() as usize);
        let body = head.1;
        let mut s = Reader(&bytes[body..body + ls], 0);
        let mut v = Reader(&bytes[body + ls..body + ls + lv], 0);
        let mut o = Reader(&bytes[body + ls + lv..], 0);
        let mut pv = 0i64;
        let mut po: HashMap<(u32, bool), i64> = HashMap::new();
        for op in history.ops.iter().take(CHUNK_ROWS) {
            let want = parts(op);
            assert_eq!(s.u() as usize, want.len());
            for part in want {
                let tag = s.u();
                let rebuilt = match tag {
                    TAG_SEND | TAG_SEND_AT => {
                        let key = KeyId(s.u() as u32);
                        pv += v.s();
                        let offset = (tag == TAG_SEND_AT).then(|| {
                            let prev = po.entry((key.0, false)).or_insert(0);
                            *prev += o.s();
                            *prev
                        });
                        Part::Send {
                            key,
                            value: pv,
                            offset,
                        }
                    }
                    TAG_READ => {
                        let key = KeyId(s.u() as u32);
                        let count = s.u() as usize;
                        let prev = po.entry((key.0, true)).or_insert(0);
                        let o1 = *prev + o.s();
                        let o2 = o1 + count as i64 - 1 + o.s();
                        *prev = o2;
                        pv += v.s();
                        let v1 = pv;
                        pv += v.s();
                        Part::Read {
                            key,
                            count,
                            first: (o1, v1),
                            last: (o2, pv),
                        }
                    }
                    TAG_READ_NOTHING => Part::ReadNothing(KeyId(s.u() as u32)),
                    TAG_NOTHING_READ => Part::NothingRead,
                    TAG_ASSIGN => {
                        let set = s.u() as usize;
                        let keys: Vec<KeyId> = if set == 0 {
                            Vec::new()
                        } else {
                            keysets[set - 1]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|k| KeyId(k.as_u64().unwrap() as u32))
                                .collect()
                        };
                        Part::Assign(keys, s.u() == 1)
                    }
                    TAG_ERROR | TAG_TEXT => {
                        let _ = s.u();
                        part.clone()
                    }
                    other => panic!("unknown tag {other}"),
                };
                assert_eq!(rebuilt, part);
            }
        }
    }

    // Goal: a number a JavaScript double would round travels as text, not as a number.
    #[test]
    fn huge_numbers_travel_as_text() {
        let big = Part::Send {
            key: KeyId(0),
            value: i64::MAX,
            offset: Some(3),
        };
        assert!(!big.exact_in_js());
        let small = Part::Send {
            key: KeyId(0),
            value: JS_EXACT_MAX,
            offset: None,
        };
        assert!(small.exact_in_js());
    }
}
