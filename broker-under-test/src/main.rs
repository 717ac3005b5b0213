//! broker-under-test binary: parse flags, set up logging to stderr, run until signalled.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;

use broker_under_test::config::Config;
use broker_under_test::faults::SeededFault;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BROKER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    if config.list_seeded_faults {
        for fault in SeededFault::ALL {
            println!("{}", fault.name());
        }
        return Ok(());
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.worker_threads > 0 {
        runtime.worker_threads(config.worker_threads);
    }
    runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(broker_under_test::run::run(config))
}
