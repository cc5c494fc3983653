//! The operations page: the snapshot endpoint its script polls, the static
//! HTML shell and the embedded script.

use serde_json::{Value, json};

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    spawn_app, uuid_of,
};

backend_tests!(
    snapshot_counts_tenant_sales,
    snapshot_isolates_tenant_sales,
    snapshot_requires_admin,
    snapshot_skips_own_requests,
    page_serves_static_shell,
    page_script_is_embedded
);

const SNAPSHOT_PATH: &str = "/api/v1/admin/operations/snapshot";
const PAGE_PATH: &str = "/admin/operations";
const SCRIPT_PATH: &str = "/admin/operations.js";

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

async fn sell_two(app: &TestApp, shop: &Shop) {
    app.sell(shop, json!({ "zone_id": shop.zone_id, "quantity": 2 }))
        .await;
}

async fn snapshot(app: &TestApp, token: &str) -> ApiResponse {
    let response = app.get(SNAPSHOT_PATH).token(token).send().await;
    assert_status(&response, 200);
    response
}

fn tickets_sold(response: &ApiResponse) -> u64 {
    response.body["sales"]["tickets_sold"]
        .as_u64()
        .unwrap_or_else(|| panic!("no sales.tickets_sold in {}", response.text))
}

fn revenue_usd(response: &ApiResponse) -> f64 {
    response.body["sales"]["revenue_usd"]
        .as_f64()
        .unwrap_or_else(|| panic!("no sales.revenue_usd in {}", response.text))
}

fn request_total(response: &ApiResponse) -> u64 {
    response.body["http"]["requests"]["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("no http.requests.total in {}", response.text))
}

fn assert_no_external_url(text: &str) {
    assert!(!text.contains("http://"), "external URL in {text}");
    assert!(!text.contains("https://"), "external URL in {text}");
}

async fn snapshot_counts_tenant_sales(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = open_shop(&app, "operaciones", "J-12345678-4").await;
    sell_two(&app, &shop).await;

    let response = snapshot(&app, &shop.tenant.admin_token).await;

    let body = &response.body;
    assert!(body["taken_at"].is_string(), "{}", response.text);
    assert_eq!(uuid_of(&body["tenant_id"]), shop.tenant.tenant_id);
    assert_eq!(tickets_sold(&response), 2);
    // Two tickets priced at 25.00 USD each, so at least 50 USD once taxes are added.
    assert!(revenue_usd(&response) >= 50.0, "{}", response.text);

    let requests = &body["http"]["requests"];
    let total = request_total(&response);
    assert!(total > 0);
    let by_class: u64 = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .map(|class| requests[class].as_u64().expect("status class count"))
        .sum();
    assert_eq!(by_class, total);
    assert!(requests["2xx"].as_u64().unwrap() > 0);
    assert_eq!(requests["5xx"], 0);

    let histogram = &body["http"]["duration_seconds"];
    assert_eq!(histogram["count"].as_u64(), Some(total));
    assert!(histogram["sum"].as_f64().unwrap() > 0.0);
    let buckets = histogram["buckets"].as_array().expect("buckets");
    assert!(!buckets.is_empty());
    let bounds: Vec<f64> = buckets
        .iter()
        .map(|bucket| bucket["le"].as_f64().expect("le"))
        .collect();
    assert!(
        bounds.windows(2).all(|pair| pair[0] < pair[1]),
        "{bounds:?}"
    );
    let counts: Vec<u64> = buckets
        .iter()
        .map(|bucket| bucket["count"].as_u64().expect("count"))
        .collect();
    assert!(
        counts.windows(2).all(|pair| pair[0] <= pair[1]),
        "{counts:?}"
    );
    assert!(*counts.last().unwrap() <= total);
    app.teardown().await;
}

async fn snapshot_isolates_tenant_sales(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = open_shop(&app, "primero", "J-12345678-4").await;
    let second = app.setup_tenant("segundo", "J-00124134-5").await;
    sell_two(&app, &first).await;

    let second_view = snapshot(&app, &second.admin_token).await;
    assert_eq!(uuid_of(&second_view.body["tenant_id"]), second.tenant_id);
    assert_eq!(tickets_sold(&second_view), 0);
    assert_eq!(revenue_usd(&second_view), 0.0);
    assert!(request_total(&second_view) > 0);

    let platform_token = app.platform_admin_token("plataforma").await;
    let platform_view = snapshot(&app, &platform_token).await;
    assert_eq!(platform_view.body["tenant_id"], Value::Null);
    assert_eq!(tickets_sold(&platform_view), 2);
    assert!(revenue_usd(&platform_view) > 0.0);

    let platform_second = app
        .get(SNAPSHOT_PATH)
        .token(&platform_token)
        .header("x-tenant-id", &second.tenant_id.to_string())
        .send()
        .await;
    assert_status(&platform_second, 200);
    assert_eq!(
        uuid_of(&platform_second.body["tenant_id"]),
        second.tenant_id
    );
    assert_eq!(tickets_sold(&platform_second), 0);
    app.teardown().await;
}

async fn snapshot_requires_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("roles", "J-12345678-4").await;

    let anonymous = app.get(SNAPSHOT_PATH).send().await;
    assert_error(&anonymous, 401, "missing_token");
    let invalid = app.get(SNAPSHOT_PATH).token("not-a-token").send().await;
    assert_error(&invalid, 401, "invalid_token");
    for token in [&tenant.cashier_token, &tenant.validator_token] {
        let forbidden = app.get(SNAPSHOT_PATH).token(token).send().await;
        assert_error(&forbidden, 403, "forbidden");
    }
    snapshot(&app, &tenant.admin_token).await;
    app.teardown().await;
}

async fn snapshot_skips_own_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("propias", "J-12345678-4").await;

    let first = snapshot(&app, &tenant.admin_token).await;
    let page = app.get(PAGE_PATH).send().await;
    assert_status(&page, 200);
    let script = app.get(SCRIPT_PATH).send().await;
    assert_status(&script, 200);
    let second = snapshot(&app, &tenant.admin_token).await;
    assert_eq!(request_total(&second), request_total(&first));

    let events = app
        .get("/api/v1/events")
        .token(&tenant.admin_token)
        .send()
        .await;
    assert_status(&events, 200);
    let third = snapshot(&app, &tenant.admin_token).await;
    assert_eq!(request_total(&third), request_total(&second) + 1);
    app.teardown().await;
}

async fn page_serves_static_shell(backend: Backend) {
    let app = spawn_app(backend).await;

    let spanish = app.get(PAGE_PATH).send().await;
    let english = app
        .get(PAGE_PATH)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await;
    let english_by_query = app.get(&format!("{PAGE_PATH}?lang=en")).send().await;
    let spanish_by_query = app
        .get(&format!("{PAGE_PATH}?lang=es"))
        .header("accept-language", "en")
        .send()
        .await;
    let unknown_language = app.get(&format!("{PAGE_PATH}?lang=fr")).send().await;

    assert_status(&spanish, 200);
    let content_type = spanish.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(spanish.headers["cache-control"], "no-store");
    let policy = spanish.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(spanish.text.starts_with("<!DOCTYPE html>"));
    assert!(spanish.text.contains("<html lang=\"es\">"));
    assert!(spanish.text.contains("Solicitudes por segundo"));
    assert!(spanish.text.contains("Token de acceso"));
    assert!(
        spanish
            .text
            .contains("<script src=\"/admin/operations.js\" defer></script>")
    );
    assert_eq!(spanish.text.matches("<canvas").count(), 5);
    assert_eq!(spanish.text.matches("<script").count(), 1);
    assert_no_external_url(&spanish.text);

    assert_status(&english, 200);
    assert_eq!(english.headers["content-language"], "en");
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains("Requests per second"));
    assert!(english.text.contains("Access token"));
    assert_no_external_url(&english.text);

    assert_status(&english_by_query, 200);
    assert!(english_by_query.text.contains("Requests per second"));
    assert_status(&spanish_by_query, 200);
    assert!(spanish_by_query.text.contains("Solicitudes por segundo"));
    assert_error(&unknown_language, 400, "invalid_query");
    app.teardown().await;
}

async fn page_script_is_embedded(backend: Backend) {
    let app = spawn_app(backend).await;

    let script = app.get(SCRIPT_PATH).send().await;

    assert_status(&script, 200);
    let content_type = script.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert_eq!(script.headers["x-content-type-options"], "nosniff");
    assert!(script.text.contains(SNAPSHOT_PATH));
    assert!(script.text.contains("sessionStorage"));
    assert!(script.text.contains("\"Bearer \""));
    assert_no_external_url(&script.text);
    app.teardown().await;
}
