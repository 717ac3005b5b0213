//! The grudge: which nodes each node drops traffic from. It is the one description of a
//! network partition shared by the shape generators, the iptables application and the
//! history (Jepsen uses the same word and the same map shape).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The pseudo-node standing for the clients: the host's address on the run network (the
/// bridge gateway), from which every Kafka client connection arrives.
pub const CLIENTS: &str = "clients";

/// Node name -> the set of node names whose packets it drops. A node absent from the map
/// drops nothing. Serialised as `{"n1": ["n2", "n3"], ...}` for the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grudge(BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// An empty grudge: nobody drops anything (the healed network).
    pub fn new() -> Self {
        Self::default()
    }

    /// Make `node` drop every packet coming from `from`. Dropping one's own traffic is
    /// meaningless and ignored.
    pub fn drop_from(&mut self, node: &str, from: &str) {
        if node != from {
            self.0
                .entry(node.to_string())
                .or_default()
                .insert(from.to_string());
        }
    }

    /// Cut every pair of nodes that are in different components, in both directions:
    /// the classic partition where each component only talks to itself.
    pub fn from_components(components: &[Vec<String>]) -> Self {
        let mut grudge = Self::new();
        for (i, component) in components.iter().enumerate() {
            for (j, other) in components.iter().enumerate() {
                if i == j {
                    continue;
                }
                for node in component {
                    for peer in other {
                        grudge.drop_from(node, peer);
                    }
                }
            }
        }
        grudge
    }

    /// The nodes whose traffic `node` drops (empty when it drops nothing).
    pub fn dropped_by(&self, node: &str) -> impl Iterator<Item = &str> {
        self.0.get(node).into_iter().flatten().map(String::as_str)
    }

    /// Whether `node` drops packets from `from`.
    pub fn drops(&self, node: &str, from: &str) -> bool {
        self.0.get(node).is_some_and(|set| set.contains(from))
    }

    /// The nodes that drop something, with what they drop.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.0.iter().map(|(node, set)| (node.as_str(), set))
    }

    /// Every node the grudge names, on either side of a rule (for checking a recorded
    /// grudge against the cluster it is replayed on).
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes: BTreeSet<String> = self.0.keys().cloned().collect();
        nodes.extend(self.0.values().flatten().cloned());
        nodes.into_iter().collect()
    }

    /// True when nobody drops anything.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeSet::is_empty)
    }

    /// The nodes `node` can still hear, itself included, among `nodes`.
    pub fn visible_from(&self, node: &str, nodes: &[String]) -> BTreeSet<String> {
        nodes
            .iter()
            .filter(|peer| !self.drops(node, peer))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    // Two components cut both ways; nodes in the same component keep talking.
    #[test]
    fn components_are_cut_symmetrically() {
        let grudge = Grudge::from_components(&[names(&["n1"]), names(&["n2", "n3"])]);
        assert!(grudge.drops("n1", "n2") && grudge.drops("n2", "n1"));
        assert!(grudge.drops("n1", "n3") && grudge.drops("n3", "n1"));
        assert!(!grudge.drops("n2", "n3"));
        assert_eq!(
            serde_json::to_value(&grudge).unwrap(),
            serde_json::json!({"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]})
        );
    }

    // A node never drops itself, and the empty grudge is the healed network.
    #[test]
    fn self_drop_is_ignored() {
        let mut grudge = Grudge::new();
        grudge.drop_from("n1", "n1");
        assert!(grudge.is_empty());
        grudge.drop_from("n1", CLIENTS);
        assert!(!grudge.is_empty());
        assert_eq!(grudge.dropped_by("n1").collect::<Vec<_>>(), vec![CLIENTS]);
    }
}
