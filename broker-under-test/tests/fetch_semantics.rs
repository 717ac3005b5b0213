//! Goal: Fetch honours max_wait_ms, min_bytes and isolation_level, refuses offsets past the
//! high watermark, and unadvertised versions of implemented APIs get UNSUPPORTED_VERSION.
//! Method: a raw kafka-protocol client against the real broker process.

mod common;

use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use common::kafka::create_topic;
use common::{produce_raw, record_batch, BrokerProcess, RawClient};

fn fetch(
    client: &mut RawClient,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
    isolation_level: i8,
) -> (FetchResponse, Duration) {
    let req = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation_level)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("waits")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])]);
    let start = Instant::now();
    let resp: FetchResponse = client.call(ApiKey::Fetch, 12, &req);
    (resp, start.elapsed())
}

#[test]
fn fetch_waits_wakes_and_bounds_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(&tmp.path().join("data"), &[]);
    let port = broker.port;
    create_topic(port, "waits", 1);
    let mut consumer = RawClient::connect(port);

    // Nothing to read: the broker holds the request for max_wait_ms, then answers empty.
    let (resp, waited) = fetch(&mut consumer, 0, 400, 1, 0);
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert!(p.records.as_ref().is_none_or(|r| r.is_empty()));
    assert!(
        waited >= Duration::from_millis(350),
        "answered after {waited:?}, before max_wait_ms"
    );

    // A produce during a long wait wakes the fetch well before its 20 s max_wait.
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut c = RawClient::connect(port);
        produce_raw(&mut c, "waits", record_batch(3, -1, -1, 0))
    });
    let (resp, waited) = fetch(&mut consumer, 0, 20_000, 1, 1);
    assert_eq!(producer.join().expect("producer thread"), (0, 0));
    assert!(
        waited < Duration::from_secs(10),
        "fetch not woken by the append ({waited:?})"
    );
    let p = &resp.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark, p.last_stable_offset),
        (0, 3, 3)
    );
    assert_eq!(
        p.aborted_transactions.as_ref().map(Vec::len),
        Some(0),
        "read_committed gets an (empty) aborted list"
    );
    assert!(p.records.as_ref().is_some_and(|r| !r.is_empty()));

    // Past the high watermark: OFFSET_OUT_OF_RANGE, answered at once.
    let (resp, _) = fetch(&mut consumer, 4, 5_000, 1, 0);
    assert_eq!(resp.responses[0].partitions[0].error_code, 1);

    // Produce v11 is decodable but not advertised: UNSUPPORTED_VERSION, connection kept.
    let req = ProduceRequest::default()
        .with_transactional_id(None)
        .with_acks(-1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("waits")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(record_batch(1, -1, -1, 0)))])]);
    let resp: ProduceResponse = consumer.call(ApiKey::Produce, 11, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 35);
    let (resp, _) = fetch(&mut consumer, 0, 0, 0, 0);
    assert_eq!(
        resp.responses[0].partitions[0].high_watermark, 3,
        "nothing appended by the refused produce"
    );
}
