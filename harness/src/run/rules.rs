//! The rules a `samsa test` configuration must satisfy before anything starts, as one
//! table.
//!
//! A configuration that a client or the broker would reject does not fail halfway through
//! a run: librdkafka refuses `enable.idempotence=true` unless `acks=all` (KIP-98's
//! idempotent producer needs every in-sync replica's acknowledgement), a topic cannot
//! have more replicas than brokers, `min.insync.replicas` above the replication factor
//! makes every acks=all write fail with NOT_ENOUGH_REPLICAS. Left alone, each of these
//! gives a run in which nothing is acknowledged and nothing can be violated: an empty
//! VALID. Each rule here either accepts, adjusts a value the user left at its default
//! (when the choice is unambiguous; the adjustment is printed first thing and stored in
//! `test.json`), or refuses with a message that names the flags and the fix.

use super::config::{Acks, RunConfig};

/// Which adjustable settings were given on the command line. A default may be adjusted
/// to fit the rest of the configuration; a value the user chose is never overridden.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    /// `--idempotence` was given.
    pub idempotence: bool,
    /// `--min-insync-replicas` was given.
    pub min_insync_replicas: bool,
    /// `--nemesis` was given.
    pub nemesis: bool,
}

/// What one rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// The configuration satisfies the rule.
    Fine,
    /// A default was changed to satisfy the rule; the text says what and why.
    Adjusted(String),
    /// The configuration cannot run; the text names the flags and the fix.
    Refused(String),
}

/// One rule of the table.
pub struct Rule {
    /// A stable name, for tests and messages.
    pub name: &'static str,
    /// Checks (and, for a default, adjusts) the configuration.
    pub apply: fn(&mut RunConfig, &Explicit) -> RuleOutcome,
}

/// A refused rule, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule's name.
    pub rule: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]", self.message, self.rule)
    }
}

/// Nodes above this are refused: every node is a container on this one host.
pub const NODES_MAX: usize = 9;
/// Keys (partitions) above this are refused: each is a partition log per replica and a
/// final read.
pub const KEYS_MAX: i32 = 1_000;
/// Client processes above this are refused: each holds a librdkafka producer and
/// consumer with their own threads.
pub const CONCURRENCY_MAX: u64 = 1_000;
/// A rate above this many operations per second is refused (0 means unlimited).
pub const RATE_MAX: f64 = 100_000.0;

/// The table, applied in order (adjustments first where a later rule depends on them).
pub const RULES: &[Rule] = &[
    Rule {
        name: "nodes",
        apply: nodes,
    },
    Rule {
        name: "keys",
        apply: keys,
    },
    Rule {
        name: "clients",
        apply: clients,
    },
    Rule {
        name: "rate",
        apply: rate,
    },
    Rule {
        name: "time-limit",
        apply: time_limit,
    },
    Rule {
        name: "replication-factor",
        apply: replication_factor,
    },
    Rule {
        name: "min-insync-replicas",
        apply: min_insync_replicas,
    },
    Rule {
        name: "idempotence-needs-acks-all",
        apply: idempotence_needs_acks_all,
    },
    Rule {
        name: "mix-sends",
        apply: mix_sends,
    },
    Rule {
        name: "partition-needs-two-nodes",
        apply: partition_needs_two_nodes,
    },
    Rule {
        name: "nemesis-words",
        apply: nemesis_words,
    },
    Rule {
        name: "schedule-or-nemesis",
        apply: schedule_or_nemesis,
    },
    Rule {
        name: "faults-fit-the-time-limit",
        apply: faults_fit_the_time_limit,
    },
    Rule {
        name: "final-read-time",
        apply: final_read_time,
    },
];

/// Applies every rule. Returns the adjustments made (to print and record), or every
/// refusal (all of them, so one attempt shows everything to fix).
pub fn apply_rules(
    config: &mut RunConfig,
    explicit: &Explicit,
) -> Result<Vec<String>, Vec<Refusal>> {
    let mut adjustments = Vec::new();
    let mut refusals = Vec::new();
    for rule in RULES {
        match (rule.apply)(config, explicit) {
            RuleOutcome::Fine => {}
            RuleOutcome::Adjusted(text) => adjustments.push(text),
            RuleOutcome::Refused(message) => refusals.push(Refusal {
                rule: rule.name,
                message,
            }),
        }
    }
    if refusals.is_empty() {
        Ok(adjustments)
    } else {
        Err(refusals)
    }
}

fn refuse(text: impl Into<String>) -> RuleOutcome {
    RuleOutcome::Refused(text.into())
}

fn nodes(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.nodes == 0 || c.nodes > NODES_MAX {
        return refuse(format!(
            "--nodes {} is out of range: a cluster has 1 to {NODES_MAX} nodes",
            c.nodes
        ));
    }
    RuleOutcome::Fine
}

fn keys(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.partitions < 1 || c.partitions > KEYS_MAX {
        return refuse(format!(
            "--keys {} is out of range: the test topic has 1 to {KEYS_MAX} partitions",
            c.partitions
        ));
    }
    RuleOutcome::Fine
}

fn clients(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.concurrency == 0 || c.concurrency > CONCURRENCY_MAX {
        return refuse(format!(
            "--concurrency {} is out of range: 1 to {CONCURRENCY_MAX} client processes",
            c.concurrency
        ));
    }
    RuleOutcome::Fine
}

fn rate(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if !(c.rate.is_finite() && (0.0..=RATE_MAX).contains(&c.rate)) {
        return refuse(format!(
            "--rate {} is out of range: 0 (as fast as the clients go) to {RATE_MAX} operations per second",
            c.rate
        ));
    }
    RuleOutcome::Fine
}

fn time_limit(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.time_limit.is_zero() {
        return refuse("--time-limit 0: the main phase must last longer than 0 seconds");
    }
    RuleOutcome::Fine
}

fn replication_factor(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    let nodes = i32::try_from(c.nodes).unwrap_or(i32::MAX);
    if c.replication_factor < 1 || c.replication_factor > nodes {
        return refuse(format!(
            "--replication-factor {} with --nodes {}: a partition has 1 to {nodes} replicas (one per broker); lower --replication-factor or raise --nodes",
            c.replication_factor, c.nodes
        ));
    }
    RuleOutcome::Fine
}

fn min_insync_replicas(c: &mut RunConfig, explicit: &Explicit) -> RuleOutcome {
    if c.min_insync_replicas < 1 {
        return refuse(format!(
            "--min-insync-replicas {} must be at least 1",
            c.min_insync_replicas
        ));
    }
    if c.min_insync_replicas <= c.replication_factor {
        return RuleOutcome::Fine;
    }
    if explicit.min_insync_replicas {
        return refuse(format!(
            "--min-insync-replicas {} is above the replication factor {}: every acks=all write would fail with NOT_ENOUGH_REPLICAS; lower --min-insync-replicas or raise --replication-factor / --nodes",
            c.min_insync_replicas, c.replication_factor
        ));
    }
    let default = c.min_insync_replicas;
    c.min_insync_replicas = c.replication_factor;
    RuleOutcome::Adjusted(format!(
        "min.insync.replicas={}: the default {default} is above the replication factor {}",
        c.min_insync_replicas, c.replication_factor
    ))
}

fn idempotence_needs_acks_all(c: &mut RunConfig, explicit: &Explicit) -> RuleOutcome {
    if c.acks == Acks::All || !c.idempotence {
        return RuleOutcome::Fine;
    }
    let acks = c.acks.as_config();
    if explicit.idempotence {
        return refuse(format!(
            "--acks {acks} with --idempotence true: librdkafka requires acks=all for the idempotent producer (KIP-98); pass --acks all, or --idempotence false"
        ));
    }
    c.idempotence = false;
    RuleOutcome::Adjusted(format!(
        "acks={acks}: idempotence off (librdkafka requires acks=all for it)"
    ))
}

fn mix_sends(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.mix.send == 0 {
        return refuse(format!(
            "--mix {} has no send: a run that writes nothing tests nothing; give send a positive weight",
            c.mix
        ));
    }
    RuleOutcome::Fine
}

fn is_partition_word(word: &str) -> bool {
    word == "partition" || word.starts_with("partition:")
}

fn partition_needs_two_nodes(c: &mut RunConfig, explicit: &Explicit) -> RuleOutcome {
    if c.nodes >= 2 || !c.nemesis.iter().any(|w| is_partition_word(w)) {
        return RuleOutcome::Fine;
    }
    if explicit.nemesis {
        return refuse(format!(
            "--nemesis {} with --nodes 1: a network partition needs at least two nodes; drop partition from --nemesis or raise --nodes",
            c.nemesis.join(",")
        ));
    }
    c.nemesis.retain(|w| !is_partition_word(w));
    RuleOutcome::Adjusted(format!(
        "nemesis {}: partitions left out (one node has nobody to be cut off from)",
        if c.nemesis.is_empty() {
            "none".to_owned()
        } else {
            c.nemesis.join(",")
        }
    ))
}

fn nemesis_words(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    match nemesis::ScheduleConfig::from_words(&c.nemesis, c.time_limit, c.seed) {
        Ok(_) => RuleOutcome::Fine,
        Err(e) => refuse(format!("--nemesis {}: {e}", c.nemesis.join(","))),
    }
}

/// A replayed timeline (`--schedule`) fixes every fault; `--nemesis` would draw others.
fn schedule_or_nemesis(c: &mut RunConfig, explicit: &Explicit) -> RuleOutcome {
    match &c.schedule {
        Some(path) if explicit.nemesis => refuse(format!(
            "--schedule {} with --nemesis {}: the file fixes every fault of the run, --nemesis draws them; pass one of the two",
            path.display(),
            c.nemesis.join(",")
        )),
        _ => RuleOutcome::Fine,
    }
}

fn faults_fit_the_time_limit(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    // A replayed timeline brings its own windows; they are fitted to the limit when
    // planned.
    if c.nemesis.is_empty() || c.schedule.is_some() {
        return RuleOutcome::Fine;
    }
    if c.fault_duration.is_zero() {
        return refuse("--fault-duration 0 with faults asked for: a fault must last; raise --fault-duration or pass --nemesis none");
    }
    let window = c.nemesis_interval + c.fault_duration;
    if c.time_limit < window {
        return refuse(format!(
            "--time-limit {:.1}s is shorter than one fault window ({:.1}s quiet + {:.1}s fault): no fault would run; raise --time-limit, lower --nemesis-interval / --fault-duration, or pass --nemesis none",
            c.time_limit.as_secs_f64(),
            c.nemesis_interval.as_secs_f64(),
            c.fault_duration.as_secs_f64()
        ));
    }
    RuleOutcome::Fine
}

fn final_read_time(c: &mut RunConfig, _: &Explicit) -> RuleOutcome {
    if c.final_read_time_max.is_zero() {
        return refuse("--final-read-time-max 0: the final reads, which decide lost writes, need time; give it at least a few seconds");
    }
    RuleOutcome::Fine
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::run::config::test_config;

    /// The outcome of the rule named `name` on `config`.
    fn outcome(name: &str, config: &mut RunConfig, explicit: Explicit) -> RuleOutcome {
        let rule = RULES
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"));
        (rule.apply)(config, &explicit)
    }

    fn refused(o: &RuleOutcome, words: &[&str]) -> bool {
        matches!(o, RuleOutcome::Refused(t) if words.iter().all(|w| t.contains(w)))
    }

    // Goal: the default configuration passes every rule untouched (the main job runs).
    #[test]
    fn the_defaults_pass_every_rule() {
        let mut c = test_config();
        assert_eq!(apply_rules(&mut c, &Explicit::default()), Ok(vec![]));
    }

    // Goal: every rule of the table has a test below. Method: the names tested here.
    #[test]
    fn every_rule_is_tested() {
        let tested = [
            "nodes",
            "keys",
            "clients",
            "rate",
            "time-limit",
            "replication-factor",
            "min-insync-replicas",
            "idempotence-needs-acks-all",
            "mix-sends",
            "partition-needs-two-nodes",
            "nemesis-words",
            "schedule-or-nemesis",
            "faults-fit-the-time-limit",
            "final-read-time",
        ];
        let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names, tested);
    }

    #[test]
    fn nodes_out_of_range_are_refused() {
        let mut c = test_config();
        c.nodes = 0;
        assert!(refused(
            &outcome("nodes", &mut c, Explicit::default()),
            &["--nodes 0"]
        ));
        c.nodes = NODES_MAX + 1;
        assert!(refused(
            &outcome("nodes", &mut c, Explicit::default()),
            &["--nodes"]
        ));
        c.nodes = 1;
        assert_eq!(
            outcome("nodes", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
    }

    #[test]
    fn zero_keys_are_refused() {
        let mut c = test_config();
        c.partitions = 0;
        assert!(refused(
            &outcome("keys", &mut c, Explicit::default()),
            &["--keys 0"]
        ));
        c.partitions = 1;
        assert_eq!(
            outcome("keys", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
    }

    #[test]
    fn zero_clients_are_refused() {
        let mut c = test_config();
        c.concurrency = 0;
        assert!(refused(
            &outcome("clients", &mut c, Explicit::default()),
            &["--concurrency 0"]
        ));
    }

    #[test]
    fn negative_or_absurd_rates_are_refused() {
        let mut c = test_config();
        for bad in [-1.0, f64::NAN, f64::INFINITY, RATE_MAX * 2.0] {
            c.rate = bad;
            assert!(refused(
                &outcome("rate", &mut c, Explicit::default()),
                &["--rate"]
            ));
        }
        c.rate = 0.0;
        assert_eq!(
            outcome("rate", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
    }

    #[test]
    fn a_zero_time_limit_is_refused() {
        let mut c = test_config();
        c.time_limit = Duration::ZERO;
        assert!(refused(
            &outcome("time-limit", &mut c, Explicit::default()),
            &["--time-limit"]
        ));
    }

    #[test]
    fn more_replicas_than_nodes_are_refused() {
        let mut c = test_config();
        c.nodes = 3;
        c.replication_factor = 4;
        assert!(refused(
            &outcome("replication-factor", &mut c, Explicit::default()),
            &["--replication-factor 4", "--nodes 3"]
        ));
        c.replication_factor = 0;
        assert!(refused(
            &outcome("replication-factor", &mut c, Explicit::default()),
            &["--replication-factor 0"]
        ));
    }

    // Goal: a default min.insync above the replication factor is lowered and said; an
    // explicit one is refused; a zero one is refused.
    #[test]
    fn min_insync_above_the_replication_factor() {
        let mut c = test_config();
        c.replication_factor = 1;
        c.min_insync_replicas = 2;
        let o = outcome("min-insync-replicas", &mut c, Explicit::default());
        assert!(matches!(o, RuleOutcome::Adjusted(t) if t.contains("min.insync.replicas=1")));
        assert_eq!(c.min_insync_replicas, 1);

        c.min_insync_replicas = 2;
        let explicit = Explicit {
            min_insync_replicas: true,
            ..Explicit::default()
        };
        assert!(refused(
            &outcome("min-insync-replicas", &mut c, explicit),
            &["--min-insync-replicas 2", "NOT_ENOUGH_REPLICAS"]
        ));
        assert_eq!(
            c.min_insync_replicas, 2,
            "an explicit value is never changed"
        );

        c.min_insync_replicas = 0;
        assert!(refused(
            &outcome("min-insync-replicas", &mut c, Explicit::default()),
            &["at least 1"]
        ));
    }

    // Goal: acks 0/1 turn the default idempotence off (and say so); an explicit
    // `--idempotence true` with them is refused.
    #[test]
    fn idempotence_needs_acks_all() {
        for acks in [Acks::Leader, Acks::None] {
            let mut c = test_config();
            c.acks = acks;
            let o = outcome("idempotence-needs-acks-all", &mut c, Explicit::default());
            assert!(matches!(&o, RuleOutcome::Adjusted(t) if t.contains("idempotence off")));
            assert!(!c.idempotence);

            let mut c = test_config();
            c.acks = acks;
            let explicit = Explicit {
                idempotence: true,
                ..Explicit::default()
            };
            assert!(refused(
                &outcome("idempotence-needs-acks-all", &mut c, explicit),
                &["--idempotence true", "acks=all"]
            ));
        }
        let mut c = test_config();
        c.acks = Acks::Leader;
        c.idempotence = false;
        assert_eq!(
            outcome("idempotence-needs-acks-all", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
    }

    #[test]
    fn a_mix_without_sends_is_refused() {
        let mut c = test_config();
        c.mix = "poll=1".parse().expect("mix");
        assert!(refused(
            &outcome("mix-sends", &mut c, Explicit::default()),
            &["--mix", "no send"]
        ));
    }

    // Goal: a replayed timeline refuses an explicit --nemesis (it would be ignored) and
    // lifts the fault-window rule (the file brings its own windows), while the default
    // words pass.
    #[test]
    fn a_schedule_excludes_nemesis_words() {
        let mut c = test_config();
        c.schedule = Some("t.json".into());
        assert_eq!(
            outcome("schedule-or-nemesis", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
        let explicit = Explicit {
            nemesis: true,
            ..Explicit::default()
        };
        assert!(refused(
            &outcome("schedule-or-nemesis", &mut c, explicit),
            &[
                "--schedule t.json",
                "--nemesis partition,kill,pause",
                "one of the two"
            ]
        ));
        c.time_limit = std::time::Duration::from_secs(5);
        assert_eq!(
            outcome("faults-fit-the-time-limit", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
        c.schedule = None;
        assert!(matches!(
            outcome("faults-fit-the-time-limit", &mut c, Explicit::default()),
            RuleOutcome::Refused(_)
        ));
    }

    // Goal: one node drops default partitions (and says so) but refuses explicit ones.
    #[test]
    fn partitions_need_two_nodes() {
        let mut c = test_config();
        c.nodes = 1;
        c.nemesis = vec!["partition".into(), "kill".into()];
        let o = outcome("partition-needs-two-nodes", &mut c, Explicit::default());
        assert!(matches!(o, RuleOutcome::Adjusted(t) if t.contains("nemesis kill")));
        assert_eq!(c.nemesis, vec!["kill".to_owned()]);

        c.nemesis = vec!["partition:halves".into()];
        let explicit = Explicit {
            nemesis: true,
            ..Explicit::default()
        };
        assert!(refused(
            &outcome("partition-needs-two-nodes", &mut c, explicit),
            &["--nodes 1", "partition"]
        ));
    }

    #[test]
    fn unknown_nemesis_words_are_refused() {
        let mut c = test_config();
        c.nemesis = vec!["flood".into()];
        assert!(refused(
            &outcome("nemesis-words", &mut c, Explicit::default()),
            &["--nemesis flood"]
        ));
    }

    // Goal: faults asked for in a main phase too short for one window are refused; with
    // no faults the same time limit is fine.
    #[test]
    fn faults_must_fit_the_time_limit() {
        let mut c = test_config();
        c.time_limit = Duration::from_secs(5);
        c.nemesis_interval = Duration::from_secs(5);
        c.fault_duration = Duration::from_secs(8);
        assert!(refused(
            &outcome("faults-fit-the-time-limit", &mut c, Explicit::default()),
            &["--time-limit", "--nemesis none"]
        ));
        c.fault_duration = Duration::ZERO;
        assert!(refused(
            &outcome("faults-fit-the-time-limit", &mut c, Explicit::default()),
            &["--fault-duration 0"]
        ));
        c.nemesis.clear();
        assert_eq!(
            outcome("faults-fit-the-time-limit", &mut c, Explicit::default()),
            RuleOutcome::Fine
        );
    }

    #[test]
    fn a_zero_final_read_time_is_refused() {
        let mut c = test_config();
        c.final_read_time_max = Duration::ZERO;
        assert!(refused(
            &outcome("final-read-time", &mut c, Explicit::default()),
            &["--final-read-time-max 0"]
        ));
    }

    // Goal: all refusals are reported at once, and adjustments are applied before the
    // rules that read them.
    #[test]
    fn apply_rules_reports_every_refusal() {
        let mut c = test_config();
        c.partitions = 0;
        c.concurrency = 0;
        let refusals = apply_rules(&mut c, &Explicit::default()).expect_err("refused");
        let names: Vec<&str> = refusals.iter().map(|r| r.rule).collect();
        assert_eq!(names, ["keys", "clients"]);

        let mut c = test_config();
        c.nodes = 1;
        c.replication_factor = 1;
        c.acks = Acks::Leader;
        let adjusted = apply_rules(&mut c, &Explicit::default()).expect("adjusted");
        assert_eq!(adjusted.len(), 3, "{adjusted:?}");
        assert!(!c.idempotence && c.min_insync_replicas == 1);
        assert!(c.nemesis.iter().all(|w| !is_partition_word(w)));
    }
}
