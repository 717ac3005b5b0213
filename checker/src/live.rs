//! Live checking: the checker follows a history while it is still being written and
//! reports each anomaly that invalidates the run as soon as a prefix of the history proves
//! it, so a broker developer sees "lost-write at key 2, op 48,113" while the faults still
//! run, and `samsa test --fail-fast` can end the main phase there.
//!
//! Each pass checks the whole prefix written so far, up to its last complete line, with
//! the same [`check`] as the verdict: operations still in flight are open invokes, whose
//! outcome is unknown (HISTORY.md, "Pairing"), exactly as in a run cut short. A prefix is a
//! history in its own right, and the detectors only call an anomaly on proof, so a
//! violation a prefix proves is one the whole history proves too, though its name may
//! change as more is read ([`may_be_renamed`]); the agreement tests below hold the checker
//! to that on the reference corpus and on synthetic histories with every injectable
//! anomaly. The final verdict is still the whole history's check, made after the run.
//!
//! A pass costs what a check of the prefix costs (about 2.6 s per million operations on
//! the 2-core target), so the caller spaces passes by at least the last pass's duration.

use std::io::BufRead;
use std::time::Duration;

use rustc_hash::FxHashSet;

use crate::anomaly::{AnomalyKind, Finding};
use crate::check::{check, CheckOptions, CheckResult};
use crate::history::model::{History, LineIndex, Nanos, Offset, Value};
use crate::history::{self, HistoryError};
use crate::linear::LinearOptions;

/// How long one pass's linearizability search may take before it answers "unknown" for
/// this pass: a pass must not hold up the next one for the full post-hoc limit.
pub const PASS_LINEAR_TIME_LIMIT: Duration = Duration::from_secs(5);

/// The kinds a finding of `kind` on a prefix may be named once more of the history is
/// read. The violation stays (the whole history is invalid too), its name may not:
/// - a `lost-write` proven by another value at its offset, or by a consumer reading across
///   it, turns into `inconsistent-offsets`, `duplicate`, `poll-skip` or `int-poll-skip`
///   when a later poll reads the value after all (at that offset or another);
/// - a `phantom-read` whose send is invoked after the poll returned is a read from the
///   future: `nonlinearizable` (the `nonmonotonic-send` that comes with it, when the
///   send's acknowledgement names an offset already read).
///
/// Every other kind is final when a prefix proves it. The agreement tests hold the
/// checker to this table.
pub fn may_be_renamed(kind: AnomalyKind) -> &'static [AnomalyKind] {
    use AnomalyKind::*;
    match kind {
        LostWrite => &[
            InconsistentOffsets,
            Duplicate,
            PollSkip,
            IntPollSkip,
            Nonlinearizable,
        ],
        PhantomRead => &[Nonlinearizable, NonmonotonicSend],
        _ => &[],
    }
}

/// One invalidating anomaly, the first time a pass found it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFinding {
    /// What the check of that prefix found.
    pub finding: Finding,
    /// History time (ns) of the latest line of the witness: when the proof was complete.
    pub proved_at: Nanos,
}

impl LiveFinding {
    /// The witness line that completed the proof: the operation a progress line names.
    pub fn proving_op(&self) -> Option<LineIndex> {
        self.finding.ops.iter().copied().max()
    }
}

/// What one pass saw.
#[derive(Debug, Clone, Default)]
pub struct PassSummary {
    /// Operation lines in the prefix checked.
    pub lines: u64,
    /// Invalidating anomalies this pass found for the first time.
    pub new_findings: Vec<LiveFinding>,
}

/// Follows one history through successive prefixes; remembers what it already reported,
/// so each anomaly is reported once however many passes still show it.
#[derive(Debug, Default)]
pub struct LiveChecker {
    reported: FxHashSet<Identity>,
}

/// What makes two passes' findings the same anomaly: the witness may grow or change as
/// more of the history is seen, the anomaly's place does not.
type Identity = (AnomalyKind, Option<String>, Option<Value>, Option<Offset>);

impl LiveChecker {
    /// A checker that has seen nothing yet.
    pub fn new() -> LiveChecker {
        LiveChecker::default()
    }

    /// Checks one prefix of the history: `input` must end at a line boundary (the bytes
    /// the writer has flushed whole). Returns what it found for the first time.
    pub fn pass(&mut self, input: impl BufRead) -> Result<PassSummary, HistoryError> {
        let history = history::read(input)?;
        let options = CheckOptions {
            linear: LinearOptions {
                time_limit: PASS_LINEAR_TIME_LIMIT,
                ..LinearOptions::default()
            },
        };
        let result = check(&history, &options);
        let new_findings = self.take_new(&history, &result);
        Ok(PassSummary {
            lines: history.line_count,
            new_findings,
        })
    }

    fn take_new(&mut self, history: &History, result: &CheckResult) -> Vec<LiveFinding> {
        let fresh: Vec<&Finding> = result
            .counted_findings()
            .filter(|f| {
                self.reported
                    .insert((f.kind, f.key.clone(), f.value, f.offset))
            })
            .collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        let times = line_times(history, fresh.iter().flat_map(|f| f.ops.iter().copied()));
        fresh
            .into_iter()
            .map(|f| LiveFinding {
                finding: f.clone(),
                proved_at: f
                    .ops
                    .iter()
                    .filter_map(|i| times.get(i).copied())
                    .max()
                    .unwrap_or(0),
            })
            .collect()
    }
}

/// The `time` of each wanted line index that is a client operation's invoke or completion.
fn line_times(
    history: &History,
    wanted: impl Iterator<Item = LineIndex>,
) -> rustc_hash::FxHashMap<LineIndex, Nanos> {
    let wanted: FxHashSet<LineIndex> = wanted.collect();
    let mut times = rustc_hash::FxHashMap::default();
    for op in &history.ops {
        if wanted.contains(&op.invoke_index) {
            times.insert(op.invoke_index, op.invoke_time);
        }
        if let (Some(i), Some(t)) = (op.complete_index, op.complete_time) {
            if wanted.contains(&i) {
                times.insert(i, t);
            }
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::corpus_texts;
    use crate::synth::{self, Injection, SynthOptions};

    /// The byte offsets just past each line of `text`.
    fn line_ends(text: &[u8]) -> Vec<usize> {
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// Follows `text` through prefixes ending at `cuts` (then the whole text) and asserts
    /// the live checker agrees with the post-hoc check: every anomaly a prefix reported is
    /// of a kind the whole history's check counts against it, or one [`may_be_renamed`] to
    /// a kind it counts; after the last pass the live checker has reported every kind the
    /// post-hoc check counts, and any other kind it reported is a renamed one. Returns how
    /// many findings were reported before the last pass.
    fn assert_agrees(name: &str, text: &[u8], cuts: &[usize]) -> usize {
        let whole = history::read(text).unwrap();
        let post_hoc = check(&whole, &CheckOptions::default());
        let counted: FxHashSet<AnomalyKind> = post_hoc.counted_findings().map(|f| f.kind).collect();
        let mut live = LiveChecker::new();
        let mut live_kinds: FxHashSet<AnomalyKind> = FxHashSet::default();
        let mut early = 0;
        for &cut in cuts {
            let summary = live.pass(&text[..cut]).unwrap();
            early += summary.new_findings.len();
            for f in summary.new_findings.iter().map(|l| &l.finding) {
                live_kinds.insert(f.kind);
                assert!(
                    counted.contains(&f.kind)
                        || may_be_renamed(f.kind).iter().any(|k| counted.contains(k)),
                    "{name}: the prefix of {cut} bytes reported {} ({}), which the whole history's check neither counts nor renames (it counts {counted:?})",
                    f.kind.name(),
                    f.explanation
                );
            }
        }
        let last = live.pass(text).unwrap();
        live_kinds.extend(last.new_findings.iter().map(|f| f.finding.kind));
        assert!(
            live_kinds.is_superset(&counted),
            "{name}: the live check missed kinds of the post-hoc check: {live_kinds:?} vs {counted:?}"
        );
        for kind in live_kinds.difference(&counted) {
            assert!(
                !may_be_renamed(*kind).is_empty(),
                "{name}: live reported {} and the whole history does not count it",
                kind.name()
            );
        }
        early
    }

    // Goal: on every history of the reference corpus, cut after every line, the live
    // checker never reports an anomaly on a history the post-hoc check finds valid, names
    // only kinds the post-hoc check counts (or renames, as `may_be_renamed` says), and
    // ends having reported every kind the post-hoc check counts.
    #[test]
    fn live_agrees_with_post_hoc_on_every_prefix_of_the_corpus() {
        let mut early = 0;
        for text in corpus_texts() {
            let cuts = line_ends(text.as_bytes());
            early += assert_agrees("corpus", text.as_bytes(), &cuts);
        }
        // Some anomalies of the corpus are proven before its last line: the test sees
        // live reports, not only the final pass.
        assert!(
            early > 0,
            "no corpus anomaly was found before the last line"
        );
    }

    // Goal: the same agreement on larger concurrent histories, one per injectable
    // anomaly and a clean one, followed through 20 prefixes each.
    #[test]
    fn live_agrees_with_post_hoc_on_synthetic_histories() {
        let mut early = 0;
        for inject in Injection::all().map(Some).chain([None]) {
            for seed in 1..=2 {
                let options = SynthOptions {
                    ops: 600,
                    seed,
                    inject,
                    indeterminate_ratio: 0.05,
                    ..SynthOptions::default()
                };
                let mut text = Vec::new();
                synth::write_history(&options, &mut text).unwrap();
                let ends = line_ends(&text);
                let cuts: Vec<usize> = (1..20).map(|i| ends[ends.len() * i / 20]).collect();
                let name = format!("{:?} seed {seed}", inject.map(Injection::name));
                early += assert_agrees(&name, &text, &cuts);
            }
        }
        assert!(
            early > 0,
            "no synthetic anomaly was found before the last line"
        );
    }

    // Goal: an anomaly is reported once, by the first pass that proves it, with the time
    // of the line that completed its proof.
    #[test]
    fn each_anomaly_is_reported_once_with_its_proof_time() {
        let options = SynthOptions {
            ops: 400,
            seed: 7,
            inject: Some(Injection::Duplicate),
            ..SynthOptions::default()
        };
        let mut text = Vec::new();
        synth::write_history(&options, &mut text).unwrap();
        let mut live = LiveChecker::new();
        let first = live.pass(&text[..]).unwrap();
        assert!(first
            .new_findings
            .iter()
            .any(|f| f.finding.kind == AnomalyKind::Duplicate));
        let whole = history::read(&text[..]).unwrap();
        for f in &first.new_findings {
            let proving = f.proving_op().unwrap();
            let op = whole
                .ops
                .iter()
                .find(|op| op.invoke_index == proving || op.complete_index == Some(proving))
                .unwrap();
            let time = if op.invoke_index == proving {
                op.invoke_time
            } else {
                op.complete_time.unwrap()
            };
            assert_eq!(f.proved_at, time);
        }
        assert!(live.pass(&text[..]).unwrap().new_findings.is_empty());
    }
}
