use nemesis::{Fault, TimedFault};

use super::*;

fn kill(node: &str, start_s: u64, stop_s: u64) -> TimedFault {
    TimedFault {
        start_ms: start_s * 1000,
        stop_ms: stop_s * 1000,
        fault: Fault::Kill(vec![node.to_string()]),
    }
}

fn pause(node: &str, start_s: u64, stop_s: u64) -> TimedFault {
    TimedFault {
        start_ms: start_s * 1000,
        stop_ms: stop_s * 1000,
        fault: Fault::Pause(vec![node.to_string()]),
    }
}

/// Seven faults over a 60 s main phase; the failure needs the kill of n2 and the pause
/// of n3 (planted at positions 2 and 5).
fn original() -> Candidate {
    Candidate {
        faults: vec![
            kill("n1", 2, 9),
            pause("n1", 11, 18),
            kill("n2", 20, 27),
            pause("n2", 29, 36),
            kill("n3", 38, 45),
            pause("n3", 47, 54),
            kill("n1", 55, 59),
        ],
        time_limit_ms: 60_000,
    }
}

fn has(c: &Candidate, fault: &Fault) -> Option<u64> {
    c.faults
        .iter()
        .find(|f| &f.fault == fault)
        .map(|f| f.stop_ms - f.start_ms)
}

/// The planted failure: both faults present, the kill lasting at least 3 s, the main
/// phase outlasting every fault.
fn planted(c: &Candidate) -> bool {
    let kill_n2 = has(c, &Fault::Kill(vec!["n2".into()]));
    let pause_n3 = has(c, &Fault::Pause(vec!["n3".into()]));
    let inside = c.faults.iter().all(|f| f.stop_ms <= c.time_limit_ms);
    kill_n2.is_some_and(|ms| ms >= 3_000) && pause_n3.is_some() && inside
}

// Goal: the search finds exactly the planted pair, halves the windows as far as the
// failure allows, moves the timeline to 2 s and cuts the main phase to 2 s after the last
// heal, never asking the same candidate twice (method: a deterministic oracle).
#[test]
fn finds_the_needed_faults_and_the_shortest_phase() {
    let mut asked: Vec<Candidate> = Vec::new();
    let outcome = shrink(original(), |_, c| {
        assert!(!asked.contains(c), "asked twice: {c:?}");
        asked.push(c.clone());
        Some(planted(c))
    });
    assert!(!outcome.budget_spent);
    let minimal = outcome.minimal.expect("the original reproduces");
    assert_eq!(minimal.faults.len(), 2, "{minimal:?}");
    assert_eq!(minimal.faults[0].fault, Fault::Kill(vec!["n2".into()]));
    // 7 s halved once to 3.5 s (1.75 s would lose the failure); the pause down to 1.75 s.
    assert_eq!(
        minimal.faults[0].stop_ms - minimal.faults[0].start_ms,
        3_500
    );
    assert_eq!(
        minimal.faults[1].stop_ms - minimal.faults[1].start_ms,
        1_750
    );
    assert_eq!(minimal.faults[0].start_ms, 2_000);
    let last = minimal.faults.iter().map(|f| f.stop_ms).max().unwrap();
    assert_eq!(minimal.time_limit_ms, (last + 2_000).div_ceil(1000) * 1000);
    assert!(planted(&minimal));
    assert!(asked.len() < 30, "{} runs", asked.len());
}

// Goal: an original that does not reproduce ends the search at once with no minimal
// candidate, and a budget spent midway keeps the smallest candidate found so far
// (method: oracles that say no, and that run out after eight answers, the first reduction being the eighth).
#[test]
fn no_reproduction_and_a_spent_budget() {
    let mut calls = 0;
    let outcome = shrink(original(), |_, _| {
        calls += 1;
        Some(false)
    });
    assert_eq!(calls, 1);
    assert_eq!(
        outcome,
        Outcome {
            minimal: None,
            budget_spent: false
        }
    );

    let mut left = 8;
    let outcome = shrink(original(), |_, c| {
        if left == 0 {
            return None;
        }
        left -= 1;
        Some(planted(c))
    });
    assert!(outcome.budget_spent);
    let minimal = outcome.minimal.expect("the original reproduced");
    assert!(planted(&minimal));
    assert!(
        minimal.faults.len() < original().faults.len(),
        "{minimal:?}"
    );
}

// Goal: a failure that needs no fault at all still keeps one (ddmin never offers the
// empty set) and ends with a short main phase (method: an oracle that always says yes).
#[test]
fn an_always_failing_broker_shrinks_to_one_short_fault() {
    let minimal = shrink(original(), |_, _| Some(true)).minimal.unwrap();
    assert_eq!(minimal.faults.len(), 1);
    assert!(minimal.faults[0].stop_ms - minimal.faults[0].start_ms < 2_000);
    assert!(minimal.time_limit_ms <= 6_000, "{minimal:?}");
}

// Goal: a failure that shows only some time after its fault keeps a main phase long
// enough for it, found by bisection to within 5 s (method: an oracle that needs 31 s).
#[test]
fn the_main_phase_is_bisected_when_the_failure_comes_late() {
    let needs = |c: &Candidate| planted(c) && c.time_limit_ms >= 31_000;
    let mut asked = 0;
    let minimal = shrink(original(), |_, c| {
        asked += 1;
        Some(needs(c))
    })
    .minimal
    .unwrap();
    assert!(needs(&minimal));
    assert!(
        (31_000..=36_000).contains(&minimal.time_limit_ms),
        "{minimal:?}"
    );
    assert!(asked < 30, "{asked} runs");
}
