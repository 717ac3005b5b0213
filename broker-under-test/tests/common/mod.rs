//! Test support: start the real broker binary on loopback with a temp data dir, wait for its
//! `/health`, kill or stop it, and talk raw Kafka protocol to it.

#![allow(dead_code)]

pub mod cluster;
pub mod kafka;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// Ports handed out by [`free_port`]: below Linux's ephemeral range (32768-60999), so the
/// source port of an outgoing connection (a started broker dialing its peers) can never
/// take a port picked for a broker that has not bound it yet. `bind("127.0.0.1:0")` picks
/// inside that range, and a 3-node cluster test once lost that race.
const TEST_PORTS: std::ops::Range<u32> = 20_000..32_000;

/// A free loopback port (bound then released), outside the ephemeral range, never one
/// this process handed out before: a test that kills its broker and restarts it on the
/// same port leaves that port free for a moment, and a parallel test must not take it
/// then (seen once as "Address already in use" on a restart). Each call starts from a
/// different random point so parallel test processes rarely meet.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(call);
    hasher.write_u32(std::process::id());
    let span = TEST_PORTS.end - TEST_PORTS.start;
    let start = (hasher.finish() % u64::from(span)) as u32;
    let port = (0..span)
        .map(|i| TEST_PORTS.start + (start + i) % span)
        .filter_map(|p| u16::try_from(p).ok())
        .filter(|p| !handed_out.contains(p))
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free loopback port below the ephemeral range");
    handed_out.insert(port);
    port
}

/// A running broker process.
pub struct BrokerProcess {
    pub child: Child,
    pub port: u16,
    pub admin_port: u16,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
}

impl BrokerProcess {
    /// Starts the broker on fresh ports with extra flags.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_on(data_dir, free_port(), free_port(), extra)
    }

    /// Starts the broker on the given ports (used to restart in place).
    pub fn start_on(data_dir: &Path, port: u16, admin_port: u16, extra: &[&str]) -> Self {
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log_path = data_dir
            .parent()
            .unwrap_or(data_dir)
            .join(format!("broker-{port}-{n}.log"));
        let log = std::fs::File::create(&log_path).expect("broker log file");
        let child = Command::new(env!("CARGO_BIN_EXE_broker-under-test"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn broker");
        let broker = BrokerProcess {
            child,
            port,
            admin_port,
            data_dir: data_dir.to_path_buf(),
            log_path,
        };
        broker.wait_healthy(Duration::from_secs(20));
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn wait_healthy(&self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some((200, body)) = http_get(self.admin_port, "/health") {
                assert!(body.contains("\"status\":\"ok\""), "health body {body}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("broker not healthy within {limit:?}; log:\n{}", self.log());
    }

    /// The broker's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL broker");
        self.child.wait().expect("reap broker");
    }

    /// Sends a signal by name (`STOP`, `CONT`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGTERM and wait (bounded) for exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "broker did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `/partitions` JSON.
    pub fn partitions(&self) -> serde_json::Value {
        let (status, body) = http_get(self.admin_port, "/partitions").expect("GET /partitions");
        assert_eq!(status, 200);
        serde_json::from_str(&body).expect("partitions JSON")
    }

    /// Log end offset of one partition from `/partitions`.
    pub fn log_end_offset(&self, topic: &str, partition: i64) -> i64 {
        let doc = self.partitions();
        doc["partitions"]
            .as_array()
            .expect("partitions array")
            .iter()
            .find(|p| p["topic"] == topic && p["partition"] == partition)
            .and_then(|p| p["log_end_offset"].as_i64())
            .unwrap_or_else(|| panic!("partition {topic}-{partition} not in {doc}"))
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            if let Err(e) = self.child.kill() {
                eprintln!("could not kill broker: {e}");
            }
            if let Err(e) = self.child.wait() {
                eprintln!("could not reap broker: {e}");
            }
        }
    }
}

static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Minimal HTTP/1.0 GET on loopback: (status, body), None if not reachable.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().ok()?,
        Duration::from_secs(2),
    )
    .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A raw Kafka protocol connection.
pub struct RawClient {
    stream: TcpStream,
    next_correlation: i32,
}

impl RawClient {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawClient {
            stream,
            next_correlation: 1,
        }
    }

    /// Sends raw bytes as one frame.
    pub fn send_frame(&mut self, body: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(&(body.len() as u32).to_be_bytes())?;
        self.stream.write_all(body)
    }

    /// Reads one response frame.
    pub fn read_frame(&mut self) -> std::io::Result<Vec<u8>> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut body)?;
        Ok(body)
    }

    /// The socket, for tests that write raw bytes.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// True once the broker closed this connection (EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }

    /// Sends a typed request without reading a response (Produce with acks=0).
    pub fn send_only<Req: Encodable>(&mut self, api_key: ApiKey, version: i16, req: &Req) {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        self.send_request(api_key, version, correlation, req);
    }

    fn send_request<Req: Encodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        correlation: i32,
        req: &Req,
    ) {
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("raw-test")))
            .encode(&mut buf, api_key.request_header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version).expect("encode body");
        self.send_frame(&buf).expect("send");
    }

    /// Sends a typed request and decodes the typed response.
    pub fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Resp {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        self.send_request(api_key, version, correlation, req);
        let mut resp = bytes::Bytes::from(self.read_frame().expect("response frame"));
        let header = ResponseHeader::decode(&mut resp, api_key.response_header_version(version))
            .expect("resp header");
        assert_eq!(header.correlation_id, correlation);
        let out = Resp::decode(&mut resp, version).expect("decode response");
        assert_eq!(resp.remaining(), 0, "trailing response bytes");
        out
    }
}

/// A v2 record batch of `count` records from producer `(producer_id, epoch)` starting at
/// `base_sequence` (producer_id -1: not idempotent).
pub fn record_batch(count: i32, producer_id: i64, epoch: i16, base_sequence: i32) -> bytes::Bytes {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i64::from(i),
            sequence: if producer_id >= 0 {
                base_sequence + i
            } else {
                i - 1
            },
            timestamp: 1_700_000_000_000 + i64::from(i),
            key: None,
            value: Some(bytes::Bytes::from(format!("raw-{base_sequence}-{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// Produces one batch to partition 0 with acks=all (Produce v9); returns (error code, base offset).
pub fn produce_raw(client: &mut RawClient, topic: &str, batch: bytes::Bytes) -> (i16, i64) {
    produce_raw_acks(client, topic, batch, -1)
}

/// Produces one batch to partition 0 with the given acks; returns (error code, base offset).
pub fn produce_raw_acks(
    client: &mut RawClient,
    topic: &str,
    batch: bytes::Bytes,
    acks: i16,
) -> (i16, i64) {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
    let req = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let resp: ProduceResponse = client.call(ApiKey::Produce, 9, &req);
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// InitProducerId v4; `current` = Some((id, epoch)) asks for an epoch bump (KIP-360).
pub fn init_producer_id(client: &mut RawClient, current: Option<(i64, i16)>) -> (i16, i64, i16) {
    use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
    let (id, epoch) = current.unwrap_or((-1, -1));
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch);
    let resp: InitProducerIdResponse = client.call(ApiKey::InitProducerId, 4, &req);
    (resp.error_code, resp.producer_id.0, resp.producer_epoch)
}
