//! The progress line on the terminal during a long run: phase, elapsed time, completed
//! operations and their rate, and the fault currently active. Printed to stderr every
//! few seconds so a nightly log shows where a run was when something went wrong.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::faults::ActiveFault;
use crate::recorder::Recorder;

/// Prints a progress line every `every` until the future is dropped.
pub async fn report(
    phase: &'static str,
    recorder: Arc<Recorder>,
    active: ActiveFault,
    total: Duration,
    every: Duration,
) {
    let start = Instant::now();
    let mut last_ops = recorder.completed();
    let mut last = Instant::now();
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let ops = recorder.completed();
        let rate = (ops - last_ops) as f64 / last.elapsed().as_secs_f64().max(1e-3);
        last_ops = ops;
        last = Instant::now();
        let fault = active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "none".into());
        eprintln!(
            "samsa: {phase:<6} {:>5.1}s/{:.0}s  ops {ops:>8} ({rate:>7.0}/s)  fault: {fault}",
            start.elapsed().as_secs_f64(),
            total.as_secs_f64(),
        );
    }
}
