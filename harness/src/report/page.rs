//! The page: assembles `report.html` from the verdict, the run's description, the anomaly
//! sections, the plots and the history view. maud escapes every string it is given; only
//! the SVG plotters made and the history data (script-safe JSON and base64) are inserted
//! unescaped.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use checker::check::{CheckResult, Validity};
use checker::history::model::History;

use super::anomaly_section;
use super::assets::{CSS, JS};
use super::faults::{self, FaultInterval};
use super::inputs::RunInputs;
use super::junit::PROPERTIES;
use super::keylog;
use super::plot_cluster;
use super::plot_incident;
use super::plot_latency::{self, history_end_secs};
use super::{history_data, ReportError};
use crate::incidents::Incident;

/// An incident's timeline shows this long before and after its window, seconds: enough
/// to see the fault begin and the leadership settle.
pub const INCIDENT_MARGIN_S: f64 = 5.0;

/// Renders the whole page; `incidents` are those `results.json` lists.
pub fn render(
    history: &History,
    result: &CheckResult,
    inputs: &RunInputs,
    incidents: &[Incident],
) -> Result<String, ReportError> {
    let end = history_end_secs(history);
    let faults = faults::intervals(&history.nemesis, (end * 1e9) as u64);
    let fault_counts = faults::counts(&history.nemesis);
    let latency = plot_latency::latency_plots(history, &faults)?;
    let throughput = plot_latency::throughput_plot(history, &faults)?;
    let key_logs = keylog::key_logs(history, result)?;
    let timelines = inputs
        .states
        .as_deref()
        .map(|states| plot_cluster::timelines(states, end));
    let cluster = match &timelines {
        Some(timelines) => {
            let mut svgs = Vec::new();
            for t in timelines {
                svgs.push(plot_cluster::cluster_svg(t, &faults, end)?);
            }
            Some(svgs)
        }
        None => None,
    };
    let views = incident_views(history, incidents, timelines.as_deref(), &faults, end)?;
    let data = history_data::encode(history)?;
    let anomalies = anomaly_section::anomalies(result, &views)?;
    let test = inputs
        .test_name()
        .or_else(|| history.header.as_ref().and_then(|h| h.test.clone()))
        .unwrap_or_else(|| "history".to_owned());
    let (verdict, verdict_class) = match result.valid {
        Validity::Valid => ("VALID", "valid"),
        Validity::Invalid => ("INVALID", "invalid"),
        Validity::Unknown => ("UNKNOWN", "unknown"),
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "samsa: " (test) " \u{2014} " (verdict) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "samsa report: " (test) " " span.verdict.(verdict_class) #verdict { (verdict) } }
                nav {
                    a href="#run" { "run" } a href="#anomalies" { "anomalies" } a href="#keys" { "key logs" }
                    a href="#timeline" { "latency & faults" } a href="#cluster" { "cluster" } a href="#history" { "history" }
                }
                @for note in &inputs.notes { p.note { (note) } }
                @if let Some(stop) = inputs.live.as_ref().and_then(|l| l.stopped_early.as_ref()) {
                    p.note #stopped-early {
                        "The main phase stopped early, at " (format!("{:.1}", stop.at_ms / 1e3)) " s of its "
                        (format!("{:.0}", stop.time_limit_s)) " s (--fail-fast): the live check found "
                        (stop.finding.short()) ": " (stop.finding.explanation.trim_end_matches('.')) "."
                        " The faults were healed and the final reads made as usual; the verdict is the whole history's."
                    }
                }
                (run_section(history, result, inputs))
                (anomalies)
                (anomaly_section::key_logs(&key_logs))
                (timeline_section(&latency, &throughput, &faults, &fault_counts))
                (cluster_section(cluster.as_deref()))
                (history_section())
                script type="application/json" #history-meta { (PreEscaped(data.meta)) }
                script type="application/octet-stream" #history-bin { (PreEscaped(data.bin)) }
                script { (PreEscaped(JS)) }
            }
        }
    };
    Ok(page.into_string())
}

/// Each incident shown with its partition's timeline zoomed on its window (with
/// [`INCIDENT_MARGIN_S`] either side), when the partition was sampled, and its key's
/// offsets over the same span.
fn incident_views<'a>(
    history: &History,
    incidents: &'a [Incident],
    timelines: Option<&[plot_cluster::PartitionTimeline]>,
    faults: &[FaultInterval],
    end: f64,
) -> Result<Vec<anomaly_section::IncidentView<'a>>, ReportError> {
    let mut views = Vec::new();
    for incident in incidents.iter().take(anomaly_section::INCIDENTS_SHOWN_MAX) {
        let span = (
            (incident.window_ms[0] / 1e3 - INCIDENT_MARGIN_S).max(0.0),
            (incident.window_ms[1] / 1e3 + INCIDENT_MARGIN_S).min(end.max(0.0)),
        );
        let timeline = incident.partition.and_then(|p| {
            let suffix = format!("/{p}");
            timelines?.iter().find(|t| t.name.ends_with(&suffix))
        });
        let timeline_svg = match timeline {
            Some(t) => {
                let caption = format!("partition {} around the incident", t.name);
                Some(plot_cluster::cluster_svg_between(
                    t, faults, span, &caption,
                )?)
            }
            None => None,
        };
        let offsets_svg = match incident.keys.first() {
            Some(key) => plot_incident::offsets_svg(history, key, span, incident.offsets, faults)?,
            None => None,
        };
        views.push(anomaly_section::IncidentView {
            incident,
            timeline_svg,
            offsets_svg,
        });
    }
    Ok(views)
}

/// One sentence on what the live check did and found during the main phase.
fn live_summary(live: &crate::run_dir::LiveFile) -> String {
    let mut s = format!(
        "{} passes, the last over {} lines (longest pass {:.0} ms); ",
        live.passes, live.lines_checked, live.pass_ms_max
    );
    match live.findings.first() {
        None => s.push_str("no invalidating anomaly found during the main phase"),
        Some(first) => s.push_str(&format!(
            "{} invalidating anomalies found during the main phase, the first {}, {:.1} s after the line that proved it",
            live.findings.len(),
            first.short(),
            first.delay_s()
        )),
    }
    if let Some(e) = &live.error {
        s.push_str(&format!("; stopped: {e}"));
    }
    s
}

fn run_section(history: &History, result: &CheckResult, inputs: &RunInputs) -> Markup {
    let guarantees = history.guarantees();
    let promised: Vec<&str> = PROPERTIES
        .iter()
        .filter(|(p, _)| checker::check::promised(&guarantees, *p))
        .map(|(_, n)| *n)
        .collect();
    let s = &result.stats;
    let test = inputs.test.clone().unwrap_or_default();
    let versions = test.versions.as_ref().map(|v| v.entries());
    let config = test.config.as_ref();
    html! {
        section #run {
            h2 { "The run" }
            table.kv {
                tr { th { "verdict" } td { (match result.valid { Validity::Valid => "valid: every promised property held", Validity::Invalid => "invalid: a promised property was violated", Validity::Unknown => "unknown: nothing was violated, but the run cannot be called valid" }) } }
                @for reason in &result.unknown_reasons { tr.unknown-reason { th { "unknown because" } td { (reason) } } }
                tr { th { "promised" } td { (if promised.is_empty() { "nothing".to_owned() } else { promised.join(", ") }) } }
                @if let Some(id) = &test.run_id { tr { th { "run id" } td { (id) } } }
                @if let Some(started) = &test.started { tr { th { "started" } td { (started) } } }
                @if let Some(origin) = &test.shrunk_from {
                    tr { th { "shrunk from" } td { a #shrunk-from href=(format!("{}/report.html", origin.display())) { "the failing run this one reproduces" } " (" (origin.display()) ")" } }
                }
                tr { th { "seed" } td #seed { (test.seed.map_or_else(|| "unknown (no test.json)".to_owned(), |s| s.to_string())) } }
                @if let Some(v) = versions {
                    @for (name, value) in v {
                        tr { th { "version: " (name) } td { (value) } }
                    }
                }
                tr { th { "history" } td { (s.ops) " operations (" (s.lines) " lines) on " (s.keys) " keys; sends " (s.sends_ok) " ok / " (s.sends_fail) " fail / " (s.sends_info) " info; polls " (s.polls_ok) " ok / " (s.polls_other) " other; " (s.records_read) " records read; " (s.nemesis_events) " nemesis events" } }
                @if let Some(live) = &inputs.live { tr { th { "live check" } td #live-check { (live_summary(live)) } } }
                tr { th { "checking time" } td { "index " (s.time.index_ms) " ms, anomalies " (s.time.anomalies_ms) " ms, linearizability " (s.time.linear_ms) " ms" } }
            }
            h3 { "Re-run it" }
            @match &test.command {
                Some(c) => pre #command { (c) },
                None => p { "unknown: the run directory has no test.json" },
            }
            @if let Some(c) = config {
                details #config { summary { "configuration" } pre { (serde_json::to_string_pretty(c).unwrap_or_else(|_| c.to_string())) } }
            }
        }
    }
}

fn timeline_section(
    latency: &[(&str, String)],
    throughput: &str,
    faults: &[FaultInterval],
    counts: &faults::FaultCounts,
) -> Markup {
    html! {
        section #timeline {
            @if counts.planned() > 0 {
                p #fault-counts { (counts.summary()) }
            }
            @if !counts.skipped.is_empty() {
                table #faults-not-applied {
                    tr { th { "planned fault" } th { "at (s)" } th { "why it was not applied" } }
                    @for f in &counts.skipped {
                        tr {
                            td { (f.fault) }
                            td { (format!("{:.3}", f.time as f64 / 1e9)) }
                            td { (f.reason) }
                        }
                    }
                }
            }
            h2 { "Latency, throughput and faults" }
            p { "Grey bands are fault intervals (named at their start). Points: ok in blue, fail in red, info (unknown outcome) in orange; plots are downsampled for long runs." }
            @for (name, svg) in latency { div.plot id={ "latency-" (name) } { (PreEscaped(svg)) } }
            div.plot #throughput { (PreEscaped(throughput)) }
            @if faults.is_empty() {
                p { "No fault was injected." }
            } @else {
                table #faults {
                    tr { th { "fault" } th { "from (s)" } th { "to (s)" } }
                    @for f in faults {
                        tr {
                            td { (f.label) }
                            td { (format!("{:.3}", f.start as f64 / 1e9)) }
                            td { (format!("{:.3}", f.end as f64 / 1e9)) @if !f.closed { " (never healed in the history)" } }
                        }
                    }
                }
            }
        }
    }
}

fn cluster_section(svgs: Option<&[String]>) -> Markup {
    html! {
        section #cluster {
            h2 { "The cluster over time" }
            @match svgs {
                None => p.note { "No state.jsonl: the cluster's leaders and ISRs were not sampled for this history." },
                Some([]) => p { "state.jsonl holds no partition state." },
                Some(svgs) => {
                    p.legend {
                        "Each row is a node:" span style="background:#2ca02c" {} "leader"
                        span style="background:#98df8a" {} "in the leader's ISR"
                        span style="background:#dcdcdc" {} "replica out of the ISR"
                        span style="background:#d62728" {} "not answering"
                    }
                    @for svg in svgs { div.plot.cluster { (PreEscaped(svg)) } }
                }
            }
        }
    }
}

fn history_section() -> Markup {
    html! {
        section #history {
            h2 { "History" }
            form #filters {
                label { "process " input #f-process type="text" placeholder="3 or nemesis"; }
                label { "key " select #f-key { option value="-1" { "any" } } }
                label { "type " select #f-f { option value="-1" { "any" } } }
                label { "outcome " select #f-outcome { option value="-1" { "any" } } }
                label { "from (s) " input #f-from type="text"; }
                label { "to (s) " input #f-to type="text"; }
                button type="submit" { "filter" }
                button #f-reset type="button" { "reset" }
            }
            (pager(true, "the history view needs JavaScript"))
            table #history-table {
                thead { tr { th { "index" } th { "time (s)" } th { "process" } th { "type" } th { "outcome" } th { "latency (ms)" } th { "key" } th { "value" } } }
                tbody #history-rows {}
            }
            p #js-status { "script not run" }
        }
    }
}

/// The controls of a paged list, the history view's and each finding list's: report.js's
/// one `Pager` finds them by class. `ids` also gives them the history's ids (`first`,
/// `next`, `page-info`, ...) that the browser tests and witness jumps use; `info` is the
/// text shown until the script has drawn a page.
pub fn pager(ids: bool, info: &str) -> Markup {
    let id = |name: &'static str| ids.then_some(name);
    html! {
        p.pager {
            button.first type="button" id=[id("first")] { "\u{21e4} first" }
            button.prev type="button" id=[id("prev")] { "\u{2190} previous" }
            button.next type="button" id=[id("next")] { "next \u{2192}" }
            button.last type="button" id=[id("last")] { "last \u{21e5}" }
            label { " go to page " input.page-go type="number" min="1" style="width:70px" id=[id("page-go")]; }
            " " span.page-info id=[id("page-info")] { (info) }
        }
    }
}
