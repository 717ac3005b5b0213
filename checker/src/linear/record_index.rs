//! Finds a record of one key's log by `(offset, value)`: the graph engine's hottest lookup
//! (once per record every poll returned).
//!
//! A key's offsets almost always span a range close to the number of records (gaps come
//! only from transaction markers and unread writes), so a table indexed by offset, with a
//! chain for the rare offsets claimed by several values, beats a hash map; a key whose
//! offsets are sparse falls back to one.

use rustc_hash::FxHashMap;

use crate::history::model::{Offset, Value};

const NONE: u32 = u32::MAX;

/// Record ids by `(offset, value)`.
pub enum RecordIndex {
    /// Offsets within `base .. base + first.len()`.
    Dense {
        /// The smallest offset.
        base: Offset,
        /// Per offset: the most recently inserted record there, or `NONE`.
        first: Vec<u32>,
        /// Per record id: its value, and the next record at the same offset.
        chain: Vec<(Value, u32)>,
    },
    /// Offsets too spread out for a table.
    Sparse(FxHashMap<(Offset, Value), u32>),
}

impl RecordIndex {
    /// An index ready for records whose offsets all lie within `[low, high]`, about
    /// `records` of them.
    pub fn new(low: Offset, high: Offset, records: usize) -> RecordIndex {
        let span = i128::from(high) - i128::from(low) + 1;
        if low <= high && span <= (records as i128) * 4 + 1024 {
            RecordIndex::Dense {
                base: low,
                first: vec![NONE; span as usize],
                chain: Vec::with_capacity(records),
            }
        } else {
            let mut map = FxHashMap::default();
            map.reserve(records);
            RecordIndex::Sparse(map)
        }
    }

    /// The id of the record `(offset, value)`; if there is none yet, it becomes `next`.
    /// `offset` must lie within the bounds given to [`RecordIndex::new`].
    pub fn id_or_insert(&mut self, offset: Offset, value: Value, next: u32) -> u32 {
        match self {
            RecordIndex::Sparse(map) => *map.entry((offset, value)).or_insert(next),
            RecordIndex::Dense { base, first, chain } => {
                let slot = (offset - *base) as usize;
                let mut id = first[slot];
                while id != NONE {
                    let (v, after) = chain[id as usize];
                    if v == value {
                        return id;
                    }
                    id = after;
                }
                if chain.len() <= next as usize {
                    chain.resize(next as usize + 1, (0, NONE));
                }
                chain[next as usize] = (value, first[slot]);
                first[slot] = next;
                next
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: both representations answer alike. Method: the same inserts into each,
    // including two values at one offset and a repeated record.
    #[test]
    fn dense_and_sparse_agree() {
        let mut dense = RecordIndex::new(10, 20, 8);
        let mut sparse = RecordIndex::new(0, Offset::MAX, 8);
        assert!(matches!(dense, RecordIndex::Dense { .. }));
        assert!(matches!(sparse, RecordIndex::Sparse(_)));
        let inserts = [
            (10, 1),
            (12, 2),
            (12, 3),
            (20, 4),
            (12, 2),
            (10, 1),
            (11, 5),
        ];
        let mut next = 0;
        for (offset, value) in inserts {
            let a = dense.id_or_insert(offset, value, next);
            let b = sparse.id_or_insert(offset, value, next);
            assert_eq!(a, b, "({offset}, {value})");
            if a == next {
                next += 1;
            }
        }
        assert_eq!(next, 5);
        assert_eq!(dense.id_or_insert(12, 3, next), 2);
    }
}
