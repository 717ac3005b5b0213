//! The report in a real browser: headless Chromium (Debian package `chromium`) loads the
//! report of an invalid run, its script must run without a console message or error,
//! render the history view and jump to a witness; a screenshot is kept. Fails when
//! Chromium is missing: CI installs it (scripts/setup.sh).

mod report_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::report::write_run_report;
use report_support::make_run;

/// Chromium gets this long per page.
const BROWSER_TIME_MAX: Duration = Duration::from_secs(60);

/// Runs headless Chromium with `args` on `url`; returns (stdout, stderr).
fn chromium(dir: &Path, args: &[&str], url: &str) -> (String, String) {
    let out = dir.join("chromium.out");
    let err = dir.join("chromium.err");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(url)
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .expect("chromium must be installed (apt-get install chromium)");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > BROWSER_TIME_MAX {
            child.kill().unwrap();
            panic!("chromium did not finish within {BROWSER_TIME_MAX:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(err).unwrap(),
    )
}

// Goal: the page's script runs cleanly, renders a page of rows, and a witness link's
// target row is shown and highlighted; the screenshot is kept for a human.
#[test]
fn report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 2000, Some("lost-write"), true, true);
    let report = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let url = format!("file://{}", report.display());
    let (dom, log) = chromium(
        tmp.path(),
        &["--virtual-time-budget=5000", "--dump-dom"],
        &url,
    );
    assert!(!log.contains(":CONSOLE"), "console output: {log}");
    assert!(
        dom.contains("<p id=\"js-status\">ok</p>"),
        "script did not finish"
    );
    assert!(dom.contains("data-report-ready="));
    assert!(
        dom.matches("<tr id=\"op-").count() >= 100,
        "history rows not rendered"
    );
    for id in ["anomalies", "keys", "timeline", "cluster", "history"] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(dom.matches("<svg").count() >= 7);

    // A witness deep in the history: the hash jumps to its page and highlights its row.
    let witness = *run.result.anomalies["lost-write"][0].ops.last().unwrap();
    let (dom, log) = chromium(
        tmp.path(),
        &["--virtual-time-budget=5000", "--dump-dom"],
        &format!("{url}#op-{witness}"),
    );
    assert!(!log.contains(":CONSOLE"), "console output: {log}");
    assert!(dom.contains("class=\"hl\""), "witness row not highlighted");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_browser");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    let shot_arg = format!("--screenshot={}", png.display());
    chromium(
        tmp.path(),
        &[
            &shot_arg,
            "--window-size=1200,4200",
            "--virtual-time-budget=5000",
        ],
        &url,
    );
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "no screenshot"
    );
    std::fs::copy(&report, shots.join("report.html")).unwrap();
}
