//! Tests of `taquilla metrics-export` against the real processes: after a sale
//! through `taquilla serve --demo`, the exporter's gauges show it, its output
//! passes `promtool check metrics`, it never migrates a database, and it keeps
//! the last values when the database goes away.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_admin_url() -> String {
    std::env::var("TAQUILLA_TEST_PG_ADMIN_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string())
}

async fn create_pg_database() -> (String, String) {
    let name = format!("taquilla_exporter_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("PostgreSQL admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let admin_url = pg_admin_url();
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or(admin_url);
    (name.clone(), format!("{base}/{name}"))
}

async fn drop_pg_database(name: &str) {
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("PostgreSQL admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("address")
        .port()
}

/// A child process that is killed when the test ends, even on a failed assert.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `url` until it returns 2xx, failing early when `process` exits.
async fn wait_until_ready(process: &mut Running, url: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = process.0.try_wait().expect("process status") {
            panic!("the process serving {url} exited early with {status}");
        }
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not respond within 60 s");
}

/// Starts `taquilla serve --demo` on `database_url` and waits until it responds.
async fn start_server(database_url: &str, port: u16) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("TAQUILLA_ARGON2_MEMORY_KIB", "64")
        .env("TAQUILLA_ARGON2_ITERATIONS", "1")
        .env("TAQUILLA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start taquilla serve");
    let mut server = Running(child);
    wait_until_ready(&mut server, &format!("http://127.0.0.1:{port}/health/live")).await;
    server
}

fn exporter_command(database_url: &str, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taquilla"));
    command
        .args([
            "metrics-export",
            "--port",
            &port.to_string(),
            "--scrape-timeout-seconds",
            "2",
        ])
        .env("DATABASE_URL", database_url)
        .env("TAQUILLA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn");
    command
}

/// Starts `taquilla metrics-export` on `database_url` and waits until `/metrics` responds.
async fn start_exporter(database_url: &str, port: u16) -> Running {
    let child = exporter_command(database_url, port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start taquilla metrics-export");
    let mut exporter = Running(child);
    wait_until_ready(&mut exporter, &format!("http://127.0.0.1:{port}/metrics")).await;
    exporter
}

/// A demo cashier logged in to the API.
struct Cashier {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Cashier {
    async fn login(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": "demo-cajero", "password": "demo-cajero-2026" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            client,
            base: base.to_string(),
            token: login["access_token"].as_str().unwrap().to_string(),
        }
    }

    /// Sends a request, asserts a 2xx status and returns the JSON body.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if method == reqwest::Method::POST {
            request = request.header("idempotency-key", Uuid::new_v4().to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {body}"
        );
        body
    }

    async fn available_places(&self, zone_id: &str) -> i64 {
        let availability = self
            .call(
                reqwest::Method::GET,
                &format!("/zones/{zone_id}/availability"),
                None,
            )
            .await;
        availability["available"].as_i64().unwrap()
    }
}

/// Ids and amounts of the demo sale.
struct Sale {
    tenant_id: String,
    event_id: String,
    /// Zone name and id of every zone of the event.
    zones: BTreeMap<String, String>,
    platea_available_before: i64,
    order_total_usd_cents: i64,
}

/// Sells two Platea seats paid in cash, then holds three Pista places without
/// an order, as in the README walkthrough.
async fn sell_two_seats(cashier: &Cashier) -> Sale {
    let events = cashier.call(reqwest::Method::GET, "/events", None).await;
    let event_id = events["items"][0]["id"].as_str().unwrap().to_string();
    let zones = cashier
        .call(
            reqwest::Method::GET,
            &format!("/events/{event_id}/zones"),
            None,
        )
        .await;
    let zones: BTreeMap<String, String> = zones["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|zone| {
            (
                zone["name"].as_str().unwrap().to_string(),
                zone["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let platea = zones["Platea"].clone();
    let platea_available_before = cashier.available_places(&platea).await;

    let availability = cashier
        .call(
            reqwest::Method::GET,
            &format!("/zones/{platea}/availability"),
            None,
        )
        .await;
    let seats: Vec<Value> = availability["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|seat| seat["status"] == "available")
        .take(2)
        .map(|seat| seat["id"].clone())
        .collect();
    let hold = cashier
        .call(
            reqwest::Method::POST,
            "/holds",
            Some(json!({ "zone_id": platea, "seat_ids": seats })),
        )
        .await;
    let customer = cashier
        .call(
            reqwest::Method::POST,
            "/customers",
            Some(json!({ "first_name": "María", "last_name": "Pérez", "document": "V-12345678", "phone": "0414-1234567" })),
        )
        .await;
    let order = cashier
        .call(
            reqwest::Method::POST,
            "/orders",
            Some(json!({ "hold_id": hold["id"], "customer_id": customer["id"] })),
        )
        .await;
    let order_id = order["id"].as_str().unwrap();
    let order_total_usd_cents = order["total_usd_cents"].as_i64().unwrap();
    let paid = cashier
        .call(
            reqwest::Method::POST,
            &format!("/orders/{order_id}/payments"),
            Some(json!({ "method": "cash", "currency": "USD", "amount_cents": order_total_usd_cents })),
        )
        .await;
    assert_eq!(
        paid["order"]["status"], "paid",
        "the payment completed the order"
    );
    let me = cashier.call(reqwest::Method::GET, "/auth/me", None).await;
    let tenant_id = me["tenant_id"].as_str().unwrap().to_string();

    cashier
        .call(
            reqwest::Method::POST,
            "/holds",
            Some(json!({ "zone_id": zones["Pista"], "quantity": 3 })),
        )
        .await;

    Sale {
        tenant_id,
        event_id,
        zones,
        platea_available_before,
        order_total_usd_cents,
    }
}

/// One sample of the exposition: metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the sample lines of a text exposition. Label values here are ids and
/// plain words, so escapes are not handled.
fn parse_samples(exposition: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in exposition.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').expect("label has a value");
                (key.to_string(), value.trim_matches('"').to_string())
            })
            .collect();
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value: value.parse().expect("numeric sample value"),
        });
    }
    samples
}

/// Returns the value of the one sample of `name` whose labels include `labels`.
fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one sample of {name} with {labels:?}, found {matching:?}"
    );
    matching[0].value
}

async fn scrape(port: u16) -> (u16, String) {
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("scrape the exporter");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Finds `promtool`; CI sets TAQUILLA_REQUIRE_PROMTOOL=1 so its absence fails there.
fn promtool() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join("promtool"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() && std::env::var_os("TAQUILLA_REQUIRE_PROMTOOL").is_some() {
        panic!("promtool is required (Debian package `prometheus`) but is not on PATH");
    }
    found
}

fn assert_promtool_accepts(exposition: &str) {
    let Some(promtool) = promtool() else {
        eprintln!(
            "promtool not found: skipping the exposition lint (install the `prometheus` package)"
        );
        return;
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), exposition.as_bytes()).unwrap();
    let output = check.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool rejected the exposition:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sells through `serve`, starts the exporter on the same database and checks
/// its gauges. Returns the exporter's port and the sale, with both processes.
async fn exporter_reports_sale(database_url: &str) -> (Running, Running, u16, Sale) {
    // Arrange: a demo server with one paid order of two seats and one open hold.
    let server_port = free_port();
    let server = start_server(database_url, server_port).await;
    let cashier = Cashier::login(&format!("http://127.0.0.1:{server_port}")).await;
    let sale = sell_two_seats(&cashier).await;
    let tenant = sale.tenant_id.as_str();
    let event = sale.event_id.as_str();

    // Act
    let exporter_port = free_port();
    let exporter = start_exporter(database_url, exporter_port).await;
    let (status, exposition) = scrape(exporter_port).await;

    // Assert
    assert_eq!(status, 200);
    let samples = parse_samples(&exposition);
    let event_labels = [("tenant_id", tenant), ("event_id", event)];
    assert_eq!(
        value_of(&samples, "venezuelan_pos_event_tickets_sold", &event_labels),
        2.0
    );
    assert_eq!(
        value_of(&samples, "venezuelan_pos_event_revenue_usd", &event_labels),
        sale.order_total_usd_cents as f64 / 100.0
    );
    let available = |zone: &str| {
        value_of(
            &samples,
            "venezuelan_pos_zone_places_available",
            &[
                ("tenant_id", tenant),
                ("event_id", event),
                ("zone_id", sale.zones[zone].as_str()),
            ],
        )
    };
    assert_eq!(
        available("Platea"),
        (sale.platea_available_before - 2) as f64
    );
    assert_eq!(available("Balcón"), 700.0);
    assert_eq!(available("Pista"), 497.0, "the open hold takes 3 places");
    assert_eq!(
        value_of(
            &samples,
            "venezuelan_pos_active_holds",
            &[("tenant_id", tenant)]
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &samples,
            "venezuelan_pos_fiscal_documents_issued",
            &[("tenant_id", tenant), ("series", "A"), ("kind", "invoice")]
        ),
        1.0
    );
    assert_eq!(
        value_of(&samples, "venezuelan_pos_exporter_last_scrape_success", &[]),
        1.0
    );
    assert_promtool_accepts(&exposition);

    (server, exporter, exporter_port, sale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_reports_sale_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    );
    exporter_reports_sale(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_reports_sale_on_postgres() {
    let (name, url) = create_pg_database().await;
    exporter_reports_sale(&url).await;
    drop_pg_database(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_keeps_last_values_without_database() {
    // Arrange: an exporter that has read a sale from its PostgreSQL database.
    let (name, url) = create_pg_database().await;
    let (server, _exporter, port, sale) = exporter_reports_sale(&url).await;
    drop(server);

    // Act: the database disappears under the running exporter.
    drop_pg_database(&name).await;
    let started = Instant::now();
    let (status, exposition) = scrape(port).await;
    let elapsed = started.elapsed();

    // Assert: the scrape still responds, flags the failure and keeps the sale.
    assert_eq!(status, 200);
    assert!(
        elapsed < Duration::from_secs(5),
        "the scrape took {elapsed:?}, more than the 2 s timeout allows"
    );
    let samples = parse_samples(&exposition);
    assert_eq!(
        value_of(&samples, "venezuelan_pos_exporter_last_scrape_success", &[]),
        0.0
    );
    assert_eq!(
        value_of(
            &samples,
            "venezuelan_pos_event_tickets_sold",
            &[
                ("tenant_id", sale.tenant_id.as_str()),
                ("event_id", sale.event_id.as_str())
            ]
        ),
        2.0
    );
    assert!(
        value_of(
            &samples,
            "venezuelan_pos_exporter_last_success_timestamp_seconds",
            &[]
        ) > 0.0
    );
    assert_promtool_accepts(&exposition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_leaves_new_database_unmigrated() {
    // Arrange: an empty PostgreSQL database and a path without an SQLite file.
    let (name, pg_url) = create_pg_database().await;
    let directory = tempfile::tempdir().unwrap();
    let sqlite_path = directory.path().join("taquilla.db");
    let sqlite_url = format!("sqlite://{}", sqlite_path.display());

    for url in [&pg_url, &sqlite_url] {
        // Act
        let output = exporter_command(url, free_port())
            .output()
            .expect("run taquilla metrics-export");

        // Assert: the exporter stops with a message instead of creating tables.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "the exporter started on {url}: {stderr}"
        );
        assert!(
            stderr.contains("error:"),
            "the exporter explains the failure on {url}: {stderr}"
        );
    }
    let mut database = sqlx::PgConnection::connect(&pg_url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut database)
    .await
    .unwrap();
    drop(database);
    assert_eq!(tables, 0, "the exporter created no table");
    assert!(!sqlite_path.exists(), "the exporter created no SQLite file");
    drop_pg_database(&name).await;
}
