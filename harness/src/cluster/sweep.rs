//! Removing what samsa left in Docker, by label: one run's containers and network at
//! teardown, or every samsa leftover (`samsa=1`) before a new run starts, after a
//! harness that was killed could not clean up. Partition chains are removed first
//! (nemesis sweep), then containers (forced, which also ends paused ones), then networks.
//! Everything is idempotent: sweeping a clean daemon does nothing.

use std::collections::{BTreeSet, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;

use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::labels::{any_run_filter, run_filter, LABEL_OWNER, LABEL_RUN};

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Network namespaces whose SAMSA iptables chain was removed.
    pub chains: usize,
    /// Containers removed.
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
}

impl std::fmt::Display for SweepReport {
    /// "removed 3 containers, 1 network and 3 iptables chains", or "nothing to remove".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counted = |n: usize, one: &str, many: &str| {
            (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
        };
        let parts: Vec<String> = [
            counted(self.containers, "container", "containers"),
            counted(self.networks, "network", "networks"),
            counted(self.chains, "iptables chain", "iptables chains"),
        ]
        .into_iter()
        .flatten()
        .collect();
        match parts.as_slice() {
            [] => f.write_str("nothing to remove"),
            [one] => write!(f, "removed {one}"),
            [init @ .., last] => write!(f, "removed {} and {last}", init.join(", ")),
        }
    }
}

/// Remove the leftovers of every samsa run whose owning harness process is gone (label
/// `samsa.owner`; runs without it count as orphaned). Call before starting a run: a run
/// or test still in progress on this daemon is left alone.
pub async fn sweep(docker: &Docker) -> Result<SweepReport, ClusterError> {
    let mut total = SweepReport::default();
    for run in orphaned_runs(docker).await? {
        let report = teardown_run(docker, &run).await?;
        total.chains += report.chains;
        total.containers += report.containers;
        total.networks += report.networks;
    }
    Ok(total)
}

/// Remove everything samsa made on this daemon (label `samsa=1`), live runs included:
/// `samsa sweep --all`.
pub async fn sweep_all(docker: &Docker) -> Result<SweepReport, ClusterError> {
    sweep_label(docker, &any_run_filter()).await
}

/// The run ids of labelled containers and networks whose owner process no longer exists.
async fn orphaned_runs(docker: &Docker) -> Result<BTreeSet<String>, ClusterError> {
    let filter = any_run_filter();
    let filters = HashMap::from([("label".to_string(), vec![filter.clone()])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| docker_error("list containers", &filter, e))?;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| docker_error("list networks", &filter, e))?;
    let label_sets = containers
        .into_iter()
        .filter_map(|c| c.labels)
        .chain(networks.into_iter().filter_map(|n| n.labels));
    let mut orphaned = BTreeSet::new();
    for labels in label_sets {
        let Some(run) = labels.get(LABEL_RUN) else {
            continue;
        };
        let owner_alive = labels
            .get(LABEL_OWNER)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(process_alive);
        if !owner_alive {
            orphaned.insert(run.clone());
        }
    }
    Ok(orphaned)
}

/// Whether a process with this id exists on this host (the harness runs on the host, so
/// its pid is visible in /proc).
fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Remove one run's containers, network and chains (label `samsa.run=<run_id>`); safe
/// to call from a Ctrl-C handler, with or without a [`crate::cluster::Cluster`] value.
pub async fn teardown_run(docker: &Docker, run_id: &str) -> Result<SweepReport, ClusterError> {
    sweep_label(docker, &run_filter(run_id)).await
}

/// Every container (running or not) carrying `label` (`key=value`).
pub async fn labelled_containers(
    docker: &Docker,
    label: &str,
) -> Result<Vec<bollard::models::ContainerSummary>, ClusterError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_error("list containers", label, e))
}

/// Remove everything carrying `label` (`key=value`).
pub async fn sweep_label(docker: &Docker, label: &str) -> Result<SweepReport, ClusterError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let mut report = SweepReport {
        chains: nemesis::sweep_chains(docker, label).await?,
        ..Default::default()
    };
    for container in labelled_containers(docker, label).await? {
        let Some(id) = container.id else { continue };
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match docker.remove_container(&id, Some(options)).await {
            Ok(()) => report.containers += 1,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(docker_error("remove container", id, e)),
        }
    }
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    let networks = docker
        .list_networks(Some(options))
        .await
        .map_err(|e| docker_error("list networks", label, e))?;
    for network in networks {
        let Some(id) = network.id else { continue };
        match docker.remove_network(&id).await {
            Ok(()) => report.networks += 1,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(docker_error("remove network", id, e)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: what sweep removed reads as words, not a Rust struct.
    #[test]
    fn a_sweep_report_reads_as_words() {
        assert_eq!(SweepReport::default().to_string(), "nothing to remove");
        let one = SweepReport {
            containers: 1,
            ..SweepReport::default()
        };
        assert_eq!(one.to_string(), "removed 1 container");
        let all = SweepReport {
            chains: 3,
            containers: 3,
            networks: 1,
        };
        assert_eq!(
            all.to_string(),
            "removed 3 containers, 1 network and 3 iptables chains"
        );
    }
}
