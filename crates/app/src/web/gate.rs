//! The gate screen at `/app/porteria`. A USB barcode or QR scanner types a
//! ticket's code (or its signed QR payload) and Enter into one big input. The
//! page script sends it to `POST /api/v1/tickets/validate` and shows
//! ADMITIDO or RECHAZADO with the reason.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Duration;
use taquilla_store::model::{Event, Role};

use super::page::{Page, error_page, render};
use super::session::WebUser;
use super::text::{self, TextTable};
use crate::error::ApiError;
use crate::state::AppState;

pub const TEXT: TextTable = &[
    ("gate.title", "Portería", "Gate"),
    ("gate.event", "Evento", "Event"),
    ("gate.any_event", "Cualquier evento", "Any event"),
    ("gate.name", "Puerta", "Gate name"),
    ("gate.name_placeholder", "Puerta 2", "Gate 2"),
    ("gate.code", "Código de la entrada", "Ticket code"),
    (
        "gate.code_hint",
        "Pase la entrada por el lector o escriba el código y pulse Enter.",
        "Scan the ticket or type its code and press Enter.",
    ),
    ("gate.submit", "Validar", "Validate"),
    ("gate.waiting", "Esperando lectura…", "Waiting for a scan…"),
    ("gate.checking", "Verificando…", "Checking…"),
    ("gate.admitted", "ADMITIDO", "ADMITTED"),
    ("gate.rejected", "RECHAZADO", "REJECTED"),
    (
        "gate.admitted_detail",
        "Entrada {code}, uso {uses} de {max}.",
        "Ticket {code}, use {uses} of {max}.",
    ),
    (
        "gate.admitted_uses",
        "Uso {uses} de {max}.",
        "Use {uses} of {max}.",
    ),
    ("gate.admitted_event", "Evento: {event}", "Event: {event}"),
    (
        "gate.reason.already_used",
        "Entrada ya usada: admitida el {time} por {gate}.",
        "Ticket already used: admitted on {time} at {gate}.",
    ),
    (
        "gate.reason.already_used_today",
        "Entrada ya usada: admitida a las {time} por {gate}.",
        "Ticket already used: admitted at {time} at {gate}.",
    ),
    (
        "gate.reason.cancelled",
        "Entrada anulada.",
        "The ticket is cancelled.",
    ),
    (
        "gate.reason.event_cancelled",
        "El evento de esta entrada fue cancelado.",
        "This ticket's event was cancelled.",
    ),
    (
        "gate.reason.wrong_event",
        "Entrada de otro evento: {event}.",
        "Ticket for another event: {event}.",
    ),
    (
        "gate.reason.wrong_event_unknown",
        "Entrada de otro evento.",
        "Ticket for another event.",
    ),
    (
        "gate.reason.not_found",
        "Entrada no encontrada: revise el código.",
        "Ticket not found: check the code.",
    ),
    (
        "gate.reason.signature_invalid",
        "Código QR falso o dañado.",
        "The QR code is forged or damaged.",
    ),
    ("gate.history", "Últimas lecturas", "Last scans"),
    (
        "gate.history_none",
        "Todavía no hay lecturas.",
        "No scans yet.",
    ),
];

/// Roles that work the gate.
const GATE_ROLES: &[Role] = &[Role::Validator, Role::TenantAdmin];

/// Events the selector lists at most.
const MAX_GATE_EVENTS: usize = 200;

/// How long after its start an event still shows in the selector, for late
/// arrivals and shows that run past midnight.
const EVENT_GRACE: Duration = Duration::hours(12);

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/porteria", get(gate_page))
}

#[derive(askama::Template)]
#[template(path = "web/gate.html")]
struct GateTemplate {
    page: Page,
    events: Vec<Event>,
    /// JSON for the page script: the events' ids and names.
    data: String,
}

/// Returns the tenant's events a gate may admit to: on sale or with sales
/// closed, not yet more than [`EVENT_GRACE`] past their start, soonest first.
async fn gate_events(state: &AppState, user: &WebUser) -> Result<Vec<Event>, ApiError> {
    let since = state.clock.now() - EVENT_GRACE;
    let keep = |event: &Event| {
        matches!(event.status.as_str(), "active" | "closed") && event.starts_at >= since
    };
    // Every matching event is read, so the soonest ones survive the cut below.
    let mut events = super::tenant_events(state, user.tenant_id, keep, None).await?;
    events.sort_by_key(|event| event.starts_at);
    events.truncate(MAX_GATE_EVENTS);
    Ok(events)
}

async fn gate_page(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(GATE_ROLES) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let events = match gate_events(&state, &user).await {
        Ok(events) => events,
        Err(error) => return error_page(user.locale, error),
    };
    let names: serde_json::Map<String, serde_json::Value> = events
        .iter()
        .map(|event| {
            (
                event.id.to_string(),
                serde_json::Value::from(event.name.clone()),
            )
        })
        .collect();
    let data = serde_json::json!({ "events": names });
    let template = GateTemplate {
        page: Page::for_user(&user, "/app/porteria"),
        events,
        data: text::json_for_script(&data),
    };
    render(&template, StatusCode::OK)
}
