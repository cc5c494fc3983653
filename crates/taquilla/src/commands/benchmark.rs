//! `taquilla benchmark`: times store calls and HTTP requests in-process,
//! through the real router with no network, on a scratch database with the
//! demo tenant. Results print as a table or JSON and can be saved as a
//! baseline for `taquilla check-regression`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use taquilla_app::Config;
use taquilla_app::state::AppState;
use taquilla_store::model::{NewCustomer, PageRequest};
use tower::ServiceExt;
use uuid::Uuid;

/// p95 thresholds of the operators' guide, in milliseconds.
const WARNING_MS: f64 = 50.0;
const ERROR_MS: f64 = 100.0;
const CRITICAL_MS: f64 = 200.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Component {
    /// Store reads and writes.
    Database,
    /// Read endpoints through the router: events, zones, availability.
    Api,
    /// `/health/live`, `/health/ready` and `/health/`.
    Health,
    /// A full online sale (hold, order, payment) and a quick sale.
    Sales,
    /// Cache reads, writes and invalidations, and a seat map served with and
    /// without the cache; prints the hit rate of a polling mix.
    Cache,
    /// Web pages under `/app` rendered for a signed-in user: the sale screen of
    /// the demo's 2,500-place event with and without its seat maps, the event
    /// picker, the cash desk, the gate and the organiser's dashboard.
    Web,
    All,
}

#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    /// Measured runs of each operation (after a short warm-up).
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,

    /// Print each operation's figures as soon as it finishes.
    #[arg(long)]
    pub verbose: bool,

    /// Component to measure.
    #[arg(long, value_enum, default_value = "all")]
    pub component: Component,

    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,

    /// Also write the results as JSON to FILE, as a baseline for `check-regression`.
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,

    /// Database to run on. The benchmark creates the demo tenant in it and sells
    /// from it, so use a scratch database. Default: a new SQLite file in a
    /// temporary directory, removed at the end.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Redis to keep the cache in (keys under a prefix of their own, removed
    /// at the end). Default: the in-process cache.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
}

/// Figures of one operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub component: String,
    pub name: String,
    pub iterations: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub ops_per_second: f64,
    /// `ok`, or `warning`, `error`, `critical` when p95 passes 50, 100 or 200 ms.
    pub status: String,
    /// Share of cache reads that hit during the operation, for cache operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_rate: Option<f64>,
}

/// A benchmark run, as printed with `--json` and saved with `--save-baseline`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchmarkReport {
    pub backend: String,
    pub iterations: usize,
    pub build: String,
    pub cpus: usize,
    pub operations: Vec<Measurement>,
}

fn status_of(p95_ms: f64) -> &'static str {
    if p95_ms > CRITICAL_MS {
        "critical"
    } else if p95_ms > ERROR_MS {
        "error"
    } else if p95_ms > WARNING_MS {
        "warning"
    } else {
        "ok"
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn measure(component: Component, name: &str, mut samples: Vec<Duration>) -> Measurement {
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let count = samples.len().max(1);
    let p95_ms = percentile(&samples, 0.95);
    Measurement {
        component: format!("{component:?}").to_lowercase(),
        name: name.to_string(),
        iterations: samples.len(),
        mean_ms: total.as_secs_f64() * 1000.0 / count as f64,
        p50_ms: percentile(&samples, 0.50),
        p95_ms,
        p99_ms: percentile(&samples, 0.99),
        max_ms: samples.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
        ops_per_second: if total.is_zero() {
            0.0
        } else {
            samples.len() as f64 / total.as_secs_f64()
        },
        status: status_of(p95_ms).to_string(),
        hit_rate: None,
    }
}

/// Calls the router in-process and returns the status and JSON body.
struct Client {
    router: Router,
}

impl Client {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request
                .header("content-type", "application/json")
                .header("idempotency-key", Uuid::now_v7().to_string());
        }
        let request = request.body(match body {
            Some(body) => Body::from(body.to_string()),
            None => Body::empty(),
        })?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// Calls and checks the status, returning the body.
    async fn expect(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), uri, token, body).await?;
        if status != expected {
            bail!("{method} {uri} returned {status}, expected {expected}: {value}");
        }
        Ok(value)
    }
}

/// Tokens and ids the operations need: the demo tenant's, and those of a
/// general-admission zone large enough for every sale of the run.
struct Fixture {
    state: AppState,
    client: Client,
    admin: String,
    tenant_id: Uuid,
    event_id: String,
    platea_id: String,
    sale_zone_id: String,
    customer_id: String,
}

async fn login(client: &Client, username: &str, password: &str) -> anyhow::Result<String> {
    let body = client
        .expect(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "username": username, "password": password })),
            StatusCode::OK,
        )
        .await
        .with_context(|| format!("logging in as {username}"))?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .context("the login response has no access token")
}

async fn set_up(state: AppState, sales: usize) -> anyhow::Result<Fixture> {
    let demo = taquilla_app::demo::seed(&state).await?;
    let client = Client {
        router: taquilla_app::http::router(state.clone()),
    };
    let (admin_user, admin_password, _) = taquilla_app::demo::DEMO_USERS[0];
    let admin = login(&client, admin_user, admin_password).await?;
    let event_id = demo.event_id.to_string();
    let zones = client
        .expect(
            Method::GET,
            &format!("/api/v1/events/{event_id}/zones"),
            Some(&admin),
            None,
            StatusCode::OK,
        )
        .await?;
    let platea_id = zones["items"]
        .as_array()
        .and_then(|zones| zones.iter().find(|zone| zone["name"] == "Platea"))
        .and_then(|zone| zone["id"].as_str())
        .context("the demo event has no Platea zone")?
        .to_string();

    // Sales go to their own event, so the demo event's seat map stays the same
    // size for the read operations.
    let venue = client
        .expect(
            Method::POST,
            "/api/v1/venues",
            Some(&admin),
            Some(json!({ "name": "Sala de pruebas de rendimiento", "address": "Av. Principal", "city": "Caracas" })),
            StatusCode::CREATED,
        )
        .await?;
    let now = chrono::Utc::now();
    let starts = now + chrono::Duration::days(30);
    let event = client
        .expect(
            Method::POST,
            "/api/v1/events",
            Some(&admin),
            Some(json!({
                "venue_id": venue["id"],
                "name": "Prueba de rendimiento",
                "starts_at": starts.to_rfc3339(),
                "sale_starts_at": (now - chrono::Duration::days(1)).to_rfc3339(),
                "sale_ends_at": (starts - chrono::Duration::days(1)).to_rfc3339(),
            })),
            StatusCode::CREATED,
        )
        .await?;
    let sale_event_id = event["id"].as_str().unwrap_or_default().to_string();
    let zone = client
        .expect(
            Method::POST,
            &format!("/api/v1/events/{sale_event_id}/zones"),
            Some(&admin),
            Some(json!({
                "name": "General",
                "kind": "general_admission",
                "capacity": (sales * 2 + 100) as i64,
                "price_usd_cents": 2_000,
            })),
            StatusCode::CREATED,
        )
        .await?;
    client
        .expect(
            Method::POST,
            &format!("/api/v1/events/{sale_event_id}/activate"),
            Some(&admin),
            None,
            StatusCode::OK,
        )
        .await?;
    let customer = client
        .expect(
            Method::POST,
            "/api/v1/customers",
            Some(&admin),
            Some(json!({
                "first_name": "Carmen",
                "last_name": "Benchmark",
                "document": "V-11.222.333",
                "phone": "0414-5550000",
            })),
            StatusCode::CREATED,
        )
        .await?;
    Ok(Fixture {
        client,
        admin,
        tenant_id: demo.tenant_id,
        event_id,
        platea_id,
        sale_zone_id: zone["id"].as_str().unwrap_or_default().to_string(),
        customer_id: customer["id"].as_str().unwrap_or_default().to_string(),
        state,
    })
}

/// Runs `operation` for the warm-up and then `iterations` measured times.
macro_rules! time_operation {
    ($iterations:expr, $operation:expr) => {{
        for _ in 0..($iterations / 10).clamp(1, 20) {
            $operation;
        }
        let mut samples = Vec::with_capacity($iterations);
        for _ in 0..$iterations {
            let started = Instant::now();
            $operation;
            samples.push(started.elapsed());
        }
        samples
    }};
}

async fn run_database(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    let store = &fixture.state.store;
    let tenant = fixture.tenant_id;
    let event_id: Uuid = fixture.event_id.parse()?;
    let zone_id: Uuid = fixture.platea_id.parse()?;
    let page = PageRequest {
        limit: 50,
        after: None,
    };
    let mut results = Vec::new();
    let samples = time_operation!(iterations, store.get_event(tenant, event_id).await?);
    results.push(measure(Component::Database, "get_event", samples));

    let samples = time_operation!(iterations, store.list_events(tenant, page).await?);
    results.push(measure(Component::Database, "list_events", samples));

    let samples = time_operation!(iterations, store.zone_availability(tenant, zone_id).await?);
    results.push(measure(
        Component::Database,
        "zone_availability_1300_seats",
        samples,
    ));
    let samples = time_operation!(
        iterations,
        store
            .create_customer(
                tenant,
                NewCustomer {
                    first_name: "Luis".to_string(),
                    last_name: "Medina".to_string(),
                    search_name: "luis medina".to_string(),
                    document_kind: None,
                    document: None,
                    phone: Some("+584125550000".to_string()),
                    email: None,
                },
            )
            .await?
    );
    results.push(measure(Component::Database, "create_customer", samples));
    Ok(results)
}

async fn run_get(
    fixture: &Fixture,
    iterations: usize,
    component: Component,
    name: &str,
    uri: &str,
    token: Option<&str>,
) -> anyhow::Result<Measurement> {
    let client = &fixture.client;
    let samples = time_operation!(iterations, {
        let (status, body) = client.call(Method::GET, uri, token, None).await?;
        if !status.is_success() {
            bail!("GET {uri} returned {status}: {body}");
        }
    });
    Ok(measure(component, name, samples))
}

async fn run_api(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    let admin = Some(fixture.admin.as_str());
    Ok(vec![
        run_get(
            fixture,
            iterations,
            Component::Api,
            "list_events",
            "/api/v1/events",
            admin,
        )
        .await?,
        run_get(
            fixture,
            iterations,
            Component::Api,
            "list_zones",
            &format!("/api/v1/events/{}/zones", fixture.event_id),
            admin,
        )
        .await?,
        run_get(
            fixture,
            iterations,
            Component::Api,
            "zone_availability_1300_seats",
            &format!("/api/v1/zones/{}/availability", fixture.platea_id),
            admin,
        )
        .await?,
    ])
}

/// Cache reads so far: (hits, misses).
fn cache_reads(state: &AppState) -> (u64, u64) {
    let reads = &state.metrics.cache_operations_total;
    (
        reads.with_label_values(&["get", "hit"]).get(),
        reads.with_label_values(&["get", "miss"]).get(),
    )
}

async fn run_cache(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    use taquilla_app::cache::Group;

    let cache = &fixture.state.cache;
    let group = Group::event(fixture.tenant_id, Uuid::now_v7());
    let value = axum::body::Bytes::from(vec![b'x'; 4_096]);
    let mut results = Vec::new();

    // A miss that loads and stores a 4 KiB value, each under a new field.
    let mut field = 0u64;
    let samples = time_operation!(iterations, {
        field += 1;
        cache
            .get_or_load(group, &field.to_string(), || async {
                Ok::<_, anyhow::Error>(value.clone())
            })
            .await?
    });
    results.push(measure(Component::Cache, "miss_and_set_4kib", samples));

    let samples = time_operation!(iterations, {
        cache
            .get_or_load(group, "1", || async {
                Err::<axum::body::Bytes, _>(anyhow::anyhow!("a hit was expected"))
            })
            .await?
    });
    results.push(measure(Component::Cache, "hit_4kib", samples));

    let samples = time_operation!(iterations, cache.invalidate(group).await);
    results.push(measure(Component::Cache, "invalidate", samples));

    // The seat map through the router: from the cache, then with its entry
    // invalidated before every request so each one reads the database.
    let admin = Some(fixture.admin.as_str());
    let uri = format!("/api/v1/zones/{}/availability", fixture.platea_id);
    let event_id: Uuid = fixture.event_id.parse()?;
    let before = cache_reads(&fixture.state);
    let mut cached = run_get(
        fixture,
        iterations,
        Component::Cache,
        "availability_1300_seats_cached",
        &uri,
        admin,
    )
    .await?;
    let after = cache_reads(&fixture.state);
    let hits = after.0 - before.0;
    let reads = hits + after.1 - before.1;
    cached.hit_rate = Some(hits as f64 / reads.max(1) as f64);
    results.push(cached);

    let samples = time_operation!(iterations, {
        cache.invalidate_event(fixture.tenant_id, event_id).await;
        let (status, body) = fixture.client.call(Method::GET, &uri, admin, None).await?;
        if !status.is_success() {
            bail!("GET {uri} returned {status}: {body}");
        }
    });
    results.push(measure(
        Component::Cache,
        "availability_1300_seats_uncached",
        samples,
    ));

    // Ten buyers poll the map for each hold a cashier makes and releases.
    let seats = fixture
        .client
        .expect(Method::GET, &uri, admin, None, StatusCode::OK)
        .await?;
    let seat_id = seats["seats"][0]["id"].clone();
    let before = cache_reads(&fixture.state);
    let mut round = 0usize;
    let samples = time_operation!(iterations, {
        round += 1;
        if round.is_multiple_of(10) {
            let hold = fixture
                .client
                .expect(
                    Method::POST,
                    "/api/v1/holds",
                    admin,
                    Some(json!({ "zone_id": fixture.platea_id, "seat_ids": [seat_id] })),
                    StatusCode::CREATED,
                )
                .await?;
            let hold_id = hold["id"].as_str().context("hold id")?;
            fixture
                .client
                .expect(
                    Method::DELETE,
                    &format!("/api/v1/holds/{hold_id}"),
                    admin,
                    None,
                    StatusCode::NO_CONTENT,
                )
                .await?;
        } else {
            fixture
                .client
                .expect(Method::GET, &uri, admin, None, StatusCode::OK)
                .await?;
        }
    });
    let after = cache_reads(&fixture.state);
    let hits = after.0 - before.0;
    let reads = hits + after.1 - before.1;
    let mut mix = measure(Component::Cache, "map_polling_with_holds", samples);
    mix.hit_rate = Some(hits as f64 / reads.max(1) as f64);
    results.push(mix);
    Ok(results)
}

async fn run_health(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    let mut results = Vec::new();
    for (name, uri) in [
        ("live", "/health/live"),
        ("ready", "/health/ready"),
        ("full", "/health/"),
    ] {
        results.push(run_get(fixture, iterations, Component::Health, name, uri, None).await?);
    }
    Ok(results)
}

/// Returns the value of cookie `name` from the response's `Set-Cookie` headers.
fn set_cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(cookie, _)| cookie.trim() == name)
        .map(|(_, value)| value.to_string())
}

/// Signs in through the web form, as a browser does, and returns the
/// `Cookie` header value of the session.
async fn web_sign_in(router: &Router, username: &str, password: &str) -> anyhow::Result<String> {
    let form = router
        .clone()
        .oneshot(Request::get("/app/login").body(Body::empty())?)
        .await?;
    let csrf = set_cookie_value(form.headers(), "taquilla_login_csrf")
        .context("GET /app/login set no sign-in CSRF cookie")?;
    let body = format!("username={username}&password={password}&csrf_token={csrf}");
    let signed_in = router
        .clone()
        .oneshot(
            Request::post("/app/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", format!("taquilla_login_csrf={csrf}"))
                .body(Body::from(body))?,
        )
        .await?;
    let session = set_cookie_value(signed_in.headers(), "taquilla_session").with_context(|| {
        format!(
            "POST /app/login as {username} returned {} without a session cookie",
            signed_in.status()
        )
    })?;
    Ok(format!("taquilla_session={session}"))
}

/// Fetches a page or an API resource with the session cookie and reads the
/// whole body; fails unless the status is 200.
async fn fetch_with_cookie(router: &Router, uri: &str, cookie: &str) -> anyhow::Result<usize> {
    let response = router
        .clone()
        .oneshot(
            Request::get(uri)
                .header("cookie", cookie)
                .body(Body::empty())?,
        )
        .await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await?;
    if status != StatusCode::OK {
        bail!("GET {uri} returned {status}");
    }
    Ok(bytes.len())
}

/// Times the web pages. The sale screen's script reads each zone's
/// availability to draw the seat map, and `web_sale_screen_with_maps` adds
/// those reads to the page.
async fn run_web(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    let router = &fixture.client.router;
    let (admin_user, admin_password, _) = taquilla_app::demo::DEMO_USERS[0];
    let cookie = web_sign_in(router, admin_user, admin_password).await?;
    let zones = fixture
        .client
        .expect(
            Method::GET,
            &format!("/api/v1/events/{}/zones", fixture.event_id),
            Some(&fixture.admin),
            None,
            StatusCode::OK,
        )
        .await?;
    let map_uris: Vec<String> = zones["items"]
        .as_array()
        .context("the demo event's zones are not a list")?
        .iter()
        .filter_map(|zone| zone["id"].as_str())
        .map(|zone_id| format!("/api/v1/zones/{zone_id}/availability"))
        .collect();
    let sale_page = format!("/app/taquilla/{}", fixture.event_id);
    let dashboard = format!("/app/organizador?evento={}", fixture.event_id);

    let mut results = Vec::new();
    for (name, uri) in [
        ("web_event_picker", "/app/taquilla"),
        ("web_sale_screen_2500_places", sale_page.as_str()),
        ("web_cash_desk_x_report", "/app/caja"),
        ("web_gate", "/app/porteria"),
        ("web_organizer_dashboard", dashboard.as_str()),
    ] {
        let samples = time_operation!(iterations, {
            fetch_with_cookie(router, uri, &cookie).await?;
        });
        results.push(measure(Component::Web, name, samples));
    }
    let samples = time_operation!(iterations, {
        fetch_with_cookie(router, &sale_page, &cookie).await?;
        for uri in &map_uris {
            fetch_with_cookie(router, uri, &cookie).await?;
        }
    });
    results.push(measure(
        Component::Web,
        "web_sale_screen_with_maps",
        samples,
    ));
    Ok(results)
}

async fn online_sale(fixture: &Fixture) -> anyhow::Result<()> {
    let client = &fixture.client;
    let token = Some(fixture.admin.as_str());
    let hold = client
        .expect(
            Method::POST,
            "/api/v1/holds",
            token,
            Some(json!({ "zone_id": fixture.sale_zone_id, "quantity": 1 })),
            StatusCode::CREATED,
        )
        .await?;
    let order = client
        .expect(
            Method::POST,
            "/api/v1/orders",
            token,
            Some(json!({ "hold_id": hold["id"], "customer_id": fixture.customer_id })),
            StatusCode::CREATED,
        )
        .await?;
    let total = order["total_bs_cents"].as_i64().unwrap_or_default();
    let paid = client
        .expect(
            Method::POST,
            &format!(
                "/api/v1/orders/{}/payments",
                order["id"].as_str().unwrap_or_default()
            ),
            token,
            Some(json!({ "method": "cash", "currency": "VES", "amount_cents": total })),
            StatusCode::CREATED,
        )
        .await?;
    if paid["order"]["status"] != "paid" {
        bail!("the order was not paid: {}", paid["order"]["status"]);
    }
    Ok(())
}

async fn quick_sale(fixture: &Fixture) -> anyhow::Result<()> {
    let order = fixture
        .client
        .expect(
            Method::POST,
            "/api/v1/sales",
            Some(fixture.admin.as_str()),
            Some(json!({
                "zone_id": fixture.sale_zone_id,
                "quantity": 1,
                "customer_id": fixture.customer_id,
                "payments": [{ "method": "cash", "currency": "USD", "amount_cents": 5_000 }],
            })),
            StatusCode::CREATED,
        )
        .await?;
    if order["status"] != "paid" {
        bail!("the quick sale was not paid: {}", order["status"]);
    }
    Ok(())
}

async fn run_sales(fixture: &Fixture, iterations: usize) -> anyhow::Result<Vec<Measurement>> {
    let samples = time_operation!(iterations, online_sale(fixture).await?);
    let online = measure(Component::Sales, "online_sale", samples);
    let samples = time_operation!(iterations, quick_sale(fixture).await?);
    let quick = measure(Component::Sales, "quick_sale", samples);
    Ok(vec![online, quick])
}

/// Runs the benchmark and returns its report.
pub async fn benchmark(args: &BenchmarkArgs) -> anyhow::Result<BenchmarkReport> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let redis_prefix = format!("taquilla-benchmark-{}:", Uuid::new_v4().simple());
    let config = Config {
        data_dir: scratch.path().to_path_buf(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        redis_key_prefix: redis_prefix,
        // The benchmark measures the operations, not the limiter, and one user
        // makes every request.
        rate_limit_user_per_hour: 0,
        rate_limit_api_client_per_hour: 0,
        rate_limit_ip_per_hour: 0,
        rate_limit_login_per_minute: 0,
        ..Config::default()
    };
    let state =
        taquilla_app::startup::build_state(config, Arc::new(taquilla_store::SystemClock)).await?;
    let backend = state.store.backend().to_string();
    eprintln!(
        "benchmarking on {backend} with {} iterations per operation …",
        args.iterations
    );
    let fixture = set_up(state, args.iterations + 40).await?;

    let selected =
        |component: Component| args.component == Component::All || args.component == component;
    let mut operations = Vec::new();
    let runs: [(Component, &str); 6] = [
        (Component::Database, "database"),
        (Component::Cache, "cache"),
        (Component::Api, "api"),
        (Component::Web, "web"),
        (Component::Health, "health"),
        (Component::Sales, "sales"),
    ];
    for (component, label) in runs {
        if !selected(component) {
            continue;
        }
        eprintln!("  {label} …");
        let measured = match component {
            Component::Database => run_database(&fixture, args.iterations).await?,
            Component::Api => run_api(&fixture, args.iterations).await?,
            Component::Health => run_health(&fixture, args.iterations).await?,
            Component::Sales => run_sales(&fixture, args.iterations).await?,
            Component::Cache => run_cache(&fixture, args.iterations).await?,
            Component::Web => run_web(&fixture, args.iterations).await?,
            Component::All => Vec::new(),
        };
        if args.verbose {
            for measurement in &measured {
                eprintln!(
                    "    {:<30} p50 {:>8.2} ms  p95 {:>8.2} ms  {:>9.0} ops/s",
                    measurement.name,
                    measurement.p50_ms,
                    measurement.p95_ms,
                    measurement.ops_per_second
                );
            }
        }
        operations.extend(measured);
    }
    // Keys of a Redis cache go with the run.
    if args.redis_url.is_some() {
        fixture.state.cache.backend().clear().await?;
    }
    drop(fixture);
    drop(scratch);
    Ok(BenchmarkReport {
        backend,
        iterations: args.iterations,
        build: if cfg!(debug_assertions) {
            "debug".to_string()
        } else {
            "release".to_string()
        },
        cpus: std::thread::available_parallelism().map_or(1, |count| count.get()),
        operations,
    })
}

/// Prints the report as a table, with the thresholds passed.
pub fn print_table(report: &BenchmarkReport) {
    println!(
        "{} build on {} ({} CPUs), {} iterations per operation",
        report.build, report.backend, report.cpus, report.iterations
    );
    println!(
        "{:<10} {:<30} {:>9} {:>9} {:>9} {:>9} {:>10}  status",
        "component", "operation", "mean ms", "p50 ms", "p95 ms", "p99 ms", "ops/s"
    );
    for operation in &report.operations {
        println!(
            "{:<10} {:<30} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.0}  {}",
            operation.component,
            operation.name,
            operation.mean_ms,
            operation.p50_ms,
            operation.p95_ms,
            operation.p99_ms,
            operation.ops_per_second,
            operation.status
        );
    }
    for operation in &report.operations {
        if let Some(hit_rate) = operation.hit_rate {
            println!(
                "{} {}: cache hit rate {:.1} %",
                operation.component,
                operation.name,
                hit_rate * 100.0
            );
        }
    }
    for operation in report
        .operations
        .iter()
        .filter(|operation| operation.status != "ok")
    {
        println!(
            "{}: {} {} has a p95 of {:.1} ms (thresholds: warning {WARNING_MS} ms, error {ERROR_MS} ms, critical {CRITICAL_MS} ms)",
            operation.status.to_uppercase(),
            operation.component,
            operation.name,
            operation.p95_ms
        );
    }
}

pub async fn run(args: BenchmarkArgs) -> anyhow::Result<ExitCode> {
    let report = benchmark(&args).await?;
    if let Some(path) = &args.save_baseline {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing the baseline {}", path.display()))?;
        eprintln!("baseline written to {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}
