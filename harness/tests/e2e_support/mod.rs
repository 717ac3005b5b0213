//! What the end-to-end test files share: a fresh store per test, the run directories it
//! holds, a run's history lines and JSON files, and the containers a run left behind.
#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use checker::history::line::{HeaderLine, Line, LineType, Process};
use harness::run_dir::RunDir;
use serde_json::Value;

/// An empty store directory for the test `name` (removed first if a previous attempt of
/// this process left one).
pub fn fresh_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("samsa-e2e-{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clean the old store");
    }
    dir
}

/// The run directories under `store/<test>/`, sorted (none when the folder is missing).
pub fn run_dirs(store: &Path, test: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(store.join(test)) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
    dirs.sort();
    dirs
}

/// The single run directory under `store/<test>/`.
pub fn only_run(store: &Path, test: &str) -> PathBuf {
    let mut dirs = run_dirs(store, test);
    assert_eq!(dirs.len(), 1, "exactly one run in {dirs:?}");
    dirs.pop().expect("one run")
}

/// The header of a run's history.
pub fn history_header(dir: &Path) -> HeaderLine {
    let text = std::fs::read_to_string(RunDir::new(dir).history()).expect("history.jsonl");
    let first = text.lines().next().expect("a header line");
    serde_json::from_str(first).unwrap_or_else(|e| panic!("the header {first}: {e}"))
}

/// Every operation line of a run's history (the header left out), typed.
pub fn history_lines(dir: &Path) -> Vec<Line> {
    std::fs::read_to_string(RunDir::new(dir).history())
        .expect("history.jsonl")
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// How many nemesis lines of a run's history have function `f` (`kill`, `pause`, ...).
pub fn fault_lines(dir: &Path, f: &str) -> usize {
    history_lines(dir)
        .iter()
        .filter(|l| l.process == Process::Nemesis && l.f.name() == f && l.kind == LineType::Info)
        .count()
}

/// A JSON file of a run directory.
pub fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The ids of the containers (running or not) labelled with `run_id`.
pub fn labelled_containers(run_id: &str) -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=samsa.run={run_id}"),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
