//! The nemesis crate's error type: every way planning or applying a fault can fail, each
//! naming the node, container or command involved so a failed run says what went wrong.

use std::time::Duration;

/// Why a fault could not be planned, resolved, applied or healed.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    /// A shape or target needs more nodes than the cluster has (e.g. a bridge needs 3).
    #[error("{what} needs at least {needed} nodes, the cluster has {have}")]
    TooFewNodes {
        /// The shape or target that was asked for.
        what: String,
        /// How many nodes it needs.
        needed: usize,
        /// How many nodes the cluster has.
        have: usize,
    },
    /// A leader-targeted fault was asked for, but no partition currently reports a leader.
    #[error("no current leader is known, cannot target the leaders")]
    NoLeaders,
    /// No partition has a known leader with another replica to cut it from.
    #[error("no partition has a known leader and another replica, cannot cut a leader from its replicas")]
    NoReplicatedLeader,
    /// A node name that is not part of the cluster.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    /// A `--nemesis` word, partition shape or target name that is not recognised.
    #[error("unknown {kind} {word:?}; expected one of: {expected}")]
    UnknownName {
        /// What was being parsed (fault, partition shape, target).
        kind: &'static str,
        /// The word given.
        word: String,
        /// The accepted words, comma separated.
        expected: &'static str,
    },
    /// A role name that is not 1-15 lowercase letters, digits or `-` from a letter.
    #[error("bad role name {0:?}: a role name is 1-15 lowercase letters, digits or '-', starting with a letter")]
    BadRoleName(String),
    /// A fault aimed at a role the cluster does not have.
    #[error("no role {role:?} in this cluster; its roles: {known}")]
    UnknownRole {
        /// The role asked for.
        role: String,
        /// The roles the cluster has, comma separated.
        known: String,
    },
    /// A schedule setting that cannot produce a schedule (zero interval, empty mix, ...).
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// The Docker daemon refused or failed a call (kill, start, pause, inspect).
    #[error("docker {action} on {container}: {source}")]
    Docker {
        /// The call that failed.
        action: &'static str,
        /// The container (or filter) it was made on.
        container: String,
        /// What the daemon said.
        #[source]
        source: bollard::errors::Error,
    },
    /// The container is not running, so it has no network namespace to enter.
    #[error("container {0} is not running (no pid to enter its network namespace)")]
    NotRunning(String),
    /// An external command (nsenter + iptables) could not be run or returned an error.
    #[error("command `{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and stderr, or the spawn error.
        detail: String,
    },
    /// An external command did not finish in time.
    #[error("command `{command}` timed out after {timeout:?}")]
    CommandTimeout {
        /// The command line.
        command: String,
        /// The limit that was exceeded.
        timeout: Duration,
    },
}
