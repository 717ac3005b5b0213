//! The checker: samsa's history model and every analysis of it.
//!
//! It reads a `history.jsonl` (see `shared/HISTORY.md`), pairs invocations with their
//! completions, and decides from the history alone whether the broker kept the promises
//! the run's configuration makes. It performs no I/O beyond reading the history.
#![deny(missing_docs)]

pub mod anomalies;
pub mod anomaly;
pub mod check;
pub mod graph;
pub mod history;
pub mod linear;
pub mod live;
pub mod synth;
