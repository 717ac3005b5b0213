//! The history: its in-memory model, and reading it from `history.jsonl`
//! (HISTORY.md): a streaming reader that pairs invocations with completions and names the
//! line, field and problem of any malformed input.

mod decode;
pub mod error;
pub mod model;
mod pair;
mod parse;
mod raw;
mod scan;

pub use error::{HistoryError, LineProblem};
pub use parse::{read, read_path, HISTORY_FILE};
