//! Shrinks a failing key history to a minimal failing sub-history: the witness of the
//! search engine, small enough to read.
//!
//! Failure is monotone for the log model (removing a send turns its records into ones no
//! send explains, which may be appended any time; removing a poll removes constraints), so
//! delta debugging applies: drop chunks of halving size while the rest still fails. With
//! enough time the result is 1-minimal: removing any single operation makes it pass.

use std::time::Instant;

use crate::linear::resolve::KeyHistory;

use super::log_model::LogModel;
use super::wgl::{search, SearchResult};

/// The units (see [`LogModel::for_key`]) of a failing sub-history of `key`, and whether it
/// is 1-minimal (false when `deadline` cut shrinking short).
pub fn shrink(key: &KeyHistory<'_>, deadline: Instant) -> (Vec<usize>, bool) {
    let mut keep: Vec<usize> = (0..key.len()).collect();
    let mut member = vec![true; key.len()];
    let mut chunk = keep.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < keep.len() {
            if Instant::now() >= deadline {
                return (keep, false);
            }
            let end = (i + chunk).min(keep.len());
            for u in &keep[i..end] {
                member[*u] = false;
            }
            let part = LogModel::for_key(String::new(), key, |u| member[u]);
            if search(&part.model, &part.calls, deadline) == SearchResult::Nonlinearizable {
                keep.drain(i..end);
            } else {
                for u in &keep[i..end] {
                    member[*u] = true;
                }
                i = end;
            }
        }
        if chunk == 1 {
            return (keep, true);
        }
        chunk = chunk.div_ceil(2);
    }
}
