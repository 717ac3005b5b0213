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
use harness::run::rules::{apply_rules, Explicit, Refusal};

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
    /// min.insync.replicas of the test topic [default: 2, or the replication factor when
    /// that is smaller].
    #[arg(long)]
    min_insync_replicas: Option<i32>,
    /// unclean.leader.election.enable of the test topic.
    #[arg(long)]
    unclean_leader_election: bool,
    /// Producer acks: 0, 1 or all.
    #[arg(long, default_value = "all")]
    acks: Acks,
    /// Producer enable.idempotence (true or false) [default: true with acks=all, false
    /// otherwise: librdkafka requires acks=all for it].
    #[arg(long, action = clap::ArgAction::Set)]
    idempotence: Option<bool>,
    /// Length of the main phase, in seconds.
    #[arg(long, default_value_t = 60.0)]
    time_limit: f64,
    /// Operations per second across all clients; 0 for as fast as they go.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Client processes running at once.
    #[arg(long, default_value_t = 10)]
    concurrency: u64,
    /// Faults to mix: any of partition, kill, pause, packet-loss, restart, or none
    /// (packet-loss and restart, a rolling restart of the targets one at a time, are not in
    /// the default mix: add them by name); `partition:SHAPE` narrows the
    /// partition shapes (halves, random-halves, isolate-one, majorities-ring, bridge, leaders,
    /// clients-cut-from-one, leader-from-replicas, clients-with-leader), `kill:TARGET` /
    /// `pause:TARGET` / `packet-loss:TARGET` / `restart:TARGET` the targets (one, minority,
    /// majority, all, leaders, one-leader, isr; they share one target list),
    /// e.g. `partition:leaders,kill:leaders`. Unnarrowed, every run first plays the
    /// scenario deck (a leader cut from its followers, the clients left with it, a leader
    /// killed, a leader paused, the ISR killed after a partition shrank it) in a seeded
    /// order, then alternates passes with free draws of every shape and target, the
    /// leader-aimed ones more often [default: partition,kill,pause; without partitions on
    /// one node].
    #[arg(long)]
    nemesis: Option<String>,
    /// Quiet seconds between fault windows.
    #[arg(long, default_value_t = 2.0)]
    nemesis_interval: f64,
    /// Seconds each fault lasts (varied by up to half the shorter of this and the
    /// interval, at most 3 s).
    #[arg(long, default_value_t = 7.0)]
    fault_duration: f64,
    /// Percent of free fault windows that also hold a fault of the other layer, as
    /// Jepsen's combined nemesis: a kill or pause starting during a partition, or a
    /// partition during a kill or pause; 0 keeps one fault active at a time (and drops the
    /// deck's combined scenario).
    #[arg(long, default_value_t = 33, value_parser = clap::value_parser!(u8).range(0..=100))]
    nemesis_combine: u8,
    /// The share of packets a `packet-loss` fault drops, independently, on every link of
    /// its nodes, both ways (iptables `statistic --mode random`); above 0, at most 1.
    #[arg(long, default_value = "0.2")]
    packet_loss_p: nemesis::LossProbability,
    /// Replay a recorded fault timeline instead of drawing one from the seed: a JSON file
    /// written by `samsa schedule RUN_DIR` (the same faults, nodes and offsets into the
    /// main phase; a fault past --time-limit is left out or cut). Not with --nemesis.
    #[arg(long)]
    schedule: Option<PathBuf>,
    /// The failing run this one re-runs a shrunk timeline of, relative to this run's
    /// directory (set by `samsa shrink`; the report links back to it).
    #[arg(long, hide = true)]
    shrunk_from: Option<PathBuf>,
    /// End the main phase at the first anomaly the live check finds that makes the run
    /// invalid, then heal, do the final reads and check as usual; the report says where
    /// and why the run stopped early.
    #[arg(long, conflicts_with = "no_live_check")]
    fail_fast: bool,
    /// Do not check the history while the run writes it (the live check re-reads the
    /// whole prefix on every pass, which a very long soak may not want to pay for).
    #[arg(long)]
    no_live_check: bool,
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
    /// Extra librdkafka setting for every client, KEY=VALUE (repeatable), applied after
    /// samsa's own (e.g. security settings a broker requires). A setting librdkafka
    /// rejects stops the run (exit 4) with librdkafka's message.
    #[arg(long = "client-config", value_parser = parse_key_value)]
    client_config: Vec<(String, String)>,
    /// Run the test this many times with fresh seeds (`--seed S` gives S, S+1, ...),
    /// stopping at the first invalid run; the exit status is the worst one.
    #[arg(long, default_value_t = 1)]
    test_count: u32,
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

/// The command line that reproduces a run: the same arguments with the seed pinned and
/// `--test-count` dropped (one run is reproduced at a time).
fn reproduce_command(seed: u64) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        if a == "--seed" || a == "--test-count" {
            args.next();
            continue;
        }
        if a.starts_with("--seed=") || a.starts_with("--test-count=") {
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

/// Why `samsa test` did not start a run.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    /// A value that is not even a number of the right kind.
    #[error(transparent)]
    Value(#[from] anyhow::Error),
    /// Rules of the configuration table refused it.
    #[error("{}", .0.iter().map(|r| format!("refused: {r}")).collect::<Vec<_>>().join("\nsamsa test: "))]
    Refused(Vec<Refusal>),
}

/// The run's configuration: the arguments, then the rules table (adjusted defaults are
/// listed in `adjustments`).
fn to_config(args: &TestArgs, seed: u64) -> Result<RunConfig, ConfigError> {
    let nodes_i32 = i32::try_from(args.nodes).unwrap_or(i32::MAX);
    let mut config = RunConfig {
        test: args.name.clone(),
        store: args.store.clone(),
        seed,
        nodes: args.nodes,
        partitions: args.keys,
        replication_factor: args.replication_factor.unwrap_or(nodes_i32),
        min_insync_replicas: args.min_insync_replicas.unwrap_or(2),
        unclean_leader_election: args.unclean_leader_election,
        acks: args.acks,
        idempotence: args.idempotence.unwrap_or(true),
        time_limit: seconds("time-limit", args.time_limit)?,
        rate: args.rate,
        concurrency: args.concurrency,
        nemesis: args
            .nemesis
            .as_deref()
            .unwrap_or("partition,kill,pause")
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty() && *w != "none")
            .map(str::to_owned)
            .collect(),
        nemesis_interval: seconds("nemesis-interval", args.nemesis_interval)?,
        fault_duration: seconds("fault-duration", args.fault_duration)?,
        nemesis_combine: args.nemesis_combine,
        packet_loss_p: args.packet_loss_p,
        schedule: args.schedule.clone(),
        shrunk_from: args.shrunk_from.clone(),
        live_check: !args.no_live_check,
        fail_fast: args.fail_fast,
        recovery_wait: seconds("recovery-wait", args.recovery_wait)?,
        final_read_time_max: seconds("final-read-time-max", args.final_read_time_max)?,
        keep: args.keep,
        broker_binary: args.broker_binary.clone(),
        profile: args.profile.clone(),
        broker_env: args.broker_env.iter().cloned().collect::<BTreeMap<_, _>>(),
        client_config: args
            .client_config
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>(),
        mix: args.mix,
        command: reproduce_command(seed),
        adjustments: Vec::new(),
    };
    let explicit = Explicit {
        idempotence: args.idempotence.is_some(),
        min_insync_replicas: args.min_insync_replicas.is_some(),
        nemesis: args.nemesis.is_some(),
    };
    config.adjustments = apply_rules(&mut config, &explicit).map_err(ConfigError::Refused)?;
    Ok(config)
}

/// How one run of `samsa test` ended, in the order of how bad it is for `--test-count`:
/// a broker that broke a promise is the worst news, then a run the harness could not
/// complete, then a verdict that could not be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RunStatus {
    Valid,
    Unknown,
    HarnessError,
    Invalid,
    Interrupted,
}

impl RunStatus {
    fn exit_code(self) -> u8 {
        match self {
            RunStatus::Valid => 0,
            RunStatus::Invalid => 1,
            RunStatus::Unknown => 2,
            RunStatus::HarnessError => super::HARNESS_ERROR,
            RunStatus::Interrupted => 130,
        }
    }

    fn word(self) -> &'static str {
        match self {
            RunStatus::Valid => "VALID",
            RunStatus::Invalid => "INVALID",
            RunStatus::Unknown => "UNKNOWN",
            RunStatus::HarnessError => "HARNESS ERROR",
            RunStatus::Interrupted => "INTERRUPTED",
        }
    }

    /// Whether `--test-count` goes on after a run that ended so: not after an invalid run
    /// (Jepsen's rule: the first failure is the one to look at), not after an interrupt,
    /// and not after a harness error (the next run would meet the same broken set-up).
    fn keep_going(self) -> bool {
        matches!(self, RunStatus::Valid | RunStatus::Unknown)
    }
}

/// The seed of run `i` (from 0) of a `--test-count` series.
fn seed_of_run(base: Option<u64>, i: u32) -> u64 {
    match base {
        Some(s) => s.wrapping_add(u64::from(i)),
        None => rand::random(),
    }
}

/// Runs `samsa test` (`--test-count` times) and maps the outcome to the exit status.
pub fn run(args: &TestArgs) -> ExitCode {
    if args.test_count == 0 {
        eprintln!("samsa test: --test-count must be at least 1");
        return ExitCode::from(super::HARNESS_ERROR);
    }
    // Refuse a bad configuration before anything starts (the seed does not change what
    // the rules decide).
    if let Err(e) = to_config(args, seed_of_run(args.seed, 0)) {
        eprintln!("samsa test: {e}");
        return ExitCode::from(super::HARNESS_ERROR);
    }
    // A timeline file that cannot be replayed is refused before anything starts too (its
    // node names are checked against the cluster once the profile is known).
    if let Some(path) = &args.schedule {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the schedule {}: {e}", path.display()))
            .and_then(|text| {
                nemesis::FaultTimeline::parse(&text, &path.display().to_string(), None)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = parsed {
            eprintln!("samsa test: {e}");
            return ExitCode::from(super::HARNESS_ERROR);
        }
    }
    let runtime = match super::runtime("samsa test") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut worst = RunStatus::Valid;
    let mut lines = Vec::new();
    for i in 0..args.test_count {
        let seed = seed_of_run(args.seed, i);
        let config = match to_config(args, seed) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("samsa test: {e}");
                return ExitCode::from(super::HARNESS_ERROR);
            }
        };
        let (status, summary) = run_once(&runtime, config);
        worst = worst.max(status);
        if args.test_count > 1 {
            let line = format!(
                "run {}/{} seed {seed}: {} {summary}",
                i + 1,
                args.test_count,
                status.word()
            );
            println!("samsa test: {line}");
            lines.push(line);
        }
        if !status.keep_going() {
            if i + 1 < args.test_count {
                println!(
                    "samsa test: stopped after run {} of {} ({})",
                    i + 1,
                    args.test_count,
                    status.word()
                );
            }
            break;
        }
    }
    if lines.len() > 1 {
        println!("samsa test: {} runs, worst {}:", lines.len(), worst.word());
        for line in &lines {
            println!("  {line}");
        }
    }
    ExitCode::from(worst.exit_code())
}

/// One run: its status, and a one-line summary for `--test-count`.
fn run_once(runtime: &tokio::runtime::Runtime, config: RunConfig) -> (RunStatus, String) {
    let command = config.command.clone();
    match runtime.block_on(harness::run::run_test(config)) {
        Err(e) => {
            eprintln!("samsa test: {e}");
            (RunStatus::HarnessError, format!("({e})"))
        }
        Ok(outcome) if outcome.interrupted => {
            eprintln!(
                "samsa test: interrupted; the history so far is in {} (check it with `samsa check {}`)",
                outcome.dir.display(),
                outcome.dir.display()
            );
            (RunStatus::Interrupted, outcome.dir.display().to_string())
        }
        Ok(outcome) => {
            let Some(result) = outcome.result else {
                return (RunStatus::HarnessError, outcome.dir.display().to_string());
            };
            super::check::print_summary(
                &outcome.dir.display().to_string(),
                &result,
                &outcome.incidents,
            );
            println!("  run directory: {}", outcome.dir.display());
            println!("  reproduce: {command}");
            let status = match result.valid {
                Validity::Valid => RunStatus::Valid,
                Validity::Invalid => RunStatus::Invalid,
                Validity::Unknown => RunStatus::Unknown,
            };
            let anomalies = if result.anomaly_types.is_empty() {
                "no anomalies".to_owned()
            } else {
                result
                    .anomaly_types
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let summary = format!(
                "({} ops, {} sends ok; {anomalies}) {}",
                result.stats.ops,
                result.stats.sends_ok,
                outcome.dir.display()
            );
            (status, summary)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: --test-count's exit status is the worst run's, with invalid worst of the
    // verdicts, and the series stops where Jepsen stops.
    #[test]
    fn the_worst_status_wins_and_invalid_stops_the_series() {
        let worst = [RunStatus::Valid, RunStatus::Unknown, RunStatus::Valid]
            .into_iter()
            .max();
        assert_eq!(worst, Some(RunStatus::Unknown));
        assert!(RunStatus::Invalid > RunStatus::HarnessError);
        assert!(RunStatus::HarnessError > RunStatus::Unknown);
        assert_eq!(RunStatus::Invalid.exit_code(), 1);
        assert_eq!(RunStatus::Unknown.exit_code(), 2);
        assert!(!RunStatus::Invalid.keep_going());
        assert!(!RunStatus::HarnessError.keep_going());
        assert!(RunStatus::Unknown.keep_going());
    }

    // Goal: a pinned seed gives consecutive seeds, one per run.
    #[test]
    fn pinned_seeds_count_up() {
        assert_eq!(seed_of_run(Some(7), 0), 7);
        assert_eq!(seed_of_run(Some(7), 2), 9);
    }
}
