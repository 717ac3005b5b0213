//! Removing what samsa left in Docker, by label: one run's containers and network at
//! teardown, or every samsa leftover (`samsa=1`) before a new run starts, after a
//! harness that was killed could not clean up. Partition chains are removed first
//! (nemesis sweep), then containers (forced, which also ends paused ones), then networks.
//! Everything is idempotent: sweeping a clean daemon does nothing.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;

use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::labels::{any_run_filter, run_filter};

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

/// Remove every leftover of every samsa run (label `samsa=1`). Call before starting a
/// run. Note: it also removes the cluster of a samsa run still in progress on this daemon.
pub async fn sweep(docker: &Docker) -> Result<SweepReport, ClusterError> {
    sweep_label(docker, &any_run_filter()).await
}

/// Remove one run's containers, network and chains (label `samsa.run=<run_id>`); safe
/// to call from a Ctrl-C handler, with or without a [`crate::cluster::Cluster`] value.
pub async fn teardown_run(docker: &Docker, run_id: &str) -> Result<SweepReport, ClusterError> {
    sweep_label(docker, &run_filter(run_id)).await
}

/// Remove everything carrying `label` (`key=value`).
pub async fn sweep_label(docker: &Docker, label: &str) -> Result<SweepReport, ClusterError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let mut report = SweepReport {
        chains: nemesis::sweep_chains(docker, label).await?,
        ..Default::default()
    };
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| docker_error("list containers", label, e))?;
    for container in containers {
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
