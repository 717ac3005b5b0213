//! `test.json` of a run ([`crate::run_dir::TestJson`]), filled in from the run's
//! configuration before the run starts so even an interrupted run is documented.

use crate::run_dir::{RunDir, RunDirError, TestJson, Versions};

use super::config::{promised_guarantees, RunConfig};

/// Writes `test.json`: configuration, seed, versions and the command that re-runs it.
pub fn write_test_json(
    dir: &RunDir,
    config: &RunConfig,
    run_id: &str,
    broker_image: &str,
) -> Result<(), RunDirError> {
    let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
    let config_json = serde_json::to_value(config).map_err(|source| RunDirError::Json {
        path: dir.test_json(),
        source,
    })?;
    dir.write_test(&TestJson {
        test: Some(config.test.clone()),
        run_id: Some(run_id.to_owned()),
        seed: Some(config.seed),
        started: Some(chrono::Utc::now().to_rfc3339()),
        command: Some(config.command.clone()),
        guarantees: Some(promised_guarantees(config)),
        config: Some(config_json),
        versions: Some(Versions {
            samsa: Some(env!("CARGO_PKG_VERSION").to_owned()),
            librdkafka: Some(librdkafka),
            broker_image: Some(broker_image.to_owned()),
        }),
        shrunk_from: config.shrunk_from.clone(),
    })
}
