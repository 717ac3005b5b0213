//! The optional files of a run directory that the report shows beside the history:
//! `test.json` (configuration, seed, versions, re-run command), `state.jsonl` (the
//! cluster's partition state each broker reported, [`StateSample`]) and `live.json` (what
//! the live check found during the main phase, and whether `--fail-fast` stopped it). Each may be
//! missing or damaged; the report then says so instead of failing, because a report for a
//! bare history (or an interrupted run) is still worth having.

use std::path::Path;

use crate::run_dir::{LiveFile, RunDir, RunDirError, TestJson};
pub use crate::run_dir::{LIVE_FILE, RESULTS_FILE, STATE_FILE, TEST_FILE};
/// At most this many state samples are read (a sample every 100 ms for ~3 hours).
pub const STATE_SAMPLES_MAX: usize = 100_000;

pub use crate::cluster::state::{NodeSample, NodeState, PartitionState, StateSample};

/// The optional inputs of a report, with a note for each one missing or damaged.
#[derive(Debug, Clone, Default)]
pub struct RunInputs {
    /// `test.json`, parsed.
    pub test: Option<TestJson>,
    /// `state.jsonl`, parsed; `None` when the file is absent.
    pub states: Option<Vec<StateSample>>,
    /// `live.json`, parsed; `None` when the run had no live check (or is older).
    pub live: Option<LiveFile>,
    /// What the page should say about missing or damaged inputs.
    pub notes: Vec<String>,
}

impl RunInputs {
    /// Reads the optional files of `dir`; never fails, notes problems instead.
    pub fn load(dir: &Path) -> RunInputs {
        let mut inputs = RunInputs::default();
        let run = RunDir::new(dir);
        match run.read_test() {
            Ok(t) => inputs.test = Some(t),
            Err(RunDirError::Json { source, .. }) => inputs
                .notes
                .push(format!("{TEST_FILE} is not valid: {source}")),
            Err(RunDirError::Io { .. }) => inputs.notes.push(format!(
                "{TEST_FILE} is missing: configuration, seed, versions and the re-run command are unknown"
            )),
        }
        inputs.states = read_states(&run.state(), &mut inputs.notes);
        match run.read_live() {
            Ok(live) => inputs.live = Some(live),
            Err(RunDirError::Json { source, .. }) => inputs
                .notes
                .push(format!("{LIVE_FILE} is not valid: {source}")),
            // No live check ran (--no-live-check, an interrupted or older run).
            Err(RunDirError::Io { .. }) => {}
        }
        inputs
    }

    /// The test's name from `test.json`.
    pub fn test_name(&self) -> Option<String> {
        self.test.as_ref()?.test.clone()
    }
}

fn read_states(path: &Path, notes: &mut Vec<String>) -> Option<Vec<StateSample>> {
    let Ok(read) = crate::run_dir::read_states(path, STATE_SAMPLES_MAX) else {
        notes.push(format!(
            "{STATE_FILE} is missing: the cluster's leaders and ISRs over time are unknown"
        ));
        return None;
    };
    if read.cut {
        notes.push(format!(
            "{STATE_FILE}: only the first {STATE_SAMPLES_MAX} samples are shown"
        ));
    }
    if read.bad_lines > 0 {
        notes.push(format!(
            "{STATE_FILE}: {} unreadable line(s) were skipped",
            read.bad_lines
        ));
    }
    Some(read.samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a directory with none of the optional files still loads, with one note each.
    #[test]
    fn missing_files_are_noted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = RunInputs::load(dir.path());
        assert!(inputs.test.is_none() && inputs.states.is_none());
        assert_eq!(inputs.notes.len(), 2, "{:?}", inputs.notes);
    }

    // Goal: a damaged state line is skipped and counted, good lines are kept.
    #[test]
    fn bad_state_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(STATE_FILE),
            "{\"time\":5,\"nodes\":[{\"node\":\"n1\",\"node_id\":1,\"ok\":false,\"error\":\"refused\"}]}\nnot json\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(TEST_FILE),
            "{\"test\":\"queue\",\"seed\":7}",
        )
        .unwrap();
        let inputs = RunInputs::load(dir.path());
        assert_eq!(inputs.states.as_ref().unwrap().len(), 1);
        assert_eq!(inputs.test_name().as_deref(), Some("queue"));
        assert_eq!(inputs.test.as_ref().and_then(|t| t.seed), Some(7));
        assert!(inputs.notes.iter().any(|n| n.contains("1 unreadable")));
    }
}
