//! Times the linearizability engines on one generated history and prints the figures, so
//! peak memory can be measured around it (`/usr/bin/time -v`), which criterion cannot do.
//!
//! Usage: `cargo run --release -p checker --example linear_scale -- OPS KEYS CONCURRENCY
//! UNREAD_INDETERMINATE INDETERMINATE_RATIO ENGINE` with ENGINE `graph`, `search`, `both`
//! or `none` (generate only, to subtract its cost);
//! add `--jsonl` to also time writing and re-reading the history as JSON Lines, and
//! `--inject=KIND` to plant an anomaly.

use std::time::{Duration, Instant};

use checker::linear::{check, Engine, LinearOptions};
use checker::synth::{generate, write_jsonl, SynthOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: linear_scale OPS KEYS CONCURRENCY UNREAD RATIO graph|search|both|none [--jsonl] [--inject=KIND]";
    if args.len() < 6 {
        return Err(usage.into());
    }
    let options = SynthOptions {
        ops: args[0].parse()?,
        keys: args[1].parse()?,
        concurrency: args[2].parse()?,
        unread_indeterminate: args[3].parse()?,
        indeterminate_ratio: args[4].parse()?,
        seed: 1,
        inject: args
            .iter()
            .find_map(|a| a.strip_prefix("--inject="))
            .map(str::parse)
            .transpose()?,
        ..SynthOptions::default()
    };
    let engine = match args[5].as_str() {
        "graph" => Engine::Graph,
        "search" => Engine::Search,
        "both" => Engine::Both,
        "none" => Engine::Graph,
        _ => return Err(usage.into()),
    };
    let started = Instant::now();
    let (mut history, summary) = generate(&options)?;
    println!("generated {summary:?} in {:?}", started.elapsed());
    if args.iter().any(|a| a == "--jsonl") {
        let mut bytes = Vec::new();
        let started = Instant::now();
        write_jsonl(&history, &mut bytes)?;
        println!(
            "wrote {} bytes of JSONL in {:?}",
            bytes.len(),
            started.elapsed()
        );
        drop(history);
        let started = Instant::now();
        history = checker::history::read(&bytes[..])?;
        println!("read it back in {:?}", started.elapsed());
    }
    if args[5] == "none" {
        return Ok(());
    }
    let started = Instant::now();
    let outcome = check(
        &history,
        &LinearOptions {
            engine,
            time_limit: Duration::from_secs(120),
        },
    );
    println!(
        "{engine:?}: {} findings, unknown {}, disagreements {:?}, in {:?}",
        outcome.findings.len(),
        outcome.unknown,
        outcome.disagreements,
        started.elapsed()
    );
    Ok(())
}
