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

use super::clock::now_ms;
use super::commands::{MetadataCommand, MetadataError};
use super::node::ControllerNode;
use super::raft_types::ControllerResponse;

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
    /// This process's incarnation (fresh at every start), sent with the registration.
    pub incarnation: u64,
}

/// Controlled shutdown (Kafka's ControlledShutdown): before a broker stops on SIGTERM it
/// asks the active controller to fence it, which moves its leaderships to other ISR members
/// and takes it out of every ISR at once, instead of after a session timeout of
/// unavailability. Its next registration (restart) unfences it. Best effort: without a
/// reachable controller the broker is fenced later by its missed heartbeats.
pub async fn controlled_shutdown(node: &ControllerNode, broker_id: i32) {
    let cmd = MetadataCommand::FenceBroker { broker_id };
    match node.propose_via_leader(cmd, Duration::from_secs(3)).await {
        Ok(ControllerResponse(Ok(_))) => {
            tracing::info!(broker_id, "controlled shutdown: fenced, leaderships moved")
        }
        Ok(ControllerResponse(Err(e))) => {
            tracing::warn!(broker_id, error = %e, "controlled shutdown refused")
        }
        Err(e) => tracing::warn!(broker_id, error = %e, "controlled shutdown not delivered"),
    }
}

/// Runs until `shutdown` flips: register, heartbeat, and (as leader) fence expired brokers.
pub async fn run(
    node: Arc<ControllerNode>,
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
                incarnation: settings.incarnation,
            }
        };
        match node.propose_via_leader(cmd, limit).await {
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
