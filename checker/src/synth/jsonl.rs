//! Writes a [`History`] as JSON Lines exactly as docs/history-format.md specifies: the
//! header, then one line per invocation, completion and event, in `index` order, each the
//! typed [`Line`](crate::history::line::Line) every writer of histories shares.

use std::io::{self, Write};

use crate::history::model::History;
use crate::history::unpair;

/// Writes `history` (header first, if any) to `out`.
pub fn write_jsonl(history: &History, out: &mut impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    if let Some(header) = unpair::header_line(history) {
        serde_json::to_writer(&mut out, &header).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    for line in unpair::lines(history) {
        serde_json::to_writer(&mut out, &line).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
