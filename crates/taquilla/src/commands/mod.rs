//! Subcommands. Each one lives in its own module; long-running ones print
//! progress to stderr and results to stdout.

mod admin;
mod benchmark;
mod cache;
mod check_regression;
mod fiscal;
mod gate;
mod health_check;
mod load_test;
mod metrics_export;
mod monitor;
mod onsale;
mod scenarios;
mod serve;
mod terminal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use taquilla_app::Config;

/// Point-of-sale for event tickets in Venezuela.
#[derive(Debug, Parser)]
#[command(name = "taquilla", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API, health endpoints, /metrics and the background jobs.
    Serve(serve::ServeArgs),
    /// Run only the background jobs (hold expiry, idempotency-key cleanup), for
    /// deployments that scale them apart from `serve`.
    Worker {
        #[command(flatten)]
        config: Config,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: Config,
    },
    /// Create an administrator: a platform admin, or with --tenant a tenant admin.
    CreateAdmin(admin::CreateAdminArgs),
    /// Fiscal checks: `taquilla fiscal verify` checks audit chains and series.
    Fiscal(fiscal::FiscalArgs),
    /// Check a running server's /health/ endpoint; the exit status reports the result.
    HealthCheck(health_check::HealthCheckArgs),
    /// Run complete sales against a server on loopback and report throughput and latency.
    LoadTest(load_test::LoadTestArgs),
    /// Time store calls and HTTP requests in-process on a scratch database and
    /// print mean, p50, p95, p99 and operations per second.
    Benchmark(benchmark::BenchmarkArgs),
    /// Inspect, empty or fill the cache shared through REDIS_URL.
    Cache(cache::CacheArgs),
    /// Compare a benchmark run with a baseline; exit 1 when an operation regressed.
    CheckRegression(check_regression::CheckRegressionArgs),
    /// Watch a running server: request rate, latency, errors, sales, cache and
    /// database figures from its /metrics, one line per interval.
    Monitor(monitor::MonitorArgs),
    /// Serve gauges read from the database (tickets sold and revenue per event, places
    /// available per zone, active holds, fiscal documents per series) on /metrics.
    MetricsExport(metrics_export::MetricsExportArgs),
    /// Sell offline at a box office from a block of invoice numbers kept in a
    /// local SQLite file, and sync the sales with the server later.
    Terminal(terminal::TerminalArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Worker { config } => {
            let _log_files = taquilla_app::telemetry::init_with_files(&config)?;
            let _sentry = taquilla_app::telemetry::init_sentry(&config);
            let state = taquilla_app::startup::build_state(
                config,
                std::sync::Arc::new(taquilla_store::SystemClock),
            )
            .await?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let jobs = tokio::spawn(taquilla_app::jobs::run_sweeper(state, stopped));
            tracing::info!(event = "worker_started", "taquilla worker is running");
            taquilla_app::startup::shutdown_signal().await;
            let _ = stop.send(true);
            jobs.await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { config } => {
            let _log_files = taquilla_app::telemetry::init_with_files(&config)?;
            let url = config.effective_database_url();
            taquilla_app::startup::build_state(
                config,
                std::sync::Arc::new(taquilla_store::SystemClock),
            )
            .await?;
            println!("migrations applied to {}", taquilla_store::redact_url(&url));
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin(args) => admin::run(args).await,
        Command::Fiscal(args) => fiscal::run(args).await,
        Command::HealthCheck(args) => health_check::run(args).await,
        Command::LoadTest(args) => load_test::run(args).await,
        Command::Benchmark(args) => benchmark::run(args).await,
        Command::Cache(args) => cache::run(args).await,
        Command::CheckRegression(args) => check_regression::run(args).await,
        Command::Monitor(args) => monitor::run(args).await,
        Command::MetricsExport(args) => metrics_export::run(args).await,
        Command::Terminal(args) => terminal::run(args).await,
    }
}
