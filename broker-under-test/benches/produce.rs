//! Produce throughput of one broker node with librdkafka (acks=all, idempotent, 100-byte
//! messages), once per flush policy. Prints msgs/s and MB/s; a benchmark, not a timed test.
//! Run: `cargo bench -p broker-under-test --bench produce` (env BENCH_MESSAGES overrides 200000).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::kafka::{create_topic, deliveries, Deliveries};
use common::BrokerProcess;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

const MESSAGE_BYTES: usize = 100;

fn producer(bootstrap: &str) -> BaseProducer<Deliveries> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("compression.codec", "none")
        .set("message.timeout.ms", "60000")
        .create_with_context(Deliveries::default())
        .expect("create producer")
}

fn run(policy: &str, messages: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &["--flush-policy", policy]);
    create_topic(broker.port, "bench", 1);
    let producer = producer(&broker.bootstrap());
    let payload = [b'x'; MESSAGE_BYTES];
    let start = Instant::now();
    for _ in 0..messages {
        let mut record = BaseRecord::<(), [u8]>::to("bench")
            .partition(0)
            .payload(&payload[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let elapsed = start.elapsed().as_secs_f64();
    let reports = deliveries(&producer);
    let failed = reports.iter().filter(|(_, r)| r.is_err()).count();
    assert_eq!(
        (reports.len(), failed),
        (messages, 0),
        "every message acknowledged"
    );
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
