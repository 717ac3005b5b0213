//! The log of each key (partition) with an anomaly: which value sits at which offset, who
//! wrote it (the acknowledged send) and who read it (the polls that returned it), with the
//! anomaly's record marked. A broker developer sees the lost, duplicated or reordered
//! record among its neighbours, as Jepsen's kafka plots do.

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;

use checker::anomaly::Finding;
use checker::check::CheckResult;
use checker::history::model::{History, KeyId, LineIndex, MicroOp, Offset, Outcome, Value};

use super::plot_style::{plot_error, spread, ANOMALY_COLOR, INFO_COLOR, OK_COLOR, PLOT_WIDTH};
use super::ReportError;

/// At most this many keys get a diagram (the ones with the most findings first).
pub const KEYS_MAX: usize = 16;
/// Offsets shown in the table on each side of an anomaly's offset.
const TABLE_RADIUS: Offset = 3;
/// At most this many table rows per key.
const TABLE_ROWS_MAX: usize = 60;
/// At most this many readers listed per offset.
const READERS_LISTED_MAX: usize = 5;
/// A log longer than this is drawn only around the anomalies.
const WINDOW_OFFSETS_MAX: Offset = 400;
/// At most this many points per series in the diagram.
const POINTS_MAX: usize = 3000;

/// What the history says about one offset of one key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffsetCell {
    /// Values seen at this offset (more than one is `inconsistent-offsets`).
    pub values: BTreeSet<Value>,
    /// Sends acknowledged at this offset: `(invoke index, process)`.
    pub writers: Vec<(LineIndex, u64)>,
    /// Polls that returned this offset: invoke indices.
    pub readers: Vec<LineIndex>,
}

/// One key's diagram and the table of offsets around its anomalies.
#[derive(Debug, Clone)]
pub struct KeyLog {
    /// The key's name.
    pub key: String,
    /// The diagram (SVG).
    pub svg: String,
    /// `(offset, cell, marked)`: offsets near anomalies; `marked` names the anomaly kinds
    /// found exactly at that offset.
    pub rows: Vec<(Offset, OffsetCell, Vec<&'static str>)>,
    /// Findings on this key with no offset (a lost write whose offset was never told).
    pub unplaced: Vec<(&'static str, Option<Value>)>,
}

/// Every key with a finding, most findings first, at most [`KEYS_MAX`].
pub fn key_logs(history: &History, result: &CheckResult) -> Result<Vec<KeyLog>, ReportError> {
    let mut by_key: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in result.anomalies.values().flatten() {
        if let Some(k) = &f.key {
            by_key.entry(k.as_str()).or_default().push(f);
        }
    }
    let mut keys: Vec<(&str, Vec<&Finding>)> = by_key.into_iter().collect();
    keys.sort_by_key(|(name, f)| (std::cmp::Reverse(f.len()), *name));
    let mut out = Vec::new();
    for (name, findings) in keys.into_iter().take(KEYS_MAX) {
        let Some(id) = history.keys.get(name) else {
            continue;
        };
        let cells = cells_of(history, id);
        out.push(key_log(name, &cells, &findings)?);
    }
    Ok(out)
}

/// Every offset of `key` the history knows, with writers and readers.
pub fn cells_of(history: &History, key: KeyId) -> BTreeMap<Offset, OffsetCell> {
    let mut cells: BTreeMap<Offset, OffsetCell> = BTreeMap::new();
    for op in &history.ops {
        for m in &op.mops {
            match m {
                MicroOp::Send {
                    key: k,
                    value,
                    offset: Some(o),
                } if *k == key && op.outcome == Outcome::Ok => {
                    let c = cells.entry(*o).or_default();
                    c.values.insert(*value);
                    c.writers.push((op.invoke_index, op.process));
                }
                MicroOp::Poll { reads } if op.outcome == Outcome::Ok => {
                    for r in reads.iter().filter(|r| r.key == key) {
                        for (o, v) in &r.records {
                            let c = cells.entry(*o).or_default();
                            c.values.insert(*v);
                            c.readers.push(op.invoke_index);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    cells
}

/// The offset a finding is about: its own, or where its value was acknowledged.
fn placed(f: &Finding, cells: &BTreeMap<Offset, OffsetCell>) -> Option<Offset> {
    f.offset.or_else(|| {
        let v = f.value?;
        cells
            .iter()
            .find(|(_, c)| c.values.contains(&v))
            .map(|(o, _)| *o)
    })
}

fn key_log(
    name: &str,
    cells: &BTreeMap<Offset, OffsetCell>,
    findings: &[&Finding],
) -> Result<KeyLog, ReportError> {
    let mut marks: BTreeMap<Offset, Vec<&'static str>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for f in findings {
        match placed(f, cells) {
            Some(o) => {
                let kinds = marks.entry(o).or_default();
                if !kinds.contains(&f.kind.name()) {
                    kinds.push(f.kind.name());
                }
            }
            None => unplaced.push((f.kind.name(), f.value)),
        }
    }
    let mut rows = Vec::new();
    let mut shown: BTreeSet<Offset> = BTreeSet::new();
    'marks: for &o in marks.keys() {
        for near in o - TABLE_RADIUS..=o + TABLE_RADIUS {
            if rows.len() >= TABLE_ROWS_MAX {
                break 'marks;
            }
            if !shown.insert(near) {
                continue;
            }
            if let Some(c) = cells.get(&near) {
                let mut c = c.clone();
                c.readers.truncate(READERS_LISTED_MAX);
                rows.push((near, c, marks.get(&near).cloned().unwrap_or_default()));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    let svg = diagram(name, cells, &marks)?;
    Ok(KeyLog {
        key: name.to_owned(),
        svg,
        rows,
        unplaced,
    })
}

/// The offset range to draw: the whole log, or a window around the marks if it is long.
fn window(
    cells: &BTreeMap<Offset, OffsetCell>,
    marks: &BTreeMap<Offset, Vec<&str>>,
) -> (Offset, Offset) {
    let (lo, hi) = match (cells.keys().next(), cells.keys().next_back()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0, 1),
    };
    if hi - lo <= WINDOW_OFFSETS_MAX {
        return (lo, hi.max(lo + 1));
    }
    match (marks.keys().next(), marks.keys().next_back()) {
        (Some(a), Some(b)) if b - a <= WINDOW_OFFSETS_MAX => {
            let pad = (WINDOW_OFFSETS_MAX - (b - a)) / 2;
            ((a - pad).max(lo), (b + pad).min(hi).max(a + 1))
        }
        _ => (lo, hi),
    }
}

fn diagram(
    name: &str,
    cells: &BTreeMap<Offset, OffsetCell>,
    marks: &BTreeMap<Offset, Vec<&'static str>>,
) -> Result<String, ReportError> {
    let err = plot_error("key log");
    let (lo, hi) = window(cells, marks);
    let mut written = Vec::new();
    let mut read_only = Vec::new();
    for (o, c) in cells.range(lo..=hi) {
        for v in &c.values {
            if c.writers.is_empty() {
                read_only.push((*o as f64, *v as f64));
            } else {
                written.push((*o as f64, *v as f64));
            }
        }
    }
    let all = written.iter().chain(&read_only);
    let (vmin, vmax) = all.fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (vmin, vmax) = if vmin > vmax {
        (0.0, 1.0)
    } else {
        (vmin - 1.0, vmax + 1.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (PLOT_WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("key {name}: value at each offset (offsets {lo}..{hi})"),
                ("sans-serif", 15),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(lo as f64 - 0.5..hi as f64 + 0.5, vmin..vmax)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc("offset")
            .y_desc("value")
            .draw()
            .map_err(&err)?;
        chart
            .draw_series(
                spread(&written, POINTS_MAX)
                    .into_iter()
                    .map(|p| Circle::new(p, 2, OK_COLOR.filled())),
            )
            .map_err(&err)?
            .label("acknowledged write (and read)")
            .legend(|(x, y)| Circle::new((x + 5, y), 4, OK_COLOR.filled()));
        chart
            .draw_series(
                spread(&read_only, POINTS_MAX)
                    .into_iter()
                    .map(|p| Cross::new(p, 3, INFO_COLOR.stroke_width(1))),
            )
            .map_err(&err)?
            .label("read, never acknowledged")
            .legend(|(x, y)| Cross::new((x + 5, y), 4, INFO_COLOR.stroke_width(1)));
        let marked: Vec<((f64, f64), String)> = marks
            .range(lo..=hi)
            .filter_map(|(o, kinds)| {
                let c = cells.get(o)?;
                let v = c.values.iter().next().copied().unwrap_or(0);
                Some(((*o as f64, v as f64), kinds.join(",")))
            })
            .collect();
        chart
            .draw_series(
                marked
                    .iter()
                    .map(|(p, _)| Circle::new(*p, 7, ANOMALY_COLOR.stroke_width(2))),
            )
            .map_err(&err)?
            .label("anomaly")
            .legend(|(x, y)| Circle::new((x + 5, y), 5, ANOMALY_COLOR.stroke_width(2)));
        chart
            .draw_series(marked.iter().take(20).map(|(p, label)| {
                Text::new(
                    label.clone(),
                    *p,
                    ("sans-serif", 11).into_font().color(&ANOMALY_COLOR),
                )
            }))
            .map_err(&err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}
