//! Goal: kafka-python (an independent, pure-Python client) produces and consumes unchanged.
//! Method: run tests/scripts/kafka_python_roundtrip.py against the real broker. Fails, never
//! skips, when python3 or kafka-python is missing (.ci/run installs them).

mod common;

use std::process::Command;

use common::BrokerProcess;

#[test]
fn kafka_python_produces_and_consumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/kafka_python_roundtrip.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(broker.bootstrap())
        .arg("pytopic")
        .arg("200")
        .output()
        .expect("python3 must be installed to run this test (.ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kafka-python script failed: {}\n{}\nbroker log:\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr),
        broker.log()
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("script JSON");
    let acked: Vec<i64> = result["acked"]
        .as_array()
        .expect("acked")
        .iter()
        .filter_map(|v| v.as_i64())
        .collect();
    assert_eq!(acked, (0..200).collect::<Vec<i64>>());
    let consumed: Vec<String> = result["consumed"]
        .as_array()
        .expect("consumed")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    assert_eq!(
        consumed,
        (0..200).map(|i| format!("py-{i}")).collect::<Vec<_>>()
    );
    assert_eq!(broker.log_end_offset("pytopic", 0), 200);
}
