//! Drives the fault schedule against the live cluster and records every fault start and
//! stop as a nemesis operation in the history.
//!
//! The schedule itself (what, when, seeded) is the `nemesis` crate's; this module only
//! waits for each window, reads the current leaders just before a fault that targets them,
//! and records what the nemesis reports. At the end, or on interruption, [`heal_all`]
//! undoes everything, whatever state the faults were left in.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use nemesis::{Nemesis, NemesisEvent, PlannedFault};
use serde_json::json;

use crate::cluster::Cluster;
use crate::recorder::{Actor, Extra, OpType, Recorder, RecorderError};

/// What fault is active now, for the progress line.
pub type ActiveFault = Arc<Mutex<Option<String>>>;

/// Records one nemesis event as HISTORY.md's nemesis operation (type `info`).
pub fn record_event(recorder: &Recorder, event: &NemesisEvent) -> Result<u64, RecorderError> {
    let f = serde_json::to_value(event.f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", event.f));
    recorder.record(
        Actor::Nemesis,
        OpType::Info,
        &f,
        event.value.clone(),
        &Extra::default(),
    )
}

fn record_failure(recorder: &Recorder, f: &str, error: &str) -> Result<u64, RecorderError> {
    let extra = Extra {
        error: Some(error.to_owned()),
        ..Extra::default()
    };
    recorder.record(Actor::Nemesis, OpType::Info, f, json!(null), &extra)
}

/// Runs `plan` (offsets relative to `start`) until it is done. Cancel by dropping the
/// future; then call [`heal_all`].
pub async fn drive(
    cluster: &Cluster,
    nemesis: &Nemesis,
    recorder: &Recorder,
    plan: &[PlannedFault],
    start: Instant,
    active: ActiveFault,
) -> Result<(), RecorderError> {
    let nodes = nemesis.node_names();
    for planned in plan {
        tokio::time::sleep_until((start + planned.start_at).into()).await;
        let leaders = cluster.leaders().await;
        let fault = match planned.resolve(&nodes, &leaders) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("fault {:?} not applied: {e}", planned.spec);
                record_failure(recorder, "start-fault", &e.to_string())?;
                continue;
            }
        };
        let label = format!("{fault:?}");
        match nemesis.start_fault(&fault).await {
            Ok(event) => {
                record_event(recorder, &event)?;
                *active.lock().unwrap_or_else(|p| p.into_inner()) = Some(label.clone());
            }
            Err(e) => {
                tracing::warn!("fault {label} failed to start: {e}");
                record_failure(recorder, "start-fault", &e.to_string())?;
            }
        }
        tokio::time::sleep_until((start + planned.stop_at).into()).await;
        match nemesis.stop_fault(&fault).await {
            Ok(event) => {
                record_event(recorder, &event)?;
            }
            Err(e) => {
                tracing::warn!("fault {label} failed to stop: {e}");
                record_failure(recorder, "stop-fault", &e.to_string())?;
            }
        }
        *active.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
    Ok(())
}

/// Heals every fault (partitions removed, killed nodes started, paused nodes resumed) and
/// records what it did.
pub async fn heal_all(nemesis: &Nemesis, recorder: &Recorder) -> Result<(), RecorderError> {
    match nemesis.heal_all().await {
        Ok(events) => {
            for event in &events {
                record_event(recorder, event)?;
            }
        }
        Err(e) => {
            tracing::error!("healing the cluster failed: {e}");
            record_failure(recorder, "heal", &e.to_string())?;
        }
    }
    Ok(())
}
