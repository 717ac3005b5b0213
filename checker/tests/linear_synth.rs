//! The synthetic history generator: deterministic, valid by construction, written as
//! JSONL that the history reader reads back to the same history, and every injection
//! lands.

use checker::history::model::{History, MicroOp};
use checker::history::read;
use checker::synth::{generate, write_history, Injection, SynthOptions};

/// A history with key ids replaced by names, so histories interned in a different order
/// compare equal.
fn normalized(h: &History) -> Vec<String> {
    h.ops
        .iter()
        .map(|op| {
            let mops: Vec<String> = op
                .mops
                .iter()
                .map(|m| match m {
                    MicroOp::Send { key, value, offset } => {
                        format!("send {} {value} {offset:?}", h.keys.name(*key))
                    }
                    MicroOp::Poll { reads } => reads
                        .iter()
                        .map(|r| format!("{}:{:?}", h.keys.name(r.key), r.records))
                        .collect::<Vec<_>>()
                        .join(" "),
                })
                .collect();
            let assignment = op.assignment.as_ref().map(|a| {
                let keys: Vec<&str> = a.keys.iter().map(|k| h.keys.name(*k)).collect();
                format!("{keys:?} {}", a.seek_to_beginning)
            });
            format!(
                "{} {:?} {:?} {} {:?} {} {:?} {mops:?} {assignment:?} {:?} {:?} {}",
                op.process,
                op.f,
                op.outcome,
                op.invoke_index,
                op.complete_index,
                op.invoke_time,
                op.complete_time,
                op.producer,
                op.error,
                op.is_final
            )
        })
        .collect()
}

fn options(seed: u64, inject: Option<Injection>) -> SynthOptions {
    SynthOptions {
        ops: 400,
        keys: 3,
        concurrency: 6,
        seed,
        indeterminate_ratio: 0.05,
        unread_indeterminate: 3,
        inject,
        final_reads: true,
    }
}

// Goal: what gen-history writes is what the checker reads. Method: write, read back,
// compare operation by operation, for a clean history and every injection.
#[test]
fn jsonl_reads_back_to_the_same_history() {
    for inject in std::iter::once(None).chain(Injection::all().map(Some)) {
        let opts = options(7, inject);
        let (generated, _) = generate(&opts).unwrap();
        let mut bytes = Vec::new();
        write_history(&opts, &mut bytes).unwrap();
        let read_back = read(&bytes[..]).unwrap_or_else(|e| panic!("{inject:?}: {e}"));
        assert_eq!(normalized(&read_back), normalized(&generated), "{inject:?}");
        assert_eq!(read_back.line_count, generated.line_count);
        assert_eq!(
            read_back.header.unwrap().guarantees,
            generated.header.unwrap().guarantees
        );
    }
}

// Goal: seeded and deterministic. Method: same seed twice, then another seed.
#[test]
fn the_same_seed_gives_the_same_bytes() {
    let write = |seed| {
        let mut bytes = Vec::new();
        write_history(&options(seed, None), &mut bytes).unwrap();
        bytes
    };
    assert_eq!(write(3), write(3));
    assert_ne!(write(3), write(4));
}

// Goal: the summary counts what the options asked for. Method: count in the history.
#[test]
fn the_summary_matches_the_history() {
    let (h, s) = generate(&options(11, None)).unwrap();
    assert_eq!(s.ops, h.ops.len());
    assert!(s.unwritten_indeterminate >= 3, "{s:?}");
    assert!(s.indeterminate_sends >= s.unwritten_indeterminate);
    assert!(h.ops.iter().any(|o| o.is_final));
    assert!(h
        .ops
        .windows(2)
        .all(|w| w[0].invoke_index < w[1].invoke_index));
    assert!(h
        .ops
        .windows(2)
        .all(|w| w[0].invoke_time <= w[1].invoke_time));
}

// Goal: unknown injection names are refused with the list of known ones.
#[test]
fn injection_names_round_trip_and_unknown_ones_are_refused() {
    for i in Injection::all() {
        assert_eq!(i.name().parse::<Injection>().unwrap(), i);
    }
    let err = "lost-writes".parse::<Injection>().unwrap_err().to_string();
    assert!(err.contains("lost-write"), "{err}");
}
