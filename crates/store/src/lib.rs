//! Storage: the [`Store`] trait and its PostgreSQL and SQLite implementations.
//!
//! Each state-changing method is one database transaction that checks and
//! enforces the invariants it touches (capacity, gapless fiscal numbers,
//! idempotency). Both backends share one implementation, `common.rs`, which is
//! compiled once per backend with that backend's concrete sqlx types. What
//! differs (connecting, opening a write transaction) is in `postgres.rs` and
//! `sqlite.rs`. Migrations are in `migrations/postgres` and `migrations/sqlite`.

#![expect(
    clippy::duplicate_mod,
    reason = "common.rs is compiled once per backend, with that backend's sqlx types"
)]

pub mod clock;
pub mod error;
pub mod list_sql;
pub mod model;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use clock::{Clock, OffsetClock, SystemClock};
pub use error::StoreError;
use model::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, StoreError>;

/// Connections of the pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Database settings shared by both backends.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `postgres://…` or `sqlite://path` (created if missing).
    pub url: String,
    pub max_connections: u32,
    /// Statements slower than this are logged at WARN by sqlx.
    pub slow_statement_threshold: std::time::Duration,
    /// SQLite only: `synchronous=FULL` (durable on power loss) unless false.
    pub sqlite_synchronous_full: bool,
}

/// Connects to the database named by `options.url` and runs its migrations.
pub async fn connect(
    options: &ConnectOptions,
    clock: Arc<dyn Clock>,
) -> StoreResult<Arc<dyn Store>> {
    if options.url.starts_with("postgres://") || options.url.starts_with("postgresql://") {
        let store = PgStore::connect(options, clock).await?;
        store.migrate().await?;
        store.backfill_audit_log().await?;
        Ok(Arc::new(store))
    } else if options.url.starts_with("sqlite:") {
        let store = SqliteStore::connect(options, clock).await?;
        store.migrate().await?;
        store.backfill_audit_log().await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::Internal(format!(
            "unsupported database URL scheme in `{}`: use postgres:// or sqlite://",
            redact_url(&options.url)
        )))
    }
}

/// Connects to the database named by `options.url` for reading only. It runs
/// no migrations and creates no SQLite file. PostgreSQL sessions start every
/// transaction read-only, and SQLite opens the file read-only, so a write
/// through this store fails in the database.
pub async fn connect_read_only(
    options: &ConnectOptions,
    clock: Arc<dyn Clock>,
) -> StoreResult<Arc<dyn Store>> {
    if options.url.starts_with("postgres://") || options.url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_read_only(options, clock).await?))
    } else if options.url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect_read_only(options, clock).await?,
        ))
    } else {
        Err(StoreError::Internal(format!(
            "unsupported database URL scheme in `{}`: use postgres:// or sqlite://",
            redact_url(&options.url)
        )))
    }
}

/// Removes a password from a database URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Name of the backend: `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;

    /// Returns the connection pool's current size and idle connections.
    fn pool_status(&self) -> PoolStatus;

    /// Runs a trivial query; used by health checks.
    async fn ping(&self) -> StoreResult<()>;

    // Settings and tenancy.
    async fn get_or_init_setting(&self, key: &str, initial: &str) -> StoreResult<String>;
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant>;
    async fn get_tenant(&self, tenant_id: Uuid) -> StoreResult<Tenant>;
    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_signing_key(&self, tenant_id: Uuid) -> StoreResult<Vec<u8>>;
    async fn list_tenants(&self, page: PageRequest) -> StoreResult<Page<Tenant>>;

    // Users and sessions.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn get_user(&self, user_id: Uuid) -> StoreResult<User>;
    async fn list_users(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<User>>;
    async fn find_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>>;
    /// Counts a login attempt before its password is checked, so parallel
    /// guesses cannot outrun the lockout: `max_failures` attempts without a
    /// success lock the account until `lock_until`. Returns false, counting
    /// nothing, while the account is locked.
    async fn claim_login_attempt(
        &self,
        user_id: Uuid,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Clears the attempt counter and any lock after a correct password.
    async fn record_login_success(&self, user_id: Uuid) -> StoreResult<()>;
    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Marks `old_hash` used and stores `new_hash` in the same family; reusing a
    /// used token revokes its family.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<RefreshOutcome>;
    /// Stores a web session under the SHA-256 of its cookie token.
    async fn create_web_session(
        &self,
        token_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Returns the session stored under `token_hash` unless it is revoked or
    /// expired at `now`. The user may be inactive: the caller checks.
    async fn find_web_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>>;
    /// Revokes a web session; an unknown token is not an error.
    async fn revoke_web_session(&self, token_hash: &str) -> StoreResult<()>;

    // Catalogue.
    async fn create_venue(&self, tenant_id: Uuid, venue: NewVenue) -> StoreResult<Venue>;
    async fn get_venue(&self, tenant_id: Uuid, venue_id: Uuid) -> StoreResult<Venue>;
    async fn list_venues(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Venue>>;
    async fn create_event(&self, tenant_id: Uuid, event: NewEvent) -> StoreResult<Event>;
    async fn get_event(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Event>;
    async fn list_events(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Event>>;
    /// Moves an event to `to` if its status is one of `from`.
    async fn set_event_status(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        from: &[&str],
        to: &str,
    ) -> StoreResult<Event>;
    async fn create_zone(&self, tenant_id: Uuid, zone: NewZone) -> StoreResult<Zone>;
    async fn get_zone(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Zone>;
    /// Lists a page of an event's zones in id order.
    async fn list_zones(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<Zone>>;
    async fn zone_availability(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Availability>;

    // Customers and exchange rates.
    async fn create_customer(
        &self,
        tenant_id: Uuid,
        customer: NewCustomer,
    ) -> StoreResult<Customer>;
    async fn get_customer(&self, tenant_id: Uuid, customer_id: Uuid) -> StoreResult<Customer>;
    async fn search_customers(
        &self,
        tenant_id: Uuid,
        filter: CustomerFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Customer>>;
    /// Stores a rate; a rate for the same date supersedes the earlier one.
    async fn create_exchange_rate(
        &self,
        tenant_id: Uuid,
        created_by: Uuid,
        rate: NewExchangeRate,
    ) -> StoreResult<ExchangeRateRecord>;
    async fn list_exchange_rates(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<ExchangeRateRecord>>;

    // Sales.
    async fn create_hold(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        hold: NewHold,
    ) -> StoreResult<Idempotent<Hold>>;
    async fn get_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<Hold>;
    /// Releases an active hold and cancels its unpaid order, returning the capacity.
    async fn release_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<()>;
    /// Expires up to `limit` holds whose time has passed, and returns the
    /// tenant and event of each hold it expired.
    async fn expire_holds(&self, limit: i64) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Counts the active holds past their expiry and returns when the oldest expired.
    async fn holds_due(&self) -> StoreResult<(i64, Option<DateTime<Utc>>)>;
    async fn create_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order: NewOrder,
    ) -> StoreResult<Idempotent<Order>>;
    async fn get_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order>;
    /// Returns only the lines of an order; cheaper than [`Store::get_order`].
    async fn get_order_lines(&self, tenant_id: Uuid, order_id: Uuid)
    -> StoreResult<Vec<OrderLine>>;
    async fn cancel_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order>;
    async fn add_payment(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        payment: NewPayment,
    ) -> StoreResult<Idempotent<PaymentOutcome>>;
    async fn void_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        reason: String,
    ) -> StoreResult<Idempotent<VoidOutcome>>;
    /// Lists all the tickets of an order in id order. An order is made from
    /// one hold, so it has at most as many tickets as a hold has units.
    async fn list_tickets(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Vec<Ticket>>;
    async fn validate_ticket(
        &self,
        tenant_id: Uuid,
        validator_id: Uuid,
        code: &str,
        gate: &str,
        event_id: Option<Uuid>,
    ) -> StoreResult<ValidationOutcome>;
    async fn list_fiscal_documents(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalDocument>>;
    async fn get_fiscal_document(
        &self,
        tenant_id: Uuid,
        document_id: Uuid,
    ) -> StoreResult<FiscalDocument>;
    /// Checks fiscal series for gaps and sales data for broken invariants,
    /// across all tenants. Reads whole tables: run it seldom.
    async fn check_integrity(&self) -> StoreResult<IntegrityReport>;
    /// Deletes idempotency keys older than `before`.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Returns the dashboard figures of one event: places per zone, and the
    /// paid orders' revenue per payment method and per Caracas hour.
    async fn event_sales_summary(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<EventSalesSummary>;
    /// Reads the gauges of `taquilla metrics-export` across all tenants, without
    /// writing. Covers active events and closed events that started at or after
    /// `closed_since`, at most `max_events` of them, earliest start first.
    async fn export_gauges(
        &self,
        closed_since: DateTime<Utc>,
        max_events: i64,
    ) -> StoreResult<ExportGauges>;

    /// Adds a stage at the end of its scope's sequence; rejects overlapping windows
    /// and limits above the scope's capacity.
    async fn create_price_stage(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        stage: NewPriceStage,
    ) -> StoreResult<PriceStage>;
    /// Lists a page of an event's stages in position order (ties by id), with
    /// their status now.
    async fn list_price_stages(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<PriceStage>>;
    /// For each zone of an event: the stage pricing it now and the next one.
    async fn zone_stages(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Vec<ZoneStage>>;
    /// Ends a stage by hand (an `ended_manually` transition); 409 `stage_ended` if it already ended.
    async fn end_price_stage(
        &self,
        tenant_id: Uuid,
        stage_id: Uuid,
    ) -> StoreResult<StageTransition>;
    /// Lists a page of an event's stage transitions, oldest first; equal
    /// instants are ordered by id.
    async fn list_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<StageTransition>>;
    /// Records the date transitions due for one event; returns those recorded now.
    async fn apply_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<Vec<StageTransition>>;
    /// Records due date transitions of every tenant, up to `limit` events;
    /// returns each with its tenant.
    async fn apply_due_stage_transitions(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, StageTransition)>>;
    async fn create_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule: NewTaxRule,
    ) -> StoreResult<TaxRuleRecord>;
    /// Ends a tax rule (kept in the history) and adds its successor, if given.
    async fn end_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule_id: Uuid,
        successor: Option<NewTaxRule>,
    ) -> StoreResult<Option<TaxRuleRecord>>;
    async fn list_tax_rules(
        &self,
        tenant_id: Uuid,
        include_ended: bool,
        page: PageRequest,
    ) -> StoreResult<Page<TaxRuleRecord>>;
    /// Changes a zone's row markups, seat modifiers, table mode or IVA exemption;
    /// orders already created keep their frozen prices.
    async fn update_zone_pricing(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        pricing: ZonePricing,
    ) -> StoreResult<Zone>;
    async fn create_table_group(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        table: NewTableGroup,
    ) -> StoreResult<TableGroup>;
    async fn igtf_settings(&self, tenant_id: Uuid) -> StoreResult<IgtfSettings>;
    async fn set_igtf_settings(
        &self,
        tenant_id: Uuid,
        settings: IgtfSettings,
    ) -> StoreResult<IgtfSettings>;
    async fn create_discount_code(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        code: NewDiscountCode,
    ) -> StoreResult<DiscountCode>;
    async fn list_discount_codes(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DiscountCode>>;
    /// Pins an exchange rate on an event (or unpins it with `None`).
    async fn pin_event_rate(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        rate_id: Option<Uuid>,
    ) -> StoreResult<Event>;

    // Fiscal series, issuing queue, fiscal days and verification.
    async fn create_fiscal_series(
        &self,
        tenant_id: Uuid,
        series: NewFiscalSeries,
    ) -> StoreResult<FiscalSeries>;
    /// Lists a page of the tenant's series: invoice series first, then by code.
    async fn list_fiscal_series(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalSeries>>;
    async fn get_fiscal_series(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
    ) -> StoreResult<FiscalSeries>;
    /// Replaces the adapter settings of a digital-printer or fiscal-printer
    /// series (a moved URL, a rotated token), records who changed which
    /// settings in the audit chain, and makes its waiting documents due now.
    async fn update_series_settings(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
        adapter_config: serde_json::Value,
        changed_by: Uuid,
    ) -> StoreResult<FiscalSeries>;
    /// Claims up to `limit` due documents for their external adapters,
    /// leasing each for `lease` so no other worker takes it meanwhile.
    async fn claim_fiscal_issues(
        &self,
        limit: i64,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<PendingIssue>>;
    /// Records what an adapter issued; `None` when the document was already recorded.
    async fn record_external_document(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        issued: &ExternalIssued,
    ) -> StoreResult<Option<DocumentSummary>>;
    /// Puts a queued document back for a retry at `retry_at`, or marks it
    /// rejected (no automatic retry) when `retry_at` is `None`.
    async fn defer_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Moves a rejected document to another series of its kind, issued by
    /// `principal_id`: at once in an internal series (returns it), or queued
    /// with a new idempotency key for another adapter (returns `None`).
    async fn reassign_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        series_code: &str,
        principal_id: Uuid,
    ) -> StoreResult<Option<DocumentSummary>>;
    /// Puts a rejected document back in the queue, due now.
    async fn retry_fiscal_issue(&self, tenant_id: Uuid, queue_id: Uuid) -> StoreResult<()>;
    async fn list_fiscal_issues(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalIssueItem>>;
    async fn fiscal_queue_stats(&self) -> StoreResult<FiscalQueueStats>;
    /// Totals of a fiscal day (today in Caracas by default) for one cashier,
    /// or for the tenant when `cashier_id` is empty.
    async fn fiscal_day_totals(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<FiscalDayTotals>;
    /// Closes a cashier's fiscal day with a Z report.
    async fn close_fiscal_day(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        closed_by: Uuid,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<ZReport>;
    async fn list_z_reports(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<ZReport>>;
    async fn get_z_report(&self, tenant_id: Uuid, report_id: Uuid) -> StoreResult<ZReport>;
    /// Checks a tenant's audit chain, series and Z reports.
    async fn verify_fiscal(&self, tenant_id: Uuid) -> StoreResult<FiscalVerification>;

    /// Sells in one transaction: hold, order and payments that pay it in
    /// full, with the invoice and tickets. Nothing is written unless the sale completes.
    async fn quick_sale(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        sale: NewSale,
    ) -> StoreResult<Idempotent<Order>>;

    // Offline sales.
    /// Hands `cashier_id` a block of consecutive numbers of an offline series.
    async fn create_offline_block(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        block: NewOfflineBlock,
    ) -> StoreResult<OfflineBlock>;
    async fn get_offline_block(&self, tenant_id: Uuid, block_id: Uuid)
    -> StoreResult<OfflineBlock>;
    async fn list_offline_blocks(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<OfflineBlock>>;
    /// Settles one number of a block: takes the sale if its seats are still
    /// free and its payments pay it, else records why not. Sending the same
    /// number again returns what was recorded.
    async fn sync_offline_sale(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: OfflineSale,
    ) -> StoreResult<OfflineSaleResult>;
    /// Closes a block, voiding the numbers not synced.
    async fn close_offline_block(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock>;
    /// Closes up to `limit` expired blocks, voiding their unused numbers.
    async fn expire_offline_blocks(&self, limit: i64) -> StoreResult<Vec<ExpiredBlock>>;
}
