//! Log and error-reporting setup. Logs are JSON lines in production and
//! readable text in development, filtered by `RUST_LOG` (default `info`, which
//! silences sqlx's per-statement logs but keeps its slow-statement warnings).
//! With TAQUILLA_LOG_DIR set, they also go to rotated JSON-lines files (see
//! `files`), and with OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to a collector
//! (see `crate::otel`). When SENTRY_DSN is set, `error!` events and panics also go to Sentry.

mod files;

use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
use tracing_subscriber::filter::{FilterExt, LevelFilter};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields};
use tracing_subscriber::fmt::writer::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::{Config, LogFormat};

pub use files::LogFileGuards;

/// Guards the process keeps until it exits: the log files' writers and the
/// OTLP exporter. Dropping them writes out buffered lines and sends the
/// spans not sent yet.
pub struct TelemetryGuards {
    pub files: LogFileGuards,
    pub traces: Option<crate::otel::TracesGuard>,
}

const DEFAULT_FILTER: &str = "info,sqlx::query=warn";

/// Request headers never sent to Sentry.
const SCRUBBED_HEADERS: &[&str] = &["authorization", "cookie", "set-cookie", "x-api-key"];

/// A layer of the global subscriber, boxed so that optional layers fit in one list.
type BoxedLayer = Box<dyn tracing_subscriber::Layer<Registry> + Send + Sync>;

/// Installs the global subscriber without log files; a second call (tests) is a
/// no-op. The Sentry layer turns `error!` events into Sentry events and does
/// nothing without a client.
pub fn init(format: LogFormat) {
    install(format, Vec::new());
}

/// Installs the global subscriber like [`init`] and, when TAQUILLA_LOG_DIR is
/// set, adds the log files, and when OTEL_EXPORTER_OTLP_ENDPOINT is set, the
/// span exporter. Validates the configuration first, so a bad setting
/// stops the start before anything is logged.
///
/// # Errors
/// Fails when the configuration is invalid, or when the log directory cannot be
/// created, a log file cannot be opened in it, or the span exporter cannot be built.
///
/// Keep the returned guards until the process exits: dropping them writes out
/// the buffered lines and stops writing the files.
pub fn init_with_files(config: &Config) -> anyhow::Result<TelemetryGuards> {
    config
        .validate()
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    let (mut layers, files) = match config.configured_log_dir() {
        Some(directory) => files::layers(directory, config.log_rotation, config.log_max_files)?,
        None => (Vec::new(), LogFileGuards::default()),
    };
    // With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to the collector too,
    // filtered by RUST_LOG like the stderr output.
    let traces = match config.configured_otlp_endpoint() {
        Some(endpoint) => {
            let (layer, guard) = crate::otel::layer(endpoint, &config.otel_service_name)?;
            layers.push(layer.with_filter(env_filter()).boxed());
            Some(guard)
        }
        None => None,
    };
    install(config.log_format, layers);
    Ok(TelemetryGuards { files, traces })
}

/// Installs the stderr and Sentry layers next to `layers`. RUST_LOG filters each
/// of them separately (per-layer filters), so the performance and security
/// files can select their events at any RUST_LOG setting.
fn install(format: LogFormat, mut layers: Vec<BoxedLayer>) {
    let output = match format {
        LogFormat::Json => json_layer(std::io::stderr).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
    };
    layers.push(output.with_filter(env_filter()).boxed());
    layers.push(
        ErrorLayer::new()
            .with_filter(LevelFilter::ERROR.and(env_filter()))
            .boxed(),
    );
    layers.push(
        BreadcrumbLayer::new()
            .with_filter(LevelFilter::INFO.and(env_filter()))
            .boxed(),
    );
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

/// Returns the filter of RUST_LOG, or the default filter when RUST_LOG is unset or invalid.
fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Builds the JSON-lines format of stderr and the log files: the event's fields at
/// the top level and the current span under `span`.
fn json_layer<W>(writer: W) -> tracing_subscriber::fmt::Layer<Registry, JsonFields, Format<Json>, W>
where
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
}

/// Starts the Sentry client when SENTRY_DSN is set; keep the guard alive for
/// the life of the process, since dropping it flushes and stops reporting.
pub fn init_sentry(config: &Config) -> Option<sentry::ClientInitGuard> {
    let dsn = config
        .sentry_dsn
        .as_deref()
        .map(str::trim)
        .filter(|dsn| !dsn.is_empty())?;
    let release = config
        .sentry_release
        .clone()
        .unwrap_or_else(|| format!("taquilla@{}", env!("CARGO_PKG_VERSION")));
    let traces_rate = config.sentry_traces_sample_rate;
    let mut options = sentry::ClientOptions::new()
        .release(release)
        .environment(config.sentry_environment.clone())
        .send_default_pii(false)
        .before_send(|mut event| {
            scrub(&mut event);
            Some(event)
        })
        // Health checks and scrapes would drown real traffic in the samples.
        .traces_sampler(move |context| {
            let name = context.name();
            if name.contains("/health") || name.contains("/metrics") {
                0.0
            } else {
                traces_rate
            }
        });
    // An invalid DSN is reported by `Config::validate`; here it only disables reporting.
    options.dsn = dsn.parse().ok();
    tracing::info!(event = "sentry_enabled", environment = %config.sentry_environment, "reporting errors to Sentry");
    let guard = sentry::init(options);
    // `init` binds the client to the calling thread's hub only. Per-request
    // hubs start from the process hub, so that hub needs the client too when
    // `init` runs on another thread, as in a test or an embedding runtime.
    sentry::Hub::main().bind_client(sentry::Hub::current().client());
    Some(guard)
}

/// Removes credentials, cookies, bodies and personal data from an event.
fn scrub(event: &mut sentry::protocol::Event<'static>) {
    if let Some(request) = event.request.as_mut() {
        request
            .headers
            .retain(|name, _| !SCRUBBED_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
        request.cookies = None;
        request.data = None;
        request.query_string = None;
    }
    if let Some(user) = event.user.as_mut() {
        user.email = None;
        user.ip_address = None;
        user.username = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_credentials_and_personal_data() {
        let mut event = sentry::protocol::Event {
            request: Some(sentry::protocol::Request {
                headers: [
                    ("Authorization".to_string(), "Bearer secreto".to_string()),
                    ("Cookie".to_string(), "session=1".to_string()),
                    ("Accept".to_string(), "application/json".to_string()),
                ]
                .into_iter()
                .collect(),
                data: Some("{\"password\":\"x\"}".to_string()),
                ..Default::default()
            }),
            user: Some(sentry::User {
                email: Some("ana@example.invalid".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };

        scrub(&mut event);

        let request = event.request.unwrap();
        assert_eq!(request.headers.len(), 1);
        assert!(request.headers.contains_key("Accept"));
        assert!(request.data.is_none());
        assert!(event.user.unwrap().email.is_none());
    }
}
