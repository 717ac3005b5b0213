//! The reference corpus (`histories/corpus/`): every `NAME.jsonl` is checked and its
//! verdict and anomaly types must equal `NAME.expected.json` exactly. The corpus holds one
//! minimal history per anomaly type and several tricky valid ones.

use std::path::PathBuf;

use checker::check::{check, CheckOptions};
use checker::linear::{Engine, LinearOptions};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../histories/corpus")
}

/// Every history of the corpus with its expectation (`valid`, sorted `anomaly_types`).
fn cases() -> Vec<(PathBuf, serde_json::Value)> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).expect("histories/corpus exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".jsonl") else {
            continue;
        };
        let expected_path = path.with_file_name(format!("{stem}.expected.json"));
        let text = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{name} has no readable {stem}.expected.json: {e}"));
        let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
        cases.push((path, expected));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

fn outcome(path: &std::path::Path, engine: Engine) -> serde_json::Value {
    let history = checker::history::read_path(path).unwrap();
    let options = CheckOptions {
        linear: LinearOptions {
            engine,
            ..LinearOptions::default()
        },
    };
    let result = serde_json::to_value(check(&history, &options)).unwrap();
    serde_json::json!({"valid": result["valid"], "anomaly_types": result["anomaly_types"]})
}

// Goal: the checker's verdict and anomaly types match every expectation, with the default
// engine and with both engines (which must then agree). Method: run over the folder.
#[test]
fn every_corpus_history_matches_its_expectation() {
    let cases = cases();
    assert!(
        cases.len() >= 20,
        "the corpus is missing histories: {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (path, expected) in &cases {
        for engine in [Engine::Graph, Engine::Both] {
            let got = outcome(path, engine);
            if &got != expected {
                failures.push(format!(
                    "{} ({engine:?}): expected {expected}, got {got}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Goal: the corpus names every anomaly the checker detects (all but transaction cycles).
#[test]
fn the_corpus_covers_every_non_cycle_anomaly() {
    let covered: std::collections::BTreeSet<String> = cases()
        .iter()
        .flat_map(|(_, e)| e["anomaly_types"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    for kind in checker::anomaly::AnomalyKind::all() {
        let name = kind.name();
        if ["G0", "G1c", "G-single", "G2"].contains(&name) {
            continue;
        }
        assert!(covered.contains(name), "no corpus history shows {name}");
    }
}
