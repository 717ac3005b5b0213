//! Sampling every node's partition state from its admin endpoint (leader, leader epoch,
//! ISR, high watermark, log end offset), the raw material of `state.jsonl` and of the
//! leader-targeted faults. A node that is down, paused or cut off yields an error sample
//! instead of failing the whole sample.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cluster::admin::{admin_url, get_json};
use crate::cluster::node::ClusterNode;
use crate::cluster::profile::AdminEndpoint;

/// Bound on one node's sample: a sample older than this is useless to a sampler running
/// a few times a second, and a paused node must not stall the others' samples.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);

/// One sample per node, concurrently, each bounded by [`SAMPLE_TIMEOUT`]. Shape:
/// `{"node": "n1", "node_id": 1, "ok": true, "state": <the endpoint's JSON>}` or
/// `{"node": "n1", "node_id": 1, "ok": false, "error": "..."}`.
pub async fn sample_partitions(
    client: &reqwest::Client,
    nodes: &[ClusterNode],
    admin: &AdminEndpoint,
) -> Vec<Value> {
    let requests = nodes.iter().map(|node| async move {
        let url = admin_url(node.ip, admin.port, &admin.partitions_path);
        let outcome = tokio::time::timeout(SAMPLE_TIMEOUT, get_json(client, &url))
            .await
            .unwrap_or_else(|_| Err(format!("{url}: no answer within {SAMPLE_TIMEOUT:?}")));
        match outcome {
            Ok(state) => json!({"node": node.name, "node_id": node.id, "ok": true, "state": state}),
            Err(error) => {
                json!({"node": node.name, "node_id": node.id, "ok": false, "error": error})
            }
        }
    });
    futures_util::future::join_all(requests).await
}

/// The nodes that currently lead at least one partition, by their own account: a
/// partition counts when the reporting node names itself as leader (a node's view of
/// other nodes' leadership may be stale). Sorted node names.
pub fn leaders_from_samples(samples: &[Value]) -> Vec<String> {
    let mut leaders = BTreeSet::new();
    for sample in samples {
        let (Some(node), Some(node_id)) = (sample["node"].as_str(), sample["node_id"].as_i64())
        else {
            continue;
        };
        let partitions = sample["state"]["partitions"].as_array();
        if partitions
            .into_iter()
            .flatten()
            .any(|p| p["leader"].as_i64() == Some(node_id))
        {
            leaders.insert(node.to_string());
        }
    }
    leaders.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only self-declared leadership counts; error samples are ignored.
    #[test]
    fn leaders_are_self_declared() {
        let samples = vec![
            json!({"node": "n1", "node_id": 1, "ok": true, "state": {"node_id": 1, "partitions": [
                {"topic": "t", "partition": 0, "leader": 1}, {"topic": "t", "partition": 1, "leader": 2}]}}),
            json!({"node": "n2", "node_id": 2, "ok": true, "state": {"node_id": 2, "partitions": [
                {"topic": "t", "partition": 1, "leader": 3}]}}),
            json!({"node": "n3", "node_id": 3, "ok": false, "error": "timed out"}),
        ];
        assert_eq!(leaders_from_samples(&samples), vec!["n1"]);
        assert!(leaders_from_samples(&[]).is_empty());
    }
}
