//! Creating and starting one broker container on the run network, with its fixed
//! address, labels, hostname and the profile's rendered command and environment. A node
//! that advertises a loopback address (a broker that names `127.0.0.1:9092` in Metadata
//! whatever it listens on) has its Kafka port published on the host at that address.
//!
//! Containers are made with bollard rather than testcontainers: testcontainers 0.28's
//! `ContainerRequest` cannot set an endpoint's IPAM address (static IPs are what keep
//! peers and grudges valid across kill/restart), and its `ContainerAsync` removes the
//! container from a `Drop` impl and cannot be shared with a Ctrl-C handler, which fights
//! the explicit, label-driven teardown and sweep this harness needs.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;

use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::image::image_exists;
use crate::cluster::labels::node_labels;
use crate::cluster::network::RunNetwork;
use crate::cluster::profile::{Advertised, NodeSpec, Profile};
use crate::cluster::service::ServiceContainer;

/// One running node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Broker id, 1-based.
    pub id: i32,
    /// Name in grudges, events and reports (`n1`).
    pub name: String,
    /// Docker container name (`samsa-<run>-n1`).
    pub container: String,
    /// Its fixed address on the run network.
    pub ip: Ipv4Addr,
    /// What it advertises in Metadata, and so where clients reach it.
    pub advertised: Advertised,
}

impl ClusterNode {
    /// Where Kafka clients connect to this node: the address it advertises (its own
    /// address, or the loopback address its port is published at).
    pub fn client_addr(&self) -> SocketAddrV4 {
        self.advertised.addr()
    }
}

/// The node specs of an `n`-node cluster on `network`.
pub fn node_specs(network: &RunNetwork, n: usize) -> Vec<NodeSpec> {
    (0..n)
        .map(|index| NodeSpec::broker(index as i32 + 1, network.node_ip(index).to_string()))
        .collect()
}

/// Create and start the broker container of `spec`.
pub async fn start_node(
    docker: &Docker,
    run_id: &str,
    network: &RunNetwork,
    profile: &Profile,
    extra_env: &BTreeMap<String, String>,
    spec: &NodeSpec,
    all: &[NodeSpec],
) -> Result<ClusterNode, ClusterError> {
    let image = profile.image.clone().ok_or_else(|| ClusterError::Profile {
        source_name: profile.name.clone(),
        detail: "no image given".into(),
    })?;
    let bad_profile = |detail: String| ClusterError::Profile {
        source_name: profile.name.clone(),
        detail,
    };
    let mut env = profile.render_env(spec, all).map_err(bad_profile)?;
    env.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
    let command = profile.render_command(spec, all).map_err(bad_profile)?;
    let advertised = profile.render_advertised(spec, all).map_err(bad_profile)?;
    let plan = ContainerPlan {
        spec,
        image,
        env,
        command,
        data_dir: Some(&profile.data_dir),
        published: match advertised {
            Advertised::Loopback(addr) => Some((profile.kafka_port, addr)),
            Advertised::NodeAddress(_) => None,
        },
    };
    let (container, ip) = create_and_start(docker, run_id, network, &plan).await?;
    Ok(ClusterNode {
        id: spec.id,
        name: spec.name.clone(),
        container,
        ip,
        advertised,
    })
}

/// Create and start the container of the service container `spec` (see
/// [`crate::cluster::service`]), running `image`.
pub async fn start_service(
    docker: &Docker,
    run_id: &str,
    network: &RunNetwork,
    profile: &Profile,
    spec: &NodeSpec,
    all: &[NodeSpec],
    image: String,
) -> Result<ServiceContainer, ClusterError> {
    let service = spec.service.clone().unwrap_or_default();
    let data_dir = profile
        .services
        .iter()
        .find(|s| s.name == service)
        .and_then(|s| s.data_dir.clone());
    let (env, command) =
        profile
            .render_service(spec, all)
            .map_err(|detail| ClusterError::Profile {
                source_name: profile.name.clone(),
                detail,
            })?;
    let plan = ContainerPlan {
        spec,
        image,
        env,
        command,
        data_dir: data_dir.as_deref(),
        published: None,
    };
    let (container, ip) = create_and_start(docker, run_id, network, &plan).await?;
    Ok(ServiceContainer {
        service,
        name: spec.name.clone(),
        container,
        ip,
    })
}

/// Everything one container of the run is made from.
struct ContainerPlan<'a> {
    spec: &'a NodeSpec,
    image: String,
    env: Vec<String>,
    command: Vec<String>,
    /// Kept across kill and restart (an anonymous volume).
    data_dir: Option<&'a str>,
    /// The container port to publish at a host loopback address.
    published: Option<(u16, SocketAddrV4)>,
}

/// Create and start one container at its fixed address on the run network, labelled
/// with the run and its name; returns the container name and address.
async fn create_and_start(
    docker: &Docker,
    run_id: &str,
    network: &RunNetwork,
    plan: &ContainerPlan<'_>,
) -> Result<(String, Ipv4Addr), ClusterError> {
    let spec = plan.spec;
    if !image_exists(docker, &plan.image).await? {
        return Err(ClusterError::ImageMissing(plan.image.clone()));
    }
    let ip: Ipv4Addr = spec.host.parse().map_err(|_| ClusterError::Profile {
        source_name: spec.name.clone(),
        detail: format!("node address {:?} is not IPv4", spec.host),
    })?;
    let container = format!("samsa-{run_id}-{}", spec.name);
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(spec.host.clone()),
            ..Default::default()
        }),
        aliases: Some(vec![spec.name.clone()]),
        ..Default::default()
    };
    // The data directory is an anonymous volume: it survives kill and restart of the
    // container like its own layer would, but lives on the host's file system rather
    // than the storage driver's (on this machine fuse-overlayfs, whose every write is a
    // round trip through a FUSE daemon). Removed with the container (`v`).
    let mounts = plan.data_dir.map(|dir| {
        vec![Mount {
            target: Some(dir.to_string()),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        }]
    });
    let body = ContainerCreateBody {
        image: Some(plan.image.clone()),
        cmd: (!plan.command.is_empty()).then(|| plan.command.clone()),
        env: Some(plan.env.clone()),
        labels: Some(node_labels(run_id, &spec.name)),
        hostname: Some(spec.name.clone()),
        // A port binding takes effect only for an exposed port.
        exposed_ports: plan.published.map(|(port, _)| vec![format!("{port}/tcp")]),
        host_config: Some(HostConfig {
            network_mode: Some(network.name.clone()),
            mounts,
            port_bindings: plan
                .published
                .map(|(port, addr)| loopback_binding(port, addr)),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.name.clone(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&container)
        .build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| docker_error("create", &container, e))?;
    docker
        .start_container(&container, None)
        .await
        .map_err(|e| docker_error("start", &container, e))?;
    Ok((container, ip))
}

/// The host port binding that makes a loopback-advertising node reachable: its Kafka
/// port published at exactly the advertised loopback address and port (never on all
/// interfaces).
fn loopback_binding(
    kafka_port: u16,
    addr: SocketAddrV4,
) -> HashMap<String, Option<Vec<PortBinding>>> {
    let binding = PortBinding {
        host_ip: Some(addr.ip().to_string()),
        host_port: Some(addr.port().to_string()),
    };
    HashMap::from([(format!("{kafka_port}/tcp"), Some(vec![binding]))])
}

/// The address Docker reports for `container` on `network` (read back, never assumed).
pub async fn address_on(
    docker: &Docker,
    container: &str,
    network: &str,
) -> Result<Option<Ipv4Addr>, ClusterError> {
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| docker_error("inspect", container, e))?;
    Ok(inspect
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut nets| nets.remove(network))
        .and_then(|endpoint| endpoint.ip_address)
        .and_then(|ip| ip.parse().ok()))
}
