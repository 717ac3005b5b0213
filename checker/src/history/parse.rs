//! Reading a history: streaming, line by line, from any `BufRead` or from a path (a file,
//! or a run directory holding `history.jsonl`).
//!
//! Only one line's bytes are held at a time; each is deserialized into typed structs and
//! folded into the [`Builder`]. Blank lines are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::error::HistoryError;
use super::model::History;
use super::pair::Builder;

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
    read(BufReader::with_capacity(1 << 20, file)).map_err(|e| e.in_file(file_path))
}
