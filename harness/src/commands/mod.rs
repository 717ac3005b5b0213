//! The subcommands of `samsa`, one module each; `main.rs` only dispatches to them.

pub mod check;
pub mod gen_history;
pub mod image;
pub mod report;
pub mod serve;
pub mod sweep;
pub mod test;
