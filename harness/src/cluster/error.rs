//! The cluster lifecycle's error type. Each variant names what failed and carries what a
//! user needs to fix it (the socket path, the image tag, the broker's last log lines), so
//! a setup failure is a clear message and never a hang.

use std::path::PathBuf;
use std::time::Duration;

/// Why the cluster could not be built, started, checked or torn down.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The Docker daemon is not reachable (not running, no permission on the socket).
    #[error("Docker daemon not reachable ({detail}); is dockerd running and is /var/run/docker.sock accessible?")]
    DockerUnavailable {
        /// What the connection attempt said.
        detail: String,
    },
    /// A Docker API call failed.
    #[error("docker {action} {target}: {source}")]
    Docker {
        /// The call.
        action: &'static str,
        /// The object it was made on.
        target: String,
        /// The daemon's answer.
        #[source]
        source: bollard::errors::Error,
    },
    /// The image to run does not exist locally (and no registry can be reached here).
    #[error("image {0} is not present locally and cannot be pulled; build it first (samsa image build) or load it with docker load")]
    ImageMissing(String),
    /// Building the broker image failed.
    #[error("building image {tag}: {detail}")]
    ImageBuild {
        /// The tag being built.
        tag: String,
        /// The builder's error or the I/O error.
        detail: String,
    },
    /// A local file (binary, library, log file) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `ldd` could not be run or reported a missing library.
    #[error("ldd {binary}: {detail}")]
    Ldd {
        /// The binary inspected.
        binary: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Every candidate subnet for the run network clashes with an existing network.
    #[error("cannot create the run network: every candidate subnet is in use ({tried}); remove stale networks (docker network prune) or free one of them")]
    SubnetClash {
        /// The subnets tried.
        tried: String,
    },
    /// A node did not become ready in time.
    #[error("node {node} not ready after {waited:?}: {reason}\n--- last lines of its log ---\n{log_tail}")]
    NotReady {
        /// The node name.
        node: String,
        /// How long we waited.
        waited: Duration,
        /// The last probe error (or the container's exit state).
        reason: String,
        /// The tail of the container's log.
        log_tail: String,
    },
    /// A profile file is malformed or inconsistent.
    #[error("profile {source_name}: {detail}")]
    Profile {
        /// The profile file (or `built-in`).
        source_name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Creating the test topic failed.
    #[error("creating topic {topic}: {detail}")]
    Topic {
        /// The topic name.
        topic: String,
        /// The broker's or client's error.
        detail: String,
    },
    /// A nemesis operation (iptables sweep during teardown) failed.
    #[error(transparent)]
    Nemesis(#[from] nemesis::NemesisError),
    /// A Docker call did not answer in time.
    #[error("docker {action} timed out after {timeout:?}")]
    Timeout {
        /// The call.
        action: &'static str,
        /// The limit.
        timeout: Duration,
    },
}

/// Shorthand for a failed Docker call.
pub(crate) fn docker_error(
    action: &'static str,
    target: impl Into<String>,
    source: bollard::errors::Error,
) -> ClusterError {
    ClusterError::Docker {
        action,
        target: target.into(),
        source,
    }
}

/// Shorthand for a failed file operation.
pub(crate) fn io_error(path: impl Into<PathBuf>, source: std::io::Error) -> ClusterError {
    ClusterError::Io {
        path: path.into(),
        source,
    }
}
