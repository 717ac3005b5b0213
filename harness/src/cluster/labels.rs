//! The Docker labels that mark everything samsa creates. They are how teardown finds a
//! run's containers and network, and how `sweep` finds the leftovers of a run that was
//! killed before it could clean up.

use std::collections::HashMap;

/// Present (value `1`) on every samsa container and network.
pub const LABEL_SAMSA: &str = "samsa";
/// The run id a container or network belongs to.
pub const LABEL_RUN: &str = "samsa.run";
/// The process id of the harness that owns the run: a sweep leaves alone the runs whose
/// owner is still alive (another run, or a test, on the same daemon).
pub const LABEL_OWNER: &str = "samsa.owner";
/// The node name of a container (`n1`, ...).
pub const LABEL_NODE: &str = "samsa.node";

/// The labels of a run's network.
pub fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_SAMSA.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_OWNER.to_string(), std::process::id().to_string()),
    ])
}

/// The labels of one node's container.
pub fn node_labels(run_id: &str, node: &str) -> HashMap<String, String> {
    let mut labels = run_labels(run_id);
    labels.insert(LABEL_NODE.to_string(), node.to_string());
    labels
}

/// The Docker filter value selecting one run (`samsa.run=<id>`).
pub fn run_filter(run_id: &str) -> String {
    format!("{LABEL_RUN}={run_id}")
}

/// The Docker filter value selecting everything samsa made (`samsa=1`).
pub fn any_run_filter() -> String {
    format!("{LABEL_SAMSA}=1")
}
