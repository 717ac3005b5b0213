//! What the end-to-end test files share: a fresh store per test, the run directories it
//! holds, a run's history lines and JSON files, and the containers a run left behind.
#![allow(dead_code)] // each test file uses its own part of this module

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Asserts the live check agreed with the post-hoc check of a finished run: every anomaly
/// `live.json` reports is of a kind `results.json` counts against the run, or a
/// provisional name for one it counts. Returns the live file.
pub fn assert_live_agrees(dir: &Path) -> harness::run_dir::LiveFile {
    let run = RunDir::new(dir);
    let live = run
        .read_live()
        .unwrap_or_else(|e| panic!("no live.json in {}: {e}", dir.display()));
    let results = run.read_results().expect("results.json");
    let counted = results.invalidating();
    assert!(live.passes >= 1, "the live check made no pass: {live:?}");
    for f in &live.findings {
        assert!(
            counted.contains(&f.kind) || f.may_become.iter().any(|k| counted.contains(k)),
            "the live check reported {} ({}) but the post-hoc check counts only {counted:?}",
            f.short(),
            f.explanation
        );
    }
    live
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

/// A finished `samsa test`: its exit status, its stdout then stderr as text, and the
/// store it wrote to.
pub struct Finished {
    /// The exit status (`None`: killed by a signal).
    pub exit: Option<i32>,
    /// stdout then stderr.
    pub output: String,
    /// The store holding its run directory.
    pub store: PathBuf,
}

impl Finished {
    /// The run directories made under the store for the test `name`, sorted.
    pub fn dirs(&self, name: &str) -> Vec<PathBuf> {
        run_dirs(&self.store, name)
    }

    /// The one run directory of the test `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        let mut dirs = self.dirs(name);
        assert_eq!(
            dirs.len(),
            1,
            "exactly one run in {dirs:?}\n{}",
            self.output
        );
        dirs.pop().expect("one run")
    }

    /// The run ids printed at the start of each run (`samsa: run <id> -> <dir>`).
    pub fn run_ids(&self) -> Vec<String> {
        self.output
            .lines()
            .filter_map(|l| l.strip_prefix("samsa: run "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }
}

/// `samsa test --name NAME ARGS... --store <a fresh store for NAME>`, run to its end.
pub fn run_samsa_test<I, S>(name: &str, args: I) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let store = fresh_store(name);
    let out: Output = Command::new(env!("CARGO_BIN_EXE_samsa"))
        .args(["test", "--name", name])
        .args(args)
        .arg("--store")
        .arg(&store)
        .output()
        .expect("samsa runs");
    Finished {
        exit: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        store,
    }
}

/// `samsa schedule DIR`: the fault timeline a run applied, parsed.
pub fn schedule_of(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_samsa"))
        .arg("schedule")
        .arg(dir)
        .output()
        .expect("samsa schedule runs");
    assert!(
        out.status.success(),
        "samsa schedule {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the timeline is JSON")
}

/// The run id a run directory's `test.json` names.
pub fn run_id_of(dir: &Path) -> String {
    json_file(&dir.join("test.json"))["run_id"]
        .as_str()
        .expect("test.json names its run id")
        .to_string()
}
