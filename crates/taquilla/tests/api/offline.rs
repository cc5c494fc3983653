//! Offline sales over HTTP: a terminal takes a block of numbers, sells while
//! the same seats partly sell online, syncs, and the block expires.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use taquilla_app::jobs::sweep_once;
use taquilla_store::model::Role;
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    cash_ves, rfc3339, spawn_app,
};

backend_tests!(
    terminal_sync_takes_free_seats_and_voids_unused_numbers,
    sync_keeps_order_and_rejects_misuse,
    concurrent_syncs_of_one_number,
    z_report_races_block,
);

async fn numbered_shop(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::Numbered {
            rows: vec![10, 10, 10, 10],
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

/// Creates the offline series `code` as the tenant admin.
async fn offline_series(app: &TestApp, admin: &str, code: &str) {
    let created = app
        .post("/api/v1/fiscal/series")
        .token(admin)
        .json(json!({ "code": code, "kind": "invoice", "adapter": "offline" }))
        .send()
        .await;
    assert_status(&created, 201);
}

async fn take_block(app: &TestApp, token: &str, body: Value) -> ApiResponse {
    app.post("/api/v1/offline/blocks")
        .token(token)
        .json(body)
        .send()
        .await
}

async fn sync(app: &TestApp, token: &str, block_id: Uuid, sales: Vec<Value>) -> ApiResponse {
    app.post(&format!("/api/v1/offline/blocks/{block_id}/sync"))
        .token(token)
        .json(json!({ "sales": sales }))
        .send()
        .await
}

fn sale_item(number: i64, sold_at: DateTime<Utc>, shop: &Shop, seat: Uuid, paid: i64) -> Value {
    json!({
        "number": number,
        "local_id": format!("T3-{number:04}"),
        "sold_at": rfc3339(sold_at),
        "zone_id": shop.zone_id,
        "seat_ids": [seat],
        "customer_id": shop.customer_id,
        "payments": [cash_ves(paid)],
    })
}

/// Returns every number of the series, from invoices and from settled offline numbers.
async fn series_numbers(app: &TestApp, tenant_id: Uuid, code: &str) -> Vec<i64> {
    let mut numbers = app
        .db
        .column_i64(
            "SELECT d.number FROM fiscal_documents d JOIN fiscal_series s ON s.tenant_id = d.tenant_id \
             AND s.id = d.series_id WHERE d.tenant_id = $1 AND s.code = $2",
            &[tenant_id.into(), code.into()],
        )
        .await;
    numbers.extend(
        app.db
            .column_i64(
                "SELECT n.number FROM offline_numbers n JOIN fiscal_series s ON s.tenant_id = n.tenant_id \
                 AND s.id = n.series_id WHERE n.tenant_id = $1 AND s.code = $2 AND n.outcome <> 'accepted'",
                &[tenant_id.into(), code.into()],
            )
            .await,
    );
    numbers.sort_unstable();
    numbers
}

/// Checks the tenant's fiscal verification and the series check behind the
/// health endpoint.
async fn verify_ok(app: &TestApp, admin: &str) {
    let verification = app.get("/api/v1/fiscal/verify").token(admin).send().await;
    assert_status(&verification, 200);
    assert_eq!(
        verification.body["problems"],
        json!([]),
        "{:#}",
        verification.body
    );
    let integrity = app
        .state
        .store
        .check_integrity()
        .await
        .expect("integrity check");
    assert!(
        integrity.series_with_gaps.is_empty(),
        "{:?}",
        integrity.series_with_gaps
    );
}

/// A terminal sells 30 numbers of a 50-number block while 10 of its seats
/// sell online. The sync takes the free ones and reports each conflict, and
/// the 20 unused numbers are voided at expiry.
async fn terminal_sync_takes_free_seats_and_voids_unused_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "terminal").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    offline_series(&app, admin, "OFF").await;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[39..40]).await;

    let block = take_block(
        &app,
        cashier,
        json!({ "series": "off", "terminal": "Taquilla 3" }),
    )
    .await;
    assert_status(&block, 201);
    let block_id = block.id("id");
    assert_eq!(block.body["first_number"], 1);
    assert_eq!(block.body["last_number"], 50);
    assert_eq!(block.body["unresolved"], 50);
    let first_control = block.body["first_control_number"]
        .as_str()
        .unwrap()
        .to_string();
    let issued_at: DateTime<Utc> = block.body["issued_at"].as_str().unwrap().parse().unwrap();

    // Online sales keep their own numbering while the block is out.
    let online_seats: Vec<Uuid> = (0..30).step_by(3).map(|index| seats[index]).collect();
    let hold = app.hold_seats(cashier, shop.zone_id, &online_seats).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let online_total = order.body["total_bs_cents"].as_i64().unwrap();
    let paid = app
        .pay(cashier, order.id("id"), cash_ves(online_total))
        .await;
    assert_status(&paid, 201);
    assert_ne!(paid.body["order"]["invoice"]["series"], "OFF");

    // The terminal sold numbers 1–30 offline, one seat each: number 2 was
    // cancelled before printing and number 30 was collected short.
    app.advance(Duration::minutes(30));
    let items: Vec<Value> = (0..30)
        .map(|index| {
            let number = index as i64 + 1;
            let sold_at = issued_at + Duration::seconds(30 * number);
            match number {
                2 => json!({ "number": 2, "sold_at": rfc3339(sold_at), "void": "cancelled_at_terminal" }),
                30 => sale_item(number, sold_at, &shop, seats[index], total - 100),
                _ => sale_item(number, sold_at, &shop, seats[index], total),
            }
        })
        .collect();
    let first = sync(&app, cashier, block_id, items[..15].to_vec()).await;
    assert_status(&first, 200);
    let second = sync(&app, cashier, block_id, items[15..].to_vec()).await;
    assert_status(&second, 200);
    let results: Vec<Value> = first.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["results"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(results.len(), 30);
    assert_eq!(second.body["error"], Value::Null);

    for (index, result) in results.iter().enumerate() {
        let number = index as i64 + 1;
        assert_eq!(result["number"], number);
        assert_eq!(result["replayed"], false);
        if number == 2 {
            assert_eq!(result["outcome"], "voided");
            assert_eq!(result["reason"], "cancelled_at_terminal");
        } else if index % 3 == 0 {
            assert_eq!(result["outcome"], "rejected", "{result}");
            assert_eq!(result["reason"], "seats_unavailable");
            assert_eq!(result["order_id"], Value::Null);
        } else if number == 30 {
            assert_eq!(result["outcome"], "rejected");
            assert_eq!(result["reason"], "amount_mismatch");
            assert_eq!(result["detail"]["balance_bs_cents"], 100);
        } else {
            assert_eq!(result["outcome"], "accepted", "{result}");
            assert_eq!(result["invoice"]["series"], "OFF");
            assert_eq!(result["invoice"]["number"], number);
            assert_eq!(result["local_id"], format!("T3-{number:04}"));
            // The invoice keeps the terminal's time of sale.
            let invoice_at: DateTime<Utc> = result["invoice"]["issued_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let sold_at: DateTime<Utc> = rfc3339(issued_at + Duration::seconds(30 * number))
                .parse()
                .unwrap();
            assert_eq!(invoice_at, sold_at);
        }
    }
    // Control numbers run with the document numbers from the block's first.
    let prefix = &first_control[..3];
    let first_sequence: i64 = first_control[3..].parse().unwrap();
    assert_eq!(
        results[4]["control_number"],
        format!("{prefix}{:08}", first_sequence + 4)
    );
    assert_eq!(
        results[4]["invoice"]["control_number"],
        results[4]["control_number"]
    );

    // Sending the first batch again changes nothing.
    let again = sync(&app, cashier, block_id, items[..15].to_vec()).await;
    assert_status(&again, 200);
    for (before, after) in results[..15]
        .iter()
        .zip(again.body["results"].as_array().unwrap())
    {
        assert_eq!(after["replayed"], true);
        assert_eq!(after["outcome"], before["outcome"]);
        assert_eq!(after["order_id"], before["order_id"]);
    }

    // Seats: the 10 sold online, 18 sold offline, none sold twice.
    let accepted = results
        .iter()
        .filter(|result| result["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 18);
    let sold = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM seats WHERE tenant_id = $1 AND zone_id = $2 AND status = 'sold'",
            &[shop.tenant.tenant_id.into(), shop.zone_id.into()],
        )
        .await;
    assert_eq!(sold, 28);
    let tickets = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND zone_id = $2",
            &[shop.tenant.tenant_id.into(), shop.zone_id.into()],
        )
        .await;
    assert_eq!(tickets, 28);
    let double_sold = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM (SELECT seat_id FROM tickets WHERE tenant_id = $1 AND seat_id IS NOT NULL \
             GROUP BY seat_id HAVING COUNT(*) > 1) AS twice",
            &[shop.tenant.tenant_id.into()],
        )
        .await;
    assert_eq!(double_sold, 0);

    // While the block is open its unsynced numbers are reserved, not gaps,
    // and the cashier cannot close the day.
    verify_ok(&app, admin).await;
    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_error(&z, 409, "offline_block_open");

    // Past its validity the job voids the 20 unused numbers.
    app.advance(Duration::hours(8));
    sweep_once(&app.state).await.expect("sweeper round");
    let admin = &app.access_token("terminal-admin").await;
    let cashier = &app.access_token("terminal-cajero").await;
    let closed = app
        .get(&format!("/api/v1/offline/blocks/{block_id}"))
        .token(cashier)
        .send()
        .await;
    assert_status(&closed, 200);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["close_reason"], "block_expired");
    assert_eq!(closed.body["accepted"], 18);
    assert_eq!(closed.body["rejected"], 11);
    assert_eq!(closed.body["voided"], 21);
    assert_eq!(closed.body["unresolved"], 0);
    let expired_reasons = app
        .db
        .column_string(
            "SELECT reason FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2 AND number > 30 ORDER BY number",
            &[shop.tenant.tenant_id.into(), block_id.into()],
        )
        .await;
    assert_eq!(expired_reasons, vec!["block_expired".to_string(); 20]);
    assert_eq!(
        series_numbers(&app, shop.tenant.tenant_id, "OFF").await,
        (1..=50).collect::<Vec<i64>>()
    );
    verify_ok(&app, admin).await;

    // A sale of number 31 sent after the expiry finds its number voided.
    let late = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(
            31,
            issued_at + Duration::hours(1),
            &shop,
            seats[35],
            total,
        )],
    )
    .await;
    assert_status(&late, 200);
    assert_eq!(late.body["results"][0]["outcome"], "voided");
    assert_eq!(late.body["results"][0]["reason"], "block_expired");

    // The next block continues the series after the voided numbers.
    let next = take_block(
        &app,
        cashier,
        json!({ "series": "OFF", "terminal": "Taquilla 3", "size": 5 }),
    )
    .await;
    assert_status(&next, 201);
    assert_eq!(next.body["first_number"], 51);
    assert_eq!(next.body["last_number"], 55);
    app.teardown().await;
}

/// Out-of-order numbers, reused numbers, numbers outside the block, other
/// cashiers and tenants, online orders in an offline series, and closing.
async fn sync_keeps_order_and_rejects_misuse(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "orden").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    offline_series(&app, admin, "OFF").await;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[39..40]).await;

    // Only offline series hand out blocks, and they number no online sale.
    let wrong = take_block(&app, cashier, json!({ "series": "A", "terminal": "T1" })).await;
    assert_eq!(wrong.status, 422, "{:?}", wrong.body);
    let bad_size = take_block(
        &app,
        cashier,
        json!({ "series": "OFF", "terminal": "T1", "size": 0, "valid_hours": 100 }),
    )
    .await;
    assert_eq!(bad_size.status, 422);
    let hold = app.hold_seats(cashier, shop.zone_id, &[seats[38]]).await;
    let online = app
        .post("/api/v1/orders")
        .token(cashier)
        .json(json!({ "hold_id": hold.id("id"), "customer_id": shop.customer_id, "series": "OFF" }))
        .send()
        .await;
    assert_eq!(online.status, 422, "{:?}", online.body);

    let block = take_block(
        &app,
        cashier,
        json!({ "series": "OFF", "terminal": "T1", "size": 10 }),
    )
    .await;
    assert_status(&block, 201);
    let block_id = block.id("id");
    let now = app.now();

    // Numbers must rise within a batch, and stay inside the block.
    let falling = sync(
        &app,
        cashier,
        block_id,
        vec![
            sale_item(3, now, &shop, seats[3], total),
            sale_item(2, now, &shop, seats[2], total),
        ],
    )
    .await;
    assert_eq!(falling.status, 422);
    // A field no sale has is rejected, not dropped, at any depth.
    let mut courtesy = sale_item(1, now, &shop, seats[1], total);
    courtesy["courtesy"] = json!(true);
    courtesy["payments"][0]["tip_cents"] = json!(50);
    let made_up = sync(&app, cashier, block_id, vec![courtesy]).await;
    assert_error(&made_up, 422, "validation_failed");
    let fields: Vec<&str> = made_up.body["error"]["details"]["errors"]
        .as_array()
        .expect("details.errors")
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["sales[0].courtesy", "sales[0].payments[0].tip_cents"],
        "{}",
        made_up.text
    );
    let outside = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(11, now, &shop, seats[11], total)],
    )
    .await;
    assert_status(&outside, 200);
    assert_eq!(outside.body["error"]["code"], "number_outside_block");
    assert_eq!(outside.body["results"], json!([]));

    // An unknown customer stops the sync without settling the number, so the
    // sale can be sent again once the customer is registered.
    let mut unknown_customer = sale_item(3, now, &shop, seats[3], total);
    unknown_customer["customer_id"] = json!(Uuid::now_v7());
    let stopped = sync(&app, cashier, block_id, vec![unknown_customer]).await;
    assert_status(&stopped, 200);
    assert_eq!(stopped.body["error"]["code"], "not_found");
    assert_eq!(stopped.body["error"]["number"], 3);
    assert_eq!(stopped.body["block"]["unresolved"], 10);

    // Number 3 first: number 1, sent later, would change the terminal's order.
    let third = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(3, now, &shop, seats[3], total)],
    )
    .await;
    assert_eq!(third.body["results"][0]["outcome"], "accepted");
    let first = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(1, now, &shop, seats[1], total)],
    )
    .await;
    assert_eq!(first.body["results"][0]["outcome"], "rejected");
    assert_eq!(first.body["results"][0]["reason"], "out_of_order");

    // The same number with another sale is refused, and stops the batch.
    let reused = sync(
        &app,
        cashier,
        block_id,
        vec![
            sale_item(3, now, &shop, seats[4], total),
            sale_item(4, now, &shop, seats[5], total),
        ],
    )
    .await;
    assert_status(&reused, 200);
    assert_eq!(reused.body["error"]["code"], "offline_number_reused");
    assert_eq!(reused.body["results"], json!([]));
    // The same sale with its keys reordered and its time in Caracas' offset is a replay.
    let caracas = chrono::FixedOffset::west_opt(4 * 3600).unwrap();
    let mut same_sale = serde_json::Map::new();
    let original = sale_item(3, now, &shop, seats[3], total);
    for (key, value) in original.as_object().unwrap().iter().rev() {
        same_sale.insert(key.clone(), value.clone());
    }
    let sold_at: DateTime<Utc> = rfc3339(now).parse().unwrap();
    same_sale.insert(
        "sold_at".to_string(),
        json!(
            sold_at
                .with_timezone(&caracas)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        ),
    );
    let replayed = sync(&app, cashier, block_id, vec![Value::Object(same_sale)]).await;
    assert_status(&replayed, 200);
    assert_eq!(replayed.body["error"], Value::Null, "{:?}", replayed.body);
    assert_eq!(replayed.body["results"][0]["replayed"], true);
    assert_eq!(replayed.body["results"][0]["outcome"], "accepted");

    // Items that do not parse name the missing field, and a terminal cannot
    // void a number with a reason the server records.
    let missing = sync(
        &app,
        cashier,
        block_id,
        vec![json!({ "number": 4, "void": "cancelled_at_terminal" })],
    )
    .await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body["error"]["details"]["errors"][0]["field"],
        "sales[0].sold_at"
    );
    let posing = sync(
        &app,
        cashier,
        block_id,
        vec![json!({ "number": 4, "sold_at": rfc3339(now), "void": "block_expired" })],
    )
    .await;
    assert_eq!(posing.status, 422);
    assert_eq!(
        posing.body["error"]["details"]["errors"][0]["rule"],
        "reason_reserved"
    );

    // A terminal clock far off is a rejection, not a silent sale.
    let skewed = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(
            4,
            now - Duration::days(2),
            &shop,
            seats[5],
            total,
        )],
    )
    .await;
    assert_eq!(skewed.body["results"][0]["reason"], "sold_at_out_of_range");

    // Invoices of a block follow each other in time: a sale dated before
    // the last accepted one is rejected.
    let earlier = sync(
        &app,
        cashier,
        block_id,
        vec![sale_item(
            5,
            now - Duration::minutes(1),
            &shop,
            seats[6],
            total,
        )],
    )
    .await;
    assert_eq!(
        earlier.body["results"][0]["reason"],
        "sold_at_before_previous"
    );

    // Another cashier of the tenant may not sync this block; another tenant
    // does not see it.
    app.create_user(
        Some(shop.tenant.tenant_id),
        "orden-cajero-2",
        taquilla_store::model::Role::Cashier,
    )
    .await;
    let other_token = app.access_token("orden-cajero-2").await;
    let forbidden = sync(
        &app,
        &other_token,
        block_id,
        vec![sale_item(6, now, &shop, seats[7], total)],
    )
    .await;
    assert_error(&forbidden, 403, "forbidden");
    let stranger = app.setup_tenant("ajeno", "J-00124134-5").await;
    let hidden = app
        .get(&format!("/api/v1/offline/blocks/{block_id}"))
        .token(&stranger.admin_token)
        .send()
        .await;
    assert_eq!(hidden.status, 404);

    // Closing voids what is left; the day can then be closed.
    let closed = app
        .post(&format!("/api/v1/offline/blocks/{block_id}/close"))
        .token(cashier)
        .send()
        .await;
    assert_status(&closed, 200);
    assert_eq!(closed.body["accepted"], 1);
    assert_eq!(closed.body["rejected"], 3);
    assert_eq!(closed.body["voided"], 6);
    assert_eq!(closed.body["close_reason"], "block_closed");
    let twice = app
        .post(&format!("/api/v1/offline/blocks/{block_id}/close"))
        .token(cashier)
        .send()
        .await;
    assert_error(&twice, 409, "offline_block_closed");
    assert_eq!(
        series_numbers(&app, shop.tenant.tenant_id, "OFF").await,
        (1..=10).collect::<Vec<i64>>()
    );
    verify_ok(&app, admin).await;
    let z = app
        .post("/api/v1/fiscal/reports/z")
        .token(cashier)
        .json(json!({}))
        .send()
        .await;
    assert_status(&z, 201);
    app.teardown().await;
}

/// Two syncs race for one number with different sales: one settles it, and
/// the other learns the number is taken instead of getting the other's result.
async fn concurrent_syncs_of_one_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "carrera").await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    offline_series(&app, admin, "OFF").await;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[39..40]).await;
    // Seat 39 is sold online, so a sale of it is rejected.
    let hold = app.hold_seats(cashier, shop.zone_id, &[seats[39]]).await;
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    let paid = app.pay(cashier, order.id("id"), cash_ves(total)).await;
    assert_status(&paid, 201);

    let block = take_block(
        &app,
        cashier,
        json!({ "series": "OFF", "terminal": "T9", "size": 12 }),
    )
    .await;
    assert_status(&block, 201);
    let block_id = block.id("id");
    let now = app.now();
    for trial in 0..12 {
        let number = trial + 1;
        let mut taken = sale_item(number, now, &shop, seats[39], total);
        taken["local_id"] = json!(format!("X{number}"));
        let mut free = sale_item(number, now, &shop, seats[trial as usize], total);
        free["local_id"] = json!(format!("Y{number}"));
        let (first, second) = futures::join!(
            sync(&app, cashier, block_id, vec![taken]),
            sync(&app, cashier, block_id, vec![free]),
        );
        for (response, own) in [
            (&first, format!("X{number}")),
            (&second, format!("Y{number}")),
        ] {
            assert_status(response, 200);
            if response.body["error"].is_null() {
                let result = &response.body["results"][0];
                assert_eq!(result["local_id"], own, "{result}");
            } else {
                assert_eq!(response.body["error"]["code"], "offline_number_reused");
            }
        }
    }
    verify_ok(&app, admin).await;
    app.teardown().await;
}

/// Checks that of a Z report and a new offline block sent at the same moment,
/// exactly one succeeds: the Z closes the day and the block is rejected, or
/// the block opens and the Z is rejected until the block is synced.
async fn z_report_races_block(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "cierre-bloque").await;
    let admin = &shop.tenant.admin_token;
    offline_series(&app, admin, "OFF").await;
    for trial in 0..8 {
        let username = format!("cierre-cajero-{trial}");
        app.create_user(Some(shop.tenant.tenant_id), &username, Role::Cashier)
            .await;
        let cashier = &app.access_token(&username).await;
        let (z, block) = futures::join!(
            app.post("/api/v1/fiscal/reports/z")
                .token(cashier)
                .json(json!({}))
                .send(),
            take_block(
                &app,
                cashier,
                json!({ "series": "OFF", "terminal": format!("T{trial}"), "size": 5 }),
            ),
        );
        match (z.status.as_u16(), block.status.as_u16()) {
            (201, _) => assert_error(&block, 409, "fiscal_day_closed"),
            (_, 201) => assert_error(&z, 409, "offline_block_open"),
            _ => panic!(
                "neither the Z report nor the block succeeded: {} / {}",
                z.text, block.text
            ),
        }
    }
    verify_ok(&app, admin).await;
    app.teardown().await;
}
