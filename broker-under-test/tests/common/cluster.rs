//! A cluster of broker processes on loopback for the replication tests: each node has its
//! own data directory, Kafka, admin and controller ports; `--peers` lists every controller.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::BrokerProcess;

/// One node of the cluster; `process` is `None` while it is killed.
pub struct ClusterNode {
    pub id: i32,
    pub controller_port: u16,
    pub ports: (u16, u16),
    pub data: PathBuf,
    pub process: Option<BrokerProcess>,
    /// True while SIGSTOPped (its admin endpoint cannot answer).
    pub paused: bool,
}

/// A running cluster.
pub struct Cluster {
    pub nodes: Vec<ClusterNode>,
    peers: String,
    extra: Vec<String>,
    _tmp: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` nodes (ids 1..=n) with `extra` flags and waits until every node sees all of
    /// them registered and unfenced.
    pub fn start(n: i32, extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let nodes: Vec<ClusterNode> = (1..=n)
            .map(|id| ClusterNode {
                id,
                controller_port: super::free_port(),
                ports: (super::free_port(), super::free_port()),
                data: tmp.path().join(format!("node-{id}")).join("data"),
                process: None,
                paused: false,
            })
            .collect();
        let peers = nodes
            .iter()
            .map(|n| format!("{}@127.0.0.1:{}", n.id, n.controller_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            nodes,
            peers,
            extra: extra.iter().map(|s| (*s).to_string()).collect(),
            _tmp: tmp,
        };
        for i in 0..cluster.nodes.len() {
            std::fs::create_dir_all(cluster.nodes[i].data.parent().expect("parent"))
                .expect("mkdir");
            cluster.restart(cluster.nodes[i].id);
        }
        cluster.wait_for(
            "all brokers registered and unfenced",
            Duration::from_secs(30),
            |c| {
                c.live().all(|p| {
                    let doc = p.partitions();
                    let brokers = doc["controller"]["metadata"]["brokers"]
                        .as_object()
                        .cloned();
                    brokers.is_some_and(|b| {
                        b.len() == n as usize && b.values().all(|v| v["fenced"] == false)
                    })
                })
            },
        );
        cluster
    }

    fn node(&self, id: i32) -> &ClusterNode {
        self.nodes.iter().find(|n| n.id == id).expect("node id")
    }

    /// The running process of node `id`.
    pub fn process(&self, id: i32) -> &BrokerProcess {
        self.node(id).process.as_ref().expect("node is running")
    }

    /// (Re)starts node `id` on its ports with its data.
    pub fn restart(&mut self, id: i32) {
        let node = self.nodes.iter().find(|n| n.id == id).expect("node id");
        let mut flags = vec![
            "--node-id".to_string(),
            id.to_string(),
            "--peers".to_string(),
            self.peers.clone(),
            "--controller-listen".to_string(),
            format!("127.0.0.1:{}", node.controller_port),
            "--heartbeat-interval-ms".to_string(),
            "100".to_string(),
        ];
        flags.extend(self.extra.iter().cloned());
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let process = BrokerProcess::start_on(&node.data, node.ports.0, node.ports.1, &flags);
        let node = self.nodes.iter_mut().find(|n| n.id == id).expect("node id");
        node.process = Some(process);
    }

    /// kill -9 of node `id`.
    pub fn kill(&mut self, id: i32) {
        let node = self.nodes.iter_mut().find(|n| n.id == id).expect("node id");
        let mut p = node.process.take().expect("node is running");
        p.kill9();
    }

    /// SIGTERM of node `id`, waiting for a clean exit (controlled shutdown).
    pub fn terminate(&mut self, id: i32) {
        let node = self.nodes.iter_mut().find(|n| n.id == id).expect("node id");
        let mut p = node.process.take().expect("node is running");
        let status = p.terminate();
        assert!(status.success(), "node {id} exited {status}:\n{}", p.log());
    }

    /// SIGSTOP of node `id` (a pause: its sockets stay open but nothing answers).
    pub fn pause(&mut self, id: i32) {
        let node = self.nodes.iter_mut().find(|n| n.id == id).expect("node id");
        node.process
            .as_ref()
            .expect("node is running")
            .signal("STOP");
        node.paused = true;
    }

    /// SIGCONT of node `id`.
    pub fn resume(&mut self, id: i32) {
        let node = self.nodes.iter_mut().find(|n| n.id == id).expect("node id");
        node.process
            .as_ref()
            .expect("node is running")
            .signal("CONT");
        node.paused = false;
    }

    /// The running, unpaused processes.
    pub fn live(&self) -> impl Iterator<Item = &BrokerProcess> {
        self.nodes
            .iter()
            .filter(|n| !n.paused)
            .filter_map(|n| n.process.as_ref())
    }

    /// Bootstrap list of the running nodes.
    pub fn bootstrap(&self) -> String {
        self.live()
            .map(BrokerProcess::bootstrap)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `id`'s view of partition `topic`-`partition` from `/partitions`, if it hosts it.
    pub fn partition_view(
        &self,
        id: i32,
        topic: &str,
        partition: i64,
    ) -> Option<serde_json::Value> {
        let doc = self.process(id).partitions();
        doc["partitions"]
            .as_array()?
            .iter()
            .find(|p| p["topic"] == topic && p["partition"] == partition)
            .cloned()
    }

    /// The controller's record of the partition as node `id` has applied it.
    pub fn record(&self, id: i32, topic: &str, partition: usize) -> Option<serde_json::Value> {
        let doc = self.process(id).partitions();
        doc["controller"]["metadata"]["topics"][topic]["partitions"]
            .get(partition)
            .cloned()
    }

    /// The node that leads the partition and knows it (its own view says `leader`).
    pub fn leader(&self, topic: &str, partition: i64) -> Option<i32> {
        self.nodes
            .iter()
            .filter(|n| n.process.is_some() && !n.paused)
            .find(|n| {
                self.partition_view(n.id, topic, partition)
                    .is_some_and(|v| v["role"] == "leader")
            })
            .map(|n| n.id)
    }

    /// Polls `check` every 100 ms up to `limit`; panics with every node's log otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&Cluster) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if check(self) {
                return;
            }
            if Instant::now() > deadline {
                let mut views = String::new();
                for p in self.live() {
                    views.push_str(&format!("{}\n", p.partitions()));
                }
                let logs: Vec<String> = self.live().map(BrokerProcess::log).collect();
                panic!(
                    "{what}: not reached within {limit:?}\nviews:\n{views}\nlogs:\n{}",
                    logs.join("\n----\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
