//! `samsa test`: one whole run, phase by phase.
//!
//! setup (sweep leftovers, image, cluster, topic) -> main phase (workload + faults + state
//! sampling, bounded by the time limit) -> heal and recovery wait -> final reads ->
//! teardown (unless `--keep`) -> check. Ctrl-C or SIGTERM at any point skips to teardown:
//! containers and the network are removed (and with them the iptables rules inside their
//! namespaces), and the history written so far, flushed line by line, stays checkable.

pub mod config;
pub mod faults;
pub mod live;
pub mod perf;
pub mod progress;
pub mod rolling;
pub mod rules;
pub mod sampler;
pub mod store;
pub mod watchdog;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use checker::check::{CheckOptions, CheckResult};
use nemesis::{PlannedFault, ScheduleConfig};

use crate::cluster::{
    self, Cluster, ClusterConfig, ClusterError, Profile, TopicCreated, TopicSpec,
};
use crate::recorder::{Extra, HeaderLine, Process, Recorder, RecorderError};
use crate::run_dir::{self, RunDir};
use crate::workload::consumer::ConsumerOptions;
use crate::workload::producer::ProducerOptions;
use crate::workload::{self, Shared, WorkloadOptions};
use config::{promised_guarantees, RunConfig};

/// Why a run could not complete (as opposed to a broker that failed its check).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Docker, the image, the cluster or the topic.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The fault schedule or a fault.
    #[error(transparent)]
    Nemesis(#[from] nemesis::NemesisError),
    /// The history could not be written.
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    /// The clients could not work (the history is kept).
    #[error(transparent)]
    Workload(#[from] workload::WorkloadError),
    /// A file of the run directory.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `test.json`, `results.json` or `perf.json` could not be written.
    #[error("cannot write the run directory: {0}")]
    RunDir(#[from] crate::run_dir::RunDirError),
    /// The history was written but cannot be read back.
    #[error("the recorded history cannot be read: {0}")]
    History(#[from] checker::history::HistoryError),
    /// The `--schedule` file could not be read or replayed.
    #[error(transparent)]
    Schedule(#[from] nemesis::ReplayError),
    /// The broker binary to build the image from is missing.
    #[error("broker binary {0} not found: build it with `cargo build --release -p broker-under-test` or pass --broker-binary")]
    BrokerBinaryMissing(PathBuf),
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// `histories/<test>/<timestamp>/`.
    pub dir: PathBuf,
    /// The checker's verdict; `None` if the run was interrupted before it was checked.
    pub result: Option<CheckResult>,
    /// True when Ctrl-C or SIGTERM cut the run short.
    pub interrupted: bool,
    /// The verdict's incidents, as `results.json` lists them (empty when not checked).
    pub incidents: Vec<crate::incidents::Incident>,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RunError {
    let path = path.to_path_buf();
    move |source| RunError::Io { what, path, source }
}

/// Runs one test end to end. See the module documentation for the phases.
pub async fn run_test(config: RunConfig) -> Result<RunOutcome, RunError> {
    let run_dir = RunDir::create(&config.store, &config.test)
        .map_err(io("cannot create the run directory", &config.store))?;
    let dir = run_dir.path().to_path_buf();
    let run_id = format!(
        "samsa-{}-{}",
        std::process::id(),
        chrono::Utc::now().format("%H%M%S%3f")
    );
    eprintln!("samsa: run {run_id} -> {}", dir.display());
    eprintln!("samsa: reproduce with: {}", config.command);
    for adjustment in &config.adjustments {
        eprintln!("samsa: {adjustment}");
    }

    let docker = cluster::connect().await?;
    let swept = cluster::sweep(&docker).await?;
    if swept.containers + swept.networks > 0 {
        eprintln!("samsa: leftovers of earlier runs: {swept}");
    }
    let profile = resolve_profile(&config).await?;
    let image = profile.image.clone().unwrap_or_default();
    store::write_test_json(&run_dir, &config, &run_id, &image)?;

    let mut cluster_config = ClusterConfig::new(&run_id, profile);
    cluster_config.node_count = config.nodes;
    cluster_config.extra_env = config.broker_env.clone();
    cluster_config.failure_logs = Some(run_dir.logs());

    // Plan the faults before anything starts, so a bad schedule costs no cluster.
    let plan = plan_faults(&config, &cluster_config.profile)?;
    let phases = run_phases(&docker, &cluster_config, &config, &plan, &dir);
    let (outcome, interrupted) = tokio::select! {
        r = phases => (Some(r), false),
        () = shutdown_signal() => (None, true),
    };
    if interrupted {
        eprintln!("samsa: interrupted; removing the cluster, keeping the history");
    }
    if matches!(outcome, Some(Err(_))) {
        keep_logs_of_failed_run(&docker, &run_id, &dir).await;
    }
    if config.keep && !interrupted {
        eprintln!("samsa: --keep: cluster {run_id} left running (remove with `samsa sweep --all`)");
    } else {
        let report = cluster::teardown_run(&docker, &run_id).await?;
        tracing::info!("teardown: {report}");
    }
    match outcome {
        None => Ok(RunOutcome {
            dir,
            result: None,
            interrupted: true,
            incidents: Vec::new(),
        }),
        Some(Err(e)) => {
            eprintln!(
                "samsa: the history so far is in {} (check it with `samsa check {}`)",
                dir.display(),
                dir.display()
            );
            Err(e)
        }
        Some(Ok(tally)) => {
            eprintln!("samsa: check");
            let history = checker::history::read_path(&dir)?;
            let mut result = checker::check::check(&history, &CheckOptions::default());
            let mut harness_reasons: Vec<String> =
                tally.none_applied_reason().into_iter().collect();
            if result.stats.sends_ok == 0 {
                // The checker's own rule (no `ok` operation, no verdict) does not cover a
                // run whose polls worked but whose sends never did: it wrote nothing, so
                // it proved nothing.
                harness_reasons.push(
                    "the main phase recorded no acknowledged send: nothing was written, so nothing was tested".to_owned(),
                );
            }
            let measured = perf::measure(&history);
            print_perf(&measured);
            run_dir.write_perf(&measured)?;
            // The verdict is on disk before the report; a report that cannot be drawn is
            // a warning, not a reason to lose the run's exit status.
            let written =
                run_dir::write_verdict(&run_dir, &history, &mut result, &harness_reasons)?;
            match &written.report {
                Ok(report) => eprintln!("samsa: report: {}", report.display()),
                Err(e) => eprintln!("samsa: warning: report not written: {e}"),
            }
            Ok(RunOutcome {
                dir,
                result: Some(result),
                interrupted: false,
                incidents: written.incidents,
            })
        }
    }
}

fn print_perf(p: &perf::Perf) {
    eprintln!(
        "samsa: throughput: {} ops in {:.1}s = {:.0} ops/s",
        p.ops, p.seconds, p.ops_per_second
    );
    for (kind, l) in &p.latency {
        eprintln!(
            "samsa: latency {kind:<11} n={:<7} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>9.2} ms",
            l.count, l.p50_ms, l.p99_ms, l.max_ms
        );
    }
}

async fn resolve_profile(config: &RunConfig) -> Result<Profile, RunError> {
    if let Some(path) = &config.profile {
        return Ok(Profile::load(path)?);
    }
    let binary = match &config.broker_binary {
        Some(b) => b.clone(),
        None => default_broker_binary(),
    };
    if !binary.is_file() {
        return Err(RunError::BrokerBinaryMissing(binary));
    }
    eprintln!("samsa: setup: image from {}", binary.display());
    let tag = cluster::build_broker_image(&binary).await?;
    Ok(Profile::broker_under_test(&tag))
}

/// A run that failed (in setup above all) keeps its containers' logs under `logs/`,
/// when there are containers left to ask; failing to write them is only a warning, the
/// run's own error is what gets reported.
async fn keep_logs_of_failed_run(docker: &bollard::Docker, run_id: &str, dir: &Path) {
    let logs = RunDir::new(dir).logs();
    match cluster::logs::write_run_logs(docker, run_id, &logs).await {
        Ok(written) if !written.is_empty() => {
            eprintln!("samsa: broker logs of the failed run: {}", logs.display())
        }
        Ok(_) => {}
        Err(e) => eprintln!("samsa: warning: logs of the failed run not kept: {e}"),
    }
}

/// The broker-under-test binary built beside this `samsa` binary (same cargo profile).
pub fn default_broker_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("broker-under-test")))
        .unwrap_or_else(|| PathBuf::from("broker-under-test"))
}

async fn run_phases(
    docker: &bollard::Docker,
    cluster_config: &ClusterConfig,
    config: &RunConfig,
    plan: &[PlannedFault],
    dir: &Path,
) -> Result<faults::FaultTally, RunError> {
    eprintln!("samsa: setup: starting {} nodes", config.nodes);
    let cluster = Cluster::start(docker, cluster_config).await?;
    let topic = TopicSpec {
        name: "samsa".into(),
        partitions: config.partitions,
        replication_factor: config.replication_factor,
        min_insync_replicas: config.min_insync_replicas,
        unclean_leader_election: config.unclean_leader_election,
    };
    let created = cluster
        .create_topic(&topic, Duration::from_secs(10))
        .await?;

    let guarantees = promised_guarantees(config);
    let header = HeaderLine::new(Some(config.test.clone()), guarantees);
    let run_dir = RunDir::new(dir);
    let history_path = run_dir.history();
    let recorder = Arc::new(Recorder::create(&history_path, &header)?);
    if let TopicCreated::ListedAfter(note) = &created {
        eprintln!("samsa: warning: {note}");
        recorder.record_event(
            Process::Harness,
            "setup",
            serde_json::json!({"topic": topic.name}),
            &Extra::default().with_error(note),
        )?;
    }
    let shared = Shared::new(
        workload_options(config, &cluster, &topic.name),
        recorder.clone(),
    );

    let (stop_sampling, sampling_stopped) = tokio::sync::watch::channel(false);
    let state_path = run_dir.state();
    let sampler = tokio::spawn(sampler::sample_until(
        cluster.clone(),
        recorder.clone(),
        state_path,
        Duration::from_millis(250),
        sampling_stopped,
    ));
    // Dropping the run (Ctrl-C) must not leave the sampler running.
    let sampler = AbortOnDrop(sampler);

    let nemesis = cluster.nemesis();
    let active: faults::ActiveFault = Arc::new(Mutex::new(None));
    let live = if config.live_check {
        Some(
            live::Live::start(history_path.clone(), recorder.clone())
                .map_err(io("cannot start the live check of", &history_path))?,
        )
    } else {
        None
    };

    eprintln!(
        "samsa: main: {:.0}s, {} clients, {} faults planned",
        config.time_limit.as_secs_f64(),
        config.concurrency,
        plan.len()
    );
    // Fault offsets count on the history's clock, as `samsa schedule` reads them back.
    let start = recorder.started();
    // The faults end with the workload: at the time limit, or early when a client cannot
    // work as configured (then nothing is left to test).
    let faults = faults::drive(
        &cluster,
        &nemesis,
        &recorder,
        plan,
        start,
        active.clone(),
        shared.stopped(),
    );
    let main = async {
        tokio::join!(
            workload::run_main_phase(shared.clone(), config.time_limit),
            faults,
        )
    };
    let progress = progress::report(
        "main",
        recorder.clone(),
        active.clone(),
        live.as_ref(),
        config.time_limit,
        Duration::from_secs(5),
    );
    let watchdog = watchdog::watch(recorder.clone(), active.clone());
    let fail_fast = stop_at_first_anomaly(config, live.as_ref(), &recorder, &shared);
    let (workload_result, faults_result) = tokio::select! {
        r = main => r,
        () = progress => unreachable!("the progress reporter never returns"),
        r = watchdog => match r {
            Err(e) => return Err(e.into()),
            Ok(never) => match never {},
        },
        r = fail_fast => match r {
            Err(e) => return Err(e.into()),
            Ok(never) => match never {},
        },
    };
    if let Some(live) = live {
        let file = live.finish();
        run_dir.write_live(&file)?;
    }
    eprintln!("samsa: heal");
    let heal_result = faults::heal_all(&nemesis, &recorder).await;
    workload_result?;
    let tally = faults_result?;
    heal_result?;

    eprintln!(
        "samsa: recovery wait {:.0}s",
        config.recovery_wait.as_secs_f64()
    );
    tokio::time::sleep(config.recovery_wait).await;
    if let Err(e) = cluster.wait_ready(Duration::from_secs(60)).await {
        eprintln!("samsa: warning: cluster not ready after healing: {e}");
    }

    eprintln!("samsa: final reads");
    let reads = workload::final_reads::read_all(shared.clone(), config.final_read_time_max).await?;
    for read in reads.iter().filter(|r| !r.complete) {
        eprintln!(
            "samsa: warning: the final read of key {} stopped at {:?} before the highest acknowledged offset",
            read.key, read.read_to
        );
    }
    if stop_sampling.send(true).is_err() {
        tracing::debug!("the sampler had already stopped");
    }
    match sampler.join().await {
        Ok(Ok(samples)) => tracing::info!("{samples} state samples written"),
        Ok(Err(e)) => eprintln!("samsa: warning: state.jsonl incomplete: {e}"),
        Err(e) => eprintln!("samsa: warning: the state sampler ended abnormally: {e}"),
    }
    let logs = run_dir.logs();
    std::fs::create_dir_all(&logs).map_err(io("cannot create", &logs))?;
    cluster.collect_logs(&logs).await?;
    Ok(tally)
}

/// With `--fail-fast`, waits for the live check's first invalidating anomaly, records it
/// in the history (a `harness` line, `f: "fail-fast"`) and stops the workload, which ends
/// the main phase; never returns otherwise, so the main phase runs to its time limit.
async fn stop_at_first_anomaly(
    config: &RunConfig,
    live: Option<&live::Live>,
    recorder: &Recorder,
    shared: &Shared,
) -> Result<std::convert::Infallible, RecorderError> {
    if let (true, Some(live)) = (config.fail_fast, live) {
        let finding = live.first_finding().await;
        let at = recorder.now_nanos();
        eprintln!(
            "samsa: --fail-fast: ending the main phase at {:.1}s of {:.0}s: {}",
            at as f64 / 1e9,
            config.time_limit.as_secs_f64(),
            finding.short()
        );
        recorder.record_event(
            Process::Harness,
            "fail-fast",
            serde_json::json!({"type": finding.kind, "key": finding.key, "op": finding.op}),
            &Extra::default(),
        )?;
        live.mark_stopped_early(at, config.time_limit, finding);
        shared.stop();
    }
    std::future::pending().await
}

/// The faults of a `--schedule` file, checked against this run's nodes (brokers, the
/// profile's service containers, the clients) and fitted to its time limit; what was cut
/// or left out is printed.
fn replayed_faults(
    config: &RunConfig,
    profile: &Profile,
    path: &std::path::Path,
) -> Result<Vec<PlannedFault>, RunError> {
    let text = std::fs::read_to_string(path).map_err(io("cannot read the schedule", path))?;
    let brokers = (1..=config.nodes).map(|id| {
        let id = i32::try_from(id).unwrap_or(i32::MAX);
        cluster::profile::NodeSpec::broker(id, String::new()).name
    });
    let services = cluster::service::service_specs(&profile.services, |_| String::new())
        .into_iter()
        .map(|s| s.name);
    let known: Vec<String> = brokers
        .chain(services)
        .chain([nemesis::CLIENTS.to_string()])
        .collect();
    let timeline = nemesis::FaultTimeline::parse(&text, &path.display().to_string(), Some(&known))?;
    let (plan, notes) = timeline.plan(config.time_limit);
    for note in notes {
        eprintln!("samsa: {note}");
    }
    eprintln!(
        "samsa: replaying {} faults from {}",
        plan.len(),
        path.display()
    );
    Ok(plan)
}

/// The seeded fault schedule of the run. The jitter is capped at half the shortest window
/// so short intervals stay valid.
/// The fault schedule; a `role=NAME` word naming a role the profile does not have is an
/// error naming the roles it has, before anything starts.
fn plan_faults(config: &RunConfig, profile: &Profile) -> Result<Vec<PlannedFault>, RunError> {
    if let Some(path) = &config.schedule {
        return replayed_faults(config, profile, path);
    }
    let mut schedule = ScheduleConfig::from_words(&config.nemesis, config.time_limit, config.seed)?;
    let roles = schedule.shapes.iter().filter_map(|s| match s {
        nemesis::PartitionShape::Role(role) => Some(*role),
        _ => None,
    });
    let roles = roles.chain(schedule.targets.iter().filter_map(|t| match t {
        nemesis::TargetSpec::Role(role) => Some(*role),
        _ => None,
    }));
    // The profile's roles, as fault resolution will see them: the same check and the same
    // error as a role that is missing at run time.
    let declared = nemesis::LiveView {
        roles: profile
            .services
            .iter()
            .filter_map(|s| s.name.parse().ok())
            .map(|role| (role, Vec::new()))
            .collect(),
        ..nemesis::LiveView::default()
    };
    for role in roles {
        declared.members(role, &[])?;
    }
    schedule.interval = config.nemesis_interval;
    schedule.fault_duration = config.fault_duration;
    schedule.combine_percent = config.nemesis_combine;
    schedule.packet_loss = config.packet_loss_p;
    schedule.jitter = schedule
        .jitter
        .min(config.nemesis_interval / 2)
        .min(config.fault_duration / 2);
    Ok(schedule.plan()?)
}

fn workload_options(config: &RunConfig, cluster: &Cluster, topic: &str) -> WorkloadOptions {
    let bootstrap = cluster.bootstrap_servers();
    let client_extra: Vec<(String, String)> = config
        .client_config
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    WorkloadOptions {
        topic: topic.to_owned(),
        keys: config.partitions,
        concurrency: config.concurrency,
        rate: config.rate,
        seed: config.seed,
        mix: config.mix,
        producer: ProducerOptions {
            bootstrap: bootstrap.clone(),
            acks: config.acks.as_config().to_owned(),
            idempotence: config.idempotence,
            message_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(3),
            extra: client_extra.clone(),
        },
        consumer: ConsumerOptions {
            bootstrap,
            poll_wait: Duration::from_millis(20),
            records_max: 200,
            extra: client_extra,
        },
    }
}

/// A spawned task aborted when its handle is dropped (tokio's handles only detach).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
