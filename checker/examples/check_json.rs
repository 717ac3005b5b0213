//! Prints the verdict of one history as `samsa check --json --witnesses-max N --engine E`
//! does, without the `samsa` binary (which needs librdkafka to build): the quickest way to
//! prove that a change of the checker leaves every verdict and finding as it was.
//!
//! Usage: `cargo run --release -p checker --example check_json -- PATH [graph|search|both]
//! [WITNESSES_MAX]`. Exit status 0 valid, 1 invalid, 2 unknown, 3 unreadable, as
//! `samsa check`.

use std::process::ExitCode;

use checker::check::{check, CheckOptions, Validity, WITNESSES_PER_TYPE_MAX};
use checker::linear::{Engine, LinearOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: check_json PATH [graph|search|both] [WITNESSES_MAX]");
        return ExitCode::from(3);
    };
    let engine = match args.get(1).map(String::as_str) {
        None | Some("graph") => Engine::Graph,
        Some("search") => Engine::Search,
        Some("both") => Engine::Both,
        Some(other) => {
            eprintln!("check_json: unknown engine {other:?}");
            return ExitCode::from(3);
        }
    };
    let witnesses_max = match args.get(2).map(|n| n.parse::<usize>()) {
        None => WITNESSES_PER_TYPE_MAX,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("check_json: WITNESSES_MAX: {e}");
            return ExitCode::from(3);
        }
    };
    let history = match checker::history::read_path(std::path::Path::new(path)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("check_json: {e}");
            return ExitCode::from(3);
        }
    };
    let options = CheckOptions {
        linear: LinearOptions {
            engine,
            ..LinearOptions::default()
        },
    };
    let mut result = check(&history, &options);
    result.bound_witnesses(witnesses_max);
    match serde_json::to_string(&result) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("check_json: {e}");
            return ExitCode::from(3);
        }
    }
    ExitCode::from(match result.valid {
        Validity::Valid => 0,
        Validity::Invalid => 1,
        Validity::Unknown => 2,
    })
}
