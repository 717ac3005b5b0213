//! Test helper: writes tiny histories line by line (indices and times filled in) and reads
//! them with the real reader, so detector tests exercise exactly what `samsa check` sees.

use crate::history::model::History;

/// Builds a history one line at a time.
#[derive(Default)]
pub(crate) struct Script {
    lines: Vec<String>,
    header_lines: usize,
}

impl Script {
    fn push(&mut self, process: &str, kind: &str, f: &str, value: &str, extra: &str) -> &mut Self {
        let index = self.lines.len() - self.header_lines;
        self.lines.push(format!(
            r#"{{"index": {index}, "time": {}, "process": {process}, "type": "{kind}", "f": "{f}", "value": {value}{extra}}}"#,
            index * 10
        ));
        self
    }

    /// A header line, written as given (it takes no `index`).
    pub(crate) fn push_header(&mut self, header: &str) -> &mut Self {
        self.lines.push(header.to_owned());
        self.header_lines += 1;
        self
    }

    /// Any client line, written as given.
    pub(crate) fn push_raw(&mut self, p: u64, kind: &str, f: &str, value: &str) -> &mut Self {
        self.push(&p.to_string(), kind, f, value, "")
    }

    /// An invoke of a send of `value` to `key`.
    pub(crate) fn send_invoke(&mut self, p: u64, key: &str, value: i64) -> &mut Self {
        self.push(
            &p.to_string(),
            "invoke",
            "send",
            &format!(r#"[["send", "{key}", {value}]]"#),
            "",
        )
    }

    /// The `ok` of a send; `offset` `None` writes `null`.
    pub(crate) fn send_ok(
        &mut self,
        p: u64,
        key: &str,
        value: i64,
        offset: Option<i64>,
    ) -> &mut Self {
        let o = offset.map_or("null".to_owned(), |o| o.to_string());
        self.push(
            &p.to_string(),
            "ok",
            "send",
            &format!(r#"[["send", "{key}", [{o}, {value}]]]"#),
            "",
        )
    }

    /// A send's non-ok completion (`fail` or `info`).
    pub(crate) fn send_end(&mut self, p: u64, kind: &str, key: &str, value: i64) -> &mut Self {
        self.push(
            &p.to_string(),
            kind,
            "send",
            &format!(r#"[["send", "{key}", {value}]]"#),
            "",
        )
    }

    /// A whole acknowledged send: invoke then ok.
    pub(crate) fn send(&mut self, p: u64, key: &str, value: i64, offset: i64) -> &mut Self {
        self.send_invoke(p, key, value)
            .send_ok(p, key, value, Some(offset))
    }

    /// A whole poll of one key returning `records`.
    pub(crate) fn poll(&mut self, p: u64, key: &str, records: &[(i64, i64)]) -> &mut Self {
        self.poll_with(p, key, records, "")
    }

    /// A whole final poll (`final: true`).
    pub(crate) fn final_poll(&mut self, p: u64, key: &str, records: &[(i64, i64)]) -> &mut Self {
        self.poll_with(p, key, records, r#", "final": true"#)
    }

    fn poll_with(&mut self, p: u64, key: &str, records: &[(i64, i64)], extra: &str) -> &mut Self {
        let recs: Vec<String> = records.iter().map(|(o, v)| format!("[{o}, {v}]")).collect();
        self.push(&p.to_string(), "invoke", "poll", r#"[["poll"]]"#, extra);
        self.push(
            &p.to_string(),
            "ok",
            "poll",
            &format!(r#"[["poll", {{"{key}": [{}]}}]]"#, recs.join(", ")),
            extra,
        )
    }

    /// A whole `assign` of `keys`.
    pub(crate) fn assign(&mut self, p: u64, keys: &[&str], seek_to_beginning: bool) -> &mut Self {
        let ks: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        let v = format!(
            r#"{{"keys": [{}], "seek_to_beginning": {seek_to_beginning}}}"#,
            ks.join(", ")
        );
        self.push(&p.to_string(), "invoke", "assign", &v, "");
        self.push(&p.to_string(), "ok", "assign", &v, "")
    }

    /// A whole `txn` with the given invoke and ok values (JSON lists of micro-operations).
    pub(crate) fn txn(&mut self, p: u64, invoke: &str, ok: &str) -> &mut Self {
        self.push(&p.to_string(), "invoke", "txn", invoke, "");
        self.push(&p.to_string(), "ok", "txn", ok, "")
    }

    /// Reads the script with the real reader.
    pub(crate) fn build(&self) -> History {
        let text = self.lines.join("\n");
        crate::history::read(text.as_bytes()).expect("test scripts are well-formed")
    }
}

/// The kinds `detect` reports for `history`, using a fresh index.
pub(crate) fn run(
    detect: impl Fn(&super::Context<'_>) -> Vec<crate::anomaly::Finding>,
    history: &History,
) -> Vec<crate::anomaly::Finding> {
    let index = super::index::Index::build(history);
    let ctx = super::Context::new(history, &index);
    detect(&ctx)
}
