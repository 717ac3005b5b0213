//! The history: its in-memory model, reading it from `history.jsonl`
//! (docs/history-format.md): a streaming reader that pairs invocations with completions
//! and names the line, field and problem of any malformed input; and the typed line
//! ([`line::Line`]) everyone who writes a history builds.

mod decode;
pub mod error;
pub mod line;
pub mod model;
mod pair;
mod parse;
mod raw;
mod scan;
pub mod unpair;

pub use error::{HistoryError, LineProblem};
pub use parse::{read, read_path, HISTORY_FILE};

#[cfg(test)]
pub(crate) use parse::tests::corpus_texts;
