//! The run directory, `histories/<test>/<timestamp>/`: the name of every file in it and
//! the typed shape of the ones samsa writes and reads back (`test.json`, `results.json`,
//! `state.jsonl`), so that whoever writes a file and whoever reads it share one owner.
//!
//! | file | written by | read by |
//! | --- | --- | --- |
//! | [`HISTORY_FILE`] | the recorder | `check`, `report`, `export`, `campaign`, the store index |
//! | [`TEST_FILE`] ([`TestJson`]) | `samsa test`, before the run | the report, the store index |
//! | [`STATE_FILE`] ([`StateSample`] lines) | the state sampler | the report |
//! | [`RESULTS_FILE`] ([`ResultsFile`]) | `samsa test`, `samsa check DIR` | `check DIR`, `report`, `campaign`, the store index |
//! | [`PERF_FILE`] | `samsa test` | people |
//! | [`REPORT_FILE`], [`JUNIT_FILE`] | with every `results.json`, and `samsa report` | people, CI |
//! | [`LOGS_DIR`]`/<node>.log` | `samsa test` | people, the store index |

use std::path::{Path, PathBuf};

use checker::check::CheckResult;
use checker::history::model::Guarantees;
use serde::{Deserialize, Serialize};

pub use crate::cluster::state::StateSample;
pub use crate::run::live::LiveFile;

/// The history (docs/history-format.md).
pub const HISTORY_FILE: &str = checker::history::HISTORY_FILE;
/// Configuration, seed, versions and the re-run command: [`TestJson`].
pub const TEST_FILE: &str = "test.json";
/// The cluster's partition state each broker reported over time: [`StateSample`] lines.
pub const STATE_FILE: &str = "state.jsonl";
/// The verdict: the checker's result plus the harness's own reasons ([`ResultsFile`]).
pub const RESULTS_FILE: &str = "results.json";
/// Throughput and latency of the run.
pub const PERF_FILE: &str = "perf.json";
/// What the live check found while the run wrote its history: [`LiveFile`].
pub const LIVE_FILE: &str = "live.json";
/// The self-contained report page.
pub const REPORT_FILE: &str = "report.html";
/// The JUnit file for CI test-result viewers.
pub const JUNIT_FILE: &str = "junit.xml";
/// The brokers' logs, one `<node>.log` each.
pub const LOGS_DIR: &str = "logs";

/// Why a file of a run directory could not be read or written; names the file.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not JSON of the expected shape.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json said (it names the line and column).
        source: serde_json::Error,
    },
}

/// A run directory: the paths of its files and typed access to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path` (nothing is created or checked).
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// Creates a fresh run directory under `store/test/` named by the UTC start time.
    pub fn create(store: &Path, test: &str) -> std::io::Result<RunDir> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
        let path = store.join(test).join(stamp);
        std::fs::create_dir_all(&path)?;
        Ok(RunDir { path })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `history.jsonl`.
    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY_FILE)
    }

    /// `test.json`.
    pub fn test_json(&self) -> PathBuf {
        self.path.join(TEST_FILE)
    }

    /// `state.jsonl`.
    pub fn state(&self) -> PathBuf {
        self.path.join(STATE_FILE)
    }

    /// `results.json`.
    pub fn results(&self) -> PathBuf {
        self.path.join(RESULTS_FILE)
    }

    /// `perf.json`.
    pub fn perf(&self) -> PathBuf {
        self.path.join(PERF_FILE)
    }

    /// `live.json`.
    pub fn live(&self) -> PathBuf {
        self.path.join(LIVE_FILE)
    }

    /// `report.html`.
    pub fn report(&self) -> PathBuf {
        self.path.join(REPORT_FILE)
    }

    /// `junit.xml`.
    pub fn junit(&self) -> PathBuf {
        self.path.join(JUNIT_FILE)
    }

    /// `logs/`.
    pub fn logs(&self) -> PathBuf {
        self.path.join(LOGS_DIR)
    }

    /// Writes `test.json`.
    pub fn write_test(&self, test: &TestJson) -> Result<(), RunDirError> {
        write_json(&self.test_json(), test)
    }

    /// Reads `test.json`.
    pub fn read_test(&self) -> Result<TestJson, RunDirError> {
        read_json(&self.test_json())
    }

    /// Writes `results.json`.
    pub fn write_results(&self, results: &ResultsFile<'_>) -> Result<(), RunDirError> {
        write_json(&self.results(), results)
    }

    /// Reads `results.json` (the parts samsa reads back; other fields are ignored).
    pub fn read_results(&self) -> Result<RunResults, RunDirError> {
        read_json(&self.results())
    }

    /// Writes `live.json`.
    pub fn write_live(&self, live: &LiveFile) -> Result<(), RunDirError> {
        write_json(&self.live(), live)
    }

    /// Reads `live.json`.
    pub fn read_live(&self) -> Result<LiveFile, RunDirError> {
        read_json(&self.live())
    }

    /// Writes `perf.json`.
    pub fn write_perf(&self, perf: &impl Serialize) -> Result<(), RunDirError> {
        write_json(&self.perf(), perf)
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), RunDirError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| RunDirError::Json {
        path: path.to_owned(),
        source,
    })?;
    std::fs::write(path, text).map_err(|source| RunDirError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunDirError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunDirError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| RunDirError::Json {
        path: path.to_owned(),
        source,
    })
}

/// Appends [`StateSample`] lines to `state.jsonl`, each flushed as written (a run killed
/// at any moment keeps the samples so far).
pub struct StateWriter {
    out: std::io::BufWriter<std::fs::File>,
}

impl StateWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<StateWriter> {
        Ok(StateWriter {
            out: std::io::BufWriter::new(std::fs::File::create(path)?),
        })
    }

    /// Appends one sample as one line.
    pub fn append(&mut self, sample: &StateSample) -> std::io::Result<()> {
        use std::io::Write as _;
        serde_json::to_writer(&mut self.out, sample)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// What [`read_states`] found in `state.jsonl`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateLines {
    /// The samples read, in file order.
    pub samples: Vec<StateSample>,
    /// Lines that were not a sample (skipped), or could not be read (the read stops).
    pub bad_lines: usize,
    /// Whether reading stopped at the bound with samples left unread.
    pub cut: bool,
}

/// Reads at most `max` samples of `state.jsonl`, skipping (and counting) lines that are not
/// one: a damaged line costs one sample, never the report. Fails only when the file
/// cannot be opened.
pub fn read_states(path: &Path, max: usize) -> std::io::Result<StateLines> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(path)?;
    let mut read = StateLines::default();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else {
            read.bad_lines += 1;
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        if read.samples.len() >= max {
            read.cut = true;
            break;
        }
        match serde_json::from_str::<StateSample>(&line) {
            Ok(s) => read.samples.push(s),
            Err(_) => read.bad_lines += 1,
        }
    }
    Ok(read)
}

/// `test.json`: everything needed to understand and reproduce a run, written before the
/// run starts so even an interrupted run is documented. Every field is optional when
/// read, so a file written by hand or by an older samsa still shows what it has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestJson {
    /// The test's name (the store's folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// The label of the run's containers and networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The seed of the workload and the fault schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// RFC 3339 time the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// The command that re-runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// What the configuration promises (the history's header says the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guarantees: Option<Guarantees>,
    /// The whole run configuration, as `samsa test` resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Versions of samsa, librdkafka and the broker image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Versions>,
    /// The failing run whose shrunk timeline this run replays (`samsa shrink`), as a path
    /// relative to this run's directory, so the link survives moving the whole tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk_from: Option<PathBuf>,
}

/// The versions recorded in `test.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Versions {
    /// samsa's own version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samsa: Option<String>,
    /// The librdkafka the clients were built with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub librdkafka: Option<String>,
    /// The broker image the cluster ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_image: Option<String>,
}

impl Versions {
    /// The recorded versions as `(name, version)`, in a fixed order.
    pub fn entries(&self) -> Vec<(&'static str, &str)> {
        [
            ("samsa", &self.samsa),
            ("librdkafka", &self.librdkafka),
            ("broker_image", &self.broker_image),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// `results.json` as written: the checker's result (docs/history-format.md, "Results")
/// with one more field, `harness_unknown_reasons`: what the harness knows that the
/// history does not say (none of the planned faults could be applied, ...), already among
/// `unknown_reasons`. `samsa check DIR` applies them again when it re-checks, so a
/// re-check and the run agree.
#[derive(Debug, Clone, Serialize)]
pub struct ResultsFile<'a> {
    /// The verdict, as the checker and the harness reasons make it.
    #[serde(flatten)]
    pub result: &'a CheckResult,
    /// The harness's own reasons for an unknown verdict.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub harness_unknown_reasons: &'a [String],
    /// The findings grouped into incidents, each explained ([`crate::incidents`]).
    pub incidents: &'a [crate::incidents::Incident],
}

/// The parts of a run's `results.json` samsa reads back; unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunResults {
    /// `true`, `false` or `"unknown"`.
    pub valid: serde_json::Value,
    /// Every anomaly type found, counted or not.
    pub anomaly_types: Vec<String>,
    /// Findings by type name.
    pub anomalies: std::collections::BTreeMap<String, Vec<FindingWitness>>,
    /// Types found that do not count against the verdict.
    pub not_counted: Vec<NotCountedKind>,
    /// The harness's own reasons for an unknown verdict ([`ResultsFile`]).
    pub harness_unknown_reasons: Vec<String>,
    /// `stats.counts`: findings per type.
    pub stats: ResultStats,
}

/// The part of `stats` samsa reads back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResultStats {
    /// Total findings per type, truncated or not.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// The witness of one finding.
#[derive(Debug, Clone, Deserialize)]
pub struct FindingWitness {
    /// History `index` values of the operations that prove it.
    #[serde(default)]
    pub ops: Vec<checker::history::model::LineIndex>,
}

/// A type found but not counted (`{"type": ..., "reason": ...}`).
#[derive(Debug, Clone, Deserialize)]
pub struct NotCountedKind {
    /// Its name.
    #[serde(rename = "type")]
    pub kind: String,
}

impl RunResults {
    /// The anomaly types that count against the verdict: found, known to the checker, and
    /// not listed as not counted.
    pub fn invalidating(&self) -> Vec<String> {
        self.anomaly_types
            .iter()
            .filter(|name| checker::anomaly::AnomalyKind::from_name(name).is_some())
            .filter(|name| !self.not_counted.iter().any(|n| &n.kind == *name))
            .cloned()
            .collect()
    }

    /// The verdict's word: `valid`, `invalid`, `unknown`.
    pub fn verdict(&self) -> &'static str {
        match self.valid {
            serde_json::Value::Bool(true) => "valid",
            serde_json::Value::Bool(false) => "invalid",
            _ => "unknown",
        }
    }
}

/// What [`write_verdict`] wrote besides `results.json`.
#[derive(Debug)]
pub struct VerdictWritten {
    /// `report.html`'s path, or why the report could not be drawn (a warning: the
    /// verdict is on disk).
    pub report: Result<PathBuf, crate::report::ReportError>,
    /// The incidents `results.json` lists, for the terminal summary.
    pub incidents: Vec<crate::incidents::Incident>,
}

/// Writes the verdict of a run directory: `results.json` (with the incidents, from the
/// run's `state.jsonl` and `test.json`), then `report.html` and `junit.xml` from the same
/// result, so the three cannot disagree. `harness_reasons` are applied to `result` first
/// (and recorded, so a re-check applies them again).
pub fn write_verdict(
    dir: &RunDir,
    history: &checker::history::model::History,
    result: &mut CheckResult,
    harness_reasons: &[String],
) -> Result<VerdictWritten, RunDirError> {
    for reason in harness_reasons {
        if !result.unknown_reasons.contains(reason) {
            result.mark_unknown(reason.clone());
        }
    }
    let inputs = crate::report::inputs::RunInputs::load(dir.path());
    let incidents = crate::incidents::for_run(result, history, &inputs);
    dir.write_results(&ResultsFile {
        result,
        harness_unknown_reasons: harness_reasons,
        incidents: &incidents,
    })?;
    let report =
        crate::report::write_report_incidents(dir.path(), history, result, &inputs, &incidents);
    Ok(VerdictWritten { report, incidents })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a test.json written by samsa reads back whole, and a partial one written by
    // hand still reads (missing fields are absent, not an error).
    #[test]
    fn test_json_round_trips_and_tolerates_missing_fields() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let test = TestJson {
            test: Some("queue".into()),
            run_id: Some("samsa-1".into()),
            seed: Some(7),
            started: Some("2026-11-21T05:00:00Z".into()),
            command: Some("samsa test --seed 7".into()),
            guarantees: Some(Guarantees::default()),
            config: Some(serde_json::json!({"nodes": 3})),
            versions: Some(Versions {
                samsa: Some("0.1.0".into()),
                librdkafka: None,
                broker_image: Some("img".into()),
            }),
            shrunk_from: Some("histories/queue/20261121T050000Z".into()),
        };
        run.write_test(&test).unwrap();
        assert_eq!(run.read_test().unwrap(), test);
        std::fs::write(run.test_json(), r#"{"test": "t", "seed": 3}"#).unwrap();
        let partial = run.read_test().unwrap();
        assert_eq!(
            (partial.test.as_deref(), partial.seed),
            (Some("t"), Some(3))
        );
        assert!(partial.versions.is_none());
        std::fs::write(run.test_json(), "{").unwrap();
        let err = run.read_test().unwrap_err().to_string();
        assert!(err.contains(TEST_FILE) && err.contains("line 1"), "{err}");
    }

    // Goal: results.json carries the harness's reasons, and they read back.
    #[test]
    fn results_keep_the_harness_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let history = checker::history::read(
            &b"{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"send\",\"0\",1]]}\n{\"index\":1,\"time\":2,\"process\":0,\"type\":\"ok\",\"f\":\"send\",\"value\":[[\"send\",\"0\",[0,1]]]}\n"[..],
        )
        .unwrap();
        let mut result = checker::check::check(&history, &checker::check::CheckOptions::default());
        let reasons = vec!["none of the 2 planned faults could be applied".to_owned()];
        let written = write_verdict(&run, &history, &mut result, &reasons).unwrap();
        written.report.unwrap();
        // Only `unseen`, no violation: no incident.
        assert!(written.incidents.is_empty());
        let read = run.read_results().unwrap();
        assert_eq!(read.verdict(), "unknown");
        assert_eq!(read.harness_unknown_reasons, reasons);
        // The send nobody read is `unseen`, found but not counted.
        assert_eq!(read.anomaly_types, vec!["unseen"]);
        assert_eq!(read.not_counted[0].kind, "unseen");
        assert!(read.invalidating().is_empty());
        assert!(run.report().is_file() && run.junit().is_file());
    }
}
