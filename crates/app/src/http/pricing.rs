//! Pricing: price stages and their transitions, zone row and seat pricing,
//! tables, tax rules, IGTF settings, discount codes and pinned rates.
//!
//! The price formula itself lives in `taquilla_domain::pricing`; the store
//! applies it the same way for availability quotes and orders.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use taquilla_domain::FieldError;
use taquilla_domain::pricing::Modifier;
use taquilla_domain::tax::{TaxCategory, TaxKind, TaxRule};
use taquilla_store::model::{
    DiscountCode, Event, IgtfSettings, NewDiscountCode, NewPriceStage, NewTableGroup, NewTaxRule,
    Page, PriceStage, Role, SeatRange, StageTransition, TableGroup, TaxRuleRecord, TaxScope, Zone,
    ZonePricing, ZoneStage,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use axum::response::Response;

use crate::auth::Principal;
use crate::cache::Group;
use crate::error::{ApiError, ApiResult};
use crate::http::catalogue::{cached_json, zone_event_id};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, NoQuery, PageQuery};
use crate::http::validate;
use crate::state::AppState;

/// Roles that may read prices and stages.
const READERS: &[Role] = &[Role::TenantAdmin, Role::Cashier, Role::ApiClient];
const ADMINS: &[Role] = &[Role::TenantAdmin];
/// Largest quantity limit of one stage.
const MAX_STAGE_QUANTITY: i64 = 1_000_000;
/// Largest row markup: +1000 %, and at most -100 %.
const ROW_MARKUP_RANGE: (i64, i64) = (-10_000, 100_000);
/// Largest fixed seat modifier, either way: US$ 10,000.00.
const MAX_SEAT_MODIFIER_CENTS: i64 = 1_000_000;
/// Payment methods that may be listed as paying IGTF.
const PAYMENT_METHODS: &[&str] = &["cash", "card", "transfer", "pago_movil"];

/// Counts and logs stage transitions after their transaction committed.
pub fn record_transitions(state: &AppState, tenant_id: Uuid, transitions: &[StageTransition]) {
    let tenant = tenant_id.to_string();
    let by_tenant_only = state.config.metrics_tenant_labels_only;
    for transition in transitions {
        let (event, zone) = if by_tenant_only {
            (String::new(), String::new())
        } else {
            (
                transition.event_id.to_string(),
                transition
                    .zone_id
                    .map(|zone| zone.to_string())
                    .unwrap_or_default(),
            )
        };
        state
            .metrics
            .stage_transitions_total
            .with_label_values(&[
                event.as_str(),
                zone.as_str(),
                transition.trigger.as_str(),
                tenant.as_str(),
            ])
            .inc();
        tracing::info!(
            event = "stage_transition",
            tenant.id = %tenant_id,
            event.id = %transition.event_id,
            stage.id = %transition.stage_id,
            trigger = %transition.trigger,
            units_sold = transition.units_sold,
            "price stage ended"
        );
    }
}

/// Records the date transitions due for an event before its stages are read,
/// and counts them.
async fn apply_due_transitions(state: &AppState, tenant_id: Uuid, event_id: Uuid) -> ApiResult<()> {
    let transitions = state
        .store
        .apply_stage_transitions(tenant_id, event_id)
        .await?;
    record_transitions(state, tenant_id, &transitions);
    if !transitions.is_empty() {
        state.cache.invalidate_event(tenant_id, event_id).await;
    }
    Ok(())
}

fn parse_instant(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(instant) => Some(instant.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(field, "datetime_format"));
            None
        }
    }
}

/// Parses an id sent in a request body; a malformed one is a 422 on `field`.
fn parse_optional_id(value: Option<&str>, field: &str) -> ApiResult<Option<Uuid>> {
    value
        .map(|text| Uuid::parse_str(text.trim()).map_err(|_| ApiError::field(field, "uuid")))
        .transpose()
}

#[derive(Deserialize, ToSchema)]
pub struct CreateStage {
    /// A zone of the event for a zone-scoped stage; absent for an event-wide stage.
    pub zone_id: Option<String>,
    pub name: String,
    /// `{"kind": "percent", "basis_points": -2000}` (−20 %) or `{"kind": "fixed", "usd_cents": 500}`.
    pub modifier: Modifier,
    /// RFC 3339 with offset.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Units (tickets) the stage sells before the next one starts.
    pub quantity_limit: Option<i64>,
}

/// Adds a price stage at the end of its scope's sequence.
#[utoipa::path(post, path = "/api/v1/events/{id}/stages", tag = "pricing", params(("id" = Uuid, Path)), request_body = CreateStage,
    responses((status = 201, body = PriceStage), (status = 404), (status = 409, description = "event_not_editable"),
        (status = 422, description = "stage_window_overlaps, stage_quantity_exceeds_capacity")),
    security(("bearer" = [])))]
pub async fn create_stage(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    body: ApiJson<CreateStage>,
) -> ApiResult<(StatusCode, Json<PriceStage>)> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let zone_id = parse_optional_id(request.zone_id.as_deref(), "zone_id")?;
    let mut errors = Vec::new();
    let name = validate::text(&mut errors, "name", &request.name, 80);
    if let Err(error) = request.modifier.validate() {
        errors.push(error);
    }
    let starts_at = parse_instant(&mut errors, "starts_at", request.starts_at.as_deref());
    let ends_at = parse_instant(&mut errors, "ends_at", request.ends_at.as_deref());
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && end <= start
    {
        errors.push(FieldError::new("ends_at", "after_start"));
    }
    if let Some(limit) = request.quantity_limit {
        validate::range(&mut errors, "quantity_limit", limit, 1, MAX_STAGE_QUANTITY);
    }
    validate::finish(errors)?;
    let stage = state
        .store
        .create_price_stage(
            tenant_id,
            event_id,
            NewPriceStage {
                zone_id,
                name,
                modifier: request.modifier,
                starts_at,
                ends_at,
                quantity_limit: request.quantity_limit,
            },
        )
        .await?;
    state.cache.invalidate_event(tenant_id, event_id).await;
    Ok((StatusCode::CREATED, Json(stage)))
}

/// Lists a page of an event's stages in position order (ties by id), with
/// their status now.
#[utoipa::path(get, path = "/api/v1/events/{id}/stages", tag = "pricing", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<PriceStage>), (status = 400, description = "invalid_cursor"), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_stages(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<PriceStage>>> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    apply_due_transitions(&state, tenant_id, event_id).await?;
    Ok(Json(
        state
            .store
            .list_price_stages(tenant_id, event_id, page)
            .await?,
    ))
}

/// For each zone: the stage pricing it now (name, modifier, units and time
/// left) and the next stage. Date transitions that are due are recorded first.
#[utoipa::path(get, path = "/api/v1/events/{id}/stages/current", tag = "pricing", params(("id" = Uuid, Path)),
    responses((status = 200, body = [ZoneStage]), (status = 404)), security(("bearer" = [])))]
pub async fn current_stages(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(event_id): IdPath,
) -> ApiResult<Response> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    // A cached response is at most TAQUILLA_CACHE_TTL_SECONDS old. A date
    // transition due meanwhile is recorded by the next miss or the sweeper.
    cached_json(
        &state,
        Group::event(tenant_id, event_id),
        crate::cache::CURRENT_STAGES_FIELD,
        || async {
            apply_due_transitions(&state, tenant_id, event_id).await?;
            Ok::<_, ApiError>(state.store.zone_stages(tenant_id, event_id).await?)
        },
    )
    .await
}

/// Ends a stage by hand, for a stage created by mistake or a price stopped
/// early; the next stage of its scope starts at once.
#[utoipa::path(post, path = "/api/v1/stages/{id}/end", tag = "pricing", params(("id" = Uuid, Path)),
    responses((status = 200, body = StageTransition), (status = 404), (status = 409, description = "stage_ended")),
    security(("bearer" = [])))]
pub async fn end_stage(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(stage_id): IdPath,
) -> ApiResult<Json<StageTransition>> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let transition = state.store.end_price_stage(tenant_id, stage_id).await?;
    record_transitions(&state, tenant_id, std::slice::from_ref(&transition));
    state
        .cache
        .invalidate_event(tenant_id, transition.event_id)
        .await;
    Ok(Json(transition))
}

/// Lists a page of the event's stage transitions, oldest first (ties by id).
#[utoipa::path(get, path = "/api/v1/events/{id}/stages/transitions", tag = "pricing", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<StageTransition>), (status = 400, description = "invalid_cursor"), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_transitions(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<StageTransition>>> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    apply_due_transitions(&state, tenant_id, event_id).await?;
    Ok(Json(
        state
            .store
            .list_stage_transitions(tenant_id, event_id, page)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct RowMarkup {
    /// Row label, for example `A` or `AA`.
    pub row: String,
    /// Markup in basis points (1000 = +10 %); `null` removes the row's override.
    pub basis_points: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct SeatModifier {
    pub seat_id: String,
    /// Fixed amount added to the seat's price, in USD cents (negative lowers it; 0 removes it).
    pub usd_cents: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateZonePricing {
    /// Markup of every row, in basis points, unless the row overrides it.
    pub row_markup_basis_points: Option<i64>,
    #[serde(default)]
    pub rows: Vec<RowMarkup>,
    #[serde(default)]
    pub seats: Vec<SeatModifier>,
    /// `by_seat` or `complete_only`.
    pub table_mode: Option<String>,
    /// Lines of the zone carry no IVA and show "(E)".
    pub tax_exempt: Option<bool>,
}

/// Changes a zone's row markups, seat modifiers, table mode or IVA exemption.
/// Orders already created keep their frozen prices.
#[utoipa::path(patch, path = "/api/v1/zones/{id}/pricing", tag = "pricing", params(("id" = Uuid, Path)), request_body = UpdateZonePricing,
    responses((status = 200, body = Zone), (status = 404), (status = 409, description = "row_not_found, seat_not_found"), (status = 422)),
    security(("bearer" = [])))]
pub async fn update_zone_pricing(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(zone_id): IdPath,
    body: ApiJson<UpdateZonePricing>,
) -> ApiResult<Json<Zone>> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let (min_markup, max_markup) = ROW_MARKUP_RANGE;
    if let Some(markup) = request.row_markup_basis_points {
        validate::range(
            &mut errors,
            "row_markup_basis_points",
            markup,
            min_markup,
            max_markup,
        );
    }
    let mut row_overrides = Vec::new();
    for (index, row) in request.rows.iter().enumerate() {
        let label = validate::text(&mut errors, &format!("rows[{index}].row"), &row.row, 8);
        if let Some(markup) = row.basis_points {
            validate::range(
                &mut errors,
                &format!("rows[{index}].basis_points"),
                markup,
                min_markup,
                max_markup,
            );
        }
        row_overrides.push((label.to_uppercase(), row.basis_points));
    }
    let mut seat_modifiers = Vec::new();
    for (index, seat) in request.seats.iter().enumerate() {
        let seat_id = Uuid::parse_str(seat.seat_id.trim())
            .map_err(|_| ApiError::field(&format!("seats[{index}].seat_id"), "uuid"))?;
        validate::range(
            &mut errors,
            &format!("seats[{index}].usd_cents"),
            seat.usd_cents,
            -MAX_SEAT_MODIFIER_CENTS,
            MAX_SEAT_MODIFIER_CENTS,
        );
        seat_modifiers.push((seat_id, seat.usd_cents));
    }
    if request.rows.len() > 1_000 || request.seats.len() > 10_000 {
        errors.push(FieldError::new("seats", "too_many"));
    }
    if let Some(mode) = &request.table_mode
        && !matches!(mode.as_str(), "by_seat" | "complete_only")
    {
        errors.push(FieldError::new(
            "table_mode",
            "one_of_by_seat_complete_only",
        ));
    }
    validate::finish(errors)?;
    let zone = state
        .store
        .update_zone_pricing(
            tenant_id,
            zone_id,
            ZonePricing {
                row_markup_basis_points: request.row_markup_basis_points,
                row_overrides,
                seat_modifiers,
                table_mode: request.table_mode,
                tax_exempt: request.tax_exempt,
            },
        )
        .await?;
    state.cache.invalidate_event(tenant_id, zone.event_id).await;
    Ok(Json(zone))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTable {
    pub name: String,
    /// Seats the table has; must equal the seats the ranges select.
    pub seat_count: i64,
    /// Seat ranges, for example `[{"row": "A", "from": 1, "to": 4}]`.
    pub seats: Vec<SeatRange>,
}

/// Groups seats of a numbered zone into a table.
#[utoipa::path(post, path = "/api/v1/zones/{id}/tables", tag = "pricing", params(("id" = Uuid, Path)), request_body = CreateTable,
    responses((status = 201, body = TableGroup), (status = 404), (status = 409, description = "seat_not_found, seat_already_in_table, table_name_taken"),
        (status = 422, description = "does_not_match_seats")),
    security(("bearer" = [])))]
pub async fn create_table(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(zone_id): IdPath,
    body: ApiJson<CreateTable>,
) -> ApiResult<(StatusCode, Json<TableGroup>)> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let name = validate::text(&mut errors, "name", &request.name, 80);
    validate::range(&mut errors, "seat_count", request.seat_count, 1, 100);
    if request.seats.is_empty() || request.seats.len() > 20 {
        errors.push(FieldError::new("seats", "out_of_range"));
    }
    let mut ranges = Vec::new();
    for (index, range) in request.seats.iter().enumerate() {
        let row = validate::text(&mut errors, &format!("seats[{index}].row"), &range.row, 8);
        if range.from < 1 || range.to < range.from || range.to - range.from >= 100 {
            errors.push(FieldError::new(
                format!("seats[{index}].to"),
                "out_of_range",
            ));
        }
        ranges.push(SeatRange {
            row: row.to_uppercase(),
            from: range.from,
            to: range.to,
        });
    }
    validate::finish(errors)?;
    let table = state
        .store
        .create_table_group(
            tenant_id,
            zone_id,
            NewTableGroup {
                name,
                seat_count: request.seat_count,
                ranges,
            },
        )
        .await?;
    let event_id = zone_event_id(&state, tenant_id, zone_id).await?;
    state.cache.invalidate_event(tenant_id, event_id).await;
    Ok((StatusCode::CREATED, Json(table)))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTaxRule {
    /// `tenant`, `venue` or `event`.
    pub scope: String,
    /// The venue of a venue-scoped rule (a municipal tax on public shows).
    pub venue_id: Option<String>,
    /// The event of an event-scoped rule.
    pub event_id: Option<String>,
    pub name: String,
    /// `iva` (exempt lines skip it) or `other`.
    pub category: TaxCategory,
    /// `{"kind": "percentage", "basis_points": 1600}`, `{"kind": "fixed_per_ticket", "usd_cents": 50}`
    /// or `{"kind": "fixed_per_order", "usd_cents": 100}`.
    pub kind: TaxKind,
    /// Taxed on the base plus the non-compound taxes.
    #[serde(default)]
    pub compound: bool,
}

fn validate_tax_rule(request: CreateTaxRule) -> ApiResult<NewTaxRule> {
    let mut errors = Vec::new();
    let name = validate::text(&mut errors, "name", &request.name, 80);
    let scope = match request.scope.as_str() {
        "tenant" => TaxScope::Tenant,
        "venue" => TaxScope::Venue {
            venue_id: parse_optional_id(request.venue_id.as_deref(), "venue_id")?
                .ok_or_else(|| ApiError::field("venue_id", "required"))?,
        },
        "event" => TaxScope::Event {
            event_id: parse_optional_id(request.event_id.as_deref(), "event_id")?
                .ok_or_else(|| ApiError::field("event_id", "required"))?,
        },
        _ => return Err(ApiError::field("scope", "one_of_tenant_venue_event")),
    };
    let scoped_to_venue = matches!(scope, TaxScope::Venue { .. });
    let scoped_to_event = matches!(scope, TaxScope::Event { .. });
    if request.venue_id.is_some() && !scoped_to_venue {
        errors.push(FieldError::new("venue_id", "not_allowed_for_scope"));
    }
    if request.event_id.is_some() && !scoped_to_event {
        errors.push(FieldError::new("event_id", "not_allowed_for_scope"));
    }
    let rule = TaxRule {
        key: String::new(),
        name: name.clone(),
        category: request.category,
        kind: request.kind,
        compound: request.compound,
    };
    // The name was checked above; the rule's own check covers the amounts.
    if let Err(error) = rule.validate()
        && error.field != "name"
    {
        errors.push(error);
    }
    match request.kind {
        TaxKind::Percentage { .. } => {}
        TaxKind::FixedPerTicket { usd_cents } | TaxKind::FixedPerOrder { usd_cents } => {
            if request.compound {
                errors.push(FieldError::new("compound", "compound_percentage_only"));
            }
            if usd_cents == 0 {
                errors.push(FieldError::new("kind.usd_cents", "positive"));
            }
        }
    }
    validate::finish(errors)?;
    Ok(NewTaxRule {
        scope,
        name,
        category: request.category,
        kind: request.kind,
        compound: request.compound,
    })
}

/// Adds a tax rule for the tenant, a venue or an event.
#[utoipa::path(post, path = "/api/v1/tax-rules", tag = "pricing", request_body = CreateTaxRule,
    responses((status = 201, body = TaxRuleRecord), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn create_tax_rule(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateTaxRule>,
) -> ApiResult<(StatusCode, Json<TaxRuleRecord>)> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let rule = validate_tax_rule(body.value)?;
    let created = state
        .store
        .create_tax_rule(tenant_id, principal.user_id, rule)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaxRuleQuery {
    /// Include rules no longer in force (the history).
    pub include_ended: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Lists the tenant's tax rules; with `include_ended=true`, the whole history.
#[utoipa::path(get, path = "/api/v1/tax-rules", tag = "pricing", params(TaxRuleQuery),
    responses((status = 200, body = Page<TaxRuleRecord>)), security(("bearer" = [])))]
pub async fn list_tax_rules(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<TaxRuleQuery>,
) -> ApiResult<Json<Page<TaxRuleRecord>>> {
    principal.require(READERS)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    Ok(Json(
        state
            .store
            .list_tax_rules(
                principal.tenant()?,
                query.include_ended.unwrap_or(false),
                page,
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct EndTaxRule {
    /// The rule that replaces the ended one, if any.
    pub successor: Option<CreateTaxRule>,
}

/// Ends a tax rule, which stays in the history, and adds its successor if given.
#[utoipa::path(post, path = "/api/v1/tax-rules/{id}/end", tag = "pricing", params(("id" = Uuid, Path)), request_body = EndTaxRule,
    responses((status = 200, body = Option<TaxRuleRecord>), (status = 404), (status = 409, description = "tax_rule_ended")),
    security(("bearer" = [])))]
pub async fn end_tax_rule(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(rule_id): IdPath,
    body: ApiJson<EndTaxRule>,
) -> ApiResult<Json<Option<TaxRuleRecord>>> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let successor = body.value.successor.map(validate_tax_rule).transpose()?;
    Ok(Json(
        state
            .store
            .end_tax_rule(tenant_id, principal.user_id, rule_id, successor)
            .await?,
    ))
}

/// The tenant's IGTF settings.
#[utoipa::path(get, path = "/api/v1/settings/igtf", tag = "pricing",
    responses((status = 200, body = IgtfSettings)), security(("bearer" = [])))]
pub async fn igtf_settings(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
) -> ApiResult<Json<IgtfSettings>> {
    principal.require(READERS)?;
    Ok(Json(state.store.igtf_settings(principal.tenant()?).await?))
}

/// Sets whether the tenant collects IGTF (a designated special taxpayer), its
/// rate and the payment methods that pay it on foreign-currency payments.
#[utoipa::path(put, path = "/api/v1/settings/igtf", tag = "pricing", request_body = IgtfSettings,
    responses((status = 200, body = IgtfSettings), (status = 422)), security(("bearer" = [])))]
pub async fn set_igtf_settings(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<IgtfSettings>,
) -> ApiResult<Json<IgtfSettings>> {
    principal.require(ADMINS)?;
    let mut settings = body.value;
    let mut errors = Vec::new();
    validate::range(&mut errors, "basis_points", settings.basis_points, 0, 2_000);
    settings.methods.sort();
    settings.methods.dedup();
    if settings
        .methods
        .iter()
        .any(|method| !PAYMENT_METHODS.contains(&method.as_str()))
    {
        errors.push(FieldError::new("methods", "unknown_payment_method"));
    }
    validate::finish(errors)?;
    Ok(Json(
        state
            .store
            .set_igtf_settings(principal.tenant()?, settings)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateDiscountCode {
    /// Letters, digits and dashes, 3 to 32 characters; stored in upper case.
    pub code: String,
    pub modifier: Modifier,
    pub max_uses: i64,
}

/// Creates a discount code for an event, with a limited number of uses.
#[utoipa::path(post, path = "/api/v1/events/{id}/discount-codes", tag = "pricing", params(("id" = Uuid, Path)), request_body = CreateDiscountCode,
    responses((status = 201, body = DiscountCode), (status = 404), (status = 409, description = "discount_code_taken"), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_discount_code(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    body: ApiJson<CreateDiscountCode>,
) -> ApiResult<(StatusCode, Json<DiscountCode>)> {
    principal.require(ADMINS)?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let code = normalise_code(&request.code);
    if code.len() < 3
        || code.len() > 32
        || !code
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-')
    {
        errors.push(FieldError::new("code", "discount_code_format"));
    }
    if let Err(error) = request.modifier.validate() {
        errors.push(error);
    }
    // A discount code lowers the price; raising it is a stage's job.
    let lowers = match request.modifier {
        Modifier::Percent { basis_points } => basis_points < 0,
        Modifier::Fixed { usd_cents } => usd_cents < 0,
    };
    if !lowers {
        errors.push(FieldError::new("modifier", "must_lower_price"));
    }
    validate::range(&mut errors, "max_uses", request.max_uses, 1, 1_000_000);
    validate::finish(errors)?;
    let created = state
        .store
        .create_discount_code(
            tenant_id,
            event_id,
            NewDiscountCode {
                code,
                modifier: request.modifier,
                max_uses: request.max_uses,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Discount codes are matched in upper case, without surrounding spaces.
pub fn normalise_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// Lists an event's discount codes with their uses.
#[utoipa::path(get, path = "/api/v1/events/{id}/discount-codes", tag = "pricing", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<DiscountCode>)), security(("bearer" = [])))]
pub async fn list_discount_codes(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<DiscountCode>>> {
    principal.require(ADMINS)?;
    Ok(Json(
        state
            .store
            .list_discount_codes(principal.tenant()?, event_id, query.page()?)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PinRate {
    /// An exchange rate of the tenant; `null` unpins.
    pub rate_id: Option<String>,
}

/// Pins an exchange rate on an event: its orders use it instead of the rate of the day.
#[utoipa::path(put, path = "/api/v1/events/{id}/pinned-rate", tag = "pricing", params(("id" = Uuid, Path)), request_body = PinRate,
    responses((status = 200, body = Event), (status = 404)), security(("bearer" = [])))]
pub async fn pin_rate(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    body: ApiJson<PinRate>,
) -> ApiResult<Json<Event>> {
    principal.require(ADMINS)?;
    let rate_id = parse_optional_id(body.value.rate_id.as_deref(), "rate_id")?;
    let tenant_id = principal.tenant()?;
    let event = state
        .store
        .pin_event_rate(tenant_id, event_id, rate_id)
        .await?;
    state
        .cache
        .invalidate_catalogue(tenant_id, Some(event_id))
        .await;
    Ok(Json(event))
}
