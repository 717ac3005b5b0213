//! Property tests: on many small random concurrent histories from the simulated log,
//! valid ones and ones with each injected fault, both linearizability engines agree, and
//! they judge every valid simulated history linearizable.

mod linear_support;

use checker::synth::{generate, Injection, SynthError, SynthOptions};
use proptest::prelude::*;

use linear_support::verdicts;

/// What both engines must say about a history with this injection (`None`: it depends on
/// where the fault landed, only agreement is required).
fn expected(injection: Option<Injection>) -> Option<bool> {
    match injection {
        None => Some(true),
        Some(i) => match i {
            // Records no send explains, and consumer-position faults, are other detectors'.
            Injection::Duplicate
            | Injection::PhantomRead
            | Injection::AbortedRead
            | Injection::PollSkip
            | Injection::NonmonotonicPoll => Some(true),
            // A hole inside a run, a run out of order, two records at one offset, a later
            // send first in the log, a value read before its send began.
            Injection::IntPollSkip
            | Injection::IntNonmonotonicPoll
            | Injection::InconsistentOffsets
            | Injection::NonmonotonicSend
            | Injection::Nonlinearizable => Some(false),
            // Invalid iff some poll's run spanned the vanished record.
            Injection::LostWrite => None,
        },
    }
}

fn injection() -> impl Strategy<Value = Option<Injection>> {
    let all: Vec<Injection> = Injection::all().collect();
    prop_oneof![Just(None), proptest::sample::select(all).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    // Goal: the engines agree, and on the known cases are right. Method: random small
    // simulated runs (reproduce with the printed options and `samsa gen-history`).
    #[test]
    fn both_engines_agree_on_small_simulated_histories(
        seed in any::<u64>(),
        ops in 4usize..80,
        keys in 1usize..4,
        concurrency in 1usize..7,
        indeterminate in prop_oneof![Just(0.0), Just(0.1), Just(0.3)],
        unread in 0usize..4,
        final_reads in any::<bool>(),
        inject in injection(),
    ) {
        let options = SynthOptions {
            ops, keys, concurrency, seed,
            indeterminate_ratio: indeterminate,
            unread_indeterminate: unread,
            inject,
            final_reads,
        };
        let (history, summary) = match generate(&options) {
            Ok(generated) => generated,
            Err(SynthError::NoInjectionSite(_)) => return Err(TestCaseError::reject("no site")),
            Err(e) => panic!("{e}"),
        };
        let (graph, search) = verdicts(&history);
        prop_assert_eq!(graph, search, "engines disagree on {:?} ({:?})", options, summary.injected);
        if let Some(linearizable) = expected(inject) {
            prop_assert_eq!(graph, linearizable, "{:?} ({:?})", options, summary.injected);
        }
    }
}
