//! A [`Store`] decorator that times every storage call into
//! `venezuelan_pos_database_query_duration_seconds`, labelled by operation (the
//! store method) and the table it mainly touches. Wrapping the store keeps the
//! timing in one place instead of at every call site.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prometheus::HistogramVec;
use taquilla_store::model::*;
use taquilla_store::{Store, StoreResult};
use uuid::Uuid;

/// The store with timing around each call.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    durations: HistogramVec,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>, durations: HistogramVec) -> Self {
        Self { inner, durations }
    }

    /// Times `call` into the histogram and, when the request is profiled, into
    /// its profile (see [`crate::profiling::collect`]).
    async fn observe<T>(
        &self,
        operation: &'static str,
        table: &'static str,
        call: impl Future<Output = T>,
    ) -> T {
        let started = Instant::now();
        let result = call.await;
        let elapsed = started.elapsed();
        self.durations
            .with_label_values(&[operation, table])
            .observe(elapsed.as_secs_f64());
        crate::profiling::record_query(operation, table, elapsed);
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn pool_status(&self) -> taquilla_store::PoolStatus {
        self.inner.pool_status()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.observe("ping", "none", self.inner.ping()).await
    }

    async fn get_or_init_setting(&self, key: &str, initial: &str) -> StoreResult<String> {
        self.observe(
            "get_or_init_setting",
            "settings",
            self.inner.get_or_init_setting(key, initial),
        )
        .await
    }

    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant> {
        self.observe("create_tenant", "tenants", self.inner.create_tenant(tenant))
            .await
    }

    async fn get_tenant(&self, tenant_id: Uuid) -> StoreResult<Tenant> {
        self.observe("get_tenant", "tenants", self.inner.get_tenant(tenant_id))
            .await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        self.observe(
            "get_tenant_by_slug",
            "tenants",
            self.inner.get_tenant_by_slug(slug),
        )
        .await
    }

    async fn tenant_signing_key(&self, tenant_id: Uuid) -> StoreResult<Vec<u8>> {
        self.observe(
            "tenant_signing_key",
            "tenants",
            self.inner.tenant_signing_key(tenant_id),
        )
        .await
    }

    async fn list_tenants(&self, page: PageRequest) -> StoreResult<Page<Tenant>> {
        self.observe("list_tenants", "tenants", self.inner.list_tenants(page))
            .await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        self.observe("create_user", "users", self.inner.create_user(user))
            .await
    }

    async fn get_user(&self, user_id: Uuid) -> StoreResult<User> {
        self.observe("get_user", "users", self.inner.get_user(user_id))
            .await
    }

    async fn list_users(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<User>> {
        self.observe(
            "list_users",
            "users",
            self.inner.list_users(tenant_id, page),
        )
        .await
    }

    async fn find_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>> {
        self.observe(
            "find_credentials",
            "users",
            self.inner.find_credentials(username),
        )
        .await
    }

    async fn claim_login_attempt(
        &self,
        user_id: Uuid,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.observe(
            "claim_login_attempt",
            "users",
            self.inner
                .claim_login_attempt(user_id, max_failures, lock_until),
        )
        .await
    }

    async fn record_login_success(&self, user_id: Uuid) -> StoreResult<()> {
        self.observe(
            "record_login_success",
            "users",
            self.inner.record_login_success(user_id),
        )
        .await
    }

    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.observe(
            "insert_refresh_token",
            "refresh_tokens",
            self.inner
                .insert_refresh_token(token_hash, user_id, family_id, expires_at),
        )
        .await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<RefreshOutcome> {
        self.observe(
            "rotate_refresh_token",
            "refresh_tokens",
            self.inner
                .rotate_refresh_token(old_hash, new_hash, expires_at),
        )
        .await
    }

    async fn create_web_session(
        &self,
        token_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.observe(
            "create_web_session",
            "web_sessions",
            self.inner
                .create_web_session(token_hash, user_id, csrf_token, expires_at),
        )
        .await
    }

    async fn find_web_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>> {
        self.observe(
            "find_web_session",
            "web_sessions",
            self.inner.find_web_session(token_hash, now),
        )
        .await
    }

    async fn revoke_web_session(&self, token_hash: &str) -> StoreResult<()> {
        self.observe(
            "revoke_web_session",
            "web_sessions",
            self.inner.revoke_web_session(token_hash),
        )
        .await
    }

    async fn create_venue(&self, tenant_id: Uuid, venue: NewVenue) -> StoreResult<Venue> {
        self.observe(
            "create_venue",
            "venues",
            self.inner.create_venue(tenant_id, venue),
        )
        .await
    }

    async fn get_venue(&self, tenant_id: Uuid, venue_id: Uuid) -> StoreResult<Venue> {
        self.observe(
            "get_venue",
            "venues",
            self.inner.get_venue(tenant_id, venue_id),
        )
        .await
    }

    async fn list_venues(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Venue>> {
        self.observe(
            "list_venues",
            "venues",
            self.inner.list_venues(tenant_id, page),
        )
        .await
    }

    async fn create_event(&self, tenant_id: Uuid, event: NewEvent) -> StoreResult<Event> {
        self.observe(
            "create_event",
            "events",
            self.inner.create_event(tenant_id, event),
        )
        .await
    }

    async fn get_event(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Event> {
        self.observe(
            "get_event",
            "events",
            self.inner.get_event(tenant_id, event_id),
        )
        .await
    }

    async fn list_events(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Event>> {
        self.observe(
            "list_events",
            "events",
            self.inner.list_events(tenant_id, page),
        )
        .await
    }

    async fn set_event_status(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        from: &[&str],
        to: &str,
    ) -> StoreResult<Event> {
        self.observe(
            "set_event_status",
            "events",
            self.inner.set_event_status(tenant_id, event_id, from, to),
        )
        .await
    }

    async fn create_zone(&self, tenant_id: Uuid, zone: NewZone) -> StoreResult<Zone> {
        self.observe(
            "create_zone",
            "zones",
            self.inner.create_zone(tenant_id, zone),
        )
        .await
    }

    async fn get_zone(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Zone> {
        self.observe("get_zone", "zones", self.inner.get_zone(tenant_id, zone_id))
            .await
    }

    async fn list_zones(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<Zone>> {
        self.observe(
            "list_zones",
            "zones",
            self.inner.list_zones(tenant_id, event_id, page),
        )
        .await
    }

    async fn zone_availability(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Availability> {
        self.observe(
            "zone_availability",
            "seats",
            self.inner.zone_availability(tenant_id, zone_id),
        )
        .await
    }

    async fn create_customer(
        &self,
        tenant_id: Uuid,
        customer: NewCustomer,
    ) -> StoreResult<Customer> {
        self.observe(
            "create_customer",
            "customers",
            self.inner.create_customer(tenant_id, customer),
        )
        .await
    }

    async fn get_customer(&self, tenant_id: Uuid, customer_id: Uuid) -> StoreResult<Customer> {
        self.observe(
            "get_customer",
            "customers",
            self.inner.get_customer(tenant_id, customer_id),
        )
        .await
    }

    async fn search_customers(
        &self,
        tenant_id: Uuid,
        filter: CustomerFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Customer>> {
        self.observe(
            "search_customers",
            "customers",
            self.inner.search_customers(tenant_id, filter, page),
        )
        .await
    }

    async fn create_exchange_rate(
        &self,
        tenant_id: Uuid,
        created_by: Uuid,
        rate: NewExchangeRate,
    ) -> StoreResult<ExchangeRateRecord> {
        self.observe(
            "create_exchange_rate",
            "exchange_rates",
            self.inner.create_exchange_rate(tenant_id, created_by, rate),
        )
        .await
    }

    async fn list_exchange_rates(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<ExchangeRateRecord>> {
        self.observe(
            "list_exchange_rates",
            "exchange_rates",
            self.inner.list_exchange_rates(tenant_id, page),
        )
        .await
    }

    async fn create_hold(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        hold: NewHold,
    ) -> StoreResult<Idempotent<Hold>> {
        self.observe(
            "create_hold",
            "holds",
            self.inner
                .create_hold(tenant_id, principal_id, idempotency, hold),
        )
        .await
    }

    async fn get_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<Hold> {
        self.observe("get_hold", "holds", self.inner.get_hold(tenant_id, hold_id))
            .await
    }

    async fn release_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<()> {
        self.observe(
            "release_hold",
            "holds",
            self.inner.release_hold(tenant_id, hold_id),
        )
        .await
    }

    async fn expire_holds(&self, limit: i64) -> StoreResult<Vec<(Uuid, Uuid)>> {
        self.observe("expire_holds", "holds", self.inner.expire_holds(limit))
            .await
    }

    async fn holds_due(&self) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        self.observe("holds_due", "holds", self.inner.holds_due())
            .await
    }

    async fn create_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order: NewOrder,
    ) -> StoreResult<Idempotent<Order>> {
        self.observe(
            "create_order",
            "orders",
            self.inner
                .create_order(tenant_id, principal_id, idempotency, order),
        )
        .await
    }

    async fn get_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order> {
        self.observe(
            "get_order",
            "orders",
            self.inner.get_order(tenant_id, order_id),
        )
        .await
    }

    async fn get_order_lines(
        &self,
        tenant_id: Uuid,
        order_id: Uuid,
    ) -> StoreResult<Vec<OrderLine>> {
        self.observe(
            "get_order_lines",
            "order_lines",
            self.inner.get_order_lines(tenant_id, order_id),
        )
        .await
    }

    async fn cancel_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order> {
        self.observe(
            "cancel_order",
            "orders",
            self.inner.cancel_order(tenant_id, order_id),
        )
        .await
    }

    async fn add_payment(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        payment: NewPayment,
    ) -> StoreResult<Idempotent<PaymentOutcome>> {
        self.observe(
            "add_payment",
            "payments",
            self.inner
                .add_payment(tenant_id, principal_id, idempotency, order_id, payment),
        )
        .await
    }

    async fn void_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        reason: String,
    ) -> StoreResult<Idempotent<VoidOutcome>> {
        self.observe(
            "void_order",
            "orders",
            self.inner
                .void_order(tenant_id, principal_id, idempotency, order_id, reason),
        )
        .await
    }

    async fn list_tickets(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Vec<Ticket>> {
        self.observe(
            "list_tickets",
            "tickets",
            self.inner.list_tickets(tenant_id, order_id),
        )
        .await
    }

    async fn validate_ticket(
        &self,
        tenant_id: Uuid,
        validator_id: Uuid,
        code: &str,
        gate: &str,
        event_id: Option<Uuid>,
    ) -> StoreResult<ValidationOutcome> {
        self.observe(
            "validate_ticket",
            "tickets",
            self.inner
                .validate_ticket(tenant_id, validator_id, code, gate, event_id),
        )
        .await
    }

    async fn list_fiscal_documents(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalDocument>> {
        self.observe(
            "list_fiscal_documents",
            "fiscal_documents",
            self.inner.list_fiscal_documents(tenant_id, page),
        )
        .await
    }

    async fn get_fiscal_document(
        &self,
        tenant_id: Uuid,
        document_id: Uuid,
    ) -> StoreResult<FiscalDocument> {
        self.observe(
            "get_fiscal_document",
            "fiscal_documents",
            self.inner.get_fiscal_document(tenant_id, document_id),
        )
        .await
    }

    async fn check_integrity(&self) -> StoreResult<IntegrityReport> {
        self.observe(
            "check_integrity",
            "fiscal_documents",
            self.inner.check_integrity(),
        )
        .await
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.observe(
            "purge_idempotency_keys",
            "idempotency_keys",
            self.inner.purge_idempotency_keys(before),
        )
        .await
    }

    async fn event_sales_summary(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<EventSalesSummary> {
        self.observe(
            "event_sales_summary",
            "orders",
            self.inner.event_sales_summary(tenant_id, event_id),
        )
        .await
    }

    async fn export_gauges(
        &self,
        closed_since: DateTime<Utc>,
        max_events: i64,
    ) -> StoreResult<ExportGauges> {
        self.observe(
            "export_gauges",
            "orders",
            self.inner.export_gauges(closed_since, max_events),
        )
        .await
    }

    async fn create_price_stage(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        stage: NewPriceStage,
    ) -> StoreResult<PriceStage> {
        self.observe(
            "create_price_stage",
            "price_stages",
            self.inner.create_price_stage(tenant_id, event_id, stage),
        )
        .await
    }

    async fn list_price_stages(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<PriceStage>> {
        self.observe(
            "list_price_stages",
            "price_stages",
            self.inner.list_price_stages(tenant_id, event_id, page),
        )
        .await
    }

    async fn zone_stages(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Vec<ZoneStage>> {
        self.observe(
            "zone_stages",
            "price_stages",
            self.inner.zone_stages(tenant_id, event_id),
        )
        .await
    }

    async fn end_price_stage(
        &self,
        tenant_id: Uuid,
        stage_id: Uuid,
    ) -> StoreResult<StageTransition> {
        self.observe(
            "end_price_stage",
            "price_stages",
            self.inner.end_price_stage(tenant_id, stage_id),
        )
        .await
    }

    async fn list_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<StageTransition>> {
        self.observe(
            "list_stage_transitions",
            "stage_transitions",
            self.inner.list_stage_transitions(tenant_id, event_id, page),
        )
        .await
    }

    async fn apply_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<Vec<StageTransition>> {
        self.observe(
            "apply_stage_transitions",
            "price_stages",
            self.inner.apply_stage_transitions(tenant_id, event_id),
        )
        .await
    }

    async fn apply_due_stage_transitions(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, StageTransition)>> {
        self.observe(
            "apply_due_stage_transitions",
            "price_stages",
            self.inner.apply_due_stage_transitions(limit),
        )
        .await
    }

    async fn create_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule: NewTaxRule,
    ) -> StoreResult<TaxRuleRecord> {
        self.observe(
            "create_tax_rule",
            "tax_rules",
            self.inner.create_tax_rule(tenant_id, principal_id, rule),
        )
        .await
    }

    async fn end_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule_id: Uuid,
        successor: Option<NewTaxRule>,
    ) -> StoreResult<Option<TaxRuleRecord>> {
        self.observe(
            "end_tax_rule",
            "tax_rules",
            self.inner
                .end_tax_rule(tenant_id, principal_id, rule_id, successor),
        )
        .await
    }

    async fn list_tax_rules(
        &self,
        tenant_id: Uuid,
        include_ended: bool,
        page: PageRequest,
    ) -> StoreResult<Page<TaxRuleRecord>> {
        self.observe(
            "list_tax_rules",
            "tax_rules",
            self.inner.list_tax_rules(tenant_id, include_ended, page),
        )
        .await
    }

    async fn update_zone_pricing(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        pricing: ZonePricing,
    ) -> StoreResult<Zone> {
        self.observe(
            "update_zone_pricing",
            "zones",
            self.inner.update_zone_pricing(tenant_id, zone_id, pricing),
        )
        .await
    }

    async fn create_table_group(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        table: NewTableGroup,
    ) -> StoreResult<TableGroup> {
        self.observe(
            "create_table_group",
            "table_groups",
            self.inner.create_table_group(tenant_id, zone_id, table),
        )
        .await
    }

    async fn igtf_settings(&self, tenant_id: Uuid) -> StoreResult<IgtfSettings> {
        self.observe(
            "igtf_settings",
            "tenants",
            self.inner.igtf_settings(tenant_id),
        )
        .await
    }

    async fn set_igtf_settings(
        &self,
        tenant_id: Uuid,
        settings: IgtfSettings,
    ) -> StoreResult<IgtfSettings> {
        self.observe(
            "set_igtf_settings",
            "tenants",
            self.inner.set_igtf_settings(tenant_id, settings),
        )
        .await
    }

    async fn create_discount_code(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        code: NewDiscountCode,
    ) -> StoreResult<DiscountCode> {
        self.observe(
            "create_discount_code",
            "discount_codes",
            self.inner.create_discount_code(tenant_id, event_id, code),
        )
        .await
    }

    async fn list_discount_codes(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DiscountCode>> {
        self.observe(
            "list_discount_codes",
            "discount_codes",
            self.inner.list_discount_codes(tenant_id, event_id, page),
        )
        .await
    }

    async fn pin_event_rate(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        rate_id: Option<Uuid>,
    ) -> StoreResult<Event> {
        self.observe(
            "pin_event_rate",
            "events",
            self.inner.pin_event_rate(tenant_id, event_id, rate_id),
        )
        .await
    }

    async fn create_fiscal_series(
        &self,
        tenant_id: Uuid,
        series: NewFiscalSeries,
    ) -> StoreResult<FiscalSeries> {
        self.observe(
            "create_fiscal_series",
            "fiscal_series",
            self.inner.create_fiscal_series(tenant_id, series),
        )
        .await
    }

    async fn list_fiscal_series(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalSeries>> {
        self.observe(
            "list_fiscal_series",
            "fiscal_series",
            self.inner.list_fiscal_series(tenant_id, page),
        )
        .await
    }

    async fn get_fiscal_series(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
    ) -> StoreResult<FiscalSeries> {
        self.observe(
            "get_fiscal_series",
            "fiscal_series",
            self.inner.get_fiscal_series(tenant_id, series_id),
        )
        .await
    }

    async fn update_series_settings(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
        adapter_config: serde_json::Value,
        changed_by: Uuid,
    ) -> StoreResult<FiscalSeries> {
        self.observe(
            "update_series_settings",
            "fiscal_series",
            self.inner
                .update_series_settings(tenant_id, series_id, adapter_config, changed_by),
        )
        .await
    }

    async fn claim_fiscal_issues(
        &self,
        limit: i64,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<PendingIssue>> {
        self.observe(
            "claim_fiscal_issues",
            "fiscal_issue_queue",
            self.inner.claim_fiscal_issues(limit, lease),
        )
        .await
    }

    async fn record_external_document(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        issued: &ExternalIssued,
    ) -> StoreResult<Option<DocumentSummary>> {
        self.observe(
            "record_external_document",
            "fiscal_documents",
            self.inner
                .record_external_document(tenant_id, queue_id, issued),
        )
        .await
    }

    async fn defer_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.observe(
            "defer_fiscal_issue",
            "fiscal_issue_queue",
            self.inner
                .defer_fiscal_issue(tenant_id, queue_id, error, retry_at),
        )
        .await
    }

    async fn reassign_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        series_code: &str,
        principal_id: Uuid,
    ) -> StoreResult<Option<DocumentSummary>> {
        self.observe(
            "reassign_fiscal_issue",
            "fiscal_issue_queue",
            self.inner
                .reassign_fiscal_issue(tenant_id, queue_id, series_code, principal_id),
        )
        .await
    }

    async fn retry_fiscal_issue(&self, tenant_id: Uuid, queue_id: Uuid) -> StoreResult<()> {
        self.observe(
            "retry_fiscal_issue",
            "fiscal_issue_queue",
            self.inner.retry_fiscal_issue(tenant_id, queue_id),
        )
        .await
    }

    async fn list_fiscal_issues(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalIssueItem>> {
        self.observe(
            "list_fiscal_issues",
            "fiscal_issue_queue",
            self.inner.list_fiscal_issues(tenant_id, page),
        )
        .await
    }

    async fn fiscal_queue_stats(&self) -> StoreResult<FiscalQueueStats> {
        self.observe(
            "fiscal_queue_stats",
            "fiscal_issue_queue",
            self.inner.fiscal_queue_stats(),
        )
        .await
    }

    async fn fiscal_day_totals(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<FiscalDayTotals> {
        self.observe(
            "fiscal_day_totals",
            "fiscal_documents",
            self.inner.fiscal_day_totals(tenant_id, cashier_id, day),
        )
        .await
    }

    async fn close_fiscal_day(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        closed_by: Uuid,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<ZReport> {
        self.observe(
            "close_fiscal_day",
            "z_reports",
            self.inner
                .close_fiscal_day(tenant_id, cashier_id, closed_by, day),
        )
        .await
    }

    async fn list_z_reports(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<ZReport>> {
        self.observe(
            "list_z_reports",
            "z_reports",
            self.inner.list_z_reports(tenant_id, cashier_id, page),
        )
        .await
    }

    async fn get_z_report(&self, tenant_id: Uuid, report_id: Uuid) -> StoreResult<ZReport> {
        self.observe(
            "get_z_report",
            "z_reports",
            self.inner.get_z_report(tenant_id, report_id),
        )
        .await
    }

    async fn verify_fiscal(&self, tenant_id: Uuid) -> StoreResult<FiscalVerification> {
        self.observe(
            "verify_fiscal",
            "fiscal_audit_log",
            self.inner.verify_fiscal(tenant_id),
        )
        .await
    }

    async fn quick_sale(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        sale: NewSale,
    ) -> StoreResult<Idempotent<Order>> {
        self.observe(
            "quick_sale",
            "orders",
            self.inner
                .quick_sale(tenant_id, principal_id, idempotency, sale),
        )
        .await
    }

    async fn create_offline_block(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        block: NewOfflineBlock,
    ) -> StoreResult<OfflineBlock> {
        self.observe(
            "create_offline_block",
            "offline_blocks",
            self.inner
                .create_offline_block(tenant_id, cashier_id, block),
        )
        .await
    }

    async fn get_offline_block(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        self.observe(
            "get_offline_block",
            "offline_blocks",
            self.inner.get_offline_block(tenant_id, block_id),
        )
        .await
    }

    async fn list_offline_blocks(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<OfflineBlock>> {
        self.observe(
            "list_offline_blocks",
            "offline_blocks",
            self.inner.list_offline_blocks(tenant_id, page),
        )
        .await
    }

    async fn sync_offline_sale(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: OfflineSale,
    ) -> StoreResult<OfflineSaleResult> {
        self.observe(
            "sync_offline_sale",
            "offline_numbers",
            self.inner.sync_offline_sale(tenant_id, block_id, sale),
        )
        .await
    }

    async fn close_offline_block(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        self.observe(
            "close_offline_block",
            "offline_blocks",
            self.inner.close_offline_block(tenant_id, block_id),
        )
        .await
    }

    async fn expire_offline_blocks(&self, limit: i64) -> StoreResult<Vec<ExpiredBlock>> {
        self.observe(
            "expire_offline_blocks",
            "offline_blocks",
            self.inner.expire_offline_blocks(limit),
        )
        .await
    }
}
