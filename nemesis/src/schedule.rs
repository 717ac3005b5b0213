//! The seeded fault schedule behind `--nemesis partition,kill,pause`: when each fault
//! starts and stops, and what it is.
//!
//! Faults come in two layers, as in Jepsen's combined nemesis: the network layer
//! (partitions) and the process layer (kills and pauses). The schedule is a sequence of
//! windows separated by quiet time; each window holds one fault, and with
//! [`ScheduleConfig::combine_percent`] of the windows (by default a third) also a fault of
//! the other layer, starting a quarter to three quarters into the first and lasting its
//! own duration: a node killed while a partition stands, a pause during a partition. Those
//! are the situations (an ISR shrunk by a partition, then its last members killed; a leader
//! cut from its followers, then paused) a single fault at a time never makes, while the
//! windows with one fault keep a majority able to elect a new leader. Within a layer
//! faults never overlap. Every start and stop is its own nemesis operation in the
//! history, so each window keeps its causes. At the end the harness heals everything
//! regardless.
//!
//! Free draws alone leave a 60 s run to chance: one seed may draw four pauses and no
//! partition. So the default mix first walks a deck of [`Scenario`]s
//! ([`DEFAULT_SCENARIOS`], the situations in which Kafka's replication promises are
//! decided), one window each in a seeded order, and later windows alternate between a
//! new pass and a free draw.
//!
//! The same seed and configuration always give the same schedule; the targets that depend
//! on the live cluster (the leaders) are resolved at start time from a per-fault seed, so
//! they are reproducible given the same leaders.

use std::str::FromStr;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::NemesisError;
use crate::grudge::Grudge;
use crate::live::LiveView;
use crate::loss::{LossProbability, DEFAULT_LOSS};
use crate::partition::{PartitionShape, DEFAULT_SHAPES};
use crate::targets::{TargetSpec, DEFAULT_TARGETS};

/// The families of fault that `--nemesis` mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions (iptables grudges).
    Partition,
    /// kill -9, then restart with the data kept.
    Kill,
    /// Freeze, then thaw (cgroup freezer).
    Pause,
    /// Random loss of a share of the packets on a node's links (iptables `statistic`),
    /// then removal of the rules: [`crate::loss`].
    PacketLoss,
    /// A rolling restart: one node at a time stopped gracefully (SIGTERM, Kafka's
    /// controlled shutdown), started again, and the next one only once every partition's
    /// ISR is full again, as an operator upgrades a cluster.
    Restart,
}

impl FaultKind {
    /// The layer this family belongs to: faults of one layer never overlap.
    pub fn layer(self) -> FaultLayer {
        match self {
            Self::Partition | Self::PacketLoss => FaultLayer::Network,
            Self::Kill | Self::Pause | Self::Restart => FaultLayer::Process,
        }
    }

    /// Parse a `--nemesis` list such as `partition,kill,pause` (empty words ignored,
    /// duplicates removed, order kept). `none` or an empty list means no faults.
    pub fn parse_list(list: &str) -> Result<Vec<FaultKind>, NemesisError> {
        let mut kinds = Vec::new();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "none" {
                continue;
            }
            let kind = word.parse()?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}

impl FaultKind {
    /// The `--nemesis` word of this family: `partition`, `kill`, `pause`, `packet-loss`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Partition => "partition",
            Self::Kill => "kill",
            Self::Pause => "pause",
            Self::PacketLoss => "packet-loss",
            Self::Restart => "restart",
        }
    }
}

impl FromStr for FaultKind {
    type Err = NemesisError;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "partition" => Ok(Self::Partition),
            "kill" => Ok(Self::Kill),
            "pause" => Ok(Self::Pause),
            "packet-loss" => Ok(Self::PacketLoss),
            "restart" => Ok(Self::Restart),
            _ => Err(NemesisError::UnknownName {
                kind: "fault",
                word: word.to_string(),
                expected: "partition, kill, pause, packet-loss, restart, none",
            }),
        }
    }
}

/// The two independent layers of the combined nemesis. A killed node cannot also be
/// paused (and a paused one is not killed), so kills, pauses and rolling restarts share
/// the process layer;
/// partitions and packet loss act on the network (both are iptables rules in the nodes'
/// namespaces) and combine with either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultLayer {
    /// Partitions and packet loss.
    Network,
    /// Kills, pauses and rolling restarts.
    Process,
}

/// One fault, before its random targets are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "spec")]
pub enum FaultSpec {
    /// Cut the network in this shape.
    Partition(PartitionShape),
    /// Kill these targets.
    Kill(TargetSpec),
    /// Pause these targets.
    Pause(TargetSpec),
    /// Make the links of these targets lose packets with this probability.
    PacketLoss(TargetSpec, LossProbability),
    /// Restart these targets gracefully, one at a time.
    Restart(TargetSpec),
    /// A fault of this family replayed from a recorded timeline (`samsa test --schedule`,
    /// [`crate::replay`]): its targets were fixed by the run that recorded it and travel
    /// in [`PlannedFault::fixed`], so nothing is drawn.
    Replayed(FaultKind),
}

impl FaultSpec {
    /// True when this fault means something only once the live view shows a shrunk ISR
    /// (`kill:isr`, `pause:isr`): the harness then holds its start, from the planned time
    /// until the next step of the schedule, until the sampled cluster shows one (any
    /// broker's session timeout and election take their own time), and starts it then
    /// regardless, with `isr`'s fallback target.
    pub fn awaits_shrunk_isr(self) -> bool {
        matches!(
            self,
            Self::Kill(TargetSpec::Isr) | Self::Pause(TargetSpec::Isr)
        )
    }

    /// The family this fault belongs to.
    pub fn kind(self) -> FaultKind {
        match self {
            Self::Partition(_) => FaultKind::Partition,
            Self::Kill(_) => FaultKind::Kill,
            Self::Pause(_) => FaultKind::Pause,
            Self::PacketLoss(..) => FaultKind::PacketLoss,
            Self::Restart(_) => FaultKind::Restart,
            Self::Replayed(kind) => kind,
        }
    }
}

/// One window a default run plays on purpose: a first fault and, for a combined
/// scenario, a fault of the other layer planned half to four fifths into the first (a
/// `kill:isr` is then held until the ISR has shrunk: see
/// [`FaultSpec::awaits_shrunk_isr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The window's first fault.
    pub first: FaultSpec,
    /// The other layer's fault started during the first, if any.
    pub then: Option<FaultSpec>,
}

impl Scenario {
    /// How long the first fault lasts: a partition scenario half again `fault_duration`,
    /// since what it tests happens only after the majority has replaced the leader it cut
    /// off (a controller failover plus a session timeout: 4 to 8 s on broker-under-test,
    /// more on Kafka's defaults) and the new leader has served a while.
    pub fn length(&self, fault_duration: Duration) -> Duration {
        match self.first {
            FaultSpec::Partition(_) => fault_duration * 3 / 2,
            FaultSpec::Kill(_)
            | FaultSpec::Pause(_)
            | FaultSpec::PacketLoss(..)
            | FaultSpec::Restart(_)
            | FaultSpec::Replayed(_) => fault_duration,
        }
    }
}

/// The scenarios every default run walks, in an order drawn from its seed, before its
/// windows alternate between free draws and another pass: the situations in which
/// Kafka's replication promises are decided, each as one window, so a 60 s run meets
/// every one of them rather than whichever a free draw lands on.
/// - A leader cut from its followers while clients still reach it: acks=all must wait
///   for the ISR (ack rule, AlterPartition ISR shrink through the controller, KIP-497),
///   fetches must stop at the high watermark, and the deposed leader must truncate its
///   unreplicated tail when it returns (KIP-101 leader epochs).
/// - The clients left with that deposed leader: when it heals it has learned the new
///   leader epoch and must refuse their produces (NOT_LEADER_OR_FOLLOWER).
/// - kill -9 of a partition leader with writes in flight: election of an ISR member,
///   then log recovery of the restarted broker (its un-flushed tail is in the page cache).
/// - A pause of a partition leader: fencing after the session timeout while it is frozen,
///   then a leader that wakes up deposed, and producers retrying into idempotent dedup.
/// - A leader cut from its followers until fenced and out of the ISR, then every in-sync
///   replica killed: with `unclean.leader.election.enable=false` the partition must stay
///   offline until an in-sync replica returns (KIP-841), never led by the stale replica.
pub const DEFAULT_SCENARIOS: [Scenario; 5] = [
    Scenario {
        first: FaultSpec::Partition(PartitionShape::LeaderFromReplicas),
        then: None,
    },
    Scenario {
        first: FaultSpec::Partition(PartitionShape::ClientsWithLeader),
        then: None,
    },
    Scenario {
        first: FaultSpec::Kill(TargetSpec::OneLeader),
        then: None,
    },
    Scenario {
        first: FaultSpec::Pause(TargetSpec::OneLeader),
        then: None,
    },
    Scenario {
        first: FaultSpec::Partition(PartitionShape::LeaderFromReplicas),
        then: Some(FaultSpec::Kill(TargetSpec::Isr)),
    },
];

impl std::fmt::Display for FaultSpec {
    /// The `--nemesis` word that plans this fault: `partition:bridge`, `kill:leaders`,
    /// `packet-loss:one` (the probability is `--packet-loss-p`'s).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Partition(shape) => write!(f, "partition:{shape}"),
            Self::Kill(target) => write!(f, "kill:{target}"),
            Self::Pause(target) => write!(f, "pause:{target}"),
            Self::PacketLoss(target, _) => write!(f, "packet-loss:{target}"),
            Self::Restart(target) => write!(f, "restart:{target}"),
            Self::Replayed(kind) => write!(f, "{}:replayed", kind.word()),
        }
    }
}

/// A fault with its targets drawn: what the applier executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Fault {
    /// Apply this grudge.
    Partition(Grudge),
    /// Kill these nodes.
    Kill(Vec<String>),
    /// Pause these nodes.
    Pause(Vec<String>),
    /// Make these nodes' links lose packets.
    PacketLoss(PacketLoss),
    /// Restart these nodes gracefully, one at a time in this order (the harness drives
    /// the roll: it waits for the ISR between nodes).
    Restart(Vec<String>),
}

impl std::fmt::Display for Fault {
    /// The fault as the report labels it: `partition {"n1":["n2"]}`, `kill n1,n3`,
    /// `packet-loss n2 (p 0.2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Partition(grudge) => {
                let json = serde_json::to_string(grudge).unwrap_or_default();
                write!(f, "partition {json}")
            }
            Self::Kill(nodes) => write!(f, "kill {}", nodes.join(",")),
            Self::Pause(nodes) => write!(f, "pause {}", nodes.join(",")),
            Self::PacketLoss(loss) => write!(
                f,
                "packet-loss {} (p {})",
                loss.nodes.join(","),
                loss.probability
            ),
            Self::Restart(nodes) => write!(f, "restart {}", nodes.join(",")),
        }
    }
}

/// The targets of a `packet-loss` fault: every link of each node, in both directions
/// (to and from the other nodes and the clients), drops each packet with `probability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketLoss {
    /// The nodes whose links lose packets.
    pub nodes: Vec<String>,
    /// The share of packets each of their links drops.
    pub probability: LossProbability,
}

impl Fault {
    /// The family of this fault (for its layer, or a replayed fault's spec).
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Partition(_) => FaultKind::Partition,
            Self::Kill(_) => FaultKind::Kill,
            Self::Pause(_) => FaultKind::Pause,
            Self::PacketLoss(_) => FaultKind::PacketLoss,
            Self::Restart(_) => FaultKind::Restart,
        }
    }
}

/// One entry of the schedule: a fault and its window, relative to the start of the
/// main phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFault {
    /// When to start it.
    pub start_at: Duration,
    /// When to stop (heal) it; always after `start_at`.
    pub stop_at: Duration,
    /// What it is.
    pub spec: FaultSpec,
    /// Seed for drawing its targets, derived from the schedule seed.
    pub seed: u64,
    /// Targets fixed in advance (a replayed timeline, [`FaultSpec::Replayed`]): resolving
    /// returns them rather than drawing against the live cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Fault>,
}

impl PlannedFault {
    /// The layer of this fault (see [`FaultLayer`]).
    pub fn layer(&self) -> FaultLayer {
        self.spec.kind().layer()
    }

    /// Draw the targets against the live cluster: `nodes` in a stable order, `live` (the
    /// partition leaders and replicas) sampled just before. Same inputs, same fault.
    pub fn resolve(&self, nodes: &[String], live: &LiveView) -> Result<Fault, NemesisError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        Ok(match self.spec {
            FaultSpec::Partition(shape) => Fault::Partition(shape.grudge(nodes, live, &mut rng)?),
            FaultSpec::Kill(target) => Fault::Kill(target.select_live(nodes, live, &mut rng)?),
            FaultSpec::Pause(target) => Fault::Pause(target.select_live(nodes, live, &mut rng)?),
            FaultSpec::PacketLoss(target, probability) => Fault::PacketLoss(PacketLoss {
                nodes: target.select_live(nodes, live, &mut rng)?,
                probability,
            }),
            FaultSpec::Restart(target) => {
                // The roll's order is drawn too: a rolling restart that always began with
                // n1 would never start with the controller or a leader.
                let mut order = target.select_live(nodes, live, &mut rng)?;
                order.shuffle(&mut rng);
                Fault::Restart(order)
            }
            FaultSpec::Replayed(kind) => {
                return Err(NemesisError::InvalidSchedule(format!(
                    "a replayed {} fault has no recorded targets",
                    kind.word()
                )))
            }
        })
    }
}

/// Settings of a schedule. Durations are bounded by `time_limit` and the fault count by
/// `faults_max`, so a schedule is always finite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// The fault families to mix (from `--nemesis`).
    pub kinds: Vec<FaultKind>,
    /// The partition shapes to draw from, uniformly from the list, so a shape listed twice
    /// is drawn twice as often (default: [`DEFAULT_SHAPES`]).
    pub shapes: Vec<PartitionShape>,
    /// The kill/pause/packet-loss/restart targets to draw from, uniformly from the list (default:
    /// [`DEFAULT_TARGETS`]).
    pub targets: Vec<TargetSpec>,
    /// The share of packets a `packet-loss` fault drops (`--packet-loss-p`).
    #[serde(default = "default_loss")]
    pub packet_loss: LossProbability,
    /// The scenarios each run walks before and between free draws (default:
    /// [`DEFAULT_SCENARIOS`]; empty when `--nemesis` narrows shapes or targets, since the
    /// faults are then aimed by hand). Only those whose families the mix has are played.
    #[serde(default)]
    pub scenarios: Vec<Scenario>,
    /// Of every 100 free windows, how many also hold a fault of the other layer (when the
    /// mix has both layers); 0 keeps one fault active at a time, scenarios included.
    pub combine_percent: u8,
    /// Quiet time between the end of one fault and the start of the next of its layer.
    pub interval: Duration,
    /// How long a fault stays active.
    pub fault_duration: Duration,
    /// Each quiet time and each fault duration varies uniformly by up to this much.
    pub jitter: Duration,
    /// Length of the main phase: no fault starts or stops after it.
    pub time_limit: Duration,
    /// At most this many faults.
    pub faults_max: u32,
    /// The seed (`--seed`).
    pub seed: u64,
}

impl ScheduleConfig {
    /// The defaults: the scenario deck ([`DEFAULT_SCENARIOS`]), every shape and target
    /// with the leader-aimed ones favoured ([`DEFAULT_SHAPES`], [`DEFAULT_TARGETS`]), a
    /// third of the free windows combined, 10 s quiet, 10 s faults, 3 s jitter (the rhythm
    /// Jepsen's Kafka test uses), at most 1,000 faults. `samsa test` shortens the rhythm (its `--nemesis-interval`,
    /// `--fault-duration`).
    pub fn new(kinds: Vec<FaultKind>, time_limit: Duration, seed: u64) -> Self {
        Self {
            kinds,
            shapes: DEFAULT_SHAPES.to_vec(),
            targets: DEFAULT_TARGETS.to_vec(),
            packet_loss: DEFAULT_LOSS,
            scenarios: DEFAULT_SCENARIOS.to_vec(),
            combine_percent: 33,
            interval: Duration::from_secs(10),
            fault_duration: Duration::from_secs(10),
            jitter: Duration::from_secs(3),
            time_limit,
            faults_max: 1_000,
            seed,
        }
    }

    /// The defaults narrowed by `--nemesis` words: `partition`, `kill` and `pause` mix every
    /// shape and target (weighted as [`DEFAULT_SHAPES`] and [`DEFAULT_TARGETS`]); `partition:SHAPE` (e.g. `partition:leaders`) draws partitions from
    /// the named shapes only, and `kill:TARGET` / `pause:TARGET` / `packet-loss:TARGET` /
    /// `restart:TARGET` (e.g. `kill:leaders`) draw those families' targets from the named
    /// ones only (they share one target list). Targeted faults are how a seeded broker bug is provoked on purpose.
    pub fn from_words(
        words: &[String],
        time_limit: Duration,
        seed: u64,
    ) -> Result<Self, NemesisError> {
        let mut kinds = Vec::new();
        let mut shapes = Vec::new();
        let mut targets = Vec::new();
        for word in words
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty() && *w != "none")
        {
            let (kind, narrowing) = match word.split_once(':') {
                Some((kind, narrowing)) => (kind.parse::<FaultKind>()?, Some(narrowing)),
                None => (word.parse::<FaultKind>()?, None),
            };
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
            match (kind, narrowing) {
                (_, None) => {}
                (FaultKind::Partition, Some(shape)) => {
                    shapes.push(shape.parse::<PartitionShape>()?)
                }
                (_, Some(target)) => targets.push(target.parse::<TargetSpec>()?),
            }
        }
        let mut config = Self::new(kinds, time_limit, seed);
        if !shapes.is_empty() || !targets.is_empty() {
            config.scenarios.clear();
        }
        if !shapes.is_empty() {
            config.shapes = shapes;
        }
        if !targets.is_empty() {
            config.targets = targets;
        }
        Ok(config)
    }

    /// Plan the schedule. Faults that would not finish within `time_limit` are cut at it
    /// (their stop is `time_limit`); a fault shorter than 100 ms is not scheduled.
    pub fn plan(&self) -> Result<Vec<PlannedFault>, NemesisError> {
        if self.kinds.is_empty() {
            return Ok(Vec::new());
        }
        if self.interval.is_zero() || self.fault_duration.is_zero() {
            return Err(NemesisError::InvalidSchedule(
                "interval and fault duration must be positive".into(),
            ));
        }
        if self.jitter >= self.interval || self.jitter >= self.fault_duration {
            return Err(NemesisError::InvalidSchedule(format!(
                "jitter {:?} must be smaller than the interval {:?} and the fault duration {:?}",
                self.jitter, self.interval, self.fault_duration
            )));
        }
        if self.kinds.contains(&FaultKind::Partition) && self.shapes.is_empty() {
            return Err(NemesisError::InvalidSchedule(
                "no partition shape to draw".into(),
            ));
        }
        let targeted_faults = self.kinds.iter().any(|k| *k != FaultKind::Partition);
        if targeted_faults && self.targets.is_empty() {
            return Err(NemesisError::InvalidSchedule(
                "no kill/pause/packet-loss/restart target to draw".into(),
            ));
        }
        if self.combine_percent > 100 {
            return Err(NemesisError::InvalidSchedule(format!(
                "combine percent {} is above 100",
                self.combine_percent
            )));
        }
        let min_fault = Duration::from_millis(100);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut planned = Vec::new();
        let mut now = Duration::ZERO;
        let usable = self.usable_scenarios();
        let mut deck: Vec<Scenario> = Vec::new();
        let mut window = 0usize;
        while planned.len() < self.faults_max as usize {
            let start_at = now + jittered(self.interval, self.jitter, &mut rng);
            let from_deck = !usable.is_empty() && (window < usable.len() || window % 2 == 1);
            let scenario = if from_deck {
                if deck.is_empty() {
                    deck = usable.clone();
                    deck.shuffle(&mut rng);
                }
                deck.pop()
            } else {
                None
            };
            let length = match scenario {
                Some(s) => s.length(self.fault_duration),
                None => self.fault_duration,
            };
            let stop_at = (start_at + jittered(length, self.jitter, &mut rng)).min(self.time_limit);
            if stop_at < start_at + min_fault {
                break;
            }
            window += 1;
            let (first, second, into_percent) = match scenario {
                Some(scenario) => (scenario.first, scenario.then, 50..=80u32),
                None => {
                    let kind = self.first_kind(&mut rng);
                    let first = self.draw_spec(kind, &mut rng);
                    let others: Vec<FaultKind> = self
                        .kinds
                        .iter()
                        .copied()
                        .filter(|k| k.layer() != kind.layer())
                        .collect();
                    let combined = self.combine_percent > 0
                        && !others.is_empty()
                        && rng.random_range(0..100u8) < self.combine_percent;
                    let second = combined.then(|| {
                        let second = pick(&others, &mut rng);
                        self.draw_spec(second, &mut rng)
                    });
                    (first, second, 25..=75u32)
                }
            };
            planned.push(PlannedFault {
                start_at,
                stop_at,
                spec: first,
                seed: rng.next_u64(),
                fixed: None,
            });
            let mut window_end = stop_at;
            if let Some(second) = second {
                let into = (stop_at - start_at) * rng.random_range(into_percent) / 100;
                let second_start = start_at + into;
                let second_stop = (second_start
                    + jittered(self.fault_duration, self.jitter, &mut rng))
                .min(self.time_limit);
                if second_stop >= second_start + min_fault
                    && planned.len() < self.faults_max as usize
                {
                    planned.push(PlannedFault {
                        start_at: second_start,
                        stop_at: second_stop,
                        spec: second,
                        seed: rng.next_u64(),
                        fixed: None,
                    });
                    window_end = window_end.max(second_stop);
                }
            }
            now = window_end;
        }
        Ok(planned)
    }

    /// The family of a window's first fault: a layer drawn uniformly among those the mix
    /// has, then a family of it, so partitions come as often as kills and pauses
    /// together. A partition cutting a leader from its followers while a majority elects
    /// its successor is the moment most replication promises are decided; a process fault
    /// shares its window with a partition in combined windows anyway.
    fn first_kind(&self, rng: &mut ChaCha8Rng) -> FaultKind {
        let mut layers: Vec<FaultLayer> = self.kinds.iter().map(|k| k.layer()).collect();
        layers.sort();
        layers.dedup();
        let layer = pick(&layers, rng);
        let of_layer: Vec<FaultKind> = self
            .kinds
            .iter()
            .copied()
            .filter(|k| k.layer() == layer)
            .collect();
        pick(&of_layer, rng)
    }

    /// One fault of `kind`, its shape or target drawn from the configured lists.
    fn draw_spec(&self, kind: FaultKind, rng: &mut ChaCha8Rng) -> FaultSpec {
        match kind {
            FaultKind::Partition => FaultSpec::Partition(pick(&self.shapes, rng)),
            FaultKind::Kill => FaultSpec::Kill(pick(&self.targets, rng)),
            FaultKind::Pause => FaultSpec::Pause(pick(&self.targets, rng)),
            FaultKind::PacketLoss => {
                FaultSpec::PacketLoss(pick(&self.targets, rng), self.packet_loss)
            }
            FaultKind::Restart => FaultSpec::Restart(pick(&self.targets, rng)),
        }
    }

    /// The scenarios this mix can play: each of its faults of a family the mix has, and
    /// a combined one only while windows may combine.
    fn usable_scenarios(&self) -> Vec<Scenario> {
        self.scenarios
            .iter()
            .copied()
            .filter(|s| {
                let has = |spec: FaultSpec| self.kinds.contains(&spec.kind());
                has(s.first) && s.then.is_none_or(|t| has(t) && self.combine_percent > 0)
            })
            .collect()
    }
}

fn default_loss() -> LossProbability {
    DEFAULT_LOSS
}

fn jittered<R: Rng + ?Sized>(base: Duration, jitter: Duration, rng: &mut R) -> Duration {
    let jitter_ms = jitter.as_millis() as u64;
    if jitter_ms == 0 {
        return base;
    }
    let offset = rng.random_range(0..=2 * jitter_ms);
    (base + Duration::from_millis(offset)).saturating_sub(jitter)
}

fn pick<T: Copy, R: Rng + ?Sized>(items: &[T], rng: &mut R) -> T {
    assert!(
        !items.is_empty(),
        "callers check that the choice list is not empty"
    );
    items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> ScheduleConfig {
        let kinds = FaultKind::parse_list("partition,kill,pause").unwrap();
        ScheduleConfig::new(kinds, Duration::from_secs(300), seed)
    }

    // The same seed gives the same schedule; another seed a different one.
    #[test]
    fn seed_reproduces_schedule() {
        assert_eq!(config(42).plan().unwrap(), config(42).plan().unwrap());
        assert_ne!(config(42).plan().unwrap(), config(43).plan().unwrap());
    }

    // Checks one layer's faults: no two overlap, every length within the jitter bounds
    // (a partition scenario lasting half again the fault duration),
    // every gap at least the quiet time less the jitter, all within the time limit.
    fn assert_sequential(cfg: &ScheduleConfig, faults: &[&PlannedFault]) {
        let mut previous_stop = Duration::ZERO;
        for fault in faults {
            assert!(fault.start_at >= previous_stop + cfg.interval - cfg.jitter);
            assert!(fault.stop_at > fault.start_at);
            assert!(fault.stop_at - fault.start_at <= cfg.fault_duration * 3 / 2 + cfg.jitter);
            assert!(fault.stop_at <= cfg.time_limit);
            previous_stop = fault.stop_at;
        }
    }

    // Without combined windows, faults of every family form one sequence: one at a
    // time, each gap the quiet time within the jitter.
    #[test]
    fn faults_are_sequential_and_bounded_without_combining() {
        let mut cfg = config(7);
        cfg.combine_percent = 0;
        let plan = cfg.plan().unwrap();
        assert!(plan.len() >= 10, "300 s of 10+10 s rhythm: {}", plan.len());
        assert_sequential(&cfg, &plan.iter().collect::<Vec<_>>());
        let mut previous_stop = Duration::ZERO;
        for fault in &plan {
            assert!(fault.start_at - previous_stop <= cfg.interval + cfg.jitter);
            previous_stop = fault.stop_at;
        }
    }

    // Goal: with combined windows (the default) each layer is its own bounded sequence
    // (never two partitions, never a kill and a pause at once), the plan is in start
    // order, a combined fault starts inside its window's first fault, and about the
    // configured share of windows is combined (method: 300 s schedules over 40 seeds).
    #[test]
    fn combined_windows_overlap_layers_but_each_layer_is_sequential() {
        let mut windows = 0usize;
        let mut combined = 0usize;
        for seed in 0..40 {
            let mut cfg = config(seed);
            cfg.scenarios.clear();
            assert_eq!(cfg.combine_percent, 33, "a third is the default");
            let plan = cfg.plan().unwrap();
            assert!(plan.windows(2).all(|w| w[0].start_at <= w[1].start_at));
            for layer in [FaultLayer::Network, FaultLayer::Process] {
                let faults: Vec<&PlannedFault> =
                    plan.iter().filter(|p| p.layer() == layer).collect();
                assert!(
                    faults.len() >= 3,
                    "seed {seed}, {layer:?}: {}",
                    faults.len()
                );
                assert_sequential(&cfg, &faults);
            }
            let mut i = 0;
            while i < plan.len() {
                windows += 1;
                let first = &plan[i];
                if let Some(next) = plan.get(i + 1) {
                    if next.start_at < first.stop_at {
                        assert_ne!(next.layer(), first.layer());
                        let into = next.start_at - first.start_at;
                        let length = first.stop_at - first.start_at;
                        assert!(
                            into >= length / 4 && into <= length * 3 / 4 + Duration::from_millis(1)
                        );
                        combined += 1;
                        i += 1;
                    }
                }
                i += 1;
            }
        }
        let share = combined as f64 / windows as f64;
        assert!(
            (0.23..0.43).contains(&share),
            "{combined} of {windows} windows combined"
        );
    }

    // Goal: a window's first fault is a partition half the time with the default mix
    // (the layer is drawn first), kills and pauses sharing the other half.
    #[test]
    fn first_faults_split_evenly_between_layers() {
        let mut cfg = config(0);
        cfg.combine_percent = 0;
        cfg.scenarios.clear();
        let (mut partitions, mut kills, mut pauses) = (0usize, 0usize, 0usize);
        for seed in 0..40 {
            cfg.seed = seed;
            for fault in cfg.plan().unwrap() {
                match fault.spec {
                    FaultSpec::Partition(_) => partitions += 1,
                    FaultSpec::Kill(_) => kills += 1,
                    FaultSpec::Pause(_) => pauses += 1,
                    FaultSpec::PacketLoss(..) | FaultSpec::Restart(_) => {
                        panic!("packet loss and restarts are not in the default mix")
                    }
                    FaultSpec::Replayed(_) => panic!("a drawn schedule replays nothing"),
                }
            }
        }
        let total = (partitions + kills + pauses) as f64;
        assert!(
            (0.42..0.58).contains(&(partitions as f64 / total)),
            "{partitions} of {total}"
        );
        assert!(
            (0.18..0.32).contains(&(kills as f64 / total)),
            "{kills} of {total}"
        );
        assert!(
            (0.18..0.32).contains(&(pauses as f64 / total)),
            "{pauses} of {total}"
        );
    }

    /// The rhythm `samsa test` gives by default: 60 s, 2 s quiet, 7 s faults, 1 s jitter.
    fn samsa_default(seed: u64) -> ScheduleConfig {
        let mut cfg = config(seed);
        cfg.time_limit = Duration::from_secs(60);
        cfg.interval = Duration::from_secs(2);
        cfg.fault_duration = Duration::from_secs(7);
        cfg.jitter = Duration::from_secs(1);
        cfg
    }

    /// The scenarios a plan plays, as (first, then) pairs in window order.
    fn played(plan: &[PlannedFault]) -> Vec<(FaultSpec, Option<FaultSpec>)> {
        let mut windows = Vec::new();
        let mut i = 0;
        while i < plan.len() {
            let first = &plan[i];
            let then = plan
                .get(i + 1)
                .filter(|next| next.start_at < first.stop_at)
                .map(|next| next.spec);
            i += 1 + usize::from(then.is_some());
            windows.push((first.spec, then));
        }
        windows
    }

    // Goal: every default 60 s run walks the whole scenario deck, in an order its seed
    // decides, and a combined scenario's second fault starts half to four fifths into
    // the first, after a session timeout could fence the node it cut off (method: 200
    // seeds with samsa's default rhythm).
    #[test]
    fn every_default_run_plays_every_scenario() {
        let mut orders = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let plan = samsa_default(seed).plan().unwrap();
            let windows = played(&plan);
            for scenario in DEFAULT_SCENARIOS {
                assert!(
                    windows.contains(&(scenario.first, scenario.then)),
                    "seed {seed}: {scenario:?} not played in {windows:?}"
                );
            }
            orders.insert(format!("{:?}", &windows[..DEFAULT_SCENARIOS.len()]));
            for pair in plan.windows(2) {
                let (first, next) = (&pair[0], &pair[1]);
                if next.start_at < first.stop_at && next.spec == FaultSpec::Kill(TargetSpec::Isr) {
                    let into = next.start_at - first.start_at;
                    let length = first.stop_at - first.start_at;
                    assert!(
                        into >= length / 2 && into <= length * 4 / 5 + Duration::from_millis(1)
                    );
                }
            }
        }
        assert!(orders.len() > 50, "seeded orders: {}", orders.len());
    }

    // Goal: after the first pass, windows alternate between free draws and the deck, so a
    // long run keeps meeting every scenario and also everything else the mix holds
    // (method: a 300 s schedule: more than one pass, and free draws beside them).
    #[test]
    fn long_runs_alternate_free_windows_and_scenarios() {
        let plan = samsa_default(3);
        let plan = ScheduleConfig {
            time_limit: Duration::from_secs(300),
            ..plan
        }
        .plan()
        .unwrap();
        let windows = played(&plan);
        let is_scenario = |w: &(FaultSpec, Option<FaultSpec>)| {
            DEFAULT_SCENARIOS.iter().any(|s| (s.first, s.then) == *w)
        };
        let scenarios = windows.iter().filter(|w| is_scenario(w)).count();
        assert!(scenarios >= 2 * DEFAULT_SCENARIOS.len(), "{windows:?}");
        assert!(windows.len() - scenarios >= 5, "free windows: {windows:?}");
    }

    // Goal: the deck follows the mix: narrowing shapes or targets (aiming by hand) drops
    // it, a mix without kills drops the scenarios that kill, and no combining drops the
    // combined scenario.
    #[test]
    fn the_deck_follows_the_mix() {
        let words = |w: &str| -> Vec<String> { w.split(',').map(String::from).collect() };
        let limit = Duration::from_secs(60);
        let aimed = ScheduleConfig::from_words(&words("partition:leaders"), limit, 1).unwrap();
        assert!(aimed.scenarios.is_empty());
        let aimed = ScheduleConfig::from_words(&words("kill:one,pause"), limit, 1).unwrap();
        assert!(aimed.scenarios.is_empty());
        let mut cfg = ScheduleConfig::from_words(&words("partition,pause"), limit, 1).unwrap();
        assert!(cfg
            .usable_scenarios()
            .iter()
            .all(|s| s.first.kind() != FaultKind::Kill && s.then.is_none()));
        assert_eq!(cfg.usable_scenarios().len(), 3);
        cfg.kinds = FaultKind::parse_list("partition,kill,pause").unwrap();
        cfg.combine_percent = 0;
        assert!(cfg.usable_scenarios().iter().all(|s| s.then.is_none()));
        assert_eq!(cfg.usable_scenarios().len(), DEFAULT_SCENARIOS.len() - 1);
    }

    // Goal: combining only pairs different layers; a mix of one layer stays one sequence,
    // and kill with pause (both process faults) never overlap.
    #[test]
    fn one_layer_mixes_never_overlap() {
        for kinds in ["kill,pause", "partition", "kill"] {
            let mut cfg = config(5);
            cfg.kinds = FaultKind::parse_list(kinds).unwrap();
            cfg.combine_percent = 100;
            let plan = cfg.plan().unwrap();
            assert!(!plan.is_empty());
            assert_sequential(&cfg, &plan.iter().collect::<Vec<_>>());
        }
        let mut cfg = config(5);
        cfg.combine_percent = 101;
        assert!(cfg.plan().is_err());
    }

    // Goal: the count bound holds across both layers together.
    #[test]
    fn faults_max_bounds_both_layers() {
        let mut cfg = config(3);
        cfg.faults_max = 3;
        let plan = cfg.plan().unwrap();
        assert_eq!(plan.len(), 3);
        let full = config(3).plan().unwrap();
        assert_eq!(
            plan[..],
            full[..3],
            "the earliest three of the same schedule"
        );
    }

    // Goal: the default draws favour the leader-aimed shape and target (method: frequency
    // over long schedules against a uniform draw's share).
    #[test]
    fn defaults_favour_leader_aimed_faults() {
        let mut shapes = 0usize;
        let mut zombie = 0usize;
        let mut targets = 0usize;
        let mut one_leader = 0usize;
        for seed in 0..30 {
            for fault in config(seed).plan().unwrap() {
                match fault.spec {
                    FaultSpec::Partition(shape) => {
                        shapes += 1;
                        zombie += usize::from(shape == PartitionShape::LeaderFromReplicas);
                    }
                    FaultSpec::Kill(t) | FaultSpec::Pause(t) => {
                        targets += 1;
                        one_leader += usize::from(t == TargetSpec::OneLeader);
                    }
                    FaultSpec::PacketLoss(..) | FaultSpec::Restart(_) => {
                        panic!("packet loss and restarts are not in the default mix")
                    }
                    FaultSpec::Replayed(_) => panic!("a drawn schedule replays nothing"),
                }
            }
        }
        // Uniform over all shapes would give 1/8, over all targets 1/6.
        assert!(zombie * 5 > shapes, "{zombie} of {shapes}");
        assert!(one_leader * 4 > targets, "{one_leader} of {targets}");
    }

    // Every requested kind shows up in a long schedule; unrequested kinds never do.
    #[test]
    fn mix_uses_only_requested_kinds() {
        let plan = config(1).plan().unwrap();
        let has = |f: fn(&FaultSpec) -> bool| plan.iter().any(|p| f(&p.spec));
        assert!(has(|s| matches!(s, FaultSpec::Partition(_))));
        assert!(has(|s| matches!(s, FaultSpec::Kill(_))));
        assert!(has(|s| matches!(s, FaultSpec::Pause(_))));
        let mut only_kill = config(1);
        only_kill.kinds = vec![FaultKind::Kill];
        assert!(only_kill
            .plan()
            .unwrap()
            .iter()
            .all(|p| matches!(p.spec, FaultSpec::Kill(_))));
    }

    // Goal: `packet-loss` is a network-layer family: asked for alone it plans only packet
    // losses with the configured probability and the narrowed targets; mixed with
    // partitions, no loss window overlaps a partition (both are iptables rules) while
    // process faults may combine with either. Method: long schedules over several seeds.
    #[test]
    fn packet_loss_is_a_network_fault_with_the_configured_probability() {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_string()).collect::<Vec<_>>();
        let p: LossProbability = "0.35".parse().unwrap();
        let mut alone = ScheduleConfig::from_words(
            &words(&["packet-loss:leaders"]),
            Duration::from_secs(300),
            1,
        )
        .unwrap();
        alone.packet_loss = p;
        let plan = alone.plan().unwrap();
        assert!(plan.len() > 5, "{} faults", plan.len());
        for fault in &plan {
            assert_eq!(fault.spec, FaultSpec::PacketLoss(TargetSpec::Leaders, p));
            assert_eq!(fault.spec.to_string(), "packet-loss:leaders");
        }
        for seed in 0..10 {
            let mut mixed = ScheduleConfig::from_words(
                &words(&["partition", "packet-loss", "kill"]),
                Duration::from_secs(1200),
                seed,
            )
            .unwrap();
            mixed.packet_loss = p;
            let plan = mixed.plan().unwrap();
            let losses = plan
                .iter()
                .filter(|f| f.spec.kind() == FaultKind::PacketLoss)
                .count();
            assert!(losses > 0, "seed {seed}: no packet loss");
            let network: Vec<&PlannedFault> = plan
                .iter()
                .filter(|f| f.layer() == FaultLayer::Network)
                .collect();
            assert_sequential(&mixed, &network);
        }
        // Resolution draws the nodes and carries the probability.
        let live = LiveView::default();
        let nodes: Vec<String> = ["n1", "n2", "n3"].iter().map(|n| n.to_string()).collect();
        let one = PlannedFault {
            start_at: Duration::ZERO,
            stop_at: Duration::from_secs(1),
            spec: FaultSpec::PacketLoss(TargetSpec::One, p),
            seed: 7,
            fixed: None,
        };
        match one.resolve(&nodes, &live).unwrap() {
            Fault::PacketLoss(loss) => {
                assert_eq!(loss.nodes.len(), 1);
                assert_eq!(loss.probability, p);
            }
            other => panic!("{other:?}"),
        }
        let loss = Fault::PacketLoss(PacketLoss {
            nodes: vec!["n1".into(), "n3".into()],
            probability: p,
        });
        assert_eq!(loss.to_string(), "packet-loss n1,n3 (p 0.35)");
        assert_eq!(Fault::Kill(vec!["n2".into()]).to_string(), "kill n2");
        assert_eq!(
            FaultKind::parse_list("packet-loss").unwrap(),
            vec![FaultKind::PacketLoss]
        );
        let err = "packet_loss".parse::<FaultKind>().unwrap_err().to_string();
        assert!(err.contains("packet-loss"), "{err}");
    }

    // Goal: `restart` is a process-layer family (never beside a kill or pause) whose
    // resolution draws both the nodes and the roll's order, reproducibly from its seed.
    // Method: a long mixed schedule, and `restart:all` resolved under many seeds.
    #[test]
    fn restart_rolls_every_target_in_a_drawn_order() {
        let words: Vec<String> = ["restart", "kill", "partition"]
            .iter()
            .map(|w| (*w).to_string())
            .collect();
        let mixed = ScheduleConfig::from_words(&words, Duration::from_secs(1200), 3).unwrap();
        let plan = mixed.plan().unwrap();
        assert!(plan.iter().any(|f| matches!(f.spec, FaultSpec::Restart(_))));
        let process: Vec<&PlannedFault> = plan
            .iter()
            .filter(|f| f.layer() == FaultLayer::Process)
            .collect();
        assert_sequential(&mixed, &process);

        let nodes: Vec<String> = ["n1", "n2", "n3"].iter().map(|n| n.to_string()).collect();
        let mut firsts = std::collections::BTreeSet::new();
        for seed in 0..30 {
            let all = PlannedFault {
                start_at: Duration::ZERO,
                stop_at: Duration::from_secs(20),
                spec: FaultSpec::Restart(TargetSpec::All),
                seed,
                fixed: None,
            };
            let resolved = all.resolve(&nodes, &LiveView::default()).unwrap();
            assert_eq!(resolved, all.resolve(&nodes, &LiveView::default()).unwrap());
            let Fault::Restart(order) = resolved else {
                panic!("{resolved:?}")
            };
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, nodes, "every node once");
            firsts.insert(order[0].clone());
        }
        assert_eq!(firsts.len(), 3, "each node begins some roll: {firsts:?}");
        assert_eq!(
            FaultSpec::Restart(TargetSpec::All).to_string(),
            "restart:all"
        );
        assert_eq!(
            Fault::Restart(vec!["n2".into(), "n1".into()]).to_string(),
            "restart n2,n1"
        );
    }

    // The count bound holds and no faults means an empty schedule.
    #[test]
    fn bounds_and_empty_mix() {
        let mut cfg = config(3);
        cfg.faults_max = 2;
        assert_eq!(cfg.plan().unwrap().len(), 2);
        cfg.kinds = FaultKind::parse_list("none").unwrap();
        assert!(cfg.plan().unwrap().is_empty());
        cfg.time_limit = Duration::from_secs(5);
        cfg.kinds = vec![FaultKind::Pause];
        assert!(cfg.plan().unwrap().is_empty(), "no room for a fault in 5 s");
    }

    #[test]
    fn nemesis_words_narrow_shapes_and_targets() {
        let words: Vec<String> = ["partition:leaders", "kill:leaders", "pause"]
            .iter()
            .map(|w| (*w).to_string())
            .collect();
        let config = ScheduleConfig::from_words(&words, Duration::from_secs(60), 1).unwrap();
        assert_eq!(
            config.kinds,
            vec![FaultKind::Partition, FaultKind::Kill, FaultKind::Pause]
        );
        assert_eq!(config.shapes, vec![PartitionShape::Leaders]);
        assert_eq!(config.targets, vec![TargetSpec::Leaders]);
        for fault in config.plan().unwrap() {
            match fault.spec {
                FaultSpec::Partition(shape) => assert_eq!(shape, PartitionShape::Leaders),
                FaultSpec::Kill(t) | FaultSpec::Pause(t) => assert_eq!(t, TargetSpec::Leaders),
                FaultSpec::PacketLoss(..) | FaultSpec::Restart(_) => panic!("not asked for"),
                FaultSpec::Replayed(_) => panic!("a drawn schedule replays nothing"),
            }
        }
        let plain =
            ScheduleConfig::from_words(&["kill".to_string()], Duration::from_secs(1), 1).unwrap();
        assert_eq!(plain.targets, DEFAULT_TARGETS.to_vec());
        assert!(ScheduleConfig::from_words(
            &["kill:nobody".to_string()],
            Duration::from_secs(1),
            1
        )
        .is_err());
        assert!(ScheduleConfig::from_words(
            &["partition:nowhere".to_string()],
            Duration::from_secs(1),
            1
        )
        .is_err());
    }

    // Resolution is a pure function of the planned fault and the live leaders.
    #[test]
    fn resolve_is_reproducible() {
        let nodes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        let live = LiveView {
            partitions: vec![crate::live::LedPartition {
                name: "t/0".into(),
                leader: "n2".into(),
                replicas: vec!["n1".into(), "n2".into(), "n3".into()],
                isr: vec!["n1".into(), "n2".into(), "n3".into()],
            }],
            ..LiveView::default()
        };
        for fault in config(9).plan().unwrap() {
            let a = fault.resolve(&nodes, &live).unwrap();
            assert_eq!(a, fault.resolve(&nodes, &live).unwrap());
        }
    }

    // Goal: a planned fault names itself with the --nemesis word that plans it, and that
    // word parses back to the same narrowing.
    #[test]
    fn spec_label_is_the_nemesis_word() {
        let spec = FaultSpec::Partition(PartitionShape::LeaderFromReplicas);
        assert_eq!(spec.to_string(), "partition:leader-from-replicas");
        assert_eq!(
            FaultSpec::Kill(TargetSpec::Leaders).to_string(),
            "kill:leaders"
        );
        let words = vec![spec.to_string()];
        let config = ScheduleConfig::from_words(&words, Duration::from_secs(60), 1).unwrap();
        assert_eq!(config.shapes, vec![PartitionShape::LeaderFromReplicas]);
    }

    // Bad settings are named errors.
    #[test]
    fn bad_settings_are_errors() {
        assert!(FaultKind::parse_list("partition,explode").is_err());
        let mut cfg = config(0);
        cfg.jitter = Duration::from_secs(20);
        assert!(matches!(cfg.plan(), Err(NemesisError::InvalidSchedule(_))));
        let mut cfg = config(0);
        cfg.interval = Duration::ZERO;
        assert!(cfg.plan().is_err());
    }
}
