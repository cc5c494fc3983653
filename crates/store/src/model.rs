//! Records read from and written to the store. Response types of the API are
//! these records serialised as JSON, so field names here are API field names.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Role of a user. Stored and serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin,
    Cashier,
    Validator,
    ApiClient,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::Cashier => "cashier",
            Role::Validator => "validator",
            Role::ApiClient => "api_client",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "platform_admin" => Some(Role::PlatformAdmin),
            "tenant_admin" => Some(Role::TenantAdmin),
            "cashier" => Some(Role::Cashier),
            "validator" => Some(Role::Validator),
            "api_client" => Some(Role::ApiClient),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub rif: String,
    pub fiscal_address: String,
    pub iva_basis_points: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub rif: String,
    pub fiscal_address: String,
    pub signing_key: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A user with the fields needed to check a login; never serialised.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub tenant_id: Option<Uuid>,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
}

/// Outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was valid and is now used; the new token was stored.
    Rotated { user_id: Uuid },
    /// The token had already been used: its whole family is revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Venue {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub city: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewVenue {
    pub name: String,
    pub address: String,
    pub city: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Event {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: Option<DateTime<Utc>>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    /// Lifetime of a hold, in minutes.
    pub hold_minutes: i64,
    /// Time an order has to be paid once created, in minutes.
    pub payment_minutes: i64,
    /// `draft`, `active`, `closed` or `cancelled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub venue_id: Uuid,
    pub name: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: Option<DateTime<Utc>>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    pub hold_minutes: i64,
    pub payment_minutes: i64,
}

/// One row of a numbered zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ZoneRow {
    pub label: String,
    pub seats: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Zone {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    /// `general_admission` or `numbered`.
    pub kind: String,
    pub capacity: i64,
    pub price_usd_cents: i64,
    /// Admissions each ticket allows; above 1 for multi-entry tickets.
    pub entries_per_ticket: i64,
    /// Rows of a numbered zone, in order; empty for general admission.
    pub rows: Vec<ZoneRow>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewZone {
    pub event_id: Uuid,
    pub name: String,
    pub kind: ZoneKind,
    pub price_usd_cents: i64,
    pub entries_per_ticket: i64,
}

#[derive(Debug, Clone)]
pub enum ZoneKind {
    GeneralAdmission {
        capacity: i64,
    },
    /// Seat counts per row, in row order.
    Numbered {
        rows: Vec<i64>,
    },
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SeatStatus {
    pub id: Uuid,
    pub row: String,
    pub number: i64,
    /// `available`, `held` or `sold`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Availability {
    pub zone_id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub capacity: i64,
    pub sold: i64,
    pub held: i64,
    pub available: i64,
    pub price_usd_cents: i64,
    /// Every seat with its status, for numbered zones; empty for general admission.
    pub seats: Vec<SeatStatus>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Customer {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    /// `cedula` or `rif`.
    pub document_kind: Option<String>,
    /// Normalised document: `V12345678` or `J001241345`.
    pub document: Option<String>,
    /// E.164, for example `+584121234567`.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub first_name: String,
    pub last_name: String,
    /// "first_name last_name" folded with `taquilla_domain::text::fold_for_search`.
    pub search_name: String,
    pub document_kind: Option<String>,
    pub document: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub document: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Text matched against the folded "first_name last_name"; fold it with
    /// `taquilla_domain::text::fold_for_search` first.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExchangeRateRecord {
    pub id: Uuid,
    pub currency: String,
    /// Bs. per unit of `currency`, with 8 decimals.
    pub rate: String,
    /// The rate × 10^8, as stored.
    pub rate_scaled: i64,
    /// Caracas date from which the rate applies (the BCV's «fecha valor»).
    pub effective_date: NaiveDate,
    pub source: String,
    pub supersedes_id: Option<Uuid>,
    pub superseded: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewExchangeRate {
    pub rate_scaled: i64,
    pub effective_date: NaiveDate,
    pub source: String,
}

/// A page of a list and the cursor for the next one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Limit and position of a page request; the cursor is the last id seen.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub id: Uuid,
    pub event_id: Uuid,
    pub zone_id: Uuid,
    /// `general_admission` or `numbered`.
    pub kind: String,
    pub quantity: i64,
    pub seats: Vec<HoldSeat>,
    /// `active`, `released`, `expired` or `converted` (sold).
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldSeat {
    pub id: Uuid,
    pub row: String,
    pub number: i64,
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub zone_id: Uuid,
    /// Seats of a numbered zone, without duplicates; the store locks them in id order.
    pub seat_ids: Vec<Uuid>,
    /// Units of a general-admission zone.
    pub quantity: i64,
}

/// The request identity an idempotency key is bound to.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub principal_id: Uuid,
    pub key: String,
    /// Hash of method, route and body; the same key with another hash is rejected.
    pub request_hash: String,
}

/// A fresh result, or the stored response to an earlier identical request.
#[derive(Debug, Clone)]
pub enum Idempotent<T> {
    Fresh(T),
    Replay { status_code: u16, body: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct OrderLine {
    pub line_number: i64,
    pub zone_id: Uuid,
    pub seat_id: Option<Uuid>,
    pub description: String,
    pub quantity: i64,
    pub unit_price_usd_cents: i64,
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
    /// IVA rate applied, in basis points; absent on exempt lines.
    pub tax_basis_points: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxTotal {
    pub name: String,
    pub rate_basis_points: i64,
    pub base_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub base_bs_cents: i64,
    pub tax_bs_cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    /// `cash`, `card`, `transfer` or `pago_movil`.
    pub method: String,
    /// `USD` or `VES`.
    pub currency: String,
    /// Amount tendered, in minor units of `currency`.
    pub amount_cents: i64,
    /// The tendered amount in Bs. at the order's rate.
    pub amount_bs_cents: i64,
    /// Part of the tendered amount that went to the order's balance, in Bs.
    pub applied_bs_cents: i64,
    pub change_currency: Option<String>,
    /// Change returned to the customer, in minor units of `change_currency`.
    pub change_cents: i64,
    /// Difference booked as rounding, in Bs.: positive when the business absorbed
    /// a shortfall of a céntimo, negative when it kept a surplus below one cent.
    pub rounding_bs_cents: i64,
    pub bank_code: Option<String>,
    pub reference: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_document: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub method: String,
    pub currency: taquilla_domain::money::Currency,
    pub amount_cents: i64,
    pub change_currency: Option<taquilla_domain::money::Currency>,
    pub bank_code: Option<String>,
    pub reference: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_document: Option<String>,
    /// Tickets to issue if this payment completes the order, one per seat or unit.
    pub tickets: Vec<NewTicket>,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: Uuid,
    pub code: String,
    pub zone_id: Uuid,
    pub seat_id: Option<Uuid>,
    pub qr_payload: String,
}

/// Number and control number of an issued fiscal document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentSummary {
    pub id: Uuid,
    /// `invoice` or `credit_note`.
    pub kind: String,
    pub series: String,
    pub number: i64,
    pub control_number: String,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RateUsed {
    pub id: Uuid,
    pub rate: String,
    pub rate_scaled: i64,
    pub effective_date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub hold_id: Uuid,
    pub customer_id: Uuid,
    pub event_id: Uuid,
    /// `pending`, `paid`, `cancelled`, `expired` or `voided`.
    pub status: String,
    pub exchange_rate: RateUsed,
    pub lines: Vec<OrderLine>,
    pub taxes: Vec<TaxTotal>,
    pub subtotal_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub total_usd_cents: i64,
    pub subtotal_bs_cents: i64,
    pub tax_bs_cents: i64,
    pub total_bs_cents: i64,
    pub paid_bs_cents: i64,
    /// Remaining balance in Bs.
    pub balance_bs_cents: i64,
    /// Smallest USD amount that covers the remaining balance at the order's rate.
    pub balance_usd_cents: i64,
    /// Sum of the payments' rounding, in Bs.: positive when the business absorbed
    /// a céntimo lost in a USD conversion, negative when it kept a USD surplus
    /// below one cent.
    pub rounding_bs_cents: i64,
    pub payment_deadline: DateTime<Utc>,
    pub payments: Vec<Payment>,
    pub invoice: Option<DocumentSummary>,
    pub credit_note: Option<DocumentSummary>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub hold_id: Uuid,
    pub customer_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentOutcome {
    pub payment: Payment,
    pub order: Order,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoidOutcome {
    pub order: Order,
    pub credit_note: DocumentSummary,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Ticket {
    pub id: Uuid,
    pub code: String,
    pub order_id: Uuid,
    pub event_id: Uuid,
    pub zone_id: Uuid,
    pub seat_id: Option<Uuid>,
    /// `valid` or `cancelled`.
    pub status: String,
    pub uses: i64,
    pub max_uses: i64,
    pub first_used_at: Option<DateTime<Utc>>,
    pub first_gate: Option<String>,
    /// Signed payload to encode in the QR code.
    pub qr_payload: String,
    pub created_at: DateTime<Utc>,
}

/// Result of a gate scan.
#[derive(Debug, Clone)]
pub enum ValidationOutcome {
    Admitted(Ticket),
    AlreadyUsed {
        ticket: Ticket,
        first_used_at: Option<DateTime<Utc>>,
        first_gate: Option<String>,
    },
    Cancelled(Ticket),
    /// The ticket is valid but its event was cancelled.
    EventCancelled(Ticket),
    WrongEvent(Ticket),
    Unknown,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiscalDocument {
    pub id: Uuid,
    pub kind: String,
    pub series: String,
    pub number: i64,
    pub control_number: String,
    pub order_id: Uuid,
    pub references_document_id: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
    /// Full printable content: issuer, buyer, lines, taxes per rate, totals in
    /// both currencies, rate used and legends.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// A series whose documents do not match the numbers it handed out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesGap {
    pub tenant_id: Uuid,
    pub series: String,
    /// Numbers handed out: the series counter minus one.
    pub numbers_issued: i64,
    /// Documents stored in the series.
    pub documents: i64,
    pub highest_number: i64,
}

/// Result of checking the invariants that no code path should ever break.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct IntegrityReport {
    /// Series with a gap, a duplicate or a lost document.
    pub series_with_gaps: Vec<SeriesGap>,
    /// Paid or voided orders without an invoice.
    pub paid_orders_without_invoice: i64,
    /// Paid orders without tickets.
    pub paid_orders_without_tickets: i64,
    /// Sold seats without exactly one valid ticket.
    pub sold_seats_without_one_ticket: i64,
    /// General-admission zones whose sold and held units exceed capacity.
    pub oversold_zones: i64,
}

impl IntegrityReport {
    pub fn fiscal_series_ok(&self) -> bool {
        self.series_with_gaps.is_empty() && self.paid_orders_without_invoice == 0
    }

    pub fn tenant_data_ok(&self) -> bool {
        self.paid_orders_without_tickets == 0
            && self.sold_seats_without_one_ticket == 0
            && self.oversold_zones == 0
    }
}
