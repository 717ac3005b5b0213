//! Test helpers: tiny histories written line by line with explicit times (the rules
//! compare them with state samples) and read by the real reader, and hand-built state
//! samples of partition 0.

use checker::history::model::{History, Nanos};
use serde_json::{json, Value};

use crate::cluster::state::{NodeSample, NodeState, PartitionState, StateSample};

/// One second in nanoseconds.
pub(crate) const S: Nanos = 1_000_000_000;

/// A history built one line at a time; times are in ms.
#[derive(Default)]
pub(crate) struct Hist {
    lines: Vec<Value>,
    header_lines: usize,
}

impl Hist {
    fn line(&mut self, t_ms: u64, process: Value, kind: &str, f: &str, value: Value) -> &mut Value {
        let index = self.lines.len() - self.header_lines;
        self.lines.push(json!({
            "index": index, "time": t_ms * 1_000_000, "process": process,
            "type": kind, "f": f, "value": value,
        }));
        let last = self.lines.len() - 1;
        &mut self.lines[last]
    }

    /// A header promising every guarantee.
    pub(crate) fn header() -> Hist {
        let mut h = Hist {
            header_lines: 1,
            ..Hist::default()
        };
        h.lines
            .push(json!({"format": "samsa-history/1", "guarantees":
            {"no_loss": true, "no_duplicates": true, "ordered": true, "linearizable": true}}));
        h
    }

    /// A send of `value` to key `"0"` invoked at `t0` and acknowledged at `offset` at `t1`
    /// by producer session `producer`.
    pub(crate) fn send(&mut self, p: u64, value: i64, offset: i64, t0: u64, t1: u64) -> &mut Self {
        self.line(
            t0,
            json!(p),
            "invoke",
            "send",
            json!([["send", "0", value]]),
        );
        let ok = self.line(
            t1,
            json!(p),
            "ok",
            "send",
            json!([["send", "0", [offset, value]]]),
        );
        ok["producer"] = json!(p);
        self
    }

    /// A poll of key `"0"` returning `records`, invoked at `t0`, returning at `t1`.
    pub(crate) fn poll(
        &mut self,
        p: u64,
        records: &[(i64, i64)],
        t0: u64,
        t1: u64,
        is_final: bool,
    ) -> &mut Self {
        let records: Vec<Value> = records.iter().map(|(o, v)| json!([o, v])).collect();
        let inv = self.line(t0, json!(p), "invoke", "poll", json!([["poll"]]));
        if is_final {
            inv["final"] = json!(true);
        }
        let ok = self.line(
            t1,
            json!(p),
            "ok",
            "poll",
            json!([["poll", {"0": records}]]),
        );
        if is_final {
            ok["final"] = json!(true);
        }
        self
    }

    /// An assign of key `"0"` from the beginning at `t`.
    pub(crate) fn assign(&mut self, p: u64, t: u64, is_final: bool) -> &mut Self {
        let v = json!({"keys": ["0"], "seek_to_beginning": true});
        for kind in ["invoke", "ok"] {
            let l = self.line(t, json!(p), kind, "assign", v.clone());
            if is_final {
                l["final"] = json!(true);
            }
        }
        self
    }

    /// A nemesis line at `t`.
    pub(crate) fn nemesis(&mut self, t: u64, f: &str, value: Value) -> &mut Self {
        self.line(t, json!("nemesis"), "info", f, value);
        self
    }

    /// Reads the lines with the real reader.
    pub(crate) fn build(&self) -> History {
        let text: Vec<String> = self.lines.iter().map(Value::to_string).collect();
        checker::history::read(text.join("\n").as_bytes()).expect("test histories are well-formed")
    }
}

/// A node's answer about partition 0: `(leader id, epoch, ISR ids, high watermark)`, or
/// `None` when it did not answer.
pub(crate) fn node(name: &str, id: i32, view: Option<(i32, i32, &[i32], i64)>) -> NodeSample {
    NodeSample {
        node: name.to_owned(),
        node_id: Some(id),
        ok: view.is_some(),
        state: view.map(|(leader, epoch, isr, hw)| NodeState {
            controller_id: Some(1),
            partitions: vec![PartitionState {
                topic: "t".into(),
                partition: 0,
                leader: Some(leader),
                leader_epoch: Some(epoch),
                replicas: vec![1, 2, 3],
                isr: isr.to_vec(),
                high_watermark: Some(hw),
                ..PartitionState::default()
            }],
        }),
        error: None,
    }
}

/// A sample at `t_ms`.
pub(crate) fn sample(t_ms: u64, nodes: Vec<NodeSample>) -> StateSample {
    StateSample {
        time: t_ms * 1_000_000,
        wall: None,
        nodes,
    }
}

/// `n` with its log end offset of partition 0 set to `leo` (an admin endpoint's answer).
pub(crate) fn with_leo(mut n: NodeSample, leo: i64) -> NodeSample {
    if let Some(p) = n.state.as_mut().and_then(|s| s.partitions.first_mut()) {
        p.log_end_offset = Some(leo);
    }
    n
}

/// A hand-made incident of 211 lost writes on key 0 at offsets 850-1060, for the tests of
/// what renders incidents (the page, junit.xml); `rules` and `explanation` vary.
pub(crate) fn lost_write_incident(
    counted: bool,
    rules: Vec<&'static str>,
    explanation: &str,
) -> super::Incident {
    super::Incident {
        keys: vec!["0".into()],
        partition: Some(0),
        offsets: Some([850, 1060]),
        window_ms: [26_500.0, 36_800.0],
        counted,
        counts: [("lost-write", 211)].into_iter().collect(),
        witnesses: [("lost-write", vec![4, 9])].into_iter().collect(),
        faults: Vec::new(),
        state_start: None,
        state_end: None,
        leader_changes: Vec::new(),
        rules,
        explanation: explanation.into(),
    }
}
