//! The history recorder: appends operations to `history.jsonl` as they happen.
//!
//! Each line is written and flushed before the call returns, so a run killed at any
//! moment (Ctrl-C, a harness crash, the CI time limit) leaves a history that is complete
//! up to its last line and can still be checked. `index` and `time` are assigned under
//! the same lock as the write, which is what makes them agree with file order
//! (HISTORY.md: indices count up in file order, times never decrease).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

pub use checker::history::line::{HeaderLine, Line, LineFunction, LineType, LineValue, Process};
use checker::history::model::Function;

/// Optional fields of a line besides the required ones.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Why a `fail` or `info` ended so.
    pub error: Option<String>,
    /// The producer session that handled a send.
    pub producer: Option<u64>,
    /// Marks the final reads made after the faults healed.
    pub is_final: bool,
}

impl Extra {
    /// These fields with `error` set: why a `fail` or `info` ended so.
    pub fn with_error(&self, error: impl std::fmt::Display) -> Extra {
        Extra {
            error: Some(error.to_string()),
            ..self.clone()
        }
    }
}

/// Errors of the recorder: only I/O, and they name the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the history {path}: {source}")]
pub struct RecorderError {
    path: String,
    #[source]
    source: std::io::Error,
}

struct Inner {
    out: BufWriter<File>,
    next_index: u64,
    last_time: u64,
    ops_completed: u64,
    /// Bytes of whole lines flushed to the file, header included.
    bytes_flushed: u64,
    /// Client completions of type `ok` so far, and the history time of the last one.
    ops_ok: u64,
    last_ok_time: Option<u64>,
}

/// Writes `history.jsonl` line by line; shared by every client task and the nemesis.
pub struct Recorder {
    path: String,
    start: Instant,
    inner: Mutex<Inner>,
}

impl Recorder {
    /// Creates the history file and writes its header (the run's promised guarantees).
    pub fn create(path: &Path, header: &HeaderLine) -> Result<Recorder, RecorderError> {
        let err = |source| RecorderError {
            path: path.display().to_string(),
            source,
        };
        let mut out = BufWriter::new(File::create(path).map_err(err)?);
        serde_json::to_writer(&mut out, header).map_err(|e| err(e.into()))?;
        out.write_all(b"\n").map_err(err)?;
        out.flush().map_err(err)?;
        let header_bytes = out.get_ref().metadata().map_err(err)?.len();
        Ok(Recorder {
            path: path.display().to_string(),
            start: Instant::now(),
            inner: Mutex::new(Inner {
                out,
                next_index: 0,
                last_time: 0,
                ops_completed: 0,
                bytes_flushed: header_bytes,
                ops_ok: 0,
                last_ok_time: None,
            }),
        })
    }

    /// When the recorder was created: the zero of the history's clock, which fault
    /// offsets share so a timeline read back from the history (`samsa schedule`) replays
    /// at the offsets it was recorded at.
    pub fn started(&self) -> Instant {
        self.start
    }

    /// Nanoseconds since the recorder was created (the history's clock).
    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// How many completions (`ok`/`fail`/`info` of clients) were recorded so far.
    pub fn completed(&self) -> u64 {
        self.lock().ops_completed
    }

    /// The length of the history's prefix made of whole flushed lines: what a reader
    /// following the file (the live check) may read without meeting a half-written line.
    pub fn bytes_flushed(&self) -> u64 {
        self.lock().bytes_flushed
    }

    /// How many client operations completed `ok` so far, and the history time (ns) of
    /// the last one: what the main phase's watchdog watches.
    pub fn ok_progress(&self) -> (u64, Option<u64>) {
        let inner = self.lock();
        (inner.ops_ok, inner.last_ok_time)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written line behind
        // (each line is one write_all), so the data is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one client line (`f` is a client function) and flushes it; returns the
    /// line's `index`.
    pub fn record(
        &self,
        client: u64,
        op_type: LineType,
        f: Function,
        value: LineValue,
        extra: &Extra,
    ) -> Result<u64, RecorderError> {
        self.record_line(Process::Client(client), op_type, f.into(), value, extra)
            .map(|line| line.index)
    }

    /// Appends one `info` line of the nemesis or the harness (`f` names the event) and
    /// flushes it; returns the line's `index`.
    pub fn record_event(
        &self,
        process: Process,
        f: &str,
        value: serde_json::Value,
        extra: &Extra,
    ) -> Result<u64, RecorderError> {
        self.record_line(
            process,
            LineType::Info,
            LineFunction::Event(f.to_owned()),
            LineValue::Other(value),
            extra,
        )
        .map(|line| line.index)
    }

    /// Appends one line, numbering and timing it under the lock, and flushes it; returns
    /// the line as written.
    pub fn record_line(
        &self,
        process: Process,
        op_type: LineType,
        f: LineFunction,
        value: LineValue,
        extra: &Extra,
    ) -> Result<Line, RecorderError> {
        let mut inner = self.lock();
        let time = self.now_nanos().max(inner.last_time);
        let line = Line {
            index: inner.next_index,
            time,
            wall: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            process,
            kind: op_type,
            f,
            value,
            error: extra.error.clone(),
            producer: extra.producer,
            is_final: extra.is_final,
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| self.error(e.into()))?;
        bytes.push(b'\n');
        inner
            .out
            .write_all(&bytes)
            .and_then(|()| inner.out.flush())
            .map_err(|e| self.error(e))?;
        inner.next_index += 1;
        inner.last_time = time;
        inner.bytes_flushed += bytes.len() as u64;
        if matches!(process, Process::Client(_)) && op_type != LineType::Invoke {
            inner.ops_completed += 1;
            if op_type == LineType::Ok {
                inner.ops_ok += 1;
                inner.last_ok_time = Some(time);
            }
        }
        Ok(line)
    }

    fn error(&self, source: std::io::Error) -> RecorderError {
        RecorderError {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::history::model::Guarantees;
    use serde_json::{json, Value};

    // Goal: lines are numbered in file order with non-decreasing times, and optional
    // fields appear only when set. Method: record three lines and read the file back.
    #[test]
    fn records_numbered_flushed_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(checker::history::HISTORY_FILE);
        let header = HeaderLine::new(None, Guarantees::default());
        let rec = Recorder::create(&path, &header).unwrap();
        let none = Extra::default();
        rec.record(
            0,
            LineType::Invoke,
            Function::Send,
            LineValue::send("0", 1),
            &none,
        )
        .unwrap();
        let extra = Extra {
            producer: Some(3),
            ..Extra::default()
        };
        let ok = LineValue::sent("0", Some(0), 1);
        rec.record(0, LineType::Ok, Function::Send, ok, &extra)
            .unwrap();
        rec.record_event(Process::Nemesis, "kill", json!(["n1"]), &none)
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["format"], checker::history::line::FORMAT);
        assert_eq!(lines[1]["index"], 0);
        assert_eq!(lines[3]["index"], 2);
        assert_eq!(lines[3]["process"], "nemesis");
        assert_eq!(lines[3]["type"], "info");
        assert_eq!(lines[2]["producer"], 3);
        assert_eq!(lines[2]["value"], json!([["send", "0", [0, 1]]]));
        assert!(lines[1].get("producer").is_none());
        assert!(lines[1].get("final").is_none());
        assert!(lines[2]["time"].as_u64() >= lines[1]["time"].as_u64());
        assert_eq!(rec.completed(), 1);
        assert_eq!(rec.ok_progress(), (1, lines[2]["time"].as_u64()));
        assert_eq!(rec.bytes_flushed(), text.len() as u64);
    }
}
