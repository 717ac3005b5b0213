//! One tiny history per real-time and log rule of the linearizability engines that must
//! be flagged, and a near twin that must not; every case runs through both engines.

mod linear_support;

use checker::history::model::Outcome;
use checker::linear::Engine;
use linear_support::{assert_both, run, Builder};

// Goal: a value cannot be read before its send began. Method: the poll completes before
// the send is invoked; twin: the send is invoked while the poll is still running.
#[test]
fn a_value_read_before_its_send_began_is_flagged() {
    let mut b = Builder::default();
    b.polled(1, &[("x", &[(0, 7)])]);
    b.sent(0, "x", 7, 0);
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    let p = twin.poll(1);
    let s = twin.send(0, "x", 7);
    twin.read(p, &[("x", &[(0, 7)])]);
    twin.acked(s, Some(0));
    assert_both(&twin.history, true);
}

// Goal: a send acknowledged before another began precedes it in the log. Method: the
// later send got the smaller offset; twin: the two sends overlap.
#[test]
fn a_send_acknowledged_before_another_began_precedes_it() {
    let mut b = Builder::default();
    b.sent(0, "x", 1, 1);
    b.sent(1, "x", 2, 0);
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    let a = twin.send(0, "x", 1);
    let c = twin.send(1, "x", 2);
    twin.acked(a, Some(1));
    twin.acked(c, Some(0));
    assert_both(&twin.history, true);
}

// Goal: a poll whose run covers an acknowledged record must contain it. Method: the run
// 0..2 leaves out offset 1; twin: the run starts after offset 1.
#[test]
fn a_poll_covering_an_acknowledged_offset_must_contain_it() {
    let mut b = Builder::default();
    b.sent(0, "x", 10, 0);
    b.sent(0, "x", 11, 1);
    b.sent(0, "x", 12, 2);
    b.polled(1, &[("x", &[(0, 10), (2, 12)])]);
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    twin.sent(0, "x", 10, 0);
    twin.sent(0, "x", 11, 1);
    twin.sent(0, "x", 12, 2);
    twin.polled(1, &[("x", &[(2, 12)])]);
    assert_both(&twin.history, true);
}

// Goal: a poll that read past a send's offset proves the send had happened. Method: the
// poll of offset 2 completes before the send at offset 1 begins (the send at offset 2
// stays pending throughout, so no ack-order rule applies); twin: poll and send overlap.
#[test]
fn a_poll_past_an_offset_precedes_nothing_that_began_later_at_that_offset() {
    let mut b = Builder::default();
    b.sent(0, "x", 10, 0);
    let late = b.send(2, "x", 12);
    b.polled(1, &[("x", &[(2, 12)])]);
    b.sent(0, "x", 11, 1);
    b.acked(late, Some(2));
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    twin.sent(0, "x", 10, 0);
    let late = twin.send(2, "x", 12);
    let p = twin.poll(1);
    let s = twin.send(0, "x", 11);
    twin.read(p, &[("x", &[(2, 12)])]);
    twin.acked(s, Some(1));
    twin.acked(late, Some(2));
    assert_both(&twin.history, true);
}

// Goal: polls do not observe the end of the log. Method: a poll completes, then a send
// appends after what it read; a later poll reads less than an earlier one (another
// consumer position). Both are fine.
#[test]
fn polls_do_not_prove_where_the_log_ended() {
    let mut b = Builder::default();
    b.sent(0, "x", 10, 0);
    b.sent(0, "x", 11, 1);
    b.polled(1, &[("x", &[(0, 10)])]);
    b.polled(2, &[("x", &[(0, 10)])]);
    b.sent(0, "x", 12, 2);
    assert_both(&b.history, true);
}

// Goal: one offset holds one record. Method: two sends acknowledged at offset 0; twin: at
// offsets 0 and 5 (gaps are allowed).
#[test]
fn two_records_at_one_offset_are_flagged_and_gaps_are_not() {
    let mut b = Builder::default();
    b.sent(0, "x", 1, 0);
    b.sent(1, "x", 2, 0);
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    twin.sent(0, "x", 1, 0);
    twin.sent(1, "x", 2, 5);
    twin.polled(2, &[("x", &[(0, 1), (5, 2)])]);
    assert_both(&twin.history, true);
}

// Goal: a poll returns records in log order. Method: swapped records; twin: in order.
#[test]
fn a_poll_out_of_log_order_is_flagged() {
    let mut b = Builder::default();
    b.sent(0, "x", 1, 0);
    b.sent(0, "x", 2, 1);
    b.polled(1, &[("x", &[(1, 2), (0, 1)])]);
    assert_both(&b.history, false);

    let mut twin = Builder::default();
    twin.sent(0, "x", 1, 0);
    twin.sent(0, "x", 2, 1);
    twin.polled(1, &[("x", &[(0, 1), (1, 2)])]);
    assert_both(&twin.history, true);
}

// Goal: an indeterminate send that was read happened, at the offset read, any time after
// its invoke. Method: an info send read later (valid), and one read before its invoke.
#[test]
fn indeterminate_sends_that_were_read_happened() {
    let mut b = Builder::default();
    let s = b.send(0, "x", 1);
    b.ended(s, Outcome::Info);
    b.polled(1, &[("x", &[(0, 1)])]);
    b.sent(2, "x", 2, 1);
    assert_both(&b.history, true);

    let mut bad = Builder::default();
    bad.polled(1, &[("x", &[(3, 1)])]);
    let s = bad.send(0, "x", 1);
    bad.ended(s, Outcome::Info);
    assert_both(&bad.history, false);
}

// Goal: an acknowledgement without an offset takes the offset a poll read it at. Method:
// the poll reads offset 1 before the second send began, while the first (offset unknown)
// was read at 0; twin: reading it at 2 is contradicted by nothing.
#[test]
fn acknowledgements_without_offsets_are_placed_by_reads() {
    let mut b = Builder::default();
    let s = b.send(0, "x", 1);
    b.acked(s, None);
    b.sent(0, "x", 2, 1);
    b.polled(1, &[("x", &[(0, 1), (1, 2)])]);
    assert_both(&b.history, true);

    let mut bad = Builder::default();
    let s = bad.send(0, "x", 1);
    bad.acked(s, None);
    bad.sent(0, "x", 2, 1);
    bad.polled(1, &[("x", &[(1, 2), (2, 1)])]);
    assert_both(&bad.history, false);
}

// Goal: unread indeterminate sends are dropped, so they cannot blow up the search.
// Method: 40 info sends nobody read around a valid log; the search must decide.
#[test]
fn unread_indeterminate_sends_are_dropped() {
    let mut b = Builder::default();
    let mut pending = Vec::new();
    for v in 0..40 {
        pending.push(b.send(100 + v as u64, "x", 1000 + v));
    }
    for v in 0..20 {
        b.sent(0, "x", v, v);
        b.polled(1, &[("x", &[(v, v)])]);
    }
    for p in pending {
        b.ended(p, Outcome::Info);
    }
    assert_both(&b.history, true);
}

// Goal: records no send explains (aborted, phantom) are not a linearizability matter.
// Method: a poll returns a record of a failed send and one never sent.
#[test]
fn records_no_send_explains_are_left_to_other_detectors() {
    let mut b = Builder::default();
    let s = b.send(0, "x", 1);
    b.ended(s, Outcome::Fail);
    b.sent(0, "x", 2, 1);
    b.polled(1, &[("x", &[(0, 1), (1, 2), (2, 99)])]);
    assert_both(&b.history, true);
}

// Goal: witnesses name the operations and the cycle. Method: the read-before-send case.
#[test]
fn the_graph_witness_is_the_cycle_with_typed_edges() {
    let mut b = Builder::default();
    b.polled(1, &[("x", &[(0, 7)])]);
    b.sent(0, "x", 7, 0);
    let out = run(&b.history, Engine::Graph);
    assert_eq!(out.findings.len(), 1);
    let f = &out.findings[0];
    assert_eq!(f.ops, vec![0, 1, 2, 3]);
    assert_eq!(f.key.as_deref(), Some("x"));
    let types: Vec<&str> = f.details["cycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["realtime", "wr"], "{}", f.explanation);
    let searched = run(&b.history, Engine::Search);
    assert_eq!(searched.findings[0].ops, vec![0, 1, 2, 3]);
    assert_eq!(searched.findings[0].details["minimal"], true);
}

// Goal: the search shrinks to a minimal failing sub-history. Method: a violation between
// two operations buried in 200 valid ones; the witness is exactly those two.
#[test]
fn the_search_witness_is_a_minimal_failing_sub_history() {
    let mut b = Builder::default();
    for v in 0..100 {
        b.sent(0, "x", v, v);
        b.polled(1, &[("x", &[(v, v)])]);
    }
    b.polled(2, &[("x", &[(200, 7)])]);
    b.sent(3, "x", 7, 150);
    let out = run(&b.history, Engine::Search);
    assert_eq!(out.findings.len(), 1);
    assert_eq!(
        out.findings[0].details["sub_history"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{}",
        out.findings[0].explanation
    );
}

// Goal: a search out of time makes the outcome unknown, never valid. Method: a time limit
// of zero on a history long enough to reach the search's deadline check.
#[test]
fn the_search_out_of_time_is_unknown() {
    let mut b = Builder::default();
    for v in 0..3_000 {
        b.sent(0, "x", v, v);
    }
    let out = checker::linear::check(
        &b.history,
        &checker::linear::LinearOptions {
            engine: Engine::Search,
            time_limit: std::time::Duration::ZERO,
        },
    );
    assert!(out.unknown && out.findings.is_empty());
}
