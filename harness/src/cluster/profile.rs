//! Broker profiles: how to run one Kafka-compatible broker image as a cluster node. The
//! built-in profile runs broker-under-test; a TOML file describes any other image (see
//! `harness/profiles/apache-kafka.toml`): image, command and environment templates, data
//! directory, readiness check, optional admin endpoint and the address each node
//! advertises. Templates are data, so testing a new broker needs a file, not code.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::error::ClusterError;
use crate::cluster::service::ServiceSpec;
use crate::cluster::template::{render, vars_of, TemplateVars};

/// How the harness decides a node is ready to serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Readiness {
    /// HTTP 200 from this path on the admin endpoint.
    AdminHttp {
        /// The path, e.g. `/health`.
        path: String,
    },
    /// The Kafka port answers ApiVersions and Metadata (any Kafka-compatible broker).
    KafkaPort,
}

/// An HTTP admin endpoint reporting partition state (leader, epoch, ISR, HW, LEO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminEndpoint {
    /// The port inside the container.
    pub port: u16,
    /// The path returning partition state as JSON.
    #[serde(default = "default_partitions_path")]
    pub partitions_path: String,
}

fn default_partitions_path() -> String {
    "/partitions".into()
}

fn default_kafka_port() -> u16 {
    9092
}

fn default_separator() -> String {
    ",".into()
}

/// One broker profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A short name for reports.
    pub name: String,
    /// The image to run; the built-in profile leaves it empty and takes the built tag.
    #[serde(default)]
    pub image: Option<String>,
    /// Instead of `image`: a broker binary (ELF; a relative path is relative to the
    /// profile file) from which a `FROM scratch` image is built on first use, cached by
    /// its hash, with the binary as entrypoint and `command` as its arguments.
    #[serde(default)]
    pub binary: Option<PathBuf>,
    /// Command (arguments after the image's entrypoint), each a template.
    #[serde(default)]
    pub command: Vec<String>,
    /// Environment variables, values are templates.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The broker's data directory inside the container (kept across kill/restart).
    pub data_dir: String,
    /// The Kafka listener port inside the container.
    #[serde(default = "default_kafka_port")]
    pub kafka_port: u16,
    /// How one peer is written in `{peers}`; placeholders `{id}`, `{name}`, `{host}`,
    /// `{kafka_port}`. E.g. KRaft voters: `{id}@{host}:9093`.
    pub peer_format: String,
    /// Separator between peers in `{peers}`.
    #[serde(default = "default_separator")]
    pub peer_separator: String,
    /// Readiness check.
    pub readiness: Readiness,
    /// Admin endpoint, if the broker has one.
    #[serde(default)]
    pub admin: Option<AdminEndpoint>,
    /// The `host:port` each node advertises in its Metadata answer (Kafka's
    /// `advertised.listeners`), a template; by default `{advertised_host}:{kafka_port}`,
    /// the node's own address. For a broker that advertises a fixed loopback address
    /// whatever it listens on, give that address: the harness then publishes the node's
    /// Kafka port on the host at it, so clients outside the container that follow the
    /// Metadata answer reach the node (see [`Advertised`]).
    #[serde(default)]
    pub advertised: Option<String>,
    /// Services beside the brokers (a storage or coordination service a broker built on
    /// shared storage needs), each a role faults can aim at: `[[services]]` tables.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
}

/// Where one node's Kafka listener is reached, by what the broker advertises.
///
/// Kafka clients bootstrap from any address, then connect to the addresses the brokers
/// advertise in Metadata. Inside Docker those must be reachable from the harness: either
/// the node's own address on the run network, or a loopback address of the host at which
/// the node's port is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advertised {
    /// The node advertises its own address on the run network.
    NodeAddress(SocketAddrV4),
    /// The node advertises this loopback address; its Kafka port is published there.
    Loopback(SocketAddrV4),
}

impl Advertised {
    /// The advertised address itself: what Metadata names and clients connect to.
    pub fn addr(&self) -> SocketAddrV4 {
        match self {
            Self::NodeAddress(a) | Self::Loopback(a) => *a,
        }
    }
}

/// Where a profile's `binary` is: a bare name (`rivine-broker`) is looked up on `PATH`,
/// as a shell would (the place `cargo install` puts a broker); a relative path is
/// relative to the profile file; an absolute path is taken as it is.
fn resolve_binary(binary: &Path, profile_dir: &Path) -> Result<PathBuf, String> {
    if binary.components().count() == 1 && binary.is_relative() {
        return which::which(binary).map_err(|e| {
            format!(
                "binary {:?} is not on PATH ({e}); give a path, or install it",
                binary.display().to_string()
            )
        });
    }
    Ok(if binary.is_relative() {
        profile_dir.join(binary)
    } else {
        binary.to_path_buf()
    })
}

/// A node as templates see it: a broker, or a container of one of the profile's services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Broker id (Kafka `node.id` / `broker.id`), 1-based; for a service container its
    /// 1-based index within its service.
    pub id: i32,
    /// Name in grudges and reports (`n1`; `storage-1` for a service container).
    pub name: String,
    /// Address other nodes and clients use.
    pub host: String,
    /// The service it belongs to; `None` for a broker.
    pub service: Option<String>,
}

impl NodeSpec {
    /// A broker's spec.
    pub fn broker(id: i32, host: String) -> Self {
        Self {
            id,
            name: format!("n{id}"),
            host,
            service: None,
        }
    }
}

impl Profile {
    /// The built-in profile for broker-under-test (image built by
    /// [`crate::cluster::image::build_broker_image`]).
    pub fn broker_under_test(image: &str) -> Profile {
        let env = [
            ("BROKER_NODE_ID", "{node_id}"),
            ("BROKER_ADVERTISED_HOST", "{advertised_host}"),
            ("BROKER_ADVERTISED_PORT", "{kafka_port}"),
            ("BROKER_DATA_DIR", "{data_dir}"),
            ("BROKER_PEERS", "{peers}"),
            // Followers cut off longer than this leave the ISR during a fault window.
            ("BROKER_REPLICA_LAG_TIME_MAX_MS", "2000"),
            ("RUST_LOG", "info"),
        ];
        Profile {
            name: "broker-under-test".into(),
            image: Some(image.to_string()),
            binary: None,
            command: Vec::new(),
            env: env
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            data_dir: "/data".into(),
            kafka_port: 9092,
            // The controller quorum listens on 9093 (`--controller-listen`'s default).
            peer_format: "{id}@{host}:9093".into(),
            peer_separator: ",".into(),
            readiness: Readiness::AdminHttp {
                path: "/health".into(),
            },
            admin: Some(AdminEndpoint {
                port: 8080,
                partitions_path: "/partitions".into(),
            }),
            advertised: None,
            services: Vec::new(),
        }
    }

    /// Parse and validate a profile from TOML text; `source_name` names it in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Profile, ClusterError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ClusterError::Profile {
            source_name: source_name.to_string(),
            detail: e.to_string(),
        })?;
        profile.validate(source_name)?;
        Ok(profile)
    }

    /// Read a profile file.
    pub fn load(path: &Path) -> Result<Profile, ClusterError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| crate::cluster::error::io_error(path, e))?;
        let mut profile = Self::from_toml(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let bad = |detail: String| ClusterError::Profile {
            source_name: path.display().to_string(),
            detail,
        };
        if let Some(binary) = profile.binary.take() {
            profile.binary = Some(resolve_binary(&binary, base).map_err(bad)?);
        }
        for service in &mut profile.services {
            if let Some(binary) = service.binary.take() {
                let resolved = resolve_binary(&binary, base)
                    .map_err(|e| bad(format!("service {}: {e}", service.name)))?;
                service.binary = Some(resolved);
            }
        }
        Ok(profile)
    }

    /// Check the profile renders for a sample cluster and is self-consistent.
    pub fn validate(&self, source_name: &str) -> Result<(), ClusterError> {
        let bad = |detail: String| ClusterError::Profile {
            source_name: source_name.to_string(),
            detail,
        };
        if matches!(self.readiness, Readiness::AdminHttp { .. }) && self.admin.is_none() {
            return Err(bad(
                "readiness kind admin-http needs an [admin] section".into()
            ));
        }
        if self.data_dir.is_empty() || !self.data_dir.starts_with('/') {
            return Err(bad(format!(
                "data_dir {:?} must be an absolute path",
                self.data_dir
            )));
        }
        let mut sample: Vec<NodeSpec> = (1..=3)
            .map(|id| NodeSpec::broker(id, format!("10.0.0.{id}")))
            .collect();
        crate::cluster::service::validate_services(&self.services).map_err(&bad)?;
        sample.extend(crate::cluster::service::service_specs(
            &self.services,
            |i| format!("10.0.1.{}", i + 1),
        ));
        self.render_env(&sample[0], &sample).map_err(&bad)?;
        self.render_command(&sample[0], &sample).map_err(&bad)?;
        self.render_advertised(&sample[0], &sample).map_err(&bad)?;
        for node in sample.iter().filter(|n| n.service.is_some()) {
            self.render_service(node, &sample).map_err(&bad)?;
        }
        match (&self.image, &self.binary) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "give either image or binary, not both (binary builds the image)".into(),
                ))
            }
            (None, None) => {
                return Err(bad(
                    "no image: give image = \"...\" or binary = \"...\"".into()
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// The variables of `node`'s templates in the cluster `all` (brokers and service
    /// containers): its identity, the brokers as `{peers}`, and every service's
    /// addresses as `{service:NAME}` (comma separated).
    fn vars(&self, node: &NodeSpec, all: &[NodeSpec]) -> Result<TemplateVars, String> {
        let brokers: Vec<&NodeSpec> = all.iter().filter(|n| n.service.is_none()).collect();
        let mut peers = Vec::with_capacity(brokers.len());
        for peer in &brokers {
            let peer_vars = vars_of([
                ("id", peer.id.to_string()),
                ("name", peer.name.clone()),
                ("host", peer.host.clone()),
                ("kafka_port", self.kafka_port.to_string()),
            ]);
            peers.push(
                render(&self.peer_format, &peer_vars).map_err(|e| format!("peer_format: {e}"))?,
            );
        }
        let (data_dir, count) = match &node.service {
            None => (self.data_dir.clone(), brokers.len()),
            Some(name) => {
                let service = self.services.iter().find(|s| &s.name == name);
                let data_dir = service.and_then(|s| s.data_dir.clone()).unwrap_or_default();
                let count = all
                    .iter()
                    .filter(|n| n.service.as_ref() == Some(name))
                    .count();
                (data_dir, count)
            }
        };
        let mut vars = vars_of([
            ("node_id", node.id.to_string()),
            ("node_name", node.name.clone()),
            ("advertised_host", node.host.clone()),
            ("kafka_port", self.kafka_port.to_string()),
            ("data_dir", data_dir),
            ("node_count", count.to_string()),
            ("peers", peers.join(&self.peer_separator)),
        ]);
        for service in &self.services {
            let hosts: Vec<&str> = all
                .iter()
                .filter(|n| n.service.as_deref() == Some(service.name.as_str()))
                .map(|n| n.host.as_str())
                .collect();
            vars.insert(format!("service:{}", service.name), hosts.join(","));
        }
        Ok(vars)
    }

    /// The environment (`KEY=value`) and command of a service container `node` (see
    /// [`ServiceSpec`]), rendered with the same variables as a broker's.
    pub fn render_service(
        &self,
        node: &NodeSpec,
        all: &[NodeSpec],
    ) -> Result<(Vec<String>, Vec<String>), String> {
        let name = node.service.as_deref().ok_or("not a service container")?;
        let service = self
            .services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no service {name:?}"))?;
        let vars = self.vars(node, all)?;
        let env = service
            .env
            .iter()
            .map(|(key, template)| {
                render(template, &vars)
                    .map(|value| format!("{key}={value}"))
                    .map_err(|e| format!("service {name}: env {key}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let command = service
            .command
            .iter()
            .map(|t| render(t, &vars).map_err(|e| format!("service {name}: command: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((env, command))
    }

    /// The container environment (`KEY=value`) for `node` in a cluster of `all`.
    pub fn render_env(&self, node: &NodeSpec, all: &[NodeSpec]) -> Result<Vec<String>, String> {
        let vars = self.vars(node, all)?;
        self.env
            .iter()
            .map(|(key, template)| {
                render(template, &vars)
                    .map(|value| format!("{key}={value}"))
                    .map_err(|e| format!("env {key}: {e}"))
            })
            .collect()
    }

    /// What `node` advertises (see [`Profile::advertised`]): its own address, or a
    /// loopback address to publish its port at. Any other address could not be reached
    /// from the harness and is an error naming it.
    pub fn render_advertised(
        &self,
        node: &NodeSpec,
        all: &[NodeSpec],
    ) -> Result<Advertised, String> {
        let template = self
            .advertised
            .as_deref()
            .unwrap_or("{advertised_host}:{kafka_port}");
        let text =
            render(template, &self.vars(node, all)?).map_err(|e| format!("advertised: {e}"))?;
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("advertised {text:?} is not host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("advertised {text:?}: port {port:?} is not a number"))?;
        let ip: Ipv4Addr = match host {
            "localhost" => Ipv4Addr::LOCALHOST,
            other => other.parse().map_err(|_| {
                format!("advertised {text:?}: host {other:?} is not an IPv4 address or localhost")
            })?,
        };
        let addr = SocketAddrV4::new(ip, port);
        if ip.is_loopback() {
            return Ok(Advertised::Loopback(addr));
        }
        if host == node.host && port == self.kafka_port {
            return Ok(Advertised::NodeAddress(addr));
        }
        Err(format!(
            "advertised {text:?} is neither the node's address ({}:{}) nor a loopback address: \
             clients outside the container could not reach it",
            node.host, self.kafka_port
        ))
    }

    /// The container command for `node`.
    pub fn render_command(&self, node: &NodeSpec, all: &[NodeSpec]) -> Result<Vec<String>, String> {
        let vars = self.vars(node, all)?;
        self.command
            .iter()
            .map(|template| render(template, &vars).map_err(|e| format!("command: {e}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Vec<NodeSpec> {
        (1..=3)
            .map(|id| NodeSpec::broker(id, format!("10.9.0.{}", 10 + id)))
            .collect()
    }

    // The shipped apache/kafka profile parses and renders KRaft voters for every node.
    #[test]
    fn apache_kafka_profile_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/apache-kafka.toml");
        let profile = Profile::load(&path).unwrap();
        assert_eq!(profile.readiness, Readiness::KafkaPort);
        let env = profile.render_env(&cluster()[1], &cluster()).unwrap();
        assert!(env.contains(&"KAFKA_NODE_ID=2".to_string()), "{env:?}");
        assert!(env.contains(
            &"KAFKA_CONTROLLER_QUORUM_VOTERS=1@10.9.0.11:9093,2@10.9.0.12:9093,3@10.9.0.13:9093"
                .to_string()
        ));
        assert!(env.contains(&"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://10.9.0.12:9092".to_string()));
    }

    // Goal: the shipped rivine profile parses, finds its binary by name on PATH, and
    // advertises the fixed loopback address rivine 0.2.0 names in Metadata (method: a
    // stand-in executable on a PATH of our own).
    #[test]
    fn rivine_profile_parses() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/rivine.toml"),
        )
        .unwrap();
        let profile = Profile::from_toml(&text, "rivine.toml").unwrap();
        assert_eq!(profile.binary, Some(PathBuf::from("rivine-broker")));
        let nodes = cluster();
        let advertised = profile.render_advertised(&nodes[0], &nodes).unwrap();
        assert_eq!(
            advertised,
            Advertised::Loopback("127.0.0.1:9092".parse().unwrap())
        );
        let env = profile.render_env(&nodes[0], &nodes).unwrap();
        assert!(env.contains(&"RIVINE_HOST=0.0.0.0".to_string()), "{env:?}");
    }

    // Goal: the default advertised address is the node's own; a loopback one is to be
    // published; anything else (unreachable from the harness) is a named error.
    #[test]
    fn advertised_addresses_are_classified() {
        let nodes = cluster();
        let mut profile = Profile::broker_under_test("i");
        assert_eq!(
            profile.render_advertised(&nodes[1], &nodes).unwrap(),
            Advertised::NodeAddress("10.9.0.12:9092".parse().unwrap())
        );
        profile.advertised = Some("localhost:{kafka_port}".into());
        assert_eq!(
            profile.render_advertised(&nodes[1], &nodes).unwrap(),
            Advertised::Loopback("127.0.0.1:9092".parse().unwrap())
        );
        profile.advertised = Some("127.0.0.{node_id}:19092".into());
        assert_eq!(
            profile.render_advertised(&nodes[2], &nodes).unwrap(),
            Advertised::Loopback("127.0.0.3:19092".parse().unwrap())
        );
        for (bad, says) in [
            ("{node_name}:9092", "not an IPv4 address"),
            ("10.1.1.1:9092", "neither the node's address"),
            ("{advertised_host}", "not host:port"),
            ("{advertised_host}:x", "not a number"),
            ("{nodeid}:1", "nodeid"),
        ] {
            profile.advertised = Some(bad.into());
            let err = profile.render_advertised(&nodes[0], &nodes).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    // Goal: the shipped Redpanda profile parses and gives each node its id, its
    // advertised Kafka address and every node as a seed (method: render for 3 nodes).
    #[test]
    fn redpanda_profile_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/redpanda.toml");
        let profile = Profile::load(&path).unwrap();
        let nodes = cluster();
        let command = profile.render_command(&nodes[2], &nodes).unwrap().join(" ");
        assert!(command.contains("--node-id 3"), "{command}");
        assert!(
            command.contains("--advertise-kafka-addr PLAINTEXT://10.9.0.13:9092"),
            "{command}"
        );
        assert!(
            command.contains("--seeds 10.9.0.11:33145,10.9.0.12:33145,10.9.0.13:33145"),
            "{command}"
        );
        assert_eq!(
            profile.render_advertised(&nodes[2], &nodes).unwrap(),
            Advertised::NodeAddress("10.9.0.13:9092".parse().unwrap())
        );
    }

    // Goal: a profile's services parse as roles; brokers and services reach them through
    // `{service:NAME}`, `{peers}` stays the brokers; an unknown service placeholder or a
    // bad service is a named error (method: a profile with a two-container service).
    #[test]
    fn services_render_and_are_named_in_templates() {
        let text = r#"
name = "shared-storage"
image = "broker"
data_dir = "/d"
peer_format = "{id}@{host}"
[env]
STORAGE = "{service:storage}"
PEERS = "{peers}"
[readiness]
kind = "kafka-port"
[[services]]
name = "storage"
image = "minio"
count = 2
data_dir = "/s"
command = ["serve", "{data_dir}", "--me", "{node_name}", "--of", "{node_count}"]
[services.env]
PEER_BROKERS = "{peers}"
[services.readiness]
kind = "tcp"
port = 9000
"#;
        let profile = Profile::from_toml(text, "p.toml").unwrap();
        let mut all = cluster();
        all.extend(crate::cluster::service::service_specs(
            &profile.services,
            |i| format!("10.9.0.{}", 20 + i),
        ));
        let env = profile.render_env(&all[0], &all).unwrap();
        assert!(
            env.contains(&"STORAGE=10.9.0.20,10.9.0.21".to_string()),
            "{env:?}"
        );
        assert!(env.contains(&"PEERS=1@10.9.0.11,2@10.9.0.12,3@10.9.0.13".to_string()));
        let (env, command) = profile.render_service(&all[4], &all).unwrap();
        assert_eq!(command, ["serve", "/s", "--me", "storage-2", "--of", "2"]);
        assert!(env.contains(&"PEER_BROKERS=1@10.9.0.11,2@10.9.0.12,3@10.9.0.13".to_string()));
        let typo = text.replace("{service:storage}", "{service:store}");
        let err = Profile::from_toml(&typo, "p.toml").unwrap_err().to_string();
        assert!(
            err.contains("service:store") && err.contains("service:storage"),
            "{err}"
        );
        let unknown_key = text.replace("count = 2", "count = 2\nreplicas = 2");
        assert!(Profile::from_toml(&unknown_key, "p.toml").is_err());
        let broker = text.replace("name = \"storage\"", "name = \"broker\"");
        let err = Profile::from_toml(&broker, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("broker"), "{err}");
    }

    // The built-in profile gives broker-under-test its identity and peers.
    #[test]
    fn built_in_profile_renders() {
        let profile = Profile::broker_under_test("samsa/broker-under-test:abc");
        profile.validate("built-in").unwrap();
        let env = profile.render_env(&cluster()[0], &cluster()).unwrap();
        assert!(env.contains(&"BROKER_NODE_ID=1".to_string()));
        assert!(env.contains(&"BROKER_ADVERTISED_HOST=10.9.0.11".to_string()));
        assert!(env.contains(
            &"BROKER_PEERS=1@10.9.0.11:9093,2@10.9.0.12:9093,3@10.9.0.13:9093".to_string()
        ));
    }

    // Malformed files and unknown placeholders are errors that name the problem.
    #[test]
    fn bad_profiles_are_named_errors() {
        let missing_admin = "name='x'\ndata_dir='/d'\npeer_format='{id}'\n[readiness]\nkind='admin-http'\npath='/h'\n";
        let err = Profile::from_toml(missing_admin, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[admin]"), "{err}");
        let unknown = "name='x'\ndata_dir='/d'\npeer_format='{id}'\n[env]\nA='{nodeid}'\n[readiness]\nkind='kafka-port'\n";
        let err = Profile::from_toml(unknown, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nodeid"), "{err}");
        let typo = "name='x'\ndata_dir='/d'\npeer_format='{id}'\nimgae='y'\n[readiness]\nkind='kafka-port'\n";
        assert!(Profile::from_toml(typo, "x.toml").is_err());
    }

    // Goal: `binary` replaces `image` (relative to the profile file), and giving both or
    // neither is a named error (method: profiles written to a temp dir).
    #[test]
    fn binary_profiles_resolve_and_exclude_image() {
        let body = "name='x'\ndata_dir='/d'\npeer_format='{id}'\n[readiness]\nkind='kafka-port'\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, format!("binary='bin/kafkad'\n{body}")).unwrap();
        let bare = dir.path().join("bare.toml");
        std::fs::write(&bare, format!("binary='samsa-no-such-broker'\n{body}")).unwrap();
        let err = Profile::load(&bare).unwrap_err().to_string();
        assert!(
            err.contains("not on PATH") && err.contains("samsa-no-such-broker"),
            "{err}"
        );
        let profile = Profile::load(&path).unwrap();
        assert_eq!(profile.binary, Some(dir.path().join("bin/kafkad")));
        assert_eq!(profile.image, None);
        let both = format!("image='i'\nbinary='/b'\n{body}");
        let err = Profile::from_toml(&both, "x.toml").unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
        let err = Profile::from_toml(body, "x.toml").unwrap_err().to_string();
        assert!(err.contains("no image"), "{err}");
    }
}
