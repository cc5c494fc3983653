//! Request profiling for admins: the slowest recent requests with their store
//! calls, as JSON and as a self-contained HTML page.
//!
//! Both need `Authorization: Bearer`, like the rest of the API. A browser must
//! add the header itself (an extension or a proxy), because a token in the URL
//! or a cookie would end up in logs and histories. With profiling disabled both
//! still check the caller and then return an empty list with `enabled: false`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse};
use serde::{Deserialize, Serialize};
use taquilla_store::model::Role;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::i18n::Locale;
use crate::profiling::{RequestProfile, RequestProfiles, TenantFilter};
use crate::state::AppState;

/// `?limit=` of the profiling endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfilingQuery {
    /// Requests to return, 1 to 50 (default 50).
    pub limit: Option<i64>,
}

/// The slowest recent requests the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfiledRequests {
    /// Whether PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING is on. When it
    /// is off, `requests` is empty.
    pub enabled: bool,
    /// Number of most recent requests of this instance that `requests` is chosen from.
    pub window: usize,
    /// Slowest first. A tenant admin, or a platform admin who sends
    /// `X-Tenant-Id`, receives only that tenant's authenticated requests.
    pub requests: Vec<RequestProfile>,
}

/// Lists the slowest recent requests with their database calls.
#[utoipa::path(get, path = "/api/v1/admin/profiling/requests", tag = "admin", params(ProfilingQuery),
    responses((status = 200, body = ProfiledRequests), (status = 403, description = "forbidden"),
        (status = 422, description = "limit out of range")),
    security(("bearer" = [])))]
pub async fn list_requests(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ProfilingQuery>,
) -> ApiResult<Json<ProfiledRequests>> {
    let listing = visible_requests(&state, &principal, &query)?;
    Ok(Json(ProfiledRequests {
        enabled: listing.enabled,
        window: RequestProfiles::WINDOW,
        requests: listing
            .requests
            .iter()
            .map(|profile| profile.as_ref().clone())
            .collect(),
    }))
}

/// Shows the slowest recent requests as an HTML page, in Spanish unless
/// `Accept-Language` lists English first.
#[utoipa::path(get, path = "/admin/profiling", tag = "admin", params(ProfilingQuery),
    responses((status = 200, content_type = "text/html", description = "the page"),
        (status = 403, description = "forbidden")),
    security(("bearer" = [])))]
pub async fn page(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ProfilingQuery>,
) -> ApiResult<impl IntoResponse> {
    let listing = visible_requests(&state, &principal, &query)?;
    let locale = Locale::from_headers(&headers);
    let text = PageText::for_locale(locale);
    let body = render_page(text, &listing);
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            // The page has inline styles and nothing else to load.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::CONTENT_LANGUAGE, text.language),
        ],
        Html(body),
    ))
}

struct Listing {
    enabled: bool,
    requests: Vec<Arc<RequestProfile>>,
}

/// Checks the caller's role and the limit, then picks the requests it may see.
fn visible_requests(
    state: &AppState,
    principal: &Principal,
    query: &ProfilingQuery,
) -> ApiResult<Listing> {
    principal.require(&[Role::TenantAdmin])?;
    let limit = query.limit.unwrap_or(RequestProfiles::MAX_LISTED as i64);
    if !(1..=RequestProfiles::MAX_LISTED as i64).contains(&limit) {
        return Err(ApiError::field("limit", "out_of_range"));
    }
    let filter = match (principal.role, principal.tenant_id) {
        (Role::PlatformAdmin, None) => TenantFilter::All,
        _ => TenantFilter::Tenant(principal.tenant()?),
    };

    if !state.config.enable_request_profiling {
        return Ok(Listing {
            enabled: false,
            requests: Vec::new(),
        });
    }
    Ok(Listing {
        enabled: true,
        requests: state.profiles.slowest(filter, limit as usize),
    })
}

/// Fixed text of the page in one language.
#[derive(Clone, Copy)]
struct PageText {
    language: &'static str,
    title: &'static str,
    /// `{max}` and `{window}` are replaced by the listing limits.
    intro: &'static str,
    disabled: &'static str,
    empty: &'static str,
    columns: [&'static str; 10],
    operations: &'static str,
    truncated: &'static str,
}

const SPANISH: PageText = PageText {
    language: "es",
    title: "Solicitudes más lentas",
    intro: "Hasta {max} de las solicitudes más lentas entre las últimas {window} que atendió esta \
        instancia, con sus llamadas a la base de datos. Un administrador de tenant ve solo las de \
        su tenant. Se guardan solo en memoria y no incluyen cuerpos, parámetros de consulta ni \
        cabeceras, salvo el ID de solicitud.",
    disabled: "El perfilado de solicitudes está desactivado. Para activarlo, inicie taquilla con \
        PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING=true.",
    empty: "Todavía no hay solicitudes registradas.",
    columns: [
        "Duración (ms)",
        "Método",
        "Ruta",
        "Estado",
        "Consultas",
        "Base de datos (ms)",
        "Inicio (hora de Caracas)",
        "ID de solicitud",
        "Tenant",
        "Usuario",
    ],
    operations: "Operaciones",
    truncated: "Lista recortada: la solicitud hizo más llamadas de las que se muestran.",
};

const ENGLISH: PageText = PageText {
    language: "en",
    title: "Slowest requests",
    intro: "Up to {max} of the slowest among the last {window} requests this instance served, \
        with their database calls. A tenant admin sees only their tenant's requests. They are kept \
        in memory only and contain no bodies, query parameters or headers apart from the \
        request ID.",
    disabled: "Request profiling is disabled. To enable it, start taquilla with \
        PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING=true.",
    empty: "No requests recorded yet.",
    columns: [
        "Duration (ms)",
        "Method",
        "Route",
        "Status",
        "Queries",
        "Database (ms)",
        "Started (Caracas time)",
        "Request ID",
        "Tenant",
        "User",
    ],
    operations: "Operations",
    truncated: "List truncated: the request made more calls than shown.",
};

impl PageText {
    fn for_locale(locale: Locale) -> Self {
        match locale {
            Locale::Es => SPANISH,
            Locale::En => ENGLISH,
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}\
    table{border-collapse:collapse;width:100%;font-size:.9rem}\
    th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
    th{background:#f0f0f0}td.number{text-align:right;font-variant-numeric:tabular-nums}\
    code{font-size:.85rem}";

fn render_page(text: PageText, listing: &Listing) -> String {
    let intro = text
        .intro
        .replace("{max}", &RequestProfiles::MAX_LISTED.to_string())
        .replace("{window}", &RequestProfiles::WINDOW.to_string());
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{language}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>taquilla · {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<p>{intro}</p>\n",
        language = text.language,
        title = text.title,
        intro = escape_html(&intro),
    );

    if !listing.enabled {
        let _ = writeln!(
            html,
            "<p><strong>{}</strong></p>",
            escape_html(text.disabled)
        );
    } else if listing.requests.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", escape_html(text.empty));
    } else {
        render_table(&mut html, text, &listing.requests);
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn render_table(html: &mut String, text: PageText, requests: &[Arc<RequestProfile>]) {
    html.push_str("<table>\n<thead><tr>");
    for column in text.columns.iter().chain([&text.operations]) {
        let _ = write!(html, "<th>{}</th>", escape_html(column));
    }
    html.push_str("</tr></thead>\n<tbody>\n");

    for profile in requests {
        let started = profile
            .started_at
            .with_timezone(&chrono_tz::America::Caracas)
            .format("%Y-%m-%d %H:%M:%S");
        let tenant = profile
            .tenant_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        let user = profile.user_id.map(|id| id.to_string()).unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td class=\"number\">{duration:.1}</td><td>{method}</td><td><code>{route}</code></td>\
             <td class=\"number\">{status}</td><td class=\"number\">{queries}</td>\
             <td class=\"number\">{database:.2}</td><td>{started}</td><td><code>{request_id}</code></td>\
             <td><code>{tenant}</code></td><td><code>{user}</code></td><td>",
            duration = profile.duration_ms,
            method = escape_html(&profile.method),
            route = escape_html(&profile.route),
            status = profile.status,
            queries = profile.query_count,
            database = profile.database_ms,
            request_id = escape_html(&profile.request_id),
        );
        render_operations(html, text, profile);
        html.push_str("</td></tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

fn render_operations(html: &mut String, text: PageText, profile: &RequestProfile) {
    if profile.operations.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<details><summary>{} ({})</summary><ol>",
        escape_html(text.operations),
        profile.operations.len()
    );
    for operation in &profile.operations {
        let _ = write!(
            html,
            "<li><code>{}</code> · <code>{}</code> · {:.2} ms</li>",
            escape_html(operation.operation),
            escape_html(operation.table),
            operation.duration_ms
        );
    }
    html.push_str("</ol>");
    if profile.operations_truncated {
        let _ = write!(html, "<p>{}</p>", escape_html(text.truncated));
    }
    html.push_str("</details>");
}

/// Escapes text for an HTML element body or a quoted attribute value.
pub(super) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_replaces_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
