//! Metadata: brokers, topics and per-partition leader, epoch, replicas and ISR. Auto-creates
//! requested topics when both the request and `--auto-create-topics` allow it.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::broker::Broker;
use crate::handlers::create_topics;
use crate::topics::TopicConfig;

/// Cluster id reported to clients.
pub const CLUSTER_ID: &str = "samsa-broker-under-test";

/// Answers a Metadata request.
pub async fn handle(broker: &Broker, req: &MetadataRequest, version: i16) -> MetadataResponse {
    if broker.is_clustered() {
        return clustered(broker, req, version).await;
    }
    let (host, port) = broker.advertised.clone();
    let node = broker.config.node_id;
    let wanted = wanted_topics(req, version);
    let auto_create =
        broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let mut topics = Vec::new();
    match wanted {
        None => {
            for (config, partitions) in broker.snapshot() {
                topics.push(topic_entry(&config, &partitions));
            }
        }
        Some(names) => {
            for name in names {
                if !broker.has_topic(&name) && auto_create {
                    match broker.create_topic(&name, -1, -1, &[], false) {
                        Ok(_) => tracing::info!(topic = %name, "auto-created topic from Metadata"),
                        Err(e) if e.code == 36 => {}
                        Err(e) => {
                            tracing::warn!(topic = %name, code = e.code, reason = %e, "auto-create refused");
                            topics.push(error_topic(&name, e.code));
                            continue;
                        }
                    }
                }
                match broker.snapshot().into_iter().find(|(c, _)| c.name == name) {
                    Some((config, partitions)) => topics.push(topic_entry(&config, &partitions)),
                    None => topics.push(error_topic(&name, 3)),
                }
            }
        }
    }
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(node))
            .with_host(StrBytes::from_string(host))
            .with_port(port)])
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(BrokerId(node))
        .with_topics(topics)
}

/// The topic names a request asks for; `None` means all topics.
fn wanted_topics(req: &MetadataRequest, version: i16) -> Option<Vec<String>> {
    match &req.topics {
        None => None,
        Some(list) if list.is_empty() && version == 0 => None,
        Some(list) => Some(
            list.iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.as_str().to_string()))
                .collect(),
        ),
    }
}

/// Clustered: brokers, leaders, epochs and ISRs as the controller metadata applied on this
/// broker says (possibly stale on a broker cut off from the quorum, as in Kafka).
async fn clustered(broker: &Broker, req: &MetadataRequest, version: i16) -> MetadataResponse {
    let Some(node) = broker.controller.get() else {
        return MetadataResponse::default();
    };
    let auto_create =
        broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let wanted = wanted_topics(req, version);
    if let (Some(names), true) = (&wanted, auto_create) {
        for name in names {
            if node.metadata().is_ok_and(|m| !m.topics.contains_key(name)) {
                match create_topics::create_via_controller(broker, name, -1, -1, &[], false).await {
                    Ok(_) => tracing::info!(topic = %name, "auto-created topic from Metadata"),
                    Err(e) => {
                        tracing::warn!(topic = %name, code = e.code, reason = %e, "auto-create refused")
                    }
                }
            }
        }
    }
    let metadata = match node.metadata() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "controller metadata unreadable");
            return MetadataResponse::default();
        }
    };
    let names: Vec<String> = wanted.unwrap_or_else(|| metadata.topics.keys().cloned().collect());
    let topics = names
        .iter()
        .map(|name| match metadata.topics.get(name) {
            None => error_topic(name, 3),
            Some(topic) => {
                let config = crate::replication::manager::topic_config(name, topic);
                let parts = topic
                    .partitions
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        MetadataResponsePartition::default()
                            .with_error_code(if p.leader < 0 { 5 } else { 0 })
                            .with_partition_index(i32::try_from(i).unwrap_or(i32::MAX))
                            .with_leader_id(BrokerId(p.leader))
                            .with_leader_epoch(p.leader_epoch)
                            .with_replica_nodes(p.replicas.iter().map(|&r| BrokerId(r)).collect())
                            .with_isr_nodes(p.isr.iter().map(|&r| BrokerId(r)).collect())
                    })
                    .collect();
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                    .with_topic_id(Uuid::from_bytes(config.topic_id_bytes()))
                    .with_partitions(parts)
            }
        })
        .collect();
    let brokers = metadata
        .brokers
        .iter()
        .filter(|(_, b)| !b.fenced)
        .map(|(&id, b)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(b.port)
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(BrokerId(node.leader().await.unwrap_or(-1)))
        .with_topics(topics)
}

fn error_topic(name: &str, code: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(code)
        .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
}

fn topic_entry(
    config: &TopicConfig,
    partitions: &[std::sync::Arc<crate::partition::Partition>],
) -> MetadataResponseTopic {
    let parts = partitions
        .iter()
        .map(|p| {
            let state = p.lock().state.clone();
            MetadataResponsePartition::default()
                .with_partition_index(p.index)
                .with_leader_id(BrokerId(state.leader))
                .with_leader_epoch(state.leader_epoch)
                .with_replica_nodes(state.replicas.iter().map(|&r| BrokerId(r)).collect())
                .with_isr_nodes(state.isr.iter().map(|&r| BrokerId(r)).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(config.name.clone()))))
        .with_topic_id(Uuid::from_bytes(config.topic_id_bytes()))
        .with_partitions(parts)
}
