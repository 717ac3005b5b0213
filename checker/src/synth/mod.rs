//! Synthetic concurrent histories: a simulated Kafka run (clients with overlapping
//! operations on a simulated log per key), optionally with one injected anomaly.
//!
//! They exist to test and benchmark the checker without a broker: property tests feed
//! small ones to both linearizability engines, benchmarks time large ones, and
//! `samsa gen-history` writes them as `history.jsonl` (HISTORY.md). Generation is seeded
//! and deterministic (ChaCha8): the same options always give the same bytes.

mod inject;
mod jsonl;
mod sim;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use crate::anomaly::AnomalyKind;
use crate::history::model::History;

pub use jsonl::write_jsonl;

/// One anomaly the generator can plant (each named as in HISTORY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injection {
    /// An acknowledged record vanishes from the log (no poll or final read sees it).
    LostWrite,
    /// One record is written again at a later offset.
    Duplicate,
    /// An acknowledgement names an offset that holds another record.
    InconsistentOffsets,
    /// A send that was written is reported `fail`.
    AbortedRead,
    /// A poll returns a record nobody sent.
    PhantomRead,
    /// Two sends of one producer, one completed before the other began, swap offsets.
    NonmonotonicSend,
    /// A consumer's poll starts one record after where its previous poll ended.
    PollSkip,
    /// A consumer's poll starts again at the last record of its previous poll.
    NonmonotonicPoll,
    /// A poll leaves out a record in the middle of the run it returns.
    IntPollSkip,
    /// A poll returns two of its records in the wrong order.
    IntNonmonotonicPoll,
    /// The last send of a key is recorded after the final reads that returned it: a value
    /// read before its send began (a real-time violation and nothing else).
    Nonlinearizable,
}

/// Every injection with the anomaly it plants; names come from the single anomaly table
/// ([`AnomalyKind::name`]), so an injection can never drift from the checker's names.
const PLANTS: &[(Injection, AnomalyKind)] = &[
    (Injection::LostWrite, AnomalyKind::LostWrite),
    (Injection::Duplicate, AnomalyKind::Duplicate),
    (
        Injection::InconsistentOffsets,
        AnomalyKind::InconsistentOffsets,
    ),
    (Injection::AbortedRead, AnomalyKind::AbortedRead),
    (Injection::PhantomRead, AnomalyKind::PhantomRead),
    (Injection::NonmonotonicSend, AnomalyKind::NonmonotonicSend),
    (Injection::PollSkip, AnomalyKind::PollSkip),
    (Injection::NonmonotonicPoll, AnomalyKind::NonmonotonicPoll),
    (Injection::IntPollSkip, AnomalyKind::IntPollSkip),
    (
        Injection::IntNonmonotonicPoll,
        AnomalyKind::IntNonmonotonicPoll,
    ),
    (Injection::Nonlinearizable, AnomalyKind::Nonlinearizable),
];

impl Injection {
    /// Every injection, in a stable order.
    pub fn all() -> impl Iterator<Item = Injection> {
        PLANTS.iter().map(|(i, _)| *i)
    }

    /// The anomaly this injection plants.
    pub fn kind(self) -> AnomalyKind {
        PLANTS
            .iter()
            .find(|(i, _)| *i == self)
            .map(|(_, k)| *k)
            .expect("every injection is in PLANTS")
    }

    /// The anomaly name (HISTORY.md) this injection plants.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }
}

impl fmt::Display for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Injection {
    type Err = SynthError;

    fn from_str(s: &str) -> Result<Injection, SynthError> {
        Injection::all()
            .find(|i| i.name() == s)
            .ok_or_else(|| SynthError::UnknownInjection(s.to_owned()))
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Client operations before the final reads.
    pub ops: usize,
    /// Keys (partitions), named "0", "1", ...
    pub keys: usize,
    /// Client processes running at once.
    pub concurrency: usize,
    /// The seed of the ChaCha8 generator.
    pub seed: u64,
    /// Fraction of sends that end `info` (half of them written, half not).
    pub indeterminate_ratio: f64,
    /// Additional `info` sends that are never written, hence never read.
    pub unread_indeterminate: usize,
    /// The anomaly to plant, if any.
    pub inject: Option<Injection>,
    /// Whether to finish with complete final reads of every key (`final: true`).
    pub final_reads: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            ops: 1_000,
            keys: 3,
            concurrency: 5,
            seed: 0,
            indeterminate_ratio: 0.01,
            unread_indeterminate: 0,
            inject: None,
            final_reads: true,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    /// Client operations, final reads included.
    pub ops: usize,
    /// Send operations.
    pub sends: usize,
    /// Poll operations.
    pub polls: usize,
    /// Sends that ended `info`.
    pub indeterminate_sends: usize,
    /// `info` sends never written (so never read).
    pub unwritten_indeterminate: usize,
    /// What was planted, in one sentence naming the operations (`None` if nothing).
    pub injected: Option<String>,
}

/// Why a history could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The injection name is not one the generator knows.
    #[error("unknown injection {0:?}; known: {known}", known = Injection::all().map(Injection::name).collect::<Vec<_>>().join(", "))]
    UnknownInjection(String),
    /// The simulated run offered no place to plant the anomaly (too few operations).
    #[error("cannot inject {0}: the simulated history has no suitable operations (try more ops)")]
    NoInjectionSite(Injection),
    /// Options that make no history.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

/// Generates a history in memory.
pub fn generate(options: &SynthOptions) -> Result<(History, SynthSummary), SynthError> {
    if options.keys == 0 || options.concurrency == 0 {
        return Err(SynthError::InvalidOptions(
            "keys and concurrency must be at least 1".to_owned(),
        ));
    }
    if !(0.0..=1.0).contains(&options.indeterminate_ratio) {
        return Err(SynthError::InvalidOptions(format!(
            "indeterminate_ratio {} is not within [0, 1]",
            options.indeterminate_ratio
        )));
    }
    let (mut history, mut summary) = sim::simulate(options);
    if let Some(injection) = options.inject {
        summary.injected = Some(inject::inject(&mut history, injection, options.seed)?);
    }
    Ok((history, summary))
}

/// Generates a history and writes it as JSON Lines, header first (HISTORY.md).
pub fn write_history(options: &SynthOptions, out: &mut impl Write) -> io::Result<SynthSummary> {
    let (history, summary) = generate(options).map_err(io::Error::other)?;
    write_jsonl(&history, out)?;
    Ok(summary)
}
