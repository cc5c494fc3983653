//! `taquilla monitor` against a running server: rates computed from two
//! readings of /metrics, and a clear failure when the server is unreachable.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

backend_tests!(monitor_reports_traffic_and_health);

async fn monitor_reports_traffic_and_health(backend: Backend) {
    let app = spawn_app(backend).await;
    let address = app.address.clone();

    // Traffic for the whole run of the monitor: health probes, which it leaves
    // out, and API requests, which it counts.
    let client = app.client.clone();
    let traffic_address = address.clone();
    let traffic = tokio::spawn(async move {
        for _ in 0..400 {
            for path in ["/health/live", "/api/v1/events"] {
                let _ = client.get(format!("{traffic_address}{path}")).send().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    });

    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_taquilla"))
            .args([
                "monitor",
                "--url",
                &address,
                "--interval",
                "1",
                "--count",
                "2",
                "--json",
            ])
            .output()
            .expect("running taquilla monitor")
    })
    .await
    .unwrap();
    traffic.abort();
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["health"], "healthy", "{line}");
        assert_eq!(line["pool_max"], 16.0, "{line}");
    }
    // Every counted request was an unauthenticated API call (401).
    let busiest = lines
        .iter()
        .max_by(|a, b| {
            a["requests_per_second"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["requests_per_second"].as_f64().unwrap())
        })
        .unwrap();
    assert!(
        busiest["requests_per_second"].as_f64().unwrap() > 1.0,
        "{busiest}"
    );
    assert_eq!(busiest["server_error_share"], 0.0, "{busiest}");
    assert!(busiest["p95_ms"].as_f64().is_some(), "{busiest}");
    app.teardown().await;

    // Nothing listens on port 1 of loopback: one failed reading, exit status 1.
    let unreachable = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args([
            "monitor",
            "--url",
            "http://127.0.0.1:1",
            "--interval",
            "1",
            "--count",
            "1",
        ])
        .output()
        .expect("running taquilla monitor");
    assert_eq!(unreachable.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
}
