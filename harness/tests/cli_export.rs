//! `samsa export --edn` and `samsa check` on Jepsen EDN histories, through the built
//! binary: a history converted to EDN checks exactly as the JSON Lines it came from, and a
//! hand-written history in the shape of Jepsen's Kafka workload is judged.

use std::path::{Path, PathBuf};
use std::process::Command;

fn samsa() -> Command {
    Command::new(env!("CARGO_BIN_EXE_samsa"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("samsa-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit status, `valid` and `stats.counts` of `samsa check --json PATH`.
fn verdict(path: &Path) -> (Option<i32>, serde_json::Value, serde_json::Value) {
    let out = samsa()
        .arg("check")
        .arg(path)
        .arg("--json")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code(),
        json["valid"].clone(),
        json["stats"]["counts"].clone(),
    )
}

fn export(from: &Path, to: &Path) {
    let out = samsa()
        .args(["export", "--edn"])
        .arg(from)
        .arg("--out")
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        from.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

// Goal: jsonl -> edn -> check gives the same exit status, verdict and anomaly counts as
// the jsonl. Method: every corpus history, and a generated one with an injected
// anomaly, exported and checked both ways.
#[test]
fn exported_edn_checks_exactly_as_its_jsonl() {
    let dir = scratch("export");
    let mut histories: Vec<PathBuf> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../histories/corpus"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
    histories.sort();
    assert!(histories.len() >= 20, "{}", histories.len());
    let generated = dir.join("generated.jsonl");
    let gen = samsa()
        .args([
            "gen-history",
            "--ops",
            "400",
            "--keys",
            "3",
            "--concurrency",
            "4",
        ])
        .args(["--seed", "11", "--inject", "lost-write", "--out"])
        .arg(&generated)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    histories.push(generated);
    for jsonl in &histories {
        let edn = dir.join(jsonl.file_stem().unwrap()).with_extension("edn");
        export(jsonl, &edn);
        assert_eq!(verdict(jsonl), verdict(&edn), "{}", jsonl.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A history as Jepsen's Kafka workload writes it (integer keys, commas, a nemesis op, no
/// header); `poll` is the records the consumer read.
fn jepsen_history(poll: &str) -> String {
    format!(
        r#"{{:type :invoke, :f :send, :value [[:send 0 10]], :process 0, :time 100, :index 0}}
{{:type :ok, :f :send, :value [[:send 0 [0 10]]], :process 0, :time 200, :index 1}}
{{:type :invoke, :f :send, :value [[:send 0 11]], :process 0, :time 300, :index 2}}
{{:type :ok, :f :send, :value [[:send 0 [1 11]]], :process 0, :time 400, :index 3}}
{{:type :info, :f :start-partition, :value :majority, :process :nemesis, :time 450, :index 4}}
{{:type :invoke, :f :send, :value [[:send 0 12]], :process 0, :time 500, :index 5}}
{{:type :ok, :f :send, :value [[:send 0 [2 12]]], :process 0, :time 600, :index 6}}
{{:type :invoke, :f :poll, :value [[:poll]], :process 1, :time 700, :index 7}}
{{:type :ok, :f :poll, :value [[:poll {{0 {poll}}}]], :process 1, :time 800, :index 8}}
"#
    )
}

// Goal: a hand-written Jepsen-style EDN history with a lost write is flagged, and its
// twin, whose poll reads every record, is valid. Method: check both through the binary;
// the first file has no .edn extension, so EDN is recognised by content.
#[test]
fn a_jepsen_edn_history_with_a_lost_write_is_flagged() {
    let dir = scratch("jepsen-edn");
    let lost = dir.join("history-lost.txt");
    std::fs::write(&lost, jepsen_history("[[0 10] [2 12]]")).unwrap();
    let out = samsa()
        .arg("check")
        .arg(&lost)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The poll read offsets 0 and 2 after 11 was acknowledged at 1: lost, and no log
    // order explains the poll either.
    assert_eq!(
        json["anomaly_types"],
        serde_json::json!(["lost-write", "nonlinearizable"])
    );
    assert_eq!(
        json["anomalies"]["lost-write"][0]["value"],
        serde_json::json!(11)
    );
    assert_eq!(json["stats"]["nemesis_events"], serde_json::json!(1));

    let twin = dir.join("history.edn");
    std::fs::write(&twin, jepsen_history("[[0 10] [1 11] [2 12]]")).unwrap();
    let (code, valid, _) = verdict(&twin);
    assert_eq!((code, valid), (Some(0), serde_json::json!(true)));
    std::fs::remove_dir_all(&dir).unwrap();
}

// Goal: a malformed EDN history exits 3 naming its EDN line (and field where one is at
// fault). Method: a broken map on line 3, then a negative offset on line 2.
#[test]
fn malformed_edn_exits_3_naming_the_line() {
    let dir = scratch("bad-edn");
    let path = dir.join("history.edn");
    let good = jepsen_history("[[0 10] [1 11] [2 12]]");
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines[2] = "{:type :invoke, :f :send".to_owned();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = samsa().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("EDN"), "{err}");

    let negative = good.replacen("[0 10]]]", "[-4 10]]]", 1);
    std::fs::write(&path, negative).unwrap();
    let out = samsa().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2")
            && err.contains("field `value`")
            && err.contains("negative offset -4"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
