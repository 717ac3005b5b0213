//! CreateTopics: validates and creates topics; per-topic configs override broker defaults.
//!
//! Single node: the broker stores the topic itself. Clustered: the request becomes a
//! `CreateTopic` command committed by the controller quorum (forwarded to its leader, as
//! Kafka brokers forward CreateTopics to the active controller); the answer waits until this
//! broker has applied it, so a Metadata request that follows sees the topic.

use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::broker::Broker;
use crate::controller::commands::MetadataCommand;
use crate::controller::raft_types::ControllerResponse;
use crate::topics::{TopicConfig, TopicError};

/// How long a clustered CreateTopics waits for the controller and for the local metadata.
const CONTROLLER_LIMIT: Duration = Duration::from_secs(5);

/// Answers a CreateTopics request, one result per requested topic.
pub async fn handle(broker: &Broker, req: &CreateTopicsRequest) -> CreateTopicsResponse {
    let mut results = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name = t.name.as_str();
        let configs: Vec<(String, Option<String>)> = t
            .configs
            .iter()
            .map(|c| {
                (
                    c.name.as_str().to_string(),
                    c.value.as_ref().map(|v| v.as_str().to_string()),
                )
            })
            .collect();
        let result = CreatableTopicResult::default().with_name(t.name.clone());
        let outcome = if !t.assignments.is_empty() {
            Err(TopicError {
                code: 39,
                message: "manual replica assignments are not supported".into(),
            })
        } else if broker.is_clustered() {
            create_via_controller(
                broker,
                name,
                t.num_partitions,
                t.replication_factor,
                &configs,
                req.validate_only,
            )
            .await
        } else {
            broker.create_topic(
                name,
                t.num_partitions,
                t.replication_factor,
                &configs,
                req.validate_only,
            )
        };
        results.push(match outcome {
            Ok(config) => result
                .with_topic_id(Uuid::from_bytes(config.topic_id_bytes()))
                .with_num_partitions(config.partitions)
                .with_replication_factor(config.replication_factor),
            Err(e) => {
                tracing::warn!(topic = name, code = e.code, reason = %e, "CreateTopics refused");
                result
                    .with_error_code(e.code)
                    .with_error_message(Some(StrBytes::from_string(e.message)))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
            }
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

/// Creates a topic through the controller quorum (clustered brokers, CreateTopics and
/// Metadata auto-creation). -1 partitions or replication factor take the broker defaults.
pub async fn create_via_controller(
    broker: &Broker,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, Option<String>)],
    validate_only: bool,
) -> Result<TopicConfig, TopicError> {
    let config = broker.topic_definition(name, partitions, replication_factor, configs)?;
    let not_controller = |message: String| TopicError { code: 41, message };
    let Some(node) = broker.controller.get() else {
        return Err(not_controller(
            "the controller quorum member is starting".into(),
        ));
    };
    if validate_only {
        let metadata = node.metadata().map_err(|e| not_controller(e.to_string()))?;
        if metadata.topics.contains_key(name) {
            return Err(TopicError {
                code: 36,
                message: format!("topic {name:?} already exists"),
            });
        }
        return Ok(config);
    }
    let cmd = MetadataCommand::CreateTopic {
        name: name.to_string(),
        topic_id: config.topic_id.clone(),
        partitions: config.partitions,
        replication_factor: config.replication_factor,
        min_insync_replicas: config.min_insync_replicas,
        unclean_leader_election: config.unclean_leader_election_enable,
    };
    match node.propose_via_leader(cmd, CONTROLLER_LIMIT).await {
        Ok(ControllerResponse(Ok(_))) => {}
        Ok(ControllerResponse(Err(e))) => {
            return Err(TopicError {
                code: e.code(),
                message: e.to_string(),
            })
        }
        Err(e) => return Err(not_controller(e)),
    }
    // Committed; wait until this broker has applied it (its Metadata then shows the topic).
    let deadline = Instant::now() + CONTROLLER_LIMIT;
    let mut applied = node.state.subscribe();
    while !node.metadata().is_ok_and(|m| m.topics.contains_key(name)) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, applied.changed()).await.is_err() {
            break;
        }
    }
    tracing::info!(
        topic = name,
        partitions = config.partitions,
        replication_factor = config.replication_factor,
        min_insync_replicas = config.min_insync_replicas,
        "created topic through the controller"
    );
    Ok(config)
}
