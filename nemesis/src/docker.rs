//! Applying faults to a running cluster through Docker: partitions and packet loss via
//! [`crate::iptables`] in each container's namespace (the PID comes from `docker
//! inspect`), kill -9 and
//! restart (the container is kept, so its data directory survives, as after a power loss
//! of one Kafka broker), pause and resume (`docker pause` = cgroup freezer: the process
//! stops without noticing, like a long GC pause — the case behind Kafka's
//! `replica.lag.time.max.ms` and session timeouts).
//!
//! Docker calls go through bollard; the caller hands in a connected client (API version
//! negotiated), so this crate does not decide how to reach the daemon.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bollard::models::ContainerStateStatusEnum;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;

use crate::error::NemesisError;
use crate::event::{NemesisEvent, NemesisFunction, RollingRestart};
use crate::grudge::{Grudge, CLIENTS};
use crate::iptables;
use crate::schedule::{Fault, PacketLoss};

/// One broker node as the nemesis sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHandle {
    /// The node's name in grudges and events (`n1`, `n2`, ...).
    pub name: String,
    /// Docker container id or name.
    pub container: String,
    /// Its address on the run network (packets from it are what a grudge drops).
    pub ip: Ipv4Addr,
}

/// The fault applier for one cluster.
#[derive(Debug, Clone)]
pub struct Nemesis {
    docker: Docker,
    nodes: Vec<NodeHandle>,
    clients_ip: Ipv4Addr,
}

impl Nemesis {
    /// A nemesis over `nodes`; `clients_ip` is the host's address on the run network
    /// (the bridge gateway), which stands for [`CLIENTS`] in grudges.
    pub fn new(docker: Docker, nodes: Vec<NodeHandle>, clients_ip: Ipv4Addr) -> Self {
        Self {
            docker,
            nodes,
            clients_ip,
        }
    }

    /// Node names in a stable order (the order targets are drawn from).
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn node(&self, name: &str) -> Result<&NodeHandle, NemesisError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| NemesisError::UnknownNode(name.to_string()))
    }

    fn address_of(&self, name: &str) -> Result<Ipv4Addr, NemesisError> {
        if name == CLIENTS {
            Ok(self.clients_ip)
        } else {
            Ok(self.node(name)?.ip)
        }
    }

    /// The PID of a running (or paused) container's main process.
    pub async fn pid_of(&self, name: &str) -> Result<i64, NemesisError> {
        let node = self.node(name)?;
        let inspect = self
            .docker
            .inspect_container(&node.container, None)
            .await
            .map_err(|source| docker_error("inspect", &node.container, source))?;
        match inspect.state.and_then(|s| s.pid) {
            Some(pid) if pid > 0 => Ok(pid),
            _ => Err(NemesisError::NotRunning(node.container.clone())),
        }
    }

    /// Start a fault; the returned event goes into the history.
    pub async fn start_fault(&self, fault: &Fault) -> Result<NemesisEvent, NemesisError> {
        match fault {
            Fault::Partition(grudge) => self.partition(grudge).await,
            Fault::Kill(nodes) => self.kill(nodes).await,
            Fault::Pause(nodes) => self.pause(nodes).await,
            Fault::PacketLoss(loss) => self.packet_loss(loss).await,
            // The harness drives the roll (it waits for the ISR between nodes, which only
            // the cluster's sampler sees); this is its opening record.
            Fault::Restart(nodes) => Ok(NemesisEvent::restart(
                NemesisFunction::StartRestart,
                &RollingRestart::of(nodes),
            )),
        }
    }

    /// Stop a fault started by [`Nemesis::start_fault`].
    pub async fn stop_fault(&self, fault: &Fault) -> Result<NemesisEvent, NemesisError> {
        match fault {
            Fault::Partition(grudge) => self.heal_partition(grudge).await,
            Fault::Kill(nodes) => self.start(nodes).await,
            Fault::Pause(nodes) => self.resume(nodes).await,
            Fault::PacketLoss(loss) => self.heal_packet_loss(loss).await,
            // A roll heals itself node by node; a node it left stopped is started by
            // `heal_all`.
            Fault::Restart(nodes) => Ok(NemesisEvent::restart(
                NemesisFunction::StopRestart,
                &RollingRestart::of(nodes),
            )),
        }
    }

    /// Make every link of `loss.nodes` lose packets: in each such node's namespace, drop
    /// each packet from or to every other node and the clients with `loss.probability`.
    /// A node that is down has no namespace; the harness installs its rules again when it
    /// restarts it.
    pub async fn packet_loss(&self, loss: &PacketLoss) -> Result<NemesisEvent, NemesisError> {
        for name in &loss.nodes {
            let mut peers: Vec<Ipv4Addr> = self
                .nodes
                .iter()
                .filter(|n| n.name != *name)
                .map(|n| n.ip)
                .collect();
            peers.push(self.clients_ip);
            match self.pid_of(name).await {
                Ok(pid) => iptables::apply_loss(pid, &peers, loss.probability).await?,
                Err(NemesisError::NotRunning(container)) => {
                    tracing::warn!(%container, "not running, no packet-loss rules installed")
                }
                Err(other) => return Err(other),
            }
        }
        tracing::info!(nodes = ?loss.nodes, probability = %loss.probability, "packet loss started");
        Ok(NemesisEvent::packet_loss(
            NemesisFunction::StartPacketLoss,
            loss,
        ))
    }

    /// Remove every samsa packet-loss rule from every running node; `loss` is only
    /// echoed in the event.
    pub async fn heal_packet_loss(&self, loss: &PacketLoss) -> Result<NemesisEvent, NemesisError> {
        self.heal_loss_everywhere().await?;
        tracing::info!("packet loss healed");
        Ok(NemesisEvent::packet_loss(
            NemesisFunction::StopPacketLoss,
            loss,
        ))
    }

    /// Removes the packet-loss chain from every running node; the nodes that had one.
    async fn heal_loss_everywhere(&self) -> Result<Vec<String>, NemesisError> {
        let mut healed = Vec::new();
        for node in &self.nodes {
            match self.pid_of(&node.name).await {
                Ok(pid) => {
                    if iptables::heal_loss(pid).await? {
                        healed.push(node.name.clone());
                    }
                }
                Err(NemesisError::NotRunning(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(healed)
    }

    /// Install `grudge`: each node drops packets from the addresses of the nodes it holds
    /// a grudge against. Nodes not in the grudge keep no samsa rules.
    pub async fn partition(&self, grudge: &Grudge) -> Result<NemesisEvent, NemesisError> {
        for node in &self.nodes {
            let sources = grudge
                .dropped_by(&node.name)
                .map(|peer| self.address_of(peer))
                .collect::<Result<Vec<_>, _>>()?;
            match self.pid_of(&node.name).await {
                Ok(pid) => iptables::apply(pid, &sources).await?,
                // A node that is down (killed by an overlapping process fault, or
                // died on its own) has no namespace to hold rules; the other nodes'
                // rules still cut it, and the harness installs its own again when it
                // restarts it. This must not abort the run.
                Err(NemesisError::NotRunning(container)) => {
                    tracing::warn!(%container, "not running, no partition rules installed")
                }
                Err(other) => return Err(other),
            }
        }
        tracing::info!(?grudge, "partition started");
        Ok(NemesisEvent::partition(
            NemesisFunction::StartPartition,
            grudge,
        ))
    }

    /// Remove every samsa rule from every running node; `grudge` is only echoed in the
    /// event. Nodes that are not running have no namespace and hence no rules.
    pub async fn heal_partition(&self, grudge: &Grudge) -> Result<NemesisEvent, NemesisError> {
        for node in &self.nodes {
            match self.pid_of(&node.name).await {
                Ok(pid) => {
                    iptables::heal(pid).await?;
                }
                Err(NemesisError::NotRunning(_)) => {}
                Err(other) => return Err(other),
            }
        }
        tracing::info!("partition healed");
        Ok(NemesisEvent::partition(
            NemesisFunction::StopPartition,
            grudge,
        ))
    }

    /// SIGKILL the named nodes' containers (like `kill -9`; no shutdown hook runs).
    pub async fn kill(&self, names: &[String]) -> Result<NemesisEvent, NemesisError> {
        for name in names {
            let node = self.node(name)?;
            let options = KillContainerOptionsBuilder::default()
                .signal("SIGKILL")
                .build();
            self.docker
                .kill_container(&node.container, Some(options))
                .await
                .map_err(|source| docker_error("kill", &node.container, source))?;
        }
        tracing::info!(?names, "killed");
        Ok(NemesisEvent::nodes(NemesisFunction::Kill, names))
    }

    /// Start the named (killed) containers again; their data directories are intact.
    pub async fn start(&self, names: &[String]) -> Result<NemesisEvent, NemesisError> {
        self.start_containers(names).await?;
        tracing::info!(?names, "started");
        Ok(NemesisEvent::nodes(NemesisFunction::Start, names))
    }

    async fn start_containers(&self, names: &[String]) -> Result<(), NemesisError> {
        for name in names {
            let node = self.node(name)?;
            self.docker
                .start_container(&node.container, None)
                .await
                .map_err(|source| docker_error("start", &node.container, source))?;
        }
        Ok(())
    }

    /// Stop one node as an operator does (`docker stop`: SIGTERM, so the broker runs its
    /// controlled shutdown and moves its leaderships away, then SIGKILL if it is still up
    /// after `grace`), for a rolling restart. Returns the event and the container's exit
    /// code (0 when the broker shut down on its own).
    pub async fn stop_gracefully(
        &self,
        name: &str,
        grace: std::time::Duration,
    ) -> Result<(NemesisEvent, Option<i64>), NemesisError> {
        let node = self.node(name)?;
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::default().t(seconds).build();
        self.docker
            .stop_container(&node.container, Some(options))
            .await
            .map_err(|source| docker_error("stop", &node.container, source))?;
        let inspect = self
            .docker
            .inspect_container(&node.container, None)
            .await
            .map_err(|source| docker_error("inspect", &node.container, source))?;
        let exit_code = inspect.state.and_then(|s| s.exit_code);
        tracing::info!(name, ?exit_code, "stopped gracefully");
        let names = [name.to_string()];
        Ok((
            NemesisEvent::nodes(NemesisFunction::NodeStopped, &names),
            exit_code,
        ))
    }

    /// Start a node a rolling restart stopped.
    pub async fn start_stopped(&self, name: &str) -> Result<NemesisEvent, NemesisError> {
        let names = [name.to_string()];
        self.start_containers(&names).await?;
        tracing::info!(name, "started after a graceful stop");
        Ok(NemesisEvent::nodes(NemesisFunction::NodeStarted, &names))
    }

    /// Freeze the named containers (cgroup freezer).
    pub async fn pause(&self, names: &[String]) -> Result<NemesisEvent, NemesisError> {
        for name in names {
            let node = self.node(name)?;
            self.docker
                .pause_container(&node.container)
                .await
                .map_err(|source| docker_error("pause", &node.container, source))?;
        }
        tracing::info!(?names, "paused");
        Ok(NemesisEvent::nodes(NemesisFunction::Pause, names))
    }

    /// Thaw the named containers.
    pub async fn resume(&self, names: &[String]) -> Result<NemesisEvent, NemesisError> {
        for name in names {
            let node = self.node(name)?;
            self.docker
                .unpause_container(&node.container)
                .await
                .map_err(|source| docker_error("unpause", &node.container, source))?;
        }
        tracing::info!(?names, "resumed");
        Ok(NemesisEvent::nodes(NemesisFunction::Resume, names))
    }

    /// Undo every fault whatever state the cluster is in: thaw paused nodes, start
    /// stopped ones, remove all partition and packet-loss rules. Idempotent; returns one event per kind
    /// of repair actually made (none when the cluster was already healthy).
    pub async fn heal_all(&self) -> Result<Vec<NemesisEvent>, NemesisError> {
        let mut paused = Vec::new();
        let mut stopped = Vec::new();
        for node in &self.nodes {
            let inspect = self
                .docker
                .inspect_container(&node.container, None)
                .await
                .map_err(|source| docker_error("inspect", &node.container, source))?;
            match inspect.state.and_then(|s| s.status) {
                Some(ContainerStateStatusEnum::PAUSED) => paused.push(node.name.clone()),
                Some(ContainerStateStatusEnum::RUNNING) => {}
                _ => stopped.push(node.name.clone()),
            }
        }
        let mut events = Vec::new();
        if !paused.is_empty() {
            events.push(self.resume(&paused).await?);
        }
        if !stopped.is_empty() {
            events.push(self.start(&stopped).await?);
        }
        let mut healed_any = false;
        let mut lossy = Vec::new();
        for node in &self.nodes {
            match self.pid_of(&node.name).await {
                Ok(pid) => {
                    let (partition, loss) = iptables::heal_every_chain(pid).await?;
                    healed_any |= partition;
                    if loss {
                        lossy.push(node.name.clone());
                    }
                }
                // Started above but already exited again (a broker that crashes at
                // start): it has no namespace, hence no rules.
                Err(NemesisError::NotRunning(_)) => {}
                Err(other) => return Err(other),
            }
        }
        if healed_any {
            events.push(NemesisEvent::partition(
                NemesisFunction::StopPartition,
                &Grudge::new(),
            ));
        }
        if !lossy.is_empty() {
            events.push(NemesisEvent::loss_healed(&lossy));
        }
        Ok(events)
    }
}

fn docker_error(
    action: &'static str,
    container: &str,
    source: bollard::errors::Error,
) -> NemesisError {
    NemesisError::Docker {
        action,
        container: container.to_string(),
        source,
    }
}

/// Remove samsa's iptables chains (partition and packet loss) from every running
/// container carrying `label`
/// (`key=value` or `key`): the recovery path after a harness crash, when no [`Nemesis`]
/// exists any more. Paused containers are thawed first so they can be removed cleanly.
/// Returns how many namespaces had rules removed.
pub async fn sweep_chains(docker: &Docker, label: &str) -> Result<usize, NemesisError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = ListContainersOptionsBuilder::default()
        .all(false)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|source| docker_error("list", label, source))?;
    let mut healed = 0;
    for summary in containers {
        let Some(id) = summary.id else { continue };
        let inspect = docker
            .inspect_container(&id, None)
            .await
            .map_err(|source| docker_error("inspect", &id, source))?;
        let state = inspect.state.unwrap_or_default();
        if state.status == Some(ContainerStateStatusEnum::PAUSED) {
            docker
                .unpause_container(&id)
                .await
                .map_err(|source| docker_error("unpause", &id, source))?;
        }
        if let Some(pid) = state.pid.filter(|pid| *pid > 0) {
            let (partition, loss) = iptables::heal_every_chain(pid).await?;
            if partition || loss {
                healed += 1;
            }
        }
    }
    Ok(healed)
}
