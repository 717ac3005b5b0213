//! `samsa report RUN_DIR`: (re)writes `report.html` and `junit.xml` in a run directory
//! (or for a bare `history.jsonl`, beside it). The verdict is recomputed from the history
//! with the checker, so a report can be made for a run that was interrupted before its
//! check, or after the checker learned something new.
//!
//! Exit statuses follow `samsa check`: 0 valid, 1 invalid, 2 unknown, 3 unreadable input
//! or a report that could not be written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use checker::check::{check, CheckOptions, Validity};
use checker::linear::{Engine, LinearOptions};
use harness::report::{inputs, write_report_with};
use harness::run_dir::{RunDir, RESULTS_FILE};

/// Arguments of `samsa report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// A run directory (holding history.jsonl), or a history.jsonl file.
    run_dir: PathBuf,
    /// The linearizability search answers "unknown" after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
}

/// Writes the report and maps the verdict to the exit status.
pub fn run(args: &ReportArgs) -> ExitCode {
    match run_inner(args) {
        Ok(Validity::Valid) => ExitCode::from(0),
        Ok(Validity::Invalid) => ExitCode::from(1),
        Ok(Validity::Unknown) => ExitCode::from(2),
        Err(e) => {
            eprintln!("samsa report: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run_inner(args: &ReportArgs) -> anyhow::Result<Validity> {
    if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
        anyhow::bail!("--time-limit must be a positive number of seconds");
    }
    let dir = if args.run_dir.is_dir() {
        args.run_dir.clone()
    } else {
        args.run_dir
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_owned()
                }
            })
            .context("the history file has no parent directory")?
    };
    // The reader's error already names the file and the problem.
    let history = checker::history::read_path(&args.run_dir)?;
    let options = CheckOptions {
        linear: LinearOptions {
            engine: Engine::Graph,
            time_limit: Duration::from_secs_f64(args.time_limit),
        },
    };
    let mut result = check(&history, &options);
    let mut run_inputs = inputs::RunInputs::load(&dir);
    // The run's own reasons for "unknown" (results.json) hold for the page too, so the
    // report says what `samsa check DIR` and the run say.
    match RunDir::new(&dir).read_results() {
        Ok(previous) => {
            for reason in previous.harness_unknown_reasons {
                result.mark_unknown(reason);
            }
        }
        Err(_) => run_inputs.notes.push(format!(
            "{RESULTS_FILE} is missing or unreadable: the verdict shown was computed by `samsa report`"
        )),
    }
    let path = write_report_with(&dir, &history, &result, &run_inputs)
        .with_context(|| format!("cannot write the report into {}", dir.display()))?;
    println!("{}", path.display());
    Ok(result.valid)
}
