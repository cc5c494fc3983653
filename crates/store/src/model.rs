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

/// A signed-in session of the web pages, with its user.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
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
    /// An exchange rate the event's orders use instead of the rate of the day.
    pub pinned_rate_id: Option<Uuid>,
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
    /// Markup of every row of a numbered zone, in basis points, unless the row overrides it.
    pub row_markup_basis_points: i64,
    /// `by_seat` or `complete_only` (tables sell whole).
    pub table_mode: String,
    /// Lines of the zone carry no IVA and show "(E)".
    pub tax_exempt: bool,
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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeatStatus {
    pub id: Uuid,
    pub row: String,
    pub number: i64,
    /// `available`, `held` or `sold`.
    pub status: String,
    /// The seat's price now: zone base, current stage, row markup, seat modifier.
    pub price_usd_cents: i64,
    /// The table the seat belongs to, if any.
    pub table_id: Option<Uuid>,
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
    /// The zone's price now (base and current stage), before row and seat modifiers.
    pub price_usd_cents: i64,
    /// The stage pricing the zone now, if any.
    pub stage: Option<PriceStage>,
    /// `by_seat` or `complete_only`.
    pub table_mode: String,
    /// Every seat with its status and price, for numbered zones; empty for general admission.
    pub seats: Vec<SeatStatus>,
    /// The zone's tables with the seats still available at each.
    pub tables: Vec<TableAvailability>,
}

/// A table of a numbered zone and what is left of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableAvailability {
    pub id: Uuid,
    pub name: String,
    pub seat_count: i64,
    pub available: i64,
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
    /// Pass as `cursor` to get the next page; `null` on the last page.
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
    /// A general-admission unit's price now (zone base and current stage).
    pub unit_price_usd_cents: Option<i64>,
    /// The hold's price now, before taxes, by the formula orders use. A quote:
    /// the order takes stage units and may price units past a stage's limit
    /// at the next stage.
    pub quoted_subtotal_usd_cents: i64,
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
    /// The seat's price now: zone base, current stage, row markup, seat modifier.
    #[serde(default)]
    pub price_usd_cents: i64,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// The price stage that priced the line, if one applied.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// Breakdown of the unit price, frozen when the order was created.
    #[serde(default)]
    pub price: Option<taquilla_domain::pricing::PriceBreakdown>,
    /// Exempt of IVA; shown with "(E)".
    #[serde(default)]
    pub exempt: bool,
    /// A courtesy: price 0, still a fiscal line.
    #[serde(default)]
    pub courtesy: bool,
    /// Ids of the tax rules applied to the line, frozen when the order was created.
    #[serde(default)]
    pub tax_rules: Vec<String>,
}

/// Base and tax of one tax rule on a document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaxTotal {
    /// Id of the tax rule applied.
    #[serde(default)]
    pub key: String,
    pub name: String,
    /// `iva` or `other`.
    #[serde(default = "default_tax_category")]
    pub category: String,
    /// `percentage`, `fixed_per_ticket` or `fixed_per_order`.
    #[serde(default = "default_tax_kind")]
    pub kind: String,
    #[serde(default)]
    pub compound: bool,
    /// Rate of a percentage rule, in basis points; 0 for fixed amounts.
    pub rate_basis_points: i64,
    /// Amount of a fixed rule, in USD cents; 0 for percentages.
    #[serde(default)]
    pub fixed_usd_cents: i64,
    pub base_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub base_bs_cents: i64,
    pub tax_bs_cents: i64,
}

fn default_tax_category() -> String {
    "iva".to_string()
}

fn default_tax_kind() -> String {
    "percentage".to_string()
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
    /// The order's rate, frozen on the payment.
    #[serde(default)]
    pub rate_scaled: i64,
    /// IGTF rate charged on this payment, in basis points; 0 when none was.
    #[serde(default)]
    pub igtf_basis_points: i64,
    /// Part of the tendered amount that IGTF was charged on, in `currency`.
    #[serde(default)]
    pub igtf_base_cents: i64,
    /// IGTF charged on top, in `currency` and in Bs.
    #[serde(default)]
    pub igtf_cents: i64,
    #[serde(default)]
    pub igtf_bs_cents: i64,
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
    /// Source of the rate, as recorded with it (for example `BCV`).
    #[serde(default)]
    pub source: String,
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
    /// Sum of the exempt lines, in both currencies.
    #[serde(default)]
    pub exempt_usd_cents: i64,
    #[serde(default)]
    pub exempt_bs_cents: i64,
    /// IGTF collected on the order's foreign-currency payments, charged on top
    /// of the total and never counted toward the balance.
    #[serde(default)]
    pub igtf_usd_cents: i64,
    #[serde(default)]
    pub igtf_bs_cents: i64,
    /// A courtesy order: every line at price 0.
    #[serde(default)]
    pub courtesy: bool,
    /// The discount code applied, if any.
    #[serde(default)]
    pub discount_code: Option<String>,
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
    /// Fiscal state of the order: `none` (not paid yet), `invoiced`,
    /// `pending_issue` (paid, and the job retries its invoice) or
    /// `issue_rejected` (paid, and an operator must act on the rejected
    /// invoice). A voided order whose credit note is still queued shows
    /// `credit_note_pending` or `credit_note_rejected`.
    #[serde(default)]
    pub fiscal_status: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Stage transitions this request caused; reported to metrics, not serialised.
    #[serde(skip)]
    pub stage_transitions: Vec<StageTransition>,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub hold_id: Uuid,
    pub customer_id: Uuid,
    /// Price every line at 0 (a cortesía); the caller checks the permission.
    pub courtesy: bool,
    /// A discount code of the event, validated and counted atomically.
    pub discount_code: Option<String>,
    /// Tickets to issue if the order's total is zero and it completes at once.
    pub tickets: Vec<NewTicket>,
    /// Code of the invoice series (for example the terminal's); the tenant's
    /// default series when empty.
    pub series: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentOutcome {
    pub payment: Payment,
    pub order: Order,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoidOutcome {
    pub order: Order,
    /// Empty while a credit note series with an external adapter has not
    /// issued it yet, and `order.fiscal_status` then shows it as queued.
    pub credit_note: Option<DocumentSummary>,
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
    /// Documents stored in the series, with the voided and reserved numbers of offline blocks.
    pub documents: i64,
    pub highest_number: i64,
}

/// Result of checking the invariants that no code path should ever break.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct IntegrityReport {
    /// Tenants whose audit chain length does not match its entries.
    pub audit_chains_broken: Vec<Uuid>,
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
        self.series_with_gaps.is_empty()
            && self.paid_orders_without_invoice == 0
            && self.audit_chains_broken.is_empty()
    }

    pub fn tenant_data_ok(&self) -> bool {
        self.paid_orders_without_tickets == 0
            && self.sold_seats_without_one_ticket == 0
            && self.oversold_zones == 0
    }
}

/// A price stage of an event, event-wide or for one zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceStage {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The zone of a zone-scoped stage; absent for an event-wide stage.
    pub zone_id: Option<Uuid>,
    pub position: i64,
    pub name: String,
    pub modifier: taquilla_domain::pricing::Modifier,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub quantity_limit: Option<i64>,
    /// Units priced at this stage on pending and paid orders.
    pub units_sold: i64,
    /// Units left before the quantity limit.
    pub units_left: Option<i64>,
    /// `upcoming`, `current` or `ended`.
    pub status: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPriceStage {
    pub zone_id: Option<Uuid>,
    pub name: String,
    pub modifier: taquilla_domain::pricing::Modifier,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub quantity_limit: Option<i64>,
}

/// The stage that prices a zone now, and the one after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneStage {
    pub zone_id: Uuid,
    pub zone_name: String,
    pub base_price_usd_cents: i64,
    /// The stage that prices the zone now; absent before the first stage starts.
    pub current: Option<PriceStage>,
    /// True when every stage is over and the last one keeps its price.
    pub finished: bool,
    /// Seconds until the current stage's window ends, if it has one.
    pub seconds_left: Option<i64>,
    pub next: Option<PriceStage>,
}

/// The end of a stage, recorded once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct StageTransition {
    pub id: Uuid,
    pub event_id: Uuid,
    pub zone_id: Option<Uuid>,
    pub stage_id: Uuid,
    /// `date_expired` or `quantity_reached`.
    pub trigger: String,
    pub units_sold: i64,
    pub occurred_at: DateTime<Utc>,
}

/// Scope of a tax rule: the tenant, one venue or one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxScope {
    Tenant,
    Venue { venue_id: Uuid },
    Event { event_id: Uuid },
}

#[derive(Debug, Clone)]
pub struct NewTaxRule {
    pub scope: TaxScope,
    pub name: String,
    pub category: taquilla_domain::tax::TaxCategory,
    pub kind: taquilla_domain::tax::TaxKind,
    pub compound: bool,
}

/// A tax rule and its place in the history: rules are never edited; a change
/// ends a rule and adds its successor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxRuleRecord {
    pub id: Uuid,
    /// `tenant`, `venue` or `event`.
    pub scope: String,
    pub venue_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub name: String,
    pub category: taquilla_domain::tax::TaxCategory,
    pub kind: taquilla_domain::tax::TaxKind,
    pub compound: bool,
    /// The rule this one replaced.
    pub supersedes_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// When the rule stopped applying; absent while in force.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Changes to a zone's pricing and sale settings; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ZonePricing {
    pub row_markup_basis_points: Option<i64>,
    /// Per-row markups by row label; `None` removes the row's override.
    pub row_overrides: Vec<(String, Option<i64>)>,
    /// Fixed per-seat modifiers in USD cents (0 removes one).
    pub seat_modifiers: Vec<(Uuid, i64)>,
    pub table_mode: Option<String>,
    pub tax_exempt: Option<bool>,
}

/// Seats `from..=to` of one row.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SeatRange {
    pub row: String,
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone)]
pub struct NewTableGroup {
    pub name: String,
    pub seat_count: i64,
    pub ranges: Vec<SeatRange>,
}

/// Seats of a numbered zone sold together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableGroup {
    pub id: Uuid,
    pub zone_id: Uuid,
    pub name: String,
    pub seat_count: i64,
    pub seat_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Whether and how a tenant collects IGTF.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IgtfSettings {
    pub enabled: bool,
    pub basis_points: i64,
    /// Payment methods whose foreign-currency payments pay IGTF.
    pub methods: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewDiscountCode {
    pub code: String,
    pub modifier: taquilla_domain::pricing::Modifier,
    pub max_uses: i64,
}

/// A discount code of an event with its uses so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscountCode {
    pub id: Uuid,
    pub event_id: Uuid,
    pub code: String,
    pub modifier: taquilla_domain::pricing::Modifier,
    pub max_uses: i64,
    pub uses: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Gauges of live sales read from the database by `taquilla metrics-export`.
/// Events and zones cover active events, and closed events that started at or
/// after the `closed_since` passed to [`crate::Store::export_gauges`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportGauges {
    pub events: Vec<EventGauges>,
    pub zones: Vec<ZoneGauges>,
    /// One entry per tenant, with 0 for tenants without active holds.
    pub holds: Vec<TenantHolds>,
    pub series: Vec<SeriesGauges>,
    /// True when more events matched than the `max_events` limit, so the
    /// events that start latest are missing.
    pub events_omitted: bool,
}

/// Sales of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGauges {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    /// Places sold in the event's zones; each sold place has one valid ticket.
    pub tickets_sold: i64,
    /// Sum of the totals of paid orders: taxes included, IGTF excluded.
    pub revenue_usd_cents: i64,
}

/// Places of one zone that are neither sold nor held by an unexpired hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneGauges {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub zone_id: Uuid,
    pub available: i64,
}

/// Holds of one tenant that are active and not yet past their expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantHolds {
    pub tenant_id: Uuid,
    pub active_holds: i64,
}

/// Numbers handed out by one fiscal series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesGauges {
    pub tenant_id: Uuid,
    /// Series code, for example `A`.
    pub series: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// The series counter minus one: numbers are gapless, so this is the
    /// number of documents issued in the series.
    pub documents_issued: i64,
}

/// A numbering series of invoices or credit notes, each gapless on its own.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiscalSeries {
    pub id: Uuid,
    pub code: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// `internal`, `digital_printer`, `fiscal_printer` or `offline`.
    pub adapter: String,
    pub description: String,
    /// The series a sale uses when the request names none.
    pub is_default: bool,
    /// For an invoice series, the series of the credit notes that correct it.
    pub credit_note_series: Option<String>,
    /// Documents recorded so far in this series.
    pub documents_issued: i64,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewFiscalSeries {
    pub code: String,
    pub kind: String,
    pub adapter: String,
    /// Adapter settings (for example a digital printer's URL and token).
    pub adapter_config: serde_json::Value,
    pub description: String,
    pub is_default: bool,
    pub credit_note_series: Option<String>,
}

/// A document waiting for an external adapter, as the issuing job reads it.
#[derive(Debug, Clone)]
pub struct PendingIssue {
    pub tenant_id: Uuid,
    /// Also the idempotency key sent to the adapter and the document's id.
    pub id: Uuid,
    pub order_id: Uuid,
    pub series: String,
    pub kind: String,
    pub adapter: String,
    pub adapter_config: serde_json::Value,
    pub content: serde_json::Value,
    pub attempts: i64,
}

/// A queued document, as an operator sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiscalIssueItem {
    pub id: Uuid,
    pub order_id: Uuid,
    pub series: String,
    pub kind: String,
    pub adapter: String,
    /// `pending` (retried by the job) or `rejected` (needs an operator).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// The numbers an external adapter returned for a document.
#[derive(Debug, Clone)]
pub struct ExternalIssued {
    pub number: i64,
    pub control_number: String,
    pub verification_url: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
}

/// Queue depth per status and the age of the oldest pending document.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FiscalQueueStats {
    pub pending: i64,
    pub rejected: i64,
    pub oldest_pending_seconds: i64,
}

/// Base and tax of one tax rate over a set of documents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RateTotal {
    /// `iva` or `other`.
    pub category: String,
    pub name: String,
    pub rate_basis_points: i64,
    pub base_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub base_bs_cents: i64,
    pub tax_bs_cents: i64,
}

/// Totals of the invoices or the credit notes of a fiscal day.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DocumentTotals {
    pub count: i64,
    pub rates: Vec<RateTotal>,
    pub exempt_usd_cents: i64,
    pub exempt_bs_cents: i64,
    pub igtf_usd_cents: i64,
    pub igtf_bs_cents: i64,
    /// Totals without IGTF.
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
}

/// Payments taken in a fiscal day, per method and currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethodTotal {
    pub method: String,
    pub currency: String,
    pub count: i64,
    /// In the payment's currency, IGTF included.
    pub amount_cents: i64,
    pub amount_bs_cents: i64,
    pub igtf_cents: i64,
    pub igtf_bs_cents: i64,
}

/// First and last numbers used in a series during a fiscal day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeriesRange {
    pub series: String,
    pub kind: String,
    pub count: i64,
    pub first_number: i64,
    pub last_number: i64,
    pub first_control_number: String,
    pub last_control_number: String,
}

/// Totals of a fiscal day (an X report, a Z report's content, or the
/// tenant-wide daily summary when `cashier_id` is empty).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiscalDayTotals {
    pub cashier_id: Option<Uuid>,
    #[schema(value_type = String, format = Date)]
    pub fiscal_day: chrono::NaiveDate,
    /// The day's bounds in UTC, `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub invoices: DocumentTotals,
    pub credit_notes: DocumentTotals,
    /// Invoices minus credit notes, IGTF excluded.
    pub net_total_usd_cents: i64,
    pub net_total_bs_cents: i64,
    pub payments: Vec<PaymentMethodTotal>,
    pub series: Vec<SeriesRange>,
    /// Documents of this cashier (or tenant) still with their adapter,
    /// pending or rejected, whatever day they were queued. A Z report waits for them.
    pub pending_documents: i64,
}

/// A cashier's fiscal day closing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ZReport {
    pub id: Uuid,
    /// Consecutive per cashier, from 1.
    pub number: i64,
    pub cashier_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub fiscal_day: chrono::NaiveDate,
    pub totals: FiscalDayTotals,
    pub closed_by: Uuid,
    pub closed_at: DateTime<Utc>,
}

/// One finding of a fiscal verification, naming the row at fault.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiscalProblem {
    /// `chain_break`, `hash_mismatch`, `sequence_gap`, `series_gap`,
    /// `duplicate_number`, `document_mismatch`, `missing_audit_entry`, …
    pub kind: String,
    /// Table and key of the row, for example `fiscal_documents id=…`.
    pub row: String,
    pub detail: String,
}

/// The result of checking a tenant's audit chain, series and Z reports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiscalVerification {
    pub tenant_id: Uuid,
    pub audit_entries: i64,
    pub documents: i64,
    pub series: i64,
    pub z_reports: i64,
    pub problems: Vec<FiscalProblem>,
}

impl FiscalVerification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A block of numbers of an offline series taken by a terminal.
#[derive(Debug, Clone)]
pub struct NewOfflineBlock {
    /// Code of an invoice series with the `offline` adapter.
    pub series: String,
    /// The terminal's name, as printed on its documents (e.g. `Taquilla 3`).
    pub terminal: String,
    pub size: i64,
    pub valid_for: chrono::Duration,
}

/// A terminal's block of consecutive document numbers and control numbers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfflineBlock {
    pub id: Uuid,
    pub series: String,
    pub terminal: String,
    /// The cashier who took the block; synced sales count on their fiscal day.
    pub cashier_id: Uuid,
    pub first_number: i64,
    pub last_number: i64,
    pub first_control_number: String,
    pub last_control_number: String,
    /// `open` or `closed`.
    pub status: String,
    /// `block_closed` or `block_expired` once closed.
    pub close_reason: Option<String>,
    /// The highest number synced so far (0 before the first sync).
    pub last_synced: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub voided: i64,
    /// Numbers not synced yet; voided when the block closes or expires.
    pub unresolved: i64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A whole sale in one transaction: the hold, the order and payments that
/// pay it. Used by the box-office quick sale and by offline sync.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub hold: NewHold,
    pub customer_id: Uuid,
    pub discount_code: Option<String>,
    /// Code of the invoice series; the tenant's default when empty. Offline
    /// sales always use their block's series.
    pub series: Option<String>,
    /// One signed ticket per seat or unit, issued when the sale completes.
    pub tickets: Vec<NewTicket>,
    pub payments: Vec<NewPayment>,
}

/// The use a terminal made of one number of its block.
#[derive(Debug, Clone)]
pub enum OfflineEntry {
    Sale(Box<NewSale>),
    /// The terminal did not use the number (a sale cancelled before printing).
    Void {
        reason: String,
    },
}

/// One number of a block as the terminal sends it in a sync.
#[derive(Debug, Clone)]
pub struct OfflineSale {
    pub number: i64,
    /// Hash of the item as sent; the same number sent again with another
    /// content is refused.
    pub request_hash: String,
    /// The terminal's own reference for the sale.
    pub local_id: Option<String>,
    /// When the terminal made the sale; the invoice carries this date.
    pub sold_at: DateTime<Utc>,
    pub entry: OfflineEntry,
}

/// The outcome of one number of a block.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfflineSaleResult {
    pub number: i64,
    pub control_number: String,
    /// `accepted` (invoiced), `rejected` (the sale could not be taken; see
    /// `reason`) or `voided` (the number was not used).
    pub outcome: String,
    /// Why a sale was rejected or a number voided: `seats_unavailable`,
    /// `insufficient_capacity`, `block_expired`, `out_of_order`, `amount_mismatch`, …
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub local_id: Option<String>,
    pub order_id: Option<Uuid>,
    pub invoice: Option<DocumentSummary>,
    /// True when an earlier sync settled this number and this is its record.
    pub replayed: bool,
}

/// An offline block closed at its expiry.
#[derive(Debug, Clone)]
pub struct ExpiredBlock {
    pub tenant_id: Uuid,
    pub block_id: Uuid,
    /// Numbers voided because the terminal had not synced them.
    pub voided: i64,
}

/// Sales of one event for the organiser's dashboard: places per zone, revenue
/// per payment method and sales per hour. Only paid orders count as revenue.
/// Voided, cancelled and expired orders are left out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventSalesSummary {
    pub event_id: Uuid,
    /// When the figures were read. Holds past their expiry at this instant
    /// count as available.
    pub taken_at: DateTime<Utc>,
    pub zones: Vec<ZoneSales>,
    /// Paid orders of the event.
    pub orders: i64,
    /// Places sold in paid orders.
    pub tickets: i64,
    /// Totals of the paid orders, taxes included, IGTF excluded.
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
    /// IGTF charged on the paid orders, on top of their totals.
    pub igtf_usd_cents: i64,
    pub igtf_bs_cents: i64,
    /// Payments of the paid orders, per method and currency, in method order.
    pub payments: Vec<PaymentMethodSales>,
    /// Paid orders per hour of completion, oldest first. Hours without sales
    /// are left out.
    pub hourly: Vec<HourlySales>,
}

/// Places of one zone of an event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ZoneSales {
    pub zone_id: Uuid,
    pub name: String,
    /// `general_admission` or `numbered`.
    pub kind: String,
    pub capacity: i64,
    pub sold: i64,
    /// Places in holds that have not expired.
    pub held: i64,
    pub available: i64,
}

/// Payments of an event's paid orders in one method and currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentMethodSales {
    /// `cash`, `card`, `transfer`, `pago_movil`, …
    pub method: String,
    /// Currency the customer paid in: `USD` or `VES`.
    pub currency: String,
    pub count: i64,
    /// Tendered, in `currency`, before change and without IGTF.
    pub amount_cents: i64,
    /// Bolívares applied to the orders, after change.
    pub applied_bs_cents: i64,
    /// `applied_bs_cents` converted at each order's exchange rate, rounded down
    /// per rate, so the sum over methods may be a few cents under the total.
    pub applied_usd_cents: i64,
    pub igtf_bs_cents: i64,
}

/// Paid orders completed within one hour.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HourlySales {
    /// Start of the hour in Caracas time, as a UTC instant.
    pub hour: DateTime<Utc>,
    pub orders: i64,
    pub tickets: i64,
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
}
