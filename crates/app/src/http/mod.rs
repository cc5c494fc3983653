//! The HTTP API: routes, middleware, and one module per resource.

pub mod admin;
pub mod auth;
pub mod catalogue;
pub mod customers;
pub mod extract;
pub mod fiscal;
pub mod gate;
pub mod health;
pub mod offline;
pub mod operations;
pub mod pricing;
pub mod print;
pub mod profiling;
pub mod sales;
pub mod validate;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use sentry::integrations::tower::{NewSentryLayer, SentryHttpLayer};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Instrument;

use crate::error::{ApiError, localize_errors};
use crate::state::AppState;

/// Builds the full router with its middleware.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// Rejects query parameters on API requests that change something: no such
/// endpoint reads one, so `POST /events/{id}/cancel?dry_run=1` must not
/// cancel the event. Reading endpoints check theirs with `ApiQuery` or
/// `NoQuery`.
async fn reject_query_on_writes(request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads && let Some(query) = request.uri().query().filter(|query| !query.is_empty()) {
        let names = form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .collect();
        return ApiError::Validation(extract::unknown_field_errors("", names)).into_response();
    }
    next.run(request).await
}

/// Builds the full router with `extra` merged into the `/api/v1` routes, inside
/// every middleware layer. The server passes no extra routes. Tests pass routes
/// that reach paths no production route has, such as a handler that panics.
#[doc(hidden)]
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/me", get(auth::me))
        .route(
            "/tenants",
            get(admin::list_tenants).post(admin::create_tenant),
        )
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route(
            "/venues",
            get(catalogue::list_venues).post(catalogue::create_venue),
        )
        .route("/venues/{id}", get(catalogue::get_venue))
        .route(
            "/events",
            get(catalogue::list_events).post(catalogue::create_event),
        )
        .route("/events/{id}", get(catalogue::get_event))
        .route("/events/{id}/sales-summary", get(catalogue::sales_summary))
        .route("/events/{id}/activate", post(catalogue::activate_event))
        .route("/events/{id}/close", post(catalogue::close_event))
        .route("/events/{id}/cancel", post(catalogue::cancel_event))
        .route(
            "/events/{id}/zones",
            get(catalogue::list_zones).post(catalogue::create_zone),
        )
        .route(
            "/events/{id}/stages",
            get(pricing::list_stages).post(pricing::create_stage),
        )
        .route("/events/{id}/stages/current", get(pricing::current_stages))
        .route("/stages/{id}/end", post(pricing::end_stage))
        .route(
            "/events/{id}/stages/transitions",
            get(pricing::list_transitions),
        )
        .route(
            "/events/{id}/discount-codes",
            get(pricing::list_discount_codes).post(pricing::create_discount_code),
        )
        .route("/events/{id}/pinned-rate", put(pricing::pin_rate))
        .route("/zones/{id}", get(catalogue::get_zone))
        .route("/zones/{id}/pricing", patch(pricing::update_zone_pricing))
        .route("/zones/{id}/tables", post(pricing::create_table))
        .route(
            "/tax-rules",
            get(pricing::list_tax_rules).post(pricing::create_tax_rule),
        )
        .route("/tax-rules/{id}/end", post(pricing::end_tax_rule))
        .route(
            "/settings/igtf",
            get(pricing::igtf_settings).put(pricing::set_igtf_settings),
        )
        .route("/zones/{id}/availability", get(catalogue::availability))
        .route(
            "/customers",
            get(customers::search_customers).post(customers::create_customer),
        )
        .route("/customers/{id}", get(customers::get_customer))
        .route(
            "/exchange-rates",
            get(customers::list_exchange_rates).post(customers::create_exchange_rate),
        )
        .route("/holds", post(sales::create_hold))
        .route(
            "/holds/{id}",
            get(sales::get_hold).delete(sales::release_hold),
        )
        .route("/sales", post(sales::quick_sale))
        .route("/orders", post(sales::create_order))
        .route("/orders/{id}", get(sales::get_order))
        .route("/orders/{id}/cancel", post(sales::cancel_order))
        .route("/orders/{id}/payments", post(sales::add_payment))
        .route("/orders/{id}/void", post(sales::void_order))
        .route("/orders/{id}/tickets", get(gate::list_tickets))
        .route("/tickets/validate", post(gate::validate_ticket))
        .route("/tickets/public-key", get(gate::public_key))
        .route("/fiscal/documents", get(fiscal::list_documents))
        .route("/fiscal/documents/{id}", get(fiscal::get_document))
        .route("/fiscal/documents/{id}/print", get(print::document_html))
        .route("/fiscal/documents/{id}/pdf", get(print::document_pdf))
        .route("/orders/{id}/tickets/print", get(print::tickets_html))
        .route("/orders/{id}/tickets/pdf", get(print::tickets_pdf))
        .route(
            "/fiscal/series",
            get(fiscal::list_series).post(fiscal::create_series),
        )
        .route(
            "/fiscal/series/{id}",
            get(fiscal::get_series).patch(fiscal::update_series),
        )
        .route("/fiscal/issue-queue", get(fiscal::list_issue_queue))
        .route("/fiscal/issue-queue/{id}/retry", post(fiscal::retry_issue))
        .route(
            "/fiscal/issue-queue/{id}/reassign",
            post(fiscal::reassign_issue),
        )
        .route("/fiscal/reports/x", get(fiscal::x_report))
        .route(
            "/fiscal/reports/z",
            get(fiscal::list_z_reports).post(fiscal::close_day),
        )
        .route("/fiscal/reports/z/{id}", get(fiscal::get_z_report))
        .route("/fiscal/reports/daily", get(fiscal::daily_summary))
        .route("/fiscal/verify", get(fiscal::verify))
        .route("/banks", get(fiscal::list_banks))
        .route(
            "/offline/blocks",
            get(offline::list_blocks).post(offline::create_block),
        )
        .route("/offline/blocks/{id}", get(offline::get_block))
        .route("/offline/blocks/{id}/sync", post(offline::sync_block))
        .route("/offline/blocks/{id}/close", post(offline::close_block))
        .route("/admin/profiling/requests", get(profiling::list_requests))
        .route("/admin/operations/snapshot", get(operations::snapshot));

    // Only `/api/v1` is limited: health checks, `/metrics` and the OpenAPI
    // document stay reachable whatever a client spent.
    let api = api
        .merge(extra)
        .route_layer(middleware::from_fn(reject_query_on_writes))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limit::enforce,
        ));
    let max_body_bytes = state.config.max_body_bytes;
    Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(crate::openapi::document))
        .route("/admin/profiling", get(profiling::page))
        .route("/admin/operations", get(operations::page))
        .route("/admin/operations.js", get(operations::script))
        .route("/health/", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .merge(
            crate::web::routes().route_layer(middleware::from_fn_with_state(
                state.clone(),
                crate::rate_limit::enforce,
            )),
        )
        .merge(if state.config.metrics_only_on_export_port {
            Router::new()
        } else {
            metrics_router()
        })
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost, so that a caught panic's 500 is localised and counted by
        // `observe` like any other response.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(localize_errors))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Outermost, so that a panic is reported from the request's own Sentry
        // hub, with its tenant tag; sampled requests become transactions.
        .layer(SentryHttpLayer::new().enable_transaction())
        .layer(NewSentryLayer::<Request>::new_from_top())
        .with_state(state)
}

/// Builds the router with only `/metrics`, which is also served on PROMETHEUS_METRICS_EXPORT_PORT.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(health::metrics))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Measures each request, feeds the HTTP metrics, writes one access event and,
/// when request profiling is enabled, keeps the request's profile.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let started_at = state.clock.now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_string();
    // `otel.name` and the `http.*` fields name and describe the span when
    // traces are exported over OTLP.
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        request.id = %request_id,
        tenant.id = tracing::field::Empty,
        user.id = tracing::field::Empty,
    );

    state.metrics.http_requests_in_flight.inc();
    let handled = next.run(request).instrument(span.clone());
    let (response, collected) =
        if state.config.enable_request_profiling && crate::profiling::is_profiled_route(&route) {
            let (response, collected) = crate::profiling::collect(handled).await;
            (response, Some(collected))
        } else {
            (handled.await, None)
        };
    state.metrics.http_requests_in_flight.dec();

    let duration = started.elapsed();
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    state
        .metrics
        .http_requests_total
        .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
        .inc();
    state
        .metrics
        .http_request_duration_seconds
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(duration.as_secs_f64());

    let duration_ms = duration.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(event = "http_request", http.method = %method, http.route = %route, http.status = status, duration_ms, "request served");
        if duration.as_millis() as u64 >= state.config.slow_request_ms {
            tracing::warn!(event = "slow_request_detected", http.method = %method, http.route = %route, duration_ms, "slow request");
        }
    });
    if let Some(collected) = collected {
        let served = crate::profiling::ServedRequest {
            request_id: &request_id,
            started_at,
            method: method.as_str(),
            route: &route,
            status,
            duration,
        };
        state
            .profiles
            .push(crate::profiling::RequestProfile::new(served, collected));
    }
    response
}
