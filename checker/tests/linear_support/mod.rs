//! Shared helpers of the linearizability tests: a builder of tiny hand-written histories
//! and one call that runs a history through both engines (ripgrep's SearcherTester idea).
#![allow(dead_code)]

use std::time::Duration;

use checker::history::model::{
    Function, History, KeyRead, LineIndex, MicroOp, Offset, Op, Outcome, Value,
};
use checker::linear::{check, Engine, LinearOptions, LinearOutcome};

/// Builds a history line by line; every call is one line, `time` = 1000 * index.
#[derive(Default)]
pub struct Builder {
    pub history: History,
    line: LineIndex,
}

impl Builder {
    fn next_line(&mut self) -> LineIndex {
        self.line += 1;
        self.line - 1
    }

    fn invoke(&mut self, process: u64, f: Function, mops: Vec<MicroOp>) -> usize {
        let index = self.next_line();
        self.history.ops.push(Op {
            process,
            f,
            outcome: Outcome::Info,
            invoke_index: index,
            complete_index: None,
            invoke_time: index * 1000,
            complete_time: None,
            mops,
            assignment: None,
            producer: None,
            error: None,
            is_final: false,
        });
        self.history.line_count = self.line;
        self.history.ops.len() - 1
    }

    /// Invokes a send of `value` to `key` by `process`.
    pub fn send(&mut self, process: u64, key: &str, value: Value) -> usize {
        let key = self.history.keys.intern(key);
        self.invoke(
            process,
            Function::Send,
            vec![MicroOp::Send {
                key,
                value,
                offset: None,
            }],
        )
    }

    /// Invokes a poll by `process`.
    pub fn poll(&mut self, process: u64) -> usize {
        self.invoke(
            process,
            Function::Poll,
            vec![MicroOp::Poll { reads: vec![] }],
        )
    }

    fn complete(&mut self, op: usize, outcome: Outcome) {
        let index = self.next_line();
        let o = &mut self.history.ops[op];
        o.outcome = outcome;
        o.complete_index = Some(index);
        o.complete_time = Some(index * 1000);
        self.history.line_count = self.line;
    }

    /// Completes a send `ok` at `offset` (`None`: acknowledged without an offset).
    pub fn acked(&mut self, op: usize, offset: Option<Offset>) {
        if let MicroOp::Send { offset: o, .. } = &mut self.history.ops[op].mops[0] {
            *o = offset;
        }
        self.complete(op, Outcome::Ok);
    }

    /// Completes an operation `info` (or `fail`).
    pub fn ended(&mut self, op: usize, outcome: Outcome) {
        self.complete(op, outcome);
    }

    /// Completes a poll `ok` with what it read, per key.
    pub fn read(&mut self, op: usize, reads: &[(&str, &[(Offset, Value)])]) {
        let reads = reads
            .iter()
            .map(|(k, records)| KeyRead {
                key: self.history.keys.intern(k),
                records: records.to_vec(),
            })
            .collect();
        self.history.ops[op].mops = vec![MicroOp::Poll { reads }];
        self.complete(op, Outcome::Ok);
    }

    /// A send invoked and acknowledged at once.
    pub fn sent(&mut self, process: u64, key: &str, value: Value, offset: Offset) -> usize {
        let op = self.send(process, key, value);
        self.acked(op, Some(offset));
        op
    }

    /// A poll invoked and completed at once.
    pub fn polled(&mut self, process: u64, reads: &[(&str, &[(Offset, Value)])]) -> usize {
        let op = self.poll(process);
        self.read(op, reads);
        op
    }
}

/// Runs one engine.
pub fn run(history: &History, engine: Engine) -> LinearOutcome {
    check(
        history,
        &LinearOptions {
            engine,
            time_limit: Duration::from_secs(20),
        },
    )
}

/// Both engines' verdicts (true = linearizable); panics if either cannot decide, and checks
/// that `Engine::Both` reports no disagreement exactly when they agree.
pub fn verdicts(history: &History) -> (bool, bool) {
    let graph = run(history, Engine::Graph);
    let search = run(history, Engine::Search);
    assert!(
        !graph.unknown && !search.unknown,
        "an engine could not decide"
    );
    let both = run(history, Engine::Both);
    let agree = graph.findings.is_empty() == search.findings.is_empty();
    assert_eq!(
        both.disagreements.is_empty(),
        agree,
        "Engine::Both misreports agreement"
    );
    (graph.findings.is_empty(), search.findings.is_empty())
}

/// Asserts both engines reach `linearizable`.
pub fn assert_both(history: &History, linearizable: bool) {
    let (graph, search) = verdicts(history);
    assert_eq!(graph, linearizable, "graph engine");
    assert_eq!(search, linearizable, "search engine");
}
