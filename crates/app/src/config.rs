//! Configuration: one typed struct read from flags and environment variables,
//! validated at start. With nothing set, taquilla uses `taquilla.db` (SQLite)
//! in the data directory and listens on 127.0.0.1:8000.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Highest hourly rate limit accepted: one request per 3.6 ms. Limits are
/// counted in microseconds, so higher ones would lose precision.
pub const MAX_RATE_LIMIT_PER_HOUR: u32 = 1_000_000;
/// Highest per-minute rate limit accepted, for the same reason.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 100_000;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for production log pipelines.
    Json,
    /// Human-readable lines, for development.
    Text,
}

/// When a log file is closed and a new one started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogRotation {
    /// A new file each day at midnight UTC.
    Daily,
    /// A new file each hour.
    Hourly,
    /// One file per log that grows without limit.
    Never,
}

/// Settings of `taquilla serve` and the other subcommands that open the database.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long = "bind", env = "TAQUILLA_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Directory for the SQLite database file `taquilla.db` when DATABASE_URL is not set.
    #[arg(long = "data-dir", env = "TAQUILLA_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,

    /// Database URL: `postgres://user@host/db` for PostgreSQL, or `sqlite://path`.
    /// Default: SQLite file `taquilla.db` in the data directory.
    #[arg(long = "database-url", env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Maximum database connections in the pool.
    #[arg(
        long = "db-max-connections",
        env = "TAQUILLA_DB_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub db_max_connections: u32,

    /// SQLite only: `full` makes every committed sale survive a power loss; `normal` is faster
    /// and survives a process crash but not a power loss.
    #[arg(long = "sqlite-synchronous", env = "TAQUILLA_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"])]
    pub sqlite_synchronous: String,

    /// Log format: `json` (production) or `text` (development).
    #[arg(
        long = "log-format",
        env = "TAQUILLA_LOG_FORMAT",
        value_enum,
        default_value = "json"
    )]
    pub log_format: LogFormat,

    /// Directory for the application, performance and security log files (JSON lines),
    /// created if missing. Unset: no log files, only the log stream on stderr.
    #[arg(long = "log-dir", env = "TAQUILLA_LOG_DIR")]
    pub log_dir: Option<PathBuf>,

    /// When each log file is rotated: `daily` or `hourly` (UTC), or `never`.
    #[arg(
        long = "log-rotation",
        env = "TAQUILLA_LOG_ROTATION",
        value_enum,
        default_value = "daily"
    )]
    pub log_rotation: LogRotation,

    /// Files kept per log, counting the current one (at least 2). The oldest are
    /// deleted at start-up and at each rotation.
    #[arg(
        long = "log-max-files",
        env = "TAQUILLA_LOG_MAX_FILES",
        default_value_t = 14
    )]
    pub log_max_files: usize,

    /// Secret for signing access tokens (at least 32 bytes). Default: a random secret
    /// generated once and kept in the database, shared by every instance.
    #[arg(
        long = "jwt-secret",
        env = "TAQUILLA_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token, in minutes.
    #[arg(
        long = "access-token-minutes",
        env = "TAQUILLA_ACCESS_TOKEN_MINUTES",
        default_value_t = 15
    )]
    pub access_token_minutes: i64,

    /// Lifetime of a refresh token, in days.
    #[arg(
        long = "refresh-token-days",
        env = "TAQUILLA_REFRESH_TOKEN_DAYS",
        default_value_t = 14
    )]
    pub refresh_token_days: i64,

    /// Lifetime of a sign-in to the box-office web pages, in hours: one shift.
    #[arg(
        long = "web-session-hours",
        env = "TAQUILLA_WEB_SESSION_HOURS",
        default_value_t = 12
    )]
    pub web_session_hours: i64,

    /// Marks the web session cookie `Secure`, so browsers send it only over
    /// HTTPS. Turn it on whenever a TLS proxy serves taquilla.
    #[arg(
        long = "cookie-secure",
        env = "TAQUILLA_COOKIE_SECURE",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub cookie_secure: bool,

    /// Consecutive failed logins that lock an account.
    #[arg(
        long = "max-login-failures",
        env = "TAQUILLA_MAX_LOGIN_FAILURES",
        default_value_t = 5
    )]
    pub max_login_failures: i64,

    /// How long a locked account stays locked, in minutes.
    #[arg(
        long = "lockout-minutes",
        env = "TAQUILLA_LOCKOUT_MINUTES",
        default_value_t = 15
    )]
    pub lockout_minutes: i64,

    /// Argon2id memory cost in KiB. The default (19 MiB, 2 passes) is OWASP's
    /// minimum recommendation; lower it only for tests.
    #[arg(
        long = "argon2-memory-kib",
        env = "TAQUILLA_ARGON2_MEMORY_KIB",
        default_value_t = 19_456
    )]
    pub argon2_memory_kib: u32,

    /// Argon2id passes.
    #[arg(
        long = "argon2-iterations",
        env = "TAQUILLA_ARGON2_ITERATIONS",
        default_value_t = 2
    )]
    pub argon2_iterations: u32,

    /// Seconds between runs of the job that expires holds and unpaid orders.
    #[arg(
        long = "sweep-interval-seconds",
        env = "TAQUILLA_SWEEP_INTERVAL_SECONDS",
        default_value_t = 15
    )]
    pub sweep_interval_seconds: u64,

    /// Numbers in an offline block when the terminal's request sets no size.
    #[arg(
        long = "offline-block-size",
        env = "TAQUILLA_OFFLINE_BLOCK_SIZE",
        default_value_t = 50
    )]
    pub offline_block_size: i64,

    /// Hours an offline block stays valid when the terminal's request sets no
    /// duration. Its unused numbers are voided at expiry.
    #[arg(
        long = "offline-block-hours",
        env = "TAQUILLA_OFFLINE_BLOCK_HOURS",
        default_value_t = 8
    )]
    pub offline_block_hours: i64,

    /// SQL statements slower than this many seconds are logged as warnings.
    #[arg(
        long = "slow-query-threshold",
        env = "PERFORMANCE_MONITORING_SLOW_QUERY_THRESHOLD",
        default_value_t = 0.5
    )]
    pub slow_query_threshold_seconds: f64,

    /// Record each request's database calls and list the slowest recent requests
    /// at the admin profiling endpoints.
    #[arg(
        long = "enable-request-profiling",
        env = "PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub enable_request_profiling: bool,

    /// Requests slower than this many milliseconds log `slow_request_detected`.
    #[arg(
        long = "slow-request-ms",
        env = "TAQUILLA_SLOW_REQUEST_MS",
        default_value_t = 1_000
    )]
    pub slow_request_ms: u64,

    /// Largest accepted request body, in bytes.
    #[arg(
        long = "max-body-bytes",
        env = "TAQUILLA_MAX_BODY_BYTES",
        default_value_t = 262_144
    )]
    pub max_body_bytes: usize,

    /// Also serve `/metrics` on this port (same address as `--bind`), so it can be
    /// firewalled apart from the API.
    #[arg(long = "metrics-port", env = "PROMETHEUS_METRICS_EXPORT_PORT")]
    pub metrics_port: Option<u16>,

    /// With PROMETHEUS_METRICS_EXPORT_PORT set, serve `/metrics` only there and not on the API port.
    #[arg(
        long = "metrics-only-on-export-port",
        env = "TAQUILLA_METRICS_ONLY_ON_EXPORT_PORT",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub metrics_only_on_export_port: bool,

    /// Label business metrics by tenant only (event_id and zone_id empty), which
    /// bounds their series for deployments with many events.
    #[arg(
        long = "metrics-tenant-labels-only",
        env = "TAQUILLA_METRICS_TENANT_LABELS_ONLY",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub metrics_tenant_labels_only: bool,

    /// A user counts in `venezuelan_pos_active_users` for this many minutes after
    /// their last authenticated request (counted per instance).
    #[arg(
        long = "active-user-minutes",
        env = "TAQUILLA_ACTIVE_USER_MINUTES",
        default_value_t = 15
    )]
    pub active_user_minutes: i64,

    /// Sentry DSN; errors and panics are reported there when set. Unset, nothing is sent.
    #[arg(long = "sentry-dsn", env = "SENTRY_DSN", hide_env_values = true)]
    pub sentry_dsn: Option<String>,

    /// Environment name attached to Sentry events.
    #[arg(
        long = "sentry-environment",
        env = "SENTRY_ENVIRONMENT",
        default_value = "production"
    )]
    pub sentry_environment: String,

    /// Release attached to Sentry events (default: this build's version).
    #[arg(long = "sentry-release", env = "SENTRY_RELEASE")]
    pub sentry_release: Option<String>,

    /// Share of requests sent to Sentry as performance transactions, 0 to 1;
    /// health and metrics requests are never sent.
    #[arg(
        long = "sentry-traces-sample-rate",
        env = "SENTRY_TRACES_SAMPLE_RATE",
        default_value_t = 0.0
    )]
    pub sentry_traces_sample_rate: f32,

    /// Accepted for compatibility with the earlier deployment's settings.
    // NOTE: the Rust Sentry SDK (0.49) has no profiler, so this value is only validated.
    #[arg(
        long = "sentry-profiles-sample-rate",
        env = "SENTRY_PROFILES_SAMPLE_RATE",
        default_value_t = 0.0
    )]
    pub sentry_profiles_sample_rate: f32,

    /// Redis for the cache and the rate limits shared by all instances, e.g.
    /// `redis://127.0.0.1:6379/0`. Unset: both stay in this process, which
    /// then must be the only instance.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Maximum time a cached read (availability, current stages, catalogue)
    /// is served. Changes through the API invalidate it at once.
    #[arg(
        long = "cache-ttl-seconds",
        env = "TAQUILLA_CACHE_TTL_SECONDS",
        default_value_t = 5
    )]
    pub cache_ttl_seconds: u64,

    /// Memory the in-process cache may use, in MiB (without REDIS_URL).
    #[arg(
        long = "cache-max-mib",
        env = "TAQUILLA_CACHE_MAX_MIB",
        default_value_t = 64
    )]
    pub cache_max_mib: u64,

    /// Prefix of every Redis key, so one Redis can serve several deployments.
    #[arg(
        long = "redis-key-prefix",
        env = "TAQUILLA_REDIS_KEY_PREFIX",
        default_value = "taquilla:"
    )]
    pub redis_key_prefix: String,

    /// Requests per hour of one authenticated user on the `/api/v1` routes
    /// (every role but `api_client`). 0 turns the limit off.
    #[arg(
        long = "rate-limit-user-per-hour",
        env = "TAQUILLA_RATE_LIMIT_USER_PER_HOUR",
        default_value_t = 1_000
    )]
    pub rate_limit_user_per_hour: u32,

    /// Requests per hour of one `api_client` service account, which sells for a
    /// whole website. 0 turns the limit off.
    // NOTE: 36,000 (10 per second on average) is an estimate of a busy website's
    // traffic, not a measured figure.
    #[arg(
        long = "rate-limit-api-client-per-hour",
        env = "TAQUILLA_RATE_LIMIT_API_CLIENT_PER_HOUR",
        default_value_t = 36_000
    )]
    pub rate_limit_api_client_per_hour: u32,

    /// Requests per hour from one client IP address on the `/api/v1` routes.
    /// The default leaves room for 20 cashiers behind one NAT address, each
    /// using the full per-user budget (20,000), plus half as much again for
    /// logins, token refreshes and gate scanners. 0 turns the limit off.
    #[arg(
        long = "rate-limit-ip-per-hour",
        env = "TAQUILLA_RATE_LIMIT_IP_PER_HOUR",
        default_value_t = 30_000
    )]
    pub rate_limit_ip_per_hour: u32,

    /// Requests per minute from one client IP address to `/api/v1/auth/login`
    /// and `/api/v1/auth/refresh`, counted whether the password is right or
    /// not. 0 turns the limit off.
    #[arg(
        long = "rate-limit-login-per-minute",
        env = "TAQUILLA_RATE_LIMIT_LOGIN_PER_MINUTE",
        default_value_t = 20
    )]
    pub rate_limit_login_per_minute: u32,

    /// Take the client IP address of the rate limits from the first
    /// `X-Forwarded-For` entry. Enable it only behind a proxy that replaces this
    /// header, because the first entry is otherwise what the client sent.
    /// Off: the address of the TCP peer.
    #[arg(
        long = "trust-forwarded-for",
        env = "TAQUILLA_TRUST_FORWARDED_FOR",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub trust_forwarded_for: bool,

    /// OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`; spans go to its
    /// `/v1/traces`. Unset: no traces are exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// `service.name` of the exported spans.
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "taquilla"
    )]
    pub otel_service_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: PathBuf::from("."),
            database_url: None,
            db_max_connections: 16,
            sqlite_synchronous: "full".to_string(),
            log_format: LogFormat::Json,
            log_dir: None,
            log_rotation: LogRotation::Daily,
            log_max_files: 14,
            jwt_secret: None,
            access_token_minutes: 15,
            refresh_token_days: 14,
            web_session_hours: 12,
            cookie_secure: false,
            max_login_failures: 5,
            lockout_minutes: 15,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            sweep_interval_seconds: 15,
            offline_block_size: 50,
            offline_block_hours: 8,
            slow_query_threshold_seconds: 0.5,
            enable_request_profiling: false,
            slow_request_ms: 1_000,
            max_body_bytes: 262_144,
            metrics_port: None,
            metrics_only_on_export_port: false,
            metrics_tenant_labels_only: false,
            active_user_minutes: 15,
            sentry_dsn: None,
            sentry_environment: "production".to_string(),
            sentry_release: None,
            sentry_traces_sample_rate: 0.0,
            sentry_profiles_sample_rate: 0.0,
            redis_url: None,
            cache_ttl_seconds: 5,
            cache_max_mib: 64,
            redis_key_prefix: "taquilla:".to_string(),
            rate_limit_user_per_hour: 1_000,
            rate_limit_api_client_per_hour: 36_000,
            rate_limit_ip_per_hour: 30_000,
            rate_limit_login_per_minute: 20,
            trust_forwarded_for: false,
            otlp_endpoint: None,
            otel_service_name: "taquilla".to_string(),
        }
    }
}

impl Config {
    /// Checks values that clap cannot, so a bad setting stops the start with a clear message.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = self.configured_database_url()
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
        {
            return Err(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:".to_string(),
            );
        }
        if let Some(secret) = &self.jwt_secret
            && secret.len() < 32
        {
            return Err("TAQUILLA_JWT_SECRET must be at least 32 bytes long".to_string());
        }
        if self.access_token_minutes < 1 || self.refresh_token_days < 1 {
            return Err("token lifetimes must be at least 1 minute / 1 day".to_string());
        }
        if !(1..=168).contains(&self.web_session_hours) {
            return Err("TAQUILLA_WEB_SESSION_HOURS must be between 1 and 168".to_string());
        }
        if self.max_login_failures < 1 || self.lockout_minutes < 1 {
            return Err(
                "TAQUILLA_MAX_LOGIN_FAILURES and TAQUILLA_LOCKOUT_MINUTES must be at least 1"
                    .to_string(),
            );
        }
        if self.argon2_memory_kib < 8 || self.argon2_iterations < 1 {
            return Err(
                "Argon2 memory must be at least 8 KiB and iterations at least 1".to_string(),
            );
        }
        if self.db_max_connections < 1 {
            return Err("TAQUILLA_DB_MAX_CONNECTIONS must be at least 1".to_string());
        }
        if !(self.slow_query_threshold_seconds > 0.0
            && self.slow_query_threshold_seconds.is_finite())
        {
            return Err(
                "PERFORMANCE_MONITORING_SLOW_QUERY_THRESHOLD must be a positive number of seconds"
                    .to_string(),
            );
        }
        if self.metrics_only_on_export_port && self.metrics_port.is_none() {
            return Err(
                "TAQUILLA_METRICS_ONLY_ON_EXPORT_PORT needs PROMETHEUS_METRICS_EXPORT_PORT"
                    .to_string(),
            );
        }
        for (name, rate) in [
            ("SENTRY_TRACES_SAMPLE_RATE", self.sentry_traces_sample_rate),
            (
                "SENTRY_PROFILES_SAMPLE_RATE",
                self.sentry_profiles_sample_rate,
            ),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if let Some(dsn) = self
            .sentry_dsn
            .as_deref()
            .filter(|dsn| !dsn.trim().is_empty())
            && dsn.parse::<sentry::types::Dsn>().is_err()
        {
            return Err("SENTRY_DSN is not a valid DSN (https://KEY@HOST/PROJECT)".to_string());
        }
        if let Some(endpoint) = self.configured_otlp_endpoint()
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(
                "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL".to_string(),
            );
        }
        if let Some(url) = self.configured_redis_url()
            && !(url.starts_with("redis://") || url.starts_with("redis+unix://"))
        {
            return Err("REDIS_URL must start with redis:// or redis+unix://".to_string());
        }
        if self.redis_key_prefix.trim().is_empty() {
            return Err(
                "TAQUILLA_REDIS_KEY_PREFIX must not be empty, so taquilla's keys stay apart from others in Redis"
                    .to_string(),
            );
        }
        if !(1..=3_600).contains(&self.cache_ttl_seconds) {
            return Err("TAQUILLA_CACHE_TTL_SECONDS must be between 1 and 3600".to_string());
        }
        if !(1..=65_536).contains(&self.cache_max_mib) {
            return Err("TAQUILLA_CACHE_MAX_MIB must be between 1 and 65536".to_string());
        }
        for (name, per_hour) in [
            (
                "TAQUILLA_RATE_LIMIT_USER_PER_HOUR",
                self.rate_limit_user_per_hour,
            ),
            (
                "TAQUILLA_RATE_LIMIT_API_CLIENT_PER_HOUR",
                self.rate_limit_api_client_per_hour,
            ),
            (
                "TAQUILLA_RATE_LIMIT_IP_PER_HOUR",
                self.rate_limit_ip_per_hour,
            ),
        ] {
            if per_hour > MAX_RATE_LIMIT_PER_HOUR {
                return Err(format!(
                    "{name} must be between 0 (no limit) and {MAX_RATE_LIMIT_PER_HOUR}"
                ));
            }
        }
        if self.rate_limit_login_per_minute > MAX_RATE_LIMIT_PER_MINUTE {
            return Err(format!(
                "TAQUILLA_RATE_LIMIT_LOGIN_PER_MINUTE must be between 0 (no limit) and {MAX_RATE_LIMIT_PER_MINUTE}"
            ));
        }
        if self.active_user_minutes < 1 {
            return Err("TAQUILLA_ACTIVE_USER_MINUTES must be at least 1".to_string());
        }
        if self.max_body_bytes < 1_024 {
            return Err("TAQUILLA_MAX_BODY_BYTES must be at least 1024".to_string());
        }
        if self.sweep_interval_seconds < 1 {
            return Err("TAQUILLA_SWEEP_INTERVAL_SECONDS must be at least 1".to_string());
        }
        if !(1..=crate::http::offline::MAX_BLOCK_SIZE).contains(&self.offline_block_size) {
            return Err(format!(
                "TAQUILLA_OFFLINE_BLOCK_SIZE must be between 1 and {}",
                crate::http::offline::MAX_BLOCK_SIZE
            ));
        }
        if !(1..=crate::http::offline::MAX_BLOCK_HOURS).contains(&self.offline_block_hours) {
            return Err(format!(
                "TAQUILLA_OFFLINE_BLOCK_HOURS must be between 1 and {}",
                crate::http::offline::MAX_BLOCK_HOURS
            ));
        }
        // tracing-appender 0.2.5 prunes at start-up down to max - 1 files before it
        // reopens the current one, so a limit of 1 would delete the current file.
        if self.log_max_files < 2 {
            return Err("TAQUILLA_LOG_MAX_FILES must be at least 2".to_string());
        }
        Ok(())
    }

    /// Returns OTEL_EXPORTER_OTLP_ENDPOINT when it is set and not empty.
    pub fn configured_otlp_endpoint(&self) -> Option<&str> {
        self.otlp_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|endpoint| !endpoint.is_empty())
    }

    /// Returns REDIS_URL when it is set and not empty.
    pub fn configured_redis_url(&self) -> Option<&str> {
        self.redis_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// Returns TAQUILLA_LOG_DIR when it is set and not empty.
    pub fn configured_log_dir(&self) -> Option<&Path> {
        self.log_dir
            .as_deref()
            .filter(|directory| !directory.as_os_str().is_empty())
    }

    /// Returns DATABASE_URL when it is set and not empty.
    pub fn configured_database_url(&self) -> Option<&str> {
        self.database_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// Returns the database URL in use: DATABASE_URL, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match self.configured_database_url() {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", self.data_dir.join("taquilla.db").display()),
        }
    }

    pub fn connect_options(&self) -> taquilla_store::ConnectOptions {
        taquilla_store::ConnectOptions {
            url: self.effective_database_url(),
            max_connections: self.db_max_connections,
            slow_statement_threshold: Duration::from_secs_f64(self.slow_query_threshold_seconds),
            sqlite_synchronous_full: self.sqlite_synchronous == "full",
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The flags of `Config` as a command line, for parsing tests.
    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn log_rotation_rejects_unknown_value() {
        let parsed = Command::try_parse_from(["taquilla", "--log-rotation", "weekly"]);

        let error = parsed.expect_err("weekly is not a rotation");
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(
            error.to_string().contains("daily, hourly, never"),
            "{error}"
        );
    }

    #[test]
    fn log_rotation_parses_known_values() {
        for (value, expected) in [
            ("daily", LogRotation::Daily),
            ("hourly", LogRotation::Hourly),
            ("never", LogRotation::Never),
        ] {
            let parsed = Command::try_parse_from(["taquilla", "--log-rotation", value])
                .unwrap_or_else(|error| panic!("{value}: {error}"));
            assert_eq!(parsed.config.log_rotation, expected);
        }
    }

    #[test]
    fn log_max_files_below_two_is_invalid() {
        for max_files in [0, 1] {
            let config = Config {
                log_max_files: max_files,
                ..Config::default()
            };

            let error = config.validate().expect_err("too few log files");
            assert!(error.contains("TAQUILLA_LOG_MAX_FILES"), "{error}");
        }
    }

    #[test]
    fn log_max_files_rejects_negative_number() {
        let parsed = Command::try_parse_from(["taquilla", "--log-max-files=-3"]);

        assert!(parsed.is_err(), "a negative file count was accepted");
    }

    #[test]
    fn rate_limits_above_the_maximum_are_invalid() {
        let configs = [
            Config {
                rate_limit_user_per_hour: MAX_RATE_LIMIT_PER_HOUR + 1,
                ..Config::default()
            },
            Config {
                rate_limit_ip_per_hour: MAX_RATE_LIMIT_PER_HOUR + 1,
                ..Config::default()
            },
            Config {
                rate_limit_api_client_per_hour: MAX_RATE_LIMIT_PER_HOUR + 1,
                ..Config::default()
            },
            Config {
                rate_limit_login_per_minute: MAX_RATE_LIMIT_PER_MINUTE + 1,
                ..Config::default()
            },
        ];

        for config in configs {
            let error = config.validate().expect_err("a rate limit too high");
            assert!(error.contains("TAQUILLA_RATE_LIMIT_"), "{error}");
        }
    }

    #[test]
    fn rate_limit_flags_parse_and_zero_is_valid() {
        let parsed = Command::try_parse_from([
            "taquilla",
            "--rate-limit-user-per-hour",
            "0",
            "--rate-limit-login-per-minute",
            "5",
            "--trust-forwarded-for",
            "true",
        ])
        .expect("valid rate limit flags");

        assert_eq!(parsed.config.rate_limit_user_per_hour, 0);
        assert_eq!(parsed.config.rate_limit_login_per_minute, 5);
        assert!(parsed.config.trust_forwarded_for);
        assert_eq!(parsed.config.validate(), Ok(()));
    }

    #[test]
    fn empty_log_dir_means_no_log_files() {
        let config = Config {
            log_dir: Some(PathBuf::new()),
            ..Config::default()
        };

        assert_eq!(config.configured_log_dir(), None);
    }
}
