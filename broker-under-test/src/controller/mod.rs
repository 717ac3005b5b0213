//! The controller's replicated metadata (issue 4), as Kafka's KRaft keeps it: broker
//! registrations and liveness, topics, assignments and per partition the leader, leader epoch,
//! ISR and partition epoch.
//!
//! `metadata` is the deterministic state machine every controller-quorum voter applies in log
//! order (so it takes time only from the commands themselves), `commands` the log entries and
//! their outcomes, `election` the leader choice. The Raft quorum that orders the commands is
//! openraft (`raft_types` says why): `raft_log` stores its log and vote in the data dir,
//! `raft_state_machine` applies commands to `MetadataState`. The network transport and the
//! node wiring are not written yet (see the README's "Part 2 status").

pub mod clock;
pub mod commands;
pub mod election;
pub mod liveness;
pub mod metadata;
pub mod node;
pub mod raft_log;
pub mod raft_state_machine;
pub mod raft_types;
pub mod transport;

#[cfg(test)]
mod raft_store_tests;

#[cfg(test)]
mod quorum_tests;
