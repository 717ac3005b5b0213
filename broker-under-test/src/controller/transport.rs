//! The controller quorum's network: openraft RPCs between brokers over TCP.
//!
//! Each RPC is one request frame and one response frame on a connection kept per peer:
//! a 4-byte big-endian length, then JSON (`PeerRequest` / `PeerResponse`). Frames are capped at
//! `MAX_FRAME_BYTES`; every connect, write and read is bounded by openraft's soft TTL on the
//! client and by `SERVER_IO_TIMEOUT` on the server. A failed call drops the connection, and
//! the next call reconnects (openraft retries with its own backoff).

use std::io;
use std::time::Duration;

use openraft::alias::{SnapshotMetaOf, SnapshotOf};
use openraft::errors::{
    NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::clock::stamp;
use super::commands::MetadataCommand;
use super::raft_state_machine::ControllerStateMachine;
use super::raft_types::{ControllerResponse, ControllerTypes, ControllerVote};

/// Largest frame accepted either way (snapshots of test-sized metadata are far smaller).
pub const MAX_FRAME_BYTES: u32 = 64 * 1024 * 1024;
/// Bound on each server-side read or write; idle connections are closed after it.
pub const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The controller Raft handle every broker holds.
pub type ControllerRaft = Raft<ControllerTypes, ControllerStateMachine>;

/// A request from one controller to another.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum PeerRequest {
    /// Raft AppendEntries.
    Append(AppendEntriesRequest<ControllerTypes>),
    /// Raft RequestVote.
    Vote(VoteRequest<ControllerTypes>),
    /// Raft pre-vote (no term bump).
    PreVote(VoteRequest<ControllerTypes>),
    /// A whole snapshot for a voter too far behind the log.
    Snapshot {
        /// Sender's vote.
        vote: ControllerVote,
        /// Snapshot metadata.
        meta: SnapshotMetaOf<ControllerTypes>,
        /// Snapshot bytes.
        data: Vec<u8>,
    },
    /// A broker's metadata command forwarded to the quorum leader (registration, heartbeat).
    Propose(MetadataCommand),
}

/// The answer to a `PeerRequest`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum PeerResponse {
    /// AppendEntries answer.
    Append(AppendEntriesResponse<ControllerTypes>),
    /// Vote or pre-vote answer.
    Vote(VoteResponse<ControllerTypes>),
    /// Snapshot answer.
    Snapshot(SnapshotResponse<ControllerTypes>),
    /// The committed command's outcome.
    Proposed(ControllerResponse),
    /// The receiving Raft refused or failed (shutting down, fatal error).
    Error(String),
}

async fn write_frame<T: Serialize>(stream: &mut TcpStream, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| *l <= MAX_FRAME_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(&body).await?;
    stream.flush().await
}

async fn read_frame<T: for<'a> Deserialize<'a>>(stream: &mut TcpStream) -> io::Result<T> {
    let len = stream.read_u32().await?;
    if len > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("controller frame of {len} bytes exceeds {MAX_FRAME_BYTES}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    stream.read_exact(&mut body).await?;
    serde_json::from_slice(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Accepts controller connections and hands each RPC to the local Raft until the listener
/// fails; one task per connection.
pub async fn serve(listener: TcpListener, raft: ControllerRaft) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "controller listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let raft = raft.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, &raft).await {
                tracing::debug!(%peer, error = %e, "controller connection closed");
            }
        });
    }
}

async fn serve_connection(mut stream: TcpStream, raft: &ControllerRaft) -> io::Result<()> {
    loop {
        let req: PeerRequest = tokio::time::timeout(SERVER_IO_TIMEOUT, read_frame(&mut stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle controller connection"))??;
        let resp = match req {
            PeerRequest::Append(r) => raft
                .append_entries(r)
                .await
                .map_or_else(|e| PeerResponse::Error(e.to_string()), PeerResponse::Append),
            PeerRequest::Vote(r) => raft
                .vote(r)
                .await
                .map_or_else(|e| PeerResponse::Error(e.to_string()), PeerResponse::Vote),
            PeerRequest::PreVote(r) => raft
                .pre_vote(r)
                .await
                .map_or_else(|e| PeerResponse::Error(e.to_string()), PeerResponse::Vote),
            PeerRequest::Snapshot { vote, meta, data } => {
                let snapshot = SnapshotOf::<ControllerTypes, Vec<u8>> {
                    meta,
                    snapshot: data,
                };
                raft.install_full_snapshot(vote, snapshot)
                    .await
                    .map_or_else(
                        |e| PeerResponse::Error(e.to_string()),
                        PeerResponse::Snapshot,
                    )
            }
            PeerRequest::Propose(cmd) => raft.client_write(stamp(cmd)).await.map_or_else(
                |e| PeerResponse::Error(e.to_string()),
                |r| PeerResponse::Proposed(r.data),
            ),
        };
        tokio::time::timeout(SERVER_IO_TIMEOUT, write_frame(&mut stream, &resp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "controller response write"))??;
    }
}

/// Creates one `PeerClient` per target voter (openraft `RaftNetworkFactory`).
#[derive(Debug, Clone)]
pub struct PeerNetworkFactory {
    /// This controller's id (reported in timeouts).
    pub node_id: u64,
}

impl RaftNetworkFactory<ControllerTypes> for PeerNetworkFactory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Self::Network {
        PeerClient {
            local: self.node_id,
            target,
            addr: node.addr.clone(),
            conn: None,
        }
    }
}

/// The connection to one peer controller.
#[derive(Debug)]
pub struct PeerClient {
    local: u64,
    target: u64,
    addr: String,
    conn: Option<TcpStream>,
}

/// Why a call failed, before it is mapped to openraft's error kinds.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("connect to controller {0}: {1}")]
    Connect(String, io::Error),
    #[error("controller {0}: {1}")]
    Io(String, io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("remote controller: {0}")]
    Remote(String),
}

impl PeerClient {
    async fn call(&mut self, req: &PeerRequest, ttl: Duration) -> Result<PeerResponse, CallError> {
        let result = tokio::time::timeout(ttl, self.call_inner(req))
            .await
            .map_err(|_| CallError::Timeout(ttl))
            .and_then(|r| r);
        if result.is_err() {
            self.conn = None;
        }
        match result? {
            PeerResponse::Error(e) => Err(CallError::Remote(e)),
            resp => Ok(resp),
        }
    }

    async fn call_inner(&mut self, req: &PeerRequest) -> Result<PeerResponse, CallError> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| CallError::Connect(self.addr.clone(), e))?;
            stream
                .set_nodelay(true)
                .map_err(|e| CallError::Io(self.addr.clone(), e))?;
            self.conn = Some(stream);
        }
        let addr = self.addr.clone();
        let Some(stream) = self.conn.as_mut() else {
            return Err(CallError::Io(addr, io::Error::other("no connection")));
        };
        write_frame(stream, req)
            .await
            .map_err(|e| CallError::Io(addr.clone(), e))?;
        read_frame(stream).await.map_err(|e| CallError::Io(addr, e))
    }

    fn rpc_error(&self, e: CallError) -> RPCError<ControllerTypes> {
        match e {
            CallError::Connect(..) => RPCError::Unreachable(Unreachable::new(&e)),
            CallError::Timeout(_) | CallError::Io(..) | CallError::Remote(_) => {
                tracing::debug!(target_node = self.target, error = %e, "controller RPC failed");
                RPCError::Network(NetworkError::new(&e))
            }
        }
    }
}

fn unexpected(resp: &PeerResponse) -> CallError {
    CallError::Remote(format!("unexpected response kind: {resp:?}"))
}

impl RaftNetworkV2<ControllerTypes> for PeerClient {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<ControllerTypes>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<ControllerTypes>, RPCError<ControllerTypes>> {
        match self
            .call(&PeerRequest::Append(rpc), option.soft_ttl())
            .await
        {
            Ok(PeerResponse::Append(r)) => Ok(r),
            Ok(other) => Err(self.rpc_error(unexpected(&other))),
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<ControllerTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<ControllerTypes>, RPCError<ControllerTypes>> {
        match self.call(&PeerRequest::Vote(rpc), option.soft_ttl()).await {
            Ok(PeerResponse::Vote(r)) => Ok(r),
            Ok(other) => Err(self.rpc_error(unexpected(&other))),
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<ControllerTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<ControllerTypes>, RPCError<ControllerTypes>> {
        match self
            .call(&PeerRequest::PreVote(rpc), option.soft_ttl())
            .await
        {
            Ok(PeerResponse::Vote(r)) => Ok(r),
            Ok(other) => Err(self.rpc_error(unexpected(&other))),
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: ControllerVote,
        snapshot: SnapshotOf<ControllerTypes, Vec<u8>>,
        _cancel: impl std::future::Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<ControllerTypes>, StreamingError<ControllerTypes>> {
        let req = PeerRequest::Snapshot {
            vote,
            meta: snapshot.meta,
            data: snapshot.snapshot,
        };
        match self.call(&req, option.hard_ttl()).await {
            Ok(PeerResponse::Snapshot(r)) => Ok(r),
            Ok(other) => Err(StreamingError::Network(NetworkError::new(&unexpected(
                &other,
            )))),
            Err(CallError::Timeout(timeout)) => Err(StreamingError::Timeout(Timeout {
                action: openraft::network::RPCTypes::InstallSnapshot,
                id: self.local,
                target: self.target,
                timeout,
            })),
            Err(e) => Err(StreamingError::Network(NetworkError::new(&e))),
        }
    }
}

/// Sends one command to the controller at `addr` (the quorum leader) and waits for its
/// outcome, all within `limit`; used by brokers that are not the leader themselves.
pub async fn propose_remote(
    addr: &str,
    cmd: MetadataCommand,
    limit: Duration,
) -> io::Result<ControllerResponse> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        write_frame(&mut stream, &PeerRequest::Propose(cmd)).await?;
        read_frame::<PeerResponse>(&mut stream).await
    };
    match tokio::time::timeout(limit, exchange).await {
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("propose to {addr}"),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(PeerResponse::Proposed(r))) => Ok(r),
        Ok(Ok(PeerResponse::Error(e))) => Err(io::Error::other(e)),
        Ok(Ok(other)) => Err(io::Error::other(format!("unexpected answer {other:?}"))),
    }
}
