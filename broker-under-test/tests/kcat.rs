//! Goal: kcat (librdkafka's CLI) produces and consumes unchanged. Method: pipe lines into
//! `kcat -P`, read them back with `kcat -C -e`. Fails, never skips, when kcat is missing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::BrokerProcess;

#[test]
fn kcat_produces_and_consumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &[]);
    let lines: Vec<String> = (0..500).map(|i| format!("kcat-{i}")).collect();
    let mut producer = Command::new("kcat")
        .args([
            "-b",
            &broker.bootstrap(),
            "-P",
            "-t",
            "kcattopic",
            "-p",
            "0",
            "-X",
            "acks=all",
            "-X",
            "enable.idempotence=true",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat must be installed to run this test (.ci/run installs it)");
    producer
        .stdin
        .take()
        .expect("stdin")
        .write_all((lines.join("\n") + "\n").as_bytes())
        .expect("write to kcat");
    let produced = producer.wait_with_output().expect("kcat -P");
    assert!(
        produced.status.success(),
        "kcat -P failed: {}",
        String::from_utf8_lossy(&produced.stderr)
    );

    let consumed = Command::new("timeout")
        .args([
            "30",
            "kcat",
            "-b",
            &broker.bootstrap(),
            "-C",
            "-t",
            "kcattopic",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%o %s\\n",
        ])
        .output()
        .expect("kcat -C");
    assert!(
        consumed.status.success(),
        "kcat -C failed: {}\nbroker log:\n{}",
        String::from_utf8_lossy(&consumed.stderr),
        broker.log()
    );
    let got: Vec<String> = String::from_utf8_lossy(&consumed.stdout)
        .lines()
        .map(String::from)
        .collect();
    let expected: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{i} {l}"))
        .collect();
    assert_eq!(got, expected);
}
