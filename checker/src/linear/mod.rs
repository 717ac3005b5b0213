//! Linearizability of the per-key logs: two engines that check each other.
//!
//! Both see the same model (HISTORY.md, `nonlinearizable`): each key is an append-only log
//! whose offsets grow in append order (not necessarily densely); a send appends one record
//! within its interval; a poll returns consecutive records of the log as it stood, and
//! never proves where the log ended. Indeterminate sends are resolved first
//! ([`resolve`]). The graph engine ([`graph_engine`]) decides by cycle detection in time
//! linear in the history; the search engine ([`search`]) by a Wing & Gong / Lowe search.
//! Records both model as appended by nobody (duplicates) are additionally held to real
//! time by [`future_read`], whichever engine runs.
//! [`Engine::Both`] runs both and reports any disagreement loudly: it is a checker bug.

pub mod future_read;
pub mod graph_engine;
mod record_index;
pub mod resolve;
pub mod search;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::anomaly::Finding;
use crate::history::model::{History, KeyId};

use search::KeyVerdict;

/// Which engine decides linearizability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The dependency-graph engine (cycles via Tarjan SCC): fast, the default.
    #[default]
    Graph,
    /// The Wing & Gong / Lowe search: general, exponential in the worst case.
    Search,
    /// Both, and report a disagreement.
    Both,
}

/// Options of a linearizability check.
#[derive(Debug, Clone, Copy)]
pub struct LinearOptions {
    /// The engine(s) to run.
    pub engine: Engine,
    /// The search engine gives up after this long and answers unknown.
    pub time_limit: Duration,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            engine: Engine::Graph,
            time_limit: Duration::from_secs(60),
        }
    }
}

/// What a linearizability check concluded.
#[derive(Debug, Clone, Default)]
pub struct LinearOutcome {
    /// `nonlinearizable` findings (each with a minimal cycle or failing sub-history).
    pub findings: Vec<Finding>,
    /// True when an engine could not decide (time limit), so the verdict is unknown.
    pub unknown: bool,
    /// Keys on which the two engines disagreed (only with [`Engine::Both`]): a checker bug.
    pub disagreements: Vec<String>,
}

/// What [`Engine::Both`] writes into a finding when the engines disagree.
pub const DISAGREEMENT: &str = "CHECKER BUG: the two linearizability engines disagree on this key";

/// Checks every key's log for linearizability. Keys are independent (P-compositionality),
/// so they are checked in parallel, one thread per available core.
pub fn check(history: &History, options: &LinearOptions) -> LinearOutcome {
    let deadline = Instant::now() + options.time_limit;
    // Each key is projected where it is checked and dropped after: only as many
    // projections as there are workers are alive at once.
    let ops = resolve::KeyOps::of(history);
    let key_ids: Vec<KeyId> = history.keys.ids().collect();
    let results = per_key(&key_ids, |&id| {
        let key = resolve::project_key(history, &ops, id);
        let mut outcome = LinearOutcome::default();
        if key.is_empty() {
            return outcome;
        }
        let graph = match options.engine {
            Engine::Graph | Engine::Both => graph_engine::check_key(history, &key),
            Engine::Search => Vec::new(),
        };
        let searched = match options.engine {
            Engine::Graph => None,
            Engine::Search | Engine::Both => Some(search::check_key(history, &key, deadline)),
        };
        match (options.engine, searched) {
            (Engine::Both, Some(searched)) => both(history, &key, graph, searched, &mut outcome),
            (_, Some(KeyVerdict::Unknown)) => outcome.unknown = true,
            (_, Some(KeyVerdict::Nonlinearizable(finding))) => outcome.findings.push(*finding),
            (_, Some(KeyVerdict::Linearizable)) => {}
            (_, None) => outcome.findings.extend(graph),
        }
        // Duplicates read before their send began, the same for every engine: reported
        // when the engine found nothing else wrong with the key (one proof suffices).
        if outcome.findings.is_empty() {
            outcome
                .findings
                .extend(future_read::check_key(history, &key));
        }
        outcome
    });
    let mut outcome = LinearOutcome::default();
    for key in results {
        outcome.findings.extend(key.findings);
        outcome.unknown |= key.unknown;
        outcome.disagreements.extend(key.disagreements);
    }
    outcome
}

/// Runs `f` on every key, spread over the available cores; results in key order.
fn per_key<K: Sync, T: Send>(keys: &[K], f: impl Fn(&K) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(keys.len());
    if workers <= 1 {
        return keys.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(key)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                // A panic in an engine is a checker bug: let it surface as one.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Merges one key's results of both engines; a disagreement is flagged in the findings.
fn both(
    history: &History,
    key: &resolve::KeyHistory<'_>,
    graph: Vec<Finding>,
    searched: KeyVerdict,
    outcome: &mut LinearOutcome,
) {
    let name = history.keys.name(key.key).to_owned();
    let mark = |mut f: Finding, other: &str| {
        if let serde_json::Value::Object(map) = &mut f.details {
            map.insert("disagreement".into(), DISAGREEMENT.into());
            map.insert("other_engine".into(), other.into());
        }
        f
    };
    match searched {
        KeyVerdict::Unknown => {
            // The search could not cross-check; the graph engine's cycles still stand.
            outcome.unknown |= graph.is_empty();
            outcome.findings.extend(graph);
        }
        KeyVerdict::Linearizable if graph.is_empty() => {}
        KeyVerdict::Linearizable => {
            outcome.disagreements.push(name);
            outcome
                .findings
                .extend(graph.into_iter().map(|f| mark(f, "search: linearizable")));
        }
        KeyVerdict::Nonlinearizable(finding) if graph.is_empty() => {
            outcome.disagreements.push(name);
            outcome.findings.push(mark(*finding, "graph: no cycle"));
        }
        KeyVerdict::Nonlinearizable(finding) => {
            // Agreement: report the graph's cycles, with the search's witness attached.
            let mut graph = graph;
            if let serde_json::Value::Object(map) = &mut graph[0].details {
                map.insert("confirmed_by_search".into(), finding.details.clone());
            }
            outcome.findings.extend(graph);
        }
    }
}
