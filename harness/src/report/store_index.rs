//! The index of a store of runs (`histories/<test>/<timestamp>/`) for `samsa serve`: one
//! entry per run with its test name, start time, duration, verdict and anomaly counts,
//! newest first. Everything comes from files the run already wrote (`test.json`,
//! `results.json`, the tail of `history.jsonl`); a run missing some of them is still
//! listed, with what is unknown left empty.

use std::collections::BTreeMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use checker::history::line::Line;

use crate::run_dir::{RunDir, LOGS_DIR};

/// At most this many runs are listed.
pub const RUNS_MAX: usize = 5_000;
/// How much of the end of `history.jsonl` is read to find the run's duration.
const TAIL_BYTES: u64 = 64 * 1024;

/// One run of the store.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunEntry {
    /// The test's name (the first directory level).
    pub test: String,
    /// The run's directory name (its UTC start time).
    pub stamp: String,
    /// The path from the store's root, `test/stamp`.
    pub path: String,
    /// When it started (`test.json`), if known.
    pub started: Option<String>,
    /// How long the history spans, in seconds, if known.
    pub duration_s: Option<f64>,
    /// `valid`, `invalid`, `unknown`, or `unchecked` (no results.json).
    pub verdict: String,
    /// Findings per anomaly type (`results.json`).
    pub counts: BTreeMap<String, u64>,
    /// The files of the run directory (and of its `logs/`), relative to it.
    pub files: Vec<String>,
}

/// Lists the runs of `store`, newest first.
pub fn list_runs(store: &Path) -> std::io::Result<Vec<RunEntry>> {
    let mut runs = Vec::new();
    for test in sorted_dirs(store)? {
        for run in sorted_dirs(&test)? {
            let dir = RunDir::new(&run);
            if dir.history().is_file() || dir.results().is_file() {
                runs.push(entry(store, &run));
            }
        }
    }
    runs.sort_by(|a, b| b.stamp.cmp(&a.stamp).then_with(|| a.test.cmp(&b.test)));
    runs.truncate(RUNS_MAX);
    Ok(runs)
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn entry(store: &Path, run: &Path) -> RunEntry {
    let dir = RunDir::new(run);
    let test_json = dir.read_test().ok();
    let results = dir.read_results().ok();
    let verdict = results.as_ref().map_or("unchecked", |r| r.verdict());
    let counts = results.map(|r| r.stats.counts).unwrap_or_default();
    let rel = run.strip_prefix(store).unwrap_or(run);
    RunEntry {
        test: run.parent().map_or_else(String::new, name_of),
        stamp: name_of(run),
        path: rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        started: test_json.and_then(|t| t.started),
        duration_s: last_time_ns(&dir.history()).map(|t| t as f64 / 1e9),
        verdict: verdict.to_owned(),
        counts,
        files: files_of(run),
    }
}

/// The `time` of the last complete line of a history, read from its tail only.
pub fn last_time_ns(path: &Path) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Line>(line).ok().map(|l| l.time))
}

fn files_of(run: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let logs_prefix = format!("{LOGS_DIR}/");
    for (dir, prefix) in [
        (run.to_path_buf(), ""),
        (RunDir::new(run).logs(), logs_prefix.as_str()),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| format!("{prefix}{}", e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        files.extend(names);
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::{HISTORY_FILE, RESULTS_FILE};
    use checker::history::line::{to_jsonl, LineType, LineValue};
    use checker::history::model::Function;

    // Goal: runs are found two levels down, newest first, with verdict and counts from results.json.
    #[test]
    fn lists_runs_newest_first_with_verdicts() {
        let store = tempfile::tempdir().unwrap();
        let old = store.path().join("queue/20260101T000000.000Z");
        let new = store.path().join("queue/20260102T000000.000Z");
        std::fs::create_dir_all(old.join("logs")).unwrap();
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            old.join(HISTORY_FILE),
            to_jsonl(
                None,
                &[
                    Line::client(0, 5, 0, LineType::Invoke, Function::Poll, LineValue::poll()),
                    Line::client(
                        1,
                        2_000_000_000,
                        0,
                        LineType::Fail,
                        Function::Poll,
                        LineValue::poll(),
                    ),
                ],
            ),
        )
        .unwrap();
        std::fs::write(old.join("logs/n1.log"), "x").unwrap();
        std::fs::write(
            new.join(RESULTS_FILE),
            r#"{"valid":false,"stats":{"counts":{"lost-write":2}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(store.path().join("queue/not-a-run")).unwrap();
        let runs = list_runs(store.path()).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].stamp, "20260102T000000.000Z");
        assert_eq!(runs[0].verdict, "invalid");
        assert_eq!(runs[0].counts.get("lost-write"), Some(&2));
        assert_eq!(runs[1].verdict, "unchecked");
        assert_eq!(runs[1].duration_s, Some(2.0));
        assert_eq!(runs[1].files, vec!["history.jsonl", "logs/n1.log"]);
        assert_eq!(runs[1].path, "queue/20260101T000000.000Z");
    }
}
