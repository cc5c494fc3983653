//! Payment edge cases: USD balances paid by card, cancelling paid orders,
//! totals too large to represent, and cancelled events.

use serde_json::json;

use crate::helpers::{
    Backend, EventTimes, Param, ZoneSpec, assert_error, assert_status, cash_ves, pago_movil,
    spawn_app,
};

backend_tests!(
    usd_balance_is_payable_by_card,
    cancel_rejects_order_with_payments,
    oversized_totals_are_rejected,
    cancelled_event_stops_sales_and_admission
);

fn general_admission(capacity: i64, price_usd_cents: i64) -> ZoneSpec {
    ZoneSpec::GeneralAdmission {
        capacity,
        price_usd_cents,
    }
}

async fn usd_balance_is_payable_by_card(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "tarjeta",
            "J-12345678-4",
            general_admission(10, 1_500),
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let hold = app.hold_quantity(cashier, shop.zone_id, 3).await;
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let order_id = order.id("id");

    // Part in Bs., then the USD balance the API reports, by card.
    let partial = app
        .pay(cashier, order_id, pago_movil(100_000, "445566"))
        .await;
    assert_status(&partial, 201);
    let balance_usd = partial.body["order"]["balance_usd_cents"].as_i64().unwrap();
    let card = json!({
        "method": "card",
        "currency": "USD",
        "amount_cents": balance_usd,
        "reference": "TERM-1-000123",
    });
    let paid = app.pay(cashier, order_id, card).await;
    assert_status(&paid, 201);
    assert_eq!(paid.body["order"]["status"], "paid");
    // The surplus of less than one cent is booked as rounding, not as change.
    assert_eq!(paid.body["payment"]["change_cents"], 0);
    let rounding = paid.body["payment"]["rounding_bs_cents"].as_i64().unwrap();
    let cent_in_bs = 3_612; // 0.01 USD at 36.12345678 Bs./USD, in céntimos, rounded down.
    assert!(
        (-cent_in_bs..=0).contains(&rounding),
        "rounding {rounding} is not a surplus below one cent"
    );

    // One cent more than the USD balance is refused for a card.
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    let too_much = json!({
        "method": "card",
        "currency": "USD",
        "amount_cents": order.body["balance_usd_cents"].as_i64().unwrap() + 1,
        "reference": "TERM-1-000124",
    });
    let refused = app.pay(cashier, order.id("id"), too_much).await;
    assert_error(&refused, 409, "amount_exceeds_balance");
    app.teardown().await;
}

async fn cancel_rejects_order_with_payments(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "reembolso",
            "J-00124134-5",
            general_admission(10, 2_000),
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    let hold_id = hold.id("id");
    let order = app.create_order(cashier, hold_id, shop.customer_id).await;
    let order_id = order.id("id");
    let partial = app.pay(cashier, order_id, cash_ves(50_000)).await;
    assert_status(&partial, 201);

    let cancelled = app
        .post(&format!("/api/v1/orders/{order_id}/cancel"))
        .token(cashier)
        .send()
        .await;
    assert_error(&cancelled, 409, "order_has_payments");
    let released = app
        .delete(&format!("/api/v1/holds/{hold_id}"))
        .token(cashier)
        .send()
        .await;
    assert_error(&released, 409, "order_has_payments");
    let status = app
        .db
        .scalar_string(
            "SELECT status FROM orders WHERE id = $1",
            &[Param::from(order_id)],
        )
        .await;
    assert_eq!(status, "pending");
    app.teardown().await;
}

async fn oversized_totals_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "enorme",
            "G-20009997-6",
            general_admission(50, 100_000_000),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    // The largest rate the API accepts replaces the test rate for today.
    let rate = app.create_exchange_rate(admin, "9999999999.99999999").await;
    assert_status(&rate, 201);
    let hold = app.hold_quantity(cashier, shop.zone_id, 10).await;

    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;

    assert_error(&order, 422, "validation_failed");
    assert_eq!(
        order.body["error"]["details"]["errors"][0]["rule"],
        "too_large"
    );
    app.teardown().await;
}

async fn cancelled_event_stops_sales_and_admission(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "cancelado",
            "J-12345678-4",
            general_admission(10, 1_000),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let sold = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .await;
    let sold_order = sold["id"].as_str().unwrap().to_string();
    let tickets = app.tickets(cashier, sold_order.parse().unwrap()).await;
    let code = tickets.body[0]["code"].as_str().unwrap().to_string();
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    let pending = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    let total = pending.body["total_bs_cents"].as_i64().unwrap();

    let cancelled = app
        .post(&format!("/api/v1/events/{}/cancel", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_status(&cancelled, 200);

    let payment = app.pay(cashier, pending.id("id"), cash_ves(total)).await;
    assert_error(&payment, 409, "event_not_on_sale");
    let scan = app
        .validate_ticket(
            &shop.tenant.validator_token,
            json!({ "code": code, "gate": "Puerta 1" }),
        )
        .await;
    assert_error(&scan, 409, "event_cancelled");
    app.teardown().await;
}
