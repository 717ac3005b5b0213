//! A missing Docker daemon is a clear error naming the problem, returned quickly, not a
//! hang. Its own test binary because it points `DOCKER_HOST` at a socket that does not
//! exist, which must not leak into tests that need the real daemon.

use std::time::{Duration, Instant};

use harness::cluster::{connect, ClusterError};

// DOCKER_HOST pointing at nothing: DockerUnavailable with a hint, within the bound.
#[tokio::test]
async fn missing_daemon_is_reported() {
    std::env::set_var("DOCKER_HOST", "unix:///nonexistent/samsa-docker.sock");
    let started = Instant::now();
    let error = connect().await.expect_err("no daemon there");
    assert!(
        matches!(error, ClusterError::DockerUnavailable { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("is dockerd running"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(15));
}
