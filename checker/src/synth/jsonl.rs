//! Writes a [`History`] as JSON Lines exactly as HISTORY.md specifies: the header, then
//! one line per invocation and per completion, in `index` order.
//!
//! Lines are formatted by hand (numbers and pre-escaped key names) because benchmarks
//! write millions of them; strings that could need escaping go through serde_json.

use std::io::{self, Write};

use crate::history::model::{Function, History, MicroOp, Op, Outcome};

/// Writes `history` (header first, if any) to `out`.
pub fn write_jsonl(history: &History, out: &mut impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let keys: Vec<String> = history
        .keys
        .ids()
        .map(|k| serde_json::to_string(history.keys.name(k)).map_err(io::Error::other))
        .collect::<io::Result<_>>()?;
    if let Some(header) = &history.header {
        let mut map = header.extra.clone();
        map.insert("format".into(), header.format.clone().into());
        if let Some(test) = &header.test {
            map.insert("test".into(), test.clone().into());
        }
        map.insert(
            "guarantees".into(),
            serde_json::to_value(header.guarantees).map_err(io::Error::other)?,
        );
        serde_json::to_writer(&mut out, &map).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    let mut lines: Vec<(u64, u32, bool)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        lines.push((op.invoke_index, i as u32, true));
        if let Some(c) = op.complete_index {
            lines.push((c, i as u32, false));
        }
    }
    lines.sort_unstable();
    for (_, i, is_invoke) in lines {
        write_line(&mut out, &history.ops[i as usize], is_invoke, &keys)?;
    }
    out.flush()
}

fn write_line(out: &mut impl Write, op: &Op, is_invoke: bool, keys: &[String]) -> io::Result<()> {
    let (index, time, kind) = if is_invoke {
        (op.invoke_index, op.invoke_time, "invoke")
    } else {
        let kind = match op.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        (
            op.complete_index.unwrap_or_default(),
            op.complete_time.unwrap_or_default(),
            kind,
        )
    };
    let f = match op.f {
        Function::Send => "send",
        Function::Poll => "poll",
        Function::Txn => "txn",
        Function::Assign => "assign",
        Function::Subscribe => "subscribe",
        Function::Crash => "crash",
    };
    write!(out, "{{\"index\":{index},\"time\":{time},\"process\":{},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":", op.process)?;
    let completed_ok = !is_invoke && op.outcome == Outcome::Ok;
    if let Some(a) = &op.assignment {
        out.write_all(b"{\"keys\":[")?;
        for (n, k) in a.keys.iter().enumerate() {
            if n > 0 {
                out.write_all(b",")?;
            }
            out.write_all(keys[k.0 as usize].as_bytes())?;
        }
        write!(out, "],\"seek_to_beginning\":{}}}", a.seek_to_beginning)?;
    } else {
        out.write_all(b"[")?;
        for (n, mop) in op.mops.iter().enumerate() {
            if n > 0 {
                out.write_all(b",")?;
            }
            write_mop(out, mop, completed_ok, keys)?;
        }
        out.write_all(b"]")?;
    }
    if !is_invoke {
        if let Some(p) = op.producer {
            write!(out, ",\"producer\":{p}")?;
        }
        if let Some(e) = &op.error {
            out.write_all(b",\"error\":")?;
            serde_json::to_writer(&mut *out, e).map_err(io::Error::other)?;
        }
    }
    if op.is_final {
        out.write_all(b",\"final\":true")?;
    }
    out.write_all(b"}\n")
}

fn write_mop(
    out: &mut impl Write,
    mop: &MicroOp,
    completed_ok: bool,
    keys: &[String],
) -> io::Result<()> {
    match mop {
        MicroOp::Send { key, value, offset } => {
            write!(out, "[\"send\",{},", keys[key.0 as usize])?;
            match (completed_ok, offset) {
                (false, _) => write!(out, "{value}]"),
                (true, Some(o)) => write!(out, "[{o},{value}]]"),
                (true, None) => write!(out, "[null,{value}]]"),
            }
        }
        MicroOp::Poll { reads } if completed_ok => {
            out.write_all(b"[\"poll\",{")?;
            for (n, read) in reads.iter().enumerate() {
                if n > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{}:[", keys[read.key.0 as usize])?;
                for (m, (o, v)) in read.records.iter().enumerate() {
                    if m > 0 {
                        out.write_all(b",")?;
                    }
                    write!(out, "[{o},{v}]")?;
                }
                out.write_all(b"]")?;
            }
            out.write_all(b"}]")
        }
        MicroOp::Poll { .. } => out.write_all(b"[\"poll\"]"),
    }
}
