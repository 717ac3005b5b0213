//! The history as compact JSON for the page's history view: one short array per operation
//! (no field names), times in milliseconds, values summarized. The page's script renders
//! it a page at a time, so a history of a million operations costs one `JSON.parse` and
//! never a million DOM rows.
//!
//! Row layout (the script in `page.rs` reads it by position):
//! `[invoke_index, complete_index or -1, process (-1 for the nemesis), f (index into
//! "f"), outcome (index into "outcomes"), invoke time ms, latency ms or -1, key (index
//! into "keys", -1 for none, or an array), summary]`.

use checker::history::model::{Function, History, KeyId, MicroOp, Op, Outcome};

/// The outcome names, by the position the rows use.
pub const OUTCOMES: [&str; 3] = ["ok", "fail", "info"];
/// Client functions, by the position the rows use; nemesis functions follow them.
const CLIENT_FUNCTIONS: [&str; 6] = ["send", "poll", "txn", "assign", "subscribe", "crash"];
/// A summary longer than this is cut (a poll may return thousands of records).
const SUMMARY_CHARS_MAX: usize = 160;

fn function_index(f: Function) -> usize {
    match f {
        Function::Send => 0,
        Function::Poll => 1,
        Function::Txn => 2,
        Function::Assign => 3,
        Function::Subscribe => 4,
        Function::Crash => 5,
    }
}

fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Ok => 0,
        Outcome::Fail => 1,
        Outcome::Info => 2,
    }
}

fn ms(nanos: u64) -> f64 {
    (nanos as f64 / 1e3).round() / 1e3
}

/// A JSON string literal that is also safe inside an HTML `<script>` element: `</` cannot
/// close the element and `<!--` cannot open a comment.
pub fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/").replace("<!--", "<\\u0021--")
}

/// The whole history as the page's data object (already script-safe).
pub fn encode(history: &History) -> Result<String, serde_json::Error> {
    let keys: Vec<&str> = history.keys.ids().map(|k| history.keys.name(k)).collect();
    let mut functions: Vec<String> = CLIENT_FUNCTIONS.iter().map(|s| (*s).to_owned()).collect();
    for e in &history.nemesis {
        if !functions.contains(&e.f) {
            functions.push(e.f.clone());
        }
    }
    let mut out = String::with_capacity(history.ops.len() * 64 + 1024);
    out.push_str("{\"keys\":");
    out.push_str(&serde_json::to_string(&keys)?);
    out.push_str(",\"f\":");
    out.push_str(&serde_json::to_string(&functions)?);
    out.push_str(",\"outcomes\":");
    out.push_str(&serde_json::to_string(&OUTCOMES)?);
    out.push_str(",\"ops\":[");
    // Client operations are in invoke order, nemesis events in file order: merge them.
    let mut nemesis = history.nemesis.iter().peekable();
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    for op in &history.ops {
        while let Some(e) = nemesis.next_if(|e| e.index < op.invoke_index) {
            sep(&mut out);
            nemesis_row(&mut out, &functions, e)?;
        }
        sep(&mut out);
        op_row(&mut out, history, op)?;
    }
    for e in nemesis {
        sep(&mut out);
        nemesis_row(&mut out, &functions, e)?;
    }
    out.push_str("]}");
    Ok(script_safe(&out))
}

fn nemesis_row(
    out: &mut String,
    functions: &[String],
    e: &checker::history::model::NemesisEvent,
) -> Result<(), serde_json::Error> {
    let f = functions.iter().position(|x| *x == e.f).unwrap_or(0);
    let summary = cut(e.value.to_string());
    out.push_str(&format!("[{},-1,-1,{f},2,{},-1,-1,", e.index, ms(e.time)));
    out.push_str(&serde_json::to_string(&summary)?);
    out.push(']');
    Ok(())
}

fn op_row(out: &mut String, history: &History, op: &Op) -> Result<(), serde_json::Error> {
    let latency = op
        .complete_time
        .map_or(-1.0, |t| ms(t.saturating_sub(op.invoke_time)));
    let complete = op.complete_index.map_or(-1, |i| i as i64);
    out.push_str(&format!(
        "[{},{complete},{},{},{},{},{latency},",
        op.invoke_index,
        op.process,
        function_index(op.f),
        outcome_index(op.outcome),
        ms(op.invoke_time)
    ));
    let keys = op_keys(op);
    match keys.as_slice() {
        [] => out.push_str("-1"),
        [k] => out.push_str(&k.0.to_string()),
        many => {
            let ids: Vec<u32> = many.iter().map(|k| k.0).collect();
            out.push_str(&serde_json::to_string(&ids)?);
        }
    }
    out.push(',');
    out.push_str(&serde_json::to_string(&summary(history, op))?);
    out.push(']');
    Ok(())
}

/// The keys an operation touches, without repeats.
pub fn op_keys(op: &Op) -> Vec<KeyId> {
    let mut keys = Vec::new();
    let mut add = |k: KeyId| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for m in &op.mops {
        match m {
            MicroOp::Send { key, .. } => add(*key),
            MicroOp::Poll { reads } => reads.iter().for_each(|r| add(r.key)),
        }
    }
    if let Some(a) = &op.assignment {
        a.keys.iter().copied().for_each(&mut add);
    }
    keys
}

/// One line a reader can scan: what was sent or read, and the error if any.
pub fn summary(history: &History, op: &Op) -> String {
    let mut parts = Vec::new();
    for m in &op.mops {
        match m {
            MicroOp::Send { key, value, offset } => parts.push(match offset {
                Some(o) => format!("{}: {value} @{o}", history.keys.name(*key)),
                None => format!("{}: {value}", history.keys.name(*key)),
            }),
            MicroOp::Poll { reads } => {
                if reads.is_empty() && op.outcome == Outcome::Ok {
                    parts.push("nothing read".to_owned());
                }
                for r in reads {
                    let name = history.keys.name(r.key);
                    parts.push(match (r.records.first(), r.records.last()) {
                        (Some(a), Some(b)) => format!(
                            "{name}: {} recs @{}..{} ({}..{})",
                            r.records.len(),
                            a.0,
                            b.0,
                            a.1,
                            b.1
                        ),
                        _ => format!("{name}: nothing"),
                    });
                }
            }
        }
    }
    if let Some(a) = &op.assignment {
        let names: Vec<&str> = a.keys.iter().map(|k| history.keys.name(*k)).collect();
        parts.push(format!(
            "keys {}{}",
            names.join(","),
            if a.seek_to_beginning {
                " from start"
            } else {
                ""
            }
        ));
    }
    if let Some(e) = &op.error {
        parts.push(format!("error: {e}"));
    }
    cut(parts.join("; "))
}

fn cut(mut s: String) -> String {
    if s.chars().count() > SUMMARY_CHARS_MAX {
        s = s.chars().take(SUMMARY_CHARS_MAX).collect();
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a closing tag inside data cannot end the script element that embeds it.
    #[test]
    fn script_safe_escapes_closing_tags() {
        let s = script_safe(r#"{"e":"</script><!--"}"#);
        assert!(!s.contains("</") && !s.contains("<!--"));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["e"], "</script><!--");
    }

    // Goal: long summaries are cut at a char boundary with an ellipsis.
    #[test]
    fn long_summaries_are_cut() {
        let s = cut("é".repeat(SUMMARY_CHARS_MAX + 10));
        assert_eq!(s.chars().count(), SUMMARY_CHARS_MAX + 1);
        assert!(s.ends_with('…'));
    }
}
