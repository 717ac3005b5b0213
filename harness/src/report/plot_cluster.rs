//! The cluster over time, from `state.jsonl`: for each partition, one row per node showing
//! whether it led the partition, was an in-sync follower (in the leader's ISR), was a
//! replica out of the ISR, or did not answer. Leader changes, ISR shrinks and two nodes
//! claiming leadership at once (split brain) are visible at a glance, beside the faults.
//!
//! Each node's row comes from its own Metadata answer (the sampler asks every node), so
//! any Kafka-compatible broker fills it.
//! The leader's own report is authoritative for the ISR (it is the leader that shrinks and
//! expands it, DESIGN.md "ISR, LEO, HW"); a node is drawn as leader when it says it leads.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::faults::FaultInterval;
use super::inputs::StateSample;
use super::plot_latency::shade_faults;
use super::plot_style::{
    plot_error, DOWN_COLOR, ISR_COLOR, LEADER_COLOR, OUT_OF_SYNC_COLOR, PLOT_WIDTH,
};
use super::ReportError;

/// At most this many partitions are drawn (one plot each).
pub const PARTITIONS_MAX: usize = 32;

/// A node's role for one partition in one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It says it leads the partition.
    Leader,
    /// It is in the leader's ISR.
    InSync,
    /// It holds a replica but is not in the leader's ISR.
    OutOfSync,
    /// It did not answer the sampler (Metadata over the Kafka protocol).
    Down,
}

/// A run of identical roles: `(node row, start s, end s, role)`.
pub type Segment = (usize, f64, f64, Role);

/// One partition's timeline: node names (rows) and role segments.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionTimeline {
    /// `topic/partition`.
    pub name: String,
    /// Node names, one per row.
    pub nodes: Vec<String>,
    /// The segments, merged where a node's role did not change.
    pub segments: Vec<Segment>,
}

/// Builds every partition's timeline from the samples; `end` (s) closes the last sample.
pub fn timelines(samples: &[StateSample], end: f64) -> Vec<PartitionTimeline> {
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut partitions: BTreeSet<(String, i32)> = BTreeSet::new();
    for s in samples {
        for n in &s.nodes {
            nodes.insert(n.node.clone());
            for p in n.state.iter().flat_map(|st| &st.partitions) {
                partitions.insert((p.topic.clone(), p.partition));
            }
        }
    }
    let names: Vec<String> = nodes.into_iter().collect();
    let mut out = Vec::new();
    for (topic, partition) in partitions.into_iter().take(PARTITIONS_MAX) {
        let mut segments: Vec<Segment> = Vec::new();
        let mut open: Vec<Option<(f64, Role)>> = vec![None; names.len()];
        for (i, s) in samples.iter().enumerate() {
            let t = s.time as f64 / 1e9;
            let roles = roles_at(s, &topic, partition, &names);
            for (row, role) in roles.iter().enumerate() {
                let current = open[row];
                if current.map(|c| c.1) != *role {
                    if let Some((start, r)) = current {
                        segments.push((row, start, t, r));
                    }
                    open[row] = role.map(|r| (t, r));
                }
            }
            if i + 1 == samples.len() {
                let last = end.max(t);
                for (row, o) in open.iter_mut().enumerate() {
                    if let Some((start, r)) = o.take() {
                        segments.push((row, start, last, r));
                    }
                }
            }
        }
        out.push(PartitionTimeline {
            name: format!("{topic}/{partition}"),
            nodes: names.clone(),
            segments,
        });
    }
    out
}

/// Each node's role for one partition in one sample (`None`: holds no replica).
fn roles_at(s: &StateSample, topic: &str, partition: i32, names: &[String]) -> Vec<Option<Role>> {
    let find = |node: &str| s.nodes.iter().find(|n| n.node == node);
    let view = |n: &super::inputs::NodeSample| {
        n.state.as_ref().and_then(|st| {
            st.partitions
                .iter()
                .find(|p| p.topic == topic && p.partition == partition)
                .cloned()
        })
    };
    // The ISR as the self-declared leader(s) report it.
    let mut isr: BTreeSet<i32> = BTreeSet::new();
    for n in &s.nodes {
        if let (Some(id), Some(p)) = (n.node_id, view(n)) {
            if p.leader == Some(id) {
                isr.extend(p.isr.iter().copied());
            }
        }
    }
    names
        .iter()
        .map(|name| {
            let n = find(name)?;
            if !n.ok {
                return Some(Role::Down);
            }
            let p = view(n)?;
            let id = n.node_id;
            // Metadata lists every partition on every broker: a node that is not one of
            // the partition's replicas gets no row segment for it.
            if !p.replicas.is_empty() && id.is_some_and(|i| !p.replicas.contains(&i)) {
                return None;
            }
            Some(if id.is_some() && p.leader == id {
                Role::Leader
            } else if id.is_some_and(|i| isr.contains(&i)) {
                Role::InSync
            } else {
                Role::OutOfSync
            })
        })
        .collect()
}

/// Draws one partition's timeline with the faults shaded.
pub fn cluster_svg(
    timeline: &PartitionTimeline,
    faults: &[FaultInterval],
    end: f64,
) -> Result<String, ReportError> {
    let caption = format!("partition {}: leader and ISR per node", timeline.name);
    cluster_svg_between(timeline, faults, (0.0, end), &caption)
}

/// Draws one partition's timeline from `span.0` to `span.1` seconds (an incident's
/// zoomed view), segments and faults cut to that span.
pub fn cluster_svg_between(
    timeline: &PartitionTimeline,
    faults: &[FaultInterval],
    span: (f64, f64),
    caption: &str,
) -> Result<String, ReportError> {
    let (from, end) = (span.0, span.1.max(span.0 + 1e-3));
    let segments: Vec<Segment> = timeline
        .segments
        .iter()
        .filter(|(_, a, b, _)| *b > from && *a < end)
        .map(|&(row, a, b, role)| (row, a.max(from), b.min(end), role))
        .collect();
    let (from_ns, end_ns) = ((from * 1e9) as u64, (end * 1e9) as u64);
    let faults: Vec<FaultInterval> = faults
        .iter()
        .filter(|f| f.end > from_ns && f.start < end_ns)
        .map(|f| FaultInterval {
            start: f.start.max(from_ns),
            end: f.end.min(end_ns),
            ..f.clone()
        })
        .collect();
    let err = plot_error("cluster");
    let rows = timeline.nodes.len().max(1) as f64;
    let height = 90 + 30 * timeline.nodes.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (PLOT_WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(10)
            .build_cartesian_2d(from..end, 0f64..rows)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time since start (s)")
            .draw()
            .map_err(&err)?;
        shade_faults(&mut chart, &faults, 0.0, rows).map_err(&err)?;
        chart
            .draw_series(segments.iter().map(|&(row, a, b, role)| {
                let color = match role {
                    Role::Leader => LEADER_COLOR,
                    Role::InSync => ISR_COLOR,
                    Role::OutOfSync => OUT_OF_SYNC_COLOR,
                    Role::Down => DOWN_COLOR,
                };
                let y = row as f64;
                Rectangle::new([(a, y + 0.15), (b, y + 0.85)], color.filled())
            }))
            .map_err(&err)?;
        // Node names inside the plot, at the left of each row.
        chart
            .draw_series(timeline.nodes.iter().enumerate().map(|(row, name)| {
                Text::new(
                    name.clone(),
                    (from, row as f64 + 0.5),
                    ("sans-serif", 12).into_font().color(&BLACK),
                )
            }))
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time: u64, json: &str) -> StateSample {
        serde_json::from_str(&format!("{{\"time\":{time},\"nodes\":{json}}}")).unwrap()
    }

    // Goal: a leader change and a node going down show as role segments, merged over samples.
    #[test]
    fn leader_change_and_down_node_become_segments() {
        let p = |leader: i32, isr: &str| {
            format!(
                "{{\"partition\":0,\"topic\":\"t\",\"leader\":{leader},\"isr\":{isr},\"replicas\":[1,2]}}"
            )
        };
        let both = |leader: i32, isr: &str| {
            format!(
                "[{{\"node\":\"n1\",\"node_id\":1,\"ok\":true,\"state\":{{\"partitions\":[{}]}}}},{{\"node\":\"n2\",\"node_id\":2,\"ok\":true,\"state\":{{\"partitions\":[{}]}}}}]",
                p(leader, isr),
                p(leader, isr)
            )
        };
        let samples = vec![
            sample(0, &both(1, "[1,2]")),
            sample(1_000_000_000, &both(1, "[1,2]")),
            sample(
                2_000_000_000,
                &format!(
                    "[{{\"node\":\"n1\",\"node_id\":1,\"ok\":false,\"error\":\"down\"}},{{\"node\":\"n2\",\"node_id\":2,\"ok\":true,\"state\":{{\"partitions\":[{}]}}}}]",
                    p(2, "[2]")
                ),
            ),
        ];
        let t = timelines(&samples, 3.0);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "t/0");
        let seg = &t[0].segments;
        assert!(seg.contains(&(0, 0.0, 2.0, Role::Leader)), "{seg:?}");
        assert!(seg.contains(&(1, 0.0, 2.0, Role::InSync)), "{seg:?}");
        assert!(seg.contains(&(0, 2.0, 3.0, Role::Down)), "{seg:?}");
        assert!(seg.contains(&(1, 2.0, 3.0, Role::Leader)), "{seg:?}");
        assert!(!cluster_svg(&t[0], &[], 3.0).unwrap().is_empty());
        let fault = FaultInterval {
            start: 0,
            end: 3_000_000_000,
            label: "kill n1".into(),
            kind: "kill".into(),
            closed: true,
        };
        let zoomed = cluster_svg_between(&t[0], &[fault], (1.5, 2.5), "zoomed").unwrap();
        assert!(
            zoomed.contains("zoomed") && zoomed.contains("kill n1"),
            "{zoomed}"
        );
    }

    // Goal: a broker that is not a replica of the partition (Metadata still lists it)
    // gets no row segment (method: n3 answers with replicas [1,2]).
    #[test]
    fn non_replicas_get_no_segment() {
        let p = "{\"partition\":0,\"topic\":\"t\",\"leader\":1,\"isr\":[1,2],\"replicas\":[1,2]}";
        let nodes: Vec<String> = (1..=3)
            .map(|i| format!("{{\"node\":\"n{i}\",\"node_id\":{i},\"ok\":true,\"state\":{{\"partitions\":[{p}]}}}}"))
            .collect();
        let samples = vec![sample(0, &format!("[{}]", nodes.join(",")))];
        let t = timelines(&samples, 1.0);
        let rows: BTreeSet<usize> = t[0].segments.iter().map(|s| s.0).collect();
        assert_eq!(rows, BTreeSet::from([0, 1]), "{:?}", t[0].segments);
    }
}
