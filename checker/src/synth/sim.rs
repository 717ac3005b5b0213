//! The simulated run behind the synthetic histories: client processes with overlapping
//! operations against one in-memory log per key, driven by a seeded event queue.
//!
//! Each operation is invoked, takes effect at a random instant inside its interval
//! (offsets are assigned in effect order, with occasional gaps as transaction markers
//! leave), and completes; lines are numbered in time order, so the history is a valid
//! concurrent history of a linearizable log. Consumers assign keys (from the beginning or
//! the end), then poll contiguous runs from their position. Some sends end `info`, written
//! or not; a process that saw `info` is replaced by a fresh one (HISTORY.md). Final reads
//! of every key close the run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::history::model::{
    Assignment, Function, Header, History, KeyId, KeyRead, MicroOp, Nanos, Offset, Op, Outcome,
    Value,
};

use super::{SynthOptions, SynthSummary};

/// Records a final poll returns at most (a consumer's `max.poll.records`).
const FINAL_POLL_RECORDS_MAX: usize = 1_000;
/// Records an ordinary poll returns per key at most.
const POLL_RECORDS_MAX: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Invoke(u32),
    Effect(u32),
    Complete(u32),
}

struct Slot {
    process: u64,
    producer: u64,
    assigned: Vec<KeyId>,
}

/// What an operation will do when it takes effect, and what it saw.
enum Plan {
    Send {
        written: bool,
        ok: bool,
        null_offset: bool,
        offset: Option<Offset>,
    },
    Poll {
        reads: Vec<KeyRead>,
    },
    Assign,
}

struct Sim<'o> {
    options: &'o SynthOptions,
    rng: ChaCha8Rng,
    history: History,
    plans: Vec<(u32, Plan)>,
    logs: Vec<Vec<(Offset, Value)>>,
    next_offset: Vec<Offset>,
    positions: Vec<Vec<usize>>,
    next_value: Value,
    next_process: u64,
    slots: Vec<Slot>,
    queue: BinaryHeap<Reverse<(Nanos, u64, Event)>>,
    sequence: u64,
    line: u64,
    now: Nanos,
    sends_seen: usize,
    unwritten_at: Vec<usize>,
    summary: SynthSummary,
}

/// Runs the simulation; the history is valid (no anomaly) by construction.
pub(super) fn simulate(options: &SynthOptions) -> (History, SynthSummary) {
    let mut history = History::default();
    for k in 0..options.keys {
        history.keys.intern(&k.to_string());
    }
    let mut extra = serde_json::Map::new();
    extra.insert("synthetic_seed".into(), options.seed.into());
    history.header = Some(Header {
        format: "samsa-history/1".to_owned(),
        test: Some("synthetic".to_owned()),
        guarantees: Default::default(),
        extra,
    });
    // Spread the never-written indeterminate sends evenly over the expected sends.
    let expected_sends = (options.ops / 2).max(1);
    let u = options.unread_indeterminate;
    let unwritten_at = (1..=u)
        .map(|i| i * expected_sends / (u + 1))
        .rev()
        .collect();
    let mut sim = Sim {
        options,
        rng: ChaCha8Rng::seed_from_u64(options.seed),
        history,
        plans: Vec::with_capacity(options.ops),
        logs: vec![Vec::new(); options.keys],
        next_offset: vec![0; options.keys],
        positions: Vec::new(),
        next_value: 0,
        next_process: options.concurrency as u64,
        slots: (0..options.concurrency as u64)
            .map(|p| Slot {
                process: p,
                producer: p,
                assigned: Vec::new(),
            })
            .collect(),
        queue: BinaryHeap::new(),
        sequence: 0,
        line: 0,
        now: 0,
        sends_seen: 0,
        unwritten_at,
        summary: SynthSummary::default(),
    };
    sim.positions = vec![vec![0; options.keys]; options.concurrency];
    sim.run();
    if options.final_reads {
        sim.final_reads();
    }
    sim.history.line_count = sim.line;
    sim.summary.ops = sim.history.ops.len();
    (sim.history, sim.summary)
}

impl Sim<'_> {
    fn schedule(&mut self, at: Nanos, event: Event) {
        self.sequence += 1;
        self.queue.push(Reverse((at, self.sequence, event)));
    }

    fn run(&mut self) {
        for s in 0..self.slots.len() as u32 {
            let at = self.rng.random_range(0..1_000_000);
            self.schedule(at, Event::Invoke(s));
        }
        let mut issued = 0usize;
        while let Some(Reverse((at, _, event))) = self.queue.pop() {
            self.now = at;
            match event {
                Event::Invoke(slot) => {
                    if issued < self.options.ops {
                        issued += 1;
                        self.invoke(slot);
                    }
                }
                Event::Effect(op) => self.effect(op as usize),
                Event::Complete(op) => {
                    let slot = self.complete(op as usize);
                    let think = self.rng.random_range(0..200_000);
                    self.schedule(at + think, Event::Invoke(slot));
                }
            }
        }
    }

    fn new_op(&mut self, slot: u32, f: Function, mops: Vec<MicroOp>, plan: Plan) -> u32 {
        let s = &self.slots[slot as usize];
        let op = Op {
            process: s.process,
            f,
            outcome: Outcome::Info,
            invoke_index: self.line,
            complete_index: None,
            invoke_time: self.now,
            complete_time: None,
            mops,
            assignment: None,
            producer: (f == Function::Send).then_some(s.producer),
            error: None,
            is_final: false,
        };
        self.line += 1;
        self.history.ops.push(op);
        self.plans.push((slot, plan));
        (self.history.ops.len() - 1) as u32
    }

    fn invoke(&mut self, slot: u32) {
        let keys = self.options.keys;
        let id = if self.rng.random_bool(0.5) {
            let key = KeyId(self.rng.random_range(0..keys as u32));
            let value = self.next_value;
            self.next_value += 1;
            let ordinal = self.sends_seen;
            self.sends_seen += 1;
            let (written, ok) = if self.unwritten_at.last() == Some(&ordinal) {
                self.unwritten_at.pop();
                self.summary.unwritten_indeterminate += 1;
                (false, false)
            } else if self.rng.random_bool(self.options.indeterminate_ratio) {
                let written = self.rng.random_bool(0.5);
                if !written {
                    self.summary.unwritten_indeterminate += 1;
                }
                (written, false)
            } else {
                (true, true)
            };
            if !ok {
                self.summary.indeterminate_sends += 1;
            }
            self.summary.sends += 1;
            let null_offset = ok && self.rng.random_bool(0.005);
            let mops = vec![MicroOp::Send {
                key,
                value,
                offset: None,
            }];
            let plan = Plan::Send {
                written,
                ok,
                null_offset,
                offset: None,
            };
            self.new_op(slot, Function::Send, mops, plan)
        } else if self.slots[slot as usize].assigned.is_empty() || self.rng.random_bool(0.03) {
            let count = self.rng.random_range(1..=keys.min(4));
            let mut chosen: Vec<KeyId> = Vec::with_capacity(count);
            while chosen.len() < count {
                let k = KeyId(self.rng.random_range(0..keys as u32));
                if !chosen.contains(&k) {
                    chosen.push(k);
                }
            }
            let seek_to_beginning = self.rng.random_bool(0.7);
            let id = self.new_op(slot, Function::Assign, Vec::new(), Plan::Assign);
            self.history.ops[id as usize].assignment = Some(Box::new(Assignment {
                keys: chosen,
                seek_to_beginning,
                end_offsets: Vec::new(),
            }));
            id
        } else {
            self.summary.polls += 1;
            let mops = vec![MicroOp::Poll { reads: Vec::new() }];
            self.new_op(slot, Function::Poll, mops, Plan::Poll { reads: Vec::new() })
        };
        let duration = self.rng.random_range(100_000..5_000_000);
        let effect = self.rng.random_range(1..duration);
        self.schedule(self.now + effect, Event::Effect(id));
        self.schedule(self.now + duration, Event::Complete(id));
    }

    fn effect(&mut self, id: usize) {
        let slot = self.plans[id].0 as usize;
        let op = &self.history.ops[id];
        match &mut self.plans[id].1 {
            Plan::Send {
                written: true,
                offset,
                ..
            } => {
                let MicroOp::Send { key, value, .. } = op.mops[0] else {
                    unreachable!("a send holds a send micro-operation")
                };
                let k = key.0 as usize;
                let at = self.next_offset[k];
                // A gap now and then, as a transaction marker would leave.
                self.next_offset[k] += if self.rng.random_bool(0.02) { 2 } else { 1 };
                self.logs[k].push((at, value));
                *offset = Some(at);
            }
            Plan::Send { written: false, .. } => {}
            Plan::Poll { reads } => {
                for key in &self.slots[slot].assigned {
                    let k = key.0 as usize;
                    let from = self.positions[slot][k];
                    let take = self.rng.random_range(0..=POLL_RECORDS_MAX);
                    let to = (from + take).min(self.logs[k].len());
                    if to > from {
                        reads.push(KeyRead {
                            key: *key,
                            records: self.logs[k][from..to].to_vec(),
                        });
                        self.positions[slot][k] = to;
                    }
                }
            }
            Plan::Assign => {
                let assignment = op.assignment.clone().expect("an assign has an assignment");
                for key in &assignment.keys {
                    let k = key.0 as usize;
                    self.positions[slot][k] = if assignment.seek_to_beginning {
                        0
                    } else {
                        self.logs[k].len()
                    };
                }
                self.slots[slot].assigned = assignment.keys;
            }
        }
    }

    /// Completes operation `id`; returns its slot.
    fn complete(&mut self, id: usize) -> u32 {
        let (slot, plan) = &mut self.plans[id];
        let slot = *slot;
        let op = &mut self.history.ops[id];
        op.complete_index = Some(self.line);
        op.complete_time = Some(self.now);
        self.line += 1;
        match plan {
            Plan::Send {
                ok: true,
                null_offset,
                offset,
                ..
            } => {
                op.outcome = Outcome::Ok;
                if let MicroOp::Send { offset: acked, .. } = &mut op.mops[0] {
                    *acked = if *null_offset { None } else { *offset };
                }
            }
            Plan::Send { ok: false, .. } => {
                op.error = Some("timeout".to_owned());
                // A process that saw `info` never appears again: a fresh one takes its slot.
                let s = &mut self.slots[slot as usize];
                s.process = self.next_process;
                s.producer = self.next_process;
                s.assigned.clear();
                self.next_process += 1;
            }
            Plan::Poll { reads } => {
                op.outcome = Outcome::Ok;
                op.mops = vec![MicroOp::Poll {
                    reads: std::mem::take(reads),
                }];
            }
            Plan::Assign => op.outcome = Outcome::Ok,
        }
        slot
    }

    /// One fresh consumer per key reads it completely from the beginning (`final: true`).
    fn final_reads(&mut self) {
        for k in 0..self.options.keys {
            let process = self.next_process;
            self.next_process += 1;
            let key = KeyId(k as u32);
            let assignment = Assignment {
                keys: vec![key],
                seek_to_beginning: true,
                end_offsets: Vec::new(),
            };
            self.push_final(
                process,
                Function::Assign,
                Vec::new(),
                Some(Box::new(assignment)),
            );
            let mut from = 0;
            while from < self.logs[k].len() {
                let to = (from + FINAL_POLL_RECORDS_MAX).min(self.logs[k].len());
                let reads = vec![KeyRead {
                    key,
                    records: self.logs[k][from..to].to_vec(),
                }];
                self.push_final(process, Function::Poll, vec![MicroOp::Poll { reads }], None);
                self.summary.polls += 1;
                from = to;
            }
        }
    }

    fn push_final(
        &mut self,
        process: u64,
        f: Function,
        mops: Vec<MicroOp>,
        assignment: Option<Box<Assignment>>,
    ) {
        self.now += 100_000;
        let op = Op {
            process,
            f,
            outcome: Outcome::Ok,
            invoke_index: self.line,
            complete_index: Some(self.line + 1),
            invoke_time: self.now,
            complete_time: Some(self.now + 50_000),
            mops,
            assignment,
            producer: None,
            error: None,
            is_final: true,
        };
        self.line += 2;
        self.now += 50_000;
        self.history.ops.push(op);
    }
}
