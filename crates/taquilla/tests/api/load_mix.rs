//! `taquilla load-test` request mixes against a test server: every scenario
//! of the mixed plan runs and gets 2xx responses, and the option checks reject
//! combinations that do not apply.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{Backend, PASSWORD, Param, spawn_app};

backend_tests!(
    mixed_plan_runs_every_scenario,
    sales_spread_over_tenants,
    gate_admits_each_ticket_once
);

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

/// `--tenants 2` sends sale k to tenant k mod 2, each on its own event: both
/// tenants sell half of the sales, each with its own gapless invoice numbers.
async fn sales_spread_over_tenants(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.setup_tenant("carga-1", "J-12345678-4").await;
    let second = app.setup_tenant("carga-2", "J-00124134-5").await;
    let args = |extra: &[&str]| {
        let mut args = [
            "--target-url",
            app.address.as_str(),
            "--password",
            PASSWORD,
            "--concurrent-users",
            "3",
            "--json",
        ]
        .map(str::to_string)
        .to_vec();
        args.extend(extra.iter().map(|part| part.to_string()));
        args
    };

    let output = load_test(args(&[
        "--username",
        "carga-{tenant}-admin",
        "--tenants",
        "2",
        "--flow",
        "quick",
        "--requests-per-user",
        "4",
    ]))
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["tenants"], 2, "{report}");
    assert_eq!(report["sales_completed"], 12, "{report}");
    assert_eq!(report["sales_failed"], 0, "{report}");
    for tenant in [&first, &second] {
        let tenant_id = [Param::Uuid(tenant.tenant_id)];
        let paid = app
            .db
            .scalar_i64(
                "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND status = 'paid'",
                &tenant_id,
            )
            .await;
        assert_eq!(paid, 6, "tenant {} sold half", tenant.slug);
        let last_invoice = app
            .db
            .scalar_i64(
                "SELECT COALESCE(MAX(number), 0) FROM fiscal_documents WHERE tenant_id = $1 AND kind = 'invoice'",
                &tenant_id,
            )
            .await;
        assert_eq!(
            last_invoice, 6,
            "tenant {} numbers its own invoices",
            tenant.slug
        );
    }

    for (extra, message) in [
        (
            vec!["--username", "carga-1-admin", "--tenants", "2"],
            "{tenant} for its number",
        ),
        (
            vec![
                "--username",
                "carga-{tenant}-admin",
                "--tenants",
                "2",
                "--test-type",
                "onsale",
            ],
            "--tenants applies to --test-type sales only",
        ),
        (
            vec!["--tenants", "0"],
            "--tenants must be between 1 and 10000",
        ),
    ] {
        let output = load_test(args(&extra)).await;
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    app.teardown().await;
}

/// `--test-type gate` sells out a new event and scans every ticket twice with
/// parallel scanners: each ticket is admitted once and rejected once, and the
/// database agrees.
async fn gate_admits_each_ticket_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("puerta", "J-12345678-4").await;
    let output = load_test(
        [
            "--target-url",
            app.address.as_str(),
            "--username",
            "puerta-admin",
            "--password",
            PASSWORD,
            "--test-type",
            "gate",
            "--seats",
            "60",
            "--concurrent-users",
            "6",
            "--json",
        ]
        .map(str::to_string)
        .to_vec(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["tickets"], 60, "{report}");
    assert_eq!(report["scans"], 120, "{report}");
    assert_eq!(report["admitted"], 60, "{report}");
    assert_eq!(report["already_used"], 60, "{report}");
    assert_eq!(report["invariants"]["clean"], true, "{report}");
    assert_eq!(report["passed"], true, "{report}");

    let used_once = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM tickets WHERE uses = 1", &[])
        .await;
    assert_eq!(used_once, 60);
    let used_more = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM tickets WHERE uses <> 1", &[])
        .await;
    assert_eq!(used_more, 0);
    // Every scan is recorded with its result.
    for (result, expected) in [("admitted", 60), ("already_used", 60)] {
        let recorded = app
            .db
            .scalar_i64(
                "SELECT COUNT(*) FROM validations WHERE result = $1",
                &[Param::Text(result.to_string())],
            )
            .await;
        assert_eq!(recorded, expected, "{result} scans recorded");
    }
    app.teardown().await;
}
