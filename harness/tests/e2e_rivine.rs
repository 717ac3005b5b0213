//! End-to-end proof on a broker this repository did not write (issue 11): rivine 0.2.0
//! from crates.io, run through `harness/profiles/rivine.toml` (an image built from the
//! installed `rivine-broker` binary, the fixed advertised address mapped to a published
//! loopback port), on one node, under kills and pauses.
//!
//! The run must be a checked one: the history judged valid or invalid (never unknown, never
//! a harness error), leaders and high watermarks sampled through the Kafka protocol into
//! `state.jsonl`, the report's cluster timeline drawn for the test topic. The verdict is
//! whatever rivine earns and is printed, not asserted. Every duplicate the checker reports
//! is confirmed by an independent client: kcat reads the kept partition log and must find
//! the value at each offset the checker names.
//! Needs root, a Docker daemon, kcat and rivine-broker on PATH (scripts/setup.sh).

use std::process::Command;

use serde_json::Value;

mod e2e_support;
use e2e_support::{fault_lines, json_file, only_run, run_id_of, run_samsa_test};

/// The Kafka address rivine advertises, published on the host by the profile.
const RIVINE_ADDRESS: &str = "127.0.0.1:9092";

fn profile_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/rivine.toml")
}

/// `offset value` lines of partition `key` of the test topic, read by kcat.
fn kcat_partition(key: &str) -> Vec<(i64, i64)> {
    let out = Command::new("kcat")
        .args(["-C", "-b", RIVINE_ADDRESS, "-t", "samsa", "-p", key])
        .args(["-o", "beginning", "-e", "-q", "-f", "%o %s\\n"])
        .output()
        .expect("kcat runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "kcat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (offset, value) = l.split_once(' ')?;
            Some((offset.parse().ok()?, value.trim().parse().ok()?))
        })
        .collect()
}

fn remove_cluster(run_id: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let docker = harness::cluster::connect().await.expect("docker");
        harness::cluster::teardown_run(&docker, run_id)
            .await
            .expect("the kept cluster is removed");
    });
}

// Goal: samsa runs a third-party broker end to end with kill and pause faults and checks
// what it did; every duplicate it reports is confirmed by kcat (method: a 40 s one-node
// run kept for the witness read, then removed).
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker, root, kcat and rivine-broker (SAMSA_E2E=1, scripts/test.sh)"
)]
fn rivine_runs_checked_under_kill_and_pause() {
    which_rivine();
    let name = "rivine";
    let profile = profile_path();
    let args: Vec<&std::ffi::OsStr> = ["--profile".as_ref(), profile.as_os_str()]
        .into_iter()
        .chain(
            [
                "--nodes",
                "1",
                "--nemesis",
                "kill,pause",
                "--time-limit",
                "40",
                "--nemesis-interval",
                "3",
                "--fault-duration",
                "5",
                "--seed",
                "5",
                "--recovery-wait",
                "5",
                "--keep",
            ]
            .map(std::ffi::OsStr::new),
        )
        .collect();
    let run = run_samsa_test(name, args);
    let output = run.output.clone();
    let dir = only_run(&run.store, name);
    let run_id = run_id_of(&dir);
    let witnessed = std::panic::catch_unwind(|| {
        let results = json_file(&dir.join("results.json"));
        assert!(
            matches!(run.exit, Some(0) | Some(1)),
            "a checked run exits 0 or 1\n{output}"
        );
        assert!(
            results["valid"].is_boolean(),
            "checked: {}",
            results["valid"]
        );
        eprintln!(
            "rivine 0.2.0 verdict: valid={} anomalies={}",
            results["valid"], results["anomaly_types"]
        );
        assert_faults_applied(&dir);
        assert_state_sampled(&dir);
        assert_timeline_drawn(&dir);
        confirm_duplicates(&results);
    });
    remove_cluster(&run_id);
    if let Err(panic) = witnessed {
        std::panic::resume_unwind(panic);
    }
}

fn which_rivine() {
    let found = Command::new("sh")
        .args(["-c", "command -v rivine-broker"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "rivine-broker is not on PATH: run scripts/setup.sh");
}

/// Both kinds of fault were applied to the node.
fn assert_faults_applied(dir: &std::path::Path) {
    let applied = |f: &str| fault_lines(dir, f);
    assert!(applied("kill") >= 1, "a kill was applied");
    assert!(applied("pause") >= 1, "a pause was applied");
}

/// `state.jsonl` has protocol samples naming the node as leader of the test topic's
/// partitions with a high watermark, under the broker id rivine itself reports (0).
fn assert_state_sampled(dir: &std::path::Path) {
    let text = std::fs::read_to_string(dir.join("state.jsonl")).expect("state.jsonl");
    let samples: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("state lines are JSON"))
        .collect();
    let led_with_hw = samples.iter().any(|s| {
        s["nodes"].as_array().into_iter().flatten().any(|n| {
            n["ok"] == true
                && n["node_id"] == 0
                && n["state"]["partitions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        p["topic"] == "samsa" && p["leader"] == 0 && p["high_watermark"].is_i64()
                    })
        })
    });
    assert!(
        led_with_hw,
        "a sample shows n1 (broker 0) leading with a high watermark"
    );
    let down = samples.iter().any(|s| {
        s["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["ok"] == false)
    });
    assert!(down, "the killed or paused node gave error samples");
}

/// The report's cluster section draws the test topic's partitions.
fn assert_timeline_drawn(dir: &std::path::Path) {
    let report = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        report.contains("samsa/0: leader and ISR"),
        "timeline of partition 0"
    );
    assert!(
        !report.contains("__consumer_offsets"),
        "internal topics are not drawn"
    );
}

/// Each reported duplicate: kcat finds its value at the offsets the checker names.
fn confirm_duplicates(results: &Value) {
    let Some(duplicates) = results["anomalies"]["duplicate"].as_array() else {
        return;
    };
    for d in duplicates {
        let key = d["key"].as_str().expect("duplicate names its key");
        let value = d["value"].as_i64().expect("duplicate names its value");
        let log = kcat_partition(key);
        let at: Vec<i64> = log
            .iter()
            .filter(|(_, v)| *v == value)
            .map(|(o, _)| *o)
            .collect();
        assert!(
            at.len() >= 2,
            "kcat reads value {value} of key {key} at {at:?}: {d}"
        );
        let named = d["offset"].as_i64().expect("duplicate names an offset");
        assert!(at.contains(&named), "kcat has {value} at {named}: {at:?}");
    }
}
