//! The report files of a run: report.html holds every section, is self-contained and
//! escapes what it shows; junit.xml has one case per guarantee; both are written even when
//! the run's optional files are missing; `samsa report` regenerates them.

mod report_support;

use std::process::Command;

use harness::incidents::for_run;
use harness::report::inputs::RunInputs;
use harness::report::junit::PROPERTIES;
use harness::report::{write_run_report, JUNIT_FILE};
use report_support::make_run;

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

// Goal: an invalid run's page has every section, the incidents with their explanations,
// the anomaly with linked witnesses, plots and fault bands, and nothing loaded from
// outside the file; its junit.xml keeps one case per guarantee and adds one failing
// `incident-N` case per incident, with the explanation as the failure message.
// Method: a run with one planted lost write; the incidents recomputed as the report does.
#[test]
fn invalid_run_report_has_every_section() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 600, Some("lost-write"), true, true);
    let path = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let html = read(&path);
    for id in [
        "id=\"verdict\"",
        "id=\"run\"",
        "id=\"anomalies\"",
        "id=\"anomaly-lost-write\"",
        "id=\"findings-lost-write\"",
        "id=\"findings-data\"",
        "id=\"keys\"",
        "id=\"timeline\"",
        "id=\"latency-send\"",
        "id=\"latency-poll\"",
        "id=\"throughput\"",
        "id=\"faults\"",
        "id=\"cluster\"",
        "id=\"history\"",
        "id=\"history-meta\"",
        "id=\"history-bin\"",
        "id=\"command\"",
    ] {
        assert!(html.contains(id), "missing {id}");
    }
    assert!(html.contains(">INVALID<"));
    let finding = &run.result.anomalies["lost-write"][0];
    for op in &finding.ops {
        assert!(
            html.contains(&format!("data-op=\"{op}\"")),
            "witness {op} not linked"
        );
    }
    // latency (2) + throughput + key log + 3 partitions of the cluster.
    assert!(
        html.matches("<svg").count() >= 7,
        "{}",
        html.matches("<svg").count()
    );
    assert!(html.contains("partition {"), "fault band not named");
    assert!(html.contains("kill n2"));
    assert!(html.contains("samsa/0"));
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    // The incidents the report was made from (the same call `write_run_report` makes).
    let incidents = for_run(&run.result, &run.history, &RunInputs::load(&run.dir));
    assert!(
        !incidents.is_empty(),
        "the planted lost write makes no incident"
    );
    assert!(html.contains("id=\"incidents\""), "no incidents section");
    for (n, incident) in incidents.iter().enumerate() {
        let block = html
            .split(&format!("id=\"incident-{}\"", n + 1))
            .nth(1)
            .unwrap_or_else(|| panic!("incident {} not shown", n + 1));
        assert!(
            block.contains(&html_escape(&incident.explanation)),
            "incident {} without its explanation: {}",
            n + 1,
            incident.explanation
        );
    }
    let junit = read(&run.dir.join(JUNIT_FILE));
    let cases: Vec<&str> = junit.split("<testcase").skip(1).collect();
    for (_, property) in PROPERTIES {
        let named = format!(" name=\"{property}\"");
        assert_eq!(
            cases.iter().filter(|c| c.starts_with(&named)).count(),
            1,
            "property case {property}: {junit}"
        );
    }
    let loss = cases
        .iter()
        .find(|c| c.starts_with(" name=\"no_loss\""))
        .unwrap();
    assert!(loss.contains("<failure"), "{loss}");
    assert!(loss.contains("lost-write: 1"), "{loss}");
    assert_eq!(cases.len(), PROPERTIES.len() + incidents.len(), "{junit}");
    for (n, incident) in incidents.iter().enumerate() {
        let named = format!(" name=\"incident-{}\"", n + 1);
        let case = cases
            .iter()
            .find(|c| c.starts_with(&named))
            .unwrap_or_else(|| panic!("no case incident-{}: {junit}", n + 1));
        let case = &case[..case.find("</testcase>").unwrap_or(case.len())];
        assert!(
            incident.counted,
            "a counted lost write makes a counted incident"
        );
        assert!(
            case.contains(&format!(
                "<failure message=\"{}\"",
                xml_escape(&incident.explanation)
            )),
            "incident-{} does not fail with its explanation: {case}",
            n + 1
        );
    }
}

/// `s` as maud writes it into the page's text.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `s` as junit.xml writes it into an attribute.
fn xml_escape(s: &str) -> String {
    html_escape(s).replace('\'', "&apos;")
}

// Goal: a bare history (no test.json, no state.jsonl) still gets a report that says what
// is missing, and a valid run has no incident and a junit.xml of only the guarantee
// cases, none failed.
#[test]
fn bare_history_report_notes_missing_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 300, None, false, false);
    let path = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let html = read(&path);
    assert!(html.contains(">VALID<"));
    assert!(html.contains("test.json is missing"));
    assert!(html.contains("state.jsonl is missing"));
    assert!(html.contains("No state.jsonl"));
    assert!(html.contains("No anomaly was found."));
    assert!(
        !html.contains("id=\"incidents\""),
        "a valid run has no incident"
    );
    let junit = read(&run.dir.join(JUNIT_FILE));
    assert!(
        !junit.contains("<failure") && !junit.contains("<skipped"),
        "{junit}"
    );
    assert_eq!(
        junit.matches("<testcase").count(),
        PROPERTIES.len(),
        "{junit}"
    );
}

// Goal: a guarantee the configuration does not promise is a skipped case naming what was
// found anyway, not a failure.
#[test]
fn unpromised_guarantee_is_skipped_not_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 600, Some("duplicate"), true, false);
    let text = read(&run.dir.join("history.jsonl"));
    let relaxed = text.replacen("\"no_duplicates\":true", "\"no_duplicates\":false", 1);
    std::fs::write(run.dir.join("history.jsonl"), relaxed).unwrap();
    let history = checker::history::read_path(&run.dir).unwrap();
    let result = checker::check::check(&history, &Default::default());
    write_run_report(&run.dir, &history, &result).unwrap();
    let junit = read(&run.dir.join(JUNIT_FILE));
    let case = junit
        .split("<testcase")
        .find(|c| c.contains("no_duplicates"))
        .unwrap();
    assert!(case.contains("<skipped"), "{case}");
    assert!(case.contains("duplicate: 1"), "{case}");
    let html = read(&run.dir.join("report.html"));
    assert!(html.contains("Not counted against the verdict"));
}

// Goal: a run the live check stopped early (--fail-fast) says so at the top of its
// report, naming the anomaly and when; a run without live.json shows no live row.
#[test]
fn fail_fast_run_says_it_stopped_early() {
    use harness::run::live::{LiveFile, LiveReport, StoppedEarly};
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 600, Some("duplicate"), true, false);
    let html = read(&write_run_report(&run.dir, &run.history, &run.result).unwrap());
    assert!(!html.contains("id=\"live-check\"") && !html.contains("id=\"stopped-early\""));
    let finding = LiveReport {
        kind: "duplicate".into(),
        key: Some("1".into()),
        op: Some(4812),
        explanation: "value 7 of key 1 is at offsets 3 and 9".into(),
        may_become: Vec::new(),
        proved_at_ms: 12_000.0,
        found_at_ms: 12_900.0,
    };
    let live = LiveFile {
        passes: 12,
        lines_checked: 5000,
        pass_ms_max: 31.0,
        findings: vec![finding.clone()],
        stopped_early: Some(StoppedEarly {
            at_ms: 12_960.0,
            time_limit_s: 60.0,
            finding,
        }),
        error: None,
    };
    harness::run_dir::RunDir::new(&run.dir)
        .write_live(&live)
        .unwrap();
    let html = read(&write_run_report(&run.dir, &run.history, &run.result).unwrap());
    let banner = html
        .split("id=\"stopped-early\"")
        .nth(1)
        .expect("no stopped-early banner");
    let banner = &banner[..banner.find("</p>").unwrap()];
    assert!(
        banner.contains("at 13.0 s of its 60 s") && banner.contains("duplicate at key 1, op 4812"),
        "{banner}"
    );
    assert!(
        html.contains("12 passes, the last over 5000 lines"),
        "no live row"
    );
    assert!(html.contains("the first duplicate at key 1, op 4812, 0.9 s after"));
}

// Goal: text from the run's files is escaped, so a hostile test name cannot run script.
#[test]
fn run_text_is_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 200, None, true, false);
    let doc = r#"{"test":"<script>alert(1)</script>","command":"a </script><b>"}"#;
    std::fs::write(run.dir.join("test.json"), doc).unwrap();
    let path = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let html = read(&path);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("</script><b>"));
}

// Goal: `samsa report` rewrites both files and exits like `samsa check` (1 = invalid,
// 3 = unreadable), noting that it computed the verdict itself.
#[test]
fn samsa_report_command_regenerates() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), 400, Some("phantom-read"), true, true);
    let out = Command::new(env!("CARGO_BIN_EXE_samsa"))
        .arg("report")
        .arg(&run.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let html = read(&run.dir.join("report.html"));
    assert!(html.contains("id=\"anomaly-phantom-read\""));
    assert!(html.contains("results.json is missing"));
    assert!(run.dir.join(JUNIT_FILE).is_file());
    let missing = Command::new(env!("CARGO_BIN_EXE_samsa"))
        .args(["report", "/nonexistent/run"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/run"));
}
