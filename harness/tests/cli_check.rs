//! The built `samsa` binary against the reference corpus: `check --json` follows
//! HISTORY.md's "Results" and the exit statuses are 0 valid, 1 invalid, 3 unreadable;
//! `samsa check DIR` on a run directory (a corpus history copied into a temporary one)
//! rewrites `results.json`, `report.html` and `junit.xml` from the one verdict it prints.

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

// Goal: a valid history exits 0 and prints the Results object. Method: run on the corpus.
#[test]
fn valid_history_exits_0_with_json_results() {
    let out = samsa()
        .arg("check")
        .arg(corpus("valid-basic.jsonl"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], serde_json::json!(true));
    assert_eq!(json["anomaly_types"], serde_json::json!([]));
    assert!(json["stats"]["ops"].as_u64().unwrap() > 0);
}

// Goal: an invalid history exits 1; its findings carry key, value, offset, ops and an
// explanation.
#[test]
fn invalid_history_exits_1_with_witnessed_findings() {
    let out = samsa()
        .arg("check")
        .arg(corpus("lost-write.jsonl"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], serde_json::json!(false));
    assert_eq!(json["anomaly_types"], serde_json::json!(["lost-write"]));
    let finding = &json["anomalies"]["lost-write"][0];
    assert_eq!(finding["key"], serde_json::json!("0"));
    assert_eq!(finding["value"], serde_json::json!(17));
    assert!(finding["ops"].as_array().unwrap().len() >= 2);
    assert!(finding["explanation"].as_str().unwrap().contains("17"));

    // The human summary says the same.
    let out = samsa()
        .arg("check")
        .arg(corpus("lost-write.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("INVALID") && text.contains("lost-write: 1"),
        "{text}"
    );
}

// Goal: unreadable input exits 3 with the file, line and problem named.
#[test]
fn unreadable_history_exits_3_naming_line_and_problem() {
    let dir = std::env::temp_dir().join(format!("samsa-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(corpus("valid-basic.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(3, "{\"index\": 2, \"time\": oops}");
    std::fs::write(dir.join("history.jsonl"), lines.join("\n")).unwrap();
    // A run directory is accepted in place of the file.
    let out = samsa().arg("check").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("history.jsonl") && err.contains("line 4") && err.contains("JSON"),
        "{err}"
    );

    let out = samsa()
        .arg("check")
        .arg(dir.join("missing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    std::fs::remove_dir_all(&dir).unwrap();
}

// Goal: gen-history writes a history that check reads, and an injected anomaly is found.
#[test]
fn generated_history_checks_and_injection_is_found() {
    let dir = std::env::temp_dir().join(format!("samsa-cli-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("h.jsonl");
    let gen = samsa()
        .args([
            "gen-history",
            "--ops",
            "300",
            "--keys",
            "2",
            "--concurrency",
            "4",
            "--seed",
            "7",
        ])
        .args(["--inject", "duplicate", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let out = samsa()
        .arg("check")
        .arg(&file)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let types = json["anomaly_types"].as_array().unwrap();
    assert!(types.contains(&serde_json::json!("duplicate")), "{types:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("samsa-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// Goal: a missing file is reported once: the path and the OS error each appear a single
// time. Method: the exact stderr of check on a path that does not exist.
#[test]
fn a_missing_file_names_the_path_and_the_os_error_once() {
    let dir = scratch("missing");
    let path = dir.join("missing.jsonl");
    let out = samsa().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "samsa check: {}: No such file or directory (os error 2)\n",
            path.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Goal: a negative offset is refused at parse time: exit 3, the message names the line
// and the field. Method: the corpus's valid history with one ack turned negative.
#[test]
fn a_negative_offset_exits_3_naming_line_and_field() {
    let dir = scratch("negative");
    let good = std::fs::read_to_string(corpus("valid-basic.jsonl")).unwrap();
    let bad = good.replacen("[0, 1]]", "[-1, 1]]", 1);
    assert_ne!(good, bad, "the corpus history changed shape");
    let path = dir.join("h.jsonl");
    std::fs::write(&path, bad).unwrap();
    let out = samsa().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field `value`")
            && err.contains("negative offset -1")
            && err.contains("line "),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Goal: a history with no ok client operation (here an empty file) is unknown: exit 2,
// the reason in `unknown_reasons`. Method: check --json on an empty file.
#[test]
fn an_empty_history_exits_2_unknown() {
    let out = samsa()
        .arg("check")
        .arg(corpus("unknown-empty.jsonl"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], serde_json::json!("unknown"));
    assert_eq!(json["unknown_reasons"].as_array().unwrap().len(), 1);
}

// Goal: --json lists at most --witnesses-max findings per type and says what it cut,
// keeping the totals. Method: a generated history with every record phantom (its sends
// renamed to another key), checked with a bound of 2 and with the default bound.
#[test]
fn json_witnesses_are_bounded_and_the_cut_is_explicit() {
    let dir = scratch("bounded");
    let file = dir.join("h.jsonl");
    let gen = samsa()
        .args([
            "gen-history",
            "--ops",
            "200",
            "--keys",
            "1",
            "--concurrency",
            "2",
        ])
        .args(["--seed", "3", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    // Every send goes to key "s" instead: each polled record of "0" becomes a phantom.
    let text = std::fs::read_to_string(&file).unwrap();
    let phantom = text.replace(r#"["send","0","#, r#"["send","s","#);
    std::fs::write(&file, phantom).unwrap();
    let json_of = |extra: &[&str]| -> serde_json::Value {
        let out = samsa()
            .arg("check")
            .arg(&file)
            .arg("--json")
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let json = json_of(&["--witnesses-max", "2"]);
    let total = json["stats"]["counts"]["phantom-read"].as_u64().unwrap();
    assert!(total > 2, "{total}");
    assert_eq!(
        json["anomalies"]["phantom-read"].as_array().unwrap().len(),
        2
    );
    assert_eq!(json["truncated"]["phantom-read"].as_u64(), Some(total));
    let json = json_of(&[]);
    let listed = json["anomalies"]["phantom-read"].as_array().unwrap().len() as u64;
    assert_eq!(listed, total.min(100));
    assert_eq!(json["truncated"].get("phantom-read").is_some(), total > 100);
    std::fs::remove_dir_all(&dir).unwrap();
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

// Goal: `samsa report DIR` shows the run's own reasons too, so the page agrees with the
// run and with `samsa check DIR`: exit 2 and the reason on the page.
#[test]
fn report_dir_applies_the_runs_own_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_dir_with(tmp.path(), "valid-basic.jsonl");
    let reason = "the main phase recorded no acknowledged send";
    std::fs::write(
        dir.results(),
        serde_json::json!({"valid": "unknown", "harness_unknown_reasons": [reason]}).to_string(),
    )
    .unwrap();
    let out = samsa().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.report()).unwrap();
    assert!(html.contains(reason), "the reason is on the page");
}
