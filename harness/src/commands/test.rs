//! `samsa test`: run the broker in Docker under faults, record, check. The defaults are
//! the main job: a 3-node broker-under-test cluster, acks=all with idempotence, 60 s of
//! partitions, kills and pauses.
//!
//! Exit status: 0 valid, 1 invalid, 2 unknown, 4 the harness could not complete the run,
//! 130 interrupted (Ctrl-C / SIGTERM; the history so far is kept).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use checker::check::Validity;
use harness::run::config::{Acks, RunConfig};

/// Arguments of `samsa test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The test's name; runs are stored in STORE/NAME/<timestamp>/.
    #[arg(long, default_value = "queue")]
    name: String,
    /// Where runs are stored.
    #[arg(long, default_value = "histories")]
    store: PathBuf,
    /// Seed of the operation generator and the fault schedule (random when omitted; the
    /// seed used is printed and stored in test.json).
    #[arg(long)]
    seed: Option<u64>,
    /// Number of broker nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Partitions of the test topic (each one is a history key).
    #[arg(long, default_value_t = 3)]
    keys: i32,
    /// Replication factor of the test topic (default: the number of nodes).
    #[arg(long)]
    replication_factor: Option<i32>,
    /// min.insync.replicas of the test topic.
    #[arg(long, default_value_t = 2)]
    min_insync_replicas: i32,
    /// unclean.leader.election.enable of the test topic.
    #[arg(long)]
    unclean_leader_election: bool,
    /// Producer acks: 0, 1 or all.
    #[arg(long, default_value = "all")]
    acks: Acks,
    /// Producer enable.idempotence (true or false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    idempotence: bool,
    /// Length of the main phase, in seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Operations per second across all clients; 0 for as fast as they go.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Client processes running at once.
    #[arg(long, default_value_t = 10)]
    concurrency: u64,
    /// Faults to mix: any of partition, kill, pause, or none; `partition:SHAPE` narrows the
    /// partition shapes (halves, random-halves, isolate-one, majorities-ring, bridge, leaders,
    /// clients-cut-from-one), `kill:TARGET` / `pause:TARGET` the targets (one, minority,
    /// majority, all, leaders), e.g. `partition:leaders,kill:leaders`.
    #[arg(long, default_value = "partition,kill,pause")]
    nemesis: String,
    /// Quiet seconds between faults.
    #[arg(long, default_value_t = 5.0)]
    nemesis_interval: f64,
    /// Seconds each fault lasts.
    #[arg(long, default_value_t = 8.0)]
    fault_duration: f64,
    /// Seconds to wait after healing before the final reads.
    #[arg(long, default_value_t = 10.0)]
    recovery_wait: f64,
    /// Bound on the final read of each key, in seconds.
    #[arg(long, default_value_t = 60.0)]
    final_read_time_max: f64,
    /// Leave the cluster running after the run.
    #[arg(long)]
    keep: bool,
    /// The broker-under-test binary to build the image from (default: beside samsa).
    #[arg(long)]
    broker_binary: Option<PathBuf>,
    /// A broker profile (TOML) for another Kafka-compatible image.
    #[arg(long, conflicts_with = "broker_binary")]
    profile: Option<PathBuf>,
    /// Relative weights of the operations each client process draws after its first
    /// assign. An assign re-positions the process's consumer (ListOffsets, then absolute
    /// offsets); a crash re-creates its librdkafka clients (a new consumer and producer
    /// session), which costs far more CPU than any other operation.
    #[arg(long, default_value = "send=55,poll=40,assign=4,crash=1")]
    mix: harness::workload::generator::OpMix,
    /// Extra environment for every broker, KEY=VALUE (repeatable); e.g. a seeded fault.
    #[arg(long = "broker-env", value_parser = parse_key_value)]
    broker_env: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    if k.is_empty() {
        return Err(format!("empty key in {s:?}"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value >= 0.0) {
        anyhow::bail!("--{name} must be a non-negative number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The command line that reproduces this run: the same arguments with the seed pinned.
fn reproduce_command(seed: u64) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        if a == "--seed" {
            args.next();
            continue;
        }
        if a.starts_with("--seed=") {
            continue;
        }
        words.push(a);
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            if w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("samsa {} --seed {seed}", quoted.join(" "))
}

fn to_config(args: &TestArgs) -> anyhow::Result<RunConfig> {
    let seed = args.seed.unwrap_or_else(rand::random);
    if args.nodes == 0 {
        anyhow::bail!("--nodes must be at least 1");
    }
    if args.keys <= 0 {
        anyhow::bail!("--keys must be at least 1");
    }
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        anyhow::bail!("--rate must be a non-negative number");
    }
    let nodes_i32 = i32::try_from(args.nodes)?;
    Ok(RunConfig {
        test: args.name.clone(),
        store: args.store.clone(),
        seed,
        nodes: args.nodes,
        partitions: args.keys,
        replication_factor: args.replication_factor.unwrap_or(nodes_i32),
        min_insync_replicas: args.min_insync_replicas,
        unclean_leader_election: args.unclean_leader_election,
        acks: args.acks,
        idempotence: args.idempotence,
        time_limit: seconds("time-limit", args.time_limit)?,
        rate: args.rate,
        concurrency: args.concurrency,
        nemesis: args
            .nemesis
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty() && *w != "none")
            .map(str::to_owned)
            .collect(),
        nemesis_interval: seconds("nemesis-interval", args.nemesis_interval)?,
        fault_duration: seconds("fault-duration", args.fault_duration)?,
        recovery_wait: seconds("recovery-wait", args.recovery_wait)?,
        final_read_time_max: seconds("final-read-time-max", args.final_read_time_max)?,
        keep: args.keep,
        broker_binary: args.broker_binary.clone(),
        profile: args.profile.clone(),
        broker_env: args.broker_env.iter().cloned().collect::<BTreeMap<_, _>>(),
        mix: args.mix,
        command: reproduce_command(seed),
    })
}

/// Runs `samsa test` and maps the outcome to the exit status.
pub fn run(args: &TestArgs) -> ExitCode {
    let config = match to_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("samsa test: {e:#}");
            return ExitCode::from(super::HARNESS_ERROR);
        }
    };
    let runtime = match super::runtime("samsa test") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let command = config.command.clone();
    match runtime.block_on(harness::run::run_test(config)) {
        Err(e) => {
            eprintln!("samsa test: {e}");
            ExitCode::from(super::HARNESS_ERROR)
        }
        Ok(outcome) if outcome.interrupted => {
            eprintln!(
                "samsa test: interrupted; the history so far is in {} (check it with `samsa check {}`)",
                outcome.dir.display(),
                outcome.dir.display()
            );
            ExitCode::from(130)
        }
        Ok(outcome) => {
            let Some(result) = outcome.result else {
                return ExitCode::from(super::HARNESS_ERROR);
            };
            super::check::print_summary(&outcome.dir.display().to_string(), &result);
            println!("  run directory: {}", outcome.dir.display());
            println!("  reproduce: {command}");
            match result.valid {
                Validity::Valid => ExitCode::from(0),
                Validity::Invalid => ExitCode::from(1),
                Validity::Unknown => ExitCode::from(2),
            }
        }
    }
}
