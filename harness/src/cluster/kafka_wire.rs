//! A minimal Kafka-protocol client for reading cluster state from any Kafka-compatible
//! broker: one TCP connection, ApiVersions first (KIP-35) to pick the versions both sides
//! speak, then Metadata and ListOffsets requests encoded and decoded by the
//! `kafka-protocol` crate. librdkafka hides per-node answers (it merges metadata from
//! whichever broker it asks), and the sampler needs each node's own view, so it talks the
//! protocol itself. Every read and write is bounded by the connection's timeout; a frame
//! larger than [`FRAME_BYTES_MAX`] is refused instead of allocated.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response frame accepted (a Metadata answer for a test cluster is a few KiB).
pub const FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The `client.id` the sampler's requests carry, so broker logs name the harness.
pub const CLIENT_ID: &str = "samsa-state-sampler";

/// The Kafka error code UNSUPPORTED_VERSION: an ApiVersions request newer than the
/// broker knows is answered in version 0 with this code (KIP-511).
const UNSUPPORTED_VERSION: i16 = 35;

/// Why a protocol exchange failed; the text names the node address and the step.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Connecting, writing or reading failed.
    #[error("{addr}: {step}: {source}")]
    Io {
        /// The broker address.
        addr: SocketAddr,
        /// What was being done.
        step: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The step did not finish within the timeout.
    #[error("{addr}: {step}: no answer within {timeout:?}")]
    Timeout {
        /// The broker address.
        addr: SocketAddr,
        /// What was being done.
        step: String,
        /// The bound.
        timeout: Duration,
    },
    /// The answer could not be encoded, decoded or did not fit the request.
    #[error("{addr}: {step}: {detail}")]
    Protocol {
        /// The broker address.
        addr: SocketAddr,
        /// What was being done.
        step: String,
        /// What was wrong.
        detail: String,
    },
}

/// One connection to one broker, with the API versions it announced.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    stream: TcpStream,
    timeout: Duration,
    correlation_id: i32,
    versions: ApiVersionsResponse,
}

impl Connection {
    /// Connects (bounded by `connect_timeout`) and exchanges ApiVersions; each request
    /// bounded by `timeout`.
    pub async fn open(
        addr: SocketAddr,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Connection, WireError> {
        let connect = TcpStream::connect(addr);
        let stream = bounded(addr, "connect", connect_timeout, connect).await?;
        let mut conn = Connection {
            addr,
            stream,
            timeout,
            correlation_id: 0,
            versions: ApiVersionsResponse::default(),
        };
        conn.versions = conn.api_versions().await?;
        Ok(conn)
    }

    /// The highest version of request `R` both this client and the broker speak, at
    /// least `min` (the oldest version carrying the fields the caller needs).
    pub fn version_of<R: Request>(&self, min: i16) -> Result<i16, WireError> {
        let ours = R::VERSIONS;
        let theirs = self
            .versions
            .api_keys
            .iter()
            .find(|k| k.api_key == R::KEY)
            .map(|k| (k.min_version, k.max_version));
        let (their_min, their_max) = theirs.ok_or_else(|| {
            self.protocol_error(
                "ApiVersions",
                format!("the broker does not list API key {}", R::KEY),
            )
        })?;
        let version = ours.max.min(their_max);
        if version < ours.min.max(their_min).max(min) {
            return Err(self.protocol_error(
                "ApiVersions",
                format!(
                    "API key {}: broker speaks {their_min}..={their_max}, this client {}..={} and needs at least {min}",
                    R::KEY,
                    ours.min,
                    ours.max
                ),
            ));
        }
        Ok(version)
    }

    /// Sends `request` at `version` and decodes its response.
    pub async fn call<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, WireError> {
        let step = format!("API key {} v{version}", R::KEY);
        let mut body = self.exchange::<R>(request, version, &step).await?;
        let response_header = <R::Response as HeaderVersion>::header_version(version);
        self.decode_header(&mut body, response_header, &step)?;
        <R::Response as Decodable>::decode(&mut body, version)
            .map_err(|e| self.protocol_error(&step, format!("cannot decode the response: {e}")))
    }

    /// ApiVersions at the newest version this crate knows; a broker that does not know
    /// it answers in v0 with UNSUPPORTED_VERSION, and the request is repeated in v0.
    async fn api_versions(&mut self) -> Result<ApiVersionsResponse, WireError> {
        let newest = ApiVersionsRequest::VERSIONS.max.min(3);
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("samsa"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let step = format!("ApiVersions v{newest}");
        let mut body = self.exchange(&request, newest, &step).await?;
        self.decode_header(&mut body, 0, &step)?;
        let retry = match ApiVersionsResponse::decode(&mut body.clone(), newest) {
            Ok(r) if r.error_code == 0 => return Ok(r),
            Ok(r) if r.error_code != UNSUPPORTED_VERSION => {
                return Err(self.protocol_error(&step, format!("error code {}", r.error_code)))
            }
            _ => true,
        };
        debug_assert!(retry, "only an unsupported version falls through");
        let step = "ApiVersions v0".to_string();
        let mut body = self
            .exchange(&ApiVersionsRequest::default(), 0, &step)
            .await?;
        self.decode_header(&mut body, 0, &step)?;
        let response = ApiVersionsResponse::decode(&mut body, 0)
            .map_err(|e| self.protocol_error(&step, format!("cannot decode: {e}")))?;
        if response.error_code != 0 {
            return Err(self.protocol_error(&step, format!("error code {}", response.error_code)));
        }
        Ok(response)
    }

    /// Writes one request frame and reads one response frame (without its length).
    async fn exchange<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        step: &str,
    ) -> Result<Bytes, WireError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let header_version = ApiKey::try_from(R::KEY)
            .map(|k| k.request_header_version(version))
            .map_err(|()| self.protocol_error(step, "unknown API key".into()))?;
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0; 4]);
        header
            .encode(&mut frame, header_version)
            .and_then(|()| request.encode(&mut frame, version))
            .map_err(|e| self.protocol_error(step, format!("cannot encode: {e}")))?;
        let length = i32::try_from(frame.len() - 4)
            .map_err(|_| self.protocol_error(step, "request too large".into()))?;
        frame[..4].copy_from_slice(&length.to_be_bytes());
        let (addr, timeout) = (self.addr, self.timeout);
        bounded(addr, step, timeout, self.stream.write_all(&frame)).await?;
        let mut length = [0u8; 4];
        bounded(addr, step, timeout, self.stream.read_exact(&mut length)).await?;
        let length = i32::from_be_bytes(length);
        let length = usize::try_from(length)
            .ok()
            .filter(|n| *n >= 4 && *n <= FRAME_BYTES_MAX)
            .ok_or_else(|| self.protocol_error(step, format!("bad frame length {length}")))?;
        let mut body = vec![0u8; length];
        bounded(addr, step, timeout, self.stream.read_exact(&mut body)).await?;
        Ok(Bytes::from(body))
    }

    fn decode_header(&self, body: &mut Bytes, version: i16, step: &str) -> Result<(), WireError> {
        let header = ResponseHeader::decode(body, version)
            .map_err(|e| self.protocol_error(step, format!("cannot decode the header: {e}")))?;
        if header.correlation_id != self.correlation_id {
            return Err(self.protocol_error(
                step,
                format!(
                    "correlation id {} answers request {}",
                    header.correlation_id, self.correlation_id
                ),
            ));
        }
        Ok(())
    }

    fn protocol_error(&self, step: &str, detail: String) -> WireError {
        WireError::Protocol {
            addr: self.addr,
            step: step.to_string(),
            detail,
        }
    }
}

async fn bounded<T>(
    addr: SocketAddr,
    step: &str,
    timeout: Duration,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, WireError> {
    match tokio::time::timeout(timeout, io).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(WireError::Io {
            addr,
            step: step.to_string(),
            source,
        }),
        Err(_) => Err(WireError::Timeout {
            addr,
            step: step.to_string(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use tokio::net::TcpListener;

    /// A one-connection fake broker that answers ApiVersions with `versions` (v0 encoding
    /// when `old_only`), so the negotiation is checked against real framing.
    async fn fake_broker(old_only: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            loop {
                let mut len = [0u8; 4];
                if socket.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
                socket.read_exact(&mut body).await.unwrap();
                let mut buf = Bytes::from(body);
                let header =
                    kafka_protocol::protocol::decode_request_header_from_buffer(&mut buf).unwrap();
                let version = header.request_api_version;
                let mut response = ApiVersionsResponse::default().with_api_keys(vec![
                    ApiVersion::default()
                        .with_api_key(ApiVersionsRequest::KEY)
                        .with_min_version(0)
                        .with_max_version(if old_only { 0 } else { 3 }),
                    ApiVersion::default()
                        .with_api_key(MetadataRequest::KEY)
                        .with_min_version(0)
                        .with_max_version(9),
                ]);
                let encode_as = if old_only && version > 0 {
                    response.error_code = UNSUPPORTED_VERSION;
                    0
                } else {
                    version
                };
                let mut out = BytesMut::new();
                out.extend_from_slice(&[0; 4]);
                ResponseHeader::default()
                    .with_correlation_id(header.correlation_id)
                    .encode(&mut out, 0)
                    .unwrap();
                response.encode(&mut out, encode_as).unwrap();
                let n = (out.len() - 4) as i32;
                out[..4].copy_from_slice(&n.to_be_bytes());
                socket.write_all(&out).await.unwrap();
            }
        });
        addr
    }

    // Goal: versions are negotiated from ApiVersions, also with a broker that only knows
    // v0 of it (method: a fake broker on loopback speaking real frames).
    #[tokio::test]
    async fn negotiates_versions_with_new_and_old_brokers() {
        for old_only in [false, true] {
            let addr = fake_broker(old_only).await;
            let conn = Connection::open(addr, Duration::from_secs(2), Duration::from_secs(2))
                .await
                .unwrap();
            assert_eq!(conn.version_of::<MetadataRequest>(1).unwrap(), 9);
            assert!(conn.version_of::<MetadataRequest>(10).is_err());
            assert!(conn
                .version_of::<kafka_protocol::messages::ListOffsetsRequest>(1)
                .is_err());
        }
    }

    // Goal: a listener that never answers gives a timeout error, not a hang.
    #[tokio::test]
    async fn silent_broker_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let started = std::time::Instant::now();
        let err = Connection::open(addr, Duration::from_millis(200), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
