//! `samsa`: the command-line edge of the harness. Only argument parsing and dispatch live
//! here; each subcommand is a module under `commands/`.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Jepsen-style verification of Kafka-compatible brokers.
#[derive(Parser)]
#[command(name = "samsa", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every seeded fault of broker-under-test and the correct broker over many seeds;
    /// report what was caught, by which anomalies, how fast, and any false alarm.
    Campaign(commands::campaign::CampaignArgs),
    /// Check a history (a history.jsonl file, or a run directory holding one).
    Check(commands::check::CheckArgs),
    /// Write a history in another tool's format (--edn: Jepsen's history.edn).
    Export(commands::export::ExportArgs),
    /// Write a synthetic concurrent history, optionally with one injected anomaly.
    GenHistory(commands::gen_history::GenHistoryArgs),
    /// Rewrite report.html and junit.xml of a run directory (re-checking its history).
    Report(commands::report::ReportArgs),
    /// Print the fault timeline a run applied (JSON), for `samsa test --schedule FILE`.
    Schedule(commands::schedule::ScheduleArgs),
    /// Find the faults a failing run needed: re-run it with subsets of its fault timeline,
    /// shorter windows and a shorter main phase; print the smallest reproducing command.
    Shrink(commands::shrink::ShrinkArgs),
    /// Serve the store of runs over HTTP: a filterable list, reports and raw files.
    Serve(commands::serve::ServeArgs),
    /// Run a broker cluster in Docker under faults, record a history, check it.
    Test(Box<commands::test::TestArgs>),
    /// Build images: broker-under-test, or any broker binary (`from-binary`).
    #[command(subcommand)]
    Image(commands::image::ImageCommand),
    /// Remove the containers and networks of samsa runs whose harness is gone.
    Sweep {
        /// Also remove live runs and clusters kept with --keep.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match cli.command {
        Command::Campaign(args) => commands::campaign::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::GenHistory(args) => commands::gen_history::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Schedule(args) => commands::schedule::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Shrink(args) => commands::shrink::run(&args),
        Command::Test(args) => commands::test::run(&args),
        Command::Image(command) => commands::image::run(&command),
        Command::Sweep { all } => commands::sweep::run(all),
    }
}

/// Prints clap's message. `--help` and `--version` exit 0; a usage error exits with
/// the harness-error status, never clap's default 2, which here means "unknown verdict"
/// and would let a mistyped flag pass for an undecided run in CI.
fn usage_error(e: &clap::Error) -> ExitCode {
    if let Err(print) = e.print() {
        eprintln!("samsa: {print}");
    }
    if e.use_stderr() {
        ExitCode::from(commands::HARNESS_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

/// Makes a closed stdout (`samsa check ... | head`) end the process quietly, as Unix tools
/// do, instead of panicking inside `println!`: Rust ignores SIGPIPE by default.
fn restore_default_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; resetting a signal
    // disposition to its default is async-signal-safe and has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
