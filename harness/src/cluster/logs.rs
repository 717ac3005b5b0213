//! Container logs: the tail that explains a broker that never became ready, and the full
//! log of every node written next to the history at teardown, or found by its run label
//! when the run failed before it had a cluster to ask.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::cluster::error::{io_error, ClusterError};
use crate::cluster::labels::{run_filter, LABEL_NODE};
use crate::cluster::sweep::labelled_containers;

/// Limit for reading one container's log.
pub const LOG_TIMEOUT: Duration = Duration::from_secs(30);

/// The container's stdout and stderr, interleaved, `tail` = "all" or a line count.
pub async fn read_log(
    docker: &Docker,
    container: &str,
    tail: &str,
) -> Result<Vec<u8>, ClusterError> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(false)
        .tail(tail)
        .build();
    let collect = async {
        let mut out = Vec::new();
        let mut stream = docker.logs(container, Some(options));
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| crate::cluster::error::docker_error("logs", container, e))?;
            out.extend_from_slice(chunk.as_ref());
        }
        Ok(out)
    };
    tokio::time::timeout(LOG_TIMEOUT, collect)
        .await
        .map_err(|_| ClusterError::Timeout {
            action: "logs",
            timeout: LOG_TIMEOUT,
        })?
}

/// The last `lines` lines of the log as text, or a note saying why there are none.
pub async fn log_tail(docker: &Docker, container: &str, lines: usize) -> String {
    match read_log(docker, container, &lines.to_string()).await {
        Ok(bytes) if bytes.is_empty() => "(the container wrote nothing)".into(),
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("(log unavailable: {e})"),
    }
}

/// Write the whole log of `container` to `dir/<node>.log`.
pub async fn write_log(
    docker: &Docker,
    container: &str,
    node: &str,
    dir: &Path,
) -> Result<PathBuf, ClusterError> {
    let bytes = read_log(docker, container, "all").await?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let path = dir.join(format!("{node}.log"));
    std::fs::write(&path, bytes).map_err(|e| io_error(&path, e))?;
    Ok(path)
}

/// Write the log of every container labelled with `run_id` to `dir/<node>.log`, found
/// through Docker rather than a [`crate::cluster::Cluster`]: a run whose setup failed (a
/// node never ready, a topic never created) keeps the logs that explain it. A container
/// whose log cannot be read is reported in the log and skipped.
pub async fn write_run_logs(
    docker: &Docker,
    run_id: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ClusterError> {
    let containers = labelled_containers(docker, &run_filter(run_id)).await?;
    let mut written = Vec::new();
    for container in containers {
        let (Some(id), Some(node)) = (
            container.id,
            container.labels.and_then(|mut l| l.remove(LABEL_NODE)),
        ) else {
            continue;
        };
        match write_log(docker, &id, &node, dir).await {
            Ok(path) => written.push(path),
            Err(e @ ClusterError::Io { .. }) => return Err(e),
            Err(e) => tracing::warn!(%node, %e, "log not collected"),
        }
    }
    written.sort();
    Ok(written)
}
