//! A recorded fault timeline, replayed: `samsa schedule RUN_DIR` extracts the faults a
//! run actually applied (from its history's nemesis lines), and `samsa test --schedule
//! FILE` plays exactly those faults again, at the same offsets into the main phase, on
//! the same nodes, instead of drawing a schedule from the seed.
//!
//! This is what reproducing a failure and shrinking it need: a seed reproduces a schedule
//! only together with the leaders the cluster happened to elect, since leader-aimed
//! targets are drawn against the live view; a recorded timeline names the nodes. The file
//! is JSON, [`FaultTimeline`] is its one typed owner, and its `format` line is checked
//! before anything else so a file of another kind is refused by name.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::event::{NemesisFunction, RollingRestart};
use crate::grudge::Grudge;
use crate::schedule::{Fault, FaultLayer, FaultSpec, PacketLoss, PlannedFault};

/// The `format` of a timeline file.
pub const TIMELINE_FORMAT: &str = "samsa-schedule/1";

/// A fault timeline file: the faults, in start order, with their windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultTimeline {
    /// Always [`TIMELINE_FORMAT`].
    pub format: String,
    /// Where the timeline was recorded (a run directory), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The faults, in start order.
    pub faults: Vec<TimedFault>,
}

/// One fault of a timeline and its window, in milliseconds from the start of the main
/// phase (the history's clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedFault {
    /// When the fault starts.
    pub start_ms: u64,
    /// When it is healed; after `start_ms`.
    pub stop_ms: u64,
    /// The fault with its targets: `{"kind": "kill", "value": ["n1"]}`,
    /// `{"kind": "partition", "value": {"n1": ["n2"]}}`.
    pub fault: Fault,
}

/// One nemesis line of a history, as the extraction reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The line's `time` (nanoseconds since the history's start).
    pub time_nanos: u64,
    /// The line's `f`.
    pub f: NemesisFunction,
    /// The line's `value`.
    pub value: serde_json::Value,
}

/// Why a timeline could not be read, extracted or planned.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file is not valid JSON of this format (serde's message names line and column).
    #[error("{path}: not a fault timeline: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What serde found.
        #[source]
        source: serde_json::Error,
    },
    /// The file's `format` is not [`TIMELINE_FORMAT`].
    #[error("{path}: format {found:?}, expected {TIMELINE_FORMAT:?} (write one with `samsa schedule RUN_DIR`)")]
    Format {
        /// The file.
        path: String,
        /// The format it names.
        found: String,
    },
    /// A fault of the file cannot be replayed as written.
    #[error("{path}: faults[{index}]: {problem}")]
    Fault {
        /// The file.
        path: String,
        /// Its position in `faults`.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// A nemesis line of the history has a value its `f` does not allow.
    #[error("history line at {time_nanos} ns ({f:?}): {problem}")]
    Event {
        /// The line's time.
        time_nanos: u64,
        /// The line's `f`.
        f: NemesisFunction,
        /// What is wrong.
        problem: String,
    },
}

impl FaultTimeline {
    /// Reads a timeline file's text; `path` names it in errors. Every fault is checked:
    /// a window that ends before it starts, an empty target list, two faults of one layer
    /// that overlap (the nemesis holds one per layer), or a node outside `known` (the
    /// cluster's nodes and `clients`; `None` before the cluster's nodes are known) is
    /// refused with the fault's index.
    pub fn parse(text: &str, path: &str, known: Option<&[String]>) -> Result<Self, ReplayError> {
        #[derive(Deserialize)]
        struct FormatOnly {
            format: String,
        }
        let format: FormatOnly =
            serde_json::from_str(text).map_err(|source| ReplayError::Parse {
                path: path.to_string(),
                source,
            })?;
        if format.format != TIMELINE_FORMAT {
            return Err(ReplayError::Format {
                path: path.to_string(),
                found: format.format,
            });
        }
        let timeline: FaultTimeline =
            serde_json::from_str(text).map_err(|source| ReplayError::Parse {
                path: path.to_string(),
                source,
            })?;
        timeline.validate(path, known)?;
        Ok(timeline)
    }

    fn validate(&self, path: &str, known: Option<&[String]>) -> Result<(), ReplayError> {
        let problem = |index: usize, problem: String| ReplayError::Fault {
            path: path.to_string(),
            index,
            problem,
        };
        let mut layer_free_at: Vec<(FaultLayer, u64)> = Vec::new();
        for (index, timed) in self.faults.iter().enumerate() {
            if timed.stop_ms <= timed.start_ms {
                return Err(problem(
                    index,
                    format!(
                        "stop_ms {} is not after start_ms {}",
                        timed.stop_ms, timed.start_ms
                    ),
                ));
            }
            let names = fault_nodes(&timed.fault);
            if names.is_empty() {
                return Err(problem(index, "the fault has no targets".into()));
            }
            let unknown = known.and_then(|known| {
                names
                    .iter()
                    .find(|n| !known.contains(n))
                    .map(|n| (n, known.join(", ")))
            });
            if let Some((unknown, known)) = unknown {
                return Err(problem(
                    index,
                    format!("node {unknown:?} is not in this cluster (its nodes: {known})"),
                ));
            }
            let layer = timed.fault.kind().layer();
            match layer_free_at.iter_mut().find(|(l, _)| *l == layer) {
                Some((_, free_at)) if *free_at > timed.start_ms => {
                    return Err(problem(
                        index,
                        format!(
                            "starts at {} ms while the previous {layer:?} fault lasts until {} ms; faults of one layer never overlap",
                            timed.start_ms, free_at
                        ),
                    ));
                }
                Some((_, free_at)) => *free_at = timed.stop_ms,
                None => layer_free_at.push((layer, timed.stop_ms)),
            }
        }
        Ok(())
    }

    /// The faults a run applied, from its history's nemesis lines in file order: each
    /// start (`start-partition`, `start-packet-loss`, `kill`, `pause`) pairs with the next
    /// heal of its layer (`stop-partition` or `stop-packet-loss`; `start` or `resume`),
    /// which may be the final heal after the
    /// main phase. A fault never healed in the history lasts until its last line. Faults
    /// that were not applied are not part of the timeline.
    pub fn from_events(
        events: &[RecordedEvent],
        source: Option<String>,
    ) -> Result<Self, ReplayError> {
        let mut open: Vec<(FaultLayer, u64, Fault)> = Vec::new();
        let mut faults = Vec::new();
        for event in events {
            let bad = |problem: String| ReplayError::Event {
                time_nanos: event.time_nanos,
                f: event.f,
                problem,
            };
            let started = match event.f {
                NemesisFunction::StartPartition => Some(Fault::Partition(
                    serde_json::from_value::<Grudge>(event.value.clone())
                        .map_err(|e| bad(format!("not a grudge: {e}")))?,
                )),
                NemesisFunction::Kill | NemesisFunction::Pause => {
                    let nodes: Vec<String> = serde_json::from_value(event.value.clone())
                        .map_err(|e| bad(format!("not a list of nodes: {e}")))?;
                    Some(if event.f == NemesisFunction::Kill {
                        Fault::Kill(nodes)
                    } else {
                        Fault::Pause(nodes)
                    })
                }
                NemesisFunction::StartPacketLoss => Some(Fault::PacketLoss(
                    serde_json::from_value::<PacketLoss>(event.value.clone()).map_err(|e| {
                        bad(format!("not a packet loss (nodes and probability): {e}"))
                    })?,
                )),
                NemesisFunction::StartRestart => Some(Fault::Restart(
                    serde_json::from_value::<RollingRestart>(event.value.clone())
                        .map_err(|e| bad(format!("not a rolling restart: {e}")))?
                        .nodes,
                )),
                NemesisFunction::StopPartition
                | NemesisFunction::StopPacketLoss
                | NemesisFunction::StopRestart
                | NemesisFunction::NodeStopped
                | NemesisFunction::NodeStarted
                | NemesisFunction::NodeInSync
                | NemesisFunction::Start
                | NemesisFunction::Resume
                | NemesisFunction::NotApplied => None,
            };
            if let Some(fault) = started {
                let layer = fault.kind().layer();
                open.retain(|(l, start, f)| {
                    // A start while its layer is still open: the earlier fault ended
                    // unrecorded; it lasted until this one began.
                    if *l == layer {
                        faults.push(window(*start, event.time_nanos, f.clone()));
                    }
                    *l != layer
                });
                open.push((layer, event.time_nanos, fault));
                continue;
            }
            let healed = match event.f {
                NemesisFunction::StopPartition | NemesisFunction::StopPacketLoss => {
                    Some(FaultLayer::Network)
                }
                NemesisFunction::Start | NemesisFunction::Resume | NemesisFunction::StopRestart => {
                    Some(FaultLayer::Process)
                }
                _ => None,
            };
            if let Some(layer) = healed {
                if let Some(pos) = open.iter().position(|(l, _, _)| *l == layer) {
                    let (_, start, fault) = open.remove(pos);
                    faults.push(window(start, event.time_nanos, fault));
                }
            }
        }
        let last = events.last().map_or(0, |e| e.time_nanos);
        for (_, start, fault) in open {
            faults.push(window(start, last, fault));
        }
        faults.sort_by_key(|f| (f.start_ms, f.stop_ms));
        fn window(start: u64, stop: u64, fault: Fault) -> TimedFault {
            let start_ms = start / 1_000_000;
            TimedFault {
                start_ms,
                stop_ms: (stop / 1_000_000).max(start_ms + 1),
                fault,
            }
        }
        Ok(FaultTimeline {
            format: TIMELINE_FORMAT.to_string(),
            source,
            faults,
        })
    }

    /// The timeline as the fault driver's plan, for a main phase of `time_limit`: a fault
    /// starting at or after the limit is left out, and a window is cut at the limit.
    /// Returns the plan and one note per fault left out or cut, for the run to print.
    pub fn plan(&self, time_limit: Duration) -> (Vec<PlannedFault>, Vec<String>) {
        let mut plan = Vec::new();
        let mut notes = Vec::new();
        let limit_ms = u64::try_from(time_limit.as_millis()).unwrap_or(u64::MAX);
        for (index, timed) in self.faults.iter().enumerate() {
            if timed.start_ms >= limit_ms {
                notes.push(format!(
                    "schedule: faults[{index}] ({}) starts at {:.1}s, after the {:.1}s main phase: left out",
                    fault_word(&timed.fault),
                    timed.start_ms as f64 / 1000.0,
                    time_limit.as_secs_f64()
                ));
                continue;
            }
            if timed.stop_ms > limit_ms {
                notes.push(format!(
                    "schedule: faults[{index}] ({}) healed at the end of the main phase ({:.1}s) rather than at {:.1}s",
                    fault_word(&timed.fault),
                    time_limit.as_secs_f64(),
                    timed.stop_ms as f64 / 1000.0
                ));
            }
            plan.push(PlannedFault {
                start_at: Duration::from_millis(timed.start_ms),
                stop_at: Duration::from_millis(timed.stop_ms.min(limit_ms)),
                spec: FaultSpec::Replayed(timed.fault.kind()),
                seed: 0,
                fixed: Some(timed.fault.clone()),
            });
        }
        (plan, notes)
    }
}

/// `kill n1,n2`, `partition n1|n2` for notes.
fn fault_word(fault: &Fault) -> String {
    format!("{} {}", fault.kind().word(), fault_nodes(fault).join(","))
}

/// Every node a fault names (for a grudge: both sides of every rule).
fn fault_nodes(fault: &Fault) -> Vec<String> {
    match fault {
        Fault::Kill(nodes) | Fault::Pause(nodes) | Fault::Restart(nodes) => nodes.clone(),
        Fault::PacketLoss(loss) => loss.nodes.clone(),
        Fault::Partition(grudge) => grudge.nodes(),
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
