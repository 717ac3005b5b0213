//! Dependency graphs over operations: typed edges, strongly connected components and
//! shortest cycles, and Adya's classification of a cycle by its edge types.
//!
//! The linearizability graph engine builds one of these per key from send/poll histories;
//! transaction workloads will build one over transactions and classify its cycles as
//! G0 / G1c / G-single / G2 (Adya, "Weak Consistency", 1999; Elle, Kingsbury & Alvaro 2020).
//! Everything here is iterative: histories reach millions of operations, and a recursive
//! depth-first search would overflow the stack.

pub mod cycle;
pub mod scc;

use serde::Serialize;

use crate::anomaly::AnomalyKind;

/// Why one operation must precede another in every valid order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// Write-write: the source's record precedes the target's in the log's version order.
    Ww,
    /// Write-read: the target read the source's record (or one after it in the log).
    Wr,
    /// Read-write anti-dependency: the target's record is one the source did not observe
    /// although it must have if the source came later.
    Rw,
    /// Real time: the source completed before the target was invoked.
    Realtime,
    /// Process order: the source is an earlier operation of the same client process.
    Process,
}

impl EdgeKind {
    /// The short name used in findings.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Realtime => "realtime",
            EdgeKind::Process => "process",
        }
    }
}

/// A directed graph whose nodes are operations (`N`) and whose edges carry their kind.
pub type DepGraph<N> = petgraph::Graph<N, EdgeKind, petgraph::Directed, u32>;

/// Classifies a dependency cycle by its edge types, following Adya: only ww edges is G0,
/// ww and wr (no anti-dependency) is G1c, exactly one rw is G-single, more is G2. The
/// boolean says whether real-time or process edges were needed (Elle's `-realtime` and
/// `-process` variants), which makes the cycle a violation of strict serializability
/// rather than of serializability alone.
pub fn classify(kinds: &[EdgeKind]) -> (AnomalyKind, bool) {
    let rw = kinds.iter().filter(|k| **k == EdgeKind::Rw).count();
    let wr = kinds.contains(&EdgeKind::Wr);
    let ordered = kinds
        .iter()
        .any(|k| matches!(k, EdgeKind::Realtime | EdgeKind::Process));
    let kind = match (rw, wr) {
        (0, false) => AnomalyKind::G0,
        (0, true) => AnomalyKind::G1c,
        (1, _) => AnomalyKind::GSingle,
        _ => AnomalyKind::G2,
    };
    (kind, ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: Adya's classes come out of the edge types. Method: one cycle per class.
    #[test]
    fn classify_follows_adya() {
        use EdgeKind::*;
        assert_eq!(classify(&[Ww, Ww]), (AnomalyKind::G0, false));
        assert_eq!(classify(&[Ww, Wr]), (AnomalyKind::G1c, false));
        assert_eq!(classify(&[Wr, Rw]), (AnomalyKind::GSingle, false));
        assert_eq!(classify(&[Rw, Rw, Ww]), (AnomalyKind::G2, false));
        assert_eq!(classify(&[Ww, Realtime]), (AnomalyKind::G0, true));
        assert_eq!(classify(&[Wr, Process]), (AnomalyKind::G1c, true));
    }
}
