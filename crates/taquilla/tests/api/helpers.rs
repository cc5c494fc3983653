//! Test harness: starts the real application on a random loopback port
//! against a fresh database, seeds tenants through the store, and wraps every
//! endpoint the scenarios call.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use taquilla_app::config::LogFormat;
use taquilla_app::state::AppState;
use taquilla_app::{Application, Config};
use taquilla_domain::fiscal::caracas_date;
use taquilla_store::model::{NewTenant, NewUser, Role};
use taquilla_store::{Clock, OffsetClock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Default admin URL of the test PostgreSQL server (trust authentication).
const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Password of every user the tests create.
pub const PASSWORD: &str = "clave-de-prueba-2026";
/// BCV rate the tests register for today, in Bs. per USD.
pub const RATE: &str = "36.12345678";

/// Database backend a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A value bound to a `$n` placeholder of a direct SQL check.
#[derive(Debug, Clone)]
pub enum Param {
    Uuid(Uuid),
    Text(String),
    Int(i64),
}

impl From<Uuid> for Param {
    fn from(value: Uuid) -> Self {
        Param::Uuid(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(value.to_string())
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                Param::Uuid(value) => query.bind(*value),
                Param::Text(value) => query.bind(value.clone()),
                Param::Int(value) => query.bind(*value),
            };
        }
        query
    }};
}

/// A pool of our own on the application's database, for invariant checks.
///
/// The same SQL text runs on both backends: `$n` placeholders, UUIDs bound as
/// [`Uuid`] (sqlx stores them as 16-byte BLOBs in SQLite) and sums wrapped in
/// `CAST(COALESCE(SUM(x), 0) AS BIGINT)`.
#[derive(Clone)]
pub enum TestDb {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl TestDb {
    /// Runs `sql` and decodes every row as `T`.
    pub async fn rows<T>(&self, sql: &'static str, params: &[Param]) -> Vec<T>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        let result = match self {
            TestDb::Postgres(pool) => {
                bind_params!(sqlx::query_as::<sqlx::Postgres, T>(sql), params)
                    .fetch_all(pool)
                    .await
            }
            TestDb::Sqlite(pool) => {
                bind_params!(sqlx::query_as::<sqlx::Sqlite, T>(sql), params)
                    .fetch_all(pool)
                    .await
            }
        };
        result.unwrap_or_else(|error| panic!("direct SQL check failed: {error}\nSQL: {sql}"))
    }

    /// Runs a statement that changes data behind the application's back, to
    /// simulate corruption; returns the rows affected.
    pub async fn execute(&self, sql: &'static str, params: &[Param]) -> u64 {
        let result = match self {
            TestDb::Postgres(pool) => bind_params!(sqlx::query::<sqlx::Postgres>(sql), params)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            TestDb::Sqlite(pool) => bind_params!(sqlx::query::<sqlx::Sqlite>(sql), params)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        };
        result.unwrap_or_else(|error| panic!("direct SQL statement failed: {error}\nSQL: {sql}"))
    }

    /// Runs `sql` and returns the first column of its only row as an integer.
    pub async fn scalar_i64(&self, sql: &'static str, params: &[Param]) -> i64 {
        let rows: Vec<(i64,)> = self.rows(sql, params).await;
        assert_eq!(rows.len(), 1, "expected one row from: {sql}");
        rows[0].0
    }

    /// Runs `sql` and returns the first column of its only row as text.
    pub async fn scalar_string(&self, sql: &'static str, params: &[Param]) -> String {
        let rows: Vec<(String,)> = self.rows(sql, params).await;
        assert_eq!(rows.len(), 1, "expected one row from: {sql}");
        rows[0].0.clone()
    }

    /// Runs `sql` and returns its first column as integers.
    pub async fn column_i64(&self, sql: &'static str, params: &[Param]) -> Vec<i64> {
        let rows: Vec<(i64,)> = self.rows(sql, params).await;
        rows.into_iter().map(|(value,)| value).collect()
    }

    /// Runs `sql` and returns its first column as text.
    pub async fn column_string(&self, sql: &'static str, params: &[Param]) -> Vec<String> {
        let rows: Vec<(String,)> = self.rows(sql, params).await;
        rows.into_iter().map(|(value,)| value).collect()
    }

    async fn close(&self) {
        match self {
            TestDb::Postgres(pool) => pool.close().await,
            TestDb::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Drops a test database when the test ends, even when it panics.
struct PgDatabase {
    admin_url: String,
    name: String,
    dropped: bool,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Self {
        let name = format!("taquilla_test_{}", Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!("cannot connect to {admin_url} (set TAQUILLA_TEST_PG_ADMIN_URL): {error}")
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("creating the test database");
        connection
            .close()
            .await
            .expect("closing the admin connection");
        Self {
            admin_url: admin_url.to_string(),
            name,
            dropped: false,
        }
    }

    /// Returns the URL of the test database on the admin URL's server.
    fn url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&self.admin_url);
        format!("{base}/{}", self.name)
    }

    async fn drop_database(admin_url: String, name: String) {
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connecting to drop the test database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await
        .expect("dropping the test database");
        let _ = connection.close().await;
    }

    async fn drop_now(mut self) {
        self.dropped = true;
        Self::drop_database(self.admin_url.clone(), self.name.clone()).await;
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Reached only when a test fails before its teardown: drop the database
        // from a thread of its own, because Drop cannot await.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("building a runtime for the cleanup");
            runtime.block_on(Self::drop_database(admin_url, name));
        });
        let _ = cleanup.join();
    }
}

enum Storage {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

/// A running application and what a test needs to drive and inspect it.
pub struct TestApp {
    /// Base URL of the separate metrics listener, when the test configured one.
    pub metrics_address: Option<String>,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<OffsetClock>,
    pub state: AppState,
    pub db: TestDb,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
    storage: Storage,
}

/// Redis of the tests: the one TAQUILLA_TEST_REDIS_URL names, or 127.0.0.1:6379.
pub fn test_redis_url() -> String {
    std::env::var("TAQUILLA_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// Returns an HTTP client that never follows redirects and never uses a proxy.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("building the HTTP client")
}

/// Starts the application on port 0 against a fresh database of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with `adjust` applied to the configuration first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_routes(backend, adjust, axum::Router::new()).await
}

/// Like [`spawn_app_with`], with `routes` added to `/api/v1` inside every
/// middleware layer, for paths that no production route has.
pub async fn spawn_app_with_routes(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
    routes: axum::Router<AppState>,
) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        taquilla_app::telemetry::init(LogFormat::Text);
    }
    let (storage, database_url) = match backend {
        Backend::Sqlite => {
            let directory = tempfile::tempdir().expect("creating a temporary directory");
            let url = format!(
                "sqlite://{}",
                directory.path().join("taquilla.db").display()
            );
            (Storage::Sqlite(directory), url)
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TAQUILLA_TEST_PG_ADMIN_URL")
                .unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
            let database = PgDatabase::create(&admin_url).await;
            let url = database.url();
            (Storage::Postgres(database), url)
        }
    };

    let mut config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(database_url.clone()),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        log_format: LogFormat::Text,
        sweep_interval_seconds: 3600,
        // Scenarios move the clock past hold and payment deadlines (about 30
        // minutes at most) and keep using the tokens they logged in with.
        access_token_minutes: 120,
        // Scenarios make many requests from one address and user, so the
        // limits are off. The rate limit tests turn theirs back on in `adjust`.
        rate_limit_user_per_hour: 0,
        rate_limit_api_client_per_hour: 0,
        rate_limit_ip_per_hour: 0,
        rate_limit_login_per_minute: 0,
        ..Config::default()
    };
    adjust(&mut config);
    // A scenario may point a second instance at the first one's database.
    let database_url = config.database_url.clone().unwrap_or(database_url);
    let clock = Arc::new(OffsetClock::default());
    let application = Application::build(config, clock.clone())
        .await
        .expect("building the application")
        .with_extra_routes(routes);
    let port = application.local_addr().port();
    let metrics_address = application
        .metrics_addr()
        .map(|address| format!("http://{address}"));
    let state = application.state().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));

    // Our own pool opens after the application ran the migrations.
    let db = match backend {
        Backend::Sqlite => {
            let options = database_url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("parsing the SQLite URL")
                .busy_timeout(std::time::Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .expect("opening the SQLite test pool");
            TestDb::Sqlite(pool)
        }
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect(&database_url)
                .await
                .expect("opening the PostgreSQL test pool");
            TestDb::Postgres(pool)
        }
    };

    TestApp {
        metrics_address,
        address: format!("http://127.0.0.1:{port}"),
        client: new_client(),
        clock,
        state,
        db,
        shutdown,
        server,
        storage,
    }
}

/// An HTTP response with its body read and parsed when it is JSON.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The parsed body, or `Value::Null` when the body is empty or not JSON.
    pub body: Value,
}

impl ApiResponse {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading the response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            body,
        }
    }

    /// Returns the `error.code` of an error envelope.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Parses a UUID field of the body.
    pub fn id(&self, field: &str) -> Uuid {
        uuid_of(&self.body[field])
    }
}

/// Parses a JSON string as a UUID, panicking with the value when it is not one.
pub fn uuid_of(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
        .unwrap_or_else(|| panic!("expected a UUID, got {value}"))
}

/// Asserts a response status, printing the body on failure.
#[track_caller]
pub fn assert_status(response: &ApiResponse, expected: u16) {
    assert_eq!(
        response.status.as_u16(),
        expected,
        "unexpected status; body: {}",
        response.text
    );
}

/// Asserts that a response is the error envelope with `status` and `code`.
#[track_caller]
pub fn assert_error(response: &ApiResponse, status: u16, code: &str) {
    assert_status(response, status);
    assert_eq!(
        response.error_code(),
        code,
        "unexpected error code; body: {}",
        response.text
    );
    assert!(
        response.body["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "error without a message: {}",
        response.text
    );
}

/// A request being built against the test application.
pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    client: &'a reqwest::Client,
    method: Method,
    path: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

enum Body {
    Json(Value),
    Raw(String),
}

impl<'a> RequestBuilder<'a> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    /// Sends `text` as the body with a JSON content type, for malformed-input tests.
    pub fn raw_json(mut self, text: &str) -> Self {
        self.body = Some(Body::Raw(text.to_string()));
        self
    }

    /// Sends the request over `client` in place of the application's shared client.
    pub fn via(mut self, client: &'a reqwest::Client) -> Self {
        self.client = client;
        self
    }

    pub async fn send(self) -> ApiResponse {
        let url = format!("{}{}", self.app.address, self.path);
        let mut request = self.client.request(self.method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request = match self.body {
            Some(Body::Json(body)) => request.json(&body),
            Some(Body::Raw(text)) => request
                .header("content-type", "application/json")
                .body(text),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{} {url} failed: {error}", self.method));
        ApiResponse::read(response).await
    }
}

/// A tenant with one logged-in user of each role.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub tenant_id: Uuid,
    pub slug: String,
    pub admin_token: String,
    pub cashier_token: String,
    pub validator_token: String,
}

/// A tenant with an event on sale, one zone, today's rate and one customer.
#[derive(Debug, Clone)]
pub struct Shop {
    pub tenant: TenantCtx,
    pub venue_id: Uuid,
    pub event_id: Uuid,
    pub zone_id: Uuid,
    pub customer_id: Uuid,
}

/// Zone of a [`Shop`].
#[derive(Debug, Clone)]
pub enum ZoneSpec {
    GeneralAdmission {
        capacity: i64,
        price_usd_cents: i64,
    },
    Numbered {
        rows: Vec<i64>,
        price_usd_cents: i64,
    },
}

/// Lifetimes of holds and of unpaid orders of an event, in minutes.
#[derive(Debug, Clone, Copy)]
pub struct EventTimes {
    pub hold_minutes: i64,
    pub payment_minutes: i64,
}

impl Default for EventTimes {
    fn default() -> Self {
        Self {
            hold_minutes: 15,
            payment_minutes: 15,
        }
    }
}

/// Formats an instant as RFC 3339, as the API expects.
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            client: &self.client,
            method,
            path: path.to_string(),
            token: None,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    /// Returns the application clock's current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the application clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Stops the server, closes the pools and removes the database.
    pub async fn teardown(self) {
        let TestApp {
            state,
            db,
            shutdown,
            server,
            storage,
            ..
        } = self;
        let _ = shutdown.send(());
        server
            .await
            .expect("the server task panicked")
            .expect("the server stopped with an error");

        // The last handle on the application's pool goes with the state.
        drop(state);
        db.close().await;
        match storage {
            Storage::Postgres(database) => database.drop_now().await,
            Storage::Sqlite(directory) => drop(directory),
        }
    }

    /// Creates a user directly in the store.
    pub async fn create_user(&self, tenant_id: Option<Uuid>, username: &str, role: Role) -> Uuid {
        let password_hash = self
            .state
            .passwords
            .hash(PASSWORD.to_string())
            .await
            .expect("hashing the test password");
        self.state
            .store
            .create_user(NewUser {
                tenant_id,
                username: username.to_string(),
                email: format!("{username}@example.test"),
                password_hash,
                role,
            })
            .await
            .expect("creating a user")
            .id
    }

    /// Logs in over HTTP and returns the full token response.
    pub async fn login(&self, username: &str, password: &str) -> ApiResponse {
        self.post("/api/v1/auth/login")
            .json(json!({ "username": username, "password": password }))
            .send()
            .await
    }

    /// Logs in over HTTP and returns the access token.
    pub async fn access_token(&self, username: &str) -> String {
        let response = self.login(username, PASSWORD).await;
        assert_status(&response, 200);
        response.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Creates a platform admin and returns its access token.
    pub async fn platform_admin_token(&self, username: &str) -> String {
        self.create_user(None, username, Role::PlatformAdmin).await;
        self.access_token(username).await
    }

    /// Creates a tenant in the store and logs in an admin, a cashier and a validator.
    pub async fn setup_tenant(&self, slug: &str, rif: &str) -> TenantCtx {
        let tenant = self
            .state
            .store
            .create_tenant(NewTenant {
                slug: slug.to_string(),
                name: format!("Producciones {slug}, C.A."),
                rif: rif.to_string(),
                fiscal_address: "Av. Urdaneta, Caracas 1010".to_string(),
                signing_key: taquilla_app::tickets::new_signing_key(),
            })
            .await
            .expect("creating a tenant");
        let admin = format!("{slug}-admin");
        let cashier = format!("{slug}-cajero");
        let validator = format!("{slug}-porteria");
        self.create_user(Some(tenant.id), &admin, Role::TenantAdmin)
            .await;
        self.create_user(Some(tenant.id), &cashier, Role::Cashier)
            .await;
        self.create_user(Some(tenant.id), &validator, Role::Validator)
            .await;
        TenantCtx {
            tenant_id: tenant.id,
            slug: slug.to_string(),
            admin_token: self.access_token(&admin).await,
            cashier_token: self.access_token(&cashier).await,
            validator_token: self.access_token(&validator).await,
        }
    }

    pub async fn create_venue(&self, token: &str) -> Uuid {
        let response = self
            .post("/api/v1/venues")
            .token(token)
            .json(json!({ "name": "Teatro Teresa Carreño", "address": "Av. Paseo Colón", "city": "Caracas" }))
            .send()
            .await;
        assert_status(&response, 201);
        response.id("id")
    }

    /// Creates a draft event whose sale window opened a day ago and closes in 30 days.
    pub async fn create_event(&self, token: &str, venue_id: Uuid, times: EventTimes) -> Uuid {
        let now = self.now();
        let response = self
            .post("/api/v1/events")
            .token(token)
            .json(json!({
                "venue_id": venue_id,
                "name": "Concierto de prueba",
                "description": "Evento creado por las pruebas",
                "starts_at": rfc3339(now + Duration::days(31)),
                "sale_starts_at": rfc3339(now - Duration::days(1)),
                "sale_ends_at": rfc3339(now + Duration::days(30)),
                "hold_minutes": times.hold_minutes,
                "payment_minutes": times.payment_minutes,
            }))
            .send()
            .await;
        assert_status(&response, 201);
        response.id("id")
    }

    pub async fn create_zone(&self, token: &str, event_id: Uuid, zone: &ZoneSpec) -> Uuid {
        let body = match zone {
            ZoneSpec::GeneralAdmission {
                capacity,
                price_usd_cents,
            } => json!({
                "name": "Pista",
                "kind": "general_admission",
                "capacity": capacity,
                "price_usd_cents": price_usd_cents,
            }),
            ZoneSpec::Numbered {
                rows,
                price_usd_cents,
            } => json!({
                "name": "Platea",
                "kind": "numbered",
                "rows": rows,
                "price_usd_cents": price_usd_cents,
            }),
        };
        let response = self
            .post(&format!("/api/v1/events/{event_id}/zones"))
            .token(token)
            .json(body)
            .send()
            .await;
        assert_status(&response, 201);
        response.id("id")
    }

    pub async fn activate_event(&self, token: &str, event_id: Uuid) {
        let response = self
            .post(&format!("/api/v1/events/{event_id}/activate"))
            .token(token)
            .send()
            .await;
        assert_status(&response, 200);
        assert_eq!(response.body["status"], "active");
    }

    /// Registers `rate` for the Caracas date of the application clock.
    pub async fn create_exchange_rate(&self, token: &str, rate: &str) -> ApiResponse {
        let effective_date = caracas_date(self.now()).to_string();
        let response = self
            .post("/api/v1/exchange-rates")
            .token(token)
            .json(json!({ "rate": rate, "effective_date": effective_date }))
            .send()
            .await;
        assert_status(&response, 201);
        response
    }

    pub async fn create_customer(&self, token: &str) -> Uuid {
        let response = self
            .post("/api/v1/customers")
            .token(token)
            .json(json!({
                "first_name": "María",
                "last_name": "Pérez",
                "document": "V-12.345.678",
                "phone": "0414-1234567",
            }))
            .send()
            .await;
        assert_status(&response, 201);
        response.id("id")
    }

    /// Sets up a tenant with an active event, one zone, today's rate and a customer.
    pub async fn setup_shop(
        &self,
        slug: &str,
        rif: &str,
        zone: ZoneSpec,
        times: EventTimes,
    ) -> Shop {
        let tenant = self.setup_tenant(slug, rif).await;
        let venue_id = self.create_venue(&tenant.admin_token).await;
        let event_id = self
            .create_event(&tenant.admin_token, venue_id, times)
            .await;
        let zone_id = self.create_zone(&tenant.admin_token, event_id, &zone).await;
        self.activate_event(&tenant.admin_token, event_id).await;
        self.create_exchange_rate(&tenant.admin_token, RATE).await;
        let customer_id = self.create_customer(&tenant.cashier_token).await;
        Shop {
            tenant,
            venue_id,
            event_id,
            zone_id,
            customer_id,
        }
    }

    /// Returns the Bs. total of an order for `seats`, by pricing one and cancelling it.
    pub async fn order_total_bs(&self, shop: &Shop, token: &str, seats: &[Uuid]) -> i64 {
        let hold = self.hold_seats(token, shop.zone_id, seats).await;
        assert_status(&hold, 201);
        let order = self
            .create_order(token, hold.id("id"), shop.customer_id)
            .await;
        assert_status(&order, 201);
        let cancelled = self
            .post(&format!("/api/v1/orders/{}/cancel", order.id("id")))
            .token(token)
            .send()
            .await;
        assert_status(&cancelled, 200);
        order.body["total_bs_cents"].as_i64().unwrap()
    }

    pub async fn availability(&self, token: &str, zone_id: Uuid) -> ApiResponse {
        let response = self
            .get(&format!("/api/v1/zones/{zone_id}/availability"))
            .token(token)
            .send()
            .await;
        assert_status(&response, 200);
        response
    }

    /// Returns the seat ids of a numbered zone in row and number order.
    pub async fn seat_ids(&self, token: &str, zone_id: Uuid) -> Vec<Uuid> {
        let availability = self.availability(token, zone_id).await;
        availability.body["seats"]
            .as_array()
            .expect("seats")
            .iter()
            .map(|seat| uuid_of(&seat["id"]))
            .collect()
    }

    pub async fn hold_seats(&self, token: &str, zone_id: Uuid, seat_ids: &[Uuid]) -> ApiResponse {
        self.post("/api/v1/holds")
            .token(token)
            .json(json!({ "zone_id": zone_id, "seat_ids": seat_ids }))
            .send()
            .await
    }

    pub async fn hold_quantity(&self, token: &str, zone_id: Uuid, quantity: i64) -> ApiResponse {
        self.post("/api/v1/holds")
            .token(token)
            .json(json!({ "zone_id": zone_id, "quantity": quantity }))
            .send()
            .await
    }

    pub async fn create_order(&self, token: &str, hold_id: Uuid, customer_id: Uuid) -> ApiResponse {
        self.post("/api/v1/orders")
            .token(token)
            .json(json!({ "hold_id": hold_id, "customer_id": customer_id }))
            .send()
            .await
    }

    pub async fn get_order(&self, token: &str, order_id: Uuid) -> ApiResponse {
        self.get(&format!("/api/v1/orders/{order_id}"))
            .token(token)
            .send()
            .await
    }

    /// Sends a payment with a fresh Idempotency-Key.
    pub async fn pay(&self, token: &str, order_id: Uuid, body: Value) -> ApiResponse {
        self.pay_with_key(token, order_id, &Uuid::new_v4().to_string(), body)
            .await
    }

    pub async fn pay_with_key(
        &self,
        token: &str,
        order_id: Uuid,
        key: &str,
        body: Value,
    ) -> ApiResponse {
        self.post(&format!("/api/v1/orders/{order_id}/payments"))
            .token(token)
            .idempotency_key(key)
            .json(body)
            .send()
            .await
    }

    pub async fn void_order(&self, token: &str, order_id: Uuid, reason: &str) -> ApiResponse {
        self.post(&format!("/api/v1/orders/{order_id}/void"))
            .token(token)
            .json(json!({ "reason": reason }))
            .send()
            .await
    }

    pub async fn tickets(&self, token: &str, order_id: Uuid) -> ApiResponse {
        self.get(&format!("/api/v1/orders/{order_id}/tickets"))
            .token(token)
            .send()
            .await
    }

    pub async fn validate_ticket(&self, token: &str, body: Value) -> ApiResponse {
        self.post("/api/v1/tickets/validate")
            .token(token)
            .json(body)
            .send()
            .await
    }

    pub async fn fiscal_documents(&self, token: &str) -> ApiResponse {
        let response = self
            .get("/api/v1/fiscal/documents")
            .token(token)
            .send()
            .await;
        assert_status(&response, 200);
        response
    }

    /// Holds, orders and pays in cash bolívares in full; returns the paid order.
    pub async fn sell(&self, shop: &Shop, hold: Value) -> Value {
        let token = &shop.tenant.cashier_token;
        let response = self
            .post("/api/v1/holds")
            .token(token)
            .json(hold)
            .send()
            .await;
        assert_status(&response, 201);
        let order = self
            .create_order(token, response.id("id"), shop.customer_id)
            .await;
        assert_status(&order, 201);
        let total_bs_cents = order.body["total_bs_cents"]
            .as_i64()
            .expect("total_bs_cents");
        let payment = self
            .pay(token, order.id("id"), cash_ves(total_bs_cents))
            .await;
        assert_status(&payment, 201);
        assert_eq!(payment.body["order"]["status"], "paid");
        payment.body["order"].clone()
    }
}

/// Body of a cash payment in bolívares.
pub fn cash_ves(amount_cents: i64) -> Value {
    json!({ "method": "cash", "currency": "VES", "amount_cents": amount_cents })
}

/// Returns the fiscal document with its full content.
pub async fn fiscal_document(app: &TestApp, token: &str, document_id: Uuid) -> Value {
    let document = app
        .get(&format!("/api/v1/fiscal/documents/{document_id}"))
        .token(token)
        .send()
        .await;
    assert_status(&document, 200);
    document.body
}

/// Body of a cash payment in dollars.
pub fn cash_usd(amount_cents: i64) -> Value {
    json!({ "method": "cash", "currency": "USD", "amount_cents": amount_cents })
}

/// Body of a Pago Móvil payment from a valid payer.
pub fn pago_movil(amount_cents: i64, reference: &str) -> Value {
    json!({
        "method": "pago_movil",
        "currency": "VES",
        "amount_cents": amount_cents,
        "bank_code": "0102",
        "phone": "04141234567",
        "document": "V12345678",
        "reference": reference,
    })
}
