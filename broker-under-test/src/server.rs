//! The Kafka listener: accepts connections and serves each one's requests in order.
//!
//! Like Kafka, a connection has one request in flight at a time (its next frame is read only
//! after the response is written), which keeps responses in request order. A connection whose
//! framing or request cannot be served is closed with a log line naming the reason; every other
//! connection keeps being served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::broker::Broker;
use crate::handlers;
use crate::protocol::decode::{decode_request, Decoded};
use crate::protocol::frame::{self, FrameError};

/// Accepts connections until `shutdown` flips to true.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                tracing::info!("Kafka listener stopped accepting connections");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let broker = Arc::clone(&broker);
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move { connection(broker, stream, peer, shutdown).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn connection(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let limit = broker.config.max_frame_bytes;
    let idle = Duration::from_millis(broker.config.idle_timeout_ms);
    tracing::debug!(%peer, "connection opened");
    loop {
        let frame = tokio::select! {
            _ = shutdown.changed() => {
                tracing::debug!(%peer, "closing connection: broker shutting down");
                return;
            }
            f = frame::read_frame(&mut reader, limit, idle) => f,
        };
        let frame = match frame {
            Ok(f) => f,
            Err(FrameError::Closed) => {
                tracing::debug!(%peer, "connection closed by peer");
                return;
            }
            Err(e) => {
                tracing::warn!(%peer, reason = %e, "closing connection: bad frame");
                return;
            }
        };
        let (correlation_id, api_key, version, response) = match decode_request(frame) {
            Ok(Decoded::Request {
                header,
                api_key,
                body,
            }) => {
                let version = header.request_api_version;
                let response = handlers::dispatch(&broker, version, *body).await;
                (header.correlation_id, api_key, version, response)
            }
            Ok(Decoded::UnsupportedVersion {
                header,
                api_key,
                body,
            }) => {
                let version = header.request_api_version;
                tracing::warn!(%peer, ?api_key, version, code = 35, "request version not advertised: answering UNSUPPORTED_VERSION");
                let response = handlers::unsupported::response(&body, version);
                (header.correlation_id, api_key, version, response)
            }
            Ok(Decoded::ApiVersionsTooNew {
                correlation_id,
                version,
            }) => {
                tracing::info!(%peer, version, code = 35, "ApiVersions version too new: answering UNSUPPORTED_VERSION with the v0 list");
                let body = handlers::api_versions::response(35);
                (
                    correlation_id,
                    ApiKey::ApiVersions,
                    0,
                    Some(ResponseKind::ApiVersions(body)),
                )
            }
            Err(e) => {
                tracing::warn!(%peer, reason = %e, "closing connection: request cannot be served");
                return;
            }
        };
        let Some(response) = response else {
            if api_key == ApiKey::Produce {
                continue; // acks=0
            }
            tracing::warn!(%peer, ?api_key, "closing connection: no response could be built");
            return;
        };
        let mut buf = BytesMut::new();
        let header = ResponseHeader::default().with_correlation_id(correlation_id);
        let encoded = header
            .encode(&mut buf, api_key.response_header_version(version))
            .and_then(|()| response.encode(&mut buf, version));
        if let Err(e) = encoded {
            tracing::error!(%peer, ?api_key, version, error = %e, "closing connection: response encoding failed");
            return;
        }
        if let Err(e) = frame::write_frame(&mut write_half, &buf).await {
            tracing::warn!(%peer, error = %e, "closing connection: response write failed");
            return;
        }
    }
}
