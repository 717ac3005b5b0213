//! Docker integration tests of the cluster lifecycle and the nemesis against real
//! broker-under-test containers: start, readiness, topic creation, partitions that really
//! drop packets (checked from the host and from inside a peer's namespace), packet loss
//! that loses a share of one node's packets, a graceful stop and start, kill and
//! restart with the data kept, pause and resume, a seeded schedule, and teardown/sweep
//! that leave nothing labelled behind. They need Docker, root (nsenter) and the broker
//! binary (`cargo build -p broker-under-test`, or `SAMSA_BROKER_BINARY=<path>`); run them
//! one at a time: `cargo test -p harness --test docker_cluster -- --test-threads=1`.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use bollard::Docker;
use harness::cluster::{
    build_broker_image_with, connect, labels::run_filter, teardown_run, Cluster, ClusterConfig,
    ClusterError, NodeSample, Profile, TopicSpec,
};
use harness::run::faults::live_view;
use nemesis::{
    iptables, FaultKind, Grudge, LiveView, NemesisError, NemesisFunction, PacketLoss,
    ScheduleConfig, CLIENTS,
};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The broker binary: `SAMSA_BROKER_BINARY`, else the workspace's debug build.
fn broker_binary() -> PathBuf {
    if let Ok(path) = std::env::var("SAMSA_BROKER_BINARY") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug/broker-under-test");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p broker-under-test` first or set SAMSA_BROKER_BINARY",
        path.display()
    );
    path
}

/// Removes the run's containers and network when the test ends, passed or failed.
struct RunGuard {
    run_id: String,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let run_id = self.run_id.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("cleanup runtime");
            runtime.block_on(async {
                let docker = connect().await.expect("docker for cleanup");
                teardown_run(&docker, &run_id).await.expect("teardown");
            });
        });
        if cleanup.join().is_err() {
            eprintln!("cleanup of run {} failed", self.run_id);
        }
    }
}

/// A started 3-node cluster of the real broker image, with its cleanup guard.
async fn start_cluster(name: &str) -> (Docker, Cluster, RunGuard) {
    let docker = connect().await.expect("docker daemon");
    let image = build_broker_image_with(&docker, &broker_binary())
        .await
        .expect("broker image");
    let run_id = format!("test-{name}-{}", std::process::id());
    let guard = RunGuard {
        run_id: run_id.clone(),
    };
    let mut config = ClusterConfig::new(&run_id, Profile::broker_under_test(&image));
    config.ready_timeout = Duration::from_secs(30);
    let started = Instant::now();
    let cluster = Cluster::start(&docker, &config)
        .await
        .expect("cluster start");
    eprintln!("measured: 3-node cluster ready in {:?}", started.elapsed());
    (docker, cluster, guard)
}

/// Whether a TCP connection to `ip:port` from the host opens within `timeout`.
async fn connects(ip: Ipv4Addr, port: u16, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect((ip, port))).await,
        Ok(Ok(_))
    )
}

/// Whether a TCP connection from inside the network namespace of `pid` to `ip:port`
/// opens within 2 s (the host's bash run in the peer's namespace: node-to-node traffic).
fn connects_from_namespace(pid: i64, ip: Ipv4Addr, port: u16) -> bool {
    let status = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "timeout", "2", "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/{ip}/{port}"))
        .status()
        .expect("nsenter");
    status.success()
}

async fn labelled_leftovers(docker: &Docker, run_id: &str) -> (usize, usize) {
    let filters = HashMap::from([("label".to_string(), vec![run_filter(run_id)])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list containers");
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list networks");
    (containers.len(), networks.len())
}

// Start 3 nodes, read addresses back, sample state, create a topic, tear down cleanly.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn cluster_starts_serves_and_tears_down() {
    let (docker, cluster, _guard) = start_cluster("lifecycle").await;
    assert_eq!(cluster.nodes().len(), 3);
    for (index, node) in cluster.nodes().iter().enumerate() {
        assert_eq!(
            node.ip,
            cluster.network().node_ip(index),
            "address read back"
        );
        assert!(connects(node.ip, 9092, Duration::from_secs(2)).await);
    }
    let spec = TopicSpec {
        name: "samsa-test".into(),
        partitions: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        unclean_leader_election: false,
    };
    cluster
        .create_topic(&spec, Duration::from_secs(10))
        .await
        .expect("create topic");
    let samples = cluster.sample_state().await;
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|s| s.ok), "{samples:?}");
    let topic_seen = samples.iter().any(|s| {
        s.state
            .iter()
            .flat_map(|st| &st.partitions)
            .any(|p| p.topic == "samsa-test")
    });
    assert!(
        topic_seen,
        "the created topic shows in the sampled metadata: {samples:?}"
    );
    assert!(!cluster.leaders().await.is_empty(), "its leader is known");
    let logs_dir = std::env::temp_dir().join(format!("samsa-logs-{}", cluster.run_id()));
    let logs = cluster.collect_logs(&logs_dir).await.expect("logs");
    assert_eq!(logs.len(), 3);
    assert!(std::fs::metadata(&logs[0]).expect("log file").len() > 0);
    let report = cluster.teardown().await.expect("teardown");
    assert_eq!((report.containers, report.networks), (3, 1));
    assert_eq!(labelled_leftovers(&docker, cluster.run_id()).await, (0, 0));
    std::fs::remove_dir_all(&logs_dir).expect("remove logs dir");
}

// Clients cut from n2: the rule is in n2's namespace, host connections to n2 time out
// while n1 and n3 answer; after healing n2 answers again.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn clients_cut_from_one_broker_drops_host_traffic() {
    let (_docker, cluster, _guard) = start_cluster("clients").await;
    let nemesis = cluster.nemesis();
    let nodes = cluster.nodes();
    let mut grudge = Grudge::new();
    grudge.drop_from("n2", CLIENTS);
    let applying = Instant::now();
    let event = nemesis.partition(&grudge).await.expect("partition");
    eprintln!(
        "measured: partition applied to 3 namespaces in {:?}",
        applying.elapsed()
    );
    assert_eq!(event.f, NemesisFunction::StartPartition);
    let pid = nemesis.pid_of("n2").await.expect("pid");
    assert_eq!(
        iptables::installed_drops(pid).await.expect("listing"),
        vec![cluster.clients_ip()]
    );
    assert!(
        !connects(nodes[1].ip, 9092, Duration::from_secs(2)).await,
        "n2 must be cut"
    );
    assert!(connects(nodes[0].ip, 9092, Duration::from_secs(2)).await);
    assert!(connects(nodes[2].ip, 9092, Duration::from_secs(2)).await);
    nemesis.heal_partition(&grudge).await.expect("heal");
    assert!(iptables::installed_drops(pid)
        .await
        .expect("listing")
        .is_empty());
    assert!(
        connects(nodes[1].ip, 9092, Duration::from_secs(2)).await,
        "healed"
    );
    let again = nemesis.heal_all().await.expect("second heal");
    assert!(
        again.is_empty(),
        "healing a healthy cluster changes nothing: {again:?}"
    );
}

// Goal: a packet loss on n2 really loses a share of n2's packets, both ways, and nothing
// of n1's or n3's, and healing restores every connection. Method: with p = 0.5 a TCP
// connect to n2 opens within 300 ms only when both its SYN (into n2) and the SYN-ACK (out
// of n2) pass, 1 time in 4, while TCP's first retransmission waits 1 s; count 40 connects
// to each node. Binomial(40, 1/4) lies in 1..=30 but for a chance below 1e-5, and no
// connect to a healthy node takes 300 ms.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn packet_loss_drops_a_share_of_one_nodes_packets_both_ways() {
    let (_docker, cluster, _guard) = start_cluster("loss").await;
    let nemesis = cluster.nemesis();
    let nodes = cluster.nodes();
    let ip = |i: usize| nodes[i].ip;
    let loss = PacketLoss {
        nodes: vec!["n2".to_string()],
        probability: "0.5".parse().expect("probability"),
    };
    let event = nemesis.packet_loss(&loss).await.expect("packet loss");
    assert_eq!(event.f, NemesisFunction::StartPacketLoss);
    let n2 = nemesis.pid_of("n2").await.expect("pid");
    let mut lossy_peers = iptables::installed_losses(n2).await.expect("listing");
    lossy_peers.sort();
    let mut expected = vec![ip(0), ip(2), cluster.clients_ip()];
    expected.sort();
    assert_eq!(lossy_peers, expected, "n2 loses packets on every link");
    for healthy in ["n1", "n3"] {
        let pid = nemesis.pid_of(healthy).await.expect("pid");
        let listing = iptables::installed_losses(pid).await.expect("listing");
        assert!(listing.is_empty(), "{healthy} has no loss rules");
    }
    let opened = |i: usize| async move {
        let mut n = 0;
        for _ in 0..40 {
            n += usize::from(connects(ip(i), 9092, Duration::from_millis(300)).await);
        }
        n
    };
    let (to_n1, to_n2, to_n3) = (opened(0).await, opened(1).await, opened(2).await);
    eprintln!("measured: connects opened in 300 ms of 40, p 0.5 on n2: n1 {to_n1}, n2 {to_n2}, n3 {to_n3}");
    assert!((1..=30).contains(&to_n2), "n2 under loss: {to_n2} of 40");
    assert_eq!((to_n1, to_n3), (40, 40), "n1 and n3 lose nothing");

    let healed = nemesis.heal_packet_loss(&loss).await.expect("heal");
    assert_eq!(healed.f, NemesisFunction::StopPacketLoss);
    assert!(iptables::installed_losses(n2)
        .await
        .expect("listing")
        .is_empty());
    assert_eq!(opened(1).await, 40, "healed");

    // A loss left behind is removed by the final heal, which names the nodes it cleaned.
    nemesis.packet_loss(&loss).await.expect("packet loss");
    let events = nemesis.heal_all().await.expect("heal all");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].f, NemesisFunction::StopPacketLoss);
    assert_eq!(events[0].value, serde_json::json!({"nodes": ["n2"]}));
    assert!(nemesis.heal_all().await.expect("again").is_empty());
}

// Goal: a rolling restart's graceful stop is SIGTERM, not SIGKILL: the broker runs its
// controlled shutdown and exits 0 within the grace period, the node is down, and once
// started again it serves with its data. Method: stop n1 gracefully; its exit code, its
// log, a host connect; start it; a connect again and the final heal finds nothing to do.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn graceful_stop_runs_the_controlled_shutdown_and_start_serves_again() {
    let (_docker, cluster, _guard) = start_cluster("graceful").await;
    let nemesis = cluster.nemesis();
    let n1 = cluster.nodes()[0].ip;
    let stopping = Instant::now();
    let (event, exit_code) = nemesis
        .stop_gracefully("n1", harness::run::rolling::GRACE)
        .await
        .expect("graceful stop");
    eprintln!("measured: graceful stop of n1 in {:?}", stopping.elapsed());
    assert_eq!(event.f, NemesisFunction::NodeStopped);
    assert_eq!(exit_code, Some(0), "the broker exited on its own");
    assert!(stopping.elapsed() < harness::run::rolling::GRACE);
    assert!(
        !connects(n1, 9092, Duration::from_secs(1)).await,
        "n1 is down"
    );
    let logs_dir = std::env::temp_dir().join(format!("samsa-graceful-{}", std::process::id()));
    cluster.collect_logs(&logs_dir).await.expect("logs");
    let log = std::fs::read_to_string(logs_dir.join("n1.log")).expect("n1.log");
    assert!(
        log.contains("controlled shutdown"),
        "no controlled shutdown in n1's log"
    );
    std::fs::remove_dir_all(&logs_dir).expect("remove logs dir");

    let event = nemesis.start_stopped("n1").await.expect("start");
    assert_eq!(event.f, NemesisFunction::NodeStarted);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !connects(n1, 9092, Duration::from_secs(1)).await {
        assert!(Instant::now() < deadline, "n1 did not serve again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(nemesis.heal_all().await.expect("heal").is_empty());
}

// Isolating n1: n2 cannot reach n1 and n1 cannot reach n3 (node-to-node traffic,
// tested from inside the namespaces), n2 still reaches n3, the host still reaches n1.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn isolated_node_is_cut_from_peers_only() {
    let (_docker, cluster, _guard) = start_cluster("isolate").await;
    let nemesis = cluster.nemesis();
    let ip = |i: usize| cluster.nodes()[i].ip;
    let grudge = Grudge::from_components(&[
        vec!["n1".to_string()],
        vec!["n2".to_string(), "n3".to_string()],
    ]);
    nemesis.partition(&grudge).await.expect("partition");
    let pid1 = nemesis.pid_of("n1").await.expect("pid n1");
    let pid2 = nemesis.pid_of("n2").await.expect("pid n2");
    assert!(
        !connects_from_namespace(pid2, ip(0), 9092),
        "n2 -> n1 dropped"
    );
    assert!(
        !connects_from_namespace(pid1, ip(2), 9092),
        "n1 -> n3 dropped"
    );
    assert!(
        connects_from_namespace(pid2, ip(2), 9092),
        "n2 -> n3 passes"
    );
    assert!(
        connects(ip(0), 9092, Duration::from_secs(2)).await,
        "clients reach n1"
    );
    let events = nemesis.heal_all().await.expect("heal");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].f, NemesisFunction::StopPartition);
    assert!(connects_from_namespace(pid2, ip(0), 9092), "healed");
}

// kill -9 then start: the node comes back at the same address with its data; pause
// freezes the admin endpoint until resume.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn kill_restart_keeps_data_and_pause_freezes() {
    let (_docker, cluster, _guard) = start_cluster("kill").await;
    let nemesis = cluster.nemesis();
    let n1 = cluster.nodes()[0].clone();
    // Replicated on every node, so n1 holds it whichever broker leads.
    let spec = TopicSpec {
        name: "kept".into(),
        partitions: 1,
        replication_factor: 3,
        min_insync_replicas: 1,
        unclean_leader_election: false,
    };
    cluster
        .create_topic(&spec, Duration::from_secs(10))
        .await
        .expect("create topic");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", format!("{}:9092", n1.ip))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    for i in 0..10 {
        let payload = i.to_string();
        producer
            .send(
                FutureRecord::to("kept").key("0").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .expect("produce");
    }
    let n1_end = |samples: &[NodeSample]| {
        samples[0]
            .state
            .iter()
            .flat_map(|st| &st.partitions)
            .find(|p| p.topic == "kept")
            .and_then(|p| p.log_end_offset)
    };
    assert_eq!(n1_end(&cluster.sample_state().await), Some(10));

    let killed = vec!["n1".to_string()];
    assert_eq!(
        nemesis.kill(&killed).await.expect("kill").f,
        NemesisFunction::Kill
    );
    assert!(
        !connects(n1.ip, 9092, Duration::from_secs(1)).await,
        "killed"
    );
    let down = cluster.sample_state().await;
    assert!(!down[0].ok, "a down node gives an error sample");
    assert!(down[1].ok);
    let restarting = Instant::now();
    nemesis.start(&killed).await.expect("start");
    cluster
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("ready after restart");
    eprintln!(
        "measured: killed node ready again in {:?}",
        restarting.elapsed()
    );
    // A restarted broker hosts its partitions again once the controller has applied its
    // new registration (a moment after /health turns ready).
    let mut kept = None;
    let deadline = Instant::now() + Duration::from_secs(15);
    while kept != Some(10) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        kept = n1_end(&cluster.sample_state().await);
    }
    assert_eq!(kept, Some(10), "data kept");

    let paused = vec!["n2".to_string()];
    nemesis.pause(&paused).await.expect("pause");
    let sampling = Instant::now();
    let frozen = cluster.sample_state().await;
    assert!(!frozen[1].ok, "a paused node does not answer");
    assert!(
        sampling.elapsed() < Duration::from_secs(3),
        "a paused node does not stall the sample"
    );
    nemesis.resume(&paused).await.expect("resume");
    let thawed = cluster.sample_state().await;
    assert!(thawed[1].ok, "{thawed:?}");
}

// A short seeded schedule of every fault kind, the default scenario deck first (its
// leader-aimed shapes need a replicated partition), runs start/stop pairs, and heal_all
// afterwards finds nothing left to repair.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn seeded_schedule_applies_and_heals() {
    let (_docker, cluster, _guard) = start_cluster("schedule").await;
    let spec = TopicSpec {
        name: "sched".into(),
        partitions: 1,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election: false,
    };
    cluster
        .create_topic(&spec, Duration::from_secs(10))
        .await
        .expect("topic");
    let nemesis = cluster.nemesis();
    let mut config = ScheduleConfig::new(
        FaultKind::parse_list("partition,kill,pause").expect("kinds"),
        Duration::from_secs(12),
        42,
    );
    config.interval = Duration::from_millis(800);
    config.fault_duration = Duration::from_millis(1500);
    config.jitter = Duration::from_millis(300);
    let plan = config.plan().expect("plan");
    assert!(plan.len() >= 3, "{plan:?}");
    let started = Instant::now();
    let mut events = Vec::new();
    let mut unresolved = Vec::new();
    for planned in &plan {
        tokio::time::sleep(planned.start_at.saturating_sub(started.elapsed())).await;
        let live = live_view(&cluster.partition_leaders().await, cluster.roles());
        // Right after a leader is killed no node claims the partition until the
        // controller elects another: a leader-aimed fault then has no target, which the
        // run records as not applied; nothing else may fail to resolve.
        let fault = match planned.resolve(&nemesis.node_names(), &live) {
            Ok(fault) => fault,
            Err(e @ (NemesisError::NoLeaders | NemesisError::NoReplicatedLeader)) => {
                unresolved.push(format!("{}: {e}", planned.spec));
                continue;
            }
            Err(e) => panic!("resolve {}: {e}", planned.spec),
        };
        events.push(nemesis.start_fault(&fault).await.expect("start fault"));
        tokio::time::sleep(planned.stop_at.saturating_sub(started.elapsed())).await;
        events.push(nemesis.stop_fault(&fault).await.expect("stop fault"));
    }
    assert!(
        events.len() >= 6,
        "at least three faults applied: {events:?}, unresolved {unresolved:?}"
    );
    for pair in events.chunks(2) {
        let expected = match pair[0].f {
            NemesisFunction::StartPartition => NemesisFunction::StopPartition,
            NemesisFunction::Kill => NemesisFunction::Start,
            NemesisFunction::Pause => NemesisFunction::Resume,
            other => panic!("unexpected start event {other:?}"),
        };
        assert_eq!(pair[1].f, expected);
        assert_eq!(pair[0].value, pair[1].value, "stop names the same targets");
    }
    assert!(nemesis.heal_all().await.expect("heal").is_empty());
    cluster
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("ready after the schedule");
}

// A run abandoned mid-partition (the harness crashed) is swept by label: chains,
// containers and network go, leaving nothing labelled.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn abandoned_run_is_swept() {
    let (docker, cluster, _guard) = start_cluster("sweep").await;
    let nemesis = cluster.nemesis();
    let mut grudge = Grudge::new();
    grudge.drop_from("n3", "n1");
    nemesis.partition(&grudge).await.expect("partition");
    nemesis.pause(&["n2".to_string()]).await.expect("pause");
    let run_id = cluster.run_id().to_string();
    drop(cluster);
    let report = teardown_run(&docker, &run_id).await.expect("sweep");
    assert_eq!(report.chains, 1);
    assert_eq!((report.containers, report.networks), (3, 1));
    assert_eq!(labelled_leftovers(&docker, &run_id).await, (0, 0));
    let again = teardown_run(&docker, &run_id).await.expect("second sweep");
    assert_eq!((again.chains, again.containers, again.networks), (0, 0, 0));
}

// A missing image is a clear error, and the failed start leaves no network behind.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn missing_image_is_a_clear_error() {
    let docker = connect().await.expect("docker daemon");
    let run_id = format!("test-noimage-{}", std::process::id());
    let _guard = RunGuard {
        run_id: run_id.clone(),
    };
    let profile = Profile::broker_under_test("samsa/broker-under-test:000000000000");
    let config = ClusterConfig::new(&run_id, profile);
    let error = Cluster::start(&docker, &config)
        .await
        .expect_err("must fail");
    assert!(matches!(error, ClusterError::ImageMissing(_)), "{error}");
    assert!(error.to_string().contains("cannot be pulled"));
    assert_eq!(labelled_leftovers(&docker, &run_id).await, (0, 0));
}

// A broker that exits at start fails fast with its exit state and log tail, and its whole
// log is kept where the config says; one that never passes its check fails at the
// bound. Neither leaves anything behind.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn broker_never_ready_is_a_clear_error() {
    let docker = connect().await.expect("docker daemon");
    let image = build_broker_image_with(&docker, &broker_binary())
        .await
        .expect("broker image");
    let run_id = format!("test-notready-{}", std::process::id());
    let _guard = RunGuard {
        run_id: run_id.clone(),
    };
    let mut crashing = Profile::broker_under_test(&image);
    crashing
        .env
        .insert("BROKER_NODE_ID".into(), "not-a-number-{node_id}".into());
    let mut config = ClusterConfig::new(&run_id, crashing);
    let logs = tempfile::tempdir().expect("a temp dir");
    config.failure_logs = Some(logs.path().to_path_buf());
    let started = Instant::now();
    let error = Cluster::start(&docker, &config)
        .await
        .expect_err("must fail");
    let text = error.to_string();
    assert!(matches!(error, ClusterError::NotReady { .. }), "{text}");
    assert!(text.contains("exited"), "{text}");
    assert!(
        text.contains("not-a-number"),
        "the log tail explains it: {text}"
    );
    let kept = std::fs::read_to_string(logs.path().join("n1.log")).expect("n1.log kept");
    assert!(
        kept.contains("not-a-number"),
        "the whole log is kept: {kept}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "failed before the 60 s readiness bound: {:?}",
        started.elapsed()
    );
    assert_eq!(labelled_leftovers(&docker, &run_id).await, (0, 0));

    let mut wrong_check = Profile::broker_under_test(&image);
    wrong_check.readiness = harness::cluster::Readiness::AdminHttp {
        path: "/no-such-path".into(),
    };
    let mut config = ClusterConfig::new(&run_id, wrong_check);
    // Long enough for the broker's admin endpoint to come up even on a loaded machine,
    // so the last probe error is the 404 and not a refused connection.
    config.ready_timeout = Duration::from_secs(10);
    let error = Cluster::start(&docker, &config)
        .await
        .expect_err("must time out");
    let text = error.to_string();
    assert!(
        text.contains("404") && text.contains("not ready after"),
        "{text}"
    );
    assert_eq!(labelled_leftovers(&docker, &run_id).await, (0, 0));
}

// Five nodes with a profile that has no admin endpoint: readiness by the Kafka port,
// addresses .11-.15, state still sampled through the Kafka protocol, and a bridge
// partition over five real nodes.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn five_nodes_ready_by_kafka_port() {
    let docker = connect().await.expect("docker daemon");
    let image = build_broker_image_with(&docker, &broker_binary())
        .await
        .expect("broker image");
    let run_id = format!("test-five-{}", std::process::id());
    let _guard = RunGuard {
        run_id: run_id.clone(),
    };
    let mut profile = Profile::broker_under_test(&image);
    profile.readiness = harness::cluster::Readiness::KafkaPort;
    profile.admin = None;
    let mut config = ClusterConfig::new(&run_id, profile);
    config.node_count = 5;
    let cluster = Cluster::start(&docker, &config).await.expect("5 nodes");
    assert_eq!(cluster.nodes().len(), 5);
    let samples = cluster.sample_state().await;
    assert_eq!(samples.len(), 5);
    assert!(
        samples.iter().all(|s| s.ok && s.state.is_some()),
        "every node answers Metadata without an admin endpoint: {samples:?}"
    );
    assert_eq!(
        cluster.bootstrap_servers().split(',').count(),
        5,
        "{}",
        cluster.bootstrap_servers()
    );
    let nemesis = cluster.nemesis();
    let grudge = nemesis::PartitionShape::Bridge
        .grudge_seeded(&nemesis.node_names(), &LiveView::default(), 1)
        .expect("bridge");
    nemesis.partition(&grudge).await.expect("partition");
    for node in cluster.nodes() {
        let pid = nemesis.pid_of(&node.name).await.expect("pid");
        let installed = iptables::installed_drops(pid).await.expect("listing");
        let expected: Vec<Ipv4Addr> = grudge
            .dropped_by(&node.name)
            .map(|peer| {
                cluster
                    .nodes()
                    .iter()
                    .find(|n| n.name == peer)
                    .expect("peer")
                    .ip
            })
            .collect();
        let mut installed_sorted = installed.clone();
        installed_sorted.sort();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(installed_sorted, expected_sorted, "rules of {}", node.name);
    }
    assert_eq!(nemesis.heal_all().await.expect("heal").len(), 1);
    cluster.teardown().await.expect("teardown");
}

// sweep() removes a run whose harness process is gone and spares one whose owner (this
// test process) is alive.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn sweep_spares_live_runs_and_removes_orphans() {
    use harness::cluster::labels::{LABEL_OWNER, LABEL_RUN, LABEL_SAMSA};
    let docker = connect().await.expect("docker daemon");
    let live = format!("test-live-{}", std::process::id());
    let orphan = format!("test-orphan-{}", std::process::id());
    let _guards = (
        RunGuard {
            run_id: live.clone(),
        },
        RunGuard {
            run_id: orphan.clone(),
        },
    );
    // A PID above the kernel's limit (2^22) names a process that cannot exist.
    for (run_id, owner) in [(&live, std::process::id()), (&orphan, 4_194_400)] {
        let labels = HashMap::from([
            (LABEL_SAMSA.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), run_id.clone()),
            (LABEL_OWNER.to_string(), owner.to_string()),
        ]);
        docker
            .create_network(bollard::models::NetworkCreateRequest {
                name: format!("samsa-{run_id}"),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .expect("network");
    }
    let report = harness::cluster::sweep(&docker).await.expect("sweep");
    assert!(report.networks >= 1, "{report:?}");
    assert_eq!(
        labelled_leftovers(&docker, &orphan).await,
        (0, 0),
        "orphan removed"
    );
    assert_eq!(
        labelled_leftovers(&docker, &live).await,
        (0, 1),
        "live run spared"
    );
}

/// kcat's `-L -J` metadata document, as far as the cross-check reads it.
#[derive(Debug, serde::Deserialize)]
struct KcatMetadata {
    topics: Vec<KcatTopic>,
}

#[derive(Debug, serde::Deserialize)]
struct KcatTopic {
    topic: String,
    #[serde(default)]
    partitions: Vec<KcatPartition>,
}

#[derive(Debug, serde::Deserialize)]
struct KcatPartition {
    partition: i32,
    leader: i32,
    #[serde(default)]
    isrs: Vec<KcatId>,
}

#[derive(Debug, serde::Deserialize)]
struct KcatId {
    id: i32,
}

/// `topic/partition -> (leader, sorted ISR)` as `kcat -L -J` reports it from one broker.
fn kcat_view(ip: Ipv4Addr, topic: &str) -> HashMap<i32, (i32, Vec<i32>)> {
    let output = Command::new("kcat")
        .args([
            "-L",
            "-J",
            "-m",
            "5",
            "-b",
            &format!("{ip}:9092"),
            "-t",
            topic,
        ])
        .output()
        .expect("kcat runs");
    assert!(output.status.success(), "kcat: {output:?}");
    let doc: KcatMetadata = serde_json::from_slice(&output.stdout).expect("kcat -J output");
    let mut view = HashMap::new();
    for t in doc.topics.iter().filter(|t| t.topic == topic) {
        for p in &t.partitions {
            let mut isr: Vec<i32> = p.isrs.iter().map(|i| i.id).collect();
            isr.sort();
            view.insert(p.partition, (p.leader, isr));
        }
    }
    view
}

/// The same map from one node's protocol sample.
fn sampled_view(sample: &NodeSample, topic: &str) -> HashMap<i32, (i32, Vec<i32>)> {
    sample
        .state
        .iter()
        .flat_map(|st| &st.partitions)
        .filter(|p| p.topic == topic)
        .map(|p| {
            let mut isr = p.isr.clone();
            isr.sort();
            (p.partition, (p.leader.unwrap_or(-1), isr))
        })
        .collect()
}

// Goal: the protocol sampler reports what kcat (librdkafka) and the admin endpoint report
// (method: a 3-node cluster with a 3-partition RF-3 topic; for each node, the leaders and
// ISRs of its Metadata sample equal `kcat -L -J -b <node>`, the self-declared leaders
// agree, and each leader's admin ISR equals its Metadata ISR; samples taken before and
// after kcat must agree so a concurrent ISR change cannot make the comparison flaky).
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn protocol_sample_matches_kcat_and_admin() {
    let (_docker, cluster, _guard) = start_cluster("crosscheck").await;
    let topic = "crosscheck";
    let spec = TopicSpec {
        name: topic.into(),
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election: false,
    };
    cluster
        .create_topic(&spec, Duration::from_secs(10))
        .await
        .expect("topic");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut compared = 0;
    while compared < cluster.nodes().len() {
        assert!(Instant::now() < deadline, "no stable agreement within 20 s");
        compared = 0;
        let before = cluster.sample_state().await;
        let kcat: Vec<_> = cluster
            .nodes()
            .iter()
            .map(|n| kcat_view(n.ip, topic))
            .collect();
        let after = cluster.sample_state().await;
        let stable = before
            .iter()
            .zip(&after)
            .all(|(a, b)| a.ok && sampled_view(a, topic) == sampled_view(b, topic));
        let complete = after.iter().all(|s| sampled_view(s, topic).len() == 3);
        if !stable || !complete {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        for (i, sample) in after.iter().enumerate() {
            assert_eq!(
                sampled_view(sample, topic),
                kcat[i],
                "node {} protocol sample vs kcat",
                sample.node
            );
            compared += 1;
        }
        let leaders = harness::cluster::state::partition_leaders(&after);
        assert_eq!(
            leaders.len(),
            3,
            "every partition has a self-declared leader"
        );
        for led in &leaders {
            let id = cluster
                .nodes()
                .iter()
                .find(|n| n.name == led.leader)
                .expect("leader is a node")
                .id;
            assert_eq!(kcat[0][&led.partition].0, id, "{led:?}");
            let leader_sample = after.iter().find(|s| s.node == led.leader).expect("sample");
            let p = leader_sample
                .state
                .iter()
                .flat_map(|st| &st.partitions)
                .find(|p| p.topic == topic && p.partition == led.partition)
                .expect("partition");
            let mut admin_isr = p.admin_isr.clone().expect("admin endpoint answered");
            admin_isr.sort();
            let mut isr = p.isr.clone();
            isr.sort();
            assert_eq!(admin_isr, isr, "admin vs Metadata ISR of {led:?}");
            assert!(
                p.high_watermark.is_some() && p.log_start_offset.is_some(),
                "{p:?}"
            );
            assert!(
                p.log_end_offset.is_some(),
                "LEO from the admin endpoint: {p:?}"
            );
        }
    }
}

// Goal: an image built from any binary runs as a cluster node (method: a profile naming
// broker-under-test by `binary` instead of `image`, no admin endpoint, readiness by a
// Metadata answer; a single node starts and its state is sampled through the protocol),
// and a static binary builds with its arguments as the entrypoint while a script is
// refused before Docker is asked.
#[tokio::test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker and root; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
async fn image_from_binary_runs_as_a_node() {
    let docker = connect().await.expect("docker daemon");
    let args = vec!["--version".to_string()];
    let tag = harness::cluster::build_image_from_binary(
        &docker,
        std::path::Path::new("/usr/bin/tini-static"),
        &args,
        None,
    )
    .await
    .expect("static binary image");
    let inspect = docker.inspect_image(&tag).await.expect("inspect");
    let entry = inspect
        .config
        .and_then(|c| c.entrypoint)
        .unwrap_or_default();
    assert_eq!(entry, vec!["/tini-static", "--version"], "{tag}");
    let dir = std::env::temp_dir().join(format!("samsa-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("broker.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("script");
    let err = harness::cluster::build_image_from_binary(&docker, &script, &[], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a script"), "{err}");
    std::fs::remove_dir_all(&dir).expect("remove temp dir");

    let run_id = format!("test-frombin-{}", std::process::id());
    let _guard = RunGuard {
        run_id: run_id.clone(),
    };
    let mut profile = Profile::broker_under_test("unused");
    profile.image = None;
    profile.binary = Some(broker_binary());
    profile.readiness = harness::cluster::Readiness::KafkaPort;
    profile.admin = None;
    let mut config = ClusterConfig::new(&run_id, profile);
    config.node_count = 1;
    config.ready_timeout = Duration::from_secs(30);
    let cluster = Cluster::start(&docker, &config)
        .await
        .expect("node from a binary-built image");
    let image = cluster.profile().image.clone().expect("image set");
    assert!(image.starts_with("samsa/from-binary:"), "{image}");
    let samples = cluster.sample_state().await;
    assert!(samples[0].ok, "{samples:?}");
}
