//! The main phase's watchdog: says so, on the terminal and in the history, when no client
//! operation has completed `ok` for a while although no fault is active.
//!
//! During a fault window a stall is expected (a partitioned leader, a paused node, an
//! election). Outside one, [`QUIET_MAX`] without a single acknowledged send or returned
//! poll means the cluster or the clients are not doing what the run needs, and a nightly
//! log should show when it began. The note is a `"harness"` line of the history (type
//! `info`, `f` `watchdog`), never a client operation and never a fault; the checker keeps
//! it apart from both. Quiet time is counted from the later of the last `ok`, the end of
//! the last fault window and the start of the main phase, and each quiet stretch is
//! reported once.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::faults::ActiveFault;
use crate::recorder::{Extra, Process, Recorder, RecorderError};

/// How long the main phase may go without an `ok` outside fault windows before the
/// watchdog speaks.
pub const QUIET_MAX: Duration = Duration::from_secs(15);

/// How often the watchdog looks.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The pure part: when a quiet stretch is long enough to report. Times are the history's
/// clock (nanoseconds since the run started).
#[derive(Debug, Clone)]
pub struct Watch {
    start: u64,
    last_fault_seen: Option<u64>,
    reported_from: Option<u64>,
}

impl Watch {
    /// A watch for a main phase that started at `start`.
    pub fn new(start: u64) -> Watch {
        Watch {
            start,
            last_fault_seen: None,
            reported_from: None,
        }
    }

    /// Looks at the state at `now`: returns how long it has been quiet when that stretch
    /// just reached [`QUIET_MAX`] (once per stretch).
    pub fn look(&mut self, now: u64, last_ok: Option<u64>, fault_active: bool) -> Option<Duration> {
        if fault_active {
            self.last_fault_seen = Some(now);
            return None;
        }
        let quiet_from = [Some(self.start), last_ok, self.last_fault_seen]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.start);
        let quiet = Duration::from_nanos(now.saturating_sub(quiet_from));
        if quiet < QUIET_MAX || self.reported_from == Some(quiet_from) {
            return None;
        }
        self.reported_from = Some(quiet_from);
        Some(quiet)
    }
}

/// Watches until the future is dropped; only a history that cannot be written ends it.
pub async fn watch(
    recorder: Arc<Recorder>,
    active: ActiveFault,
) -> Result<Infallible, RecorderError> {
    let mut watch = Watch::new(recorder.now_nanos());
    let mut ticker = tokio::time::interval(LOOK_EVERY);
    loop {
        ticker.tick().await;
        let fault_active = active.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        let (ok_count, last_ok) = recorder.ok_progress();
        let now = recorder.now_nanos();
        if let Some(quiet) = watch.look(now, last_ok, fault_active) {
            let seconds = quiet.as_secs_f64();
            eprintln!(
                "samsa: main   watchdog: no client operation completed ok for {seconds:.0}s with no fault active ({ok_count} ok so far)"
            );
            recorder.record_event(
                Process::Harness,
                "watchdog",
                json!({"quiet_s": (seconds * 10.0).round() / 10.0, "ok_so_far": ok_count}),
                &Extra {
                    error: Some(format!(
                        "no client operation completed ok for {seconds:.0}s outside fault windows"
                    )),
                    ..Extra::default()
                },
            )?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    // Goal: quiet outside faults is reported once it reaches QUIET_MAX, once per stretch.
    #[test]
    fn a_quiet_stretch_is_reported_once() {
        let mut w = Watch::new(0);
        assert_eq!(w.look(10 * S, None, false), None);
        assert_eq!(w.look(15 * S, None, false), Some(QUIET_MAX));
        assert_eq!(w.look(16 * S, None, false), None, "reported once");
        // An ok ends the stretch; the next one is reported again.
        assert_eq!(w.look(20 * S, Some(17 * S), false), None);
        assert_eq!(w.look(32 * S, Some(17 * S), false), Some(QUIET_MAX));
    }

    // Goal: quiet during a fault window, and shortly after it, is expected.
    #[test]
    fn fault_windows_do_not_count() {
        let mut w = Watch::new(0);
        assert_eq!(w.look(14 * S, None, true), None);
        assert_eq!(w.look(25 * S, None, true), None, "still in the fault");
        assert_eq!(w.look(35 * S, None, false), None, "10 s after the fault");
        assert_eq!(
            w.look(40 * S, None, false),
            Some(Duration::from_secs(15)),
            "15 s after the fault"
        );
    }
}
