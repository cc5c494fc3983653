//! The built-in operations page: live charts of request rate, latency, 5xx
//! share, tickets sold per minute and revenue per minute, for organisers who
//! run no Prometheus or Grafana.
//!
//! `GET /api/v1/admin/operations/snapshot` returns the cumulative totals of
//! this instance's metric handles. `GET /admin/operations` is a static HTML
//! shell without data and without authentication, and `GET /admin/operations.js`
//! is its script. Both are embedded in the binary and load nothing from other
//! hosts. The script prompts for an access token in a password field, keeps it in
//! the tab's `sessionStorage` (never in the URL or a cookie), sends it as
//! `Authorization: Bearer` to the snapshot endpoint every 5 seconds, and computes
//! rates from successive snapshots in the browser, keeping the last 60.
//!
//! The totals count only what this instance served since it started. Behind a
//! load balancer with several replicas each poll may reach another instance,
//! and the charts are then not meaningful.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse};
use chrono::{DateTime, Utc};
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use serde::{Deserialize, Serialize};
use taquilla_store::model::Role;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, NoQuery};
use crate::http::profiling::escape_html;
use crate::i18n::Locale;
use crate::metrics::Metrics;
use crate::state::AppState;

pub const SNAPSHOT_ROUTE: &str = "/api/v1/admin/operations/snapshot";
pub const PAGE_ROUTE: &str = "/admin/operations";
pub const SCRIPT_ROUTE: &str = "/admin/operations.js";

/// Routes left out of the HTTP totals, so that an open page does not count its
/// own polling.
const OWN_ROUTES: [&str; 3] = [SNAPSHOT_ROUTE, PAGE_ROUTE, SCRIPT_ROUTE];

const SCRIPT: &str = include_str!("operations.js");

/// Cumulative totals of this instance's metrics at one instant.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperationsSnapshot {
    /// When the totals were read.
    pub taken_at: DateTime<Utc>,
    /// Tenant whose sales `sales` counts, or null when it counts every tenant
    /// (a platform admin without `X-Tenant-Id`).
    pub tenant_id: Option<Uuid>,
    pub http: HttpTotals,
    pub sales: SalesTotals,
}

/// HTTP requests served by this instance since it started, of every tenant and
/// of anonymous callers, except the operations page's own routes.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct HttpTotals {
    pub requests: StatusClassCounts,
    /// Requests being served now, the operations page's own included.
    pub in_flight: i64,
    pub duration_seconds: DurationHistogram,
}

/// Request counts by status class.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct StatusClassCounts {
    pub total: u64,
    #[serde(rename = "1xx")]
    pub informational: u64,
    #[serde(rename = "2xx")]
    pub success: u64,
    #[serde(rename = "3xx")]
    pub redirection: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
}

/// `venezuelan_pos_http_request_duration_seconds` summed over routes and methods.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DurationHistogram {
    /// Cumulative buckets in ascending order of `le`, without `+Inf`, whose
    /// count is `count`.
    pub buckets: Vec<HistogramBucket>,
    pub count: u64,
    /// Sum of all durations, in seconds.
    pub sum: f64,
}

/// Requests that took at most `le` seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistogramBucket {
    pub le: f64,
    pub count: u64,
}

/// Paid tickets and their revenue on this instance since it started, from
/// `venezuelan_pos_ticket_sales_total` and `venezuelan_pos_revenue_total`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SalesTotals {
    pub tickets_sold: u64,
    /// Revenue in USD, taxes included, IGTF excluded.
    pub revenue_usd: f64,
}

/// Returns the cumulative totals the operations page computes its rates from.
#[utoipa::path(get, path = "/api/v1/admin/operations/snapshot", tag = "admin",
    responses((status = 200, body = OperationsSnapshot), (status = 401, description = "missing or invalid token"),
        (status = 403, description = "forbidden")),
    security(("bearer" = [])))]
pub async fn snapshot(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
) -> ApiResult<Json<OperationsSnapshot>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = match (principal.role, principal.tenant_id) {
        (Role::PlatformAdmin, None) => None,
        _ => Some(principal.tenant()?),
    };

    let metrics = &state.metrics;
    Ok(Json(OperationsSnapshot {
        taken_at: state.clock.now(),
        tenant_id,
        http: read_http_totals(metrics),
        sales: read_sales_totals(metrics, tenant_id),
    }))
}

fn read_http_totals(metrics: &Metrics) -> HttpTotals {
    let mut totals = HttpTotals {
        in_flight: metrics.http_requests_in_flight.get(),
        ..HttpTotals::default()
    };

    for metric in families_metrics(&metrics.http_requests_total.collect()) {
        if is_own_route(metric) {
            continue;
        }
        let count = metric.get_counter().get_value() as u64;
        let requests = &mut totals.requests;
        requests.total += count;
        match label(metric, "status").chars().next() {
            Some('1') => requests.informational += count,
            Some('2') => requests.success += count,
            Some('3') => requests.redirection += count,
            Some('4') => requests.client_error += count,
            Some('5') => requests.server_error += count,
            _ => {}
        }
    }

    // Every label set has the same bucket bounds, so the sum of their
    // cumulative counts per bound is the histogram of all requests.
    let histogram = &mut totals.duration_seconds;
    for metric in families_metrics(&metrics.http_request_duration_seconds.collect()) {
        if is_own_route(metric) {
            continue;
        }
        let observed = metric.get_histogram();
        histogram.count += observed.get_sample_count();
        histogram.sum += observed.get_sample_sum();
        for (index, bucket) in observed.get_bucket().iter().enumerate() {
            match histogram.buckets.get_mut(index) {
                Some(total) => total.count += bucket.cumulative_count(),
                None => histogram.buckets.push(HistogramBucket {
                    le: bucket.upper_bound(),
                    count: bucket.cumulative_count(),
                }),
            }
        }
    }
    totals
}

fn read_sales_totals(metrics: &Metrics, tenant_id: Option<Uuid>) -> SalesTotals {
    let tenant_label = tenant_id.map(|id| id.to_string());
    let belongs = |metric: &prometheus::proto::Metric| match &tenant_label {
        Some(tenant) => label(metric, "tenant_id") == tenant,
        None => true,
    };

    let mut totals = SalesTotals::default();
    for metric in families_metrics(&metrics.ticket_sales_total.collect()) {
        if belongs(metric) {
            totals.tickets_sold += metric.get_counter().get_value() as u64;
        }
    }
    for metric in families_metrics(&metrics.revenue_total.collect()) {
        if belongs(metric) {
            totals.revenue_usd += metric.get_counter().get_value();
        }
    }
    totals
}

fn families_metrics(families: &[MetricFamily]) -> impl Iterator<Item = &prometheus::proto::Metric> {
    families.iter().flat_map(|family| family.get_metric())
}

fn label<'a>(metric: &'a prometheus::proto::Metric, name: &str) -> &'a str {
    metric
        .get_label()
        .iter()
        .find(|pair| pair.name() == name)
        .map(|pair| pair.value())
        .unwrap_or_default()
}

fn is_own_route(metric: &prometheus::proto::Metric) -> bool {
    OWN_ROUTES.contains(&label(metric, "route"))
}

/// `?lang=` of the operations page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `es` or `en`. Without it the page follows `Accept-Language`.
    pub lang: Option<PageLanguage>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageLanguage {
    Es,
    En,
}

/// Shows the operations page: a static shell with no data that asks for a
/// token and polls the snapshot endpoint. In Spanish unless `?lang=en` is given
/// or `Accept-Language` lists English first.
#[utoipa::path(get, path = "/admin/operations", tag = "admin", params(PageQuery),
    responses((status = 200, content_type = "text/html", description = "the page")))]
pub async fn page(headers: HeaderMap, ApiQuery(query): ApiQuery<PageQuery>) -> impl IntoResponse {
    let locale = match query.lang {
        Some(PageLanguage::Es) => Locale::Es,
        Some(PageLanguage::En) => Locale::En,
        None => Locale::from_headers(&headers),
    };
    let text = PageText::for_locale(locale);
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CONTENT_LANGUAGE, text.language),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(render_page(text)),
    )
}

/// Returns the operations page's script.
#[utoipa::path(get, path = "/admin/operations.js", tag = "admin",
    responses((status = 200, content_type = "text/javascript", description = "the script")))]
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}

/// Scripts and requests only from this origin, styles only inline, nothing
/// else; the page may not be framed and its form posts nowhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Fixed text of the page in one language. The `messages` go to the script as
/// `data-` attributes of `<body>`.
#[derive(Clone, Copy)]
struct PageText {
    language: &'static str,
    title: &'static str,
    intro: &'static str,
    token_label: &'static str,
    token_note: &'static str,
    connect: &'static str,
    forget: &'static str,
    /// Chart titles: request rate, latency, 5xx share, tickets, revenue.
    charts: [&'static str; 5],
    /// `(attribute, text)` pairs for the script's status messages.
    messages: [(&'static str, &'static str); 8],
}

const SPANISH: PageText = PageText {
    language: "es",
    title: "Operaciones",
    intro: "Gráficos en vivo de esta instancia, actualizados cada 5 segundos con sus propias \
        métricas: los últimos 5 minutos. Las solicitudes HTTP son las de toda la instancia y de \
        todos los tenants, sin contar las de esta página. Las ventas y los ingresos son solo los \
        de su tenant, o los de todos para un administrador de plataforma. Todo se cuenta desde que la instancia arrancó.",
    token_label: "Token de acceso",
    token_note: "Ingrese el token de acceso de un administrador. Se guarda solo en esta pestaña \
        (sessionStorage) y se envía solo a esta instancia, en la cabecera Authorization.",
    connect: "Conectar",
    forget: "Olvidar el token",
    charts: [
        "Solicitudes por segundo",
        "Latencia (ms)",
        "Errores 5xx (% de las solicitudes)",
        "Entradas vendidas por minuto",
        "Ingresos por minuto (USD)",
    ],
    messages: [
        (
            "data-waiting",
            "Esperando el segundo punto para calcular las tasas…",
        ),
        ("data-updated", "Actualizado:"),
        (
            "data-unauthorized",
            "El token no es válido o expiró. Ingrese uno nuevo.",
        ),
        (
            "data-forbidden",
            "Este usuario no tiene permiso: se necesita un administrador.",
        ),
        ("data-failed", "La instancia respondió con el estado"),
        (
            "data-offline",
            "No se pudo contactar a la instancia. Reintentando…",
        ),
        (
            "data-restarted",
            "Los contadores bajaron, así que la instancia se reinició u otra réplica atendió esta \
             consulta.",
        ),
        ("data-total", "total"),
    ],
};

const ENGLISH: PageText = PageText {
    language: "en",
    title: "Operations",
    intro: "Live charts of this instance, updated every 5 seconds from its own metrics: the last \
        5 minutes. HTTP requests are those of the whole instance and of every tenant, except this \
        page's own. Sales and revenue are your tenant's only, or every tenant's for a platform \
        admin. Everything is counted since the \
        instance started.",
    token_label: "Access token",
    token_note: "Enter an admin's access token. It is kept only in this tab (sessionStorage) and \
        sent only to this instance, in the Authorization header.",
    connect: "Connect",
    forget: "Forget the token",
    charts: [
        "Requests per second",
        "Latency (ms)",
        "5xx errors (% of requests)",
        "Tickets sold per minute",
        "Revenue per minute (USD)",
    ],
    messages: [
        (
            "data-waiting",
            "Waiting for the second point to compute rates…",
        ),
        ("data-updated", "Updated:"),
        (
            "data-unauthorized",
            "The token is invalid or has expired. Enter a new one.",
        ),
        (
            "data-forbidden",
            "This user is not allowed: an admin is required.",
        ),
        ("data-failed", "The instance returned status"),
        ("data-offline", "Could not reach the instance. Retrying…"),
        (
            "data-restarted",
            "The counters went down, so the instance restarted or another replica served this \
             request.",
        ),
        ("data-total", "total"),
    ],
};

impl PageText {
    fn for_locale(locale: Locale) -> Self {
        match locale {
            Locale::Es => SPANISH,
            Locale::En => ENGLISH,
        }
    }
}

/// Canvas ids of the charts, in the order of `PageText::charts`.
const CHART_IDS: [&str; 5] = ["requests", "latency", "errors", "tickets", "revenue"];

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:60rem}\
    form{margin:1rem 0}input{font:inherit;padding:.2rem .4rem;width:24rem;max-width:100%}\
    button{font:inherit;margin-left:.4rem}#status{min-height:1.4rem;color:#555}\
    section{margin:1.2rem 0}h2{font-size:1rem;margin:.2rem 0}\
    .value{font-weight:normal;color:#555;font-variant-numeric:tabular-nums}\
    canvas{width:100%;height:160px;border:1px solid #ddd}\
    .p50{color:#1f6feb}.p95{color:#d1242f}[hidden]{display:none}";

fn render_page(text: PageText) -> String {
    let mut messages = String::new();
    for (attribute, message) in text.messages {
        messages.push_str(&format!(" {attribute}=\"{}\"", escape_html(message)));
    }

    let mut charts = String::new();
    for (id, title) in CHART_IDS.iter().zip(text.charts) {
        let legend = if *id == "latency" {
            " <span class=\"p50\">p50</span> <span class=\"p95\">p95</span>"
        } else {
            ""
        };
        charts.push_str(&format!(
            "<section><h2>{title}{legend} <span class=\"value\" id=\"value-{id}\"></span></h2>\
             <canvas id=\"chart-{id}\" width=\"900\" height=\"160\"></canvas></section>\n",
            title = escape_html(title),
        ));
    }

    format!(
        "<!DOCTYPE html>\n<html lang=\"{language}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>taquilla · {title}</title>\n<style>{STYLE}</style>\n\
         <script src=\"{SCRIPT_ROUTE}\" defer></script>\n</head>\n<body{messages}>\n\
         <h1>{title}</h1>\n<p>{intro}</p>\n\
         <form id=\"token-form\" hidden><label for=\"token\">{token_label}</label><br>\
         <input id=\"token\" type=\"password\" autocomplete=\"off\" required>\
         <button type=\"submit\">{connect}</button><br><small>{token_note}</small></form>\n\
         <p><button id=\"forget\" type=\"button\" hidden>{forget}</button></p>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n{charts}</body>\n</html>\n",
        language = text.language,
        title = escape_html(text.title),
        intro = escape_html(text.intro),
        token_label = escape_html(text.token_label),
        connect = escape_html(text.connect),
        token_note = escape_html(text.token_note),
        forget = escape_html(text.forget),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_totals_sum_routes_and_skip_own() {
        let metrics = Metrics::new();
        for (route, status, seconds) in [
            ("/api/v1/events", "200", 0.002),
            ("/api/v1/events", "500", 0.2),
            ("/api/v1/holds", "404", 0.02),
            (SNAPSHOT_ROUTE, "200", 0.001),
        ] {
            metrics
                .http_requests_total
                .with_label_values(&[route, "GET", status])
                .inc();
            metrics
                .http_request_duration_seconds
                .with_label_values(&[route, "GET"])
                .observe(seconds);
        }

        let totals = read_http_totals(&metrics);

        assert_eq!(totals.requests.total, 3);
        assert_eq!(totals.requests.success, 1);
        assert_eq!(totals.requests.client_error, 1);
        assert_eq!(totals.requests.server_error, 1);
        let histogram = &totals.duration_seconds;
        assert_eq!(histogram.count, 3);
        assert!((histogram.sum - 0.222).abs() < 1e-9, "{}", histogram.sum);
        let at = |le: f64| {
            histogram
                .buckets
                .iter()
                .find(|bucket| bucket.le == le)
                .map(|bucket| bucket.count)
        };
        assert_eq!(at(0.001), Some(0));
        assert_eq!(at(0.005), Some(1));
        assert_eq!(at(0.025), Some(2));
        assert_eq!(at(0.25), Some(3));
    }
}
