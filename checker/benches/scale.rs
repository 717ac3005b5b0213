//! The whole check of large histories, as `samsa check` runs it: wall time and peak
//! memory for 1 million and 10 million operations (`cargo bench -p checker --bench scale`).
//!
//! Peak memory is a process's, so each size is checked in a child process (this same
//! binary, re-run with `--check PATH`) that reports its own peak resident set (`VmHWM` of
//! `/proc/self/status`; Linux only) when it is done; the parent times the child from
//! start to exit, so the figure includes reading the file and every analysis (the history is
//! not freed one allocation at a time before exit, as in `samsa check`). The histories come from `checker::synth` with the arguments of
//! `samsa gen-history --ops N --keys 10 --concurrency 10 --seed 1`, generated once (also in
//! a child, since the generator holds its own copy of the history) into
//! `target/scale-histories/` and reused. `SAMSA_SCALE_OPS=100000,1000000` picks the sizes;
//! `cargo test` (which starts this binary without `--bench`) checks one small history.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use checker::check::{check, CheckOptions};
use checker::synth::{write_history, SynthOptions};

/// The sizes measured by `cargo bench` when `SAMSA_SCALE_OPS` does not say.
const OPS_DEFAULT: [usize; 2] = [1_000_000, 10_000_000];

/// The one size `cargo test --all-targets` runs (it starts this binary without `--bench`):
/// the same generate-and-check path, small enough that the test suite does not spend
/// minutes generating and checking ten million operations in a debug build.
const OPS_SMOKE: [usize; 1] = [20_000];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--check") => child_check(args.get(1)),
        Some("--generate") => child_generate(args.get(1), args.get(2)),
        // `cargo bench` passes `--bench` (and any filter): run the table.
        _ if args.iter().any(|a| a == "--bench") => parent(&OPS_DEFAULT),
        // `cargo test` passes no `--bench`: prove the path works on a small history.
        _ => parent(&OPS_SMOKE),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

/// Generates what is missing, checks each size in a child, prints one row a size;
/// `defaults` are the sizes when `SAMSA_SCALE_OPS` does not name them.
fn parent(defaults: &[usize]) -> Result<(), Error> {
    let sizes = match std::env::var("SAMSA_SCALE_OPS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("SAMSA_SCALE_OPS={list:?}: {e}"))?,
        Err(_) => defaults.to_vec(),
    };
    let me = std::env::current_exe()?;
    let dir = histories_dir();
    std::fs::create_dir_all(&dir)?;
    println!("ops (asked)  file MB  wall s  peak RSS MiB  child's report");
    for ops in sizes {
        let path = dir.join(format!("ops-{ops}-keys-10-conc-10-seed-1.jsonl"));
        if !path.exists() {
            let partial = path.with_extension("partial");
            run(Command::new(&me)
                .arg("--generate")
                .arg(ops.to_string())
                .arg(&partial))?;
            std::fs::rename(&partial, &path)?;
        }
        let started = Instant::now();
        let report = run(Command::new(&me).arg("--check").arg(&path))?;
        let wall = started.elapsed().as_secs_f64();
        let peak_kib = report
            .split_whitespace()
            .find_map(|w| w.strip_prefix("peak_kib="))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("the child did not report its peak: {report:?}"))?;
        let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
        println!(
            "{ops:>11}  {mb:>7.0}  {wall:>6.1}  {:>12.0}  {}",
            peak_kib as f64 / 1024.0,
            report.trim()
        );
    }
    Ok(())
}

/// Where the generated histories are kept between runs.
fn histories_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("scale-histories")
}

/// Runs a child to completion; its standard output, or an error naming what failed.
fn run(command: &mut Command) -> Result<String, Error> {
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `--generate OPS PATH`: the history of `samsa gen-history --ops OPS --keys 10
/// --concurrency 10 --seed 1`.
fn child_generate(ops: Option<&String>, path: Option<&String>) -> Result<(), Error> {
    let (Some(ops), Some(path)) = (ops, path) else {
        return Err("usage: scale --generate OPS PATH".into());
    };
    let options = SynthOptions {
        ops: ops.parse()?,
        keys: 10,
        concurrency: 10,
        seed: 1,
        indeterminate_ratio: 0.01,
        unread_indeterminate: 0,
        inject: None,
        final_reads: true,
    };
    let mut out = BufWriter::new(File::create(path)?);
    write_history(&options, &mut out)?;
    out.flush()?;
    Ok(())
}

/// `--check PATH`: reads and checks as `samsa check` does, then prints the verdict, the
/// phases and the process's peak resident set.
fn child_check(path: Option<&String>) -> Result<(), Error> {
    let Some(path) = path else {
        return Err("usage: scale --check PATH".into());
    };
    let started = Instant::now();
    let history = checker::history::read_path(Path::new(path))?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let result = check(&history, &CheckOptions::default());
    let t = &result.stats.time;
    println!(
        "ops={} valid={:?} read_ms={read_ms:.0} index_ms={:.0} anomalies_ms={:.0} linear_ms={:.0} peak_kib={}",
        result.stats.ops,
        result.valid,
        t.index_ms,
        t.anomalies_ms,
        t.linear_ms,
        peak_kib()?
    );
    // As `samsa check` does: the process exits next, and freeing ten million operations
    // one allocation at a time would take seconds.
    std::mem::forget(history);
    Ok(())
}

/// This process's peak resident set in KiB (`VmHWM` of /proc/self/status).
fn peak_kib() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status (not Linux?)".into())
}
