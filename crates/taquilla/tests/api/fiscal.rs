//! Fiscal over HTTP: series, issuing through a digital printer (a fake
//! provider on loopback), X and Z reports, and the verification endpoint.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use taquilla_app::issuing::fake::{FakeProvider, spawn_fake_provider};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    cash_ves, spawn_app,
};

backend_tests!(
    digital_printer_series_issues_each_invoice_once,
    quick_sale_queues_digital_printer_invoice,
    z_report_blocks_only_that_cashier,
    series_validation_and_access,
    new_printer_token_frees_the_z_report,
);

async fn shop(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::GeneralAdmission {
            capacity: 50,
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

/// Creates an invoice series issued by the fake provider; returns the response.
async fn create_printer_series(
    app: &TestApp,
    admin: &str,
    provider: &FakeProvider,
    code: &str,
    description: &str,
) -> ApiResponse {
    create_series_with_token(app, admin, provider, code, description, &provider.token()).await
}

/// Creates an invoice series issued by the fake provider with `api_token`,
/// which the provider may not accept; returns the response.
async fn create_series_with_token(
    app: &TestApp,
    admin: &str,
    provider: &FakeProvider,
    code: &str,
    description: &str,
    api_token: &str,
) -> ApiResponse {
    app.post("/api/v1/fiscal/series")
        .token(admin)
        .json(json!({
            "code": code,
            "kind": "invoice",
            "adapter": "digital_printer",
            "adapter_config": {
                "base_url": provider.base_url(),
                "api_token": api_token,
                "timeout_ms": 300,
            },
            "description": description,
        }))
        .send()
        .await
}

/// Holds one unit, orders it in `series` and pays it in full; returns the payment response.
async fn pay_one(app: &TestApp, shop: &Shop, token: &str, series: Option<&str>) -> ApiResponse {
    let hold = app
        .post("/api/v1/holds")
        .token(token)
        .json(json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .send()
        .await;
    if hold.status != 201 {
        return hold;
    }
    let order = app
        .post("/api/v1/orders")
        .token(token)
        .json(
            json!({ "hold_id": hold.id("id"), "customer_id": shop.customer_id, "series": series }),
        )
        .send()
        .await;
    assert_status(&order, 201);
    let total = order.body["total_bs_cents"].as_i64().unwrap();
    app.pay(token, order.id("id"), cash_ves(total)).await
}

/// Reads an order until its fiscal status is `expected` (the issuing job runs
/// in the background), for at most 20 seconds.
async fn wait_for_fiscal_status(
    app: &TestApp,
    token: &str,
    order_id: Uuid,
    expected: &str,
) -> Value {
    for _ in 0..200 {
        let order = app
            .get(&format!("/api/v1/orders/{order_id}"))
            .token(token)
            .send()
            .await;
        assert_status(&order, 200);
        if order.body["fiscal_status"] == expected {
            return order.body;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("order {order_id} never reached fiscal status {expected}");
}

/// Queues the invoice of a quick sale in a digital-printer series. The sale is
/// paid at once, and its order links the invoice once the provider issued it.
async fn quick_sale_queues_digital_printer_invoice(backend: Backend) {
    let app = spawn_app(backend).await;
    let provider = spawn_fake_provider().await;
    let shop = shop(&app, "imprenta-rapida").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let created = create_printer_series(
        &app,
        admin,
        &provider,
        "w2",
        "Taquilla con imprenta digital",
    )
    .await;
    assert_status(&created, 201);
    let probe = pay_one(&app, &shop, cashier, None).await;
    assert_status(&probe, 201);
    let unit_total = probe.body["order"]["total_bs_cents"].as_i64().unwrap();

    let sold = app
        .post("/api/v1/sales")
        .token(cashier)
        .idempotency_key("imprenta-rapida-1")
        .json(json!({
            "zone_id": shop.zone_id,
            "quantity": 1,
            "customer_id": shop.customer_id,
            "series": "W2",
            "payments": [cash_ves(unit_total)],
        }))
        .send()
        .await;
    assert_status(&sold, 201);
    assert_eq!(sold.body["status"], "paid");
    assert!(sold.body["invoice"].is_null(), "{:?}", sold.body);
    let order_id = sold.id("id");

    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["series"], "W2");
    assert_eq!(order["invoice"]["number"], 1);
    // The order row links the document that the provider's issue recorded.
    let linked = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM orders o JOIN fiscal_documents d \
             ON d.tenant_id = o.tenant_id AND d.id = o.invoice_id AND d.order_id = o.id \
             WHERE o.tenant_id = $1 AND o.id = $2",
            &[shop.tenant.tenant_id.into(), order_id.into()],
        )
        .await;
    assert_eq!(linked, 1);
    assert_eq!(provider.issued_count(), 1);
    app.teardown().await;
}

async fn digital_printer_series_issues_each_invoice_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let provider = spawn_fake_provider().await;
    let shop = shop(&app, "imprenta").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let created = create_printer_series(&app, admin, &provider, "w1", "Ventas web").await;
    assert_status(&created, 201);
    assert_eq!(created.body["code"], "W1");
    assert!(
        !created.text.contains(&provider.token()),
        "the token is never returned"
    );

    // Success: paid at once, invoiced by the job moments later.
    let paid = pay_one(&app, &shop, cashier, Some("W1")).await;
    assert_status(&paid, 201);
    assert_eq!(paid.body["order"]["status"], "paid");
    assert_eq!(paid.body["order"]["fiscal_status"], "pending_issue");
    let order_id = Uuid::parse_str(paid.body["order"]["id"].as_str().unwrap()).unwrap();
    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["series"], "W1");
    assert_eq!(order["invoice"]["number"], 1);
    assert_eq!(order["invoice"]["control_number"], "00-00000001");
    assert_eq!(provider.issued_count(), 1);

    // Timeout: the provider issues the document but responds too late. The
    // retry with the same key gets the same numbers, so no second document.
    provider.delay_next(1, StdDuration::from_secs(1));
    let paid = pay_one(&app, &shop, cashier, Some("W1")).await;
    assert_status(&paid, 201);
    let order_id = Uuid::parse_str(paid.body["order"]["id"].as_str().unwrap()).unwrap();
    // Wait for the first attempt to fail, then move past the backoff.
    for _ in 0..100 {
        let queue = app
            .get("/api/v1/fiscal/issue-queue")
            .token(admin)
            .send()
            .await;
        if queue.body["items"][0]["attempts"].as_i64() == Some(1)
            && queue.body["items"][0]["last_error"].is_string()
        {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    app.advance(Duration::seconds(30));
    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["number"], 2);
    assert_eq!(provider.issued_count(), 2, "the retry made no duplicate");

    // Rejection: parked for an operator, counted, and retried by hand.
    provider.reject_next(1, "rif_invalido", "RIF del comprador inválido");
    let paid = pay_one(&app, &shop, cashier, Some("W1")).await;
    let order_id = Uuid::parse_str(paid.body["order"]["id"].as_str().unwrap()).unwrap();
    wait_for_fiscal_status(&app, cashier, order_id, "issue_rejected").await;
    let queue = app
        .get("/api/v1/fiscal/issue-queue")
        .token(admin)
        .send()
        .await;
    assert_status(&queue, 200);
    let item = &queue.body["items"][0];
    assert_eq!(item["status"], "rejected");
    assert!(
        item["last_error"]
            .as_str()
            .unwrap()
            .contains("rif_invalido")
    );
    let metrics = app.get("/metrics").send().await;
    assert!(
        metrics.text.contains(
            "venezuelan_pos_fiscal_issue_failures_total{adapter=\"digital_printer\",outcome=\"rejected\"} 1"
        ),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("venezuelan_pos_fiscal_documents_waiting{status=\"rejected\"} 1")
    );
    // The day cannot close while a document waits.
    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_error(&z, 409, "documents_pending_issue");

    let retry = app
        .post(&format!(
            "/api/v1/fiscal/issue-queue/{}/retry",
            item["id"].as_str().unwrap()
        ))
        .token(admin)
        .send()
        .await;
    assert_status(&retry, 204);
    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["number"], 3);
    assert_eq!(provider.issued_count(), 3);

    // A rejection retrying cannot fix: an admin moves the sale to series A.
    provider.reject_next(2, "datos_invalidos", "Documento inválido");
    let paid = pay_one(&app, &shop, cashier, Some("W1")).await;
    let order_id = Uuid::parse_str(paid.body["order"]["id"].as_str().unwrap()).unwrap();
    wait_for_fiscal_status(&app, cashier, order_id, "issue_rejected").await;
    let queue = app
        .get("/api/v1/fiscal/issue-queue")
        .token(admin)
        .send()
        .await;
    let queued_id = queue.body["items"][0]["id"].as_str().unwrap().to_string();
    let same = app
        .post(&format!("/api/v1/fiscal/issue-queue/{queued_id}/reassign"))
        .token(admin)
        .json(json!({ "series": "W1" }))
        .send()
        .await;
    assert_error(&same, 409, "issue_same_series");
    let moved = app
        .post(&format!("/api/v1/fiscal/issue-queue/{queued_id}/reassign"))
        .token(admin)
        .json(json!({ "series": "a" }))
        .send()
        .await;
    assert_status(&moved, 200);
    assert_eq!(moved.body["status"], "issued");
    assert_eq!(moved.body["document"]["series"], "A");
    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["series"], "A");
    let again = app
        .post(&format!("/api/v1/fiscal/issue-queue/{queued_id}/reassign"))
        .token(admin)
        .json(json!({ "series": "A" }))
        .send()
        .await;
    assert_error(&again, 404, "not_found");
    assert_eq!(
        provider.issued_count(),
        3,
        "the provider issued nothing for it"
    );

    let verification = app.get("/api/v1/fiscal/verify").token(admin).send().await;
    assert_status(&verification, 200);
    assert_eq!(verification.body["problems"], json!([]));
    assert_eq!(verification.body["documents"], 4);
    let series = app.get("/api/v1/fiscal/series").token(admin).send().await;
    let w1 = series.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|series| series["code"] == "W1")
        .unwrap();
    assert_eq!(w1["documents_issued"], 3);
    assert_eq!(w1["adapter"], "digital_printer");
}

async fn z_report_blocks_only_that_cashier(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = shop(&app, "cierre").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let paid = pay_one(&app, &shop, cashier, None).await;
    assert_status(&paid, 201);
    let invoice = &paid.body["order"]["invoice"];

    let x = app
        .get("/api/v1/fiscal/reports/x")
        .token(cashier)
        .send()
        .await;
    assert_status(&x, 200);
    assert_eq!(x.body["invoices"]["count"], 1);
    assert_eq!(x.body["series"][0]["first_number"], invoice["number"]);
    assert_eq!(
        x.body["invoices"]["total_bs_cents"],
        paid.body["order"]["total_bs_cents"]
    );
    assert_eq!(x.body["payments"][0]["method"], "cash");
    assert_eq!(x.body["payments"][0]["currency"], "VES");
    // X is read-only: reading it twice gives the same totals.
    let again = app
        .get("/api/v1/fiscal/reports/x")
        .token(cashier)
        .send()
        .await;
    assert_eq!(again.body, x.body);

    // A cashier reads only their own day.
    let cashier_id = x.body["cashier_id"].as_str().unwrap().to_string();
    let admin_id_probe = app
        .get(&format!(
            "/api/v1/fiscal/reports/x?cashier_id={}",
            Uuid::now_v7()
        ))
        .token(cashier)
        .send()
        .await;
    assert_error(&admin_id_probe, 403, "forbidden");
    let by_admin = app
        .get(&format!("/api/v1/fiscal/reports/x?cashier_id={cashier_id}"))
        .token(admin)
        .send()
        .await;
    assert_eq!(by_admin.body["invoices"]["count"], 1);

    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_status(&z, 201);
    assert_eq!(z.body["number"], 1);
    assert_eq!(z.body["totals"]["invoices"]["count"], 1);
    let twice = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_error(&twice, 409, "z_report_exists");

    // The closed cashier cannot sell today, with a clear Spanish message…
    let blocked = pay_one(&app, &shop, cashier, None).await;
    assert_error(&blocked, 409, "fiscal_day_closed");
    assert!(
        blocked.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reporte Z"),
        "{}",
        blocked.text
    );
    // …while another seller can.
    let other = pay_one(&app, &shop, admin, None).await;
    assert_status(&other, 201);

    // The tenant's daily summary has both; the Z list has the one report.
    let daily = app
        .get("/api/v1/fiscal/reports/daily")
        .token(admin)
        .send()
        .await;
    assert_status(&daily, 200);
    assert_eq!(daily.body["invoices"]["count"], 2);
    let reports = app
        .get("/api/v1/fiscal/reports/z")
        .token(cashier)
        .send()
        .await;
    assert_eq!(reports.body["items"].as_array().unwrap().len(), 1);
    let report_id = reports.body["items"][0]["id"].as_str().unwrap();
    let one = app
        .get(&format!("/api/v1/fiscal/reports/z/{report_id}"))
        .token(cashier)
        .send()
        .await;
    assert_status(&one, 200);
}

async fn series_validation_and_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = shop(&app, "series").await;
    let admin = &shop.tenant.admin_token;
    let invalid = app
        .post("/api/v1/fiscal/series")
        .token(admin)
        .json(json!({
            "code": "B 1",
            "kind": "recibo",
            "adapter": "digital_printer",
            "adapter_config": { "base_url": "ftp://x" },
        }))
        .send()
        .await;
    assert_error(&invalid, 422, "validation_failed");
    let fields: Vec<&str> = invalid.body["error"]["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    for field in [
        "code",
        "kind",
        "adapter_config.base_url",
        "adapter_config.api_token",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }

    // Settings the issuing job could not use are refused when the series is created.
    for (body, field, rule) in [
        (
            json!({ "code": "D1", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://", "api_token": "t" } }),
            "adapter_config.base_url",
            "url_format",
        ),
        (
            json!({ "code": "D2", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9?x=1", "api_token": "t" } }),
            "adapter_config.base_url",
            "url_format",
        ),
        (
            json!({ "code": "D3", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9", "api_token": "a\nb" } }),
            "adapter_config.api_token",
            "invalid_characters",
        ),
        (
            json!({ "code": "D4", "kind": "invoice", "adapter_config": { "api_token": "t" } }),
            "adapter_config",
            "not_used_by_adapter",
        ),
        (
            json!({ "code": "D5", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9", "api_token": "t", "timeout": 500 } }),
            "adapter_config.timeout",
            "unknown_field",
        ),
        (
            json!({ "code": "D6", "kind": "invoice", "adapter": "fiscal_printer",
                    "adapter_config": { "driver": "simulated", "port": "/dev/ttyS0" } }),
            "adapter_config.port",
            "unknown_field",
        ),
        (
            json!({ "code": "D7", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9", "api_token": "toké" } }),
            "adapter_config.api_token",
            "visible_ascii_only",
        ),
        (
            json!({ "code": "D8", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9", "api_token": "t".repeat(1_001) } }),
            "adapter_config.api_token",
            "too_long",
        ),
        (
            json!({ "code": "D9", "kind": "invoice", "adapter": "digital_printer",
                    "adapter_config": { "base_url": "http://127.0.0.1:9", "api_token": "t", "timeout_ms": "1000" } }),
            "adapter_config.timeout_ms",
            "invalid_type",
        ),
        (
            json!({ "code": "D10", "kind": "invoice", "adapter": "fiscal_printer", "adapter_config": {} }),
            "adapter_config.driver",
            "required",
        ),
    ] {
        let refused = app
            .post("/api/v1/fiscal/series")
            .token(admin)
            .json(body)
            .send()
            .await;
        assert_error(&refused, 422, "validation_failed");
        let first = &refused.body["error"]["details"]["errors"][0];
        assert_eq!(
            (first["field"].as_str(), first["rule"].as_str()),
            (Some(field), Some(rule)),
            "{}",
            refused.text
        );
    }

    // Two values for one setting: which token was meant is not guessed.
    let repeated = app
        .post("/api/v1/fiscal/series")
        .token(admin)
        .raw_json(
            r#"{"code": "D11", "kind": "invoice", "adapter": "digital_printer",
                "adapter_config": {"base_url": "http://127.0.0.1:9", "api_token": "a", "api_token": "b"}}"#,
        )
        .send()
        .await;
    assert_error(&repeated, 422, "validation_failed");
    let first = &repeated.body["error"]["details"]["errors"][0];
    assert_eq!(
        first["field"], "adapter_config.api_token",
        "{}",
        repeated.text
    );
    assert_eq!(first["rule"], "duplicate_field", "{}", repeated.text);

    let created = app
        .post("/api/v1/fiscal/series")
        .token(admin)
        .json(json!({ "code": "T2", "kind": "invoice", "credit_note_series": "NC", "is_default": true }))
        .send()
        .await;
    assert_status(&created, 201);
    assert_eq!(created.body["credit_note_series"], "NC");
    let duplicate = app
        .post("/api/v1/fiscal/series")
        .token(admin)
        .json(json!({ "code": "T2", "kind": "invoice" }))
        .send()
        .await;
    assert_error(&duplicate, 409, "series_exists");
    let by_cashier = app
        .post("/api/v1/fiscal/series")
        .token(&shop.tenant.cashier_token)
        .json(json!({ "code": "T3", "kind": "invoice" }))
        .send()
        .await;
    assert_error(&by_cashier, 403, "forbidden");

    // The new default series numbers the next sale from 1.
    let paid = pay_one(&app, &shop, &shop.tenant.cashier_token, None).await;
    assert_eq!(paid.body["order"]["invoice"]["series"], "T2");
    assert_eq!(paid.body["order"]["invoice"]["number"], 1);
    let unknown = app
        .post("/api/v1/orders")
        .token(&shop.tenant.cashier_token)
        .json(json!({ "hold_id": Uuid::now_v7(), "customer_id": shop.customer_id, "series": "ZZ" }))
        .send()
        .await;
    assert!(
        unknown.status == 404 || unknown.status == 422,
        "{}",
        unknown.text
    );

    // Another tenant's admin lists none of these series.
    let other = app.setup_tenant("otra-serie", "J-00124134-5").await;
    let listed = app
        .get("/api/v1/fiscal/series")
        .token(&other.admin_token)
        .send()
        .await;
    let codes: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| series["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["A", "NC"]);
}

/// Reads the issue queue until its first item has failed `attempts` times,
/// for at most 10 seconds; returns the item.
async fn wait_for_attempts(app: &TestApp, admin: &str, attempts: i64) -> Value {
    for _ in 0..100 {
        let queue = app
            .get("/api/v1/fiscal/issue-queue")
            .token(admin)
            .send()
            .await;
        assert_status(&queue, 200);
        let item = &queue.body["items"][0];
        if item["attempts"]
            .as_i64()
            .is_some_and(|done| done >= attempts)
            && item["last_error"].is_string()
        {
            return item.clone();
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("the queued document never failed {attempts} times");
}

/// Rotates the provider's API token under a queued document: it fails with the
/// old token and keeps the cashier's Z report waiting, until an admin replaces
/// the series' settings. Then it is issued at once and the day can close.
async fn new_printer_token_frees_the_z_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let provider = spawn_fake_provider().await;
    let shop = shop(&app, "token-nuevo").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let created =
        create_series_with_token(&app, admin, &provider, "W1", "Ventas web", "token-vencido").await;
    assert_status(&created, 201);
    let series_path = format!("/api/v1/fiscal/series/{}", created.id("id"));

    let paid = pay_one(&app, &shop, cashier, Some("W1")).await;
    assert_status(&paid, 201);
    let order_id = Uuid::parse_str(paid.body["order"]["id"].as_str().unwrap()).unwrap();
    let item = wait_for_attempts(&app, admin, 1).await;
    assert_eq!(
        item["status"], "pending",
        "a refused token is retried, not rejected"
    );
    assert_eq!(provider.issued_count(), 0);
    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_error(&z, 409, "documents_pending_issue");

    // Who may change the settings, and which settings are accepted.
    let good = json!({ "adapter_config": {
        "base_url": provider.base_url(),
        "api_token": provider.token(),
        "timeout_ms": 300,
    } });
    let by_cashier = app
        .patch(&series_path)
        .token(cashier)
        .json(good.clone())
        .send()
        .await;
    assert_error(&by_cashier, 403, "forbidden");
    let other = app.setup_tenant("ajena", "J-00124134-5").await;
    let foreign = app
        .patch(&series_path)
        .token(&other.admin_token)
        .json(good.clone())
        .send()
        .await;
    assert_error(&foreign, 404, "not_found");
    let misspelt = app
        .patch(&series_path)
        .token(admin)
        .json(json!({ "adapter_config": { "base_url": provider.base_url(), "token": "x" } }))
        .send()
        .await;
    assert_error(&misspelt, 422, "validation_failed");
    assert!(
        misspelt.text.contains("adapter_config.token"),
        "{}",
        misspelt.text
    );
    assert!(
        misspelt.text.contains("adapter_config.api_token"),
        "{}",
        misspelt.text
    );
    let internal = app.get("/api/v1/fiscal/series").token(admin).send().await;
    let internal_id = internal.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|series| series["adapter"] == "internal")
        .map(|series| series["id"].as_str().unwrap().to_string())
        .unwrap();
    let not_used = app
        .patch(&format!("/api/v1/fiscal/series/{internal_id}"))
        .token(admin)
        .json(json!({ "adapter_config": {} }))
        .send()
        .await;
    assert_error(&not_used, 422, "validation_failed");
    assert!(
        not_used.text.contains("not_used_by_adapter"),
        "{}",
        not_used.text
    );
    assert_eq!(
        provider.issued_count(),
        0,
        "rejected changes left the old token"
    );

    let updated = app.patch(&series_path).token(admin).json(good).send().await;
    assert_status(&updated, 200);
    assert_eq!(updated.body["code"], "W1");
    assert!(
        !updated.text.contains(&provider.token()),
        "the token is never returned"
    );
    // Due at once, without waiting out the backoff.
    let order = wait_for_fiscal_status(&app, cashier, order_id, "invoiced").await;
    assert_eq!(order["invoice"]["series"], "W1");
    assert_eq!(provider.issued_count(), 1);
    let by_id = app.get(&series_path).token(cashier).send().await;
    assert_status(&by_id, 200);
    assert_eq!(by_id.body["documents_issued"], 1);

    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_status(&z, 201);
    assert_eq!(z.body["totals"]["invoices"]["count"], 1);
    let verify = app.get("/api/v1/fiscal/verify").token(admin).send().await;
    assert_status(&verify, 200);
    assert_eq!(verify.body["problems"], json!([]), "{}", verify.text);
    assert!(
        !verify.text.contains(&provider.token()),
        "the audit chain does not hold the token"
    );
}
