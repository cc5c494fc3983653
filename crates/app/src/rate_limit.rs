//! Request rate limits per user, per client IP address and on login, and the
//! middleware that enforces them on every `/api/v1` route. Health checks,
//! `/metrics` and the OpenAPI document sit outside `/api/v1` and are never limited.
//!
//! One algorithm, GCRA (the generic cell rate algorithm), runs in two places:
//! in Redis through one Lua script when `REDIS_URL` is set, so every instance
//! spends the same budget, and in this process's memory otherwise. A key stores
//! one number, its theoretical arrival time (TAT): the instant at which its
//! budget is full again. A quota of `n` requests per period lets a fresh key
//! make `n` requests at once and then one more each `period / n`.
//!
//! When Redis fails or does not reply within [`REDIS_TIMEOUT`], the request is
//! checked against the in-process limiter, a `redis_unavailable` warning is
//! logged at most once a minute, and Redis is tried again after
//! [`REDIS_RETRY_INTERVAL`]. A Redis failure never fails a request. While it
//! lasts, each instance counts only its own requests.
//!
//! New scopes go in [`Scope`]; the limits themselves come from [`crate::config::Config`].

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use taquilla_store::model::Role;

use crate::config::Config;
use crate::error::ApiError;
use crate::redis_client::Redis;
use crate::state::AppState;

/// Maximum wait for the Redis script before the in-process limiter decides.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the in-process limiter decides alone after a Redis failure, so a
/// Redis outage does not add a failed round trip to every request.
const REDIS_RETRY_INTERVAL: chrono::Duration = chrono::Duration::seconds(5);
/// Seconds between two `redis_unavailable` warnings.
const WARNING_INTERVAL_SECONDS: i64 = 60;
/// Keys the in-process limiter keeps at most. When it is full, the least used
/// keys are evicted first, which resets their budget.
const MAX_LOCAL_KEYS: u64 = 100_000;
/// A key unused for this long has a full budget again under every quota
/// (the longest period is one hour), so the in-process limiter drops it.
const LOCAL_KEY_IDLE: Duration = Duration::from_secs(3_600);
/// Seconds between two `rate_limited` log events of the same key; the metric
/// counts every rejection.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

const LOGIN_PATH: &str = "/api/v1/auth/login";
const REFRESH_PATH: &str = "/api/v1/auth/refresh";
/// The web sign-in form posts here; it shares the login budget with the API.
const WEB_LOGIN_PATH: &str = "/app/login";

/// GCRA in Redis. KEYS[1] is the key. ARGV contains the current time, the
/// emission interval and the burst tolerance, all in microseconds. Returns 0
/// when the request is allowed (and stores the new TAT), otherwise the
/// microseconds to wait.
const GCRA_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_at = new_tat - tolerance
if now < allowed_at then return allowed_at - now end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
";

/// The subject of a budget: the label of `venezuelan_pos_rate_limited_total`
/// and the middle part of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One authenticated user, on every `/api/v1` route.
    User,
    /// One client IP address, on every `/api/v1` route.
    Ip,
    /// One client IP address, on login and token refresh only.
    Login,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::User, Scope::Ip, Scope::Login];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Ip => "ip",
            Scope::Login => "login",
        }
    }
}

/// A number of requests allowed per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub period: Duration,
}

impl Quota {
    /// Returns the quota, or `None` when `requests` is 0, which turns the limit off.
    pub fn new(requests: u32, period: Duration) -> Option<Self> {
        (requests > 0).then_some(Self { requests, period })
    }

    /// Microseconds between two requests once the burst is spent.
    fn interval_micros(self) -> i64 {
        let period = i64::try_from(self.period.as_micros()).unwrap_or(i64::MAX);
        (period / i64::from(self.requests)).max(1)
    }

    /// Returns how far ahead of now the TAT may be: room for `requests` requests at once.
    fn tolerance_micros(self) -> i64 {
        self.interval_micros() * i64::from(self.requests)
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied { retry_after_seconds: u64 },
}

impl Decision {
    /// Builds the decision from the microseconds to wait (0 or less: allowed).
    fn from_wait(wait_micros: i64) -> Self {
        if wait_micros <= 0 {
            return Decision::Allowed;
        }
        let wait_micros = u64::try_from(wait_micros).unwrap_or(u64::MAX);
        Decision::Denied {
            retry_after_seconds: wait_micros.div_ceil(1_000_000).max(1),
        }
    }
}

/// Applies GCRA to a key whose stored TAT is `tat`. Returns the microseconds to
/// wait (0 when allowed) and, when allowed, the TAT to store.
fn gcra(tat: Option<i64>, now_micros: i64, quota: Quota) -> (i64, Option<i64>) {
    let tat = tat.unwrap_or(now_micros).max(now_micros);
    let new_tat = tat + quota.interval_micros();
    let allowed_at = new_tat - quota.tolerance_micros();
    if now_micros < allowed_at {
        return (allowed_at - now_micros, None);
    }
    (0, Some(new_tat))
}

/// The limits in force, read once from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per interactive user (every role but `api_client`).
    pub user: Option<Quota>,
    /// Per `api_client` service account, which sells for a whole website.
    pub api_client: Option<Quota>,
    pub ip: Option<Quota>,
    pub login: Option<Quota>,
    /// Take the client address from the first `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        let hour = Duration::from_secs(3_600);
        let minute = Duration::from_secs(60);
        Self {
            user: Quota::new(config.rate_limit_user_per_hour, hour),
            api_client: Quota::new(config.rate_limit_api_client_per_hour, hour),
            ip: Quota::new(config.rate_limit_ip_per_hour, hour),
            login: Quota::new(config.rate_limit_login_per_minute, minute),
            trust_forwarded_for: config.trust_forwarded_for,
        }
    }

    /// Returns the per-user quota of `role`.
    fn for_role(&self, role: Role) -> Option<Quota> {
        match role {
            Role::ApiClient => self.api_client,
            _ => self.user,
        }
    }

    fn is_off(&self) -> bool {
        self.user.is_none()
            && self.api_client.is_none()
            && self.ip.is_none()
            && self.login.is_none()
    }
}

/// Checks requests against their budgets, in Redis when configured and in
/// this process's memory otherwise or while Redis fails.
pub struct RateLimiter {
    limits: Limits,
    redis: Option<Redis>,
    script: redis::Script,
    /// TAT per key, in microseconds since the Unix epoch.
    local: moka::sync::Cache<String, i64>,
    /// Unix milliseconds before which Redis is not tried again.
    redis_skipped_until: AtomicI64,
    /// Unix seconds of the last `redis_unavailable` warning.
    last_warning: AtomicI64,
    /// Keys whose rejection was logged in the last [`LOG_INTERVAL`].
    logged: moka::sync::Cache<String, ()>,
}

impl RateLimiter {
    pub fn new(limits: Limits, redis: Option<Redis>) -> Self {
        Self {
            limits,
            redis,
            script: redis::Script::new(GCRA_SCRIPT),
            local: moka::sync::Cache::builder()
                .max_capacity(MAX_LOCAL_KEYS)
                .time_to_idle(LOCAL_KEY_IDLE)
                .build(),
            redis_skipped_until: AtomicI64::new(0),
            last_warning: AtomicI64::new(0),
            logged: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOG_INTERVAL)
                .build(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Spends one request of `key`'s budget under `quota` at `now`, or returns
    /// how long to wait. `key` is unprefixed, e.g. `ratelimit:user:{id}`.
    pub async fn check(&self, key: &str, quota: Quota, now: DateTime<Utc>) -> Decision {
        let now_micros = now.timestamp_micros();
        if let Some(redis) = &self.redis
            && now.timestamp_millis() >= self.redis_skipped_until.load(Ordering::Relaxed)
        {
            match self.check_in_redis(redis, key, quota, now_micros).await {
                Ok(wait_micros) => return Decision::from_wait(wait_micros),
                Err(error) => self.note_redis_failure(&error, now),
            }
        }
        Decision::from_wait(self.check_locally(key, quota, now_micros))
    }

    async fn check_in_redis(
        &self,
        redis: &Redis,
        key: &str,
        quota: Quota,
        now_micros: i64,
    ) -> Result<i64, String> {
        let mut connection = redis.connection();
        let mut invocation = self.script.key(redis.key(key));
        invocation
            .arg(now_micros)
            .arg(quota.interval_micros())
            .arg(quota.tolerance_micros());
        let call = invocation.invoke_async::<i64>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(wait_micros)) => Ok(wait_micros),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} ms", REDIS_TIMEOUT.as_millis())),
        }
    }

    /// Applies GCRA to the in-process copy of `key`; returns the microseconds to wait.
    fn check_locally(&self, key: &str, quota: Quota, now_micros: i64) -> i64 {
        let mut wait_micros = 0;
        self.local.entry(key.to_string()).and_compute_with(|entry| {
            let (wait, new_tat) = gcra(entry.map(|entry| entry.into_value()), now_micros, quota);
            wait_micros = wait;
            match new_tat {
                Some(tat) => moka::ops::compute::Op::Put(tat),
                None => moka::ops::compute::Op::Nop,
            }
        });
        wait_micros
    }

    /// Skips Redis for a while and logs the failure at most once a minute.
    fn note_redis_failure(&self, error: &str, now: DateTime<Utc>) {
        self.redis_skipped_until.store(
            (now + REDIS_RETRY_INTERVAL).timestamp_millis(),
            Ordering::Relaxed,
        );
        let wall_clock = Utc::now().timestamp();
        let last = self.last_warning.load(Ordering::Relaxed);
        if wall_clock - last >= WARNING_INTERVAL_SECONDS
            && self
                .last_warning
                .compare_exchange(last, wall_clock, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                event = "redis_unavailable",
                component = "rate_limit",
                error = %error,
                "Redis failed; rate limits are counted in this process only"
            );
        }
    }

    /// Returns true the first time in [`LOG_INTERVAL`] that `key` is rejected.
    fn should_log(&self, key: &str) -> bool {
        let entry = self.logged.entry(key.to_string()).or_insert(());
        entry.is_fresh()
    }
}

/// Returns the client's IP address: the first `X-Forwarded-For` entry when the
/// proxy in front is trusted and sent a valid one, otherwise the peer address.
fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(forwarded) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok())
    {
        return Some(forwarded);
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// One budget a request spends.
struct Budget {
    scope: Scope,
    /// Unprefixed key, e.g. `ratelimit:ip:192.0.2.1`.
    key: String,
    quota: Quota,
    /// The user whose budget it is, for scope `user`.
    user_id: Option<uuid::Uuid>,
}

/// Lists the budgets one request spends, in the order they are checked.
fn budgets(
    state: &AppState,
    request: &Request,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Vec<Budget> {
    let mut budgets = Vec::with_capacity(3);
    let ip = client_ip(request, limits.trust_forwarded_for);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);

    if let (Some(ip), Some(quota)) = (ip, limits.login)
        && (matches!(route, Some(LOGIN_PATH | REFRESH_PATH))
            || (route == Some(WEB_LOGIN_PATH) && request.method() == axum::http::Method::POST))
    {
        budgets.push(Budget {
            scope: Scope::Login,
            key: format!("ratelimit:login:{ip}"),
            quota,
            user_id: None,
        });
    }
    if let (Some(ip), Some(quota)) = (ip, limits.ip) {
        budgets.push(Budget {
            scope: Scope::Ip,
            key: format!("ratelimit:ip:{ip}"),
            quota,
            user_id: None,
        });
    }
    // A missing or invalid token spends no user budget, because the handler rejects it with 401.
    let claims = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| state.tokens.check(token, now));
    if let Some(claims) = claims
        && let Some(quota) = limits.for_role(claims.role)
    {
        budgets.push(Budget {
            scope: Scope::User,
            key: format!("ratelimit:user:{}", claims.sub),
            quota,
            user_id: Some(claims.sub),
        });
    }
    budgets
}

/// Middleware of the `/api/v1` routes: rejects a request with 429
/// `rate_limited` and `Retry-After` once one of its budgets is spent.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = state.rate_limiter.clone();
    let limits = *limiter.limits();
    if limits.is_off() {
        return next.run(request).await;
    }

    let now = state.clock.now();
    for budget in budgets(&state, &request, &limits, now) {
        let Decision::Denied {
            retry_after_seconds,
        } = limiter.check(&budget.key, budget.quota, now).await
        else {
            continue;
        };

        state
            .metrics
            .rate_limited_total
            .with_label_values(&[budget.scope.as_str()])
            .inc();
        if limiter.should_log(&budget.key) {
            let user_id = budget.user_id.map(tracing::field::display);
            tracing::warn!(
                event = "rate_limited",
                rate_limit.scope = budget.scope.as_str(),
                user.id = user_id,
                retry_after_seconds,
                "request rejected: rate limit reached"
            );
        }
        let error = ApiError::TooManyRequests {
            code: "rate_limited",
            retry_after_seconds,
        };
        // A person at a web page gets the message as a page, not as JSON.
        if request.uri().path().starts_with("/app") {
            let locale = crate::web::session::page_locale(request.headers());
            let mut response = crate::web::page::error_page(locale, error);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_seconds),
            );
            return response;
        }
        return error.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn per_hour(requests: u32) -> Quota {
        Quota::new(requests, Duration::from_secs(3_600)).unwrap()
    }

    fn limiter() -> RateLimiter {
        let limits = Limits {
            user: None,
            api_client: None,
            ip: None,
            login: None,
            trust_forwarded_for: false,
        };
        RateLimiter::new(limits, None)
    }

    #[test]
    fn zero_requests_turns_the_limit_off() {
        assert_eq!(Quota::new(0, Duration::from_secs(60)), None);
    }

    #[test]
    fn gcra_allows_the_burst_then_one_per_interval() {
        let quota = per_hour(4);
        let now = 1_000 * SECOND;
        let mut tat = None;
        for request in 1..=4 {
            let (wait, new_tat) = gcra(tat, now, quota);
            assert_eq!(wait, 0, "request {request}");
            tat = new_tat;
        }

        let (wait, new_tat) = gcra(tat, now, quota);
        assert_eq!(wait, 900 * SECOND);
        assert_eq!(new_tat, None);

        let (wait, _) = gcra(tat, now + 900 * SECOND, quota);
        assert_eq!(wait, 0);
    }

    #[test]
    fn wait_rounds_up_to_whole_seconds() {
        assert_eq!(Decision::from_wait(0), Decision::Allowed);
        assert_eq!(
            Decision::from_wait(1),
            Decision::Denied {
                retry_after_seconds: 1
            }
        );
        assert_eq!(
            Decision::from_wait(2 * SECOND + 1),
            Decision::Denied {
                retry_after_seconds: 3
            }
        );
    }

    #[tokio::test]
    async fn local_keys_have_separate_budgets() {
        let limiter = limiter();
        let quota = per_hour(1);
        let now = Utc::now();

        assert_eq!(limiter.check("a", quota, now).await, Decision::Allowed);
        assert!(matches!(
            limiter.check("a", quota, now).await,
            Decision::Denied { .. }
        ));
        assert_eq!(limiter.check("b", quota, now).await, Decision::Allowed);
    }

    #[test]
    fn api_clients_have_their_own_quota() {
        let limits = Limits {
            user: Some(per_hour(10)),
            api_client: Some(per_hour(20)),
            ip: None,
            login: None,
            trust_forwarded_for: false,
        };

        assert_eq!(limits.for_role(Role::Cashier), Some(per_hour(10)));
        assert_eq!(limits.for_role(Role::PlatformAdmin), Some(per_hour(10)));
        assert_eq!(limits.for_role(Role::ApiClient), Some(per_hour(20)));
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut request = Request::builder()
            .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
            .body(axum::body::Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));

        let trusted = client_ip(&request, true).unwrap();
        let untrusted = client_ip(&request, false).unwrap();

        assert_eq!(trusted.to_string(), "203.0.113.7");
        assert_eq!(untrusted.to_string(), "127.0.0.1");
    }

    #[test]
    fn invalid_forwarded_for_falls_back_to_the_peer() {
        let mut request = Request::builder()
            .header("x-forwarded-for", "not-an-address")
            .body(axum::body::Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));

        assert_eq!(client_ip(&request, true).unwrap().to_string(), "127.0.0.1");
    }
}
