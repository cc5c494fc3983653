//! `taquilla metrics-export`: the standalone exporter of database-derived gauges.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use taquilla_app::Config;
use taquilla_app::config::LogFormat;
use taquilla_app::exporter::{ExporterOptions, ExporterSettings};

/// Database connections of the exporter: scrapes read one at a time.
const EXPORTER_MAX_CONNECTIONS: u32 = 2;

#[derive(Debug, Args)]
pub struct MetricsExportArgs {
    /// IP address to listen on. --port sets the port.
    #[arg(
        long = "bind",
        env = "TAQUILLA_METRICS_EXPORT_BIND",
        default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST)
    )]
    bind: IpAddr,

    /// Port of `/metrics`.
    #[arg(long, env = "TAQUILLA_METRICS_EXPORT_PORT", default_value_t = 8001)]
    port: u16,

    /// Directory of the SQLite file `taquilla.db` when DATABASE_URL is not set.
    #[arg(long = "data-dir", env = "TAQUILLA_DATA_DIR", default_value = ".")]
    data_dir: PathBuf,

    /// Database URL, as for `serve`. The database is opened read-only and must
    /// already have its migrations applied.
    #[arg(long = "database-url", env = "DATABASE_URL")]
    database_url: Option<String>,

    /// Log format: `json` (production) or `text` (development).
    #[arg(
        long = "log-format",
        env = "TAQUILLA_LOG_FORMAT",
        value_enum,
        default_value = "json"
    )]
    log_format: LogFormat,

    /// Seconds a scrape waits for the database before it serves the last values read.
    #[arg(
        long = "scrape-timeout-seconds",
        env = "TAQUILLA_METRICS_EXPORT_TIMEOUT_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    scrape_timeout_seconds: u64,

    /// Closed events stay in the gauges while their start is at most this many days ago.
    /// Active events are always included, and draft and cancelled events never are.
    #[arg(
        long = "closed-event-days",
        env = "TAQUILLA_METRICS_EXPORT_CLOSED_EVENT_DAYS",
        default_value_t = 7
    )]
    closed_event_days: u32,

    /// Maximum number of events in the gauges. When more match, those that start first are kept.
    #[arg(
        long = "max-events",
        env = "TAQUILLA_METRICS_EXPORT_MAX_EVENTS",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_events: u32,
}

pub async fn run(args: MetricsExportArgs) -> anyhow::Result<ExitCode> {
    taquilla_app::telemetry::init(args.log_format);
    // The database settings are `serve`'s, so DATABASE_URL and the data
    // directory resolve to the same database.
    let config = Config {
        data_dir: args.data_dir,
        database_url: args.database_url,
        db_max_connections: EXPORTER_MAX_CONNECTIONS,
        ..Config::default()
    };
    config
        .validate()
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    let options = ExporterOptions {
        address: SocketAddr::new(args.bind, args.port),
        database: config.connect_options(),
        settings: ExporterSettings {
            scrape_timeout: Duration::from_secs(args.scrape_timeout_seconds),
            closed_event_days: args.closed_event_days,
            max_events: i64::from(args.max_events),
        },
    };
    taquilla_app::exporter::run(
        options,
        Arc::new(taquilla_store::SystemClock),
        taquilla_app::startup::shutdown_signal(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
