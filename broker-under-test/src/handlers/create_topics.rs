//! CreateTopics: validates and creates topics; per-topic configs override broker defaults.

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::broker::Broker;

/// Answers a CreateTopics request, one result per requested topic.
pub fn handle(broker: &Broker, req: &CreateTopicsRequest) -> CreateTopicsResponse {
    let results = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.as_str();
            let configs: Vec<(String, Option<String>)> = t
                .configs
                .iter()
                .map(|c| (c.name.as_str().to_string(), c.value.as_ref().map(|v| v.as_str().to_string())))
                .collect();
            let result = CreatableTopicResult::default().with_name(t.name.clone());
            let outcome = if t.assignments.is_empty() {
                broker.create_topic(name, t.num_partitions, t.replication_factor, &configs, req.validate_only)
            } else {
                Err(crate::topics::TopicError { code: 39, message: "manual replica assignments are not supported".into() })
            };
            match outcome {
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
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}
