//! The `restart` fault: a rolling restart as an operator runs one for an upgrade. One node
//! at a time is stopped with SIGTERM (the broker's controlled shutdown moves its
//! leaderships away before it exits; SIGKILL only after [`GRACE`]), started again with its
//! data, and the next node waits until every partition's ISR is full again, as Kafka's
//! own guidance for rolling restarts asks (no under-replicated partitions). The nemesis
//! crate applies each step; the wait needs the cluster's state, sampled through the Kafka
//! protocol, which only the harness has, so the roll is driven here.
//!
//! Every step is a nemesis line (`node-stopped`, `node-started`, `node-in-sync`) between
//! the roll's `start-restart` and `stop-restart`, so the report and a replay see each one.
//! A node that does not stop or start, or an ISR that does not fill again within
//! [`IN_SYNC_TIMEOUT`], ends the roll early and the stop line says why; nodes it left
//! stopped are started by the final heal. A node restarted while a partition or packet
//! loss is active gets that fault's rules again, as after a kill.

use std::time::Duration;

use std::cell::RefCell;

use nemesis::{Fault, Nemesis, NemesisEvent, RollingRestart};

use crate::cluster::{Cluster, PartitionLeader};
use crate::recorder::{Recorder, RecorderError};
use crate::run::faults::{record_event, reinstall_network_faults};

/// How long a node has to shut down after SIGTERM before `docker stop` kills it.
pub const GRACE: Duration = Duration::from_secs(15);

/// How long the roll waits for a full ISR after a node's restart before it gives up.
pub const IN_SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the wait samples the cluster.
const IN_SYNC_POLL: Duration = Duration::from_millis(250);

/// True when the sampled cluster shows at least `partitions` led partitions and every one
/// of them has all its assigned replicas in its ISR: the point at which an operator moves
/// on to the next broker. A partition nobody leads is missing from the sample, so the
/// count guards against an offline partition passing for an in-sync one.
pub fn all_in_sync(leaders: &[PartitionLeader], partitions: usize) -> bool {
    leaders.len() >= partitions
        && leaders
            .iter()
            .all(|p| p.replicas.iter().all(|r| p.isr.contains(r)))
}

/// Restarts `nodes` one at a time, recording each step; returns what the roll did (the
/// nodes restarted and, if it ended early, why). Only a history write failure is an error.
pub async fn roll(
    cluster: &Cluster,
    nemesis: &Nemesis,
    recorder: &Recorder,
    nodes: &[String],
    running: &RefCell<Vec<(usize, Fault)>>,
) -> Result<RollingRestart, RecorderError> {
    let partitions = cluster.partition_leaders().await.len();
    let mut done = RollingRestart::of(&[]);
    for node in nodes {
        let step = restart_one(cluster, nemesis, recorder, node, partitions, running).await?;
        if let Err(why) = step {
            tracing::warn!("rolling restart stopped at {node}: {why}");
            done.aborted = Some(why);
            return Ok(done);
        }
        done.nodes.push(node.clone());
    }
    Ok(done)
}

/// One node's stop, start and wait; `Err` (inside) says why the roll cannot go on.
async fn restart_one(
    cluster: &Cluster,
    nemesis: &Nemesis,
    recorder: &Recorder,
    node: &str,
    partitions: usize,
    running: &RefCell<Vec<(usize, Fault)>>,
) -> Result<Result<(), String>, RecorderError> {
    match nemesis.stop_gracefully(node, GRACE).await {
        Ok((event, exit_code)) => {
            if exit_code != Some(0) {
                tracing::warn!(node, ?exit_code, "a graceful stop did not exit cleanly");
            }
            record_event(recorder, &event)?;
        }
        Err(e) => return Ok(Err(format!("{node} did not stop: {e}"))),
    }
    match nemesis.start_stopped(node).await {
        Ok(event) => record_event(recorder, &event)?,
        Err(e) => return Ok(Err(format!("{node} did not start again: {e}"))),
    };
    reinstall_network_faults(nemesis, running).await;
    let deadline = tokio::time::Instant::now() + IN_SYNC_TIMEOUT;
    loop {
        if all_in_sync(&cluster.partition_leaders().await, partitions) {
            let names = [node.to_string()];
            record_event(
                recorder,
                &NemesisEvent::nodes(nemesis::NemesisFunction::NodeInSync, &names),
            )?;
            return Ok(Ok(()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Err(format!(
                "the ISR was not full {} s after {node} restarted",
                IN_SYNC_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(IN_SYNC_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn led(isr: &[&str]) -> PartitionLeader {
        PartitionLeader {
            topic: "t".into(),
            partition: 0,
            leader: "n1".into(),
            leader_epoch: Some(1),
            replicas: vec!["n1".into(), "n2".into(), "n3".into()],
            isr: isr.iter().map(|n| n.to_string()).collect(),
        }
    }

    // Goal: the roll moves on only when every partition it knew of is led again with its
    // whole replica set in sync. Method: a full, a shrunk and a missing partition.
    #[test]
    fn in_sync_needs_every_partition_led_with_a_full_isr() {
        let full = led(&["n2", "n1", "n3"]);
        let shrunk = led(&["n1", "n3"]);
        assert!(all_in_sync(&[full.clone(), full.clone()], 2));
        assert!(!all_in_sync(&[full.clone(), shrunk], 2));
        assert!(
            !all_in_sync(&[full], 2),
            "an offline partition is not in sync"
        );
        assert!(all_in_sync(&[], 0));
    }
}
