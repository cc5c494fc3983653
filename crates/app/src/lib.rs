//! Use cases and delivery of taquilla: configuration, authentication, the HTTP
//! API, the box-office web pages, metrics, logs, background jobs and the demo
//! data.
//!
//! `http/` holds one module per API resource; rules that need no IO belong in
//! `taquilla-domain`, SQL in `taquilla-store`.

pub mod auth;
pub mod cache;
pub mod config;
pub mod demo;
pub mod error;
pub mod exporter;
pub mod http;
pub mod i18n;
pub mod issuing;
pub mod jobs;
pub mod metered_store;
pub mod metrics;
pub mod openapi;
pub mod otel;
pub mod print;
pub mod profiling;
pub mod rate_limit;
pub mod redis_client;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tickets;
pub mod web;

/// Version of the build; web pages add it to asset links so browsers fetch new files after an upgrade.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use config::Config;
pub use startup::Application;
