//! The grouping rule of incidents, on bare spans (key, offset range, time window), so it
//! can be stated and tested apart from findings and histories.
//!
//! 1. **Placing findings** (a key and an offset): per key, in order of their lowest
//!    offset, a span joins an incident when its offsets touch or overlap the incident's
//!    (a gap of at most [`OFFSET_GAP_MAX`]) and its time window overlaps the incident's,
//!    allowing [`TIME_SLACK_NS`] between them. A span that joins several incidents merges
//!    them, and incidents that touch after their windows grew are merged again until none
//!    do: the rule is transitive. An incident's offset range and window are the union of
//!    its placing spans.
//! 2. **Findings without an offset** (`nonlinearizable`, `nonmonotonic-send` by value
//!    only, ...) say nothing about where in the log they are, so they never bridge two
//!    incidents: each joins the first incident of its key (by start) whose window it
//!    overlaps within the slack, without widening it. Those that join none form incidents
//!    of their own, merged by overlapping time on their key.
//! 3. **Findings without a key** join the first incident of any key whose window they
//!    overlap; the rest are grouped by time alone.

use std::collections::BTreeMap;

use checker::history::model::{Nanos, Offset};

/// Offsets at most this far apart touch (1: consecutive offsets, as 850 and 851).
pub const OFFSET_GAP_MAX: Offset = 1;

/// Two time windows this close still overlap: one second, about the time a client needs to
/// notice a fault (a request timeout), so findings of one event split by a quiet moment
/// stay together, while events of two fault windows (2 s quiet between them) do not.
pub const TIME_SLACK_NS: Nanos = 1_000_000_000;

/// One finding as the grouping sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The key it concerns, if any.
    pub key: Option<String>,
    /// Its offset range `(lowest, highest)`, if it names offsets.
    pub offsets: Option<(Offset, Offset)>,
    /// When its witness operations ran: the first invoke.
    pub start: Nanos,
    /// ... and the last completion.
    pub end: Nanos,
}

/// One group: the spans that belong together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Indices into the spans given, ascending.
    pub members: Vec<usize>,
    /// The union of the placing spans' offsets.
    pub offsets: Option<(Offset, Offset)>,
    /// The union of the placing spans' windows.
    pub start: Nanos,
    /// See `start`.
    pub end: Nanos,
}

fn overlaps(a: (Nanos, Nanos), b: (Nanos, Nanos)) -> bool {
    a.0 <= b.1.saturating_add(TIME_SLACK_NS) && b.0 <= a.1.saturating_add(TIME_SLACK_NS)
}

/// Groups `spans` by the rule of this module; groups are sorted by start, then offset.
pub fn group(spans: &[Span]) -> Vec<Group> {
    let mut placed: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut loose: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut keyless: Vec<usize> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match (&s.key, s.offsets) {
            (Some(k), Some(_)) => placed.entry(k).or_default().push(i),
            (Some(k), None) => loose.entry(k).or_default().push(i),
            (None, _) => keyless.push(i),
        }
    }
    // (key, group) pairs; a key of `None` for groups of key-less spans.
    let mut out: Vec<(Option<&str>, Group)> = Vec::new();
    for (key, idx) in &placed {
        for g in place(spans, idx) {
            out.push((Some(key), g));
        }
    }
    for (key, idx) in &loose {
        let index = WindowIndex::new(&out, |k| k == Some(*key));
        let mut rest = Vec::new();
        for &i in idx {
            match index.earliest(&out, (spans[i].start, spans[i].end)) {
                Some(g) => out[g].1.members.push(i),
                None => rest.push(i),
            }
        }
        for g in by_time(spans, &rest) {
            out.push((Some(key), g));
        }
    }
    let index = WindowIndex::new(&out, |_| true);
    let mut rest = Vec::new();
    for i in keyless {
        match index.earliest(&out, (spans[i].start, spans[i].end)) {
            Some(g) => out[g].1.members.push(i),
            None => rest.push(i),
        }
    }
    for g in by_time(spans, &rest) {
        out.push((None, g));
    }
    let mut groups: Vec<Group> = out.into_iter().map(|(_, g)| g).collect();
    for g in &mut groups {
        g.members.sort_unstable();
    }
    groups.sort_by_key(|g| (g.start, g.offsets, g.members.first().copied()));
    groups
}

/// Some groups sorted by start, with the running maximum of their ends: the earliest
/// group a window overlaps is the first whose running maximum reaches the window (no
/// earlier group ends late enough), if it starts early enough. Attaching a span does not
/// widen a group, so the index stays valid while spans attach, and a storm of findings
/// without offsets costs a binary search each.
struct WindowIndex {
    order: Vec<usize>,
    max_end: Vec<Nanos>,
}

impl WindowIndex {
    fn new(out: &[(Option<&str>, Group)], keep: impl Fn(Option<&str>) -> bool) -> WindowIndex {
        let mut order: Vec<usize> = (0..out.len()).filter(|&g| keep(out[g].0)).collect();
        order.sort_by_key(|&g| out[g].1.start);
        let mut max_end = Vec::with_capacity(order.len());
        let mut top = 0;
        for &g in &order {
            top = top.max(out[g].1.end);
            max_end.push(top);
        }
        WindowIndex { order, max_end }
    }

    /// The earliest-starting group overlapping `w` (within the slack).
    fn earliest(&self, out: &[(Option<&str>, Group)], w: (Nanos, Nanos)) -> Option<usize> {
        let at = self
            .max_end
            .partition_point(|&e| e.saturating_add(TIME_SLACK_NS) < w.0);
        let g = *self.order.get(at)?;
        let group = &out[g].1;
        overlaps((group.start, group.end), w).then_some(g)
    }
}

/// Step 1 for one key: a sweep in offset order keeping the groups a later span may still
/// touch (those whose highest offset is within the gap of the sweep's position).
fn place(spans: &[Span], idx: &[usize]) -> Vec<Group> {
    let range = |i: usize| spans[i].offsets.unwrap_or((0, 0));
    let mut order: Vec<usize> = idx.to_vec();
    order.sort_by_key(|&i| (range(i).0, spans[i].start));
    let mut groups: Vec<Option<Group>> = Vec::new();
    let mut active: Vec<usize> = Vec::new();
    for i in order {
        let (lo, hi) = range(i);
        let w = (spans[i].start, spans[i].end);
        active.retain(|&g| {
            groups[g]
                .as_ref()
                .and_then(|g| g.offsets)
                .is_some_and(|(_, ghi)| ghi.saturating_add(OFFSET_GAP_MAX) >= lo)
        });
        let joined: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&g| {
                groups[g]
                    .as_ref()
                    .is_some_and(|g| overlaps((g.start, g.end), w))
            })
            .collect();
        let Some((&first, others)) = joined.split_first() else {
            active.push(groups.len());
            groups.push(Some(Group {
                members: vec![i],
                offsets: Some((lo, hi)),
                start: w.0,
                end: w.1,
            }));
            continue;
        };
        let mut merged = groups[first].take().unwrap_or_else(|| Group {
            members: Vec::new(),
            offsets: Some((lo, hi)),
            start: w.0,
            end: w.1,
        });
        for &o in others {
            if let Some(g) = groups[o].take() {
                absorb(&mut merged, &g);
            }
        }
        absorb(
            &mut merged,
            &Group {
                members: vec![i],
                offsets: Some((lo, hi)),
                start: w.0,
                end: w.1,
            },
        );
        groups[first] = Some(merged);
        active.retain(|g| !others.contains(g));
    }
    let mut out: Vec<Group> = groups.into_iter().flatten().collect();
    if out.len() <= FIXPOINT_GROUPS_MAX {
        merge_touching(&mut out);
    }
    out
}

/// Beyond this many incidents on one key the second pass of [`place`] is skipped: it is
/// quadratic, and so many incidents are a storm no grouping makes readable.
pub const FIXPOINT_GROUPS_MAX: usize = 2_000;

fn touch(a: &Group, b: &Group) -> bool {
    let offsets = match (a.offsets, b.offsets) {
        (Some(x), Some(y)) => {
            x.0 <= y.1.saturating_add(OFFSET_GAP_MAX) && y.0 <= x.1.saturating_add(OFFSET_GAP_MAX)
        }
        _ => false,
    };
    offsets && overlaps((a.start, a.end), (b.start, b.end))
}

/// The sweep places a span by the windows its neighbours had when it was reached; a
/// window that grew later may now overlap an incident placed earlier. Merging touching
/// incidents until none touch makes the rule transitive.
fn merge_touching(groups: &mut Vec<Group>) {
    loop {
        let mut merged = false;
        let mut i = 0;
        while i < groups.len() {
            let mut j = i + 1;
            while j < groups.len() {
                if touch(&groups[i], &groups[j]) {
                    let g = groups.swap_remove(j);
                    absorb(&mut groups[i], &g);
                    merged = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
        if !merged {
            return;
        }
    }
}

fn absorb(into: &mut Group, g: &Group) {
    into.members.extend_from_slice(&g.members);
    into.offsets = match (into.offsets, g.offsets) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    };
    into.start = into.start.min(g.start);
    into.end = into.end.max(g.end);
}

/// Spans merged by overlapping time alone (steps 2 and 3, for those that joined nothing).
fn by_time(spans: &[Span], idx: &[usize]) -> Vec<Group> {
    let mut order = idx.to_vec();
    order.sort_by_key(|&i| spans[i].start);
    let mut out: Vec<Group> = Vec::new();
    for i in order {
        let w = (spans[i].start, spans[i].end);
        match out.last_mut() {
            Some(g) if overlaps((g.start, g.end), w) => {
                g.members.push(i);
                g.end = g.end.max(w.1);
            }
            _ => out.push(Group {
                members: vec![i],
                offsets: None,
                start: w.0,
                end: w.1,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    fn span(key: Option<&str>, offsets: Option<(i64, i64)>, start_s: u64, end_s: u64) -> Span {
        Span {
            key: key.map(str::to_owned),
            offsets,
            start: start_s * S,
            end: end_s * S,
        }
    }

    fn members(groups: &[Group]) -> Vec<Vec<usize>> {
        groups.iter().map(|g| g.members.clone()).collect()
    }

    // Goal: consecutive offsets at overlapping times form one incident, transitively, and
    // its range and window are the union. Method: a chain 10, 11, 12 in one window.
    #[test]
    fn touching_offsets_in_one_window_chain_into_one() {
        let spans = vec![
            span(Some("0"), Some((12, 12)), 5, 6),
            span(Some("0"), Some((10, 10)), 3, 4),
            span(Some("0"), Some((11, 11)), 4, 5),
        ];
        let g = group(&spans);
        assert_eq!(members(&g), vec![vec![0, 1, 2]]);
        assert_eq!(
            (g[0].offsets, g[0].start, g[0].end),
            (Some((10, 12)), 3 * S, 6 * S)
        );
    }

    // Goal: each condition alone does not group. Method: a gap of two offsets at one
    // time; touching offsets 10 s apart; the same offsets on another key.
    #[test]
    fn a_gap_another_time_or_another_key_separates() {
        let spans = vec![
            span(Some("0"), Some((10, 10)), 3, 4),
            span(Some("0"), Some((12, 12)), 3, 4),
            span(Some("0"), Some((11, 11)), 20, 21),
            span(Some("1"), Some((10, 10)), 3, 4),
        ];
        assert_eq!(group(&spans).len(), 4);
    }

    // Goal: the slack is one second and no more. Method: windows 0.9 s and 1.1 s apart.
    #[test]
    fn windows_within_the_slack_overlap() {
        let near = vec![
            Span {
                key: Some("0".into()),
                offsets: Some((1, 1)),
                start: 0,
                end: S,
            },
            Span {
                key: Some("0".into()),
                offsets: Some((2, 2)),
                start: S + 900_000_000,
                end: 3 * S,
            },
        ];
        assert_eq!(group(&near).len(), 1);
        let mut far = near.clone();
        far[1].start = 2 * S + 100_000_000;
        assert_eq!(group(&far).len(), 2);
    }

    // Goal: a span touching two incidents merges them. Method: offsets 1-3 and 5-6
    // apart, then a span 3-5 overlapping both in time.
    #[test]
    fn a_bridging_span_merges_two_incidents() {
        let spans = vec![
            span(Some("0"), Some((1, 3)), 0, 2),
            span(Some("0"), Some((5, 6)), 0, 2),
            span(Some("0"), Some((3, 5)), 1, 2),
        ];
        let g = group(&spans);
        assert_eq!(members(&g), vec![vec![0, 1, 2]]);
        assert_eq!(g[0].offsets, Some((1, 6)));
    }

    // Goal: grouping is transitive also when a window grows after a span was placed.
    // Method: offset 1 at 10 s is placed when offsets 1-2's incident spans only 0-1 s;
    // offset 3 at 0-12 s, too far from offset 1 to join it, then widens that incident to
    // overlap it.
    #[test]
    fn an_incident_widened_later_absorbs_an_earlier_neighbour() {
        let spans = vec![
            span(Some("0"), Some((1, 2)), 0, 1),
            span(Some("0"), Some((1, 1)), 10, 11),
            span(Some("0"), Some((3, 3)), 0, 12),
        ];
        let g = group(&spans);
        assert_eq!(members(&g), vec![vec![0, 1, 2]]);
    }

    // Goal: an offset-less finding finds the earliest incident it overlaps among many,
    // and none between them. Method: incidents at 0-1 s, 5-6 s, 10-11 s; offset-less
    // spans at 9.5-10 s (joins the third) and 3-3.5 s (joins none).
    #[test]
    fn offsetless_findings_find_their_incident_among_many() {
        let spans = vec![
            span(Some("0"), Some((1, 1)), 0, 1),
            span(Some("0"), Some((100, 100)), 5, 6),
            span(Some("0"), Some((200, 200)), 10, 11),
            Span {
                key: Some("0".into()),
                offsets: None,
                start: 9 * S + S / 2,
                end: 10 * S,
            },
            Span {
                key: Some("0".into()),
                offsets: None,
                start: 3 * S,
                end: 3 * S + S / 2,
            },
        ];
        let g = group(&spans);
        assert_eq!(members(&g), vec![vec![0], vec![4], vec![1], vec![2, 3]]);
    }

    // Goal: offset-less and key-less findings join an incident they overlap in time
    // without widening it, and never bridge two; alone, they group by time. Method: two
    // incidents on key 0, an offset-less span overlapping both, a key-less span, and an
    // offset-less span at another time.
    #[test]
    fn offsetless_and_keyless_findings_attach_without_bridging() {
        let spans = vec![
            span(Some("0"), Some((1, 1)), 0, 2),
            span(Some("0"), Some((50, 50)), 1, 3),
            span(Some("0"), None, 0, 40),
            span(None, None, 2, 2),
            span(Some("0"), None, 30, 31),
            span(Some("0"), None, 31, 32),
        ];
        let g = group(&spans);
        assert_eq!(members(&g), vec![vec![0, 2, 3], vec![1], vec![4, 5]]);
        assert_eq!((g[0].start, g[0].end), (0, 2 * S), "not widened");
        assert_eq!(g[2].offsets, None);
        assert!(group(&[]).is_empty());
    }
}
