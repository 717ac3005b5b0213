//! Times reading and checking one `history.jsonl`, phase by phase, without the `samsa`
//! binary (which needs librdkafka to build): the quickest loop for profiling the checker.
//!
//! Usage: `cargo run --release -p checker --example check_file -- PATH [REPEAT] [--read-only]`;
//! the file comes from `samsa gen-history` or a run. With REPEAT > 1 the read and check are
//! timed that many times (the page cache is warm after the first); `--read-only` skips the
//! check, so that `perf stat` or `/usr/bin/time` measure the reader alone.

use std::time::Instant;

use checker::check::{check, CheckOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        return Err("usage: check_file PATH [REPEAT]".into());
    };
    let read_only = args.iter().any(|a| a == "--read-only");
    let repeat: usize = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(1);
    for _ in 0..repeat {
        let started = Instant::now();
        let history = checker::history::read_path(std::path::Path::new(path))?;
        let read = started.elapsed();
        if read_only {
            println!(
                "{} ops read in {:.0} ms, peak RSS {}",
                history.ops.len(),
                read.as_secs_f64() * 1e3,
                peak_rss()
            );
            continue;
        }
        println!("read, peak RSS {}", peak_rss());
        let started = Instant::now();
        let result = check(&history, &CheckOptions::default());
        let checked = started.elapsed();
        let t = &result.stats.time;
        println!(
            "{} ops, valid {:?}: read {:.0} ms, check {:.0} ms (index {:.0}, anomalies {:.0}, linearizability {:.0})",
            result.stats.ops,
            result.valid,
            read.as_secs_f64() * 1e3,
            checked.as_secs_f64() * 1e3,
            t.index_ms,
            t.anomalies_ms,
            t.linear_ms
        );
        println!("checked, peak RSS {}", peak_rss());
        let started = Instant::now();
        drop(history);
        println!("dropped in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(())
}

/// The process's peak resident set so far (`VmHWM` of /proc/self/status; Linux only).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter(|l| l.starts_with("VmHWM:") || l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .reduce(|a, b| format!("{a} {b}"))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
