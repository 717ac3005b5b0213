//! Run directories for the report tests: a synthetic history (checker::synth, optionally
//! with one planted anomaly) with nemesis events spliced in, a `test.json` and a
//! `state.jsonl` of a three-node cluster whose leader moves during the partition and whose
//! node n2 stops answering while killed. Everything a real run writes, without Docker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use checker::check::{check, CheckOptions, CheckResult};
use checker::history::model::History;
use checker::synth::{generate, write_jsonl, SynthOptions};
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
    let mut bytes = Vec::new();
    write_jsonl(&history, &mut bytes).unwrap();
    let lines = splice_faults(std::str::from_utf8(&bytes).unwrap());
    std::fs::write(dir.join("history.jsonl"), lines.join("\n") + "\n").unwrap();
    let history = checker::history::read_path(&dir).unwrap();
    let end = history
        .ops
        .iter()
        .filter_map(|o| o.complete_time)
        .max()
        .unwrap_or(1);
    if test_json {
        let doc = json!({
            "test": "queue",
            "run_id": "samsa-test-1",
            "seed": 7,
            "started": "2026-11-21T05:00:00Z",
            "command": "samsa test --nodes 3 --nemesis partition,kill --seed 7",
            "config": {"nodes": 3, "acks": "All", "idempotence": true},
            "versions": {"samsa": "0.1.0", "broker_image": "samsa/broker-under-test:test"},
        });
        std::fs::write(
            dir.join("test.json"),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
    if state {
        std::fs::write(dir.join("state.jsonl"), state_lines(end).join("\n") + "\n").unwrap();
    }
    let result = check(&history, &CheckOptions::default());
    Run {
        dir,
        history,
        result,
    }
}

/// Inserts the nemesis lines at their fractions of the history and renumbers `index`.
fn splice_faults(jsonl: &str) -> Vec<String> {
    let mut lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let header = lines.remove(0);
    let n = lines.len();
    for (at, f, value) in FAULTS.iter().rev() {
        let pos = ((n as f64) * at) as usize;
        let time = lines[pos.saturating_sub(1)]["time"].as_u64().unwrap();
        lines.insert(
            pos,
            json!({"index": 0, "time": time, "process": "nemesis", "type": "info", "f": f,
                   "value": serde_json::from_str::<Value>(value).unwrap()}),
        );
    }
    let mut out = vec![header.to_string()];
    for (i, mut l) in lines.into_iter().enumerate() {
        l["index"] = json!(i);
        out.push(l.to_string());
    }
    out
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
