//! Prometheus metrics. Business metrics keep the names operators' dashboards
//! already use and are emitted on the real sale path; HTTP metrics are labelled
//! by route template, never by raw path.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub ticket_sales_total: IntCounterVec,
    /// USD cents would be an integer, but the metric's unit is USD for dashboards.
    pub revenue_total: prometheus::CounterVec,
    pub payment_processing_duration_seconds: HistogramVec,
    pub fiscal_series_generated_total: IntCounterVec,
    pub stage_transitions_total: IntCounterVec,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub http_requests_in_flight: IntGauge,
    pub holds_expired_total: prometheus::IntCounter,
    /// Background job rounds by task (`sweeper`, `fiscal_issuer`) and outcome
    /// (`success`, `failure`). The label is `task`, not `job`, because
    /// Prometheus keeps `job` for the scrape target.
    pub job_runs_total: IntCounterVec,
    /// Unix time of each job's last successful round.
    pub job_last_success_timestamp_seconds: prometheus::GaugeVec,
    /// Holds past their expiry that the sweeper has not ended yet: its queue.
    pub holds_due: IntGauge,
    /// Age of the oldest of those holds, in seconds (0 when none).
    pub holds_due_oldest_seconds: IntGauge,
    /// Failed attempts to issue a document through an external adapter.
    pub fiscal_issue_failures_total: IntCounterVec,
    /// Documents waiting for an external adapter, by status (`pending`, `rejected`).
    pub fiscal_documents_waiting: prometheus::IntGaugeVec,
    pub fiscal_oldest_pending_seconds: IntGauge,
    pub database_query_duration_seconds: HistogramVec,
    /// Connections in the database pool, by state (`open`, `idle`, `max`).
    pub database_pool_connections: prometheus::IntGaugeVec,
    pub active_users: prometheus::IntGaugeVec,
    /// Cache reads by result (`hit`, `miss`, `error`), and writes and
    /// invalidations by outcome (`ok`, `skipped`, `error`).
    pub cache_operations_total: IntCounterVec,
    /// Requests rejected with 429 `rate_limited`, by scope (`user`, `ip`, `login`).
    pub rate_limited_total: IntCounterVec,
    seen_users: std::sync::Mutex<
        std::collections::HashMap<(uuid::Uuid, uuid::Uuid), chrono::DateTime<chrono::Utc>>,
    >,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let ticket_sales_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_ticket_sales_total",
                "Tickets sold, counted when their order is fully paid.",
            ),
            &["event_id", "zone_id", "payment_method", "tenant_id"],
        )
        .expect("valid metric");
        let revenue_total = prometheus::CounterVec::new(
            Opts::new(
                "venezuelan_pos_revenue_total",
                "Revenue in USD of paid order lines, taxes included, IGTF excluded.",
            ),
            &["event_id", "zone_id", "payment_method", "tenant_id"],
        )
        .expect("valid metric");
        let payment_processing_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "venezuelan_pos_payment_processing_duration_seconds",
                "Time to process one payment request, in seconds.",
            )
            .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["payment_method", "success"],
        )
        .expect("valid metric");
        let fiscal_series_generated_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_fiscal_series_generated_total",
                "Fiscal documents (invoices and credit notes) numbered.",
            ),
            &["tenant_id"],
        )
        .expect("valid metric");
        let stage_transitions_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_stage_transitions_total",
                "Price stage transitions, recorded once each, by trigger.",
            ),
            &["event_id", "zone_id", "trigger", "tenant_id"],
        )
        .expect("valid metric");
        let http_requests_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_http_requests_total",
                "HTTP requests by route template, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "venezuelan_pos_http_request_duration_seconds",
                "HTTP request duration in seconds.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        let http_requests_in_flight = IntGauge::new(
            "venezuelan_pos_http_requests_in_flight",
            "HTTP requests being served.",
        )
        .expect("valid metric");
        let holds_expired_total = prometheus::IntCounter::new(
            "venezuelan_pos_holds_expired_total",
            "Holds expired by the background sweeper.",
        )
        .expect("valid metric");
        let job_runs_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_job_runs_total",
                "Rounds of the background jobs, by task and outcome.",
            ),
            &["task", "outcome"],
        )
        .expect("valid metric");
        let job_last_success_timestamp_seconds = prometheus::GaugeVec::new(
            Opts::new(
                "venezuelan_pos_job_last_success_timestamp_seconds",
                "Unix time of each background job's last successful round.",
            ),
            &["task"],
        )
        .expect("valid metric");
        // Every series exists from the start, so alerts see 0 rather than no data.
        for task in ["sweeper", "fiscal_issuer"] {
            for outcome in ["success", "failure"] {
                job_runs_total.with_label_values(&[task, outcome]);
            }
        }
        let holds_due = IntGauge::new(
            "venezuelan_pos_holds_due",
            "Holds past their expiry that the sweeper has not ended yet.",
        )
        .expect("valid metric");
        let holds_due_oldest_seconds = IntGauge::new(
            "venezuelan_pos_holds_due_oldest_seconds",
            "How long the oldest hold past its expiry has waited for the sweeper, in seconds.",
        )
        .expect("valid metric");
        let fiscal_issue_failures_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_fiscal_issue_failures_total",
                "Failed attempts to issue a fiscal document through an external adapter.",
            ),
            &["adapter", "outcome"],
        )
        .expect("valid metric");
        let fiscal_documents_waiting = prometheus::IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_fiscal_documents_waiting",
                "Paid orders' fiscal documents not yet issued, by status (pending, rejected).",
            ),
            &["status"],
        )
        .expect("valid metric");
        // Both series exist from the start, so alerts see 0 rather than no data.
        for status in ["pending", "rejected"] {
            fiscal_documents_waiting.with_label_values(&[status]).set(0);
        }
        let fiscal_oldest_pending_seconds = IntGauge::new(
            "venezuelan_pos_fiscal_oldest_pending_seconds",
            "Age of the oldest fiscal document waiting for its adapter, in seconds.",
        )
        .expect("valid metric");

        let database_query_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "venezuelan_pos_database_query_duration_seconds",
                "Duration of one storage call (one transaction or read), in seconds.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["operation", "table"],
        )
        .expect("valid metric");

        let database_pool_connections = prometheus::IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_database_pool_connections",
                "Database pool connections by state: open, idle and the configured max.",
            ),
            &["state"],
        )
        .expect("valid metric");

        let active_users = prometheus::IntGaugeVec::new(
            Opts::new(
                "venezuelan_pos_active_users",
                "Users with an authenticated request in the last TAQUILLA_ACTIVE_USER_MINUTES, per tenant, on this instance.",
            ),
            &["tenant_id"],
        )
        .expect("valid metric");

        let cache_operations_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_cache_operations_total",
                "Cache operations: get by hit, miss or error; set and invalidate by ok, skipped or error.",
            ),
            &["operation", "result"],
        )
        .expect("valid metric");
        for (operation, results) in [
            ("get", &["hit", "miss", "error"][..]),
            ("set", &["ok", "skipped", "error"][..]),
            ("invalidate", &["ok", "error"][..]),
        ] {
            for result in results {
                cache_operations_total.with_label_values(&[operation, result]);
            }
        }

        let rate_limited_total = IntCounterVec::new(
            Opts::new(
                "venezuelan_pos_rate_limited_total",
                "Requests rejected because a rate limit was reached, by scope (user, ip, login).",
            ),
            &["scope"],
        )
        .expect("valid metric");
        for scope in crate::rate_limit::Scope::ALL {
            rate_limited_total.with_label_values(&[scope.as_str()]);
        }

        for collector in [
            Box::new(ticket_sales_total.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(revenue_total.clone()),
            Box::new(payment_processing_duration_seconds.clone()),
            Box::new(fiscal_series_generated_total.clone()),
            Box::new(stage_transitions_total.clone()),
            Box::new(http_requests_total.clone()),
            Box::new(http_request_duration_seconds.clone()),
            Box::new(http_requests_in_flight.clone()),
            Box::new(holds_expired_total.clone()),
            Box::new(job_runs_total.clone()),
            Box::new(job_last_success_timestamp_seconds.clone()),
            Box::new(holds_due.clone()),
            Box::new(holds_due_oldest_seconds.clone()),
            Box::new(fiscal_issue_failures_total.clone()),
            Box::new(fiscal_documents_waiting.clone()),
            Box::new(fiscal_oldest_pending_seconds.clone()),
            Box::new(database_query_duration_seconds.clone()),
            Box::new(database_pool_connections.clone()),
            Box::new(active_users.clone()),
            Box::new(cache_operations_total.clone()),
            Box::new(rate_limited_total.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::new(
                    std::process::id() as i32,
                    "venezuelan_pos",
                ),
            ))
            .expect("process collector registers once");

        Self {
            registry,
            ticket_sales_total,
            revenue_total,
            payment_processing_duration_seconds,
            fiscal_series_generated_total,
            stage_transitions_total,
            http_requests_total,
            http_request_duration_seconds,
            http_requests_in_flight,
            holds_expired_total,
            job_runs_total,
            job_last_success_timestamp_seconds,
            holds_due,
            holds_due_oldest_seconds,
            fiscal_issue_failures_total,
            fiscal_documents_waiting,
            fiscal_oldest_pending_seconds,
            database_query_duration_seconds,
            database_pool_connections,
            cache_operations_total,
            active_users,
            rate_limited_total,
            seen_users: Default::default(),
        }
    }

    /// Records the pool's state; called before each scrape.
    pub fn record_pool(&self, status: taquilla_store::PoolStatus) {
        let gauges = &self.database_pool_connections;
        gauges
            .with_label_values(&["open"])
            .set(i64::from(status.size));
        gauges
            .with_label_values(&["idle"])
            .set(i64::from(status.idle));
        gauges
            .with_label_values(&["max"])
            .set(i64::from(status.max));
    }

    /// Notes an authenticated request of `user_id` in `tenant_id`.
    pub fn touch_user(
        &self,
        tenant_id: uuid::Uuid,
        user_id: uuid::Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        self.seen_users
            .lock()
            .expect("active users lock")
            .insert((tenant_id, user_id), now);
    }

    /// Recomputes `venezuelan_pos_active_users` and drops users idle longer
    /// than `window`. Called before each scrape.
    pub fn record_active_users(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        window: chrono::Duration,
    ) {
        let mut seen = self.seen_users.lock().expect("active users lock");
        seen.retain(|_, last_seen| now - *last_seen <= window);
        let mut per_tenant: std::collections::HashMap<uuid::Uuid, i64> =
            std::collections::HashMap::new();
        for (tenant_id, _) in seen.keys() {
            *per_tenant.entry(*tenant_id).or_default() += 1;
        }
        drop(seen);

        // Tenants whose users all left drop out instead of staying at their last value.
        self.active_users.reset();
        for (tenant_id, count) in per_tenant {
            self.active_users
                .with_label_values(&[tenant_id.to_string().as_str()])
                .set(count);
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

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Counts a background job round and, when it succeeded, its time.
    pub fn record_job_round(&self, task: &str, succeeded: bool, at: chrono::DateTime<chrono::Utc>) {
        let outcome = if succeeded { "success" } else { "failure" };
        self.job_runs_total
            .with_label_values(&[task, outcome])
            .inc();
        if succeeded {
            self.job_last_success_timestamp_seconds
                .with_label_values(&[task])
                .set(at.timestamp_micros() as f64 / 1_000_000.0);
        }
    }
}
