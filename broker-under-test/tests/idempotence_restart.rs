//! Goal: idempotent-producer state survives restarts (clean and kill -9), sequence gaps and
//! stale epochs are refused, producer ids stay unique, and SIGTERM exits 0. Method: a raw
//! kafka-protocol client replays exact batches against the real broker process.

mod common;

use common::kafka::create_topic;
use common::{init_producer_id, produce_raw, record_batch, BrokerProcess, RawClient};

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "kills and restarts real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn retried_batches_after_restart_are_not_appended_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let flags = ["--flush-policy", "batch"];
    let mut broker = BrokerProcess::start(&data, &flags);
    let (port, admin) = (broker.port, broker.admin_port);
    create_topic(port, "idem", 1);
    let mut client = RawClient::connect(port);
    let (code, pid, epoch) = init_producer_id(&mut client, None);
    assert_eq!((code, epoch), (0, 0));
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(3, pid, epoch, 0)),
        (0, 0)
    );
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(3, pid, epoch, 3)),
        (0, 3)
    );

    // Clean restart: SIGTERM must flush and exit 0.
    let status = broker.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exit status; log:\n{}",
        broker.log()
    );
    broker = BrokerProcess::start_on(&data, port, admin, &flags);
    let mut client = RawClient::connect(port);
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(3, pid, epoch, 3)),
        (0, 3),
        "retry after clean restart"
    );
    assert_eq!(broker.log_end_offset("idem", 0), 6);

    // Crash restart: the state is rebuilt from the log alone.
    broker.kill9();
    broker = BrokerProcess::start_on(&data, port, admin, &flags);
    let mut client = RawClient::connect(port);
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(3, pid, epoch, 0)),
        (0, 0),
        "retry after kill -9"
    );
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(3, pid, epoch, 3)),
        (0, 3)
    );
    assert_eq!(broker.log_end_offset("idem", 0), 6);

    // A gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER and appends nothing.
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(1, pid, epoch, 10)).0,
        45
    );
    // The next in-sequence batch is appended.
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(2, pid, epoch, 6)),
        (0, 6)
    );

    // Epoch bump (KIP-360): the new epoch starts at sequence 0, the old epoch is fenced.
    let (code, same_pid, new_epoch) = init_producer_id(&mut client, Some((pid, epoch)));
    assert_eq!((code, same_pid, new_epoch), (0, pid, epoch + 1));
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(1, pid, new_epoch, 0)),
        (0, 8)
    );
    assert_eq!(
        produce_raw(&mut client, "idem", record_batch(1, pid, epoch, 8)).0,
        47,
        "stale epoch"
    );
    assert_eq!(broker.log_end_offset("idem", 0), 9);

    // Producer ids handed out after restarts never repeat.
    let (_, next_pid, _) = init_producer_id(&mut client, None);
    assert!(next_pid > pid, "pid {next_pid} after {pid}");
}
