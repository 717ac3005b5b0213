//! One handler per implemented API; `dispatch` routes a decoded request to it.

pub mod api_versions;
pub mod create_topics;
pub mod fetch;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod unsupported;

use std::sync::Arc;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::broker::Broker;

/// Handles one request; `None` means no response is sent (Produce with acks=0).
pub async fn dispatch(
    broker: &Arc<Broker>,
    version: i16,
    body: RequestKind,
) -> Option<ResponseKind> {
    Some(match body {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions::response(0)),
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(metadata::handle(broker, &r, version).await)
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(create_topics::handle(broker, &r).await)
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(broker, &r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id::handle(broker, &r, version))
        }
        RequestKind::Produce(r) => ResponseKind::Produce(produce::handle(broker, r).await?),
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(broker, r).await),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(find_coordinator::handle(&r, version))
        }
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(list_offsets::handle(broker, &r, version))
        }
        other => {
            // decode_request only lets advertised APIs through; reaching here is a programming error.
            tracing::error!(request = ?std::mem::discriminant(&other), "no handler for a decoded request");
            return None;
        }
    })
}
