//! Creating the test topic through Kafka's own CreateTopics API (rdkafka's AdminClient),
//! with the settings the run's guarantees depend on: partitions, replication factor,
//! `min.insync.replicas` (acks=all durability) and `unclean.leader.election.enable`
//! (whether an out-of-sync replica may become leader and lose committed data).
//!
//! Whether the topic exists is decided by what the brokers list in Metadata, not only by
//! the CreateTopics answer: a broker that creates the topic but answers in a shape
//! librdkafka cannot decode (rivine 0.2.0's CreateTopics v2) is used, and the run says
//! so.

use std::future::Future;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::cluster::error::ClusterError;

/// Attempts before giving up (a fresh cluster may still be electing a controller).
pub const CREATE_ATTEMPTS_MAX: u32 = 10;

/// Pause between attempts.
pub const CREATE_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The test topic's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// `min.insync.replicas`.
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
}

/// How the topic came to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicCreated {
    /// CreateTopics answered success (or that the topic already existed).
    Answered,
    /// CreateTopics gave no usable answer, but the brokers' Metadata lists the topic with
    /// the requested partitions: the broker created it. The text says what went wrong,
    /// for the run's output and history.
    ListedAfter(String),
}

/// Create the topic on the cluster reached through `bootstrap_servers`. An existing
/// topic with that name is accepted (a retried creation may have succeeded). Retryable
/// errors are retried a bounded number of times; each attempt is bounded by `timeout`.
/// After an attempt without a usable answer, `listed_partitions` (the partition count
/// the brokers' Metadata lists for the topic, if any) decides whether it exists anyway.
pub async fn create_topic<L, F>(
    bootstrap_servers: &str,
    spec: &TopicSpec,
    timeout: Duration,
    listed_partitions: L,
) -> Result<TopicCreated, ClusterError>
where
    L: Fn() -> F,
    F: Future<Output = Option<i32>>,
{
    let fail = |detail: String| ClusterError::Topic {
        topic: spec.name.clone(),
        detail,
    };
    // A fresh admin client per attempt, refreshing metadata every second: a client whose
    // first Metadata answer came before the controller quorum had a leader can keep
    // waiting for a controller it never learns (seen once as ten local timeouts in a row
    // on a cluster that had just started).
    let new_admin = || -> Result<AdminClient<DefaultClientContext>, ClusterError> {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap_servers)
            .set("socket.timeout.ms", timeout.as_millis().to_string())
            .set("topic.metadata.refresh.interval.ms", "1000")
            .create()
            .map_err(|e| fail(format!("cannot create the admin client: {e}")))
    };
    let min_isr = spec.min_insync_replicas.to_string();
    let unclean = spec.unclean_leader_election.to_string();
    let topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication_factor),
    )
    .set("min.insync.replicas", &min_isr)
    .set("unclean.leader.election.enable", &unclean);
    let options = AdminOptions::new()
        .request_timeout(Some(timeout))
        .operation_timeout(Some(timeout));
    let mut last_error = String::new();
    for attempt in 1..=CREATE_ATTEMPTS_MAX {
        let admin = new_admin()?;
        let call = admin.create_topics([&topic], &options);
        let outcome = tokio::time::timeout(timeout + Duration::from_secs(1), call).await;
        // Dropping a librdkafka client joins its threads: not on the async runtime.
        tokio::task::spawn_blocking(move || drop(admin));
        match outcome {
            Err(_) => last_error = format!("no answer within {timeout:?}"),
            Ok(Err(e)) => last_error = e.to_string(),
            Ok(Ok(results)) => match results.into_iter().next() {
                Some(Ok(_)) | Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                    return Ok(TopicCreated::Answered)
                }
                Some(Err((_, code))) if !is_retryable(code) => {
                    return Err(fail(format!("the broker refused: {code}")))
                }
                Some(Err((_, code))) => last_error = code.to_string(),
                None => last_error = "empty CreateTopics response".into(),
            },
        }
        if let Some(listed) = listed_partitions().await {
            if listed == spec.partitions {
                return Ok(TopicCreated::ListedAfter(format!(
                    "CreateTopics for topic {} gave no usable answer ({last_error}), but the \
                     brokers' Metadata lists it with {listed} partitions: the broker created \
                     it and its CreateTopics answer is one librdkafka could not use",
                    spec.name
                )));
            }
            return Err(fail(format!(
                "CreateTopics gave no usable answer ({last_error}) and Metadata lists the \
                 topic with {listed} partitions, not the {} asked for",
                spec.partitions
            )));
        }
        tracing::debug!(attempt, %last_error, "create topic failed, retrying");
        tokio::time::sleep(CREATE_RETRY_PAUSE).await;
    }
    Err(fail(format!(
        "{CREATE_ATTEMPTS_MAX} attempts failed, last: {last_error}"
    )))
}

/// Errors a just-started cluster may return while it settles.
fn is_retryable(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::BrokerNotAvailable
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::InvalidReplicationFactor
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::OperationTimedOut
    )
}
