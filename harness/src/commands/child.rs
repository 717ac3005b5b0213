//! A `samsa test` child process, as `samsa campaign` and `samsa shrink` run them: its
//! output copied to a log file, its run directory read from its announcement line, and a
//! bound on its wall time so a hung run cannot stall a long search.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The run directory from a child's stderr line `samsa: run <id> -> <dir>`.
pub fn run_dir_of(line: &str) -> Option<PathBuf> {
    let rest = line.strip_prefix("samsa: run ")?;
    let (_, dir) = rest.split_once(" -> ")?;
    Some(PathBuf::from(dir.trim_end()))
}

/// Runs `cmd` (a `samsa test` invocation) with stdout and stderr in `log_path`, killing
/// it after `time_max`; returns its exit code (`None`: killed by a signal) and the run
/// directory it announced.
pub fn run_child(
    mut cmd: Command,
    log_path: &Path,
    time_max: Duration,
) -> Result<(Option<i32>, Option<PathBuf>), String> {
    let log = std::fs::File::create(log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let stdout = log
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
    let mut child = cmd
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start samsa test: {e}"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| "the child's stderr was not captured".to_owned())?;
    let copier = std::thread::spawn(move || {
        let mut log = log;
        let mut dir = None;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if dir.is_none() {
                dir = run_dir_of(&line);
            }
            if writeln!(log, "{line}").is_err() {
                break;
            }
        }
        dir
    });
    let deadline = Instant::now() + time_max;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                if let Err(e) = child.kill() {
                    eprintln!("samsa: cannot kill an overdue samsa test: {e}");
                }
                if let Err(e) = child.wait() {
                    eprintln!("samsa: cannot reap an overdue samsa test: {e}");
                }
                break Err(format!("samsa test ran past {time_max:?} and was killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => break Err(format!("cannot wait for samsa test: {e}")),
        }
    };
    let dir = copier
        .join()
        .map_err(|_| "the output copier panicked".to_owned())?;
    let status = status?;
    Ok((status.code(), dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the run directory is read from the child's announcement line and nothing else.
    #[test]
    fn run_directory_comes_from_the_announcement_line() {
        assert_eq!(
            run_dir_of("samsa: run 20261201T201000 -> histories/campaign-x/20261201T201000"),
            Some(PathBuf::from("histories/campaign-x/20261201T201000"))
        );
        assert_eq!(run_dir_of("samsa: setup: image from x"), None);
    }
}
