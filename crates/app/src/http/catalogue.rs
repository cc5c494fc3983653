//! Venues, events and their lifecycle, zones and seat availability.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use taquilla_domain::FieldError;
use taquilla_domain::seatmap::{MAX_ROWS, MAX_SEATS_PER_ROW};
use taquilla_store::model::{
    Availability, Event, EventSalesSummary, NewEvent, NewVenue, NewZone, Page, PageRequest, Role,
    Venue, Zone, ZoneKind,
};
use utoipa::ToSchema;

use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::cache::Group;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, NoQuery, PageQuery};
use crate::http::validate;
use crate::state::AppState;

/// Roles that may read the catalogue.
const READERS: &[Role] = &[
    Role::TenantAdmin,
    Role::Cashier,
    Role::Validator,
    Role::ApiClient,
];
/// Largest general-admission capacity of one zone.
const MAX_CAPACITY: i64 = 1_000_000;
/// Largest price of one ticket: US$ 1,000,000.00.
const MAX_PRICE_USD_CENTS: i64 = 100_000_000;

#[derive(Deserialize, ToSchema)]
pub struct CreateVenue {
    pub name: String,
    pub address: String,
    pub city: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateEvent {
    pub venue_id: String,
    pub name: String,
    pub description: Option<String>,
    /// RFC 3339 with offset, for example `2026-12-31T20:00:00-04:00`.
    pub starts_at: String,
    pub sale_starts_at: Option<String>,
    pub sale_ends_at: Option<String>,
    /// Lifetime of a hold in minutes, 1 to 120 (default 15).
    pub hold_minutes: Option<i64>,
    /// Minutes an order has to be paid, 1 to 120 (default 15).
    pub payment_minutes: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateZone {
    pub name: String,
    /// `general_admission` or `numbered`.
    pub kind: String,
    /// Capacity of a general-admission zone.
    pub capacity: Option<i64>,
    /// Seats per row of a numbered zone, in row order; rows are labelled A, B, … Z, AA, ….
    pub rows: Option<Vec<i64>>,
    /// Base price in USD cents, before IVA.
    pub price_usd_cents: i64,
    /// Admissions each ticket allows, 1 to 100 (default 1); above 1 makes multi-entry tickets.
    pub entries_per_ticket: Option<i64>,
}

fn parse_instant(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(instant) => Some(instant.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(field, "datetime_format"));
            None
        }
    }
}

/// Creates a venue.
#[utoipa::path(post, path = "/api/v1/venues", tag = "catalogue", request_body = CreateVenue,
    responses((status = 201, body = Venue), (status = 422, description = "validation_failed")), security(("bearer" = [])))]
pub async fn create_venue(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateVenue>,
) -> ApiResult<(StatusCode, Json<Venue>)> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let mut errors = Vec::new();
    let name = validate::text(&mut errors, "name", &body.value.name, 200);
    let address = validate::text(&mut errors, "address", &body.value.address, 300);
    let city = validate::text(&mut errors, "city", &body.value.city, 100);
    validate::finish(errors)?;
    let venue = state
        .store
        .create_venue(
            tenant_id,
            NewVenue {
                name,
                address,
                city,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(venue)))
}

/// Lists venues.
#[utoipa::path(get, path = "/api/v1/venues", tag = "catalogue", params(PageQuery), responses((status = 200, body = Page<Venue>)), security(("bearer" = [])))]
pub async fn list_venues(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Venue>>> {
    principal.require(READERS)?;
    Ok(Json(
        state
            .store
            .list_venues(principal.tenant()?, query.page()?)
            .await?,
    ))
}

/// Returns one venue.
#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Venue), (status = 404)), security(("bearer" = [])))]
pub async fn get_venue(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<Venue>> {
    principal.require(READERS)?;
    Ok(Json(state.store.get_venue(principal.tenant()?, id).await?))
}

/// Creates an event in `draft` status.
#[utoipa::path(post, path = "/api/v1/events", tag = "catalogue", request_body = CreateEvent,
    responses((status = 201, body = Event), (status = 404, description = "venue not found"), (status = 422)), security(("bearer" = [])))]
pub async fn create_event(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateEvent>,
) -> ApiResult<(StatusCode, Json<Event>)> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let venue_id =
        uuid::Uuid::parse_str(request.venue_id.trim()).map_err(|_| ApiError::NotFound("venue"))?;
    let name = validate::text(&mut errors, "name", &request.name, 200);
    let description = validate::optional_text(
        &mut errors,
        "description",
        request.description.as_deref(),
        2_000,
    )
    .unwrap_or_default();
    let starts_at = parse_instant(&mut errors, "starts_at", &request.starts_at);
    let sale_starts_at = request
        .sale_starts_at
        .as_deref()
        .and_then(|value| parse_instant(&mut errors, "sale_starts_at", value));
    let sale_ends_at = request
        .sale_ends_at
        .as_deref()
        .and_then(|value| parse_instant(&mut errors, "sale_ends_at", value));
    if let (Some(start), Some(end)) = (sale_starts_at, sale_ends_at)
        && end <= start
    {
        errors.push(FieldError::new("sale_ends_at", "after_start"));
    }
    let hold_minutes = request.hold_minutes.unwrap_or(15);
    validate::range(&mut errors, "hold_minutes", hold_minutes, 1, 120);
    let payment_minutes = request.payment_minutes.unwrap_or(15);
    validate::range(&mut errors, "payment_minutes", payment_minutes, 1, 120);
    validate::finish(errors)?;

    let event = state
        .store
        .create_event(
            tenant_id,
            NewEvent {
                venue_id,
                name,
                description,
                starts_at: starts_at.expect("validated above"),
                sale_starts_at,
                sale_ends_at,
                hold_minutes,
                payment_minutes,
            },
        )
        .await?;
    state.cache.invalidate_catalogue(tenant_id, None).await;
    Ok((StatusCode::CREATED, Json(event)))
}

/// Lists events.
#[utoipa::path(get, path = "/api/v1/events", tag = "catalogue", params(PageQuery), responses((status = 200, body = Page<Event>)), security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    let field = format!(
        "events:{}:{}",
        page.limit,
        page.after.map(|id| id.to_string()).unwrap_or_default()
    );
    cached_json(&state, Group::catalogue(tenant_id), &field, || async {
        state.store.list_events(tenant_id, page).await
    })
    .await
}

/// Returns one event.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Event), (status = 404)), security(("bearer" = [])))]
pub async fn get_event(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    cached_json(
        &state,
        Group::catalogue(tenant_id),
        &crate::cache::event_field(id),
        || async { state.store.get_event(tenant_id, id).await },
    )
    .await
}

/// Returns an event's sales for the organiser's dashboard: places sold, held
/// and available per zone, and the paid orders' revenue per payment method
/// and per Caracas hour. Read fresh from the database on every call.
#[utoipa::path(get, path = "/api/v1/events/{id}/sales-summary", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = EventSalesSummary), (status = 403, description = "forbidden"), (status = 404)),
    security(("bearer" = [])))]
pub async fn sales_summary(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<EventSalesSummary>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    Ok(Json(state.store.event_sales_summary(tenant_id, id).await?))
}

/// Puts a draft event on sale after checking it has zones, prices and a sale window.
#[utoipa::path(post, path = "/api/v1/events/{id}/activate", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Event), (status = 404), (status = 409, description = "event_status_transition"), (status = 422, description = "not ready")),
    security(("bearer" = [])))]
pub async fn activate_event(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Event>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let event = state.store.get_event(tenant_id, id).await?;
    let zones = all_zones(&state, tenant_id, id).await?;

    let mut errors = Vec::new();
    if zones.is_empty() {
        errors.push(FieldError::new("zones", "zone_required"));
    }
    if zones.iter().any(|zone| zone.price_usd_cents <= 0) {
        errors.push(FieldError::new("price_usd_cents", "price_required"));
    }
    if event.sale_starts_at.is_none() || event.sale_ends_at.is_none() {
        errors.push(FieldError::new("sale_window", "sale_window_required"));
    }
    if event.starts_at <= state.clock.now() {
        errors.push(FieldError::new("starts_at", "in_future"));
    }
    if event.status == "draft" {
        validate::finish(errors)?;
    }
    let event = state
        .store
        .set_event_status(tenant_id, id, &["draft"], "active")
        .await?;
    state.cache.invalidate_catalogue(tenant_id, Some(id)).await;
    Ok(Json(event))
}

/// Closes sales of an active event.
#[utoipa::path(post, path = "/api/v1/events/{id}/close", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Event), (status = 409)), security(("bearer" = [])))]
pub async fn close_event(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Event>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let event = state
        .store
        .set_event_status(tenant_id, id, &["active"], "closed")
        .await?;
    state.cache.invalidate_catalogue(tenant_id, Some(id)).await;
    Ok(Json(event))
}

/// Cancels a draft or active event.
#[utoipa::path(post, path = "/api/v1/events/{id}/cancel", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Event), (status = 409)), security(("bearer" = [])))]
pub async fn cancel_event(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Event>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let event = state
        .store
        .set_event_status(tenant_id, id, &["draft", "active"], "cancelled")
        .await?;
    state.cache.invalidate_catalogue(tenant_id, Some(id)).await;
    Ok(Json(event))
}

/// Creates a zone; a numbered zone gets its rows and seats on creation.
#[utoipa::path(post, path = "/api/v1/events/{id}/zones", tag = "catalogue", params(("id" = uuid::Uuid, Path)), request_body = CreateZone,
    responses((status = 201, body = Zone), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn create_zone(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    body: ApiJson<CreateZone>,
) -> ApiResult<(StatusCode, Json<Zone>)> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let name = validate::text(&mut errors, "name", &request.name, 100);
    // Every ticket is invoiced, so a zone needs a price above zero.
    if request.price_usd_cents <= 0 {
        errors.push(FieldError::new("price_usd_cents", "positive"));
    } else {
        validate::range(
            &mut errors,
            "price_usd_cents",
            request.price_usd_cents,
            1,
            MAX_PRICE_USD_CENTS,
        );
    }
    let entries_per_ticket = request.entries_per_ticket.unwrap_or(1);
    validate::range(
        &mut errors,
        "entries_per_ticket",
        entries_per_ticket,
        1,
        100,
    );
    let kind = match request.kind.as_str() {
        "general_admission" => {
            if request.rows.is_some() {
                errors.push(FieldError::new("rows", "not_allowed_for_general_admission"));
            }
            match request.capacity {
                Some(capacity) => {
                    validate::range(&mut errors, "capacity", capacity, 1, MAX_CAPACITY);
                    Some(ZoneKind::GeneralAdmission { capacity })
                }
                None => {
                    errors.push(FieldError::new("capacity", "required"));
                    None
                }
            }
        }
        "numbered" => match request.rows {
            Some(rows) if !rows.is_empty() => {
                if rows.len() > MAX_ROWS {
                    errors.push(FieldError::new("rows", "too_long"));
                }
                if rows
                    .iter()
                    .any(|seats| !(1..=MAX_SEATS_PER_ROW).contains(seats))
                {
                    errors.push(FieldError::new("rows", "out_of_range"));
                }
                Some(ZoneKind::Numbered { rows })
            }
            _ => {
                errors.push(FieldError::new("rows", "required_for_numbered_zone"));
                None
            }
        },
        _ => {
            errors.push(FieldError::new("kind", "invalid_value"));
            None
        }
    };
    validate::finish(errors)?;

    let zone = state
        .store
        .create_zone(
            tenant_id,
            NewZone {
                event_id,
                name,
                kind: kind.expect("validated above"),
                price_usd_cents: request.price_usd_cents,
                entries_per_ticket,
            },
        )
        .await?;
    state
        .cache
        .invalidate_catalogue(tenant_id, Some(zone.event_id))
        .await;
    Ok((StatusCode::CREATED, Json(zone)))
}

/// Reads every zone of an event, page by page, for checks that need them all.
pub(crate) async fn all_zones(
    state: &AppState,
    tenant_id: uuid::Uuid,
    event_id: uuid::Uuid,
) -> Result<Vec<Zone>, taquilla_store::StoreError> {
    let mut zones = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_zones(
                tenant_id,
                event_id,
                PageRequest {
                    limit: crate::http::extract::MAX_PAGE_SIZE,
                    after,
                },
            )
            .await?;
        after = page.items.last().map(|zone| zone.id);
        zones.extend(page.items);
        if page.next_cursor.is_none() {
            return Ok(zones);
        }
    }
}

/// Lists a page of the zones of an event, in id order.
#[utoipa::path(get, path = "/api/v1/events/{id}/zones", tag = "catalogue", params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<Zone>), (status = 400, description = "invalid_cursor"), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_zones(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(event_id): IdPath,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Zone>>> {
    principal.require(READERS)?;
    Ok(Json(
        state
            .store
            .list_zones(principal.tenant()?, event_id, query.page()?)
            .await?,
    ))
}

/// Returns one zone with its rows.
#[utoipa::path(get, path = "/api/v1/zones/{id}", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Zone), (status = 404)), security(("bearer" = [])))]
pub async fn get_zone(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<Zone>> {
    principal.require(READERS)?;
    Ok(Json(state.store.get_zone(principal.tenant()?, id).await?))
}

/// Returns the seat map with each seat's status, or the units left in a
/// general-admission zone. Holds past their expiry count as available.
#[utoipa::path(get, path = "/api/v1/zones/{id}/availability", tag = "catalogue", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Availability), (status = 404)), security(("bearer" = [])))]
pub async fn availability(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    principal.require(READERS)?;
    let tenant_id = principal.tenant()?;
    let event_id = zone_event_id(&state, tenant_id, id).await?;
    cached_json(
        &state,
        Group::event(tenant_id, event_id),
        &crate::cache::availability_field(id),
        || async { state.store.zone_availability(tenant_id, id).await },
    )
    .await
}

/// Returns the event a zone belongs to, from memory after the first lookup: a zone
/// never moves to another event. A zone of another tenant is not found.
pub(crate) async fn zone_event_id(
    state: &AppState,
    tenant_id: uuid::Uuid,
    zone_id: uuid::Uuid,
) -> ApiResult<uuid::Uuid> {
    if let Some(event_id) = state.cache.zone_event(tenant_id, zone_id) {
        return Ok(event_id);
    }
    let zone = state.store.get_zone(tenant_id, zone_id).await?;
    state
        .cache
        .remember_zone_event(tenant_id, zone_id, zone.event_id);
    Ok(zone.event_id)
}

/// Responds with the cached JSON of `field` in `group`, or with what `load`
/// reads, which is then cached. Errors are not cached.
pub(crate) async fn cached_json<T, E, F, Fut>(
    state: &AppState,
    group: Group,
    field: &str,
    load: F,
) -> ApiResult<Response>
where
    T: serde::Serialize,
    E: Into<ApiError>,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let body = state
        .cache
        .get_or_load(group, field, || async {
            let value = load().await.map_err(Into::into)?;
            Ok::<_, ApiError>(crate::cache::json_bytes(&value)?)
        })
        .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
