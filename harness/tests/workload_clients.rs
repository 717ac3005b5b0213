//! The workload's librdkafka sessions against a real broker-under-test process on loopback:
//! delivery reports reach the sending task (served by it, woken by librdkafka's queue
//! callback rather than a polling thread), and the consumer reads back exactly what was
//! acknowledged, at the offsets the acknowledgements named, including records that arrive
//! while a poll waits. The broker binary is the one cargo built beside samsa.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::workload::consumer::{ConsumerOptions, ConsumerSession, PollResult};
use harness::workload::producer::{ProducerOptions, ProducerSession, SendOutcome};

const TOPIC: &str = "clients";
const PARTITIONS: i32 = 2;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A broker-under-test process, killed when dropped.
struct Broker {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        let binary = Path::new(env!("CARGO_BIN_EXE_samsa")).with_file_name("broker-under-test");
        let (port, admin, controller) = (free_port(), free_port(), free_port());
        let log = dir.join("broker.log");
        let child = Command::new(&binary)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
            .args(["--controller-listen", &format!("127.0.0.1:{controller}")])
            .args(["--default-partitions", &PARTITIONS.to_string()])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("broker log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let broker = Broker { child, port, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", admin)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the broker did not listen; log:\n{}",
                std::fs::read_to_string(&broker.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn producer_options(bootstrap: &str) -> ProducerOptions {
    ProducerOptions {
        bootstrap: bootstrap.to_owned(),
        acks: "all".into(),
        idempotence: true,
        message_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(5),
        extra: Vec::new(),
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking task")
}

/// Polls until `want` records were read or `polls` polls were made.
async fn poll_records(consumer: &ConsumerSession, want: usize, polls: usize) -> PollResult {
    let mut read = PollResult::new();
    for _ in 0..polls {
        let got = consumer.poll().await.expect("poll");
        for (partition, records) in got {
            read.entry(partition).or_default().extend(records);
        }
        if read.values().map(Vec::len).sum::<usize>() >= want {
            break;
        }
    }
    read
}

// Goal: concurrent sessions on one runtime each get every delivery report, acknowledged
// with an offset, and a consumer assigned from the beginning reads exactly those values at
// exactly those offsets; at the end of the log a poll returns nothing, and a record sent
// afterwards is read by the next polls. Method: 4 producer sessions x 40 sequential sends
// over 2 partitions against one broker process; a history-style comparison of reads with
// acknowledgements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn sessions_deliver_every_report_and_read_back_what_was_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(dir.path());
    let bootstrap = broker.bootstrap();

    let mut senders = Vec::new();
    for session in 0..4u64 {
        let options = producer_options(&bootstrap);
        senders.push(tokio::spawn(async move {
            let producer = blocking(move || ProducerSession::new(&options, TOPIC, session))
                .await
                .expect("producer");
            let mut acked = Vec::new();
            for n in 0..40i64 {
                let partition = (n % i64::from(PARTITIONS)) as i32;
                let value = session as i64 * 1_000 + n;
                match producer.send(partition, value).await {
                    SendOutcome::Ok {
                        offset: Some(offset),
                    } => acked.push((partition, offset, value)),
                    other => panic!("send {value}: {other:?}"),
                }
            }
            acked
        }));
    }
    let mut acknowledged: BTreeMap<(i32, i64), i64> = BTreeMap::new();
    for sender in senders {
        for (partition, offset, value) in sender.await.expect("sender task") {
            let earlier = acknowledged.insert((partition, offset), value);
            assert_eq!(
                earlier, None,
                "two values acknowledged at {partition}/{offset}"
            );
        }
    }
    assert_eq!(acknowledged.len(), 160);

    let consumer_options = ConsumerOptions {
        bootstrap: bootstrap.clone(),
        poll_wait: Duration::from_millis(200),
        records_max: 25,
        extra: Vec::new(),
    };
    let consumer = {
        let options = consumer_options.clone();
        blocking(move || ConsumerSession::new(&options, TOPIC, 1))
            .await
            .expect("consumer")
    };
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    {
        let (consumer, partitions) = (consumer.clone(), partitions.clone());
        blocking(move || consumer.assign(&partitions, true))
            .await
            .expect("assign from the beginning");
    }
    let read = poll_records(&consumer, acknowledged.len(), 200).await;
    let mut read_back: BTreeMap<(i32, i64), i64> = BTreeMap::new();
    for (partition, records) in &read {
        for &(offset, value) in records {
            assert!(
                read_back.insert((*partition, offset), value).is_none(),
                "offset {partition}/{offset} read twice from one assignment"
            );
        }
    }
    assert_eq!(
        read_back, acknowledged,
        "reads differ from acknowledgements"
    );

    {
        let (consumer, partitions) = (consumer.clone(), partitions.clone());
        blocking(move || consumer.assign(&partitions, false))
            .await
            .expect("assign at the end");
    }
    let nothing = consumer.poll().await.expect("poll at the end");
    assert!(nothing.is_empty(), "read past the end: {nothing:?}");

    let late = {
        let options = producer_options(&bootstrap);
        let producer = blocking(move || ProducerSession::new(&options, TOPIC, 9))
            .await
            .expect("producer");
        match producer.send(1, 9_999).await {
            SendOutcome::Ok {
                offset: Some(offset),
            } => offset,
            other => panic!("late send: {other:?}"),
        }
    };
    let tail = poll_records(&consumer, 1, 50).await;
    let expected: PollResult = [(1, vec![(late, 9_999)])].into_iter().collect();
    assert_eq!(
        tail, expected,
        "the record sent after the end-of-log assignment"
    );
}
