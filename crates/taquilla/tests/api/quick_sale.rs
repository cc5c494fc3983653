//! The box-office quick sale: hold, order, payments, invoice and tickets in
//! one request, all or nothing.

use std::collections::BTreeSet;

use chrono::Duration;
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    cash_usd, cash_ves, fiscal_document, pago_movil, spawn_app, uuid_of,
};

backend_tests!(
    quick_sale_invoices_in_one_request,
    quick_sale_answers_as_stored,
    quick_sale_writes_nothing_on_failure,
    quick_sale_rejected_after_z_report,
    concurrent_quick_sales_never_oversell,
    quick_sale_takes_units_of_expired_holds,
    quick_sale_of_free_units,
    verify_clean_during_sales,
);

async fn seat_shop(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::Numbered {
            rows: vec![10, 10],
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

async fn sell(app: &TestApp, token: &str, key: &str, body: Value) -> ApiResponse {
    app.post("/api/v1/sales")
        .token(token)
        .idempotency_key(key)
        .json(body)
        .send()
        .await
}

async fn count(app: &TestApp, sql: &'static str, tenant_id: Uuid) -> i64 {
    app.db.scalar_i64(sql, &[tenant_id.into()]).await
}

async fn seat_status(app: &TestApp, shop: &Shop, seat_id: Uuid) -> String {
    app.db
        .scalar_string(
            "SELECT status FROM seats WHERE tenant_id = $1 AND id = $2",
            &[shop.tenant.tenant_id.into(), seat_id.into()],
        )
        .await
}

async fn quick_sale_invoices_in_one_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = seat_shop(&app, "rapida").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..2]).await;

    // Part by Pago Móvil, the rest in cash with change.
    let by_phone = total / 2;
    let body = json!({
        "zone_id": shop.zone_id,
        "seat_ids": [seats[0], seats[1]],
        "customer_id": shop.customer_id,
        "payments": [pago_movil(by_phone, "778899"), cash_ves(total - by_phone + 5_000)],
    });
    let sale = sell(&app, cashier, "venta-1", body.clone()).await;
    assert_status(&sale, 201);
    assert_eq!(sale.body["status"], "paid");
    assert_eq!(sale.body["fiscal_status"], "invoiced");
    assert_eq!(sale.body["invoice"]["series"], "A");
    assert_eq!(sale.body["payments"].as_array().unwrap().len(), 2);
    assert_eq!(sale.body["total_bs_cents"], total);
    assert_eq!(sale.body["balance_bs_cents"], 0);
    let order_id = sale.id("id");
    let tickets = app
        .get(&format!("/api/v1/orders/{order_id}/tickets"))
        .token(cashier)
        .send()
        .await;
    assert_status(&tickets, 200);
    assert_eq!(tickets.body.as_array().unwrap().len(), 2);

    // The same key and body replays the sale instead of selling again.
    let replay = sell(&app, cashier, "venta-1", body).await;
    assert_status(&replay, 201);
    assert_eq!(replay.body["id"], sale.body["id"]);
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .map(|value| value.to_str().unwrap()),
        Some("true")
    );
    let orders = count(
        &app,
        "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND status = 'paid'",
        shop.tenant.tenant_id,
    )
    .await;
    assert_eq!(orders, 1);

    // The seats are sold: a second sale of one of them is a conflict.
    let again = sell(
        &app,
        cashier,
        "venta-2",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[1]],
            "customer_id": shop.customer_id,
            "payments": [cash_usd(10_000)],
        }),
    )
    .await;
    assert_error(&again, 409, "seats_unavailable");

    // A key is required, as for payments.
    let without_key = app
        .post("/api/v1/sales")
        .token(cashier)
        .json(json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[2]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total)],
        }))
        .send()
        .await;
    assert_error(&without_key, 400, "idempotency_key_required");
    app.teardown().await;
}

/// Returns an invoice's content without its number, its time of issue and
/// the seat named on each line.
async fn invoice_content(app: &TestApp, token: &str, order: &Value) -> Value {
    let document = fiscal_document(app, token, uuid_of(&order["invoice"]["id"])).await;
    let mut content = document["content"].clone();
    let fields = content.as_object_mut().unwrap();
    for numbered in ["number", "control_number", "issue_date", "issue_time"] {
        assert!(
            fields.remove(numbered).is_some(),
            "no {numbered} in {fields:?}"
        );
    }
    for line in content["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("description");
    }
    content
}

/// A quick sale returns its order as it is stored, and its invoice reads
/// as the one of the same sale made request by request: IGTF on a dollar
/// payment, change, and a second payment that completes the order.
async fn quick_sale_answers_as_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = seat_shop(&app, "copia").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    app.create_exchange_rate(admin, "40.00").await;
    let settings = app
        .request(reqwest::Method::PUT, "/api/v1/settings/igtf")
        .token(admin)
        .json(json!({ "enabled": true, "basis_points": 300, "methods": ["cash"] }))
        .send()
        .await;
    assert_status(&settings, 200);
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    // Two seats of US$20.00 plus 16 % IVA at 40 Bs./USD: 1,856.00 Bs.
    // US$10.30 in cash pays 400.00 Bs. and US$0.30 of IGTF, and Pago Móvil
    // pays the other 1,456.00 Bs.
    let quick = sell(
        &app,
        cashier,
        "copia-1",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0], seats[1]],
            "customer_id": shop.customer_id,
            "payments": [cash_usd(1_030), pago_movil(145_600, "4455")],
        }),
    )
    .await;
    assert_status(&quick, 201);
    assert_eq!(quick.body["igtf_usd_cents"], 30);
    assert_eq!(quick.body["paid_bs_cents"], 185_600);

    let stored = app.get_order(cashier, quick.id("id")).await;
    assert_status(&stored, 200);
    assert_eq!(quick.body, stored.body);

    // The same sale, one request at a time, on the next two seats.
    let hold = app.hold_seats(cashier, shop.zone_id, &seats[2..4]).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let first = app.pay(cashier, order.id("id"), cash_usd(1_030)).await;
    assert_status(&first, 201);
    let second = app
        .pay(cashier, order.id("id"), pago_movil(145_600, "4456"))
        .await;
    assert_status(&second, 201);
    let stepwise = &second.body["order"];
    assert_eq!(stepwise["status"], "paid");
    assert_eq!(
        invoice_content(&app, cashier, &quick.body).await,
        invoice_content(&app, cashier, stepwise).await
    );

    // A single dollar payment with change in dollars: IGTF on the part that
    // pays the order, and the rest given back.
    let change = sell(
        &app,
        cashier,
        "copia-2",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[4]],
            "customer_id": shop.customer_id,
            "payments": [cash_usd(3_000)],
        }),
    )
    .await;
    assert_status(&change, 201);
    assert!(change.body["payments"][0]["change_cents"].as_i64().unwrap() > 0);
    let stored = app.get_order(cashier, change.id("id")).await;
    assert_status(&stored, 200);
    assert_eq!(change.body, stored.body);
    app.teardown().await;
}

async fn quick_sale_writes_nothing_on_failure(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = seat_shop(&app, "nada").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let holds_before = count(
        &app,
        "SELECT COUNT(*) FROM holds WHERE tenant_id = $1",
        shop.tenant.tenant_id,
    )
    .await;

    // Short by one cent: nothing is sold, held or paid.
    let short = sell(
        &app,
        cashier,
        "corta",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total - 1)],
        }),
    )
    .await;
    assert_error(&short, 409, "amount_mismatch");
    assert_eq!(short.body["error"]["details"]["balance_bs_cents"], 1);
    let holds_after = count(
        &app,
        "SELECT COUNT(*) FROM holds WHERE tenant_id = $1",
        shop.tenant.tenant_id,
    )
    .await;
    assert_eq!(holds_after, holds_before);
    let payments = count(
        &app,
        "SELECT COUNT(*) FROM payments WHERE tenant_id = $1",
        shop.tenant.tenant_id,
    )
    .await;
    assert_eq!(payments, 0);
    assert_eq!(seat_status(&app, &shop, seats[0]).await, "available");

    // Bad input is reported per field, with the payment's position.
    let invalid = sell(
        &app,
        cashier,
        "invalida",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [],
            "customer_id": shop.customer_id,
            "payments": [{ "method": "cheque", "currency": "VES", "amount_cents": 100 }],
        }),
    )
    .await;
    assert_eq!(invalid.status, 422);
    let fields: Vec<&str> = invalid.body["error"]["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"seat_ids"), "{fields:?}");
    assert!(fields.contains(&"payments[0].method"), "{fields:?}");

    // A failed sale leaves the series without a gap.
    let sold = sell(
        &app,
        cashier,
        "buena",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total)],
        }),
    )
    .await;
    assert_status(&sold, 201);
    assert_eq!(sold.body["invoice"]["number"], 1);
    app.teardown().await;
}

/// Checks that a quick sale after the cashier's Z report is rejected whole.
/// The fiscal day is checked once, when the invoice is numbered, so the first
/// of two payments must not slip through.
async fn quick_sale_rejected_after_z_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = seat_shop(&app, "cerrada").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_status(&z, 201);
    let tables = [
        "SELECT COUNT(*) FROM holds WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM orders WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM payments WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM cashier_days WHERE tenant_id = $1",
    ];
    let mut before = Vec::new();
    for sql in tables {
        before.push(count(&app, sql, shop.tenant.tenant_id).await);
    }

    let by_phone = total / 2;
    let rejected = sell(
        &app,
        cashier,
        "tras-z",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0]],
            "customer_id": shop.customer_id,
            "payments": [pago_movil(by_phone, "445566"), cash_ves(total - by_phone)],
        }),
    )
    .await;
    assert_error(&rejected, 409, "fiscal_day_closed");
    for (sql, before) in tables.into_iter().zip(before) {
        assert_eq!(
            count(&app, sql, shop.tenant.tenant_id).await,
            before,
            "{sql}"
        );
    }
    assert_eq!(seat_status(&app, &shop, seats[0]).await, "available");

    // The organiser, whose day is open, still sells the seat.
    let admin = &shop.tenant.admin_token;
    let sold = sell(
        &app,
        admin,
        "admin-vende",
        json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total)],
        }),
    )
    .await;
    assert_status(&sold, 201);
    app.teardown().await;
}

/// Sets up a shop with one general-admission zone of `capacity` units at
/// US$15.00. Returns it with the price of one unit in Bs., read from an order
/// that is then cancelled.
async fn unit_shop(app: &TestApp, slug: &str, capacity: i64) -> (Shop, i64) {
    let shop = app
        .setup_shop(
            slug,
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity,
                price_usd_cents: 1_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let probe = app.hold_quantity(cashier, shop.zone_id, 1).await;
    let order = app
        .create_order(cashier, probe.id("id"), shop.customer_id)
        .await;
    let unit_total = order.body["total_bs_cents"].as_i64().unwrap();
    let cancelled = app
        .post(&format!("/api/v1/orders/{}/cancel", order.id("id")))
        .token(cashier)
        .send()
        .await;
    assert_status(&cancelled, 200);
    (shop, unit_total)
}

async fn concurrent_quick_sales_never_oversell(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, unit_total) = unit_shop(&app, "avalancha", 30).await;
    let cashier = &shop.tenant.cashier_token;

    // 60 buyers of one unit each for 30 places, all at once.
    let requests = (0..60).map(|buyer| {
        app.post("/api/v1/sales")
            .token(cashier)
            .idempotency_key(&format!("avalancha-{buyer}"))
            .json(json!({
                "zone_id": shop.zone_id,
                "quantity": 1,
                "customer_id": shop.customer_id,
                "payments": [cash_ves(unit_total)],
            }))
            .send()
    });
    let responses: Vec<ApiResponse> = join_all(requests).await;
    let mut sold = 0;
    for response in &responses {
        match response.status.as_u16() {
            201 => sold += 1,
            409 => assert_eq!(
                response.error_code(),
                "insufficient_capacity",
                "{:?}",
                response.body
            ),
            other => panic!("unexpected status {other}: {:?}", response.body),
        }
    }
    assert_eq!(sold, 30);

    let tenant = shop.tenant.tenant_id;
    let zone_sold = app
        .db
        .scalar_i64(
            "SELECT sold FROM zones WHERE tenant_id = $1 AND id = $2",
            &[tenant.into(), shop.zone_id.into()],
        )
        .await;
    assert_eq!(zone_sold, 30);
    assert_eq!(zone_counts(&app, &shop).await, (30, 0));
    let tickets = count(
        &app,
        "SELECT COUNT(*) FROM tickets WHERE tenant_id = $1",
        tenant,
    )
    .await;
    assert_eq!(tickets, 30);
    let numbers: BTreeSet<i64> = app
        .db
        .column_i64(
            "SELECT number FROM fiscal_documents WHERE tenant_id = $1 AND kind = 'invoice'",
            &[tenant.into()],
        )
        .await
        .into_iter()
        .collect();
    assert_eq!(numbers, (1..=30).collect::<BTreeSet<i64>>());
    app.teardown().await;
}

/// Returns a general-admission zone's sold and held counts.
async fn zone_counts(app: &TestApp, shop: &Shop) -> (i64, i64) {
    let ids = [shop.tenant.tenant_id.into(), shop.zone_id.into()];
    let sold = app
        .db
        .scalar_i64(
            "SELECT sold FROM zones WHERE tenant_id = $1 AND id = $2",
            &ids,
        )
        .await;
    let held = app
        .db
        .scalar_i64(
            "SELECT held FROM zones WHERE tenant_id = $1 AND id = $2",
            &ids,
        )
        .await;
    (sold, held)
}

/// A quick sale of general admission sells its units without holding them
/// first, and takes the units of holds that expired but are not ended yet.
async fn quick_sale_takes_units_of_expired_holds(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, unit_total) = unit_shop(&app, "vencidas", 3).await;
    let cashier = &shop.tenant.cashier_token;
    let sell_units = |key: &'static str, quantity: i64| {
        sell(
            &app,
            cashier,
            key,
            json!({
                "zone_id": shop.zone_id,
                "quantity": quantity,
                "customer_id": shop.customer_id,
                "payments": [cash_ves(unit_total * quantity)],
            }),
        )
    };

    // A buyer holds the whole zone and walks away.
    let abandoned = app.hold_quantity(cashier, shop.zone_id, 3).await;
    assert_status(&abandoned, 201);
    assert_error(&sell_units("llena", 1).await, 409, "insufficient_capacity");
    app.advance(Duration::minutes(16));

    // The sale ends the expired hold and sells two units: none stays held.
    let sold = sell_units("vencida-1", 2).await;
    assert_status(&sold, 201);
    assert_eq!(zone_counts(&app, &shop).await, (2, 0));
    let abandoned_status = app
        .db
        .scalar_string(
            "SELECT status FROM holds WHERE tenant_id = $1 AND id = $2",
            &[shop.tenant.tenant_id.into(), abandoned.id("id").into()],
        )
        .await;
    assert_eq!(abandoned_status, "expired");
    let sale_hold = uuid_of(&sold.body["hold_id"]);
    let sale_hold_status = app
        .db
        .scalar_string(
            "SELECT status FROM holds WHERE tenant_id = $1 AND id = $2",
            &[shop.tenant.tenant_id.into(), sale_hold.into()],
        )
        .await;
    assert_eq!(sale_hold_status, "converted");

    // One unit is left: a hold takes it, and the next sale finds the zone full.
    let last = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&last, 201);
    assert_eq!(zone_counts(&app, &shop).await, (2, 1));
    assert_error(
        &sell_units("vencida-2", 1).await,
        409,
        "insufficient_capacity",
    );
    assert_eq!(zone_counts(&app, &shop).await, (2, 1));
    app.teardown().await;
}

/// A sale that a 100 % discount code makes free completes with no payment,
/// and any payment in it is rejected as not needed.
async fn quick_sale_of_free_units(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, unit_total) = unit_shop(&app, "gratis", 10).await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let code = app
        .post(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(admin)
        .json(json!({
            "code": "invitado",
            "modifier": { "kind": "percent", "basis_points": -10_000 },
            "max_uses": 5,
        }))
        .send()
        .await;
    assert_status(&code, 201);
    let free_sale = |key: &'static str, payments: Value| {
        sell(
            &app,
            cashier,
            key,
            json!({
                "zone_id": shop.zone_id,
                "quantity": 2,
                "customer_id": shop.customer_id,
                "discount_code": "INVITADO",
                "payments": payments,
            }),
        )
    };

    // A payment on a free sale is not needed: nothing is written.
    let paid = free_sale("gratis-1", json!([cash_ves(unit_total)])).await;
    assert_error(&paid, 409, "amount_mismatch");
    assert_eq!(paid.body["error"]["details"]["overpaid"], true);
    assert_eq!(zone_counts(&app, &shop).await, (0, 0));

    let free = free_sale("gratis-2", json!([])).await;
    assert_status(&free, 201);
    assert_eq!(free.body["status"], "paid");
    assert_eq!(free.body["total_bs_cents"], 0);
    assert_eq!(free.body["fiscal_status"], "invoiced");
    assert_eq!(free.body["payments"], json!([]));
    let tickets = app
        .get(&format!("/api/v1/orders/{}/tickets", free.id("id")))
        .token(cashier)
        .send()
        .await;
    assert_status(&tickets, 200);
    assert_eq!(tickets.body.as_array().unwrap().len(), 2);
    let stored = app.get_order(cashier, free.id("id")).await;
    assert_status(&stored, 200);
    assert_eq!(free.body, stored.body);
    assert_eq!(zone_counts(&app, &shop).await, (2, 0));

    // Without the code the same sale with no payment is short of its total.
    let unpaid = sell(
        &app,
        cashier,
        "gratis-3",
        json!({ "zone_id": shop.zone_id, "quantity": 1, "customer_id": shop.customer_id }),
    )
    .await;
    assert_error(&unpaid, 409, "amount_mismatch");
    assert_eq!(
        unpaid.body["error"]["details"]["balance_bs_cents"],
        unit_total
    );
    assert_eq!(zone_counts(&app, &shop).await, (2, 0));
    app.teardown().await;
}

/// Checks the fiscal records while four sellers make quick sales: every check
/// sees one snapshot, so a sale committing during a check is not a gap or a
/// document without its audit entry.
async fn verify_clean_during_sales(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shop, unit_total) = unit_shop(&app, "verifica", 400).await;
    let cashier = &shop.tenant.cashier_token;
    let admin = &shop.tenant.admin_token;

    let sellers = (0..4).map(|seller| {
        let app = &app;
        let shop = &shop;
        async move {
            for sale in 0..25 {
                let sold = app
                    .post("/api/v1/sales")
                    .token(cashier)
                    .idempotency_key(&format!("verifica-{seller}-{sale}"))
                    .json(json!({
                        "zone_id": shop.zone_id,
                        "quantity": 1,
                        "customer_id": shop.customer_id,
                        "payments": [cash_ves(unit_total)],
                    }))
                    .send()
                    .await;
                assert_status(&sold, 201);
            }
        }
    });
    let checks = async {
        let mut verifications = Vec::new();
        for _ in 0..30 {
            verifications.push(app.get("/api/v1/fiscal/verify").token(admin).send().await);
        }
        verifications
    };
    let (_, verifications) = tokio::join!(join_all(sellers), checks);
    for verification in &verifications {
        assert_status(verification, 200);
        assert_eq!(
            verification.body["problems"],
            json!([]),
            "{}",
            verification.text
        );
    }
    let invoices = count(
        &app,
        "SELECT COUNT(*) FROM fiscal_documents WHERE tenant_id = $1 AND kind = 'invoice'",
        shop.tenant.tenant_id,
    )
    .await;
    assert_eq!(invoices, 100);
    app.teardown().await;
}
