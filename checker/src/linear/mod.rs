//! Linearizability of the per-key logs: two engines that check each other.
//!
//! PLACEHOLDER CONTRACT (to be replaced by the engines): [`check`] is what the verdict
//! calls; it must stay this signature.

use std::time::Duration;

use crate::anomaly::Finding;
use crate::history::model::History;

/// Which engine decides linearizability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The dependency-graph engine (cycles via Tarjan SCC): fast, the default.
    #[default]
    Graph,
    /// The Wing & Gong / Lowe search: general, exponential in the worst case.
    Search,
    /// Both, and report a disagreement.
    Both,
}

/// Options of a linearizability check.
#[derive(Debug, Clone, Copy)]
pub struct LinearOptions {
    /// The engine(s) to run.
    pub engine: Engine,
    /// The search engine gives up after this long and answers unknown.
    pub time_limit: Duration,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            engine: Engine::Graph,
            time_limit: Duration::from_secs(60),
        }
    }
}

/// What a linearizability check concluded.
#[derive(Debug, Clone, Default)]
pub struct LinearOutcome {
    /// `nonlinearizable` findings (each with a minimal cycle or failing sub-history).
    pub findings: Vec<Finding>,
    /// True when an engine could not decide (time limit), so the verdict is unknown.
    pub unknown: bool,
}

/// Checks every key's log for linearizability.
pub fn check(history: &History, options: &LinearOptions) -> LinearOutcome {
    let _ = (history, options);
    LinearOutcome::default()
}
