//! `samsa sweep`: removes every container and network samsa created (found by label),
//! e.g. a cluster left with `--keep` or by a harness that was killed with SIGKILL.

use std::process::ExitCode;

/// Removes all labelled leftovers and prints what was removed.
pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("samsa sweep: cannot start the async runtime: {e}");
            return ExitCode::from(4);
        }
    };
    let swept = runtime.block_on(async {
        let docker = harness::cluster::connect().await?;
        harness::cluster::sweep(&docker).await
    });
    match swept {
        Ok(report) => {
            println!("{report:?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("samsa sweep: {e}");
            ExitCode::from(4)
        }
    }
}
