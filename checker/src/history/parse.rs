//! Reading a history: streaming, line by line, from any `BufRead` or from a path (a file,
//! or a run directory holding `history.jsonl`).
//!
//! Only one line's bytes (or, reading a file, a few bounded batches of decoded lines) are
//! held at a time; each line is deserialized into typed structs and folded into the
//! [`Builder`]. Blank lines are skipped. Reading a file uses two threads: one reads and
//! decodes lines, the other pairs them (the target machine has two cores).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};

use super::decode::{fast_client_line, ClientLine};
use super::error::HistoryError;
use super::model::History;
use super::pair::Builder;
use super::raw::FastLine;

/// Lines per batch handed from the decoding thread to the pairing thread.
const BATCH_LINES: usize = 4096;

/// Batches in flight between the two threads (bounds memory).
const BATCHES_IN_FLIGHT_MAX: usize = 4;

/// The file a run directory keeps its history in.
pub const HISTORY_FILE: &str = "history.jsonl";

/// Reads a history from a stream. Errors name the 1-based line, the field and the problem.
pub fn read(mut input: impl BufRead) -> Result<History, HistoryError> {
    let mut builder = Builder::default();
    let mut buf = Vec::with_capacity(512);
    let mut line: u64 = 0;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| HistoryError::Stream {
                line: line + 1,
                source,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        builder
            .line(&buf)
            .map_err(|(field, problem)| HistoryError::Line {
                file: None,
                line,
                field,
                problem,
            })?;
    }
    Ok(builder.finish())
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
        source,
    })?;
    read_pipelined(BufReader::with_capacity(1 << 20, file)).map_err(|e| e.in_file(file_path))
}

/// One non-blank line as the decoding thread hands it over.
enum Decoded {
    /// Decoded by the fast path.
    Fast(ClientLine<'static>),
    /// For the field-by-field path (header, nemesis, anything unusual or malformed).
    Slow(Vec<u8>),
}

type Batch = Vec<(u64, Decoded)>;

/// [`read`] on two threads: this one pairs, a scoped one reads and decodes.
fn read_pipelined(input: impl BufRead + Send) -> Result<History, HistoryError> {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Result<Batch, HistoryError>>(BATCHES_IN_FLIGHT_MAX);
        scope.spawn(move || decode_lines(input, tx));
        let mut builder = Builder::default();
        // Returning early drops `rx`, which stops the decoding thread at its next send.
        for batch in rx {
            for (line, decoded) in batch? {
                let done = match decoded {
                    Decoded::Fast(client) => builder.client(client),
                    Decoded::Slow(bytes) => builder.slow_line(&bytes),
                };
                done.map_err(|(field, problem)| HistoryError::Line {
                    file: None,
                    line,
                    field,
                    problem,
                })?;
            }
        }
        Ok(builder.finish())
    })
}

/// Reads lines, decodes what the fast path can, and sends batches until the input ends,
/// reading fails, or the pairing side hangs up.
fn decode_lines(mut input: impl BufRead, tx: SyncSender<Result<Batch, HistoryError>>) {
    let mut buf = Vec::with_capacity(512);
    let mut line: u64 = 0;
    let mut first = true;
    let mut batch: Batch = Vec::with_capacity(BATCH_LINES);
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(source) => {
                let failed = Err(HistoryError::Stream {
                    line: line + 1,
                    source,
                });
                if tx.send(Ok(std::mem::take(&mut batch))).is_ok() {
                    // The pairing side may have hung up already; nothing else to tell.
                    tx.send(failed).ok();
                }
                return;
            }
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // The first line may be the header: the field-by-field path decides.
        let fast = if first {
            None
        } else {
            serde_json::from_slice::<FastLine<'_>>(&buf)
                .ok()
                .and_then(fast_client_line)
                .map(ClientLine::into_owned)
        };
        first = false;
        batch.push((
            line,
            fast.map_or_else(|| Decoded::Slow(buf.clone()), Decoded::Fast),
        ));
        if batch.len() == BATCH_LINES
            && tx
                .send(Ok(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH_LINES),
                )))
                .is_err()
        {
            return;
        }
    }
    // The pairing side may have hung up on an error; then there is no one to tell.
    tx.send(Ok(batch)).ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(ops: usize) -> String {
        let mut out = Vec::new();
        let options = crate::synth::SynthOptions {
            ops,
            ..Default::default()
        };
        crate::synth::write_history(&options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    // Goal: the two-thread reader gives exactly what the one-thread reader gives, across
    // several batches. Method: both over one synthetic history.
    #[test]
    fn pipelined_and_sequential_readers_agree() {
        let text = synthetic(5 * BATCH_LINES);
        let a = read(text.as_bytes()).unwrap();
        let b = read_pipelined(text.as_bytes()).unwrap();
        assert_eq!(a.ops, b.ops);
        assert_eq!(a.line_count, b.line_count);
        assert_eq!(a.keys.len(), b.keys.len());
    }

    // Goal: an error deep in a long input names the same line both ways, and the
    // pipelined reader stops cleanly. Method: corrupt one line past several batches.
    #[test]
    fn pipelined_reader_reports_the_same_error_line() {
        let mut lines: Vec<String> = synthetic(5 * BATCH_LINES)
            .lines()
            .map(str::to_owned)
            .collect();
        let at = 3 * BATCH_LINES + 17;
        lines[at] = "{\"index\": oops}".to_owned();
        let text = lines.join("\n");
        let a = read(text.as_bytes()).unwrap_err();
        let b = read_pipelined(text.as_bytes()).unwrap_err();
        assert_eq!(a.line(), Some(at as u64 + 1));
        assert_eq!(a.to_string(), b.to_string());
    }
}
