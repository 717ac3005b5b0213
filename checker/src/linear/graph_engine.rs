//! The graph engine: decides one key's linearizability from a dependency graph in time
//! linear in the history (the default engine).
//!
//! Model (shared with the search engine): the key is an append-only log whose records are
//! ordered by offset (offsets grow in append order, gaps allowed). A send appends its
//! record; a poll returns a run of consecutive records of the log as it stood. Offsets fix
//! the order of all appends, so every constraint is a precedence and the history is
//! linearizable iff this graph has no cycle:
//!
//! - `ww`: a record precedes the next one in offset order; two records claiming one
//!   offset precede each other (a contradiction);
//! - `wr`: the record at the largest offset a poll read (and through `ww` every record
//!   before it) precedes the poll;
//! - `rw`: a poll precedes any record it should have returned but did not (one inside the
//!   run it returned), and a poll returning records out of log order precedes itself.
//!   Polls never prove where the log ended (a poll returns at most `max.poll.records`), so
//!   nothing after a poll's last record is ordered after it: no false positive from there;
//! - `realtime` / `process`: an operation that completed before another was invoked
//!   precedes it. Only edges to the frontier of latest completions are added (Elle's
//!   trick), which keeps the graph linear in size and reachability exact.
//!
//! Every strongly connected component is a violation; its shortest cycle is the witness.

use petgraph::graph::NodeIndex;

use crate::anomaly::{AnomalyKind, Finding};
use crate::graph::{cycle::shortest_cycle, scc::cyclic_components, DepGraph, EdgeKind};
use crate::history::model::{History, LineIndex, Offset, Value};

use super::record_index::RecordIndex;
use super::resolve::KeyHistory;

/// At most this many cycles are reported per key; one suffices to prove the violation.
const FINDINGS_PER_KEY_MAX: usize = 16;

/// What a node of the graph stands for.
#[derive(Debug, Clone, Copy)]
enum Node {
    /// `KeyHistory::sends[i]`.
    Send(u32),
    /// `KeyHistory::polls[i]`.
    Poll(u32),
    /// A record polls returned that no send explains (aborted, phantom or duplicated);
    /// it is in the log, appended at an unknown time.
    Foreign(u32),
}

/// One record of the log: its place and the node that appended it.
#[derive(Debug, Clone, Copy)]
struct Record {
    offset: Offset,
    value: Value,
    node: NodeIndex,
    /// The first poll that read it (names a foreign record in a witness).
    reader: Option<u32>,
}

/// Checks one key; returns a `nonlinearizable` finding per cyclic component.
pub fn check_key(history: &History, key: &KeyHistory<'_>) -> Vec<Finding> {
    let built = build(key);
    let components = cyclic_components(&built.graph);
    components
        .iter()
        .take(FINDINGS_PER_KEY_MAX)
        .map(|component| {
            let cycle = shortest_cycle(&built.graph, component);
            explain(history, key, &built, &cycle)
        })
        .collect()
}

struct Built {
    graph: DepGraph<Node>,
    records: Vec<Record>,
}

fn build(key: &KeyHistory<'_>) -> Built {
    let mut graph: DepGraph<Node> = DepGraph::with_capacity(key.len(), key.len() * 3);
    let mut records: Vec<Record> = Vec::with_capacity(key.sends.len());
    let offsets = key
        .sends
        .iter()
        .map(|s| s.offset)
        .chain(key.polls.iter().flat_map(|p| p.reads.iter().map(|r| r.0)));
    let (low, high) = offsets.fold((Offset::MAX, Offset::MIN), |(l, h), o| (l.min(o), h.max(o)));
    let mut by_record = RecordIndex::new(low, high, key.sends.len());
    for (i, send) in key.sends.iter().enumerate() {
        let node = graph.add_node(Node::Send(i as u32));
        by_record.id_or_insert(send.offset, send.value, records.len() as u32);
        records.push(Record {
            offset: send.offset,
            value: send.value,
            node,
            reader: None,
        });
    }
    let poll_nodes: Vec<NodeIndex> = (0..key.polls.len())
        .map(|i| graph.add_node(Node::Poll(i as u32)))
        .collect();
    // The record id of every read, in poll order (one lookup per read).
    let mut read_ids: Vec<u32> = Vec::with_capacity(key.polls.iter().map(|p| p.reads.len()).sum());
    for (i, poll) in key.polls.iter().enumerate() {
        for &(offset, value) in poll.reads {
            let next = records.len() as u32;
            let id = by_record.id_or_insert(offset, value, next);
            if id == next {
                let node = graph.add_node(Node::Foreign(id));
                records.push(Record {
                    offset,
                    value,
                    node,
                    reader: Some(i as u32),
                });
            }
            read_ids.push(id);
        }
    }
    drop(by_record);

    // Version order: by offset; ties (two records claiming one offset) point both ways.
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    order.sort_unstable_by_key(|r| (records[*r as usize].offset, records[*r as usize].value, *r));
    let mut rank = vec![0u32; records.len()];
    for (position, r) in order.iter().enumerate() {
        rank[*r as usize] = position as u32;
    }
    for pair in order.windows(2) {
        let (a, b) = (records[pair[0] as usize], records[pair[1] as usize]);
        graph.add_edge(a.node, b.node, EdgeKind::Ww);
        if a.offset == b.offset {
            graph.add_edge(b.node, a.node, EdgeKind::Ww);
        }
    }

    // Reads: the last record read precedes the poll; a record skipped inside the run, or a
    // run out of order, puts the poll before a record that precedes it.
    let mut ranks: Vec<u32> = Vec::new();
    let mut ids = read_ids.iter();
    for (i, poll) in key.polls.iter().enumerate() {
        let p = poll_nodes[i];
        ranks.clear();
        ranks.extend(
            ids.by_ref()
                .take(poll.reads.len())
                .map(|r| rank[*r as usize]),
        );
        let increasing = ranks.windows(2).all(|w| w[0] < w[1]);
        if !increasing {
            graph.add_edge(p, p, EdgeKind::Rw);
        } else if let Some(w) = ranks.windows(2).find(|w| w[1] != w[0] + 1) {
            let skipped = records[order[(w[0] + 1) as usize] as usize].node;
            graph.add_edge(p, skipped, EdgeKind::Rw);
        }
        let last = ranks
            .iter()
            .copied()
            .max()
            .expect("polls here read something");
        graph.add_edge(records[order[last as usize] as usize].node, p, EdgeKind::Wr);
    }

    add_real_time_edges(&mut graph, key, &poll_nodes);
    Built { graph, records }
}

/// Real-time and process order, through the frontier of latest completions: when an
/// operation is invoked it gets an edge from every operation in the frontier; when one
/// completes it replaces the frontier operations that completed before it was invoked.
fn add_real_time_edges(graph: &mut DepGraph<Node>, key: &KeyHistory<'_>, poll_nodes: &[NodeIndex]) {
    struct Timed {
        node: NodeIndex,
        call: LineIndex,
        ret: Option<LineIndex>,
        process: u64,
    }
    let mut timed: Vec<Timed> = Vec::with_capacity(key.len());
    for (i, s) in key.sends.iter().enumerate() {
        timed.push(Timed {
            node: NodeIndex::new(i),
            call: s.call,
            ret: s.ret,
            process: s.process,
        });
    }
    for (i, p) in key.polls.iter().enumerate() {
        timed.push(Timed {
            node: poll_nodes[i],
            call: p.call,
            ret: p.ret,
            process: p.process,
        });
    }
    // (line index, which operation, is it the invoke?)
    let mut events: Vec<(LineIndex, u32, bool)> = Vec::with_capacity(timed.len() * 2);
    for (i, t) in timed.iter().enumerate() {
        events.push((t.call, i as u32, true));
        if let Some(ret) = t.ret {
            events.push((ret, i as u32, false));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<u32> = Vec::new();
    for (_, i, is_call) in events {
        let op = &timed[i as usize];
        if is_call {
            for f in &frontier {
                let before = &timed[*f as usize];
                let kind = if before.process == op.process {
                    EdgeKind::Process
                } else {
                    EdgeKind::Realtime
                };
                graph.add_edge(before.node, op.node, kind);
            }
        } else {
            frontier.retain(|f| timed[*f as usize].ret.is_some_and(|r| r > op.call));
            frontier.push(i);
        }
    }
}

fn explain(
    history: &History,
    key: &KeyHistory<'_>,
    built: &Built,
    cycle: &[petgraph::graph::EdgeIndex],
) -> Finding {
    let graph = &built.graph;
    let describe = |n: NodeIndex| -> String {
        match graph[n] {
            Node::Send(i) => {
                let s = key.sends[i as usize];
                format!(
                    "send of {} at offset {} (index {})",
                    s.value, s.offset, s.call
                )
            }
            Node::Poll(i) => format!("poll (index {})", key.polls[i as usize].call),
            Node::Foreign(r) => {
                let r = built.records[r as usize];
                format!(
                    "record {} at offset {} that no send explains",
                    r.value, r.offset
                )
            }
        }
    };
    let witness_of = |n: NodeIndex| -> Vec<LineIndex> {
        let op = match graph[n] {
            Node::Send(i) => key.sends[i as usize].op,
            Node::Poll(i) => key.polls[i as usize].op,
            Node::Foreign(r) => {
                let reader = built.records[r as usize]
                    .reader
                    .expect("foreign records were read");
                key.polls[reader as usize].op
            }
        };
        history.ops[op].witness()
    };
    let mut ops: Vec<LineIndex> = Vec::new();
    let mut steps = Vec::new();
    let mut sentence = String::new();
    let mut first_record: Option<(Offset, Value)> = None;
    for (position, edge) in cycle.iter().enumerate() {
        let (from, to) = graph.edge_endpoints(*edge).expect("cycle edges exist");
        let kind = graph[*edge];
        ops.extend(witness_of(from));
        if first_record.is_none() {
            first_record = record_of(key, built, from);
        }
        if position == 0 {
            sentence.push_str(&describe(from));
        }
        sentence.push_str(&format!(" -{}-> {}", kind.name(), describe(to)));
        steps.push(serde_json::json!({
            "from": describe(from),
            "to": describe(to),
            "type": kind.name(),
            "why": why(key, built, from, to, kind),
        }));
    }
    ops.sort_unstable();
    ops.dedup();
    let name = history.keys.name(key.key).to_owned();
    let mut finding = Finding::new(
        AnomalyKind::Nonlinearizable,
        ops,
        format!(
            "key {name}: no order of these operations, consistent with real time, explains them \
             as one append-only log: {sentence}"
        ),
    );
    finding.key = Some(name);
    finding.offset = first_record.map(|r| r.0);
    finding.value = first_record.map(|r| r.1);
    finding.details = serde_json::json!({"engine": "graph", "cycle": steps});
    finding
}

fn record_of(key: &KeyHistory<'_>, built: &Built, n: NodeIndex) -> Option<(Offset, Value)> {
    match built.graph[n] {
        Node::Send(i) => Some((key.sends[i as usize].offset, key.sends[i as usize].value)),
        Node::Foreign(r) => Some((
            built.records[r as usize].offset,
            built.records[r as usize].value,
        )),
        Node::Poll(_) => None,
    }
}

/// One sentence per edge: why `from` must precede `to`.
fn why(
    key: &KeyHistory<'_>,
    built: &Built,
    from: NodeIndex,
    to: NodeIndex,
    kind: EdgeKind,
) -> String {
    let offset = |n| record_of(key, built, n).map(|r| r.0);
    let times = |n: NodeIndex| match built.graph[n] {
        Node::Send(i) => (key.sends[i as usize].call, key.sends[i as usize].ret),
        Node::Poll(i) => (key.polls[i as usize].call, key.polls[i as usize].ret),
        Node::Foreign(_) => (0, None),
    };
    match kind {
        EdgeKind::Ww => match (offset(from), offset(to)) {
            (Some(a), Some(b)) if a == b => format!("both records claim offset {a}"),
            (Some(a), Some(b)) => format!("offset {a} precedes offset {b} in the log"),
            _ => "log order".to_owned(),
        },
        EdgeKind::Wr => format!(
            "the poll read offset {} or later, so this record was already appended",
            offset(from).unwrap_or_default()
        ),
        EdgeKind::Rw if from == to => "the poll returned records out of log order".to_owned(),
        EdgeKind::Rw => format!(
            "the poll's run covers offset {} but did not return it",
            offset(to).unwrap_or_default()
        ),
        EdgeKind::Realtime | EdgeKind::Process => {
            let (_, ret) = times(from);
            let (call, _) = times(to);
            format!(
                "completed (index {}) before the other was invoked (index {call})",
                ret.unwrap_or_default()
            )
        }
    }
}
