//! Reading a history: streaming, in blocks, from any `BufRead` or from a path (a file, or a
//! run directory holding `history.jsonl`).
//!
//! The input is read in blocks of about [`BLOCK_SIZE`] bytes, each cut after its last
//! newline. Worker threads decode the lines of whole blocks (the costly part: JSON into
//! typed structs, see [`super::decode`]); this thread reads the next blocks meanwhile and
//! hands each decoded block, in file order, to the [`Builder`], which pairs invocations
//! with completions. At most a few blocks are in flight, so memory stays bounded by them
//! and the history being built, never by the file. Blank lines are skipped.
//!
//! The result is the same as decoding and pairing one line after another: every line is
//! decoded by the same function, told whether a non-blank line came before it; the builder
//! takes lines in file order and stops at the first error, so the error of the first bad
//! line in file order is the one reported, with its line number.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use super::decode::{self, Decoded};
use super::error::HistoryError;
use super::model::{History, KeyTable};
use super::pair::{Builder, LocalKeys};

/// The file a run directory keeps its history in.
pub const HISTORY_FILE: &str = "history.jsonl";

/// How many bytes a block holds (more when one line is longer): large enough that handing
/// blocks between threads costs nothing measurable, small enough to keep memory low.
const BLOCK_SIZE: usize = 4 << 20;

/// Reads a history from a stream. Errors name the 1-based line, the field and the problem.
pub fn read(input: impl BufRead) -> Result<History, HistoryError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    read_blocks(input, BLOCK_SIZE, workers)
}

/// Reads a history from a file, or from `PATH/history.jsonl` when `path` is a directory.
pub fn read_path(path: &Path) -> Result<History, HistoryError> {
    let file_path: PathBuf = if path.is_dir() {
        path.join(HISTORY_FILE)
    } else {
        path.to_path_buf()
    };
    let file = File::open(&file_path).map_err(|source| HistoryError::Io {
        path: file_path.clone(),
        error: source,
    })?;
    // Reads of a whole block bypass the buffer; it only serves other callers of `read`.
    read(BufReader::with_capacity(64 << 10, file)).map_err(|e| e.in_file(file_path))
}

/// Whole lines of the input (each with its newline, the last one possibly without), with
/// an empty vector to decode them into (recycled, like `bytes`, from an earlier block).
struct Block {
    bytes: Vec<u8>,
    /// Whether a non-blank line comes before the block.
    after_nonblank: bool,
    lines: Vec<Decoded>,
    /// The history's keys when the block was handed out: the decoder's starting table.
    keys: KeyTable,
}

/// A block's lines, decoded up to the first line that is wrong whatever came before it.
struct DecodedBlock {
    lines: Vec<Decoded>,
    /// The keys `lines` refer to.
    keys: KeyTable,
    /// How many of them the history had when the block was handed out.
    known: usize,
    /// The block's bytes, for the reader to fill again.
    bytes: Vec<u8>,
}

/// Where the input stands.
enum State {
    Reading,
    /// A read failed after the lines already handed out.
    Failed(std::io::Error),
    Done,
}

/// Cuts the input into blocks of whole lines.
struct Blocks<R> {
    input: R,
    block_size: usize,
    /// The start of a line the previous block could not hold.
    carry: Vec<u8>,
    seen_nonblank: bool,
    state: State,
}

impl<R: Read> Blocks<R> {
    fn new(input: R, block_size: usize) -> Blocks<R> {
        Blocks {
            input,
            block_size: block_size.max(1),
            carry: Vec::new(),
            seen_nonblank: false,
            state: State::Reading,
        }
    }

    /// The next block, read into `bytes` (cleared first), or `None` at the end. On a read
    /// error the whole lines read before it come first, as a block, and the error with the
    /// next call, as when reading line by line: the line that could not be read is the one
    /// after them.
    fn next(&mut self, mut bytes: Vec<u8>) -> Option<std::io::Result<Block>> {
        if !matches!(self.state, State::Reading) {
            return match std::mem::replace(&mut self.state, State::Done) {
                State::Failed(e) => Some(Err(e)),
                _ => None,
            };
        }
        bytes.clear();
        bytes.append(&mut self.carry);
        // Fill up to the block size, then on until a newline (or the end) completes a line.
        let mut want = self.block_size.saturating_sub(bytes.len());
        let mut scanned = 0;
        let mut at_end = false;
        loop {
            if want > 0 {
                match (&mut self.input).take(want as u64).read_to_end(&mut bytes) {
                    Ok(n) if n < want => {
                        at_end = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.state = State::Failed(e);
                        break;
                    }
                }
            }
            if bytes[scanned..].contains(&b'\n') {
                break;
            }
            scanned = bytes.len();
            want = self.block_size;
        }
        if at_end {
            self.state = State::Done;
        } else {
            // Cut after the last newline; the partial line starts the next block (after a
            // failed read it is dropped, as reading line by line drops a line it cannot end).
            let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if matches!(self.state, State::Reading) {
                self.carry.extend_from_slice(&bytes[cut..]);
            }
            bytes.truncate(cut);
        }
        if bytes.is_empty() {
            return self.next(bytes);
        }
        let after_nonblank = self.seen_nonblank;
        self.seen_nonblank = after_nonblank || bytes.iter().any(|b| !b.is_ascii_whitespace());
        Some(Ok(Block {
            bytes,
            after_nonblank,
            lines: Vec::new(),
            keys: KeyTable::default(),
        }))
    }
}

/// Decodes a block's lines, stopping after the first that is wrong whatever came before.
fn decode_block(block: Block) -> DecodedBlock {
    let Block {
        bytes,
        after_nonblank,
        mut lines,
        mut keys,
    } = block;
    lines.clear();
    let known = keys.len();
    let mut first = !after_nonblank;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let decoded = decode::line(line, first, true, &mut keys);
        first &= matches!(decoded, Decoded::Blank);
        let wrong = matches!(decoded, Decoded::Error(_));
        lines.push(decoded);
        if wrong {
            break;
        }
    }
    DecodedBlock {
        lines,
        keys,
        known,
        bytes,
    }
}

/// Takes decoded blocks in file order into the [`Builder`], counting lines.
#[derive(Default)]
struct Taker {
    builder: Builder,
    /// Lines taken so far, blank ones included.
    lines: u64,
    local: LocalKeys,
}

impl Taker {
    /// Takes a block's lines; gives back its buffers for the next block.
    fn block(&mut self, block: DecodedBlock) -> Result<(Vec<u8>, Vec<Decoded>), HistoryError> {
        let DecodedBlock {
            mut lines,
            keys,
            known,
            bytes,
        } = block;
        self.local.reset(keys, known);
        for decoded in lines.drain(..) {
            self.lines += 1;
            self.builder
                .take(decoded, &mut self.local)
                .map_err(|(field, problem)| HistoryError::Line {
                    file: None,
                    line: self.lines,
                    field,
                    problem,
                })?;
        }
        Ok((bytes, lines))
    }

    /// A read failure: it concerns the line after those taken.
    fn failed(&self, source: std::io::Error) -> HistoryError {
        HistoryError::Stream {
            line: self.lines + 1,
            error: source,
        }
    }
}

/// Reads `input` in blocks of `block_size` bytes decoded by `workers` threads (on this
/// thread alone when `workers` is 0 or 1).
fn read_blocks(
    input: impl Read,
    block_size: usize,
    workers: usize,
) -> Result<History, HistoryError> {
    let mut blocks = Blocks::new(input, block_size);
    let mut taker = Taker::default();
    if workers <= 1 {
        let mut spare = (Vec::new(), Vec::new());
        while let Some(block) = blocks.next(spare.0) {
            let mut block = block.map_err(|e| taker.failed(e))?;
            block.lines = spare.1;
            block.keys = taker.builder.keys().clone();
            spare = taker.block(decode_block(block))?;
        }
        return Ok(taker.builder.finish());
    }
    let (job_tx, job_rx) = mpsc::channel::<(usize, Block)>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || loop {
                // A worker waits for a block holding the lock; the others wait for the lock.
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((seq, block)) = job else {
                    return;
                };
                // A panic goes to the reading thread, which raises it; else it would wait
                // for this block for ever.
                let decoded =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_block(block)));
                if done_tx.send((seq, decoded)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        feed(&mut blocks, &mut taker, job_tx, &done_rx, 2 * workers)?;
        Ok(taker.builder.finish())
    })
}

type Done = (usize, std::thread::Result<DecodedBlock>);

/// Hands blocks to the workers (at most `in_flight` at a time) and takes their results in
/// file order. Returning drops `jobs`, which lets the workers finish.
fn feed<R: Read>(
    blocks: &mut Blocks<R>,
    taker: &mut Taker,
    jobs: mpsc::Sender<(usize, Block)>,
    done: &mpsc::Receiver<Done>,
    in_flight: usize,
) -> Result<(), HistoryError> {
    let mut sent = 0;
    let mut taken = 0;
    let mut spare: Vec<(Vec<u8>, Vec<Decoded>)> = Vec::new();
    let mut ready: BTreeMap<usize, DecodedBlock> = BTreeMap::new();
    let mut failure = None;
    let mut reading = true;
    loop {
        while reading && sent - taken < in_flight {
            let (bytes, lines) = spare.pop().unwrap_or_default();
            match blocks.next(bytes) {
                None => reading = false,
                Some(Err(e)) => {
                    failure = Some(e);
                    reading = false;
                }
                Some(Ok(mut block)) => {
                    block.lines = lines;
                    block.keys = taker.builder.keys().clone();
                    jobs.send((sent, block))
                        .expect("the workers run until the reader is done");
                    sent += 1;
                }
            }
        }
        if taken == sent {
            break;
        }
        let block = loop {
            if let Some(block) = ready.remove(&taken) {
                break block;
            }
            let (seq, decoded) = done.recv().expect("a worker holds every block in flight");
            match decoded {
                Ok(block) => ready.insert(seq, block),
                Err(panic) => std::panic::resume_unwind(panic),
            };
        };
        spare.push(taker.block(block)?);
        taken += 1;
    }
    match failure {
        Some(e) => Err(taker.failed(e)),
        None => Ok(()),
    }
}

/// The reference the block reader must match: one line after another on this thread, as
/// the reader worked before blocks (`try_fast` false forces the field-by-field path).
#[cfg(test)]
pub(crate) fn read_line_by_line(
    mut input: impl BufRead,
    try_fast: bool,
) -> Result<History, HistoryError> {
    let mut builder = Builder::default();
    let mut local = LocalKeys::default();
    let mut seen_nonblank = false;
    let mut buf = Vec::new();
    let mut line: u64 = 0;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| HistoryError::Stream {
                line: line + 1,
                error: source,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        let decoded = decode::line(&buf, !seen_nonblank, try_fast, &mut local.table);
        seen_nonblank |= !matches!(decoded, Decoded::Blank);
        builder
            .take(decoded, &mut local)
            .map_err(|(field, problem)| HistoryError::Line {
                file: None,
                line,
                field,
                problem,
            })?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Asserts two histories are the same, keys (by name, in order) included.
    pub(crate) fn assert_same(a: &History, b: &History) {
        assert_eq!(a.ops, b.ops);
        assert_eq!(a.nemesis, b.nemesis);
        assert_eq!(a.line_count, b.line_count);
        assert_eq!(format!("{:?}", a.header), format!("{:?}", b.header));
        let names = |h: &History| {
            h.keys
                .ids()
                .map(|k| h.keys.name(k).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(a), names(b));
    }

    /// Every history of the reference corpus, as text.
    pub(crate) fn corpus_texts() -> Vec<String> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../histories/corpus");
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Both readers agree: the same history, or the same error on the same line.
    fn agree(text: &[u8], block_size: usize, workers: usize) {
        let blocks = read_blocks(text, block_size, workers);
        let lines = read_line_by_line(text, true);
        match (&blocks, &lines) {
            (Ok(a), Ok(b)) => assert_same(a, b),
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string());
                assert_eq!(a.line(), b.line());
            }
            _ => panic!(
                "block size {block_size}, {workers} workers: {:?} but line by line {:?}",
                blocks.as_ref().map(|h| h.ops.len()),
                lines.as_ref().map(|h| h.ops.len()),
            ),
        }
    }

    fn synthetic(ops: usize) -> String {
        let options = crate::synth::SynthOptions {
            ops,
            keys: 3,
            indeterminate_ratio: 0.05,
            ..Default::default()
        };
        let mut text = Vec::new();
        crate::synth::write_history(&options, &mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    /// Ways to spoil one line: each is wrong on its own, or only given the lines before.
    const DAMAGE: &[fn(&str) -> String] = &[
        |_| "{not json".to_owned(),
        |_| "   ".to_owned(),
        |_| String::new(),
        |l| l.replacen("\"index\":", "\"index\":1", 1),
        |l| l.replacen("\"time\":", "\"time\":\"x\",\"t\":", 1),
        |l| l.replacen("\"type\":\"", "\"type\":\"x", 1),
        |l| l.replacen("\"send\",\"", "\"send\",\"\\u0041", 1),
        |l| l.replacen("\"value\":", "\"format\":\"x\",\"value\":", 1),
        |l| l.replacen("]]}", "]]}]", 1),
        |l| format!("{l}\n{l}"),
    ];

    // Goal: decoding blocks of lines on worker threads reads exactly what decoding line
    // by line reads, and fails with the same error on the same line. Method: the corpus and
    // a synthetic history, intact and with a line spoiled near a block boundary, at block
    // sizes from one byte up and with one to three workers.
    #[test]
    fn blocks_read_what_lines_read() {
        let mut texts = corpus_texts();
        let synth = synthetic(300);
        texts.push(synth.clone());
        texts.push(synth.trim_end().to_owned());
        texts.push(format!("\n  \n{synth}\n\n"));
        for text in &texts {
            for block_size in [1, 2, 97, 1000, 1 << 20] {
                for workers in [1, 2, 3] {
                    agree(text.as_bytes(), block_size, workers);
                }
            }
        }
        // A spoiled line straddling, starting or ending a 1000-byte block boundary.
        let lines: Vec<&str> = synth.lines().collect();
        let mut at = 0;
        for (i, line) in lines.iter().enumerate().skip(1) {
            let end = at + line.len() + 1;
            if at / 1000 != end / 1000 {
                for damage in DAMAGE {
                    let mut spoiled: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    spoiled[i] = damage(line);
                    let text = spoiled.join("\n") + "\n";
                    for workers in [1, 2] {
                        agree(text.as_bytes(), 1000, workers);
                    }
                }
            }
            at = end;
        }
    }

    /// A stream that fails once `fail_at` bytes have been read.
    struct Failing<'a> {
        data: &'a [u8],
        fail_at: usize,
        chunk: usize,
    }

    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.fail_at == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf
                .len()
                .min(self.fail_at)
                .min(self.data.len())
                .min(self.chunk);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.fail_at -= n;
            Ok(n)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        // Goal: the same with a line spoiled anywhere, any block size, any worker count.
        #[test]
        fn spoiled_anywhere_blocks_read_what_lines_read(
            at in any::<prop::sample::Index>(),
            damage in 0..DAMAGE.len(),
            block_size in 1usize..3000,
            workers in 1usize..4,
        ) {
            let synth = synthetic(200);
            let mut lines: Vec<String> = synth.lines().map(str::to_owned).collect();
            let i = at.index(lines.len());
            lines[i] = DAMAGE[damage](&lines[i]);
            agree((lines.join("\n") + "\n").as_bytes(), block_size, workers);
        }

        // Goal: a read that fails is reported on the line after the last whole line read,
        // after any error in the lines before it, as when reading line by line.
        #[test]
        fn failed_reads_are_reported_on_the_same_line(
            fail_at in 0usize..12_000,
            chunk in 1usize..5000,
            block_size in 1usize..3000,
            workers in 1usize..4,
            spoil in proptest::option::of(0usize..100),
        ) {
            let synth = synthetic(100);
            let mut lines: Vec<String> = synth.lines().map(str::to_owned).collect();
            if let Some(i) = spoil {
                lines[i] = "{not json".to_owned();
            }
            let text = lines.join("\n") + "\n";
            let stream = || Failing { data: text.as_bytes(), fail_at, chunk };
            let blocks = read_blocks(stream(), block_size, workers);
            let lines = read_line_by_line(BufReader::with_capacity(7, stream()), true);
            match (blocks, lines) {
                (Ok(a), Ok(b)) => assert_same(&a, &b),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    prop_assert_eq!(a.line(), b.line());
                }
                (a, b) => panic!("{:?} but line by line {:?}", a.map(|h| h.ops.len()), b.map(|h| h.ops.len())),
            }
        }
    }
}
