//! The configuration of one `samsa test` run, and what it promises.
//!
//! The promise is data (HISTORY.md's guarantees table): the checker judges the history
//! against exactly the properties this configuration claims, so a run with `acks=1` is not
//! failed for losing writes it never promised to keep.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Producer acknowledgement level (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Acks {
    /// `acks=0`: no acknowledgement.
    None,
    /// `acks=1`: the leader wrote it.
    Leader,
    /// `acks=all`: every ISR member has it.
    All,
}

impl Acks {
    /// The librdkafka `acks` setting.
    pub fn as_config(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(format!("acks must be 0, 1 or all, not {other:?}")),
        }
    }
}

/// Everything that defines a run; written to `test.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// The test's name: the folder under the store (`histories/<test>/<timestamp>/`).
    pub test: String,
    /// Where runs are stored (default `histories`).
    pub store: PathBuf,
    /// Seeds the operation generator and the fault schedule.
    pub seed: u64,
    /// Cluster size.
    pub nodes: usize,
    /// Partitions of the test topic (= history keys).
    pub partitions: i32,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// `min.insync.replicas` of the topic.
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable` of the topic.
    pub unclean_leader_election: bool,
    /// Producer `acks`.
    pub acks: Acks,
    /// Producer `enable.idempotence`.
    pub idempotence: bool,
    /// Length of the main phase.
    pub time_limit: Duration,
    /// Operations per second across clients (0: unlimited).
    pub rate: f64,
    /// Client processes at once.
    pub concurrency: u64,
    /// The fault families (`partition`, `kill`, `pause`, `packet-loss`).
    pub nemesis: Vec<String>,
    /// The share of packets a `packet-loss` fault drops on each link of its nodes.
    pub packet_loss_p: nemesis::LossProbability,
    /// Quiet time between faults of one layer (network or process).
    pub nemesis_interval: Duration,
    /// How long each fault lasts.
    pub fault_duration: Duration,
    /// Percent of fault windows that combine a partition with a kill or pause (Jepsen's
    /// combined nemesis); 0 keeps one fault active at a time.
    pub nemesis_combine: u8,
    /// A recorded fault timeline to replay (`--schedule`, written by `samsa schedule`)
    /// instead of the schedule the seed draws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<PathBuf>,
    /// The failing run a `samsa shrink` attempt reproduces, relative to this run's
    /// directory; its report links back to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk_from: Option<PathBuf>,
    /// Check the history while it is written and print each invalidating anomaly as
    /// soon as a prefix proves it (`--no-live-check` turns it off).
    pub live_check: bool,
    /// End the main phase at the first invalidating anomaly the live check finds.
    pub fail_fast: bool,
    /// Wait after healing before the final reads.
    pub recovery_wait: Duration,
    /// Bound on the final read of each key.
    pub final_read_time_max: Duration,
    /// Keep the cluster running after the run (for inspection).
    pub keep: bool,
    /// The broker binary to build the image from (broker-under-test), or `None` with a profile.
    pub broker_binary: Option<PathBuf>,
    /// A TOML broker profile for another Kafka-compatible image.
    pub profile: Option<PathBuf>,
    /// Extra environment for every broker (e.g. a seeded fault flag).
    pub broker_env: BTreeMap<String, String>,
    /// Extra librdkafka settings for every client, applied after samsa's own.
    pub client_config: BTreeMap<String, String>,
    /// Relative weights of send, poll, assign and crash operations.
    pub mix: crate::workload::generator::OpMix,
    /// The command line that started the run (with its seed), to reproduce it.
    pub command: String,
    /// Defaults the configuration rules changed to make the run possible (e.g. "acks=1:
    /// idempotence off"), in words; printed first and kept in `test.json`.
    pub adjustments: Vec<String>,
}

/// The defaults of `samsa test` as a configuration, for unit tests of what reads one.
#[cfg(test)]
pub(crate) fn test_config() -> RunConfig {
    RunConfig {
        test: "t".into(),
        store: "histories".into(),
        seed: 1,
        nodes: 3,
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election: false,
        acks: Acks::All,
        idempotence: true,
        time_limit: Duration::from_secs(60),
        rate: 200.0,
        concurrency: 10,
        nemesis: vec!["partition".into(), "kill".into(), "pause".into()],
        nemesis_interval: Duration::from_secs(2),
        fault_duration: Duration::from_secs(7),
        nemesis_combine: 33,
        packet_loss_p: nemesis::DEFAULT_LOSS,
        schedule: None,
        shrunk_from: None,
        live_check: true,
        fail_fast: false,
        recovery_wait: Duration::from_secs(10),
        final_read_time_max: Duration::from_secs(60),
        keep: false,
        broker_binary: None,
        profile: None,
        broker_env: BTreeMap::new(),
        client_config: BTreeMap::new(),
        mix: crate::workload::generator::OpMix::default(),
        command: String::new(),
        adjustments: Vec::new(),
    }
}

/// The properties a configuration promises: HISTORY.md's table, as data.
pub fn promised_guarantees(config: &RunConfig) -> checker::history::model::Guarantees {
    let strong_acks = config.acks == Acks::All && !config.unclean_leader_election;
    checker::history::model::Guarantees {
        no_loss: strong_acks,
        no_duplicates: config.idempotence,
        ordered: config.idempotence,
        linearizable: strong_acks && config.idempotence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(acks: Acks, idempotence: bool, unclean: bool) -> RunConfig {
        RunConfig {
            unclean_leader_election: unclean,
            acks,
            idempotence,
            ..test_config()
        }
    }

    // Goal: each row of HISTORY.md's guarantees table maps to the promised properties.
    #[test]
    fn guarantees_follow_the_history_table() {
        let g = promised_guarantees(&config(Acks::All, true, false));
        assert!(g.no_loss && g.no_duplicates && g.ordered && g.linearizable);
        let g = promised_guarantees(&config(Acks::All, false, false));
        assert!(g.no_loss && !g.no_duplicates && !g.ordered && !g.linearizable);
        let g = promised_guarantees(&config(Acks::Leader, true, false));
        assert!(!g.no_loss && g.no_duplicates && g.ordered && !g.linearizable);
        let g = promised_guarantees(&config(Acks::All, true, true));
        assert!(!g.no_loss && g.no_duplicates && !g.linearizable);
        let g = promised_guarantees(&config(Acks::None, false, false));
        assert!(!g.no_loss && !g.no_duplicates && !g.ordered && !g.linearizable);
    }

    // Goal: acks parse as Kafka spells them, and bad ones name the problem.
    #[test]
    fn acks_parse() {
        assert_eq!("all".parse::<Acks>(), Ok(Acks::All));
        assert_eq!("-1".parse::<Acks>(), Ok(Acks::All));
        assert_eq!("1".parse::<Acks>(), Ok(Acks::Leader));
        assert!("2".parse::<Acks>().unwrap_err().contains("acks"));
    }
}
