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

use serde::Serialize;
use serde_json::{json, Value};

/// Who performed an operation: a client process number, or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A client process (one outstanding operation at a time).
    Client(u64),
    /// The fault injector; its operations are always of type `info`.
    Nemesis,
    /// The harness itself (process `"harness"`): notes such as the watchdog's, never an
    /// operation on the broker; always of type `info`.
    Harness,
}

/// The `type` of a history line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation is about to be attempted.
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown whether it happened.
    Info,
}

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
    pub fn create(path: &Path, header: &Value) -> Result<Recorder, RecorderError> {
        let err = |source| RecorderError {
            path: path.display().to_string(),
            source,
        };
        let mut out = BufWriter::new(File::create(path).map_err(err)?);
        serde_json::to_writer(&mut out, header).map_err(|e| err(e.into()))?;
        out.write_all(b"\n").map_err(err)?;
        out.flush().map_err(err)?;
        Ok(Recorder {
            path: path.display().to_string(),
            start: Instant::now(),
            inner: Mutex::new(Inner {
                out,
                next_index: 0,
                last_time: 0,
                ops_completed: 0,
                ops_ok: 0,
                last_ok_time: None,
            }),
        })
    }

    /// Nanoseconds since the recorder was created (the history's clock).
    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// How many completions (`ok`/`fail`/`info` of clients) were recorded so far.
    pub fn completed(&self) -> u64 {
        self.lock().ops_completed
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

    /// Appends one line and flushes it; returns the line's `index`.
    pub fn record(
        &self,
        actor: Actor,
        op_type: OpType,
        f: &str,
        value: Value,
        extra: &Extra,
    ) -> Result<u64, RecorderError> {
        let mut inner = self.lock();
        let time = self.now_nanos().max(inner.last_time);
        let index = inner.next_index;
        let process = match actor {
            Actor::Client(p) => json!(p),
            Actor::Nemesis => json!("nemesis"),
            Actor::Harness => json!("harness"),
        };
        let mut line = json!({
            "index": index,
            "time": time,
            "wall": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "process": process,
            "type": op_type,
            "f": f,
            "value": value,
        });
        let map = line.as_object_mut().expect("a json! object literal");
        if let Some(e) = &extra.error {
            map.insert("error".into(), json!(e));
        }
        if let Some(p) = extra.producer {
            map.insert("producer".into(), json!(p));
        }
        if extra.is_final {
            map.insert("final".into(), json!(true));
        }
        let mut bytes = serde_json::to_vec(&line).map_err(|e| self.error(e.into()))?;
        bytes.push(b'\n');
        inner
            .out
            .write_all(&bytes)
            .and_then(|()| inner.out.flush())
            .map_err(|e| self.error(e))?;
        inner.next_index += 1;
        inner.last_time = time;
        if matches!(actor, Actor::Client(_)) && op_type != OpType::Invoke {
            inner.ops_completed += 1;
            if op_type == OpType::Ok {
                inner.ops_ok += 1;
                inner.last_ok_time = Some(time);
            }
        }
        Ok(index)
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

    // Goal: lines are numbered in file order with non-decreasing times, and optional
    // fields appear only when set. Method: record three lines and read the file back.
    #[test]
    fn records_numbered_flushed_lines() {
        let dir = std::env::temp_dir().join(format!("samsa-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.jsonl");
        let rec = Recorder::create(&path, &json!({"format": "samsa-history/1"})).unwrap();
        let v = json!([["send", "0", 1]]);
        rec.record(
            Actor::Client(0),
            OpType::Invoke,
            "send",
            v.clone(),
            &Extra::default(),
        )
        .unwrap();
        let extra = Extra {
            producer: Some(3),
            ..Extra::default()
        };
        rec.record(Actor::Client(0), OpType::Ok, "send", v, &extra)
            .unwrap();
        rec.record(
            Actor::Nemesis,
            OpType::Info,
            "kill",
            json!(["n1"]),
            &Extra::default(),
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1]["index"], 0);
        assert_eq!(lines[3]["index"], 2);
        assert_eq!(lines[3]["process"], "nemesis");
        assert_eq!(lines[2]["producer"], 3);
        assert!(lines[1].get("producer").is_none());
        assert!(lines[2]["time"].as_u64() >= lines[1]["time"].as_u64());
        assert_eq!(rec.completed(), 1);
        assert_eq!(rec.ok_progress(), (1, lines[2]["time"].as_u64()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
