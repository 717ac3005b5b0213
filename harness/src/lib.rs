//! The harness library behind the `samsa` binary: cluster lifecycle in Docker, workloads,
//! the history recorder and reports. The binary (`main.rs`) is only the command-line glue.
#![deny(missing_docs)]

pub mod cluster;
pub mod incidents;
pub mod recorder;
pub mod report;
pub mod run;
pub mod run_dir;
pub mod shrink;
pub mod workload;
