//! Operations endpoints: health checks, Prometheus metrics and the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use taquilla_app::jobs::sweep_once;

use crate::helpers::{
    Backend, EventTimes, Param, ZoneSpec, assert_error, assert_status, spawn_app, spawn_app_with,
};

backend_tests!(
    health_reports_database,
    metrics_count_ticket_sales,
    openapi_lists_every_route,
    metrics_move_to_export_port,
    integrity_breach_degrades_health,
    business_labels_bound_to_tenant,
    job_metrics_show_sweeper_backlog
);

async fn health_reports_database(backend: Backend) {
    let app = spawn_app(backend).await;
    sweep_once(&app.state).await.expect("sweeper round");
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };

    for path in ["/health/"] {
        let health = app.get(path).send().await;
        assert_status(&health, 200);
        assert_eq!(health.body["status"], "healthy", "{path}: {}", health.text);
        assert_eq!(health.body["components"]["database"]["status"], "healthy");
        assert_eq!(
            health.body["components"]["database"]["backend"],
            backend_name
        );
        assert!(health.body["components"]["database"]["latency_ms"].is_f64());
        assert_eq!(health.body["components"]["job_worker"]["status"], "healthy");
        assert_eq!(health.body["components"]["job_worker"]["failures"], 0);
    }

    let live = app.get("/health/live").send().await;
    assert_status(&live, 200);
    assert_eq!(live.body, json!({ "status": "alive" }));
    let ready = app.get("/health/ready").send().await;
    assert_status(&ready, 200);
    assert_eq!(ready.body, json!({ "status": "ready" }));

    // Every response carries a request id.
    let request_id = live
        .headers
        .get("x-request-id")
        .expect("an X-Request-Id header");
    assert!(uuid::Uuid::parse_str(request_id.to_str().unwrap()).is_ok());

    app.teardown().await;
}

async fn metrics_count_ticket_sales(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "metricas",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;

    let before = app.get("/metrics").send().await;
    assert_status(&before, 200);
    assert!(
        !before.text.contains("venezuelan_pos_ticket_sales_total{"),
        "sales counted before any sale"
    );

    let order = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 2 }))
        .await;
    assert_eq!(order["status"], "paid");

    let metrics = app.get("/metrics").send().await;
    assert_status(&metrics, 200);
    let content_type = metrics
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("text/plain"),
        "content type {content_type}"
    );
    let sales = format!(
        "venezuelan_pos_ticket_sales_total{{event_id=\"{}\",payment_method=\"cash\",tenant_id=\"{}\",zone_id=\"{}\"}} 2",
        shop.event_id, shop.tenant.tenant_id, shop.zone_id
    );
    assert!(
        metrics.text.lines().any(|line| line == sales),
        "no line `{sales}` in:\n{}",
        metrics.text
    );
    // 2 × 25.00 USD plus 16 % IVA.
    let revenue = format!(
        "venezuelan_pos_revenue_total{{event_id=\"{}\",payment_method=\"cash\",tenant_id=\"{}\",zone_id=\"{}\"}} 58",
        shop.event_id, shop.tenant.tenant_id, shop.zone_id
    );
    assert!(
        metrics.text.lines().any(|line| line == revenue),
        "no line `{revenue}` in:\n{}",
        metrics.text
    );
    let invoices = format!(
        "venezuelan_pos_fiscal_series_generated_total{{tenant_id=\"{}\"}} 1",
        shop.tenant.tenant_id
    );
    assert!(
        metrics.text.lines().any(|line| line == invoices),
        "no line `{invoices}`"
    );
    assert!(
        metrics
            .text
            .contains("venezuelan_pos_http_requests_total{method=\"POST\",route=\"/api/v1/orders/{id}/payments\",status=\"201\"} 1"),
        "payments are not counted by route template"
    );
    // The completing payment is one storage call, timed once.
    assert!(
        metrics.text.contains(
            "venezuelan_pos_database_query_duration_seconds_count{operation=\"add_payment\",table=\"payments\"} 1"
        ),
        "storage calls are not timed"
    );
    assert!(
        metrics
            .text
            .lines()
            .any(|line| line.starts_with("venezuelan_pos_database_pool_connections{state=\"max\"}")),
        "the pool is not reported"
    );

    app.teardown().await;
}

/// Returns each route path of `crates/app/src/http/mod.rs` with its methods,
/// routes of the `api` router prefixed with the path it is nested under.
fn routes_in_source() -> BTreeMap<String, BTreeSet<String>> {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../app/src/http/mod.rs"
    ))
    .expect("reading crates/app/src/http/mod.rs");
    let api_start = source
        .find("let api = Router::new()")
        .expect("the api router");
    let api_end = api_start
        + source[api_start..]
            .find(';')
            .expect("the end of the api router");
    let nest_prefix = source
        .split(".nest(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the prefix the api router is nested under");

    let mut routes = BTreeMap::new();
    let mut position = 0;
    while let Some(offset) = source[position..].find(".route(") {
        let after_call = position + offset + ".route(".len();
        // rustfmt may put the path on the next line.
        let quote = after_call + source[after_call..].find('"').expect("a route path");
        assert!(
            source[after_call..quote].trim().is_empty(),
            "a route path is not a string literal"
        );
        let start = quote + 1;
        let path_end = start + source[start..].find('"').expect("the end of a route path");
        let path = &source[start..path_end];
        // The handler expression runs to the next route, or the end of the router.
        let rest = &source[path_end..];
        let handler_end = [
            rest.find(".route("),
            rest.find(';'),
            rest.find(".fallback("),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
        let handler = &rest[..handler_end];
        let methods: BTreeSet<String> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|method| {
                handler
                    .match_indices(&format!("{method}("))
                    .any(|(index, _)| {
                        index == 0
                            || !handler.as_bytes()[index - 1].is_ascii_alphanumeric()
                                && handler.as_bytes()[index - 1] != b'_'
                    })
            })
            .map(str::to_string)
            .collect();
        let full_path = if start > api_start && start < api_end {
            format!("{nest_prefix}{path}")
        } else {
            path.to_string()
        };
        routes.insert(full_path, methods);
        position = path_end;
    }
    routes
}

async fn openapi_lists_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let routes = routes_in_source();
    assert!(
        routes.contains_key("/api/v1/orders/{id}/payments"),
        "route parsing failed: {routes:?}"
    );
    assert!(
        routes.len() >= 30,
        "route parsing found only {} paths",
        routes.len()
    );

    let document = app.get("/api/openapi.json").send().await;
    assert_status(&document, 200);
    let paths = document.body["paths"]
        .as_object()
        .expect("an OpenAPI paths object");
    let documented: BTreeMap<String, BTreeSet<String>> = paths
        .iter()
        .map(|(path, operations)| {
            let methods = operations
                .as_object()
                .expect("a path item")
                .keys()
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect();

    // Where both list a path, they list the same methods.
    for (path, methods) in &documented {
        if let Some(routed) = routes.get(path) {
            assert_eq!(methods, routed, "methods of {path}");
        }
    }

    // A path parameter appears in its path; query parameters are declared as such.
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if parameter["in"] == "path" {
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path} declares `{name}` as a path parameter"
                    );
                }
            }
        }
    }
    let customer_parameters: Vec<(&str, &str)> = paths["/api/v1/customers"]["get"]["parameters"]
        .as_array()
        .expect("parameters of GET /api/v1/customers")
        .iter()
        .map(|parameter| {
            (
                parameter["name"].as_str().unwrap(),
                parameter["in"].as_str().unwrap(),
            )
        })
        .collect();
    for name in ["document", "phone", "email", "q", "limit", "cursor"] {
        assert!(
            customer_parameters.contains(&(name, "query")),
            "{name} in {customer_parameters:?}"
        );
    }

    let routed_paths: BTreeSet<&String> = routes.keys().collect();
    let documented_paths: BTreeSet<&String> = documented.keys().collect();
    let undocumented: Vec<&&String> = routed_paths.difference(&documented_paths).collect();
    let unrouted: Vec<&&String> = documented_paths.difference(&routed_paths).collect();
    assert_eq!(
        routed_paths, documented_paths,
        "routes missing from the OpenAPI document: {undocumented:?}; documented paths without a route: {unrouted:?}"
    );

    app.teardown().await;
}

async fn metrics_move_to_export_port(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.metrics_port = Some(0);
        config.metrics_only_on_export_port = true;
    })
    .await;

    let on_api_port = app.get("/metrics").send().await;
    let export = app.metrics_address.clone().expect("a metrics listener");
    let on_export_port = app
        .client
        .get(format!("{export}/metrics"))
        .send()
        .await
        .expect("the metrics listener responds");

    assert_error(&on_api_port, 404, "not_found");
    assert_eq!(on_export_port.status().as_u16(), 200);
    let text = on_export_port.text().await.unwrap();
    assert!(text.contains("venezuelan_pos_http_requests_total"));
    app.teardown().await;
}

async fn business_labels_bound_to_tenant(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.metrics_tenant_labels_only = true;
    })
    .await;
    let shop = app
        .setup_shop(
            "etiquetas",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;
    app.sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 2 }))
        .await;

    let metrics = app.get("/metrics").send().await;

    let sold = format!(
        "venezuelan_pos_ticket_sales_total{{event_id=\"\",payment_method=\"cash\",tenant_id=\"{}\",zone_id=\"\"}} 2",
        shop.tenant.tenant_id
    );
    assert!(
        metrics.text.lines().any(|line| line == sold),
        "no line `{sold}`"
    );
    // The admin set the shop up and the cashier sold: two active users.
    let active = format!(
        "venezuelan_pos_active_users{{tenant_id=\"{}\"}} 2",
        shop.tenant.tenant_id
    );
    assert!(
        metrics.text.lines().any(|line| line == active),
        "no line `{active}`"
    );
    app.teardown().await;
}

async fn integrity_breach_degrades_health(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "integridad",
            "J-00124134-5",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    app.sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .await;
    // A counter bumped behind taquilla's back leaves number 2 handed out and missing.
    let bumped = app
        .db
        .execute(
            "UPDATE fiscal_series SET next_number = next_number + 1 WHERE tenant_id = $1 AND kind = 'invoice'",
            &[Param::from(shop.tenant.tenant_id)],
        )
        .await;
    assert_eq!(bumped, 1);

    let health = app.get("/health/").send().await;

    assert_status(&health, 200);
    assert_eq!(health.body["status"], "degraded");
    let fiscal = &health.body["components"]["fiscal_series_integrity"];
    assert_eq!(fiscal["status"], "unhealthy");
    assert_eq!(fiscal["series_with_gaps"][0]["numbers_issued"], 2);
    assert_eq!(fiscal["series_with_gaps"][0]["documents"], 1);
    assert_eq!(
        health.body["components"]["tenant_data_integrity"]["status"],
        "healthy"
    );
    app.teardown().await;
}

/// Returns the value of the exposition line that starts with `series `.
fn series_value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn job_metrics_show_sweeper_backlog(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "cola",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;
    // The sweeper's first round runs when the server starts.
    let mut exposition = String::new();
    for _ in 0..50 {
        exposition = app.get("/metrics").send().await.text;
        if series_value(
            &exposition,
            "venezuelan_pos_job_runs_total{outcome=\"success\",task=\"sweeper\"}",
        )
        .is_some_and(|runs| runs >= 1.0)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        series_value(
            &exposition,
            "venezuelan_pos_job_runs_total{outcome=\"success\",task=\"sweeper\"}"
        )
        .is_some_and(|runs| runs >= 1.0),
        "{exposition}"
    );
    assert_eq!(
        series_value(
            &exposition,
            "venezuelan_pos_job_runs_total{outcome=\"failure\",task=\"sweeper\"}"
        ),
        Some(0.0)
    );
    assert!(
        series_value(
            &exposition,
            "venezuelan_pos_job_last_success_timestamp_seconds{task=\"sweeper\"}"
        )
        .is_some_and(|at| at > 1.0e9)
    );

    // Two holds pass their expiry: the next round sees them waiting, and
    // the round after sees none.
    for _ in 0..2 {
        let hold = app
            .hold_quantity(&shop.tenant.cashier_token, shop.zone_id, 1)
            .await;
        assert_status(&hold, 201);
    }
    app.advance(chrono::Duration::minutes(30));
    sweep_once(&app.state).await.expect("sweeper round");
    let exposition = app.get("/metrics").send().await.text;
    assert_eq!(
        series_value(&exposition, "venezuelan_pos_holds_due"),
        Some(2.0)
    );
    assert!(
        series_value(&exposition, "venezuelan_pos_holds_due_oldest_seconds")
            .is_some_and(|age| age >= 60.0),
        "{exposition}"
    );
    sweep_once(&app.state).await.expect("sweeper round");
    let exposition = app.get("/metrics").send().await.text;
    assert_eq!(
        series_value(&exposition, "venezuelan_pos_holds_due"),
        Some(0.0)
    );
    assert_eq!(
        series_value(&exposition, "venezuelan_pos_holds_due_oldest_seconds"),
        Some(0.0)
    );
    app.teardown().await;
}
