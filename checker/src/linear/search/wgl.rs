//! The Wing & Gong linearizability search with Lowe's memoisation (as in Knossos and
//! Porcupine): walk the history's events in order, tentatively linearize a pending call
//! whenever the model allows it, and backtrack when a call returns before it could be
//! linearized.
//!
//! Two refinements keep it near-linear on the histories samsa produces:
//! - visited configurations (linearized set, state) are memoised with a 128-bit Zobrist
//!   hash of the linearized set instead of the set itself, so the memo costs 32 bytes per
//!   configuration instead of a bitset of the whole history (Porcupine's memory problem).
//!   Two different sets collide with probability about n²/2¹²⁸;
//! - a call that leaves the state unchanged (a poll, a register read) is linearized
//!   eagerly and never retried later: moving such a call to the earliest point where it is
//!   enabled keeps every other step valid, so the alternatives are dominated. Backtracking
//!   therefore branches only on state-changing calls.

use std::time::Instant;

use rustc_hash::FxHashSet;

use super::model::{Call, Model};

/// The conclusion of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchResult {
    /// Some order of the calls, consistent with real time, satisfies the model.
    Linearizable,
    /// No such order exists.
    Nonlinearizable,
    /// The deadline passed first.
    Unknown,
}

const HEAD: usize = 0;
const TAIL: usize = 1;

/// The pending events as a doubly linked list (indices into `events`, 0 and 1 sentinels),
/// so linearizing a call removes it in O(1) and backtracking puts it back in O(1).
struct EventList {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For each list node: the call it belongs to and whether it is the invocation.
    events: Vec<(usize, bool)>,
    call_node: Vec<usize>,
    ret_node: Vec<Option<usize>>,
}

impl EventList {
    fn new<O>(calls: &[Call<O>]) -> EventList {
        // (time, returns after calls at the same time, call id, is the invocation)
        let mut timeline: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
        for (i, c) in calls.iter().enumerate() {
            timeline.push((c.call, false, i));
            if let Some(ret) = c.ret {
                timeline.push((ret, true, i));
            }
        }
        timeline.sort_unstable();
        let n = timeline.len() + 2;
        let mut list = EventList {
            next: vec![TAIL; n],
            prev: vec![HEAD; n],
            events: vec![(usize::MAX, false); n],
            call_node: vec![0; calls.len()],
            ret_node: vec![None; calls.len()],
        };
        let mut last = HEAD;
        for (k, (_, is_return, id)) in timeline.into_iter().enumerate() {
            let node = k + 2;
            list.events[node] = (id, !is_return);
            if is_return {
                list.ret_node[id] = Some(node);
            } else {
                list.call_node[id] = node;
            }
            list.next[last] = node;
            list.prev[node] = last;
            last = node;
        }
        list.next[last] = TAIL;
        list.prev[TAIL] = last;
        list
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        self.prev[n] = node;
    }

    fn lift(&mut self, id: usize) {
        self.unlink(self.call_node[id]);
        if let Some(r) = self.ret_node[id] {
            self.unlink(r);
        }
    }

    /// Undoes [`EventList::lift`]; calls must be unlifted in the reverse order they were lifted.
    fn unlift(&mut self, id: usize) {
        if let Some(r) = self.ret_node[id] {
            self.relink(r);
        }
        self.relink(self.call_node[id]);
    }
}

/// A 128-bit Zobrist key for call `id` (splitmix64, twice).
fn zobrist(id: usize) -> u128 {
    fn splitmix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    let lo = splitmix(id as u64);
    let hi = splitmix(lo ^ 0xD1B5_4A32_D192_ED03);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// Searches for a linearization of `calls` under `model`, giving up at `deadline`.
pub fn search<M: Model>(model: &M, calls: &[Call<M::Op>], deadline: Instant) -> SearchResult {
    let mut list = EventList::new(calls);
    let mut state = model.init();
    let mut hash: u128 = 0;
    let mut seen: FxHashSet<(u128, M::State)> = FxHashSet::default();
    // (call id, state before it, whether it left the state unchanged)
    let mut stack: Vec<(usize, M::State, bool)> = Vec::new();
    let mut entry = list.next[HEAD];
    let mut steps: u64 = 0;
    loop {
        steps += 1;
        if steps.is_multiple_of(1024) && Instant::now() >= deadline {
            return SearchResult::Unknown;
        }
        if entry == TAIL {
            // No return event is left: every call that must take effect did.
            return SearchResult::Linearizable;
        }
        let (id, is_call) = list.events[entry];
        let mut backtrack = !is_call;
        if is_call {
            if let Some(next) = model.step(&state, &calls[id].op) {
                let next_hash = hash ^ zobrist(id);
                let unchanged = next == state;
                if seen.insert((next_hash, next.clone())) {
                    let before = std::mem::replace(&mut state, next);
                    stack.push((id, before, unchanged));
                    hash = next_hash;
                    list.lift(id);
                    entry = list.next[HEAD];
                    continue;
                }
                // That configuration already failed; with an unchanged state so does this one.
                backtrack = unchanged;
            }
            if !backtrack {
                entry = list.next[entry];
                continue;
            }
        }
        loop {
            let Some((id, before, unchanged)) = stack.pop() else {
                return SearchResult::Nonlinearizable;
            };
            state = before;
            hash ^= zobrist(id);
            list.unlift(id);
            if !unchanged {
                entry = list.next[list.call_node[id]];
                break;
            }
        }
    }
}
