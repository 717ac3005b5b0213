//! The recovery-point checkpoint: per partition, the offset below which data is known flushed.
//!
//! Kafka's `recovery-point-offset-checkpoint` text format (version line, count line, then
//! `topic partition offset` lines). Written atomically (temp file, fsync, rename, fsync dir)
//! so a crash leaves either the old or the new checkpoint, never a torn one.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use thiserror::Error;

/// File name inside the data directory.
pub const FILE_NAME: &str = "recovery-point-offset-checkpoint";

/// A checkpoint that cannot be read: recovery then scans every segment.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("checkpoint I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not follow the format.
    #[error("malformed checkpoint line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
}

/// Recovery points keyed by (topic, partition).
pub type RecoveryPoints = BTreeMap<(String, i32), i64>;

/// Reads the checkpoint; a missing file means "nothing known flushed".
pub fn read(data_dir: &Path) -> Result<RecoveryPoints, CheckpointError> {
    let path = data_dir.join(FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RecoveryPoints::new()),
        Err(e) => return Err(e.into()),
    };
    parse(&text)
}

fn parse(text: &str) -> Result<RecoveryPoints, CheckpointError> {
    let bad = |line: usize, reason: &str| CheckpointError::Malformed {
        line,
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next() != Some("0") {
        return Err(bad(1, "expected version 0"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad(2, "expected entry count"))?;
    let mut points = RecoveryPoints::new();
    for (i, line) in lines.enumerate() {
        let mut parts = line.rsplitn(3, ' ');
        let offset = parts.next().and_then(|s| s.parse::<i64>().ok());
        let partition = parts.next().and_then(|s| s.parse::<i32>().ok());
        let topic = parts.next();
        match (topic, partition, offset) {
            (Some(t), Some(p), Some(o)) => {
                points.insert((t.to_string(), p), o);
            }
            _ => return Err(bad(i + 3, "expected `topic partition offset`")),
        }
    }
    if points.len() != count {
        return Err(bad(2, "entry count does not match the lines"));
    }
    Ok(points)
}

/// Atomically replaces the checkpoint with `points`.
pub fn write(data_dir: &Path, points: &RecoveryPoints) -> Result<(), CheckpointError> {
    let mut text = format!("0\n{}\n", points.len());
    for ((topic, partition), offset) in points {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let tmp = data_dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, data_dir.join(FILE_NAME))?;
    fs::File::open(data_dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read(dir.path()).expect("read").is_empty());
        let mut points = RecoveryPoints::new();
        points.insert(("orders".to_string(), 0), 42);
        points.insert(("a b".to_string(), 3), 7);
        write(dir.path(), &points).expect("write");
        assert_eq!(read(dir.path()).expect("read"), points);
    }

    #[test]
    fn malformed_checkpoint_is_an_error() {
        assert!(parse("1\n0\n").is_err());
        assert!(parse("0\n2\nt 0 5\n").is_err());
        assert!(parse("0\n1\nt x 5\n").is_err());
    }
}
