//! The store implementation shared by both backends. This file is compiled
//! twice, as `postgres::common` and `sqlite::common`, and `super::Db` is the
//! backend's sqlx database type.
//!
//! SQL here must run unchanged on both backends. It uses `$n` placeholders,
//! `RETURNING` and `ON CONFLICT`. It avoids `FOR UPDATE`: a no-op `UPDATE`
//! takes the row lock on PostgreSQL and is harmless on SQLite, whose
//! `BEGIN IMMEDIATE` already holds the write lock. Sums are written
//! `CAST(SUM(…) AS BIGINT)` because PostgreSQL sums BIGINT into NUMERIC.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{FromRow, QueryBuilder};
use taquilla_domain::fiscal::{
    caracas_date, format_control_number, format_issue_date, format_issue_time,
};
use taquilla_domain::igtf::{igtf_on, split_received};
use taquilla_domain::money::{Currency, ExchangeRate};
use taquilla_domain::pricing::{Modifier, PriceInputs, unit_price};
use taquilla_domain::seatmap::row_label;
use taquilla_domain::tax::{TaxCategory, TaxKind, TaxedLine, TotalsError, compute_document_totals};
use uuid::Uuid;

use super::{
    BACKEND_NAME, Backend, Db, ONE_STATEMENT_ISSUE, ONE_STATEMENT_SCAN, SHARE_LOCK, SNAPSHOT_READ,
    WriteTx,
};
use crate::error::unique_violation;
use crate::list_sql::{self, DOCUMENT_SELECT, TICKET_COLUMNS, USER_COLUMNS};
use crate::model::*;
use crate::{Store, StoreError, StoreResult};

type Conn = <Db as sqlx::Database>::Connection;

/// Attempts for a transaction that failed on a deadlock, serialization failure
/// or busy database before the error reaches the client as a 503.
const MAX_ATTEMPTS: u32 = 4;

/// Re-runs `$operation` (an expression that builds and awaits the transaction)
/// while it fails with a retryable error.
macro_rules! with_retry {
    ($operation:expr) => {{
        let mut attempt = 1;
        loop {
            match $operation {
                Err(error) if error.is_retryable() && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        backend = BACKEND_NAME,
                        "retrying transaction after a lock conflict"
                    );
                    tokio::time::sleep(Duration::from_millis(2_u64 << attempt)).await;
                    attempt += 1;
                }
                result => break result,
            }
        }
    }};
}

#[path = "pricing_sql.rs"]
mod pricing_sql;
use pricing_sql::*;

#[path = "fiscal_sql.rs"]
mod fiscal_sql;
use fiscal_sql::*;

#[path = "offline_sql.rs"]
mod offline_sql;
use offline_sql::*;

#[path = "summary_sql.rs"]
mod summary_sql;

fn page_of<T>(mut items: Vec<T>, page: PageRequest, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
    let limit = page.limit.max(1) as usize;
    let mut next_cursor = None;
    if items.len() > limit {
        items.truncate(limit);
        next_cursor = items.last().map(|item| id_of(item).simple().to_string());
    }
    Page { items, next_cursor }
}

/// Returns the lower bound of a keyset page: the nil UUID sorts before every v7 id.
fn after(page: PageRequest) -> Uuid {
    page.after.unwrap_or(Uuid::nil())
}

fn rate_text(scaled: i64) -> String {
    ExchangeRate::from_scaled(scaled)
        .map(|rate| rate.to_string())
        .unwrap_or_default()
}

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    tenant_id: Option<Uuid>,
    username: String,
    role: String,
    active: bool,
    created_at: DateTime<Utc>,
    password_hash: String,
    failed_logins: i64,
    locked_until: Option<DateTime<Utc>>,
}

impl UserRow {
    fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: self.id,
            tenant_id: self.tenant_id,
            username: self.username,
            role: Role::parse(&self.role).ok_or_else(|| {
                StoreError::Internal(format!("unknown role `{}` in users", self.role))
            })?,
            active: self.active,
            created_at: self.created_at,
        })
    }
}

#[derive(FromRow, Clone)]
struct ZoneRecord {
    id: Uuid,
    event_id: Uuid,
    name: String,
    kind: String,
    capacity: i64,
    price_usd_cents: i64,
    entries_per_ticket: i64,
    sold: i64,
    held: i64,
    row_markup_basis_points: i64,
    table_mode: String,
    tax_exempt: bool,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct RateRecord {
    id: Uuid,
    currency: String,
    rate_scaled: i64,
    effective_date: chrono::NaiveDate,
    source: String,
    supersedes_id: Option<Uuid>,
    superseded: bool,
    created_at: DateTime<Utc>,
}

impl From<RateRecord> for ExchangeRateRecord {
    fn from(record: RateRecord) -> Self {
        ExchangeRateRecord {
            id: record.id,
            currency: record.currency,
            rate: rate_text(record.rate_scaled),
            rate_scaled: record.rate_scaled,
            effective_date: record.effective_date,
            source: record.source,
            supersedes_id: record.supersedes_id,
            superseded: record.superseded,
            created_at: record.created_at,
        }
    }
}

#[derive(FromRow, Clone)]
struct HoldRecord {
    id: Uuid,
    event_id: Uuid,
    zone_id: Uuid,
    kind: String,
    quantity: i64,
    status: String,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// The order fields a payment reads while it holds the order's row lock.
#[derive(FromRow)]
struct PaymentLock {
    status: String,
    total_bs_cents: i64,
    paid_bs_cents: i64,
    rate_scaled: i64,
    payment_deadline: DateTime<Utc>,
    hold_id: Uuid,
    event_id: Uuid,
}

#[derive(FromRow)]
struct OrderRecord {
    id: Uuid,
    hold_id: Uuid,
    customer_id: Uuid,
    event_id: Uuid,
    status: String,
    rate_id: Uuid,
    rate_scaled: i64,
    rate_effective_date: chrono::NaiveDate,
    subtotal_usd_cents: i64,
    tax_usd_cents: i64,
    total_usd_cents: i64,
    subtotal_bs_cents: i64,
    tax_bs_cents: i64,
    total_bs_cents: i64,
    taxes: String,
    paid_bs_cents: i64,
    rounding_bs_cents: i64,
    payment_deadline: DateTime<Utc>,
    invoice_id: Option<Uuid>,
    credit_note_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    courtesy: bool,
    discount_code_id: Option<Uuid>,
    igtf_usd_cents: i64,
    igtf_bs_cents: i64,
    rate_source: String,
}

const ORDER_COLUMNS: &str = "id, hold_id, customer_id, event_id, status, rate_id, rate_scaled, rate_effective_date, \
    subtotal_usd_cents, tax_usd_cents, total_usd_cents, subtotal_bs_cents, tax_bs_cents, total_bs_cents, taxes, \
    paid_bs_cents, rounding_bs_cents, payment_deadline, invoice_id, credit_note_id, created_at, completed_at, \
    courtesy, discount_code_id, igtf_usd_cents, igtf_bs_cents, rate_source";

#[derive(FromRow)]
struct DocumentRecord {
    id: Uuid,
    kind: String,
    series: String,
    number: i64,
    control_number: String,
    order_id: Uuid,
    references_document_id: Option<Uuid>,
    issued_at: DateTime<Utc>,
    total_usd_cents: i64,
    total_bs_cents: i64,
    content: String,
}

impl DocumentRecord {
    fn summary(&self) -> DocumentSummary {
        DocumentSummary {
            id: self.id,
            kind: self.kind.clone(),
            series: self.series.clone(),
            number: self.number,
            control_number: self.control_number.clone(),
            issued_at: self.issued_at,
        }
    }

    fn into_document(self) -> StoreResult<FiscalDocument> {
        let content = serde_json::from_str(&self.content)
            .map_err(|error| StoreError::Internal(format!("fiscal document content: {error}")))?;
        Ok(FiscalDocument {
            id: self.id,
            kind: self.kind,
            series: self.series,
            number: self.number,
            control_number: self.control_number,
            order_id: self.order_id,
            references_document_id: self.references_document_id,
            issued_at: self.issued_at,
            total_usd_cents: self.total_usd_cents,
            total_bs_cents: self.total_bs_cents,
            content,
        })
    }
}

enum Claim {
    Claimed,
    Replay { status_code: u16, body: String },
}

/// Inserts the idempotency key first, inside the effect's transaction: a
/// parallel duplicate waits on the primary key and then reads the stored response.
async fn claim_key(
    conn: &mut Conn,
    tenant_id: Uuid,
    request: &IdempotencyRequest,
    now: DateTime<Utc>,
) -> StoreResult<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, status_code, response, created_at) \
         VALUES ($1, $2, $3, $4, 0, '', $5) ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(request.principal_id)
    .bind(&request.key)
    .bind(&request.request_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Claimed);
    }

    let (request_hash, status_code, body): (String, i64, String) = sqlx::query_as(
        "SELECT request_hash, status_code, response FROM idempotency_keys \
         WHERE tenant_id = $1 AND principal_id = $2 AND key = $3",
    )
    .bind(tenant_id)
    .bind(request.principal_id)
    .bind(&request.key)
    .fetch_one(&mut *conn)
    .await?;
    if request_hash != request.request_hash {
        return Err(StoreError::IdempotencyKeyReused);
    }
    if status_code == 0 {
        // Only reachable if the first request's transaction is still open on
        // another connection, which the unique index makes us wait for.
        return Err(StoreError::Busy);
    }
    Ok(Claim::Replay {
        status_code: status_code as u16,
        body,
    })
}

async fn event_cancelled(conn: &mut Conn, tenant_id: Uuid, event_id: Uuid) -> StoreResult<bool> {
    let status: String =
        sqlx::query_scalar("SELECT status FROM events WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(event_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(status == "cancelled")
}

async fn release_key(
    conn: &mut Conn,
    tenant_id: Uuid,
    request: &IdempotencyRequest,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND principal_id = $2 AND key = $3",
    )
    .bind(tenant_id)
    .bind(request.principal_id)
    .bind(&request.key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn save_key_response<T: serde::Serialize>(
    conn: &mut Conn,
    tenant_id: Uuid,
    request: &IdempotencyRequest,
    status_code: u16,
    response: &T,
) -> StoreResult<()> {
    let body = serde_json::to_string(response)
        .map_err(|error| StoreError::Internal(format!("serialising response: {error}")))?;
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $4, response = $5 \
         WHERE tenant_id = $1 AND principal_id = $2 AND key = $3",
    )
    .bind(tenant_id)
    .bind(request.principal_id)
    .bind(&request.key)
    .bind(i64::from(status_code))
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds `quantity` units to a general-admission zone's held count, or its sold
/// count when `sell` is set, if the zone has room for them. Returns whether it did.
async fn take_units(
    conn: &mut Conn,
    tenant_id: Uuid,
    zone_id: Uuid,
    quantity: i64,
    sell: bool,
) -> StoreResult<bool> {
    let sql = if sell {
        "UPDATE zones SET sold = sold + $3 WHERE tenant_id = $1 AND id = $2 AND sold + held + $3 <= capacity"
    } else {
        "UPDATE zones SET held = held + $3 WHERE tenant_id = $1 AND id = $2 AND sold + held + $3 <= capacity"
    };
    let taken = sqlx::query(sql)
        .bind(tenant_id)
        .bind(zone_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(taken == 1)
}

/// Takes the row lock of a zone, so that capacity decisions on it are serialised.
async fn lock_zone(conn: &mut Conn, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<()> {
    sqlx::query("UPDATE zones SET held = held WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(zone_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends an active hold with `new_status` and returns its capacity; cancels or
/// expires its unpaid order. Returns false if the hold was no longer active.
///
/// NOTE: an order that ends after a partial payment keeps its payments; they
/// must be refunded by hand until taquilla records refunds.
async fn end_hold(
    conn: &mut Conn,
    tenant_id: Uuid,
    hold: &HoldRecord,
    new_status: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let ended = sqlx::query(
        "UPDATE holds SET status = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
    )
    .bind(tenant_id)
    .bind(hold.id)
    .bind(new_status)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if ended == 0 {
        return Ok(false);
    }

    if hold.kind == "general_admission" {
        sqlx::query("UPDATE zones SET held = held - $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(hold.zone_id)
            .bind(hold.quantity)
            .execute(&mut *conn)
            .await?;
    } else {
        sqlx::query(
            "UPDATE seats SET status = 'available', hold_id = NULL, hold_expires_at = NULL \
             WHERE tenant_id = $1 AND hold_id = $2 AND status = 'held'",
        )
        .bind(tenant_id)
        .bind(hold.id)
        .execute(&mut *conn)
        .await?;
    }

    return_order_allowances(conn, tenant_id, hold.id).await?;
    let order_status = if new_status == "expired" {
        "expired"
    } else {
        "cancelled"
    };
    sqlx::query(
        "UPDATE orders SET status = $3, cancelled_at = $4 \
         WHERE tenant_id = $1 AND hold_id = $2 AND status = 'pending'",
    )
    .bind(tenant_id)
    .bind(hold.id)
    .bind(order_status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

async fn fetch_hold(conn: &mut Conn, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<HoldRecord> {
    sqlx::query_as(
        "SELECT id, event_id, zone_id, kind, quantity, status, expires_at, created_at \
         FROM holds WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(hold_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("hold"))
}

async fn hold_view(
    conn: &mut Conn,
    tenant_id: Uuid,
    record: HoldRecord,
    now: DateTime<Utc>,
) -> StoreResult<Hold> {
    let seats: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT s.id, s.row_label, s.number FROM hold_seats h \
         JOIN seats s ON s.tenant_id = h.tenant_id AND s.id = h.seat_id \
         WHERE h.tenant_id = $1 AND h.hold_id = $2 ORDER BY s.row_index, s.number",
    )
    .bind(tenant_id)
    .bind(record.id)
    .fetch_all(&mut *conn)
    .await?;

    // Expiry is evaluated on every read, before the sweeper gets to it.
    let mut status = record.status;
    if status == "active" && record.expires_at <= now {
        status = "expired".to_string();
    }
    let mut hold = Hold {
        id: record.id,
        event_id: record.event_id,
        zone_id: record.zone_id,
        kind: record.kind,
        quantity: record.quantity,
        seats: seats
            .into_iter()
            .map(|(id, row, number)| HoldSeat {
                id,
                row,
                number,
                price_usd_cents: 0,
            })
            .collect(),
        unit_price_usd_cents: None,
        quoted_subtotal_usd_cents: 0,
        status,
        expires_at: record.expires_at,
        created_at: record.created_at,
    };
    quote_hold(conn, tenant_id, &mut hold, now).await?;
    Ok(hold)
}

async fn fetch_document(
    conn: &mut Conn,
    tenant_id: Uuid,
    document_id: Uuid,
) -> StoreResult<DocumentRecord> {
    let sql = format!("{DOCUMENT_SELECT} WHERE d.tenant_id = $1 AND d.id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(document_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("fiscal document"))
}

async fn order_view(
    conn: &mut Conn,
    tenant_id: Uuid,
    order_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Order> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 AND id = $2");
    let record: OrderRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("order"))?;

    let lines = order_lines(conn, tenant_id, order_id, record.courtesy).await?;
    let payments: Vec<Payment> = sqlx::query_as(
        "SELECT id, method, currency, amount_cents, amount_bs_cents, applied_bs_cents, change_currency, change_cents, \
         rounding_bs_cents, bank_code, reference, payer_phone, payer_document, rate_scaled, igtf_basis_points, \
         igtf_base_cents, igtf_cents, igtf_bs_cents, created_at \
         FROM payments WHERE tenant_id = $1 AND order_id = $2 ORDER BY id",
    )
    .bind(tenant_id)
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;

    let invoice = match record.invoice_id {
        Some(id) => Some(fetch_document(conn, tenant_id, id).await?.summary()),
        None => None,
    };
    let credit_note = match record.credit_note_id {
        Some(id) => Some(fetch_document(conn, tenant_id, id).await?.summary()),
        None => None,
    };
    let fiscal_status = fiscal_status(
        conn,
        tenant_id,
        order_id,
        &record.status,
        invoice.is_some(),
        credit_note.is_some(),
    )
    .await?;
    let discount_code: Option<String> = match record.discount_code_id {
        Some(id) => {
            sqlx::query_scalar("SELECT code FROM discount_codes WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let taxes: Vec<TaxTotal> = serde_json::from_str(&record.taxes)
        .map_err(|error| StoreError::Internal(format!("order taxes: {error}")))?;

    let mut status = record.status;
    if status == "pending" && record.payment_deadline <= now {
        status = "expired".to_string();
    }
    let balance_bs_cents = if status == "pending" {
        (record.total_bs_cents - record.paid_bs_cents).max(0)
    } else {
        0
    };
    let rate = ExchangeRate::from_scaled(record.rate_scaled)
        .map_err(|error| StoreError::Internal(error.to_string()))?;
    Ok(Order {
        id: record.id,
        hold_id: record.hold_id,
        customer_id: record.customer_id,
        event_id: record.event_id,
        status,
        exchange_rate: RateUsed {
            id: record.rate_id,
            rate: rate.to_string(),
            rate_scaled: record.rate_scaled,
            effective_date: record.rate_effective_date,
            source: record.rate_source,
        },
        exempt_usd_cents: lines
            .iter()
            .filter(|line| line.exempt)
            .map(|line| line.total_usd_cents)
            .sum(),
        exempt_bs_cents: lines
            .iter()
            .filter(|line| line.exempt)
            .map(|line| line.total_bs_cents)
            .sum(),
        igtf_usd_cents: record.igtf_usd_cents,
        igtf_bs_cents: record.igtf_bs_cents,
        courtesy: record.courtesy,
        discount_code,
        lines,
        taxes,
        subtotal_usd_cents: record.subtotal_usd_cents,
        tax_usd_cents: record.tax_usd_cents,
        total_usd_cents: record.total_usd_cents,
        subtotal_bs_cents: record.subtotal_bs_cents,
        tax_bs_cents: record.tax_bs_cents,
        total_bs_cents: record.total_bs_cents,
        paid_bs_cents: record.paid_bs_cents,
        balance_bs_cents,
        balance_usd_cents: rate.bs_to_usd_ceil(balance_bs_cents).unwrap_or(0),
        rounding_bs_cents: record.rounding_bs_cents,
        payment_deadline: record.payment_deadline,
        payments,
        invoice,
        credit_note,
        fiscal_status,
        created_at: record.created_at,
        completed_at: record.completed_at,
        stage_transitions: Vec::new(),
    })
}

/// The order a fully paid payment completes, and who issues its invoice.
struct Completion<'a> {
    order_id: Uuid,
    hold_id: Uuid,
    tickets: &'a [NewTicket],
    issued_by: Uuid,
    /// The number an offline sale printed; the invoice takes it instead of the next one.
    reserved: Option<&'a ReservedNumber>,
    /// Inside a whole sale: what it read, and the order as it will read after commit.
    sale: Option<SaleStep<'a>>,
}

/// The order a payment is for, and the number an offline sale printed.
struct PaymentTarget<'a> {
    order_id: Uuid,
    reserved: Option<&'a ReservedNumber>,
    /// Inside a whole sale: what it read, and the order as paid so far.
    sale: Option<SaleStep<'a>>,
}

/// A whole sale's context, and its order as this transaction has written it.
/// No other transaction can see the new order row, so the payment and
/// completion steps update this copy instead of locking and rereading the
/// row. The completion writes the final totals.
struct SaleStep<'a> {
    sale: &'a WholeSale,
    order: Order,
}

/// The event fields that decide whether and how its zones sell.
#[derive(FromRow, Clone)]
struct EventTerms {
    status: String,
    sale_starts_at: Option<DateTime<Utc>>,
    sale_ends_at: Option<DateTime<Utc>>,
    hold_minutes: i64,
    payment_minutes: i64,
    venue_id: Uuid,
    pinned_rate_id: Option<Uuid>,
}

/// The hold, zone and event that the hold step of a whole sale (quick or
/// offline) read and checked. The order and payment steps of the same
/// transaction take them from here instead of reading and locking them again.
/// Nothing else can see the hold before commit, and any failure rolls the
/// whole sale back. The fiscal day is checked once, under the tenant row lock, when the
/// invoice is numbered.
struct SaleHold {
    record: HoldRecord,
    zone: ZoneRecord,
    terms: EventTerms,
}

/// The buyer and issuer an invoice names, and the issuer's IGTF terms, read
/// in one statement.
#[derive(FromRow)]
struct InvoiceParties {
    buyer_document: Option<String>,
    buyer_first_name: String,
    buyer_last_name: String,
    issuer_name: String,
    issuer_rif: String,
    issuer_address: String,
    igtf_enabled: bool,
    igtf_basis_points: i64,
    igtf_methods: String,
}

/// Reads the parties of an invoice to `customer_id`; `None` when the tenant
/// has no such customer.
async fn invoice_parties(
    conn: &mut Conn,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> StoreResult<Option<InvoiceParties>> {
    sqlx::query_as(
        "SELECT c.document AS buyer_document, c.first_name AS buyer_first_name, \
         c.last_name AS buyer_last_name, t.name AS issuer_name, t.rif AS issuer_rif, \
         t.fiscal_address AS issuer_address, t.igtf_enabled, t.igtf_basis_points, t.igtf_methods \
         FROM customers c JOIN tenants t ON t.id = c.tenant_id \
         WHERE c.tenant_id = $1 AND c.id = $2",
    )
    .bind(tenant_id)
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from)
}

/// The hold, zone and event of a whole sale's hold step (quick or offline),
/// with the invoice's parties and series, read before its order. Its order
/// and payment steps take them from here.
struct WholeSale {
    hold: SaleHold,
    parties: InvoiceParties,
    series: SeriesRecord,
}

/// Reads the sale terms of an event, without locking its row.
// NOTE: on PostgreSQL a sale that read the event as active still completes
// after a close or cancel commits. Locking the row here would order the two.
async fn event_terms(conn: &mut Conn, tenant_id: Uuid, event_id: Uuid) -> StoreResult<EventTerms> {
    sqlx::query_as(
        "SELECT status, sale_starts_at, sale_ends_at, hold_minutes, payment_minutes, venue_id, pinned_rate_id \
         FROM events WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(event_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from)
}

/// A zone and the sale terms of its event.
#[derive(FromRow)]
struct ZoneTerms {
    #[sqlx(flatten)]
    zone: ZoneRecord,
    #[sqlx(flatten)]
    terms: EventTerms,
}

/// Reads a zone and its event's sale terms in one statement, without locks.
async fn zone_terms(conn: &mut Conn, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<ZoneTerms> {
    sqlx::query_as(
        "SELECT z.id, z.event_id, z.name, z.kind, z.capacity, z.price_usd_cents, z.entries_per_ticket, \
         z.sold, z.held, z.row_markup_basis_points, z.table_mode, z.tax_exempt, z.created_at, \
         e.status, e.sale_starts_at, e.sale_ends_at, e.hold_minutes, e.payment_minutes, e.venue_id, \
         e.pinned_rate_id \
         FROM zones z JOIN events e ON e.tenant_id = z.tenant_id AND e.id = z.event_id \
         WHERE z.tenant_id = $1 AND z.id = $2",
    )
    .bind(tenant_id)
    .bind(zone_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("zone"))
}

/// Returns the series an order's invoice takes: the series of the number an
/// offline sale printed, else the one named by `code` or the default.
async fn order_series(
    conn: &mut Conn,
    tenant_id: Uuid,
    reserved: Option<&ReservedNumber>,
    code: Option<&str>,
) -> StoreResult<SeriesRecord> {
    if let Some(reserved) = reserved {
        return series_by_id(conn, tenant_id, reserved.series_id).await;
    }
    let series = resolve_series(conn, tenant_id, "invoice", code).await?;
    // Numbers of an offline series belong to the terminals' blocks.
    if series.adapter == "offline" {
        return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
            "series",
            "series_offline_only",
        )));
    }
    Ok(series)
}

/// Builds the printable content of an invoice: issuer, buyer, lines (exempt
/// lines marked « (E)»), base and tax per rate, totals in both currencies and
/// the rate used.
fn invoice_content(parties: &InvoiceParties, order: &Order) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = order
        .lines
        .iter()
        .map(|line| {
            let exempt = line.exempt;
            let mut description = line.description.clone();
            if line.courtesy {
                description.push_str(" (cortesía)");
            }
            if exempt {
                description.push_str(" (E)");
            }
            json!({
                "description": description,
                "quantity": line.quantity,
                "unit_price_usd_cents": line.unit_price_usd_cents,
                "total_usd_cents": line.total_usd_cents,
                "total_bs_cents": line.total_bs_cents,
                "exempt": exempt,
                "courtesy": line.courtesy,
                "price": line.price,
            })
        })
        .collect();
    let payments: Vec<serde_json::Value> = order
        .payments
        .iter()
        .map(|payment| {
            json!({
                "method": payment.method,
                "currency": payment.currency,
                "amount_cents": payment.amount_cents,
                "igtf_cents": payment.igtf_cents,
            })
        })
        .collect();
    let igtf_base_usd_cents: i64 = order
        .payments
        .iter()
        .map(|payment| payment.igtf_base_cents)
        .sum();
    // IGTF is shown apart from IVA, on the foreign-currency part paid, at
    // the rate each payment was charged (one rate unless it changed mid-order).
    let mut igtf_rates: Vec<i64> = order
        .payments
        .iter()
        .filter(|payment| payment.igtf_cents > 0)
        .map(|payment| payment.igtf_basis_points)
        .collect();
    igtf_rates.sort_unstable();
    igtf_rates.dedup();
    let igtf = (order.igtf_usd_cents > 0).then(|| {
        json!({
            "rate_basis_points": (igtf_rates.len() == 1).then(|| igtf_rates[0]),
            "rates_basis_points": igtf_rates,
            "base_usd_cents": igtf_base_usd_cents,
            "igtf_usd_cents": order.igtf_usd_cents,
            "igtf_bs_cents": order.igtf_bs_cents,
        })
    });
    json!({
        "issuer": {
            "name": parties.issuer_name,
            "rif": parties.issuer_rif,
            "fiscal_address": parties.issuer_address,
        },
        "buyer": {
            "name": format!("{} {}", parties.buyer_first_name, parties.buyer_last_name),
            "document": parties.buyer_document,
        },
        "lines": lines,
        "taxes": order.taxes,
        "subtotal_usd_cents": order.subtotal_usd_cents,
        "tax_usd_cents": order.tax_usd_cents,
        "total_usd_cents": order.total_usd_cents,
        "subtotal_bs_cents": order.subtotal_bs_cents,
        "tax_bs_cents": order.tax_bs_cents,
        "total_bs_cents": order.total_bs_cents,
        "exempt_usd_cents": order.exempt_usd_cents,
        "exempt_bs_cents": order.exempt_bs_cents,
        "igtf": igtf,
        "total_with_igtf_usd_cents": order.total_usd_cents + order.igtf_usd_cents,
        "total_with_igtf_bs_cents": order.total_bs_cents + order.igtf_bs_cents,
        "exchange_rate": order.exchange_rate,
        "payments": payments,
        "copy_legend": "Copia: sin derecho a crédito fiscal",
    })
}

impl Backend {
    async fn zone_record(
        &self,
        conn: &mut Conn,
        tenant_id: Uuid,
        zone_id: Uuid,
    ) -> StoreResult<ZoneRecord> {
        sqlx::query_as(
            "SELECT id, event_id, name, kind, capacity, price_usd_cents, entries_per_ticket, sold, held, \
             row_markup_basis_points, table_mode, tax_exempt, created_at \
             FROM zones WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(zone_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("zone"))
    }

    async fn zone_view(
        &self,
        conn: &mut Conn,
        tenant_id: Uuid,
        record: ZoneRecord,
    ) -> StoreResult<Zone> {
        let rows: Vec<(String, i64)> = if record.kind == "numbered" {
            sqlx::query_as(
                "SELECT row_label, COUNT(*) FROM seats WHERE tenant_id = $1 AND zone_id = $2 \
                 GROUP BY row_index, row_label ORDER BY row_index",
            )
            .bind(tenant_id)
            .bind(record.id)
            .fetch_all(&mut *conn)
            .await?
        } else {
            Vec::new()
        };
        Ok(Zone {
            id: record.id,
            event_id: record.event_id,
            name: record.name,
            kind: record.kind,
            capacity: record.capacity,
            price_usd_cents: record.price_usd_cents,
            entries_per_ticket: record.entries_per_ticket,
            row_markup_basis_points: record.row_markup_basis_points,
            table_mode: record.table_mode,
            tax_exempt: record.tax_exempt,
            rows: rows
                .into_iter()
                .map(|(label, seats)| ZoneRow { label, seats })
                .collect(),
            created_at: record.created_at,
        })
    }

    async fn create_hold_once(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        request: &NewHold,
    ) -> StoreResult<Idempotent<Hold>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let result = self
            .create_hold_in(&mut tx, tenant_id, principal_id, idempotency, request, now)
            .await?;
        if let Idempotent::Fresh(_) = &result {
            tx.commit().await?;
        }
        Ok(result)
    }

    /// Holds seats or units in the caller's transaction (see [`Self::create_hold_once`]).
    async fn create_hold_in(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        request: &NewHold,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<Hold>> {
        if let Some(key) = idempotency
            && let Claim::Replay { status_code, body } =
                claim_key(tx.conn(), tenant_id, key, now).await?
        {
            return Ok(Idempotent::Replay { status_code, body });
        }

        // Rejects a cashier whose day is closed before anything is held. The
        // payment checks again under a lock.
        if day_closed(tx.conn(), tenant_id, principal_id, now).await? {
            return Err(StoreError::conflict_with(
                "fiscal_day_closed",
                json!({ "fiscal_day": caracas_date(now) }),
            ));
        }
        let (mut hold, _) = self
            .take_hold(tx, tenant_id, principal_id, request, false, now)
            .await?;
        quote_hold(tx.conn(), tenant_id, &mut hold, now).await?;
        if let Some(key) = idempotency {
            save_key_response(tx.conn(), tenant_id, key, 201, &hold).await?;
        }
        Ok(Idempotent::Fresh(hold))
    }

    /// Takes the seats or units of `request` and records the hold, without
    /// quoting it. Returns the hold and what was read to check it.
    ///
    /// A whole sale sets `converts`: its hold becomes an order and is
    /// converted in this transaction or rolled back, so it is written as
    /// converted and general-admission units go straight to sold.
    async fn take_hold(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        principal_id: Uuid,
        request: &NewHold,
        converts: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<(Hold, SaleHold)> {
        let ZoneTerms { zone, terms } = zone_terms(tx.conn(), tenant_id, request.zone_id).await?;
        if terms.status != "active" {
            return Err(StoreError::conflict_with(
                "event_not_on_sale",
                json!({ "status": terms.status }),
            ));
        }
        let before_window = terms.sale_starts_at.is_some_and(|starts| now < starts);
        let after_window = terms.sale_ends_at.is_some_and(|ends| now >= ends);
        if before_window || after_window {
            return Err(StoreError::conflict_with(
                "sale_window_closed",
                json!({ "sale_starts_at": terms.sale_starts_at, "sale_ends_at": terms.sale_ends_at }),
            ));
        }

        let hold_id = Uuid::now_v7();
        let expires_at = now + chrono::Duration::minutes(terms.hold_minutes);
        let mut held_seats = Vec::new();
        let quantity = if zone.kind == "general_admission" {
            if !request.seat_ids.is_empty() {
                return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                    "seat_ids",
                    "not_allowed_for_general_admission",
                )));
            }
            self.take_general_admission(tx, tenant_id, &zone, request.quantity, converts, now)
                .await?;
            request.quantity
        } else {
            if request.seat_ids.is_empty() {
                return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                    "seat_ids",
                    "required_for_numbered_zone",
                )));
            }
            // A zone that sells tables whole refuses part of a table here, not only in the UI.
            if zone.table_mode == "complete_only" {
                check_complete_tables(tx.conn(), tenant_id, zone.id, &request.seat_ids).await?;
            }
            held_seats = self
                .take_seats(
                    tx,
                    tenant_id,
                    &zone,
                    hold_id,
                    &request.seat_ids,
                    expires_at,
                    now,
                )
                .await?;
            request.seat_ids.len() as i64
        };

        let status = if converts { "converted" } else { "active" };
        sqlx::query(
            "INSERT INTO holds (tenant_id, id, event_id, zone_id, kind, quantity, status, expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant_id)
        .bind(hold_id)
        .bind(zone.event_id)
        .bind(zone.id)
        .bind(&zone.kind)
        .bind(quantity)
        .bind(status)
        .bind(expires_at)
        .bind(principal_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
        if !request.seat_ids.is_empty() {
            let mut insert =
                QueryBuilder::<Db>::new("INSERT INTO hold_seats (tenant_id, hold_id, seat_id) ");
            insert.push_values(&request.seat_ids, |mut row, seat_id| {
                row.push_bind(tenant_id)
                    .push_bind(hold_id)
                    .push_bind(*seat_id);
            });
            insert.build().execute(tx.conn()).await?;
        }

        // Built from what this transaction wrote, without reading it back.
        let hold = Hold {
            id: hold_id,
            event_id: zone.event_id,
            zone_id: zone.id,
            kind: zone.kind.clone(),
            quantity,
            seats: held_seats,
            unit_price_usd_cents: None,
            quoted_subtotal_usd_cents: 0,
            status: status.to_string(),
            expires_at,
            created_at: now,
        };
        let record = HoldRecord {
            id: hold_id,
            event_id: zone.event_id,
            zone_id: zone.id,
            kind: zone.kind.clone(),
            quantity,
            status: status.to_string(),
            expires_at,
            created_at: now,
        };
        Ok((
            hold,
            SaleHold {
                record,
                zone,
                terms,
            },
        ))
    }

    /// Reserves `quantity` units of a general-admission zone, or sells them
    /// when `sell` is set. One conditional update takes the units only if
    /// sold + held + quantity stays within capacity. When it fails, the zone
    /// is locked, its expired holds are ended and the update is tried again.
    async fn take_general_admission(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        zone: &ZoneRecord,
        quantity: i64,
        sell: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Units of expired holds that are not ended yet still count as held.
        if take_units(tx.conn(), tenant_id, zone.id, quantity, sell).await? {
            return Ok(());
        }
        lock_zone(tx.conn(), tenant_id, zone.id).await?;
        let expired: Vec<HoldRecord> = sqlx::query_as(
            "SELECT id, event_id, zone_id, kind, quantity, status, expires_at, created_at FROM holds \
             WHERE tenant_id = $1 AND zone_id = $2 AND status = 'active' AND expires_at <= $3",
        )
        .bind(tenant_id)
        .bind(zone.id)
        .bind(now)
        .fetch_all(tx.conn())
        .await?;
        for hold in &expired {
            end_hold(tx.conn(), tenant_id, hold, "expired", now).await?;
        }
        if take_units(tx.conn(), tenant_id, zone.id, quantity, sell).await? {
            return Ok(());
        }

        let (capacity, sold, held): (i64, i64, i64) = sqlx::query_as(
            "SELECT capacity, sold, held FROM zones WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(zone.id)
        .fetch_one(tx.conn())
        .await?;
        Err(StoreError::conflict_with(
            "insufficient_capacity",
            json!({ "requested": quantity, "available": (capacity - sold - held).max(0) }),
        ))
    }

    /// Takes numbered seats in ascending id order, each with a conditional
    /// update that succeeds only on an available seat or one whose hold expired.
    #[expect(
        clippy::too_many_arguments,
        reason = "one transaction step with its full context"
    )]
    async fn take_seats(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        zone: &ZoneRecord,
        hold_id: Uuid,
        seat_ids: &[Uuid],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<HoldSeat>> {
        let mut unavailable = Vec::new();
        let mut taken_seats: Vec<(i64, i64, HoldSeat)> = Vec::new();
        // Every buyer locks seats in ascending id order, so two holds over the
        // same seats cannot deadlock, whatever order the caller gave.
        let mut ordered = seat_ids.to_vec();
        ordered.sort_unstable();
        for seat_id in &ordered {
            let taken: Option<(i64, String, i64)> = sqlx::query_as(
                "UPDATE seats SET status = 'held', hold_id = $4, hold_expires_at = $5 \
                 WHERE tenant_id = $1 AND zone_id = $2 AND id = $3 \
                 AND (status = 'available' OR (status = 'held' AND hold_expires_at <= $6)) \
                 RETURNING row_index, row_label, number",
            )
            .bind(tenant_id)
            .bind(zone.id)
            .bind(*seat_id)
            .bind(hold_id)
            .bind(expires_at)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            match taken {
                Some((row_index, row, number)) => taken_seats.push((
                    row_index,
                    number,
                    HoldSeat {
                        id: *seat_id,
                        row,
                        number,
                        price_usd_cents: 0,
                    },
                )),
                None => unavailable.push(*seat_id),
            }
        }
        if unavailable.is_empty() {
            // Seat-map order, as the hold is shown.
            taken_seats.sort_by_key(|(row_index, number, _)| (*row_index, *number));
            return Ok(taken_seats.into_iter().map(|(_, _, seat)| seat).collect());
        }

        let mut query =
            QueryBuilder::<Db>::new("SELECT id, row_label, number FROM seats WHERE tenant_id = ");
        query
            .push_bind(tenant_id)
            .push(" AND zone_id = ")
            .push_bind(zone.id)
            .push(" AND id IN (");
        let mut separated = query.separated(", ");
        for seat_id in &unavailable {
            separated.push_bind(*seat_id);
        }
        query.push(") ORDER BY row_index, number");
        let known: Vec<(Uuid, String, i64)> = query.build_query_as().fetch_all(tx.conn()).await?;
        if known.len() < unavailable.len() {
            let unknown: Vec<Uuid> = unavailable
                .iter()
                .filter(|id| !known.iter().any(|(known_id, _, _)| known_id == *id))
                .copied()
                .collect();
            return Err(StoreError::conflict_with(
                "seat_not_found",
                json!({ "seat_ids": unknown }),
            ));
        }
        let seats: Vec<serde_json::Value> = known
            .into_iter()
            .map(|(id, row, number)| json!({ "id": id, "row": row, "number": number }))
            .collect();
        Err(StoreError::conflict_with(
            "seats_unavailable",
            json!({ "seats": seats }),
        ))
    }

    /// Locks the hold an order is created for, so two orders for one hold
    /// are serialised and the second finds the first. Rejects a hold that is
    /// no longer active, has expired or already has an order.
    async fn lock_hold_for_order(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        hold_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord> {
        sqlx::query("UPDATE holds SET status = status WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(hold_id)
            .execute(tx.conn())
            .await?;
        let hold = fetch_hold(tx.conn(), tenant_id, hold_id).await?;
        if hold.status != "active" {
            return Err(StoreError::conflict_with(
                "hold_not_active",
                json!({ "status": hold.status }),
            ));
        }
        if hold.expires_at <= now {
            return Err(StoreError::conflict_with(
                "hold_expired",
                json!({ "expired_at": hold.expires_at }),
            ));
        }
        let existing: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM orders WHERE tenant_id = $1 AND hold_id = $2")
                .bind(tenant_id)
                .bind(hold.id)
                .fetch_optional(tx.conn())
                .await?;
        if let Some((order_id,)) = existing {
            return Err(StoreError::conflict_with(
                "hold_already_ordered",
                json!({ "order_id": order_id }),
            ));
        }
        Ok(hold)
    }

    async fn create_order_once(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        request: &NewOrder,
    ) -> StoreResult<Idempotent<Order>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let result = self
            .create_order_in(
                &mut tx,
                tenant_id,
                principal_id,
                idempotency,
                request,
                None,
                None,
                now,
            )
            .await?;
        if let Idempotent::Fresh(_) = &result {
            tx.commit().await?;
        }
        Ok(result)
    }

    /// Creates an order in the caller's transaction (see [`Self::create_order_once`]).
    /// `reserved` is the number an offline sale already printed.
    #[allow(clippy::too_many_arguments)]
    async fn create_order_in(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        request: &NewOrder,
        reserved: Option<&ReservedNumber>,
        sale: Option<&WholeSale>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<Order>> {
        if let Some(key) = idempotency
            && let Claim::Replay { status_code, body } =
                claim_key(tx.conn(), tenant_id, key, now).await?
        {
            return Ok(Idempotent::Replay { status_code, body });
        }

        // Lock the hold first: two orders for one hold are serialised, and the
        // second finds the first.
        // The series is fixed now, so the invoice later needs no lookup by code.
        let invoice_series = match sale {
            Some(sale) => sale.series.clone(),
            None => order_series(tx.conn(), tenant_id, reserved, request.series.as_deref()).await?,
        };
        // A whole sale took its hold in this transaction, so the hold is
        // active, unexpired and has no order.
        let hold = match sale {
            Some(sale) => sale.hold.record.clone(),
            None => {
                self.lock_hold_for_order(tx, tenant_id, request.hold_id, now)
                    .await?
            }
        };
        let document = match sale {
            Some(sale) => sale.parties.buyer_document.clone(),
            None => {
                let customer_document: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT document FROM customers WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id)
                .bind(request.customer_id)
                .fetch_optional(tx.conn())
                .await?;
                let Some((document,)) = customer_document else {
                    return Err(StoreError::NotFound("customer"));
                };
                document
            }
        };
        // The invoice must name the buyer's cédula or RIF.
        if document.is_none() {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "customer_id",
                "customer_document_required",
            )));
        }

        let (zone, terms) = match sale {
            Some(sale) => (sale.hold.zone.clone(), sale.hold.terms.clone()),
            None => (
                self.zone_record(tx.conn(), tenant_id, hold.zone_id).await?,
                event_terms(tx.conn(), tenant_id, hold.event_id).await?,
            ),
        };
        let EventTerms {
            status: event_status,
            payment_minutes,
            venue_id,
            pinned_rate_id,
            ..
        } = terms;
        if event_status != "active" {
            return Err(StoreError::conflict_with(
                "event_not_on_sale",
                json!({ "status": event_status }),
            ));
        }

        // The order's rate: the event's pinned rate, else the latest
        // non-superseded rate effective on or before today in Caracas.
        let today = caracas_date(now);
        let rate: Option<(Uuid, i64, chrono::NaiveDate, String)> = match pinned_rate_id {
            // A pinned rate corrected later is followed to its correction: the
            // current rate of the same currency and effective date.
            Some(pinned) => sqlx::query_as(
                "SELECT r.id, r.rate_scaled, r.effective_date, r.source FROM exchange_rates r \
                 JOIN exchange_rates p ON p.tenant_id = r.tenant_id AND p.currency = r.currency \
                 AND p.effective_date = r.effective_date \
                 WHERE p.tenant_id = $1 AND p.id = $2 AND r.superseded = $3",
            )
            .bind(tenant_id)
            .bind(pinned)
            .bind(false)
            .fetch_optional(tx.conn())
            .await?,
            None => sqlx::query_as(
                "SELECT id, rate_scaled, effective_date, source FROM exchange_rates \
                 WHERE tenant_id = $1 AND currency = 'USD' AND superseded = $2 AND effective_date <= $3 \
                 ORDER BY effective_date DESC, id DESC LIMIT 1",
            )
            .bind(tenant_id)
            .bind(false)
            .bind(today)
            .fetch_optional(tx.conn())
            .await?,
        };
        let Some((rate_id, rate_scaled, rate_date, rate_source)) = rate else {
            return Err(StoreError::conflict_with(
                "exchange_rate_missing",
                json!({ "date": today }),
            ));
        };
        let rate = ExchangeRate::from_scaled(rate_scaled)
            .map_err(|error| StoreError::Internal(error.to_string()))?;

        // A courtesy is priced at 0 as a 100 % discount, so its breakdown still
        // shows the list price; a discount code is counted atomically.
        if request.courtesy && request.discount_code.is_some() {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "discount_code",
                "not_allowed_with_courtesy",
            )));
        }
        // Units are priced through the stages; a courtesy takes no stage units.
        let (chunks, stage_transitions) = if request.courtesy {
            (
                vec![StageChunk {
                    stage: None,
                    units: hold.quantity,
                }],
                Vec::new(),
            )
        } else {
            take_stage_units(
                tx.conn(),
                tenant_id,
                hold.event_id,
                zone.id,
                hold.quantity,
                now,
            )
            .await?
        };
        // The code is counted after the stage units: every path locks stages
        // before discount codes (cancel and expiry give them back in that
        // order), so the two cannot deadlock.
        let mut discount_code_id = None;
        let discount = if request.courtesy {
            Some(Modifier::Percent {
                basis_points: -10_000,
            })
        } else if let Some(code) = &request.discount_code {
            let taken: Option<(Uuid, String, i64)> = sqlx::query_as(
                "UPDATE discount_codes SET uses = uses + 1 \
                 WHERE tenant_id = $1 AND event_id = $2 AND code = $3 AND active = $4 AND uses < max_uses \
                 RETURNING id, modifier_kind, modifier_value",
            )
            .bind(tenant_id)
            .bind(hold.event_id)
            .bind(code)
            .bind(true)
            .fetch_optional(tx.conn())
            .await?;
            let Some((id, kind, value)) = taken else {
                return Err(StoreError::conflict_with(
                    "discount_code_unavailable",
                    json!({ "code": code }),
                ));
            };
            discount_code_id = Some(id);
            Some(modifier_from_columns(&kind, value))
        } else {
            None
        };

        let mut unit_stages = chunks
            .iter()
            .flat_map(|chunk| std::iter::repeat_n(chunk.stage, chunk.units as usize));

        let price_of = |stage: Option<(Uuid, Modifier)>, row_markup: i64, seat_modifier: i64| {
            unit_price(&PriceInputs {
                base_usd_cents: zone.price_usd_cents,
                stage: stage.map(|(_, modifier)| modifier),
                row_markup_basis_points: row_markup,
                seat_modifier_usd_cents: seat_modifier,
                discount,
            })
            .map_err(|_| {
                StoreError::Invalid(taquilla_domain::FieldError::new("hold_id", "too_large"))
            })
        };

        // One line per seat, or one line per stage for a general-admission quantity.
        let mut lines: Vec<PlannedLine> = Vec::new();
        if zone.kind == "numbered" {
            let seats: Vec<(Uuid, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT s.id, s.row_label, s.number, s.price_modifier_usd_cents, \
                 COALESCE(m.basis_points, z.row_markup_basis_points) \
                 FROM hold_seats h JOIN seats s ON s.tenant_id = h.tenant_id AND s.id = h.seat_id \
                 JOIN zones z ON z.tenant_id = s.tenant_id AND z.id = s.zone_id \
                 LEFT JOIN zone_row_markups m ON m.tenant_id = s.tenant_id AND m.zone_id = s.zone_id AND m.row_index = s.row_index \
                 WHERE h.tenant_id = $1 AND h.hold_id = $2 ORDER BY s.row_index, s.number",
            )
            .bind(tenant_id)
            .bind(hold.id)
            .fetch_all(tx.conn())
            .await?;
            for (seat_id, row, number, seat_modifier, row_markup) in seats {
                let stage = unit_stages.next().flatten();
                lines.push(PlannedLine {
                    seat_id: Some(seat_id),
                    description: format!("{} — fila {row}, asiento {number}", zone.name),
                    quantity: 1,
                    stage_id: stage.map(|(id, _)| id),
                    price: price_of(stage, row_markup, seat_modifier)?,
                });
            }
        } else {
            for chunk in &chunks {
                lines.push(PlannedLine {
                    seat_id: None,
                    description: format!("{} — entrada general", zone.name),
                    quantity: chunk.units,
                    stage_id: chunk.stage.map(|(id, _)| id),
                    price: price_of(chunk.stage, 0, 0)?,
                });
            }
        }

        let rules = rules_in_force(tx.conn(), tenant_id, venue_id, hold.event_id).await?;
        let taxed: Vec<TaxedLine> = lines
            .iter()
            .map(|line| TaxedLine {
                quantity: line.quantity,
                unit_price_usd_cents: line.price.unit_price_usd_cents,
                exempt: zone.tax_exempt,
            })
            .collect();
        let totals =
            compute_document_totals(&taxed, &rules, rate).map_err(|error| match error {
                TotalsError::Overflow => {
                    StoreError::Invalid(taquilla_domain::FieldError::new("hold_id", "too_large"))
                }
                TotalsError::Negative => StoreError::Internal(error.to_string()),
            })?;
        let taxes: Vec<TaxTotal> = totals.rules.iter().map(tax_total).collect();
        // The IVA rate shown on a line: its first percentage IVA rule.
        let iva_of_line = |rule_keys: &[String]| -> Option<i64> {
            rules
                .iter()
                .find_map(|rule| match (rule.category, rule.kind) {
                    (TaxCategory::Iva, TaxKind::Percentage { basis_points })
                        if rule_keys.contains(&rule.key) =>
                    {
                        Some(basis_points)
                    }
                    _ => None,
                })
        };

        // Payment has started: the hold now lives until the payment deadline.
        let deadline = (now + chrono::Duration::minutes(payment_minutes)).max(hold.expires_at);
        // A whole sale completes or rolls back in this transaction, so its
        // hold needs no extension.
        if sale.is_none() {
            let extended = sqlx::query(
                "UPDATE holds SET expires_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'active' AND expires_at > $4",
            )
            .bind(tenant_id)
            .bind(hold.id)
            .bind(deadline)
            .bind(now)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if extended == 0 {
                return Err(StoreError::conflict("hold_expired"));
            }
            if zone.kind == "numbered" {
                let seats_extended = sqlx::query(
                    "UPDATE seats SET hold_expires_at = $3 WHERE tenant_id = $1 AND hold_id = $2 AND status = 'held'",
                )
                .bind(tenant_id)
                .bind(hold.id)
                .bind(deadline)
                .execute(tx.conn())
                .await?
                .rows_affected();
                if seats_extended != hold.quantity as u64 {
                    return Err(StoreError::conflict("hold_expired"));
                }
            }
        }

        let order_id = Uuid::now_v7();
        let taxes_json = serde_json::to_string(&taxes)
            .map_err(|error| StoreError::Internal(error.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO orders (tenant_id, id, hold_id, customer_id, event_id, status, rate_id, rate_scaled, rate_effective_date, \
             subtotal_usd_cents, tax_usd_cents, total_usd_cents, subtotal_bs_cents, tax_bs_cents, total_bs_cents, taxes, \
             payment_deadline, created_by, created_at, courtesy, discount_code_id, rate_source, invoice_series_id) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(hold.id)
        .bind(request.customer_id)
        .bind(hold.event_id)
        .bind(rate_id)
        .bind(rate_scaled)
        .bind(rate_date)
        .bind(totals.subtotal_usd_cents)
        .bind(totals.tax_usd_cents)
        .bind(totals.total_usd_cents)
        .bind(totals.subtotal_bs_cents)
        .bind(totals.tax_bs_cents)
        .bind(totals.total_bs_cents)
        .bind(taxes_json)
        .bind(deadline)
        .bind(principal_id)
        .bind(now)
        .bind(request.courtesy)
        .bind(discount_code_id)
        .bind(&rate_source)
        .bind(invoice_series.id)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict("hold_already_ordered"));
            }
            return Err(error.into());
        }

        let order_lines: Vec<OrderLine> = lines
            .into_iter()
            .zip(&totals.lines)
            .enumerate()
            .map(|(index, (line, line_totals))| OrderLine {
                line_number: index as i64 + 1,
                zone_id: zone.id,
                seat_id: line.seat_id,
                description: line.description,
                quantity: line.quantity,
                unit_price_usd_cents: line.price.unit_price_usd_cents,
                total_usd_cents: line_totals.total_usd_cents,
                total_bs_cents: line_totals.total_bs_cents,
                tax_basis_points: iva_of_line(&line_totals.rule_keys),
                stage_id: line.stage_id,
                price: Some(line.price),
                exempt: line_totals.exempt,
                courtesy: request.courtesy,
                tax_rules: line_totals.rule_keys.clone(),
            })
            .collect();
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO order_lines (tenant_id, order_id, line_number, zone_id, seat_id, description, quantity, \
             unit_price_usd_cents, total_usd_cents, total_bs_cents, tax_basis_points, stage_id, price_breakdown, \
             tax_rules, exempt) ",
        );
        insert.push_values(&order_lines, |mut row, line| {
            row.push_bind(tenant_id)
                .push_bind(order_id)
                .push_bind(line.line_number)
                .push_bind(line.zone_id)
                .push_bind(line.seat_id)
                .push_bind(line.description.clone())
                .push_bind(line.quantity)
                .push_bind(line.unit_price_usd_cents)
                .push_bind(line.total_usd_cents)
                .push_bind(line.total_bs_cents)
                .push_bind(line.tax_basis_points)
                .push_bind(line.stage_id)
                .push_bind(serde_json::to_string(&line.price).unwrap_or_default())
                .push_bind(serde_json::to_string(&line.tax_rules).unwrap_or_default())
                .push_bind(line.exempt);
        });
        insert.build().execute(tx.conn()).await?;

        // Built from what this transaction wrote, without reading it back.
        let mut order = Order {
            id: order_id,
            hold_id: hold.id,
            customer_id: request.customer_id,
            event_id: hold.event_id,
            status: "pending".to_string(),
            exchange_rate: RateUsed {
                id: rate_id,
                rate: rate.to_string(),
                rate_scaled,
                effective_date: rate_date,
                source: rate_source,
            },
            lines: order_lines,
            taxes,
            subtotal_usd_cents: totals.subtotal_usd_cents,
            tax_usd_cents: totals.tax_usd_cents,
            total_usd_cents: totals.total_usd_cents,
            subtotal_bs_cents: totals.subtotal_bs_cents,
            tax_bs_cents: totals.tax_bs_cents,
            total_bs_cents: totals.total_bs_cents,
            exempt_usd_cents: totals.exempt_usd_cents,
            exempt_bs_cents: totals.exempt_bs_cents,
            igtf_usd_cents: 0,
            igtf_bs_cents: 0,
            courtesy: request.courtesy,
            discount_code: request.discount_code.clone(),
            paid_bs_cents: 0,
            balance_bs_cents: totals.total_bs_cents,
            balance_usd_cents: rate.bs_to_usd_ceil(totals.total_bs_cents).unwrap_or(0),
            rounding_bs_cents: 0,
            payment_deadline: deadline,
            payments: Vec::new(),
            invoice: None,
            credit_note: None,
            fiscal_status: "none".to_string(),
            created_at: now,
            completed_at: None,
            stage_transitions,
        };

        // An order with nothing to pay (a courtesy, a full discount) is complete at once.
        if totals.total_bs_cents == 0 {
            let stage_transitions = std::mem::take(&mut order.stage_transitions);
            let mut order = self
                .complete_order(
                    tx,
                    tenant_id,
                    Completion {
                        order_id,
                        hold_id: hold.id,
                        tickets: &request.tickets,
                        issued_by: principal_id,
                        reserved,
                        sale: sale.map(|sale| SaleStep { sale, order }),
                    },
                    now,
                )
                .await?;
            order.stage_transitions = stage_transitions;
            if let Some(key) = idempotency {
                save_key_response(tx.conn(), tenant_id, key, 201, &order).await?;
            }
            return Ok(Idempotent::Fresh(order));
        }

        if let Some(key) = idempotency {
            save_key_response(tx.conn(), tenant_id, key, 201, &order).await?;
        }
        Ok(Idempotent::Fresh(order))
    }

    async fn add_payment_once(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        order_id: Uuid,
        request: &NewPayment,
    ) -> StoreResult<Idempotent<PaymentOutcome>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let target = PaymentTarget {
            order_id,
            reserved: None,
            sale: None,
        };
        match self
            .add_payment_in(
                &mut tx,
                tenant_id,
                principal_id,
                idempotency,
                target,
                request,
                now,
            )
            .await
        {
            Ok(result) => {
                if let Idempotent::Fresh(_) = &result {
                    tx.commit().await?;
                }
                Ok(result)
            }
            // A payment after the deadline ends the order: that is kept.
            Err(
                error @ StoreError::Conflict {
                    code: "order_expired",
                    ..
                },
            ) => {
                tx.commit().await?;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Records a payment in the caller's transaction (see [`Self::add_payment_once`]).
    /// After `order_expired` the caller commits: the order's expiry is kept.
    #[allow(clippy::too_many_arguments)]
    async fn add_payment_in(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        target: PaymentTarget<'_>,
        request: &NewPayment,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<PaymentOutcome>> {
        let PaymentTarget {
            order_id,
            reserved,
            sale,
        } = target;
        if let Some(key) = idempotency
            && let Claim::Replay { status_code, body } =
                claim_key(tx.conn(), tenant_id, key, now).await?
        {
            return Ok(Idempotent::Replay { status_code, body });
        }

        // A cashier whose day is closed by a Z report takes no more money
        // today. This first check takes no lock. A completing payment checks
        // again under the tenant row lock when it issues the invoice, and a
        // partial one takes the day's row below. A whole sale relies on the
        // check at issuance alone, since it rolls back if it does not complete.
        if sale.is_none() && day_closed(tx.conn(), tenant_id, principal_id, now).await? {
            return Err(StoreError::conflict_with(
                "fiscal_day_closed",
                json!({ "fiscal_day": caracas_date(now) }),
            ));
        }

        // Lock the order row: payments of one order are serialised, so it is
        // never completed twice or overpaid. A whole sale's order is new in
        // this transaction, and its copy is current.
        let locked: Option<PaymentLock> = match &sale {
            Some(step) => Some(PaymentLock {
                status: step.order.status.clone(),
                total_bs_cents: step.order.total_bs_cents,
                paid_bs_cents: step.order.paid_bs_cents,
                rate_scaled: step.order.exchange_rate.rate_scaled,
                payment_deadline: step.order.payment_deadline,
                hold_id: step.order.hold_id,
                event_id: step.order.event_id,
            }),
            None => {
                sqlx::query_as(
                    "UPDATE orders SET paid_bs_cents = paid_bs_cents WHERE tenant_id = $1 AND id = $2 \
                     RETURNING status, total_bs_cents, paid_bs_cents, rate_scaled, payment_deadline, hold_id, event_id",
                )
                .bind(tenant_id)
                .bind(order_id)
                .fetch_optional(tx.conn())
                .await?
            }
        };
        let Some(PaymentLock {
            status,
            total_bs_cents: total_bs,
            paid_bs_cents: paid_bs,
            rate_scaled,
            payment_deadline: deadline,
            hold_id,
            event_id,
        }) = locked
        else {
            return Err(StoreError::NotFound("order"));
        };
        // A whole sale's hold step checked the event in this transaction.
        if sale.is_none() {
            let event_status: String =
                sqlx::query_scalar("SELECT status FROM events WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(event_id)
                    .fetch_one(tx.conn())
                    .await?;
            if event_status != "active" {
                return Err(StoreError::conflict_with(
                    "event_not_on_sale",
                    json!({ "status": event_status }),
                ));
            }
        }
        if status != "pending" {
            return Err(StoreError::conflict_with(
                "order_not_payable",
                json!({ "status": status }),
            ));
        }
        if deadline <= now {
            // The payment arrived too late: end the order and give its capacity back.
            let hold = fetch_hold(tx.conn(), tenant_id, hold_id).await?;
            end_hold(tx.conn(), tenant_id, &hold, "expired", now).await?;
            // The expiry is kept but this request had no effect of its own, so
            // its key is released: a retry gets the order's new status.
            if let Some(key) = idempotency {
                release_key(tx.conn(), tenant_id, key).await?;
            }
            return Err(StoreError::conflict_with(
                "order_expired",
                json!({ "payment_deadline": deadline }),
            ));
        }
        let rate = ExchangeRate::from_scaled(rate_scaled)
            .map_err(|error| StoreError::Internal(error.to_string()))?;

        let balance = total_bs - paid_bs;

        // IGTF applies when the tenant collects it: a foreign-currency payment
        // by a listed method pays it on top of the part applied to the order.
        // The tax never counts toward the balance.
        let (igtf_enabled, igtf_basis_points, igtf_methods): (bool, i64, String) = match &sale {
            Some(step) => {
                let parties = &step.sale.parties;
                (
                    parties.igtf_enabled,
                    parties.igtf_basis_points,
                    parties.igtf_methods.clone(),
                )
            }
            None => sqlx::query_as(
                "SELECT igtf_enabled, igtf_basis_points, igtf_methods FROM tenants WHERE id = $1",
            )
            .bind(tenant_id)
            .fetch_one(tx.conn())
            .await?,
        };
        let igtf_applies = igtf_enabled
            && request.currency == Currency::Usd
            && igtf_methods
                .split(',')
                .any(|method| method.trim() == request.method);
        let too_large = || {
            StoreError::Invalid(taquilla_domain::FieldError::new(
                "amount_cents",
                "too_large",
            ))
        };
        let (tendered, igtf_base, igtf_cents) = if igtf_applies {
            let ceiling = rate.bs_to_usd_ceil(balance).ok_or_else(too_large)?;
            let split =
                split_received(request.amount_cents, igtf_basis_points).ok_or_else(too_large)?;
            let base = split.base_cents.min(ceiling);
            let igtf = igtf_on(base, igtf_basis_points).ok_or_else(too_large)?;
            (request.amount_cents - igtf, base, igtf)
        } else {
            (request.amount_cents, 0, 0)
        };
        let igtf_bs = rate.usd_to_bs(igtf_cents).ok_or_else(too_large)?;

        // Convert the tendered amount and apply it to the balance, in Bs.
        let amount_bs = match request.currency {
            Currency::Ves => tendered,
            Currency::Usd => rate.usd_to_bs(tendered).ok_or_else(|| {
                StoreError::Invalid(taquilla_domain::FieldError::new(
                    "amount_cents",
                    "too_large",
                ))
            })?,
        };
        // Card, transfer and Pago Móvil give no change: they may pay the balance,
        // or in USD the balance rounded up to the cent, whose excess of less than
        // one cent is booked as rounding.
        let non_cash_limit_ok = match request.currency {
            Currency::Ves => tendered <= balance,
            Currency::Usd => rate
                .bs_to_usd_ceil(balance)
                .is_some_and(|ceiling| tendered <= ceiling),
        };
        if request.method != "cash" && !non_cash_limit_ok {
            return Err(StoreError::conflict_with(
                "amount_exceeds_balance",
                json!({ "balance_bs_cents": balance, "amount_bs_cents": amount_bs }),
            ));
        }
        let applied = amount_bs.min(balance);
        let surplus = (amount_bs - applied).max(0);
        let (change_bs, overpaid) = if request.method == "cash" {
            (surplus, 0)
        } else {
            (0, surplus)
        };
        let change_currency = request.change_currency.unwrap_or(request.currency);
        let (change_cents, change_rounding) = if change_bs == 0 {
            (0, 0)
        } else {
            match change_currency {
                Currency::Ves => (change_bs, 0),
                Currency::Usd => {
                    let cents = rate.bs_to_usd(change_bs).unwrap_or(0);
                    (cents, change_bs - rate.usd_to_bs(cents).unwrap_or(0))
                }
            }
        };
        let paid_after = paid_bs + applied;
        let remaining = total_bs - paid_after;
        // Paid in full, or a USD payment left at most the one céntimo its
        // conversion can lose; that céntimo is booked as rounding.
        let completes = remaining <= 0 || (request.currency == Currency::Usd && remaining <= 1);
        if !completes && sale.is_none() {
            ensure_day_open(tx.conn(), tenant_id, principal_id, now).await?;
        }
        // Positive: the business absorbed a shortfall; negative: it kept a surplus.
        let rounding = if completes { remaining } else { 0 } + change_rounding - overpaid;

        let payment_id = Uuid::now_v7();
        // Banks pad references with leading zeros; `000123` and `123` are one reference.
        let pago_movil_reference = (request.method == "pago_movil")
            .then(|| {
                request
                    .reference
                    .as_deref()
                    .map(|reference| reference.trim_start_matches('0').to_string())
            })
            .flatten();
        let inserted = sqlx::query(
            "INSERT INTO payments (tenant_id, id, order_id, method, currency, amount_cents, amount_bs_cents, applied_bs_cents, \
             change_currency, change_cents, rounding_bs_cents, bank_code, reference, payer_phone, payer_document, \
             pago_movil_reference, created_by, created_at, rate_scaled, igtf_basis_points, igtf_base_cents, igtf_cents, \
             igtf_bs_cents) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        )
        .bind(tenant_id)
        .bind(payment_id)
        .bind(order_id)
        .bind(&request.method)
        .bind(request.currency.code())
        .bind(request.amount_cents)
        .bind(amount_bs)
        .bind(applied)
        .bind((change_bs > 0).then_some(change_currency.code()))
        .bind(change_cents)
        .bind(rounding)
        .bind(&request.bank_code)
        .bind(&request.reference)
        .bind(&request.payer_phone)
        .bind(&request.payer_document)
        .bind(&pago_movil_reference)
        .bind(principal_id)
        .bind(now)
        .bind(rate_scaled)
        .bind(if igtf_applies { igtf_basis_points } else { 0 })
        .bind(igtf_base)
        .bind(igtf_cents)
        .bind(igtf_bs)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error)
                .is_some_and(|name| name.contains("pago_movil") || name.contains("payments"))
            {
                return Err(StoreError::conflict_with(
                    "payment_reference_used",
                    json!({ "reference": request.reference }),
                ));
            }
            return Err(error.into());
        }
        let sale = match sale {
            // The copy takes the payment, and the completion writes the order's totals.
            Some(SaleStep { sale, mut order }) => {
                order.payments.push(Payment {
                    id: payment_id,
                    method: request.method.clone(),
                    currency: request.currency.code().to_string(),
                    amount_cents: request.amount_cents,
                    amount_bs_cents: amount_bs,
                    applied_bs_cents: applied,
                    change_currency: (change_bs > 0).then(|| change_currency.code().to_string()),
                    change_cents,
                    rounding_bs_cents: rounding,
                    bank_code: request.bank_code.clone(),
                    reference: request.reference.clone(),
                    payer_phone: request.payer_phone.clone(),
                    payer_document: request.payer_document.clone(),
                    rate_scaled,
                    igtf_basis_points: if igtf_applies { igtf_basis_points } else { 0 },
                    igtf_base_cents: igtf_base,
                    igtf_cents,
                    igtf_bs_cents: igtf_bs,
                    created_at: now,
                });
                order.paid_bs_cents = paid_after;
                order.rounding_bs_cents += rounding;
                order.igtf_usd_cents += igtf_cents;
                order.igtf_bs_cents += igtf_bs;
                order.balance_bs_cents = (total_bs - paid_after).max(0);
                order.balance_usd_cents = rate.bs_to_usd_ceil(order.balance_bs_cents).unwrap_or(0);
                Some(SaleStep { sale, order })
            }
            None => {
                sqlx::query(
                    "UPDATE orders SET paid_bs_cents = $3, rounding_bs_cents = rounding_bs_cents + $4, \
                     igtf_usd_cents = igtf_usd_cents + $5, igtf_bs_cents = igtf_bs_cents + $6 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id)
                .bind(order_id)
                .bind(paid_after)
                .bind(rounding)
                .bind(igtf_cents)
                .bind(igtf_bs)
                .execute(tx.conn())
                .await?;
                None
            }
        };

        // A completing payment numbers the invoice last and returns the order
        // as it will read after commit, so the counters stay locked only for
        // the final inserts.
        let order = if completes {
            self.complete_order(
                tx,
                tenant_id,
                Completion {
                    order_id,
                    hold_id,
                    tickets: &request.tickets,
                    issued_by: principal_id,
                    reserved,
                    sale,
                },
                now,
            )
            .await?
        } else if let Some(step) = sale {
            step.order
        } else {
            order_view(tx.conn(), tenant_id, order_id, now).await?
        };
        let payment = order
            .payments
            .iter()
            .find(|payment| payment.id == payment_id)
            .cloned()
            .ok_or_else(|| StoreError::Internal("payment not found after insert".to_string()))?;
        let outcome = PaymentOutcome { payment, order };
        if let Some(key) = idempotency {
            save_key_response(tx.conn(), tenant_id, key, 201, &outcome).await?;
        }
        Ok(Idempotent::Fresh(outcome))
    }

    /// Makes a whole sale in the caller's transaction: hold, order and
    /// payments, as `principal_id`. The payments must pay the order as priced
    /// here (409 `amount_mismatch` otherwise), so the caller rolls back on any
    /// error. `reserved` is the number an offline sale printed.
    async fn sale_in(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        principal_id: Uuid,
        sale: &NewSale,
        reserved: Option<&ReservedNumber>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let fresh = |what: &str| StoreError::Internal(format!("{what} replayed without a key"));
        // The order prices the hold itself, so the hold is not quoted here.
        let (hold, taken) = self
            .take_hold(tx, tenant_id, principal_id, &sale.hold, true, now)
            .await?;
        let series = order_series(tx.conn(), tenant_id, reserved, sale.series.as_deref()).await?;
        let Some(parties) = invoice_parties(tx.conn(), tenant_id, sale.customer_id).await? else {
            return Err(StoreError::NotFound("customer"));
        };
        let whole = WholeSale {
            hold: taken,
            parties,
            series,
        };
        let order = NewOrder {
            hold_id: hold.id,
            customer_id: sale.customer_id,
            courtesy: false,
            discount_code: sale.discount_code.clone(),
            tickets: sale.tickets.clone(),
            series: sale.series.clone(),
        };
        let Idempotent::Fresh(mut order) = self
            .create_order_in(
                tx,
                tenant_id,
                principal_id,
                None,
                &order,
                reserved,
                Some(&whole),
                now,
            )
            .await?
        else {
            return Err(fresh("order"));
        };
        for payment in &sale.payments {
            if order.status == "paid" {
                return Err(StoreError::conflict_with(
                    "amount_mismatch",
                    json!({ "total_usd_cents": order.total_usd_cents, "overpaid": true }),
                ));
            }
            let mut payment = payment.clone();
            payment.tickets = sale.tickets.clone();
            let target = PaymentTarget {
                order_id: order.id,
                reserved,
                sale: Some(SaleStep {
                    sale: &whole,
                    order,
                }),
            };
            let Idempotent::Fresh(outcome) = self
                .add_payment_in(tx, tenant_id, principal_id, None, target, &payment, now)
                .await?
            else {
                return Err(fresh("payment"));
            };
            order = outcome.order;
        }
        if order.status != "paid" {
            return Err(StoreError::conflict_with(
                "amount_mismatch",
                json!({
                    "total_usd_cents": order.total_usd_cents,
                    "total_bs_cents": order.total_bs_cents,
                    "balance_bs_cents": order.balance_bs_cents,
                    "balance_usd_cents": order.balance_usd_cents,
                }),
            ));
        }
        Ok(order)
    }

    /// Sells in one transaction, for a walk-in customer at the box office.
    async fn quick_sale_once(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        sale: &NewSale,
    ) -> StoreResult<Idempotent<Order>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        if let Some(key) = idempotency
            && let Claim::Replay { status_code, body } =
                claim_key(tx.conn(), tenant_id, key, now).await?
        {
            return Ok(Idempotent::Replay { status_code, body });
        }
        let order = self
            .sale_in(&mut tx, tenant_id, principal_id, sale, None, now)
            .await?;
        if let Some(key) = idempotency {
            save_key_response(tx.conn(), tenant_id, key, 201, &order).await?;
        }
        tx.commit().await?;
        Ok(Idempotent::Fresh(order))
    }

    /// Turns a fully paid order into a sale: the hold becomes sold capacity,
    /// the tickets are issued and the invoice takes the next fiscal number.
    /// Returns the order with its invoice.
    async fn complete_order(
        &self,
        tx: &mut WriteTx,
        tenant_id: Uuid,
        completion: Completion<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Order> {
        let Completion {
            order_id,
            hold_id,
            tickets,
            issued_by,
            reserved,
            sale,
        } = completion;
        let hold = match &sale {
            Some(step) => step.sale.hold.record.clone(),
            None => fetch_hold(tx.conn(), tenant_id, hold_id).await?,
        };
        // A whole sale wrote its hold as converted and sold its
        // general-admission units when it took them.
        if sale.is_none() {
            let converted = sqlx::query(
                "UPDATE holds SET status = 'converted' WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
            )
            .bind(tenant_id)
            .bind(hold_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if converted == 0 {
                return Err(StoreError::conflict("hold_expired"));
            }
        }
        if hold.kind == "numbered" {
            let sold = sqlx::query(
                "UPDATE seats SET status = 'sold', order_id = $3, hold_expires_at = NULL \
                 WHERE tenant_id = $1 AND hold_id = $2 AND status = 'held'",
            )
            .bind(tenant_id)
            .bind(hold_id)
            .bind(order_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if sold != hold.quantity as u64 {
                return Err(StoreError::conflict("seats_unavailable"));
            }
        } else if sale.is_none() {
            sqlx::query("UPDATE zones SET held = held - $3, sold = sold + $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(hold.zone_id)
                .bind(hold.quantity)
                .execute(tx.conn())
                .await?;
        }

        let entries_per_ticket: i64 = match &sale {
            Some(step) => step.sale.hold.zone.entries_per_ticket,
            None => {
                sqlx::query_scalar(
                    "SELECT entries_per_ticket FROM zones WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id)
                .bind(hold.zone_id)
                .fetch_one(tx.conn())
                .await?
            }
        };
        if tickets.len() as i64 != hold.quantity {
            return Err(StoreError::Internal(format!(
                "{} tickets prepared for a hold of {}",
                tickets.len(),
                hold.quantity
            )));
        }
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO tickets (tenant_id, id, code, order_id, event_id, zone_id, seat_id, status, uses, max_uses, qr_payload, created_at) ",
        );
        insert.push_values(tickets, |mut row, ticket| {
            row.push_bind(tenant_id)
                .push_bind(ticket.id)
                .push_bind(ticket.code.clone())
                .push_bind(order_id)
                .push_bind(hold.event_id)
                .push_bind(ticket.zone_id)
                .push_bind(ticket.seat_id)
                .push_bind("valid")
                .push_bind(0_i64)
                .push_bind(entries_per_ticket)
                .push_bind(ticket.qr_payload.clone())
                .push_bind(now);
        });
        insert.build().execute(tx.conn()).await?;

        let (mut order, content, series, linked_id) = match sale {
            // The copy has every payment, so the order's totals are written
            // once here, with its status. An internal series numbers the
            // invoice below or the sale rolls back. So the invoice id is
            // stored now, before the fiscal counters are locked.
            Some(SaleStep { sale, mut order }) => {
                let linked_id =
                    (reserved.is_none() && sale.series.adapter == "internal").then(Uuid::now_v7);
                sqlx::query(
                    "UPDATE orders SET status = 'paid', completed_at = $3, paid_bs_cents = $4, \
                     rounding_bs_cents = $5, igtf_usd_cents = $6, igtf_bs_cents = $7, invoice_id = $8 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id)
                .bind(order_id)
                .bind(now)
                .bind(order.paid_bs_cents)
                .bind(order.rounding_bs_cents)
                .bind(order.igtf_usd_cents)
                .bind(order.igtf_bs_cents)
                .bind(linked_id)
                .execute(tx.conn())
                .await?;
                order.status = "paid".to_string();
                order.completed_at = Some(now);
                order.balance_bs_cents = 0;
                order.balance_usd_cents = 0;
                let content = invoice_content(&sale.parties, &order);
                (order, content, sale.series.clone(), linked_id)
            }
            None => {
                // The same statement returns the series chosen when the order was created.
                let series_id: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE orders SET status = 'paid', completed_at = $3 WHERE tenant_id = $1 AND id = $2 \
                     RETURNING invoice_series_id",
                )
                .bind(tenant_id)
                .bind(order_id)
                .bind(now)
                .fetch_one(tx.conn())
                .await?;
                let order = order_view(tx.conn(), tenant_id, order_id, now).await?;
                let parties = invoice_parties(tx.conn(), tenant_id, order.customer_id)
                    .await?
                    .ok_or(StoreError::NotFound("customer"))?;
                let content = invoice_content(&parties, &order);
                let series = match series_id {
                    Some(id) => series_by_id(tx.conn(), tenant_id, id).await?,
                    None => resolve_series(tx.conn(), tenant_id, "invoice", None).await?,
                };
                (order, content, series, None)
            }
        };

        // Numbers last: the counters stay locked only for the final inserts.
        let draft = DocumentDraft {
            kind: "invoice",
            order_id,
            references_document_id: None,
            total_usd_cents: order.total_usd_cents,
            total_bs_cents: order.total_bs_cents,
            content,
            issued_by,
            linked_id,
        };
        let issuance = match reserved {
            Some(reserved) => {
                issue_reserved(
                    tx.conn(),
                    tenant_id,
                    &series,
                    reserved,
                    draft,
                    self.clock.now(),
                )
                .await?
            }
            None => issue_document(tx.conn(), tenant_id, &series, draft, self.clock.now()).await?,
        };
        match issuance {
            Issuance::Issued(summary) => {
                order.invoice = Some(summary);
                order.fiscal_status = "invoiced".to_string();
            }
            Issuance::Queued => order.fiscal_status = "pending_issue".to_string(),
        }
        Ok(order)
    }

    async fn void_order_once(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<&IdempotencyRequest>,
        order_id: Uuid,
        reason: &str,
    ) -> StoreResult<Idempotent<VoidOutcome>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        if let Some(key) = idempotency
            && let Claim::Replay { status_code, body } =
                claim_key(tx.conn(), tenant_id, key, now).await?
        {
            return Ok(Idempotent::Replay { status_code, body });
        }

        let locked: Option<(String, Option<Uuid>, Uuid)> = sqlx::query_as(
            "UPDATE orders SET paid_bs_cents = paid_bs_cents WHERE tenant_id = $1 AND id = $2 RETURNING status, invoice_id, hold_id",
        )
        .bind(tenant_id)
        .bind(order_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some((status, invoice_id, hold_id)) = locked else {
            return Err(StoreError::NotFound("order"));
        };
        if status != "paid" {
            return Err(StoreError::conflict_with(
                "order_not_voidable",
                json!({ "status": status }),
            ));
        }
        // A credit note corrects an issued invoice; one still with its adapter
        // must be issued (or rejected and fixed) first.
        let Some(invoice_id) = invoice_id else {
            return Err(StoreError::conflict("invoice_pending"));
        };
        let invoice = fetch_document(tx.conn(), tenant_id, invoice_id).await?;
        let hold = fetch_hold(tx.conn(), tenant_id, hold_id).await?;

        // Give the capacity back and cancel the tickets.
        if hold.kind == "numbered" {
            sqlx::query(
                "UPDATE seats SET status = 'available', order_id = NULL, hold_id = NULL, hold_expires_at = NULL \
                 WHERE tenant_id = $1 AND order_id = $2 AND status = 'sold'",
            )
            .bind(tenant_id)
            .bind(order_id)
            .execute(tx.conn())
            .await?;
        } else {
            lock_zone(tx.conn(), tenant_id, hold.zone_id).await?;
            sqlx::query("UPDATE zones SET sold = sold - $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(hold.zone_id)
                .bind(hold.quantity)
                .execute(tx.conn())
                .await?;
        }
        return_voided_stage_units(tx.conn(), tenant_id, order_id).await?;
        sqlx::query(
            "UPDATE tickets SET status = 'cancelled' WHERE tenant_id = $1 AND order_id = $2",
        )
        .bind(tenant_id)
        .bind(order_id)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE orders SET status = 'voided', cancelled_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(order_id)
            .bind(now)
            .execute(tx.conn())
            .await?;

        // The credit note copies the invoice's frozen figures; nothing is
        // recomputed. It goes to the credit note series paired with the
        // invoice's series, or to the default one.
        let invoice_content: serde_json::Value = serde_json::from_str(&invoice.content)
            .map_err(|error| StoreError::Internal(format!("invoice content: {error}")))?;
        let paired: Option<Uuid> = sqlx::query_scalar(
            "SELECT s.credit_note_series_id FROM fiscal_documents d JOIN fiscal_series s \
             ON s.tenant_id = d.tenant_id AND s.id = d.series_id WHERE d.tenant_id = $1 AND d.id = $2",
        )
        .bind(tenant_id)
        .bind(invoice.id)
        .fetch_one(tx.conn())
        .await?;
        let series = match paired {
            Some(id) => series_by_id(tx.conn(), tenant_id, id).await?,
            None => resolve_series(tx.conn(), tenant_id, "credit_note", None).await?,
        };
        let mut content = invoice_content.clone();
        content["reason"] = json!(reason);
        content["references"] = json!({
            "document": "FACTURA",
            "series": invoice.series,
            "number": invoice.number,
            "control_number": invoice.control_number,
            "issue_date": invoice_content["issue_date"],
            "total_bs_cents": invoice.total_bs_cents,
        });
        // The invoice's own verification link does not belong to the note.
        if let Some(object) = content.as_object_mut() {
            object.remove("verification_url");
        }
        let draft = DocumentDraft {
            kind: "credit_note",
            order_id,
            references_document_id: Some(invoice.id),
            total_usd_cents: invoice.total_usd_cents,
            total_bs_cents: invoice.total_bs_cents,
            content,
            issued_by: principal_id,
            linked_id: None,
        };
        let issuance =
            issue_document(tx.conn(), tenant_id, &series, draft, self.clock.now()).await?;
        let order = order_view(tx.conn(), tenant_id, order_id, now).await?;
        let credit_note = match issuance {
            Issuance::Issued(summary) => Some(summary),
            Issuance::Queued => None,
        };
        let outcome = VoidOutcome { order, credit_note };
        if let Some(key) = idempotency {
            save_key_response(tx.conn(), tenant_id, key, 200, &outcome).await?;
        }
        tx.commit().await?;
        Ok(Idempotent::Fresh(outcome))
    }

    async fn release_hold_once(
        &self,
        tenant_id: Uuid,
        hold_id: Uuid,
        order_id: Option<Uuid>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let hold = fetch_hold(tx.conn(), tenant_id, hold_id).await?;
        // Lock the hold's pending orders before anything else, in the order a
        // payment takes its locks (order, then zone). Without it, a payment
        // committed between the checks below and the cancel leaves its money
        // on a cancelled order on PostgreSQL.
        sqlx::query(
            "UPDATE orders SET paid_bs_cents = paid_bs_cents WHERE tenant_id = $1 AND hold_id = $2 AND status = 'pending'",
        )
        .bind(tenant_id)
        .bind(hold_id)
        .execute(tx.conn())
        .await?;
        if hold.kind == "general_admission" {
            lock_zone(tx.conn(), tenant_id, hold.zone_id).await?;
        }
        if let Some(order_id) = order_id {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM orders WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(order_id)
                    .fetch_optional(tx.conn())
                    .await?;
            if status.as_deref() != Some("pending") {
                return Err(StoreError::conflict_with(
                    "order_not_cancellable",
                    json!({ "status": status }),
                ));
            }
        }
        // Money already taken needs a refund, which taquilla does not record yet.
        let with_payments: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND hold_id = $2 AND status = 'pending' AND paid_bs_cents > 0",
        )
        .bind(tenant_id)
        .bind(hold_id)
        .fetch_one(tx.conn())
        .await?;
        if with_payments > 0 {
            return Err(StoreError::conflict("order_has_payments"));
        }
        if !end_hold(tx.conn(), tenant_id, &hold, "released", now).await? {
            let current = fetch_hold(tx.conn(), tenant_id, hold_id).await?;
            return Err(StoreError::conflict_with(
                "hold_not_active",
                json!({ "status": current.status }),
            ));
        }
        tx.commit().await
    }

    async fn expire_one(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let hold = fetch_hold(tx.conn(), tenant_id, hold_id).await?;
        if hold.status != "active" || hold.expires_at > now {
            return Ok(false);
        }
        if hold.kind == "general_admission" {
            lock_zone(tx.conn(), tenant_id, hold.zone_id).await?;
        }
        let ended = end_hold(tx.conn(), tenant_id, &hold, "expired", now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn rotate_refresh_once(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let used: Option<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND revoked = $3 AND expires_at > $2 \
             RETURNING user_id, family_id",
        )
        .bind(old_hash)
        .bind(now)
        .bind(false)
        .fetch_optional(tx.conn())
        .await?;
        if let Some((user_id, family_id)) = used {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_hash)
            .bind(user_id)
            .bind(family_id)
            .bind(expires_at)
            .bind(now)
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Rotated { user_id });
        }

        // A used token presented again means it leaked: revoke its family.
        let reused: Option<(Uuid,)> = sqlx::query_as(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
        )
        .bind(old_hash)
        .fetch_optional(tx.conn())
        .await?;
        if let Some((family_id,)) = reused {
            sqlx::query("UPDATE refresh_tokens SET revoked = $2 WHERE family_id = $1")
                .bind(family_id)
                .bind(true)
                .execute(tx.conn())
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused);
        }
        Ok(RefreshOutcome::Invalid)
    }

    async fn create_exchange_rate_once(
        &self,
        tenant_id: Uuid,
        created_by: Uuid,
        rate: &NewExchangeRate,
    ) -> StoreResult<ExchangeRateRecord> {
        let mut tx = self.begin_write().await?;
        let id = Uuid::now_v7();
        // A second rate for the same date is a correction: it supersedes the first.
        let superseded: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE exchange_rates SET superseded = $4 WHERE tenant_id = $1 AND currency = 'USD' AND effective_date = $2 \
             AND superseded = $3 RETURNING id",
        )
        .bind(tenant_id)
        .bind(rate.effective_date)
        .bind(false)
        .bind(true)
        .fetch_optional(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO exchange_rates (tenant_id, id, currency, rate_scaled, effective_date, source, supersedes_id, superseded, created_by, created_at) \
             VALUES ($1, $2, 'USD', $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(rate.rate_scaled)
        .bind(rate.effective_date)
        .bind(&rate.source)
        .bind(superseded.map(|(id,)| id))
        .bind(false)
        .bind(created_by)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await
        .map_err(|error| match unique_violation(&error) {
            // A parallel request stored a rate for the same date first: retry,
            // and this one supersedes it.
            Some(_) => StoreError::Busy,
            None => error.into(),
        })?;
        let record: RateRecord = sqlx::query_as(
            "SELECT id, currency, rate_scaled, effective_date, source, supersedes_id, superseded, created_at \
             FROM exchange_rates WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(record.into())
    }

    async fn validate_once(
        &self,
        tenant_id: Uuid,
        validator_id: Uuid,
        code: &str,
        gate: &str,
        event_id: Option<Uuid>,
    ) -> StoreResult<ValidationOutcome> {
        let now = self.clock.now();
        if ONE_STATEMENT_SCAN {
            // Most scans admit: one statement admits and records, as one
            // atomic unit with no transaction to open or commit. A scan it
            // does not admit is examined below, in a transaction.
            let sql = format!(
                "WITH admitted AS (UPDATE tickets SET uses = uses + 1, first_used_at = COALESCE(first_used_at, $4), \
                 first_gate = COALESCE(first_gate, $5) \
                 WHERE tenant_id = $1 AND code = $2 AND status = 'valid' AND uses < max_uses AND ($3 IS NULL OR event_id = $3) \
                 AND EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = tickets.tenant_id AND e.id = tickets.event_id AND e.status <> 'cancelled') \
                 RETURNING {TICKET_COLUMNS}), \
                 scan AS (INSERT INTO validations (tenant_id, id, ticket_id, code, result, gate, validated_by, created_at) \
                 SELECT $1, $6, id, $2, 'admitted', $5, $7, $4 FROM admitted) \
                 SELECT {TICKET_COLUMNS} FROM admitted"
            );
            // On PostgreSQL the read pool is the store's only pool.
            let admitted: Option<Ticket> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(code)
                .bind(event_id)
                .bind(now)
                .bind(gate)
                .bind(Uuid::now_v7())
                .bind(validator_id)
                .fetch_optional(self.read_pool())
                .await?;
            if let Some(ticket) = admitted {
                return Ok(ValidationOutcome::Admitted(ticket));
            }
        }

        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE tickets SET uses = uses + 1, first_used_at = COALESCE(first_used_at, $4), first_gate = COALESCE(first_gate, $5) \
             WHERE tenant_id = $1 AND code = $2 AND status = 'valid' AND uses < max_uses AND ($3 IS NULL OR event_id = $3) \
             AND EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = tickets.tenant_id AND e.id = tickets.event_id AND e.status <> 'cancelled') \
             RETURNING {TICKET_COLUMNS}"
        );
        let admitted: Option<Ticket> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(code)
            .bind(event_id)
            .bind(now)
            .bind(gate)
            .fetch_optional(tx.conn())
            .await?;

        let (outcome, ticket_id, result) = match admitted {
            Some(ticket) => {
                let id = ticket.id;
                (ValidationOutcome::Admitted(ticket), Some(id), "admitted")
            }
            None => {
                let sql = format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND code = $2"
                );
                let existing: Option<Ticket> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(tenant_id)
                    .bind(code)
                    .fetch_optional(tx.conn())
                    .await?;
                let event_is_cancelled = match &existing {
                    Some(ticket) => event_cancelled(tx.conn(), tenant_id, ticket.event_id).await?,
                    None => false,
                };
                match existing {
                    None => (ValidationOutcome::Unknown, None, "unknown"),
                    Some(ticket) if ticket.status == "cancelled" => {
                        let id = ticket.id;
                        (ValidationOutcome::Cancelled(ticket), Some(id), "cancelled")
                    }
                    Some(ticket) if event_is_cancelled => {
                        let id = ticket.id;
                        (
                            ValidationOutcome::EventCancelled(ticket),
                            Some(id),
                            "event_cancelled",
                        )
                    }
                    Some(ticket)
                        if event_id.is_some_and(|event_id| event_id != ticket.event_id) =>
                    {
                        let id = ticket.id;
                        (
                            ValidationOutcome::WrongEvent(ticket),
                            Some(id),
                            "wrong_event",
                        )
                    }
                    Some(ticket) => {
                        let id = ticket.id;
                        let first_used_at = ticket.first_used_at;
                        let first_gate = ticket.first_gate.clone();
                        (
                            ValidationOutcome::AlreadyUsed {
                                ticket,
                                first_used_at,
                                first_gate,
                            },
                            Some(id),
                            "already_used",
                        )
                    }
                }
            }
        };

        // Every scan is recorded, admitted or not.
        sqlx::query(
            "INSERT INTO validations (tenant_id, id, ticket_id, code, result, gate, validated_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(Uuid::now_v7())
        .bind(ticket_id)
        .bind(code)
        .bind(result)
        .bind(gate)
        .bind(validator_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Events in the export gauges: active ones, and closed ones that started at
/// or after `$1`, earliest start first, at most `$2` of them.
const EXPORTED_EVENTS: &str = "SELECT tenant_id, id, starts_at FROM events \
     WHERE status = 'active' OR (status = 'closed' AND starts_at >= $1) \
     ORDER BY starts_at, tenant_id, id LIMIT $2";

/// One zone of an exported event with the counts its available places come from.
#[derive(FromRow)]
struct ZoneGaugeRow {
    tenant_id: Uuid,
    event_id: Uuid,
    id: Uuid,
    kind: String,
    capacity: i64,
    /// General admission: the zone's sold and held counters.
    sold: i64,
    held: i64,
    /// General admission: places of active holds past their expiry, which
    /// stay in `held` until the sweeper runs.
    lapsed_held: i64,
    /// Numbered: seats sold, and seats held by a hold not past its expiry.
    seats_sold: i64,
    seats_held: i64,
}

impl ZoneGaugeRow {
    /// Returns (sold, available) by the rule of `zone_availability`: a hold
    /// past its expiry no longer takes places.
    fn sold_and_available(&self) -> (i64, i64) {
        let (sold, held) = if self.kind == "general_admission" {
            (self.sold, (self.held - self.lapsed_held).max(0))
        } else {
            (self.seats_sold, self.seats_held)
        };
        (sold, (self.capacity - sold - held).max(0))
    }
}

impl Backend {
    /// Opens a read-only transaction whose statements all see one snapshot of
    /// the database, for checks that compare several tables.
    async fn begin_snapshot(&self) -> StoreResult<sqlx::Transaction<'static, Db>> {
        let mut tx = self.read_pool().begin().await?;
        if let Some(statement) = SNAPSHOT_READ {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        Ok(tx)
    }
}

#[async_trait]
impl Store for Backend {
    fn backend(&self) -> &'static str {
        BACKEND_NAME
    }

    fn pool_status(&self) -> crate::PoolStatus {
        let pool = self.read_pool();
        crate::PoolStatus {
            size: pool.size(),
            idle: pool.num_idle() as u32,
            max: pool.options().get_max_connections(),
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.read_pool()).await?;
        Ok(())
    }

    async fn get_or_init_setting(&self, key: &str, initial: &str) -> StoreResult<String> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(initial)
            .execute(tx.conn())
            .await?;
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, slug, name, rif, fiscal_address, signing_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(&tenant.slug)
        .bind(&tenant.name)
        .bind(&tenant.rif)
        .bind(&tenant.fiscal_address)
        .bind(&tenant.signing_key)
        .bind(now)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict_with(
                    "tenant_slug_taken",
                    json!({ "slug": tenant.slug }),
                ));
            }
            return Err(error.into());
        }
        // IVA at the general rate is every tenant's default tax rule.
        self.insert_tax_rule(
            tx.conn(),
            id,
            &NewTaxRule {
                scope: TaxScope::Tenant,
                name: "IVA".to_string(),
                category: TaxCategory::Iva,
                kind: TaxKind::Percentage {
                    basis_points: taquilla_domain::tax::IVA_GENERAL_BASIS_POINTS,
                },
                compound: false,
            },
            None,
            None,
        )
        .await?;
        // Every tenant starts with an internal invoice series "A" paired with
        // the credit note series "NC", both the defaults.
        let credit_note_series_id = Uuid::now_v7();
        for (series_id, code, kind, paired) in [
            (credit_note_series_id, "NC", "credit_note", None),
            (Uuid::now_v7(), "A", "invoice", Some(credit_note_series_id)),
        ] {
            sqlx::query(
                "INSERT INTO fiscal_series (tenant_id, id, code, kind, is_default, credit_note_series_id, created_at) \
                 VALUES ($1, $2, $3, $4, TRUE, $5, $6)",
            )
            .bind(id)
            .bind(series_id)
            .bind(code)
            .bind(kind)
            .bind(paired)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        self.get_tenant(id).await
    }

    async fn get_tenant(&self, tenant_id: Uuid) -> StoreResult<Tenant> {
        sqlx::query_as("SELECT id, slug, name, rif, fiscal_address, iva_basis_points, created_at FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(self.read_pool())
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        Ok(sqlx::query_as(
            "SELECT id, slug, name, rif, fiscal_address, iva_basis_points, created_at FROM tenants WHERE slug = $1",
        )
        .bind(slug)
        .fetch_optional(self.read_pool())
        .await?)
    }

    async fn tenant_signing_key(&self, tenant_id: Uuid) -> StoreResult<Vec<u8>> {
        sqlx::query_scalar("SELECT signing_key FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(self.read_pool())
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    async fn list_tenants(&self, page: PageRequest) -> StoreResult<Page<Tenant>> {
        let items: Vec<Tenant> = sqlx::query_as(list_sql::TENANTS_PAGE)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        Ok(page_of(items, page, |tenant| tenant.id))
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(user.tenant_id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(now)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict_with(
                    "username_taken",
                    json!({ "username": user.username }),
                ));
            }
            return Err(error.into());
        }
        tx.commit().await?;
        self.get_user(id).await
    }

    async fn get_user(&self, user_id: Uuid) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(self.read_pool())
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        row.into_user()
    }

    async fn list_users(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(list_sql::USERS_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(page_of(users, page, |user| user.id))
    }

    async fn find_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(self.read_pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let password_hash = row.password_hash.clone();
        let failed_logins = row.failed_logins;
        let locked_until = row.locked_until;
        Ok(Some(UserCredentials {
            user: row.into_user()?,
            password_hash,
            failed_logins,
            locked_until,
        }))
    }

    async fn claim_login_attempt(
        &self,
        user_id: Uuid,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            // An expired lock starts a fresh count. Right-hand sides read the
            // row's old values on both backends.
            "UPDATE users SET \
             failed_logins = CASE WHEN locked_until <= $4 THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE \
                 WHEN (CASE WHEN locked_until <= $4 THEN 1 ELSE failed_logins + 1 END) >= $2 THEN $3 \
                 WHEN locked_until <= $4 THEN NULL \
                 ELSE locked_until END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $4)",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(lock_until)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(claimed == 1)
    }

    async fn record_login_success(&self, user_id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)")
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        family_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(family_id)
        .bind(expires_at)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<RefreshOutcome> {
        with_retry!(
            self.rotate_refresh_once(old_hash, new_hash, expires_at)
                .await
        )
    }

    async fn create_web_session(
        &self,
        token_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(expires_at)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    async fn find_web_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>> {
        let row: Option<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT user_id, csrf_token, expires_at FROM web_sessions \
             WHERE token_hash = $1 AND revoked = FALSE AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.read_pool())
        .await?;
        let Some((user_id, csrf_token, expires_at)) = row else {
            return Ok(None);
        };
        let user = self.get_user(user_id).await?;
        Ok(Some(WebSession {
            user,
            csrf_token,
            expires_at,
        }))
    }

    async fn revoke_web_session(&self, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE web_sessions SET revoked = TRUE WHERE token_hash = $1")
            .bind(token_hash)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    async fn create_venue(&self, tenant_id: Uuid, venue: NewVenue) -> StoreResult<Venue> {
        let mut tx = self.begin_write().await?;
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO venues (tenant_id, id, name, address, city, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tenant_id)
            .bind(id)
            .bind(&venue.name)
            .bind(&venue.address)
            .bind(&venue.city)
            .bind(self.clock.now())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        self.get_venue(tenant_id, id).await
    }

    async fn get_venue(&self, tenant_id: Uuid, venue_id: Uuid) -> StoreResult<Venue> {
        sqlx::query_as("SELECT id, name, address, city, created_at FROM venues WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(venue_id)
            .fetch_optional(self.read_pool())
            .await?
            .ok_or(StoreError::NotFound("venue"))
    }

    async fn list_venues(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Venue>> {
        let items: Vec<Venue> = sqlx::query_as(list_sql::VENUES_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        Ok(page_of(items, page, |venue| venue.id))
    }

    async fn create_event(&self, tenant_id: Uuid, event: NewEvent) -> StoreResult<Event> {
        self.get_venue(tenant_id, event.venue_id).await?;
        let mut tx = self.begin_write().await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO events (tenant_id, id, venue_id, name, description, starts_at, sale_starts_at, sale_ends_at, \
             hold_minutes, payment_minutes, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(event.venue_id)
        .bind(&event.name)
        .bind(&event.description)
        .bind(event.starts_at)
        .bind(event.sale_starts_at)
        .bind(event.sale_ends_at)
        .bind(event.hold_minutes)
        .bind(event.payment_minutes)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.get_event(tenant_id, id).await
    }

    async fn get_event(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Event> {
        sqlx::query_as(
            "SELECT id, venue_id, name, description, starts_at, sale_starts_at, sale_ends_at, hold_minutes, payment_minutes, \
             status, pinned_rate_id, created_at FROM events WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(event_id)
        .fetch_optional(self.read_pool())
        .await?
        .ok_or(StoreError::NotFound("event"))
    }

    async fn list_events(&self, tenant_id: Uuid, page: PageRequest) -> StoreResult<Page<Event>> {
        let items: Vec<Event> = sqlx::query_as(list_sql::EVENTS_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        Ok(page_of(items, page, |event| event.id))
    }

    async fn set_event_status(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        from: &[&str],
        to: &str,
    ) -> StoreResult<Event> {
        let current = self.get_event(tenant_id, event_id).await?;
        if !from.contains(&current.status.as_str()) {
            return Err(StoreError::conflict_with(
                "event_status_transition",
                json!({ "status": current.status, "requested": to }),
            ));
        }
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE events SET status = $4 WHERE tenant_id = $1 AND id = $2 AND status = $3",
        )
        .bind(tenant_id)
        .bind(event_id)
        .bind(&current.status)
        .bind(to)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            // Another request changed the status first.
            let latest = self.get_event(tenant_id, event_id).await?;
            return Err(StoreError::conflict_with(
                "event_status_transition",
                json!({ "status": latest.status, "requested": to }),
            ));
        }
        tx.commit().await?;
        self.get_event(tenant_id, event_id).await
    }

    async fn create_zone(&self, tenant_id: Uuid, zone: NewZone) -> StoreResult<Zone> {
        self.get_event(tenant_id, zone.event_id).await?;
        let mut tx = self.begin_write().await?;
        let id = Uuid::now_v7();
        let (kind, capacity) = match &zone.kind {
            ZoneKind::GeneralAdmission { capacity } => ("general_admission", *capacity),
            ZoneKind::Numbered { rows } => ("numbered", rows.iter().sum()),
        };
        sqlx::query(
            "INSERT INTO zones (tenant_id, id, event_id, name, kind, capacity, price_usd_cents, entries_per_ticket, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(zone.event_id)
        .bind(&zone.name)
        .bind(kind)
        .bind(capacity)
        .bind(zone.price_usd_cents)
        .bind(zone.entries_per_ticket)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?;

        if let ZoneKind::Numbered { rows } = &zone.kind {
            let seats: Vec<(usize, i64)> = rows
                .iter()
                .enumerate()
                .flat_map(|(row_index, seat_count)| {
                    (1..=*seat_count).map(move |number| (row_index, number))
                })
                .collect();
            // Bounded batches keep each statement under the backends' parameter limits.
            for batch in seats.chunks(500) {
                let mut insert = QueryBuilder::<Db>::new(
                    "INSERT INTO seats (tenant_id, id, zone_id, row_index, row_label, number) ",
                );
                insert.push_values(batch, |mut row, (row_index, number)| {
                    row.push_bind(tenant_id)
                        .push_bind(Uuid::now_v7())
                        .push_bind(id)
                        .push_bind(*row_index as i64)
                        .push_bind(row_label(*row_index))
                        .push_bind(*number);
                });
                insert.build().execute(tx.conn()).await?;
            }
        }
        tx.commit().await?;
        self.get_zone(tenant_id, id).await
    }

    async fn get_zone(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Zone> {
        let mut conn = self.read_pool().acquire().await?;
        let record = self.zone_record(&mut conn, tenant_id, zone_id).await?;
        self.zone_view(&mut conn, tenant_id, record).await
    }

    async fn list_zones(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<Zone>> {
        self.get_event(tenant_id, event_id).await?;
        let mut conn = self.read_pool().acquire().await?;
        let records: Vec<ZoneRecord> = sqlx::query_as(list_sql::ZONES_PAGE)
            .bind(tenant_id)
            .bind(event_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let records = page_of(records, page, |record| record.id);
        let mut zones = Vec::with_capacity(records.items.len());
        for record in records.items {
            zones.push(self.zone_view(&mut conn, tenant_id, record).await?);
        }
        Ok(Page {
            items: zones,
            next_cursor: records.next_cursor,
        })
    }

    async fn zone_availability(&self, tenant_id: Uuid, zone_id: Uuid) -> StoreResult<Availability> {
        let mut conn = self.read_pool().acquire().await?;
        let now = self.clock.now();
        let zone = self.zone_record(&mut conn, tenant_id, zone_id).await?;
        // Quotes use the same formula as orders, with the stage pricing the zone now.
        let stages = event_stages(&mut conn, tenant_id, zone.event_id).await?;
        let quoted = quoted_stage(&stages, zone_id, now);
        let stage = quoted.map(|(stage, _)| stage);
        let quote = |row_markup: i64, seat_modifier: i64| {
            unit_price(&PriceInputs {
                base_usd_cents: zone.price_usd_cents,
                stage: stage.map(|stage| stage.modifier()),
                row_markup_basis_points: row_markup,
                seat_modifier_usd_cents: seat_modifier,
                discount: None,
            })
            .map(|price| price.unit_price_usd_cents)
            .map_err(|error| StoreError::Internal(error.to_string()))
        };
        let zone_price = quote(0, 0)?;
        let stage_view = quoted.map(|(stage, status)| stage.view(status));
        if zone.kind == "general_admission" {
            // Holds past their time still sit in the counter until swept; they are available.
            let expired: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM holds \
                 WHERE tenant_id = $1 AND zone_id = $2 AND status = 'active' AND expires_at <= $3",
            )
            .bind(tenant_id)
            .bind(zone_id)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let held = (zone.held - expired).max(0);
            return Ok(Availability {
                zone_id,
                event_id: zone.event_id,
                kind: zone.kind,
                capacity: zone.capacity,
                sold: zone.sold,
                held,
                available: (zone.capacity - zone.sold - held).max(0),
                price_usd_cents: zone_price,
                stage: stage_view,
                table_mode: zone.table_mode,
                seats: Vec::new(),
                tables: Vec::new(),
            });
        }

        let rows: Vec<SeatRow> = sqlx::query_as(
            "SELECT s.id, s.row_label, s.number, \
             CASE WHEN s.status = 'held' AND s.hold_expires_at <= $3 THEN 'available' ELSE s.status END AS status, \
             s.table_id, s.price_modifier_usd_cents, COALESCE(m.basis_points, $4) AS row_markup \
             FROM seats s LEFT JOIN zone_row_markups m \
             ON m.tenant_id = s.tenant_id AND m.zone_id = s.zone_id AND m.row_index = s.row_index \
             WHERE s.tenant_id = $1 AND s.zone_id = $2 ORDER BY s.row_index, s.number",
        )
        .bind(tenant_id)
        .bind(zone_id)
        .bind(now)
        .bind(zone.row_markup_basis_points)
        .fetch_all(&mut *conn)
        .await?;
        let mut seats = Vec::with_capacity(rows.len());
        for row in rows {
            seats.push(SeatStatus {
                price_usd_cents: quote(row.row_markup, row.price_modifier_usd_cents)?,
                id: row.id,
                row: row.row_label,
                number: row.number,
                status: row.status,
                table_id: row.table_id,
            });
        }
        let tables = zone_tables(&mut conn, tenant_id, zone_id, &seats).await?;
        let sold = seats.iter().filter(|seat| seat.status == "sold").count() as i64;
        let held = seats.iter().filter(|seat| seat.status == "held").count() as i64;
        Ok(Availability {
            zone_id,
            event_id: zone.event_id,
            kind: zone.kind,
            capacity: zone.capacity,
            sold,
            held,
            available: zone.capacity - sold - held,
            price_usd_cents: zone_price,
            stage: stage_view,
            table_mode: zone.table_mode,
            seats,
            tables,
        })
    }

    async fn create_customer(
        &self,
        tenant_id: Uuid,
        customer: NewCustomer,
    ) -> StoreResult<Customer> {
        let mut tx = self.begin_write().await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO customers (tenant_id, id, first_name, last_name, document_kind, document, phone, email, search_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(&customer.first_name)
        .bind(&customer.last_name)
        .bind(&customer.document_kind)
        .bind(&customer.document)
        .bind(&customer.phone)
        .bind(&customer.email)
        .bind(&customer.search_name)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.get_customer(tenant_id, id).await
    }

    async fn get_customer(&self, tenant_id: Uuid, customer_id: Uuid) -> StoreResult<Customer> {
        sqlx::query_as(
            "SELECT id, first_name, last_name, document_kind, document, phone, email, created_at \
             FROM customers WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_optional(self.read_pool())
        .await?
        .ok_or(StoreError::NotFound("customer"))
    }

    async fn search_customers(
        &self,
        tenant_id: Uuid,
        filter: CustomerFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Customer>> {
        let name_pattern = filter
            .name
            .map(|name| format!("%{}%", name.replace(['%', '_'], "")));
        let sql = if filter.document.is_some() {
            list_sql::CUSTOMERS_BY_DOCUMENT
        } else if filter.phone.is_some() {
            list_sql::CUSTOMERS_BY_PHONE
        } else if filter.email.is_some() {
            list_sql::CUSTOMERS_BY_EMAIL
        } else if name_pattern.is_some() {
            list_sql::CUSTOMERS_BY_NAME
        } else {
            let items: Vec<Customer> = sqlx::query_as(list_sql::CUSTOMERS_PAGE)
                .bind(tenant_id)
                .bind(after(page))
                .bind(page.limit + 1)
                .fetch_all(self.read_pool())
                .await?;
            return Ok(page_of(items, page, |customer| customer.id));
        };
        let items: Vec<Customer> = sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(after(page))
            .bind(filter.document)
            .bind(filter.phone)
            .bind(filter.email)
            .bind(name_pattern)
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        Ok(page_of(items, page, |customer| customer.id))
    }

    async fn create_exchange_rate(
        &self,
        tenant_id: Uuid,
        created_by: Uuid,
        rate: NewExchangeRate,
    ) -> StoreResult<ExchangeRateRecord> {
        with_retry!(
            self.create_exchange_rate_once(tenant_id, created_by, &rate)
                .await
        )
    }

    async fn list_exchange_rates(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<ExchangeRateRecord>> {
        let records: Vec<RateRecord> = sqlx::query_as(list_sql::EXCHANGE_RATES_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        let items = records.into_iter().map(ExchangeRateRecord::from).collect();
        Ok(page_of(items, page, |rate: &ExchangeRateRecord| rate.id))
    }

    async fn create_hold(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        hold: NewHold,
    ) -> StoreResult<Idempotent<Hold>> {
        with_retry!(
            self.create_hold_once(tenant_id, principal_id, idempotency.as_ref(), &hold)
                .await
        )
    }

    async fn get_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<Hold> {
        let mut conn = self.read_pool().acquire().await?;
        let record = fetch_hold(&mut conn, tenant_id, hold_id).await?;
        hold_view(&mut conn, tenant_id, record, self.clock.now()).await
    }

    async fn release_hold(&self, tenant_id: Uuid, hold_id: Uuid) -> StoreResult<()> {
        with_retry!(self.release_hold_once(tenant_id, hold_id, None).await)
    }

    async fn expire_holds(&self, limit: i64) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let now = self.clock.now();
        let due: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, id, event_id FROM holds WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await?;
        let mut expired = Vec::new();
        for (tenant_id, hold_id, event_id) in due {
            if with_retry!(self.expire_one(tenant_id, hold_id).await)? {
                expired.push((tenant_id, event_id));
            }
        }
        Ok(expired)
    }

    async fn holds_due(&self) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        let now = self.clock.now();
        let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(expires_at) FROM holds WHERE status = 'active' AND expires_at <= $1",
        )
        .bind(now)
        .fetch_one(self.read_pool())
        .await?;
        Ok((count, oldest))
    }

    async fn create_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order: NewOrder,
    ) -> StoreResult<Idempotent<Order>> {
        with_retry!(
            self.create_order_once(tenant_id, principal_id, idempotency.as_ref(), &order)
                .await
        )
    }

    async fn get_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order> {
        let mut conn = self.read_pool().acquire().await?;
        order_view(&mut conn, tenant_id, order_id, self.clock.now()).await
    }

    async fn get_order_lines(
        &self,
        tenant_id: Uuid,
        order_id: Uuid,
    ) -> StoreResult<Vec<OrderLine>> {
        let mut conn = self.read_pool().acquire().await?;
        let courtesy: Option<bool> =
            sqlx::query_scalar("SELECT courtesy FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(order_id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(courtesy) = courtesy else {
            return Err(StoreError::NotFound("order"));
        };
        let lines = order_lines(&mut conn, tenant_id, order_id, courtesy).await?;
        // Every order has at least one line, so none means no such order here.
        if lines.is_empty() {
            return Err(StoreError::NotFound("order"));
        }
        Ok(lines)
    }

    async fn cancel_order(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Order> {
        let order = self.get_order(tenant_id, order_id).await?;
        with_retry!(
            self.release_hold_once(tenant_id, order.hold_id, Some(order_id))
                .await
        )?;
        self.get_order(tenant_id, order_id).await
    }

    async fn add_payment(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        payment: NewPayment,
    ) -> StoreResult<Idempotent<PaymentOutcome>> {
        with_retry!(
            self.add_payment_once(
                tenant_id,
                principal_id,
                idempotency.as_ref(),
                order_id,
                &payment
            )
            .await
        )
    }

    async fn void_order(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        order_id: Uuid,
        reason: String,
    ) -> StoreResult<Idempotent<VoidOutcome>> {
        with_retry!(
            self.void_order_once(
                tenant_id,
                principal_id,
                idempotency.as_ref(),
                order_id,
                &reason
            )
            .await
        )
    }

    async fn list_tickets(&self, tenant_id: Uuid, order_id: Uuid) -> StoreResult<Vec<Ticket>> {
        let mut conn = self.read_pool().acquire().await?;
        let exists: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(order_id)
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("order"));
        }
        Ok(sqlx::query_as(list_sql::TICKETS_OF_ORDER)
            .bind(tenant_id)
            .bind(order_id)
            .fetch_all(&mut *conn)
            .await?)
    }

    async fn validate_ticket(
        &self,
        tenant_id: Uuid,
        validator_id: Uuid,
        code: &str,
        gate: &str,
        event_id: Option<Uuid>,
    ) -> StoreResult<ValidationOutcome> {
        with_retry!(
            self.validate_once(tenant_id, validator_id, code, gate, event_id)
                .await
        )
    }

    async fn list_fiscal_documents(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalDocument>> {
        let records: Vec<DocumentRecord> = sqlx::query_as(list_sql::FISCAL_DOCUMENTS_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        let items = records
            .into_iter()
            .map(DocumentRecord::into_document)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(page_of(items, page, |document| document.id))
    }

    async fn get_fiscal_document(
        &self,
        tenant_id: Uuid,
        document_id: Uuid,
    ) -> StoreResult<FiscalDocument> {
        let mut conn = self.read_pool().acquire().await?;
        fetch_document(&mut conn, tenant_id, document_id)
            .await?
            .into_document()
    }

    async fn check_integrity(&self) -> StoreResult<IntegrityReport> {
        // One snapshot: sales committing between two reads would look like gaps.
        let mut conn = self.begin_snapshot().await?;
        // A number of an offline series is accounted for by its invoice, by
        // its voided or rejected row, or as unsettled in an open block.
        let series: Vec<(Uuid, String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.tenant_id, s.code, s.next_number - 1, CAST(\
             (SELECT COUNT(*) FROM fiscal_documents d WHERE d.tenant_id = s.tenant_id AND d.series_id = s.id) \
             + (SELECT COUNT(*) FROM offline_numbers n WHERE n.tenant_id = s.tenant_id AND n.series_id = s.id \
               AND n.outcome <> 'accepted') \
             + (SELECT COALESCE(SUM(b.size), 0) FROM offline_blocks b WHERE b.tenant_id = s.tenant_id \
               AND b.series_id = s.id AND b.status = 'open') \
             - (SELECT COUNT(*) FROM offline_numbers n JOIN offline_blocks b ON b.tenant_id = n.tenant_id \
               AND b.id = n.block_id WHERE n.tenant_id = s.tenant_id AND n.series_id = s.id AND b.status = 'open') \
             AS BIGINT), \
             (SELECT COALESCE(MAX(d.number), 0) FROM fiscal_documents d WHERE d.tenant_id = s.tenant_id AND d.series_id = s.id), \
             (SELECT COALESCE(MAX(b.first_number + b.size - 1), 0) FROM offline_blocks b \
               WHERE b.tenant_id = s.tenant_id AND b.series_id = s.id) \
             FROM fiscal_series s",
        )
        .fetch_all(&mut *conn)
        .await?;
        let series_with_gaps = series
            .into_iter()
            .map(
                |(tenant_id, code, issued, accounted, highest_document, highest_block)| {
                    (
                        tenant_id,
                        code,
                        issued,
                        accounted,
                        highest_document.max(highest_block),
                    )
                },
            )
            .filter(|(_, _, issued, documents, highest)| issued != documents || issued != highest)
            .map(
                |(tenant_id, series, numbers_issued, documents, highest_number)| SeriesGap {
                    tenant_id,
                    series,
                    numbers_issued,
                    documents,
                    highest_number,
                },
            )
            .collect();

        // An order whose invoice waits for its adapter is accounted for by the queue.
        let paid_orders_without_invoice: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders o WHERE o.status IN ('paid', 'voided') AND o.invoice_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM fiscal_issue_queue q WHERE q.tenant_id = o.tenant_id \
             AND q.order_id = o.id AND q.kind = 'invoice')",
        )
        .fetch_one(&mut *conn)
        .await?;
        let paid_orders_without_tickets: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders o WHERE o.status = 'paid' \
             AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = o.tenant_id AND t.order_id = o.id)",
        )
        .fetch_one(&mut *conn)
        .await?;
        let sold_seats_without_one_ticket: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM seats s WHERE s.status = 'sold' AND \
             (SELECT COUNT(*) FROM tickets t WHERE t.tenant_id = s.tenant_id AND t.seat_id = s.id AND t.status = 'valid') <> 1",
        )
        .fetch_one(&mut *conn)
        .await?;
        let oversold_zones: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM zones WHERE kind = 'general_admission' AND sold + held > capacity",
        )
        .fetch_one(&mut *conn)
        .await?;
        // The chain's length on the tenant row must match its entries: a
        // deleted entry shows here at once; `fiscal verify` checks the hashes.
        let audit_chains_broken: Vec<Uuid> = sqlx::query_scalar(
            "SELECT t.id FROM tenants t WHERE t.audit_length <> \
             (SELECT COUNT(*) FROM fiscal_audit_log a WHERE a.tenant_id = t.id)",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(IntegrityReport {
            audit_chains_broken,
            series_with_gaps,
            paid_orders_without_invoice,
            paid_orders_without_tickets,
            sold_seats_without_one_ticket,
            oversold_zones,
        })
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(tx.conn())
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    async fn event_sales_summary(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<EventSalesSummary> {
        self.event_sales_summary_impl(tenant_id, event_id).await
    }

    async fn export_gauges(
        &self,
        closed_since: DateTime<Utc>,
        max_events: i64,
    ) -> StoreResult<ExportGauges> {
        let mut conn = self.read_pool().acquire().await?;
        let now = self.clock.now();

        // Fetching one row more than the limit shows whether events were left out.
        // Each event's revenue sum reads `orders_event_idx`.
        let events_sql = format!(
            "SELECT e.tenant_id, e.id, CAST((SELECT COALESCE(SUM(o.total_usd_cents), 0) FROM orders o \
             WHERE o.tenant_id = e.tenant_id AND o.event_id = e.id AND o.status = 'paid') AS BIGINT) \
             FROM ({EXPORTED_EVENTS}) e ORDER BY e.starts_at, e.tenant_id, e.id"
        );
        let mut event_rows: Vec<(Uuid, Uuid, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(events_sql))
                .bind(closed_since)
                .bind(max_events.saturating_add(1))
                .fetch_all(&mut *conn)
                .await?;
        let events_omitted = event_rows.len() as i64 > max_events;
        event_rows.truncate(max_events.max(0) as usize);

        let zones_sql = format!(
            "SELECT z.tenant_id, z.event_id, z.id, z.kind, z.capacity, z.sold, z.held, \
             CASE WHEN z.kind = 'general_admission' THEN CAST((SELECT COALESCE(SUM(h.quantity), 0) FROM holds h \
               WHERE h.tenant_id = z.tenant_id AND h.zone_id = z.id AND h.status = 'active' AND h.expires_at <= $3) AS BIGINT) \
               ELSE 0 END AS lapsed_held, \
             CASE WHEN z.kind = 'numbered' THEN (SELECT COUNT(*) FROM seats s \
               WHERE s.tenant_id = z.tenant_id AND s.zone_id = z.id AND s.status = 'sold') \
               ELSE 0 END AS seats_sold, \
             CASE WHEN z.kind = 'numbered' THEN (SELECT COUNT(*) FROM seats s \
               WHERE s.tenant_id = z.tenant_id AND s.zone_id = z.id AND s.status = 'held' AND s.hold_expires_at > $3) \
               ELSE 0 END AS seats_held \
             FROM zones z JOIN ({EXPORTED_EVENTS}) e ON e.tenant_id = z.tenant_id AND e.id = z.event_id \
             ORDER BY z.tenant_id, z.event_id, z.id"
        );
        let zone_rows: Vec<ZoneGaugeRow> = sqlx::query_as(sqlx::AssertSqlSafe(zones_sql))
            .bind(closed_since)
            .bind(max_events)
            .bind(now)
            .fetch_all(&mut *conn)
            .await?;

        // Tickets sold are the places sold in the event's zones.
        let mut sold_per_event: std::collections::HashMap<(Uuid, Uuid), i64> =
            std::collections::HashMap::new();
        let mut zones = Vec::with_capacity(zone_rows.len());
        for row in &zone_rows {
            let (sold, available) = row.sold_and_available();
            *sold_per_event
                .entry((row.tenant_id, row.event_id))
                .or_default() += sold;
            zones.push(ZoneGauges {
                tenant_id: row.tenant_id,
                event_id: row.event_id,
                zone_id: row.id,
                available,
            });
        }
        let events = event_rows
            .into_iter()
            .map(|(tenant_id, event_id, revenue_usd_cents)| EventGauges {
                tenant_id,
                event_id,
                tickets_sold: sold_per_event
                    .get(&(tenant_id, event_id))
                    .copied()
                    .unwrap_or(0),
                revenue_usd_cents,
            })
            .collect();

        let holds: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT t.id, COUNT(h.id) FROM tenants t LEFT JOIN holds h \
             ON h.tenant_id = t.id AND h.status = 'active' AND h.expires_at > $1 \
             GROUP BY t.id ORDER BY t.id",
        )
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        let holds = holds
            .into_iter()
            .map(|(tenant_id, active_holds)| TenantHolds {
                tenant_id,
                active_holds,
            })
            .collect();

        let series: Vec<(Uuid, String, String, i64)> = sqlx::query_as(
            // An offline series' counter also covers the numbers of its blocks
            // that did not become documents, so its documents are counted.
            "SELECT s.tenant_id, s.code, s.kind, CASE WHEN s.adapter = 'offline' THEN \
             (SELECT COUNT(*) FROM fiscal_documents d WHERE d.tenant_id = s.tenant_id AND d.series_id = s.id) \
             ELSE s.next_number - 1 END FROM fiscal_series s ORDER BY s.tenant_id, s.code",
        )
        .fetch_all(&mut *conn)
        .await?;
        let series = series
            .into_iter()
            .map(|(tenant_id, series, kind, documents_issued)| SeriesGauges {
                tenant_id,
                series,
                kind,
                documents_issued,
            })
            .collect();

        Ok(ExportGauges {
            events,
            zones,
            holds,
            series,
            events_omitted,
        })
    }

    async fn create_price_stage(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        stage: NewPriceStage,
    ) -> StoreResult<PriceStage> {
        self.pricing_create_stage(tenant_id, event_id, stage).await
    }

    async fn list_price_stages(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<PriceStage>> {
        self.pricing_list_stages(tenant_id, event_id, page).await
    }

    async fn zone_stages(&self, tenant_id: Uuid, event_id: Uuid) -> StoreResult<Vec<ZoneStage>> {
        self.pricing_zone_stages(tenant_id, event_id).await
    }

    async fn end_price_stage(
        &self,
        tenant_id: Uuid,
        stage_id: Uuid,
    ) -> StoreResult<StageTransition> {
        with_retry!(self.pricing_end_stage(tenant_id, stage_id).await)
    }

    async fn list_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<StageTransition>> {
        self.pricing_list_transitions(tenant_id, event_id, page)
            .await
    }

    async fn apply_stage_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<Vec<StageTransition>> {
        self.pricing_apply_event_transitions(tenant_id, event_id)
            .await
    }

    async fn apply_due_stage_transitions(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, StageTransition)>> {
        self.pricing_apply_due_transitions(limit).await
    }

    async fn create_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule: NewTaxRule,
    ) -> StoreResult<TaxRuleRecord> {
        self.pricing_create_tax_rule(tenant_id, principal_id, rule)
            .await
    }

    async fn end_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule_id: Uuid,
        successor: Option<NewTaxRule>,
    ) -> StoreResult<Option<TaxRuleRecord>> {
        self.pricing_end_tax_rule(tenant_id, principal_id, rule_id, successor)
            .await
    }

    async fn list_tax_rules(
        &self,
        tenant_id: Uuid,
        include_ended: bool,
        page: PageRequest,
    ) -> StoreResult<Page<TaxRuleRecord>> {
        self.pricing_list_tax_rules(tenant_id, include_ended, page)
            .await
    }

    async fn update_zone_pricing(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        pricing: ZonePricing,
    ) -> StoreResult<Zone> {
        self.pricing_update_zone(tenant_id, zone_id, pricing)
            .await?;
        self.get_zone(tenant_id, zone_id).await
    }

    async fn create_table_group(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        table: NewTableGroup,
    ) -> StoreResult<TableGroup> {
        self.pricing_create_table(tenant_id, zone_id, table).await
    }

    async fn igtf_settings(&self, tenant_id: Uuid) -> StoreResult<IgtfSettings> {
        self.pricing_igtf_settings(tenant_id).await
    }

    async fn set_igtf_settings(
        &self,
        tenant_id: Uuid,
        settings: IgtfSettings,
    ) -> StoreResult<IgtfSettings> {
        self.pricing_set_igtf(tenant_id, settings).await
    }

    async fn create_discount_code(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        code: NewDiscountCode,
    ) -> StoreResult<DiscountCode> {
        self.pricing_create_discount_code(tenant_id, event_id, code)
            .await
    }

    async fn list_discount_codes(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DiscountCode>> {
        self.pricing_list_discount_codes(tenant_id, event_id, page)
            .await
    }

    async fn pin_event_rate(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        rate_id: Option<Uuid>,
    ) -> StoreResult<Event> {
        self.pricing_pin_rate(tenant_id, event_id, rate_id).await?;
        self.get_event(tenant_id, event_id).await
    }

    async fn create_fiscal_series(
        &self,
        tenant_id: Uuid,
        series: NewFiscalSeries,
    ) -> StoreResult<FiscalSeries> {
        self.create_fiscal_series_impl(tenant_id, series).await
    }

    async fn list_fiscal_series(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalSeries>> {
        self.list_fiscal_series_impl(tenant_id, page).await
    }

    async fn get_fiscal_series(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
    ) -> StoreResult<FiscalSeries> {
        self.get_fiscal_series_impl(tenant_id, series_id).await
    }

    async fn update_series_settings(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
        adapter_config: serde_json::Value,
        changed_by: Uuid,
    ) -> StoreResult<FiscalSeries> {
        with_retry!(
            self.update_series_settings_impl(
                tenant_id,
                series_id,
                adapter_config.clone(),
                changed_by
            )
            .await
        )
    }

    async fn claim_fiscal_issues(
        &self,
        limit: i64,
        lease: Duration,
    ) -> StoreResult<Vec<PendingIssue>> {
        with_retry!(self.claim_fiscal_issues_impl(limit, lease).await)
    }

    async fn record_external_document(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        issued: &ExternalIssued,
    ) -> StoreResult<Option<DocumentSummary>> {
        with_retry!(
            self.record_external_document_impl(tenant_id, queue_id, issued)
                .await
        )
    }

    async fn defer_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        with_retry!(
            self.defer_fiscal_issue_impl(tenant_id, queue_id, error, retry_at)
                .await
        )
    }

    async fn reassign_fiscal_issue(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        series_code: &str,
        principal_id: Uuid,
    ) -> StoreResult<Option<DocumentSummary>> {
        with_retry!(
            self.reassign_fiscal_issue_impl(tenant_id, queue_id, series_code, principal_id)
                .await
        )
    }

    async fn retry_fiscal_issue(&self, tenant_id: Uuid, queue_id: Uuid) -> StoreResult<()> {
        self.retry_fiscal_issue_impl(tenant_id, queue_id).await
    }

    async fn list_fiscal_issues(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalIssueItem>> {
        self.list_fiscal_issues_impl(tenant_id, page).await
    }

    async fn fiscal_queue_stats(&self) -> StoreResult<FiscalQueueStats> {
        self.fiscal_queue_stats_impl().await
    }

    async fn fiscal_day_totals(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<FiscalDayTotals> {
        self.fiscal_day_totals_impl(tenant_id, cashier_id, day)
            .await
    }

    async fn close_fiscal_day(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        closed_by: Uuid,
        day: Option<chrono::NaiveDate>,
    ) -> StoreResult<ZReport> {
        with_retry!(
            self.close_fiscal_day_impl(tenant_id, cashier_id, closed_by, day)
                .await
        )
    }

    async fn list_z_reports(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<ZReport>> {
        self.list_z_reports_impl(tenant_id, cashier_id, page).await
    }

    async fn get_z_report(&self, tenant_id: Uuid, report_id: Uuid) -> StoreResult<ZReport> {
        self.get_z_report_impl(tenant_id, report_id).await
    }

    async fn verify_fiscal(&self, tenant_id: Uuid) -> StoreResult<FiscalVerification> {
        self.verify_fiscal_impl(tenant_id).await
    }

    async fn quick_sale(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        idempotency: Option<IdempotencyRequest>,
        sale: NewSale,
    ) -> StoreResult<Idempotent<Order>> {
        with_retry!(
            self.quick_sale_once(tenant_id, principal_id, idempotency.as_ref(), &sale)
                .await
        )
    }

    async fn create_offline_block(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        block: NewOfflineBlock,
    ) -> StoreResult<OfflineBlock> {
        with_retry!(
            self.create_offline_block_impl(tenant_id, cashier_id, block.clone())
                .await
        )
    }

    async fn get_offline_block(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        self.get_offline_block_impl(tenant_id, block_id).await
    }

    async fn list_offline_blocks(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<OfflineBlock>> {
        self.list_offline_blocks_impl(tenant_id, page).await
    }

    async fn sync_offline_sale(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: OfflineSale,
    ) -> StoreResult<OfflineSaleResult> {
        self.sync_offline_sale_impl(tenant_id, block_id, &sale)
            .await
    }

    async fn close_offline_block(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        with_retry!(self.close_offline_block_impl(tenant_id, block_id).await)
    }

    async fn expire_offline_blocks(&self, limit: i64) -> StoreResult<Vec<ExpiredBlock>> {
        self.expire_offline_blocks_impl(limit).await
    }
}
