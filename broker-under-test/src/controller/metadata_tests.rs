//! Unit tests of the controller metadata state machine: registration and liveness, topic
//! assignment, clean and unclean elections, stale and fenced AlterPartition refusals.

use super::*;

fn register(s: &mut MetadataState, id: i32, now_ms: u64) -> Vec<MetadataChange> {
    s.apply(&MetadataCommand::RegisterBroker {
        broker_id: id,
        host: "127.0.0.1".into(),
        port: 9090 + id,
        now_ms,
        incarnation: 1,
    })
    .expect("register")
}

fn cluster(unclean: bool) -> MetadataState {
    let mut s = MetadataState::default();
    for id in 1..=3 {
        register(&mut s, id, 0);
    }
    s.apply(&MetadataCommand::CreateTopic {
        name: "t".into(),
        topic_id: String::new(),
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election: unclean,
    })
    .expect("create");
    s
}

fn alter(
    isr: Vec<i32>,
    broker_id: i32,
    leader_epoch: i32,
    partition_epoch: i32,
) -> MetadataCommand {
    MetadataCommand::AlterPartition {
        topic: "t".into(),
        partition: 0,
        broker_id,
        leader_epoch,
        partition_epoch,
        new_isr: isr,
    }
}

#[test]
fn topics_are_assigned_round_robin_with_the_first_replica_leading() {
    let s = cluster(false);
    let leaders: Vec<i32> = (0..3)
        .map(|p| s.partition("t", p).map_or(-2, |r| r.leader))
        .collect();
    assert_eq!(leaders, vec![1, 2, 3]);
    let p1 = s.partition("t", 1).expect("partition");
    assert_eq!(
        (p1.replicas.clone(), p1.isr.clone()),
        (vec![2, 3, 1], vec![2, 3, 1])
    );
    let mut s = s;
    let too_many = MetadataCommand::CreateTopic {
        name: "u".into(),
        topic_id: String::new(),
        partitions: 1,
        replication_factor: 4,
        min_insync_replicas: 1,
        unclean_leader_election: false,
    };
    assert_eq!(s.apply(&too_many).map_err(|e| e.code()), Err(38));
    let again = MetadataCommand::CreateTopic {
        name: "t".into(),
        topic_id: String::new(),
        partitions: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        unclean_leader_election: false,
    };
    assert_eq!(s.apply(&again).map_err(|e| e.code()), Err(36));
}

#[test]
fn missed_heartbeats_fence_the_leader_and_an_isr_member_takes_over() {
    let mut s = cluster(false);
    for id in [2, 3] {
        s.apply(&MetadataCommand::Heartbeat {
            broker_id: id,
            now_ms: 5_000,
        })
        .expect("heartbeat");
    }
    assert_eq!(s.expired_brokers(6_000, 2_000), vec![1]);
    let changes = s
        .apply(&MetadataCommand::FenceBroker { broker_id: 1 })
        .expect("fence");
    assert!(changes.contains(&MetadataChange::BrokerFenced(1)));
    let p0 = s.partition("t", 0).expect("partition");
    assert_eq!((p0.leader, p0.leader_epoch, p0.partition_epoch), (2, 1, 1));
    assert_eq!(p0.isr, vec![2, 3]);
    // Partition 1 (led by 2) only loses 1 from its ISR: partition epoch bumps, leader epoch not.
    let p1 = s.partition("t", 1).expect("partition");
    assert_eq!((p1.leader, p1.leader_epoch, p1.partition_epoch), (2, 0, 1));
    assert_eq!(p1.isr, vec![2, 3]);
    assert!(
        s.expired_brokers(6_000, 2_000).is_empty(),
        "fenced brokers are not re-fenced"
    );
}

#[test]
fn last_isr_member_failing_leaves_the_partition_offline_until_it_returns() {
    let mut s = cluster(false);
    s.apply(&alter(vec![1], 1, 0, 0)).expect("shrink to leader");
    let changes = s
        .apply(&MetadataCommand::FenceBroker { broker_id: 1 })
        .expect("fence");
    let p0 = s.partition("t", 0).expect("partition");
    assert_eq!(
        (p0.leader, p0.isr.clone()),
        (-1, vec![1]),
        "KIP-841 keeps the last ISR member"
    );
    assert!(changes
        .iter()
        .any(|c| matches!(c, MetadataChange::LeaderChanged { leader: -1, .. })));
    // Broker 1 heartbeats again: it is unfenced and leads at a new epoch.
    let changes = s
        .apply(&MetadataCommand::Heartbeat {
            broker_id: 1,
            now_ms: 9_000,
        })
        .expect("hb");
    assert!(changes.contains(&MetadataChange::BrokerUnfenced(1)));
    let p0 = s.partition("t", 0).expect("partition");
    assert_eq!((p0.leader, p0.leader_epoch), (1, 2));
}

#[test]
fn unclean_election_only_when_the_topic_allows_it() {
    for unclean in [false, true] {
        let mut s = cluster(unclean);
        s.apply(&alter(vec![1], 1, 0, 0)).expect("shrink to leader");
        s.apply(&MetadataCommand::FenceBroker { broker_id: 1 })
            .expect("fence");
        let p0 = s.partition("t", 0).expect("partition");
        if unclean {
            assert_eq!((p0.leader, p0.isr.clone()), (2, vec![2]));
        } else {
            assert_eq!(p0.leader, -1);
        }
    }
}

#[test]
fn stale_or_fenced_isr_changes_are_refused_and_change_nothing() {
    let mut s = cluster(false);
    s.apply(&alter(vec![1, 2], 1, 0, 0)).expect("shrink");
    let before = s.clone();
    // Based on the old partition epoch: INVALID_UPDATE_VERSION.
    assert_eq!(
        s.apply(&alter(vec![1], 1, 0, 0)).map_err(|e| e.code()),
        Err(95)
    );
    // From an old leader epoch: FENCED_LEADER_EPOCH.
    assert_eq!(
        s.apply(&alter(vec![1], 1, -1, 1)).map_err(|e| e.code()),
        Err(74)
    );
    // From a follower: NOT_LEADER_OR_FOLLOWER.
    assert_eq!(
        s.apply(&alter(vec![2], 2, 0, 1)).map_err(|e| e.code()),
        Err(6)
    );
    // Without the leader, with a non-replica, or with a duplicate: INELIGIBLE_REPLICA.
    assert_eq!(
        s.apply(&alter(vec![2], 1, 0, 1)).map_err(|e| e.code()),
        Err(107)
    );
    assert_eq!(
        s.apply(&alter(vec![1, 9], 1, 0, 1)).map_err(|e| e.code()),
        Err(107)
    );
    assert_eq!(
        s.apply(&alter(vec![1, 1], 1, 0, 1)).map_err(|e| e.code()),
        Err(107)
    );
    assert_eq!(s, before);
    // A fenced broker cannot rejoin the ISR.
    s.apply(&MetadataCommand::FenceBroker { broker_id: 3 })
        .expect("fence");
    let p0 = s.partition("t", 0).expect("partition").clone();
    let cmd = alter(vec![1, 2, 3], 1, p0.leader_epoch, p0.partition_epoch);
    assert_eq!(s.apply(&cmd).map_err(|e| e.code()), Err(107));
    let changes = s
        .apply(&alter(vec![1, 2], 1, p0.leader_epoch, p0.partition_epoch))
        .expect("ok");
    assert_eq!(
        changes,
        vec![MetadataChange::IsrChanged {
            topic: "t".into(),
            partition: 0,
            isr: vec![1, 2],
            partition_epoch: p0.partition_epoch + 1,
        }]
    );
}

#[test]
fn heartbeats_from_unknown_brokers_are_refused() {
    let mut s = MetadataState::default();
    let hb = MetadataCommand::Heartbeat {
        broker_id: 7,
        now_ms: 1,
    };
    assert_eq!(s.apply(&hb).map_err(|e| e.code()), Err(102));
    let json = serde_json::to_string(&hb).expect("serialize");
    let back: MetadataCommand = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, hb, "commands survive the Raft log's encoding");
}

#[test]
fn a_restarted_broker_loses_its_leaderships_before_it_is_live_again() {
    let mut s = cluster(false);
    let led: Vec<i32> = (0..3)
        .filter(|&p| s.partition("t", p).map(|r| r.leader) == Some(1))
        .collect();
    assert!(!led.is_empty(), "broker 1 leads something");
    // Same incarnation: a repeated registration changes nothing.
    assert!(register(&mut s, 1, 5).is_empty());
    let changes = s
        .apply(&MetadataCommand::RegisterBroker {
            broker_id: 1,
            host: "127.0.0.1".into(),
            port: 9091,
            now_ms: 6,
            incarnation: 2,
        })
        .expect("re-register");
    assert!(changes.contains(&MetadataChange::BrokerFenced(1)));
    assert!(changes.contains(&MetadataChange::BrokerUnfenced(1)));
    for p in led {
        let r = s.partition("t", p).expect("partition");
        assert_ne!(
            r.leader, 1,
            "partition {p} moved away from the restarted broker"
        );
        assert_eq!(r.leader_epoch, 1);
        assert!(
            !r.isr.contains(&1),
            "the restarted broker must catch up to rejoin"
        );
    }
    assert!(!s.brokers[&1].fenced);
    assert_eq!(s.brokers[&1].incarnation, 2);
}

// Goal: the `unclean-election` fault reaches the controller's elections through `apply_with`:
// a topic with unclean election off gets an out-of-sync leader once its only ISR member is
// fenced, where the correct controller leaves it offline. Method: the same commands on two
// state machines, one with the fault.
#[test]
fn unclean_election_fault_elects_an_out_of_sync_replica_on_a_clean_topic() {
    let faulty = SeededFaults::NONE.with(crate::faults::SeededFault::UncleanElection);
    for (faults, expected) in [(SeededFaults::NONE, (-1, vec![1])), (faulty, (2, vec![2]))] {
        let mut s = cluster(false);
        s.apply_with(&alter(vec![1], 1, 0, 0), faults)
            .expect("shrink to leader");
        s.apply_with(&MetadataCommand::FenceBroker { broker_id: 1 }, faults)
            .expect("fence");
        let p0 = s.partition("t", 0).expect("partition");
        assert_eq!((p0.leader, p0.isr.clone()), expected, "faults {faults}");
    }
}
