//! The run directory, `histories/<test>/<timestamp>/`, and `test.json`: everything needed
//! to understand and reproduce a run, written before the run starts so even an interrupted
//! run is documented.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::config::{promised_guarantees, RunConfig};

/// Creates a fresh run directory under `store/test/` named by the UTC start time.
pub fn create_run_dir(store: &Path, test: &str) -> std::io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let dir = store.join(test).join(stamp);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Writes `test.json`: configuration, seed, versions and the command that re-runs it.
pub fn write_test_json(
    dir: &Path,
    config: &RunConfig,
    run_id: &str,
    broker_image: &str,
) -> std::io::Result<()> {
    let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
    let doc = json!({
        "test": config.test,
        "run_id": run_id,
        "seed": config.seed,
        "started": chrono::Utc::now().to_rfc3339(),
        "command": config.command,
        "guarantees": promised_guarantees(config),
        "config": config,
        "versions": {
            "samsa": env!("CARGO_PKG_VERSION"),
            "librdkafka": librdkafka,
            "broker_image": broker_image,
        },
    });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("test.json"), text)
}
