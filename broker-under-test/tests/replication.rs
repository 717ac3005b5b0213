//! Goal: replication on a real 3-node cluster of broker processes (loopback, separate data
//! directories) keeps Kafka's promises: killing the leader elects a new one within 5 s and no
//! acknowledged acks=all write is lost; a paused follower leaves the ISR and rejoins after it
//! resumes; min.insync.replicas refuses acks=all when the ISR is too small; an old leader
//! that comes back truncates the tail it wrote alone — and with the `no-truncation` seeded
//! fault it keeps it; a deposed leader refuses produces, and with `fenced-leader-produce` it
//! appends them; a partition whose only ISR member dies stays offline, and with
//! `unclean-election` an out-of-sync replica leads it. Method: librdkafka and a raw kafka-protocol client against the real
//! binary, each node's state read from its admin endpoint, and the replicas' segment files
//! compared byte for byte.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::kafka::{consume_all, create_topic_with, deliveries, flush, idempotent_producer, send};
use common::{produce_raw_acks, record_batch, RawClient};

const TOPIC: &str = "t";

/// The leader's own view of the partition.
fn leader_view(c: &Cluster) -> Option<(i32, serde_json::Value)> {
    let leader = c.leader(TOPIC, 0)?;
    Some((leader, c.partition_view(leader, TOPIC, 0)?))
}

fn isr_of(view: &serde_json::Value) -> Vec<i64> {
    let mut isr: Vec<i64> = view["isr"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default();
    isr.sort_unstable();
    isr
}

/// Starts 3 nodes and a topic of one partition replicated 3 times; waits for a leader with
/// the full ISR.
fn cluster_with_topic(flags: &[&str], min_insync: &str) -> Cluster {
    let c = Cluster::start(3, flags);
    create_topic_with(
        c.process(1).port,
        TOPIC,
        1,
        3,
        &[("min.insync.replicas", min_insync)],
    );
    c.wait_for("a leader with the full ISR", Duration::from_secs(15), |c| {
        leader_view(c).is_some_and(|(_, v)| isr_of(&v) == [1, 2, 3])
    });
    c
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn killing_the_leader_elects_a_new_one_within_5s_and_loses_no_acknowledged_write() {
    let mut c = cluster_with_topic(&["--session-timeout-ms", "1500"], "2");
    let (leader, _) = leader_view(&c).expect("leader");
    let producer = idempotent_producer(&c.bootstrap(), 60_000);
    for i in 0..2_000 {
        send(&producer, TOPIC, &format!("v{i}"));
    }
    flush(&producer, Duration::from_secs(30));
    // More writes in flight while the leader dies.
    for i in 2_000..3_000 {
        send(&producer, TOPIC, &format!("v{i}"));
    }
    producer.poll(Duration::from_millis(5));
    let killed_at = Instant::now();
    c.kill(leader);
    c.wait_for("a new leader", Duration::from_secs(5), |c| {
        c.leader(TOPIC, 0).is_some_and(|l| l != leader)
    });
    let failover = killed_at.elapsed();
    eprintln!("new leader after {failover:?}");
    flush(&producer, Duration::from_secs(60));
    let acked: HashMap<String, i64> = deliveries(&producer)
        .into_iter()
        .filter_map(|(payload, r)| r.ok().map(|o| (payload, o)))
        .collect();
    assert!(acked.len() >= 2_000, "acked {}", acked.len());
    let end = acked.values().max().copied().unwrap_or(0) + 1;
    let read: HashMap<i64, String> =
        consume_all(&c.bootstrap(), TOPIC, end, Duration::from_secs(30))
            .into_iter()
            .collect();
    for (payload, offset) in &acked {
        assert_eq!(
            read.get(offset),
            Some(payload),
            "acknowledged {payload} at offset {offset} lost after the failover"
        );
    }
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn sigterm_on_the_leader_moves_leadership_at_once_by_controlled_shutdown() {
    // The session timeout is far above the limit: only the controlled shutdown can move
    // the leadership this fast.
    let mut c = cluster_with_topic(&["--session-timeout-ms", "30000"], "2");
    let (leader, _) = leader_view(&c).expect("leader");
    let stopped_at = Instant::now();
    c.terminate(leader);
    c.wait_for("a new leader", Duration::from_secs(5), |c| {
        c.leader(TOPIC, 0).is_some_and(|l| l != leader)
    });
    eprintln!("new leader {:?} after SIGTERM", stopped_at.elapsed());
    let (_, view) = leader_view(&c).expect("new leader view");
    assert!(
        !isr_of(&view).contains(&i64::from(leader)),
        "the stopped broker left the ISR"
    );
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn a_paused_follower_leaves_the_isr_and_rejoins_after_it_resumes() {
    // A session timeout far above the lag time: the ISR shrinks through the leader's lag
    // check (AlterPartition), not through fencing.
    let mut c = cluster_with_topic(
        &[
            "--session-timeout-ms",
            "30000",
            "--replica-lag-time-max-ms",
            "1000",
        ],
        "2",
    );
    let (leader, _) = leader_view(&c).expect("leader");
    let follower = (1..=3).find(|&n| n != leader).expect("follower");
    c.pause(follower);
    let mut client = RawClient::connect(c.process(leader).port);
    for _ in 0..5 {
        let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), -1);
        assert_eq!(
            code,
            0,
            "acks=all with one follower paused completes once it is out of the ISR; \
             leader log:\n{}",
            c.process(leader).log()
        );
    }
    c.wait_for(
        "the paused follower out of the ISR",
        Duration::from_secs(10),
        |c| {
            c.partition_view(leader, TOPIC, 0)
                .is_some_and(|v| !isr_of(&v).contains(&i64::from(follower)))
        },
    );
    c.resume(follower);
    c.wait_for(
        "the follower back in the ISR",
        Duration::from_secs(10),
        |c| {
            c.partition_view(leader, TOPIC, 0)
                .is_some_and(|v| isr_of(&v) == [1, 2, 3])
        },
    );
    let leo = c.partition_view(leader, TOPIC, 0).expect("view")["log_end_offset"].clone();
    c.wait_for("the follower caught up", Duration::from_secs(10), |c| {
        c.partition_view(follower, TOPIC, 0)
            .is_some_and(|v| v["log_end_offset"] == leo)
    });
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn min_insync_replicas_refuses_acks_all_when_the_isr_is_too_small() {
    let mut c = cluster_with_topic(&["--session-timeout-ms", "1500"], "3");
    let (leader, _) = leader_view(&c).expect("leader");
    let mut client = RawClient::connect(c.process(leader).port);
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(1, -1, -1, -1), -1);
    assert_eq!(code, 0, "full ISR: accepted");
    let follower = (1..=3).find(|&n| n != leader).expect("follower");
    c.kill(follower);
    c.wait_for(
        "the dead follower fenced out of the ISR",
        Duration::from_secs(10),
        |c| {
            c.partition_view(leader, TOPIC, 0)
                .is_some_and(|v| isr_of(&v).len() == 2)
        },
    );
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(1, -1, -1, -1), -1);
    assert_eq!(
        code,
        19,
        "NOT_ENOUGH_REPLICAS with 2 in-sync replicas of 3 required; leader log:\n{}",
        c.process(leader).log()
    );
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(1, -1, -1, -1), 1);
    assert_eq!(code, 0, "acks=1 does not ask for min.insync.replicas");
}

/// The old leader writes a tail nobody else has (acks=1 while both followers are paused),
/// is paused itself while the followers elect a new leader that writes other records, then
/// resumes as a follower. Returns (old leader's LEO before, its LEO after catching up, the
/// new leader's LEO, whether the two replicas' segment files are identical).
fn old_leader_returns(flags: &[&str]) -> (i64, i64, i64, bool) {
    let mut all = vec!["--session-timeout-ms", "1500"];
    all.extend_from_slice(flags);
    let mut c = cluster_with_topic(&all, "1");
    let (old, _) = leader_view(&c).expect("leader");
    let mut client = RawClient::connect(c.process(old).port);
    for _ in 0..3 {
        let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), -1);
        assert_eq!(code, 0);
    }
    let followers: Vec<i32> = (1..=3).filter(|&n| n != old).collect();
    c.wait_for("followers caught up", Duration::from_secs(10), |c| {
        followers.iter().all(|&f| {
            c.partition_view(f, TOPIC, 0)
                .is_some_and(|v| v["log_end_offset"] == 6)
        })
    });
    for &f in &followers {
        c.pause(f);
    }
    for _ in 0..5 {
        let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), 1);
        assert_eq!(code, 0, "acks=1 appends on the isolated leader");
    }
    let divergent_leo = c.partition_view(old, TOPIC, 0).expect("view")["log_end_offset"]
        .as_i64()
        .expect("leo");
    assert_eq!(divergent_leo, 16);
    c.pause(old);
    for &f in &followers {
        c.resume(f);
    }
    c.wait_for(
        "a new leader among the followers",
        Duration::from_secs(15),
        |c| c.leader(TOPIC, 0).is_some_and(|l| l != old),
    );
    let new = c.leader(TOPIC, 0).expect("new leader");
    let mut client = RawClient::connect(c.process(new).port);
    for _ in 0..2 {
        let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(1, -1, -1, -1), -1);
        assert_eq!(code, 0, "the new leader accepts acks=all");
    }
    // 6 common records, maybe the first divergent batch if a follower's fetch response was in
    // flight when it was paused (legitimately replicated), then the new leader's 2.
    let new_leo = c.partition_view(new, TOPIC, 0).expect("view")["log_end_offset"]
        .as_i64()
        .expect("leo");
    assert!((8..=10).contains(&new_leo), "new leader LEO {new_leo}");
    c.resume(old);
    c.wait_for(
        "the old leader following again",
        Duration::from_secs(15),
        |c| {
            c.partition_view(old, TOPIC, 0)
                .is_some_and(|v| v["role"] == "follower")
        },
    );
    // Give the fetcher time to truncate and copy (or, faulty, to keep its tail).
    std::thread::sleep(Duration::from_secs(2));
    let after = c.partition_view(old, TOPIC, 0).expect("view")["log_end_offset"]
        .as_i64()
        .expect("leo");
    let segment = |id: i32| {
        let dir = c.process(id).data_dir.join(format!("{TOPIC}-0"));
        std::fs::read(dir.join("00000000000000000000.log")).expect("segment file")
    };
    let identical = segment(old) == segment(new);
    (divergent_leo, after, new_leo, identical)
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn a_returning_old_leader_truncates_the_tail_it_wrote_alone() {
    let (before, after, leader_leo, identical) = old_leader_returns(&[]);
    assert_eq!(before, 16);
    assert_eq!(
        after, leader_leo,
        "the old leader's log ends where the new leader's does"
    );
    assert!(
        identical,
        "the old leader's segment is a byte-for-byte copy of the new leader's"
    );
}

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn no_truncation_fault_keeps_the_divergent_tail() {
    let (before, after, leader_leo, identical) =
        old_leader_returns(&["--seeded-faults", "no-truncation"]);
    assert_eq!(before, 16);
    assert!(leader_leo < before);
    assert_eq!(after, before, "the faulty follower kept its tail");
    assert!(!identical);
}

/// The leader is paused until the others elect a new leader, then resumed; once it follows,
/// a raw acks=1 produce is sent to it. Returns the produce's error code and the deposed
/// leader's LEO before and after it.
fn produce_to_deposed_leader(flags: &[&str]) -> (i16, i64, i64) {
    let mut all = vec!["--session-timeout-ms", "1500"];
    all.extend_from_slice(flags);
    let mut c = cluster_with_topic(&all, "1");
    let (old, _) = leader_view(&c).expect("leader");
    let mut client = RawClient::connect(c.process(old).port);
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), -1);
    assert_eq!(code, 0);
    c.pause(old);
    c.wait_for("a new leader", Duration::from_secs(15), |c| {
        c.leader(TOPIC, 0).is_some_and(|l| l != old)
    });
    c.resume(old);
    c.wait_for("the old leader following", Duration::from_secs(15), |c| {
        c.partition_view(old, TOPIC, 0)
            .is_some_and(|v| v["role"] == "follower")
    });
    let leo = |c: &Cluster, id: i32| {
        c.partition_view(id, TOPIC, 0).expect("view")["log_end_offset"]
            .as_i64()
            .expect("leo")
    };
    let new = c.leader(TOPIC, 0).expect("new leader");
    // Truncation and catch-up done: the deposed leader's log ends where the new leader's does.
    c.wait_for("the old leader caught up", Duration::from_secs(15), |c| {
        leo(c, old) == leo(c, new)
    });
    let before = leo(&c, old);
    let mut client = RawClient::connect(c.process(old).port);
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(1, -1, -1, -1), 1);
    (code, before, leo(&c, old))
}

// Goal: a deposed leader answers NOT_LEADER_OR_FOLLOWER (6) and appends nothing; with
// `fenced-leader-produce` it accepts and appends. Method: the same run against both.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn a_deposed_leader_refuses_produces_unless_fenced_leader_produce_is_on() {
    let (code, before, after) = produce_to_deposed_leader(&[]);
    assert_eq!(
        (code, after),
        (6, before),
        "the correct broker fences the produce (LEO before {before})"
    );
    let (code, before, after) =
        produce_to_deposed_leader(&["--seeded-faults", "fenced-leader-produce"]);
    assert_eq!(
        (code, after),
        (0, before + 1),
        "the faulty broker appends it (LEO before {before})"
    );
}

/// A topic replicated on brokers 1 and 2 only (3 is a controller voter): follower 2 is paused
/// until the ISR is the leader alone, the leader writes more, then is killed while 2 resumes.
/// Returns the controller's record (leader, ISR) as broker 3 applied it once 1 is fenced.
fn leader_after_the_only_isr_member_dies(flags: &[&str]) -> (i64, Vec<i64>) {
    let mut all = vec![
        "--session-timeout-ms",
        "1500",
        "--replica-lag-time-max-ms",
        "1000",
    ];
    all.extend_from_slice(flags);
    let mut c = Cluster::start(3, &all);
    create_topic_with(
        c.process(1).port,
        TOPIC,
        1,
        2,
        &[("min.insync.replicas", "1")],
    );
    c.wait_for("leader 1 with ISR [1, 2]", Duration::from_secs(15), |c| {
        c.partition_view(1, TOPIC, 0)
            .is_some_and(|v| v["role"] == "leader" && isr_of(&v) == [1, 2])
    });
    let mut client = RawClient::connect(c.process(1).port);
    c.pause(2);
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), 1);
    assert_eq!(code, 0);
    c.wait_for(
        "the ISR shrunk to the leader",
        Duration::from_secs(15),
        |c| {
            c.partition_view(1, TOPIC, 0)
                .is_some_and(|v| isr_of(&v) == [1])
        },
    );
    let (code, _) = produce_raw_acks(&mut client, TOPIC, record_batch(2, -1, -1, -1), -1);
    assert_eq!(
        code, 0,
        "acks=all with the leader alone in the ISR (min.insync 1)"
    );
    c.kill(1);
    c.resume(2);
    c.wait_for("broker 1 fenced", Duration::from_secs(20), |c| {
        c.process(3).partitions()["controller"]["metadata"]["brokers"]["1"]["fenced"] == true
    });
    // The election runs when the fence is applied; give broker 3 time to apply what follows.
    std::thread::sleep(Duration::from_millis(500));
    let record = c.record(3, TOPIC, 0).expect("record");
    (record["leader"].as_i64().expect("leader"), isr_of(&record))
}

// Goal: with unclean.leader.election.enable=false a partition whose only ISR member died
// stays offline (leader -1, KIP-841 keeps the ISR), and `unclean-election` elects the
// out-of-sync replica instead. Method: the same run against both.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn the_only_isr_member_dying_leaves_the_partition_offline_unless_unclean_election_is_on() {
    assert_eq!(leader_after_the_only_isr_member_dies(&[]), (-1, vec![1]));
    assert_eq!(
        leader_after_the_only_isr_member_dies(&["--seeded-faults", "unclean-election"]),
        (2, vec![2])
    );
}
