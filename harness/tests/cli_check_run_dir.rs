//! `samsa check DIR` on a run directory rewrites `results.json`, `report.html` and
//! `junit.xml` from the one verdict it prints, without Docker: a corpus history copied
//! into a temporary run directory stands in for a run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::run_dir::{RunDir, HISTORY_FILE};

fn samsa() -> Command {
    Command::new(env!("CARGO_BIN_EXE_samsa"))
}

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../histories/corpus")
        .join(name)
}

/// A run directory holding the corpus history `name`.
fn run_dir_with(tmp: &Path, name: &str) -> RunDir {
    let dir = RunDir::new(tmp.join("queue/20261121T050000.000Z"));
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::copy(corpus(name), dir.path().join(HISTORY_FILE)).unwrap();
    dir
}

fn check_json(dir: &RunDir) -> (Output, serde_json::Value) {
    let out = samsa()
        .arg("check")
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    let printed = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out, printed)
}

fn results(dir: &RunDir) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.results()).unwrap()).unwrap()
}

// Goal: a stale results.json (it says valid, the history holds a lost write) is replaced
// by the verdict `check` prints, and the report and junit.xml are written with it.
// Method: check a run directory with a planted stale results.json.
#[test]
fn check_dir_rewrites_a_stale_results_json_with_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_dir_with(tmp.path(), "lost-write.jsonl");
    std::fs::write(dir.results(), r#"{"valid": true, "anomaly_types": []}"#).unwrap();
    let (out, printed) = check_json(&dir);
    assert_eq!(out.status.code(), Some(1));
    let written = results(&dir);
    assert_eq!(written["valid"], serde_json::json!(false));
    assert_eq!(written["valid"], printed["valid"]);
    assert_eq!(written["anomaly_types"], printed["anomaly_types"]);
    assert_eq!(written["stats"]["counts"], printed["stats"]["counts"]);
    let html = std::fs::read_to_string(dir.report()).unwrap();
    assert!(html.contains("lost-write"));
    let junit = std::fs::read_to_string(dir.junit()).unwrap();
    assert!(junit.contains("lost-write"), "{junit}");
}

// Goal: a re-check keeps what only the run knew (its harness reasons for "unknown"), so
// `samsa check DIR` and the run agree: a valid history of a run none of whose faults
// could be applied stays unknown (exit 2), with the reason, in results.json too.
#[test]
fn check_dir_applies_the_runs_own_reasons_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_dir_with(tmp.path(), "valid-basic.jsonl");
    let reason = "none of the 2 planned faults could be applied: no leader";
    std::fs::write(
        dir.results(),
        serde_json::json!({"valid": "unknown", "unknown_reasons": [reason],
                           "harness_unknown_reasons": [reason]})
        .to_string(),
    )
    .unwrap();
    let (out, printed) = check_json(&dir);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(printed["valid"], "unknown");
    assert_eq!(printed["unknown_reasons"], serde_json::json!([reason]));
    let written = results(&dir);
    assert_eq!(written["valid"], "unknown");
    assert_eq!(written["unknown_reasons"], serde_json::json!([reason]));
    assert_eq!(
        written["harness_unknown_reasons"],
        serde_json::json!([reason])
    );

    // Without a results.json the history alone decides.
    std::fs::remove_file(dir.results()).unwrap();
    let (out, _) = check_json(&dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(results(&dir)["valid"], serde_json::json!(true));
    assert!(results(&dir).get("harness_unknown_reasons").is_none());
}

// Goal: a damaged results.json is not silently replaced: exit 3 naming the file.
#[test]
fn check_dir_refuses_a_damaged_results_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_dir_with(tmp.path(), "valid-basic.jsonl");
    std::fs::write(dir.results(), "{not json").unwrap();
    let out = samsa().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("results.json") && err.contains("line 1"),
        "{err}"
    );
}
