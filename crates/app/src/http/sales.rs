//! Holds, orders, payments and voids: the sale path.
//!
//! Requests that create something take an `Idempotency-Key` header (required
//! for payments); a retry with the same key and body replays the stored
//! response, marked with `Idempotent-Replayed: true`.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taquilla_domain::FieldError;
use taquilla_domain::bank::BankCode;
use taquilla_domain::identity::Document;
use taquilla_domain::money::Currency;
use taquilla_domain::phone::PhoneNumber;
use taquilla_store::model::{
    Hold, Idempotent, NewHold, NewOrder, NewPayment, NewSale, NewTicket, Order, OrderLine,
    PaymentOutcome, Role, VoidOutcome,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, IdPath, IdempotencyKey, NoQuery};
use crate::http::validate;
use crate::state::AppState;
use crate::tickets;

const SELLERS: &[Role] = &[Role::TenantAdmin, Role::Cashier, Role::ApiClient];
/// Largest number of seats or units in one hold.
pub const MAX_UNITS_PER_HOLD: i64 = 50;
/// Largest single payment: 10,000,000,000.00 in either currency.
const MAX_PAYMENT_CENTS: i64 = 1_000_000_000_000;
/// Maximum payments in one quick sale.
pub const MAX_SALE_PAYMENTS: usize = 10;

#[derive(Deserialize, ToSchema)]
pub struct CreateHold {
    pub zone_id: Uuid,
    /// Seats of a numbered zone.
    pub seat_ids: Option<Vec<Uuid>>,
    /// Units of a general-admission zone.
    pub quantity: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateOrder {
    pub hold_id: Uuid,
    pub customer_id: Uuid,
    /// A cortesía: every line at price 0, still on the invoice. Tenant admins only.
    #[serde(default)]
    pub courtesy: bool,
    /// A discount code of the event.
    pub discount_code: Option<String>,
    /// Code of the invoice series to use (for example the terminal's); the
    /// tenant's default series when empty.
    #[serde(default)]
    pub series: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct CreatePayment {
    /// `cash`, `card`, `transfer` or `pago_movil`.
    pub method: String,
    /// `USD` or `VES`; Pago Móvil is always `VES`.
    pub currency: String,
    /// Amount tendered, in cents of `currency`.
    pub amount_cents: i64,
    /// Cash only: currency of the change (default: the tendered currency).
    pub change_currency: Option<String>,
    /// Transfer and Pago Móvil: the payer's bank code (`0102`, `0134`, …).
    pub bank_code: Option<String>,
    /// Card: terminal reference; transfer and Pago Móvil: bank reference.
    pub reference: Option<String>,
    /// Pago Móvil: the payer's mobile number.
    pub phone: Option<String>,
    /// Pago Móvil: the payer's cédula or RIF.
    pub document: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct VoidOrder {
    pub reason: String,
}

/// Sends a replayed response exactly as it was first sent.
fn replay(status_code: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn respond<T: serde::Serialize>(status: StatusCode, result: Idempotent<T>) -> Response {
    match result {
        Idempotent::Fresh(value) => (status, Json(value)).into_response(),
        Idempotent::Replay { status_code, body } => replay(status_code, body),
    }
}

/// Holds seats of a numbered zone or units of a general-admission zone.
#[utoipa::path(post, path = "/api/v1/holds", tag = "sales", request_body = CreateHold,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Hold), (status = 404, description = "zone not found"),
        (status = 409, description = "seats_unavailable (details.seats names them) or insufficient_capacity; fiscal_day_closed after your Z report"), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_hold(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    uri: Uri,
    body: ApiJson<CreateHold>,
) -> ApiResult<Response> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let idempotency = key.request(&principal, uri.path(), &body.body_sha256);
    let hold = validate_hold(body.value)?;
    let zone_id = hold.zone_id;

    let result = state
        .store
        .create_hold(tenant_id, principal.user_id, idempotency, hold)
        .await;
    refresh_map_after_conflict(&state, tenant_id, zone_id, &result).await;
    let result = result?;
    if let Idempotent::Fresh(hold) = &result {
        tracing::info!(event = "hold_created", tenant.id = %tenant_id, hold.id = %hold.id, zone.id = %hold.zone_id, quantity = hold.quantity, "hold created");
        state.cache.invalidate_event(tenant_id, hold.event_id).await;
    }
    Ok(respond(StatusCode::CREATED, result))
}

/// Returns a hold; a hold past its expiry reads as `expired`.
#[utoipa::path(get, path = "/api/v1/holds/{id}", tag = "sales", params(("id" = Uuid, Path)),
    responses((status = 200, body = Hold), (status = 404)), security(("bearer" = [])))]
pub async fn get_hold(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<Hold>> {
    principal.require(SELLERS)?;
    Ok(Json(state.store.get_hold(principal.tenant()?, id).await?))
}

/// Releases a hold at once, cancelling its unpaid order.
#[utoipa::path(delete, path = "/api/v1/holds/{id}", tag = "sales", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "hold_not_active, order_has_payments")), security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    state.store.release_hold(tenant_id, id).await?;
    tracing::info!(event = "hold_released", tenant.id = %tenant_id, hold.id = %id, "hold released");
    let hold = state.store.get_hold(tenant_id, id).await?;
    state.cache.invalidate_event(tenant_id, hold.event_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an order from a hold and a customer, freezing prices, taxes and the
/// BCV rate of the day. The hold then cannot expire until the payment deadline.
#[utoipa::path(post, path = "/api/v1/orders", tag = "sales", request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Order), (status = 404), (status = 409, description = "hold_expired, hold_not_active, hold_already_ordered, exchange_rate_missing, event_not_on_sale, fiscal_day_closed"), (status = 422, description = "customer_document_required, unknown_series, series_wrong_kind")),
    security(("bearer" = [])))]
pub async fn create_order(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    uri: Uri,
    body: ApiJson<CreateOrder>,
) -> ApiResult<Response> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    if body.value.courtesy {
        principal.require(&[Role::TenantAdmin])?;
    }
    let idempotency = key.request(&principal, uri.path(), &body.body_sha256);
    let discount_code = body
        .value
        .discount_code
        .as_deref()
        .map(crate::http::pricing::normalise_code)
        .filter(|code| !code.is_empty());
    // An order with nothing to pay completes at once, so its tickets are
    // prepared here; they are dropped if the order has a balance.
    let hold = state.store.get_hold(tenant_id, body.value.hold_id).await?;
    let secret = state.signing_key(tenant_id).await?;
    let tickets = prepare_hold_tickets(&secret, tenant_id, &hold).map_err(ApiError::internal)?;
    let result = state
        .store
        .create_order(
            tenant_id,
            principal.user_id,
            idempotency,
            NewOrder {
                hold_id: body.value.hold_id,
                customer_id: body.value.customer_id,
                courtesy: body.value.courtesy,
                discount_code,
                tickets,
                series: body
                    .value
                    .series
                    .as_deref()
                    .map(|code| code.trim().to_uppercase())
                    .filter(|code| !code.is_empty()),
            },
        )
        .await?;
    if let Idempotent::Fresh(order) = &result {
        tracing::info!(event = "order_created", tenant.id = %tenant_id, order.id = %order.id, total_bs_cents = order.total_bs_cents, "order created");
        state
            .cache
            .invalidate_event(tenant_id, order.event_id)
            .await;
        crate::http::pricing::record_transitions(&state, tenant_id, &order.stage_transitions);
        if order.status == "paid" {
            record_sale(&state, tenant_id, order, 0.0);
        }
    }
    Ok(respond(StatusCode::CREATED, result))
}

/// Returns an order with its lines, taxes, payments and fiscal documents.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "sales", params(("id" = Uuid, Path)),
    responses((status = 200, body = Order), (status = 404)), security(("bearer" = [])))]
pub async fn get_order(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<Order>> {
    principal.require(SELLERS)?;
    Ok(Json(state.store.get_order(principal.tenant()?, id).await?))
}

/// Cancels an unpaid order and releases its seats.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "sales", params(("id" = Uuid, Path)),
    responses((status = 200, body = Order), (status = 404), (status = 409, description = "order_not_cancellable, order_has_payments")), security(("bearer" = [])))]
pub async fn cancel_order(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Order>> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let order = state.store.cancel_order(tenant_id, id).await?;
    state
        .cache
        .invalidate_event(tenant_id, order.event_id)
        .await;
    Ok(Json(order))
}

/// Replaces the cached map of a zone's event when the database refused seats
/// or units as taken: the seller saw them free, so the map they read may be
/// stale (for example after Redis came back with an old snapshot).
async fn refresh_map_after_conflict<T>(
    state: &AppState,
    tenant_id: Uuid,
    zone_id: Uuid,
    result: &Result<T, taquilla_store::StoreError>,
) {
    let Err(taquilla_store::StoreError::Conflict { code, .. }) = result else {
        return;
    };
    if !matches!(*code, "seats_unavailable" | "insufficient_capacity") {
        return;
    }
    if let Ok(event_id) = crate::http::catalogue::zone_event_id(state, tenant_id, zone_id).await {
        state.cache.invalidate_event(tenant_id, event_id).await;
    }
}

/// Checks a hold request: seats of a numbered zone (no duplicates, sorted) or
/// a quantity of a general-admission zone.
pub(crate) fn validate_hold(request: CreateHold) -> ApiResult<NewHold> {
    let mut errors = Vec::new();
    if request.seat_ids.as_ref().is_some_and(Vec::is_empty) && request.quantity.is_none() {
        errors.push(FieldError::new("seat_ids", "required"));
    }
    let mut seat_ids = request.seat_ids.unwrap_or_default();
    let quantity = match (seat_ids.is_empty(), request.quantity) {
        (false, Some(_)) => {
            errors.push(FieldError::new("quantity", "seats_or_quantity"));
            0
        }
        (false, None) => {
            if seat_ids.len() as i64 > MAX_UNITS_PER_HOLD {
                errors.push(FieldError::new("seat_ids", "too_long"));
            }
            let count = seat_ids.len();
            // Sorting finds duplicates; the store takes the seats in this ascending order.
            seat_ids.sort_unstable();
            seat_ids.dedup();
            if seat_ids.len() != count {
                errors.push(FieldError::new("seat_ids", "duplicate"));
            }
            seat_ids.len() as i64
        }
        (true, Some(quantity)) => {
            validate::range(&mut errors, "quantity", quantity, 1, MAX_UNITS_PER_HOLD);
            quantity
        }
        (true, None) => {
            if errors.is_empty() {
                errors.push(FieldError::new("quantity", "required"));
            }
            0
        }
    };
    validate::finish(errors)?;
    Ok(NewHold {
        zone_id: request.zone_id,
        seat_ids,
        quantity,
    })
}

pub(crate) struct ValidPayment {
    pub(crate) payment: NewPayment,
}

pub(crate) fn validate_payment(request: CreatePayment) -> ApiResult<ValidPayment> {
    let mut errors = Vec::new();
    let currency = Currency::parse(request.currency.trim());
    if currency.is_none() {
        errors.push(FieldError::new("currency", "invalid_value"));
    }
    validate::range(
        &mut errors,
        "amount_cents",
        request.amount_cents,
        1,
        MAX_PAYMENT_CENTS,
    );
    let method = request.method.trim().to_string();
    let change_currency = match request.change_currency.as_deref() {
        None => None,
        Some(text) if method == "cash" => match Currency::parse(text.trim()) {
            Some(currency) => Some(currency),
            None => {
                errors.push(FieldError::new("change_currency", "invalid_value"));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("change_currency", "not_allowed_for_method"));
            None
        }
    };

    let mut bank_code = None;
    let mut reference = None;
    let mut payer_phone = None;
    let mut payer_document = None;
    let mut require_reference = |errors: &mut Vec<FieldError>| {
        let value = validate::text(
            errors,
            "reference",
            request.reference.as_deref().unwrap_or_default(),
            64,
        );
        if !value.is_empty()
            && !value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        {
            errors.push(FieldError::new("reference", "invalid_value"));
        }
        reference = Some(value);
    };
    match method.as_str() {
        "cash" => {}
        "card" => require_reference(&mut errors),
        "transfer" | "pago_movil" => {
            require_reference(&mut errors);
            match BankCode::parse(
                request.bank_code.as_deref().unwrap_or_default(),
                "bank_code",
            ) {
                Ok(code) => bank_code = Some(code.code().to_string()),
                Err(error) => errors.push(error),
            }
            if method == "pago_movil" {
                if currency.is_some_and(|currency| currency != Currency::Ves) {
                    errors.push(FieldError::new("currency", "currency_for_method"));
                }
                match PhoneNumber::parse_mobile(
                    request.phone.as_deref().unwrap_or_default(),
                    "phone",
                ) {
                    Ok(phone) => payer_phone = Some(phone.e164().to_string()),
                    Err(error) => errors.push(error),
                }
                match Document::parse(request.document.as_deref().unwrap_or_default(), "document") {
                    Ok(document) => payer_document = Some(document.normalised()),
                    Err(error) => errors.push(error),
                }
            }
        }
        _ => errors.push(FieldError::new("method", "invalid_value")),
    }
    // A detail the method does not record is rejected rather than dropped.
    // Blank counts as absent, as forms send it.
    let filled =
        |value: &Option<String>| value.as_deref().is_some_and(|text| !text.trim().is_empty());
    for (field, value, methods) in [
        (
            "reference",
            &request.reference,
            &["card", "transfer", "pago_movil"][..],
        ),
        (
            "bank_code",
            &request.bank_code,
            &["transfer", "pago_movil"][..],
        ),
        ("phone", &request.phone, &["pago_movil"][..]),
        ("document", &request.document, &["pago_movil"][..]),
    ] {
        let known = ["cash", "card", "transfer", "pago_movil"].contains(&method.as_str());
        if known && filled(value) && !methods.contains(&method.as_str()) {
            errors.push(FieldError::new(field, "not_allowed_for_method"));
        }
    }
    validate::finish(errors)?;

    Ok(ValidPayment {
        payment: NewPayment {
            method,
            currency: currency.expect("validated above"),
            amount_cents: request.amount_cents,
            change_currency,
            bank_code,
            reference,
            payer_phone,
            payer_document,
            tickets: Vec::new(),
        },
    })
}

/// Prepares one signed ticket per seat or general-admission unit of a hold.
fn prepare_hold_tickets(
    secret: &[u8],
    tenant_id: Uuid,
    hold: &Hold,
) -> anyhow::Result<Vec<NewTicket>> {
    let new_hold = NewHold {
        zone_id: hold.zone_id,
        seat_ids: hold.seats.iter().map(|seat| seat.id).collect(),
        quantity: hold.quantity,
    };
    prepare_sale_tickets(secret, tenant_id, &new_hold)
}

/// Prepares one signed ticket per seat or general-admission unit of the order;
/// the store issues them only if this payment completes it.
fn prepare_tickets(
    secret: &[u8],
    tenant_id: Uuid,
    lines: &[OrderLine],
) -> anyhow::Result<Vec<NewTicket>> {
    let mut prepared = Vec::new();
    for line in lines {
        let units = if line.seat_id.is_some() {
            1
        } else {
            line.quantity
        };
        for _ in 0..units {
            let code = tickets::new_code();
            let qr_payload = tickets::sign(secret, tenant_id, &code)?;
            prepared.push(NewTicket {
                id: Uuid::now_v7(),
                code,
                zone_id: line.zone_id,
                seat_id: line.seat_id,
                qr_payload,
            });
        }
    }
    Ok(prepared)
}

/// Records a payment in USD or Bs. When the order is fully paid, it is
/// completed in the same transaction: seats sold, tickets issued and the
/// invoice numbered. Cash may exceed the balance and gets change.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", tag = "sales", params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = CreatePayment,
    responses((status = 201, body = PaymentOutcome), (status = 400, description = "idempotency_key_required"), (status = 404),
        (status = 409, description = "order_not_payable, order_expired, event_not_on_sale, amount_exceeds_balance, payment_reference_used, fiscal_day_closed"), (status = 422)),
    security(("bearer" = [])))]
pub async fn add_payment(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(order_id): IdPath,
    key: IdempotencyKey,
    uri: Uri,
    body: ApiJson<CreatePayment>,
) -> ApiResult<Response> {
    let started = Instant::now();
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let idempotency = key.required(&principal, uri.path(), &body.body_sha256)?;
    let method = body.value.method.clone();
    let mut valid = validate_payment(body.value)?.payment;

    let lines = state.store.get_order_lines(tenant_id, order_id).await?;
    let secret = state.signing_key(tenant_id).await?;
    valid.tickets = prepare_tickets(&secret, tenant_id, &lines).map_err(ApiError::internal)?;

    let result = state
        .store
        .add_payment(
            tenant_id,
            principal.user_id,
            Some(idempotency),
            order_id,
            valid,
        )
        .await;
    let elapsed = started.elapsed();
    let method_label = if matches!(method.as_str(), "cash" | "card" | "transfer" | "pago_movil") {
        method.as_str()
    } else {
        "other"
    };
    state
        .metrics
        .payment_processing_duration_seconds
        .with_label_values(&[method_label, if result.is_ok() { "true" } else { "false" }])
        .observe(elapsed.as_secs_f64());
    let result = result?;

    if let Idempotent::Fresh(outcome) = &result {
        tracing::info!(
            event = "payment_processed",
            tenant.id = %tenant_id,
            order.id = %order_id,
            payment.id = %outcome.payment.id,
            payment_method = %outcome.payment.method,
            amount_cents = outcome.payment.amount_cents,
            currency = %outcome.payment.currency,
            "payment processed"
        );
        state
            .cache
            .invalidate_event(tenant_id, outcome.order.event_id)
            .await;
        if outcome.order.status == "paid" {
            record_sale(
                &state,
                tenant_id,
                &outcome.order,
                elapsed.as_secs_f64() * 1000.0,
            );
        }
    }
    Ok(respond(StatusCode::CREATED, result))
}

/// Emits the sale metrics and the `ticket_purchase_completed` event once an order is paid.
pub(crate) fn record_sale(
    state: &AppState,
    tenant_id: Uuid,
    order: &Order,
    processing_time_ms: f64,
) {
    let first_method = order
        .payments
        .first()
        .map(|payment| payment.method.as_str())
        .unwrap_or("cash");
    let payment_method = if order
        .payments
        .iter()
        .all(|payment| payment.method == first_method)
    {
        first_method
    } else {
        "mixed"
    };
    let tenant = tenant_id.to_string();
    // Large deployments bound the series to one per tenant and payment method.
    let by_tenant_only = state.config.metrics_tenant_labels_only;
    let event = if by_tenant_only {
        String::new()
    } else {
        order.event_id.to_string()
    };

    // Revenue per line includes its share of the order's tax. The last line
    // takes the rounding remainder, so the lines add up to the order total.
    let mut tax_left = order.tax_usd_cents;
    for (index, line) in order.lines.iter().enumerate() {
        let tax_share = if index + 1 == order.lines.len() || order.subtotal_usd_cents == 0 {
            tax_left
        } else {
            order.tax_usd_cents * line.total_usd_cents / order.subtotal_usd_cents
        };
        tax_left -= tax_share;
        let zone = if by_tenant_only {
            String::new()
        } else {
            line.zone_id.to_string()
        };
        let labels = [
            event.as_str(),
            zone.as_str(),
            payment_method,
            tenant.as_str(),
        ];
        state
            .metrics
            .ticket_sales_total
            .with_label_values(&labels)
            .inc_by(line.quantity as u64);
        state
            .metrics
            .revenue_total
            .with_label_values(&labels)
            .inc_by((line.total_usd_cents + tax_share) as f64 / 100.0);
    }
    let tickets: i64 = order.lines.iter().map(|line| line.quantity).sum();
    tracing::info!(
        event = "ticket_purchase_completed",
        tenant.id = %tenant_id,
        order.id = %order.id,
        event.id = %order.event_id,
        tickets,
        amount_usd_cents = order.total_usd_cents,
        amount_bs_cents = order.total_bs_cents,
        payment_method,
        processing_time_ms,
        "ticket purchase completed"
    );
    match &order.invoice {
        Some(invoice) => {
            crate::http::fiscal::record_document_issued(state, tenant_id, order.id, invoice)
        }
        // The invoice waits for its series' adapter: wake the issuing job.
        None => state.issuing.notify_one(),
    }
}

/// Voids a paid order: its tickets are cancelled, its seats return to sale and
/// a credit note referencing the invoice is issued in its own series.
#[utoipa::path(post, path = "/api/v1/orders/{id}/void", tag = "sales", params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = VoidOrder,
    responses((status = 200, body = VoidOutcome), (status = 404), (status = 409, description = "order_not_voidable, invoice_pending, fiscal_day_closed")), security(("bearer" = [])))]
pub async fn void_order(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(order_id): IdPath,
    key: IdempotencyKey,
    uri: Uri,
    body: ApiJson<VoidOrder>,
) -> ApiResult<Response> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let idempotency = key.request(&principal, uri.path(), &body.body_sha256);
    let mut errors = Vec::new();
    let reason = validate::text(&mut errors, "reason", &body.value.reason, 500);
    validate::finish(errors)?;

    let result = state
        .store
        .void_order(tenant_id, principal.user_id, idempotency, order_id, reason)
        .await?;
    if let Idempotent::Fresh(outcome) = &result {
        tracing::info!(event = "order_voided", tenant.id = %tenant_id, order.id = %order_id, "order voided");
        state
            .cache
            .invalidate_event(tenant_id, outcome.order.event_id)
            .await;
        match &outcome.credit_note {
            Some(credit_note) => crate::http::fiscal::record_document_issued(
                &state,
                tenant_id,
                order_id,
                credit_note,
            ),
            None => state.issuing.notify_one(),
        }
    }
    Ok(respond(StatusCode::OK, result))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateSale {
    pub zone_id: Uuid,
    /// Seats of a numbered zone.
    pub seat_ids: Option<Vec<Uuid>>,
    /// Units of a general-admission zone.
    pub quantity: Option<i64>,
    /// A customer with a cédula or RIF, for the invoice.
    pub customer_id: Uuid,
    pub discount_code: Option<String>,
    /// Code of the invoice series (e.g. the box office's); the tenant's default when empty.
    pub series: Option<String>,
    /// Up to 10 payments that together pay the order as priced now. Cash may
    /// exceed it and gets change. None when the sale costs nothing, as with a
    /// 100 % discount code.
    #[serde(default)]
    pub payments: Vec<CreatePayment>,
}

/// Sells seats or units to a walk-in customer in one request and one
/// transaction: hold, order, payments, invoice and tickets. If the payments
/// do not pay the order (409 `amount_mismatch`, with the balance) or anything
/// else fails, nothing is written.
#[utoipa::path(post, path = "/api/v1/sales", tag = "sales", request_body = CreateSale,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = Order), (status = 400, description = "idempotency_key_required"), (status = 404),
        (status = 409, description = "seats_unavailable, insufficient_capacity, amount_mismatch, amount_exceeds_balance, exchange_rate_missing, event_not_on_sale, sale_window_closed, fiscal_day_closed"),
        (status = 422)),
    security(("bearer" = [])))]
pub async fn quick_sale(
    State(state): State<AppState>,
    principal: Principal,
    key: IdempotencyKey,
    uri: Uri,
    body: ApiJson<CreateSale>,
) -> ApiResult<Response> {
    let started = Instant::now();
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let idempotency = key.required(&principal, uri.path(), &body.body_sha256)?;
    let request = body.value;

    let mut errors = Vec::new();
    let hold = match validate_hold(CreateHold {
        zone_id: request.zone_id,
        seat_ids: request.seat_ids,
        quantity: request.quantity,
    }) {
        Ok(hold) => Some(hold),
        Err(ApiError::Validation(fields)) => {
            errors.extend(fields);
            None
        }
        Err(error) => return Err(error),
    };
    let payments = validate_payments(&mut errors, request.payments);
    validate::finish(errors)?;
    let hold = hold.expect("validated above");
    let zone_id = hold.zone_id;
    // The method that paid, or `mixed`, as the sales metrics label it.
    let method_label = match payments.first() {
        Some(first)
            if payments
                .iter()
                .all(|payment| payment.method == first.method) =>
        {
            first.method.clone()
        }
        _ => "mixed".to_string(),
    };

    let secret = state.signing_key(tenant_id).await?;
    let tickets = prepare_sale_tickets(&secret, tenant_id, &hold).map_err(ApiError::internal)?;
    let sale = NewSale {
        hold,
        customer_id: request.customer_id,
        discount_code: request
            .discount_code
            .as_deref()
            .map(crate::http::pricing::normalise_code)
            .filter(|code| !code.is_empty()),
        series: request
            .series
            .as_deref()
            .map(|code| code.trim().to_uppercase())
            .filter(|code| !code.is_empty()),
        tickets,
        payments,
    };
    let result = state
        .store
        .quick_sale(tenant_id, principal.user_id, Some(idempotency), sale)
        .await;
    let elapsed = started.elapsed();
    state
        .metrics
        .payment_processing_duration_seconds
        .with_label_values(&[
            method_label.as_str(),
            if result.is_ok() { "true" } else { "false" },
        ])
        .observe(elapsed.as_secs_f64());
    refresh_map_after_conflict(&state, tenant_id, zone_id, &result).await;
    let result = result?;
    if let Idempotent::Fresh(order) = &result {
        tracing::info!(event = "order_created", tenant.id = %tenant_id, order.id = %order.id, total_bs_cents = order.total_bs_cents, "order created by a quick sale");
        state
            .cache
            .invalidate_event(tenant_id, order.event_id)
            .await;
        crate::http::pricing::record_transitions(&state, tenant_id, &order.stage_transitions);
        record_sale(&state, tenant_id, order, elapsed.as_secs_f64() * 1000.0);
    }
    Ok(respond(StatusCode::CREATED, result))
}

/// Checks a whole sale's payments (at most 10), naming each failure with the
/// payment's position (`payments[1].reference`). An empty list is valid here
/// because a sale that costs nothing takes no payment. The store rejects
/// payments that do not pay the order with `amount_mismatch`.
pub fn validate_payments(
    errors: &mut Vec<FieldError>,
    requests: Vec<CreatePayment>,
) -> Vec<NewPayment> {
    if requests.len() > MAX_SALE_PAYMENTS {
        errors.push(FieldError::new("payments", "too_long"));
    }
    let mut payments = Vec::with_capacity(requests.len());
    for (position, payment) in requests.into_iter().enumerate() {
        match validate_payment(payment) {
            Ok(valid) => payments.push(valid.payment),
            Err(ApiError::Validation(fields)) => {
                errors.extend(fields.into_iter().map(|mut field| {
                    field.field = format!("payments[{position}].{}", field.field);
                    field
                }));
            }
            Err(_) => errors.push(FieldError::new(
                format!("payments[{position}]"),
                "invalid_value",
            )),
        }
    }
    payments
}

/// Prepares one signed ticket per seat or unit of a hold not yet made; the
/// store issues them if the sale completes.
pub(crate) fn prepare_sale_tickets(
    secret: &[u8],
    tenant_id: Uuid,
    hold: &NewHold,
) -> anyhow::Result<Vec<NewTicket>> {
    let seats: Vec<Option<Uuid>> = if hold.seat_ids.is_empty() {
        vec![None; hold.quantity.max(0) as usize]
    } else {
        hold.seat_ids.iter().copied().map(Some).collect()
    };
    seats
        .into_iter()
        .map(|seat_id| {
            let code = tickets::new_code();
            let qr_payload = tickets::sign(secret, tenant_id, &code)?;
            Ok(NewTicket {
                id: Uuid::now_v7(),
                code,
                zone_id: hold.zone_id,
                seat_id,
                qr_payload,
            })
        })
        .collect()
}
