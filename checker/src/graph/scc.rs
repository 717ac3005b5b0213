//! Strongly connected components by an iterative Tarjan: the components that hold a cycle
//! are exactly where a history has no valid order.
//!
//! petgraph's `tarjan_scc` recurses once per node of a path, which a million-operation
//! history would turn into a stack overflow; this version keeps its own explicit stack.

use petgraph::graph::{Neighbors, NodeIndex};

use super::DepGraph;

const UNVISITED: u32 = u32::MAX;

/// The components of `graph` that contain a cycle: more than one node, or one node with
/// an edge to itself. Each component lists its nodes in discovery order.
pub fn cyclic_components<N>(graph: &DepGraph<N>) -> Vec<Vec<NodeIndex>> {
    let n = graph.node_count();
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<NodeIndex> = Vec::new();
    let mut work: Vec<(NodeIndex, Neighbors<'_, super::EdgeKind, u32>)> = Vec::new();
    let mut counter = 0u32;
    let mut found = Vec::new();

    for root in graph.node_indices() {
        if index[root.index()] != UNVISITED {
            continue;
        }
        open(root, &mut counter, &mut index, &mut low, &mut on_stack);
        stack.push(root);
        work.push((root, graph.neighbors(root)));
        while let Some((v, neighbors)) = work.last_mut() {
            let v = *v;
            if let Some(w) = neighbors.next() {
                if index[w.index()] == UNVISITED {
                    open(w, &mut counter, &mut index, &mut low, &mut on_stack);
                    stack.push(w);
                    work.push((w, graph.neighbors(w)));
                } else if on_stack[w.index()] {
                    low[v.index()] = low[v.index()].min(index[w.index()]);
                }
                continue;
            }
            work.pop();
            if let Some((parent, _)) = work.last() {
                low[parent.index()] = low[parent.index()].min(low[v.index()]);
            }
            if low[v.index()] == index[v.index()] {
                let start = stack
                    .iter()
                    .rposition(|x| *x == v)
                    .expect("a component root is on the stack");
                let component: Vec<NodeIndex> = stack.drain(start..).collect();
                for x in &component {
                    on_stack[x.index()] = false;
                }
                if component.len() > 1 || graph.contains_edge(v, v) {
                    found.push(component);
                }
            }
        }
    }
    found
}

fn open(
    v: NodeIndex,
    counter: &mut u32,
    index: &mut [u32],
    low: &mut [u32],
    on_stack: &mut [bool],
) {
    index[v.index()] = *counter;
    low[v.index()] = *counter;
    on_stack[v.index()] = true;
    *counter += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::EdgeKind;

    fn graph(n: usize, edges: &[(u32, u32)]) -> DepGraph<()> {
        let mut g = DepGraph::default();
        for _ in 0..n {
            g.add_node(());
        }
        for (a, b) in edges {
            g.add_edge(
                NodeIndex::new(*a as usize),
                NodeIndex::new(*b as usize),
                EdgeKind::Ww,
            );
        }
        g
    }

    fn sorted(mut comps: Vec<Vec<NodeIndex>>) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = comps
            .iter_mut()
            .map(|c| {
                let mut c: Vec<usize> = c.iter().map(|n| n.index()).collect();
                c.sort();
                c
            })
            .collect();
        out.sort();
        out
    }

    // Goal: cycles are found, acyclic parts are not. Method: two cycles, a tail, a self-loop.
    #[test]
    fn finds_exactly_the_cyclic_components() {
        let g = graph(
            7,
            &[
                (0, 1),
                (1, 2),
                (2, 0),
                (2, 3),
                (3, 4),
                (4, 3),
                (5, 6),
                (6, 6),
            ],
        );
        assert_eq!(
            sorted(cyclic_components(&g)),
            vec![vec![0, 1, 2], vec![3, 4], vec![6]]
        );
        let acyclic = graph(4, &[(0, 1), (1, 2), (0, 2), (2, 3)]);
        assert!(cyclic_components(&acyclic).is_empty());
    }

    // Goal: no recursion. Method: a path of a million nodes closed into one cycle.
    #[test]
    fn a_million_node_cycle_does_not_overflow_the_stack() {
        let n = 1_000_000u32;
        let edges: Vec<(u32, u32)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        let g = graph(n as usize, &edges);
        let comps = cyclic_components(&g);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n as usize);
    }
}
