//! The history: its in-memory model, and reading it from `history.jsonl`.

pub mod model;
