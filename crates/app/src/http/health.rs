//! Health endpoints and the Prometheus exposition.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;

/// Checks every component; 503 only when the database is unreachable.
#[utoipa::path(get, path = "/health/", tag = "operations",
    responses((status = 200, description = "healthy or degraded"), (status = 503, description = "database unreachable")))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    let database =
        tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let database_healthy = matches!(database, Ok(Ok(())));
    if !database_healthy {
        tracing::error!(
            event = "health_check_failed",
            component = "database",
            "database health check failed"
        );
    }

    let worker = state
        .jobs
        .status(state.clock.now(), state.config.sweep_interval_seconds);
    let (fiscal_series, tenant_data) = if database_healthy {
        integrity_components(&state).await
    } else {
        let unknown = json!({ "status": "unknown", "reason": "database unreachable" });
        (unknown.clone(), unknown)
    };

    let (cache, redis) = cache_components(&state).await;

    let all_healthy = [&worker, &fiscal_series, &tenant_data, &cache]
        .iter()
        .all(|component| component["status"] == "healthy");
    let overall = if !database_healthy {
        "unhealthy"
    } else if all_healthy {
        "healthy"
    } else {
        "degraded"
    };
    let status = if database_healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut components = json!({
        "database": {
            "status": if database_healthy { "healthy" } else { "unhealthy" },
            "backend": state.store.backend(),
            "latency_ms": latency_ms,
        },
        "cache": cache,
        "job_worker": worker,
        "fiscal_series_integrity": fiscal_series,
        "tenant_data_integrity": tenant_data,
    });
    if let Some(redis) = redis {
        components["redis"] = redis;
    }
    let body = json!({ "status": overall, "components": components });
    (status, Json(body))
}

/// Returns the cache component and, when REDIS_URL is set, the Redis one.
/// Redis down degrades the service but does not stop sales: reads go to the
/// database and rate limits fall back to this process.
async fn cache_components(state: &AppState) -> (Value, Option<Value>) {
    let Some(redis) = &state.redis else {
        return (
            json!({ "status": "healthy", "kind": state.cache.kind() }),
            None,
        );
    };
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), redis.ping()).await;
    match ping
        .map_err(|_| "timed out".to_string())
        .and_then(|answer| answer.map_err(|error| error.to_string()))
    {
        Ok(latency) => (
            json!({ "status": "healthy", "kind": state.cache.kind() }),
            Some(json!({
                "status": "healthy",
                "latency_ms": latency.as_secs_f64() * 1000.0,
            })),
        ),
        Err(error) => {
            tracing::warn!(
                event = "health_check_failed",
                component = "redis",
                error = %error,
                "Redis health check failed"
            );
            (
                json!({
                    "status": "degraded",
                    "kind": state.cache.kind(),
                    "reason": "redis failed its health check; reads go to the database",
                }),
                Some(json!({ "status": "unhealthy", "reason": error })),
            )
        }
    }
}

/// Seconds an integrity check result is reused; the check reads whole tables.
const INTEGRITY_CHECK_SECONDS: i64 = 60;

/// Returns the fiscal-series and tenant-data components, from a check at most
/// a minute old. A breach marks the component unhealthy (and the instance
/// degraded, not down: it can still serve) and is logged for someone to act on.
async fn integrity_components(state: &AppState) -> (Value, Value) {
    let now = state.clock.now();
    let mut cache = state.integrity.lock().await;
    let fresh = cache
        .as_ref()
        .is_some_and(|(checked_at, _)| (now - *checked_at).num_seconds() < INTEGRITY_CHECK_SECONDS);
    if !fresh {
        let started = Instant::now();
        match tokio::time::timeout(
            std::time::Duration::from_secs(5),
            state.store.check_integrity(),
        )
        .await
        {
            Ok(Ok(report)) => {
                if !report.fiscal_series_ok() || !report.tenant_data_ok() {
                    tracing::error!(event = "integrity_check_failed", report = ?report, "an invariant is broken in the stored data");
                }
                tracing::debug!(
                    duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "integrity check ran"
                );
                *cache = Some((now, report));
            }
            Ok(Err(error)) => {
                tracing::error!(error.cause_chain = ?error, "integrity check failed");
                let failed = json!({ "status": "unknown", "reason": "integrity check failed" });
                return (failed.clone(), failed);
            }
            Err(_) => {
                tracing::warn!(
                    event = "integrity_check_timed_out",
                    timeout_seconds = 5,
                    "integrity check timed out; reporting its components as unknown"
                );
                let late = json!({ "status": "unknown", "reason": "integrity check timed out" });
                return (late.clone(), late);
            }
        }
    }

    let (checked_at, report) = cache.as_ref().expect("filled above");
    let fiscal = json!({
        "status": if report.fiscal_series_ok() { "healthy" } else { "unhealthy" },
        "checked_at": checked_at,
        "series_with_gaps": report.series_with_gaps,
        "paid_orders_without_invoice": report.paid_orders_without_invoice,
    });
    let tenant_data = json!({
        "status": if report.tenant_data_ok() { "healthy" } else { "unhealthy" },
        "checked_at": checked_at,
        "paid_orders_without_tickets": report.paid_orders_without_tickets,
        "sold_seats_without_one_ticket": report.sold_seats_without_one_ticket,
        "oversold_zones": report.oversold_zones,
    });
    (fiscal, tenant_data)
}

/// Liveness: the process responds.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200)))]
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

/// Readiness: the database responds.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses((status = 200), (status = 503)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready" })),
        ),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.record_pool(state.store.pool_status());
    state.metrics.record_active_users(
        state.clock.now(),
        chrono::Duration::minutes(state.config.active_user_minutes),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
