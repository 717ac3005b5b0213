"""Produce N messages with kafka-python (acks=all) to partition 0 of a topic, then consume the
partition from the beginning and print one JSON line: {"acked": [...offsets], "consumed": [...values]}.
Run by tests/kafka_python.rs against the real broker; exits non-zero on any client error."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5,
                         request_timeout_ms=10000, linger_ms=5)
futures = [producer.send(topic, value=f"py-{i}".encode(), partition=0) for i in range(count)]
producer.flush(timeout=30)
acked = [f.get(timeout=30).offset for f in futures]
producer.close(timeout=10)

consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", consumer_timeout_ms=5000,
                         isolation_level="read_committed")
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
consumed = []
for message in consumer:
    consumed.append(message.value.decode())
    if len(consumed) >= count:
        break
consumer.close()
print(json.dumps({"acked": acked, "consumed": consumed}))
