//! Why a history could not be read: every error names the file (when known), the 1-based
//! line number, the field and the problem, so `samsa check` can exit 3 with a message a
//! person can act on (HISTORY.md, "Results").

use std::path::PathBuf;

use super::model::LineIndex;

/// The problem with one line of a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// The line is not a JSON object.
    #[error("not valid JSON: {0}")]
    BadJson(String),
    /// A required field is absent (or `null`).
    #[error("missing required field")]
    MissingField,
    /// A field holds the wrong kind of JSON value.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the format requires.
        expected: &'static str,
        /// The offending text, truncated.
        found: String,
    },
    /// `index` is not the next integer of 0, 1, 2, ...
    #[error("index out of order: expected {expected}, found {found}")]
    IndexOutOfOrder {
        /// The index this line must have.
        expected: LineIndex,
        /// The index it has.
        found: LineIndex,
    },
    /// `time` is smaller than the previous line's.
    #[error("time goes backwards: {found} after {previous}")]
    TimeBackwards {
        /// The previous line's time.
        previous: u64,
        /// This line's time.
        found: u64,
    },
    /// An `ok`/`fail`/`info` for a process with no outstanding invoke.
    #[error("completion for process {process}, which has no outstanding invoke")]
    CompletionWithoutInvoke {
        /// The process.
        process: u64,
    },
    /// An `invoke` for a process that already has one outstanding.
    #[error(
        "second invoke for process {process} while its invoke at index {open_index} is still open"
    )]
    SecondInvoke {
        /// The process.
        process: u64,
        /// The invoke still open.
        open_index: LineIndex,
    },
    /// A process appears again after its operation ended `info` (it counts as crashed).
    #[error("process {process} appears after its info at index {info_index}; a crashed process never returns")]
    AfterCrash {
        /// The process.
        process: u64,
        /// The `info` line that ended it.
        info_index: LineIndex,
    },
    /// `type` is not one of `invoke`, `ok`, `fail`, `info`.
    #[error("unknown type {0:?} (expected invoke, ok, fail or info)")]
    UnknownType(String),
    /// `f` is not a client function (send, poll, txn, assign, subscribe, crash).
    #[error("unknown function {0:?} (expected send, poll, txn, assign, subscribe or crash)")]
    UnknownFunction(String),
    /// A completion's `f` or value does not match its invoke.
    #[error("completion does not match its invoke at index {invoke_index}: {detail}")]
    Mismatch {
        /// The invoke being completed.
        invoke_index: LineIndex,
        /// What differs.
        detail: String,
    },
    /// A micro-operation is not one of the shapes of HISTORY.md, "Values".
    #[error("malformed micro-operation: {0}")]
    MalformedMicroOp(String),
    /// An offset below 0 in an acknowledgement or a poll record: Kafka offsets start at 0
    /// (`-1` is the wire protocol's "unknown", which a history writes as `null`).
    #[error("negative offset {offset} of key {key:?}: Kafka offsets start at 0 (an unknown offset is written null)")]
    NegativeOffset {
        /// The key (partition) the offset belongs to.
        key: String,
        /// The offset found.
        offset: i64,
    },
    /// A header line somewhere other than the first line.
    #[error("a header (a line with a `format` key) may only be the first line")]
    LateHeader,
}

/// A history that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file (or the run directory's `history.jsonl`) could not be opened or read.
    ///
    /// The OS error is part of the message and deliberately not a chained `source`, so a
    /// caller printing the whole chain (anyhow's `{:#}`) does not say it twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        error: std::io::Error,
    },
    /// Reading failed at the stream level (no file name known).
    #[error("line {line}: cannot read: {error}")]
    Stream {
        /// The 1-based line being read.
        line: u64,
        /// The operating-system error (in the message, not chained: see `Io`).
        error: std::io::Error,
    },
    /// One line is malformed.
    #[error("{}line {line}{}: {problem}", file_prefix(file), field_part(field))]
    Line {
        /// The file, when read through [`super::read_path`].
        file: Option<PathBuf>,
        /// The 1-based line number in the file (the header counts).
        line: u64,
        /// The field at fault, if one is.
        field: Option<&'static str>,
        /// What is wrong.
        problem: LineProblem,
    },
}

impl HistoryError {
    /// The same error, naming `path` as its file.
    pub(crate) fn in_file(self, path: PathBuf) -> HistoryError {
        match self {
            HistoryError::Line {
                line,
                field,
                problem,
                ..
            } => HistoryError::Line {
                file: Some(path),
                line,
                field,
                problem,
            },
            HistoryError::Stream { error, .. } => HistoryError::Io { path, error },
            other => other,
        }
    }

    /// The 1-based line at fault, if the error is about one line.
    pub fn line(&self) -> Option<u64> {
        match self {
            HistoryError::Line { line, .. } | HistoryError::Stream { line, .. } => Some(*line),
            HistoryError::Io { .. } => None,
        }
    }
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

fn field_part(field: &Option<&'static str>) -> String {
    field.map(|f| format!(", field `{f}`")).unwrap_or_default()
}
