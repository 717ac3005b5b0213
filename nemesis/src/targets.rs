//! Which nodes a process fault (kill, pause) hits: one node, a minority, a majority, all,
//! the current partition leaders, or one of them. Losing a minority must leave a Kafka
//! cluster with replication factor n available; losing a majority or the leaders exercises
//! leader election, ISR shrink and (with unclean election) data loss; losing one leader
//! moves one partition's leadership while a majority stays up to elect its successor.

use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::NemesisError;
use crate::live::LiveView;
use crate::role::{parse_role_word, RoleName};

/// A rule choosing the nodes a kill or pause applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSpec {
    /// One random node.
    One,
    /// A random minority: (n - 1) / 2 nodes, at least one.
    Minority,
    /// A random majority: n / 2 + 1 nodes.
    Majority,
    /// Every node.
    All,
    /// The nodes that currently lead at least one partition.
    Leaders,
    /// One node that currently leads a partition, drawn from the seed: a leader change
    /// while the rest of the cluster (a majority with three nodes) keeps the controller
    /// quorum and an ISR member to elect, with writes to that partition in flight.
    OneLeader,
    /// The in-sync replicas of one partition whose ISR has shrunk below its assigned
    /// replicas (drawn from the seed), while its out-of-sync replicas stay up: every
    /// in-sync copy failing at once (a rack or power domain), the moment
    /// `unclean.leader.election.enable=false` must keep the partition offline (KIP-841
    /// keeps its last ISR member) rather than elect a replica lacking acknowledged writes.
    /// With no shrunk ISR in the live view, the leader of one partition, as `one-leader`.
    Isr,
    /// Every container of a role (`role=storage`; `role=broker` is every broker).
    Role(RoleName),
}

/// Every target rule.
pub const ALL_TARGETS: [TargetSpec; 7] = [
    TargetSpec::One,
    TargetSpec::Minority,
    TargetSpec::Majority,
    TargetSpec::All,
    TargetSpec::Leaders,
    TargetSpec::OneLeader,
    TargetSpec::Isr,
];

/// The targets the default `--nemesis kill,pause` draws from, uniformly from this list:
/// every rule but `isr` once, and `one-leader` twice more (`isr` only means something
/// after a partition shrank an ISR, so the default scenario deck pairs it with one). A seeded bug in leader election, epoch
/// fencing, truncation or recovery shows only when a leader with unreplicated or
/// just-replicated writes goes away while the others can elect; of the other rules only
/// `leaders` (often a majority) and `all` do that, and a majority or all stopped leaves no
/// controller quorum until they return.
pub const DEFAULT_TARGETS: [TargetSpec; 8] = [
    TargetSpec::One,
    TargetSpec::Minority,
    TargetSpec::Majority,
    TargetSpec::All,
    TargetSpec::Leaders,
    TargetSpec::OneLeader,
    TargetSpec::OneLeader,
    TargetSpec::OneLeader,
];

const TARGET_NAMES: &str = "one, minority, majority, all, leaders, one-leader, isr, role=NAME";

impl TargetSpec {
    /// The name used on the command line and in schedules.
    pub fn name(self) -> &'static str {
        match self {
            Self::One => "one",
            Self::Minority => "minority",
            Self::Majority => "majority",
            Self::All => "all",
            Self::Leaders => "leaders",
            Self::OneLeader => "one-leader",
            Self::Isr => "isr",
            Self::Role(_) => "role",
        }
    }

    /// [`TargetSpec::select`] against the live view: a role target takes every container
    /// of its role, the others choose among the brokers (`nodes`).
    pub fn select_live<R: Rng + ?Sized>(
        self,
        nodes: &[String],
        live: &LiveView,
        rng: &mut R,
    ) -> Result<Vec<String>, NemesisError> {
        match self {
            Self::Role(role) => {
                let mut members = live.members(role, nodes)?;
                if members.is_empty() {
                    return Err(NemesisError::TooFewNodes {
                        what: format!("target role={role}"),
                        needed: 1,
                        have: 0,
                    });
                }
                members.sort();
                Ok(members)
            }
            Self::Isr => select_shrunk_isr(nodes, live, rng),
            _ => self.select(nodes, &live.leaders(), rng),
        }
    }

    /// Choose the target nodes, sorted, without duplicates. Randomness only from `rng`.
    pub fn select<R: Rng + ?Sized>(
        self,
        nodes: &[String],
        leaders: &[String],
        rng: &mut R,
    ) -> Result<Vec<String>, NemesisError> {
        if nodes.is_empty() {
            return Err(NemesisError::TooFewNodes {
                what: format!("target {}", self.name()),
                needed: 1,
                have: 0,
            });
        }
        let n = nodes.len();
        let count = match self {
            Self::One => 1,
            Self::Minority => ((n - 1) / 2).max(1),
            Self::Majority => n / 2 + 1,
            Self::All => n,
            Self::Leaders => return select_leaders(nodes, leaders),
            // Without a live view no ISR is known: `isr` falls back to one leader.
            Self::OneLeader | Self::Isr => {
                let all = select_leaders(nodes, leaders)?;
                return Ok(vec![all[rng.random_range(0..all.len())].clone()]);
            }
            Self::Role(role) => {
                return LiveView::default().members(role, nodes);
            }
        };
        let mut chosen = nodes.to_vec();
        chosen.shuffle(rng);
        chosen.truncate(count);
        chosen.sort();
        Ok(chosen)
    }
}

/// [`TargetSpec::Isr`]: the ISR of one partition that has an out-of-sync replica, or one
/// leader when no partition has.
fn select_shrunk_isr<R: Rng + ?Sized>(
    nodes: &[String],
    live: &LiveView,
    rng: &mut R,
) -> Result<Vec<String>, NemesisError> {
    let shrunk = live.shrunk_isr();
    let Some(chosen) = (!shrunk.is_empty()).then(|| shrunk[rng.random_range(0..shrunk.len())])
    else {
        return TargetSpec::OneLeader.select(nodes, &live.leaders(), rng);
    };
    select_leaders(nodes, &chosen.isr)
}

/// `leaders`, each checked to be one of `nodes`, sorted, without duplicates; none is
/// [`NemesisError::NoLeaders`].
fn select_leaders(nodes: &[String], leaders: &[String]) -> Result<Vec<String>, NemesisError> {
    let mut chosen = Vec::new();
    for leader in leaders {
        if !nodes.contains(leader) {
            return Err(NemesisError::UnknownNode(leader.clone()));
        }
        chosen.push(leader.clone());
    }
    chosen.sort();
    chosen.dedup();
    if chosen.is_empty() {
        return Err(NemesisError::NoLeaders);
    }
    Ok(chosen)
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(role) => write!(f, "role={role}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for TargetSpec {
    type Err = NemesisError;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        if let Some(role) = parse_role_word(word) {
            return role.map(Self::Role);
        }
        ALL_TARGETS
            .into_iter()
            .find(|target| target.name() == word)
            .ok_or_else(|| NemesisError::UnknownName {
                kind: "target",
                word: word.to_string(),
                expected: TARGET_NAMES,
            })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::live::LedPartition;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    // The sizes Kafka's availability reasoning depends on, for 3 and 5 nodes.
    #[test]
    fn sizes_follow_the_rule() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for (n, one, minority, majority) in [(3, 1, 1, 2), (5, 1, 2, 3), (1, 1, 1, 1)] {
            let all = nodes(n);
            let size =
                |spec: TargetSpec, rng: &mut ChaCha8Rng| spec.select(&all, &[], rng).unwrap().len();
            assert_eq!(size(TargetSpec::One, &mut rng), one);
            assert_eq!(size(TargetSpec::Minority, &mut rng), minority);
            assert_eq!(size(TargetSpec::Majority, &mut rng), majority);
            assert_eq!(size(TargetSpec::All, &mut rng), n);
        }
    }

    // Chosen nodes are distinct cluster members, and the seed decides which.
    #[test]
    fn selection_is_seeded_and_valid() {
        let all = nodes(5);
        let pick = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            TargetSpec::Minority.select(&all, &[], &mut rng).unwrap()
        };
        assert_eq!(pick(11), pick(11));
        let picks: std::collections::BTreeSet<_> = (0..32).map(pick).collect();
        assert!(picks.len() > 1);
        for p in picks {
            assert!(p.iter().all(|n| all.contains(n)));
            assert!(p.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        }
    }

    // Leaders are taken as given (deduplicated); none known is an error.
    #[test]
    fn leaders_come_from_input() {
        let all = nodes(3);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let leaders = vec!["n3".to_string(), "n1".to_string(), "n3".to_string()];
        assert_eq!(
            TargetSpec::Leaders
                .select(&all, &leaders, &mut rng)
                .unwrap(),
            vec!["n1", "n3"]
        );
        assert!(TargetSpec::Leaders.select(&all, &[], &mut rng).is_err());
        assert!(TargetSpec::OneLeader.select(&all, &[], &mut rng).is_err());
        assert!(TargetSpec::One.select(&[], &[], &mut rng).is_err());
        assert!("most".parse::<TargetSpec>().is_err());
        for t in ALL_TARGETS {
            assert_eq!(t.name().parse::<TargetSpec>().unwrap(), t);
        }
    }

    // Goal: `role=NAME` takes every container of the role, `role=broker` every broker,
    // and the other targets still choose among the brokers only (method: a live view
    // with one two-container service).
    #[test]
    fn role_targets_take_the_whole_role() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut live = LiveView::default();
        live.roles.insert(
            "storage".parse().unwrap(),
            vec!["storage-2".into(), "storage-1".into()],
        );
        let storage: TargetSpec = "role=storage".parse().unwrap();
        assert_eq!(storage.to_string(), "role=storage");
        assert_eq!(
            storage.select_live(&nodes(3), &live, &mut rng).unwrap(),
            vec!["storage-1", "storage-2"]
        );
        let brokers: TargetSpec = "role=broker".parse().unwrap();
        assert_eq!(
            brokers.select_live(&nodes(3), &live, &mut rng).unwrap(),
            nodes(3)
        );
        let all = TargetSpec::All
            .select_live(&nodes(3), &live, &mut rng)
            .unwrap();
        assert_eq!(all, nodes(3));
        let none: TargetSpec = "role=db".parse().unwrap();
        assert!(none.select_live(&nodes(3), &live, &mut rng).is_err());
    }

    // Goal: `one-leader` stops exactly one node, always a current leader, and over seeds
    // each leader in turn (method: 64 seeds against two leaders of three nodes).
    #[test]
    fn one_leader_is_one_of_the_leaders() {
        let all = nodes(3);
        let leaders = vec!["n3".to_string(), "n1".to_string()];
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let chosen = TargetSpec::OneLeader
                .select(&all, &leaders, &mut rng)
                .unwrap();
            assert_eq!(chosen.len(), 1);
            assert!(leaders.contains(&chosen[0]), "{chosen:?}");
            seen.insert(chosen[0].clone());
        }
        assert_eq!(seen.len(), 2, "both leaders drawn: {seen:?}");
        let unknown = vec!["n9".to_string()];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(TargetSpec::OneLeader
            .select(&all, &unknown, &mut rng)
            .is_err());
    }

    fn led(name: &str, leader: &str, replicas: &[&str], isr: &[&str]) -> LedPartition {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        LedPartition {
            name: name.into(),
            leader: leader.into(),
            replicas: names(replicas),
            isr: names(isr),
        }
    }

    // Goal: `isr` stops exactly the in-sync replicas of a partition that has an
    // out-of-sync one, never that replica, and with no shrunk ISR one leader (method: a
    // view with one full and one shrunk ISR, 32 seeds; then only the full one).
    #[test]
    fn isr_takes_the_in_sync_replicas_of_a_shrunk_partition() {
        let all = nodes(3);
        let full = led("t/0", "n1", &["n1", "n2", "n3"], &["n1", "n2", "n3"]);
        let shrunk = led("t/1", "n2", &["n2", "n3", "n1"], &["n3", "n2"]);
        let live = LiveView {
            partitions: vec![full.clone(), shrunk],
            ..LiveView::default()
        };
        for seed in 0..32 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let chosen = TargetSpec::Isr.select_live(&all, &live, &mut rng).unwrap();
            assert_eq!(chosen, vec!["n2", "n3"], "seed {seed}");
        }
        let only_full = LiveView {
            partitions: vec![full],
            ..LiveView::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            TargetSpec::Isr
                .select_live(&all, &only_full, &mut rng)
                .unwrap(),
            vec!["n1"]
        );
        assert!(TargetSpec::Isr
            .select_live(&all, &LiveView::default(), &mut rng)
            .is_err());
    }

    // Goal: the default list holds every rule but `isr`, and the leader-aimed single target most
    // often (the weighting is the list's repetition).
    #[test]
    fn default_targets_cover_every_rule_and_favour_one_leader() {
        for t in ALL_TARGETS.into_iter().filter(|t| *t != TargetSpec::Isr) {
            assert!(DEFAULT_TARGETS.contains(&t), "{t} missing");
        }
        let count = |t| DEFAULT_TARGETS.iter().filter(|d| **d == t).count();
        assert!(ALL_TARGETS
            .iter()
            .filter(|t| **t != TargetSpec::OneLeader)
            .all(|t| count(*t) < count(TargetSpec::OneLeader)));
    }
}
