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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nemesis::{Fault, LedPartition, LiveView, Nemesis, NemesisEvent, PlannedFault, RollingRestart};

use crate::cluster::{Cluster, PartitionLeader};
use crate::recorder::{Extra, Process, Recorder, RecorderError};
use crate::run::rolling;

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
                isr: p.isr.clone(),
            })
            .collect(),
    }
}

/// One moment of the schedule: fault `index` of the plan starts or stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Stop (heal) the fault; ordered before a start at the same moment, so a layer's
    /// next fault never begins before its previous one is undone.
    Stop(usize),
    /// Start the fault.
    Start(usize),
}

/// The plan as a timeline of starts and stops in time order. Faults of the two layers
/// (network, process) may overlap in a combined window; within a layer they never do.
fn timeline(plan: &[PlannedFault]) -> Vec<(std::time::Duration, Step)> {
    let mut steps: Vec<(std::time::Duration, Step)> = plan
        .iter()
        .enumerate()
        .flat_map(|(i, p)| [(p.start_at, Step::Start(i)), (p.stop_at, Step::Stop(i))])
        .collect();
    steps.sort();
    steps
}

/// The progress line's name for what is active: every active fault, `+`-joined.
fn active_label(active: &[(usize, Fault)]) -> Option<String> {
    if active.is_empty() {
        return None;
    }
    Some(
        active
            .iter()
            .map(|(_, f)| f.to_string())
            .collect::<Vec<_>>()
            .join(" + "),
    )
}

/// Runs `plan` (offsets relative to `start`) until it is done and returns the tally.
/// Faults of different layers overlap where the plan combines them; each start and stop
/// is recorded as its own nemesis operation. A node restarted after a kill while a
/// partition or packet loss is active gets that fault's rules again (a killed container
/// loses its network namespace and with it the rules), so the fault keeps its shape for
/// its whole window.
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
    // The faults active now. A roll running beside the loop reads them too: it installs
    // the network faults' rules again on each node it restarts.
    let running: RefCell<Vec<(usize, Fault)>> = RefCell::new(Vec::new());
    let running = &running;
    let set_label = || {
        *active.lock().unwrap_or_else(|p| p.into_inner()) = active_label(&running.borrow());
    };
    // The schedule ends early when the workload does (a misconfigured client): the
    // faults counted so far are kept, whatever is active is left to `heal_all`.
    let mut stopped = std::pin::pin!(stopped);
    // A rolling restart in progress: the plan index and the roll, which runs beside the
    // schedule's other steps until it is done.
    let mut rolling: Option<(usize, Roll<'_>)> = None;
    let steps = timeline(plan);
    for (k, &(at, step)) in steps.iter().enumerate() {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until((start + at).into()) => break,
                () = &mut stopped => return Ok(tally),
                done = async { rolling.as_mut().map(|(_, r)| r) .expect("guarded").await },
                    if rolling.is_some() =>
                {
                    let (i, _) = rolling.take().expect("guarded");
                    end_roll(recorder, running, i, &done?)?;
                    set_label();
                }
            }
        }
        match step {
            Step::Start(i) => {
                let planned = &plan[i];
                tally.planned += 1;
                let word = planned.spec.to_string();
                let live = if planned.spec.awaits_shrunk_isr() {
                    let until = steps.get(k + 1).map(|(next, _)| start + *next);
                    tokio::select! {
                        live = await_shrunk_isr(cluster, until) => live,
                        () = &mut stopped => return Ok(tally),
                    }
                } else if planned.fixed.is_some() {
                    // A replayed fault's targets are fixed: sampling would only delay it.
                    LiveView::default()
                } else {
                    sample_live_view(cluster).await
                };
                let fault = match planned.resolve(&nodes, &live) {
                    Ok(f) => f,
                    Err(e) => {
                        tally.skip(recorder, &word, &e.to_string())?;
                        continue;
                    }
                };
                match nemesis.start_fault(&fault).await {
                    Ok(event) => {
                        record_event(recorder, &event)?;
                        tally.applied += 1;
                        if let Fault::Restart(nodes) = &fault {
                            let nodes = nodes.clone();
                            rolling = Some((
                                i,
                                Box::pin(async move {
                                    rolling::roll(cluster, nemesis, recorder, &nodes, running).await
                                }),
                            ));
                        }
                        running.borrow_mut().push((i, fault));
                        set_label();
                    }
                    Err(e) => tally.skip(recorder, &word, &format!("failed to start: {e}"))?,
                }
            }
            Step::Stop(i) => {
                // A roll takes the time its nodes take: its planned end waits for it.
                if let Some((j, roll)) = rolling.take_if(|(j, _)| *j == i) {
                    let done = roll.await?;
                    end_roll(recorder, running, j, &done)?;
                    set_label();
                    continue;
                }
                let pos = running.borrow().iter().position(|(j, _)| *j == i);
                let Some(pos) = pos else {
                    continue; // never applied, or a roll that already ended
                };
                let (_, fault) = running.borrow_mut().remove(pos);
                match nemesis.stop_fault(&fault).await {
                    Ok(event) => {
                        record_event(recorder, &event)?;
                    }
                    Err(e) => {
                        tracing::warn!("fault {fault:?} failed to stop: {e}");
                        record_failure(recorder, "stop-fault", &e.to_string())?;
                    }
                }
                if matches!(fault, Fault::Kill(_)) {
                    reinstall_network_faults(nemesis, running).await;
                }
                set_label();
            }
        }
    }
    eprintln!("samsa: {}", tally.summary());
    Ok(tally)
}

/// A rolling restart running beside the schedule ([`rolling::roll`]).
type Roll<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<RollingRestart, RecorderError>> + 'a>,
>;

/// Records the end of the roll of plan fault `i` and drops it from the running faults.
fn end_roll(
    recorder: &Recorder,
    running: &RefCell<Vec<(usize, Fault)>>,
    i: usize,
    done: &RollingRestart,
) -> Result<(), RecorderError> {
    running.borrow_mut().retain(|(j, _)| *j != i);
    let event = NemesisEvent::restart(nemesis::NemesisFunction::StopRestart, done);
    record_event(recorder, &event)?;
    Ok(())
}

/// The live view sampled from the cluster now: its leaders and service roles.
async fn sample_live_view(cluster: &Cluster) -> LiveView {
    live_view(&cluster.partition_leaders().await, cluster.roles())
}

/// How often a fault held for a shrunk ISR samples the cluster again.
const SHRUNK_ISR_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The live view once some partition's ISR has shrunk ([`LiveView::shrunk_isr`]), or the
/// last one sampled at `until` (the schedule's next step, which a held fault must not
/// delay; `None`: no later step, sample once).
async fn await_shrunk_isr(cluster: &Cluster, until: Option<Instant>) -> LiveView {
    loop {
        let live = sample_live_view(cluster).await;
        let now = Instant::now();
        let Some(until) = until.filter(|u| *u > now) else {
            return live;
        };
        if !live.shrunk_isr().is_empty() {
            return live;
        }
        tokio::time::sleep(SHRUNK_ISR_POLL.min(until - now)).await;
    }
}

/// Installs the active partition's or packet loss's rules again after restarted nodes
/// came back without them. The window is the same fault, already recorded, so nothing new
/// is recorded; a failure is logged (the heal at the end removes whatever is left).
pub(crate) async fn reinstall_network_faults(
    nemesis: &Nemesis,
    running: &RefCell<Vec<(usize, Fault)>>,
) {
    // A snapshot: no borrow is held across the awaits below.
    let active: Vec<Fault> = running.borrow().iter().map(|(_, f)| f.clone()).collect();
    for fault in &active {
        let reinstalled = match fault {
            Fault::Partition(grudge) => nemesis.partition(grudge).await.map(|_| ()),
            Fault::PacketLoss(loss) => nemesis.packet_loss(loss).await.map(|_| ()),
            Fault::Kill(_) | Fault::Pause(_) | Fault::Restart(_) => continue,
        };
        match reinstalled {
            Ok(()) => tracing::info!(?fault, "network fault rules reinstalled after a restart"),
            Err(e) => tracing::warn!("network fault rules not reinstalled after a restart: {e}"),
        }
    }
}

/// Heals every fault (partition and packet-loss rules removed, killed nodes started,
/// paused nodes resumed) and
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
                isr: vec!["n2".into()],
            }],
            BTreeMap::new(),
        );
        assert_eq!(view.partitions[0].name, "samsa/3");
        assert_eq!(view.partitions[0].isr, vec!["n2"]);
        assert_eq!(view.leaders(), vec!["n2"]);
    }

    fn planned(start: u64, stop: u64, spec: nemesis::FaultSpec) -> PlannedFault {
        PlannedFault {
            start_at: std::time::Duration::from_secs(start),
            stop_at: std::time::Duration::from_secs(stop),
            spec,
            seed: 0,
            fixed: None,
        }
    }

    // Goal: overlapping windows of two layers interleave in time order, and a stop comes
    // before a start at the same moment (a layer's next fault waits for its previous one).
    #[test]
    fn timeline_interleaves_layers_in_time_order() {
        use nemesis::{FaultSpec, PartitionShape, TargetSpec};
        let plan = vec![
            planned(2, 8, FaultSpec::Partition(PartitionShape::IsolateOne)),
            planned(4, 6, FaultSpec::Kill(TargetSpec::OneLeader)),
            planned(8, 9, FaultSpec::Partition(PartitionShape::Bridge)),
        ];
        let order: Vec<Step> = timeline(&plan).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            order,
            vec![
                Step::Start(0),
                Step::Start(1),
                Step::Stop(1),
                Step::Stop(0),
                Step::Start(2),
                Step::Stop(2),
            ]
        );
    }

    // Goal: the progress line names every active fault, nothing when none is.
    #[test]
    fn active_label_names_every_active_fault() {
        assert_eq!(active_label(&[]), None);
        let both = [
            (0, Fault::Kill(vec!["n1".into()])),
            (1, Fault::Pause(vec!["n2".into()])),
        ];
        assert_eq!(active_label(&both).as_deref(), Some("kill n1 + pause n2"));
    }
}
