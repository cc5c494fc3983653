//! Retried payments: one Idempotency-Key, one effect.

use futures::future::join_all;
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, Param, ZoneSpec, assert_error, assert_status, cash_ves, new_client,
    spawn_app, uuid_of,
};

backend_tests!(payment_key_applies_once);

async fn payment_key_applies_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "reintentos",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 2_000,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let hold = app.hold_quantity(cashier, shop.zone_id, 2).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let order_id = order.id("id");
    let total = order.body["total_bs_cents"].as_i64().unwrap();

    // Two keys on one request name no single request to replay.
    let two_keys = app
        .post(&format!("/api/v1/orders/{order_id}/payments"))
        .token(cashier)
        .idempotency_key(&Uuid::new_v4().to_string())
        .idempotency_key(&Uuid::new_v4().to_string())
        .json(cash_ves(total))
        .send()
        .await;
    assert_error(&two_keys, 400, "idempotency_key_repeated");

    // Ten clients, each with its own connections, send the same payment at once.
    let key = Uuid::new_v4().to_string();
    let clients: Vec<reqwest::Client> = (0..10).map(|_| new_client()).collect();
    let responses = join_all(clients.iter().map(|client| {
        app.post(&format!("/api/v1/orders/{order_id}/payments"))
            .via(client)
            .token(cashier)
            .idempotency_key(&key)
            .json(cash_ves(total))
            .send()
    }))
    .await;

    for response in &responses {
        assert_status(response, 201);
        assert_eq!(
            response.body, responses[0].body,
            "a retry got a different answer"
        );
    }
    let payment_id = uuid_of(&responses[0].body["payment"]["id"]);
    for response in &responses {
        assert_eq!(uuid_of(&response.body["payment"]["id"]), payment_id);
    }
    assert_eq!(responses[0].body["order"]["status"], "paid");
    let replayed = responses
        .iter()
        .filter(|response| {
            response
                .headers
                .get("idempotent-replayed")
                .is_some_and(|value| value == "true")
        })
        .count();
    assert_eq!(replayed, 9, "all answers but the first are replays");

    let order_param = [Param::from(order_id)];
    let payments = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM payments WHERE order_id = $1",
            &order_param,
        )
        .await;
    assert_eq!(payments, 1);
    let invoices = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM fiscal_documents WHERE order_id = $1",
            &order_param,
        )
        .await;
    assert_eq!(invoices, 1);
    let tickets = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM tickets WHERE order_id = $1",
            &order_param,
        )
        .await;
    assert_eq!(tickets, 2);

    // The same key with another body is rejected and changes nothing.
    let reused = app
        .pay_with_key(cashier, order_id, &key, cash_ves(total - 1))
        .await;
    assert_error(&reused, 409, "idempotency_key_reused");
    let payments = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM payments WHERE order_id = $1",
            &order_param,
        )
        .await;
    assert_eq!(payments, 1);

    // A later retry of the original request still gets the stored response.
    let late = app
        .pay_with_key(cashier, order_id, &key, cash_ves(total))
        .await;
    assert_status(&late, 201);
    assert_eq!(late.body, responses[0].body);

    app.teardown().await;
}
