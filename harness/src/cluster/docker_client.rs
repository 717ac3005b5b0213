//! Connecting to the Docker daemon: the local socket, the API version negotiated (the
//! daemon here speaks 1.41, older than bollard's default), and a ping so a missing daemon
//! is reported at once instead of at the first real call.

use std::time::Duration;

use bollard::Docker;

use crate::cluster::error::ClusterError;

/// Limit for connecting, negotiating and pinging.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Docker client for the local daemon with the API version negotiated.
pub async fn connect() -> Result<Docker, ClusterError> {
    let unavailable = |detail: String| ClusterError::DockerUnavailable { detail };
    let docker = Docker::connect_with_local_defaults().map_err(|e| unavailable(e.to_string()))?;
    let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| unavailable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| unavailable(e.to_string()))?;
    tokio::time::timeout(CONNECT_TIMEOUT, docker.ping())
        .await
        .map_err(|_| unavailable(format!("ping: no answer within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| unavailable(e.to_string()))?;
    Ok(docker)
}
