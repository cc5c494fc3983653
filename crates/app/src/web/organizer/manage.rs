//! Management pages: each lists from the store and has a form that
//! `organizer.js` sends to the JSON API, which validates it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use taquilla_domain::fiscal::caracas_date;
use taquilla_store::model::{
    Event, ExchangeRateRecord, PageRequest, PriceStage, Role, User, Venue, Zone,
};
use uuid::Uuid;

use super::{ORGANIZERS, all_events};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::page::{Page, error_page, render};
use crate::web::session::WebUser;
use crate::web::text::decimal;

/// Rows a management list shows, newest or first in the store's order.
// NOTE: A list stops at this many rows because these pages have no paging yet.
const LIST_LIMIT: i64 = 500;

fn first_page(after: Option<Uuid>) -> PageRequest {
    PageRequest {
        limit: LIST_LIMIT,
        after,
    }
}

#[derive(askama::Template)]
#[template(path = "web/organizer_venues.html")]
struct VenuesTemplate {
    page: Page,
    venues: Vec<Venue>,
}

pub async fn venues(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let venues = match state
        .store
        .list_venues(user.tenant_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let template = VenuesTemplate {
        page: Page::for_user(&user, "/app/organizador/recintos"),
        venues,
    };
    render(&template, StatusCode::OK)
}

pub struct EventLine {
    pub event: Event,
    /// Text key of the event's status.
    pub status_key: String,
    pub venue: String,
    pub starts_at: String,
}

#[derive(askama::Template)]
#[template(path = "web/organizer_events.html")]
struct EventsTemplate {
    page: Page,
    venues: Vec<Venue>,
    events: Vec<EventLine>,
}

pub async fn events(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let venues = match state
        .store
        .list_venues(user.tenant_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let events = match all_events(&state, &user).await {
        Ok(events) => events,
        Err(error) => return error_page(user.locale, error),
    };
    let page = Page::for_user(&user, "/app/organizador/eventos");
    let events = events
        .into_iter()
        .map(|event| EventLine {
            venue: venues
                .iter()
                .find(|venue| venue.id == event.venue_id)
                .map(|venue| venue.name.clone())
                .unwrap_or_default(),
            starts_at: page.date_time(&event.starts_at),
            status_key: format!("status.{}", event.status),
            event,
        })
        .collect();
    render(
        &EventsTemplate {
            page,
            venues,
            events,
        },
        StatusCode::OK,
    )
}

pub struct ZoneLine {
    pub zone: Zone,
    pub price: String,
    /// Markup of every row of a numbered zone, `10,00 %`.
    pub row_markup: String,
    /// `12 × 20` for a numbered zone's rows and seats, when every row is as long.
    pub layout: String,
}

pub struct StageLine {
    pub stage: PriceStage,
    /// Text key of the stage's status.
    pub status_key: String,
    pub scope: String,
    pub modifier: String,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(askama::Template)]
#[template(path = "web/organizer_event.html")]
struct EventTemplate {
    page: Page,
    event: Event,
    status_key: String,
    zones: Vec<ZoneLine>,
    stages: Vec<StageLine>,
}

impl EventTemplate {
    fn has_numbered_zones(&self) -> bool {
        self.zones.iter().any(|line| line.zone.kind == "numbered")
    }
}

/// Formats basis points as a percentage in the page's language: `-12,50 %`.
fn percent(page: &Page, basis_points: i64) -> String {
    let value = decimal(basis_points);
    if page.is_english() {
        format!("{value} %")
    } else {
        format!("{} %", value.replace('.', ","))
    }
}

pub async fn event(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let Ok(event_id) = Uuid::parse_str(&event_id) else {
        return error_page(user.locale, ApiError::NotFound("event"));
    };
    let event = match state.store.get_event(user.tenant_id, event_id).await {
        Ok(event) => event,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let zones = match state
        .store
        .list_zones(user.tenant_id, event_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let stages = match state
        .store
        .list_price_stages(user.tenant_id, event_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let page = Page::for_user(&user, &format!("/app/organizador/eventos/{event_id}"));
    let stages = stages
        .into_iter()
        .map(|stage| StageLine {
            scope: match stage.zone_id {
                Some(zone_id) => zones
                    .iter()
                    .find(|zone| zone.id == zone_id)
                    .map(|zone| zone.name.clone())
                    .unwrap_or_default(),
                None => page.t("organizer.stages.whole_event").into_owned(),
            },
            modifier: match stage.modifier {
                taquilla_domain::pricing::Modifier::Percent { basis_points } => {
                    percent(&page, basis_points)
                }
                taquilla_domain::pricing::Modifier::Fixed { usd_cents } => {
                    page.money(&decimal(usd_cents), "USD")
                }
            },
            starts_at: stage
                .starts_at
                .map(|instant| page.date_time(&instant))
                .unwrap_or_default(),
            ends_at: stage
                .ends_at
                .map(|instant| page.date_time(&instant))
                .unwrap_or_default(),
            status_key: format!("organizer.stages.status.{}", stage.status),
            stage,
        })
        .collect();
    let zones = zones
        .into_iter()
        .map(|zone| ZoneLine {
            price: page.money(&decimal(zone.price_usd_cents), "USD"),
            row_markup: percent(&page, zone.row_markup_basis_points),
            layout: match zone.rows.first() {
                Some(first) if zone.rows.iter().all(|row| row.seats == first.seats) => {
                    format!("{} × {}", zone.rows.len(), first.seats)
                }
                _ => String::new(),
            },
            zone,
        })
        .collect();
    render(
        &EventTemplate {
            page,
            status_key: format!("status.{}", event.status),
            event,
            zones,
            stages,
        },
        StatusCode::OK,
    )
}

#[derive(askama::Template)]
#[template(path = "web/organizer_rates.html")]
struct RatesTemplate {
    page: Page,
    rates: Vec<ExchangeRateRecord>,
    /// Today in Caracas, `YYYY-MM-DD`, the form's default value date.
    today: String,
}

pub async fn rates(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let rates = match state
        .store
        .list_exchange_rates(user.tenant_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let template = RatesTemplate {
        page: Page::for_user(&user, "/app/organizador/tasas"),
        rates,
        today: caracas_date(state.clock.now()).to_string(),
    };
    render(&template, StatusCode::OK)
}

#[derive(askama::Template)]
#[template(path = "web/organizer_users.html")]
struct UsersTemplate {
    page: Page,
    users: Vec<UserLine>,
}

pub struct UserLine {
    pub user: User,
    /// The role's name in the page's language.
    pub role: String,
}

pub async fn users(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let users = match state
        .store
        .list_users(user.tenant_id, first_page(None))
        .await
    {
        Ok(page) => page.items,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let page = Page::for_user(&user, "/app/organizador/usuarios");
    let users = users
        .into_iter()
        .map(|user| UserLine {
            role: match user.role {
                Role::ApiClient => page.t("organizer.users.api_client").into_owned(),
                role => page.t(&format!("role.{}", role.as_str())).into_owned(),
            },
            user,
        })
        .collect();
    let template = UsersTemplate { page, users };
    render(&template, StatusCode::OK)
}
