//! Drives the fault schedule against the live cluster and records every fault start and
//! stop as a nemesis operation in the history.
//!
//! The schedule itself (what, when, seeded) is the `nemesis` crate's; this module only
//! waits for each window, samples the partition leaders through the Kafka protocol just
//! before each fault, and records what the nemesis reports. A planned fault that cannot
//! be resolved or applied is recorded as a `not-applied` nemesis operation with the
//! reason, never skipped silently, and [`FaultTally`] counts planned against applied so a
//! run none of whose faults happened ends unknown. At the end, or on interruption,
//! [`heal_all`] undoes everything, whatever state the faults were left in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nemesis::{LedPartition, LiveView, Nemesis, NemesisEvent, PlannedFault};

use crate::cluster::{Cluster, PartitionLeader};
use crate::recorder::{Extra, Process, Recorder, RecorderError};

/// What fault is active now, for the progress line.
pub type ActiveFault = Arc<Mutex<Option<String>>>;

/// Records one nemesis event as HISTORY.md's nemesis operation (type `info`).
pub fn record_event(recorder: &Recorder, event: &NemesisEvent) -> Result<u64, RecorderError> {
    record_with(recorder, event, Extra::default())
}

/// [`record_event`] with the line's `error` set (for faults not applied).
fn record_event_with_error(
    recorder: &Recorder,
    event: &NemesisEvent,
    error: &str,
) -> Result<u64, RecorderError> {
    let extra = Extra::default().with_error(error);
    record_with(recorder, event, extra)
}

fn record_with(
    recorder: &Recorder,
    event: &NemesisEvent,
    extra: Extra,
) -> Result<u64, RecorderError> {
    let f = serde_json::to_value(event.f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", event.f));
    recorder.record_event(Process::Nemesis, &f, event.value.clone(), &extra)
}

fn record_failure(recorder: &Recorder, f: &str, error: &str) -> Result<u64, RecorderError> {
    let extra = Extra::default().with_error(error);
    recorder.record_event(Process::Nemesis, f, serde_json::Value::Null, &extra)
}

/// How many planned faults were applied, and why the others were not: what the summary,
/// the report and the verdict need to tell a run that survived its faults from a run
/// whose faults never happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultTally {
    /// Faults in the schedule that came due before the run ended.
    pub planned: usize,
    /// Faults the nemesis applied.
    pub applied: usize,
    /// For each fault not applied: its `--nemesis` word and the reason.
    pub not_applied: Vec<(String, String)>,
}

impl FaultTally {
    /// `faults: 7 of 8 planned applied`.
    pub fn summary(&self) -> String {
        format!(
            "faults: {} of {} planned applied",
            self.applied, self.planned
        )
    }

    /// When faults were planned and none could be applied, the reason the verdict is
    /// unknown (for [`checker::check::CheckResult::mark_unknown`]): such a run tested
    /// the broker without the faults it was asked to survive.
    pub fn none_applied_reason(&self) -> Option<String> {
        if self.planned == 0 || self.applied > 0 {
            return None;
        }
        let reason = self
            .not_applied
            .first()
            .map_or("no reason recorded", |(_, why)| why.as_str());
        Some(format!(
            "none of the {} planned faults could be applied: {reason}",
            self.planned
        ))
    }

    fn skip(&mut self, recorder: &Recorder, fault: &str, why: &str) -> Result<(), RecorderError> {
        tracing::warn!("fault {fault} not applied: {why}");
        let event = NemesisEvent::not_applied(fault, why);
        record_event_with_error(recorder, &event, &format!("{}{why}", nemesis::NOT_APPLIED))?;
        self.not_applied.push((fault.to_string(), why.to_string()));
        Ok(())
    }
}

/// The leaders sampled from the cluster and its service roles, as the nemesis's pure
/// fault resolution takes them.
pub fn live_view(
    leaders: &[PartitionLeader],
    roles: BTreeMap<nemesis::RoleName, Vec<String>>,
) -> LiveView {
    LiveView {
        roles,
        partitions: leaders
            .iter()
            .map(|p| LedPartition {
                name: format!("{}/{}", p.topic, p.partition),
                leader: p.leader.clone(),
                replicas: p.replicas.clone(),
            })
            .collect(),
    }
}

/// Runs `plan` (offsets relative to `start`) until it is done and returns the tally.
/// Cancel by dropping the future; then call [`heal_all`].
pub async fn drive(
    cluster: &Cluster,
    nemesis: &Nemesis,
    recorder: &Recorder,
    plan: &[PlannedFault],
    start: Instant,
    active: ActiveFault,
    stopped: impl std::future::Future<Output = ()>,
) -> Result<FaultTally, RecorderError> {
    // Targets other than `role=...` choose among the brokers only.
    let nodes: Vec<String> = cluster.nodes().iter().map(|n| n.name.clone()).collect();
    let mut tally = FaultTally::default();
    // The schedule ends early when the workload does (a misconfigured client): the
    // faults counted so far are kept, whatever is active is left to `heal_all`.
    let mut stopped = std::pin::pin!(stopped);
    for planned in plan {
        tokio::select! {
            () = tokio::time::sleep_until((start + planned.start_at).into()) => {}
            () = &mut stopped => return Ok(tally),
        }
        tally.planned += 1;
        let word = planned.spec.to_string();
        let live = live_view(&cluster.partition_leaders().await, cluster.roles());
        let fault = match planned.resolve(&nodes, &live) {
            Ok(f) => f,
            Err(e) => {
                tally.skip(recorder, &word, &e.to_string())?;
                continue;
            }
        };
        let label = format!("{fault:?}");
        match nemesis.start_fault(&fault).await {
            Ok(event) => {
                record_event(recorder, &event)?;
                tally.applied += 1;
                *active.lock().unwrap_or_else(|p| p.into_inner()) = Some(label.clone());
            }
            Err(e) => tally.skip(recorder, &word, &format!("failed to start: {e}"))?,
        }
        tokio::select! {
            () = tokio::time::sleep_until((start + planned.stop_at).into()) => {}
            () = &mut stopped => return Ok(tally),
        }
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
    eprintln!("samsa: {}", tally.summary());
    Ok(tally)
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

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the verdict turns unknown only when faults were planned and none applied,
    // and the reason names the count and the first cause (method: three tallies).
    #[test]
    fn none_applied_is_the_only_unknown_case() {
        let mut tally = FaultTally {
            planned: 2,
            applied: 0,
            not_applied: vec![("kill:leaders".into(), "no current leader is known".into())],
        };
        assert_eq!(
            tally.none_applied_reason().as_deref(),
            Some("none of the 2 planned faults could be applied: no current leader is known")
        );
        assert_eq!(tally.summary(), "faults: 0 of 2 planned applied");
        tally.applied = 1;
        assert!(tally.none_applied_reason().is_none());
        assert!(FaultTally::default().none_applied_reason().is_none());
    }

    // Goal: sampled leaders become the nemesis's view with topic/partition names.
    #[test]
    fn live_view_names_partitions() {
        let view = live_view(
            &[PartitionLeader {
                topic: "samsa".into(),
                partition: 3,
                leader: "n2".into(),
                leader_epoch: Some(1),
                replicas: vec!["n1".into(), "n2".into()],
            }],
            BTreeMap::new(),
        );
        assert_eq!(view.partitions[0].name, "samsa/3");
        assert_eq!(view.leaders(), vec!["n2"]);
    }
}
