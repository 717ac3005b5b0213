//! The recorder and the checker's reader agree on every kind of history line, without
//! Docker: what the harness writes during a run is exactly what `samsa check` reads.

use checker::history::line::{
    AssignValue, HeaderLine, Line, LineFunction, LineType, LineValue, Mop, Process,
};
use checker::history::model::{Function, Guarantees};
use checker::history::{read_path, unpair, HISTORY_FILE};
use harness::recorder::{Extra, Recorder};
use serde_json::json;

/// Records `lines` (process, type, f, value, extra) with a real recorder into `dir`;
/// returns the lines as the recorder wrote them.
fn record(
    dir: &std::path::Path,
    header: &HeaderLine,
    lines: Vec<(Process, LineType, LineFunction, LineValue, Extra)>,
) -> Vec<Line> {
    let recorder = Recorder::create(&dir.join(HISTORY_FILE), header).expect("create");
    lines
        .into_iter()
        .map(|(process, kind, f, value, extra)| {
            recorder
                .record_line(process, kind, f, value, &extra)
                .expect("record")
        })
        .collect()
}

fn extra(error: Option<&str>, producer: Option<u64>, is_final: bool) -> Extra {
    Extra {
        error: error.map(str::to_owned),
        producer,
        is_final,
    }
}

// Goal: every operation kind (send ok with and without an offset, fail, info; poll ok and
// fail; assign, subscribe and a final read's assign with its log ends; txn; crash) and
// nemesis and harness lines survive recorder -> file -> checker reader unchanged. Method:
// record them, read the file with `checker::history::read_path`, turn the paired history
// back into lines and compare with what the recorder wrote (the wall clock, which the
// reader does not keep, aside); also parse each file line as a typed `Line`.
#[test]
fn every_line_kind_survives_the_recorder_and_the_reader() {
    use Function::{Assign, Crash, Poll, Send, Subscribe, Txn};
    use LineType::{Fail, Info, Invoke, Ok};
    let dir = tempfile::tempdir().unwrap();
    let header = HeaderLine::new(
        Some("round-trip".into()),
        Guarantees {
            no_duplicates: false,
            ..Guarantees::default()
        },
    );
    let none = || Extra::default();
    let c = |p: u64| Process::Client(p);
    let f = LineFunction::Client;
    let event = |name: &str| LineFunction::Event(name.to_owned());
    let final_assign = LineValue::Assignment(AssignValue {
        keys: vec!["1".into()],
        seek_to_beginning: true,
        end_offsets: Some([("1".to_owned(), 2)].into()),
    });
    let txn_invoke = LineValue::Mops(vec![
        Mop::Send {
            key: "0".into(),
            value: 5,
        },
        Mop::Send {
            key: "1".into(),
            value: 6,
        },
        Mop::Poll,
    ]);
    let txn_ok = LineValue::Mops(vec![
        Mop::Sent {
            key: "0".into(),
            offset: Some(2),
            value: 5,
        },
        Mop::Sent {
            key: "1".into(),
            offset: Some(1),
            value: 6,
        },
        Mop::Polled {
            reads: vec![("0".into(), vec![(1, 2), (2, 5)])],
        },
    ]);
    let lines = vec![
        (c(0), Invoke, f(Send), LineValue::send("0", 1), none()),
        (c(1), Invoke, f(Send), LineValue::send("1", 2), none()),
        (
            c(0),
            Ok,
            f(Send),
            LineValue::sent("0", Some(0), 1),
            extra(None, Some(7), false),
        ),
        (
            c(1),
            Ok,
            f(Send),
            LineValue::sent("1", None, 2),
            extra(None, Some(8), false),
        ),
        (
            Process::Nemesis,
            Info,
            event("start-partition"),
            LineValue::Other(json!({"n1": ["n2", "n3"]})),
            none(),
        ),
        (c(0), Invoke, f(Send), LineValue::send("0", 3), none()),
        (
            c(0),
            Fail,
            f(Send),
            LineValue::send("0", 3),
            extra(Some("not enough replicas"), Some(7), false),
        ),
        (c(0), Invoke, f(Send), LineValue::send("1", 4), none()),
        (
            c(0),
            Info,
            f(Send),
            LineValue::send("1", 4),
            extra(Some("timed out"), Some(7), false),
        ),
        (
            c(2),
            Invoke,
            f(Assign),
            LineValue::assign(vec!["0".into(), "1".into()], true),
            none(),
        ),
        (
            c(2),
            Ok,
            f(Assign),
            LineValue::assign(vec!["0".into(), "1".into()], true),
            none(),
        ),
        (c(2), Invoke, f(Poll), LineValue::poll(), none()),
        (
            c(2),
            Ok,
            f(Poll),
            LineValue::polled(vec![("1".into(), vec![(0, 2)]), ("0".into(), vec![(0, 1)])]),
            none(),
        ),
        (c(2), Invoke, f(Poll), LineValue::poll(), none()),
        (
            c(2),
            Fail,
            f(Poll),
            LineValue::poll(),
            extra(Some("broker down"), None, false),
        ),
        (
            c(2),
            Invoke,
            f(Subscribe),
            LineValue::assign(vec!["0".into()], false),
            none(),
        ),
        (
            c(2),
            Ok,
            f(Subscribe),
            LineValue::assign(vec!["0".into()], false),
            none(),
        ),
        (
            Process::Nemesis,
            Info,
            event("not-applied"),
            LineValue::null(),
            extra(Some("no leader to isolate"), None, false),
        ),
        (c(3), Invoke, f(Txn), txn_invoke, none()),
        (c(3), Ok, f(Txn), txn_ok, extra(None, Some(9), false)),
        (c(3), Invoke, f(Crash), LineValue::null(), none()),
        (
            c(3),
            Info,
            f(Crash),
            LineValue::null(),
            extra(Some("client re-created"), Some(9), false),
        ),
        (
            Process::Harness,
            Info,
            event("watchdog"),
            LineValue::Other(json!({"quiet_s": 15.0, "ok_so_far": 3})),
            extra(Some("no client operation completed ok"), None, false),
        ),
        (
            c(4),
            Invoke,
            f(Assign),
            final_assign.clone(),
            extra(None, None, true),
        ),
        (c(4), Ok, f(Assign), final_assign, extra(None, None, true)),
        (
            c(4),
            Invoke,
            f(Poll),
            LineValue::poll(),
            extra(None, None, true),
        ),
        (
            c(4),
            Ok,
            f(Poll),
            LineValue::polled(vec![("1".into(), vec![(0, 2), (1, 6)])]),
            extra(None, None, true),
        ),
    ];
    let asked = lines.clone();
    let written = record(dir.path(), &header, lines);
    assert_eq!(written.len(), asked.len());
    // The recorder wrote what it was asked, numbered in order, times never decreasing.
    for (i, (line, (process, kind, f, value, extra))) in written.iter().zip(&asked).enumerate() {
        assert_eq!(line.index, i as u64);
        assert!(i == 0 || line.time >= written[i - 1].time);
        assert!(line.wall.is_some(), "line {i} has its wall clock");
        let want = (
            process,
            kind,
            f,
            value,
            &extra.error,
            extra.producer,
            extra.is_final,
        );
        let got = (
            &line.process,
            &line.kind,
            &line.f,
            &line.value,
            &line.error,
            line.producer,
            line.is_final,
        );
        assert_eq!(got, want, "line {i}");
    }

    // Every line of the file is the typed line the recorder returned.
    let text = std::fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
    let mut file_lines = text.lines();
    let header_read: HeaderLine = serde_json::from_str(file_lines.next().unwrap()).unwrap();
    assert_eq!(header_read, header);
    let typed: Vec<Line> = file_lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(typed, written);

    // The checker's reader pairs them and loses nothing but the wall clock.
    let history = read_path(dir.path()).expect("the recorded history reads");
    assert_eq!(
        history.header.as_ref().map(HeaderLine::from),
        Some(header),
        "header"
    );
    assert_eq!(history.ops.len(), 12, "client operations");
    assert_eq!(history.nemesis.len(), 2);
    assert_eq!(history.harness_events.len(), 1);
    let expected: Vec<Line> = written
        .into_iter()
        .map(|l| Line { wall: None, ..l })
        .collect();
    let read_back: Vec<Line> = unpair::lines(&history).collect();
    for (got, want) in read_back.iter().zip(&expected) {
        assert_eq!(got, want, "line {}", want.index);
    }
    assert_eq!(read_back.len(), expected.len());
}
