//! `samsa check PATH [--json] [--witnesses-max N] [--engine graph|search|both]
//! [--time-limit SECS]`: reads a history and prints the verdict (docs/history-format.md,
//! "Results"). The JSON lists at most N findings per anomaly type and names the types it
//! cut in `truncated`, so a broken run's output stays bounded.
//!
//! Checking a run directory rewrites its `results.json`, `report.html` and `junit.xml`
//! from the one verdict it prints.
//!
//! Exit statuses are part of the contract: 0 valid, 1 invalid, 2 unknown, 3 the input
//! could not be read (the message names the file, line and problem).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use checker::check::{check, CheckOptions, CheckResult, Validity, WITNESSES_PER_TYPE_MAX};
use checker::linear::{Engine, LinearOptions};
use harness::incidents::{self, Incident};
use harness::run_dir::{self, RunDir, RunDirError};

/// How many findings of each type the human summary prints.
const FINDINGS_SHOWN_MAX: usize = 3;

/// How many incidents the human summary prints (the rest are in `results.json`).
const INCIDENTS_SHOWN_MAX: usize = 5;

/// Arguments of `samsa check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// A history.jsonl file, a run directory holding history.jsonl, or a Jepsen
    /// history.edn (by extension `.edn` or by content).
    path: PathBuf,
    /// Print one JSON object (HISTORY.md, "Results") instead of a summary.
    #[arg(long)]
    json: bool,
    /// At most this many findings of each anomaly type in the JSON (the totals stay in
    /// `stats.counts`; cut types are listed in `truncated`).
    #[arg(long, default_value_t = WITNESSES_PER_TYPE_MAX)]
    witnesses_max: usize,
    /// Which linearizability engine decides: the dependency graph, the search, or both
    /// (reporting any disagreement).
    #[arg(long, value_enum, default_value_t = EngineArg::Graph)]
    engine: EngineArg,
    /// The search engine answers "unknown" after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
}

/// `--engine` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum EngineArg {
    Graph,
    Search,
    Both,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Graph => Engine::Graph,
            EngineArg::Search => Engine::Search,
            EngineArg::Both => Engine::Both,
        }
    }
}

/// Runs the check and maps the verdict to the exit status.
pub fn run(args: &CheckArgs) -> ExitCode {
    match run_inner(args) {
        Ok(Validity::Valid) => ExitCode::from(0),
        Ok(Validity::Invalid) => ExitCode::from(1),
        Ok(Validity::Unknown) => ExitCode::from(2),
        Err(e) => {
            eprintln!("samsa check: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run_inner(args: &CheckArgs) -> anyhow::Result<Validity> {
    if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
        anyhow::bail!("--time-limit must be a positive number of seconds");
    }
    let started = Instant::now();
    // The reader's error already names the file (and the line, field and OS error): no
    // context on top, which would only say the path a second time.
    let history = if super::export::is_edn(&args.path) {
        // A Jepsen history.edn (or one `samsa export --edn` wrote).
        super::export::read_edn(&args.path)?
    } else {
        checker::history::read_path(&args.path)?
    };
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let options = CheckOptions {
        linear: LinearOptions {
            engine: args.engine.into(),
            time_limit: Duration::from_secs_f64(args.time_limit),
        },
    };
    let mut result = check(&history, &options);
    result.stats.time.read_ms = Some((read_ms * 1e3).round() / 1e3);
    let incidents = if args.path.is_dir() {
        // A run directory gets results.json, report.html and junit.xml rewritten from this
        // one verdict, so they cannot disagree; the harness's own reasons of the run (in
        // the previous results.json) are applied again. A report that cannot be drawn is
        // a warning, the verdict's exit status stands.
        let dir = RunDir::new(&args.path);
        let harness_reasons = match dir.read_results() {
            Ok(previous) => previous.harness_unknown_reasons,
            Err(RunDirError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Vec::new()
            }
            Err(e) => anyhow::bail!("{e} (move it away to re-check from the history alone)"),
        };
        let written = run_dir::write_verdict(&dir, &history, &mut result, &harness_reasons)?;
        match &written.report {
            Ok(report) => eprintln!("report: {}", report.display()),
            Err(e) => eprintln!("samsa check: warning: report not written: {e}"),
        }
        written.incidents
    } else {
        // A bare history: no state samples nor configuration, the incidents have the
        // history's facts only.
        incidents::find(&result, &history, &incidents::RunFacts::default())
    };
    if args.json {
        // Bounded after the report was written: the report shows its own selection.
        result.bound_witnesses(args.witnesses_max);
        println!("{}", serde_json::to_string(&result)?);
    } else {
        print_summary(&args.path.display().to_string(), &result, &incidents);
    }
    // The process exits next: freeing a history of ten million operations one allocation
    // at a time takes seconds (4 s measured) and returns nothing the exit would not.
    std::mem::forget(history);
    Ok(result.valid)
}

/// Prints the human summary of a verdict; `label` names what was checked. The incidents
/// come first, one line each: they say what happened, the findings below are the proof.
pub fn print_summary(label: &str, r: &CheckResult, incidents: &[Incident]) {
    let verdict = match r.valid {
        Validity::Valid => "VALID",
        Validity::Invalid => "INVALID",
        Validity::Unknown => "UNKNOWN",
    };
    let s = &r.stats;
    println!("{label}: {verdict}");
    for reason in &r.unknown_reasons {
        println!("  unknown because: {reason}");
    }
    println!(
        "  {} ops on {} keys: sends {} ok / {} fail / {} info, polls {} ok / {} other, {} txns, {} records read, {} nemesis events",
        s.ops, s.keys, s.sends_ok, s.sends_fail, s.sends_info, s.polls_ok, s.polls_other, s.txns, s.records_read, s.nemesis_events
    );
    if !incidents.is_empty() {
        println!("  incidents: {}", incidents.len());
        for line in incidents::summary_lines(incidents, INCIDENTS_SHOWN_MAX) {
            println!("    - {line}");
        }
    }
    if !r.engine_disagreements.is_empty() {
        println!(
            "  CHECKER BUG: the two linearizability engines disagree on keys {:?}",
            r.engine_disagreements
        );
    }
    if r.anomaly_types.is_empty() {
        println!("  no anomalies");
    }
    for kind in &r.anomaly_types {
        let name = kind.name();
        let found = r.anomalies.get(name).map_or(&[][..], |v| v.as_slice());
        let note = r
            .not_counted
            .iter()
            .find(|n| n.kind == *kind)
            .map_or(String::new(), |n| format!(" (not counted: {})", n.reason));
        println!("  {name}: {}{note}", found.len());
        for f in found.iter().take(FINDINGS_SHOWN_MAX) {
            println!("    - {} [ops {:?}]", f.explanation, f.ops);
        }
        if found.len() > FINDINGS_SHOWN_MAX {
            println!(
                "    ... {} more (use --json)",
                found.len() - FINDINGS_SHOWN_MAX
            );
        }
    }
    let t = &s.time;
    println!(
        "  time: read {:.1} ms, index {:.1} ms, anomalies {:.1} ms, linearizability {:.1} ms",
        t.read_ms.unwrap_or(0.0),
        t.index_ms,
        t.anomalies_ms,
        t.linear_ms
    );
}
