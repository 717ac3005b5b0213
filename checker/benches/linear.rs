//! Benchmarks of the linearizability engines on generated histories (issue 2 targets):
//!
//! - 1,000,000 operations, 10 keys, concurrency 10, 1% indeterminate sends: the graph
//!   engine alone, reading the JSONL plus the graph engine, and reading it plus the whole
//!   `check::check` (target: at most 3 s; peak memory, at most 1 GiB, is measured with
//!   `/usr/bin/time -v samsa check` or `examples/linear_scale`, which criterion cannot do);
//! - 100,000 operations on one key, concurrency 10, 10 unread indeterminate sends: the
//!   search engine (target at most 1 s) and the graph engine.
//!
//! Run with `cargo bench -p checker --bench linear`; histories are generated once, outside
//! the measured loop.

use std::hint::black_box;
use std::time::Duration;

use checker::check::{CheckOptions, Validity};
use checker::linear::{check, Engine, LinearOptions};
use checker::synth::{generate, write_jsonl, SynthOptions};
use criterion::{criterion_group, criterion_main, Criterion};

fn engine(engine: Engine) -> LinearOptions {
    LinearOptions {
        engine,
        time_limit: Duration::from_secs(120),
    }
}

fn million_ops(c: &mut Criterion) {
    let options = SynthOptions {
        ops: 1_000_000,
        keys: 10,
        concurrency: 10,
        seed: 1,
        indeterminate_ratio: 0.01,
        ..SynthOptions::default()
    };
    let (history, _) = generate(&options).expect("the options are valid");
    let mut jsonl = Vec::new();
    write_jsonl(&history, &mut jsonl).expect("writing to memory cannot fail");
    let mut group = c.benchmark_group("1m_ops_10_keys");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("graph_engine", |b| {
        b.iter(|| {
            let out = check(black_box(&history), &engine(Engine::Graph));
            assert!(out.findings.is_empty(), "a valid history");
        })
    });
    drop(history);
    group.bench_function("read_jsonl_and_graph_engine", |b| {
        b.iter(|| {
            let history = checker::history::read(black_box(&jsonl[..])).expect("it reads");
            let out = check(&history, &engine(Engine::Graph));
            assert!(out.findings.is_empty(), "a valid history");
        })
    });
    group.bench_function("read_jsonl_and_full_check", |b| {
        b.iter(|| {
            let history = checker::history::read(black_box(&jsonl[..])).expect("it reads");
            let result = checker::check::check(&history, &CheckOptions::default());
            assert_eq!(result.valid, Validity::Valid, "a valid history");
        })
    });
    group.finish();
}

fn one_key(c: &mut Criterion) {
    let options = SynthOptions {
        ops: 100_000,
        keys: 1,
        concurrency: 10,
        seed: 1,
        indeterminate_ratio: 0.0,
        unread_indeterminate: 10,
        ..SynthOptions::default()
    };
    let (history, summary) = generate(&options).expect("the options are valid");
    assert_eq!(summary.unwritten_indeterminate, 10);
    let mut group = c.benchmark_group("100k_ops_1_key_10_unread_info");
    group.sample_size(10);
    for (name, e) in [
        ("search_engine", Engine::Search),
        ("graph_engine", Engine::Graph),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = check(black_box(&history), &engine(e));
                assert!(out.findings.is_empty() && !out.unknown, "decided valid");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, million_ops, one_key);
criterion_main!(benches);
