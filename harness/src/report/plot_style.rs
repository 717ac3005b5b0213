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
}
