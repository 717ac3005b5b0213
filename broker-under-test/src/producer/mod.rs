//! Idempotent producers (KIP-98): id allocation and per-partition sequence state.

pub mod ids;
pub mod state;
