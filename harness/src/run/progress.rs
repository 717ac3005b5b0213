//! The progress line on the terminal during a long run: phase, elapsed time, completed
//! operations and their rate, the fault currently active, and the anomalies the live
//! check has found so far. Printed to stderr every
//! few seconds so a nightly log shows where a run was when something went wrong.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::faults::ActiveFault;
use super::live::Live;
use crate::recorder::Recorder;

/// Prints a progress line every `every` until the future is dropped.
pub async fn report(
    phase: &'static str,
    recorder: Arc<Recorder>,
    active: ActiveFault,
    live: Option<&Live>,
    total: Duration,
    every: Duration,
) {
    let start = Instant::now();
    let phase_start = recorder.now_nanos();
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
        // A phase in which nothing succeeds for a while says so on every line (the
        // watchdog adds the history note).
        let (_, last_ok) = recorder.ok_progress();
        let quiet_s = Duration::from_nanos(
            recorder
                .now_nanos()
                .saturating_sub(last_ok.unwrap_or(phase_start)),
        )
        .as_secs_f64();
        let stalled = if quiet_s >= super::watchdog::QUIET_MAX.as_secs_f64() {
            format!("  NO OK FOR {quiet_s:.0}s")
        } else {
            String::new()
        };
        let anomalies = live.and_then(Live::progress_note).unwrap_or_default();
        eprintln!(
            "samsa: {phase:<6} {:>5.1}s/{:.0}s  ops {ops:>8} ({rate:>7.0}/s)  fault: {fault}{stalled}{anomalies}",
            start.elapsed().as_secs_f64(),
            total.as_secs_f64(),
        );
    }
}
