//! The subcommands of `samsa`, one module each; `main.rs` only dispatches to them.

pub mod campaign;
pub mod check;
pub mod child;
pub mod export;
pub mod gen_history;
pub mod image;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod shrink;
pub mod sweep;
pub mod test;

/// Exit status of a command the harness could not carry out (0-3 belong to verdicts and
/// unreadable input, HISTORY.md).
pub const HARNESS_ERROR: u8 = 4;

/// The async runtime of a command; on failure the message names the command and the
/// caller exits with [`HARNESS_ERROR`].
pub fn runtime(command: &str) -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("{command}: cannot start the async runtime: {e}");
        std::process::ExitCode::from(HARNESS_ERROR)
    })
}
