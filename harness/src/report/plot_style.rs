//! What every plot of the report shares: sizes, the outcome colours (ok, fail, info), the
//! fault shading, and turning a plotters error into a [`ReportError`].

use plotters::style::RGBColor;

use super::ReportError;

/// Width of every plot, in SVG pixels.
pub const PLOT_WIDTH: u32 = 1000;
/// The colour of an operation that happened.
pub const OK_COLOR: RGBColor = RGBColor(31, 119, 180);
/// The colour of an operation that certainly did not happen.
pub const FAIL_COLOR: RGBColor = RGBColor(214, 39, 40);
/// The colour of an operation whose outcome is unknown.
pub const INFO_COLOR: RGBColor = RGBColor(255, 127, 14);
/// The colour of an anomaly's mark.
pub const ANOMALY_COLOR: RGBColor = RGBColor(200, 0, 120);
/// The shade of a fault interval.
pub const FAULT_COLOR: RGBColor = RGBColor(120, 120, 120);
/// The colour of a leader in the cluster plot.
pub const LEADER_COLOR: RGBColor = RGBColor(44, 160, 44);
/// The colour of an in-sync follower in the cluster plot.
pub const ISR_COLOR: RGBColor = RGBColor(152, 223, 138);
/// The colour of a replica out of the ISR in the cluster plot.
pub const OUT_OF_SYNC_COLOR: RGBColor = RGBColor(220, 220, 220);
/// The colour of a node that did not answer in the cluster plot.
pub const DOWN_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Converts a plotters error of plot `plot` into a report error.
pub fn plot_error<E: std::fmt::Display>(plot: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Plot {
        plot,
        message: e.to_string(),
    }
}

/// Keeps at most `max` of `items`, evenly spread (every k-th), so a plot of a long run
/// stays small; all of them when there are few enough.
pub fn spread<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max || max == 0 {
        return items.to_vec();
    }
    let step = items.len().div_ceil(max);
    items.iter().step_by(step).copied().collect()
}

/// The pixel grid of a plot area, to downsample points that would be drawn on top of each
/// other: a long run has far more points than the plot has pixels.
#[derive(Debug, Clone, Copy)]
pub struct PixelGrid {
    /// The x range drawn.
    pub x: (f64, f64),
    /// The y range drawn (already transformed, e.g. a logarithm, by the caller's `y` map).
    pub y: (f64, f64),
    /// Columns of the grid.
    pub columns: usize,
    /// Rows of the grid.
    pub rows: usize,
}

impl PixelGrid {
    fn slot(v: f64, (lo, hi): (f64, f64), n: usize) -> usize {
        let frac = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
        ((frac.clamp(0.0, 1.0) * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// The column of x.
    pub fn column(&self, x: f64) -> usize {
        Self::slot(x, self.x, self.columns)
    }

    /// For each column, the lowest, the median and the highest point by `y(point)`: the
    /// band a reader sees of a dense series, in at most three points per column.
    pub fn envelope(&self, points: &[(f64, f64)], y: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        let mut columns: Vec<Vec<(f64, f64)>> = vec![Vec::new(); self.columns];
        for &p in points {
            columns[self.column(p.0)].push(p);
        }
        let mut out = Vec::new();
        for mut col in columns {
            if col.len() <= 3 {
                out.extend(col);
                continue;
            }
            col.sort_by(|a, b| y(a.1).total_cmp(&y(b.1)));
            out.extend([col[0], col[col.len() / 2], col[col.len() - 1]]);
        }
        out
    }

    /// One point per occupied cell, in input order: every point a reader could tell apart
    /// is kept (for rare, important series such as failures and unknown outcomes).
    pub fn distinct(&self, points: &[(f64, f64)], y: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        let mut seen = std::collections::HashSet::new();
        points
            .iter()
            .copied()
            .filter(|p| seen.insert((self.column(p.0), Self::slot(y(p.1), self.y, self.rows))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: spreading keeps the bound and the first element, and keeps short inputs whole.
    #[test]
    fn spread_bounds_the_count() {
        let v: Vec<u32> = (0..10_001).collect();
        let s = spread(&v, 1000);
        assert!(s.len() <= 1000 && s[0] == 0, "{}", s.len());
        assert_eq!(spread(&v[..5], 1000).len(), 5);
    }

    // Goal: the envelope keeps at most three points per column, including each column's
    // extremes; distinct keeps one point per cell and every point of a sparse series.
    #[test]
    fn pixel_grid_downsamples_by_column_and_cell() {
        let grid = PixelGrid {
            x: (0.0, 10.0),
            y: (0.0, 100.0),
            columns: 10,
            rows: 10,
        };
        let dense: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (i as f64 / 1000.0, (i % 101) as f64))
            .collect();
        let env = grid.envelope(&dense, |y| y);
        assert!(env.len() <= 30, "{}", env.len());
        assert!(env.iter().any(|p| p.1 == 0.0) && env.iter().any(|p| p.1 == 100.0));
        let cells = grid.distinct(&dense, |y| y);
        assert!(cells.len() <= 100, "{}", cells.len());
        let sparse = [(0.5, 5.0), (5.5, 55.0), (9.5, 95.0)];
        assert_eq!(grid.distinct(&sparse, |y| y), sparse.to_vec());
    }
}
