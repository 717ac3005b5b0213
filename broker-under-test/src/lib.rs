//! broker-under-test: a Kafka-wire-compatible broker that samsa tests first.
//!
//! Layers, bottom up: `log` (segments, indexes, recovery), `producer` (idempotence), `partition`
//! (state + log + producer table behind one lock), `topics` and `broker` (shared state),
//! `protocol` (framing, decoding, versions), `handlers` (one per API), `server` (connections),
//! `admin` (HTTP), and `run` which wires them together for the binary.

#![deny(missing_docs)]

pub mod ack;
pub mod admin;
pub mod alloc_guard;
pub mod broker;
pub mod config;
pub mod controller;
pub mod faults;
pub mod handlers;
pub mod log;
pub mod partition;
pub mod producer;
pub mod protocol;
pub mod replication;
pub mod run;
pub mod server;
pub mod topics;

/// Installed for every binary linking this crate (the broker and its tests): see `alloc_guard`.
#[global_allocator]
static ALLOCATOR: alloc_guard::GuardedAllocator = alloc_guard::GuardedAllocator;
