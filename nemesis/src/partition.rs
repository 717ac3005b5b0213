//! Partition shapes: the ways the network is cut, each turned into a [`Grudge`] from the
//! node list, the current leaders and a seeded RNG. The shapes are Jepsen's
//! (`jepsen.nemesis`: halves, random halves, one node isolated, majorities ring, bridge)
//! plus Kafka-specific ones: the partition leaders isolated (leaders are where acks=all
//! promises are decided), the clients cut from one broker, and one partition's leader cut
//! from its replicas while clients still reach it (the zombie leader: it may keep
//! accepting acks=1 writes, and with acks=all must reject or time out once its ISR
//! shrinks below min.insync.replicas, while the others elect a new leader).

use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::NemesisError;
use crate::grudge::{Grudge, CLIENTS};
use crate::live::LiveView;
use crate::role::{parse_role_word, RoleName};

/// How to cut the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionShape {
    /// The node list in its given order split in two, the first half the smaller.
    Halves,
    /// The node list shuffled, then split in two.
    RandomHalves,
    /// One random node cut from all the others.
    IsolateOne,
    /// Every node sees a majority (itself included), and no two nodes see the same one:
    /// each node believes it is in the majority (Jepsen's majorities ring).
    MajoritiesRing,
    /// Two halves that only talk through one bridge node seen by both.
    Bridge,
    /// Each node that currently leads a partition cut from every other node.
    Leaders,
    /// One random broker drops all traffic from the clients (the host), but still talks
    /// to its peers: it keeps replicating while producers cannot reach it.
    ClientsCutFromOne,
    /// The leader of one partition (drawn from the seed) drops traffic from that
    /// partition's other replicas and they drop its traffic; the clients still reach it
    /// and the other replicas keep talking to each other (the zombie-leader situation).
    LeaderFromReplicas,
    /// [`PartitionShape::LeaderFromReplicas`], and the partition's other replicas also
    /// drop the clients' traffic: the clients are on the old leader's side, so they keep
    /// its metadata while the majority elects a new leader they cannot reach, and when the
    /// partition heals their next produce goes to the deposed leader (a client data
    /// centre left with the minority).
    ClientsWithLeader,
    /// Every container of a role cut off from every other container of the cluster
    /// (`role=storage`: the brokers lose their storage service); clients are not cut.
    Role(RoleName),
}

/// Every shape, in the order `--nemesis-partitions` documents them.
pub const ALL_SHAPES: [PartitionShape; 9] = [
    PartitionShape::Halves,
    PartitionShape::RandomHalves,
    PartitionShape::IsolateOne,
    PartitionShape::MajoritiesRing,
    PartitionShape::Bridge,
    PartitionShape::Leaders,
    PartitionShape::ClientsCutFromOne,
    PartitionShape::LeaderFromReplicas,
    PartitionShape::ClientsWithLeader,
];

/// The shapes the default `--nemesis partition` draws from, uniformly from this list:
/// every shape once, `leader-from-replicas` twice more and `clients-with-leader` once
/// more. Those shapes keep a majority able to elect and the clients talking to a leader
/// that can no longer replicate: the moment acks=all, the high watermark, ISR shrink,
/// epoch fencing and truncation are decided. Most other shapes cut a minority that leads
/// nothing, or leave no majority.
pub const DEFAULT_SHAPES: [PartitionShape; 12] = [
    PartitionShape::Halves,
    PartitionShape::RandomHalves,
    PartitionShape::IsolateOne,
    PartitionShape::MajoritiesRing,
    PartitionShape::Bridge,
    PartitionShape::Leaders,
    PartitionShape::ClientsCutFromOne,
    PartitionShape::LeaderFromReplicas,
    PartitionShape::LeaderFromReplicas,
    PartitionShape::LeaderFromReplicas,
    PartitionShape::ClientsWithLeader,
    PartitionShape::ClientsWithLeader,
];

const SHAPE_NAMES: &str = "halves, random-halves, isolate-one, majorities-ring, bridge, leaders, \
     clients-cut-from-one, leader-from-replicas, clients-with-leader, role=NAME";

impl PartitionShape {
    /// The name used on the command line and in schedules.
    pub fn name(self) -> &'static str {
        match self {
            Self::Halves => "halves",
            Self::RandomHalves => "random-halves",
            Self::IsolateOne => "isolate-one",
            Self::MajoritiesRing => "majorities-ring",
            Self::Bridge => "bridge",
            Self::Leaders => "leaders",
            Self::ClientsCutFromOne => "clients-cut-from-one",
            Self::LeaderFromReplicas => "leader-from-replicas",
            Self::ClientsWithLeader => "clients-with-leader",
            Self::Role(_) => "role",
        }
    }

    /// Build this shape's grudge over `nodes`. `live` is only read by the leader-aimed
    /// shapes; randomness comes only from `rng`, so a seeded RNG gives the same grudge
    /// every time.
    pub fn grudge<R: Rng + ?Sized>(
        self,
        nodes: &[String],
        live: &LiveView,
        rng: &mut R,
    ) -> Result<Grudge, NemesisError> {
        let needed = match self {
            Self::Role(role) => return role_cut_off(role, nodes, live),
            Self::Bridge | Self::MajoritiesRing => 3,
            Self::ClientsCutFromOne => 1,
            _ => 2,
        };
        if nodes.len() < needed {
            return Err(NemesisError::TooFewNodes {
                what: format!("partition {}", self.name()),
                needed,
                have: nodes.len(),
            });
        }
        Ok(match self {
            Self::Halves => halves(nodes),
            Self::RandomHalves => halves(&shuffled(nodes, rng)),
            Self::IsolateOne => isolate_one(&shuffled(nodes, rng)),
            Self::MajoritiesRing => majorities_ring(&shuffled(nodes, rng)),
            Self::Bridge => bridge(&shuffled(nodes, rng)),
            Self::Leaders => isolate_leaders(nodes, &live.leaders())?,
            Self::LeaderFromReplicas => leader_from_replicas(nodes, live, rng)?.0,
            Self::ClientsWithLeader => {
                let (mut grudge, replicas) = leader_from_replicas(nodes, live, rng)?;
                for replica in &replicas {
                    grudge.drop_from(replica, CLIENTS);
                }
                grudge
            }
            Self::ClientsCutFromOne => {
                let mut grudge = Grudge::new();
                grudge.drop_from(&shuffled(nodes, rng)[0], CLIENTS);
                grudge
            }
            Self::Role(role) => role_cut_off(role, nodes, live)?,
        })
    }
}

impl PartitionShape {
    /// [`PartitionShape::grudge`] with a ChaCha8 RNG seeded from `seed`, for callers that
    /// do not share this crate's `rand` version.
    pub fn grudge_seeded(
        self,
        nodes: &[String],
        live: &LiveView,
        seed: u64,
    ) -> Result<Grudge, NemesisError> {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        self.grudge(nodes, live, &mut rng)
    }
}

impl fmt::Display for PartitionShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(role) => write!(f, "role={role}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for PartitionShape {
    type Err = NemesisError;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        if let Some(role) = parse_role_word(word) {
            return role.map(Self::Role);
        }
        ALL_SHAPES
            .into_iter()
            .find(|shape| shape.name() == word)
            .ok_or_else(|| NemesisError::UnknownName {
                kind: "partition shape",
                word: word.to_string(),
                expected: SHAPE_NAMES,
            })
    }
}

/// A role's containers on one side, every other container of the cluster on the other.
fn role_cut_off(role: RoleName, nodes: &[String], live: &LiveView) -> Result<Grudge, NemesisError> {
    let members = live.members(role, nodes)?;
    let rest: Vec<String> = live
        .everyone(nodes)
        .into_iter()
        .filter(|n| !members.contains(n))
        .collect();
    if members.is_empty() || rest.is_empty() {
        return Err(NemesisError::TooFewNodes {
            what: format!("partition role={role} (the role and the rest)"),
            needed: 2,
            have: members.len() + rest.len(),
        });
    }
    Ok(Grudge::from_components(&[members, rest]))
}

fn shuffled<R: Rng + ?Sized>(nodes: &[String], rng: &mut R) -> Vec<String> {
    let mut copy = nodes.to_vec();
    copy.shuffle(rng);
    copy
}

fn halves(nodes: &[String]) -> Grudge {
    let (small, large) = nodes.split_at(nodes.len() / 2);
    Grudge::from_components(&[small.to_vec(), large.to_vec()])
}

fn isolate_one(nodes: &[String]) -> Grudge {
    let (one, rest) = nodes.split_at(1);
    Grudge::from_components(&[one.to_vec(), rest.to_vec()])
}

/// Nodes sit on a ring in `nodes` order; node i sees the window of `majority` nodes
/// starting at itself. Windows start at distinct positions, so no two nodes see the same
/// majority. The cut is one-way where windows overlap asymmetrically, which is what makes
/// every node believe it is in a majority.
fn majorities_ring(nodes: &[String]) -> Grudge {
    let n = nodes.len();
    let majority = n / 2 + 1;
    let mut grudge = Grudge::new();
    for (i, node) in nodes.iter().enumerate() {
        for distance in majority..n {
            grudge.drop_from(node, &nodes[(i + distance) % n]);
        }
    }
    grudge
}

/// The first node bridges two halves of the rest: it sees everyone, the halves do not
/// see each other.
fn bridge(nodes: &[String]) -> Grudge {
    let (bridge_node, rest) = nodes.split_at(1);
    assert!(
        !bridge_node.is_empty(),
        "bridge needs a node (checked above)"
    );
    let (left, right) = rest.split_at(rest.len() / 2);
    Grudge::from_components(&[left.to_vec(), right.to_vec()])
}

fn isolate_leaders(nodes: &[String], leaders: &[String]) -> Result<Grudge, NemesisError> {
    let mut grudge = Grudge::new();
    let mut any = false;
    for leader in leaders {
        if !nodes.contains(leader) {
            return Err(NemesisError::UnknownNode(leader.clone()));
        }
        any = true;
        for peer in nodes {
            grudge.drop_from(leader, peer);
            grudge.drop_from(peer, leader);
        }
    }
    if any {
        Ok(grudge)
    } else {
        Err(NemesisError::NoLeaders)
    }
}

/// One partition whose leader has at least one other replica, drawn from `rng`; the
/// leader and those replicas drop each other's traffic. Clients (the host) are never in
/// the grudge, so producers and consumers still reach the cut-off leader.
/// The grudge cutting one partition's leader from its other replicas, and those replicas.
fn leader_from_replicas<R: Rng + ?Sized>(
    nodes: &[String],
    live: &LiveView,
    rng: &mut R,
) -> Result<(Grudge, Vec<String>), NemesisError> {
    for p in &live.partitions {
        for name in p.replicas.iter().chain([&p.leader]) {
            if !nodes.contains(name) {
                return Err(NemesisError::UnknownNode(name.clone()));
            }
        }
    }
    let candidates: Vec<_> = live
        .partitions
        .iter()
        .filter(|p| p.replicas.iter().any(|r| *r != p.leader))
        .collect();
    if candidates.is_empty() {
        return Err(NemesisError::NoReplicatedLeader);
    }
    let chosen = candidates[rng.random_range(0..candidates.len())];
    let mut grudge = Grudge::new();
    let replicas: Vec<String> = chosen
        .replicas
        .iter()
        .filter(|r| **r != chosen.leader)
        .cloned()
        .collect();
    for replica in &replicas {
        grudge.drop_from(&chosen.leader, replica);
        grudge.drop_from(replica, &chosen.leader);
    }
    Ok((grudge, replicas))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::live::LedPartition;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn none() -> LiveView {
        LiveView::default()
    }

    /// n2 leads partition t/0 with replicas n1, n2, n3.
    fn view_n2() -> LiveView {
        LiveView {
            partitions: vec![LedPartition {
                name: "t/0".into(),
                leader: "n2".into(),
                replicas: vec!["n1".into(), "n2".into(), "n3".into()],
                isr: vec!["n1".into(), "n2".into(), "n3".into()],
            }],
            ..LiveView::default()
        }
    }

    // Goal: the zombie-leader shape cuts exactly one partition's leader from that
    // partition's other replicas, both ways, and never from the clients; the others still
    // see each other (method: 5 nodes, t/0 on n1-n3 led by n2; a partition with a single
    // replica is never chosen; nothing to cut is a named error).
    #[test]
    fn leader_from_replicas_cuts_one_leader_from_its_replicas() {
        let all = nodes(5);
        let mut view = view_n2();
        view.partitions.push(LedPartition {
            name: "t/1".into(),
            leader: "n4".into(),
            replicas: vec!["n4".into()],
            isr: vec!["n4".into()],
        });
        for seed in 0..16 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let g = PartitionShape::LeaderFromReplicas
                .grudge(&all, &view, &mut rng)
                .unwrap();
            assert!(g.drops("n2", "n1") && g.drops("n1", "n2"));
            assert!(g.drops("n2", "n3") && g.drops("n3", "n2"));
            assert!(!g.drops("n2", "n4") && !g.drops("n2", CLIENTS));
            assert!(!g.drops("n1", "n3") && !g.drops("n4", "n5"));
            assert_eq!(g.visible_from("n1", &all).len(), 4);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let lonely = LiveView::from_leaders(&["n1".to_string()]);
        assert!(matches!(
            PartitionShape::LeaderFromReplicas.grudge(&all, &lonely, &mut rng),
            Err(NemesisError::NoReplicatedLeader)
        ));
        assert!(matches!(
            PartitionShape::LeaderFromReplicas.grudge(&all, &none(), &mut rng),
            Err(NemesisError::NoReplicatedLeader)
        ));
    }

    // Goal: clients-with-leader is leader-from-replicas plus the other replicas dropping
    // the clients, while the old leader still hears them.
    #[test]
    fn clients_with_leader_leaves_the_clients_with_the_old_leader() {
        let all = nodes(5);
        let view = view_n2();
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let g = PartitionShape::ClientsWithLeader
                .grudge(&all, &view, &mut rng)
                .unwrap();
            assert!(g.drops("n2", "n1") && g.drops("n1", "n2"));
            assert!(g.drops("n2", "n3") && g.drops("n3", "n2"));
            assert!(g.drops("n1", CLIENTS) && g.drops("n3", CLIENTS));
            assert!(!g.drops("n2", CLIENTS), "the old leader keeps its clients");
            assert!(!g.drops("n4", CLIENTS) && !g.drops("n1", "n3"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(PartitionShape::ClientsWithLeader
            .grudge(&all, &none(), &mut rng)
            .is_err());
    }

    // Halves keeps the given order: {n1} | {n2, n3}, and {n1, n2} | {n3, n4, n5}.
    #[test]
    fn halves_split_in_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let g = PartitionShape::Halves
            .grudge(&nodes(5), &none(), &mut rng)
            .unwrap();
        assert_eq!(g.visible_from("n1", &nodes(5)).len(), 2);
        assert_eq!(g.visible_from("n5", &nodes(5)).len(), 3);
        assert!(g.drops("n1", "n3") && !g.drops("n1", "n2"));
    }

    // Every shape is a pure function of (nodes, leaders, seed).
    #[test]
    fn same_seed_same_grudge() {
        for shape in ALL_SHAPES {
            let make = |seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                shape.grudge(&nodes(5), &view_n2(), &mut rng).unwrap()
            };
            assert_eq!(make(7), make(7), "{shape}");
            let seeded = shape.grudge_seeded(&nodes(5), &view_n2(), 7).unwrap();
            assert_eq!(make(7), seeded, "{shape}");
        }
    }

    // Random halves and isolate-one actually vary with the seed.
    #[test]
    fn random_shapes_vary_with_seed() {
        for shape in [PartitionShape::RandomHalves, PartitionShape::IsolateOne] {
            let grudges: BTreeSet<String> = (0..32)
                .map(|seed| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let g = shape.grudge(&nodes(5), &none(), &mut rng).unwrap();
                    serde_json::to_string(&g).unwrap()
                })
                .collect();
            assert!(grudges.len() > 1, "{shape} never varied");
        }
    }

    // Isolate-one: exactly one node sees only itself, the rest see each other.
    #[test]
    fn isolate_one_isolates_exactly_one() {
        let all = nodes(5);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let g = PartitionShape::IsolateOne
            .grudge(&all, &none(), &mut rng)
            .unwrap();
        let alone: Vec<_> = all
            .iter()
            .filter(|n| g.visible_from(n, &all).len() == 1)
            .collect();
        assert_eq!(alone.len(), 1);
        for node in all.iter().filter(|n| *n != alone[0]) {
            assert_eq!(g.visible_from(node, &all).len(), 4);
        }
    }

    // Majorities ring: each node sees exactly a majority, and the majorities all differ.
    #[test]
    fn majorities_ring_gives_distinct_majorities() {
        for n in [3, 4, 5, 7] {
            let all = nodes(n);
            let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
            let g = PartitionShape::MajoritiesRing
                .grudge(&all, &none(), &mut rng)
                .unwrap();
            let views: BTreeSet<BTreeSet<String>> =
                all.iter().map(|node| g.visible_from(node, &all)).collect();
            assert_eq!(views.len(), n, "views must be distinct for n={n}");
            assert!(views.iter().all(|v| v.len() == n / 2 + 1), "n={n}");
        }
    }

    // Bridge: one node sees all; the two sides do not see each other.
    #[test]
    fn bridge_has_one_node_seeing_all() {
        let all = nodes(5);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let g = PartitionShape::Bridge
            .grudge(&all, &none(), &mut rng)
            .unwrap();
        let full: Vec<_> = all
            .iter()
            .filter(|n| g.visible_from(n, &all).len() == 5)
            .collect();
        assert_eq!(full.len(), 1);
        for node in all.iter().filter(|n| *n != full[0]) {
            assert_eq!(g.visible_from(node, &all).len(), 3, "{node}");
        }
    }

    // Leaders: each leader sees only itself; followers see each other but no leader.
    #[test]
    fn leaders_are_isolated() {
        let all = nodes(5);
        let leaders = vec!["n2".to_string(), "n4".to_string(), "n2".to_string()];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let g = PartitionShape::Leaders
            .grudge(&all, &LiveView::from_leaders(&leaders), &mut rng)
            .unwrap();
        assert_eq!(g.visible_from("n2", &all).len(), 1);
        assert_eq!(g.visible_from("n4", &all).len(), 1);
        assert_eq!(g.visible_from("n1", &all).len(), 3);
        assert!(matches!(
            PartitionShape::Leaders.grudge(&all, &none(), &mut rng),
            Err(NemesisError::NoLeaders)
        ));
        assert!(matches!(
            PartitionShape::Leaders.grudge(
                &all,
                &LiveView::from_leaders(&["n9".to_string()]),
                &mut rng
            ),
            Err(NemesisError::UnknownNode(_))
        ));
    }

    // Clients cut from one: one broker drops the clients and nothing else.
    #[test]
    fn clients_cut_from_one_broker() {
        let all = nodes(3);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let g = PartitionShape::ClientsCutFromOne
            .grudge(&all, &none(), &mut rng)
            .unwrap();
        let cut: Vec<_> = g.iter().collect();
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].1.iter().collect::<Vec<_>>(), vec![CLIENTS]);
    }

    // Too few nodes and unknown names are clear errors, not panics.
    #[test]
    fn bad_input_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(matches!(
            PartitionShape::Bridge.grudge(&nodes(2), &none(), &mut rng),
            Err(NemesisError::TooFewNodes { needed: 3, .. })
        ));
        assert!("sideways".parse::<PartitionShape>().is_err());
        for shape in ALL_SHAPES {
            assert_eq!(shape.name().parse::<PartitionShape>().unwrap(), shape);
        }
    }

    // Goal: `role=NAME` cuts every container of the role off from every other container,
    // brokers and other services alike, and leaves the clients alone; an unknown role is
    // an error naming the roles there are (method: a live view with two services).
    #[test]
    fn role_shape_cuts_the_role_off_from_the_rest() {
        let mut live = LiveView::default();
        live.roles
            .insert("storage".parse().unwrap(), vec!["storage-1".into()]);
        live.roles
            .insert("meta".parse().unwrap(), vec!["meta-1".into()]);
        let shape: PartitionShape = "role=storage".parse().unwrap();
        assert_eq!(shape.to_string(), "role=storage");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let grudge = shape.grudge(&nodes(3), &live, &mut rng).unwrap();
        for other in ["n1", "n2", "n3", "meta-1"] {
            assert!(grudge.drops("storage-1", other) && grudge.drops(other, "storage-1"));
        }
        assert!(!grudge.drops("n1", "n2") && !grudge.drops("n1", "meta-1"));
        assert!(!grudge.drops("storage-1", CLIENTS));
        let brokers: PartitionShape = "role=broker".parse().unwrap();
        let grudge = brokers.grudge(&nodes(3), &live, &mut rng).unwrap();
        assert!(grudge.drops("n1", "meta-1") && !grudge.drops("n1", "n2"));
        let unknown: PartitionShape = "role=db".parse().unwrap();
        let err = unknown
            .grudge(&nodes(3), &live, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"db\"") && err.contains("broker, meta, storage"),
            "{err}"
        );
        assert!("role=Bad".parse::<PartitionShape>().is_err());
    }
}
