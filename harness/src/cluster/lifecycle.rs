//! The cluster of one run: network, nodes, readiness, topic, state sampling, logs and
//! teardown, in one value the harness drives through the phases of a test. Addresses
//! are read back from Docker after the start, and all traffic goes to them only.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::admin::admin_client;
use crate::cluster::error::ClusterError;
use crate::cluster::image::build_image_from_binary;
use crate::cluster::logs::{write_log, write_run_logs};
use crate::cluster::network::{create_network, RunNetwork};
use crate::cluster::node::{address_on, node_specs, start_node, start_service, ClusterNode};
use crate::cluster::profile::{NodeSpec, Profile};
use crate::cluster::readiness::{stopped_error, wait_ready};
use crate::cluster::sample::sample_nodes;
use crate::cluster::service::{service_specs, wait_services_ready, ServiceContainer};
use crate::cluster::state::{self, NodeSample, PartitionLeader};
use crate::cluster::sweep::{teardown_run, SweepReport};
use crate::cluster::topic::{create_topic, TopicCreated, TopicSpec};
use bollard::Docker;
use nemesis::{Nemesis, NodeHandle, RoleName};

/// Largest supported cluster.
pub const NODES_MAX: usize = 9;

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The run id: labels, container and network names (letters, digits, `-`, `_`).
    pub run_id: String,
    /// How many nodes (default 3; 5 supported, up to [`NODES_MAX`]).
    pub node_count: usize,
    /// How to run a node (the image is `profile.image`).
    pub profile: Profile,
    /// Extra environment for every node (e.g. `BROKER_FLUSH_POLICY`), not templated.
    pub extra_env: BTreeMap<String, String>,
    /// Bound on waiting for all nodes to be ready.
    pub ready_timeout: Duration,
    /// Where a failed start writes its containers' logs before removing them (none: the
    /// error's log tail is all that is kept).
    pub failure_logs: Option<PathBuf>,
}

impl ClusterConfig {
    /// A config with 3 nodes, no extra env and a 60 s readiness bound.
    pub fn new(run_id: &str, profile: Profile) -> Self {
        Self {
            run_id: run_id.to_string(),
            node_count: 3,
            profile,
            extra_env: BTreeMap::new(),
            ready_timeout: Duration::from_secs(60),
            failure_logs: None,
        }
    }
}

/// A started cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    docker: Docker,
    run_id: String,
    network: RunNetwork,
    nodes: Vec<ClusterNode>,
    services: Vec<ServiceContainer>,
    profile: Profile,
    http: reqwest::Client,
}

impl Cluster {
    /// Create the network and nodes and wait until every node is ready. On any failure
    /// everything already created for this run is removed before the error is returned.
    /// A profile with `binary` instead of `image` gets its image built (or found
    /// cached) first.
    pub async fn start(docker: &Docker, config: &ClusterConfig) -> Result<Cluster, ClusterError> {
        validate(config)?;
        let mut config = config.clone();
        if let (None, Some(binary)) = (&config.profile.image, config.profile.binary.take()) {
            let tag = build_image_from_binary(docker, &binary, &[], None).await?;
            tracing::info!(%tag, binary = %binary.display(), "profile image built from its binary");
            config.profile.image = Some(tag);
        }
        for service in &mut config.profile.services {
            if let (None, Some(binary)) = (&service.image, service.binary.take()) {
                let tag = build_image_from_binary(docker, &binary, &[], None).await?;
                tracing::info!(%tag, service = %service.name, "service image built from its binary");
                service.image = Some(tag);
            }
        }
        let config = &config;
        match Self::start_inner(docker, config).await {
            Ok(cluster) => Ok(cluster),
            Err(error) => {
                if let Some(dir) = &config.failure_logs {
                    if let Err(e) = write_run_logs(docker, &config.run_id, dir).await {
                        tracing::warn!(%e, "logs of the failed start not kept");
                    }
                }
                if let Err(cleanup) = teardown_run(docker, &config.run_id).await {
                    tracing::error!(%cleanup, "cleanup after a failed start failed too");
                }
                Err(error)
            }
        }
    }

    async fn start_inner(docker: &Docker, config: &ClusterConfig) -> Result<Cluster, ClusterError> {
        let network = create_network(docker, &config.run_id).await?;
        let brokers = node_specs(&network, config.node_count);
        distinct_advertised(&config.profile, &brokers)?;
        let service_specs = service_specs(&config.profile.services, |i| {
            network.node_ip(config.node_count + i).to_string()
        });
        let specs: Vec<NodeSpec> = brokers.iter().chain(&service_specs).cloned().collect();
        let services = start_services(docker, config, &network, &service_specs, &specs).await?;
        let mut nodes = Vec::with_capacity(brokers.len());
        for spec in &brokers {
            let mut node = start_node(
                docker,
                &config.run_id,
                &network,
                &config.profile,
                &config.extra_env,
                spec,
                &specs,
            )
            .await?;
            // Read the address back from Docker. None means the container already
            // stopped (a broker that exits at start loses its endpoint at once).
            match address_on(docker, &node.container, &network.name).await? {
                Some(ip) => node.ip = ip,
                None => return Err(stopped_error(docker, &node, Duration::ZERO).await),
            }
            nodes.push(node);
        }
        wait_ready(docker, &nodes, &config.profile, config.ready_timeout).await?;
        let http = admin_client().map_err(|detail| ClusterError::Profile {
            source_name: config.profile.name.clone(),
            detail,
        })?;
        Ok(Cluster {
            docker: docker.clone(),
            run_id: config.run_id.clone(),
            network,
            nodes,
            services,
            profile: config.profile.clone(),
            http,
        })
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The nodes, in id order.
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// The containers of the profile's services, in declaration order.
    pub fn services(&self) -> &[ServiceContainer] {
        &self.services
    }

    /// Each service role's container names (the brokers are the role `broker`).
    pub fn roles(&self) -> BTreeMap<RoleName, Vec<String>> {
        let mut roles: BTreeMap<RoleName, Vec<String>> = BTreeMap::new();
        for container in &self.services {
            match container.service.parse() {
                Ok(role) => roles.entry(role).or_default().push(container.name.clone()),
                Err(e) => tracing::warn!(%e, "service without a role name"),
            }
        }
        roles
    }

    /// The run network.
    pub fn network(&self) -> &RunNetwork {
        &self.network
    }

    /// The profile the nodes run with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// `bootstrap.servers` for Kafka clients: every node's advertised address (its
    /// `ip:port`, or the loopback address its port is published at).
    pub fn bootstrap_servers(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.client_addr().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The host's address on the run network: where client traffic comes from.
    pub fn clients_ip(&self) -> Ipv4Addr {
        self.network.gateway()
    }

    /// A nemesis over this cluster's containers: the brokers and every service's.
    pub fn nemesis(&self) -> Nemesis {
        let brokers = self.nodes.iter().map(|n| (&n.name, &n.container, n.ip));
        let services = self.services.iter().map(|s| (&s.name, &s.container, s.ip));
        let handles = brokers
            .chain(services)
            .map(|(name, container, ip)| NodeHandle {
                name: name.clone(),
                container: container.clone(),
                ip,
            })
            .collect();
        Nemesis::new(self.docker.clone(), handles, self.clients_ip())
    }

    /// Wait again until every node is ready (after faults healed).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        wait_ready(&self.docker, &self.nodes, &self.profile, timeout).await
    }

    /// Create the test topic (see [`create_topic`]; the brokers' Metadata, sampled
    /// through the protocol, says whether it exists after an unusable answer).
    pub async fn create_topic(
        &self,
        spec: &TopicSpec,
        timeout: Duration,
    ) -> Result<TopicCreated, ClusterError> {
        let listed = || async {
            let samples = self.sample_state().await;
            samples
                .iter()
                .filter_map(|s| s.state.as_ref())
                .map(|state| {
                    state
                        .partitions
                        .iter()
                        .filter(|p| p.topic == spec.name)
                        .count()
                })
                .max()
                .filter(|count| *count > 0)
                .map(|count| count as i32)
        };
        create_topic(&self.bootstrap_servers(), spec, timeout, listed).await
    }

    /// One sample per node through the Kafka protocol (Metadata, ListOffsets), with the
    /// admin endpoint's LEO and ISR added when the profile has one (see
    /// [`sample_nodes`]). Never fails: a down node gives an error sample.
    pub async fn sample_state(&self) -> Vec<NodeSample> {
        sample_nodes(
            &self.http,
            &self.nodes,
            self.profile.kafka_port,
            self.profile.admin.as_ref(),
        )
        .await
    }

    /// Every partition's leader by the leaders' own Metadata answers, sampled now (for
    /// leader-aimed faults; see [`state::partition_leaders`]).
    pub async fn partition_leaders(&self) -> Vec<PartitionLeader> {
        state::partition_leaders(&self.sample_state().await)
    }

    /// The nodes currently leading at least one partition, sampled now.
    pub async fn leaders(&self) -> Vec<String> {
        state::leaders(&self.sample_state().await)
    }

    /// Write every container's log (brokers and services) to `dir/<name>.log`; one
    /// whose log cannot be read is reported in the log and skipped.
    pub async fn collect_logs(&self, dir: &Path) -> Result<Vec<PathBuf>, ClusterError> {
        let mut written = Vec::new();
        let brokers = self.nodes.iter().map(|n| (&n.name, &n.container));
        let services = self.services.iter().map(|s| (&s.name, &s.container));
        for (name, container) in brokers.chain(services) {
            match write_log(&self.docker, container, name, dir).await {
                Ok(path) => written.push(path),
                Err(ClusterError::Io { path, source }) => {
                    return Err(ClusterError::Io { path, source })
                }
                Err(e) => tracing::warn!(node = %name, %e, "log not collected"),
            }
        }
        Ok(written)
    }

    /// Remove the cluster: iptables chains, containers, network. Idempotent.
    pub async fn teardown(&self) -> Result<SweepReport, ClusterError> {
        teardown_run(&self.docker, &self.run_id).await
    }
}

/// Start every service container and wait until all are ready, before any broker
/// starts (a broker on shared storage needs its storage at start).
async fn start_services(
    docker: &Docker,
    config: &ClusterConfig,
    network: &RunNetwork,
    service_specs: &[NodeSpec],
    all: &[NodeSpec],
) -> Result<Vec<ServiceContainer>, ClusterError> {
    let mut started = Vec::with_capacity(service_specs.len());
    for spec in service_specs {
        let image = config
            .profile
            .services
            .iter()
            .find(|s| Some(&s.name) == spec.service.as_ref())
            .and_then(|s| s.image.clone())
            .ok_or_else(|| ClusterError::Profile {
                source_name: config.profile.name.clone(),
                detail: format!("service container {} has no image", spec.name),
            })?;
        let container = start_service(
            docker,
            &config.run_id,
            network,
            &config.profile,
            spec,
            all,
            image,
        )
        .await?;
        started.push(container);
    }
    wait_services_ready(
        docker,
        &started,
        &config.profile.services,
        config.ready_timeout,
    )
    .await?;
    Ok(started)
}

/// Clients tell nodes apart by the address each advertises: two nodes advertising the
/// same one (a broker that always names `127.0.0.1:9092`) cannot form a cluster the
/// harness can drive, so the profile is refused for that node count, naming both.
fn distinct_advertised(profile: &Profile, specs: &[NodeSpec]) -> Result<(), ClusterError> {
    let mut seen: BTreeMap<std::net::SocketAddrV4, &str> = BTreeMap::new();
    for spec in specs {
        let advertised =
            profile
                .render_advertised(spec, specs)
                .map_err(|detail| ClusterError::Profile {
                    source_name: profile.name.clone(),
                    detail,
                })?;
        if let Some(first) = seen.insert(advertised.addr(), &spec.name) {
            return Err(ClusterError::Profile {
                source_name: profile.name.clone(),
                detail: format!(
                    "nodes {first} and {} both advertise {}: clients could not tell them \
                     apart, so this profile runs one node (--nodes 1)",
                    spec.name,
                    advertised.addr()
                ),
            });
        }
    }
    Ok(())
}

fn validate(config: &ClusterConfig) -> Result<(), ClusterError> {
    let bad = |detail: String| ClusterError::Profile {
        source_name: config.profile.name.clone(),
        detail,
    };
    if config.node_count == 0 || config.node_count > NODES_MAX {
        return Err(bad(format!(
            "node count {} out of range 1..={NODES_MAX}",
            config.node_count
        )));
    }
    let id_ok = !config.run_id.is_empty()
        && config.run_id.len() <= 48
        && config
            .run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        return Err(bad(format!(
            "run id {:?} must be 1-48 letters, digits, '-' or '_'",
            config.run_id
        )));
    }
    config.profile.validate(&config.profile.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: two nodes advertising one address (rivine's fixed 127.0.0.1:9092) are refused
    // naming both, while distinct loopback addresses and the nodes' own are accepted
    // (method: the built-in profile with three advertised templates, 2 nodes).
    #[test]
    fn nodes_must_advertise_distinct_addresses() {
        let nodes: Vec<NodeSpec> = (1..=2)
            .map(|id| NodeSpec::broker(id, format!("10.0.0.{id}")))
            .collect();
        let mut profile = Profile::broker_under_test("i");
        assert!(distinct_advertised(&profile, &nodes).is_ok());
        profile.advertised = Some("127.0.0.{node_id}:9092".into());
        assert!(distinct_advertised(&profile, &nodes).is_ok());
        profile.advertised = Some("127.0.0.1:9092".into());
        let err = distinct_advertised(&profile, &nodes)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("n1 and n2")
                && err.contains("127.0.0.1:9092")
                && err.contains("--nodes 1"),
            "{err}"
        );
        assert!(distinct_advertised(&profile, &nodes[..1]).is_ok());
    }

    // Bad node counts and run ids are rejected before Docker is touched.
    #[test]
    fn config_is_validated() {
        let profile = Profile::broker_under_test("samsa/broker-under-test:0");
        let mut config = ClusterConfig::new("run-1", profile);
        assert!(validate(&config).is_ok());
        config.node_count = 0;
        assert!(validate(&config).is_err());
        config.node_count = 5;
        config.run_id = "bad id!".into();
        assert!(validate(&config)
            .unwrap_err()
            .to_string()
            .contains("run id"));
    }
}
