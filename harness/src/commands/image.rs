//! `samsa image ...`: `build` makes the broker-under-test image `FROM scratch` explicitly
//! (`samsa test` does it on first use), cached by the binary's hash; `from-binary` makes
//! one from any broker binary, with fixed entrypoint arguments, so a broker that ships as
//! a binary can be tested without a registry.

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
    /// Build a FROM scratch image from any ELF binary and the libraries ldd lists; the
    /// binary is the entrypoint and ARGS follow it. Prints the tag.
    FromBinary {
        /// The binary (ELF executable; scripts cannot run in a scratch image).
        path: PathBuf,
        /// The tag to give the image (default: samsa/from-binary:<hash of binary and
        /// arguments>, reused when present).
        #[arg(long)]
        tag: Option<String>,
        /// Entrypoint arguments, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// Runs an image subcommand.
pub fn run(command: &ImageCommand) -> ExitCode {
    let (what, build) = match command {
        ImageCommand::Build { binary } => {
            let binary = binary
                .clone()
                .unwrap_or_else(harness::run::default_broker_binary);
            let job = async move { harness::cluster::build_broker_image(&binary).await };
            ("samsa image build", Box::pin(job) as BuildFuture)
        }
        ImageCommand::FromBinary { path, tag, args } => {
            let (path, tag, args) = (path.clone(), tag.clone(), args.clone());
            let job = async move {
                let docker = harness::cluster::connect().await?;
                harness::cluster::build_image_from_binary(&docker, &path, &args, tag.as_deref())
                    .await
            };
            ("samsa image from-binary", Box::pin(job) as BuildFuture)
        }
    };
    let runtime = match super::runtime(what) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(build) {
        Ok(tag) => {
            println!("{tag}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            ExitCode::from(super::HARNESS_ERROR)
        }
    }
}

type BuildFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<String, harness::cluster::ClusterError>>>,
>;
