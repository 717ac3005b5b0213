//! A minimal Kafka-protocol client connection, used by followers to talk to their leader with
//! the same requests any Kafka follower sends (Fetch with a replica id, OffsetForLeaderEpoch).
//!
//! One request in flight at a time, every step bounded in time: a leader that stops answering
//! (paused, partitioned) costs the follower one timeout, then it reconnects.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use thiserror::Error;
use tokio::io::BufReader;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::protocol::frame::{self, FrameError};

/// Why a call to the leader failed; every variant makes the follower reconnect.
#[derive(Debug, Error)]
pub enum WireError {
    /// Connecting, writing or reading failed or timed out.
    #[error("{0}")]
    Io(String),
    /// The response could not be decoded.
    #[error("decoding the {api:?} response: {reason}")]
    Decode {
        /// The request's API.
        api: ApiKey,
        /// What went wrong.
        reason: String,
    },
    /// The response answered another request.
    #[error("response correlation id {got}, expected {expected}")]
    Correlation {
        /// Received.
        got: i32,
        /// Sent.
        expected: i32,
    },
}

/// An open connection to one broker.
#[derive(Debug)]
pub struct WireClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_correlation: i32,
    client_id: String,
}

/// Largest response accepted (a fetch answer is bounded by the request's max bytes).
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

impl WireClient {
    /// Connects to `addr` (`host:port`) within `limit`.
    pub async fn connect(
        addr: &str,
        client_id: String,
        limit: Duration,
    ) -> Result<Self, WireError> {
        let stream = tokio::time::timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| WireError::Io(format!("connecting to {addr} timed out after {limit:?}")))?
            .map_err(|e| WireError::Io(format!("connecting to {addr}: {e}")))?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }
        let (read_half, writer) = stream.into_split();
        Ok(WireClient {
            reader: BufReader::with_capacity(256 * 1024, read_half),
            writer,
            next_correlation: 1,
            client_id,
        })
    }

    /// Sends one request at `version` and waits up to `limit` for its response.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
        limit: Duration,
    ) -> Result<Resp, WireError> {
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let mut buf = BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        header
            .encode(&mut buf, api.request_header_version(version))
            .and_then(|()| request.encode(&mut buf, version))
            .map_err(|e| WireError::Io(format!("encoding {api:?}: {e}")))?;
        tokio::time::timeout(limit, frame::write_frame(&mut self.writer, &buf))
            .await
            .map_err(|_| WireError::Io(format!("{api:?} request write timed out")))?
            .map_err(|e| WireError::Io(format!("{api:?} request write: {e}")))?;
        let mut body = frame::read_frame(&mut self.reader, MAX_RESPONSE_BYTES, limit)
            .await
            .map_err(|e: FrameError| WireError::Io(format!("{api:?} response: {e}")))?;
        let decode = |reason: String| WireError::Decode { api, reason };
        let header = ResponseHeader::decode(&mut body, api.response_header_version(version))
            .map_err(|e| decode(e.to_string()))?;
        if header.correlation_id != correlation_id {
            return Err(WireError::Correlation {
                got: header.correlation_id,
                expected: correlation_id,
            });
        }
        Resp::decode(&mut body, version).map_err(|e| decode(e.to_string()))
    }
}
