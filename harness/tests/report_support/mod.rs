//! Run directories for the report tests: a synthetic history (checker::synth, optionally
//! with one planted anomaly) with nemesis events spliced in, a `test.json` and a
//! `state.jsonl` of a three-node cluster whose leader moves during the partition and whose
//! node n2 stops answering while killed. Everything a real run writes, without Docker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use checker::check::{check, CheckOptions, CheckResult};
use checker::history::line::{to_jsonl, Line, LineFunction, LineType, LineValue, Process};
use checker::history::model::History;
use checker::history::{unpair, HISTORY_FILE};
use checker::synth::{generate, SynthOptions};
use harness::run_dir::{RunDir, TestJson, Versions};
use serde_json::{json, Value};

/// The faults spliced in, as (fraction of the lines, f, value).
const FAULTS: [(f64, &str, &str); 4] = [
    (
        0.3,
        "start-partition",
        r#"{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]}"#,
    ),
    (0.5, "stop-partition", "null"),
    (0.6, "kill", r#"["n2"]"#),
    (0.75, "start", r#"["n2"]"#),
];

/// What a fixture run directory holds.
pub struct Run {
    /// The run directory.
    pub dir: PathBuf,
    /// The history as read back by the checker.
    pub history: History,
    /// Its verdict.
    pub result: CheckResult,
}

/// Writes a run directory under `parent` and checks it (no report is written).
pub fn make_run(
    parent: &Path,
    ops: usize,
    inject: Option<&str>,
    test_json: bool,
    state: bool,
) -> Run {
    let dir = parent.join("queue").join("20261121T050000.000Z");
    std::fs::create_dir_all(&dir).unwrap();
    let options = SynthOptions {
        ops,
        keys: 3,
        concurrency: 5,
        seed: 7,
        inject: inject.map(|i| i.parse().unwrap()),
        ..SynthOptions::default()
    };
    let (history, _) = generate(&options).unwrap();
    let lines = splice_faults(unpair::lines(&history).collect());
    let header = unpair::header_line(&history);
    std::fs::write(dir.join(HISTORY_FILE), to_jsonl(header.as_ref(), &lines)).unwrap();
    let history = checker::history::read_path(&dir).unwrap();
    let end = history
        .ops
        .iter()
        .filter_map(|o| o.complete_time)
        .max()
        .unwrap_or(1);
    if test_json {
        let test = TestJson {
            test: Some("queue".into()),
            run_id: Some("samsa-test-1".into()),
            seed: Some(7),
            started: Some("2026-11-21T05:00:00Z".into()),
            command: Some("samsa test --nodes 3 --nemesis partition,kill --seed 7".into()),
            guarantees: None,
            config: Some(json!({"nodes": 3, "acks": "All", "idempotence": true})),
            versions: Some(Versions {
                samsa: Some("0.1.0".into()),
                librdkafka: None,
                broker_image: Some("samsa/broker-under-test:test".into()),
            }),
            shrunk_from: None,
        };
        RunDir::new(&dir).write_test(&test).unwrap();
    }
    if state {
        std::fs::write(
            dir.join(harness::run_dir::STATE_FILE),
            state_lines(end).join("\n") + "\n",
        )
        .unwrap();
    }
    let result = check(&history, &CheckOptions::default());
    Run {
        dir,
        history,
        result,
    }
}

/// Inserts the nemesis lines at their fractions of the history and renumbers `index`.
fn splice_faults(mut lines: Vec<Line>) -> Vec<Line> {
    let n = lines.len();
    for (at, f, value) in FAULTS.iter().rev() {
        let pos = ((n as f64) * at) as usize;
        let time = lines[pos.saturating_sub(1)].time;
        lines.insert(
            pos,
            Line {
                index: 0,
                time,
                wall: None,
                process: Process::Nemesis,
                kind: LineType::Info,
                f: LineFunction::Event((*f).to_owned()),
                value: LineValue::Other(serde_json::from_str(value).unwrap()),
                error: None,
                producer: None,
                is_final: false,
            },
        );
    }
    for (i, l) in lines.iter_mut().enumerate() {
        l.index = i as u64;
    }
    lines
}

/// A sample every `end / 40`: n1 leads, n3 leads during the partition (n1 out of its ISR),
/// n2 does not answer while killed.
fn state_lines(end: u64) -> Vec<String> {
    let step = (end / 40).max(1);
    (0..=40u64)
        .map(|i| {
            let t = i * step;
            let frac = t as f64 / end as f64;
            let partitioned = (0.3..0.5).contains(&frac);
            let killed = (0.6..0.75).contains(&frac);
            let (leader, isr): (i32, Vec<i32>) = if partitioned {
                (3, vec![2, 3])
            } else if killed {
                (1, vec![1, 3])
            } else {
                (1, vec![1, 2, 3])
            };
            let nodes: Vec<Value> = (1..=3)
                .map(|id| {
                    if killed && id == 2 {
                        return json!({"node": format!("n{id}"), "node_id": id, "ok": false, "error": "connection refused"});
                    }
                    let own_leader = if partitioned && id == 1 { 1 } else { leader };
                    let partitions: Vec<Value> = (0..3)
                        .map(|p| json!({"topic": "samsa", "partition": p, "leader": own_leader,
                                        "leader_epoch": if partitioned { 1 } else { 0 },
                                        "isr": if own_leader == id && id == 1 && partitioned { vec![1] } else { isr.clone() },
                                        "replicas": [1, 2, 3], "high_watermark": i, "log_end_offset": i}))
                        .collect();
                    json!({"node": format!("n{id}"), "node_id": id, "ok": true,
                           "state": {"node_id": id, "partitions": partitions}})
                })
                .collect();
            json!({"time": t, "wall": "2026-11-21T05:00:00Z", "nodes": nodes}).to_string()
        })
        .collect()
}
