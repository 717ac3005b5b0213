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
///
/// Laid out for size (24 bytes for an offset or a value): an index holds two slots per
/// record of the history, millions of them, and nearly every slot holds one thing, so the
/// rare further ones live behind one pointer.
#[derive(Debug, Clone)]
pub struct Slot<T> {
    first: T,
    first_op: OpPos,
    /// Set once a poll read `first` here (only used while building, to skip the
    /// `first_read` map for the many records read again).
    first_was_read: bool,
    // A thin pointer (8 bytes, where a `Vec` is 24 and a boxed slice 16): the extra
    // allocation is only paid by the rare slot that observed two things.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<(T, OpPos)>>>,
}

impl<T: Copy + PartialEq> Slot<T> {
    fn new(t: T, op: OpPos) -> Slot<T> {
        Slot {
            first: t,
            first_op: op,
            first_was_read: false,
            more: None,
        }
    }

    fn add(&mut self, t: T, op: OpPos) {
        if self.first != t && self.more().iter().all(|(x, _)| *x != t) {
            self.more.get_or_insert_with(Default::default).push((t, op));
        }
    }

    /// The things observed after the first, in order of observation.
    fn more(&self) -> &[(T, OpPos)] {
        self.more.as_deref().map_or(&[], Vec::as_slice)
    }

    /// How many distinct things were observed.
    pub fn len(&self) -> usize {
        1 + self.more().len()
    }

    /// Never empty: a slot exists because something was observed.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Each distinct thing with its first observer, in order of observation.
    pub fn iter(&self) -> impl Iterator<Item = (T, OpPos)> + '_ {
        std::iter::once(self.first()).chain(self.more().iter().copied())
    }

    /// The first thing observed.
    pub fn first(&self) -> (T, OpPos) {
        (self.first, self.first_op)
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
    pub values_at_offset: OffsetTable<Slot<Value>>,
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
        match self.values_at_offset.get_mut(&offset) {
            Some(s) => s.add(value, op),
            None => self.values_at_offset.insert(offset, Slot::new(value, op)),
        }
    }

    /// A poll read `value` at `offset`.
    fn read(&mut self, offset: Offset, value: Value, op: OpPos) {
        // Most records are read many times: once this exact (offset, value) is known and
        // was read, there is nothing new.
        let known = match self.values_at_offset.get_mut(&offset) {
            Some(s) if s.more.is_none() && s.first == value => {
                if s.first_was_read {
                    return;
                }
                s.first_was_read = true;
                true
            }
            _ => false,
        };
        if !known {
            self.observe(offset, value, op);
        }
        self.first_read.entry(value).or_insert(op);
        // Every offset read holding a value is skippable, whether or not this is the first
        // read of the value (a duplicate may have been read elsewhere first).
        self.read_offsets.push(offset);
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

/// A map keyed by offset: a table indexed by offset over the range a key's acknowledged
/// offsets span (nearly dense: gaps come only from transaction markers and unacknowledged
/// writes), a hash map for offsets outside it. Polls read the same offsets over and over,
/// in order: the table keeps those lookups in cache where a hash map scatters them.
#[derive(Debug)]
pub struct OffsetTable<T> {
    base: Offset,
    dense: Vec<Option<T>>,
    sparse: FxHashMap<Offset, T>,
    len: usize,
}

impl<T> Default for OffsetTable<T> {
    fn default() -> Self {
        OffsetTable {
            base: 0,
            dense: Vec::new(),
            sparse: FxHashMap::default(),
            len: 0,
        }
    }
}

impl<T> OffsetTable<T> {
    /// An empty table, dense over `[low, high]` when that range is not much wider than
    /// `entries` (else all sparse).
    fn new(low: Offset, high: Offset, entries: usize) -> OffsetTable<T> {
        let span = i128::from(high) - i128::from(low) + 1;
        let mut table = OffsetTable::default();
        if low <= high && span <= (entries as i128) * 4 + 1024 {
            table.base = low;
            table.dense.resize_with(span as usize, || None);
        }
        table
    }

    fn slot(&self, offset: Offset) -> Option<usize> {
        let i = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        (i < self.dense.len()).then_some(i)
    }

    /// What is stored at `offset`.
    pub fn get(&self, offset: &Offset) -> Option<&T> {
        match self.slot(*offset) {
            Some(i) => self.dense[i].as_ref(),
            None => self.sparse.get(offset),
        }
    }

    fn get_mut(&mut self, offset: &Offset) -> Option<&mut T> {
        match self.slot(*offset) {
            Some(i) => self.dense[i].as_mut(),
            None => self.sparse.get_mut(offset),
        }
    }

    /// Stores `t` at `offset`, which holds nothing yet.
    fn insert(&mut self, offset: Offset, t: T) {
        self.len += 1;
        match self.slot(offset) {
            Some(i) => self.dense[i] = Some(t),
            None => {
                self.sparse.insert(offset, t);
            }
        }
    }

    /// How many offsets hold something.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no offset holds anything.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every offset that holds something, with it; in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Offset, &T)> {
        let base = self.base;
        self.dense
            .iter()
            .enumerate()
            .filter_map(move |(i, t)| Some((base + i as Offset, t.as_ref()?)))
            .chain(self.sparse.iter().map(|(&o, t)| (o, t)))
    }
}

/// An empty map with room for `n` entries.
fn map_for<K, V>(n: usize) -> FxHashMap<K, V> {
    FxHashMap::with_capacity_and_hasher(n, Default::default())
}

/// The per-key index of a whole history.
#[derive(Debug, Default)]
pub struct Index {
    /// Indexed by [`KeyId`].
    pub keys: Vec<KeyIndex>,
}

impl Index {
    /// Builds the index in one pass over `history` (after a cheaper one that sizes its
    /// maps, so they never grow and rehash).
    pub fn build(history: &History) -> Index {
        // Per key: how many sends, and the range of acknowledged offsets.
        let mut sizes = vec![(0usize, Offset::MAX, Offset::MIN); history.keys.len()];
        for op in &history.ops {
            for mop in &op.mops {
                if let MicroOp::Send { key, offset, .. } = mop {
                    let (n, low, high) = &mut sizes[key.0 as usize];
                    *n += 1;
                    if let (Outcome::Ok, Some(o)) = (op.outcome, offset) {
                        (*low, *high) = ((*low).min(*o), (*high).max(*o));
                    }
                }
            }
        }
        let mut keys: Vec<KeyIndex> = sizes
            .iter()
            .map(|&(n, low, high)| KeyIndex {
                offsets_of_value: map_for(n),
                values_at_offset: OffsetTable::new(low, high, n),
                first_read: map_for(n),
                sends: map_for(n),
                ..KeyIndex::default()
            })
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
                                k.read(offset, value, pos);
                            }
                        }
                    }
                    MicroOp::Poll { .. } => {}
                }
            }
        }
        for k in &mut keys {
            k.known_offsets = k.values_at_offset.iter().map(|(o, _)| o).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a slot stays at 24 bytes, in a table and in a map: the index holds two per
    // record read. Method: the sizes; the regression it guards is an inline `Vec` of the
    // rare extra observations (48 bytes a slot).
    #[test]
    fn a_slot_stays_compact() {
        assert_eq!(std::mem::size_of::<Slot<Offset>>(), 24);
        assert_eq!(std::mem::size_of::<Option<Slot<Value>>>(), 24);
    }

    // Goal: an offset table answers as a hash map would, inside its dense range and out of
    // it (below, above, at the extremes of i64). Method: the same inserts into both.
    #[test]
    fn offset_table_answers_like_a_map() {
        for (low, high, entries) in [(10, 20, 8), (0, Offset::MAX, 8), (5, 4, 0)] {
            let mut table = OffsetTable::new(low, high, entries);
            let mut map = FxHashMap::default();
            for (offset, v) in [
                (10, 1),
                (20, 2),
                (9, 3),
                (21, 4),
                (Offset::MIN, 5),
                (Offset::MAX, 6),
                (15, 7),
                (-1, 8),
            ] {
                assert_eq!(table.get(&offset), None);
                table.insert(offset, v);
                map.insert(offset, v);
                *table.get_mut(&offset).unwrap() += 100;
                *map.get_mut(&offset).unwrap() += 100;
            }
            for offset in [Offset::MIN, -1, 0, 9, 10, 11, 15, 20, 21, Offset::MAX] {
                assert_eq!(table.get(&offset), map.get(&offset), "{offset}");
            }
            let mut all: Vec<(Offset, i32)> = table.iter().map(|(o, &v)| (o, v)).collect();
            let mut expected: Vec<(Offset, i32)> = map.into_iter().collect();
            all.sort_unstable();
            expected.sort_unstable();
            assert_eq!(all, expected);
            assert_eq!(table.len(), 8);
        }
    }
}
