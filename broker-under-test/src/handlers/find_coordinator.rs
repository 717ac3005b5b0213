//! FindCoordinator: consumer groups and transactions have no coordinator here yet, so every key
//! is answered COORDINATOR_NOT_AVAILABLE (15), a retriable error. This lets clients that always
//! look up their group coordinator (librdkafka with a `group.id`) keep fetching assigned
//! partitions instead of having their connection closed.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const REASON: &str = "group and transaction coordinators are not implemented by this broker";

/// Answers FindCoordinator with COORDINATOR_NOT_AVAILABLE for every key.
pub fn handle(req: &FindCoordinatorRequest, version: i16) -> FindCoordinatorResponse {
    tracing::debug!(
        code = COORDINATOR_NOT_AVAILABLE,
        "FindCoordinator answered: {REASON}"
    );
    let response = FindCoordinatorResponse::default();
    if version >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key.clone())
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(COORDINATOR_NOT_AVAILABLE)
                    .with_error_message(Some(StrBytes::from_static_str(REASON)))
            })
            .collect();
        response.with_coordinators(coordinators)
    } else {
        let response = response
            .with_error_code(COORDINATOR_NOT_AVAILABLE)
            .with_node_id(BrokerId(-1))
            .with_port(-1);
        if version >= 1 {
            response.with_error_message(Some(StrBytes::from_static_str(REASON)))
        } else {
            response
        }
    }
}
