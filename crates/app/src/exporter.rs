//! The standalone exporter of `taquilla metrics-export`: gauges of live sales
//! read from the database on each scrape. The counters on `/metrics` of `serve`
//! count what one instance saw, so with many replicas they must be summed
//! across instances. These gauges give one value per event, zone, tenant and
//! fiscal series whatever the number of replicas.
//!
//! The exporter only reads: it opens the database with
//! [`taquilla_store::connect_read_only`] and runs no migrations.
//!
//! When a scrape cannot read the database within the timeout, the exporter
//! still responds 200 with the last values it read and sets
//! `venezuelan_pos_exporter_last_scrape_success` to 0. Dashboards keep their
//! lines, and an alert on that gauge, or on the age given by
//! `venezuelan_pos_exporter_last_success_timestamp_seconds`, reports the outage.
//! Answering 503 instead would make Prometheus drop every series of the job
//! until the database returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Gauge, GaugeVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use taquilla_store::model::ExportGauges;
use taquilla_store::{Clock, ConnectOptions, Store};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// A failing scrape is logged the first time and then once every this many
/// consecutive failures, so a database outage does not flood the log.
const FAILURE_LOG_INTERVAL: u64 = 20;

/// Selection of the exported events and the database timeout of a scrape.
#[derive(Debug, Clone)]
pub struct ExporterSettings {
    /// Maximum wait for the database in one scrape.
    pub scrape_timeout: Duration,
    /// Closed events stay in the gauges while their start is at most this many days ago.
    pub closed_event_days: u32,
    /// Maximum number of events in the gauges. The events that start first are kept.
    pub max_events: i64,
}

/// Settings of `taquilla metrics-export`.
#[derive(Debug, Clone)]
pub struct ExporterOptions {
    /// Address of `/metrics`.
    pub address: SocketAddr,
    pub database: ConnectOptions,
    pub settings: ExporterSettings,
}

/// The exported gauges in their own registry.
pub struct ExportRegistry {
    registry: Registry,
    event_tickets_sold: IntGaugeVec,
    event_revenue_usd: GaugeVec,
    zone_places_available: IntGaugeVec,
    active_holds: IntGaugeVec,
    fiscal_documents_issued: IntGaugeVec,
    last_scrape_success: IntGauge,
    last_success_timestamp_seconds: Gauge,
    scrape_duration_seconds: Gauge,
}

impl ExportRegistry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let event_tickets_sold = IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_event_tickets_sold",
                "Tickets of paid orders per event, read from the database.",
            ),
            &["tenant_id", "event_id"],
        )
        .expect("valid metric");
        let event_revenue_usd = GaugeVec::new(
            Opts::new(
                "venezuelan_pos_event_revenue_usd",
                "Revenue in USD of paid orders per event, taxes included, IGTF excluded, read from the database.",
            ),
            &["tenant_id", "event_id"],
        )
        .expect("valid metric");
        let zone_places_available = IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_zone_places_available",
                "Places per zone that are neither sold nor held by an unexpired hold.",
            ),
            &["tenant_id", "event_id", "zone_id"],
        )
        .expect("valid metric");
        let active_holds = IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_active_holds",
                "Holds per tenant that are active and not past their expiry.",
            ),
            &["tenant_id"],
        )
        .expect("valid metric");
        let fiscal_documents_issued = IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_fiscal_documents_issued",
                "Fiscal documents numbered per series since the series was created.",
            ),
            &["tenant_id", "series", "kind"],
        )
        .expect("valid metric");
        let last_scrape_success = IntGauge::new(
            "venezuelan_pos_exporter_last_scrape_success",
            "1 when this scrape read the database, 0 when it failed and the gauges keep the last values read.",
        )
        .expect("valid metric");
        let last_success_timestamp_seconds = Gauge::new(
            "venezuelan_pos_exporter_last_success_timestamp_seconds",
            "Unix time of the last scrape that read the database.",
        )
        .expect("valid metric");
        let scrape_duration_seconds = Gauge::new(
            "venezuelan_pos_exporter_scrape_duration_seconds",
            "Time this scrape spent reading the database, in seconds.",
        )
        .expect("valid metric");

        for collector in [
            Box::new(event_tickets_sold.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(event_revenue_usd.clone()),
            Box::new(zone_places_available.clone()),
            Box::new(active_holds.clone()),
            Box::new(fiscal_documents_issued.clone()),
            Box::new(last_scrape_success.clone()),
            Box::new(last_success_timestamp_seconds.clone()),
            Box::new(scrape_duration_seconds.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            event_tickets_sold,
            event_revenue_usd,
            zone_places_available,
            active_holds,
            fiscal_documents_issued,
            last_scrape_success,
            last_success_timestamp_seconds,
            scrape_duration_seconds,
        }
    }

    /// Replaces every gauge with `gauges`, so events that left the selection
    /// lose their series.
    pub fn set(&self, gauges: &ExportGauges) {
        self.event_tickets_sold.reset();
        self.event_revenue_usd.reset();
        self.zone_places_available.reset();
        self.active_holds.reset();
        self.fiscal_documents_issued.reset();

        for event in &gauges.events {
            let tenant_id = event.tenant_id.to_string();
            let event_id = event.event_id.to_string();
            let labels = [tenant_id.as_str(), event_id.as_str()];
            self.event_tickets_sold
                .with_label_values(&labels)
                .set(event.tickets_sold);
            self.event_revenue_usd
                .with_label_values(&labels)
                .set(event.revenue_usd_cents as f64 / 100.0);
        }
        for zone in &gauges.zones {
            let tenant_id = zone.tenant_id.to_string();
            let event_id = zone.event_id.to_string();
            let zone_id = zone.zone_id.to_string();
            self.zone_places_available
                .with_label_values(&[tenant_id.as_str(), event_id.as_str(), zone_id.as_str()])
                .set(zone.available);
        }
        for tenant in &gauges.holds {
            self.active_holds
                .with_label_values(&[tenant.tenant_id.to_string().as_str()])
                .set(tenant.active_holds);
        }
        for series in &gauges.series {
            self.fiscal_documents_issued
                .with_label_values(&[
                    series.tenant_id.to_string().as_str(),
                    series.series.as_str(),
                    series.kind.as_str(),
                ])
                .set(series.documents_issued);
        }
    }

    /// Records the outcome of one scrape. `succeeded_at` is set only on success.
    fn record_scrape(
        &self,
        succeeded_at: Option<chrono::DateTime<chrono::Utc>>,
        duration: Duration,
    ) {
        self.scrape_duration_seconds.set(duration.as_secs_f64());
        self.last_scrape_success
            .set(i64::from(succeeded_at.is_some()));
        if let Some(at) = succeeded_at {
            self.last_success_timestamp_seconds
                .set(at.timestamp_micros() as f64 / 1e6);
        }
    }

    /// Renders the registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding of gathered metrics");
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for ExportRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts kept between scrapes, for logging.
#[derive(Debug, Default)]
struct ScrapeHistory {
    consecutive_failures: u64,
    events_omitted: bool,
}

/// Reads the gauges from the store on each scrape.
pub struct Exporter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: ExporterSettings,
    registry: ExportRegistry,
    /// Held for the whole scrape, so at most one database read runs at a time.
    history: Mutex<ScrapeHistory>,
}

impl Exporter {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: ExporterSettings) -> Self {
        Self {
            store,
            clock,
            settings,
            registry: ExportRegistry::new(),
            history: Mutex::new(ScrapeHistory::default()),
        }
    }

    /// Reads the gauges once, failing when the store does not return within the scrape timeout.
    pub async fn read(&self) -> anyhow::Result<ExportGauges> {
        let closed_since =
            self.clock.now() - chrono::Duration::days(i64::from(self.settings.closed_event_days));
        let read = self
            .store
            .export_gauges(closed_since, self.settings.max_events);
        match tokio::time::timeout(self.settings.scrape_timeout, read).await {
            Ok(result) => Ok(result?),
            Err(_) => anyhow::bail!(
                "reading the gauges timed out after {:.1} s",
                self.settings.scrape_timeout.as_secs_f64()
            ),
        }
    }

    /// Reads the gauges and renders the exposition. When the read fails, the
    /// gauges keep their last values and the failure is logged.
    pub async fn scrape(&self) -> String {
        let mut history = self.history.lock().await;
        if let Err(error) = self.refresh(&mut history).await {
            let failures = history.consecutive_failures;
            if failures == 1 || failures.is_multiple_of(FAILURE_LOG_INTERVAL) {
                tracing::error!(
                    event = "metrics_export_failed",
                    error = format!("{error:#}"),
                    consecutive_failures = failures,
                    "reading the gauges failed; serving the last values read"
                );
            }
        }
        self.registry.render()
    }

    /// Reads the gauges before the first scrape, so a database that cannot
    /// be read stops the exporter at start.
    pub async fn read_first(&self) -> anyhow::Result<()> {
        let mut history = self.history.lock().await;
        self.refresh(&mut history).await
    }

    /// Reads the gauges and, on success, replaces the exported values. On
    /// failure the exported values stay as they were.
    async fn refresh(&self, history: &mut ScrapeHistory) -> anyhow::Result<()> {
        let started = Instant::now();
        let result = self.read().await;
        let duration = started.elapsed();
        match result {
            Ok(gauges) => {
                self.registry.set(&gauges);
                self.registry
                    .record_scrape(Some(self.clock.now()), duration);
                if history.consecutive_failures > 0 {
                    tracing::info!(
                        event = "metrics_export_recovered",
                        failed_scrapes = history.consecutive_failures,
                        "the exporter reads the database again"
                    );
                }
                history.consecutive_failures = 0;
                self.log_omitted_events(history, gauges.events_omitted);
                Ok(())
            }
            Err(error) => {
                self.registry.record_scrape(None, duration);
                history.consecutive_failures += 1;
                Err(error)
            }
        }
    }

    /// Warns when events start to be left out by the max-events limit, and
    /// notes when they no longer are.
    fn log_omitted_events(&self, history: &mut ScrapeHistory, omitted: bool) {
        if omitted && !history.events_omitted {
            tracing::warn!(
                event = "metrics_export_events_omitted",
                max_events = self.settings.max_events,
                "more events match than the max-events limit; the events that start latest are left out"
            );
        } else if !omitted && history.events_omitted {
            tracing::info!(
                event = "metrics_export_events_complete",
                max_events = self.settings.max_events,
                "every matching event is exported again"
            );
        }
        history.events_omitted = omitted;
    }

    /// Builds the router with only `GET /metrics`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .with_state(self)
    }
}

async fn metrics(State(exporter): State<Arc<Exporter>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.scrape().await,
    )
}

/// Opens the database read-only, checks that the gauges can be read, and
/// serves `/metrics` until `shutdown` completes.
pub async fn run(
    options: ExporterOptions,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let database = taquilla_store::redact_url(&options.database.url);
    let store = taquilla_store::connect_read_only(&options.database, clock.clone())
        .await
        .with_context(|| format!("opening the database {database} read-only"))?;
    let backend = store.backend();
    let exporter = Arc::new(Exporter::new(store, clock, options.settings));

    // A database without taquilla's tables fails here, before the port opens,
    // and not on every scrape.
    exporter.read_first().await.with_context(|| {
        format!(
            "reading the gauges from {database} failed; check that it is a taquilla database \
             with its migrations applied (`taquilla migrate`)"
        )
    })?;

    let listener = TcpListener::bind(options.address)
        .await
        .with_context(|| format!("binding {}", options.address))?;
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        event = "metrics_exporter_started",
        address = %address,
        backend,
        database = %database,
        "taquilla metrics-export is listening"
    );
    axum::serve(listener, exporter.router())
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving /metrics")?;
    tracing::info!(
        event = "metrics_exporter_stopped",
        "taquilla metrics-export stopped"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use taquilla_store::model::{EventGauges, SeriesGauges, TenantHolds, ZoneGauges};
    use uuid::Uuid;

    use super::*;

    fn sample_gauges(event_id: Uuid) -> ExportGauges {
        let tenant_id = Uuid::from_u128(1);
        ExportGauges {
            events: vec![EventGauges {
                tenant_id,
                event_id,
                tickets_sold: 2,
                revenue_usd_cents: 10_440,
            }],
            zones: vec![ZoneGauges {
                tenant_id,
                event_id,
                zone_id: Uuid::from_u128(3),
                available: 1_298,
            }],
            holds: vec![TenantHolds {
                tenant_id,
                active_holds: 0,
            }],
            series: vec![SeriesGauges {
                tenant_id,
                series: "A".to_string(),
                kind: "invoice".to_string(),
                documents_issued: 1,
            }],
            events_omitted: false,
        }
    }

    #[test]
    fn registry_renders_each_gauge() {
        let registry = ExportRegistry::new();
        registry.set(&sample_gauges(Uuid::from_u128(2)));
        let text = registry.render();

        let tenant = Uuid::from_u128(1);
        let event = Uuid::from_u128(2);
        assert!(text.contains(&format!(
            "venezuelan_pos_event_tickets_sold{{event_id=\"{event}\",tenant_id=\"{tenant}\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "venezuelan_pos_event_revenue_usd{{event_id=\"{event}\",tenant_id=\"{tenant}\"}} 104.4\n"
        )));
        assert!(text.contains("venezuelan_pos_zone_places_available{"));
        assert!(text.contains(&format!(
            "venezuelan_pos_active_holds{{tenant_id=\"{tenant}\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "venezuelan_pos_fiscal_documents_issued{{kind=\"invoice\",series=\"A\",tenant_id=\"{tenant}\"}} 1\n"
        )));
    }

    #[test]
    fn registry_drops_events_left_out() {
        let registry = ExportRegistry::new();
        let first = Uuid::from_u128(2);
        let second = Uuid::from_u128(4);
        registry.set(&sample_gauges(first));

        registry.set(&sample_gauges(second));
        let text = registry.render();

        assert!(!text.contains(&first.to_string()));
        assert!(text.contains(&second.to_string()));
    }

    #[test]
    fn failed_scrape_keeps_last_values() {
        let registry = ExportRegistry::new();
        let event = Uuid::from_u128(2);
        registry.set(&sample_gauges(event));
        let succeeded_at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        registry.record_scrape(Some(succeeded_at), Duration::from_millis(20));

        registry.record_scrape(None, Duration::from_secs(5));
        let text = registry.render();

        assert!(text.contains("venezuelan_pos_exporter_last_scrape_success 0\n"));
        assert!(
            text.contains("venezuelan_pos_exporter_last_success_timestamp_seconds 1800000000\n")
        );
        assert!(text.contains("venezuelan_pos_exporter_scrape_duration_seconds 5\n"));
        assert!(text.contains(&format!("event_id=\"{event}\"")));
    }
}
