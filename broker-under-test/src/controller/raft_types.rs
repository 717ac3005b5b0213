//! The controller quorum's openraft type configuration.
//!
//! Why openraft and not tikv's `raft`: openraft drives elections, heartbeats, replication and
//! commit itself behind three small traits (log storage, state machine, network), so this crate
//! only has to supply storage in the data dir, the `MetadataState` state machine and a TCP
//! transport; tikv's `raft` leaves the Ready loop (persist, send, apply, advance, in the right
//! order) to the caller, which is exactly the kind of hand-written consensus plumbing issue 4
//! wants to avoid, and it needs protobuf code generation. openraft is pinned to the exact
//! alpha version because its 0.10 API still changes between alphas.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::commands::{MetadataChange, MetadataCommand, MetadataError};

/// What applying one command returned; the proposer turns an error into its Kafka code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerResponse(pub Result<Vec<MetadataChange>, MetadataError>);

impl fmt::Display for MetadataCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

openraft::declare_raft_types!(
    /// Types of the controller quorum: metadata commands in, `ControllerResponse` out, voters
    /// named by broker id (as u64, openraft's node id type).
    pub ControllerTypes:
        D = MetadataCommand,
        R = ControllerResponse,
        NodeId = u64,
        Node = openraft::BasicNode,
);

/// A controller log entry.
pub type ControllerEntry = openraft::alias::DefaultEntryOf<ControllerTypes>;
/// A position in the controller log.
pub type ControllerLogId = openraft::alias::LogIdOf<ControllerTypes>;
/// A persisted vote (term + voted-for / leader).
pub type ControllerVote = openraft::alias::VoteOf<ControllerTypes>;
