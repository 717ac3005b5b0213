//! Goal: three broker processes started with `--peers` form a controller quorum, register
//! and heartbeat through it, a broker killed with kill -9 is fenced by the quorum leader after
//! its session timeout (even when it was the leader: the survivors elect a new one), and a
//! restarted broker is unfenced again. Method: the real binary on loopback, each node's view
//! read from its admin endpoint (`/partitions` → `controller`).

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::BrokerProcess;

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

#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "starts a cluster of real broker processes; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn quorum_registers_fences_a_killed_broker_and_unfences_it_on_restart() {
    // Cluster::start waits until every node sees 3 registered, unfenced brokers.
    let mut cluster = Cluster::start(3, &["--session-timeout-ms", "1500"]);
    let all_live = |c: &Cluster| {
        c.live().all(|p| {
            let (leader, brokers) = view(p);
            leader.is_some() && brokers.len() == 3 && brokers.iter().all(|(_, fenced)| !fenced)
        })
    };
    cluster.wait_for(
        "a quorum leader known everywhere",
        Duration::from_secs(20),
        all_live,
    );

    // Kill the quorum leader: the survivors elect a new leader and fence the dead broker.
    let leader = view(cluster.process(1)).0.expect("leader");
    let victim = i32::try_from(leader).expect("id");
    cluster.kill(victim);
    cluster.wait_for(
        "the killed broker fenced by a new leader",
        Duration::from_secs(20),
        |c| {
            c.live().all(|p| {
                let (l, brokers) = view(p);
                l.is_some_and(|l| l != leader) && brokers.contains(&(leader, true))
            })
        },
    );

    // Restart it in place: it rejoins the quorum and is unfenced.
    cluster.restart(victim);
    cluster.wait_for(
        "the restarted broker unfenced everywhere",
        Duration::from_secs(20),
        all_live,
    );
}
