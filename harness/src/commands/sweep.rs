//! `samsa sweep [--all]`: removes the containers and networks of samsa runs whose harness
//! is gone (found by label), e.g. after a harness killed with SIGKILL; with `--all` also
//! live runs and clusters left with `--keep`.

use std::process::ExitCode;

/// Removes labelled leftovers (all of them with `all`) and prints what was removed.
pub fn run(all: bool) -> ExitCode {
    let runtime = match super::runtime("samsa sweep") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let swept = runtime.block_on(async {
        let docker = harness::cluster::connect().await?;
        if all {
            harness::cluster::sweep_all(&docker).await
        } else {
            harness::cluster::sweep(&docker).await
        }
    });
    match swept {
        Ok(report) => {
            println!("samsa sweep: {report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("samsa sweep: {e}");
            ExitCode::from(super::HARNESS_ERROR)
        }
    }
}
