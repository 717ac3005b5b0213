//! `samsa serve`: a small web view (axum) over a store of runs. `/` lists every run, newest
//! first, filterable by test, verdict or anomaly; `/runs/<test>/<stamp>/<file>` serves the
//! run's files (its report, history, results, logs); `/api/runs` gives the list as JSON.
//!
//! Files are served by tower-http's `ServeDir`, which refuses any path that would leave the
//! store (`..`, absolute paths), so the server exposes nothing but the store. It binds to
//! loopback unless told otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use tower_http::services::ServeDir;

use super::store_index::{list_runs, RunEntry};
use crate::run_dir::REPORT_FILE;

/// Where `samsa serve` listens unless told otherwise: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8700";

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store directory does not exist.
    #[error("the store {0} is not a directory")]
    NoStore(PathBuf),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// The index page's filters (query string).
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    /// Substring of the test name or run stamp.
    #[serde(default)]
    pub q: String,
    /// `valid`, `invalid`, `unknown`, `unchecked`, or empty for all.
    #[serde(default)]
    pub verdict: String,
    /// Only runs with this anomaly type.
    #[serde(default)]
    pub anomaly: String,
}

impl Filter {
    /// Whether `run` passes the filter.
    pub fn keeps(&self, run: &RunEntry) -> bool {
        (self.q.is_empty() || run.test.contains(&self.q) || run.stamp.contains(&self.q))
            && (self.verdict.is_empty() || run.verdict == self.verdict)
            && (self.anomaly.is_empty() || run.counts.contains_key(&self.anomaly))
    }
}

/// The application: the index, the JSON list and the store's files.
pub fn router(store: PathBuf) -> Router {
    let files = ServeDir::new(&store);
    Router::new()
        .route("/", get(index))
        .route("/api/runs", get(api_runs))
        .nest_service("/runs", files)
        .with_state(Arc::new(store))
}

/// Serves `store` on `addr` until the process is stopped.
pub async fn serve(store: PathBuf, addr: SocketAddr) -> Result<(), ServeError> {
    if !store.is_dir() {
        return Err(ServeError::NoStore(store));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    println!("samsa serve: http://{local}/ (store {})", store.display());
    axum::serve(listener, router(store))
        .await
        .map_err(ServeError::Serve)
}

async fn runs(store: Arc<PathBuf>, filter: &Filter) -> Result<Vec<RunEntry>, Response> {
    let listed = tokio::task::spawn_blocking(move || list_runs(&store)).await;
    match listed {
        Ok(Ok(runs)) => Ok(runs.into_iter().filter(|r| filter.keeps(r)).collect()),
        Ok(Err(e)) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot list the store: {e}"),
        )
            .into_response()),
        Err(e) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("listing failed: {e}"),
        )
            .into_response()),
    }
}

async fn api_runs(State(store): State<Arc<PathBuf>>, Query(filter): Query<Filter>) -> Response {
    match runs(store, &filter).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => e,
    }
}

async fn index(State(store): State<Arc<PathBuf>>, Query(filter): Query<Filter>) -> Response {
    match runs(store, &filter).await {
        Ok(r) => Html(index_page(&r, &filter).into_string()).into_response(),
        Err(e) => e,
    }
}

/// Percent-encodes one path segment of a URL (everything but RFC 3986's unreserved set).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn run_url(run: &RunEntry, file: &str) -> String {
    let mut url = String::from("/runs");
    for seg in run.path.split('/').chain(file.split('/')) {
        url.push('/');
        url.push_str(&encode_segment(seg));
    }
    url
}

fn index_page(runs: &[RunEntry], filter: &Filter) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "samsa runs" }
                style { "body{font-family:system-ui,sans-serif;margin:20px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}.valid{color:#2ca02c}.invalid{color:#d62728;font-weight:bold}.unknown{color:#ff7f0e}" }
            }
            body {
                h1 { "samsa runs" }
                form method="get" action="/" {
                    input name="q" placeholder="test or time" value=(filter.q);
                    " "
                    select name="verdict" {
                        @for v in ["", "valid", "invalid", "unknown", "unchecked"] {
                            option value=(v) selected[filter.verdict == v] { (if v.is_empty() { "any verdict" } else { v }) }
                        }
                    }
                    " "
                    input name="anomaly" placeholder="anomaly, e.g. lost-write" value=(filter.anomaly);
                    " " button type="submit" { "filter" }
                }
                p { (runs.len()) " run(s), newest first." }
                table #runs {
                    tr { th { "test" } th { "time" } th { "duration (s)" } th { "verdict" } th { "anomalies" } th { "files" } }
                    @for run in runs {
                        tr {
                            td { (run.test) }
                            td { (run.started.clone().unwrap_or_else(|| run.stamp.clone())) }
                            td { (run.duration_s.map_or_else(String::new, |d| format!("{d:.1}"))) }
                            td class=(run.verdict) {
                                @if run.files.iter().any(|f| f == REPORT_FILE) {
                                    a href=(run_url(run, REPORT_FILE)) { (run.verdict) }
                                } @else { (run.verdict) }
                            }
                            td { (run.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")) }
                            td {
                                @for (i, f) in run.files.iter().enumerate() {
                                    @if i > 0 { " " }
                                    a href=(run_url(run, f)) { (f) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: path segments are percent-encoded, so a test name cannot inject a path or markup.
    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("queue-1.x"), "queue-1.x");
        assert_eq!(encode_segment("a b/../<c>"), "a%20b%2F..%2F%3Cc%3E");
    }
}
