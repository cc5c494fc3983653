//! Optional log files in TAQUILLA_LOG_DIR, in the JSON-lines format of stderr:
//!
//! - `taquilla`: every line that RUST_LOG lets through, like stderr.
//! - `performance`: slow requests, slow SQL statements and other performance events.
//! - `security`: logins, refresh-token reuse, 401 and 403 responses, user creation
//!   and forged ticket signatures.
//!
//! The performance and security files select catalogued events by their `event`
//! field and ignore RUST_LOG, so a quieter stderr does not drop them.
//! `tracing-appender` rotates each file and deletes the oldest ones beyond
//! TAQUILLA_LOG_MAX_FILES. A background thread per file does the writing.

use std::path::Path;

use anyhow::Context as _;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

use super::BoxedLayer;
use crate::config::LogRotation;

/// Events written to the performance file, besides sqlx's slow-statement warnings.
const PERFORMANCE_EVENTS: &[&str] = &[
    "slow_request_detected",
    "request_profiling_enabled",
    "integrity_check_timed_out",
];

/// Events written to the security file, besides `http_request` with status 401
/// or 403 and `ticket_rejected` with reason `signature_invalid`.
const SECURITY_EVENTS: &[&str] = &[
    "login_succeeded",
    "login_failed",
    "login_rejected_locked",
    "refresh_token_reused",
    "user_created",
];

/// Target and field that mark sqlx's slow-statement events (sqlx 0.9).
const SQLX_TARGET: &str = "sqlx::query";
const SQLX_SLOW_FIELD: &str = "slow_threshold";

/// Writer threads of the log files. Dropping this value writes out the buffered
/// lines and stops the threads, so keep it until the process exits.
#[derive(Default)]
#[must_use = "dropping the guards stops writing the log files"]
pub struct LogFileGuards {
    _workers: Vec<WorkerGuard>,
}

/// Events that a log file takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// Every event that RUST_LOG enables.
    All,
    Performance,
    Security,
}

/// Creates `directory` if missing, opens the three log files in it and returns
/// their layers with the guards of their writer threads.
pub(super) fn layers(
    directory: &Path,
    rotation: LogRotation,
    max_files: usize,
) -> anyhow::Result<(Vec<BoxedLayer>, LogFileGuards)> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating the log directory {}", directory.display()))?;

    let mut layers = Vec::new();
    let mut workers = Vec::new();
    for (name, selection) in [
        ("taquilla", Selection::All),
        ("performance", Selection::Performance),
        ("security", Selection::Security),
    ] {
        let appender = open_appender(directory, name, rotation, max_files)?;
        // Not lossy: when 128,000 lines wait to be written, logging blocks
        // instead of dropping lines, because a security log with gaps is worthless.
        // NOTE: tracing-appender 0.2.5 ignores write errors (a full disk, for
        // example), so such a line is lost without any report.
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(false)
            .thread_name(&format!("log-{name}"))
            .finish(appender);
        let layer = super::json_layer(writer).with_ansi(false);
        let layer = match selection {
            Selection::All => layer.with_filter(super::env_filter()).boxed(),
            selection => layer.with_filter(selection).boxed(),
        };
        layers.push(layer);
        workers.push(guard);
    }
    Ok((layers, LogFileGuards { _workers: workers }))
}

/// Opens `{name}.{date}.log` (`{name}.log` without rotation) in `directory`.
fn open_appender(
    directory: &Path,
    name: &str,
    rotation: LogRotation,
    max_files: usize,
) -> anyhow::Result<RollingFileAppender> {
    let builder = RollingFileAppender::builder()
        .filename_prefix(name)
        .filename_suffix("log");
    // Without rotation there is one file, and pruning could only delete it.
    let builder = match rotation {
        LogRotation::Daily => builder.rotation(Rotation::DAILY).max_log_files(max_files),
        LogRotation::Hourly => builder.rotation(Rotation::HOURLY).max_log_files(max_files),
        LogRotation::Never => builder.rotation(Rotation::NEVER),
    };
    builder.build(directory).with_context(|| {
        format!(
            "opening the {name} log file in {} (is the directory writable?)",
            directory.display()
        )
    })
}

impl Selection {
    /// Decides what the callsite's metadata alone allows: `Some(true)` takes
    /// every event of the callsite, `Some(false)` none, and `None` depends on
    /// the values of the fields.
    fn accepts_callsite(self, metadata: &Metadata<'_>) -> Option<bool> {
        if metadata.is_span() {
            // The request span is INFO. Enabling spans gives file lines the same
            // `span` field as stderr lines.
            return Some(*metadata.level() <= LevelFilter::INFO);
        }
        if metadata.target() == SQLX_TARGET {
            // Before it formats a statement, sqlx calls `enabled!`, whose callsite
            // is neither an event nor a span. It logs slow statements at WARN
            // (set in the store) and the others at DEBUG.
            let slow = metadata.fields().field(SQLX_SLOW_FIELD).is_some()
                || (!metadata.is_event() && *metadata.level() <= LevelFilter::INFO);
            return Some(slow && self == Selection::Performance);
        }
        if metadata.is_event()
            && metadata.fields().field("event").is_some()
            && *metadata.level() <= LevelFilter::INFO
        {
            return None;
        }
        Some(false)
    }

    fn accepts_fields(self, fields: &CatalogueFields) -> bool {
        let Some(event) = fields.event.as_deref() else {
            return false;
        };
        match self {
            Selection::All => true,
            Selection::Performance => PERFORMANCE_EVENTS.contains(&event),
            Selection::Security => {
                SECURITY_EVENTS.contains(&event)
                    || (event == "http_request" && matches!(fields.status, Some(401 | 403)))
                    || (event == "ticket_rejected"
                        && fields.reason.as_deref() == Some("signature_invalid"))
            }
        }
    }
}

impl<S> Filter<S> for Selection {
    fn enabled(&self, metadata: &Metadata<'_>, _context: &Context<'_, S>) -> bool {
        self.accepts_callsite(metadata) != Some(false)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        match self.accepts_callsite(metadata) {
            Some(true) => Interest::always(),
            Some(false) => Interest::never(),
            None => Interest::sometimes(),
        }
    }

    fn event_enabled(&self, event: &Event<'_>, _context: &Context<'_, S>) -> bool {
        if let Some(accepted) = self.accepts_callsite(event.metadata()) {
            return accepted;
        }
        let mut fields = CatalogueFields::default();
        event.record(&mut fields);
        self.accepts_fields(&fields)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }
}

/// The fields of an event that decide its log file.
#[derive(Debug, Default)]
struct CatalogueFields {
    event: Option<String>,
    status: Option<u64>,
    reason: Option<String>,
}

impl Visit for CatalogueFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event" => self.event = Some(value.to_string()),
            "reason" => self.reason = Some(value.to_string()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "http.status" {
            self.status = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "http.status" {
            self.status = u64::try_from(value).ok();
        }
    }

    /// Takes the fields written with `%` or `?`. A `%` value formats as its Display text.
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "event" => self.event = Some(format!("{value:?}")),
            "reason" => self.reason = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;

    /// Records the `event` field, or the target for events without one.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Recorder {
        fn on_event(&self, event: &Event<'_>, _context: tracing_subscriber::layer::Context<'_, S>) {
            let mut fields = CatalogueFields::default();
            event.record(&mut fields);
            let name = fields
                .event
                .unwrap_or_else(|| event.metadata().target().to_string());
            self.0.lock().unwrap().push(name);
        }
    }

    /// Emits one of each kind of event and returns those that `selection` takes.
    fn selected_by(selection: Selection) -> Vec<String> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber =
            tracing_subscriber::registry().with(Recorder(lines.clone()).with_filter(selection));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request.id = "r-1");
            let _entered = span.enter();
            tracing::info!(event = "login_succeeded", "login succeeded");
            tracing::warn!(event = "login_failed", "login failed");
            tracing::info!(
                event = "http_request",
                http.status = 200_u16,
                "request served"
            );
            tracing::info!(
                event = "http_request",
                http.status = 401_u16,
                "request served"
            );
            tracing::info!(
                event = "http_request",
                http.status = 403_u16,
                "request served"
            );
            tracing::warn!(
                event = "slow_request_detected",
                duration_ms = 1500.0,
                "slow request"
            );
            tracing::info!(
                event = "ticket_rejected",
                reason = "already_used",
                "ticket rejected"
            );
            tracing::warn!(
                event = "ticket_rejected",
                reason = "signature_invalid",
                "ticket rejected"
            );
            tracing::info!(event = "payment_processed", "payment processed");
            tracing::debug!(
                event = "login_failed",
                "a DEBUG event is below the files' level"
            );
            tracing::warn!(target: "sqlx::query", summary = "select", slow_threshold = ?std::time::Duration::from_millis(500), "slow statement: execution time exceeded alert threshold");
            tracing::error!("request failed with an internal error");
        });
        lines.lock().unwrap().clone()
    }

    #[test]
    fn security_selection_takes_auth_events() {
        let selected = selected_by(Selection::Security);

        assert_eq!(
            selected,
            [
                "login_succeeded",
                "login_failed",
                "http_request",
                "http_request",
                "ticket_rejected",
            ]
        );
    }

    #[test]
    fn performance_selection_takes_slow_events() {
        let selected = selected_by(Selection::Performance);

        assert_eq!(selected, ["slow_request_detected", "sqlx::query"]);
    }

    #[test]
    fn sqlx_enabled_check_passes_for_performance() {
        let subscriber = tracing_subscriber::registry()
            .with(Recorder(Arc::default()).with_filter(Selection::Performance));

        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(target: "sqlx::query", tracing::Level::WARN));
            assert!(!tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG));
        });
    }

    #[test]
    fn log_directory_under_a_file_is_an_error() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("not-a-directory");
        std::fs::write(&file, b"").unwrap();
        let directory = file.join("logs");

        let error = layers(&directory, LogRotation::Daily, 14)
            .err()
            .expect("a log directory below a file");

        let message = format!("{error:#}");
        assert!(
            message.contains(&directory.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn never_rotation_creates_plain_names() {
        let scratch = tempfile::tempdir().unwrap();
        let directory = scratch.path().join("logs");

        let (_layers, _guards) = layers(&directory, LogRotation::Never, 14).unwrap();

        let mut names: Vec<String> = std::fs::read_dir(&directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["performance.log", "security.log", "taquilla.log"]);
    }
}
