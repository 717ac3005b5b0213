//! The append-only log model of one Kafka partition, for the search engine.
//!
//! The log's possible records are known in advance: every record some send wrote (at the
//! offset it was acknowledged or read at) and every record some poll returned. Offsets
//! grow in append order, so a complete log holds them sorted by offset; the state is how
//! many of them have been appended (a prefix). Appending a record while one with a smaller
//! offset is still missing would leave that one forever unappendable, so the model refuses
//! it at once instead of letting the search discover it much later; this is what makes the
//! search near-linear on valid histories ("smart about known offsets"). A poll must find
//! its records as consecutive records of the current prefix. Records no send explains
//! (aborted, phantom or duplicated ones) were appended at an unknown time by nobody we
//! know: the model appends each as soon as it is next in offset order. That is as good as
//! any later moment (appending only enables polls and the next append), and keeps them out
//! of the search's list of pending calls, where thousands of them (a shrinking step that
//! drops most sends) would make every scan quadratic.

use crate::history::model::{History, Offset, Value};
use crate::linear::resolve::{project, KeyHistory};

use super::model::{Call, Model, Partition};

/// One operation on the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOp {
    /// A send that wrote `value` at `offset`.
    Append {
        /// Where the record is.
        offset: Offset,
        /// What it holds.
        value: Value,
    },
    /// A poll that returned these records, in this order.
    Poll {
        /// `(offset, value)` pairs as returned.
        reads: Vec<(Offset, Value)>,
    },
}

/// The log of one key: the records a complete log would hold, sorted by offset.
#[derive(Debug, Clone)]
pub struct LogModel {
    records: Vec<(Offset, Value)>,
    /// Per record: no send explains it, so the model appends it as soon as it is next.
    unexplained: Vec<bool>,
}

impl LogModel {
    /// `len` extended over the unexplained records that come next (each only after a
    /// strictly smaller offset: one offset holds one record).
    fn settle(&self, mut len: usize) -> usize {
        while self.unexplained.get(len).copied().unwrap_or(false)
            && (len == 0 || self.records[len - 1].0 < self.records[len].0)
        {
            len += 1;
        }
        len
    }
}

impl LogModel {
    /// The partition for one key, keeping only the sends and polls `keep` accepts
    /// (unit `i < sends.len()` is send `i`, the rest are polls); used to shrink witnesses.
    pub fn for_key(
        name: String,
        key: &KeyHistory<'_>,
        keep: impl Fn(usize) -> bool,
    ) -> Partition<LogModel> {
        let mut calls = Vec::with_capacity(key.len());
        let mut records = Vec::with_capacity(key.sends.len());
        for (i, s) in key.sends.iter().enumerate().filter(|(i, _)| keep(*i)) {
            records.push((s.offset, s.value));
            calls.push(Call {
                op: LogOp::Append {
                    offset: s.offset,
                    value: s.value,
                },
                call: s.call,
                ret: s.ret,
                origin: Some(i),
            });
        }
        let mut written: rustc_hash::FxHashSet<(Offset, Value)> = records.iter().copied().collect();
        let mut unexplained = Vec::new();
        let base = key.sends.len();
        for (i, p) in key.polls.iter().enumerate().filter(|(i, _)| keep(base + i)) {
            for record in p.reads {
                if written.insert(*record) {
                    unexplained.push(*record);
                }
            }
            calls.push(Call {
                op: LogOp::Poll {
                    reads: p.reads.to_vec(),
                },
                call: p.call,
                ret: p.ret,
                origin: Some(base + i),
            });
        }
        let mut all: Vec<((Offset, Value), bool)> = records
            .into_iter()
            .map(|r| (r, false))
            .chain(unexplained.into_iter().map(|r| (r, true)))
            .collect();
        all.sort_unstable();
        Partition {
            name,
            model: LogModel {
                records: all.iter().map(|(r, _)| *r).collect(),
                unexplained: all.iter().map(|(_, u)| *u).collect(),
            },
            calls,
        }
    }
}

impl Model for LogModel {
    type Input = History;
    type Op = LogOp;
    /// How many of the records (in offset order) are in the log.
    type State = usize;

    fn partition(history: &History) -> Vec<Partition<LogModel>> {
        project(history)
            .iter()
            .map(|key| LogModel::for_key(history.keys.name(key.key).to_owned(), key, |_| true))
            .collect()
    }

    fn init(&self) -> usize {
        self.settle(0)
    }

    fn step(&self, state: &usize, op: &LogOp) -> Option<usize> {
        let len = *state;
        match op {
            LogOp::Append { offset, value } => {
                let next = self.records.get(len)?;
                let after_last = len == 0 || self.records[len - 1].0 < *offset;
                let appendable = next == &(*offset, *value) && after_last && !self.unexplained[len];
                appendable.then(|| self.settle(len + 1))
            }
            LogOp::Poll { reads } => {
                let Some(first) = reads.first() else {
                    return Some(len);
                };
                let start = self.records[..len].partition_point(|r| r < first);
                let consecutive = reads
                    .iter()
                    .enumerate()
                    .all(|(i, r)| self.records[..len].get(start + i) == Some(r));
                consecutive.then_some(len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(records: &[(Offset, Value)]) -> LogModel {
        let mut records = records.to_vec();
        records.sort_unstable();
        let unexplained = vec![false; records.len()];
        LogModel {
            records,
            unexplained,
        }
    }

    // Goal: appends only in offset order, polls only of consecutive present records.
    #[test]
    fn steps_follow_the_log() {
        let m = model(&[(0, 10), (2, 12), (3, 13)]);
        let append = |offset, value| LogOp::Append { offset, value };
        let poll = |reads: &[(Offset, Value)]| LogOp::Poll {
            reads: reads.to_vec(),
        };
        assert_eq!(m.step(&0, &append(2, 12)), None, "offset 0 must come first");
        assert_eq!(m.step(&0, &append(0, 10)), Some(1));
        assert_eq!(
            m.step(&1, &append(2, 12)),
            Some(2),
            "gaps in offsets are fine"
        );
        assert_eq!(m.step(&2, &poll(&[(0, 10), (2, 12)])), Some(2));
        assert_eq!(
            m.step(&1, &poll(&[(0, 10), (2, 12)])),
            None,
            "offset 2 not yet there"
        );
        assert_eq!(
            m.step(&3, &poll(&[(0, 10), (3, 13)])),
            None,
            "skips offset 2"
        );
        assert_eq!(m.step(&3, &poll(&[(2, 12), (0, 10)])), None, "out of order");
        assert_eq!(
            m.step(&3, &poll(&[(3, 13)])),
            Some(3),
            "a poll may start anywhere"
        );
        let tie = model(&[(5, 1), (5, 2)]);
        assert_eq!(tie.step(&1, &append(5, 2)), None, "one offset, one record");
    }

    // Goal: records no send explains are appended as soon as they are next, and never
    // share an offset with another record.
    #[test]
    fn unexplained_records_append_themselves() {
        let m = LogModel {
            records: vec![(0, 1), (1, 2), (2, 3), (2, 4)],
            unexplained: vec![true, false, true, true],
        };
        assert_eq!(m.init(), 1, "offset 0 appends itself");
        let append = LogOp::Append {
            offset: 1,
            value: 2,
        };
        assert_eq!(
            m.step(&1, &append),
            Some(3),
            "offset 2 follows, its twin cannot"
        );
    }
}
