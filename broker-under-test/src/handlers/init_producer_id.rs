//! InitProducerId (KIP-98, KIP-360): a producer id and epoch for an idempotent producer.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::broker::Broker;
use crate::producer::ids::ProducerIdError;

/// Answers InitProducerId; transactional ids are refused (transactions are not implemented).
pub fn handle(
    broker: &Broker,
    req: &InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if req.transactional_id.is_some() {
        tracing::warn!(
            code = 53,
            "InitProducerId with a transactional id refused: transactions are not implemented"
        );
        return response.with_error_code(53);
    }
    let mut ids = match broker.producer_ids.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let result = if req.producer_id.0 >= 0 && version >= 3 {
        ids.bump(req.producer_id.0, req.producer_epoch)
    } else {
        ids.allocate()
    };
    match result {
        Ok((id, epoch)) => {
            tracing::debug!(producer_id = id, epoch, "InitProducerId");
            response
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch)
        }
        Err(e @ ProducerIdError::Fenced { .. }) => {
            // PRODUCER_FENCED (90) exists from v4; older clients get INVALID_PRODUCER_EPOCH (47).
            let code = if version >= 4 { 90 } else { 47 };
            tracing::warn!(code, reason = %e, "InitProducerId fenced");
            response.with_error_code(code)
        }
        Err(e) => {
            tracing::error!(error = %e, "producer id allocation failed");
            response.with_error_code(-1)
        }
    }
}
