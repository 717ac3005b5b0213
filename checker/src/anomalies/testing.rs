//! Test helper: writes tiny histories line by line (indices and times filled in) as typed
//! [`Line`]s and reads them with the real reader, so detector tests exercise exactly what
//! `samsa check` sees.

use crate::history::line::{Line, LineType, LineValue};
use crate::history::model::{Function, History};

/// Builds a history one line at a time.
#[derive(Default)]
pub(crate) struct Script {
    lines: Vec<String>,
    header_lines: usize,
}

impl Script {
    fn push(
        &mut self,
        p: u64,
        kind: LineType,
        f: Function,
        value: LineValue,
        is_final: bool,
    ) -> &mut Self {
        let index = (self.lines.len() - self.header_lines) as u64;
        let mut line = Line::client(index, index * 10, p, kind, f, value);
        line.is_final = is_final;
        self.lines.push(line.to_json());
        self
    }

    /// A header line, written as given (it takes no `index`).
    pub(crate) fn push_header(&mut self, header: &str) -> &mut Self {
        self.lines.push(header.to_owned());
        self.header_lines += 1;
        self
    }

    /// Any client line: its `type` and `f` by name, its value as JSON text.
    pub(crate) fn push_raw(&mut self, p: u64, kind: &str, f: &str, value: &str) -> &mut Self {
        let kind = LineType::from_name(kind).expect("a line type");
        let f = Function::from_name(f).expect("a client function");
        let value = LineValue::from_json(&f.into(), value).expect("a JSON value");
        self.push(p, kind, f, value, false)
    }

    /// An invoke of a send of `value` to `key`.
    pub(crate) fn send_invoke(&mut self, p: u64, key: &str, value: i64) -> &mut Self {
        self.push(
            p,
            LineType::Invoke,
            Function::Send,
            LineValue::send(key, value),
            false,
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
        let done = LineValue::sent(key, offset, value);
        self.push(p, LineType::Ok, Function::Send, done, false)
    }

    /// A send's non-ok completion (`fail` or `info`).
    pub(crate) fn send_end(&mut self, p: u64, kind: &str, key: &str, value: i64) -> &mut Self {
        let kind = LineType::from_name(kind).expect("a line type");
        self.push(p, kind, Function::Send, LineValue::send(key, value), false)
    }

    /// A whole acknowledged send: invoke then ok.
    pub(crate) fn send(&mut self, p: u64, key: &str, value: i64, offset: i64) -> &mut Self {
        self.send_invoke(p, key, value)
            .send_ok(p, key, value, Some(offset))
    }

    /// A whole poll of one key returning `records`.
    pub(crate) fn poll(&mut self, p: u64, key: &str, records: &[(i64, i64)]) -> &mut Self {
        self.poll_with(p, key, records, false)
    }

    /// A whole final poll (`final: true`).
    pub(crate) fn final_poll(&mut self, p: u64, key: &str, records: &[(i64, i64)]) -> &mut Self {
        self.poll_with(p, key, records, true)
    }

    fn poll_with(
        &mut self,
        p: u64,
        key: &str,
        records: &[(i64, i64)],
        is_final: bool,
    ) -> &mut Self {
        self.push(
            p,
            LineType::Invoke,
            Function::Poll,
            LineValue::poll(),
            is_final,
        );
        let reads = LineValue::polled(vec![(key.to_owned(), records.to_vec())]);
        self.push(p, LineType::Ok, Function::Poll, reads, is_final)
    }

    /// A whole `assign` of `keys`.
    pub(crate) fn assign(&mut self, p: u64, keys: &[&str], seek_to_beginning: bool) -> &mut Self {
        let v = || {
            LineValue::assign(
                keys.iter().map(|k| (*k).to_owned()).collect(),
                seek_to_beginning,
            )
        };
        self.push(p, LineType::Invoke, Function::Assign, v(), false);
        self.push(p, LineType::Ok, Function::Assign, v(), false)
    }

    /// A whole `txn` with the given invoke and ok values (JSON lists of micro-operations).
    pub(crate) fn txn(&mut self, p: u64, invoke: &str, ok: &str) -> &mut Self {
        self.push_raw(p, "invoke", "txn", invoke);
        self.push_raw(p, "ok", "txn", ok)
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
