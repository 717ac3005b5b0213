//! The report in a real browser: headless Chromium (Debian package `chromium`) loads the
//! report of an invalid run, its script must run without a console message or error,
//! render the incidents, the history view and the finding list, and jump to a witness; a
//! screenshot is kept. Two more tests drive a copy of a page with a script added: the
//! history view of a 200,000-operation report (filter by key, last page), and a finding
//! list of 2,000 findings (next page, last page). Fails when Chromium is missing: CI
//! installs it (scripts/setup.sh).

mod report_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checker::history::model::History;
use harness::incidents::for_run;
use harness::report::anomaly_section::FINDINGS_PAGE_ROWS;
use harness::report::history_data::summary;
use harness::report::inputs::RunInputs;
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

// Goal: the page's script runs cleanly, renders a page of rows, the incidents section
// with each incident's explanation and its zoomed timeline (an svg), and the finding list
// of the planted lost write from the page's data; a witness link's target row is shown
// and highlighted; the screenshot is kept for a human.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Chromium and about a minute; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
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

    // The incidents, first in the anomalies section, each explained with its timeline.
    let incidents = for_run(&run.result, &run.history, &RunInputs::load(&run.dir));
    assert!(
        !incidents.is_empty(),
        "the planted lost write makes no incident"
    );
    let section = dom
        .split("<div id=\"incidents\">")
        .nth(1)
        .expect("no incidents section");
    assert!(
        section.find("<h3>") < section.find("id=\"anomaly-lost-write\""),
        "the incidents do not open the anomalies section"
    );
    for (n, incident) in incidents.iter().enumerate() {
        let block = section
            .split(&format!("id=\"incident-{}\"", n + 1))
            .nth(1)
            .unwrap_or_else(|| panic!("incident {} not shown", n + 1));
        let block = &block[..block.find("class=\"incident").unwrap_or(block.len())];
        assert!(
            unescape(block).contains(&incident.explanation),
            "incident {} without its explanation {:?}",
            n + 1,
            incident.explanation
        );
        assert!(
            block.contains("<div class=\"plot\"><svg"),
            "incident {} has no timeline",
            n + 1
        );
    }
    // The finding list was drawn from the page's data, its witnesses linked.
    let list = dom
        .split("id=\"findings-lost-write\"")
        .nth(1)
        .expect("no finding list");
    assert!(
        list.contains("data-shown=\"1/1/1\""),
        "finding list not drawn"
    );
    let finding = &run.result.anomalies["lost-write"][0];
    let drawn = list
        .split("class=\"finding\"")
        .nth(1)
        .expect("no finding row");
    assert!(unescape(drawn).starts_with(&format!(">{}", finding.explanation)));
    for op in &finding.ops {
        assert!(drawn.contains(&format!("data-op=\"{op}\"")), "witness {op}");
    }

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

/// Operations of the large history: big enough that the old one-JSON-array page was slow,
/// small enough that generating, checking and loading it stays well under a minute.
const LARGE_OPS: usize = 200_000;

/// Added to a copy of the report: waits for the history view, filters by key `KEY`, goes to
/// the last page, and writes what it saw as JSON into `<pre id="driver">`.
const DRIVER: &str = r##"<script>
(function () {
  var out = {};
  function el(id) { return document.getElementById(id); }
  function shown() { return el("history-table").getAttribute("data-shown"); }
  function cells(col) {
    return Array.prototype.map.call(document.querySelectorAll("#history-rows tr"), function (tr) {
      return col < 0 ? tr.id : tr.children[col].textContent;
    });
  }
  function waitFor(pred, then) {
    var t = setInterval(function () { if (pred()) { clearInterval(t); then(); } }, 20);
  }
  function done() {
    var pre = document.createElement("pre");
    pre.id = "driver";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  waitFor(function () { return document.body.hasAttribute("data-report-ready"); }, function () {
    out.first = shown();
    out.firstRows = cells(0).length;
    var sel = el("f-key");
    Array.prototype.forEach.call(sel.options, function (o) { if (o.textContent === "KEY") sel.value = o.value; });
    var before = shown();
    el("filters").requestSubmit();
    waitFor(function () { return shown() !== before; }, function () {
      out.filtered = shown();
      out.filteredKeys = cells(6);
      var first = shown();
      el("last").click();
      waitFor(function () { return shown() !== first; }, function () {
        out.last = shown();
        out.lastIds = cells(-1);
        out.lastKeys = cells(6);
        out.lastValues = cells(7);
        done();
      });
    });
  });
})();
</script>"##;

/// Renders `report` in Chromium with `driver` (a script that writes its JSON findings into
/// `<pre id="driver">`) added before `</body>`, within `budget_ms` of virtual time; returns
/// what the driver wrote. Fails on console output or an unfinished script.
fn drive(dir: &Path, report: &Path, driver: &str, budget_ms: u32) -> serde_json::Value {
    let html = std::fs::read_to_string(report).unwrap();
    let driven = dir.join("driven.html");
    std::fs::write(
        &driven,
        html.replacen("</body>", &format!("{driver}</body>"), 1),
    )
    .unwrap();
    let (dom, log) = chromium(
        dir,
        &[&format!("--virtual-time-budget={budget_ms}"), "--dump-dom"],
        &format!("file://{}", driven.display()),
    );
    assert!(!log.contains(":CONSOLE"), "console output: {log}");
    assert!(
        dom.contains("<p id=\"js-status\">ok</p>"),
        "script did not finish"
    );
    let json = dom
        .split("<pre id=\"driver\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .expect("the driver did not finish");
    serde_json::from_str(&unescape(json)).unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// `page/pages/rows` as numbers.
fn shown(v: &serde_json::Value) -> (usize, usize, usize) {
    let parts: Vec<usize> = v
        .as_str()
        .unwrap()
        .split('/')
        .map(|p| p.parse().unwrap())
        .collect();
    (parts[0], parts[1], parts[2])
}

fn op_by_invoke(history: &History, index: u64) -> &checker::history::model::Op {
    let pos = history
        .ops
        .binary_search_by_key(&index, |o| o.invoke_index)
        .unwrap();
    &history.ops[pos]
}

// Goal: the history view of a large report works in a browser: the first page is drawn,
// filtering by a key narrows the rows to that key, the last page of the filtered rows is
// reachable and shows the rest of them, its value texts are the ones `summary` gives, and
// nothing is logged to the console.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Chromium and about a minute; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn large_report_history_view_filters_and_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path(), LARGE_OPS, None, true, true);
    let report = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let key = run.history.keys.name(checker::history::model::KeyId(1));
    let out = drive(tmp.path(), &report, &DRIVER.replace("KEY", key), 30_000);

    let total = run.history.ops.len() + run.history.nemesis.len();
    assert_eq!(shown(&out["first"]), (1, total.div_ceil(100), total));
    assert_eq!(out["firstRows"], 100);

    let (page, pages, rows) = shown(&out["filtered"]);
    assert!(page == 1 && rows > 0 && rows < total, "{out:?}");
    assert_eq!(pages, rows.div_ceil(100));
    let has_key = |v: &serde_json::Value| v.as_str().unwrap().split(',').any(|k| k == key);
    assert!(out["filteredKeys"].as_array().unwrap().iter().all(has_key));

    assert_eq!(shown(&out["last"]), (pages, pages, rows));
    let ids = out["lastIds"].as_array().unwrap();
    assert_eq!(ids.len(), rows - (pages - 1) * 100);
    assert!(out["lastKeys"].as_array().unwrap().iter().all(has_key));
    for (id, value) in ids.iter().zip(out["lastValues"].as_array().unwrap()) {
        let index: u64 = id.as_str().unwrap()["op-".len()..].parse().unwrap();
        let op = op_by_invoke(&run.history, index);
        assert_eq!(
            value.as_str().unwrap(),
            summary(&run.history, op),
            "op {index}"
        );
    }
}

/// Findings of one kind in the paged-list test: the issue's example of a list too long to
/// put into the DOM at once.
const MANY_FINDINGS: usize = 2000;

/// Added to a copy of the report: waits for the page, then pages the lost-write finding
/// list (next, then last) and writes what each page showed as JSON into `<pre id="driver">`.
const FINDINGS_DRIVER: &str = r##"<script>
(function () {
  var out = {};
  var list = document.getElementById("findings-lost-write");
  function shown() { return list.getAttribute("data-shown"); }
  function rows() {
    return Array.prototype.map.call(list.querySelectorAll(".finding"), function (f) {
      return f.firstChild.textContent;
    });
  }
  function waitFor(pred, then) {
    var t = setInterval(function () { if (pred()) { clearInterval(t); then(); } }, 20);
  }
  function page(cls, key, then) {
    var before = shown();
    list.querySelector(".pager ." + cls).click();
    waitFor(function () { return shown() !== before; }, function () {
      out[key] = shown();
      out[key + "Rows"] = rows();
      then();
    });
  }
  waitFor(function () { return document.body.hasAttribute("data-report-ready"); }, function () {
    out.first = shown();
    out.firstRows = rows();
    out.inList = list.querySelectorAll(".finding").length;
    out.inDom = document.querySelectorAll(".finding").length;
    out.prevDisabled = list.querySelector(".pager .prev").disabled;
    page("next", "next", function () {
      page("last", "last", function () {
        out.nextDisabled = list.querySelector(".pager .next").disabled;
        var pre = document.createElement("pre");
        pre.id = "driver";
        pre.textContent = JSON.stringify(out);
        document.body.appendChild(pre);
      });
    });
  });
})();
</script>"##;

// Goal: a finding list of 2,000 findings is paged as the history view is: one page of
// FINDINGS_PAGE_ROWS findings in the DOM, "next" shows the following ones, "last" the
// final ones, the first/last buttons are disabled at the ends, and nothing is logged.
// Method: the planted lost write's finding copied 2,000 times with numbered explanations
// (the report renders whatever verdict it is given), its page driven by an added script.
#[test]
#[cfg_attr(
    not(samsa_e2e),
    ignore = "needs Chromium and about a minute; SAMSA_E2E=1 runs it (scripts/test.sh and CI do)"
)]
fn long_finding_list_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = make_run(tmp.path(), 2000, Some("lost-write"), true, true);
    let real = run.result.anomalies["lost-write"][0].clone();
    let copies = (0..MANY_FINDINGS)
        .map(|i| checker::anomaly::Finding {
            explanation: format!("finding #{i}: {}", real.explanation),
            ..real.clone()
        })
        .collect();
    run.result.anomalies.insert("lost-write", copies);
    let report = write_run_report(&run.dir, &run.history, &run.result).unwrap();
    let out = drive(tmp.path(), &report, FINDINGS_DRIVER, 10_000);

    let pages = MANY_FINDINGS.div_ceil(FINDINGS_PAGE_ROWS);
    let numbered = |key: &str| -> Vec<usize> {
        out[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let r = r.as_str().unwrap();
                r["finding #".len()..r.find(':').unwrap()].parse().unwrap()
            })
            .collect()
    };
    assert_eq!(
        out["first"],
        format!("1/{pages}/{MANY_FINDINGS}"),
        "{out:?}"
    );
    assert_eq!(
        numbered("firstRows"),
        (0..FINDINGS_PAGE_ROWS).collect::<Vec<_>>()
    );
    assert_eq!(
        out["inList"], FINDINGS_PAGE_ROWS,
        "more than a page in the list"
    );
    // The other kinds of the run (the planted loss's companions) draw their first page.
    let others: usize = run
        .result
        .anomalies
        .iter()
        .filter(|(kind, _)| **kind != "lost-write")
        .map(|(_, f)| f.len().min(FINDINGS_PAGE_ROWS))
        .sum();
    assert_eq!(out["inDom"], FINDINGS_PAGE_ROWS + others, "{out:?}");
    assert_eq!(out["prevDisabled"], true);
    assert_eq!(out["next"], format!("2/{pages}/{MANY_FINDINGS}"));
    assert_eq!(
        numbered("nextRows"),
        (FINDINGS_PAGE_ROWS..2 * FINDINGS_PAGE_ROWS).collect::<Vec<_>>()
    );
    assert_eq!(out["last"], format!("{pages}/{pages}/{MANY_FINDINGS}"));
    assert_eq!(
        numbered("lastRows"),
        ((pages - 1) * FINDINGS_PAGE_ROWS..MANY_FINDINGS).collect::<Vec<_>>()
    );
    assert_eq!(out["nextDisabled"], true);
}
