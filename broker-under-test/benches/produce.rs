//! Produce throughput of one broker node with librdkafka (acks=all, idempotent, 100-byte
//! messages), once per flush policy. Prints msgs/s and MB/s; a benchmark, not a timed test.
//! Run: `cargo bench -p broker-under-test --bench produce` (env BENCH_MESSAGES overrides 200000).

#[path = "../tests/common/mod.rs"]
mod common;

use common::kafka::{bench_producer, create_topic, send_all_timed};
use common::BrokerProcess;

const MESSAGE_BYTES: usize = 100;

fn run(policy: &str, messages: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &["--flush-policy", policy]);
    create_topic(broker.port, "bench", 1);
    let producer = bench_producer(&broker.bootstrap(), "5");
    let elapsed = send_all_timed(&producer, "bench", messages, &[b'x'; MESSAGE_BYTES]);
    let rate = messages as f64 / elapsed;
    println!(
        "flush-policy={policy:<6} {messages} x {MESSAGE_BYTES} B acks=all idempotent: {:.2} s, {:.0} msgs/s, {:.1} MB/s",
        elapsed,
        rate,
        rate * MESSAGE_BYTES as f64 / 1e6
    );
}

fn main() {
    let messages = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    for policy in ["os", "batch"] {
        run(policy, messages);
    }
}
