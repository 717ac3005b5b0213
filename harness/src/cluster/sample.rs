//! Sampling every node's view of the cluster through the Kafka protocol (Metadata and
//! ListOffsets, see [`crate::cluster::kafka_wire`]), plus the admin endpoint's log end
//! offset and ISR when the profile has one: the raw material of `state.jsonl` and of the
//! leader-aimed faults. Each node is asked on its own connection, concurrently, and the
//! whole node sample is bounded by [`SAMPLE_TIMEOUT`]: a node that is down, paused or cut
//! off yields an error sample and never stalls the others.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, ListOffsetsRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;

use crate::cluster::admin::{admin_url, get_json};
use crate::cluster::kafka_wire::{Connection, WireError};
use crate::cluster::node::ClusterNode;
use crate::cluster::profile::AdminEndpoint;
use crate::cluster::state::{NodeSample, NodeState, PartitionState};

/// Bound on one node's whole sample (connect, ApiVersions, Metadata, three ListOffsets,
/// admin): a sample older than this is useless to a sampler running four times a second,
/// and a paused node must not stall the others.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Bound on one request inside a node's sample.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(400);

/// Bound on the TCP connect: a connect on the run's bridge takes well under a
/// millisecond, while one to a killed container's address hangs until this bound, so a
/// short bound keeps the sampler near four samples a second while a node is down (a
/// paused node accepts the connect and costs one [`REQUEST_TIMEOUT`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// Metadata v1 is the first to name the controller; newer versions add leader epochs (v7)
/// and offline replicas (v5) and are used when the broker speaks them.
const METADATA_VERSION_MIN: i16 = 1;
/// ListOffsets v2 is the first with an isolation level (read_committed gives the LSO).
const LIST_OFFSETS_VERSION_MIN: i16 = 2;
/// ListOffsets special timestamps: earliest (log start) and latest (HW or LSO).
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;
/// Kafka isolation levels in ListOffsets (KIP-98).
const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
/// Kafka reserves topic names starting with this for its internal topics.
const INTERNAL_TOPIC_PREFIX: &str = "__";
/// A consumer's replica id in ListOffsets (a broker id would make it a follower fetch).
const CONSUMER_REPLICA_ID: i32 = -1;

/// One sample per node, concurrently, each bounded by [`SAMPLE_TIMEOUT`].
pub async fn sample_nodes(
    http: &reqwest::Client,
    nodes: &[ClusterNode],
    kafka_port: u16,
    admin: Option<&AdminEndpoint>,
) -> Vec<NodeSample> {
    let requests = nodes
        .iter()
        .map(|node| sample_node(http, node, kafka_port, admin));
    futures_util::future::join_all(requests).await
}

/// One node's sample; never fails (a failure is the sample's `error`).
pub async fn sample_node(
    http: &reqwest::Client,
    node: &ClusterNode,
    kafka_port: u16,
    admin: Option<&AdminEndpoint>,
) -> NodeSample {
    let addr = SocketAddr::from((node.ip, kafka_port));
    let work = async {
        let protocol = protocol_state(addr, node).await;
        let admin = match admin {
            Some(a) => Some(admin_state(http, node, a).await),
            None => None,
        };
        (protocol, admin)
    };
    let mut sample = NodeSample {
        node: node.name.clone(),
        node_id: Some(node.id),
        ok: false,
        state: None,
        error: None,
    };
    match tokio::time::timeout(SAMPLE_TIMEOUT, work).await {
        Err(_) => sample.error = Some(format!("{addr}: no answer within {SAMPLE_TIMEOUT:?}")),
        Ok((Err(e), _)) => sample.error = Some(e.to_string()),
        Ok((Ok((mut state, own_id)), admin)) => {
            sample.ok = true;
            sample.node_id = Some(own_id);
            match admin {
                Some(Ok(view)) => merge_admin(&mut state, &view),
                Some(Err(e)) => sample.error = Some(format!("admin endpoint: {e}")),
                None => {}
            }
            sample.state = Some(state);
        }
    }
    sample
}

/// Whether the broker at `addr` answers ApiVersions and Metadata: the readiness check for
/// profiles without an admin endpoint (a port that accepts connections but never answers
/// Metadata is not a ready broker).
pub async fn metadata_probe(addr: SocketAddr) -> Result<(), String> {
    let probe = async {
        let mut conn = Connection::open(addr, CONNECT_TIMEOUT, REQUEST_TIMEOUT).await?;
        let version = conn.version_of::<MetadataRequest>(METADATA_VERSION_MIN)?;
        let mut request = MetadataRequest::default().with_topics(None);
        if version >= 4 {
            request = request.with_allow_auto_topic_creation(false);
        }
        conn.call(&request, version).await.map(|_| ())
    };
    probe.await.map_err(|e| format!("Metadata: {e}"))
}

/// Metadata for every topic, then ListOffsets for the partitions this node says it
/// leads (only a leader answers ListOffsets). Returns the state and the node's own broker
/// id (see [`own_broker_id`]).
async fn protocol_state(
    addr: SocketAddr,
    node: &ClusterNode,
) -> Result<(NodeState, i32), WireError> {
    let mut conn = Connection::open(addr, CONNECT_TIMEOUT, REQUEST_TIMEOUT).await?;
    let version = conn.version_of::<MetadataRequest>(METADATA_VERSION_MIN)?;
    let mut request = MetadataRequest::default().with_topics(None);
    if version >= 4 {
        request = request.with_allow_auto_topic_creation(false);
    }
    let metadata = conn.call(&request, version).await?;
    let own_id = own_broker_id(&metadata, node);
    let mut state = node_state(&metadata);
    let led: Vec<(String, i32, i32)> = state
        .partitions
        .iter()
        .filter(|p| p.leader == Some(own_id))
        .map(|p| (p.topic.clone(), p.partition, p.leader_epoch.unwrap_or(-1)))
        .collect();
    if led.is_empty() {
        return Ok((state, own_id));
    }
    let version = conn.version_of::<ListOffsetsRequest>(LIST_OFFSETS_VERSION_MIN)?;
    let queries = [
        (EARLIEST, READ_UNCOMMITTED),
        (LATEST, READ_UNCOMMITTED),
        (LATEST, READ_COMMITTED),
    ];
    for (which, (timestamp, isolation)) in queries.into_iter().enumerate() {
        let request = list_offsets(&led, timestamp, isolation, version);
        let response = conn.call(&request, version).await?;
        for topic in &response.topics {
            for answer in &topic.partitions {
                let Some(p) = state.partitions.iter_mut().find(|p| {
                    p.topic == topic.name.as_str() && p.partition == answer.partition_index
                }) else {
                    continue;
                };
                if answer.error_code != 0 {
                    p.error_code = Some(answer.error_code);
                    continue;
                }
                let slot = match which {
                    0 => &mut p.log_start_offset,
                    1 => &mut p.high_watermark,
                    _ => &mut p.last_stable_offset,
                };
                *slot = Some(answer.offset);
            }
        }
    }
    Ok((state, own_id))
}

/// The broker id a node answers as: the broker its own Metadata answer lists at the
/// address the node advertises. A broker's id is its own configuration (rivine is always
/// 0), so it is read, not assumed; when no listed broker has that address, the profile's
/// `{node_id}` is taken.
pub fn own_broker_id(metadata: &MetadataResponse, node: &ClusterNode) -> i32 {
    let advertised = node.advertised.addr();
    let advertised_host = advertised.ip().to_string();
    metadata
        .brokers
        .iter()
        .find(|b| {
            let host = b.host.as_str();
            let same_host =
                host == advertised_host || (host == "localhost" && advertised.ip().is_loopback());
            same_host && b.port == i32::from(advertised.port())
        })
        .map(|b| b.node_id.0)
        .unwrap_or(node.id)
}

fn list_offsets(
    led: &[(String, i32, i32)],
    timestamp: i64,
    isolation: i8,
    version: i16,
) -> ListOffsetsRequest {
    let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
    for (topic, partition, epoch) in led {
        let mut p = ListOffsetsPartition::default()
            .with_partition_index(*partition)
            .with_timestamp(timestamp);
        if version >= 4 {
            p = p.with_current_leader_epoch(*epoch);
        }
        topics.entry(topic.as_str()).or_default().push(p);
    }
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(CONSUMER_REPLICA_ID))
        .with_isolation_level(isolation)
        .with_timeout_ms(REQUEST_TIMEOUT.as_millis() as i32)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
        )
}

/// The typed view of one Metadata answer. Internal topics (`__consumer_offsets`,
/// `__transaction_state`, KRaft's `__cluster_metadata`: flagged internal, or named with
/// Kafka's reserved `__` prefix, which not every broker flags) are left out: they are not
/// under test, and their leaders must not count as the leaders faults aim at.
pub fn node_state(metadata: &MetadataResponse) -> NodeState {
    let ids = |list: &[BrokerId]| list.iter().map(|b| b.0).collect::<Vec<i32>>();
    let mut partitions = Vec::new();
    for topic in &metadata.topics {
        let name = topic
            .name
            .as_ref()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default();
        if topic.is_internal || name.starts_with(INTERNAL_TOPIC_PREFIX) {
            continue;
        }
        for p in &topic.partitions {
            partitions.push(PartitionState {
                topic: name.clone(),
                partition: p.partition_index,
                leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                replicas: ids(&p.replica_nodes),
                isr: ids(&p.isr_nodes),
                offline_replicas: ids(&p.offline_replicas),
                error_code: (p.error_code != 0).then_some(p.error_code),
                ..PartitionState::default()
            });
        }
    }
    partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    NodeState {
        controller_id: (metadata.controller_id.0 >= 0).then_some(metadata.controller_id.0),
        partitions,
    }
}

/// broker-under-test's `/partitions` document, as far as the sampler reads it.
#[derive(Debug, Deserialize)]
struct AdminView {
    #[serde(default)]
    partitions: Vec<AdminPartition>,
}

/// One partition of `/partitions`: this node's own log end offset and ISR view.
#[derive(Debug, Deserialize)]
struct AdminPartition {
    topic: String,
    partition: i32,
    #[serde(default)]
    isr: Vec<i32>,
    log_end_offset: Option<i64>,
}

async fn admin_state(
    http: &reqwest::Client,
    node: &ClusterNode,
    admin: &AdminEndpoint,
) -> Result<AdminView, String> {
    let url = admin_url(node.ip, admin.port, &admin.partitions_path);
    let value = get_json(http, &url).await?;
    serde_json::from_value(value).map_err(|e| format!("{url}: {e}"))
}

fn merge_admin(state: &mut NodeState, admin: &AdminView) {
    for a in &admin.partitions {
        if let Some(p) = state
            .partitions
            .iter_mut()
            .find(|p| p.topic == a.topic && p.partition == a.partition)
        {
            p.log_end_offset = a.log_end_offset;
            p.admin_isr = Some(a.isr.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    // Goal: a Metadata answer becomes the typed view, with Kafka's -1 as "none", sorted
    // by partition, internal topics left out (method: a hand-built response).
    #[test]
    fn metadata_becomes_node_state() {
        let metadata = MetadataResponse::default()
            .with_controller_id(BrokerId(2))
            .with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("10.0.0.2"))
                    .with_port(9092),
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(2))
                    .with_host(StrBytes::from_static_str("10.0.0.3"))
                    .with_port(9092),
            ])
            .with_topics(vec![
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                    .with_partitions(vec![
                        MetadataResponsePartition::default()
                            .with_partition_index(1)
                            .with_leader_id(BrokerId(-1))
                            .with_leader_epoch(-1)
                            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                            .with_error_code(5),
                        MetadataResponsePartition::default()
                            .with_partition_index(0)
                            .with_leader_id(BrokerId(2))
                            .with_leader_epoch(7)
                            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                            .with_isr_nodes(vec![BrokerId(2)])
                            .with_offline_replicas(vec![BrokerId(1)]),
                    ]),
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str(
                        "__consumer_offsets",
                    ))))
                    .with_partitions(vec![
                        MetadataResponsePartition::default().with_leader_id(BrokerId(1))
                    ]),
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("offsets"))))
                    .with_is_internal(true)
                    .with_partitions(vec![
                        MetadataResponsePartition::default().with_leader_id(BrokerId(1))
                    ]),
            ]);
        let state = node_state(&metadata);
        assert_eq!(state.controller_id, Some(2));
        assert_eq!(state.partitions.len(), 2);
        let p0 = &state.partitions[0];
        assert_eq!(
            (p0.partition, p0.leader, p0.leader_epoch),
            (0, Some(2), Some(7))
        );
        assert_eq!(
            (p0.isr.clone(), p0.offline_replicas.clone()),
            (vec![2], vec![1])
        );
        let p1 = &state.partitions[1];
        assert_eq!(
            (p1.leader, p1.leader_epoch, p1.error_code),
            (None, None, Some(5))
        );
    }

    // Goal: a node's broker id is read from its own Metadata answer, by the address it
    // advertises (rivine answers as broker 0 at 127.0.0.1:9092), and falls back to the
    // profile's id when no listed broker has that address (method: hand-built answers).
    #[test]
    fn own_broker_id_is_read_by_advertised_address() {
        use crate::cluster::profile::Advertised;
        let broker = |id: i32, host: &'static str| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_static_str(host))
                .with_port(9092)
        };
        let node = |advertised: Advertised| ClusterNode {
            id: 1,
            name: "n1".into(),
            container: "none".into(),
            ip: "10.0.0.2".parse().unwrap(),
            advertised,
        };
        let rivine = MetadataResponse::default().with_brokers(vec![broker(0, "127.0.0.1")]);
        let loopback = node(Advertised::Loopback("127.0.0.1:9092".parse().unwrap()));
        assert_eq!(own_broker_id(&rivine, &loopback), 0);
        let named = MetadataResponse::default().with_brokers(vec![broker(0, "localhost")]);
        assert_eq!(own_broker_id(&named, &loopback), 0);
        let cluster = MetadataResponse::default()
            .with_brokers(vec![broker(7, "10.0.0.3"), broker(5, "10.0.0.2")]);
        let own = node(Advertised::NodeAddress("10.0.0.2:9092".parse().unwrap()));
        assert_eq!(own_broker_id(&cluster, &own), 5);
        assert_eq!(own_broker_id(&rivine, &own), 1);
    }

    // Goal: ListOffsets asks as a consumer (replica id -1) with the right isolation level,
    // and leader epochs only where the version carries them.
    #[test]
    fn list_offsets_request_is_a_consumer_request() {
        let led = vec![("t".to_string(), 0, 4), ("t".to_string(), 1, 2)];
        let r = list_offsets(&led, LATEST, READ_COMMITTED, 7);
        assert_eq!(r.replica_id, BrokerId(-1));
        assert_eq!(r.isolation_level, READ_COMMITTED);
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].partitions[0].current_leader_epoch, 4);
        let old = list_offsets(&led, EARLIEST, READ_UNCOMMITTED, 2);
        assert_eq!(old.topics[0].partitions[1].current_leader_epoch, -1);
        let mut buf = bytes::BytesMut::new();
        kafka_protocol::protocol::Encodable::encode(&old, &mut buf, 2).unwrap();
    }

    // Goal: a node nobody listens on gives an error sample within the bound, not a stall.
    #[tokio::test]
    async fn unreachable_node_gives_error_sample() {
        let http = crate::cluster::admin::admin_client().unwrap();
        let node = ClusterNode {
            id: 1,
            name: "n1".into(),
            container: "none".into(),
            ip: std::net::Ipv4Addr::LOCALHOST,
            advertised: crate::cluster::profile::Advertised::NodeAddress(
                std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 1),
            ),
        };
        // Port 1 on loopback: nothing listens there, so the connect is refused.
        let sample = sample_node(&http, &node, 1, None).await;
        assert!(!sample.ok && sample.state.is_none());
        assert!(sample.error.unwrap().contains("127.0.0.1:1"));
    }
}
