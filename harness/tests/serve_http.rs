//! `samsa serve` over HTTP (axum on an ephemeral loopback port, queried with reqwest): the
//! index lists runs with verdicts and filters them, run files are served, and no path can
//! leave the store.

mod report_support;

use std::time::Duration;

use harness::report::serve::router;
use harness::report::write_run_report;
use report_support::make_run;

// Goal: list, filter, fetch a report, and refuse path traversal.
#[tokio::test]
async fn serves_the_store_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let run = make_run(&store, 300, Some("lost-write"), true, true);
    write_run_report(&run.dir, &run.history, &run.result).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "secret").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router(store)).await });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://{addr}");

    let index = client.get(format!("{base}/")).send().await.unwrap();
    assert!(index.status().is_success());
    let body = index.text().await.unwrap();
    assert!(body.contains("1 run(s)"), "{body}");
    assert!(body.contains("/runs/queue/20261121T050000.000Z/report.html"));

    let runs: serde_json::Value = client
        .get(format!("{base}/api/runs?verdict=unchecked"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "no results.json: unchecked"
    );
    let none: serde_json::Value = client
        .get(format!("{base}/api/runs?q=nosuchtest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.as_array().unwrap().is_empty());

    let report = client
        .get(format!(
            "{base}/runs/queue/20261121T050000.000Z/report.html"
        ))
        .send()
        .await
        .unwrap();
    assert!(report.status().is_success());
    assert!(report.text().await.unwrap().contains("id=\"anomalies\""));

    for evil in [
        "/runs/../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/..%2fsecret.txt",
    ] {
        let r = client.get(format!("{base}{evil}")).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(!text.contains("secret"), "{evil} leaked ({status})");
    }
    server.abort();
}
