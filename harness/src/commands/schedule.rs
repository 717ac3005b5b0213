//! `samsa schedule RUN_DIR`: prints the fault timeline a run applied (a
//! [`nemesis::FaultTimeline`], JSON), read from the nemesis lines of its history, so
//! `samsa test --schedule FILE` can play the same faults on the same nodes at the same
//! offsets again: the first step of reproducing a failure without its seed's luck.
//!
//! Exit statuses: 0 printed, 3 the history could not be read or holds a nemesis line the
//! timeline cannot take (the message names the file and the line's index).

use std::path::PathBuf;
use std::process::ExitCode;

use nemesis::{FaultTimeline, NemesisFunction, RecordedEvent};

/// Arguments of `samsa schedule`.
#[derive(clap::Args)]
pub struct ScheduleArgs {
    /// A run directory (or its history.jsonl).
    run: PathBuf,
}

/// Prints the run's timeline as JSON on stdout.
pub fn run(args: &ScheduleArgs) -> ExitCode {
    match timeline_of(&args.run) {
        Ok(timeline) => match serde_json::to_string_pretty(&timeline) {
            Ok(text) => {
                println!("{text}");
                eprintln!(
                    "samsa schedule: {} faults; replay with `samsa test --schedule FILE`",
                    timeline.faults.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("samsa schedule: cannot write the timeline: {e}");
                ExitCode::from(super::HARNESS_ERROR)
            }
        },
        Err(e) => {
            eprintln!("samsa schedule: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// The timeline recorded in the history at `run` (a run directory or a history file).
pub fn timeline_of(run: &std::path::Path) -> anyhow::Result<FaultTimeline> {
    let history = checker::history::read_path(run)?;
    let mut events = Vec::with_capacity(history.nemesis.len());
    for event in &history.nemesis {
        let f: NemesisFunction = serde_json::from_value(serde_json::Value::String(event.f.clone()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: the nemesis line with index {}: f {:?} is not a fault start or stop",
                    run.display(),
                    event.index,
                    event.f
                )
            })?;
        events.push(RecordedEvent {
            time_nanos: event.time,
            f,
            value: event.value.clone(),
        });
    }
    Ok(FaultTimeline::from_events(
        &events,
        Some(run.display().to_string()),
    )?)
}
