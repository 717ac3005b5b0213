//! The shortest cycle inside a strongly connected component, found by breadth-first
//! search: the smallest witness a reader has to follow to see why no order exists.

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::{FxHashMap, FxHashSet};

use super::DepGraph;

/// Components up to this size are searched from every node; larger ones from the first
/// `STARTS_MAX` nodes only, so a huge component costs a bounded number of searches.
const STARTS_MAX: usize = 16;

/// A shortest cycle through some node of `component` (exactly shortest when the component
/// has at most `STARTS_MAX` nodes), as its edges in order. `component` must be one of
/// [`super::scc::cyclic_components`]'s results.
pub fn shortest_cycle<N>(graph: &DepGraph<N>, component: &[NodeIndex]) -> Vec<EdgeIndex> {
    let members: FxHashSet<NodeIndex> = component.iter().copied().collect();
    let mut best: Vec<EdgeIndex> = Vec::new();
    for &start in component.iter().take(STARTS_MAX) {
        if let Some(edge) = graph.find_edge(start, start) {
            return vec![edge];
        }
        let bound = if best.is_empty() {
            usize::MAX
        } else {
            best.len()
        };
        if let Some(cycle) = cycle_through(graph, &members, start, bound) {
            if best.is_empty() || cycle.len() < best.len() {
                best = cycle;
            }
        }
        if best.len() == 2 {
            break;
        }
    }
    assert!(!best.is_empty(), "a cyclic component has a cycle");
    best
}

/// The shortest cycle through `start` within `members`, if one shorter than `bound` exists.
fn cycle_through<N>(
    graph: &DepGraph<N>,
    members: &FxHashSet<NodeIndex>,
    start: NodeIndex,
    bound: usize,
) -> Option<Vec<EdgeIndex>> {
    let mut parent: FxHashMap<NodeIndex, (EdgeIndex, usize)> = FxHashMap::default();
    let mut frontier = vec![start];
    let mut depth = 0usize;
    while !frontier.is_empty() && depth + 1 < bound {
        depth += 1;
        let mut next = Vec::new();
        for &node in &frontier {
            for edge in graph.edges(node) {
                let target = edge.target();
                if target == start {
                    let mut path = vec![edge.id()];
                    let mut at = node;
                    while at != start {
                        let (via, _) = parent[&at];
                        path.push(via);
                        at = graph.edge_endpoints(via).expect("a recorded edge exists").0;
                    }
                    path.reverse();
                    return Some(path);
                }
                if members.contains(&target) && !parent.contains_key(&target) {
                    parent.insert(target, (edge.id(), depth));
                    next.push(target);
                }
            }
        }
        frontier = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{scc::cyclic_components, EdgeKind};

    // Goal: the witness is the shortest cycle, not merely a cycle. Method: a component with
    // a 4-cycle and a 2-cycle sharing node 0.
    #[test]
    fn picks_the_shortest_cycle() {
        let mut g: DepGraph<u32> = DepGraph::default();
        let n: Vec<NodeIndex> = (0..4).map(|i| g.add_node(i)).collect();
        g.add_edge(n[0], n[1], EdgeKind::Ww);
        g.add_edge(n[1], n[2], EdgeKind::Ww);
        g.add_edge(n[2], n[3], EdgeKind::Wr);
        g.add_edge(n[3], n[0], EdgeKind::Realtime);
        g.add_edge(n[2], n[0], EdgeKind::Rw);
        let comps = cyclic_components(&g);
        assert_eq!(comps.len(), 1);
        let cycle = shortest_cycle(&g, &comps[0]);
        assert_eq!(cycle.len(), 3);
        let kinds: Vec<EdgeKind> = cycle.iter().map(|e| g[*e]).collect();
        assert!(kinds.contains(&EdgeKind::Rw));
        // The edges chain: each target is the next source, and the last returns to the first.
        for (i, e) in cycle.iter().enumerate() {
            let (_, to) = g.edge_endpoints(*e).unwrap();
            let (from_next, _) = g.edge_endpoints(cycle[(i + 1) % cycle.len()]).unwrap();
            assert_eq!(to, from_next);
        }
    }
}
