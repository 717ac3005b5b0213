//! The explanation of an incident, from rules over its facts: each rule of [`RULES`] reads
//! the incident's findings, witness operations and the partition's sampled state, and
//! either says one sentence naming a mechanism or says nothing. A rule only states what
//! the history and `state.jsonl` show; when no rule fits, the explanation lists the facts
//! and names no cause.
//!
//! | rule | fires when | mechanism |
//! | --- | --- | --- |
//! | `two-leaders` | a lost write was acknowledged while the last sample before showed two nodes claiming the partition | a deposed leader still acting as leader (split brain) |
//! | `hw-past-isr` | a claiming leader's HW rose past the log end of a replica in the ISR it reported, while that replica's log end stood still for at least 1 s | records committed that an in-sync replica did not hold |
//! | `ack-below-min-insync` | a lost write (else any witness send) was acknowledged while a claiming leader reported an ISR smaller than `min.insync.replicas`, in the samples before and after it | acks=all without enough in-sync replicas (Kafka answers NOT_ENOUGH_REPLICAS) |
//! | `ack-above-hw` | under acks=all, a lost write was acknowledged at an offset the highest HW of the next sample (within 1 s) had not passed | acknowledged before it was replicated to the ISR |
//! | `read-above-hw` | a witness poll returned an offset at or above the highest HW of the next sample (within 1 s) | a read of records not yet committed |
//! | `duplicate-across-retry` | a value sent by one operation is stored at two offsets, neither read with another value | a retried batch appended twice (KIP-98 deduplication failed) |
//! | `truncation-after-failover` | acknowledged writes were lost and the leader epoch rose during or within 10 s after the window | the acknowledging log truncated at failover |
//! | `divergent-logs` | offsets read with two values, no lost write there, no read above the HW, and the epoch rose | replicas' logs diverged instead of truncating to the leader (KIP-101) |
//!
//! The HW comparisons read the first sample after the operation: a correct leader's HW
//! only rises, so a HW not past an offset after the operation was not past it during it.
//! The highest HW of any node is used, so a lagging follower's view never fires a rule,
//! and only when the claims to leadership are the same in the samples before and after
//! the operation (across a failover the HW may fall).

use std::collections::{BTreeMap, BTreeSet};

use checker::anomaly::{AnomalyKind, Finding};
use checker::history::model::{
    Function, History, LineIndex, MicroOp, Nanos, Offset, Op, Outcome, Value,
};

use super::facts::{ms, Claim, PartitionStates};
use super::group::TIME_SLACK_NS;

/// A failover up to this long after the window still explains it: a deposed leader's log
/// is truncated when it rejoins, after the partition heals.
pub const FAILOVER_AFTER_NS: Nanos = 10_000_000_000;

/// A poll is compared with the first state sample at most this long after it returned.
pub const HW_SAMPLE_WITHIN_NS: Nanos = 1_000_000_000;

/// What the rules read about one incident.
pub struct Facts<'a> {
    /// The whole history.
    pub history: &'a History,
    /// The incident's findings.
    pub findings: Vec<&'a Finding>,
    /// The key whose partition the state is of.
    pub key: Option<&'a str>,
    /// The incident's window, ns.
    pub start: Nanos,
    /// See `start`.
    pub end: Nanos,
    /// The partition's sampled state, when `state.jsonl` has any.
    pub states: Option<PartitionStates<'a>>,
    /// `min.insync.replicas` of the run, when known.
    pub min_insync_replicas: Option<i32>,
    /// Witness line -> position of its operation in `history.ops`.
    pub ops: &'a BTreeMap<LineIndex, usize>,
    /// Send operations per (key, value), for the values of duplicate findings.
    pub sends_of: &'a BTreeMap<(String, Value), Vec<usize>>,
}

impl<'a> Facts<'a> {
    /// The incident's witness operations (deduplicated, in history order).
    fn witness_ops(&self) -> Vec<&'a Op> {
        let set: BTreeSet<usize> = self
            .findings
            .iter()
            .flat_map(|f| &f.ops)
            .filter_map(|l| self.ops.get(l).copied())
            .collect();
        set.into_iter().map(|i| &self.history.ops[i]).collect()
    }

    fn of_kind(&self, kind: AnomalyKind) -> impl Iterator<Item = &&'a Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    fn key_id(&self) -> Option<checker::history::model::KeyId> {
        self.history.keys.get(self.key?)
    }

    fn partition_name(&self) -> String {
        match self.key {
            Some(k) => format!("partition {k}"),
            None => "the partition".to_owned(),
        }
    }

    /// The first sample, from the window's start to [`FAILOVER_AFTER_NS`] after its end,
    /// where a node claims a higher leader epoch than the oldest claim at the start: the
    /// claim before, the claim after, and when.
    fn failover(&self) -> Option<(Option<Claim>, Claim, Nanos)> {
        let states = self.states?;
        let base = states.at_or_before(self.start)?;
        let top = |c: Vec<Claim>| c.into_iter().max_by_key(|c| c.leader_epoch);
        // With two claims at the start, the older one is the leader being replaced.
        let before = states
            .claims(base)
            .into_iter()
            .min_by_key(|c| c.leader_epoch);
        let base_epoch = before.as_ref().and_then(|c| c.leader_epoch);
        let until = self.end.saturating_add(FAILOVER_AFTER_NS);
        states.between(base.time, until).iter().find_map(|s| {
            let after = top(states.claims(s))?;
            (after.leader_epoch > base_epoch).then(|| (before.clone(), after, s.time))
        })
    }

    /// Each witness poll record at or above the highest HW of the next sample:
    /// `(poll line, offset, hw, sample time)`.
    fn reads_above_hw(&self) -> Vec<(LineIndex, Offset, i64, Nanos)> {
        let (Some(states), Some(key)) = (self.states, self.key_id()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for op in self.witness_ops() {
            let (Function::Poll, Outcome::Ok, false, Some(done)) =
                (op.f, op.outcome, op.is_final, op.complete_time)
            else {
                continue;
            };
            let Some(sample) = hw_sample(states, done) else {
                continue;
            };
            let Some(hw) = states.high_watermark(sample) else {
                continue;
            };
            let top = op
                .mops
                .iter()
                .filter_map(|m| match m {
                    MicroOp::Poll { reads } => Some(reads),
                    MicroOp::Send { .. } => None,
                })
                .flatten()
                .filter(|r| r.key == key)
                .flat_map(|r| r.records.iter().map(|(o, _)| *o))
                .max();
            if let Some(o) = top.filter(|o| *o >= hw) {
                out.push((
                    op.complete_index.unwrap_or(op.invoke_index),
                    o,
                    hw,
                    sample.time,
                ));
            }
        }
        out
    }
}

/// The sample to compare an operation that ended at `t` with the HW: the first one after
/// it (within [`HW_SAMPLE_WITHIN_NS`]), provided the same nodes claim leadership at the
/// same epochs there as in the last sample before it. Across a leader change the HW may
/// fall (a deposed leader stops answering, its successor's HW lags), so the comparison
/// would prove nothing.
fn hw_sample(states: PartitionStates<'_>, t: Nanos) -> Option<&crate::cluster::state::StateSample> {
    let after = states.next_within(t, HW_SAMPLE_WITHIN_NS)?;
    let before = states.at_or_before(t).filter(|s| s.time <= t)?;
    let key = |s| -> Vec<(String, Option<i32>)> {
        states
            .claims(s)
            .into_iter()
            .map(|c| (c.node, c.leader_epoch))
            .collect()
    };
    (key(before) == key(after)).then_some(after)
}

/// One rule: its name (as `results.json` lists it) and its test.
pub struct Rule {
    /// The stable name.
    pub name: &'static str,
    /// The sentence it says about the facts, if it fits.
    pub explain: fn(&Facts<'_>) -> Option<String>,
}

/// Every rule, in the order their sentences appear.
pub const RULES: &[Rule] = &[
    Rule {
        name: "two-leaders",
        explain: two_leaders,
    },
    Rule {
        name: "hw-past-isr",
        explain: hw_past_isr,
    },
    Rule {
        name: "ack-below-min-insync",
        explain: ack_below_min_insync,
    },
    Rule {
        name: "ack-above-hw",
        explain: ack_above_hw,
    },
    Rule {
        name: "read-above-hw",
        explain: read_above_hw,
    },
    Rule {
        name: "duplicate-across-retry",
        explain: duplicate_across_retry,
    },
    Rule {
        name: "truncation-after-failover",
        explain: truncation_after_failover,
    },
    Rule {
        name: "log-shrank-across-restart",
        explain: log_shrank_across_restart,
    },
    Rule {
        name: "divergent-logs",
        explain: divergent_logs,
    },
];

/// The names of the rules that fit and their sentences, in table order.
pub fn apply(facts: &Facts<'_>) -> Vec<(&'static str, String)> {
    RULES
        .iter()
        .filter_map(|r| (r.explain)(facts).map(|s| (r.name, s)))
        .collect()
}

fn secs(t: Nanos) -> String {
    format!("{:.1} s", ms(t) / 1e3)
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn two_leaders(f: &Facts<'_>) -> Option<String> {
    let states = f.states?;
    let from = f.start.saturating_sub(TIME_SLACK_NS);
    let split: Vec<_> = states
        .between(from, f.end.saturating_add(TIME_SLACK_NS))
        .iter()
        .map(|s| (s.time, states.claims(s)))
        .filter(|(_, c)| c.len() >= 2)
        .collect();
    let (first, claims) = split.first()?;
    let during = lost_sends(f)
        .iter()
        .filter_map(|o| states.at_or_before(o.complete_time?))
        .filter(|s| states.claims(s).len() >= 2)
        .count();
    if during == 0 {
        return None;
    }
    let last = split.last().map_or(*first, |(t, _)| *t);
    let names: Vec<String> = claims.iter().map(Claim::describe).collect();
    let who = if names.len() == 2 { "both" } else { "all" };
    let when = if split.len() == 1 {
        format!("1 sample, at {}", secs(*first))
    } else {
        format!(
            "{} samples from {} to {}",
            split.len(),
            secs(*first),
            secs(last)
        )
    };
    Some(format!(
        "{} claimed to lead {} at once ({when}), and {during} of the lost writes were acknowledged while {who} claimed it: two leaders, the one with the older epoch not yet knowing it was deposed",
        if names.len() == 2 { format!("both {}", list(&names)) } else { format!("nodes {}", list(&names)) },
        f.partition_name(),
    ))
}

/// A replica's log end must stand still this long behind the HW for `hw-past-isr`, so
/// that a follower sampled a moment before its leader never looks behind.
pub const STALLED_NS: Nanos = 1_000_000_000;

fn hw_past_isr(f: &Facts<'_>) -> Option<String> {
    let states = f.states?;
    let window = states.between(
        f.start.saturating_sub(TIME_SLACK_NS),
        f.end.saturating_add(TIME_SLACK_NS),
    );
    // (leader, replica) -> (first sample time, the replica's log end then).
    let mut stalled: BTreeMap<(String, String), (Nanos, i64)> = BTreeMap::new();
    for s in window {
        let leo = states.log_end_offsets(s);
        for c in states.claims(s) {
            let Some(hw) = c.high_watermark else { continue };
            for m in c.isr.iter().filter(|m| **m != c.node) {
                let key = (c.node.clone(), m.clone());
                let end = match leo.get(m) {
                    Some(&end) if hw > end => end,
                    _ => {
                        stalled.remove(&key);
                        continue;
                    }
                };
                let (since, at) = *stalled.entry(key.clone()).or_insert((s.time, end));
                if at != end {
                    stalled.insert(key, (s.time, end));
                } else if s.time >= since.saturating_add(STALLED_NS) {
                    return Some(format!(
                        "the high watermark of {}, claiming leadership, was {hw} at {} while {m}, in the ISR it reported, had stood at log end offset {end} since {}: the high watermark passed records an in-sync replica did not hold",
                        c.describe(),
                        secs(s.time),
                        secs(since),
                    ));
                }
            }
        }
    }
    None
}

/// The acknowledged sends of the incident's lost writes.
fn lost_sends<'a>(f: &Facts<'a>) -> Vec<&'a Op> {
    let lost: BTreeSet<LineIndex> = f
        .of_kind(AnomalyKind::LostWrite)
        .flat_map(|x| &x.ops)
        .copied()
        .collect();
    acked_sends(f)
        .into_iter()
        .filter(|o| o.witness().iter().any(|l| lost.contains(l)))
        .collect()
}

fn acked_sends<'a>(f: &Facts<'a>) -> Vec<&'a Op> {
    f.witness_ops()
        .into_iter()
        .filter(|o| o.f == Function::Send && o.outcome == Outcome::Ok)
        .collect()
}

fn ack_below_min_insync(f: &Facts<'_>) -> Option<String> {
    let (states, min) = (f.states?, f.min_insync_replicas?);
    // The lost writes when there are any (those are what the incident is about), else
    // every acknowledged witness send.
    let lost = lost_sends(f);
    let (sends, what) = if lost.is_empty() {
        (acked_sends(f), "acknowledged writes")
    } else {
        (lost, "lost writes")
    };
    // The claimants of a sample whose ISR is below min.insync.replicas.
    let short = |s: &crate::cluster::state::StateSample| -> Vec<Claim> {
        states
            .claims(s)
            .into_iter()
            .filter(|c| (c.isr.len() as i64) < i64::from(min))
            .collect()
    };
    let mut example: Option<Claim> = None;
    let mut below = 0;
    for op in &sends {
        let Some(t) = op.complete_time else { continue };
        let before = states
            .at_or_before(t)
            .filter(|s| s.time <= t)
            .map_or_else(Vec::new, short);
        let after = states
            .next_within(t, HW_SAMPLE_WITHIN_NS)
            .map_or_else(Vec::new, short);
        if let Some(b) = before
            .into_iter()
            .find(|b| after.iter().any(|a| a.node == b.node))
        {
            below += 1;
            example.get_or_insert(b);
        }
    }
    let c = example?;
    Some(format!(
        "{below} of the {} {what} were acknowledged while {}, claiming leadership, reported the ISR [{}] before and after, smaller than min.insync.replicas={min}: acks=all should have been refused (NOT_ENOUGH_REPLICAS)",
        sends.len(),
        c.describe(),
        c.isr.join(", ")
    ))
}

fn ack_above_hw(f: &Facts<'_>) -> Option<String> {
    let states = f.states?;
    if !f.history.guarantees().no_loss {
        return None;
    }
    let key = f.key_id()?;
    let sends = lost_sends(f);
    let mut early: Vec<(LineIndex, Offset, i64, Nanos)> = Vec::new();
    for op in &sends {
        let Some(done) = op.complete_time else {
            continue;
        };
        let Some(s) = hw_sample(states, done) else {
            continue;
        };
        let Some(hw) = states.high_watermark(s) else {
            continue;
        };
        let offset = op.mops.iter().find_map(|m| match m {
            MicroOp::Send {
                key: k,
                offset: Some(o),
                ..
            } if *k == key => Some(*o),
            _ => None,
        });
        if let Some(o) = offset.filter(|o| hw <= *o) {
            early.push((op.complete_index.unwrap_or(op.invoke_index), o, hw, s.time));
        }
    }
    let (line, offset, hw, at) = *early.first()?;
    Some(format!(
        "{} of the {} lost writes were acknowledged at offsets the high watermark had not passed, e.g. op {line} acknowledged offset {offset} while the highest HW any node reported at {} was {hw}: acks=all was answered before the writes were replicated to the ISR",
        early.len(),
        sends.len(),
        secs(at)
    ))
}

fn read_above_hw(f: &Facts<'_>) -> Option<String> {
    let above = f.reads_above_hw();
    let (line, offset, hw, at) = *above.first()?;
    Some(format!(
        "{} poll{} read records at or above the high watermark, e.g. op {line} read offset {offset} while the highest HW any node reported at {} was {hw}: records not yet committed were served to consumers",
        above.len(),
        if above.len() == 1 { "" } else { "s" },
        secs(at)
    ))
}

fn duplicate_across_retry(f: &Facts<'_>) -> Option<String> {
    let key = f.key?;
    let mut once = 0;
    let mut example: Option<(Value, &Op, Vec<Offset>)> = None;
    let diverged = offsets_of_kind(f, AnomalyKind::InconsistentOffsets);
    for d in f.of_kind(AnomalyKind::Duplicate) {
        let Some(value) = d.value else { continue };
        // A value at an offset that also held another value sits in two diverged logs:
        // `divergent-logs` speaks of it, not a retry within one log.
        let at: Vec<Offset> = dup_offsets(f, d, value);
        if at.iter().any(|o| diverged.contains(o)) {
            continue;
        }
        let Some(sends) = f.sends_of.get(&(key.to_owned(), value)) else {
            continue;
        };
        let [only] = sends.as_slice() else { continue };
        once += 1;
        if example.is_none() {
            example = Some((value, &f.history.ops[*only], at));
        }
    }
    let (value, op, offsets) = example?;
    let offsets: Vec<String> = offsets.iter().map(i64::to_string).collect();
    let session = op
        .producer
        .map_or(String::new(), |p| format!(", producer session {p}"));
    let why = if f.history.guarantees().no_duplicates {
        "a retry of its batch was appended again instead of being deduplicated by producer id and sequence number (KIP-98)"
    } else {
        "a retry of its batch was appended again (without the idempotent producer, nothing deduplicates retries)"
    };
    Some(format!(
        "{once} duplicated value{} {} sent by a single operation, e.g. value {value} (op {}{session}, {}) is stored at offsets {}: {why}",
        if once == 1 { "" } else { "s" },
        if once == 1 { "was" } else { "were each" },
        op.complete_index.unwrap_or(op.invoke_index),
        op.outcome.name(),
        list(&offsets),
    ))
}

/// The offsets a duplicate finding's witnesses show `value` at, ascending.
fn dup_offsets(f: &Facts<'_>, d: &Finding, value: Value) -> Vec<Offset> {
    let set: BTreeSet<Offset> = d
        .ops
        .iter()
        .filter_map(|l| f.ops.get(l))
        .flat_map(|&i| offsets_of(&f.history.ops[i], value))
        .collect();
    set.into_iter().collect()
}

/// The offsets `op` shows `value` at.
fn offsets_of(op: &Op, value: Value) -> Vec<Offset> {
    let mut out = Vec::new();
    for m in &op.mops {
        match m {
            MicroOp::Send {
                value: v,
                offset: Some(o),
                ..
            } if *v == value => out.push(*o),
            MicroOp::Poll { reads } => out.extend(
                reads
                    .iter()
                    .flat_map(|r| &r.records)
                    .filter(|(_, v)| *v == value)
                    .map(|(o, _)| *o),
            ),
            _ => {}
        }
    }
    out
}

fn offsets_of_kind(f: &Facts<'_>, kind: AnomalyKind) -> BTreeSet<Offset> {
    f.of_kind(kind).filter_map(|x| x.offset).collect()
}

fn moved(before: &Option<Claim>, after: &Claim, at: Nanos) -> String {
    match before {
        Some(b) if b.node != after.node => format!(
            "leadership moved from {} to {} at {}",
            b.describe(),
            after.describe(),
            secs(at)
        ),
        _ => format!(
            "the leader epoch rose to {} at {}",
            after.describe(),
            secs(at)
        ),
    }
}

fn range(offsets: &BTreeSet<Offset>) -> String {
    match (offsets.first(), offsets.last()) {
        (Some(a), Some(b)) if a != b => format!("offsets {a}–{b}"),
        (Some(a), _) => format!("offset {a}"),
        _ => "unknown offsets".to_owned(),
    }
}

fn truncation_after_failover(f: &Facts<'_>) -> Option<String> {
    let lost = offsets_of_kind(f, AnomalyKind::LostWrite);
    let n = f.of_kind(AnomalyKind::LostWrite).count();
    if n == 0 {
        return None;
    }
    let (before, after, at) = f.failover()?;
    let reused = lost
        .intersection(&offsets_of_kind(f, AnomalyKind::InconsistentOffsets))
        .count();
    let reused = if reused > 0 {
        format!(" ({reused} of those offsets later held other values)")
    } else {
        String::new()
    };
    let mut out = format!(
        "{n} acknowledged write{} at {} {} later absent{reused}: the log that acknowledged them was truncated after {}",
        if n == 1 { "" } else { "s" },
        range(&lost),
        if n == 1 { "was" } else { "were" },
        moved(&before, &after, at),
    );
    if let Some(c) = acked_before_replication(f, &after) {
        out.push_str(&c);
    }
    Some(out)
}

/// When every lost write was acknowledged by a single claiming leader whose ISR named
/// the node that later led without them: acknowledged before that replica had them.
fn acked_before_replication(f: &Facts<'_>, after: &Claim) -> Option<String> {
    let states = f.states?;
    let sends = lost_sends(f);
    let mut acker: Option<Claim> = None;
    for op in &sends {
        let s = states.at_or_before(op.complete_time?)?;
        let [c] = states.claims(s).try_into().ok()?;
        if c.node == after.node || !c.isr.contains(&after.node) {
            return None;
        }
        acker.get_or_insert(c);
    }
    let c = acker?;
    Some(format!(
        "; {} was in the ISR that {} reported when they were acknowledged, so they were acknowledged before that replica had them",
        after.node,
        c.describe()
    ))
}

/// A node killed (SIGKILL) and started again whose own log of the partition ended lower
/// after the restart than before the kill, below a lost write its log had held (an
/// offset `o` with `after <= o < before`): its log recovery dropped records it had
/// written. A kill keeps the page cache, so Kafka's
/// recovery re-reads every segment past the recovery point and keeps each valid batch;
/// a log that comes back shorter lost data the broker had, not data it never got.
fn log_shrank_across_restart(f: &Facts<'_>) -> Option<String> {
    let lost = offsets_of_kind(f, AnomalyKind::LostWrite);
    let states = f.states?;
    let events = &f.history.nemesis;
    let mut shrunk = Vec::new();
    for (i, kill) in events.iter().enumerate() {
        if kill.f != "kill" || kill.time > f.end {
            continue;
        }
        let nodes: Vec<String> = serde_json::from_value(kill.value.clone()).unwrap_or_default();
        for node in nodes {
            let restart = events[i + 1..].iter().find(|e| {
                matches!(e.f.as_str(), "start" | "node-started")
                    && e.value
                        .as_array()
                        .is_some_and(|v| v.iter().any(|n| n == &node))
            });
            let Some(restart) = restart else { continue };
            let before = states
                .between(0, kill.time)
                .iter()
                .rev()
                .find_map(|s| states.log_end_offsets(s).get(&node).copied());
            let after = states
                .between(restart.time, u64::MAX)
                .iter()
                .find_map(|s| states.log_end_offsets(s).get(&node).copied());
            if let (Some(before), Some(after)) = (before, after) {
                if after < before && lost.range(after..before).next().is_some() {
                    shrunk.push(format!(
                        "killed at {} with its log of the partition ending at offset {before}, {node} came back at {} with it ending at {after}",
                        secs(kill.time),
                        secs(restart.time)
                    ));
                }
            }
        }
    }
    if shrunk.is_empty() {
        return None;
    }
    let n = f.of_kind(AnomalyKind::LostWrite).count();
    Some(format!(
        "{}: log recovery after the crash dropped records the broker had written (a kill keeps the page cache, so recovery should keep every valid batch), below {n} acknowledged write{} at {} later absent",
        shrunk.join("; "),
        if n == 1 { "" } else { "s" },
        range(&lost),
    ))
}

fn divergent_logs(f: &Facts<'_>) -> Option<String> {
    let lost = offsets_of_kind(f, AnomalyKind::LostWrite);
    let diverged: BTreeSet<Offset> = offsets_of_kind(f, AnomalyKind::InconsistentOffsets)
        .difference(&lost)
        .copied()
        .collect();
    if diverged.is_empty() || !f.reads_above_hw().is_empty() {
        return None;
    }
    let (before, after, at) = f.failover()?;
    let twice = f
        .of_kind(AnomalyKind::Duplicate)
        .filter(|d| {
            d.value
                .is_some_and(|v| dup_offsets(f, d, v).iter().any(|o| diverged.contains(o)))
        })
        .count();
    let twice = match twice {
        0 => String::new(),
        1 => "; 1 value is stored at two offsets, one in each log".to_owned(),
        n => format!("; {n} values are stored at two offsets, one in each log"),
    };
    Some(format!(
        "{} offset{} ({}) held different values for different reads, with no acknowledged write lost there, after {}: the replicas' logs diverged, one keeping records the leader's log did not have instead of truncating to it (KIP-101){twice}",
        diverged.len(),
        if diverged.len() == 1 { "" } else { "s" },
        range(&diverged),
        moved(&before, &after, at),
    ))
}
