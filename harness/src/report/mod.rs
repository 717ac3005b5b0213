//! Reports that explain a run (issue 6): `report.html`, a single self-contained page (inline
//! SVG, CSS and a little JS; it opens from disk) that shows the verdict, every anomaly with
//! its witnesses, per-key log diagrams, latency and throughput with the faults shaded, the
//! cluster's leaders and ISRs over time and the whole history; `junit.xml` for CI; and the
//! `samsa serve` web view over the store of runs.
//!
//! The report only renders: the history comes from the checker's reader, the verdict from
//! `checker::check`, and the other run files (`test.json`, `state.jsonl`) are optional so a
//! report can be made for any history, even one written by hand.

pub mod anomaly_section;
pub mod assets;
pub mod faults;
pub mod history_data;
pub mod inputs;
pub mod junit;
pub mod keylog;
pub mod page;
pub mod plot_cluster;
pub mod plot_incident;
pub mod plot_latency;
pub mod plot_style;
pub mod serve;
pub mod store_index;

use std::path::{Path, PathBuf};

use checker::check::CheckResult;
use checker::history::model::History;

pub use crate::run_dir::{JUNIT_FILE, REPORT_FILE};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file of the run directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A plot could not be drawn (plotters reported an error).
    #[error("cannot draw the {plot} plot: {message}")]
    Plot {
        /// Which plot.
        plot: &'static str,
        /// What plotters said.
        message: String,
    },
    /// junit.xml could not be serialized.
    #[error("cannot serialize junit.xml: {0}")]
    Junit(String),
    /// The findings could not be serialized for the page's finding lists.
    #[error("cannot encode the findings for the page: {0}")]
    FindingData(#[from] serde_json::Error),
    /// The history data could not be encoded (serialized and compressed) for the page.
    #[error("cannot encode the history for the page: {0}")]
    HistoryData(#[from] std::io::Error),
}

/// Writes `report.html` and `junit.xml` into the run directory `dir`, from the history and
/// its verdict; the optional files of the run (`test.json`, `state.jsonl`) are read from
/// `dir` when present. Returns the path of `report.html`.
pub fn write_run_report(
    dir: &Path,
    history: &History,
    result: &CheckResult,
) -> Result<PathBuf, ReportError> {
    let inputs = inputs::RunInputs::load(dir);
    write_report_with(dir, history, result, &inputs)
}

/// As [`write_run_report`], with the run's optional inputs already loaded (the `report`
/// command adds a note when it had to re-check a run that has no `results.json`).
pub fn write_report_with(
    dir: &Path,
    history: &History,
    result: &CheckResult,
    inputs: &inputs::RunInputs,
) -> Result<PathBuf, ReportError> {
    let incidents = crate::incidents::for_run(result, history, inputs);
    write_report_incidents(dir, history, result, inputs, &incidents)
}

/// As [`write_report_with`], with the verdict's incidents already found (`results.json`
/// lists the same ones).
pub fn write_report_incidents(
    dir: &Path,
    history: &History,
    result: &CheckResult,
    inputs: &inputs::RunInputs,
    incidents: &[crate::incidents::Incident],
) -> Result<PathBuf, ReportError> {
    let html = page::render(history, result, inputs, incidents)?;
    let report = dir.join(REPORT_FILE);
    write_file(&report, html.as_bytes())?;
    let test_name = inputs
        .test_name()
        .or_else(|| history.header.as_ref().and_then(|h| h.test.clone()))
        .unwrap_or_else(|| "samsa".to_owned());
    let fault_counts = faults::counts(&history.nemesis);
    let xml = junit::render(
        &test_name,
        history.guarantees(),
        result,
        &fault_counts,
        incidents,
    )?;
    write_file(&dir.join(JUNIT_FILE), xml.as_bytes())?;
    Ok(report)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    std::fs::write(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}
