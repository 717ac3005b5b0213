//! `samsa shrink RUN_DIR [--budget 30m] [--attempts 3]`: which of a failing run's faults
//! were needed. Re-runs the run's configuration (its `test.json` command, same seed) with
//! subsets of its fault timeline (`samsa schedule`), then shorter windows and a shorter
//! main phase ([`harness::shrink`]), each candidate as `samsa test --schedule` child runs.
//! A candidate reproduces when any of its attempts is invalid with one of the anomaly
//! kinds the original found: real bugs are flaky, so one miss proves nothing.
//!
//! Everything lands in `RUN_DIR/shrink/`: each candidate's timeline, the attempts' run
//! directories (`runs/attempt/<timestamp>/`, whose reports link back to the original) and
//! logs, `shrink.json` (every step, its attempts and verdicts), and `minimal.json`, the
//! smallest reproducing timeline, with the `samsa test --schedule` command that replays it.
//!
//! Exit status: 0 a reproducing timeline was found (the smallest is printed), 1 the
//! original did not reproduce within its attempts, 4 the run directory cannot be shrunk
//! (not invalid, no test.json, unreadable history).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::run_dir::RunDir;
use harness::shrink::{shrink, Candidate, StepKind};
use nemesis::{FaultTimeline, TIMELINE_FORMAT};
use serde::Serialize;

/// Arguments of `samsa shrink`.
#[derive(clap::Args, Debug)]
pub struct ShrinkArgs {
    /// The failing run's directory.
    run: PathBuf,
    /// Stop starting attempts after this long: `30m`, `90s`, `1h`, or seconds.
    #[arg(long, default_value = "30m", value_parser = parse_budget)]
    budget: Duration,
    /// Attempts per candidate; it reproduces when any of them shows the failure.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    attempts: u32,
}

/// `30m`, `90s`, `1h`, `1h30m` or plain seconds.
fn parse_budget(text: &str) -> Result<Duration, String> {
    let bad = || format!("budget {text:?}: expected e.g. 30m, 90s, 1h30m or seconds");
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// `shrink.json`.
#[derive(Debug, Serialize)]
struct ShrinkFile {
    /// The failing run.
    source: PathBuf,
    /// The anomaly kinds a candidate must show (any of them) to reproduce.
    target_anomalies: Vec<String>,
    budget_s: u64,
    attempts_max: u32,
    steps: Vec<StepRecord>,
    /// The smallest reproducing timeline, if any.
    minimal: Option<Candidate>,
    /// The command that replays it.
    command: Option<String>,
    /// The budget ran out before the search finished.
    budget_spent: bool,
    wall_s: f64,
}

#[derive(Debug, Serialize)]
struct StepRecord {
    step: usize,
    kind: StepKind,
    candidate: Candidate,
    timeline: PathBuf,
    attempts: Vec<AttemptRecord>,
    reproduced: bool,
}

#[derive(Debug, Serialize)]
struct AttemptRecord {
    run_dir: Option<PathBuf>,
    exit_code: Option<i32>,
    anomalies: Vec<String>,
    reproduced: bool,
    error: Option<String>,
    wall_s: f64,
}

/// Runs the search and prints the smallest reproducing command.
pub fn run(args: &ShrinkArgs) -> ExitCode {
    match run_inner(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("samsa shrink: {e:#}");
            ExitCode::from(super::HARNESS_ERROR)
        }
    }
}

/// What every attempt needs: the original's flags, the anomalies to look for, the files.
struct Setup {
    base_args: Vec<String>,
    target: Vec<String>,
    out: PathBuf,
    runs: PathBuf,
    original_time_limit_ms: u64,
}

fn run_inner(args: &ShrinkArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let dir = RunDir::new(&args.run);
    let test = dir.read_test()?;
    let results = dir.read_results()?;
    let target = results.invalidating();
    if target.is_empty() {
        anyhow::bail!(
            "{}: the run is {}, with no anomaly to reproduce; shrink a failing run",
            args.run.display(),
            results.verdict()
        );
    }
    let command = test
        .command
        .with_context(|| format!("{}: no command to re-run", dir.test_json().display()))?;
    let time_limit_ms = test
        .config
        .as_ref()
        .and_then(|c| c.get("time_limit"))
        .and_then(|t| serde_json::from_value::<Duration>(t.clone()).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .with_context(|| format!("{}: no config.time_limit", dir.test_json().display()))?;
    let timeline = super::schedule::timeline_of(&args.run)?;
    let out = args.run.join("shrink");
    let runs = out.join("runs");
    std::fs::create_dir_all(out.join("logs"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    let setup = Setup {
        base_args: base_args(&command)?,
        target,
        out,
        runs,
        original_time_limit_ms: time_limit_ms,
    };
    eprintln!(
        "samsa shrink: {} faults, {:.1} s main phase; reproducing means invalid with any of: {}; budget {} s, {} attempts per candidate",
        timeline.faults.len(),
        time_limit_ms as f64 / 1000.0,
        setup.target.join(", "),
        args.budget.as_secs(),
        args.attempts
    );
    let mut steps: Vec<StepRecord> = Vec::new();
    let original = Candidate {
        faults: timeline.faults,
        time_limit_ms,
    };
    let outcome = shrink(original, |kind, candidate| {
        if started.elapsed() >= args.budget {
            return None;
        }
        let step = steps.len() + 1;
        match try_candidate(&setup, args, step, kind, candidate, started) {
            Ok(record) => {
                let reproduced = record.reproduced;
                steps.push(record);
                Some(reproduced)
            }
            Err(e) => {
                eprintln!("samsa shrink: step {step}: {e:#}; stopping");
                None
            }
        }
    });
    let command = match &outcome.minimal {
        Some(c) => {
            let path = setup.out.join("minimal.json");
            write_timeline(&path, &args.run, c)?;
            Some(replay_command(&setup.base_args, c.time_limit_ms, &path))
        }
        None => None,
    };
    let file = ShrinkFile {
        source: args.run.clone(),
        target_anomalies: setup.target.clone(),
        budget_s: args.budget.as_secs(),
        attempts_max: args.attempts,
        steps,
        minimal: outcome.minimal.clone(),
        command: command.clone(),
        budget_spent: outcome.budget_spent,
        wall_s: started.elapsed().as_secs_f64(),
    };
    let json_path = setup.out.join("shrink.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    match (&outcome.minimal, command) {
        (Some(c), Some(command)) => {
            println!(
                "samsa shrink: smallest reproducing timeline: {}{} (after {} runs, {:.0} s)",
                c.describe(),
                if outcome.budget_spent {
                    "; the budget ran out before the search finished"
                } else {
                    ""
                },
                file.steps.iter().map(|s| s.attempts.len()).sum::<usize>(),
                file.wall_s
            );
            println!("  replay: {command}");
            println!("  steps: {}", json_path.display());
            Ok(true)
        }
        _ => {
            println!(
                "samsa shrink: the original timeline did not reproduce in {} attempts{}; see {}",
                args.attempts,
                if outcome.budget_spent {
                    " (budget spent)"
                } else {
                    ""
                },
                json_path.display()
            );
            Ok(false)
        }
    }
}

/// The original command's flags without those a replay sets itself (where runs go, the
/// main phase, the fault schedule, repetition).
fn base_args(command: &str) -> anyhow::Result<Vec<String>> {
    let words = shlex::split(command)
        .with_context(|| format!("cannot split the recorded command {command:?}"))?;
    let mut words = words.into_iter().peekable();
    if words.peek().is_some_and(|w| w == "samsa") {
        words.next();
    }
    if words.peek().is_some_and(|w| w == "test") {
        words.next();
    }
    // Flags that take a value, and a flag that takes none.
    const REPLACED: [&str; 10] = [
        "--store",
        "--name",
        "--time-limit",
        "--schedule",
        "--nemesis",
        "--nemesis-interval",
        "--fault-duration",
        "--nemesis-combine",
        "--test-count",
        "--shrunk-from",
    ];
    const DROPPED_SWITCH: &str = "--keep";
    let mut kept = Vec::new();
    while let Some(word) = words.next() {
        let (flag, inline_value) = match word.split_once('=') {
            Some((flag, _)) => (flag, true),
            None => (word.as_str(), false),
        };
        if REPLACED.contains(&flag) {
            if !inline_value {
                words.next();
            }
        } else if word != DROPPED_SWITCH {
            kept.push(word);
        }
    }
    Ok(kept)
}

/// `samsa test ARGS --time-limit S --schedule FILE`, quoted for a shell.
fn replay_command(base_args: &[String], time_limit_ms: u64, timeline: &Path) -> String {
    let mut words: Vec<String> = vec!["samsa".into(), "test".into()];
    words.extend(base_args.iter().cloned());
    words.extend([
        "--time-limit".into(),
        seconds(time_limit_ms),
        "--schedule".into(),
        timeline.display().to_string(),
    ]);
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

fn seconds(ms: u64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

fn write_timeline(path: &Path, source: &Path, c: &Candidate) -> anyhow::Result<()> {
    let timeline = FaultTimeline {
        format: TIMELINE_FORMAT.into(),
        source: Some(format!("shrunk from {}", source.display())),
        faults: c.faults.clone(),
    };
    std::fs::write(path, serde_json::to_string_pretty(&timeline)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs up to `--attempts` child runs of one candidate, stopping at the first that
/// reproduces.
fn try_candidate(
    setup: &Setup,
    args: &ShrinkArgs,
    step: usize,
    kind: StepKind,
    candidate: &Candidate,
    started: Instant,
) -> anyhow::Result<StepRecord> {
    let timeline = setup.out.join(format!("step-{step}.json"));
    write_timeline(&timeline, &args.run, candidate)?;
    let mut attempts = Vec::new();
    for attempt in 1..=args.attempts {
        if attempt > 1 && started.elapsed() >= args.budget {
            break;
        }
        let begun = Instant::now();
        let record = attempt_once(setup, step, attempt, candidate, &timeline);
        eprintln!(
            "samsa shrink: step {step} ({}) {}: attempt {attempt}/{}: {} ({:.0} s, {:.0} s in all)",
            kind_word(kind),
            candidate.describe(),
            args.attempts,
            match (&record.error, record.reproduced) {
                (Some(e), _) => format!("error: {e}"),
                (None, true) => format!("reproduces ({})", record.anomalies.join(", ")),
                (None, false) if record.anomalies.is_empty() => "does not reproduce".into(),
                (None, false) => format!(
                    "does not reproduce (other anomalies: {})",
                    record.anomalies.join(", ")
                ),
            },
            begun.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        let reproduced = record.reproduced;
        attempts.push(record);
        if reproduced {
            break;
        }
    }
    let reproduced = attempts.iter().any(|a| a.reproduced);
    Ok(StepRecord {
        step,
        kind,
        candidate: candidate.clone(),
        timeline,
        attempts,
        reproduced,
    })
}

fn kind_word(kind: StepKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"))
}

/// One `samsa test --schedule` child run of a candidate.
fn attempt_once(
    setup: &Setup,
    step: usize,
    attempt: u32,
    candidate: &Candidate,
    timeline: &Path,
) -> AttemptRecord {
    let begun = Instant::now();
    let mut record = AttemptRecord {
        run_dir: None,
        exit_code: None,
        anomalies: Vec::new(),
        reproduced: false,
        error: None,
        wall_s: 0.0,
    };
    let result = (|| -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find samsa itself: {e}"))?;
        let mut cmd = Command::new(exe);
        // Runs land in runs/attempt/<timestamp>/: the original is four levels up.
        cmd.arg("test")
            .args(&setup.base_args)
            .args(["--name", "attempt", "--store"])
            .arg(&setup.runs)
            .args(["--time-limit", &seconds(candidate.time_limit_ms)])
            .arg("--schedule")
            .arg(timeline)
            .args(["--shrunk-from", "../../../.."]);
        let log = setup
            .out
            .join("logs")
            .join(format!("step-{step}-attempt-{attempt}.log"));
        let time_max =
            Duration::from_millis(setup.original_time_limit_ms.max(candidate.time_limit_ms) * 2)
                + Duration::from_secs(900);
        let (code, dir) = super::child::run_child(cmd, &log, time_max)?;
        record.exit_code = code;
        let dir = dir.ok_or_else(|| {
            format!(
                "the run announced no run directory (log: {})",
                log.display()
            )
        })?;
        record.run_dir = Some(dir.clone());
        if !matches!(code, Some(0..=2)) {
            return Err(format!(
                "samsa test exited {code:?} (log: {})",
                log.display()
            ));
        }
        let results = RunDir::new(&dir)
            .read_results()
            .map_err(|e| e.to_string())?;
        record.anomalies = results.invalidating();
        record.reproduced =
            code == Some(1) && record.anomalies.iter().any(|a| setup.target.contains(a));
        Ok(())
    })();
    record.error = result.err();
    record.wall_s = begun.elapsed().as_secs_f64();
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: budgets read as a person writes them, and nonsense is refused by name.
    #[test]
    fn budgets_parse() {
        assert_eq!(parse_budget("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_budget("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_budget("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_budget("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "10x", "5m3", "0m"] {
            let err = parse_budget(bad).unwrap_err();
            assert!(err.contains("expected e.g. 30m"), "{bad:?}: {err}");
        }
    }

    // Goal: a replay keeps the original's flags (seed, broker, workload) and drops the
    // ones it sets itself, in both `--flag value` and `--flag=value` forms, and its
    // command quotes what a shell would split (method: a recorded command).
    #[test]
    fn the_original_flags_are_kept_and_the_replayed_ones_replaced() {
        let command = "samsa test --store /tmp/s --name q --time-limit 60 --nemesis=kill \
                       --broker-env 'BROKER_SEEDED_FAULTS=no-dedup' --keep --fault-duration 7 \
                       --nodes 5 --seed 601";
        let kept = base_args(command).unwrap();
        assert_eq!(
            kept,
            [
                "--broker-env",
                "BROKER_SEEDED_FAULTS=no-dedup",
                "--nodes",
                "5",
                "--seed",
                "601"
            ]
        );
        let replay = replay_command(&kept, 12_500, Path::new("/runs/a b/minimal.json"));
        assert_eq!(
            replay,
            "samsa test --broker-env 'BROKER_SEEDED_FAULTS=no-dedup' --nodes 5 --seed 601 \
             --time-limit 12.5 --schedule '/runs/a b/minimal.json'"
        );
    }
}
