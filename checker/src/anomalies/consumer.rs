//! Walks each consumer's reads in order and reports every step from one record of a key to
//! the next: inside one poll, between successive polls, and the first record after an
//! `assign` that sought to the beginning.
//!
//! A consumer's position is only meaningful between resets: `assign`, `subscribe`, `crash`,
//! and any poll that ended `info` (it may have consumed records nobody recorded). A `fail`
//! poll certainly did not happen, so it leaves the position where it was. The poll-continuity detectors and lost-write all read these steps.

use rustc_hash::{FxHashMap, FxHashSet};

use super::index::OpPos;
use crate::history::model::{Function, History, KeyId, MicroOp, Offset, Outcome};

/// One step of a consumer through one key's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Two consecutive records of one poll, or the last record of a key in one poll
    /// micro-op of a `txn` and its first in the next one (one operation).
    Within {
        /// The key read.
        key: KeyId,
        /// The earlier record's offset.
        from: Offset,
        /// The later record's offset.
        to: Offset,
        /// The poll.
        op: OpPos,
    },
    /// The last record of one poll to the first record of this consumer's next poll that
    /// returned the key, with no reset between.
    Between {
        /// The key read.
        key: KeyId,
        /// The previous poll's last offset of the key.
        from: Offset,
        /// The previous poll.
        from_op: OpPos,
        /// The next poll's first offset of the key.
        to: Offset,
        /// The next poll.
        to_op: OpPos,
    },
    /// The first record of a key after an `assign` with `seek_to_beginning`: every offset
    /// below `to` was passed over from the start of the log.
    FromBeginning {
        /// The key read.
        key: KeyId,
        /// The first offset read.
        to: Offset,
        /// The poll.
        op: OpPos,
    },
}

#[derive(Default)]
struct Position {
    last: FxHashMap<KeyId, (Offset, OpPos)>,
    from_beginning: FxHashSet<KeyId>,
}

impl Position {
    fn reset(&mut self) {
        self.last.clear();
        self.from_beginning.clear();
    }
}

/// Calls `visit` for every step of every consumer, in history order.
pub fn walk(history: &History, mut visit: impl FnMut(Step)) {
    let mut positions: FxHashMap<u64, Position> = FxHashMap::default();
    for (pos, op) in history.ops.iter().enumerate() {
        let pos = pos as OpPos;
        let state = positions.entry(op.process).or_default();
        match op.f {
            Function::Assign | Function::Subscribe | Function::Crash => {
                state.reset();
                if let (Function::Assign, Some(a)) = (op.f, &op.assignment) {
                    if a.seek_to_beginning && op.outcome != Outcome::Fail {
                        state.from_beginning.extend(a.keys.iter().copied());
                    }
                }
                continue;
            }
            Function::Send => continue,
            Function::Poll | Function::Txn => {}
        }
        let mut polled = false;
        for mop in &op.mops {
            let MicroOp::Poll { reads } = mop else {
                continue;
            };
            polled = true;
            if op.outcome != Outcome::Ok {
                continue;
            }
            for read in reads {
                let (Some(&(first, _)), Some(&(last, _))) =
                    (read.records.first(), read.records.last())
                else {
                    continue;
                };
                if let Some(&(from, from_op)) = state.last.get(&read.key) {
                    if from_op == pos {
                        // Two poll micro-ops of one txn: one operation, so the step is
                        // inside it (int-poll-skip, int-nonmonotonic-poll).
                        visit(Step::Within {
                            key: read.key,
                            from,
                            to: first,
                            op: pos,
                        });
                    } else {
                        visit(Step::Between {
                            key: read.key,
                            from,
                            from_op,
                            to: first,
                            to_op: pos,
                        });
                    }
                } else if state.from_beginning.remove(&read.key) {
                    visit(Step::FromBeginning {
                        key: read.key,
                        to: first,
                        op: pos,
                    });
                }
                for pair in read.records.windows(2) {
                    visit(Step::Within {
                        key: read.key,
                        from: pair[0].0,
                        to: pair[1].0,
                        op: pos,
                    });
                }
                state.last.insert(read.key, (last, pos));
            }
        }
        if polled && op.outcome == Outcome::Info {
            state.reset();
        }
    }
}
