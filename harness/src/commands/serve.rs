//! `samsa serve [--store histories] [--bind 127.0.0.1:8700]`: the web view over the store
//! of runs (see `harness::report::serve`). Loopback by default: the store holds broker logs
//! and should not be exposed by accident.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use harness::report::serve::{serve, DEFAULT_BIND};

/// Arguments of `samsa serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The store of runs (`<store>/<test>/<timestamp>/`).
    #[arg(long, default_value = "histories")]
    store: PathBuf,
    /// The address to listen on; anything but loopback exposes the store to the network.
    #[arg(long, default_value = DEFAULT_BIND)]
    bind: SocketAddr,
}

/// Runs the server until the process is stopped.
pub fn run(args: &ServeArgs) -> ExitCode {
    if !args.bind.ip().is_loopback() {
        eprintln!(
            "samsa serve: warning: listening on {}, not loopback: the store is visible to the network",
            args.bind
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("samsa serve: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(serve(args.store.clone(), args.bind)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samsa serve: {e}");
            ExitCode::from(3)
        }
    }
}
