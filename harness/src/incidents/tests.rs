//! One test per explanation rule, each on a small history with state samples, with a near
//! twin where the rule must stay silent; and the end-to-end grouping of real findings.

use serde_json::json;

use super::testing::{node, sample, with_leo, Hist};
use super::*;
use crate::cluster::state::StateSample;

fn incidents_of(h: &Hist, states: &[StateSample], min_insync: Option<i32>) -> Vec<Incident> {
    let history = h.build();
    let result = checker::check::check(&history, &checker::check::CheckOptions::default());
    let run = RunFacts {
        states,
        min_insync_replicas: min_insync,
    };
    find(&result, &history, &run)
}

/// n1 leads partition 0 at epoch 3 with the ISR `isr` and HW `hw`.
fn n1_leads(t_ms: u64, isr: &[i32], hw: i64) -> StateSample {
    sample(
        t_ms,
        vec![
            node("n1", 1, Some((1, 3, isr, hw))),
            node("n2", 2, Some((1, 3, isr, hw))),
            node("n3", 3, Some((1, 3, isr, hw))),
        ],
    )
}

/// n2 leads partition 0 at epoch 4 with ISR {n2, n3} and HW `hw`; n1 does not answer.
fn n2_leads(t_ms: u64, hw: i64) -> StateSample {
    sample(
        t_ms,
        vec![
            node("n1", 1, None),
            node("n2", 2, Some((2, 4, &[2, 3], hw))),
            node("n3", 3, Some((2, 4, &[2, 3], hw))),
        ],
    )
}

/// A complete final read of key 0 returning `records`, at `t` ms.
fn final_read(h: &mut Hist, records: &[(i64, i64)], t: u64) {
    h.assign(90, t, true).poll(90, records, t + 1, t + 2, true);
}

/// Lost writes 2 and 3 at offsets 1 and 2, acknowledged by one leader (n1, ISR of all
/// three) at 1 s; 5 and 6 at the same offsets after n2 took over at 5 s.
fn truncated_history() -> Hist {
    let mut h = Hist::header();
    h.send(0, 1, 0, 100, 200)
        .send(0, 2, 1, 1000, 1100)
        .send(0, 3, 2, 1200, 1300)
        .send(1, 5, 1, 6000, 6100)
        .send(1, 6, 2, 6200, 6300)
        .send(1, 7, 3, 6400, 6500);
    final_read(&mut h, &[(0, 1), (1, 5), (2, 6), (3, 7)], 9000);
    h
}

// Goal: a history without findings gives no incident, also with state samples. Method:
// three sends, all read back by a complete final read.
#[test]
fn no_findings_no_incident() {
    let mut h = Hist::header();
    h.send(0, 1, 0, 100, 200).send(0, 2, 1, 300, 400);
    final_read(&mut h, &[(0, 1), (1, 2)], 1000);
    let states = [n1_leads(0, &[1, 2, 3], 2)];
    assert!(incidents_of(&h, &states, Some(2)).is_empty());
}

// Goal: `two-leaders` fires when two nodes claim the partition in one sample, and
// truncation is named; the twin without the overlapping claim names no split brain.
// Method: the zombie shape: n1 cut off at 2 s keeps claiming epoch 3 while n2 claims
// epoch 4, n1 acknowledges 2 and 3 at offsets 1 and 2, n2 writes 5 and 6 there.
#[test]
fn two_leaders_at_once() {
    let mut h = Hist::header();
    h.send(0, 1, 0, 100, 200)
        .nemesis(2000, "start-partition", json!({"n1": ["n2", "n3"]}))
        .send(0, 2, 1, 3000, 3100)
        .send(0, 3, 2, 3200, 3300)
        .send(1, 5, 1, 3400, 3500)
        .send(1, 6, 2, 3600, 3700)
        .send(1, 7, 3, 3800, 3900)
        .nemesis(7000, "stop-partition", json!(null));
    final_read(&mut h, &[(0, 1), (1, 5), (2, 6), (3, 7)], 9000);
    let both = sample(
        3000,
        vec![
            node("n1", 1, Some((1, 3, &[1, 2, 3], 1))),
            node("n2", 2, Some((2, 4, &[2, 3], 1))),
            node("n3", 3, Some((2, 4, &[2, 3], 1))),
        ],
    );
    let states = vec![n1_leads(0, &[1, 2, 3], 1), both, n2_leads(8000, 4)];
    let got = incidents_of(&h, &states, None);
    assert_eq!(got.len(), 1, "{got:#?}");
    let i = &got[0];
    assert!(i.rules.contains(&"two-leaders"), "{:?}", i.rules);
    assert!(
        i.rules.contains(&"truncation-after-failover"),
        "{:?}",
        i.rules
    );
    assert!(
        i.explanation
            .contains("Both n1 (epoch 3) and n2 (epoch 4) claimed to lead partition 0 at once (1 sample, at 3.0 s)"),
        "{}",
        i.explanation
    );
    assert!(
        i.explanation
            .contains("during partition n1 | n2, n3 (2.0 s–7.0 s)"),
        "{}",
        i.explanation
    );
    assert!(
        !i.explanation.contains("before that replica had them"),
        "{}",
        i.explanation
    );
    assert_eq!(i.offsets, Some([1, 2]));
    assert_eq!(i.faults.len(), 1);
    let twin = vec![
        n1_leads(0, &[1, 2, 3], 1),
        n2_leads(3000, 1),
        n2_leads(8000, 4),
    ];
    let got = incidents_of(&h, &twin, None);
    assert!(
        got.iter().all(|i| !i.rules.contains(&"two-leaders")),
        "{got:#?}"
    );
}

// Goal: `ack-below-min-insync` fires when acknowledged witness sends completed while the
// leader reported an ISR below min.insync.replicas, and not when min.insync is met or
// unknown. Method: the truncated history with n1's ISR shrunk to itself.
#[test]
fn ack_with_isr_below_min_insync() {
    let h = truncated_history();
    let states = vec![
        n1_leads(0, &[1], 1),
        n1_leads(1500, &[1], 3),
        n2_leads(5000, 4),
    ];
    let got = incidents_of(&h, &states, Some(2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].rules.contains(&"ack-below-min-insync"),
        "{:?}",
        got[0].rules
    );
    assert!(
        got[0].explanation.contains(
            "2 of the 2 lost writes were acknowledged while n1 (epoch 3), claiming leadership, reported the ISR [n1] before and after, smaller than min.insync.replicas=2"
        ),
        "{}",
        got[0].explanation
    );
    for min in [Some(1), None] {
        let got = incidents_of(&h, &states, min);
        assert!(!got[0].rules.contains(&"ack-below-min-insync"), "{min:?}");
    }
    // The ISR grew back before the next sample: the ack may have waited for it.
    let regrown = vec![
        n1_leads(0, &[1], 1),
        n1_leads(1500, &[1, 2], 3),
        n2_leads(5000, 4),
    ];
    let got = incidents_of(&h, &regrown, Some(2));
    assert!(!got[0].rules.contains(&"ack-below-min-insync"));
}

// Goal: `ack-above-hw` fires when lost writes were acknowledged at offsets the HW of the
// next sample had not passed, and not when the HW had passed them. Method: the truncated
// history (offsets 1 and 2 acknowledged by 1.3 s) with the HW at 1.5 s at 1 (twin: 3).
#[test]
fn ack_above_the_high_watermark() {
    let h = truncated_history();
    let states = |hw| {
        vec![
            n1_leads(0, &[1, 2, 3], 1),
            n1_leads(1500, &[1, 2, 3], hw),
            n2_leads(5000, 4),
        ]
    };
    let got = incidents_of(&h, &states(1), Some(2));
    assert!(got[0].rules.contains(&"ack-above-hw"), "{:?}", got[0].rules);
    assert!(
        got[0].explanation.contains(
            "2 of the 2 lost writes were acknowledged at offsets the high watermark had not passed, e.g. op 3 acknowledged offset 1 while the highest HW any node reported at 1.5 s was 1"
        ),
        "{}",
        got[0].explanation
    );
    let got = incidents_of(&h, &states(3), Some(2));
    assert!(
        !got[0].rules.contains(&"ack-above-hw"),
        "{:?}",
        got[0].rules
    );
}

/// Offset 2 read holding 3 (sent `info`) at 2.1 s, then holding 4 after n2 took over;
/// the HW sampled at 2.5 s is `hw`.
fn reread_history(hw: i64) -> (Hist, Vec<StateSample>) {
    let mut h = Hist::header();
    h.send(0, 1, 0, 100, 200).send(0, 2, 1, 300, 400);
    h.poll(1, &[(0, 1), (1, 2), (2, 3)], 2000, 2100, false);
    h.send(0, 4, 2, 3500, 3600);
    final_read(&mut h, &[(0, 1), (1, 2), (2, 4)], 9000);
    let states = vec![
        n1_leads(0, &[1, 2, 3], 2),
        n1_leads(2500, &[1, 2, 3], hw),
        n2_leads(3000, 3),
    ];
    (h, states)
}

// Goal: `read-above-hw` fires when a poll returned an offset at or above the highest HW
// of the next sample, and not when the HW covered it. Method: a poll reads offset 2 with
// the HW at 2 (twins: 3, or a new leader in the sample after the poll).
#[test]
fn read_above_the_high_watermark() {
    let (h, states) = reread_history(2);
    let got = incidents_of(&h, &states, Some(2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0].rules,
        vec!["read-above-hw"],
        "{}",
        got[0].explanation
    );
    assert!(
        got[0]
            .explanation
            .contains("read offset 2 while the highest HW any node reported at 2.5 s was 2"),
        "{}",
        got[0].explanation
    );
    let (h, states) = reread_history(3);
    let got = incidents_of(&h, &states, Some(2));
    assert!(
        !got[0].rules.contains(&"read-above-hw"),
        "{:?}",
        got[0].rules
    );
    // Leadership changed between the poll and the sample: that HW proves nothing.
    let (h, mut states) = reread_history(2);
    states[1] = n2_leads(2500, 2);
    let got = incidents_of(&h, &states, Some(2));
    assert!(
        !got[0].rules.contains(&"read-above-hw"),
        "{:?}",
        got[0].rules
    );
}

// Goal: `divergent-logs` fires for offsets read with two values, without loss and
// without a read above the HW, across a failover; not without the failover. Method: the
// re-read history with the HW covering the first read (twin: n1 leads throughout).
#[test]
fn divergent_logs_after_failover() {
    let (h, states) = reread_history(3);
    let got = incidents_of(&h, &states, Some(2));
    assert_eq!(
        got[0].rules,
        vec!["divergent-logs"],
        "{}",
        got[0].explanation
    );
    assert!(
        got[0]
            .explanation
            .contains("leadership moved from n1 (epoch 3) to n2 (epoch 4) at 3.0 s"),
        "{}",
        got[0].explanation
    );
    let steady = vec![n1_leads(0, &[1, 2, 3], 3)];
    let got = incidents_of(&h, &steady, Some(2));
    assert!(got[0].rules.is_empty(), "{:?}", got[0].rules);
}

// Goal: `duplicate-across-retry` fires for a value sent by one operation and stored at
// two offsets, naming its producer session, and not when one of those offsets was read
// with another value. Method: value 7 acknowledged at offset 0 by session 3 and read at
// offsets 0 and 1.
#[test]
fn duplicate_across_a_retry() {
    let mut h = Hist::header();
    h.send(3, 7, 0, 100, 200).send(3, 8, 2, 300, 400);
    h.poll(1, &[(0, 7), (1, 7), (2, 8)], 500, 600, false);
    final_read(&mut h, &[(0, 7), (1, 7), (2, 8)], 900);
    let got = incidents_of(&h, &[n1_leads(0, &[1, 2, 3], 3)], Some(2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].rules.contains(&"duplicate-across-retry"),
        "{:?}",
        got[0].rules
    );
    assert!(
        got[0]
            .explanation
            .contains("value 7 (op 1, producer session 3, ok) is stored at offsets 0 and 1"),
        "{}",
        got[0].explanation
    );
    assert!(
        got[0].explanation.contains("KIP-98"),
        "{}",
        got[0].explanation
    );
    // Twin: offset 1 is also read holding 9, so the two copies sit in two diverged logs,
    // not one log that appended a retry twice.
    let mut h = Hist::header();
    h.send(3, 7, 0, 100, 200).send(3, 8, 2, 300, 400);
    h.poll(1, &[(0, 7), (1, 7), (2, 8)], 500, 600, false);
    h.poll(2, &[(0, 7), (1, 9), (2, 8)], 700, 800, false);
    final_read(&mut h, &[(0, 7), (1, 7), (2, 8)], 900);
    let got = incidents_of(&h, &[n1_leads(0, &[1, 2, 3], 3)], Some(2));
    assert!(
        got.iter()
            .all(|i| !i.rules.contains(&"duplicate-across-retry")),
        "{got:#?}"
    );
}

// Goal: `truncation-after-failover` fires for lost writes when the epoch rose, and says
// they were acknowledged before the next leader had them when it was in the sole leader's
// ISR; without the failover no rule fires and only the facts are listed. Method: the
// truncated history, with a failover at 5 s (twin: none).
#[test]
fn truncation_after_failover() {
    let h = truncated_history();
    let states = vec![n1_leads(0, &[1, 2, 3], 1), n2_leads(5000, 4)];
    let got = incidents_of(&h, &states, Some(2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].rules, vec!["truncation-after-failover"]);
    let e = &got[0].explanation;
    assert!(
        e.contains("2 acknowledged writes at offsets 1–2 were later absent (2 of those offsets later held other values)"),
        "{e}"
    );
    assert!(
        e.contains("leadership moved from n1 (epoch 3) to n2 (epoch 4) at 5.0 s"),
        "{e}"
    );
    assert!(
        e.contains("n2 was in the ISR that n1 (epoch 3) reported"),
        "{e}"
    );
    let steady = vec![n1_leads(0, &[1, 2, 3], 4)];
    let got = incidents_of(&h, &steady, Some(2));
    assert!(got[0].rules.is_empty());
    assert!(
        got[0].explanation.contains("No rule explains it; the facts: n1 (epoch 3) claimed leadership at the start and n1 (epoch 3) at the end"),
        "{}",
        got[0].explanation
    );
}

// Goal: without state samples nothing is invented, and findings of two events apart in
// time make two incidents whose windows leave out the final read. Method: the truncated
// history plus a duplicate 20 s later, checked as a bare history.
#[test]
fn bare_history_lists_facts_and_separates_events() {
    let mut h = truncated_history();
    h.send(2, 20, 4, 20_000, 20_100);
    h.poll(3, &[(4, 20), (5, 20)], 20_200, 20_300, false);
    let got = incidents_of(&h, &[], None);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got
        .iter()
        .all(|i| i.state_start.is_none() && i.leader_changes.is_empty()));
    assert!(got[0].rules.is_empty(), "{:?}", got[0].rules);
    // The duplicate's rule reads only the history.
    assert_eq!(got[1].rules, vec!["duplicate-across-retry"]);
    assert!(
        got[0].explanation.contains("no cluster state was sampled"),
        "{}",
        got[0].explanation
    );
    // The lost writes' sends and the later sends at their offsets; not the final read.
    assert_eq!(got[0].window_ms, [1000.0, 6300.0]);
    assert!(got[0].counts.contains_key("lost-write"));
    assert!(got[1].counts.contains_key("duplicate"));
    let lines = summary_lines(&got, 1);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], "and 1 more (see results.json)");
}

/// n1 leads at epoch 3 with every node in its ISR and HW `hw`; the followers' log ends
/// are `n2` and `n3`.
fn leader_ahead(t_ms: u64, hw: i64, n2: i64, n3: i64) -> StateSample {
    let all: &[i32] = &[1, 2, 3];
    sample(
        t_ms,
        vec![
            with_leo(node("n1", 1, Some((1, 3, all, hw))), hw),
            with_leo(node("n2", 2, Some((1, 3, all, 0))), n2),
            with_leo(node("n3", 3, Some((1, 3, all, 0))), n3),
        ],
    )
}

// Goal: `hw-past-isr` fires when the leader's HW passed the log end of a replica in its
// ISR that stood still for a second, and not when the replicas caught up. Method: the
// truncated history; n1's HW at 3 from 1 s while n2 and n3 stay at 1 (twin: both reach 3
// by 2 s).
#[test]
fn high_watermark_past_an_in_sync_replica() {
    let h = truncated_history();
    let stuck = vec![
        leader_ahead(0, 1, 1, 1),
        leader_ahead(1000, 3, 1, 1),
        leader_ahead(2000, 3, 1, 1),
        n2_leads(5000, 4),
    ];
    let got = incidents_of(&h, &stuck, Some(2));
    assert!(got[0].rules.contains(&"hw-past-isr"), "{:?}", got[0].rules);
    assert!(
        got[0].explanation.contains(
            "The high watermark of n1 (epoch 3), claiming leadership, was 3 at 2.0 s while n2, in the ISR it reported, had stood at log end offset 1 since 1.0 s"
        ),
        "{}",
        got[0].explanation
    );
    let caught_up = vec![
        leader_ahead(0, 1, 1, 1),
        leader_ahead(1000, 3, 1, 1),
        leader_ahead(2000, 3, 3, 3),
        n2_leads(5000, 4),
    ];
    let got = incidents_of(&h, &caught_up, Some(2));
    assert!(!got[0].rules.contains(&"hw-past-isr"), "{:?}", got[0].rules);
}

// Goal: two claims alone explain nothing: `two-leaders` needs a lost write acknowledged
// while both claimed. Method: the re-read history (no lost write) with n1 and n2 both
// claiming at 2.5 s.
#[test]
fn two_claims_without_lost_writes_are_no_split_brain() {
    let (h, mut states) = reread_history(3);
    states[1] = sample(
        2500,
        vec![
            node("n1", 1, Some((1, 3, &[1, 2, 3], 3))),
            node("n2", 2, Some((2, 4, &[2, 3], 3))),
        ],
    );
    let got = incidents_of(&h, &states, Some(2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(!got[0].rules.contains(&"two-leaders"), "{:?}", got[0].rules);
}

// Goal: `log-shrank-across-restart` fires when a killed node's own log comes back shorter
// than it was, at or below the first lost write (the recovery-drops-tail shape), and
// stays silent when the restarted log kept its records. Method: n1 alone in the ISR
// acknowledges offsets 0-2, is killed at 2 s with its log ending at 3, restarts at 3 s
// with it ending at 1 and writes 5 and 6 at offsets 1 and 2; the twin comes back at 3.
#[test]
fn a_log_shorter_after_a_restart_is_named() {
    let history = |_: ()| {
        let mut h = Hist::header();
        h.send(0, 1, 0, 100, 200)
            .send(0, 2, 1, 300, 400)
            .send(0, 3, 2, 500, 600)
            .nemesis(2000, "kill", json!(["n1"]))
            .nemesis(3000, "start", json!(["n1"]))
            .send(1, 5, 1, 4000, 4100)
            .send(1, 6, 2, 4200, 4300);
        final_read(&mut h, &[(0, 1), (1, 5), (2, 6)], 9000);
        h
    };
    let alone = |t_ms: u64, leo: i64| {
        sample(
            t_ms,
            vec![
                with_leo(node("n1", 1, Some((1, 3, &[1], 3))), leo),
                node("n2", 2, None),
                node("n3", 3, None),
            ],
        )
    };
    let shrunk = [alone(1500, 3), alone(3500, 1)];
    let got = incidents_of(&history(()), &shrunk, Some(1));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].rules.contains(&"log-shrank-across-restart"),
        "{:?}",
        got[0].rules
    );
    let e = &got[0].explanation;
    assert!(
        e.contains("Killed at 2.0 s with its log of the partition ending at offset 3, n1 came back at 3.0 s with it ending at 1: log recovery after the crash dropped records the broker had written"),
        "{e}"
    );
    assert!(
        e.contains("2 acknowledged writes at offsets 1–2 later absent"),
        "{e}"
    );

    let kept = [alone(1500, 3), alone(3500, 3)];
    let got = incidents_of(&history(()), &kept, Some(1));
    assert!(
        got.iter()
            .all(|i| !i.rules.contains(&"log-shrank-across-restart")),
        "{got:#?}"
    );
}
