//! Latency over time for each operation type, coloured by outcome (ok, fail, info), and the
//! throughput of each type on the same time axis; the fault intervals are shaded and named
//! on both, so a latency spike or a stall can be read against the fault that caused it.
//!
//! Plots are downsampled on the plot's pixel grid so that the page of a long run stays
//! small (a million operations would otherwise be a million SVG elements): the ok series
//! keeps the lowest, median and highest latency of each pixel column, the fail and info
//! series keep one point per occupied cell of [`CELL_PX`] pixels, so every failure and
//! unknown outcome a reader could tell apart is drawn. Legends give the full counts.

use plotters::prelude::*;

use checker::history::model::{Function, History, Outcome};

use super::faults::FaultInterval;
use super::plot_style::{
    plot_error, PixelGrid, FAIL_COLOR, FAULT_COLOR, INFO_COLOR, OK_COLOR, PLOT_WIDTH,
};
use super::ReportError;

/// Height of a latency plot, in SVG pixels.
const LATENCY_PLOT_HEIGHT: u32 = 300;
/// The side of a downsampling cell, in SVG pixels (a point is drawn 4 pixels wide).
pub const CELL_PX: u32 = 2;
/// The throughput plot's buckets are at least this long (s), so short runs are not noise.
const THROUGHPUT_BUCKET_S_MIN: f64 = 0.5;
/// At most this many throughput buckets (a long run's buckets are longer).
const THROUGHPUT_BUCKETS_MAX: usize = 200;
/// Latencies below this (ms) are drawn at it: the axis is logarithmic.
const LATENCY_FLOOR_MS: f64 = 0.01;

/// The operation types plotted.
const PLOTTED: [Function; 3] = [Function::Send, Function::Poll, Function::Txn];

/// The end of the history in seconds (last invoke or completion, or fault), at least 1 ms.
pub fn history_end_secs(history: &History) -> f64 {
    let ops = history
        .ops
        .iter()
        .map(|o| o.complete_time.unwrap_or(o.invoke_time));
    let faults = history.nemesis.iter().map(|e| e.time);
    let end = ops.chain(faults).max().unwrap_or(0);
    (end as f64 / 1e9).max(0.001)
}

/// One latency plot per operation type present, as `(type name, svg)`.
pub fn latency_plots(
    history: &History,
    faults: &[FaultInterval],
) -> Result<Vec<(&'static str, String)>, ReportError> {
    let end = history_end_secs(history);
    let mut plots = Vec::new();
    for f in PLOTTED {
        let name = f.name();
        let mut series: [Vec<(f64, f64)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for op in history.ops.iter().filter(|o| o.f == f) {
            let Some(done) = op.complete_time else {
                continue;
            };
            let latency = (done.saturating_sub(op.invoke_time) as f64 / 1e6).max(LATENCY_FLOOR_MS);
            let slot = match op.outcome {
                Outcome::Ok => 0,
                Outcome::Fail => 1,
                Outcome::Info => 2,
            };
            series[slot].push((op.invoke_time as f64 / 1e9, latency));
        }
        if series.iter().all(Vec::is_empty) {
            continue;
        }
        plots.push((name, latency_svg(name, &series, faults, end)?));
    }
    Ok(plots)
}

fn latency_svg(
    name: &str,
    series: &[Vec<(f64, f64)>; 3],
    faults: &[FaultInterval],
    end: f64,
) -> Result<String, ReportError> {
    let err = plot_error("latency");
    let max = series
        .iter()
        .flatten()
        .map(|p| p.1)
        .fold(LATENCY_FLOOR_MS * 10.0, f64::max)
        * 1.5;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (PLOT_WIDTH, LATENCY_PLOT_HEIGHT))
            .into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{name} latency (ms, log scale)"),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..end, (LATENCY_FLOOR_MS..max).log_scale())
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc("time since start (s)")
            .y_desc("latency (ms)")
            .draw()
            .map_err(&err)?;
        shade_faults(&mut chart, faults, LATENCY_FLOOR_MS, max).map_err(&err)?;
        let (width, height) = chart.plotting_area().dim_in_pixel();
        let grid = PixelGrid {
            x: (0.0, end),
            y: (LATENCY_FLOOR_MS.log10(), max.log10()),
            columns: (width / CELL_PX).max(1) as usize,
            rows: (height / CELL_PX).max(1) as usize,
        };
        let styles = [("ok", OK_COLOR), ("fail", FAIL_COLOR), ("info", INFO_COLOR)];
        for (slot, (points, (label, color))) in series.iter().zip(styles).enumerate() {
            if points.is_empty() {
                continue;
            }
            let shown = if slot == 0 {
                grid.envelope(points, f64::log10)
            } else {
                grid.distinct(points, f64::log10)
            };
            chart
                .draw_series(
                    shown
                        .iter()
                        .map(|&p| Circle::new(p, 2, color.mix(0.7).filled())),
                )
                .map_err(&err)?
                .label(format!("{label} ({})", points.len()))
                .legend(move |(x, y)| Circle::new((x + 5, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// Shades each fault interval over the whole height and names it at the top.
pub fn shade_faults<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    faults: &[FaultInterval],
    y_min: f64,
    y_max: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    chart.draw_series(faults.iter().map(|f| {
        Rectangle::new(
            [(f.start as f64 / 1e9, y_min), (f.end as f64 / 1e9, y_max)],
            FAULT_COLOR.mix(0.18).filled(),
        )
    }))?;
    chart.draw_series(faults.iter().map(|f| {
        Text::new(
            f.label.clone(),
            (f.start as f64 / 1e9, y_max),
            ("sans-serif", 11).into_font().color(&BLACK.mix(0.8)),
        )
    }))?;
    Ok(())
}

/// Completions per second of each operation type over time, with the faults shaded.
pub fn throughput_plot(history: &History, faults: &[FaultInterval]) -> Result<String, ReportError> {
    let err = plot_error("throughput");
    let end = history_end_secs(history);
    let count = ((end / THROUGHPUT_BUCKET_S_MIN).ceil() as usize).clamp(1, THROUGHPUT_BUCKETS_MAX);
    let width = end / count as f64;
    let mut lines: Vec<(&str, RGBColor, Vec<f64>)> = Vec::new();
    let colors = [OK_COLOR, INFO_COLOR, FAIL_COLOR];
    for (f, color) in PLOTTED.iter().zip(colors) {
        let name = f.name();
        let mut buckets = vec![0f64; count];
        let mut any = false;
        for op in history
            .ops
            .iter()
            .filter(|o| o.f == *f && o.outcome == Outcome::Ok)
        {
            let Some(done) = op.complete_time else {
                continue;
            };
            let b = ((done as f64 / 1e9) / width) as usize;
            buckets[b.min(count - 1)] += 1.0 / width;
            any = true;
        }
        if any {
            lines.push((name, color, buckets));
        }
    }
    let max = lines
        .iter()
        .flat_map(|l| l.2.iter().copied())
        .fold(1.0, f64::max)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (PLOT_WIDTH, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("throughput (ok completions per second)", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..end, 0f64..max)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc("time since start (s)")
            .y_desc("ops/s")
            .draw()
            .map_err(&err)?;
        shade_faults(&mut chart, faults, 0.0, max).map_err(&err)?;
        for (name, color, buckets) in &lines {
            let color = *color;
            let points = buckets
                .iter()
                .enumerate()
                .map(|(i, v)| ((i as f64 + 0.5) * width, *v));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(&err)?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}
