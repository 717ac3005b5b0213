//! The anomaly sections of the page: every anomaly type found, with what it means, whether
//! it counts against this configuration, each finding's explanation and its witness
//! operations linked to their rows in the history view; then the log diagram of each key
//! with a finding.

use maud::{html, Markup, PreEscaped};

use checker::check::CheckResult;

use super::keylog::KeyLog;

/// At most this many findings of one type are listed (the rest are in `results.json`).
pub const FINDINGS_SHOWN_MAX: usize = 50;

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

/// The "Anomalies" section.
pub fn anomalies(result: &CheckResult) -> Markup {
    html! {
        section #anomalies {
            h2 { "Anomalies" }
            @if result.anomaly_types.is_empty() {
                p { "No anomaly was found." }
            }
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
                    @for f in findings.iter().take(FINDINGS_SHOWN_MAX) {
                        div.finding {
                            (f.explanation)
                            @if let Some(k) = &f.key { " \u{2014} key " code { (k) } }
                            @if let Some(v) = f.value { ", value " code { (v) } }
                            @if let Some(o) = f.offset { ", offset " code { (o) } }
                            br;
                            "witness: "
                            @for (i, op) in f.ops.iter().enumerate() {
                                @if i > 0 { ", " }
                                (op_link(*op))
                            }
                            @if !f.details.is_null() {
                                details { summary { "details" } pre { (f.details.to_string()) } }
                            }
                        }
                    }
                    @if findings.len() > FINDINGS_SHOWN_MAX {
                        p { (findings.len() - FINDINGS_SHOWN_MAX) " more in results.json." }
                    }
                }
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
