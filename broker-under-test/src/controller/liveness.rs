//! Broker liveness through the controller quorum (KRaft's BrokerRegistration/BrokerHeartbeat
//! and session expiry).
//!
//! Every broker registers and then heartbeats every `heartbeat_ms`, sending the command to the
//! quorum leader (itself, or over the controller transport). The quorum leader additionally
//! fences brokers whose last heartbeat is older than `session_timeout_ms`, which moves their
//! partition leaderships (`MetadataState::apply(FenceBroker)`). A freshly elected leader waits
//! one session timeout before fencing anyone, so brokers get a chance to reach it first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::commands::{MetadataCommand, MetadataError};
use super::node::{now_ms, ControllerError, ControllerNode, Peers};
use super::raft_types::ControllerResponse;
use super::transport::propose_remote;

/// What the loop needs to know about this broker.
#[derive(Debug, Clone)]
pub struct LivenessSettings {
    /// This broker.
    pub node_id: i32,
    /// Advertised Kafka host registered with the controller.
    pub host: String,
    /// Advertised Kafka port.
    pub port: i32,
    /// Heartbeat period (Kafka `broker.heartbeat.interval.ms`).
    pub heartbeat_ms: u64,
    /// Session timeout after which the leader fences a silent broker (`broker.session.timeout.ms`).
    pub session_timeout_ms: u64,
}

async fn send(
    node: &ControllerNode,
    peers: &Peers,
    node_id: i32,
    cmd: MetadataCommand,
    limit: Duration,
) -> Result<ControllerResponse, String> {
    let leader = node.leader().await.ok_or("no controller leader yet")?;
    if leader == node_id {
        return node
            .propose(cmd)
            .await
            .map_err(|e: ControllerError| e.to_string());
    }
    let addr = &peers
        .0
        .iter()
        .find(|p| p.id == leader)
        .ok_or_else(|| format!("leader {leader} is not in --peers"))?
        .addr;
    propose_remote(addr, cmd, limit)
        .await
        .map_err(|e| format!("controller {leader}: {e}"))
}

/// Runs until `shutdown` flips: register, heartbeat, and (as leader) fence expired brokers.
pub async fn run(
    node: Arc<ControllerNode>,
    peers: Peers,
    settings: LivenessSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = Duration::from_millis(settings.heartbeat_ms.max(10));
    let limit = period.max(Duration::from_millis(500));
    let mut registered = false;
    let mut leader_since: Option<u64> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let cmd = if registered {
            MetadataCommand::Heartbeat {
                broker_id: settings.node_id,
                now_ms: 0,
            }
        } else {
            MetadataCommand::RegisterBroker {
                broker_id: settings.node_id,
                host: settings.host.clone(),
                port: settings.port,
                now_ms: 0,
            }
        };
        match send(&node, &peers, settings.node_id, cmd, limit).await {
            Ok(ControllerResponse(Ok(_))) => {
                if !registered {
                    tracing::info!(
                        node_id = settings.node_id,
                        "registered with the controller quorum"
                    );
                }
                registered = true;
            }
            Ok(ControllerResponse(Err(MetadataError::BrokerNotRegistered(_)))) => {
                registered = false
            }
            Ok(ControllerResponse(Err(e))) => tracing::warn!(error = %e, "heartbeat refused"),
            Err(e) => tracing::debug!(error = %e, "heartbeat not delivered"),
        }
        if node.leader().await != Some(settings.node_id) {
            leader_since = None;
            continue;
        }
        let now = now_ms();
        let since = *leader_since.get_or_insert(now);
        if now.saturating_sub(since) < settings.session_timeout_ms {
            continue;
        }
        let expired = match node.metadata() {
            Ok(m) => m.expired_brokers(now, settings.session_timeout_ms),
            Err(e) => {
                tracing::error!(error = %e, "controller metadata unreadable");
                continue;
            }
        };
        for broker_id in expired {
            tracing::warn!(
                broker_id,
                session_timeout_ms = settings.session_timeout_ms,
                "broker missed its heartbeats: fencing it"
            );
            if let Err(e) = node
                .propose(MetadataCommand::FenceBroker { broker_id })
                .await
            {
                tracing::warn!(broker_id, error = %e, "fencing failed");
            }
        }
    }
}
