//! `samsa gen-history --ops N --keys K --concurrency C --seed S [--inject KIND] [--out FILE]`:
//! writes a synthetic concurrent history (`checker::synth`) for tests and benchmarks.
//!
//! The history goes to `--out` or stdout; a one-line summary (and what was injected) goes
//! to stderr so stdout stays a clean `history.jsonl`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use checker::synth::{write_history, Injection, SynthOptions};

/// Arguments of `samsa gen-history`.
#[derive(clap::Args)]
pub struct GenHistoryArgs {
    /// Client operations before the final reads.
    #[arg(long, default_value_t = 1_000)]
    ops: usize,
    /// Keys (partitions), named "0", "1", ...
    #[arg(long, default_value_t = 3)]
    keys: usize,
    /// Client processes running at once.
    #[arg(long, default_value_t = 5)]
    concurrency: usize,
    /// Seed of the generator: the same arguments always give the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Plant one anomaly: lost-write, duplicate, inconsistent-offsets, aborted-read,
    /// phantom-read, nonmonotonic-send, poll-skip, nonmonotonic-poll, int-poll-skip,
    /// int-nonmonotonic-poll or nonlinearizable.
    #[arg(long)]
    inject: Option<Injection>,
    /// Fraction of sends that end `info` (half of them written, half not).
    #[arg(long, default_value_t = 0.01)]
    indeterminate_ratio: f64,
    /// Additional `info` sends that are never written, hence never read.
    #[arg(long, default_value_t = 0)]
    unread_indeterminate: usize,
    /// Leave out the final reads (`final: true` polls of every key).
    #[arg(long)]
    no_final_reads: bool,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Generates the history; exit status 0, or 1 with a message.
pub fn run(args: &GenHistoryArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samsa gen-history: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_inner(args: &GenHistoryArgs) -> anyhow::Result<()> {
    let options = SynthOptions {
        ops: args.ops,
        keys: args.keys,
        concurrency: args.concurrency,
        seed: args.seed,
        indeterminate_ratio: args.indeterminate_ratio,
        unread_indeterminate: args.unread_indeterminate,
        inject: args.inject,
        final_reads: !args.no_final_reads,
    };
    let summary = match &args.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let summary = write_history(&options, &mut out)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            summary
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let summary = write_history(&options, &mut out).context("cannot write stdout")?;
            out.flush().context("cannot write stdout")?;
            summary
        }
    };
    eprintln!(
        "samsa gen-history: {} ops ({} sends, {} polls, {} indeterminate sends of which {} unwritten){}",
        summary.ops,
        summary.sends,
        summary.polls,
        summary.indeterminate_sends,
        summary.unwritten_indeterminate,
        summary
            .injected
            .map_or(String::new(), |i| format!("; injected: {i}"))
    );
    Ok(())
}
