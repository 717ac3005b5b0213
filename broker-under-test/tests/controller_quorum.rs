//! Goal: three broker processes started with `--peers` form a controller quorum, register
//! and heartbeat through it, a broker killed with kill -9 is fenced by the quorum leader after
//! its session timeout (even when it was the leader: the survivors elect a new one), and a
//! restarted broker is unfenced again. Method: the real binary on loopback, each node's view
//! read from its admin endpoint (`/partitions` → `controller`).

mod common;

use std::time::{Duration, Instant};

use common::{free_port, BrokerProcess};

struct Node {
    id: i32,
    controller_port: u16,
    process: Option<BrokerProcess>,
    data: std::path::PathBuf,
}

fn flags(id: i32, controller_port: u16, peers: &str) -> Vec<String> {
    vec![
        "--node-id".into(),
        id.to_string(),
        "--peers".into(),
        peers.into(),
        "--controller-listen".into(),
        format!("127.0.0.1:{controller_port}"),
        "--heartbeat-interval-ms".into(),
        "100".into(),
        "--session-timeout-ms".into(),
        "1500".into(),
    ]
}

fn start(node: &Node, peers: &str, ports: Option<(u16, u16)>) -> BrokerProcess {
    let f = flags(node.id, node.controller_port, peers);
    let f: Vec<&str> = f.iter().map(String::as_str).collect();
    match ports {
        None => BrokerProcess::start(&node.data, &f),
        Some((port, admin)) => BrokerProcess::start_on(&node.data, port, admin, &f),
    }
}

/// `(leader, fenced flag per broker id)` as `node` sees it.
fn view(node: &BrokerProcess) -> (Option<i64>, Vec<(i64, bool)>) {
    let doc = node.partitions();
    let c = &doc["controller"];
    let brokers = c["metadata"]["brokers"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(id, b)| Some((id.parse().ok()?, b["fenced"].as_bool()?)))
                .collect()
        })
        .unwrap_or_default();
    (c["leader"].as_i64(), brokers)
}

fn wait_for(what: &str, limit: Duration, nodes: &[Node], check: impl Fn(&BrokerProcess) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        let live: Vec<&BrokerProcess> = nodes.iter().filter_map(|n| n.process.as_ref()).collect();
        if live.iter().all(|p| check(p)) {
            return;
        }
        if Instant::now() > deadline {
            let views: Vec<_> = live.iter().map(|p| view(p)).collect();
            let logs: Vec<String> = live.iter().map(|p| p.log()).collect();
            panic!(
                "{what} not reached within {limit:?}: views {views:?}\nlogs:\n{}",
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn quorum_registers_fences_a_killed_broker_and_unfences_it_on_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut nodes: Vec<Node> = (1..=3)
        .map(|id| Node {
            id,
            controller_port: free_port(),
            process: None,
            data: tmp.path().join(format!("node-{id}")).join("data"),
        })
        .collect();
    let peers = nodes
        .iter()
        .map(|n| format!("{}@127.0.0.1:{}", n.id, n.controller_port))
        .collect::<Vec<_>>()
        .join(",");
    for node in &mut nodes {
        std::fs::create_dir_all(node.data.parent().expect("parent")).expect("mkdir");
        node.process = Some(start(node, &peers, None));
    }
    let all_live = |p: &BrokerProcess| {
        let (leader, brokers) = view(p);
        leader.is_some() && brokers.len() == 3 && brokers.iter().all(|(_, fenced)| !fenced)
    };
    wait_for(
        "3 registered, unfenced brokers on every node",
        Duration::from_secs(20),
        &nodes,
        all_live,
    );

    // Kill the quorum leader: the survivors elect a new leader and fence the dead broker.
    let leader = view(nodes[0].process.as_ref().expect("node"))
        .0
        .expect("leader");
    let victim = usize::try_from(leader - 1).expect("index");
    let mut dead = nodes[victim].process.take().expect("victim");
    let ports = (dead.port, dead.admin_port);
    dead.kill9();
    wait_for(
        "the killed broker fenced by a new leader",
        Duration::from_secs(20),
        &nodes,
        |p| {
            let (l, brokers) = view(p);
            l.is_some_and(|l| l != leader) && brokers.contains(&(leader, true))
        },
    );

    // Restart it in place: it rejoins the quorum and is unfenced.
    nodes[victim].process = Some(start(&nodes[victim], &peers, Some(ports)));
    wait_for(
        "the restarted broker unfenced everywhere",
        Duration::from_secs(20),
        &nodes,
        all_live,
    );
}
