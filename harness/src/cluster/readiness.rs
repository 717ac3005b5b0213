//! Waiting for nodes to be ready: the profile's check (admin HTTP path, or the Kafka port
//! accepting connections) polled with a per-probe timeout and a bounded total wait. A
//! container that exits while we wait fails at once; a timeout returns the last probe
//! error and the tail of the broker's log.

use std::time::{Duration, Instant};

use bollard::models::ContainerStateStatusEnum;
use bollard::Docker;

use crate::cluster::admin::{admin_client, admin_url, get_ok, ADMIN_REQUEST_TIMEOUT};
use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::logs::log_tail;
use crate::cluster::node::ClusterNode;
use crate::cluster::profile::{Profile, Readiness};

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
            get_ok(client, &admin_url(node.ip, admin.port, path)).await
        }
        Readiness::KafkaPort => {
            let address = (node.ip, profile.kafka_port);
            match tokio::time::timeout(
                ADMIN_REQUEST_TIMEOUT,
                tokio::net::TcpStream::connect(address),
            )
            .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("connect {}:{}: {e}", node.ip, profile.kafka_port)),
                Err(_) => Err(format!(
                    "connect {}:{}: timed out",
                    node.ip, profile.kafka_port
                )),
            }
        }
    }
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
