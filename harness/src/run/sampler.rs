//! `state.jsonl`: every node's view of the cluster through the Kafka protocol (and its
//! admin endpoint, when it has one), sampled four times a second, so the report can show
//! leader, leader epoch, ISR, HW, LSO and LEO over time beside the faults. Each line is
//! one [`StateSample`], the type the report reads back.
//!
//! Samples use the history's clock (`time`, nanoseconds since the run started) so the two
//! files line up. A node that does not answer yields an error sample, never a stall: each
//! node's sample is bounded by [`crate::cluster::sample::SAMPLE_TIMEOUT`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Cluster, StateSample};
use crate::recorder::Recorder;
use crate::run_dir::StateWriter;

/// Samples until `stop` flips to true; returns how many samples were written.
pub async fn sample_until(
    cluster: Cluster,
    recorder: Arc<Recorder>,
    path: PathBuf,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<u64> {
    let mut out = StateWriter::create(&path)?;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut written = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let time = recorder.now_nanos();
        let wall = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = StateSample {
            time,
            wall: Some(wall),
            nodes: cluster.sample_state().await,
        };
        out.append(&line)?;
        written += 1;
    }
    Ok(written)
}
