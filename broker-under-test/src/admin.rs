//! The HTTP admin endpoint the harness reads: `/health` and `/partitions`.
//!
//! `/partitions` is a contract with the harness (its JSON shape is fixed; part 2 adds a
//! `controller` object beside `partitions`).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::broker::Broker;
use crate::controller::metadata::MetadataState;
use crate::controller::node::ControllerNode;

/// One partition as reported by `/partitions`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PartitionView {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Leader node id.
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Assigned replicas.
    pub replicas: Vec<i32>,
    /// High watermark.
    pub high_watermark: i64,
    /// Log end offset.
    pub log_end_offset: i64,
    /// Log start offset.
    pub log_start_offset: i64,
    /// What this node does for the partition: `leader`, `follower` or `offline`.
    pub role: &'static str,
}

/// The `/partitions` document.
#[derive(Debug, Serialize)]
pub struct PartitionsView {
    /// This node.
    pub node_id: i32,
    /// Every partition this node hosts.
    pub partitions: Vec<PartitionView>,
    /// The controller quorum as this node sees it; absent on a single node (no `--peers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<ControllerView>,
}

/// This node's view of the controller quorum: who leads it and the metadata applied here.
#[derive(Debug, Serialize)]
pub struct ControllerView {
    /// The quorum leader this node knows, if any.
    pub leader: Option<i32>,
    /// Brokers (liveness), topics, assignments, leaders, epochs and ISRs as applied here.
    pub metadata: Option<MetadataState>,
}

/// Builds the `/partitions` document from the broker state.
pub fn partitions_view(broker: &Broker) -> PartitionsView {
    let mut partitions = Vec::new();
    for (config, parts) in broker.snapshot() {
        for p in parts {
            let inner = p.lock();
            partitions.push(PartitionView {
                topic: config.name.clone(),
                partition: p.index,
                leader: inner.state.leader,
                leader_epoch: inner.state.leader_epoch,
                isr: inner.state.isr.clone(),
                replicas: inner.state.replicas.clone(),
                high_watermark: inner.state.high_watermark,
                log_end_offset: inner.log.log_end_offset(),
                log_start_offset: inner.log.log_start_offset(),
                role: inner.role.name(),
            });
        }
    }
    PartitionsView {
        node_id: broker.config.node_id,
        partitions,
        controller: None,
    }
}

/// What the admin handlers see: the node id at once, the broker once recovery finished.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// This node's id.
    pub node_id: i32,
    /// Set when `Broker::open` (crash recovery) completed.
    pub broker: Arc<OnceLock<Arc<Broker>>>,
    /// Set when the controller quorum member started (only with `--peers`).
    pub controller: Arc<OnceLock<Arc<ControllerNode>>>,
}

fn serving(state: &AdminState) -> Option<&Arc<Broker>> {
    state.broker.get().filter(|b| b.is_ready())
}

async fn health(State(state): State<AdminState>) -> (StatusCode, Json<serde_json::Value>) {
    let node_id = state.node_id;
    if serving(&state).is_some() {
        (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "node_id": node_id})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "starting", "node_id": node_id})),
        )
    }
}

async fn partitions(State(state): State<AdminState>) -> (StatusCode, Json<PartitionsView>) {
    match serving(&state) {
        Some(broker) => {
            let mut view = partitions_view(broker);
            if let Some(node) = state.controller.get() {
                let metadata = match node.metadata() {
                    Ok(m) => Some(m),
                    Err(e) => {
                        tracing::error!(error = %e, "controller metadata unreadable");
                        None
                    }
                };
                view.controller = Some(ControllerView {
                    leader: node.leader().await,
                    metadata,
                });
            }
            (StatusCode::OK, Json(view))
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(PartitionsView {
                node_id: state.node_id,
                partitions: Vec::new(),
                controller: None,
            }),
        ),
    }
}

/// The admin router; it answers 503 until the broker has recovered and serves Kafka.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/partitions", get(partitions))
        .with_state(state)
}
