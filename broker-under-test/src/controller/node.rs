//! One broker's controller-quorum member: the openraft instance with its storage in
//! `<data dir>/controller`, its TCP listener, and the propose/leader API the broker uses.
//!
//! Every broker listed in `--peers` is a voter (Kafka's `controller.quorum.voters`, which also
//! lists the node itself). The voter with the lowest id initializes the cluster membership on
//! first start; openraft ignores the request when the log already holds a membership, so a
//! restart is harmless. Only the Raft leader commits commands, so a deposed controller cannot
//! change metadata: its proposals fail with `NotController`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use openraft::errors::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, SnapshotPolicy};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::clock::stamp;
use super::commands::MetadataCommand;
use super::metadata::MetadataState;
use super::raft_log::ControllerLogStore;
use super::raft_state_machine::ControllerStateMachine;
use super::raft_types::ControllerResponse;
use super::transport::{self, ControllerRaft, PeerNetworkFactory};
use crate::faults::SeededFaults;

/// One voter of the quorum: `id@host:port` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Broker (and controller) id.
    pub id: i32,
    /// Controller address, `host:port`.
    pub addr: String,
}

/// The `--peers` list; empty means single-node mode (no controller quorum).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers(pub Vec<Peer>);

impl FromStr for Peers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut peers = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (id, addr) = item
                .split_once('@')
                .ok_or_else(|| format!("peer {item:?}: expected id@host:port"))?;
            let id: i32 = id
                .parse()
                .map_err(|e| format!("peer {item:?}: id is not an integer: {e}"))?;
            if id < 0 {
                return Err(format!("peer {item:?}: id must be >= 0"));
            }
            if !addr
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            {
                return Err(format!("peer {item:?}: address must be host:port"));
            }
            if peers.iter().any(|p: &Peer| p.id == id) {
                return Err(format!("peer id {id} listed twice"));
            }
            peers.push(Peer {
                id,
                addr: addr.to_string(),
            });
        }
        Ok(Peers(peers))
    }
}

/// How to start a controller.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// This broker's id; must be in `peers`.
    pub node_id: i32,
    /// Address the controller listener binds.
    pub listen: SocketAddr,
    /// All voters, this node included.
    pub peers: Peers,
    /// Directory of the Raft log (`<data dir>/controller`).
    pub dir: PathBuf,
    /// Raft heartbeat interval.
    pub heartbeat_ms: u64,
    /// Raft election timeout lower bound (upper bound is twice it).
    pub election_timeout_ms: u64,
    /// Seeded faults of the metadata state machine (`unclean-election`).
    pub faults: SeededFaults,
}

/// Why the controller could not start or a proposal failed.
#[derive(Debug, Error)]
pub enum ControllerError {
    /// Bad settings (node not among the peers, invalid timeouts).
    #[error("controller configuration: {0}")]
    Config(String),
    /// Storage or listener failure.
    #[error("controller I/O: {0}")]
    Io(#[from] std::io::Error),
    /// openraft stopped.
    #[error("controller raft: {0}")]
    Raft(String),
    /// This node is not the quorum leader (NOT_CONTROLLER); `leader` is the known one.
    #[error("not the active controller (leader: {leader:?})")]
    NotController {
        /// The leader's id, if known.
        leader: Option<i32>,
    },
}

/// A running controller-quorum member.
#[derive(Debug)]
pub struct ControllerNode {
    /// The openraft handle.
    pub raft: ControllerRaft,
    /// The applied metadata.
    pub state: ControllerStateMachine,
    /// The bound controller address.
    pub local_addr: SocketAddr,
    /// This voter's (and broker's) id.
    pub node_id: i32,
    /// All voters, for forwarding proposals to the leader.
    pub peers: Peers,
    server: JoinHandle<()>,
}

fn raft_id(id: i32) -> Result<u64, ControllerError> {
    u64::try_from(id).map_err(|_| ControllerError::Config(format!("negative node id {id}")))
}

impl ControllerNode {
    /// Opens storage, binds the listener, starts Raft and (lowest id) initializes membership.
    pub async fn start(settings: ControllerSettings) -> Result<Self, ControllerError> {
        if !settings.peers.0.iter().any(|p| p.id == settings.node_id) {
            return Err(ControllerError::Config(format!(
                "node id {} is not in --peers",
                settings.node_id
            )));
        }
        let config = Config {
            cluster_name: "samsa-broker-under-test".to_string(),
            heartbeat_interval: settings.heartbeat_ms,
            election_timeout_min: settings.election_timeout_ms,
            election_timeout_max: settings.election_timeout_ms * 2,
            // The state machine is rebuilt from the log; never purge it (see raft_log).
            snapshot_policy: SnapshotPolicy::Never,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ControllerError::Config(e.to_string()))?;
        let log = ControllerLogStore::open(&settings.dir)?;
        let state = ControllerStateMachine::with_faults(settings.faults);
        let listener = TcpListener::bind(settings.listen).await?;
        let local_addr = listener.local_addr()?;
        let id = raft_id(settings.node_id)?;
        let network = PeerNetworkFactory { node_id: id };
        let raft = ControllerRaft::new(id, Arc::new(config), network, log, state.clone())
            .await
            .map_err(|e| ControllerError::Raft(e.to_string()))?;
        let server = tokio::spawn(transport::serve(listener, raft.clone()));
        let lowest = settings.peers.0.iter().map(|p| p.id).min();
        if lowest == Some(settings.node_id) {
            let mut members = BTreeMap::new();
            for p in &settings.peers.0 {
                members.insert(raft_id(p.id)?, BasicNode::new(&p.addr));
            }
            match raft.initialize(members).await {
                Ok(()) => {
                    tracing::info!(node_id = settings.node_id, "controller quorum initialized")
                }
                Err(e) => tracing::info!(error = %e, "controller membership already initialized"),
            }
        }
        tracing::info!(node_id = settings.node_id, addr = %local_addr, voters = settings.peers.0.len(), "controller started");
        Ok(ControllerNode {
            raft,
            state,
            local_addr,
            node_id: settings.node_id,
            peers: settings.peers,
            server,
        })
    }

    /// Commits `cmd` through the quorum (only the leader can) and returns its outcome.
    pub async fn propose(
        &self,
        cmd: MetadataCommand,
    ) -> Result<ControllerResponse, ControllerError> {
        // Stamped here too: a broker's own registration and heartbeats reach its controller
        // locally when it leads the quorum, and must carry the leader's clock like any other.
        match self.raft.client_write(stamp(cmd)).await {
            Ok(resp) => Ok(resp.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ControllerError::NotController {
                    leader: f.leader_id.and_then(|l| i32::try_from(l).ok()),
                })
            }
            Err(e) => Err(ControllerError::Raft(e.to_string())),
        }
    }

    /// Commits `cmd` through whichever voter leads the quorum now, within `limit`: locally
    /// when this node leads, else over the controller transport (how a KRaft broker reaches the active
    /// controller for registrations, heartbeats, CreateTopics and AlterPartition).
    pub async fn propose_via_leader(
        &self,
        cmd: MetadataCommand,
        limit: std::time::Duration,
    ) -> Result<ControllerResponse, String> {
        let leader = self.leader().await.ok_or("no controller leader yet")?;
        if leader == self.node_id {
            // Bounded like the remote path: a leader that lost its quorum cannot commit.
            return match tokio::time::timeout(limit, self.propose(cmd)).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!("not committed within {limit:?} (no quorum?)")),
            };
        }
        let addr = &self
            .peers
            .0
            .iter()
            .find(|p| p.id == leader)
            .ok_or_else(|| format!("leader {leader} is not in --peers"))?
            .addr;
        transport::propose_remote(addr, cmd, limit)
            .await
            .map_err(|e| format!("controller {leader}: {e}"))
    }

    /// The current quorum leader, if one is known.
    pub async fn leader(&self) -> Option<i32> {
        self.raft
            .current_leader()
            .await
            .and_then(|l| i32::try_from(l).ok())
    }

    /// A copy of the applied metadata.
    pub fn metadata(&self) -> Result<MetadataState, ControllerError> {
        Ok(self.state.metadata()?)
    }

    /// Stops Raft and the listener.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "controller raft shutdown");
        }
        self.server.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_reject_nonsense() {
        let p: Peers = "1@127.0.0.1:9001, 2@h:9002".parse().expect("parse");
        assert_eq!(p.0.len(), 2);
        assert_eq!(
            p.0[1],
            Peer {
                id: 2,
                addr: "h:9002".into()
            }
        );
        assert_eq!("".parse::<Peers>(), Ok(Peers::default()));
        for bad in ["1", "x@h:1", "1@h", "1@:1", "1@h:1,1@h:2", "-1@h:1"] {
            assert!(bad.parse::<Peers>().is_err(), "{bad} should be refused");
        }
    }
}
