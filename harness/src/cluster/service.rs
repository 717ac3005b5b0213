//! Services beside the brokers: what a profile declares for a broker built on shared
//! storage or a coordination service (Bufstream on object storage and PostgreSQL,
//! WarpStream, AutoMQ, tansu on PostgreSQL). Each service is a role, `count` containers
//! started on the run network before the brokers, with its own image (or binary), env and
//! command templates and readiness; the brokers' templates reach it as
//! `{service:NAME}`. Faults aim at a whole role (`kill:role=storage`,
//! `partition:role=storage`), as Jepsen's Bufstream suite faults each role separately.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::models::ContainerStateStatusEnum;
use bollard::Docker;
use serde::{Deserialize, Serialize};

use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::logs::log_tail;
use crate::cluster::profile::NodeSpec;
use crate::cluster::readiness::{LOG_TAIL_LINES, PROBE_INTERVAL};

/// The most containers one service may have.
pub const SERVICE_COUNT_MAX: usize = 9;

/// How long a `running` service must stay up to count as ready.
pub const RUNNING_SETTLE: Duration = Duration::from_secs(1);

/// Bound on one TCP readiness probe.
const TCP_PROBE_TIMEOUT: Duration = Duration::from_millis(500);

fn one() -> usize {
    1
}

/// How the harness decides a service container is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ServiceReadiness {
    /// The port accepts a TCP connection.
    Tcp {
        /// The port inside the container.
        port: u16,
    },
    /// The container is still running [`RUNNING_SETTLE`] after its start (for a service
    /// with nothing to probe; a process that exits at once is caught, not taken as ready).
    Running,
}

/// One service of a profile (`[[services]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The role name: containers are `NAME-1`, `NAME-2`, ...; faults name it as
    /// `role=NAME`. Lowercase letters, digits and `-`, at most 15, not `broker`.
    pub name: String,
    /// The image to run.
    #[serde(default)]
    pub image: Option<String>,
    /// Instead of `image`: a binary to build a `FROM scratch` image from (a bare name is
    /// looked up on PATH, a relative path is relative to the profile file).
    #[serde(default)]
    pub binary: Option<PathBuf>,
    /// Command (arguments after the entrypoint), each a template.
    #[serde(default)]
    pub command: Vec<String>,
    /// Environment variables, values are templates.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How many containers.
    #[serde(default = "one")]
    pub count: usize,
    /// A data directory kept across kill and restart (`{data_dir}` in its templates).
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Readiness check.
    pub readiness: ServiceReadiness,
}

/// Check the services: valid, distinct role names other than `broker`, counts in range,
/// one image source each, absolute data directories.
pub fn validate_services(services: &[ServiceSpec]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for service in services {
        let name = &service.name;
        let role: nemesis::RoleName = name.parse().map_err(|e| format!("service {name:?}: {e}"))?;
        if role.as_str() == nemesis::BROKER_ROLE {
            return Err("a service cannot be called \"broker\": that role is the brokers".into());
        }
        if !seen.insert(name.clone()) {
            return Err(format!("two services are called {name:?}"));
        }
        if service.count == 0 || service.count > SERVICE_COUNT_MAX {
            return Err(format!(
                "service {name}: count {} out of range 1..={SERVICE_COUNT_MAX}",
                service.count
            ));
        }
        match (&service.image, &service.binary) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "service {name}: give either image or binary, not both"
                ))
            }
            (None, None) => return Err(format!("service {name}: no image or binary")),
            _ => {}
        }
        if let Some(dir) = &service.data_dir {
            if !dir.starts_with('/') {
                return Err(format!(
                    "service {name}: data_dir {dir:?} must be an absolute path"
                ));
            }
        }
    }
    Ok(())
}

/// The container specs of every service, in declaration order; `host_of(i)` gives the
/// address of the i-th service container overall.
pub fn service_specs(services: &[ServiceSpec], host_of: impl Fn(usize) -> String) -> Vec<NodeSpec> {
    let mut specs = Vec::new();
    for service in services {
        for index in 1..=service.count {
            specs.push(NodeSpec {
                id: index as i32,
                name: format!("{}-{index}", service.name),
                host: host_of(specs.len()),
                service: Some(service.name.clone()),
            });
        }
    }
    specs
}

/// One running service container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceContainer {
    /// Its service (the role).
    pub service: String,
    /// Its name in grudges, events and logs (`storage-1`).
    pub name: String,
    /// Docker container name.
    pub container: String,
    /// Its fixed address on the run network.
    pub ip: Ipv4Addr,
}

/// Wait until every container passes its service's readiness check, at most `timeout`
/// in total. A container that stops, or one still not ready at the bound, is an error
/// naming it, with its log tail.
pub async fn wait_services_ready(
    docker: &Docker,
    containers: &[ServiceContainer],
    services: &[ServiceSpec],
    timeout: Duration,
) -> Result<(), ClusterError> {
    let started = Instant::now();
    for container in containers {
        let Some(spec) = services.iter().find(|s| s.name == container.service) else {
            continue;
        };
        let waiting_since = Instant::now();
        loop {
            let inspect = docker
                .inspect_container(&container.container, None)
                .await
                .map_err(|e| docker_error("inspect", &container.container, e))?;
            let state = inspect.state.unwrap_or_default();
            let running = matches!(state.status, Some(ContainerStateStatusEnum::RUNNING));
            let probe = match (&spec.readiness, running) {
                (_, false) => Err(format!(
                    "container stopped (exit code {})",
                    state.exit_code.unwrap_or_default()
                )),
                (ServiceReadiness::Running, true) if waiting_since.elapsed() >= RUNNING_SETTLE => {
                    Ok(())
                }
                (ServiceReadiness::Running, true) => Err("not yet running for a second".into()),
                (ServiceReadiness::Tcp { port }, true) => tcp_probe(container.ip, *port).await,
            };
            let last_error = match probe {
                Ok(()) => break,
                Err(e) => e,
            };
            if !running || started.elapsed() >= timeout {
                return Err(ClusterError::NotReady {
                    node: format!("{} (service {})", container.name, container.service),
                    waited: started.elapsed(),
                    reason: last_error,
                    log_tail: log_tail(docker, &container.container, LOG_TAIL_LINES).await,
                });
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        tracing::info!(service = %container.name, "service ready");
    }
    Ok(())
}

async fn tcp_probe(ip: Ipv4Addr, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((ip, port));
    match tokio::time::timeout(TCP_PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{addr}: {e}")),
        Err(_) => Err(format!(
            "{addr}: no connection within {TCP_PROBE_TIMEOUT:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            image: Some("i".into()),
            binary: None,
            command: Vec::new(),
            env: BTreeMap::new(),
            count: 1,
            data_dir: None,
            readiness: ServiceReadiness::Running,
        }
    }

    // Goal: bad services are named errors; good ones give one spec per container,
    // numbered within the service and addressed in order (method: specs built in memory).
    #[test]
    fn services_are_checked_and_laid_out() {
        assert!(validate_services(&[service("storage"), service("meta")]).is_ok());
        let mut two = service("storage");
        two.count = 2;
        let specs = service_specs(&[two, service("meta")], |i| format!("10.0.1.{i}"));
        let names: Vec<_> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.host.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("storage-1", "10.0.1.0"),
                ("storage-2", "10.0.1.1"),
                ("meta-1", "10.0.1.2")
            ]
        );
        assert_eq!(specs[1].id, 2);
        let cases = [
            (vec![service("broker")], "broker"),
            (vec![service("Db")], "role name"),
            (vec![service("db"), service("db")], "two services"),
        ];
        for (services, says) in cases {
            let err = validate_services(&services).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
        let mut none = service("db");
        none.image = None;
        assert!(validate_services(&[none]).unwrap_err().contains("no image"));
        let mut many = service("db");
        many.count = 0;
        assert!(validate_services(&[many]).unwrap_err().contains("count"));
    }
}
