//! `taquilla benchmark` and `taquilla check-regression` as a user runs them:
//! a saved baseline passes against itself and fails once doctored, on SQLite
//! and on PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn taquilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running taquilla")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a small benchmark into `baseline`, then checks it against itself,
/// against a doctored copy and against an absolute limit it cannot meet.
fn baseline_round_trip(directory: &Path, database_url: Option<&str>) {
    let baseline = directory.join("baseline.json");
    let baseline_arg = baseline.to_str().unwrap();
    let mut args = vec![
        "benchmark",
        "--iterations",
        "5",
        "--component",
        "sales",
        "--json",
        "--save-baseline",
        baseline_arg,
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let run = taquilla(&args);
    assert!(run.status.success(), "{}", text(&run));
    let report: Value = serde_json::from_slice(&run.stdout).expect("benchmark JSON on stdout");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(report, saved);
    let names: Vec<&str> = saved["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|operation| operation["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["online_sale", "quick_sale"]);
    for operation in saved["operations"].as_array().unwrap() {
        assert_eq!(operation["iterations"], 5);
        assert!(operation["p95_ms"].as_f64().unwrap() > 0.0);
        assert!(operation["p50_ms"].as_f64().unwrap() <= operation["p95_ms"].as_f64().unwrap());
    }

    // The same results pass against themselves.
    let same = taquilla(&[
        "check-regression",
        "--baseline",
        baseline_arg,
        "--current",
        baseline_arg,
    ]);
    assert!(same.status.success(), "{}", text(&same));
    assert!(String::from_utf8_lossy(&same.stdout).contains("no regression"));

    // A baseline doctored to be ten times faster makes the run a regression.
    let mut doctored = saved.clone();
    for operation in doctored["operations"].as_array_mut().unwrap() {
        let p95 = operation["p95_ms"].as_f64().unwrap();
        operation["p95_ms"] = Value::from(p95 / 10.0);
    }
    let doctored_path = directory.join("doctored.json");
    std::fs::write(&doctored_path, doctored.to_string()).unwrap();
    let regressed = taquilla(&[
        "check-regression",
        "--baseline",
        doctored_path.to_str().unwrap(),
        "--current",
        baseline_arg,
        "--min-increase-ms",
        "0",
    ]);
    assert_eq!(regressed.status.code(), Some(1), "{}", text(&regressed));
    let stdout = String::from_utf8_lossy(&regressed.stdout);
    assert!(stdout.contains("REGRESSION: sales online_sale"), "{stdout}");
    assert!(stdout.contains("REGRESSION: sales quick_sale"), "{stdout}");

    // An absolute limit below every p95 fails even against itself.
    let over = taquilla(&[
        "check-regression",
        "--baseline",
        baseline_arg,
        "--current",
        baseline_arg,
        "--max-p95-ms",
        "0.000001",
        "--json",
    ]);
    assert_eq!(over.status.code(), Some(1), "{}", text(&over));
    let comparison: Value = serde_json::from_slice(&over.stdout).unwrap();
    assert_eq!(comparison["passed"], false);
    assert_eq!(comparison["operations"][0]["verdict"], "over_limit");
}

#[test]
fn baseline_check_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    baseline_round_trip(directory.path(), None);
}

#[test]
fn baseline_check_on_postgres() {
    let admin_url =
        std::env::var("TAQUILLA_TEST_PG_ADMIN_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string());
    let name = format!("taquilla_benchmark_{}", Uuid::new_v4().simple());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin_query = |sql: String| {
        runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("PostgreSQL admin connection");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("admin statement");
        })
    };
    admin_query(format!("CREATE DATABASE {name}"));
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.clone(), |(base, _)| base.to_string());
    let directory = tempfile::tempdir().unwrap();
    baseline_round_trip(directory.path(), Some(&format!("{base}/{name}")));
    admin_query(format!("DROP DATABASE {name} WITH (FORCE)"));
}

#[test]
fn unrelated_or_bad_settings_fail() {
    let directory = tempfile::tempdir().unwrap();
    let current = directory.path().join("current.json");
    let run = taquilla(&[
        "benchmark",
        "--iterations",
        "3",
        "--component",
        "health",
        "--save-baseline",
        current.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let mut unrelated: Value =
        serde_json::from_str(&std::fs::read_to_string(&current).unwrap()).unwrap();
    unrelated["operations"] = Value::Array(Vec::new());
    let unrelated_path = directory.path().join("unrelated.json");
    std::fs::write(&unrelated_path, unrelated.to_string()).unwrap();

    let nothing_compared = taquilla(&[
        "check-regression",
        "--baseline",
        unrelated_path.to_str().unwrap(),
        "--current",
        current.to_str().unwrap(),
    ]);
    assert!(
        !nothing_compared.status.success(),
        "{}",
        text(&nothing_compared)
    );
    assert!(
        String::from_utf8_lossy(&nothing_compared.stderr)
            .contains("has none of this run's operations"),
        "{}",
        text(&nothing_compared)
    );
    for setting in ["--tolerance=NaN", "--max-p95-ms=-1", "--min-increase-ms=-1"] {
        let rejected = taquilla(&[
            "check-regression",
            "--baseline",
            current.to_str().unwrap(),
            "--current",
            current.to_str().unwrap(),
            setting,
        ]);
        assert!(!rejected.status.success(), "{setting}: {}", text(&rejected));
    }
}

#[test]
fn missing_baseline_is_a_clear_error() {
    let run = taquilla(&[
        "check-regression",
        "--baseline",
        "/nonexistent/baseline.json",
        "--current",
        "/nonexistent/current.json",
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("reading the benchmark results /nonexistent/baseline.json"),
        "{stderr}"
    );
}
