//! `taquilla load-test` request mixes against a test server: every scenario
//! of the mixed plan runs and gets 2xx responses, and the option checks reject
//! combinations that do not apply.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{Backend, PASSWORD, spawn_app};

backend_tests!(mixed_plan_runs_every_scenario);

async fn load_test(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_taquilla"))
            .arg("load-test")
            .args(args)
            .output()
            .expect("running taquilla load-test")
    })
    .await
    .unwrap()
}

async fn mixed_plan_runs_every_scenario(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("carga", "J-12345678-4").await;
    let common = |test_type: &str| {
        [
            "--target-url",
            app.address.as_str(),
            "--username",
            "carga-admin",
            "--password",
            PASSWORD,
            "--test-type",
            test_type,
            "--concurrent-users",
            "2",
            "--json",
        ]
        .map(str::to_string)
        .to_vec()
    };

    let mut args = common("mixed");
    args.extend(["--requests-per-user", "10"].map(str::to_string));
    let output = load_test(args).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["iterations"], 20, "{report}");
    for scenario in ["health", "auth", "events", "sales", "reports"] {
        assert!(
            report["iterations_by_scenario"][scenario].as_u64().unwrap() >= 1,
            "{scenario} never ran: {report}"
        );
    }
    let names: Vec<&str> = report["per_request"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    for name in [
        "login",
        "availability",
        "hold",
        "payment",
        "tickets",
        "x_report",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    // Each sale iteration paid one order.
    let paid = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM orders WHERE status = 'paid'", &[])
        .await;
    assert_eq!(
        paid,
        report["iterations_by_scenario"]["sales"].as_i64().unwrap()
    );

    // Open loop at 20 iterations per second for 2 seconds.
    let mut args = common("health");
    args.extend(["--rate", "20", "--duration", "2"].map(str::to_string));
    let output = load_test(args).await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let iterations = report["iterations"].as_u64().unwrap();
    // About 40 arrivals; the bounds leave room for a slow machine.
    assert!((20..=45).contains(&iterations), "{report}");

    // Options that do not apply are refused before any load.
    for (extra, message) in [
        (
            vec!["--test-type", "sales", "--rate", "5"],
            "--rate applies",
        ),
        (
            vec!["--test-type", "onsale", "--event-id", "x"],
            "--event-id does not apply",
        ),
        (
            vec!["--requests-per-user", "0"],
            "--requests-per-user must be",
        ),
    ] {
        let mut args = vec!["--target-url".to_string(), app.address.clone()];
        args.extend(extra.iter().map(|part| part.to_string()));
        let output = load_test(args).await;
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    app.teardown().await;
}
