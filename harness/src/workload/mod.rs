//! The "queue" workload: client processes that send unique values to partitions and poll
//! them back through librdkafka, every operation recorded in the history.
//!
//! The workload knows Kafka and the recorder, nothing about Docker or faults: it is given
//! bootstrap addresses and a deadline.

pub mod client_error;
pub mod consumer;
pub mod final_reads;
pub mod generator;
pub mod producer;
pub mod queue_signal;
pub mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::recorder::{Recorder, RecorderError};
use consumer::ConsumerOptions;
use generator::OpMix;
use producer::ProducerOptions;

/// Everything that shapes the client side of a run.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// The topic under test; partition `k` is history key `"k"`.
    pub topic: String,
    /// Number of keys (partitions) written.
    pub keys: i32,
    /// Client processes running at once.
    pub concurrency: u64,
    /// Operations per second across all processes; 0 means as fast as they go.
    pub rate: f64,
    /// Seeds every process's generator.
    pub seed: u64,
    /// The operation mix.
    pub mix: OpMix,
    /// Producer client options.
    pub producer: ProducerOptions,
    /// Consumer client options.
    pub consumer: ConsumerOptions,
}

/// The highest acknowledged offset of each key: where final reads must reach.
#[derive(Debug, Default)]
pub struct AckTracker {
    highest: Mutex<HashMap<i32, i64>>,
}

impl AckTracker {
    /// Records an acknowledgement of `offset` in `key`.
    pub fn note(&self, key: i32, offset: i64) {
        let mut map = self.highest.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(key).or_insert(offset);
        *entry = (*entry).max(offset);
    }

    /// The highest acknowledged offset of `key`, if any send to it was acknowledged.
    pub fn highest(&self, key: i32) -> Option<i64> {
        let map = self.highest.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key).copied()
    }
}

/// State shared by every worker of a run.
pub struct Shared {
    /// The run's options.
    pub options: WorkloadOptions,
    /// Where operations are recorded.
    pub recorder: Arc<Recorder>,
    /// Highest acknowledged offsets.
    pub acked: AckTracker,
    /// The next unused process number (processes are retired after `info`/`crash`).
    pub next_process: AtomicU64,
    /// The next producer session id.
    pub next_session: AtomicU64,
    stop: AtomicBool,
    /// Flips to true with `stop`, for tasks that wait for it (the fault driver).
    stopped: tokio::sync::watch::Sender<bool>,
    /// The client error that ended the run early, if one did.
    misconfiguration: Mutex<Option<String>>,
    deadline: Mutex<Option<Instant>>,
}

/// Why the main phase could not go on.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The history can no longer be written.
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    /// A client cannot work as configured (see [`client_error`]); the message is the
    /// client's own.
    #[error("a client cannot work as configured: {0}")]
    Misconfigured(String),
}

impl Shared {
    /// Shared state for a run whose first `concurrency` process numbers are the slots.
    pub fn new(options: WorkloadOptions, recorder: Arc<Recorder>) -> Arc<Shared> {
        let first_free = options.concurrency;
        Arc::new(Shared {
            options,
            recorder,
            acked: AckTracker::default(),
            next_process: AtomicU64::new(first_free),
            next_session: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            stopped: tokio::sync::watch::Sender::new(false),
            misconfiguration: Mutex::new(None),
            deadline: Mutex::new(None),
        })
    }

    /// Asks every worker to stop after its current operation.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stopped.send_replace(true);
    }

    /// Resolves once [`Shared::stop`] was called (at once if it already was).
    pub async fn stopped(&self) {
        let mut watch = self.stopped.subscribe();
        // The sender lives in `self`, so waiting can only end by the value turning true.
        if watch.wait_for(|stopped| *stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Ends the run early because a client cannot work as configured: the first such
    /// error is kept (it is the one to show), and every worker stops.
    pub fn stop_misconfigured(&self, error: &str) {
        let mut first = self
            .misconfiguration
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            tracing::error!("a client cannot work as configured: {error}");
            *first = Some(error.to_owned());
        }
        drop(first);
        self.stop();
    }

    fn should_stop(&self) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            return true;
        }
        let deadline = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// A per-process pacer honouring `rate`, or `None` when unlimited.
    fn pace(&self) -> Option<tokio::time::Interval> {
        if self.options.rate <= 0.0 {
            return None;
        }
        let per_process = self.options.rate / self.options.concurrency as f64;
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / per_process));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Some(interval)
    }
}

/// Runs the main phase: `concurrency` worker slots until `duration` has passed or
/// [`Shared::stop`] is called; calls `stop` itself at the end, so whatever waits on
/// [`Shared::stopped`] ends with it. Returns the first recorder error, or the client
/// error that stopped the run.
pub async fn run_main_phase(shared: Arc<Shared>, duration: Duration) -> Result<(), WorkloadError> {
    *shared.deadline.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + duration);
    let mut tasks = tokio::task::JoinSet::new();
    for slot in 0..shared.options.concurrency {
        tasks.spawn(worker::run_slot(shared.clone(), slot));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // The history can no longer be written: stop everyone, keep what is written.
                shared.stop();
                first_error.get_or_insert(e);
            }
            Err(join) => tracing::error!("a worker task ended abnormally: {join}"),
        }
    }
    shared.stop();
    if let Some(e) = first_error {
        return Err(e.into());
    }
    let misconfiguration = shared
        .misconfiguration
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    misconfiguration.map_or(Ok(()), |e| Err(WorkloadError::Misconfigured(e)))
}
