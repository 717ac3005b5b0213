//! Faults and their schedules: partitions applied as iptables grudges inside each
//! container's network namespace, packet loss as iptables `statistic` rules there, kill
//! and restart, pause and resume. The pure parts
//! (grudges, shapes, targets, schedules, events) need no Docker and are unit-tested; the
//! [`docker`] and [`iptables`] modules apply them to a running cluster. The crate never
//! depends on the workload or the harness: it emits [`NemesisEvent`]s and the harness
//! records them.
#![deny(missing_docs)]

pub mod docker;
pub mod error;
pub mod event;
pub mod grudge;
pub mod iptables;
pub mod live;
pub mod loss;
pub mod partition;
pub mod replay;
pub mod role;
pub mod schedule;
pub mod targets;

pub use docker::{sweep_chains, Nemesis, NodeHandle};
pub use error::NemesisError;
pub use event::{NemesisEvent, NemesisFunction, NotApplied, RollingRestart, NOT_APPLIED};
pub use grudge::{Grudge, CLIENTS};
pub use live::{LedPartition, LiveView};
pub use loss::{LossProbability, LossProbabilityError, DEFAULT_LOSS};
pub use partition::{PartitionShape, ALL_SHAPES, DEFAULT_SHAPES};
pub use replay::{FaultTimeline, RecordedEvent, ReplayError, TimedFault, TIMELINE_FORMAT};
pub use role::{RoleName, BROKER_ROLE};
pub use schedule::{
    Fault, FaultKind, FaultLayer, FaultSpec, PacketLoss, PlannedFault, Scenario, ScheduleConfig,
    DEFAULT_SCENARIOS,
};
pub use targets::{TargetSpec, ALL_TARGETS, DEFAULT_TARGETS};
