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
    let overall = if !database_healthy {
        "unhealthy"
    } else if worker["status"] != "healthy" {
        "degraded"
    } else {
        "healthy"
    };
    let status = if database_healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": overall,
        "components": {
            "database": {
                "status": if database_healthy { "healthy" } else { "unhealthy" },
                "backend": state.store.backend(),
                "latency_ms": latency_ms,
            },
            "cache": { "status": "healthy", "kind": "none" },
            "job_worker": worker,
        },
    });
    (status, Json(body))
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
