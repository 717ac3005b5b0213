//! Bad input must never panic: arbitrary bytes and mutated valid histories (bytes flipped,
//! lines deleted, duplicated or swapped, types, indices and times changed) go through the
//! reader and, when they read, through the whole check. Either outcome is fine; a panic
//! fails the property.

use checker::check::{check, CheckOptions};
use checker::linear::{Engine, LinearOptions};
use proptest::prelude::*;

fn corpus_lines() -> Vec<Vec<String>> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../histories/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("histories/corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn read_and_check(bytes: &[u8]) {
    if let Ok(history) = checker::history::read(bytes) {
        for engine in [Engine::Graph, Engine::Search] {
            let options = CheckOptions {
                linear: LinearOptions {
                    engine,
                    time_limit: std::time::Duration::from_secs(2),
                },
            };
            let result = check(&history, &options);
            serde_json::to_string(&result).unwrap();
        }
    }
}

/// One way to damage a history.
#[derive(Debug, Clone)]
enum Mutation {
    FlipByte {
        at: usize,
        bit: u8,
    },
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Replace {
        at: usize,
        from: &'static str,
        to: &'static str,
    },
    Truncate(usize),
}

const REPLACEMENTS: &[(&str, &str)] = &[
    ("\"ok\"", "\"info\""),
    ("\"ok\"", "\"fail\""),
    ("\"invoke\"", "\"ok\""),
    ("\"info\"", "\"invoke\""),
    ("\"fail\"", "\"ok\""),
    ("\"send\"", "\"poll\""),
    ("\"poll\"", "\"send\""),
    ("\"index\": 1", "\"index\": 3"),
    ("\"index\": 2", "\"index\": -2"),
    ("\"time\": 2000", "\"time\": 1"),
    ("\"time\": 3000", "\"time\": 18446744073709551615"),
    ("\"process\": 0", "\"process\": 1"),
    ("\"process\": 1", "\"process\": \"nemesis\""),
    ("[0, ", "[null, "),
    ("[0, ", "[-9223372036854775808, "),
    ("[1, ", "[9223372036854775807, "),
    (", 17]", ", \"17\"]"),
    ("\"0\"", "\"\\u0000\""),
    ("true", "1"),
    ("{\"0\": ", "{\"0\": 5, \"x\": "),
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipByte { at, bit }),
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0..REPLACEMENTS.len()).prop_map(|(at, r)| Mutation::Replace {
            at,
            from: REPLACEMENTS[r].0,
            to: REPLACEMENTS[r].1
        }),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(lines: &mut Vec<String>, m: &Mutation) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match *m {
        Mutation::FlipByte { at, bit } => {
            let line = &mut lines[at % n];
            let mut bytes = std::mem::take(line).into_bytes();
            if !bytes.is_empty() {
                let i = (at / n) % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            *line = String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::DeleteLine(at) => {
            lines.remove(at % n);
        }
        Mutation::DuplicateLine(at) => {
            let l = lines[at % n].clone();
            lines.insert(at % n, l);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Replace { at, from, to } => {
            let line = &mut lines[at % n];
            *line = line.replacen(from, to, 1);
        }
        Mutation::Truncate(at) => {
            let line = &mut lines[at % n];
            let mut cut = (at / n) % (line.len() + 1);
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // Goal: arbitrary bytes never panic the reader or the check.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        read_and_check(&bytes);
    }

    // Goal: JSON-shaped noise never panics either (gets past the JSON layer more often).
    #[test]
    fn json_shaped_noise_never_panics(text in r#"(\{"index": [0-2], "time": [0-9]{1,3}, "process": [0-2], "type": "(invoke|ok|info|fail)", "f": "(send|poll|txn|assign)", "value": (\[\["send", "[01]", (7|\[[0-3], 7\]|\[null, 7\])\]\]|\[\["poll", \{"[01]": \[\[[0-3], [5-8]\]\]\}\]\]|\{"keys": \["0"\]\})\}\n){0,6}"#) {
        read_and_check(text.as_bytes());
    }

    // Goal: corpus histories with a few mutations never panic.
    #[test]
    fn mutated_valid_histories_never_panic(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let corpus = corpus_lines();
        let mut lines = corpus[which % corpus.len()].clone();
        for m in &mutations {
            apply(&mut lines, m);
        }
        read_and_check((lines.join("\n") + "\n").as_bytes());
    }
}
