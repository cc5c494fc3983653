//! Tenant isolation: another tenant's ids behave as ids that do not exist.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, Param, TestApp, ZoneSpec, assert_error, assert_status, cash_ves,
    spawn_app, uuid_of,
};

backend_tests!(
    foreign_ids_are_not_found,
    tenant_header_ignored_for_tenant_users
);

/// Row counts of everything tenant `tenant_id` owns, split by status, plus the
/// capacity counters and ticket uses: any write to the tenant changes it.
async fn tenant_snapshot(app: &TestApp, tenant_id: Uuid) -> Vec<(String, i64)> {
    let mut rows: Vec<(String, i64)> = app
        .db
        .rows(
            "SELECT 'venues', COUNT(*) FROM venues WHERE tenant_id = $1 \
             UNION ALL SELECT 'events ' || status, COUNT(*) FROM events WHERE tenant_id = $1 GROUP BY status \
             UNION ALL SELECT 'zones', COUNT(*) FROM zones WHERE tenant_id = $1 \
             UNION ALL SELECT 'zones sold+held', CAST(COALESCE(SUM(sold + held), 0) AS BIGINT) FROM zones WHERE tenant_id = $1 \
             UNION ALL SELECT 'seats ' || status, COUNT(*) FROM seats WHERE tenant_id = $1 GROUP BY status \
             UNION ALL SELECT 'holds ' || status, COUNT(*) FROM holds WHERE tenant_id = $1 GROUP BY status \
             UNION ALL SELECT 'hold_seats', COUNT(*) FROM hold_seats WHERE tenant_id = $1 \
             UNION ALL SELECT 'customers', COUNT(*) FROM customers WHERE tenant_id = $1 \
             UNION ALL SELECT 'exchange_rates', COUNT(*) FROM exchange_rates WHERE tenant_id = $1 \
             UNION ALL SELECT 'orders ' || status, COUNT(*) FROM orders WHERE tenant_id = $1 GROUP BY status \
             UNION ALL SELECT 'orders paid_bs_cents', CAST(COALESCE(SUM(paid_bs_cents), 0) AS BIGINT) FROM orders WHERE tenant_id = $1 \
             UNION ALL SELECT 'payments', COUNT(*) FROM payments WHERE tenant_id = $1 \
             UNION ALL SELECT 'fiscal_documents ' || kind, COUNT(*) FROM fiscal_documents WHERE tenant_id = $1 GROUP BY kind \
             UNION ALL SELECT 'tickets ' || status, COUNT(*) FROM tickets WHERE tenant_id = $1 GROUP BY status \
             UNION ALL SELECT 'tickets uses', CAST(COALESCE(SUM(uses), 0) AS BIGINT) FROM tickets WHERE tenant_id = $1 \
             UNION ALL SELECT 'validations', COUNT(*) FROM validations WHERE tenant_id = $1 \
             UNION ALL SELECT 'idempotency_keys', COUNT(*) FROM idempotency_keys WHERE tenant_id = $1",
            &[Param::from(tenant_id)],
        )
        .await;
    rows.sort();
    rows
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["items"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|item| uuid_of(&item["id"]))
        .collect()
}

async fn foreign_ids_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;

    // Tenant A: a paid order with tickets and an invoice, a pending order, an open hold.
    let a = app
        .setup_shop(
            "tenant-a",
            "J-12345678-4",
            ZoneSpec::Numbered {
                rows: vec![8],
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;
    let a_seats = app.seat_ids(&a.tenant.cashier_token, a.zone_id).await;
    let paid = app
        .sell(
            &a,
            json!({ "zone_id": a.zone_id, "seat_ids": [a_seats[0]] }),
        )
        .await;
    let paid_order = uuid_of(&paid["id"]);
    let invoice = uuid_of(&paid["invoice"]["id"]);
    let a_tickets = app.tickets(&a.tenant.cashier_token, paid_order).await;
    let a_ticket = a_tickets.body[0].clone();
    let pending_hold = app
        .hold_seats(&a.tenant.cashier_token, a.zone_id, &[a_seats[1]])
        .await;
    assert_status(&pending_hold, 201);
    let pending = app
        .create_order(
            &a.tenant.cashier_token,
            pending_hold.id("id"),
            a.customer_id,
        )
        .await;
    assert_status(&pending, 201);
    let pending_order = pending.id("id");
    let open_hold = app
        .hold_seats(&a.tenant.cashier_token, a.zone_id, &[a_seats[2]])
        .await;
    assert_status(&open_hold, 201);
    let open_hold = open_hold.id("id");

    // Tenant B: its own shop, so its lists and rates are not empty.
    let b = app
        .setup_shop(
            "tenant-b",
            "J-00124134-5",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let b_hold = app
        .hold_quantity(&b.tenant.cashier_token, b.zone_id, 1)
        .await;
    assert_status(&b_hold, 201);
    let b_hold = b_hold.id("id");

    let before = tenant_snapshot(&app, a.tenant.tenant_id).await;

    // Reads of tenant A's ids, by B's admin and by B's cashier.
    let reads = [
        format!("/api/v1/venues/{}", a.venue_id),
        format!("/api/v1/events/{}", a.event_id),
        format!("/api/v1/events/{}/zones", a.event_id),
        format!("/api/v1/zones/{}", a.zone_id),
        format!("/api/v1/zones/{}/availability", a.zone_id),
        format!("/api/v1/customers/{}", a.customer_id),
        format!("/api/v1/holds/{open_hold}"),
        format!("/api/v1/orders/{paid_order}"),
        format!("/api/v1/orders/{pending_order}"),
        format!("/api/v1/orders/{paid_order}/tickets"),
        format!("/api/v1/fiscal/documents/{invoice}"),
    ];
    for token in [&b.tenant.admin_token, &b.tenant.cashier_token] {
        for path in &reads {
            let response = app.get(path).token(token).send().await;
            assert_eq!(
                response.status.as_u16(),
                404,
                "GET {path} answered {}",
                response.text
            );
            assert_eq!(response.error_code(), "not_found", "GET {path}");
        }
    }

    // Writes on tenant A's ids.
    let zone_body = json!({ "name": "Intrusa", "kind": "general_admission", "capacity": 5, "price_usd_cents": 100 });
    let b_admin = b.tenant.admin_token.as_str();
    let b_cashier = b.tenant.cashier_token.as_str();
    let writes: Vec<(Method, String, &str, Option<Value>)> = vec![
        (
            Method::POST,
            format!("/api/v1/events/{}/activate", a.event_id),
            b_admin,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/events/{}/close", a.event_id),
            b_admin,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/events/{}/cancel", a.event_id),
            b_admin,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/events/{}/zones", a.event_id),
            b_admin,
            Some(zone_body),
        ),
        (
            Method::POST,
            "/api/v1/events".to_string(),
            b_admin,
            Some(
                json!({ "venue_id": a.venue_id, "name": "Intruso", "starts_at": "2030-01-01T20:00:00-04:00" }),
            ),
        ),
        (
            Method::POST,
            "/api/v1/holds".to_string(),
            b_cashier,
            Some(json!({ "zone_id": a.zone_id, "seat_ids": [a_seats[3]] })),
        ),
        (
            Method::POST,
            "/api/v1/orders".to_string(),
            b_cashier,
            Some(json!({ "hold_id": open_hold, "customer_id": b.customer_id })),
        ),
        (
            Method::POST,
            "/api/v1/orders".to_string(),
            b_cashier,
            Some(json!({ "hold_id": b_hold, "customer_id": a.customer_id })),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{pending_order}/cancel"),
            b_cashier,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{pending_order}/payments"),
            b_cashier,
            Some(cash_ves(100)),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{paid_order}/void"),
            b_admin,
            Some(json!({ "reason": "Intento ajeno" })),
        ),
        (
            Method::DELETE,
            format!("/api/v1/holds/{open_hold}"),
            b_cashier,
            None,
        ),
    ];
    for (method, path, token, body) in writes {
        let mut request = app
            .request(method.clone(), &path)
            .token(token)
            .idempotency_key(&Uuid::new_v4().to_string());
        request = match body {
            Some(body) => request.json(body),
            None => request.json(json!({})),
        };
        let response = request.send().await;
        assert_eq!(
            response.status.as_u16(),
            404,
            "{method} {path} answered {}",
            response.text
        );
        assert_eq!(response.error_code(), "not_found", "{method} {path}");
    }

    // A's ticket is unknown at B's gate, by code and by signed payload.
    let by_code = app
        .validate_ticket(
            &b.tenant.validator_token,
            json!({ "code": a_ticket["code"] }),
        )
        .await;
    assert_error(&by_code, 404, "ticket_not_found");
    let by_payload = app
        .validate_ticket(
            &b.tenant.validator_token,
            json!({ "qr_payload": a_ticket["qr_payload"] }),
        )
        .await;
    assert_error(&by_payload, 409, "ticket_signature_invalid");

    // B's lists show only B's objects.
    let venues = app
        .get("/api/v1/venues")
        .token(&b.tenant.admin_token)
        .send()
        .await;
    assert_eq!(ids(&venues.body), [b.venue_id]);
    let events = app
        .get("/api/v1/events")
        .token(&b.tenant.admin_token)
        .send()
        .await;
    assert_eq!(ids(&events.body), [b.event_id]);
    let customers = app
        .get("/api/v1/customers")
        .token(&b.tenant.cashier_token)
        .send()
        .await;
    assert_eq!(ids(&customers.body), [b.customer_id]);
    let documents = app.fiscal_documents(&b.tenant.admin_token).await;
    assert_eq!(ids(&documents.body), Vec::<Uuid>::new());
    let rates = app
        .get("/api/v1/exchange-rates")
        .token(&b.tenant.admin_token)
        .send()
        .await;
    assert_eq!(rates.body["items"].as_array().unwrap().len(), 1);

    // Nothing of tenant A changed, and B's hold got no order.
    let after = tenant_snapshot(&app, a.tenant.tenant_id).await;
    assert_eq!(after, before);
    let b_hold_orders = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM orders WHERE hold_id = $1",
            &[Param::from(b_hold)],
        )
        .await;
    assert_eq!(b_hold_orders, 0);
    let hold = app
        .get(&format!("/api/v1/holds/{open_hold}"))
        .token(&a.tenant.cashier_token)
        .send()
        .await;
    assert_eq!(hold.body["status"], "active");
    let order = app.get_order(&a.tenant.cashier_token, pending_order).await;
    assert_eq!(order.body["status"], "pending");
    let event = app
        .get(&format!("/api/v1/events/{}", a.event_id))
        .token(&a.tenant.admin_token)
        .send()
        .await;
    assert_eq!(event.body["status"], "active");

    app.teardown().await;
}

async fn tenant_header_ignored_for_tenant_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.setup_tenant("cabecera-a", "J-12345678-4").await;
    let b = app.setup_tenant("cabecera-b", "G-20009997-6").await;
    let a_venue = app.create_venue(&a.admin_token).await;
    let b_venue = app.create_venue(&b.admin_token).await;
    let tenant_a = a.tenant_id.to_string();

    // B's admin naming tenant A still works in tenant B.
    let listed = app
        .get("/api/v1/venues")
        .token(&b.admin_token)
        .header("x-tenant-id", &tenant_a)
        .send()
        .await;
    assert_status(&listed, 200);
    assert_eq!(ids(&listed.body), [b_venue]);
    let read = app
        .get(&format!("/api/v1/venues/{a_venue}"))
        .token(&b.admin_token)
        .header("x-tenant-id", &tenant_a)
        .send()
        .await;
    assert_error(&read, 404, "not_found");
    let created = app
        .post("/api/v1/venues")
        .token(&b.admin_token)
        .header("x-tenant-id", &tenant_a)
        .json(json!({ "name": "Sala B", "address": "Calle 1", "city": "Maracaibo" }))
        .send()
        .await;
    assert_status(&created, 201);
    let owner: Vec<(Uuid,)> = app
        .db
        .rows(
            "SELECT tenant_id FROM venues WHERE id = $1",
            &[Param::from(created.id("id"))],
        )
        .await;
    assert_eq!(owner, [(b.tenant_id,)]);
    let a_venues = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM venues WHERE tenant_id = $1",
            &[Param::from(a.tenant_id)],
        )
        .await;
    assert_eq!(a_venues, 1);

    // B's cashier naming tenant A also gets only B's venues.
    let listed = app
        .get("/api/v1/venues")
        .token(&b.cashier_token)
        .header("x-tenant-id", &tenant_a)
        .send()
        .await;
    assert_eq!(ids(&listed.body), [b_venue, created.id("id")]);

    // Only a platform admin picks the tenant with the header.
    let platform = app.platform_admin_token("plataforma").await;
    let chosen = app
        .get(&format!("/api/v1/venues/{a_venue}"))
        .token(&platform)
        .header("x-tenant-id", &tenant_a)
        .send()
        .await;
    assert_status(&chosen, 200);
    assert_eq!(chosen.id("id"), a_venue);
    let unnamed = app.get("/api/v1/venues").token(&platform).send().await;
    assert_error(&unnamed, 400, "tenant_required");

    app.teardown().await;
}
