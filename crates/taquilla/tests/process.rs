//! Tests of the real `taquilla` process: a server killed in the middle of sales
//! loses no sale it confirmed and leaves nothing half done, and the health check
//! turns 503 when the database goes away.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Row};
use tokio::sync::Mutex;
use uuid::Uuid;

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_admin_url() -> String {
    std::env::var("TAQUILLA_TEST_PG_ADMIN_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string())
}

async fn create_pg_database() -> (String, String) {
    let name = format!("taquilla_process_{}", Uuid::new_v4().simple());
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

/// Starts `taquilla serve --demo` on `database_url` and waits until it responds.
async fn start_server(database_url: &str, port: u16) -> Child {
    start_server_with(database_url, port, &[]).await
}

/// Like [`start_server`], with extra environment variables.
async fn start_server_with(database_url: &str, port: u16, environment: &[(&str, &str)]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("TAQUILLA_ARGON2_MEMORY_KIB", "64")
        .env("TAQUILLA_ARGON2_ITERATIONS", "1")
        .env("TAQUILLA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        // The scenarios make many requests from one address and user.
        .env("TAQUILLA_RATE_LIMIT_USER_PER_HOUR", "0")
        .env("TAQUILLA_RATE_LIMIT_API_CLIENT_PER_HOUR", "0")
        .env("TAQUILLA_RATE_LIMIT_IP_PER_HOUR", "0")
        .env("TAQUILLA_RATE_LIMIT_LOGIN_PER_MINUTE", "0")
        // Last, so a test can override the defaults above.
        .envs(environment.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start taquilla");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/health/live"))
            .send()
            .await
            && response.status().is_success()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("taquilla did not respond on port {port} within 60 s");
}

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

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Sells `seats`; returns the order id once the payment returned 2xx with a paid order.
    async fn sell(&self, zone_id: &str, seats: &[String], customer_id: &str) -> Option<String> {
        let (status, hold) = self
            .call(
                reqwest::Method::POST,
                "/holds",
                Some(json!({ "zone_id": zone_id, "seat_ids": seats })),
                None,
            )
            .await
            .ok()?;
        if status != 201 {
            return None;
        }
        let (status, order) = self
            .call(
                reqwest::Method::POST,
                "/orders",
                Some(json!({ "hold_id": hold["id"], "customer_id": customer_id })),
                None,
            )
            .await
            .ok()?;
        if status != 201 {
            return None;
        }
        let order_id = order["id"].as_str()?.to_string();
        let key = Uuid::new_v4().to_string();
        let body = json!({ "method": "cash", "currency": "USD", "amount_cents": order["total_usd_cents"] });
        let (status, paid) = self
            .call(
                reqwest::Method::POST,
                &format!("/orders/{order_id}/payments"),
                Some(body),
                Some(&key),
            )
            .await
            .ok()?;
        (status == 201 && paid["order"]["status"] == "paid").then_some(order_id)
    }
}

async fn platea_and_customer(cashier: &Cashier) -> (String, Vec<String>, String) {
    let (_, events) = cashier
        .call(reqwest::Method::GET, "/events", None, None)
        .await
        .unwrap();
    let event_id = events["items"][0]["id"].as_str().unwrap().to_string();
    let (_, zones) = cashier
        .call(
            reqwest::Method::GET,
            &format!("/events/{event_id}/zones"),
            None,
            None,
        )
        .await
        .unwrap();
    let platea = zones["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|zone| zone["name"] == "Platea")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, availability) = cashier
        .call(
            reqwest::Method::GET,
            &format!("/zones/{platea}/availability"),
            None,
            None,
        )
        .await
        .unwrap();
    let seats = availability["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|seat| seat["status"] == "available")
        .map(|seat| seat["id"].as_str().unwrap().to_string())
        .collect();
    let (status, customer) = cashier
        .call(
            reqwest::Method::POST,
            "/customers",
            Some(json!({ "first_name": "Luis", "last_name": "Díaz", "document": "V-12345678", "phone": "0412-1234567" })),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 201);
    (platea, seats, customer["id"].as_str().unwrap().to_string())
}

enum Database {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Runs a query returning rows of (i64) and collects them, on either backend.
async fn numbers(database: &mut Database, sql: &'static str) -> Vec<i64> {
    match database {
        Database::Sqlite(connection) => sqlx::query(sql)
            .fetch_all(connection)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<i64, _>(0))
            .collect(),
        Database::Postgres(connection) => sqlx::query(sql)
            .fetch_all(connection)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<i64, _>(0))
            .collect(),
    }
}

async fn order_state(database: &mut Database, order_id: Uuid) -> (String, bool, i64) {
    let sql = "SELECT o.status, o.invoice_id IS NOT NULL, (SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = o.tenant_id AND t.order_id = o.id) \
               FROM orders o WHERE o.id = $1";
    match database {
        Database::Sqlite(connection) => {
            let row = sqlx::query(sql)
                .bind(order_id)
                .fetch_one(connection)
                .await
                .unwrap();
            (row.get(0), row.get(1), row.get(2))
        }
        Database::Postgres(connection) => {
            let row = sqlx::query(sql)
                .bind(order_id)
                .fetch_one(connection)
                .await
                .unwrap();
            (row.get(0), row.get(1), row.get(2))
        }
    }
}

async fn killed_server_loses_nothing(database_url: String) {
    // Arrange: a server with the demo event, and eight cashiers selling distinct seats.
    let port = free_port();
    let mut server = start_server(&database_url, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let cashier = Cashier::login(&base).await;
    let (platea, seats, customer_id) = platea_and_customer(&cashier).await;
    let seats = Arc::new(seats);
    let confirmed = Arc::new(Mutex::new(Vec::new()));

    // Act: sell for a while, then kill the process without warning.
    let mut sellers = Vec::new();
    for worker in 0..8 {
        let cashier = Cashier::login(&base).await;
        let (seats, confirmed, platea, customer_id) = (
            seats.clone(),
            confirmed.clone(),
            platea.clone(),
            customer_id.clone(),
        );
        sellers.push(tokio::spawn(async move {
            for round in 0..60 {
                let first = (round * 8 + worker) * 2;
                let Some(pair) = seats.get(first..first + 2) else {
                    break;
                };
                if let Some(order_id) = cashier.sell(&platea, pair, &customer_id).await {
                    confirmed.lock().await.push(order_id);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    server.kill().expect("SIGKILL taquilla");
    server.wait().expect("reap taquilla");
    for seller in sellers {
        seller.await.unwrap();
    }
    let confirmed = confirmed.lock().await.clone();
    assert!(
        !confirmed.is_empty(),
        "no sale completed before the kill; the test proves nothing"
    );

    // Assert: every confirmed sale is there and complete, and nothing is half done.
    let mut database = if database_url.starts_with("sqlite:") {
        Database::Sqlite(
            sqlx::SqliteConnection::connect(&database_url)
                .await
                .unwrap(),
        )
    } else {
        let mut connection = sqlx::PgConnection::connect(&database_url).await.unwrap();
        // A backend that received COMMIT before the kill still commits it, so
        // wait until the killed server's sessions are gone before counting.
        for _ in 0..100 {
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(&mut connection)
            .await
            .unwrap();
            if others == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Database::Postgres(connection)
    };
    for order_id in &confirmed {
        let (status, has_invoice, tickets) =
            order_state(&mut database, Uuid::parse_str(order_id).unwrap()).await;
        assert_eq!(status, "paid", "order {order_id} was confirmed as paid");
        assert!(has_invoice, "order {order_id} has its invoice");
        assert_eq!(tickets, 2, "order {order_id} has one ticket per seat");
    }
    let half_done = numbers(
        &mut database,
        "SELECT COUNT(*) FROM orders o WHERE o.status = 'paid' AND (o.invoice_id IS NULL OR \
         (SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = o.tenant_id AND t.order_id = o.id) = 0)",
    )
    .await;
    assert_eq!(
        half_done,
        vec![0],
        "no paid order without invoice or tickets"
    );
    let invoice_numbers = numbers(
        &mut database,
        "SELECT number FROM fiscal_documents WHERE kind = 'invoice' ORDER BY number",
    )
    .await;
    let expected: Vec<i64> = (1..=invoice_numbers.len() as i64).collect();
    assert_eq!(
        invoice_numbers, expected,
        "invoice numbers are gapless after the crash"
    );
    let paid_orders = numbers(
        &mut database,
        "SELECT COUNT(*) FROM orders WHERE status = 'paid'",
    )
    .await;
    assert_eq!(paid_orders, vec![invoice_numbers.len() as i64]);
    let sold_seats = numbers(
        &mut database,
        "SELECT COUNT(*) FROM seats WHERE status = 'sold'",
    )
    .await;
    let seat_tickets = numbers(
        &mut database,
        "SELECT COUNT(*) FROM tickets WHERE seat_id IS NOT NULL AND status = 'valid'",
    )
    .await;
    assert_eq!(
        sold_seats, seat_tickets,
        "every sold seat has exactly one ticket"
    );
    drop(database);

    // The restarted server goes on numbering from where the committed sales stopped.
    let mut server = start_server(&database_url, port).await;
    let cashier = Cashier::login(&base).await;
    let (platea, seats, customer_id) = platea_and_customer(&cashier).await;
    let order_id = cashier
        .sell(&platea, &seats[..2], &customer_id)
        .await
        .expect("selling after the restart");
    let (_, order) = cashier
        .call(
            reqwest::Method::GET,
            &format!("/orders/{order_id}"),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        order["invoice"]["number"],
        json!(invoice_numbers.len() as i64 + 1)
    );
    server.kill().expect("stop taquilla");
    server.wait().expect("reap taquilla");

    // The audit chain and series survived the kill intact…
    let (passed, report) = fiscal_verify(&database_url);
    assert!(passed, "fiscal verify after the crash: {report}");
    assert!(report.contains(": ok: "), "{report}");

    // …and an invoice edited behind taquilla's back is named by the check.
    let mut database = if database_url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(&database_url)
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER fiscal_documents_no_update")
            .execute(&mut connection)
            .await
            .unwrap();
        Database::Sqlite(connection)
    } else {
        let mut connection = sqlx::PgConnection::connect(&database_url).await.unwrap();
        sqlx::query("ALTER TABLE fiscal_documents DISABLE TRIGGER fiscal_documents_immutable")
            .execute(&mut connection)
            .await
            .unwrap();
        Database::Postgres(connection)
    };
    numbers(
        &mut database,
        "UPDATE fiscal_documents SET total_bs_cents = total_bs_cents - 1 WHERE kind = 'invoice' AND number = 1",
    )
    .await;
    drop(database);
    let (passed, report) = fiscal_verify(&database_url);
    assert!(!passed, "fiscal verify must fail after tampering: {report}");
    assert!(
        report.contains("document_mismatch at fiscal_documents id="),
        "{report}"
    );
}

/// Runs `taquilla fiscal verify` on a database; returns whether it passed and what it printed.
fn fiscal_verify(database_url: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["fiscal", "verify"])
        .env("DATABASE_URL", database_url)
        .env("TAQUILLA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run taquilla fiscal verify");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_server_loses_nothing_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    killed_server_loses_nothing(format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_server_loses_nothing_on_postgres() {
    let (name, url) = create_pg_database().await;
    killed_server_loses_nothing(url).await;
    drop_pg_database(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_503_when_database_goes_away() {
    // Arrange: a server on its own PostgreSQL database.
    let (name, url) = create_pg_database().await;
    let port = free_port();
    let mut server = start_server(&url, port).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let health = format!("http://127.0.0.1:{port}/health/");
    let healthy = client.get(&health).send().await.unwrap();
    assert_eq!(healthy.status().as_u16(), 200);

    // Act: the database disappears under the running server.
    drop_pg_database(&name).await;

    // Assert: health and readiness report it; liveness does not.
    let response = client.get(&health).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["components"]["database"]["status"], "unhealthy");
    let ready = client
        .get(format!("http://127.0.0.1:{port}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let live = client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status().as_u16(), 200);
    server.kill().expect("stop taquilla");
    server.wait().expect("reap taquilla");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_check() {
    let Some(promtool) = promtool() else {
        eprintln!(
            "promtool not found: skipping the exposition lint (install the `prometheus` package)"
        );
        return;
    };
    // Arrange: a server with one completed sale, so business metrics have series.
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    );
    let port = free_port();
    let mut server = start_server(&url, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let cashier = Cashier::login(&base).await;
    let (platea, seats, customer_id) = platea_and_customer(&cashier).await;
    cashier
        .sell(&platea, &seats[..2], &customer_id)
        .await
        .expect("a sale");

    // Act
    let exposition = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), exposition.as_bytes()).unwrap();
    let output = check.wait_with_output().unwrap();
    server.kill().expect("stop taquilla");
    server.wait().expect("reap taquilla");

    // Assert
    assert!(exposition.contains("venezuelan_pos_ticket_sales_total{"));
    assert!(
        output.status.success(),
        "promtool rejected the exposition:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `taquilla load-test --test-type onsale` against a real server: the
/// zone sells out exactly, the command's invariant report is clean, and the
/// database agrees (each seat sold once, with one ticket, invoices gapless).
async fn onsale_sells_out_exactly(database_url: String) {
    let port = free_port();
    let mut server = start_server(&database_url, port).await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_taquilla"))
            .args([
                "load-test",
                "--target-url",
                &format!("http://127.0.0.1:{port}"),
                "--test-type",
                "onsale",
                "--seats",
                "150",
                "--concurrent-users",
                "40",
                "--duration",
                "60",
                "--json",
            ])
            .output()
            .expect("run taquilla load-test")
    })
    .await
    .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "load-test printed no JSON report: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // The exit status follows the report. Latency thresholds depend on the
    // machine, so only the invariants are checked here.
    assert_eq!(
        output.status.success(),
        report["passed"] == true,
        "{report}"
    );
    assert_eq!(report["capacity"], 150);
    assert_eq!(report["seats_sold"], 150);
    assert_eq!(report["sold_out"], true);
    assert_eq!(report["invariants"]["clean"], true, "{report}");
    assert_eq!(report["errors"], 0);
    assert!(
        report["conflicts"].as_i64().unwrap() > 0,
        "buyers should have raced for seats: {report}"
    );

    let mut database = if database_url.starts_with("sqlite") {
        Database::Sqlite(
            sqlx::SqliteConnection::connect(&database_url)
                .await
                .unwrap(),
        )
    } else {
        Database::Postgres(sqlx::PgConnection::connect(&database_url).await.unwrap())
    };
    let sold_twice = numbers(
        &mut database,
        "SELECT COUNT(*) FROM (SELECT seat_id FROM tickets WHERE seat_id IS NOT NULL \
         GROUP BY seat_id HAVING COUNT(*) > 1) AS twice",
    )
    .await;
    assert_eq!(sold_twice, vec![0]);
    let sold = numbers(
        &mut database,
        "SELECT COUNT(*) FROM seats s JOIN zones z ON z.tenant_id = s.tenant_id AND z.id = s.zone_id \
         WHERE z.name = 'Platea' AND s.status = 'sold' AND z.capacity = 150",
    )
    .await;
    assert_eq!(sold, vec![150]);
    let invoices = numbers(
        &mut database,
        "SELECT number FROM fiscal_documents WHERE kind = 'invoice' ORDER BY number",
    )
    .await;
    let expected: Vec<i64> = (1..=invoices.len() as i64).collect();
    assert_eq!(invoices, expected);
    let (passed, verification) = fiscal_verify(&database_url);
    assert!(passed, "{verification}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onsale_sells_out_exactly_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    onsale_sells_out_exactly(format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onsale_sells_out_exactly_on_postgres() {
    let (name, url) = create_pg_database().await;
    onsale_sells_out_exactly(url).await;
    drop_pg_database(&name).await;
}

/// Starts a loopback OTLP/HTTP collector stub. It stores every body posted
/// to `/v1/traces` and returns 200.
async fn start_collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let stored = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let stored = stored.clone();
            async move {
                stored.lock().await.push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), bodies)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// With OTEL_EXPORTER_OTLP_ENDPOINT set, a request's span reaches the
/// collector with its route, request id and tenant, at the latest when the
/// server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_otlp_collector() {
    let (collector, bodies) = start_collector().await;
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    );
    let port = free_port();
    let mut server = start_server_with(
        &database_url,
        port,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_SERVICE_NAME", "taquilla-otel-test"),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let cashier = Cashier::login(&base).await;
    let request_id = format!("otel-{}", Uuid::new_v4());
    let response = cashier
        .client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&cashier.token)
        .header("x-request-id", &request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let me: Value = cashier
        .client
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(&cashier.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_id = me["tenant_id"]
        .as_str()
        .expect("the cashier's tenant")
        .to_string();

    // SIGTERM: a graceful stop flushes the batch of spans.
    let pid = server.id().to_string();
    let stopped = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(stopped.success());
    let waited = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(waited.success(), "server exit status {waited:?}");

    let bodies = bodies.lock().await;
    assert!(!bodies.is_empty(), "the collector received no spans");
    let all: Vec<u8> = bodies.iter().flatten().copied().collect();
    assert!(
        contains(&all, &request_id),
        "the request id is not in any span"
    );
    assert!(
        contains(&all, "GET /api/v1/events"),
        "no span is named after the route"
    );
    assert!(contains(&all, "tenant.id"));
    assert!(
        contains(&all, &tenant_id),
        "the tenant id is not in any span"
    );
    assert!(
        contains(&all, "taquilla-otel-test"),
        "the service name is missing"
    );
    // Tokens never reach spans.
    assert!(!contains(&all, &cashier.token));
}
