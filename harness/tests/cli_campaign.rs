//! The built `samsa campaign` refuses bad input before it starts any run: exit status 4
//! with a message naming the culprit, and the fault list is the broker's own
//! (`--list-seeded-faults`), not a copy in the harness. No Docker: every case fails while
//! planning.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

fn campaign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samsa"))
        .arg("campaign")
        .args(args)
        .output()
        .expect("run samsa")
}

/// A stand-in broker binary whose `--list-seeded-faults` prints `names`.
fn fake_broker(dir: &std::path::Path, names: &[&str]) -> std::path::PathBuf {
    let path = dir.join("broker-under-test");
    let script = format!("#!/bin/sh\nprintf '{}\\n'\n", names.join("\\n"));
    std::fs::write(&path, script).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

// Goal: a repeated seed is a harness error naming it. Method: run with --seeds 7,7.
#[test]
fn repeated_seed_exits_4_naming_it() {
    let out = campaign(&["--seeds", "7,7"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("seed 7 appears twice"), "{stderr}");
}

// Goal: a broker binary that cannot be run is a harness error naming its path. Method: a
// path that does not exist.
#[test]
fn missing_broker_binary_exits_4_naming_it() {
    let out = campaign(&["--seeds", "7", "--broker-binary", "/nonexistent/broker-x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("/nonexistent/broker-x"), "{stderr}");
}

// Goal: `--faults` is checked against the list the broker prints, and the error shows that
// list. Method: a stand-in broker listing two invented names; a third is asked for.
#[test]
fn faults_are_checked_against_the_brokers_own_list() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = fake_broker(tmp.path(), &["alpha-bug", "beta-bug"]);
    let broker = broker.to_str().expect("utf-8 path");
    let out = campaign(&[
        "--seeds",
        "7",
        "--broker-binary",
        broker,
        "--faults",
        "gamma-bug",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("gamma-bug") && stderr.contains("alpha-bug, beta-bug"),
        "{stderr}"
    );
}
