//! The live check of `samsa test`: a thread that follows `history.jsonl` while the main
//! phase writes it ([`checker::live`]), prints each invalidating anomaly the moment a
//! prefix proves it, feeds the progress line, and, with `--fail-fast`, tells the run to
//! end its main phase. What it saw is kept in `live.json` ([`LiveFile`]), which the report
//! shows; the verdict is still the post-hoc check of the whole history.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checker::history::model::Nanos;
use checker::live::{LiveChecker, LiveFinding};
use serde::{Deserialize, Serialize};

use crate::recorder::Recorder;

/// The least time between two passes; a pass that took longer waits as long as it took,
/// so the live check never takes more than half of one core from the run it watches.
pub const PASS_INTERVAL_MIN: Duration = Duration::from_secs(1);

/// `live.json`: what the live check found during the main phase, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveFile {
    /// Passes over the growing history.
    pub passes: u64,
    /// Operation lines the last pass checked.
    pub lines_checked: u64,
    /// Milliseconds the longest pass took.
    pub pass_ms_max: f64,
    /// Each invalidating anomaly, when it was proven and when the live check saw it.
    pub findings: Vec<LiveReport>,
    /// Set when `--fail-fast` ended the main phase early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<StoppedEarly>,
    /// Why the live check stopped before the main phase ended (an unreadable prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One anomaly as the live check reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveReport {
    /// The anomaly's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The key concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The witness line that completed the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<u64>,
    /// The checker's sentence.
    pub explanation: String,
    /// The names this one may take once more of the history is read
    /// ([`checker::live::may_be_renamed`]); empty when the name is final.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub may_become: Vec<String>,
    /// History time (ms) of that line.
    pub proved_at_ms: f64,
    /// History time (ms) at which the live check reported it.
    pub found_at_ms: f64,
}

impl LiveReport {
    fn new(live: &LiveFinding, found_at: Nanos) -> LiveReport {
        let finding = &live.finding;
        LiveReport {
            kind: finding.kind.name().to_owned(),
            key: finding.key.clone(),
            op: live.proving_op(),
            explanation: finding.explanation.clone(),
            may_become: checker::live::may_be_renamed(finding.kind)
                .iter()
                .map(|k| k.name().to_owned())
                .collect(),
            proved_at_ms: ms(live.proved_at),
            found_at_ms: ms(found_at),
        }
    }

    /// "lost-write at key 2, op 48113": what a progress line names.
    pub fn short(&self) -> String {
        let mut s = self.kind.clone();
        if let Some(key) = &self.key {
            s.push_str(&format!(" at key {key}"));
        }
        if let Some(op) = self.op {
            s.push_str(&format!(", op {op}"));
        }
        s
    }

    /// Seconds from the proof's last line to the report.
    pub fn delay_s(&self) -> f64 {
        (self.found_at_ms - self.proved_at_ms).max(0.0) / 1e3
    }
}

/// Why the main phase ended before its time limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoppedEarly {
    /// History time (ms) the main phase was told to stop.
    pub at_ms: f64,
    /// The main phase's planned length, in seconds.
    pub time_limit_s: f64,
    /// The anomaly that stopped it.
    pub finding: LiveReport,
}

fn ms(nanos: Nanos) -> f64 {
    nanos as f64 / 1e6
}

/// The running live check: its thread, and what it has found so far.
pub struct Live {
    state: Arc<Mutex<LiveFile>>,
    found: tokio::sync::watch::Receiver<usize>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Live {
    /// Starts following `path`, which `recorder` writes.
    pub fn start(path: PathBuf, recorder: Arc<Recorder>) -> std::io::Result<Live> {
        let state = Arc::new(Mutex::new(LiveFile::default()));
        let (found_tx, found) = tokio::sync::watch::channel(0);
        let (stop, stopped) = mpsc::channel();
        let follower = Follower {
            path,
            recorder,
            state: state.clone(),
            found: found_tx,
        };
        let thread = std::thread::Builder::new()
            .name("samsa-live-check".into())
            .spawn(move || follower.run(&stopped))?;
        Ok(Live {
            state,
            found,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Resolves with the first invalidating anomaly found (at once if one already was).
    pub async fn first_finding(&self) -> LiveReport {
        let mut found = self.found.clone();
        if found.wait_for(|n| *n > 0).await.is_err() {
            // The thread ended without finding anything: nothing will come.
            std::future::pending::<()>().await;
        }
        self.lock().findings[0].clone()
    }

    /// What the progress line shows: how many anomalies, and the first few by name.
    pub fn progress_note(&self) -> Option<String> {
        let state = self.lock();
        let first = state.findings.first()?;
        let more = state.findings.len() - 1;
        Some(if more == 0 {
            format!("  ANOMALY: {}", first.short())
        } else {
            format!("  ANOMALIES: {} (+{more} more)", first.short())
        })
    }

    /// Records that `--fail-fast` stopped the main phase at `at` for `finding`.
    pub fn mark_stopped_early(&self, at: Nanos, time_limit: Duration, finding: LiveReport) {
        self.lock().stopped_early = Some(StoppedEarly {
            at_ms: ms(at),
            time_limit_s: time_limit.as_secs_f64(),
            finding,
        });
    }

    /// Stops the thread after its current pass and returns what it saw.
    pub fn finish(mut self) -> LiveFile {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                self.lock().error = Some("the live check's thread panicked".to_owned());
            }
        }
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LiveFile> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // An interrupted run drops the check without finishing it: the thread ends at
        // its next wake-up, and nobody waits for it.
        self.stop.take();
    }
}

/// The thread's side.
struct Follower {
    path: PathBuf,
    recorder: Arc<Recorder>,
    state: Arc<Mutex<LiveFile>>,
    found: tokio::sync::watch::Sender<usize>,
}

impl Follower {
    fn run(self, stopped: &mpsc::Receiver<()>) {
        let mut checker = LiveChecker::new();
        let mut checked_bytes = 0;
        let mut wait = PASS_INTERVAL_MIN;
        loop {
            match stopped.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let bytes = self.recorder.bytes_flushed();
            if bytes == checked_bytes {
                wait = PASS_INTERVAL_MIN;
                continue;
            }
            let started = Instant::now();
            let pass = File::open(&self.path)
                .map_err(|e| format!("cannot open {}: {e}", self.path.display()))
                .and_then(|file| {
                    checker
                        .pass(BufReader::new(file.take(bytes)))
                        .map_err(|e| e.to_string())
                });
            let took = started.elapsed();
            let found_at = self.recorder.now_nanos();
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match pass {
                Ok(summary) => {
                    state.passes += 1;
                    state.lines_checked = summary.lines;
                    state.pass_ms_max = state.pass_ms_max.max(took.as_secs_f64() * 1e3);
                    for finding in &summary.new_findings {
                        let report = LiveReport::new(finding, found_at);
                        let provisional = if report.may_become.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " [the name may become {} as more is read]",
                                report.may_become.join(" or ")
                            )
                        };
                        eprintln!(
                            "samsa: live: {} ({:.1}s after its proof): {}{provisional}",
                            report.short(),
                            report.delay_s(),
                            report.explanation
                        );
                        state.findings.push(report);
                    }
                    self.found.send_replace(state.findings.len());
                }
                Err(e) => {
                    eprintln!("samsa: warning: the live check stopped: {e}");
                    state.error = Some(e);
                    return;
                }
            }
            checked_bytes = bytes;
            wait = took.max(PASS_INTERVAL_MIN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{Extra, HeaderLine, LineType, LineValue};
    use checker::history::model::{Function, Guarantees};

    // Goal: while a history is being written, the live check reports an anomaly within a
    // couple of passes of the line that proves it, and `finish` returns what it saw.
    // Method: a real recorder writes two sends acknowledged at one offset of one key,
    // which the second acknowledgement proves `inconsistent-offsets`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_an_anomaly_while_the_history_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(checker::history::HISTORY_FILE);
        let recorder = Arc::new(
            Recorder::create(&path, &HeaderLine::new(None, Guarantees::default())).unwrap(),
        );
        let live = Live::start(path, recorder.clone()).unwrap();
        let none = Extra::default();
        for (client, value) in [(0, 1), (1, 2)] {
            recorder
                .record(
                    client,
                    LineType::Invoke,
                    Function::Send,
                    LineValue::send("0", value),
                    &none,
                )
                .unwrap();
            recorder
                .record(
                    client,
                    LineType::Ok,
                    Function::Send,
                    LineValue::sent("0", Some(0), value),
                    &none,
                )
                .unwrap();
        }
        let first = tokio::time::timeout(Duration::from_secs(10), live.first_finding())
            .await
            .expect("the live check found nothing in 10 s");
        assert_eq!(first.kind, "inconsistent-offsets");
        assert_eq!(first.key.as_deref(), Some("0"));
        assert!(first.delay_s() < 5.0, "{first:?}");
        assert!(live
            .progress_note()
            .unwrap()
            .contains("inconsistent-offsets at key 0"));
        let file = live.finish();
        assert!(file.passes >= 1);
        assert_eq!(file.lines_checked, 4);
        // The same two acknowledgements also make the log nonlinearizable.
        assert_eq!(file.findings[0], first);
    }
}
