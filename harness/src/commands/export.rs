//! `samsa export --edn PATH [--out FILE]`, and the reading of Jepsen EDN histories by
//! `samsa check`: interop with Jepsen's Kafka workload (`jepsen.tests.kafka`), whose
//! `history.edn` holds one operation map per line, e.g.
//! `{:type :ok, :f :send, :value [[:send 0 [12 5]]], :process 0, :time 123, :index 4}`,
//! polls as `[[:poll {0 [[12 5] [13 6]]}]]`, faults with `:process :nemesis`.
//!
//! The two formats carry the same operation maps (docs/history-format.md), so conversion
//! is line by line: map keys and the values of `:type`, `:f`, `:process` and micro-op tags
//! become keywords one way and strings the other; Jepsen's integer keys (partitions)
//! become the strings samsa uses. The header (the configuration's guarantees), which
//! Jepsen has no place for, travels as a leading EDN comment `; samsa-history/1 {json}`,
//! which EDN readers skip. Reading converts to JSON Lines and hands them to the checker's
//! own reader, so every rule and error of that reader applies; errors name the EDN line.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use checker::history::model::{Function, History};
use checker::history::HistoryError;
use edn_format::{Keyword, Value as Edn};
use serde_json::Value as Json;

/// The comment prefix that carries a samsa header through an EDN file.
const HEADER_COMMENT: &str = "; samsa-history/1 ";

/// Arguments of `samsa export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// A history.jsonl file, or a run directory holding history.jsonl.
    path: PathBuf,
    /// Write Jepsen's history.edn (the only format so far; required).
    #[arg(long)]
    edn: bool,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the export: 0 written, 3 the input could not be read, 4 the output not written.
pub fn run(args: &ExportArgs) -> ExitCode {
    if !args.edn {
        eprintln!("samsa export: choose a format (--edn)");
        return ExitCode::from(3);
    }
    let file = if args.path.is_dir() {
        args.path.join(checker::history::HISTORY_FILE)
    } else {
        args.path.clone()
    };
    // The history must be readable as a history, not merely as JSON lines.
    if let Err(e) = checker::history::read_path(&file) {
        eprintln!("samsa export: {e}");
        return ExitCode::from(3);
    }
    let edn = match std::fs::read_to_string(&file)
        .map_err(anyhow::Error::from)
        .and_then(|text| jsonl_to_edn(&text))
    {
        Ok(edn) => edn,
        Err(e) => {
            eprintln!("samsa export: {}: {e:#}", file.display());
            return ExitCode::from(3);
        }
    };
    let written = match &args.out {
        Some(out) => std::fs::write(out, edn).with_context(|| format!("{}", out.display())),
        None => std::io::stdout()
            .write_all(edn.as_bytes())
            .context("stdout"),
    };
    match written {
        Ok(()) => ExitCode::from(0),
        Err(e) => {
            eprintln!("samsa export: cannot write {e:#}");
            ExitCode::from(super::HARNESS_ERROR)
        }
    }
}

/// Converts a JSON Lines history to Jepsen EDN, one line for one line.
fn jsonl_to_edn(text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let json: Json = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        if json.get("format").is_some() {
            out.push_str(HEADER_COMMENT);
            out.push_str(&serde_json::to_string(&json)?);
        } else {
            out.push_str(&edn_format::emit_str(&op_to_edn(&json)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// One operation map as EDN.
fn op_to_edn(op: &Json) -> Edn {
    let Json::Object(map) = op else {
        return json_to_edn(op);
    };
    let f = map.get("f").and_then(Json::as_str).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let value = match (k.as_str(), v) {
            ("type" | "f", Json::String(s)) => keyword(s),
            ("process", Json::String(s)) => keyword(s),
            ("value", Json::Array(mops))
                if Function::from_name(f).is_some_and(Function::has_mops) =>
            {
                Edn::Vector(mops.iter().map(mop_to_edn).collect())
            }
            _ => json_to_edn(v),
        };
        out.insert(keyword(k), value);
    }
    Edn::Map(out)
}

/// `["send", "0", [12, 5]]` -> `[:send 0 [12 5]]`; `["poll", {"0": ...}]` -> `[:poll {0 ...}]`.
fn mop_to_edn(mop: &Json) -> Edn {
    let Json::Array(items) = mop else {
        return json_to_edn(mop);
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(match (i, item) {
            (0, Json::String(tag)) => keyword(tag),
            (1, Json::String(key)) => partition_to_edn(key),
            (1, Json::Object(reads)) => Edn::Map(
                reads
                    .iter()
                    .map(|(key, records)| (partition_to_edn(key), json_to_edn(records)))
                    .collect(),
            ),
            _ => json_to_edn(item),
        });
    }
    Edn::Vector(out)
}

/// A samsa key as Jepsen writes it: an integer when it is one.
fn partition_to_edn(key: &str) -> Edn {
    match key.parse::<i64>() {
        Ok(i) if i.to_string() == key => Edn::Integer(i),
        _ => Edn::String(key.to_owned()),
    }
}

fn keyword(name: &str) -> Edn {
    Edn::Keyword(Keyword::from_name(name))
}

fn json_to_edn(v: &Json) -> Edn {
    match v {
        Json::Null => Edn::Nil,
        Json::Bool(b) => Edn::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Edn::Integer(i),
            None => Edn::Float(n.as_f64().unwrap_or(f64::NAN).into()),
        },
        Json::String(s) => Edn::String(s.clone()),
        Json::Array(items) => Edn::Vector(items.iter().map(json_to_edn).collect()),
        Json::Object(map) => Edn::Map(
            map.iter()
                .map(|(k, v)| (keyword(k), json_to_edn(v)))
                .collect(),
        ),
    }
}

/// Whether `path` holds an EDN history: by extension `.edn`, else by content (its first
/// non-blank character opens a map whose first key is a keyword, or an EDN comment).
pub fn is_edn(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "edn") {
        return true;
    }
    if path.is_dir() {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(256);
    if std::io::Read::read_to_end(&mut std::io::Read::take(file, 256), &mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start();
    trimmed.starts_with(';')
        || trimmed
            .strip_prefix('{')
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// Why an EDN history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EdnError {
    /// The file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        error: std::io::Error,
    },
    /// A line is not the EDN of one operation map.
    #[error("{}: line {line}{}: {problem}", path.display(), field.map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Line {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The field at fault, if one is.
        field: Option<&'static str>,
        /// What is wrong.
        problem: String,
    },
    /// The converted history broke a rule of the history format (line numbers are the
    /// EDN file's).
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Reads a Jepsen (or exported samsa) EDN history into the checker's model.
pub fn read_edn(path: &Path) -> Result<History, EdnError> {
    let text = std::fs::read_to_string(path).map_err(|error| EdnError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let (jsonl, lines) = edn_to_jsonl(path, &text)?;
    checker::history::read(jsonl.as_bytes()).map_err(|e| match e {
        HistoryError::Line {
            line,
            field,
            problem,
            ..
        } => HistoryError::Line {
            file: Some(path.to_path_buf()),
            // The converted line's number -> the EDN line it came from.
            line: usize::try_from(line)
                .ok()
                .and_then(|l| l.checked_sub(1))
                .and_then(|i| lines.get(i))
                .map_or(line, |&l| l as u64),
            field,
            problem,
        }
        .into(),
        other => other.into(),
    })
}

/// Converts EDN lines to JSON Lines; also returns, per JSON line, its EDN line number.
fn edn_to_jsonl(path: &Path, text: &str) -> Result<(String, Vec<usize>), EdnError> {
    let mut out = String::with_capacity(text.len());
    let mut lines = Vec::new();
    let mut index: u64 = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let bad = |field: Option<&'static str>, problem: String| EdnError::Line {
            path: path.to_path_buf(),
            line,
            field,
            problem,
        };
        let trimmed = raw.trim();
        if let Some(header) = trimmed.strip_prefix(HEADER_COMMENT.trim_end()) {
            if !lines.is_empty() {
                return Err(bad(
                    Some("format"),
                    "a samsa header comment may only come before the first operation".into(),
                ));
            }
            let json: Json = serde_json::from_str(header.trim())
                .map_err(|e| bad(Some("format"), format!("not a samsa header: {e}")))?;
            out.push_str(&json.to_string());
            out.push('\n');
            lines.push(line);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with(';') {
            continue;
        }
        let edn = edn_format::parse_str(trimmed).map_err(|e| {
            bad(
                None,
                format!(
                    "not one EDN operation map per line: at column {}: {}",
                    e.col, e.error
                ),
            )
        })?;
        let mut json = op_from_edn(&edn).map_err(|(field, problem)| bad(field, problem))?;
        // Jepsen histories written before `:index` existed: number the operations.
        if let Json::Object(map) = &mut json {
            map.entry("index").or_insert_with(|| Json::from(index));
        }
        index += 1;
        out.push_str(&json.to_string());
        out.push('\n');
        lines.push(line);
    }
    Ok((out, lines))
}

type FieldProblem = (Option<&'static str>, String);

/// One EDN operation map as the JSON of docs/history-format.md.
fn op_from_edn(edn: &Edn) -> Result<Json, FieldProblem> {
    let Edn::Map(map) = edn else {
        return Err((
            None,
            "expected an operation map {:type … :f … :value …}".into(),
        ));
    };
    let mut out = serde_json::Map::new();
    let f = map
        .get(&keyword("f"))
        .map(name_of)
        .transpose()?
        .unwrap_or_default();
    for (k, v) in map {
        let key = match k {
            Edn::Keyword(k) => k.name().to_owned(),
            Edn::String(s) => s.clone(),
            other => {
                return Err((
                    None,
                    format!(
                        "a key of the operation map is {}",
                        edn_format::emit_str(other)
                    ),
                ))
            }
        };
        let value = match key.as_str() {
            "type" => Json::String(name_of(v).map_err(|(_, p)| (Some("type"), p))?),
            "f" => Json::String(f.clone()),
            "process" => match v {
                Edn::Keyword(k) => Json::String(k.name().to_owned()),
                other => json_from_edn(other),
            },
            "error" => match v {
                Edn::String(s) => Json::String(s.clone()),
                Edn::Nil => Json::Null,
                // Jepsen errors are often keywords or vectors: keep their EDN text.
                other => Json::String(edn_format::emit_str(other)),
            },
            "value" => value_from_edn(&f, v).map_err(|p| (Some("value"), p))?,
            _ => json_from_edn(v),
        };
        out.insert(key, value);
    }
    Ok(Json::Object(out))
}

fn name_of(v: &Edn) -> Result<String, FieldProblem> {
    match v {
        Edn::Keyword(k) => Ok(k.name().to_owned()),
        Edn::String(s) => Ok(s.clone()),
        other => Err((
            Some("f"),
            format!("expected a keyword, found {}", edn_format::emit_str(other)),
        )),
    }
}

/// The `:value` of an operation: micro-ops for send/poll/txn, Jepsen's key vector for
/// assign/subscribe, anything else as JSON.
fn value_from_edn(f: &str, v: &Edn) -> Result<Json, String> {
    let f = Function::from_name(f);
    let mops = f.is_some_and(Function::has_mops);
    let assignment = f.is_some_and(Function::has_assignment);
    match v {
        Edn::Vector(mops_edn) | Edn::List(mops_edn) if mops => mops_edn
            .iter()
            .map(mop_from_edn)
            .collect::<Result<_, _>>()
            .map(Json::Array),
        Edn::Vector(keys) | Edn::List(keys) if assignment => Ok(serde_json::json!({
            "keys": keys.iter().map(partition_from_edn).collect::<Result<Vec<_>, _>>()?,
            "seek_to_beginning": false,
        })),
        Edn::Map(m) if assignment => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let name = name_of(k).map_err(|(_, p)| p)?;
                let value = match (name.as_str(), v) {
                    ("keys", Edn::Vector(keys) | Edn::List(keys)) => Json::Array(
                        keys.iter()
                            .map(partition_from_edn)
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => json_from_edn(v),
                };
                out.insert(name, value);
            }
            Ok(Json::Object(out))
        }
        _ => Ok(json_from_edn(v)),
    }
}

/// `[:send 0 [12 5]]` -> `["send", "0", [12, 5]]`; `[:poll {0 [[12 5]]}]` ->
/// `["poll", {"0": [[12, 5]]}]`.
fn mop_from_edn(mop: &Edn) -> Result<Json, String> {
    let (Edn::Vector(items) | Edn::List(items)) = mop else {
        return Err(format!(
            "a micro-operation must be a vector, found {}",
            edn_format::emit_str(mop)
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(match (i, item) {
            (0, Edn::Keyword(tag)) => Json::String(tag.name().to_owned()),
            (1, Edn::Map(reads)) => {
                let mut by_key = serde_json::Map::new();
                for (key, records) in reads {
                    let Json::String(key) = partition_from_edn(key)? else {
                        return Err("a poll's key must be an integer or a string".into());
                    };
                    by_key.insert(key, json_from_edn(records));
                }
                Json::Object(by_key)
            }
            (1, key) => partition_from_edn(key)?,
            _ => json_from_edn(item),
        });
    }
    Ok(Json::Array(out))
}

/// A Jepsen key (an integer, or a string) as samsa's string key.
fn partition_from_edn(key: &Edn) -> Result<Json, String> {
    match key {
        Edn::Integer(i) => Ok(Json::String(i.to_string())),
        Edn::String(s) => Ok(Json::String(s.clone())),
        other => Err(format!(
            "a key must be an integer or a string, found {}",
            edn_format::emit_str(other)
        )),
    }
}

fn json_from_edn(v: &Edn) -> Json {
    match v {
        Edn::Nil => Json::Null,
        Edn::Boolean(b) => Json::Bool(*b),
        Edn::Integer(i) => Json::from(*i),
        Edn::Float(f) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Json::Null, Json::Number)
        }
        Edn::String(s) => Json::String(s.clone()),
        Edn::Keyword(k) => Json::String(k.name().to_owned()),
        Edn::Symbol(s) => Json::String(s.name().to_owned()),
        Edn::Vector(items) | Edn::List(items) => {
            Json::Array(items.iter().map(json_from_edn).collect())
        }
        Edn::Set(items) => Json::Array(items.iter().map(json_from_edn).collect()),
        Edn::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Edn::Keyword(k) => k.name().to_owned(),
                        Edn::String(s) => s.clone(),
                        other => edn_format::emit_str(other),
                    };
                    (key, json_from_edn(v))
                })
                .collect(),
        ),
        other => Json::String(edn_format::emit_str(other)),
    }
}
