//! The search engine on its second model, a read/write register: the classic histories of
//! the linearizability literature, one that must pass and a near twin that must not.

use std::time::{Duration, Instant};

use checker::linear::search::model::{Call, Model};
use checker::linear::search::register::{RegisterCall, RegisterModel, RegisterOp};
use checker::linear::search::wgl::{search, SearchResult};

fn call(register: &str, op: RegisterOp, call: u64, ret: Option<u64>) -> RegisterCall {
    RegisterCall {
        register: register.to_owned(),
        call: Call {
            op,
            call,
            ret,
            origin: None,
        },
    }
}

fn decide(calls: &[RegisterCall]) -> Vec<(String, SearchResult)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    RegisterModel::partition(calls)
        .into_iter()
        .map(|p| (p.name.clone(), search(&p.model, &p.calls, deadline)))
        .collect()
}

use RegisterOp::{Read, Write};

// Goal: a read concurrent with a write may see either value. Method: W(1) overlaps R(0)
// and R(1); twin: a read that begins after the write completed sees the old value.
#[test]
fn concurrent_reads_may_see_either_value_but_not_stale_after_completion() {
    let ok = [
        call("a", Write(1), 0, Some(10)),
        call("a", Read(0), 1, Some(2)),
        call("a", Read(1), 3, Some(4)),
    ];
    assert_eq!(
        decide(&ok),
        vec![("a".to_owned(), SearchResult::Linearizable)]
    );
    let stale = [
        call("a", Write(1), 0, Some(1)),
        call("a", Read(0), 2, Some(3)),
    ];
    assert_eq!(
        decide(&stale),
        vec![("a".to_owned(), SearchResult::Nonlinearizable)]
    );
}

// Goal: no new-old inversion. Method: a read sees 1, a later read sees the initial 0;
// twin: the second read overlaps the first.
#[test]
fn a_later_read_cannot_go_back_to_an_older_value() {
    let inverted = [
        call("a", Write(1), 0, Some(100)),
        call("a", Read(1), 1, Some(2)),
        call("a", Read(0), 3, Some(4)),
    ];
    assert_eq!(decide(&inverted)[0].1, SearchResult::Nonlinearizable);
    let overlapping = [
        call("a", Write(1), 0, Some(100)),
        call("a", Read(1), 1, Some(4)),
        call("a", Read(0), 2, Some(3)),
    ];
    assert_eq!(decide(&overlapping)[0].1, SearchResult::Linearizable);
}

// Goal: a write that never returned may or may not take effect. Method: an open write of
// 2 explains a read of 2, and also a history where nobody reads it.
#[test]
fn an_open_write_may_take_effect_late_or_never() {
    let seen = [call("a", Write(2), 0, None), call("a", Read(2), 5, Some(6))];
    assert_eq!(decide(&seen)[0].1, SearchResult::Linearizable);
    let unseen = [call("a", Write(2), 0, None), call("a", Read(0), 5, Some(6))];
    assert_eq!(decide(&unseen)[0].1, SearchResult::Linearizable);
}

// Goal: registers are independent (P-compositionality). Method: one valid and one invalid
// register in one input; each is judged alone.
#[test]
fn registers_are_partitioned_and_judged_alone() {
    let calls = [
        call("a", Write(1), 0, Some(1)),
        call("b", Write(1), 0, Some(1)),
        call("a", Read(1), 2, Some(3)),
        call("b", Read(7), 2, Some(3)),
    ];
    assert_eq!(
        decide(&calls),
        vec![
            ("a".to_owned(), SearchResult::Linearizable),
            ("b".to_owned(), SearchResult::Nonlinearizable)
        ]
    );
}

// Goal: the time limit answers unknown instead of running on. Method: a deadline already
// passed, on a history long enough to reach the first deadline check.
#[test]
fn a_passed_deadline_answers_unknown() {
    let mut calls = Vec::new();
    for i in 0..5_000u64 {
        calls.push(call("a", Write(i as i64), 2 * i, Some(2 * i + 1)));
    }
    let parts = RegisterModel::partition(&calls);
    let result = search(&parts[0].model, &parts[0].calls, Instant::now());
    assert_eq!(result, SearchResult::Unknown);
}
