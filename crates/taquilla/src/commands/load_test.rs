//! `taquilla load-test`: load against a running server on loopback.
//! `--test-type sales` (the default) runs closed-loop complete sales: each
//! virtual client repeats hold → order → payment → tickets (or one quick
//! sale) on seats no other client picks, so every sale should succeed.
//! `--test-type onsale` runs the on-sale spike (see `onsale.rs`),
//! `--test-type gate` scans every ticket of a sold-out event twice (see
//! `gate.rs`), and
//! `health`, `auth`, `events`, `reports` and `mixed` run the request mixes of
//! the operators' plan (see `scenarios.rs`).
//!
//! The command sets up its own event (a numbered zone large enough for the
//! run) with a tenant admin's credentials unless `--event-id` names one, and
//! never targets a host other than 127.0.0.1, ::1 or localhost. With
//! `--tenants N`, sales go round-robin to N tenants, each with its own event,
//! so that no per-tenant counter is shared by all of them.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Maximum number of tenants one run sets up, one after the other.
const MAX_TENANTS: usize = 10_000;

#[derive(Debug, Args)]
pub struct LoadTestArgs {
    /// Base URL of the server; only loopback addresses are accepted.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    target_url: String,

    /// Concurrent virtual clients.
    #[arg(long, default_value_t = 8)]
    concurrent_users: usize,

    /// Seconds to run.
    #[arg(long, default_value_t = 20)]
    duration: u64,

    /// Iterations (sales, or scenario runs of a request mix) per user; the run
    /// ends when every user is done or --duration passes.
    #[arg(long)]
    requests_per_user: Option<u64>,

    /// Open loop: iterations started per second whatever the responses take,
    /// with at most --concurrent-users in flight (request mixes only).
    #[arg(long)]
    rate: Option<f64>,

    /// Event to sell from (`sales`, `events`, `mixed`): its numbered zone with
    /// the most seats, and only seats available now. Default: a new event.
    #[arg(long)]
    event_id: Option<String>,

    /// Upper bound on complete sales, whatever the duration.
    #[arg(long, default_value_t = 200_000)]
    max_sales: usize,

    /// Seats per sale.
    #[arg(long, default_value_t = 2)]
    seats_per_sale: usize,

    /// Tenant admin who sets up the event (and today's rate, when the tenant has
    /// no rate in effect) and makes the requests.
    #[arg(long = "username", alias = "admin-user", default_value = "demo-admin")]
    admin_user: String,

    /// Password of --username (the demo admin's by default).
    #[arg(
        long = "password",
        alias = "admin-password",
        default_value = "demo-admin-2026",
        hide_default_value = true
    )]
    admin_password: String,

    /// `sales`: closed-loop complete sales on seats no other client picks.
    /// `onsale`: the spike, with --concurrent-users buyers racing for the
    /// --seats of one new event with quick sales until it is sold out; then the
    /// invariants are checked through the API. `gate`: sells the --seats of
    /// a new event, then --concurrent-users scanners validate every ticket
    /// twice, and each ticket must be admitted exactly once. `health`, `auth`, `events`,
    /// `reports`: one scenario of the operators' plan. `mixed`: all of them,
    /// weighted health 10, auth 20, events 25, sales 30, reports 15.
    #[arg(long, value_enum, default_value = "sales")]
    test_type: TestType,

    /// Seats of the on-sale event (`--test-type onsale`) or of the event whose
    /// tickets are scanned (`--test-type gate`).
    #[arg(long, default_value_t = 2_500)]
    seats: usize,

    /// `online`: hold, order, payment and tickets, four requests per sale.
    /// `quick`: one `POST /sales` per sale, as at the box office.
    #[arg(long, value_enum, default_value = "online")]
    flow: SaleFlow,

    /// `sales` only: spread the sales round-robin over this many tenants,
    /// each with its own event. Their admins are --username with `{tenant}`
    /// replaced by 1 … N (for example `carga-{tenant}-admin`), all with --password;
    /// create them with `taquilla create-admin --tenant`.
    #[arg(long, default_value_t = 1)]
    tenants: usize,

    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TestType {
    Sales,
    Onsale,
    Gate,
    Health,
    Auth,
    Events,
    Reports,
    Mixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SaleFlow {
    Online,
    Quick,
}

fn check_loopback(url: &str) -> anyhow::Result<()> {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    let host = host.rsplit_once(':').map(|(host, _)| host).unwrap_or(host);
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("load tests only run against loopback (127.0.0.1, ::1, localhost), not `{host}`");
    }
    Ok(())
}

/// What to change when the server under test rejects requests with 429 `rate_limited`.
pub(super) const RATE_LIMIT_HINT: &str = "Run the server under test with \
     TAQUILLA_RATE_LIMIT_USER_PER_HOUR=0 TAQUILLA_RATE_LIMIT_IP_PER_HOUR=0 (and \
     TAQUILLA_RATE_LIMIT_LOGIN_PER_MINUTE=0 for auth and mixed), because every request of a \
     load test comes from one user and one address.";

/// A request rejected with 429, kept apart from other failures because it
/// means the server's rate limits are on, not that the server failed.
#[derive(Debug)]
pub(super) struct RateLimited {
    path: String,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} was rejected with 429 rate_limited. {RATE_LIMIT_HINT}",
            self.path
        )
    }
}

impl std::error::Error for RateLimited {}

/// One tenant's part of a sales run: its admin's session, and the seats it
/// sells to one customer.
struct Shop {
    api: Api,
    zone_id: String,
    seat_ids: Vec<String>,
    customer_id: String,
}

pub(super) struct Api {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) token: String,
}

impl Api {
    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<String>,
    ) -> anyhow::Result<(u16, Value)> {
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
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub(super) async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<String>,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.send(method, path, body, key).await?;
        if status == 429 {
            return Err(RateLimited {
                path: path.to_string(),
            }
            .into());
        }
        if !(200..300).contains(&status) {
            bail!("{path} answered {status}: {value}");
        }
        Ok(value)
    }
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("login as {username} failed with {status}: {body}");
    }
    Ok(body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Returns whether the tenant has a current dollar rate effective on or
/// before `today`, which is the rate an order created today takes.
async fn has_rate_for(api: &Api, today: chrono::NaiveDate) -> anyhow::Result<bool> {
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/exchange-rates?limit=200&cursor={cursor}"),
            None => "/exchange-rates?limit=200".to_string(),
        };
        let page = api.expect(reqwest::Method::GET, &path, None, None).await?;
        let applies = page["items"].as_array().into_iter().flatten().any(|rate| {
            rate["currency"] == "USD"
                && rate["superseded"] == false
                && rate["effective_date"]
                    .as_str()
                    .and_then(|date| date.parse::<chrono::NaiveDate>().ok())
                    .is_some_and(|date| date <= today)
        });
        if applies {
            return Ok(true);
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(false),
        }
    }
}

/// Creates an active event with one numbered zone of `seats` seats.
pub(super) async fn set_up_event(
    api: &Api,
    seats: usize,
) -> anyhow::Result<(String, Vec<String>, String)> {
    let now = chrono::Utc::now();
    let venue = api
        .expect(
            reqwest::Method::POST,
            "/venues",
            Some(json!({ "name": "Load test hall", "address": "Loopback", "city": "Caracas" })),
            None,
        )
        .await?;
    let event = api
        .expect(
            reqwest::Method::POST,
            "/events",
            Some(json!({
                "venue_id": venue["id"], "name": format!("Load test {}", now.timestamp()),
                "starts_at": (now + chrono::Duration::days(30)).to_rfc3339(),
                "sale_starts_at": (now - chrono::Duration::days(1)).to_rfc3339(),
                "sale_ends_at": (now + chrono::Duration::days(29)).to_rfc3339(),
            })),
            None,
        )
        .await?;
    let event_id = event["id"].as_str().unwrap_or_default().to_string();
    // Rows of 500 seats, the last one holding the rest, so the zone has exactly `seats`.
    let seats = seats.max(1);
    let mut rows = vec![500; seats / 500];
    if !seats.is_multiple_of(500) {
        rows.push(seats % 500);
    }
    let zone = api
        .expect(
            reqwest::Method::POST,
            &format!("/events/{event_id}/zones"),
            Some(json!({ "name": "Platea", "kind": "numbered", "rows": rows, "price_usd_cents": 2_500 })),
            None,
        )
        .await?;
    api.expect(
        reqwest::Method::POST,
        &format!("/events/{event_id}/activate"),
        None,
        None,
    )
    .await?;
    let today = taquilla_domain::fiscal::caracas_date(now);
    // A new rate for today would replace the tenant's own for every event, so
    // one is added only when no rate applies today. The clients pay in dollar
    // cash with change, whatever the rate.
    if !has_rate_for(api, today).await? {
        api.expect(
            reqwest::Method::POST,
            "/exchange-rates",
            Some(json!({ "rate": "36.12345678", "effective_date": today.to_string() })),
            None,
        )
        .await?;
    }
    let availability = api
        .expect(
            reqwest::Method::GET,
            &format!(
                "/zones/{}/availability",
                zone["id"].as_str().unwrap_or_default()
            ),
            None,
            None,
        )
        .await?;
    let seat_ids = availability["seats"]
        .as_array()
        .map(|seats| {
            seats
                .iter()
                .filter_map(|seat| seat["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let customer_id = create_customer(api).await?;
    Ok((
        zone["id"].as_str().unwrap_or_default().to_string(),
        seat_ids,
        customer_id,
    ))
}

#[derive(Default)]
struct Samples {
    hold: Vec<Duration>,
    order: Vec<Duration>,
    payment: Vec<Duration>,
    tickets: Vec<Duration>,
    sale: Vec<Duration>,
    errors: usize,
    /// Sales stopped by a 429 response, which are not counted in `errors`.
    rate_limited: usize,
    /// Sales in a row that could not connect to the server.
    connect_failures_in_a_row: usize,
}

/// Sales in a row that may fail to connect before a run stops. By then the
/// server is gone, and more attempts would only count errors.
const MAX_CONNECT_FAILURES_IN_A_ROW: usize = 50;

/// Returns whether an error is a failure to connect to the server.
fn is_connect_error(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<reqwest::Error>())
        .any(reqwest::Error::is_connect)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

pub(super) fn summary(name: &str, samples: &mut [Duration]) -> Value {
    samples.sort_unstable();
    let mean = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64 * 1000.0
    };
    json!({
        "kind": name,
        "count": samples.len(),
        "mean_ms": mean,
        "p50_ms": percentile(samples, 0.50),
        "p95_ms": percentile(samples, 0.95),
        "p99_ms": percentile(samples, 0.99),
        "max_ms": samples.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    })
}

async fn one_sale(
    api: &Api,
    zone_id: &str,
    seats: &[String],
    customer_id: &str,
    samples: &Mutex<Samples>,
) -> anyhow::Result<()> {
    let sale_started = Instant::now();
    let started = Instant::now();
    let hold = api
        .expect(
            reqwest::Method::POST,
            "/holds",
            Some(json!({ "zone_id": zone_id, "seat_ids": seats })),
            None,
        )
        .await?;
    let hold_time = started.elapsed();

    let started = Instant::now();
    let order = api
        .expect(
            reqwest::Method::POST,
            "/orders",
            Some(json!({ "hold_id": hold["id"], "customer_id": customer_id })),
            None,
        )
        .await?;
    let order_time = started.elapsed();
    let order_id = order["id"].as_str().unwrap_or_default().to_string();

    let started = Instant::now();
    let paid = api
        .expect(
            reqwest::Method::POST,
            &format!("/orders/{order_id}/payments"),
            Some(json!({ "method": "cash", "currency": "USD", "amount_cents": order["total_usd_cents"].as_i64().unwrap_or(0) + 100 })),
            Some(uuid::Uuid::now_v7().to_string()),
        )
        .await?;
    let payment_time = started.elapsed();
    if paid["order"]["status"] != "paid" {
        bail!(
            "order {order_id} not paid after a full payment: {}",
            paid["order"]["status"]
        );
    }

    let started = Instant::now();
    api.expect(
        reqwest::Method::GET,
        &format!("/orders/{order_id}/tickets"),
        None,
        None,
    )
    .await?;
    let tickets_time = started.elapsed();

    let mut samples = samples.lock().await;
    samples.hold.push(hold_time);
    samples.order.push(order_time);
    samples.payment.push(payment_time);
    samples.tickets.push(tickets_time);
    samples.sale.push(sale_started.elapsed());
    Ok(())
}

/// Sells `seats` with one `POST /sales`, paying in USD cash twice the list
/// price: taxes and IGTF at Venezuelan rates stay below it, and cash gets change.
async fn one_quick_sale(
    api: &Api,
    zone_id: &str,
    seats: &[String],
    customer_id: &str,
    samples: &Mutex<Samples>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let generous_usd_cents = seats.len() as i64 * 2_500 * 2;
    let order = api
        .expect(
            reqwest::Method::POST,
            "/sales",
            Some(json!({
                "zone_id": zone_id,
                "seat_ids": seats,
                "customer_id": customer_id,
                "payments": [{ "method": "cash", "currency": "USD", "amount_cents": generous_usd_cents }],
            })),
            Some(uuid::Uuid::now_v7().to_string()),
        )
        .await?;
    if order["status"] != "paid" {
        bail!("quick sale not paid: {}", order["status"]);
    }
    samples.lock().await.sale.push(started.elapsed());
    Ok(())
}

/// Formats the percentiles of a [`summary`]: `p50 1.0 ms, p95 …, max …`.
pub(super) fn latency_line(summary: &Value) -> String {
    let ms = |field: &str| summary[field].as_f64().unwrap_or(0.0);
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms("p50_ms"),
        ms("p95_ms"),
        ms("p99_ms"),
        ms("max_ms")
    )
}

/// Prints the on-sale report as JSON or as a short text summary.
fn print_onsale(report: &Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let request = &report["requests"][0];
    println!(
        "{} buyers, {} seats: {} sold in {:.1} s ({} sales, {} conflicts, {} errors, {} rate-limited)",
        report["buyers"],
        report["capacity"],
        report["seats_sold"],
        report["duration_s"].as_f64().unwrap_or(0.0),
        report["sales"],
        report["conflicts"],
        report["errors"],
        report["rate_limited"]
    );
    println!("requests: {}", latency_line(request));
    let invariants = &report["invariants"];
    println!(
        "invariants: {} (seats sold twice: {}, zone sold {} of {} bought, invoices repeated: {}, numbering problems: {})",
        if invariants["clean"] == true {
            "clean"
        } else {
            "BROKEN"
        },
        invariants["seats_sold_twice"],
        invariants["sold_in_zone"],
        invariants["sold_by_buyers"],
        invariants["invoices_repeated"],
        invariants["numbering_problems"]
    );
    println!(
        "thresholds (p95 < 500 ms, p99 < 1000 ms, errors < 5 %): {}; sold out: {}; {}",
        if report["thresholds"]["met"] == true {
            "met"
        } else {
            "NOT met"
        },
        report["sold_out"],
        if report["passed"] == true {
            "PASSED"
        } else {
            "FAILED"
        }
    );
    Ok(())
}

/// Registers the customer every sale of the run is made to.
async fn create_customer(api: &Api) -> anyhow::Result<String> {
    let customer = api
        .expect(
            reqwest::Method::POST,
            "/customers",
            Some(json!({ "first_name": "Carga", "last_name": "Prueba", "document": "V-12345678", "phone": "0414-1234567" })),
            None,
        )
        .await?;
    Ok(customer["id"].as_str().unwrap_or_default().to_string())
}

/// Uses an existing event: its numbered zone with the most seats and the
/// seats available there now, and a new customer.
async fn use_event(api: &Api, event_id: &str) -> anyhow::Result<(String, Vec<String>, String)> {
    let zones = api
        .expect(
            reqwest::Method::GET,
            &format!("/events/{event_id}/zones"),
            None,
            None,
        )
        .await
        .with_context(|| format!("reading the zones of event {event_id}"))?;
    // The first page holds up to 50 zones, more than any hall has.
    let zone = zones["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|zone| zone["kind"] == "numbered")
        .max_by_key(|zone| zone["capacity"].as_i64().unwrap_or(0))
        .with_context(|| format!("event {event_id} has no numbered zone to sell from"))?;
    let zone_id = zone["id"].as_str().unwrap_or_default().to_string();
    let availability = api
        .expect(
            reqwest::Method::GET,
            &format!("/zones/{zone_id}/availability"),
            None,
            None,
        )
        .await?;
    let seats = availability["seats"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|seat| seat["status"] == "available")
        .filter_map(|seat| seat["id"].as_str().map(str::to_string))
        .collect();
    let customer_id = create_customer(api).await?;
    Ok((zone_id, seats, customer_id))
}

/// Runs a request mix of the operators' plan and prints its report.
async fn run_request_mix(args: &LoadTestArgs, admin: Api) -> anyhow::Result<ExitCode> {
    use super::scenarios::{Fixture, MIXED, Pace, Scenario};

    let mix: Vec<(Scenario, u64)> = match args.test_type {
        TestType::Health => vec![(Scenario::Health, 1)],
        TestType::Auth => vec![(Scenario::Auth, 1)],
        TestType::Events => vec![(Scenario::Events, 1)],
        TestType::Reports => vec![(Scenario::Reports, 1)],
        _ => MIXED.to_vec(),
    };
    let needs_sales = mix.iter().any(|(scenario, _)| *scenario == Scenario::Sales);
    // Enough seats for every sale the run can start: 30 % of the iterations.
    let seat_budget = if needs_sales {
        let iterations = match (args.requests_per_user, args.rate) {
            (Some(per_user), _) => per_user as usize * args.concurrent_users,
            (None, Some(rate)) => (rate * args.duration as f64) as usize + 1,
            (None, None) => 2_000 * args.concurrent_users,
        };
        (iterations.min(50_000) * 3 / 10 + args.concurrent_users) * args.seats_per_sale
    } else {
        1
    };
    let (zone_id, seats, customer_id) = match &args.event_id {
        Some(event_id) => use_event(&admin, event_id).await?,
        None => set_up_event(&admin, seat_budget).await?,
    };
    let zone = admin
        .expect(
            reqwest::Method::GET,
            &format!("/zones/{zone_id}"),
            None,
            None,
        )
        .await?;
    let event_id = zone["event_id"].as_str().unwrap_or_default().to_string();
    let fixture = Fixture {
        cashier: Api {
            client: admin.client.clone(),
            base: admin.base.clone(),
            token: admin.token.clone(),
        },
        admin,
        username: args.admin_user.clone(),
        password: args.admin_password.clone(),
        event_id,
        zone_id,
        seats,
        seats_per_sale: args.seats_per_sale,
        customer_id,
    };
    let pace = Pace {
        users: args.concurrent_users,
        duration: Duration::from_secs(args.duration),
        iterations_per_user: args.requests_per_user,
        rate: args.rate,
    };
    let test_type = format!("{:?}", args.test_type).to_lowercase();
    eprintln!(
        "running {test_type} with {} users for at most {} s{} …",
        args.concurrent_users,
        args.duration,
        args.rate
            .map(|rate| format!(" at {rate} iterations/s"))
            .unwrap_or_default()
    );
    let mut report = super::scenarios::run_mix(fixture, mix, pace).await;
    report["test_type"] = json!(test_type);
    report["target_url"] = json!(args.target_url);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        super::scenarios::print_mix(&test_type, &report);
    }
    Ok(if report["passed"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn run(args: LoadTestArgs) -> anyhow::Result<ExitCode> {
    check_loopback(&args.target_url)?;
    if args.concurrent_users == 0 || args.seats_per_sale == 0 {
        bail!("--concurrent-users and --seats-per-sale must be at least 1");
    }
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    if args.requests_per_user == Some(0) {
        bail!("--requests-per-user must be at least 1");
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate must be a positive number of iterations per second");
        }
        if matches!(
            args.test_type,
            TestType::Sales | TestType::Onsale | TestType::Gate
        ) {
            bail!(
                "--rate applies to the request mixes (health, auth, events, reports, mixed); sales, onsale and gate run closed-loop"
            );
        }
    }
    if !(1..=MAX_TENANTS).contains(&args.tenants) {
        bail!("--tenants must be between 1 and {MAX_TENANTS}");
    }
    if args.tenants > 1 {
        if args.test_type != TestType::Sales {
            bail!("--tenants applies to --test-type sales only");
        }
        if args.event_id.is_some() {
            bail!("--tenants and --event-id exclude each other: each tenant gets its own event");
        }
        if !args.admin_user.contains("{tenant}") {
            bail!(
                "with --tenants, --username names every tenant's admin with {{tenant}} for its number, for example carga-{{tenant}}-admin"
            );
        }
    }
    if matches!(args.test_type, TestType::Onsale | TestType::Gate) {
        if args.seats == 0 {
            bail!("--seats must be at least 1");
        }
        if args.event_id.is_some() {
            bail!(
                "--event-id does not apply to onsale and gate: they create their own event so that their checks start from an empty zone"
            );
        }
    }
    let base = args.target_url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrent_users)
        .timeout(Duration::from_secs(30))
        .build()?;

    eprintln!("setting up an event on {base} …");
    let username_of = |number: usize| args.admin_user.replace("{tenant}", &number.to_string());
    let first_user = username_of(1);
    let admin_token = login(&client, &base, &first_user, &args.admin_password)
        .await
        .with_context(|| format!("logging in as the tenant admin {first_user}"))?;
    let admin = Api {
        client: client.clone(),
        base: base.clone(),
        token: admin_token.clone(),
    };
    if !matches!(
        args.test_type,
        TestType::Sales | TestType::Onsale | TestType::Gate
    ) {
        return run_request_mix(&args, admin).await;
    }
    if args.test_type == TestType::Gate {
        let make_api = || Api {
            client: client.clone(),
            base: base.clone(),
            token: admin_token.clone(),
        };
        let report = super::gate::run_gate(
            &admin,
            make_api,
            args.concurrent_users,
            args.seats,
            args.seats_per_sale,
            Duration::from_secs(args.duration),
        )
        .await?;
        super::gate::print_gate(&report, args.json)?;
        return Ok(if report["passed"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if args.test_type == TestType::Onsale {
        let make_api = || Api {
            client: client.clone(),
            base: base.clone(),
            token: admin_token.clone(),
        };
        let report = super::onsale::run_onsale(
            &admin,
            make_api,
            args.concurrent_users,
            args.seats,
            Duration::from_secs(args.duration),
        )
        .await?;
        print_onsale(&report, args.json)?;
        let rate_limited = report["rate_limited"].as_u64().unwrap_or(0);
        if rate_limited > 0 {
            eprintln!(
                "hint: {rate_limited} attempts were rejected with 429 rate_limited. {RATE_LIMIT_HINT}"
            );
        }
        return Ok(if report["passed"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    // Enough seats for the largest number of sales this run can make.
    let max_sales = match args.requests_per_user {
        Some(per_user) => args
            .max_sales
            .min(per_user as usize * args.concurrent_users),
        None => args.max_sales,
    };
    let seat_budget = (max_sales.min(50_000) * args.seats_per_sale)
        .max(args.concurrent_users * args.seats_per_sale);
    let mut shops = Vec::with_capacity(args.tenants);
    let (zone_id, seat_ids, customer_id) = match &args.event_id {
        Some(event_id) => use_event(&admin, event_id).await?,
        None => set_up_event(&admin, seat_budget.div_ceil(args.tenants)).await?,
    };
    shops.push(Shop {
        api: admin,
        zone_id,
        seat_ids,
        customer_id,
    });
    for number in 2..=args.tenants {
        let username = username_of(number);
        let token = login(&client, &base, &username, &args.admin_password)
            .await
            .with_context(|| format!("logging in as the tenant admin {username}"))?;
        let api = Api {
            client: client.clone(),
            base: base.clone(),
            token,
        };
        let (zone_id, seat_ids, customer_id) =
            set_up_event(&api, seat_budget.div_ceil(args.tenants))
                .await
                .with_context(|| format!("setting up the event of {username}"))?;
        shops.push(Shop {
            api,
            zone_id,
            seat_ids,
            customer_id,
        });
        if number % 10 == 0 || number == args.tenants {
            eprintln!("set up {number} of {} tenants", args.tenants);
        }
    }
    // Sale k goes to tenant k mod N and takes that tenant's next seats.
    let sales_per_shop = shops
        .iter()
        .map(|shop| shop.seat_ids.len() / args.seats_per_sale)
        .min()
        .unwrap_or(0);
    let sales_possible = (sales_per_shop * shops.len()).min(max_sales);
    eprintln!(
        "running {} clients for {} s against {} tenant(s) (at most {sales_possible} sales of {} seats) …",
        args.concurrent_users,
        args.duration,
        shops.len(),
        args.seats_per_sale
    );

    let shops = Arc::new(shops);
    let next_sale = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(Mutex::new(Samples::default()));
    // Set when the server stopped accepting connections.
    let server_gone = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrent_users {
        let (shops, next_sale, samples, server_gone) = (
            shops.clone(),
            next_sale.clone(),
            samples.clone(),
            server_gone.clone(),
        );
        let seats_per_sale = args.seats_per_sale;
        let flow = args.flow;
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if server_gone.load(Ordering::Relaxed) {
                    break;
                }
                let sale = next_sale.fetch_add(1, Ordering::Relaxed);
                if sale >= sales_possible {
                    break;
                }
                let shop = &shops[sale % shops.len()];
                let slot = sale / shops.len();
                let seats = &shop.seat_ids[slot * seats_per_sale..(slot + 1) * seats_per_sale];
                let (api, zone_id, customer_id) = (&shop.api, &shop.zone_id, &shop.customer_id);
                let result = match flow {
                    SaleFlow::Online => one_sale(api, zone_id, seats, customer_id, &samples).await,
                    SaleFlow::Quick => {
                        one_quick_sale(api, zone_id, seats, customer_id, &samples).await
                    }
                };
                let mut samples = samples.lock().await;
                let Err(error) = result else {
                    samples.connect_failures_in_a_row = 0;
                    continue;
                };
                if error.downcast_ref::<RateLimited>().is_some() {
                    samples.rate_limited += 1;
                    samples.connect_failures_in_a_row = 0;
                    continue;
                }
                samples.errors += 1;
                if samples.errors <= 5 {
                    eprintln!("sale failed: {error:#}");
                }
                if !is_connect_error(&error) {
                    samples.connect_failures_in_a_row = 0;
                    continue;
                }
                samples.connect_failures_in_a_row += 1;
                if samples.connect_failures_in_a_row == MAX_CONNECT_FAILURES_IN_A_ROW {
                    eprintln!(
                        "stopping: {MAX_CONNECT_FAILURES_IN_A_ROW} sales in a row could not connect to the server"
                    );
                    server_gone.store(true, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut samples = samples.lock().await;
    let completed = samples.sale.len();
    let errors = samples.errors;
    let rate_limited = samples.rate_limited;
    let kinds = match args.flow {
        SaleFlow::Online => vec![
            summary("hold", &mut samples.hold),
            summary("order", &mut samples.order),
            summary("payment", &mut samples.payment),
            summary("tickets", &mut samples.tickets),
            summary("complete_sale", &mut samples.sale),
        ],
        SaleFlow::Quick => vec![summary("quick_sale", &mut samples.sale)],
    };
    let report = json!({
        "target_url": base,
        "concurrent_users": args.concurrent_users,
        "tenants": args.tenants,
        "flow": format!("{:?}", args.flow).to_lowercase(),
        "duration_s": elapsed,
        "sales_completed": completed,
        "sales_failed": errors,
        "sales_rate_limited": rate_limited,
        "sales_per_second": completed as f64 / elapsed,
        "error_rate": if completed + errors == 0 { 0.0 } else { errors as f64 / (completed + errors) as f64 },
        "requests": kinds,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} clients, {} tenant(s), {:.1} s: {completed} sales ({:.1}/s), {errors} failed, {rate_limited} rate-limited",
            args.concurrent_users,
            args.tenants,
            elapsed,
            completed as f64 / elapsed
        );
        println!(
            "{:<14} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "request", "count", "mean ms", "p50 ms", "p95 ms", "p99 ms"
        );
        for kind in report["requests"].as_array().into_iter().flatten() {
            println!(
                "{:<14} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                kind["kind"].as_str().unwrap_or_default(),
                kind["count"].as_u64().unwrap_or(0),
                kind["mean_ms"].as_f64().unwrap_or(0.0),
                kind["p50_ms"].as_f64().unwrap_or(0.0),
                kind["p95_ms"].as_f64().unwrap_or(0.0),
                kind["p99_ms"].as_f64().unwrap_or(0.0)
            );
        }
    }
    if rate_limited > 0 {
        eprintln!(
            "hint: {rate_limited} sales were rejected with 429 rate_limited. {RATE_LIMIT_HINT}"
        );
    }
    Ok(if errors == 0 && rate_limited == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(check_loopback("http://127.0.0.1:8000").is_ok());
        assert!(check_loopback("http://localhost:8000/").is_ok());
        assert!(check_loopback("http://[::1]:8000").is_ok());
        assert!(check_loopback("http://10.0.0.5:8000").is_err());
        assert!(check_loopback("http://example.com").is_err());
    }
}
