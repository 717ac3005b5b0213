//! `samsa image build`: builds the broker-under-test image `FROM scratch` explicitly
//! (`samsa test` does it on first use), cached by the binary's hash.

use std::path::PathBuf;
use std::process::ExitCode;

/// `samsa image ...` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ImageCommand {
    /// Build (or find cached) the broker-under-test image and print its tag.
    Build {
        /// The broker binary (default: broker-under-test beside samsa).
        #[arg(long)]
        binary: Option<PathBuf>,
    },
}

/// Runs an image subcommand.
pub fn run(command: &ImageCommand) -> ExitCode {
    let ImageCommand::Build { binary } = command;
    let binary = binary
        .clone()
        .unwrap_or_else(harness::run::default_broker_binary);
    let runtime = match super::runtime("samsa image build") {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(harness::cluster::build_broker_image(&binary)) {
        Ok(tag) => {
            println!("{tag}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("samsa image build: {e}");
            ExitCode::from(super::HARNESS_ERROR)
        }
    }
}
