//! End-to-end proof of multi-role profiles (issue 11): a profile declares a service beside
//! the brokers, the service starts first and is probed ready, its address reaches the
//! brokers' templates, and faults aim at the role (`kill:role=storage`,
//! `pause:role=storage`, `partition:role=storage`). The brokers are broker-under-test, built
//! into an image from its binary by the profile; the service is rivine 0.2.0 standing in
//! for a storage service (a real TCP server the brokers do not use, so the correct broker
//! must stay valid while its storage role is faulted). Bad input: an unknown role and a
//! service that fails readiness stop the run with exit 4 and a message naming them, and
//! leave nothing behind.
//! Needs root, a Docker daemon and rivine-broker on PATH (scripts/setup.sh).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod e2e_support;
use checker::history::line::{LineType, Process};
use e2e_support::{
    fresh_store, history_lines, labelled_containers, only_run, run_id_of, run_samsa_test, Finished,
};

/// One cluster at a time: cargo runs a file's tests on parallel threads.
static ONE_CLUSTER: Mutex<()> = Mutex::new(());

fn broker_binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_samsa"))
        .parent()
        .expect("the target dir")
        .join("broker-under-test")
}

/// A profile running broker-under-test from its binary, with one service `storage`
/// (whose binary, command and readiness are given), written to `dir`.
fn write_profile(dir: &Path, service_binary: &str, service_readiness: &str) -> PathBuf {
    let text = format!(
        r#"
name = "broker-under-test-with-storage"
binary = "{broker}"
data_dir = "/data"
peer_format = "{{id}}@{{host}}:9093"

[env]
BROKER_NODE_ID = "{{node_id}}"
BROKER_ADVERTISED_HOST = "{{advertised_host}}"
BROKER_ADVERTISED_PORT = "{{kafka_port}}"
BROKER_DATA_DIR = "{{data_dir}}"
BROKER_PEERS = "{{peers}}"
BROKER_REPLICA_LAG_TIME_MAX_MS = "2000"
SAMSA_STORAGE_ADDRESS = "{{service:storage}}"

[readiness]
kind = "admin-http"
path = "/health"

[admin]
port = 8080

[[services]]
name = "storage"
binary = "{service_binary}"
data_dir = "/tmp/rivine-logs"

[services.env]
RIVINE_HOST = "0.0.0.0"

[services.readiness]
{service_readiness}
"#,
        broker = broker_binary().display(),
    );
    let path = dir.join("profile.toml");
    std::fs::create_dir_all(dir).expect("profile dir");
    std::fs::write(&path, text).expect("profile written");
    path
}

fn samsa_test(name: &str, profile: &Path, more: &[&str]) -> Finished {
    let args = [OsStr::new("--profile"), profile.as_os_str()]
        .into_iter()
        .chain(more.iter().map(OsStr::new));
    run_samsa_test(name, args)
}

// Goal: faults aimed at a service role hit exactly its container, the brokers stay
// valid, the service's log is kept beside the brokers', nothing is left behind (method:
// a 25 s run of 3 brokers and 1 storage service, kill, pause and partition of the role).
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker, root and rivine-broker (SAMSA_E2E=1, scripts/test.sh)"
)]
fn faults_aimed_at_a_service_role_hit_only_it() {
    let _turn = ONE_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    let profiles = fresh_store("roles-profile");
    let profile = write_profile(&profiles, "rivine-broker", "kind = \"tcp\"\nport = 9092");
    let nemesis = "kill:role=storage,pause:role=storage,partition:role=storage";
    let run = samsa_test(
        "roles",
        &profile,
        &[
            "--nemesis",
            nemesis,
            "--time-limit",
            "25",
            "--nemesis-interval",
            "2",
        ],
    );
    let output = &run.output;
    assert_eq!(run.exit, Some(0), "the brokers stay valid\n{output}");
    let dir = only_run(&run.store, "roles");
    let lines = history_lines(&dir);
    let nemesis_lines: Vec<_> = lines
        .iter()
        .filter(|l| l.process == Process::Nemesis)
        .collect();
    let aimed_at_storage = |f: &str| {
        nemesis_lines
            .iter()
            .filter(|l| l.f.name() == f && l.kind == LineType::Info)
            .map(|l| serde_json::to_string(&l.value).expect("a value serializes"))
            .collect::<Vec<_>>()
    };
    let kills = aimed_at_storage("kill");
    let pauses = aimed_at_storage("pause");
    let partitions = aimed_at_storage("start-partition");
    assert!(
        !kills.is_empty() || !pauses.is_empty() || !partitions.is_empty(),
        "faults were applied: {nemesis_lines:?}"
    );
    for value in kills.iter().chain(&pauses) {
        assert_eq!(value, "[\"storage-1\"]", "only the storage container");
    }
    for grudge in &partitions {
        assert!(
            grudge.contains("storage-1"),
            "the role is cut off: {grudge}"
        );
    }
    let not_applied = nemesis_lines
        .iter()
        .filter(|l| l.f.name() == "not-applied")
        .count();
    assert_eq!(
        not_applied, 0,
        "every role fault could be applied\n{output}"
    );
    let log = std::fs::read_to_string(dir.join("logs/storage-1.log")).expect("service log kept");
    assert!(log.contains("rivine"), "the service's own log: {log}");
    assert!(dir.join("logs/n1.log").is_file(), "the brokers' logs too");
    assert_eq!(
        labelled_containers(&run_id_of(&dir)),
        "",
        "nothing left behind"
    );
}

// Goal: a fault aimed at a role the profile does not declare, and a service that stops
// before it is ready, end the run with exit 4 and a message naming them; the failed
// service's log is kept and nothing is left behind (method: the same profile, a
// `role=db` nemesis word; then a service whose binary exits at once).
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Docker, root and rivine-broker (SAMSA_E2E=1, scripts/test.sh)"
)]
fn unknown_roles_and_unready_services_are_named_errors() {
    let _turn = ONE_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    let profiles = fresh_store("roles-bad-profile");
    let profile = write_profile(&profiles, "rivine-broker", "kind = \"tcp\"\nport = 9092");
    let run = samsa_test("roles-unknown", &profile, &["--nemesis", "kill:role=db"]);
    let output = &run.output;
    assert_eq!(run.exit, Some(4), "{output}");
    assert!(
        output.contains("no role \"db\"") && output.contains("broker, storage"),
        "{output}"
    );

    // tini-static without arguments prints its usage and exits: a service that stops.
    let failing = write_profile(&profiles, "/usr/bin/tini-static", "kind = \"running\"");
    let run = samsa_test(
        "roles-unready",
        &failing,
        &["--time-limit", "5", "--nemesis", "none"],
    );
    let output = &run.output;
    assert_eq!(run.exit, Some(4), "{output}");
    assert!(
        output.contains("storage-1 (service storage)") && output.contains("stopped"),
        "{output}"
    );
    let dir = only_run(&run.store, "roles-unready");
    assert!(
        dir.join("logs/storage-1.log").is_file(),
        "the failed service's log is kept"
    );
    assert_eq!(
        labelled_containers(&run_id_of(&dir)),
        "",
        "nothing left behind"
    );
}
