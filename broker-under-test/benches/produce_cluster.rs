//! acks=all produce on a healthy 3-node cluster (replication factor 3, min.insync.replicas 2,
//! idempotent librdkafka producer, 100-byte messages): throughput with the producer
//! pipelining, and the latency of one message at a time (leader append, follower fetch,
//! high-watermark advance, answer). Prints the figures; a benchmark, not a timed test.
//! Run: `cargo bench -p broker-under-test --bench produce_cluster` (env BENCH_MESSAGES
//! overrides 100000, BENCH_LATENCY_SAMPLES 2000).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::kafka::{bench_producer, create_topic_with, deliveries, send_all_timed};
use rdkafka::producer::BaseRecord;

const MESSAGE_BYTES: usize = 100;
const TOPIC: &str = "bench";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn throughput(cluster: &Cluster, messages: usize) {
    let producer = bench_producer(&cluster.bootstrap(), "5");
    let elapsed = send_all_timed(&producer, TOPIC, messages, &[b'x'; MESSAGE_BYTES]);
    let rate = messages as f64 / elapsed;
    println!(
        "3 nodes, rf 3, min.insync 2: {messages} x {MESSAGE_BYTES} B acks=all idempotent, pipelined: {elapsed:.2} s, {rate:.0} msgs/s, {:.1} MB/s",
        rate * MESSAGE_BYTES as f64 / 1e6
    );
}

fn latency(cluster: &Cluster, samples: usize) {
    let producer = bench_producer(&cluster.bootstrap(), "0");
    let payload = [b'y'; MESSAGE_BYTES];
    let mut micros = Vec::with_capacity(samples);
    for i in 0..samples {
        let sent = Instant::now();
        producer
            .send(
                BaseRecord::<(), [u8]>::to(TOPIC)
                    .partition(0)
                    .payload(&payload[..]),
            )
            .map_err(|(e, _)| e)
            .expect("send");
        while deliveries(&producer).len() <= i {
            producer.poll(Duration::from_micros(100));
        }
        micros.push(sent.elapsed().as_micros() as u64);
    }
    assert!(deliveries(&producer).iter().all(|(_, r)| r.is_ok()));
    let slowest = (0..micros.len()).max_by_key(|&i| micros[i]).unwrap_or(0);
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize] as f64 / 1e3;
    println!(
        "3 nodes, rf 3, min.insync 2: acks=all latency, one message at a time ({samples} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (message #{slowest})",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let cluster = Cluster::start(3, &[]);
    create_topic_with(
        cluster.process(1).port,
        TOPIC,
        1,
        3,
        &[("min.insync.replicas", "2")],
    );
    cluster.wait_for("a leader with the full ISR", Duration::from_secs(15), |c| {
        c.leader(TOPIC, 0)
            .and_then(|l| c.partition_view(l, TOPIC, 0))
            .is_some_and(|v| v["isr"].as_array().is_some_and(|a| a.len() == 3))
    });
    throughput(&cluster, env_or("BENCH_MESSAGES", 100_000));
    latency(&cluster, env_or("BENCH_LATENCY_SAMPLES", 2_000));
}
