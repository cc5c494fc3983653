//! The box-office web pages, served under `/app` by `taquilla serve` itself.
//!
//! Pages are askama templates compiled into the binary; their scripts and
//! styles are embedded too, so a venue without internet loses nothing. The
//! page scripts call the JSON API under `/api/v1` with the session cookie and
//! the CSRF token (see [`session`]).

pub mod cashier;
pub mod day;
pub mod gate;
pub mod organizer;
pub mod page;
pub mod receipt;
pub mod session;
pub mod text;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use taquilla_store::model::Role;

use crate::state::AppState;
use session::WebUser;

/// Reads the tenant's events 100 at a time and returns those `keep` accepts,
/// in the store's order. With `limit`, reading stops once that many are kept.
///
/// NOTE: the store lists events in creation order with no status filter, so
/// without a limit this reads all of the tenant's events.
pub async fn tenant_events(
    state: &AppState,
    tenant_id: uuid::Uuid,
    keep: impl Fn(&taquilla_store::model::Event) -> bool,
    limit: Option<usize>,
) -> Result<Vec<taquilla_store::model::Event>, crate::error::ApiError> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_events(
                tenant_id,
                taquilla_store::model::PageRequest { limit: 100, after },
            )
            .await?;
        after = page.items.last().map(|event| event.id);
        events.extend(page.items.into_iter().filter(|event| keep(event)));
        let enough = limit.is_some_and(|limit| events.len() >= limit);
        if page.next_cursor.is_none() || enough {
            break;
        }
    }
    if let Some(limit) = limit {
        events.truncate(limit);
    }
    Ok(events)
}

/// Renders the not-found page in the visitor's language for an unknown path
/// under `/app`.
async fn unknown_page(headers: axum::http::HeaderMap) -> Response {
    page::error_page(
        session::page_locale(&headers),
        crate::error::ApiError::NotFound("page"),
    )
}

/// Routes of the web pages and their embedded files.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/app", get(home))
        .route("/app/", get(home))
        .route("/app/static/{name}", get(asset))
        .merge(session::routes())
        .merge(cashier::routes())
        .merge(receipt::routes())
        .merge(day::routes())
        .merge(gate::routes())
        .merge(organizer::routes())
        // Any other path under /app gets a page, not the API's JSON error.
        .route("/app/{*rest}", get(unknown_page))
}

/// Sends each role to the page it works in.
async fn home(user: WebUser) -> Redirect {
    match user.user.role {
        Role::Validator => Redirect::to("/app/porteria"),
        Role::TenantAdmin => Redirect::to("/app/organizador"),
        _ => Redirect::to("/app/taquilla"),
    }
}

/// Files under `crates/app/static/web/`, compiled into the binary.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/app.js"),
    ),
    (
        "cashier.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/cashier.js"),
    ),
    (
        "cashier.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/cashier.css"),
    ),
    (
        "receipt.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/receipt.js"),
    ),
    (
        "receipt.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/receipt.css"),
    ),
    (
        "gate.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/gate.js"),
    ),
    (
        "day.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/day.js"),
    ),
    (
        "day.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/day.css"),
    ),
    (
        "gate.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/gate.css"),
    ),
    (
        "organizer.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/web/organizer.js"),
    ),
    (
        "organizer.css",
        "text/css; charset=utf-8",
        include_str!("../../static/web/organizer.css"),
    ),
];

async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(file, _, _)| *file == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Pages link assets with `?v=<version>`, so a new release is fetched anew.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
