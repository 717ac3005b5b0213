//! The HTTP client for brokers' admin endpoints (readiness and partition state). Proxies
//! from the environment are disabled: the harness must only talk to the containers it
//! created. Every request has a timeout.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Limit for one admin request (connect + response).
pub const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A client for admin endpoints: no proxy, short timeouts.
pub fn admin_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(ADMIN_REQUEST_TIMEOUT)
        .timeout(ADMIN_REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// `http://ip:port/path`.
pub fn admin_url(ip: Ipv4Addr, port: u16, path: &str) -> String {
    let path = path.trim_start_matches('/');
    format!("http://{ip}:{port}/{path}")
}

/// GET a URL and parse its body as JSON; errors as text.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

/// Whether a GET of `url` answers 2xx.
pub async fn get_ok(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", response.status()))
    }
}
