//! Offline sales: a terminal takes a block of numbers of an offline series,
//! sells while the venue has no internet, and syncs its sales later. Each
//! synced number is settled once: accepted (invoiced with the number the
//! terminal printed), rejected with a reason (a seat sold online meanwhile,
//! a full zone, an expired block), or voided.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use taquilla_domain::FieldError;
use taquilla_store::StoreError;
use taquilla_store::model::{
    NewOfflineBlock, NewSale, OfflineBlock, OfflineEntry, OfflineSale, OfflineSaleResult, Page,
    Role,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{self, ApiJson, ApiQuery, IdPath, NoQuery, PageQuery};
use crate::http::sales::{
    CreateHold, CreatePayment, prepare_sale_tickets, validate_hold, validate_payments,
};
use crate::http::validate;
use crate::state::AppState;

const SELLERS: &[Role] = &[Role::TenantAdmin, Role::Cashier, Role::ApiClient];

/// Maximum numbers in one block.
pub const MAX_BLOCK_SIZE: i64 = 500;
/// Maximum validity of a block, in hours.
pub const MAX_BLOCK_HOURS: i64 = 48;
/// Sales per sync request.
const MAX_SYNC_ITEMS: usize = 100;

#[derive(Deserialize, ToSchema)]
pub struct CreateOfflineBlock {
    /// Code of an invoice series with the `offline` adapter.
    pub series: String,
    /// The terminal's name, e.g. `Taquilla 3` (at most 60 characters).
    pub terminal: String,
    /// Numbers in the block, 1 to 500 (default TAQUILLA_OFFLINE_BLOCK_SIZE, 50).
    pub size: Option<i64>,
    /// Hours the block stays valid, 1 to 48 (default TAQUILLA_OFFLINE_BLOCK_HOURS, 8).
    pub valid_hours: Option<i64>,
}

/// Takes a block of consecutive document and control numbers for a terminal
/// that is about to sell offline. The block belongs to the calling cashier:
/// its sales count on their fiscal day.
#[utoipa::path(post, path = "/api/v1/offline/blocks", tag = "offline", request_body = CreateOfflineBlock,
    responses((status = 201, body = OfflineBlock), (status = 409, description = "fiscal_day_closed"),
        (status = 422, description = "unknown_series, series_not_offline")),
    security(("bearer" = [])))]
pub async fn create_block(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateOfflineBlock>,
) -> ApiResult<(StatusCode, Json<OfflineBlock>)> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let body = body.value;
    let mut errors = Vec::new();
    let series = validate::text(&mut errors, "series", &body.series, 10).to_uppercase();
    let terminal = validate::text(&mut errors, "terminal", &body.terminal, 60);
    let size = body.size.unwrap_or(state.config.offline_block_size);
    validate::range(&mut errors, "size", size, 1, MAX_BLOCK_SIZE);
    let hours = body.valid_hours.unwrap_or(state.config.offline_block_hours);
    validate::range(&mut errors, "valid_hours", hours, 1, MAX_BLOCK_HOURS);
    validate::finish(errors)?;

    let block = state
        .store
        .create_offline_block(
            tenant_id,
            principal.user_id,
            NewOfflineBlock {
                series,
                terminal,
                size,
                valid_for: chrono::Duration::hours(hours),
            },
        )
        .await?;
    tracing::info!(
        event = "offline_block_assigned",
        tenant.id = %tenant_id,
        block.id = %block.id,
        series = %block.series,
        first_number = block.first_number,
        last_number = block.last_number,
        expires_at = %block.expires_at,
        "offline block assigned"
    );
    Ok((StatusCode::CREATED, Json(block)))
}

/// Lists the tenant's offline blocks, oldest first, with what became of their numbers.
#[utoipa::path(get, path = "/api/v1/offline/blocks", tag = "offline", params(PageQuery),
    responses((status = 200, body = Page<OfflineBlock>)), security(("bearer" = [])))]
pub async fn list_blocks(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<OfflineBlock>>> {
    principal.require(SELLERS)?;
    Ok(Json(
        state
            .store
            .list_offline_blocks(principal.tenant()?, query.page()?)
            .await?,
    ))
}

/// Returns one block with the counts of accepted, rejected, voided and
/// unsynced numbers.
#[utoipa::path(get, path = "/api/v1/offline/blocks/{id}", tag = "offline", params(("id" = Uuid, Path)),
    responses((status = 200, body = OfflineBlock), (status = 404)), security(("bearer" = [])))]
pub async fn get_block(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<OfflineBlock>> {
    principal.require(SELLERS)?;
    Ok(Json(
        state
            .store
            .get_offline_block(principal.tenant()?, id)
            .await?,
    ))
}

/// One number of the block as the terminal used it: a sale, or `void` with
/// the reason the number was not used.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct OfflineSaleItem {
    /// The document number the terminal printed, from the block.
    pub number: i64,
    /// The terminal's own reference (at most 64 characters).
    pub local_id: Option<String>,
    /// When the terminal sold, RFC 3339; the invoice carries this date.
    pub sold_at: DateTime<Utc>,
    /// Reason the number was not used (e.g. `cancelled_at_terminal`). A voided
    /// number has no sale fields.
    pub void: Option<String>,
    pub zone_id: Option<Uuid>,
    pub seat_ids: Option<Vec<Uuid>>,
    pub quantity: Option<i64>,
    /// A customer with a cédula or RIF; register new ones with `POST /customers` first.
    pub customer_id: Option<Uuid>,
    pub discount_code: Option<String>,
    /// Payments the terminal collected. They must pay the order as the server prices it.
    #[serde(default)]
    pub payments: Vec<CreatePayment>,
}

#[derive(Deserialize, ToSchema)]
pub struct SyncOfflineSales {
    /// 1 to 100 numbers in the terminal's order (increasing numbers).
    pub sales: Vec<OfflineSaleItem>,
}

/// The sync request as received: each item is kept as JSON for its hash.
#[derive(Deserialize)]
pub struct SyncRequest {
    sales: Vec<Value>,
}

/// A number the sync could not settle: a misuse of the block, or a cause staff
/// can fix (today's exchange rate missing, an unknown customer). The numbers
/// after it were not processed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncError {
    pub number: i64,
    /// `number_outside_block`, `offline_number_reused`, …
    pub code: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncOutcome {
    pub block: OfflineBlock,
    /// One result per number settled, in the order sent.
    pub results: Vec<OfflineSaleResult>,
    /// Set when a number could not be settled; send it and the rest again after fixing it.
    pub error: Option<SyncError>,
}

/// Reasons the server records; a terminal's own void reason may not pose as one.
pub const SERVER_REASONS: &[&str] = &[
    "block_closed",
    "block_expired",
    "out_of_order",
    "sold_at_out_of_range",
    "sold_at_before_previous",
    "amount_mismatch",
    "seats_unavailable",
    "insufficient_capacity",
];

/// Names the field of an item that does not parse, where serde's message names it.
fn parse_error(index: usize, error: &serde_json::Error) -> FieldError {
    let message = error.to_string();
    if let Some(field) = extract::unknown_field_name(&message) {
        return FieldError::new(format!("sales[{index}].{field}"), "unknown_field");
    }
    match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(field) => FieldError::new(format!("sales[{index}].{field}"), "required"),
        None => FieldError::new(format!("sales[{index}]"), "invalid_value"),
    }
}

/// Prefixes the fields of validation errors with the item's position.
fn in_item(index: usize, error: ApiError) -> Vec<FieldError> {
    match error {
        ApiError::Validation(errors) => errors
            .into_iter()
            .map(|mut field| {
                field.field = format!("sales[{index}].{}", field.field);
                field
            })
            .collect(),
        _ => vec![FieldError::new(format!("sales[{index}]"), "invalid_value")],
    }
}

/// Checks one item and turns it into what the store settles.
fn parse_item(
    index: usize,
    raw: &Value,
    secret: &[u8],
    tenant_id: Uuid,
) -> Result<OfflineSale, Vec<FieldError>> {
    let (item, unknown): (OfflineSaleItem, _) =
        extract::from_value_listing_unknown(raw).map_err(|error| {
            tracing::debug!(%error, index, "offline sale item does not parse");
            vec![parse_error(index, &error)]
        })?;
    if !unknown.is_empty() {
        return Err(extract::unknown_field_errors(
            &format!("sales[{index}]"),
            unknown,
        ));
    }
    // The hash covers the parsed item, so the same sale sent again with its
    // keys in another order or its time in another offset is a replay.
    let canonical = serde_json::to_string(&item).map_err(|error| {
        tracing::error!(%error, index, "offline sale item does not serialize");
        vec![FieldError::new(format!("sales[{index}]"), "invalid_value")]
    })?;
    let request_hash = hex::encode(Sha256::digest(canonical.as_bytes()));
    let mut errors = Vec::new();
    if item.number < 1 {
        errors.push(FieldError::new("number", "out_of_range"));
    }
    let local_id = validate::optional_text(&mut errors, "local_id", item.local_id.as_deref(), 64);
    let has_sale = item.zone_id.is_some()
        || item.seat_ids.is_some()
        || item.quantity.is_some()
        || item.customer_id.is_some()
        || item.discount_code.is_some()
        || !item.payments.is_empty();
    let entry = if let Some(reason) = item.void.as_deref() {
        let reason = validate::text(&mut errors, "void", reason, 100);
        if SERVER_REASONS.contains(&reason.as_str()) {
            errors.push(FieldError::new("void", "reason_reserved"));
        }
        if has_sale {
            errors.push(FieldError::new("void", "void_with_sale"));
        }
        validate::finish(errors).map_err(|error| in_item(index, error))?;
        OfflineEntry::Void { reason }
    } else {
        if item.zone_id.is_none() {
            errors.push(FieldError::new("zone_id", "required"));
        }
        if item.customer_id.is_none() {
            errors.push(FieldError::new("customer_id", "required"));
        }
        let discount_code = item
            .discount_code
            .as_deref()
            .map(crate::http::pricing::normalise_code)
            .filter(|code| !code.is_empty());
        let hold = validate_hold(CreateHold {
            zone_id: item.zone_id.unwrap_or_default(),
            seat_ids: item.seat_ids,
            quantity: item.quantity,
        });
        let payments = validate_payments(&mut errors, item.payments);
        let hold = match hold {
            Ok(hold) => Some(hold),
            Err(ApiError::Validation(fields)) => {
                errors.extend(fields);
                None
            }
            Err(error) => return Err(in_item(index, error)),
        };
        validate::finish(errors).map_err(|error| in_item(index, error))?;
        let hold = hold.expect("validated above");
        let tickets = prepare_sale_tickets(secret, tenant_id, &hold).map_err(|error| {
            tracing::error!(error.cause_chain = ?error, "cannot sign offline tickets");
            vec![FieldError::new(format!("sales[{index}]"), "invalid_value")]
        })?;
        OfflineEntry::Sale(Box::new(NewSale {
            hold,
            customer_id: item.customer_id.expect("validated above"),
            discount_code,
            series: None,
            tickets,
            payments,
        }))
    };
    Ok(OfflineSale {
        number: item.number,
        request_hash,
        local_id,
        sold_at: item.sold_at,
        entry,
    })
}

/// Checks that the caller may act on the block: its cashier or a tenant admin.
async fn owned_block(
    state: &AppState,
    principal: &Principal,
    block_id: Uuid,
) -> ApiResult<OfflineBlock> {
    principal.require(SELLERS)?;
    let block = state
        .store
        .get_offline_block(principal.tenant()?, block_id)
        .await?;
    if block.cashier_id != principal.user_id && principal.role != Role::TenantAdmin {
        return Err(ApiError::Forbidden);
    }
    Ok(block)
}

/// Syncs sales a terminal made offline, in the terminal's order. Each number
/// is settled once. It is `accepted` when its seats or units are still free
/// and its payments pay the order as the server prices it, and the invoice
/// keeps the terminal's number, control number and time. Otherwise it is
/// `rejected` with the reason, or `voided`. Sending a number again returns
/// what was recorded, so a sync cut off halfway can be sent again whole.
#[utoipa::path(post, path = "/api/v1/offline/blocks/{id}/sync", tag = "offline", params(("id" = Uuid, Path)),
    request_body = SyncOfflineSales,
    responses((status = 200, body = SyncOutcome), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn sync_block(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(block_id): IdPath,
    body: ApiJson<SyncRequest>,
) -> ApiResult<Json<SyncOutcome>> {
    owned_block(&state, &principal, block_id).await?;
    let tenant_id = principal.tenant()?;
    let raw = body.value.sales;
    if raw.is_empty() {
        return Err(FieldError::new("sales", "required").into());
    }
    if raw.len() > MAX_SYNC_ITEMS {
        return Err(FieldError::new("sales", "too_long").into());
    }
    let secret = state.signing_key(tenant_id).await?;
    let mut errors = Vec::new();
    let mut sales = Vec::with_capacity(raw.len());
    for (index, item) in raw.iter().enumerate() {
        match parse_item(index, item, &secret, tenant_id) {
            Ok(sale) => {
                if sales
                    .last()
                    .is_some_and(|previous: &OfflineSale| previous.number >= sale.number)
                {
                    errors.push(FieldError::new(
                        format!("sales[{index}].number"),
                        "not_increasing",
                    ));
                }
                sales.push(sale);
            }
            Err(fields) => errors.extend(fields),
        }
    }
    validate::finish(errors)?;

    let mut results = Vec::with_capacity(sales.len());
    let mut error = None;
    for sale in sales {
        let number = sale.number;
        match state
            .store
            .sync_offline_sale(tenant_id, block_id, sale)
            .await
        {
            Ok(result) => {
                record_result(&state, tenant_id, block_id, &result).await;
                results.push(result);
            }
            Err(StoreError::Conflict { code, details }) => {
                error = Some(SyncError {
                    number,
                    code: code.to_string(),
                    details,
                });
                break;
            }
            Err(StoreError::Invalid(field)) => {
                error = Some(SyncError {
                    number,
                    code: field.rule.clone(),
                    details: serde_json::json!({ "field": field.field }),
                });
                break;
            }
            Err(StoreError::NotFound(entity)) => {
                error = Some(SyncError {
                    number,
                    code: "not_found".to_string(),
                    details: serde_json::json!({ "entity": entity }),
                });
                break;
            }
            Err(other) => return Err(other.into()),
        }
    }
    let block = state.store.get_offline_block(tenant_id, block_id).await?;
    Ok(Json(SyncOutcome {
        block,
        results,
        error,
    }))
}

/// Logs a settled number and counts a newly accepted sale like an online one.
async fn record_result(
    state: &AppState,
    tenant_id: Uuid,
    block_id: Uuid,
    result: &OfflineSaleResult,
) {
    if result.replayed {
        return;
    }
    tracing::info!(
        event = "offline_sale_synced",
        tenant.id = %tenant_id,
        block.id = %block_id,
        number = result.number,
        outcome = %result.outcome,
        reason = result.reason.as_deref().unwrap_or(""),
        "offline number settled"
    );
    if let Some(order_id) = result.order_id {
        match state.store.get_order(tenant_id, order_id).await {
            Ok(order) => {
                state
                    .cache
                    .invalidate_event(tenant_id, order.event_id)
                    .await;
                crate::http::sales::record_sale(state, tenant_id, &order, 0.0)
            }
            Err(error) => {
                tracing::warn!(error.cause_chain = ?error, order.id = %order_id, "synced order not counted in metrics")
            }
        }
    }
}

/// Closes a block when the terminal is back online for good: the numbers
/// not synced are voided, so the series has no gap. Expired blocks are
/// closed the same way by the background job.
#[utoipa::path(post, path = "/api/v1/offline/blocks/{id}/close", tag = "offline", params(("id" = Uuid, Path)),
    responses((status = 200, body = OfflineBlock), (status = 403), (status = 404), (status = 409, description = "offline_block_closed")),
    security(("bearer" = [])))]
pub async fn close_block(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(block_id): IdPath,
) -> ApiResult<Json<OfflineBlock>> {
    owned_block(&state, &principal, block_id).await?;
    let tenant_id = principal.tenant()?;
    let block = state.store.close_offline_block(tenant_id, block_id).await?;
    tracing::info!(
        event = "offline_block_closed",
        tenant.id = %tenant_id,
        block.id = %block_id,
        voided = block.voided,
        "offline block closed"
    );
    Ok(Json(block))
}
