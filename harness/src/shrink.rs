//! The search behind `samsa shrink`: which faults of a failing run's timeline, for how
//! long and in how long a main phase, are needed to make the broker fail again.
//!
//! Zeller's delta debugging (ddmin) over the fault windows comes first: try halves, then
//! finer chunks, keeping any subset (or complement) that still reproduces. Then each kept
//! window is halved while that still reproduces, the timeline is moved to start shortly
//! after the main phase does, and the main phase is cut: to end shortly after the last
//! fault, or, when the failure shows only later, by bisection. The oracle (one or more real runs; see `commands::shrink`) decides; it answers
//! `None` once the budget is spent, and the search then stops with the smallest candidate
//! that reproduced so far. Pure: the oracle is a closure, so the search is unit-tested
//! without Docker.

use nemesis::TimedFault;

/// A main phase this short is not tried: the clients need a moment to produce before the
/// first fault, and the final heal needs one after the last.
const MAIN_MIN_MS: u64 = 5_000;
/// Quiet time kept before the first fault when the timeline is moved earlier.
const LEAD_MS: u64 = 2_000;
/// Quiet time kept after the last fault when the main phase is cut.
const TAIL_MS: u64 = 2_000;
/// The bisection of the main phase stops when its bounds are this close.
const MAIN_STEP_MS: u64 = 5_000;
/// A window is not halved below this.
const WINDOW_MIN_MS: u64 = 1_000;

/// One configuration the oracle is asked about: the faults to replay and the main phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Candidate {
    /// The faults, in start order.
    pub faults: Vec<TimedFault>,
    /// `--time-limit`, in milliseconds.
    pub time_limit_ms: u64,
}

impl Candidate {
    /// `3 faults, 20.0 s main phase`.
    pub fn describe(&self) -> String {
        format!(
            "{} fault{}, {:.1} s main phase",
            self.faults.len(),
            if self.faults.len() == 1 { "" } else { "s" },
            self.time_limit_ms as f64 / 1000.0
        )
    }
}

/// What a step of the search tried, for `shrink.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// The original timeline, to confirm that it reproduces at all.
    Original,
    /// A subset of the faults (ddmin).
    Subset,
    /// The complement of a subset (ddmin).
    Complement,
    /// One window halved.
    ShorterWindow,
    /// The timeline moved to start [`LEAD_MS`] into the main phase.
    Earlier,
    /// The main phase cut: to end [`TAIL_MS`] after the last fault, or by bisection.
    ShorterMain,
}

/// The search's result: the smallest candidate that reproduced, if the original did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The smallest reproducing candidate (`None`: the original did not reproduce).
    pub minimal: Option<Candidate>,
    /// True when the budget ran out before the search finished.
    pub budget_spent: bool,
}

/// Runs the search from `original`. `reproduces(kind, candidate)` runs the candidate and
/// says whether the failure came back (`Some(true)`), did not (`Some(false)`), or that the
/// budget is spent (`None`).
pub fn shrink(
    original: Candidate,
    mut reproduces: impl FnMut(StepKind, &Candidate) -> Option<bool>,
) -> Outcome {
    // A candidate is run once: ddmin meets the same subset from several sides.
    let mut asked: Vec<(Candidate, bool)> = Vec::new();
    let mut ask = |kind: StepKind, c: &Candidate| {
        if let Some((_, verdict)) = asked.iter().find(|(seen, _)| seen == c) {
            return Some(*verdict);
        }
        let verdict = reproduces(kind, c)?;
        asked.push((c.clone(), verdict));
        Some(verdict)
    };
    match ask(StepKind::Original, &original) {
        None => {
            return Outcome {
                minimal: None,
                budget_spent: true,
            }
        }
        Some(false) => {
            return Outcome {
                minimal: None,
                budget_spent: false,
            }
        }
        Some(true) => {}
    }
    let mut best = original;
    let finished = ddmin(&mut best, &mut ask)
        && shorter_windows(&mut best, &mut ask)
        && earlier(&mut best, &mut ask)
        && shorter_main(&mut best, &mut ask);
    Outcome {
        minimal: Some(best),
        budget_spent: !finished,
    }
}

/// The oracle as the phases call it.
type Ask<'a> = dyn FnMut(StepKind, &Candidate) -> Option<bool> + 'a;

/// ddmin over `best.faults`; false when the budget ran out.
fn ddmin(best: &mut Candidate, ask: &mut Ask<'_>) -> bool {
    let mut chunks = 2usize;
    while best.faults.len() >= 2 {
        let n = chunks.min(best.faults.len());
        let parts = split(best.faults.len(), n);
        let mut reduced = false;
        for (kind, keep_part) in [(StepKind::Subset, true), (StepKind::Complement, false)] {
            // With two parts each complement is the other part, already tried.
            if !keep_part && n == 2 {
                continue;
            }
            for part in &parts {
                let faults: Vec<TimedFault> = best
                    .faults
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| part.contains(i) == keep_part)
                    .map(|(_, f)| f.clone())
                    .collect();
                if faults.is_empty() || faults.len() == best.faults.len() {
                    continue;
                }
                let candidate = Candidate {
                    faults,
                    time_limit_ms: best.time_limit_ms,
                };
                match ask(kind, &candidate) {
                    None => return false,
                    Some(true) => {
                        *best = candidate;
                        chunks = if keep_part { 2 } else { (n - 1).max(2) };
                        reduced = true;
                        break;
                    }
                    Some(false) => {}
                }
            }
            if reduced {
                break;
            }
        }
        if !reduced {
            if n >= best.faults.len() {
                break;
            }
            chunks = (n * 2).min(best.faults.len());
        }
    }
    true
}

/// `len` indices in `n` contiguous, nearly equal parts.
fn split(len: usize, n: usize) -> Vec<std::ops::Range<usize>> {
    (0..n).map(|k| (k * len / n)..((k + 1) * len / n)).collect()
}

/// Halves each window while that reproduces; false when the budget ran out.
fn shorter_windows(best: &mut Candidate, ask: &mut Ask<'_>) -> bool {
    for i in 0..best.faults.len() {
        loop {
            let fault = &best.faults[i];
            let length = fault.stop_ms - fault.start_ms;
            if length / 2 < WINDOW_MIN_MS {
                break;
            }
            let mut candidate = best.clone();
            candidate.faults[i].stop_ms = fault.start_ms + length / 2;
            match ask(StepKind::ShorterWindow, &candidate) {
                None => return false,
                Some(true) => *best = candidate,
                Some(false) => break,
            }
        }
    }
    true
}

/// Moves the whole timeline to start [`LEAD_MS`] in; false when the budget ran out.
fn earlier(best: &mut Candidate, ask: &mut Ask<'_>) -> bool {
    let Some(first) = best.faults.first().map(|f| f.start_ms) else {
        return true;
    };
    if first <= LEAD_MS {
        return true;
    }
    let shift = first - LEAD_MS;
    let mut candidate = best.clone();
    for fault in &mut candidate.faults {
        fault.start_ms -= shift;
        fault.stop_ms -= shift;
    }
    candidate.time_limit_ms = candidate
        .time_limit_ms
        .saturating_sub(shift)
        .max(MAIN_MIN_MS);
    match ask(StepKind::Earlier, &candidate) {
        None => false,
        Some(true) => {
            *best = candidate;
            true
        }
        Some(false) => true,
    }
}

/// Cuts the main phase: first to end [`TAIL_MS`] after the last heal, and when that
/// loses the failure (a bug may show only some time after its fault), by bisection
/// between that and the current length, to within [`MAIN_STEP_MS`]; false when the
/// budget ran out.
fn shorter_main(best: &mut Candidate, ask: &mut Ask<'_>) -> bool {
    let last = best.faults.iter().map(|f| f.stop_ms).max().unwrap_or(0);
    let whole_seconds = |ms: u64| ms.div_ceil(1000) * 1000;
    let mut too_short = None;
    let mut next = whole_seconds((last + TAIL_MS).max(MAIN_MIN_MS));
    while next < best.time_limit_ms {
        let candidate = Candidate {
            faults: best.faults.clone(),
            time_limit_ms: next,
        };
        match ask(StepKind::ShorterMain, &candidate) {
            None => return false,
            Some(true) => *best = candidate,
            Some(false) => too_short = Some(next),
        }
        let Some(low) = too_short else { break };
        if best.time_limit_ms - low <= MAIN_STEP_MS {
            break;
        }
        next = whole_seconds(low + (best.time_limit_ms - low) / 2);
    }
    true
}

#[cfg(test)]
#[path = "shrink_tests.rs"]
mod tests;
