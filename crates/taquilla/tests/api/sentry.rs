//! Error reporting to a fake Sentry ingest server on loopback.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;
use taquilla_app::auth::Principal;
use taquilla_app::config::LogFormat;

use crate::helpers::{
    Backend, EventTimes, Param, ZoneSpec, assert_error, spawn_app, spawn_app_with_routes,
};

backend_tests!(
    internal_error_reaches_sentry_scrubbed,
    panic_reaches_sentry_scrubbed
);

/// Path, under `/api/v1`, of the route that only the panic test adds.
const PANIC_ROUTE: &str = "/test-only/panic";
const PANIC_MESSAGE: &str = "deliberate panic in a test handler";

/// Starts a server that stores every envelope posted to it; returns its DSN.
async fn fake_sentry() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let router = Router::new().route(
        "/api/{project}/envelope/",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                store
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://public@127.0.0.1:{port}/1"), received)
}

async fn internal_error_reaches_sentry_scrubbed(backend: Backend) {
    // Arrange: Sentry starts before the server's threads do, as in `serve`;
    // then a sale, and an order whose stored taxes no longer parse.
    let (dsn, received) = fake_sentry().await;
    taquilla_app::telemetry::init(LogFormat::Text);
    let config = taquilla_app::Config {
        sentry_dsn: Some(dsn),
        sentry_environment: "pruebas".to_string(),
        ..taquilla_app::Config::default()
    };
    let guard = taquilla_app::telemetry::init_sentry(&config).expect("a Sentry client");
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "sentry",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 5,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let order = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .await;
    let order_id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();
    app.db
        .execute(
            "UPDATE orders SET taxes = 'no es JSON' WHERE id = $1",
            &[Param::from(order_id)],
        )
        .await;

    // Act
    let broken = app
        .get(&format!("/api/v1/orders/{order_id}"))
        .token(&shop.tenant.cashier_token)
        .send()
        .await;
    drop(guard);

    // Assert: an opaque 500 for the client, a scrubbed event with the tenant for Sentry.
    assert_error(&broken, 500, "internal_error");
    let envelopes = received.lock().unwrap().clone();
    let event = envelopes
        .iter()
        .find(|envelope| envelope.contains("request failed with an internal error"))
        .unwrap_or_else(|| panic!("no error event among {} envelopes", envelopes.len()));
    assert!(
        event.contains(&format!("\"tenant_id\":\"{}\"", shop.tenant.tenant_id)),
        "no tenant tag in {event}"
    );
    assert!(event.contains("\"environment\":\"pruebas\""));
    assert!(
        !event.contains(&shop.tenant.cashier_token),
        "the access token reached Sentry"
    );
    assert!(
        !event.to_ascii_lowercase().contains("\"authorization\""),
        "an Authorization header reached Sentry"
    );
    app.teardown().await;
}

/// Panics after authentication, when the tenant tag is already on the request's Sentry scope.
async fn panicking_handler(_principal: Principal) -> StatusCode {
    panic!("{PANIC_MESSAGE}");
}

/// Returns the value of the sample line that starts with `series` in a Prometheus exposition.
fn sample(exposition: &str, series: &str) -> Option<String> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(str::to_string)
    })
}

async fn panic_reaches_sentry_scrubbed(backend: Backend) {
    // Arrange: Sentry starts before the server's threads do, as in `serve`.
    // `/metrics` is read on its own port, where a scrape is not itself counted
    // as an API request in flight.
    let (dsn, received) = fake_sentry().await;
    taquilla_app::telemetry::init(LogFormat::Text);
    let config = taquilla_app::Config {
        sentry_dsn: Some(dsn),
        sentry_environment: "pruebas".to_string(),
        ..taquilla_app::Config::default()
    };
    let guard = taquilla_app::telemetry::init_sentry(&config).expect("a Sentry client");
    let routes = Router::new().route(PANIC_ROUTE, get(panicking_handler));
    let app = spawn_app_with_routes(backend, |config| config.metrics_port = Some(0), routes).await;
    let tenant = app.setup_tenant("panico", "J-12345678-4").await;
    let token = &tenant.cashier_token;

    // Act
    let response = app
        .get(&format!("/api/v1{PANIC_ROUTE}"))
        .token(token)
        .send()
        .await;
    let metrics_address = app.metrics_address.clone().expect("a metrics listener");
    let exposition = app
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .expect("the metrics listener responds")
        .text()
        .await
        .expect("reading the exposition");
    drop(guard);

    // Assert: the client gets the opaque 500 envelope.
    assert_error(&response, 500, "internal_error");

    // Sentry gets the panic with the tenant tag and without credentials.
    let envelopes = received.lock().unwrap().clone();
    let event = envelopes
        .iter()
        .find(|envelope| envelope.contains(PANIC_MESSAGE))
        .unwrap_or_else(|| panic!("no panic event among {} envelopes", envelopes.len()));
    assert!(
        event.contains("\"type\":\"panic\""),
        "the event is not a panic: {event}"
    );
    assert!(
        event.contains(&format!("\"tenant_id\":\"{}\"", tenant.tenant_id)),
        "no tenant tag in {event}"
    );
    assert!(
        !event.contains(&format!("Bearer {token}")),
        "the Authorization header value reached Sentry"
    );
    assert!(
        !event.contains(token.as_str()),
        "the access token reached Sentry"
    );
    assert!(
        !event.to_ascii_lowercase().contains("\"authorization\""),
        "an Authorization header reached Sentry"
    );

    // The 500 is counted, and nothing is left in flight.
    let series = format!(
        "venezuelan_pos_http_requests_total{{method=\"GET\",route=\"/api/v1{PANIC_ROUTE}\",status=\"500\"}}"
    );
    assert_eq!(
        sample(&exposition, &series).as_deref(),
        Some("1"),
        "no count of the 500 in:\n{exposition}"
    );
    assert_eq!(
        sample(&exposition, "venezuelan_pos_http_requests_in_flight").as_deref(),
        Some("0"),
        "requests left in flight in:\n{exposition}"
    );
    app.teardown().await;
}
