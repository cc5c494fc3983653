//! Request profiling: the admin JSON list and HTML page of the slowest recent
//! requests with their store calls.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    spawn_app, spawn_app_with, uuid_of,
};

backend_tests!(
    profiling_lists_payment_queries,
    profiling_page_renders_html,
    profiling_requires_admin,
    profiling_isolates_tenants,
    profiling_disabled_lists_nothing
);

const PAYMENT_ROUTE: &str = "/api/v1/orders/{id}/payments";
const LIST_PATH: &str = "/api/v1/admin/profiling/requests";
const PAGE_PATH: &str = "/admin/profiling";

async fn spawn_profiled_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.enable_request_profiling = true;
    })
    .await
}

async fn open_shop(app: &TestApp, slug: &str, rif: &str) -> Shop {
    app.setup_shop(
        slug,
        rif,
        ZoneSpec::GeneralAdmission {
            capacity: 10,
            price_usd_cents: 2_500,
        },
        EventTimes::default(),
    )
    .await
}

async fn sell_one(app: &TestApp, shop: &Shop) {
    app.sell(shop, json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .await;
}

async fn list(app: &TestApp, token: &str) -> ApiResponse {
    app.get(LIST_PATH).token(token).send().await
}

fn listed_requests(response: &ApiResponse) -> Vec<Value> {
    response.body["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("no requests array in {}", response.text))
        .clone()
}

fn payment_requests(requests: &[Value]) -> Vec<Value> {
    requests
        .iter()
        .filter(|request| request["route"] == PAYMENT_ROUTE)
        .cloned()
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> Uuid {
    let me = app.get("/api/v1/auth/me").token(token).send().await;
    assert_status(&me, 200);
    me.id("id")
}

async fn profiling_lists_payment_queries(backend: Backend) {
    let app = spawn_profiled_app(backend).await;
    let shop = open_shop(&app, "perfil", "J-12345678-4").await;
    sell_one(&app, &shop).await;
    let cashier_id = user_id(&app, &shop.tenant.cashier_token).await;

    let response = list(&app, &shop.tenant.admin_token).await;

    assert_status(&response, 200);
    assert_eq!(response.body["enabled"], true);
    assert_eq!(response.body["window"], 1000);
    let requests = listed_requests(&response);
    assert!(!requests.is_empty());
    assert!(requests.len() <= 50);
    let durations: Vec<f64> = requests
        .iter()
        .map(|request| request["duration_ms"].as_f64().expect("duration_ms"))
        .collect();
    assert!(
        durations.windows(2).all(|pair| pair[0] >= pair[1]),
        "not slowest first: {durations:?}"
    );
    assert!(
        requests
            .iter()
            .all(|request| !request["route"].as_str().unwrap().contains("profiling")),
        "the profiling endpoint listed itself"
    );

    let payments = payment_requests(&requests);
    assert_eq!(payments.len(), 1, "payment requests in {}", response.text);
    let payment = &payments[0];
    assert_eq!(payment["method"], "POST");
    assert_eq!(payment["status"], 201);
    assert!(payment["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(uuid_of(&payment["tenant_id"]), shop.tenant.tenant_id);
    assert_eq!(uuid_of(&payment["user_id"]), cashier_id);
    assert!(Uuid::parse_str(payment["request_id"].as_str().unwrap()).is_ok());
    assert!(payment["started_at"].is_string());

    let query_count = payment["query_count"].as_u64().expect("query_count");
    assert!(query_count > 0);
    assert!(payment["database_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(payment["operations_truncated"], false);
    let operations = payment["operations"].as_array().expect("operations");
    assert_eq!(operations.len() as u64, query_count);
    let add_payment = operations
        .iter()
        .find(|operation| operation["operation"] == "add_payment")
        .unwrap_or_else(|| panic!("no add_payment in {operations:?}"));
    assert_eq!(add_payment["table"], "payments");
    assert!(add_payment["duration_ms"].as_f64().unwrap() > 0.0);

    // No body, header or token of the sale reaches the profile.
    assert!(!response.text.contains(&shop.tenant.cashier_token));
    assert!(!response.text.contains("V-12.345.678"));
    assert!(!response.text.contains("amount_cents"));

    let limited = app
        .get(&format!("{LIST_PATH}?limit=1"))
        .token(&shop.tenant.admin_token)
        .send()
        .await;
    assert_status(&limited, 200);
    assert_eq!(listed_requests(&limited).len(), 1);
    for limit in ["0", "51"] {
        let rejected = app
            .get(&format!("{LIST_PATH}?limit={limit}"))
            .token(&shop.tenant.admin_token)
            .send()
            .await;
        assert_error(&rejected, 422, "validation_failed");
    }
    app.teardown().await;
}

async fn profiling_page_renders_html(backend: Backend) {
    let app = spawn_profiled_app(backend).await;
    let shop = open_shop(&app, "pagina", "J-12345678-4").await;
    sell_one(&app, &shop).await;

    let spanish = app
        .get(PAGE_PATH)
        .token(&shop.tenant.admin_token)
        .send()
        .await;
    let english = app
        .get(PAGE_PATH)
        .token(&shop.tenant.admin_token)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await;

    assert_status(&spanish, 200);
    let content_type = spanish.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(spanish.headers["cache-control"], "no-store");
    assert!(spanish.text.starts_with("<!DOCTYPE html>"));
    assert!(spanish.text.contains("<html lang=\"es\">"));
    assert!(spanish.text.contains("Solicitudes más lentas"));
    assert!(spanish.text.contains(PAYMENT_ROUTE));
    assert!(spanish.text.contains("<code>add_payment</code>"));
    assert!(!spanish.text.contains("<script"));
    assert!(!spanish.text.contains("http://"));
    assert!(!spanish.text.contains("https://"));

    assert_status(&english, 200);
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains("Slowest requests"));
    assert!(english.text.contains(PAYMENT_ROUTE));
    app.teardown().await;
}

async fn profiling_requires_admin(backend: Backend) {
    let app = spawn_profiled_app(backend).await;
    let tenant = app.setup_tenant("roles", "J-12345678-4").await;

    for path in [LIST_PATH, PAGE_PATH] {
        let anonymous = app.get(path).send().await;
        assert_error(&anonymous, 401, "missing_token");
        for token in [&tenant.cashier_token, &tenant.validator_token] {
            let forbidden = app.get(path).token(token).send().await;
            assert_error(&forbidden, 403, "forbidden");
        }
        let allowed = app.get(path).token(&tenant.admin_token).send().await;
        assert_status(&allowed, 200);
    }
    app.teardown().await;
}

async fn profiling_isolates_tenants(backend: Backend) {
    let app = spawn_profiled_app(backend).await;
    let first = open_shop(&app, "primero", "J-12345678-4").await;
    let second = app.setup_tenant("segundo", "J-00124134-5").await;
    sell_one(&app, &first).await;
    // One request of the second tenant, so its list is not empty.
    let own = app
        .get("/api/v1/events")
        .token(&second.admin_token)
        .send()
        .await;
    assert_status(&own, 200);

    let second_view = list(&app, &second.admin_token).await;
    assert_status(&second_view, 200);
    let second_requests = listed_requests(&second_view);
    assert!(!second_requests.is_empty());
    for request in &second_requests {
        assert_eq!(
            uuid_of(&request["tenant_id"]),
            second.tenant_id,
            "{request}"
        );
    }
    assert!(
        !second_view
            .text
            .contains(&first.tenant.tenant_id.to_string())
    );
    assert!(payment_requests(&second_requests).is_empty());
    let second_page = app.get(PAGE_PATH).token(&second.admin_token).send().await;
    assert_status(&second_page, 200);
    assert!(!second_page.text.contains(PAYMENT_ROUTE));

    let platform_token = app.platform_admin_token("plataforma").await;
    let platform_view = list(&app, &platform_token).await;
    assert_status(&platform_view, 200);
    let platform_payments = payment_requests(&listed_requests(&platform_view));
    assert_eq!(platform_payments.len(), 1);
    assert_eq!(
        uuid_of(&platform_payments[0]["tenant_id"]),
        first.tenant.tenant_id
    );

    let platform_second = app
        .get(LIST_PATH)
        .token(&platform_token)
        .header("x-tenant-id", &second.tenant_id.to_string())
        .send()
        .await;
    assert_status(&platform_second, 200);
    let requests = listed_requests(&platform_second);
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(uuid_of(&request["tenant_id"]), second.tenant_id);
    }
    app.teardown().await;
}

async fn profiling_disabled_lists_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = open_shop(&app, "apagado", "J-12345678-4").await;
    sell_one(&app, &shop).await;

    let response = list(&app, &shop.tenant.admin_token).await;
    let page = app
        .get(PAGE_PATH)
        .token(&shop.tenant.admin_token)
        .send()
        .await;
    let cashier = list(&app, &shop.tenant.cashier_token).await;

    assert_status(&response, 200);
    assert_eq!(response.body["enabled"], false);
    assert_eq!(response.body["requests"], json!([]));
    assert_status(&page, 200);
    assert!(
        page.text
            .contains("PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING=true")
    );
    assert!(!page.text.contains(PAYMENT_ROUTE));
    assert_error(&cashier, 403, "forbidden");
    app.teardown().await;
}
