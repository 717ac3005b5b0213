//! The shared per-key index every detector reads: for each key, every observed
//! `offset -> value(s)` and `value -> offset(s)` (from acknowledgements and polls), the
//! first poll that read each value, the sends by value with their outcome, and the sorted
//! offsets known to hold a value (the version order).
//!
//! Built in one pass over the history with hash maps; a slot keeps its first entry inline
//! so the common case (one value per offset, one offset per value) allocates nothing extra.

use rustc_hash::FxHashMap;

use crate::history::model::{History, KeyId, MicroOp, Offset, Outcome, Value};

/// A position in [`History::ops`].
pub type OpPos = u32;

/// Distinct things observed at one place, each with the first operation that observed it.
#[derive(Debug, Clone)]
pub struct Slot<T> {
    first: (T, OpPos),
    more: Vec<(T, OpPos)>,
}

impl<T: Copy + PartialEq> Slot<T> {
    fn new(t: T, op: OpPos) -> Slot<T> {
        Slot {
            first: (t, op),
            more: Vec::new(),
        }
    }

    fn add(&mut self, t: T, op: OpPos) {
        if self.first.0 != t && self.more.iter().all(|(x, _)| *x != t) {
            self.more.push((t, op));
        }
    }

    /// How many distinct things were observed.
    pub fn len(&self) -> usize {
        1 + self.more.len()
    }

    /// Never empty: a slot exists because something was observed.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Each distinct thing with its first observer, in order of observation.
    pub fn iter(&self) -> impl Iterator<Item = (T, OpPos)> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }

    /// The first thing observed.
    pub fn first(&self) -> (T, OpPos) {
        self.first
    }
}

/// What became of one send (a `send` op or a send inside a `txn`).
#[derive(Debug, Clone, Copy)]
pub struct SendRecord {
    /// The operation that sent it.
    pub op: OpPos,
    /// How that operation ended.
    pub outcome: Outcome,
    /// The offset the broker acknowledged, if it said.
    pub acked_offset: Option<Offset>,
}

/// Everything known about one key.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// value -> distinct offsets it was observed at (acks and polls).
    pub offsets_of_value: FxHashMap<Value, Slot<Offset>>,
    /// offset -> distinct values observed there (acks and polls).
    pub values_at_offset: FxHashMap<Offset, Slot<Value>>,
    /// value -> the first poll (or txn) that read it.
    pub first_read: FxHashMap<Value, OpPos>,
    /// value -> its send.
    pub sends: FxHashMap<Value, SendRecord>,
    /// Every offset observed to hold a value, sorted, unique.
    pub known_offsets: Vec<Offset>,
    /// Every offset some poll read a value at, sorted, unique: the offsets a consumer can
    /// be said to skip (an acknowledged offset nobody ever read is lost, not skipped).
    pub read_offsets: Vec<Offset>,
}

impl KeyIndex {
    fn observe(&mut self, offset: Offset, value: Value, op: OpPos) {
        self.offsets_of_value
            .entry(value)
            .and_modify(|s| s.add(offset, op))
            .or_insert_with(|| Slot::new(offset, op));
        self.values_at_offset
            .entry(offset)
            .and_modify(|s| s.add(value, op))
            .or_insert_with(|| Slot::new(value, op));
    }

    /// Whether some offset strictly between `low` and `high` is known to hold a value.
    pub fn known_offset_between(&self, low: Offset, high: Offset) -> Option<Offset> {
        if high <= low.saturating_add(1) {
            return None;
        }
        let i = self.known_offsets.partition_point(|&o| o <= low);
        self.known_offsets.get(i).copied().filter(|&o| o < high)
    }

    /// Whether some offset strictly between `low` and `high` was read holding a value.
    pub fn read_offset_between(&self, low: Offset, high: Offset) -> Option<Offset> {
        if high <= low.saturating_add(1) {
            return None;
        }
        let i = self.read_offsets.partition_point(|&o| o <= low);
        self.read_offsets.get(i).copied().filter(|&o| o < high)
    }
}

/// The per-key index of a whole history.
#[derive(Debug, Default)]
pub struct Index {
    /// Indexed by [`KeyId`].
    pub keys: Vec<KeyIndex>,
}

impl Index {
    /// Builds the index in one pass over `history`.
    pub fn build(history: &History) -> Index {
        let mut keys: Vec<KeyIndex> = (0..history.keys.len())
            .map(|_| KeyIndex::default())
            .collect();
        for (pos, op) in history.ops.iter().enumerate() {
            let pos = OpPos::try_from(pos).expect("fewer than 2^32 operations");
            for mop in &op.mops {
                match mop {
                    MicroOp::Send { key, value, offset } => {
                        let k = &mut keys[key.0 as usize];
                        k.sends.entry(*value).or_insert(SendRecord {
                            op: pos,
                            outcome: op.outcome,
                            acked_offset: *offset,
                        });
                        if let (Outcome::Ok, Some(offset)) = (op.outcome, offset) {
                            k.observe(*offset, *value, pos);
                        }
                    }
                    MicroOp::Poll { reads } if op.outcome == Outcome::Ok => {
                        for read in reads {
                            let k = &mut keys[read.key.0 as usize];
                            for &(offset, value) in &read.records {
                                // Most records are read many times: skip the second map
                                // when this exact (offset, value) is already known.
                                let known = k
                                    .values_at_offset
                                    .get(&offset)
                                    .is_some_and(|s| s.more.is_empty() && s.first.0 == value);
                                if !known {
                                    k.observe(offset, value, pos);
                                }
                                let mut newly_read = false;
                                k.first_read.entry(value).or_insert_with(|| {
                                    newly_read = true;
                                    pos
                                });
                                if !known || newly_read {
                                    k.read_offsets.push(offset);
                                }
                            }
                        }
                    }
                    MicroOp::Poll { .. } => {}
                }
            }
        }
        for k in &mut keys {
            k.known_offsets = k.values_at_offset.keys().copied().collect();
            k.known_offsets.sort_unstable();
            k.read_offsets.sort_unstable();
            k.read_offsets.dedup();
        }
        Index { keys }
    }

    /// The index of one key.
    pub fn key(&self, key: KeyId) -> &KeyIndex {
        &self.keys[key.0 as usize]
    }

    /// Every key with its index.
    pub fn iter(&self) -> impl Iterator<Item = (KeyId, &KeyIndex)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (KeyId(i as u32), k))
    }
}
