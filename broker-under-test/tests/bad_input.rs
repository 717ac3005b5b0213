//! Goal: hostile or broken clients get an error or a closed connection with a log line, while
//! the broker keeps serving others and its data stays untouched. Method: one well-behaved raw
//! client stays connected while other connections send oversized, negative-size, garbage,
//! unknown-api, array-bomb and bad-CRC requests.

mod common;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::Decodable;

use common::kafka::create_topic;
use common::{produce_raw, record_batch, BrokerProcess, RawClient};

fn closed_after(port: u16, frame_prefix: &[u8], body: &[u8]) -> bool {
    let mut c = RawClient::connect(port);
    let mut raw = frame_prefix.to_vec();
    raw.extend_from_slice(body);
    use std::io::Write;
    let written = c.stream_mut().write_all(&raw);
    written.is_err() || c.is_closed()
}

#[test]
fn bad_input_is_refused_and_everyone_else_keeps_being_served() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(
        &tmp.path().join("data"),
        &["--max-frame-bytes", "65536", "--flush-policy", "batch"],
    );
    let port = broker.port;
    create_topic(port, "safe", 1);
    let mut good = RawClient::connect(port);
    assert_eq!(
        produce_raw(&mut good, "safe", record_batch(2, -1, -1, 0)),
        (0, 0)
    );

    // Oversized frame: announced 1 MiB > 64 KiB limit.
    assert!(
        closed_after(port, &(1u32 << 20).to_be_bytes(), &[]),
        "oversized frame closes"
    );
    // Negative size.
    assert!(
        closed_after(port, &(-5i32).to_be_bytes(), &[]),
        "negative size closes"
    );
    // Unknown api key 9999.
    let unknown = [0x27u8, 0x0f, 0, 0, 0, 0, 0, 1, 0xff, 0xff];
    assert!(
        closed_after(port, &(unknown.len() as u32).to_be_bytes(), &unknown),
        "unknown api closes"
    );
    // Garbage body for Metadata v1.
    let garbage = [0u8, 3, 0, 1, 0, 0, 0, 2, 0x7f, 0x7f, 0x7f];
    assert!(
        closed_after(port, &(garbage.len() as u32).to_be_bytes(), &garbage),
        "malformed request closes"
    );
    // Array bomb: Metadata v1 claiming 2^31-1 topics in a 16-byte frame.
    let mut bomb = vec![0u8, 3, 0, 1, 0, 0, 0, 3, 0xff, 0xff];
    bomb.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
    assert!(
        closed_after(port, &(bomb.len() as u32).to_be_bytes(), &bomb),
        "array bomb closes"
    );

    // Bad CRC: an error code, the connection stays usable, nothing is appended.
    let mut batch = record_batch(3, -1, -1, 0).to_vec();
    let last = batch.len() - 1;
    batch[last] ^= 0x01;
    let mut crc_client = RawClient::connect(port);
    assert_eq!(
        produce_raw(&mut crc_client, "safe", Bytes::from(batch)).0,
        2,
        "CORRUPT_MESSAGE"
    );
    assert_eq!(
        produce_raw(&mut crc_client, "safe", record_batch(1, -1, -1, 0)),
        (0, 2),
        "same connection still served"
    );

    // ApiVersions too new: UNSUPPORTED_VERSION with the v0 list (KIP-511).
    let mut av = RawClient::connect(port);
    av.send_frame(&[0, 18, 0, 9, 0, 0, 0, 42, 0, 0])
        .expect("send");
    let mut resp = Bytes::from(av.read_frame().expect("ApiVersions answer"));
    assert_eq!(&resp[..4], &42i32.to_be_bytes());
    bytes::Buf::advance(&mut resp, 4);
    let body = ApiVersionsResponse::decode(&mut resp, 0).expect("v0 body");
    assert_eq!(body.error_code, 35);
    assert!(body
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));

    // The well-behaved client was never disturbed and the data is intact.
    let meta: MetadataResponse = good.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    assert_eq!(meta.topics.len(), 1);
    assert_eq!(broker.log_end_offset("safe", 0), 3);
    let log = broker.log();
    for reason in [
        "exceeds the limit",
        "invalid frame size",
        "unknown api key",
        "malformed Metadata",
        "CRC32C mismatch",
    ] {
        assert!(log.contains(reason), "log lacks {reason:?}:\n{log}");
    }
}
