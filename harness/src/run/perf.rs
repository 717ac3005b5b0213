//! Throughput and latency of a run, computed from its history: completed operations per
//! second over the main phase, and latency percentiles per operation type and outcome.
//! This is how the harness's own speed is measured (`--rate 0 --nemesis none`), and it
//! tells a broker developer how a fault slowed clients down.

use std::collections::BTreeMap;

use checker::history::model::History;
use serde::Serialize;

/// Latency percentiles of one kind of operation, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// How many operations.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The throughput summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Perf {
    /// Completed client operations (any outcome), final reads excluded.
    pub ops: usize,
    /// Seconds from the first invoke to the last completion, final reads excluded.
    pub seconds: f64,
    /// `ops / seconds`.
    pub ops_per_second: f64,
    /// Latency by `"<f> <outcome>"`, e.g. `"send ok"`.
    pub latency: BTreeMap<String, Latency>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of nothing");
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Computes throughput and latencies of the non-final, completed client operations.
pub fn measure(history: &History) -> Perf {
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let (mut first, mut last) = (u64::MAX, 0u64);
    let mut ops = 0;
    for op in history.ops.iter().filter(|o| !o.is_final) {
        let Some(done) = op.complete_time else {
            continue;
        };
        ops += 1;
        first = first.min(op.invoke_time);
        last = last.max(done);
        let key = format!("{} {}", op.f.name(), op.outcome.name());
        let ms = done.saturating_sub(op.invoke_time) as f64 / 1e6;
        samples.entry(key).or_default().push(ms);
    }
    let seconds = if ops == 0 {
        0.0
    } else {
        last.saturating_sub(first) as f64 / 1e9
    };
    let latency = samples
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let l = Latency {
                count: v.len(),
                p50_ms: percentile(&v, 0.50),
                p99_ms: percentile(&v, 0.99),
                max_ms: *v.last().expect("non-empty"),
            };
            (k, l)
        })
        .collect();
    Perf {
        ops,
        seconds,
        ops_per_second: if seconds > 0.0 {
            ops as f64 / seconds
        } else {
            0.0
        },
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: nearest-rank percentiles pick real samples at the right rank.
    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    // Goal: throughput counts completed non-final ops over the span they cover.
    #[test]
    fn measures_a_small_history() {
        use checker::history::line::{to_jsonl, Line, LineType, LineValue};
        use checker::history::model::Function::Send;
        let ms = 1_000_000;
        let lines = [
            Line::client(0, 0, 0, LineType::Invoke, Send, LineValue::send("0", 1)),
            Line::client(
                1,
                2 * ms,
                0,
                LineType::Ok,
                Send,
                LineValue::sent("0", Some(0), 1),
            ),
            Line::client(
                2,
                2 * ms,
                0,
                LineType::Invoke,
                Send,
                LineValue::send("0", 2),
            ),
            Line::client(
                3,
                1000 * ms,
                0,
                LineType::Ok,
                Send,
                LineValue::sent("0", Some(1), 2),
            ),
        ];
        let text = to_jsonl(None, &lines);
        let history = checker::history::read(text.as_bytes()).expect("valid history");
        let perf = measure(&history);
        assert_eq!(perf.ops, 2);
        assert!((perf.seconds - 1.0).abs() < 1e-9);
        assert!((perf.ops_per_second - 2.0).abs() < 1e-9);
        let send = &perf.latency["send ok"];
        assert_eq!(send.count, 2);
        assert_eq!(send.p50_ms, 2.0);
        assert_eq!(send.max_ms, 998.0);
    }
}
