//! Unit tests of the leader engine: HW from follower fetches, ISR shrink/expand proposals,
//! stale refusals, acks=all and NOT_ENOUGH_REPLICAS, and the seeded faults acting here.

use super::*;

const LAG: u64 = 1_000;

fn engine(faults: SeededFaults, min_isr: i32) -> LeaderEngine {
    let settings = LeaderSettings {
        node_id: 1,
        replicas: vec![1, 2, 3],
        min_insync_replicas: min_isr,
        replica_lag_time_max_ms: LAG,
        faults,
    };
    LeaderEngine::new(settings, 4, 10, vec![1, 2, 3], 0, 0, 0)
}

fn fetch(e: &mut LeaderEngine, replica: i32, offset: i64, now_ms: u64) -> Vec<Command> {
    e.handle(Event::FollowerFetch {
        replica,
        fetch_offset: offset,
        now_ms,
    })
}

#[test]
fn high_watermark_is_the_smallest_isr_leo_and_completes_acks_all() {
    let mut e = engine(SeededFaults::NONE, 2);
    e.handle(Event::Appended { log_end_offset: 10 });
    assert_eq!(e.high_watermark(), 0, "followers have not fetched yet");
    assert_eq!(
        e.ack_decision(-1, 9),
        AckDecision::AwaitHighWatermark { last_offset: 9 }
    );
    assert_eq!(e.ack_decision(1, 9), AckDecision::Respond);
    assert!(
        fetch(&mut e, 2, 10, 5).is_empty(),
        "3 still unknown: HW stays"
    );
    assert_eq!(
        fetch(&mut e, 3, 6, 6),
        vec![Command::AdvanceHighWatermark(6)]
    );
    assert_eq!(
        fetch(&mut e, 3, 10, 7),
        vec![Command::AdvanceHighWatermark(10)]
    );
    assert_eq!(e.ack_decision(-1, 9), AckDecision::Respond);
    // A follower cannot claim more than the leader has.
    fetch(&mut e, 2, 99, 8);
    assert_eq!(e.follower(2).map(|f| f.log_end_offset), Some(10));
}

#[test]
fn lagging_follower_is_proposed_out_and_hw_waits_for_the_controller() {
    let mut e = engine(SeededFaults::NONE, 1);
    e.handle(Event::Appended { log_end_offset: 5 });
    fetch(&mut e, 2, 5, 100);
    fetch(&mut e, 3, 0, 100); // 3 is stuck at 0
    assert_eq!(e.high_watermark(), 0);
    assert!(
        e.handle(Event::Tick { now_ms: 900 }).is_empty(),
        "within the lag time"
    );
    let cmds = e.handle(Event::Tick { now_ms: 1_200 });
    let expected = IsrProposal {
        isr: vec![1, 2],
        leader_epoch: 4,
        partition_epoch: 10,
    };
    assert_eq!(cmds, vec![Command::ProposeIsr(expected)]);
    assert_eq!(
        e.isr(),
        &[1, 2, 3],
        "not applied before the controller commits"
    );
    assert_eq!(e.high_watermark(), 0, "maximal ISR still holds 3");
    let cmds = e.handle(Event::IsrCommitted {
        isr: vec![1, 2],
        partition_epoch: 11,
    });
    assert_eq!(cmds, vec![Command::AdvanceHighWatermark(5)]);
    assert!(e.pending().is_none());
}

#[test]
fn caught_up_follower_is_proposed_back_in() {
    let mut e = engine(SeededFaults::NONE, 1);
    e.handle(Event::IsrCommitted {
        isr: vec![1, 2],
        partition_epoch: 11,
    });
    e.handle(Event::Appended { log_end_offset: 8 });
    fetch(&mut e, 2, 8, 10);
    assert!(
        fetch(&mut e, 3, 4, 20).is_empty(),
        "below the HW: not eligible"
    );
    let cmds = fetch(&mut e, 3, 8, 30);
    let expected = IsrProposal {
        isr: vec![1, 2, 3],
        leader_epoch: 4,
        partition_epoch: 11,
    };
    assert_eq!(cmds, vec![Command::ProposeIsr(expected)]);
    // A refused (stale) proposal is dropped; the next fetch proposes again.
    e.handle(Event::IsrRefused);
    assert!(e.pending().is_none());
    assert_eq!(fetch(&mut e, 3, 8, 40).len(), 1);
    // An older commit (stale partition epoch) does not overwrite newer state.
    e.handle(Event::IsrCommitted {
        isr: vec![1],
        partition_epoch: 3,
    });
    assert_eq!(e.isr(), &[1, 2]);
}

#[test]
fn min_insync_replicas_refuses_acks_all_only() {
    let mut e = engine(SeededFaults::NONE, 2);
    assert_eq!(e.check_produce(-1), Ok(()));
    e.handle(Event::IsrCommitted {
        isr: vec![1],
        partition_epoch: 12,
    });
    assert_eq!(
        e.check_produce(-1),
        Err(NotEnoughReplicas { isr: 1, min: 2 })
    );
    assert_eq!(e.check_produce(1), Ok(()));
    assert_eq!(e.check_produce(0), Ok(()));
}

#[test]
fn zombie_leader_applies_its_own_shrink_and_acknowledges_alone() {
    let faulty = SeededFaults::NONE.with(SeededFault::ZombieLeader);
    let mut e = engine(faulty, 2);
    e.handle(Event::Appended { log_end_offset: 3 });
    // Cut off: no follower fetches, no controller answer.
    let cmds = e.handle(Event::Tick { now_ms: 5_000 });
    assert!(cmds.contains(&Command::AdvanceHighWatermark(3)));
    assert_eq!(e.isr(), &[1]);
    assert_eq!(e.ack_decision(-1, 2), AckDecision::Respond);
    // min.insync.replicas is judged on the ISR it last had confirmed, so it keeps accepting.
    assert_eq!(e.check_produce(-1), Ok(()));
    e.handle(Event::IsrRefused);
    assert_eq!(
        e.isr(),
        &[1],
        "a refusal does not bring the zombie back to its senses"
    );
}

#[test]
fn ack_before_replication_answers_before_the_hw_moves() {
    let faulty = SeededFaults::NONE.with(SeededFault::AckBeforeReplication);
    let mut e = engine(faulty, 2);
    e.handle(Event::Appended { log_end_offset: 10 });
    assert_eq!(e.high_watermark(), 0);
    assert_eq!(e.ack_decision(-1, 9), AckDecision::Respond);
}

#[test]
fn new_leader_does_not_expel_isr_followers_before_they_fetch() {
    let settings = LeaderSettings {
        node_id: 1,
        replicas: vec![1, 2, 3],
        min_insync_replicas: 1,
        replica_lag_time_max_ms: LAG,
        faults: SeededFaults::NONE,
    };
    let mut e = LeaderEngine::new(settings, 5, 20, vec![1, 2], 7, 7, 10_000);
    assert!(e.handle(Event::Tick { now_ms: 10_500 }).is_empty());
    assert_eq!(
        e.high_watermark(),
        7,
        "the stored HW is kept, never moved back"
    );
    // Replica 3 (out of the ISR) below the new epoch's start offset cannot rejoin.
    assert!(fetch(&mut e, 3, 6, 10_600).is_empty());
}

// Goal: a new leader's HW starts at its last known HW, not at its LEO, unless `hw-above-isr`
// is on. Method: the pure rule, then an engine built over a log longer than the known HW
// whose followers have not fetched yet.
#[test]
fn hw_above_isr_starts_a_new_leader_at_its_own_log_end() {
    assert_eq!(initial_high_watermark(4, 9, SeededFaults::NONE), 4);
    assert_eq!(initial_high_watermark(12, 9, SeededFaults::NONE), 9);
    let faulty = SeededFaults::NONE.with(SeededFault::HwAboveIsr);
    assert_eq!(initial_high_watermark(4, 9, faulty), 9);
    let settings = |faults| LeaderSettings {
        node_id: 1,
        replicas: vec![1, 2, 3],
        min_insync_replicas: 1,
        replica_lag_time_max_ms: LAG,
        faults,
    };
    let correct = LeaderEngine::new(settings(SeededFaults::NONE), 5, 20, vec![1, 2, 3], 9, 4, 0);
    assert_eq!(
        correct.high_watermark(),
        4,
        "followers' LEOs unknown: HW stays"
    );
    let buggy = LeaderEngine::new(settings(faulty), 5, 20, vec![1, 2, 3], 9, 4, 0);
    assert_eq!(
        buggy.high_watermark(),
        9,
        "records 4..9 served before the ISR has them"
    );
}
