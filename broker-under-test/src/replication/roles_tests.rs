//! Goal: the controller's records drive a partition's role and ISR, and every change that
//! can move the high watermark is reported so the caller wakes waiting produces.

use super::*;
use crate::controller::metadata::PartitionRecord;
use crate::faults::SeededFaults;
use crate::log::batch::tests::make_batch;
use crate::partition::PartitionState;

fn settings() -> LeaderSettings {
    LeaderSettings {
        node_id: 1,
        replicas: vec![1, 2, 3],
        min_insync_replicas: 2,
        replica_lag_time_max_ms: 1_000,
        faults: SeededFaults::NONE,
    }
}

/// A replica of `t-0` on node 1 that has not yet acted on any controller record.
fn unassigned(dir: &std::path::Path) -> Partition {
    let state = PartitionState {
        leader: -1,
        leader_epoch: -1,
        partition_epoch: -1,
        isr: Vec::new(),
        replicas: vec![1, 2, 3],
        high_watermark: 0,
    };
    crate::partition::tests::partition_with(dir, state, Role::Offline)
}

fn record(leader_epoch: i32, partition_epoch: i32, isr: &[i32]) -> PartitionRecord {
    PartitionRecord {
        replicas: vec![1, 2, 3],
        leader: 1,
        leader_epoch,
        partition_epoch,
        isr: isr.to_vec(),
    }
}

#[test]
fn a_committed_isr_shrink_applied_from_metadata_advances_the_hw_and_asks_for_a_wake_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = unassigned(dir.path());
    assert!(p.apply_record(&record(0, 0, &[1, 2, 3]), settings(), 0));
    assert_eq!(p.lock().role.name(), "leader");
    p.append(make_batch(2, -1, -1, -1), -1, SeededFaults::NONE)
        .expect("append");
    // Follower 3 caught up; follower 2 never fetched (paused): the HW waits for it.
    let (moved, _) = p.follower_fetched(3, 2, 10);
    assert!(!moved);
    assert_eq!(p.lock().state.high_watermark, 0);
    // The shrink reaches this broker through the applied metadata first. The acks=all
    // produce waiting for offset 1 must be woken: nothing else will wake it when the
    // AlterPartition answer that follows finds the HW already moved.
    assert!(p.apply_record(&record(0, 1, &[1, 3]), settings(), 20));
    assert_eq!(p.lock().state.high_watermark, 2);
    assert!(!p.isr_answer(0, Some((vec![1, 3], 1))));
    // The same record again changes nothing.
    assert!(!p.apply_record(&record(0, 1, &[1, 3]), settings(), 30));
}

// Goal: a leader deposed by a newer leader epoch refuses produces (NOT_LEADER_OR_FOLLOWER),
// unless `fenced-leader-produce` is on, which appends them at its own log end next to the
// new leader's records. Method: the pure rule, then a partition led at epoch 0 that applies
// a record naming broker 2 leader at epoch 1, produced to once correct and once faulty.
#[test]
fn fenced_leader_produce_fault_lets_a_deposed_leader_append() {
    use crate::faults::SeededFault;
    use crate::partition::{accepts_produce, AppendError};
    let faulty = SeededFaults::NONE.with(SeededFault::FencedLeaderProduce);
    assert!(accepts_produce(true, Some(3), 3, SeededFaults::NONE));
    assert!(!accepts_produce(false, Some(3), 4, SeededFaults::NONE));
    assert!(accepts_produce(false, Some(3), 4, faulty));
    assert!(
        !accepts_produce(false, None, 4, faulty),
        "never led: refused"
    );
    for faults in [SeededFaults::NONE, faulty] {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = unassigned(dir.path());
        p.apply_record(&record(0, 0, &[1, 2, 3]), settings(), 0);
        p.append(make_batch(2, -1, -1, -1), 1, faults)
            .expect("append as leader");
        let deposed = PartitionRecord {
            leader: 2,
            ..record(1, 1, &[1, 2, 3])
        };
        assert!(p.apply_record(&deposed, settings(), 10));
        assert_eq!(p.lock().role.name(), "follower");
        let result = p.append(make_batch(1, -1, -1, -1), 1, faults);
        if faults.is_empty() {
            assert!(
                matches!(
                    result,
                    Err(AppendError::NotLeader {
                        leader: 2,
                        leader_epoch: 1
                    })
                ),
                "{result:?}"
            );
            assert_eq!(p.log_end_offset(), 2);
        } else {
            assert_eq!(result.expect("accepted").base_offset, 2);
            assert_eq!(p.log_end_offset(), 3);
        }
    }
}
