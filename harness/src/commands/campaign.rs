//! `samsa campaign`: a Jepsen-style detection campaign. For every seeded fault of
//! broker-under-test (the broker's own `--list-seeded-faults`, never a copy here) and for
//! the correct broker, it runs `samsa test` once per seed with default flags, as a child
//! process of this same executable, and reports how often each bug was caught, which
//! anomalies caught it, and how long after the start of the fault that exposed it the first
//! invalidating operation happened. The healthy runs count false alarms.
//!
//! This is how the seeded faults earn their keep (openraft re-introduced fixed bugs to time
//! its fuzzer): a fault that is never caught shows a hole in the workload, the nemesis or
//! the checker, and a false alarm on the correct broker shows a checker or harness bug.
//!
//! Exit status: 0 every fault caught in every seed and no false alarm, 1 otherwise, 4 when a
//! run could not be carried out (a child's harness error, a missing run directory or file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use checker::history::model::{History, LineIndex, Nanos};
use serde::{Deserialize, Serialize};

/// Arguments of `samsa campaign`.
#[derive(clap::Args, Debug)]
pub struct CampaignArgs {
    /// Seeds of every seeded-fault run, comma-separated (e.g. 101,102,103).
    #[arg(long, conflicts_with_all = ["seed_count", "first_seed"])]
    seeds: Option<String>,
    /// Number of consecutive seeds, from --first-seed (instead of --seeds).
    #[arg(long, default_value_t = 3)]
    seed_count: u64,
    /// First of the --seed-count consecutive seeds.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Seeded faults to run: `all` (every name `broker-under-test --list-seeded-faults`
    /// prints) or a comma-separated subset.
    #[arg(long, default_value = "all")]
    faults: String,
    /// Seeds of the correct-broker runs (default: twice as many as the fault seeds: those
    /// seeds, then as many following the largest).
    #[arg(long)]
    healthy_seeds: Option<String>,
    /// `--time-limit` of every run, in seconds (default: samsa test's default).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Where the runs are stored (`--store` of every run).
    #[arg(long, default_value = "histories")]
    store: PathBuf,
    /// Where the campaign's summary is written.
    #[arg(long, default_value = "campaign.json")]
    out: PathBuf,
    /// The broker-under-test binary asked for its fault list (default: beside samsa).
    #[arg(long)]
    broker_binary: Option<PathBuf>,
    /// Arguments passed to every `samsa test` after the campaign's own (after `--`).
    #[arg(last = true)]
    extra: Vec<String>,
}

/// How one run ended, from the child's exit status (HISTORY.md: 0 valid, 1 invalid,
/// 2 unknown; 4 the harness could not complete the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Exit 0.
    Valid,
    /// Exit 1.
    Invalid,
    /// Exit 2.
    Unknown,
    /// Exit 4, any other status, or a run whose directory or files could not be read.
    HarnessError,
}

impl RunOutcome {
    /// The outcome an exit status stands for (`None`: killed by a signal).
    pub fn from_exit(code: Option<i32>) -> RunOutcome {
        match code {
            Some(0) => RunOutcome::Valid,
            Some(1) => RunOutcome::Invalid,
            Some(2) => RunOutcome::Unknown,
            _ => RunOutcome::HarnessError,
        }
    }
}

/// One `samsa test` run of the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// The seeded fault switched on, `None` for the correct broker.
    pub fault: Option<String>,
    /// The run's seed.
    pub seed: u64,
    /// The child's exit status (`None` when killed by a signal or never started).
    pub exit_code: Option<i32>,
    /// What the run concluded.
    pub outcome: RunOutcome,
    /// The run directory the child announced.
    pub run_dir: Option<PathBuf>,
    /// The anomaly types that count against the verdict.
    pub anomalies: Vec<String>,
    /// Milliseconds from the start of the latest nemesis fault before the first
    /// invalidating operation to that operation (`None`: valid, or no fault before it).
    pub detection_ms: Option<f64>,
    /// Why the run is a harness error, if it is.
    pub error: Option<String>,
    /// Wall-clock seconds the child took.
    pub wall_s: f64,
}

/// The runs of one fault (or of the correct broker), summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSummary {
    /// The seeded fault, `None` for the correct broker.
    pub fault: Option<String>,
    /// Runs made.
    pub runs: usize,
    /// Runs judged invalid: caught (a false alarm for the correct broker).
    pub invalid: usize,
    /// Runs judged unknown.
    pub unknown: usize,
    /// Runs that ended in a harness error.
    pub harness_errors: usize,
    /// Every invalidating anomaly type seen, sorted.
    pub anomalies: Vec<String>,
    /// Median of the runs' `detection_ms`, over the runs that have one.
    pub median_detection_ms: Option<f64>,
}

/// Everything `campaign.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignReport {
    /// Seeds of the seeded-fault runs.
    pub seeds: Vec<u64>,
    /// Seeds of the correct-broker runs.
    pub healthy_seeds: Vec<u64>,
    /// The faults run, in the broker's order.
    pub faults: Vec<String>,
    /// Every run, in the order made.
    pub runs: Vec<RunRow>,
    /// One summary per fault, then the correct broker's.
    pub summary: Vec<FaultSummary>,
}

pub use harness::run_dir::RunResults;

/// Parses a comma-separated seed list; empty entries, non-numbers and repeats are errors.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let mut seeds = Vec::new();
    for word in s.split(',').map(str::trim) {
        let seed: u64 = word
            .parse()
            .map_err(|e| format!("seed {word:?} in {s:?} is not a non-negative integer: {e}"))?;
        if seeds.contains(&seed) {
            return Err(format!("seed {seed} appears twice in {s:?}"));
        }
        seeds.push(seed);
    }
    Ok(seeds)
}

/// `count` consecutive seeds from `first`.
pub fn consecutive_seeds(first: u64, count: u64) -> Result<Vec<u64>, String> {
    if count == 0 {
        return Err("--seed-count must be at least 1".to_owned());
    }
    let last = first
        .checked_add(count - 1)
        .ok_or_else(|| format!("--first-seed {first} + --seed-count {count} overflows"))?;
    Ok((first..=last).collect())
}

/// The default healthy seeds: the fault seeds, then as many again after the largest.
pub fn default_healthy_seeds(seeds: &[u64]) -> Vec<u64> {
    let max = seeds.iter().copied().max().unwrap_or(0);
    let more = (1..=seeds.len() as u64).filter_map(|i| max.checked_add(i));
    seeds.iter().copied().chain(more).collect()
}

/// The faults named by `spec` (`all`, or a comma-separated subset of `available`).
pub fn select_faults(spec: &str, available: &[String]) -> Result<Vec<String>, String> {
    if spec.trim() == "all" {
        return Ok(available.to_vec());
    }
    let mut chosen = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !available.iter().any(|a| a == name) {
            return Err(format!(
                "unknown seeded fault {name:?}: the broker lists {}",
                available.join(", ")
            ));
        }
        if !chosen.iter().any(|c: &String| c == name) {
            chosen.push(name.to_owned());
        }
    }
    if chosen.is_empty() {
        return Err(format!("--faults {spec:?} names no fault"));
    }
    Ok(chosen)
}

/// Milliseconds from the start of the latest nemesis fault at or before the first
/// invalidating operation to that operation. The first invalidating operation is the
/// earliest (by the history's `time`) of the witness lines of the invalidating findings.
/// `None` when there is no witness line or no fault started before it.
pub fn detection_ms(history: &History, results: &RunResults) -> Option<f64> {
    let mut times: BTreeMap<LineIndex, Nanos> = BTreeMap::new();
    for op in &history.ops {
        times.insert(op.invoke_index, op.invoke_time);
        if let (Some(i), Some(t)) = (op.complete_index, op.complete_time) {
            times.insert(i, t);
        }
    }
    let invalidating = results.invalidating();
    let first = invalidating
        .iter()
        .filter_map(|name| results.anomalies.get(name))
        .flatten()
        .flat_map(|f| f.ops.iter())
        .filter_map(|i| times.get(i).copied())
        .min()?;
    // `closer_of` is the one table of which nemesis functions open a fault.
    let fault_start = history
        .nemesis
        .iter()
        .filter(|e| harness::report::faults::closer_of(&e.f).is_some() && e.time <= first)
        .map(|e| e.time)
        .max()?;
    Some((first - fault_start) as f64 / 1e6)
}

/// The median (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// One summary per fault in `faults` order, then the correct broker's (if it ran).
pub fn summarise(faults: &[String], rows: &[RunRow]) -> Vec<FaultSummary> {
    let groups = faults
        .iter()
        .map(|f| Some(f.clone()))
        .chain(std::iter::once(None));
    groups
        .filter_map(|fault| {
            let mine: Vec<&RunRow> = rows.iter().filter(|r| r.fault == fault).collect();
            if mine.is_empty() && fault.is_none() {
                return None;
            }
            let count = |o: RunOutcome| mine.iter().filter(|r| r.outcome == o).count();
            let anomalies: BTreeSet<String> = mine
                .iter()
                .flat_map(|r| r.anomalies.iter().cloned())
                .collect();
            let latencies: Vec<f64> = mine.iter().filter_map(|r| r.detection_ms).collect();
            Some(FaultSummary {
                fault,
                runs: mine.len(),
                invalid: count(RunOutcome::Invalid),
                unknown: count(RunOutcome::Unknown),
                harness_errors: count(RunOutcome::HarnessError),
                anomalies: anomalies.into_iter().collect(),
                median_detection_ms: median(&latencies),
            })
        })
        .collect()
}

/// The campaign's exit status: 4 on any harness error, 0 when every fault run was caught
/// and no healthy run raised a false alarm, 1 otherwise.
pub fn exit_status(summary: &[FaultSummary]) -> u8 {
    if summary.iter().any(|s| s.harness_errors > 0) {
        return super::HARNESS_ERROR;
    }
    let all_caught = summary
        .iter()
        .filter(|s| s.fault.is_some())
        .all(|s| s.invalid == s.runs);
    let no_false_alarm = summary
        .iter()
        .filter(|s| s.fault.is_none())
        .all(|s| s.invalid == 0);
    if all_caught && no_false_alarm {
        0
    } else {
        1
    }
}

/// The final table: one line per fault (caught/N), then the correct broker (false alarms/N).
pub fn render_table(summary: &[FaultSummary]) -> String {
    let mut out = format!(
        "{:<24} {:>9} {:>11} {:>8} {:>7}  anomalies\n",
        "fault", "caught", "median ms", "unknown", "errors"
    );
    for s in summary {
        let (name, verdict) = match &s.fault {
            Some(f) => (f.as_str(), format!("{}/{}", s.invalid, s.runs)),
            None => (
                "(healthy: false alarms)",
                format!("{}/{}", s.invalid, s.runs),
            ),
        };
        let latency = s
            .median_detection_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0}"));
        let anomalies = if s.anomalies.is_empty() {
            "-".to_owned()
        } else {
            s.anomalies.join(",")
        };
        out.push_str(&format!(
            "{name:<24} {verdict:>9} {latency:>11} {:>8} {:>7}  {anomalies}\n",
            s.unknown, s.harness_errors
        ));
    }
    out
}

/// One line printed as a run completes.
pub fn render_row(row: &RunRow) -> String {
    let fault = row.fault.as_deref().unwrap_or("healthy");
    let detail = match (&row.error, row.anomalies.is_empty()) {
        (Some(e), _) => e.clone(),
        (None, false) => row.anomalies.join(","),
        (None, true) => "-".to_owned(),
    };
    let latency = row
        .detection_ms
        .map_or_else(String::new, |ms| format!(" after {ms:.0} ms"));
    format!(
        "campaign: {fault} seed {}: {:?} ({detail}){latency} in {:.0} s",
        row.seed, row.outcome, row.wall_s
    )
}

/// The fault names the broker prints with `--list-seeded-faults`.
fn list_faults(binary: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(binary)
        .arg("--list-seeded-faults")
        .env_remove("BROKER_SEEDED_FAULTS")
        .output()
        .map_err(|e| format!("cannot run {} --list-seeded-faults: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --list-seeded-faults exited {}: {}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err(format!(
            "{} --list-seeded-faults printed no fault",
            binary.display()
        ));
    }
    Ok(names)
}

/// How long one child may run: its phases plus a generous allowance for setup (image
/// build, cluster start), final reads (bounded at 60 s each by default) and checking.
fn child_time_max(time_limit: Option<f64>) -> Duration {
    let main_phase_s = time_limit.unwrap_or(60.0).max(0.0);
    Duration::from_secs_f64(main_phase_s * 2.0 + 900.0)
}

/// Runs one `samsa test` child and reads what it left.
fn run_one(args: &CampaignArgs, fault: Option<&str>, seed: u64, logs: &Path) -> RunRow {
    let started = Instant::now();
    let name = format!("campaign-{}", fault.unwrap_or("healthy"));
    let mut row = RunRow {
        fault: fault.map(str::to_owned),
        seed,
        exit_code: None,
        outcome: RunOutcome::HarnessError,
        run_dir: None,
        anomalies: Vec::new(),
        detection_ms: None,
        error: None,
        wall_s: 0.0,
    };
    match spawn_and_wait(args, fault, seed, &name, logs) {
        Ok((code, dir)) => {
            row.exit_code = code;
            row.outcome = RunOutcome::from_exit(code);
            row.run_dir = dir;
        }
        Err(e) => row.error = Some(e),
    }
    if matches!(
        row.outcome,
        RunOutcome::Invalid | RunOutcome::Unknown | RunOutcome::Valid
    ) {
        match &row.run_dir {
            None => {
                row.outcome = RunOutcome::HarnessError;
                row.error = Some("the run announced no run directory".to_owned());
            }
            Some(dir) => match read_run(dir) {
                Ok((anomalies, latency)) => {
                    row.anomalies = anomalies;
                    row.detection_ms = latency;
                }
                Err(e) => {
                    row.outcome = RunOutcome::HarnessError;
                    row.error = Some(e);
                }
            },
        }
    } else if row.error.is_none() {
        row.error = Some(format!("samsa test exited {:?}", row.exit_code));
    }
    row.wall_s = started.elapsed().as_secs_f64();
    row
}

/// Starts the child with its output in `logs/<name>-<seed>.log`, waits at most
/// [`child_time_max`] (then kills it); returns its exit code and announced run directory.
fn spawn_and_wait(
    args: &CampaignArgs,
    fault: Option<&str>,
    seed: u64,
    name: &str,
    logs: &Path,
) -> Result<(Option<i32>, Option<PathBuf>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find samsa itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("test")
        .args(["--seed", &seed.to_string(), "--name", name, "--store"])
        .arg(&args.store);
    if let Some(t) = args.time_limit {
        cmd.args(["--time-limit", &t.to_string()]);
    }
    if let Some(fault) = fault {
        cmd.args(["--broker-env", &format!("BROKER_SEEDED_FAULTS={fault}")]);
    }
    cmd.args(&args.extra);
    let log_path = logs.join(format!("{name}-{seed}.log"));
    super::child::run_child(cmd, &log_path, child_time_max(args.time_limit))
}

/// The invalidating anomaly types and the detection latency of a finished run.
fn read_run(dir: &Path) -> Result<(Vec<String>, Option<f64>), String> {
    let run = harness::run_dir::RunDir::new(dir);
    let results = run.read_results().map_err(|e| e.to_string())?;
    let history_path = run.history();
    let history = checker::history::read_path(&history_path)
        .map_err(|e| format!("{}: {e}", history_path.display()))?;
    Ok((results.invalidating(), detection_ms(&history, &results)))
}

/// What a campaign will run: fault seeds, healthy seeds, faults.
struct Plan {
    seeds: Vec<u64>,
    healthy_seeds: Vec<u64>,
    faults: Vec<String>,
}

fn plan(args: &CampaignArgs) -> Result<Plan, String> {
    let seeds = match &args.seeds {
        Some(s) => parse_seeds(s)?,
        None => consecutive_seeds(args.first_seed, args.seed_count)?,
    };
    let healthy = match &args.healthy_seeds {
        Some(s) if s.trim().is_empty() => Vec::new(),
        Some(s) => parse_seeds(s)?,
        None => default_healthy_seeds(&seeds),
    };
    if let Some(t) = args.time_limit {
        if !(t.is_finite() && t >= 0.0) {
            return Err(format!(
                "--time-limit must be a non-negative number, not {t}"
            ));
        }
    }
    let binary = args
        .broker_binary
        .clone()
        .unwrap_or_else(harness::run::default_broker_binary);
    let faults = select_faults(&args.faults, &list_faults(&binary)?)?;
    Ok(Plan {
        seeds,
        healthy_seeds: healthy,
        faults,
    })
}

/// Runs `samsa campaign` and maps the outcome to the exit status.
pub fn run(args: &CampaignArgs) -> ExitCode {
    let Plan {
        seeds,
        healthy_seeds,
        faults,
    } = match plan(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("samsa campaign: {e}");
            return ExitCode::from(super::HARNESS_ERROR);
        }
    };
    let logs = args.store.join("campaign-logs");
    if let Err(e) = std::fs::create_dir_all(&logs) {
        eprintln!("samsa campaign: cannot create {}: {e}", logs.display());
        return ExitCode::from(super::HARNESS_ERROR);
    }
    let mut jobs: Vec<(Option<&str>, u64)> = Vec::new();
    for fault in &faults {
        jobs.extend(seeds.iter().map(|&s| (Some(fault.as_str()), s)));
    }
    jobs.extend(healthy_seeds.iter().map(|&s| (None, s)));
    eprintln!(
        "samsa campaign: {} runs ({} faults x {} seeds, {} healthy); child output in {}",
        jobs.len(),
        faults.len(),
        seeds.len(),
        healthy_seeds.len(),
        logs.display()
    );
    let mut rows = Vec::with_capacity(jobs.len());
    for (fault, seed) in jobs {
        let row = run_one(args, fault, seed, &logs);
        println!("{}", render_row(&row));
        rows.push(row);
    }
    let summary = summarise(&faults, &rows);
    print!("{}", render_table(&summary));
    let report = CampaignReport {
        seeds,
        healthy_seeds,
        faults,
        runs: rows,
        summary,
    };
    let written = serde_json::to_string_pretty(&report)
        .map_err(|e| e.to_string())
        .and_then(|json| std::fs::write(&args.out, json).map_err(|e| e.to_string()));
    if let Err(e) = written {
        eprintln!("samsa campaign: cannot write {}: {e}", args.out.display());
        return ExitCode::from(super::HARNESS_ERROR);
    }
    println!("campaign: summary in {}", args.out.display());
    ExitCode::from(exit_status(&report.summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        fault: Option<&str>,
        seed: u64,
        outcome: RunOutcome,
        anomalies: &[&str],
        ms: Option<f64>,
    ) -> RunRow {
        RunRow {
            fault: fault.map(str::to_owned),
            seed,
            exit_code: None,
            outcome,
            run_dir: None,
            anomalies: anomalies.iter().map(|a| (*a).to_owned()).collect(),
            detection_ms: ms,
            error: None,
            wall_s: 1.0,
        }
    }

    // Goal: seed lists parse, and bad ones are errors naming the culprit. Method: examples.
    #[test]
    fn seed_lists_parse_and_bad_ones_are_named() {
        assert_eq!(parse_seeds("101, 102,103"), Ok(vec![101, 102, 103]));
        assert!(parse_seeds("101,,102").is_err());
        assert!(parse_seeds("7,x").expect_err("x").contains("\"x\""));
        assert!(parse_seeds("7,7").expect_err("dup").contains("twice"));
        assert_eq!(consecutive_seeds(5, 3), Ok(vec![5, 6, 7]));
        assert!(consecutive_seeds(5, 0).is_err());
        assert!(consecutive_seeds(u64::MAX, 2).is_err());
        assert_eq!(default_healthy_seeds(&[7]), vec![7, 8]);
        assert_eq!(default_healthy_seeds(&[3, 9]), vec![3, 9, 10, 11]);
    }

    // Goal: `all` takes the broker's list in its order; a subset is checked against it.
    // Method: a list as `--list-seeded-faults` prints it.
    #[test]
    fn faults_are_selected_from_the_brokers_list() {
        let listed: Vec<String> = ["no-dedup", "zombie-leader"].map(String::from).to_vec();
        assert_eq!(select_faults("all", &listed), Ok(listed.clone()));
        assert_eq!(
            select_faults("zombie-leader,zombie-leader", &listed),
            Ok(vec!["zombie-leader".to_owned()])
        );
        let err = select_faults("no-dedup,eat-data", &listed).expect_err("unknown");
        assert!(err.contains("eat-data") && err.contains("zombie-leader"));
        assert!(select_faults(",", &listed).is_err());
    }

    // Goal: the median of odd and even counts, ignoring nothing finite. Method: examples.
    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    // Goal: the summary counts caught runs, false alarms, unknowns and errors per fault,
    // the table shows them, and the exit status follows: 0 all caught and no false alarm,
    // 1 a miss or a false alarm, 4 any harness error. Method: hand-made rows.
    #[test]
    fn summary_table_and_exit_status_from_rows() {
        let faults = vec!["no-dedup".to_owned(), "zombie-leader".to_owned()];
        let mut rows = vec![
            row(
                Some("no-dedup"),
                1,
                RunOutcome::Invalid,
                &["duplicate"],
                Some(300.0),
            ),
            row(
                Some("no-dedup"),
                2,
                RunOutcome::Invalid,
                &["duplicate", "lost-write"],
                Some(100.0),
            ),
            row(
                Some("zombie-leader"),
                1,
                RunOutcome::Invalid,
                &["lost-write"],
                None,
            ),
            row(
                Some("zombie-leader"),
                2,
                RunOutcome::Invalid,
                &["lost-write"],
                Some(50.0),
            ),
            row(None, 1, RunOutcome::Valid, &[], None),
            row(None, 2, RunOutcome::Unknown, &[], None),
        ];
        let summary = summarise(&faults, &rows);
        assert_eq!(summary.len(), 3);
        assert_eq!(summary[0].invalid, 2);
        assert_eq!(summary[0].anomalies, vec!["duplicate", "lost-write"]);
        assert_eq!(summary[0].median_detection_ms, Some(200.0));
        assert_eq!(summary[1].median_detection_ms, Some(50.0));
        assert_eq!(
            (
                summary[2].fault.clone(),
                summary[2].invalid,
                summary[2].unknown
            ),
            (None, 0, 1)
        );
        assert_eq!(exit_status(&summary), 0);
        let table = render_table(&summary);
        assert!(table.contains("no-dedup") && table.contains("2/2") && table.contains("200"));
        assert!(table.contains("(healthy: false alarms)") && table.contains("0/2"));

        rows[3].outcome = RunOutcome::Valid;
        assert_eq!(exit_status(&summarise(&faults, &rows)), 1, "a missed seed");
        rows[3].outcome = RunOutcome::Invalid;
        rows[4].outcome = RunOutcome::Invalid;
        assert_eq!(exit_status(&summarise(&faults, &rows)), 1, "a false alarm");
        rows[4].outcome = RunOutcome::HarnessError;
        let summary = summarise(&faults, &rows);
        assert_eq!(summary[2].harness_errors, 1);
        assert_eq!(exit_status(&summary), 4);
        assert!(render_table(&summary).lines().count() == 4);
    }

    // Goal: only counted anomaly types invalidate, and the detection time runs from the
    // latest fault start before the earliest witness line of a counted finding (a heal or
    // a fault after it does not count). Method: a tiny history and results document.
    #[test]
    fn detection_time_runs_from_the_latest_fault_start_before_the_first_witness() {
        use checker::history::line::Process;
        use checker::history::line::{to_jsonl, Line, LineFunction, LineType, LineValue};
        use checker::history::model::Function::{Poll, Send};
        let ms = 1_000_000;
        let fault = |index, time, f: &str, value| Line {
            process: Process::Nemesis,
            f: LineFunction::Event(f.to_owned()),
            value: LineValue::Other(value),
            ..Line::client(index, time, 0, LineType::Info, Send, LineValue::null())
        };
        let lines = [
            fault(0, ms, "start-partition", serde_json::json!({"n1": ["n2"]})),
            fault(1, 2 * ms, "stop-partition", serde_json::Value::Null),
            fault(2, 3 * ms, "kill", serde_json::json!(["n1"])),
            Line::client(
                3,
                5 * ms,
                0,
                LineType::Invoke,
                Send,
                LineValue::send("0", 1),
            ),
            Line::client(
                4,
                6 * ms,
                0,
                LineType::Ok,
                Send,
                LineValue::sent("0", Some(0), 1),
            ),
            fault(5, 9 * ms, "pause", serde_json::json!(["n2"])),
            Line::client(6, 9_500_000, 1, LineType::Invoke, Poll, LineValue::poll()),
            Line::client(
                7,
                9_800_000,
                1,
                LineType::Ok,
                Poll,
                LineValue::polled(vec![("0".into(), vec![])]),
            ),
        ];
        let text = to_jsonl(None, &lines);
        let history = checker::history::read(text.as_bytes()).expect("history");
        let results: RunResults = serde_json::from_str(
            r#"{"valid":false,"anomaly_types":["lost-write","unseen"],
                "anomalies":{"lost-write":[{"ops":[7,4,3]}],"unseen":[{"ops":[0]}]},
                "not_counted":[{"type":"unseen","reason":"information"}]}"#,
        )
        .expect("results");
        assert_eq!(results.invalidating(), vec!["lost-write"]);
        // First witness: index 3 at 5 ms; latest fault start before it: kill at 3 ms.
        assert_eq!(detection_ms(&history, &results), Some(2.0));
        let none: RunResults =
            serde_json::from_str(r#"{"valid":true,"anomaly_types":[]}"#).expect("results");
        assert_eq!(detection_ms(&history, &none), None);
    }

    // Goal: the results the checker writes parse, `not_counted` included (a campaign run
    // whose results listed `unseen` once ended as a harness error). Method: the checker's
    // own `NotCounted` serialised, read back as the campaign reads it.
    #[test]
    fn not_counted_parses_as_the_checker_writes_it() {
        let written = serde_json::to_value(checker::check::NotCounted {
            kind: checker::anomaly::AnomalyKind::Unseen,
            reason: "information".into(),
        })
        .expect("serialises");
        let document = serde_json::json!({
            "valid": false,
            "anomaly_types": ["lost-write", "unseen"],
            "not_counted": [written],
        });
        let results: RunResults = serde_json::from_value(document).expect("parses");
        assert_eq!(results.invalidating(), vec!["lost-write"]);
    }
}
