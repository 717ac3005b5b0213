//! The reader against HISTORY.md: valid shapes pair up, and each kind of malformed input
//! is rejected with the right line, field and problem.

use checker::history::model::{Function, MicroOp, Outcome};
use checker::history::{read, HistoryError, LineProblem};

fn lines(ls: &[&str]) -> String {
    ls.join("\n") + "\n"
}

fn error_of(text: &str) -> (u64, Option<&'static str>, LineProblem) {
    match read(text.as_bytes()) {
        Err(HistoryError::Line {
            line,
            field,
            problem,
            ..
        }) => (line, field, problem),
        other => panic!("expected a line error, got {other:?}"),
    }
}

// Goal: the example of HISTORY.md reads as two paired ops. Method: read it and inspect.
#[test]
fn the_format_example_pairs_into_a_send_and_a_poll() {
    let text = lines(&[
        r#"{"format": "samsa-history/1", "test": "t", "guarantees": {"no_loss": true, "no_duplicates": false, "ordered": true, "linearizable": false}, "extra": 1}"#,
        r#"{"index": 0, "time": 1200, "process": 0, "type": "invoke", "f": "send", "value": [["send", "0", 17]]}"#,
        r#"{"index": 1, "time": 5400, "process": 0, "type": "ok", "f": "send", "value": [["send", "0", [42, 17]]], "producer": 3}"#,
        r#"{"index": 2, "time": 6000, "process": 1, "type": "invoke", "f": "poll", "value": [["poll"]]}"#,
        r#"{"index": 3, "time": 9100, "process": 1, "type": "ok", "f": "poll", "value": [["poll", {"0": [[41, 16], [42, 17]]}]]}"#,
        r#"{"index": 4, "time": 9200, "process": "nemesis", "type": "info", "f": "start-partition", "value": {"n1": ["n2"]}}"#,
        r#"{"index": 5, "time": 9300, "process": 2, "type": "invoke", "f": "assign", "value": {"keys": ["0"], "seek_to_beginning": true}}"#,
        "",
        "",
    ]);
    let h = read(text.as_bytes()).unwrap();
    let header = h.header.as_ref().unwrap();
    assert!(!h.guarantees().no_duplicates && h.guarantees().no_loss);
    assert_eq!(header.extra.get("extra"), Some(&serde_json::json!(1)));
    assert_eq!(h.ops.len(), 3);
    assert_eq!(h.line_count, 6);
    let send = &h.ops[0];
    assert_eq!(
        (send.f, send.outcome, send.producer),
        (Function::Send, Outcome::Ok, Some(3))
    );
    let k0 = h.keys.get("0").unwrap();
    assert_eq!(
        send.mops,
        vec![MicroOp::Send {
            key: k0,
            value: 17,
            offset: Some(42)
        }]
    );
    assert_eq!(send.witness(), vec![0, 1]);
    let MicroOp::Poll { reads } = &h.ops[1].mops[0] else {
        panic!("poll expected")
    };
    assert_eq!(reads[0].records, vec![(41, 16), (42, 17)]);
    // The assign was never completed: it counts as info.
    assert_eq!(h.ops[2].outcome, Outcome::Info);
    assert!(h.ops[2].assignment.as_ref().unwrap().seek_to_beginning);
    assert_eq!(h.nemesis.len(), 1);
}

// Goal: each malformed input names its line, field and problem.
#[test]
fn malformed_lines_are_named() {
    let inv0 = r#"{"index": 0, "time": 10, "process": 0, "type": "invoke", "f": "send", "value": [["send", "0", 1]]}"#;
    let (line, _, p) = error_of(&lines(&[inv0, "{not json"]));
    assert_eq!(line, 2);
    assert!(matches!(p, LineProblem::BadJson(_)));

    let (_, field, p) = error_of(
        r#"{"time": 1, "process": 0, "type": "invoke", "f": "poll", "value": [["poll"]]}"#,
    );
    assert_eq!((field, p), (Some("index"), LineProblem::MissingField));

    let (_, field, p) = error_of(
        r#"{"index": "0", "time": 1, "process": 0, "type": "invoke", "f": "poll", "value": [["poll"]]}"#,
    );
    assert_eq!(field, Some("index"));
    assert!(matches!(p, LineProblem::WrongType { .. }));

    let (_, field, p) = error_of(
        r#"{"index": 1, "time": 1, "process": 0, "type": "invoke", "f": "poll", "value": [["poll"]]}"#,
    );
    assert_eq!(
        (field, p),
        (
            Some("index"),
            LineProblem::IndexOutOfOrder {
                expected: 0,
                found: 1
            }
        )
    );

    let back = r#"{"index": 1, "time": 5, "process": 1, "type": "invoke", "f": "poll", "value": [["poll"]]}"#;
    let (line, field, p) = error_of(&lines(&[inv0, back]));
    assert_eq!(
        (line, field, p),
        (
            2,
            Some("time"),
            LineProblem::TimeBackwards {
                previous: 10,
                found: 5
            }
        )
    );

    let (_, _, p) = error_of(
        r#"{"index": 0, "time": 1, "process": 4, "type": "ok", "f": "poll", "value": [["poll", {}]]}"#,
    );
    assert_eq!(p, LineProblem::CompletionWithoutInvoke { process: 4 });

    let again = r#"{"index": 1, "time": 11, "process": 0, "type": "invoke", "f": "send", "value": [["send", "0", 2]]}"#;
    let (_, _, p) = error_of(&lines(&[inv0, again]));
    assert_eq!(
        p,
        LineProblem::SecondInvoke {
            process: 0,
            open_index: 0
        }
    );

    let info = r#"{"index": 1, "time": 11, "process": 0, "type": "info", "f": "send", "value": [["send", "0", 1]]}"#;
    let back_again = r#"{"index": 2, "time": 12, "process": 0, "type": "invoke", "f": "send", "value": [["send", "0", 2]]}"#;
    let (line, _, p) = error_of(&lines(&[inv0, info, back_again]));
    assert_eq!(
        (line, p),
        (
            3,
            LineProblem::AfterCrash {
                process: 0,
                info_index: 1
            }
        )
    );

    let (_, field, p) = error_of(
        r#"{"index": 0, "time": 1, "process": 0, "type": "start", "f": "poll", "value": [["poll"]]}"#,
    );
    assert_eq!(
        (field, p),
        (Some("type"), LineProblem::UnknownType("start".into()))
    );

    let (_, field, p) = error_of(
        r#"{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "read", "value": [["poll"]]}"#,
    );
    assert_eq!(
        (field, p),
        (Some("f"), LineProblem::UnknownFunction("read".into()))
    );

    let (_, field, p) = error_of(
        r#"{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "send", "value": [["send", 0, 1]]}"#,
    );
    assert_eq!(field, Some("value"));
    assert!(matches!(p, LineProblem::MalformedMicroOp(_)));

    let ok_bare = r#"{"index": 1, "time": 11, "process": 0, "type": "ok", "f": "send", "value": [["send", "0", 1]]}"#;
    let (_, _, p) = error_of(&lines(&[inv0, ok_bare]));
    assert!(matches!(p, LineProblem::MalformedMicroOp(_)));

    let ok_other = r#"{"index": 1, "time": 11, "process": 0, "type": "ok", "f": "send", "value": [["send", "0", [3, 9]]]}"#;
    let (_, _, p) = error_of(&lines(&[inv0, ok_other]));
    assert!(matches!(
        p,
        LineProblem::Mismatch {
            invoke_index: 0,
            ..
        }
    ));

    let late = r#"{"format": "samsa-history/1"}"#;
    let (_, _, p) = error_of(&lines(&[inv0, late]));
    assert_eq!(p, LineProblem::LateHeader);
}

// Goal: the message a user sees names the file, line, field and problem.
#[test]
fn error_message_names_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("samsa-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.jsonl");
    std::fs::write(&path, "{\"index\": 0, \"time\": -1}\n").unwrap();
    let msg = checker::history::read_path(&dir).unwrap_err().to_string();
    assert!(msg.contains("history.jsonl: line 1, field `time`"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Goal: a negative offset (Kafka offsets start at 0) is refused at parse time, naming the
// line and field, in an ack and in a poll record; offset 0 and a null ack are accepted.
// Method: one history per place, read through the real reader.
#[test]
fn negative_offsets_are_refused() {
    let inv0 = r#"{"index": 0, "time": 10, "process": 0, "type": "invoke", "f": "send", "value": [["send", "0", 1]]}"#;
    let ack = |o: &str| {
        format!(
            r#"{{"index": 1, "time": 20, "process": 0, "type": "ok", "f": "send", "value": [["send", "0", [{o}, 1]]]}}"#
        )
    };
    let (line, field, p) = error_of(&lines(&[inv0, &ack("-1")]));
    assert_eq!(
        (line, field, p),
        (
            2,
            Some("value"),
            LineProblem::NegativeOffset {
                key: "0".into(),
                offset: -1
            }
        )
    );
    for good in ["0", "null"] {
        assert!(checker::history::read(lines(&[inv0, &ack(good)]).as_bytes()).is_ok());
    }
    let poll = |o: &str| {
        format!(
            r#"{{"index": 0, "time": 10, "process": 0, "type": "invoke", "f": "poll", "value": [["poll"]]}}
{{"index": 1, "time": 20, "process": 0, "type": "ok", "f": "poll", "value": [["poll", {{"k": [[0, 5], [{o}, 6]]}}]]}}"#
        )
    };
    let (line, field, p) = error_of(&poll("-7"));
    assert_eq!(
        (line, field, p),
        (
            2,
            Some("value"),
            LineProblem::NegativeOffset {
                key: "k".into(),
                offset: -7
            }
        )
    );
    assert!(checker::history::read(poll("1").as_bytes()).is_ok());
}
