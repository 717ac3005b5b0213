//! What the harness read from the live cluster just before a fault: the partition leaders
//! by their own answers, with each partition's replicas. Leader-aimed targets and shapes
//! (`kill:leaders`, `partition:leaders`, `partition:leader-from-replicas`) are drawn from
//! it, so the nemesis never asks the cluster itself and stays pure and testable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::NemesisError;
use crate::role::{RoleName, BROKER_ROLE};

/// One partition whose leader is known: its name, the leading node, every replica node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedPartition {
    /// `topic/partition`, for the history and reports.
    pub name: String,
    /// The node that leads it.
    pub leader: String,
    /// Its assigned replicas (node names, the leader included).
    pub replicas: Vec<String>,
    /// Its in-sync replicas as the leader reports them (empty when unknown); an assigned
    /// replica missing here has fallen behind or was fenced.
    #[serde(default)]
    pub isr: Vec<String>,
}

/// The live cluster as the fault resolution sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveView {
    /// The partitions with a known leader, in a stable order.
    pub partitions: Vec<LedPartition>,
    /// The containers of each role beside the brokers (a profile's services), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<RoleName, Vec<String>>,
}

impl LiveView {
    /// A view from leader names only (one pseudo-partition per leader, no replicas).
    pub fn from_leaders(leaders: &[String]) -> Self {
        Self {
            partitions: leaders
                .iter()
                .map(|l| LedPartition {
                    name: format!("led-by-{l}"),
                    leader: l.clone(),
                    replicas: vec![l.clone()],
                    isr: vec![l.clone()],
                })
                .collect(),
            roles: BTreeMap::new(),
        }
    }

    /// The containers of `role`: the brokers (`nodes`) for the role `broker`, a service's
    /// containers otherwise; a role the cluster does not have is an error naming the
    /// roles it has.
    pub fn members(&self, role: RoleName, nodes: &[String]) -> Result<Vec<String>, NemesisError> {
        if role.as_str() == BROKER_ROLE {
            return Ok(nodes.to_vec());
        }
        self.roles.get(&role).cloned().ok_or_else(|| {
            let mut known = vec![BROKER_ROLE.to_string()];
            known.extend(self.roles.keys().map(|r| r.to_string()));
            NemesisError::UnknownRole {
                role: role.to_string(),
                known: known.join(", "),
            }
        })
    }

    /// Every container of the cluster: the brokers and every service's, sorted.
    pub fn everyone(&self, nodes: &[String]) -> Vec<String> {
        let mut all = nodes.to_vec();
        all.extend(self.roles.values().flatten().cloned());
        all.sort();
        all.dedup();
        all
    }

    /// The partitions whose ISR lacks one of their assigned replicas (an ISR shrink or a
    /// fenced replica), in the view's order.
    pub fn shrunk_isr(&self) -> Vec<&LedPartition> {
        self.partitions
            .iter()
            .filter(|p| !p.isr.is_empty() && p.replicas.iter().any(|r| !p.isr.contains(r)))
            .collect()
    }

    /// The nodes leading at least one partition, sorted, without duplicates.
    pub fn leaders(&self) -> Vec<String> {
        let mut names: Vec<String> = self.partitions.iter().map(|p| p.leader.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: leaders are deduplicated and sorted whatever the partition order.
    #[test]
    fn leaders_are_sorted_and_unique() {
        let view = LiveView::from_leaders(&["n3".into(), "n1".into(), "n3".into()]);
        assert_eq!(view.leaders(), vec!["n1", "n3"]);
        assert!(LiveView::default().leaders().is_empty());
    }
}
