//! Metadata: brokers, topics and per-partition leader, epoch, replicas and ISR. Auto-creates
//! requested topics when both the request and `--auto-create-topics` allow it.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::broker::Broker;
use crate::topics::TopicConfig;

/// Cluster id reported to clients.
pub const CLUSTER_ID: &str = "samsa-broker-under-test";

/// Answers a Metadata request.
pub fn handle(broker: &Broker, req: &MetadataRequest, version: i16) -> MetadataResponse {
    let (host, port) = broker.advertised.clone();
    let node = broker.config.node_id;
    let wanted: Option<Vec<String>> = match &req.topics {
        None => None,
        Some(list) if list.is_empty() && version == 0 => None,
        Some(list) => Some(
            list.iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.as_str().to_string()))
                .collect(),
        ),
    };
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
