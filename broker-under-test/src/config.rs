//! Broker configuration: every flag of the binary, with `BROKER_*` environment fallbacks.
//!
//! One struct parsed by clap so `--help` documents every knob and the harness can configure
//! a container through environment variables alone.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Parser;

use crate::controller::node::Peers;
use crate::faults::SeededFaults;

/// When the log fsyncs appended data; mirrors Kafka's `flush.messages` / OS-managed default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// fsync after every appended batch (`flush.messages=1`): acknowledged means durable.
    EveryBatch,
    /// fsync once at least this many messages were appended since the last fsync.
    EveryMessages(u64),
    /// Never fsync on the append path; leave write-back to the OS (Kafka's default).
    Os,
}

impl FromStr for FlushPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "batch" | "every-batch" => Ok(FlushPolicy::EveryBatch),
            "os" => Ok(FlushPolicy::Os),
            other => {
                let n = other.strip_prefix("messages:").ok_or_else(|| {
                    format!("unknown flush policy {other:?}: expected batch, messages:N or os")
                })?;
                let n: u64 = n.parse().map_err(|e| {
                    format!("flush policy {other:?}: N is not a positive integer: {e}")
                })?;
                if n == 0 {
                    return Err("flush policy messages:N needs N >= 1".to_string());
                }
                Ok(FlushPolicy::EveryMessages(n))
            }
        }
    }
}

/// All broker settings. Topic-level defaults (`min.insync.replicas`,
/// `unclean.leader.election.enable`) are stored per topic and overridden by CreateTopics configs.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "broker-under-test",
    version,
    about = "A Kafka-wire-compatible broker under test by samsa"
)]
pub struct Config {
    /// This broker's node id (Kafka `node.id`), reported as leader and in Metadata.
    #[arg(long, env = "BROKER_NODE_ID", default_value_t = 1)]
    pub node_id: i32,

    /// Address the Kafka protocol listener binds.
    #[arg(long, env = "BROKER_LISTEN", default_value = "0.0.0.0:9092")]
    pub listen: SocketAddr,

    /// Host advertised to clients in Metadata (default: the listen IP; for 0.0.0.0 the IPv4 the
    /// hostname resolves to, e.g. the container address, else 127.0.0.1).
    #[arg(long, env = "BROKER_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,

    /// Port advertised to clients in Metadata (default: the bound listen port).
    #[arg(long, env = "BROKER_ADVERTISED_PORT")]
    pub advertised_port: Option<u16>,

    /// Address of the HTTP admin endpoint (`/health`, `/partitions`).
    #[arg(long, env = "BROKER_ADMIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub admin_listen: SocketAddr,

    /// Directory holding topic metadata, partition logs, checkpoints and producer-id blocks.
    #[arg(long, env = "BROKER_DATA_DIR", default_value = "/data")]
    pub data_dir: PathBuf,

    /// When to fsync: `batch` (every batch), `messages:N` (every N messages) or `os` (Kafka's default).
    #[arg(long, env = "BROKER_FLUSH_POLICY", default_value = "os")]
    pub flush_policy: FlushPolicy,

    /// Roll to a new segment file once the active one reaches this many bytes (Kafka `segment.bytes`).
    #[arg(long, env = "BROKER_SEGMENT_BYTES", default_value_t = 1 << 30)]
    pub segment_bytes: u64,

    /// Partitions of an auto-created topic or a CreateTopics request with num_partitions = -1.
    #[arg(long, env = "BROKER_DEFAULT_PARTITIONS", default_value_t = 1)]
    pub default_partitions: i32,

    /// Replication factor of auto-created topics (at most the number of live brokers).
    #[arg(long, env = "BROKER_DEFAULT_REPLICATION_FACTOR", default_value_t = 1)]
    pub default_replication_factor: i16,

    /// Create unknown topics when a Metadata request allows it (Kafka `auto.create.topics.enable`).
    #[arg(long, env = "BROKER_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_create_topics: bool,

    /// Default `min.insync.replicas` of new topics: acks=all is refused NOT_ENOUGH_REPLICAS
    /// while the ISR is smaller.
    #[arg(long, env = "BROKER_MIN_INSYNC_REPLICAS", default_value_t = 1)]
    pub min_insync_replicas: i32,

    /// Default `unclean.leader.election.enable` of new topics: may the controller elect an
    /// out-of-sync replica when no ISR member is alive.
    #[arg(long, env = "BROKER_UNCLEAN_LEADER_ELECTION_ENABLE", default_value_t = false, action = clap::ArgAction::Set)]
    pub unclean_leader_election_enable: bool,

    /// Largest request frame accepted; a bigger one closes the connection (Kafka `socket.request.max.bytes`).
    #[arg(long, env = "BROKER_MAX_FRAME_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_frame_bytes: u32,

    /// Close a connection idle for this long (Kafka `connections.max.idle.ms`).
    #[arg(long, env = "BROKER_IDLE_TIMEOUT_MS", default_value_t = 600_000)]
    pub idle_timeout_ms: u64,

    /// How often the recovery-point checkpoint file is rewritten (Kafka `log.flush.offset.checkpoint.interval.ms`).
    #[arg(long, env = "BROKER_CHECKPOINT_INTERVAL_MS", default_value_t = 1_000)]
    pub checkpoint_interval_ms: u64,

    /// Deliberate replication bugs for the harness to catch, comma-separated, off by default:
    /// `ack-before-replication` (acks=all answered once the leader wrote), `no-dedup` (retried
    /// idempotent batches appended again), `no-truncation` (a follower keeps its divergent tail
    /// after a leader change), `read-above-hw` (fetches serve records above the high
    /// watermark), `zombie-leader` (a leader shrinks its ISR without the controller's
    /// confirmation and keeps acknowledging acks=all writes), `hw-above-isr` (a new leader
    /// starts with its own log end as high watermark), `fenced-leader-produce` (a deposed
    /// leader keeps appending produces), `unclean-election` (an out-of-sync replica is
    /// elected although unclean election is off), `recovery-drops-tail` (crash recovery
    /// truncates to the recovery-point checkpoint).
    #[arg(long, env = "BROKER_SEEDED_FAULTS", default_value = "")]
    pub seeded_faults: SeededFaults,

    /// Print the name of every seeded fault, one per line, and exit: the list a detection
    /// campaign iterates over, so no harness copies it.
    #[arg(long)]
    pub list_seeded_faults: bool,

    /// Controller-quorum voters, `id@host:port,...` with this node included (Kafka
    /// `controller.quorum.voters`). Empty (the default): single node, no controller quorum.
    #[arg(long, env = "BROKER_PEERS", default_value = "")]
    pub peers: Peers,

    /// Address the controller-quorum listener binds (only with `--peers`).
    #[arg(long, env = "BROKER_CONTROLLER_LISTEN", default_value = "0.0.0.0:9093")]
    pub controller_listen: SocketAddr,

    /// How often a broker heartbeats to the controller (Kafka `broker.heartbeat.interval.ms`);
    /// also the controller's Raft heartbeat (its election timeout is 4-8 times this).
    #[arg(long, env = "BROKER_HEARTBEAT_INTERVAL_MS", default_value_t = 250)]
    pub heartbeat_interval_ms: u64,

    /// A follower that has not caught up with the leader's log end for this long leaves the
    /// ISR (Kafka `replica.lag.time.max.ms`).
    #[arg(long, env = "BROKER_REPLICA_LAG_TIME_MAX_MS", default_value_t = 10_000)]
    pub replica_lag_time_max_ms: u64,

    /// A broker silent for this long is fenced by the controller and loses its leaderships
    /// (Kafka `broker.session.timeout.ms`).
    #[arg(long, env = "BROKER_SESSION_TIMEOUT_MS", default_value_t = 3_000)]
    pub session_timeout_ms: u64,

    /// Threads of the async runtime that serves connections, replication and the
    /// controller. One thread avoids the cross-thread wake-ups of a work-stealing pool,
    /// which cost more than they give when brokers share a few cores with their clients;
    /// 0 means one per core.
    #[arg(long, env = "BROKER_WORKER_THREADS", default_value_t = 1)]
    pub worker_threads: usize,
}

impl Config {
    /// The host and port clients are told to connect to (Metadata broker list). Without
    /// `--advertised-host`, a wildcard listener advertises the IPv4 address its own hostname
    /// resolves to (a container's address on its Docker network), else 127.0.0.1.
    pub fn advertised(&self, bound_port: u16) -> (String, i32) {
        let host = self.advertised_host.clone().unwrap_or_else(|| {
            if self.listen.ip().is_unspecified() {
                own_address().unwrap_or_else(|| "127.0.0.1".to_string())
            } else {
                self.listen.ip().to_string()
            }
        });
        let port = self.advertised_port.unwrap_or(bound_port);
        (host, i32::from(port))
    }
}

/// The first non-loopback IPv4 address this host's name resolves to (via /etc/hosts in Docker).
fn own_address() -> Option<String> {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/etc/hostname").ok()?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    (name, 0u16)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_policy_parses_every_form_and_rejects_nonsense() {
        assert_eq!("batch".parse(), Ok(FlushPolicy::EveryBatch));
        assert_eq!("os".parse(), Ok(FlushPolicy::Os));
        assert_eq!("messages:10".parse(), Ok(FlushPolicy::EveryMessages(10)));
        assert!("messages:0".parse::<FlushPolicy>().is_err());
        assert!("messages:x".parse::<FlushPolicy>().is_err());
        assert!("sometimes".parse::<FlushPolicy>().is_err());
    }
}
