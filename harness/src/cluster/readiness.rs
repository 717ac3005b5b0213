//! Waiting for nodes to be ready: the profile's check (admin HTTP path, or the Kafka port
//! answering ApiVersions and Metadata) polled with a per-probe timeout and a bounded total wait. A
//! container that exits while we wait fails at once; a timeout returns the last probe
//! error and the tail of the broker's log.

use std::time::{Duration, Instant};

use bollard::models::ContainerStateStatusEnum;
use bollard::Docker;

use crate::cluster::admin::{admin_client, admin_url, get_ok};
use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::logs::log_tail;
use crate::cluster::node::ClusterNode;
use crate::cluster::profile::{Advertised, Profile, Readiness};
use crate::cluster::sample::metadata_probe;

/// Pause between probes of one node.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(200);

/// Lines of the broker's log included in a not-ready error.
pub const LOG_TAIL_LINES: usize = 40;

/// Probe `node` once with the profile's readiness check.
pub async fn probe(
    client: &reqwest::Client,
    node: &ClusterNode,
    profile: &Profile,
) -> Result<(), String> {
    match &profile.readiness {
        Readiness::AdminHttp { path } => {
            let admin = profile
                .admin
                .as_ref()
                .ok_or_else(|| "admin-http readiness without [admin]".to_string())?;
            get_ok(client, &admin_url(node.ip, admin.port, path)).await?;
        }
        Readiness::KafkaPort => {
            let address = std::net::SocketAddr::from((node.ip, profile.kafka_port));
            metadata_probe(address).await?;
        }
    }
    published_probe(node).await
}

/// A node that advertises a loopback address is reached there by clients: the published
/// port must answer too, or every client would fail after a "ready" cluster.
async fn published_probe(node: &ClusterNode) -> Result<(), String> {
    let Advertised::Loopback(addr) = node.advertised else {
        return Ok(());
    };
    metadata_probe(addr.into())
        .await
        .map_err(|e| format!("published at {addr}: {e}"))
}

/// Wait until every node passes its readiness check, at most `timeout` in total.
pub async fn wait_ready(
    docker: &Docker,
    nodes: &[ClusterNode],
    profile: &Profile,
    timeout: Duration,
) -> Result<(), ClusterError> {
    let client = admin_client().map_err(|detail| ClusterError::Profile {
        source_name: profile.name.clone(),
        detail,
    })?;
    let started = Instant::now();
    for node in nodes {
        let mut last_error;
        loop {
            match probe(&client, node, profile).await {
                Ok(()) => break,
                Err(e) => last_error = e,
            }
            let inspect = docker
                .inspect_container(&node.container, None)
                .await
                .map_err(|e| docker_error("inspect", &node.container, e))?;
            let state = inspect.state.unwrap_or_default();
            if !matches!(state.status, Some(ContainerStateStatusEnum::RUNNING)) {
                return Err(stopped_error(docker, node, started.elapsed()).await);
            }
            if started.elapsed() >= timeout {
                return Err(not_ready(docker, node, started.elapsed(), last_error).await);
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        tracing::info!(node = %node.name, elapsed = ?started.elapsed(), "node ready");
    }
    Ok(())
}

/// The error for a node whose container stopped before it was ready: its state, exit
/// code and log tail.
pub(crate) async fn stopped_error(
    docker: &Docker,
    node: &ClusterNode,
    waited: Duration,
) -> ClusterError {
    let reason = match docker.inspect_container(&node.container, None).await {
        Ok(inspect) => {
            let state = inspect.state.unwrap_or_default();
            format!(
                "container is {} (exit code {})",
                state
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "gone".into()),
                state.exit_code.unwrap_or_default()
            )
        }
        Err(e) => format!("container cannot be inspected: {e}"),
    };
    not_ready(docker, node, waited, reason).await
}

async fn not_ready(
    docker: &Docker,
    node: &ClusterNode,
    waited: Duration,
    reason: String,
) -> ClusterError {
    ClusterError::NotReady {
        node: node.name.clone(),
        waited,
        reason,
        log_tail: log_tail(docker, &node.container, LOG_TAIL_LINES).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a Kafka port that accepts connections but never answers Metadata is not
    // ready, and the probe says so within its bound (method: a silent loopback listener).
    #[tokio::test]
    async fn silent_kafka_port_is_not_ready() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut profile = Profile::broker_under_test("unused");
        profile.readiness = Readiness::KafkaPort;
        profile.kafka_port = listener.local_addr().unwrap().port();
        let node = ClusterNode {
            id: 1,
            name: "n1".into(),
            container: "none".into(),
            ip: std::net::Ipv4Addr::LOCALHOST,
            advertised: crate::cluster::profile::Advertised::NodeAddress(
                std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, profile.kafka_port),
            ),
        };
        let client = admin_client().unwrap();
        let started = Instant::now();
        let error = probe(&client, &node, &profile).await.unwrap_err();
        assert!(
            error.contains("Metadata") && error.contains("no answer"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
