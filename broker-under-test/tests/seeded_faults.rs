//! Goal: the `no-dedup` seeded fault really corrupts the running broker (a retried idempotent
//! batch is appended a second time), while the same retry against a broker without faults is
//! deduplicated; `recovery-drops-tail` loses acknowledged records at a kill -9 the correct
//! broker recovers; `--list-seeded-faults` names every fault; an unknown fault name stops
//! startup with a clear error. Method: the real binary on loopback, a raw kafka-protocol
//! client replaying exact batches.

mod common;

use std::process::Command;

use common::kafka::create_topic;
use common::{init_producer_id, produce_raw, record_batch, BrokerProcess, RawClient};

/// Produces batch (seq 0..3), retries it, then sends the next batch; returns the three offsets
/// and the final log end offset.
fn retry_once(flags: &[&str]) -> ([i64; 3], i64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), flags);
    create_topic(broker.port, "dup", 1);
    let mut client = RawClient::connect(broker.port);
    let (code, pid, epoch) = init_producer_id(&mut client, None);
    assert_eq!(code, 0);
    let mut offsets = [0i64; 3];
    for (slot, seq) in offsets.iter_mut().zip([0, 0, 3]) {
        let (code, offset) = produce_raw(&mut client, "dup", record_batch(3, pid, epoch, seq));
        assert_eq!(code, 0, "produce seq {seq}; log:\n{}", broker.log());
        *slot = offset;
    }
    (offsets, broker.log_end_offset("dup", 0))
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn no_dedup_appends_a_retry_again_and_the_correct_broker_does_not() {
    assert_eq!(
        retry_once(&[]),
        ([0, 0, 3], 6),
        "correct broker deduplicates"
    );
    assert_eq!(
        retry_once(&["--seeded-faults", "no-dedup"]),
        ([0, 3, 6], 9),
        "no-dedup appends the retry as new records"
    );
}

#[test]
fn unknown_fault_name_is_a_startup_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_broker-under-test"))
        .args(["--seeded-faults", "no-dedup,eat-data", "--data-dir"])
        .arg(tmp.path())
        .output()
        .expect("run broker");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("eat-data"), "stderr: {stderr}");
}

/// Produces 3 acknowledged batches of 3 records (page cache only: flush policy `os`, so the
/// recovery point stays at 0), kills the broker with SIGKILL, restarts it on the same data
/// dir and returns its log end offset after recovery.
fn leo_after_kill_nine(flags: &[&str]) -> i64 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut broker = BrokerProcess::start(&data, flags);
    let (port, admin_port) = (broker.port, broker.admin_port);
    create_topic(port, "tail", 1);
    let mut client = RawClient::connect(port);
    for seq in [0, 3, 6] {
        let (code, offset) = produce_raw(&mut client, "tail", record_batch(3, -1, -1, -1));
        assert_eq!(
            (code, offset),
            (0, i64::from(seq)),
            "log:\n{}",
            broker.log()
        );
    }
    broker.kill9();
    let broker = BrokerProcess::start_on(&data, port, admin_port, flags);
    broker.log_end_offset("tail", 0)
}

// Goal: the correct broker keeps acknowledged page-cache records across kill -9, and
// `recovery-drops-tail` drops them (truncating to the recovery point, 0). Method: the same
// run against both.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn recovery_drops_tail_loses_acknowledged_records_the_correct_broker_recovers() {
    assert_eq!(
        leo_after_kill_nine(&[]),
        9,
        "correct recovery keeps every valid batch"
    );
    assert_eq!(
        leo_after_kill_nine(&["--seeded-faults", "recovery-drops-tail"]),
        0,
        "the faulty recovery truncates to the recovery point"
    );
}

// Goal: `--list-seeded-faults` prints each fault name once, one per line, each accepted by
// `--seeded-faults` (the list a detection campaign reads). Method: run the binary.
#[test]
fn list_seeded_faults_prints_every_name_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_broker-under-test"))
        .arg("--list-seeded-faults")
        .output()
        .expect("run broker");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let names: Vec<&str> = stdout.lines().collect();
    assert_eq!(names.len(), 9, "{stdout}");
    for name in [
        "zombie-leader",
        "hw-above-isr",
        "fenced-leader-produce",
        "unclean-election",
        "recovery-drops-tail",
    ] {
        assert!(names.contains(&name), "{name} missing from {stdout}");
    }
    let joined = names.join(",");
    let tmp = tempfile::tempdir().expect("tempdir");
    // Every listed name parses: the broker starts with all of them (then is killed).
    let mut broker = BrokerProcess::start(&tmp.path().join("data"), &["--seeded-faults", &joined]);
    assert!(broker.log().contains("SEEDED FAULTS ENABLED"));
    broker.kill9();
}
