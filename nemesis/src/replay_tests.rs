use serde_json::json;

use super::*;
use crate::schedule::FaultKind;

fn event(ms: u64, f: NemesisFunction, value: serde_json::Value) -> RecordedEvent {
    RecordedEvent {
        time_nanos: ms * 1_000_000 + 123,
        f,
        value,
    }
}

/// Each fault of a timeline with its window.
fn windows_of(timeline: &FaultTimeline) -> Vec<(u64, u64, &Fault)> {
    timeline
        .faults
        .iter()
        .map(|f| (f.start_ms, f.stop_ms, &f.fault))
        .collect()
}

fn known() -> Vec<String> {
    ["n1", "n2", "n3", "clients"].map(String::from).to_vec()
}

fn grudge(pairs: &[(&str, &str)]) -> Grudge {
    let mut g = Grudge::new();
    for (node, from) in pairs {
        g.drop_from(node, from);
    }
    g
}

// Goal: starts pair with the next heal of their layer, layers interleave, a not-applied
// line adds nothing, and a fault healed only by the final heal ends there (method: a
// history's nemesis lines with a partition holding a kill inside it).
#[test]
fn events_pair_into_windows_per_layer() {
    let cut = json!({"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]});
    let events = [
        event(1_500, NemesisFunction::StartPartition, cut.clone()),
        event(4_000, NemesisFunction::Kill, json!(["n2"])),
        event(6_000, NemesisFunction::Start, json!(["n2"])),
        event(9_000, NemesisFunction::StopPartition, cut.clone()),
        event(
            10_000,
            NemesisFunction::NotApplied,
            json!({"fault": "kill:isr", "reason": "not applied: x"}),
        ),
        event(11_000, NemesisFunction::Pause, json!(["n3"])),
        event(70_000, NemesisFunction::Resume, json!(["n3"])),
    ];
    let timeline = FaultTimeline::from_events(&events, Some("run".into())).unwrap();
    let windows = windows_of(&timeline);
    let partition = Fault::Partition(serde_json::from_value(cut).unwrap());
    assert_eq!(
        windows,
        vec![
            (1_500, 9_000, &partition),
            (4_000, 6_000, &Fault::Kill(vec!["n2".into()])),
            (11_000, 70_000, &Fault::Pause(vec!["n3".into()])),
        ]
    );
    assert_eq!(timeline.source.as_deref(), Some("run"));
}

// Goal: a fault with no heal line lasts until the history's last nemesis line, and a
// second start of a layer closes the first (method: an interrupted run's lines).
#[test]
fn unhealed_faults_end_at_the_last_line_or_the_next_start() {
    let events = [
        event(1_000, NemesisFunction::Kill, json!(["n1"])),
        event(3_000, NemesisFunction::Pause, json!(["n2"])),
        event(
            5_000,
            NemesisFunction::StartPartition,
            json!({"n1": ["n2"]}),
        ),
    ];
    let timeline = FaultTimeline::from_events(&events, None).unwrap();
    let windows: Vec<(u64, u64)> = timeline
        .faults
        .iter()
        .map(|f| (f.start_ms, f.stop_ms))
        .collect();
    assert_eq!(
        windows,
        vec![(1_000, 3_000), (3_000, 5_000), (5_000, 5_001)]
    );
}

// Goal: a nemesis line whose value does not fit its function is an error naming the line
// (method: a kill whose value is a grudge).
#[test]
fn a_malformed_event_is_named() {
    let events = [event(2_000, NemesisFunction::Kill, json!({"n1": ["n2"]}))];
    let err = FaultTimeline::from_events(&events, None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("2000000123 ns"), "{text}");
    assert!(text.contains("not a list of nodes"), "{text}");
}

// Goal: the file round-trips through its JSON text, and the plan replays each fault at
// its offsets with its targets fixed, cutting at the time limit and leaving out what
// starts after it, with a note for each (method: a three-fault timeline, a 10 s limit).
#[test]
fn file_round_trips_and_plans_fixed_faults() {
    let timeline = FaultTimeline {
        format: TIMELINE_FORMAT.into(),
        source: None,
        faults: vec![
            TimedFault {
                start_ms: 1_000,
                stop_ms: 4_000,
                fault: Fault::Partition(grudge(&[("n1", "n2"), ("n2", "n1")])),
            },
            TimedFault {
                start_ms: 8_000,
                stop_ms: 12_000,
                fault: Fault::Kill(vec!["n3".into()]),
            },
            TimedFault {
                start_ms: 10_000,
                stop_ms: 11_000,
                fault: Fault::Partition(grudge(&[("clients", "n1")])),
            },
        ],
    };
    let text = serde_json::to_string_pretty(&timeline).unwrap();
    assert!(text.contains(r#""kind": "partition""#), "{text}");
    let back = FaultTimeline::parse(&text, "t.json", Some(&known())).unwrap();
    assert_eq!(back, timeline);

    let (plan, notes) = back.plan(Duration::from_secs(10));
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0].spec, FaultSpec::Replayed(FaultKind::Partition));
    assert_eq!(plan[1].stop_at, Duration::from_secs(10));
    let live = crate::live::LiveView::default();
    assert_eq!(
        plan[1].resolve(&[], &live).unwrap(),
        Fault::Kill(vec!["n3".into()])
    );
    assert_eq!(plan[1].spec.to_string(), "kill:replayed");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("faults[1]") && notes[0].contains("healed at the end"));
    assert!(notes[1].contains("faults[2]") && notes[1].contains("left out"));
}

// Goal: a bad file is refused with the file, the fault's index and the problem: another
// format, a window that ends before it starts, an unknown node, overlapping faults of
// one layer, malformed JSON (method: one broken file per problem).
#[test]
fn bad_files_are_refused_by_name() {
    let cases = [
        (
            json!({"format": "samsa-history/1", "faults": []}),
            "format \"samsa-history/1\"",
        ),
        (
            json!({"format": TIMELINE_FORMAT, "faults": [
                {"start_ms": 5, "stop_ms": 5, "fault": {"kind": "kill", "value": ["n1"]}}]}),
            "faults[0]: stop_ms 5 is not after start_ms 5",
        ),
        (
            json!({"format": TIMELINE_FORMAT, "faults": [
                {"start_ms": 5, "stop_ms": 9, "fault": {"kind": "pause", "value": ["n7"]}}]}),
            "faults[0]: node \"n7\" is not in this cluster",
        ),
        (
            json!({"format": TIMELINE_FORMAT, "faults": [
                {"start_ms": 5, "stop_ms": 9, "fault": {"kind": "pause", "value": []}}]}),
            "faults[0]: the fault has no targets",
        ),
        (
            json!({"format": TIMELINE_FORMAT, "faults": [
                {"start_ms": 5, "stop_ms": 9, "fault": {"kind": "kill", "value": ["n1"]}},
                {"start_ms": 8, "stop_ms": 12, "fault": {"kind": "pause", "value": ["n2"]}}]}),
            "faults[1]: starts at 8 ms while the previous Process fault lasts until 9 ms",
        ),
        (
            json!({"format": TIMELINE_FORMAT, "faults": [
                {"start_ms": 5, "stop_ms": 9, "fault": {"kind": "crash", "value": ["n1"]}}]}),
            "t.json: not a fault timeline",
        ),
    ];
    for (file, expected) in cases {
        let err = FaultTimeline::parse(&file.to_string(), "t.json", Some(&known())).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("t.json: "), "{text}");
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    let err = FaultTimeline::parse("{", "t.json", None).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

// Goal: a packet loss replays as recorded, nodes and probability, healed by its own stop
// line or by the final heal's; the file form round-trips; a start without the
// probability is refused by name (method: two loss windows around a kill).
#[test]
fn packet_loss_windows_replay_with_their_probability() {
    let loss = json!({"nodes": ["n2"], "probability": 0.35});
    let events = [
        event(1_000, NemesisFunction::StartPacketLoss, loss.clone()),
        event(2_000, NemesisFunction::Kill, json!(["n1"])),
        event(3_000, NemesisFunction::Start, json!(["n1"])),
        event(8_000, NemesisFunction::StopPacketLoss, loss.clone()),
        event(12_000, NemesisFunction::StartPacketLoss, loss.clone()),
        event(
            61_000,
            NemesisFunction::StopPacketLoss,
            json!({"nodes": ["n2"]}),
        ),
    ];
    let timeline = FaultTimeline::from_events(&events, None).unwrap();
    let lossy = Fault::PacketLoss(serde_json::from_value(loss).unwrap());
    let windows = windows_of(&timeline);
    assert_eq!(
        windows,
        vec![
            (1_000, 8_000, &lossy),
            (2_000, 3_000, &Fault::Kill(vec!["n1".into()])),
            (12_000, 61_000, &lossy),
        ]
    );
    let text = serde_json::to_string_pretty(&timeline).unwrap();
    assert!(text.contains("\"kind\": \"packet-loss\""), "{text}");
    let known = known();
    let back = FaultTimeline::parse(&text, "t.json", Some(&known)).unwrap();
    assert_eq!(back, timeline);
    assert_eq!(back.faults[0].fault.kind(), FaultKind::PacketLoss);

    let no_p = [event(
        1_000,
        NemesisFunction::StartPacketLoss,
        json!({"nodes": ["n2"]}),
    )];
    let err = FaultTimeline::from_events(&no_p, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a packet loss"), "{err}");
}

// Goal: a rolling restart replays as one process-layer fault with its nodes in roll order,
// from its start line to its stop line, its per-node steps adding nothing, and a kill may
// follow it (method: a roll's lines, then a kill).
#[test]
fn a_rolling_restart_replays_in_its_order() {
    let events = [
        event(
            1_000,
            NemesisFunction::StartRestart,
            json!({"nodes": ["n3", "n1"]}),
        ),
        event(2_000, NemesisFunction::NodeStopped, json!(["n3"])),
        event(2_500, NemesisFunction::NodeStarted, json!(["n3"])),
        event(4_000, NemesisFunction::NodeInSync, json!(["n3"])),
        event(5_000, NemesisFunction::NodeStopped, json!(["n1"])),
        event(5_500, NemesisFunction::NodeStarted, json!(["n1"])),
        event(7_000, NemesisFunction::NodeInSync, json!(["n1"])),
        event(
            7_001,
            NemesisFunction::StopRestart,
            json!({"nodes": ["n3", "n1"]}),
        ),
        event(9_000, NemesisFunction::Kill, json!(["n2"])),
        event(10_000, NemesisFunction::Start, json!(["n2"])),
    ];
    let timeline = FaultTimeline::from_events(&events, None).unwrap();
    let windows = windows_of(&timeline);
    assert_eq!(
        windows,
        vec![
            (
                1_000,
                7_001,
                &Fault::Restart(vec!["n3".into(), "n1".into()])
            ),
            (9_000, 10_000, &Fault::Kill(vec!["n2".into()])),
        ]
    );
    let known = known();
    let text = serde_json::to_string(&timeline).unwrap();
    assert_eq!(
        FaultTimeline::parse(&text, "t.json", Some(&known)).unwrap(),
        timeline
    );
    let aborted =
        json!({"nodes": ["n3"], "aborted": "the ISR was not full 30 s after n3 restarted"});
    assert!(serde_json::from_value::<RollingRestart>(aborted).is_ok());
}
