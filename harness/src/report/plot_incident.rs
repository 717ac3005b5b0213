//! An incident's offsets over time: every acknowledged send of its key (when it was
//! acknowledged, at which offset) and every poll of it (when it returned, the offsets it
//! read), around the incident's window, with the faults shaded and the incident's offsets
//! banded. Beside the zoomed cluster timeline it shows what was acknowledged and read
//! while the leadership moved, e.g. acknowledgements continuing on a deposed leader, or
//! consumers reading offsets that later held other values.

use checker::history::model::{History, MicroOp, Nanos, Outcome};
use plotters::prelude::*;

use super::faults::FaultInterval;
use super::plot_latency::shade_faults;
use super::plot_style::{plot_error, spread, ANOMALY_COLOR, INFO_COLOR, OK_COLOR, PLOT_WIDTH};
use super::ReportError;

/// At most this many acknowledgements and as many reads are drawn (evenly spread).
pub const POINTS_MAX: usize = 3_000;

/// The plot's height in SVG pixels.
const HEIGHT_PX: u32 = 260;

/// An acknowledgement: when (s) and at which offset.
type Ack = (f64, f64);
/// A poll's read of the key: when it returned (s), the lowest and highest offset read.
type Read = (f64, f64, f64);

/// Acknowledged offsets `(s, offset)` and poll reads `(s, lowest, highest)` of `key` by
/// the operations invoked within `span` (s); ops are in invoke order, so the span is
/// found by binary search.
fn points(history: &History, key: &str, span: (f64, f64)) -> (Vec<Ack>, Vec<Read>) {
    let (mut acks, mut reads) = (Vec::new(), Vec::new());
    let Some(k) = history.keys.get(key) else {
        return (acks, reads);
    };
    let (from, to) = ((span.0 * 1e9) as Nanos, (span.1 * 1e9) as Nanos);
    let lo = history.ops.partition_point(|o| o.invoke_time < from);
    let hi = history.ops.partition_point(|o| o.invoke_time <= to);
    for op in &history.ops[lo..hi.max(lo)] {
        let (Outcome::Ok, Some(done)) = (op.outcome, op.complete_time) else {
            continue;
        };
        let t = done as f64 / 1e9;
        for m in &op.mops {
            match m {
                MicroOp::Send {
                    key,
                    offset: Some(o),
                    ..
                } if *key == k => acks.push((t, *o as f64)),
                MicroOp::Poll { reads: r } => {
                    for read in r.iter().filter(|r| r.key == k) {
                        let offsets = read.records.iter().map(|(o, _)| *o);
                        if let (Some(a), Some(b)) = (offsets.clone().min(), offsets.max()) {
                            reads.push((t, a as f64, b as f64));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (acks, reads)
}

/// Draws the offsets of `key` over `span` (s), banding the incident's `offsets`; `None`
/// when nothing was acknowledged or read there.
pub fn offsets_svg(
    history: &History,
    key: &str,
    span: (f64, f64),
    offsets: Option<[i64; 2]>,
    faults: &[FaultInterval],
) -> Result<Option<String>, ReportError> {
    let (acks, reads) = points(history, key, span);
    if acks.is_empty() && reads.is_empty() {
        return Ok(None);
    }
    let (acks, reads) = (spread(&acks, POINTS_MAX), spread(&reads, POINTS_MAX));
    let ys = acks
        .iter()
        .map(|p| p.1)
        .chain(reads.iter().flat_map(|r| [r.1, r.2]))
        .chain(offsets.iter().flat_map(|o| [o[0] as f64, o[1] as f64]));
    let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let pad = ((y1 - y0) * 0.05).max(1.0);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (from, to) = (span.0, span.1.max(span.0 + 1e-3));
    let (from_ns, to_ns) = ((from * 1e9) as Nanos, (to * 1e9) as Nanos);
    let faults: Vec<FaultInterval> = faults
        .iter()
        .filter(|f| f.end > from_ns && f.start < to_ns)
        .map(|f| FaultInterval {
            start: f.start.max(from_ns),
            end: f.end.min(to_ns),
            ..f.clone()
        })
        .collect();
    let err = plot_error("incident offsets");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (PLOT_WIDTH, HEIGHT_PX)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("key {key}: offsets acknowledged and read"),
                ("sans-serif", 15),
            )
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(from..to, y0..y1)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc("time since start (s)")
            .y_desc("offset")
            .draw()
            .map_err(&err)?;
        shade_faults(&mut chart, &faults, y0, y1).map_err(&err)?;
        if let Some([a, b]) = offsets {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, a as f64 - 0.5), (to, b as f64 + 0.5)],
                    ANOMALY_COLOR.mix(0.12).filled(),
                )))
                .map_err(&err)?;
        }
        chart
            .draw_series(reads.iter().map(|&(t, a, b)| {
                PathElement::new(vec![(t, a), (t, b)], INFO_COLOR.mix(0.6).stroke_width(2))
            }))
            .map_err(&err)?
            .label(format!("polls: offsets read ({})", reads.len()))
            .legend(|(x, y)| PathElement::new(vec![(x, y - 5), (x, y + 5)], INFO_COLOR));
        chart
            .draw_series(
                acks.iter()
                    .map(|&p| Circle::new(p, 2, OK_COLOR.mix(0.8).filled())),
            )
            .map_err(&err)?
            .label(format!("sends: offset acknowledged ({})", acks.len()))
            .legend(|(x, y)| Circle::new((x + 5, y), 4, OK_COLOR.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the plot takes the key's acknowledgements and reads of the operations invoked
    // in the span, and is absent when there are none. Method: two sends and a poll of key
    // 0, one send of key 1, plotted over 0-1 s and over a span after them.
    #[test]
    fn acknowledgements_and_reads_of_the_key_in_the_span() {
        let lines = [
            r#"{"index":0,"time":100000000,"process":0,"type":"invoke","f":"send","value":[["send","0",1]]}"#,
            r#"{"index":1,"time":200000000,"process":0,"type":"ok","f":"send","value":[["send","0",[5,1]]]}"#,
            r#"{"index":2,"time":300000000,"process":1,"type":"invoke","f":"send","value":[["send","1",2]]}"#,
            r#"{"index":3,"time":400000000,"process":1,"type":"ok","f":"send","value":[["send","1",[9,2]]]}"#,
            r#"{"index":4,"time":500000000,"process":2,"type":"invoke","f":"poll","value":[["poll"]]}"#,
            r#"{"index":5,"time":600000000,"process":2,"type":"ok","f":"poll","value":[["poll",{"0":[[4,0],[5,1]]}]]}"#,
        ];
        let history = checker::history::read(lines.join("\n").as_bytes()).unwrap();
        let (acks, reads) = points(&history, "0", (0.0, 1.0));
        assert_eq!(acks, vec![(0.2, 5.0)]);
        assert_eq!(reads, vec![(0.6, 4.0, 5.0)]);
        let svg = offsets_svg(&history, "0", (0.0, 1.0), Some([5, 5]), &[])
            .unwrap()
            .unwrap();
        assert!(svg.contains("key 0: offsets acknowledged and read"));
        assert!(offsets_svg(&history, "0", (2.0, 3.0), None, &[])
            .unwrap()
            .is_none());
    }
}
