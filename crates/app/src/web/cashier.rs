//! The cashier's screens: the event picker and the sale screen of an event.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use taquilla_store::model::{Event, PageRequest, Role};

use super::page::{Page, error_page, render};
use super::session::WebUser;
use super::text::TextTable;
use crate::error::ApiError;
use crate::state::AppState;

pub const TEXT: TextTable = &[];

/// Events a picker lists at most; a tenant rarely has more on sale at once.
const MAX_PICKER_EVENTS: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/taquilla", get(event_picker))
}

/// Roles that sell at the box office.
pub const SELLERS: &[Role] = &[Role::Cashier, Role::TenantAdmin];

#[derive(askama::Template)]
#[template(path = "web/events.html")]
struct EventsTemplate {
    page: Page,
    events: Vec<Event>,
}

/// Returns the tenant's events that are on sale, soonest first.
pub async fn events_on_sale(state: &AppState, user: &WebUser) -> Result<Vec<Event>, ApiError> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_events(user.tenant_id, PageRequest { limit: 100, after })
            .await?;
        after = page.items.last().map(|event| event.id);
        events.extend(
            page.items
                .into_iter()
                .filter(|event| event.status == "active"),
        );
        if page.next_cursor.is_none() || events.len() >= MAX_PICKER_EVENTS {
            break;
        }
    }
    events.truncate(MAX_PICKER_EVENTS);
    events.sort_by_key(|event| event.starts_at);
    Ok(events)
}

async fn event_picker(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(SELLERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let events = match events_on_sale(&state, &user).await {
        Ok(events) => events,
        Err(error) => return error_page(user.locale, error),
    };
    let template = EventsTemplate {
        page: Page::for_user(&user, "/app/taquilla"),
        events,
    };
    render(&template, StatusCode::OK)
}
