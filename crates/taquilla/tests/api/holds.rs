//! Hold lifetimes: a hold with an order lives until the payment deadline, an
//! abandoned hold gives its seats back, a late payment expires its order, and
//! the sweeper returns general-admission capacity.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use taquilla_app::jobs::sweep_once;
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Param, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    cash_ves, spawn_app, uuid_of,
};

backend_tests!(
    hold_outlives_expiry_during_payment,
    expired_hold_releases_seat,
    late_payment_expires_order,
    released_hold_frees_seat,
    sweeper_expires_general_admission_holds
);

fn instant(value: &serde_json::Value) -> DateTime<Utc> {
    value
        .as_str()
        .expect("a timestamp")
        .parse()
        .expect("an RFC 3339 timestamp")
}

async fn numbered_shop(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::Numbered {
            rows: vec![5],
            price_usd_cents: 2_000,
        },
        EventTimes {
            hold_minutes: 15,
            payment_minutes: 15,
        },
    )
    .await
}

/// Creates a second cashier over the API and returns its access token.
async fn second_cashier(app: &TestApp, shop: &Shop) -> String {
    let username = format!("{}-cajero-2", shop.tenant.slug);
    let created = app
        .post("/api/v1/users")
        .token(&shop.tenant.admin_token)
        .json(json!({
            "username": username,
            "email": format!("{username}@example.test"),
            "password": crate::helpers::PASSWORD,
            "role": "cashier",
        }))
        .send()
        .await;
    assert_status(&created, 201);
    assert_eq!(created.body["role"], "cashier");
    app.access_token(&username).await
}

fn seat_status(availability: &ApiResponse, seat_id: Uuid) -> String {
    availability.body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|seat| uuid_of(&seat["id"]) == seat_id)
        .map(|seat| seat["status"].as_str().unwrap().to_string())
        .expect("the seat is in the zone")
}

async fn hold_outlives_expiry_during_payment(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "en-pago").await;
    let cashier = &shop.tenant.cashier_token;
    let other_cashier = second_cashier(&app, &shop).await;
    let seat = app.seat_ids(cashier, shop.zone_id).await[0];

    // t0: the hold lives 15 minutes.
    let hold = app.hold_seats(cashier, shop.zone_id, &[seat]).await;
    assert_status(&hold, 201);
    let hold_id = hold.id("id");
    let original_expiry = instant(&hold.body["expires_at"]);
    assert_eq!(
        original_expiry - instant(&hold.body["created_at"]),
        Duration::minutes(15)
    );

    // t0 + 10 min: the order starts a 15-minute payment deadline, which carries the hold.
    app.advance(Duration::minutes(10));
    let order = app.create_order(cashier, hold_id, shop.customer_id).await;
    assert_status(&order, 201);
    let deadline = instant(&order.body["payment_deadline"]);
    assert_eq!(
        deadline - instant(&order.body["created_at"]),
        Duration::minutes(15)
    );
    assert!(deadline > original_expiry);
    let extended = app
        .get(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_status(&extended, 200);
    assert_eq!(instant(&extended.body["expires_at"]), deadline);

    // t0 + 16 min: past the hold's original expiry, before the deadline.
    app.advance(Duration::minutes(6));
    assert!(app.now() > original_expiry);
    assert!(app.now() < deadline);
    let availability = app.availability(&other_cashier, shop.zone_id).await;
    assert_eq!(seat_status(&availability, seat), "held");
    let competing = app.hold_seats(&other_cashier, shop.zone_id, &[seat]).await;
    assert_error(&competing, 409, "seats_unavailable");
    let named = &competing.body["error"]["details"]["seats"];
    assert_eq!(named.as_array().unwrap().len(), 1);
    assert_eq!(uuid_of(&named[0]["id"]), seat);
    assert_eq!(named[0]["row"], "A");
    assert_eq!(named[0]["number"], 1);
    assert_eq!(
        competing.body["error"]["message"],
        "Algunos asientos ya no están disponibles: fila A, asiento 1."
    );

    // The sweeper leaves the hold alone.
    let expired = sweep_once(&app.state).await.expect("sweeper round");
    assert_eq!(expired, 0);
    let still_active = app
        .get(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_eq!(still_active.body["status"], "active");

    // The payment completes and the seat is sold.
    let total = order.body["total_bs_cents"].as_i64().unwrap();
    let payment = app.pay(cashier, order.id("id"), cash_ves(total)).await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["order"]["status"], "paid");
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(seat_status(&availability, seat), "sold");
    let converted = app
        .get(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_eq!(converted.body["status"], "converted");
    let seat_row = app
        .db
        .scalar_string(
            "SELECT status FROM seats WHERE id = $1",
            &[Param::from(seat)],
        )
        .await;
    assert_eq!(seat_row, "sold");

    app.teardown().await;
}

async fn expired_hold_releases_seat(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "abandono").await;
    let cashier = &shop.tenant.cashier_token;
    let other_cashier = second_cashier(&app, &shop).await;
    let seat = app.seat_ids(cashier, shop.zone_id).await[1];

    let abandoned = app.hold_seats(cashier, shop.zone_id, &[seat]).await;
    assert_status(&abandoned, 201);
    let abandoned_id = abandoned.id("id");

    // 16 minutes later without an order, the hold reads as expired and the seat is free.
    app.advance(Duration::minutes(16));
    let read = app
        .get(&format!("/api/v1/holds/{abandoned_id}"))
        .token(cashier)
        .send()
        .await;
    assert_eq!(read.body["status"], "expired");
    let availability = app.availability(&other_cashier, shop.zone_id).await;
    assert_eq!(seat_status(&availability, seat), "available");

    let taken = app.hold_seats(&other_cashier, shop.zone_id, &[seat]).await;
    assert_status(&taken, 201);
    let taken_id = taken.id("id");

    // The first buyer can no longer order from the expired hold.
    let late_order = app
        .create_order(cashier, abandoned_id, shop.customer_id)
        .await;
    assert_error(&late_order, 409, "hold_expired");

    // The sweeper ends the abandoned hold without touching the new one.
    let expired = sweep_once(&app.state).await.expect("sweeper round");
    assert_eq!(expired, 1);
    let holds = app
        .db
        .scalar_string(
            "SELECT status FROM holds WHERE id = $1",
            &[Param::from(abandoned_id)],
        )
        .await;
    assert_eq!(holds, "expired");
    let seat_rows: Vec<(String, Uuid)> = app
        .db
        .rows(
            "SELECT status, hold_id FROM seats WHERE id = $1",
            &[Param::from(seat)],
        )
        .await;
    assert_eq!(seat_rows, [("held".to_string(), taken_id)]);

    // The new buyer completes the purchase.
    let order = app
        .create_order(&other_cashier, taken_id, shop.customer_id)
        .await;
    assert_status(&order, 201);
    let total = order.body["total_bs_cents"].as_i64().unwrap();
    let payment = app
        .pay(&other_cashier, order.id("id"), cash_ves(total))
        .await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["order"]["status"], "paid");

    app.teardown().await;
}

async fn late_payment_expires_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "tarde").await;
    let cashier = &shop.tenant.cashier_token;
    let other_cashier = second_cashier(&app, &shop).await;
    let seat = app.seat_ids(cashier, shop.zone_id).await[2];

    let hold = app.hold_seats(cashier, shop.zone_id, &[seat]).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let order_id = order.id("id");
    let total = order.body["total_bs_cents"].as_i64().unwrap();

    // One minute past the payment deadline.
    app.advance(Duration::minutes(16));
    let payment = app
        .pay_with_key(cashier, order_id, "pago-tardio", cash_ves(total))
        .await;
    assert_error(&payment, 409, "order_expired");
    // The key is not left blocked: a retry reads the order's new status.
    let retry = app
        .pay_with_key(cashier, order_id, "pago-tardio", cash_ves(total))
        .await;
    assert_error(&retry, 409, "order_not_payable");
    assert_eq!(
        instant(&payment.body["error"]["details"]["payment_deadline"]),
        instant(&order.body["payment_deadline"])
    );

    let read = app.get_order(cashier, order_id).await;
    assert_status(&read, 200);
    assert_eq!(read.body["status"], "expired");
    assert_eq!(read.body["balance_bs_cents"], 0);
    let stored = app
        .db
        .scalar_string(
            "SELECT status FROM orders WHERE id = $1",
            &[Param::from(order_id)],
        )
        .await;
    assert_eq!(stored, "expired");
    let hold_status = app
        .db
        .scalar_string(
            "SELECT status FROM holds WHERE id = $1",
            &[Param::from(hold.id("id"))],
        )
        .await;
    assert_eq!(hold_status, "expired");
    let payments = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM payments WHERE order_id = $1",
            &[Param::from(order_id)],
        )
        .await;
    assert_eq!(payments, 0);

    // The seat is on sale again.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(seat_status(&availability, seat), "available");
    let taken = app.hold_seats(&other_cashier, shop.zone_id, &[seat]).await;
    assert_status(&taken, 201);

    // The expired order takes no further payment.
    let retry = app.pay(cashier, order_id, cash_ves(total)).await;
    assert_error(&retry, 409, "order_not_payable");

    app.teardown().await;
}

async fn released_hold_frees_seat(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "liberar").await;
    let cashier = &shop.tenant.cashier_token;
    let other_cashier = second_cashier(&app, &shop).await;
    let seat = app.seat_ids(cashier, shop.zone_id).await[3];

    let hold = app.hold_seats(cashier, shop.zone_id, &[seat]).await;
    assert_status(&hold, 201);
    let hold_id = hold.id("id");
    let order = app.create_order(cashier, hold_id, shop.customer_id).await;
    assert_status(&order, 201);

    // Releasing the hold frees the seat at once and cancels the unpaid order.
    let released = app
        .delete(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_status(&released, 204);
    let read = app
        .get(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_eq!(read.body["status"], "released");
    let cancelled = app.get_order(cashier, order.id("id")).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(seat_status(&availability, seat), "available");

    let twice = app
        .delete(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_error(&twice, 409, "hold_not_active");
    assert_eq!(twice.body["error"]["details"]["status"], "released");
    let payment = app.pay(cashier, order.id("id"), cash_ves(100)).await;
    assert_error(&payment, 409, "order_not_payable");

    let taken = app.hold_seats(&other_cashier, shop.zone_id, &[seat]).await;
    assert_status(&taken, 201);

    app.teardown().await;
}

async fn sweeper_expires_general_admission_holds(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "barrido",
            "J-00124134-5",
            ZoneSpec::GeneralAdmission {
                capacity: 5,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let zone = [Param::from(shop.zone_id)];

    assert_status(&app.hold_quantity(cashier, shop.zone_id, 3).await, 201);
    assert_status(&app.hold_quantity(cashier, shop.zone_id, 2).await, 201);
    let full = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_error(&full, 409, "insufficient_capacity");
    assert_eq!(full.body["error"]["details"]["available"], 0);
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["available"], 0);
    assert_eq!(availability.body["held"], 5);

    // Past their expiry the holds read as free, but still sit in the counter.
    app.advance(Duration::minutes(16));
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["available"], 5);
    assert_eq!(availability.body["held"], 0);
    let counter = app
        .db
        .scalar_i64("SELECT held FROM zones WHERE id = $1", &zone)
        .await;
    assert_eq!(counter, 5);

    // One sweeper round ends both holds and returns the capacity.
    let expired = sweep_once(&app.state).await.expect("sweeper round");
    assert_eq!(expired, 2);
    let counter = app
        .db
        .scalar_i64("SELECT held FROM zones WHERE id = $1", &zone)
        .await;
    assert_eq!(counter, 0);
    let expired_holds = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM holds WHERE zone_id = $1 AND status = 'expired'",
            &zone,
        )
        .await;
    assert_eq!(expired_holds, 2);
    let again = sweep_once(&app.state).await.expect("sweeper round");
    assert_eq!(again, 0);

    let metrics = app.get("/metrics").send().await;
    assert_status(&metrics, 200);
    assert!(
        metrics
            .text
            .lines()
            .any(|line| line == "venezuelan_pos_holds_expired_total 2"),
        "holds_expired_total is not 2:\n{}",
        metrics.text
    );

    // The whole zone can be held again.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["available"], 5);
    assert_status(&app.hold_quantity(cashier, shop.zone_id, 5).await, 201);

    app.teardown().await;
}
