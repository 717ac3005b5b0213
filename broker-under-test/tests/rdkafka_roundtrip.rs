//! Goal: librdkafka's idempotent acks=all producer and a consumer round-trip 10,000 messages in
//! order, exactly once. Method: real broker process on loopback, rdkafka produce then consume.

mod common;

use std::time::Duration;

use common::kafka::{consume_all, create_topic, deliveries, flush, idempotent_producer, send};
use common::BrokerProcess;

#[test]
fn ten_thousand_idempotent_messages_round_trip_in_order_exactly_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &["--flush-policy", "os"]);
    create_topic(broker.port, "roundtrip", 1);
    let producer = idempotent_producer(&broker.bootstrap(), 30_000);
    let n = 10_000;
    for i in 0..n {
        send(&producer, "roundtrip", &format!("m-{i}"));
    }
    flush(&producer, Duration::from_secs(60));
    let deliveries = deliveries(&producer);
    assert_eq!(deliveries.len(), n);
    for (payload, result) in &deliveries {
        assert!(result.is_ok(), "delivery of {payload} failed: {result:?}");
    }
    let consumed = consume_all(
        &broker.bootstrap(),
        "roundtrip",
        n as i64,
        Duration::from_secs(60),
    );
    let expected: Vec<(i64, String)> = (0..n).map(|i| (i as i64, format!("m-{i}"))).collect();
    assert_eq!(consumed.len(), n, "consumed {} of {n}", consumed.len());
    assert_eq!(consumed, expected);
    assert_eq!(broker.log_end_offset("roundtrip", 0), n as i64);
}
