//! The anomaly sections of the page: the incidents (each explained, with its partition's
//! timeline zoomed on its window and its witnesses), then every anomaly type found, with
//! what it means, whether it counts against this configuration, and its findings, each
//! with its explanation and its witness operations linked to their rows in the history
//! view; then the log diagram of each key with a finding.
//!
//! The findings are paged as the history view is: they travel as JSON in the
//! `findings-data` script element (one list per anomaly type, at most
//! [`FINDINGS_IN_PAGE_MAX`] each), and the page's script draws
//! [`FINDINGS_PAGE_ROWS`] of a list at a time with the same pager as the history table,
//! so a zombie leader's 211 lost writes, or 20,000, are one page of DOM nodes, not all
//! of them. Every text is made here; the script only places it.

use std::collections::BTreeMap;

use maud::{html, Markup, PreEscaped};
use serde::Serialize;

use checker::anomaly::Finding;
use checker::check::CheckResult;
use checker::history::model::LineIndex;

use super::history_data::script_safe;
use super::keylog::KeyLog;
use super::page::pager;
use crate::incidents::Incident;

/// Findings per page of a finding list: a screenful of findings, each a few lines.
pub const FINDINGS_PAGE_ROWS: usize = 20;

/// At most this many findings of one type travel in the page (the rest are in
/// `results.json`): bounds the page's size when a run finds hundreds of thousands.
pub const FINDINGS_IN_PAGE_MAX: usize = 10_000;

/// One finding as the page's script shows it: every text ready, numbers as text (a
/// JavaScript number would round an `i64` above 2^53).
#[derive(Debug, Serialize)]
struct PageFinding<'a> {
    explanation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
    ops: &'a [LineIndex],
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<String>,
}

impl<'a> PageFinding<'a> {
    fn new(f: &'a Finding) -> PageFinding<'a> {
        PageFinding {
            explanation: &f.explanation,
            key: f.key.as_deref(),
            value: f.value.map(|v| v.to_string()),
            offset: f.offset.map(|o| o.to_string()),
            ops: &f.ops,
            details: (!f.details.is_null()).then(|| f.details.to_string()),
        }
    }
}

/// The `findings-data` JSON (script-safe): per anomaly type, its first
/// [`FINDINGS_IN_PAGE_MAX`] findings.
pub fn findings_data(result: &CheckResult) -> Result<String, serde_json::Error> {
    let lists: BTreeMap<&str, Vec<PageFinding<'_>>> = result
        .anomalies
        .iter()
        .map(|(name, findings)| {
            let shown = findings.iter().take(FINDINGS_IN_PAGE_MAX);
            (*name, shown.map(PageFinding::new).collect())
        })
        .collect();
    Ok(script_safe(&serde_json::to_string(&lists)?))
}

/// One sentence per anomaly (HISTORY.md, "Anomalies"): what the name means.
pub const DEFINITIONS: [(&str, &str); 17] = [
    ("lost-write", "An acknowledged send is missing from a log that must contain it (a later offset was read, or a complete final read lacks it)."),
    ("unseen", "An acknowledged send no poll ever observed, with no read reaching past it; information only."),
    ("duplicate", "One value of a key appears at two or more offsets: it was written twice."),
    ("inconsistent-offsets", "One offset of a key was observed holding two different values."),
    ("aborted-read", "A poll returned a value whose send certainly failed."),
    ("phantom-read", "A poll returned a value never sent to that key."),
    ("nonmonotonic-send", "Sends were acknowledged at offsets contrary to their producer session's order or to real time."),
    ("poll-skip", "Successive polls of one consumer skipped offsets that hold known values."),
    ("nonmonotonic-poll", "A consumer's poll started at or before where its previous poll ended."),
    ("int-poll-skip", "One poll skipped offsets that hold known values."),
    ("int-nonmonotonic-poll", "One poll returned offsets out of order."),
    ("int-send-skip", "Sends inside one transaction skipped offsets."),
    ("int-nonmonotonic-send", "Sends inside one transaction got decreasing offsets."),
    ("nonlinearizable", "No total order consistent with real time explains every ack and poll as an append-only log per key."),
    ("G0", "A cycle of write-write dependencies between transactions (Adya's G0)."),
    ("G1c", "A cycle of write-write and write-read dependencies (Adya's G1c)."),
    ("G-single", "A dependency cycle with exactly one read-write anti-dependency (Adya's G-single)."),
];

fn definition(name: &str) -> &'static str {
    DEFINITIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, d)| d)
}

/// A link to history line `index` in the history view.
pub fn op_link(index: u64) -> Markup {
    html! { a.op-link href={ "#op-" (index) } data-op=(index) { (index) } }
}

/// One incident as the page shows it: the incident and its partition's timeline zoomed on
/// its window (an SVG), when `state.jsonl` has the partition.
pub struct IncidentView<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// The zoomed cluster timeline.
    pub timeline_svg: Option<String>,
    /// Its key's offsets acknowledged and read around the window.
    pub offsets_svg: Option<String>,
}

/// At most this many incidents are shown (the rest are in `results.json`).
pub const INCIDENTS_SHOWN_MAX: usize = 50;

/// The incidents, first in the "Anomalies" section: what happened, then the proof below.
fn incidents(views: &[IncidentView<'_>]) -> Markup {
    html! {
        @if !views.is_empty() {
            div #incidents {
                h3 { "Incidents \u{00d7} " (views.len()) }
                p { "The findings grouped by the event that caused them (one key, touching offsets, overlapping time), each explained from the faults and the cluster state sampled at that moment." }
                @if views.len() > INCIDENTS_SHOWN_MAX {
                    p.note { "Only the first " (INCIDENTS_SHOWN_MAX) " incidents are shown; results.json lists all " (views.len()) "." }
                }
                @for (n, v) in views.iter().take(INCIDENTS_SHOWN_MAX).enumerate() {
                    @let i = v.incident;
                    div.incident.not-counted[!i.counted] id={ "incident-" (n + 1) } {
                        h4 { "Incident " (n + 1) @if !i.counted { " (not counted)" } }
                        p.explanation { (i.explanation) }
                        p {
                            @for (k, (name, count)) in i.counts.iter().enumerate() {
                                @if k > 0 { ", " }
                                a href={ "#anomaly-" (name) } { (name) } " \u{00d7} " (count)
                            }
                            @if !i.rules.is_empty() { " \u{2014} rules: " (i.rules.join(", ")) }
                        }
                        @if let Some(svg) = &v.timeline_svg {
                            div.plot { (PreEscaped(svg)) }
                        }
                        @if let Some(svg) = &v.offsets_svg {
                            div.plot { (PreEscaped(svg)) }
                        }
                        p {
                            "witnesses: "
                            @for (k, (name, ops)) in i.witnesses.iter().enumerate() {
                                @if k > 0 { "; " }
                                (name) " "
                                @for (j, op) in ops.iter().enumerate() {
                                    @if j > 0 { ", " }
                                    (op_link(*op))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The "Anomalies" section: the incidents first, then every type's findings.
pub fn anomalies(
    result: &CheckResult,
    views: &[IncidentView<'_>],
) -> Result<Markup, serde_json::Error> {
    let data = findings_data(result)?;
    Ok(html! {
        section #anomalies {
            h2 { "Anomalies" }
            @if result.anomaly_types.is_empty() {
                p { "No anomaly was found." }
            }
            (incidents(views))
            @for kind in &result.anomaly_types {
                @let name = kind.name();
                @let findings = result.anomalies.get(name).map_or(&[][..], Vec::as_slice);
                @let not_counted = result.not_counted.iter().find(|n| n.kind == *kind);
                div.anomaly.not-counted[not_counted.is_some()] id={ "anomaly-" (name) } {
                    h3 { (name) " \u{00d7} " (findings.len()) }
                    p { (definition(name)) }
                    @if let Some(n) = not_counted {
                        p.note { "Not counted against the verdict: " (n.reason) "." }
                    }
                    // With incidents above saying what happened, the lists are the
                    // proof: collapsed, one click away.
                    @if views.is_empty() {
                        (finding_list(name, findings.len()))
                    } @else {
                        details.findings {
                            summary {
                                @if findings.len() == 1 { "the finding" } @else { "the " (findings.len()) " findings" }
                            }
                            (finding_list(name, findings.len()))
                        }
                    }
                }
            }
            script type="application/json" #findings-data { (PreEscaped(data)) }
        }
    })
}

/// One type's findings: the pager and an empty list the page's script fills a page at a
/// time from `findings-data` (each finding its explanation and witness links).
fn finding_list(name: &str, count: usize) -> Markup {
    html! {
        div.finding-list id={ "findings-" (name) } data-kind=(name) data-page-rows=(FINDINGS_PAGE_ROWS) {
            (pager(false, "the finding list needs JavaScript; results.json lists every finding"))
            div.finding-rows {}
            @if count > FINDINGS_IN_PAGE_MAX {
                p.note { "Only the first " (FINDINGS_IN_PAGE_MAX) " are in the page; results.json lists all " (count) "." }
            }
        }
    }
}

/// The "Logs of the keys with anomalies" section.
pub fn key_logs(logs: &[KeyLog]) -> Markup {
    html! {
        section #keys {
            h2 { "Logs of the keys with anomalies" }
            @if logs.is_empty() {
                p { "No finding names a key." }
            }
            @for log in logs {
                h3 { "key " (log.key) }
                div.plot.keylog { (PreEscaped(&log.svg)) }
                @for (kind, value) in &log.unplaced {
                    p.note { (kind) ": value " (value.map_or("?".to_owned(), |v| v.to_string())) " has no known offset." }
                }
                @if !log.rows.is_empty() {
                    table {
                        tr { th { "offset" } th { "value(s)" } th { "written by (op, process)" } th { "read by (first polls)" } th { "anomaly" } }
                        @for (offset, cell, kinds) in &log.rows {
                            tr.marked[!kinds.is_empty()] {
                                td { (offset) }
                                td { (cell.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")) }
                                td {
                                    @for (i, (op, process)) in cell.writers.iter().enumerate() {
                                        @if i > 0 { "; " }
                                        (op_link(*op)) " (p" (process) ")"
                                    }
                                }
                                td {
                                    @for (i, op) in cell.readers.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (op_link(*op))
                                    }
                                }
                                td { (kinds.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the incidents open the anomalies section, each with its explanation, its
    // plots and witness links, and the findings below are collapsed; without incidents,
    // no incident block and the findings open. Method: a history with a duplicate,
    // rendered with one incident, then none.
    #[test]
    fn incidents_open_the_anomalies_section() {
        let lines = [
            r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"send","value":[["send","0",7]]}"#,
            r#"{"index":1,"time":2,"process":0,"type":"ok","f":"send","value":[["send","0",[0,7]]]}"#,
            r#"{"index":2,"time":3,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}"#,
            r#"{"index":3,"time":4,"process":1,"type":"ok","f":"poll","value":[["poll",{"0":[[0,7],[1,7]]}]]}"#,
        ];
        let history = checker::history::read(lines.join("\n").as_bytes()).unwrap();
        let result = checker::check::check(&history, &checker::check::CheckOptions::default());
        assert!(result.anomalies.contains_key("duplicate"));
        let incident = crate::incidents::testing::lost_write_incident(
            true,
            vec!["two-leaders"],
            "Both n1 and n2 led.",
        );
        let views = [IncidentView {
            incident: &incident,
            timeline_svg: Some("<svg id=\"zoom\"></svg>".into()),
            offsets_svg: Some("<svg id=\"offsets\"></svg>".into()),
        }];
        let html = anomalies(&result, &views).unwrap().into_string();
        assert!(html.contains("id=\"incident-1\""), "{html}");
        assert!(html.contains("Both n1 and n2 led."), "{html}");
        assert!(html.contains("<svg id=\"zoom\">"), "{html}");
        assert!(html.contains("<svg id=\"offsets\">"), "{html}");
        assert!(html.contains("href=\"#op-9\""), "{html}");
        assert!(html.contains("href=\"#anomaly-lost-write\""), "{html}");
        assert!(
            html.contains("<details class=\"findings\"><summary>the finding<"),
            "{html}"
        );
        let plain = anomalies(&result, &[]).unwrap().into_string();
        assert!(!plain.contains("id=\"incidents\"") && !plain.contains("class=\"findings\""));
        assert!(
            plain.contains("class=\"finding-list\" id=\"findings-duplicate\""),
            "{plain}"
        );
    }

    fn page_data(html: &str) -> serde_json::Value {
        let data = html
            .split("id=\"findings-data\"")
            .nth(1)
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(_, rest)| rest.split("</script>").next())
            .expect("no findings-data");
        serde_json::from_str(data).unwrap()
    }

    // Goal: the finding lists are paged, not written out: 2,000 findings of a kind put no
    // finding row into the page's HTML, the pager says how many rows a page draws, and all
    // 2,000 travel in `findings-data` with their texts ready (value and offset as text,
    // details as the JSON text). Beyond FINDINGS_IN_PAGE_MAX the rest are only noted.
    // Method: a result with 2,000 lost writes, then one with more than the maximum.
    #[test]
    fn finding_lists_are_paged_from_data() {
        use checker::anomaly::AnomalyKind;
        let many = |n: usize| {
            let mut result = checker::check::check(
                &checker::history::model::History::default(),
                &checker::check::CheckOptions::default(),
            );
            let findings = (0..n)
                .map(|i| Finding {
                    key: Some("0".into()),
                    value: Some(i as i64),
                    offset: Some(i64::MAX - i as i64),
                    details: serde_json::json!({"n": i}),
                    ..Finding::new(
                        AnomalyKind::LostWrite,
                        vec![i as u64, 5000 + i as u64],
                        format!("lost <{i}>"),
                    )
                })
                .collect();
            result.anomaly_types.push(AnomalyKind::LostWrite);
            result.anomalies.insert("lost-write", findings);
            result
        };
        let html = anomalies(&many(2000), &[]).unwrap().into_string();
        assert_eq!(
            html.matches("class=\"finding\"").count(),
            0,
            "rows in the HTML"
        );
        assert!(html.contains(&format!("data-page-rows=\"{FINDINGS_PAGE_ROWS}\"")));
        assert!(html.contains("class=\"pager\""), "{html}");
        assert!(!html.contains("are in the page; results.json lists all"));
        let data = page_data(&html);
        let list = data["lost-write"].as_array().unwrap();
        assert_eq!(list.len(), 2000);
        assert_eq!(list[7]["explanation"], "lost <7>");
        assert_eq!(list[7]["offset"], (i64::MAX - 7).to_string());
        assert_eq!(list[7]["value"], "7");
        assert_eq!(list[7]["ops"], serde_json::json!([7, 5007]));
        assert_eq!(list[7]["details"], "{\"n\":7}");

        let huge = anomalies(&many(FINDINGS_IN_PAGE_MAX + 1), &[])
            .unwrap()
            .into_string();
        assert_eq!(
            page_data(&huge)["lost-write"].as_array().unwrap().len(),
            FINDINGS_IN_PAGE_MAX
        );
        assert!(huge.contains(&format!(
            "results.json lists all {}",
            FINDINGS_IN_PAGE_MAX + 1
        )));
    }
}
