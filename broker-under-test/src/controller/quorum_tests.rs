//! The controller quorum end to end on loopback: three openraft voters over the real TCP
//! transport elect a leader, only the leader commits, every voter applies the same metadata,
//! a new leader is elected when the leader stops, and a restarted voter recovers its log from
//! its data dir and catches up.

use std::time::Duration;

use super::commands::MetadataCommand;
use super::node::{ControllerError, ControllerNode, ControllerSettings, Peer, Peers};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn settings(id: i32, peers: &Peers, dir: &std::path::Path) -> ControllerSettings {
    let addr = &peers.0.iter().find(|p| p.id == id).expect("peer").addr;
    ControllerSettings {
        node_id: id,
        listen: addr.parse().expect("addr"),
        peers: peers.clone(),
        dir: dir.join(format!("node-{id}")),
        heartbeat_ms: 100,
        election_timeout_ms: 500,
        faults: crate::faults::SeededFaults::NONE,
    }
}

/// Polls `check` every 50 ms for at most `limit`.
async fn eventually<F: AsyncFnMut() -> bool>(limit: Duration, mut check: F) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn agreed_leader(nodes: &[&ControllerNode]) -> Option<i32> {
    let mut leaders = Vec::new();
    for n in nodes {
        leaders.push(n.leader().await);
    }
    let first = leaders[0]?;
    leaders.iter().all(|l| *l == Some(first)).then_some(first)
}

fn live(nodes: &[Option<ControllerNode>]) -> Vec<&ControllerNode> {
    nodes.iter().flatten().collect()
}

fn register(id: i32) -> MetadataCommand {
    MetadataCommand::RegisterBroker {
        broker_id: id,
        host: "127.0.0.1".into(),
        port: 9000 + id,
        now_ms: 1,
        incarnation: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_elect_replicate_fail_over_and_recover() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let peers = Peers(
        (1..=3)
            .map(|id| Peer {
                id,
                addr: format!("127.0.0.1:{}", free_port()),
            })
            .collect(),
    );
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(Some(
            ControllerNode::start(settings(id, &peers, tmp.path()))
                .await
                .expect("start"),
        ));
    }

    let mut leader = None;
    assert!(
        eventually(Duration::from_secs(10), async || {
            leader = agreed_leader(&live(&nodes)).await;
            leader.is_some()
        })
        .await,
        "no agreed controller leader within 10 s"
    );
    let leader = leader.expect("leader");
    let index = |id: i32| usize::try_from(id - 1).expect("index");
    let leader_node = nodes[index(leader)].as_ref().expect("leader node");
    for id in 1..=3 {
        let resp = leader_node.propose(register(id)).await.expect("propose");
        assert!(resp.0.is_ok(), "register {id}: {resp:?}");
    }
    // A follower cannot change metadata.
    let follower = (1..=3).find(|&id| id != leader).expect("follower");
    let refused = nodes[index(follower)]
        .as_ref()
        .expect("follower node")
        .propose(register(9))
        .await;
    assert!(
        matches!(refused, Err(ControllerError::NotController { leader: Some(l) }) if l == leader),
        "{refused:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), async || {
            live(&nodes)
                .iter()
                .all(|n| n.metadata().map(|m| m.brokers.len()).unwrap_or(0) == 3)
        })
        .await,
        "every voter applies the three registrations"
    );

    // Stop the leader: the other two elect a new one and keep committing.
    let old = nodes[index(leader)].take().expect("leader node");
    old.shutdown().await;
    let mut new_leader = None;
    assert!(
        eventually(Duration::from_secs(10), async || {
            new_leader = agreed_leader(&live(&nodes)).await.filter(|l| *l != leader);
            new_leader.is_some()
        })
        .await,
        "no new leader within 10 s of stopping the old one"
    );
    let new_leader = new_leader.expect("new leader");
    let create = MetadataCommand::CreateTopic {
        name: "t".into(),
        topic_id: String::new(),
        partitions: 2,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election: false,
    };
    let resp = nodes[index(new_leader)]
        .as_ref()
        .expect("new leader node")
        .propose(create)
        .await
        .expect("propose after failover");
    assert!(resp.0.is_ok(), "{resp:?}");

    // The old leader restarts from its data dir and catches up.
    nodes[index(leader)] = Some(
        ControllerNode::start(settings(leader, &peers, tmp.path()))
            .await
            .expect("restart"),
    );
    let restarted = nodes[index(leader)].as_ref().expect("restarted");
    assert!(
        eventually(Duration::from_secs(10), async || {
            restarted
                .metadata()
                .is_ok_and(|m| m.brokers.len() == 3 && m.topics.contains_key("t"))
        })
        .await,
        "restarted voter recovers and catches up"
    );
    for n in nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
