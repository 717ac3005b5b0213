//! Goal: the `no-dedup` seeded fault really corrupts the running broker (a retried idempotent
//! batch is appended a second time), while the same retry against a broker without faults is
//! deduplicated, and an unknown fault name stops startup with a clear error. Method: the real
//! binary on loopback, a raw kafka-protocol client replaying exact batches.

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
