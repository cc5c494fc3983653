//! Browser scenarios of the web app: each test starts the application, seeds
//! the demo tenant and runs one script of `tests/browser/` in headless
//! Chromium through playwright-core (`node <script>.mjs`).
//!
//! They need Debian's `chromium` (or CHROMIUM_PATH) and `npm ci` in
//! `tests/browser/`. Without them a test prints a skip line and passes,
//! unless TAQUILLA_REQUIRE_BROWSER=1, which CI sets, makes it fail.
//! `.config/nextest.toml` runs them one at a time.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use taquilla_app::demo::DEMO_USERS;
use taquilla_app::i18n::{Locale, error_message};
use taquilla_store::model::Role;

use crate::helpers::{Backend, EventTimes, PASSWORD, RATE, Shop, TestApp, ZoneSpec, spawn_app};

mod cashier;

backend_tests!(
    login_language_and_logout,
    gate_admits_ticket_once,
    day_closes_with_z_report,
    organizer_creates_zone_and_reads_dashboard
);

/// Overall time limit of one scenario, passed to the script as SCENARIO_TIMEOUT_MS.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);
/// Extra time the Rust side gives the script to close Chromium after its own timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Returns the directory of the scenario scripts and their `package.json`.
fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Returns the Chromium that the scripts launch: CHROMIUM_PATH or /usr/bin/chromium.
fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Lists what a browser test needs and this machine lacks, with how to install it.
fn missing_requirements() -> Vec<String> {
    let mut missing = Vec::new();
    let chromium = chromium_path();
    if !chromium.is_file() {
        missing.push(format!(
            "{} not found (apt-get install --no-install-recommends chromium, or set CHROMIUM_PATH)",
            chromium.display()
        ));
    }
    let playwright = scripts_dir().join("node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        missing.push(format!(
            "{} not found (run PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci in {})",
            playwright.display(),
            scripts_dir().display()
        ));
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        missing.push("`node` is not on PATH (install Node.js 20 or newer)".to_string());
    }
    missing
}

/// Returns true when Chromium, Node.js and playwright-core are installed.
/// Otherwise prints why the test is skipped and returns false, or panics
/// when TAQUILLA_REQUIRE_BROWSER=1.
pub fn browser_available(test_name: &str) -> bool {
    let missing = missing_requirements();
    if missing.is_empty() {
        return true;
    }
    let reasons = missing.join("\n  ");
    if std::env::var("TAQUILLA_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("TAQUILLA_REQUIRE_BROWSER=1 but the browser tests cannot run:\n  {reasons}");
    }
    eprintln!("SKIPPED browser test {test_name}: browser tools are missing:\n  {reasons}");
    false
}

/// Returns `<workspace>/target/browser-artifacts/<test_name>/`, created and emptied.
fn artifacts_dir(test_name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/browser-artifacts")
        .join(test_name);
    if directory.exists() {
        std::fs::remove_dir_all(&directory)
            .unwrap_or_else(|error| panic!("removing {}: {error}", directory.display()));
    }
    std::fs::create_dir_all(&directory)
        .unwrap_or_else(|error| panic!("creating {}: {error}", directory.display()));
    directory
        .canonicalize()
        .unwrap_or_else(|error| panic!("resolving {}: {error}", directory.display()))
}

/// Copies each line of `stream` to the test's output with a `prefix`.
fn forward_lines(
    stream: impl Read + Send + 'static,
    prefix: &'static str,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => println!("{prefix}{line}"),
                Err(error) => {
                    println!("{prefix}(output not readable: {error})");
                    break;
                }
            }
        }
    })
}

/// Runs `node <script>.mjs` from `tests/browser/` against `app` and asserts
/// that it exits with status 0. The script gets BASE_URL, ARTIFACTS_DIR,
/// SCENARIO_TIMEOUT_MS and `extra_env`, and its output is printed line by line
/// while it runs.
pub async fn run_scenario(
    app: &TestApp,
    script: &str,
    test_name: &str,
    extra_env: &[(&str, &str)],
) {
    let script_file = scripts_dir().join(format!("{script}.mjs"));
    assert!(
        script_file.is_file(),
        "browser scenario {} not found",
        script_file.display()
    );
    let artifacts = artifacts_dir(test_name);

    let mut command = Command::new("node");
    command
        .arg(&script_file)
        .current_dir(scripts_dir())
        .env("BASE_URL", &app.address)
        .env("ARTIFACTS_DIR", &artifacts)
        .env(
            "SCENARIO_TIMEOUT_MS",
            SCENARIO_TIMEOUT.as_millis().to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in extra_env {
        command.env(name, value);
    }

    let script_name = script.to_string();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("starting node {script_name}.mjs: {error}"));
        let stdout = forward_lines(child.stdout.take().expect("piped stdout"), "[node] ");
        let stderr = forward_lines(child.stderr.take().expect("piped stderr"), "[node stderr] ");

        // The script enforces SCENARIO_TIMEOUT itself; this limit only catches
        // a script that hangs while closing Chromium.
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for node") {
                break Some(status);
            }
            if started.elapsed() > SCENARIO_TIMEOUT + SHUTDOWN_GRACE {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = stdout.join();
        let _ = stderr.join();
        status
    })
    .await
    .expect("the node runner thread panicked");

    let status = status.unwrap_or_else(|| {
        panic!(
            "browser scenario {script}.mjs timed out after {:?} and was killed",
            SCENARIO_TIMEOUT + SHUTDOWN_GRACE
        )
    });
    assert!(
        status.success(),
        "browser scenario {script}.mjs failed with {status}; screenshots in {}",
        artifacts.display()
    );
}

/// Returns the demo user's (username, password) of `role`.
pub(crate) fn demo_user(role: Role) -> (&'static str, &'static str) {
    DEMO_USERS
        .iter()
        .find(|(_, _, user_role)| *user_role == role)
        .map(|(username, password, _)| (*username, *password))
        .unwrap_or_else(|| panic!("the demo data has no user with role {role:?}"))
}

/// Returns the test name used for the artifacts directory: `<scenario>-<backend>`.
pub(crate) fn test_name(scenario: &str, backend: Backend) -> String {
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    format!("{scenario}-{backend}")
}

async fn login_language_and_logout(backend: Backend) {
    let name = test_name("login", backend);
    if !browser_available(&name) {
        return;
    }
    let app = spawn_app(backend).await;
    taquilla_app::demo::seed(&app.state)
        .await
        .expect("seeding the demo tenant");
    let (username, password) = demo_user(Role::Cashier);

    run_scenario(
        &app,
        "login",
        &name,
        &[
            ("CASHIER_USERNAME", username),
            ("CASHIER_PASSWORD", password),
            (
                "LOGIN_ERROR_ES",
                error_message("invalid_credentials", Locale::Es),
            ),
            (
                "LOGIN_ERROR_EN",
                error_message("invalid_credentials", Locale::En),
            ),
        ],
    )
    .await;

    app.teardown().await;
}

/// Sets up a tenant with one general admission zone on sale.
async fn general_admission_shop(app: &TestApp, slug: &str) -> crate::helpers::Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::GeneralAdmission {
            capacity: 50,
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

async fn gate_admits_ticket_once(backend: Backend) {
    let name = test_name("gate", backend);
    if !browser_available(&name) {
        return;
    }
    let app = spawn_app(backend).await;
    let shop = general_admission_shop(&app, "puerta").await;
    let order = app
        .sell(
            &shop,
            serde_json::json!({ "zone_id": shop.zone_id, "quantity": 1 }),
        )
        .await;
    let order_id = uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap();
    let tickets = app.tickets(&shop.tenant.cashier_token, order_id).await;
    let code = tickets.body[0]["code"].as_str().unwrap().to_string();
    let qr_payload = tickets.body[0]["qr_payload"].as_str().unwrap().to_string();
    let event_id = shop.event_id.to_string();

    run_scenario(
        &app,
        "gate",
        &name,
        &[
            ("VALIDATOR_USERNAME", "puerta-porteria"),
            ("VALIDATOR_PASSWORD", PASSWORD),
            ("EVENT_ID", &event_id),
            ("TICKET_CODE", &code),
            ("TICKET_QR", &qr_payload),
        ],
    )
    .await;

    // The scenario's two scans left one admission and the first gate's name.
    let ticket = app.tickets(&shop.tenant.cashier_token, order_id).await;
    assert_eq!(ticket.body[0]["uses"], 1);
    assert_eq!(ticket.body[0]["first_gate"], "Puerta 2");
    app.teardown().await;
}

async fn day_closes_with_z_report(backend: Backend) {
    let name = test_name("day", backend);
    if !browser_available(&name) {
        return;
    }
    let app = spawn_app(backend).await;
    let shop = general_admission_shop(&app, "dia").await;
    app.sell(
        &shop,
        serde_json::json!({ "zone_id": shop.zone_id, "quantity": 2 }),
    )
    .await;
    let x = app
        .get("/api/v1/fiscal/reports/x")
        .token(&shop.tenant.cashier_token)
        .send()
        .await;
    assert_eq!(x.status, 200, "{}", x.text);
    let net_bs_cents = x.body["net_total_bs_cents"].as_i64().unwrap();
    let net_bs = taquilla_app::web::text::money(
        &format!("{}.{:02}", net_bs_cents / 100, net_bs_cents % 100),
        "VES",
        Locale::Es,
    );
    let day_end: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(x.body["to"].clone()).unwrap();
    let closed_until = taquilla_app::web::text::date_time(day_end, Locale::Es);
    let zone_id = shop.zone_id.to_string();

    run_scenario(
        &app,
        "day",
        &name,
        &[
            ("CASHIER_USERNAME", "dia-cajero"),
            ("CASHIER_PASSWORD", PASSWORD),
            ("ZONE_ID", &zone_id),
            ("NET_BS", &net_bs),
            ("CLOSED_UNTIL", &closed_until),
        ],
    )
    .await;

    // The page's Z report is the cashier's first, and the sale after it failed.
    let reports = app
        .get("/api/v1/fiscal/reports/z")
        .token(&shop.tenant.cashier_token)
        .send()
        .await;
    assert_eq!(reports.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(reports.body["items"][0]["number"], 1);
    assert_eq!(
        reports.body["items"][0]["totals"]["net_total_bs_cents"],
        net_bs_cents
    );
    app.teardown().await;
}

async fn organizer_creates_zone_and_reads_dashboard(backend: Backend) {
    let name = test_name("organizer", backend);
    if !browser_available(&name) {
        return;
    }
    let app = spawn_app(backend).await;

    // An event on sale with a numbered and a general admission zone, and a
    // draft event of the same venue that still accepts zones.
    let tenant = app.setup_tenant("panel", "J-12345678-4").await;
    let token = &tenant.admin_token;
    let venue_id = app.create_venue(token).await;
    let event_id = app
        .create_event(token, venue_id, EventTimes::default())
        .await;
    let numbered = ZoneSpec::Numbered {
        rows: vec![10; 6],
        price_usd_cents: 3_000,
    };
    let general = ZoneSpec::GeneralAdmission {
        capacity: 40,
        price_usd_cents: 1_500,
    };
    let numbered_id = app.create_zone(token, event_id, &numbered).await;
    let general_id = app.create_zone(token, event_id, &general).await;
    app.activate_event(token, event_id).await;
    app.create_exchange_rate(token, RATE).await;
    let customer_id = app.create_customer(&tenant.cashier_token).await;
    let draft_event_id = app
        .create_event(token, venue_id, EventTimes::default())
        .await;
    let shop = Shop {
        tenant,
        venue_id,
        event_id,
        zone_id: numbered_id,
        customer_id,
    };

    let seats = app.seat_ids(&shop.tenant.cashier_token, numbered_id).await;
    app.sell(
        &shop,
        serde_json::json!({ "zone_id": numbered_id, "seat_ids": &seats[0..3] }),
    )
    .await;
    app.sell(
        &shop,
        serde_json::json!({ "zone_id": numbered_id, "seat_ids": &seats[20..22] }),
    )
    .await;
    app.sell(
        &shop,
        serde_json::json!({ "zone_id": general_id, "quantity": 4 }),
    )
    .await;
    let zone_figures = serde_json::json!([
        { "name": "Platea", "capacity": 60, "sold": 5, "available": 55 },
        { "name": "Pista", "capacity": 40, "sold": 4, "available": 36 },
    ])
    .to_string();
    let event_id = event_id.to_string();
    let draft_event_id = draft_event_id.to_string();

    run_scenario(
        &app,
        "organizer",
        &name,
        &[
            ("ADMIN_USERNAME", "panel-admin"),
            ("ADMIN_PASSWORD", PASSWORD),
            ("DRAFT_EVENT_ID", &draft_event_id),
            ("SALES_EVENT_ID", &event_id),
            ("ZONE_FIGURES", &zone_figures),
            ("TICKETS_SOLD", "9"),
        ],
    )
    .await;

    // The zone the page created is the draft event's only zone, 6 rows of 12.
    let zones = app
        .get(&format!("/api/v1/events/{draft_event_id}/zones"))
        .token(&shop.tenant.admin_token)
        .send()
        .await;
    assert_eq!(zones.status, 200, "{}", zones.text);
    let items = zones.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "Balcón");
    assert_eq!(items[0]["capacity"], 72);
    assert_eq!(items[0]["price_usd_cents"], 2_500);
    assert_eq!(items[0]["rows"].as_array().unwrap().len(), 6);
    app.teardown().await;
}
