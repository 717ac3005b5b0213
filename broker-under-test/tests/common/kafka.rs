//! rdkafka helpers: an idempotent acks=all producer that records every delivery report, and an
//! assign-only consumer that reads a partition from the beginning to a given end.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// One delivery report: payload and Ok(offset) or Err(message).
pub type Delivery = (String, Result<i64, String>);

/// Delivery reports in the order librdkafka gave them.
#[derive(Default, Clone)]
pub struct Deliveries(pub Arc<Mutex<Vec<Delivery>>>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let entry = match result {
            Ok(m) => (
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                Ok(m.offset()),
            ),
            Err((e, m)) => (
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                Err(e.to_string()),
            ),
        };
        self.0.lock().expect("deliveries lock").push(entry);
    }
}

/// An idempotent producer with every option the tests rely on set explicitly.
pub fn idempotent_producer(bootstrap: &str, message_timeout_ms: u32) -> BaseProducer<Deliveries> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("retries", "2147483647")
        .set("max.in.flight.requests.per.connection", "5")
        .set("message.timeout.ms", message_timeout_ms.to_string())
        .set("request.timeout.ms", "5000")
        .set("retry.backoff.ms", "100")
        .set("linger.ms", "5")
        .set("batch.num.messages", "500")
        .set("compression.codec", "none")
        .set("api.version.request", "true")
        .create_with_context(Deliveries::default())
        .expect("create producer")
}

/// Reads partition 0 of `topic` from the beginning until `end_offset` (exclusive) or `limit`.
pub fn consume_all(
    bootstrap: &str,
    topic: &str,
    end_offset: i64,
    limit: Duration,
) -> Vec<(i64, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "100")
        .set("enable.partition.eof", "false")
        // librdkafka's consumer needs a group id even for assign(); no offsets are committed.
        .set("group.id", "samsa-broker-test")
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let start = Instant::now();
    while out
        .last()
        .map_or(end_offset > 0, |(o, _)| *o + 1 < end_offset)
        && start.elapsed() < limit
    {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push((
                m.offset(),
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            )),
            // A killed broker is still in the bootstrap list: librdkafka reports its
            // connection failures as informational consumer errors and carries on with
            // the live brokers. Anything else is a real failure.
            Some(Err(e))
                if matches!(
                    e.rdkafka_error_code(),
                    Some(
                        rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure
                            | rdkafka::types::RDKafkaErrorCode::AllBrokersDown
                    )
                ) =>
            {
                eprintln!("consumer (carrying on): {e}");
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

/// Flushes a producer with a bound.
pub fn flush(producer: &BaseProducer<Deliveries>, limit: Duration) {
    producer.flush(limit).expect("flush producer");
}

/// Sends `payload` to partition 0, polling while the queue is full.
pub fn send(producer: &BaseProducer<Deliveries>, topic: &str, payload: &str) {
    let mut record = BaseRecord::to(topic).partition(0).payload(payload).key("k");
    for _ in 0..10_000 {
        match producer.send(record) {
            Ok(()) => return,
            Err((e, r)) => {
                assert!(
                    matches!(
                        e.rdkafka_error_code(),
                        Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ),
                    "send: {e}"
                );
                record = r;
                producer.poll(Duration::from_millis(10));
            }
        }
    }
    panic!("producer queue stayed full");
}

/// Creates a topic through the admin-less path: a raw CreateTopics request.
pub fn create_topic(port: u16, topic: &str, partitions: i32) {
    create_topic_with(port, topic, partitions, 1, &[]);
}

/// Creates a topic with a replication factor and topic configs (`min.insync.replicas`, ...).
pub fn create_topic_with(
    port: u16,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let mut client = super::RawClient::connect(port);
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string((*k).to_string()))
                            .with_value(Some(StrBytes::from_string((*v).to_string())))
                    })
                    .collect(),
            )]);
    let resp: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 5, &req);
    assert_eq!(
        resp.topics[0].error_code, 0,
        "create topic {topic}: {:?}",
        resp.topics[0].error_message
    );
}

/// Every delivery report so far.
pub fn deliveries(producer: &BaseProducer<Deliveries>) -> Vec<Delivery> {
    producer
        .context()
        .0
        .lock()
        .expect("deliveries lock")
        .clone()
}

/// The benchmarks' producer: idempotent, acks=all, large batches, `linger.ms` as given.
pub fn bench_producer(bootstrap: &str, linger_ms: &str) -> BaseProducer<Deliveries> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", linger_ms)
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("compression.codec", "none")
        .set("message.timeout.ms", "60000")
        .create_with_context(Deliveries::default())
        .expect("create producer")
}

/// Sends `messages` copies of `payload` to partition 0 as fast as the queue takes them,
/// flushes, checks every one was acknowledged, and returns the elapsed seconds.
///
/// One message is sent and acknowledged first, untimed: a new idempotent librdkafka producer
/// asks for its producer id only after a 500 ms timer (once more if no connection was up
/// yet), and timing that start-up made the same broker measure 86k, 154k or 377k msgs/s.
pub fn send_all_timed(
    producer: &BaseProducer<Deliveries>,
    topic: &str,
    messages: usize,
    payload: &[u8],
) -> f64 {
    producer
        .send(
            BaseRecord::<(), [u8]>::to(topic)
                .partition(0)
                .payload(payload),
        )
        .map_err(|(e, _)| e)
        .expect("send the warm-up message");
    producer
        .flush(Duration::from_secs(30))
        .expect("flush the warm-up message");
    let warm_up = deliveries(producer).len();
    let start = Instant::now();
    for _ in 0..messages {
        let mut record = BaseRecord::<(), [u8]>::to(topic)
            .partition(0)
            .payload(payload);
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
    let reports = deliveries(producer).split_off(warm_up);
    let failed = reports.iter().filter(|(_, r)| r.is_err()).count();
    assert_eq!(
        (reports.len(), failed),
        (messages, 0),
        "every message acknowledged"
    );
    elapsed
}
