//! Pricing end to end: tax rules and IVA, IGTF on foreign-currency payments,
//! price stages ending by quantity (also under concurrent sales), row and seat
//! pricing, whole-table sales, courtesies and discount codes.
//!
//! Unless a scenario registers another rate, the rate is 36.12345678 Bs./USD.
//! Bs. amounts in the comments are in céntimos, rounded half away from zero.

use chrono::Duration;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Param, RequestBuilder, Shop, TestApp, ZoneSpec, assert_error,
    assert_status, cash_usd, cash_ves, fiscal_document, pago_movil, rfc3339, spawn_app, uuid_of,
};

backend_tests!(
    iva_ticket_paid_in_bolivares,
    half_paid_in_usd_cash_with_igtf,
    early_bird_ends_by_quantity_mid_window,
    row_markup_on_top_of_stage,
    complete_table_only,
    concurrent_purchases_across_stage_boundary,
    courtesy_and_discount_code,
    tax_rules_history_and_municipal_tax,
    stage_validation_errors,
    invoice_keeps_igtf_rate_charged,
    stage_ended_by_hand
);

/// Maximum attempts of one request that keeps getting 503 `service_busy`.
const MAX_BUSY_ATTEMPTS: usize = 100;

fn general_admission(capacity: i64, price_usd_cents: i64) -> ZoneSpec {
    ZoneSpec::GeneralAdmission {
        capacity,
        price_usd_cents,
    }
}

fn percent(basis_points: i64) -> Value {
    json!({ "kind": "percent", "basis_points": basis_points })
}

/// Body of a bank transfer in bolívares.
fn transfer_ves(amount_cents: i64, reference: &str) -> Value {
    json!({
        "method": "transfer",
        "currency": "VES",
        "amount_cents": amount_cents,
        "bank_code": "0134",
        "reference": reference,
    })
}

async fn create_stage(app: &TestApp, token: &str, event_id: Uuid, body: Value) -> ApiResponse {
    app.post(&format!("/api/v1/events/{event_id}/stages"))
        .token(token)
        .json(body)
        .send()
        .await
}

async fn update_zone_pricing(
    app: &TestApp,
    token: &str,
    zone_id: Uuid,
    body: Value,
) -> ApiResponse {
    app.request(Method::PATCH, &format!("/api/v1/zones/{zone_id}/pricing"))
        .token(token)
        .json(body)
        .send()
        .await
}

/// Holds `quantity` general-admission units and creates an order for them.
async fn order_units(app: &TestApp, shop: &Shop, token: &str, quantity: i64) -> ApiResponse {
    let hold = app.hold_quantity(token, shop.zone_id, quantity).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(token, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    order
}

/// Returns the tax rules in force, and with `include_ended` the ended ones too.
async fn tax_rules(app: &TestApp, token: &str, include_ended: bool) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/tax-rules?include_ended={include_ended}"))
        .token(token)
        .send()
        .await;
    assert_status(&response, 200);
    response.body["items"].as_array().expect("items").clone()
}

/// Sends the request that `build` returns, resending it while the response
/// is 503 `service_busy`, and returns the first other response.
async fn send_retrying_busy<'a>(build: impl Fn() -> RequestBuilder<'a>) -> ApiResponse {
    for _ in 0..MAX_BUSY_ATTEMPTS {
        let response = build().send().await;
        if response.status.as_u16() != 503 {
            return response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the request still got 503 after {MAX_BUSY_ATTEMPTS} attempts");
}

/// Sells one GA ticket of US$25.00 with 16 % IVA, paid in full by transfer.
/// Line 25.00 × 36.12345678 = 903.0864195 → 903.09 Bs., IVA 16 % of 903.09
/// = 144.4944 → 144.49 Bs., total 1,047.58 Bs. and US$29.00.
async fn iva_ticket_paid_in_bolivares(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "iva",
            "J-12345678-4",
            general_admission(10, 2_500),
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;

    // A new tenant starts with one rule in force: IVA, 16 %, tenant-wide.
    let rules = tax_rules(&app, &shop.tenant.admin_token, false).await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["name"], "IVA");
    assert_eq!(rules[0]["scope"], "tenant");
    assert_eq!(rules[0]["category"], "iva");
    assert_eq!(rules[0]["kind"]["kind"], "percentage");
    assert_eq!(rules[0]["kind"]["basis_points"], 1_600);
    assert!(rules[0]["ended_at"].is_null());
    let iva_rule_id = uuid_of(&rules[0]["id"]);

    let order = order_units(&app, &shop, cashier, 1).await;
    let order_id = order.id("id");
    let line = &order.body["lines"][0];
    assert_eq!(line["quantity"], 1);
    assert_eq!(line["unit_price_usd_cents"], 2_500);
    assert_eq!(line["total_usd_cents"], 2_500);
    assert_eq!(line["total_bs_cents"], 90_309);
    assert_eq!(line["tax_basis_points"], 1_600);
    assert_eq!(line["exempt"], false);
    assert_eq!(line["tax_rules"], json!([iva_rule_id.to_string()]));
    assert_eq!(order.body["subtotal_bs_cents"], 90_309);
    assert_eq!(order.body["tax_bs_cents"], 14_449);
    assert_eq!(order.body["total_bs_cents"], 104_758);
    assert_eq!(order.body["subtotal_usd_cents"], 2_500);
    assert_eq!(order.body["tax_usd_cents"], 400);
    assert_eq!(order.body["total_usd_cents"], 2_900);
    let taxes = order.body["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 1);
    assert_eq!(taxes[0]["key"], iva_rule_id.to_string());
    assert_eq!(taxes[0]["name"], "IVA");
    assert_eq!(taxes[0]["rate_basis_points"], 1_600);
    assert_eq!(taxes[0]["base_bs_cents"], 90_309);
    assert_eq!(taxes[0]["tax_bs_cents"], 14_449);

    // The whole 1,047.58 Bs. by transfer completes the order.
    let payment = app
        .pay(cashier, order_id, transfer_ves(104_758, "TRF-000981"))
        .await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["payment"]["method"], "transfer");
    assert_eq!(payment.body["payment"]["currency"], "VES");
    assert_eq!(payment.body["payment"]["amount_bs_cents"], 104_758);
    assert_eq!(payment.body["payment"]["applied_bs_cents"], 104_758);
    assert_eq!(payment.body["payment"]["igtf_cents"], 0);
    let paid = &payment.body["order"];
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_bs_cents"], 104_758);
    assert_eq!(paid["balance_bs_cents"], 0);
    assert_eq!(paid["rounding_bs_cents"], 0);
    assert_eq!(paid["igtf_usd_cents"], 0);

    let invoice = fiscal_document(&app, cashier, uuid_of(&paid["invoice"]["id"])).await;
    assert_eq!(invoice["kind"], "invoice");
    assert_eq!(invoice["total_bs_cents"], 104_758);
    assert_eq!(invoice["total_usd_cents"], 2_900);
    let content = &invoice["content"];
    assert_eq!(content["lines"][0]["total_bs_cents"], 90_309);
    assert_eq!(content["lines"][0]["exempt"], false);
    assert_eq!(content["subtotal_bs_cents"], 90_309);
    assert_eq!(content["tax_bs_cents"], 14_449);
    assert_eq!(content["total_bs_cents"], 104_758);
    assert_eq!(content["exempt_bs_cents"], 0);
    assert!(content["igtf"].is_null());
    let invoice_taxes = content["taxes"].as_array().unwrap();
    assert_eq!(invoice_taxes.len(), 1);
    assert_eq!(invoice_taxes[0]["name"], "IVA");
    assert_eq!(invoice_taxes[0]["key"], iva_rule_id.to_string());
    assert_eq!(invoice_taxes[0]["category"], "iva");
    assert_eq!(invoice_taxes[0]["kind"], "percentage");
    assert_eq!(invoice_taxes[0]["rate_basis_points"], 1_600);
    assert_eq!(invoice_taxes[0]["base_bs_cents"], 90_309);
    assert_eq!(invoice_taxes[0]["tax_bs_cents"], 14_449);
    assert_eq!(invoice_taxes[0]["base_usd_cents"], 2_500);
    assert_eq!(invoice_taxes[0]["tax_usd_cents"], 400);

    app.teardown().await;
}

/// Charges IGTF of 3 % on USD cash. At 40 Bs./USD a US$20.00 ticket with
/// 16 % IVA is US$23.20, which is 800.00 Bs. + 128.00 Bs. IVA = 928.00 Bs.
async fn half_paid_in_usd_cash_with_igtf(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "igtf",
            "J-00124134-5",
            general_admission(10, 2_000),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    // Replaces the test rate for today.
    app.create_exchange_rate(admin, "40.00").await;

    // IGTF is off until the tenant turns it on.
    let defaults = app.get("/api/v1/settings/igtf").token(admin).send().await;
    assert_status(&defaults, 200);
    assert_eq!(defaults.body["enabled"], false);
    let settings = app
        .request(Method::PUT, "/api/v1/settings/igtf")
        .token(admin)
        .json(json!({ "enabled": true, "basis_points": 300, "methods": ["cash"] }))
        .send()
        .await;
    assert_status(&settings, 200);
    assert_eq!(settings.body["enabled"], true);
    assert_eq!(settings.body["basis_points"], 300);
    assert_eq!(settings.body["methods"], json!(["cash"]));
    let stored = app.get("/api/v1/settings/igtf").token(cashier).send().await;
    assert_status(&stored, 200);
    assert_eq!(stored.body, settings.body);

    let order = order_units(&app, &shop, cashier, 1).await;
    let order_id = order.id("id");
    assert_eq!(
        order.body["exchange_rate"]["rate_scaled"],
        4_000_000_000_i64
    );
    assert_eq!(order.body["total_usd_cents"], 2_320);
    assert_eq!(order.body["subtotal_bs_cents"], 80_000);
    assert_eq!(order.body["tax_bs_cents"], 12_800);
    assert_eq!(order.body["total_bs_cents"], 92_800);

    // US$10.30 in cash: US$10.00 pays the order (400.00 Bs.) and US$0.30 is
    // IGTF (3 % of 10.00), which is 12.00 Bs. at 40. 928.00 - 400.00 = 528.00 Bs. left.
    let first = app.pay(cashier, order_id, cash_usd(1_030)).await;
    assert_status(&first, 201);
    let payment = &first.body["payment"];
    assert_eq!(payment["amount_cents"], 1_030);
    assert_eq!(payment["igtf_base_cents"], 1_000);
    assert_eq!(payment["igtf_cents"], 30);
    assert_eq!(payment["igtf_bs_cents"], 1_200);
    assert_eq!(payment["amount_bs_cents"], 40_000);
    assert_eq!(payment["applied_bs_cents"], 40_000);
    assert_eq!(payment["change_cents"], 0);
    let pending = &first.body["order"];
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["paid_bs_cents"], 40_000);
    assert_eq!(pending["balance_bs_cents"], 52_800);
    // 528.00 / 40 = US$13.20 exactly.
    assert_eq!(pending["balance_usd_cents"], 1_320);
    assert_eq!(pending["igtf_usd_cents"], 30);
    assert_eq!(pending["igtf_bs_cents"], 1_200);

    // The 528.00 Bs. balance by Pago Móvil pays no IGTF and completes the order.
    let second = app
        .pay(cashier, order_id, pago_movil(52_800, "778899"))
        .await;
    assert_status(&second, 201);
    assert_eq!(second.body["payment"]["igtf_cents"], 0);
    assert_eq!(second.body["payment"]["applied_bs_cents"], 52_800);
    let paid = &second.body["order"];
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_bs_cents"], 92_800);
    assert_eq!(paid["balance_bs_cents"], 0);
    assert_eq!(paid["rounding_bs_cents"], 0);
    assert_eq!(paid["total_bs_cents"], 92_800);
    assert_eq!(paid["igtf_usd_cents"], 30);
    assert_eq!(paid["igtf_bs_cents"], 1_200);

    // The invoice shows IGTF apart: 928.00 Bs. of sale plus 12.00 Bs. of IGTF.
    let invoice = fiscal_document(&app, cashier, uuid_of(&paid["invoice"]["id"])).await;
    assert_eq!(invoice["total_bs_cents"], 92_800);
    let content = &invoice["content"];
    assert_eq!(content["subtotal_bs_cents"], 80_000);
    assert_eq!(content["tax_bs_cents"], 12_800);
    assert_eq!(content["total_bs_cents"], 92_800);
    assert_eq!(content["igtf"]["rate_basis_points"], 300);
    assert_eq!(content["igtf"]["base_usd_cents"], 1_000);
    assert_eq!(content["igtf"]["igtf_usd_cents"], 30);
    assert_eq!(content["igtf"]["igtf_bs_cents"], 1_200);
    // 92,800 + 1,200 = 94,000 Bs. céntimos, and US$23.20 + 0.30 = 23.50.
    assert_eq!(content["total_with_igtf_bs_cents"], 94_000);
    assert_eq!(content["total_with_igtf_usd_cents"], 2_350);
    assert_eq!(content["payments"][0]["igtf_cents"], 30);
    assert_eq!(content["payments"][1]["igtf_cents"], 0);
    // IGTF never enters the IVA figures.
    assert_eq!(content["taxes"].as_array().unwrap().len(), 1);
    assert_eq!(content["taxes"][0]["base_bs_cents"], 80_000);
    assert_eq!(content["taxes"][0]["tax_bs_cents"], 12_800);

    // Card is not a listed method: US$23.20 by card pays no IGTF.
    let order = order_units(&app, &shop, cashier, 1).await;
    let card = app
        .pay(
            cashier,
            order.id("id"),
            json!({ "method": "card", "currency": "USD", "amount_cents": 2_320, "reference": "TERM-7-000042" }),
        )
        .await;
    assert_status(&card, 201);
    assert_eq!(card.body["payment"]["igtf_base_cents"], 0);
    assert_eq!(card.body["payment"]["igtf_cents"], 0);
    assert_eq!(card.body["payment"]["igtf_bs_cents"], 0);
    assert_eq!(card.body["payment"]["applied_bs_cents"], 92_800);
    assert_eq!(card.body["order"]["status"], "paid");
    assert_eq!(card.body["order"]["igtf_usd_cents"], 0);
    assert_eq!(card.body["order"]["igtf_bs_cents"], 0);
    let card_invoice =
        fiscal_document(&app, cashier, uuid_of(&card.body["order"]["invoice"]["id"])).await;
    assert!(card_invoice["content"]["igtf"].is_null());
    assert_eq!(card_invoice["content"]["total_with_igtf_bs_cents"], 92_800);

    app.teardown().await;
}

/// Ends "Preventa" (20 % off US$25.00, so US$20.00, for 2 units) by quantity
/// while its window stays open 5 more days. "General" (0 %) follows at once,
/// before its own start date.
async fn early_bird_ends_by_quantity_mid_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "preventa",
            "G-20009997-6",
            general_admission(20, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let now = app.now();
    let window_end = now + Duration::days(5);

    let early = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({
            "name": "Preventa",
            "modifier": percent(-2_000),
            "starts_at": rfc3339(now - Duration::hours(1)),
            "ends_at": rfc3339(window_end),
            "quantity_limit": 2,
        }),
    )
    .await;
    assert_status(&early, 201);
    assert_eq!(early.body["position"], 1);
    assert_eq!(early.body["status"], "current");
    assert_eq!(early.body["units_left"], 2);
    assert!(early.body["zone_id"].is_null());
    let early_id = early.id("id");
    let general = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "General", "modifier": percent(0), "starts_at": rfc3339(window_end) }),
    )
    .await;
    assert_status(&general, 201);
    assert_eq!(general.body["position"], 2);
    assert_eq!(general.body["status"], "upcoming");
    let general_id = general.id("id");

    // Before any sale Preventa prices the zone: 25.00 - 20 % = 20.00.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["price_usd_cents"], 2_000);
    assert_eq!(availability.body["stage"]["name"], "Preventa");
    let current = app
        .get(&format!("/api/v1/events/{}/stages/current", shop.event_id))
        .token(cashier)
        .send()
        .await;
    assert_status(&current, 200);
    let zone_stage = &current.body[0];
    assert_eq!(uuid_of(&zone_stage["zone_id"]), shop.zone_id);
    assert_eq!(zone_stage["base_price_usd_cents"], 2_500);
    assert_eq!(uuid_of(&zone_stage["current"]["id"]), early_id);
    assert_eq!(zone_stage["current"]["status"], "current");
    assert_eq!(uuid_of(&zone_stage["next"]["id"]), general_id);
    assert_eq!(zone_stage["finished"], false);
    // The window closes in 5 days (432,000 s), less the few seconds the test has run.
    let seconds_left = zone_stage["seconds_left"].as_i64().unwrap();
    assert!(
        (431_000..=432_000).contains(&seconds_left),
        "seconds_left {seconds_left}"
    );

    // One unit at US$20.00: 200.00 × 36.12345678 → 722.47 Bs.
    let first = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 1 }))
        .await;
    let first_lines = first["lines"].as_array().unwrap();
    assert_eq!(first_lines.len(), 1);
    assert_eq!(first_lines[0]["unit_price_usd_cents"], 2_000);
    assert_eq!(first_lines[0]["total_bs_cents"], 72_247);
    assert_eq!(uuid_of(&first_lines[0]["stage_id"]), early_id);

    // A hold of 2 in one order: 1 × 2000 (the last Preventa unit) and
    // 1 × 2500 (General). Bs.: 722.47 + 903.09 = 1,625.56, IVA 16 % = 260.0896
    // → 260.09, total 1,885.65. USD: 45.00 + 7.20 = 52.20.
    let order = order_units(&app, &shop, cashier, 2).await;
    let lines = order.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "body: {}", order.text);
    assert_eq!(lines[0]["quantity"], 1);
    assert_eq!(lines[0]["unit_price_usd_cents"], 2_000);
    assert_eq!(uuid_of(&lines[0]["stage_id"]), early_id);
    assert_eq!(lines[0]["price"]["after_stage_usd_cents"], 2_000);
    assert_eq!(lines[0]["total_bs_cents"], 72_247);
    assert_eq!(lines[1]["quantity"], 1);
    assert_eq!(lines[1]["unit_price_usd_cents"], 2_500);
    assert_eq!(uuid_of(&lines[1]["stage_id"]), general_id);
    assert_eq!(lines[1]["price"]["stage_modifier"], percent(0));
    assert_eq!(lines[1]["total_bs_cents"], 90_309);
    assert_eq!(order.body["subtotal_bs_cents"], 162_556);
    assert_eq!(order.body["tax_bs_cents"], 26_009);
    assert_eq!(order.body["total_bs_cents"], 188_565);
    assert_eq!(order.body["total_usd_cents"], 5_220);

    // General is current although its start date is 5 days away.
    let current = app
        .get(&format!("/api/v1/events/{}/stages/current", shop.event_id))
        .token(cashier)
        .send()
        .await;
    assert_status(&current, 200);
    let zone_stage = &current.body[0];
    assert_eq!(uuid_of(&zone_stage["current"]["id"]), general_id);
    assert_eq!(zone_stage["current"]["name"], "General");
    assert_eq!(zone_stage["current"]["status"], "current");
    assert!(zone_stage["next"].is_null());
    assert_eq!(zone_stage["finished"], false);
    assert!(zone_stage["seconds_left"].is_null());

    let stages = app
        .get(&format!("/api/v1/events/{}/stages", shop.event_id))
        .token(cashier)
        .send()
        .await;
    assert_status(&stages, 200);
    assert_eq!(stages.body["items"][0]["name"], "Preventa");
    assert_eq!(stages.body["items"][0]["status"], "ended");
    assert_eq!(stages.body["items"][0]["units_sold"], 2);
    assert_eq!(stages.body["items"][0]["units_left"], 0);
    assert!(stages.body["items"][0]["ended_at"].is_string());
    assert_eq!(stages.body["items"][1]["status"], "current");

    let transitions = app
        .get(&format!(
            "/api/v1/events/{}/stages/transitions",
            shop.event_id
        ))
        .token(cashier)
        .send()
        .await;
    assert_status(&transitions, 200);
    let transitions = transitions.body["items"].as_array().unwrap();
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0]["trigger"], "quantity_reached");
    assert_eq!(transitions[0]["units_sold"], 2);
    assert_eq!(uuid_of(&transitions[0]["stage_id"]), early_id);
    assert!(transitions[0]["zone_id"].is_null());

    // The availability quote follows: General, 25.00.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["price_usd_cents"], 2_500);
    assert_eq!(availability.body["stage"]["name"], "General");

    // The transition is counted once, with its trigger. An event-wide stage has no zone.
    let metrics = app.get("/metrics").send().await;
    assert_status(&metrics, 200);
    let counted = format!(
        "venezuelan_pos_stage_transitions_total{{event_id=\"{}\",tenant_id=\"{}\",trigger=\"quantity_reached\",zone_id=\"\"}} 1",
        shop.event_id, shop.tenant.tenant_id
    );
    assert!(
        metrics.text.lines().any(|line| line == counted),
        "no line `{counted}` in:\n{}",
        metrics.text
    );

    app.teardown().await;
}

/// Prices a numbered zone of 3 rows × 4 seats at US$20.00 with a -10 % stage
/// (18.00), a zone row markup of +10 %, row A at +25 % and seat C3 at +1.50.
/// Row A is 18.00 + 25 % = 22.50, rows B and C 18.00 + 10 % = 19.80, C3 21.30.
async fn row_markup_on_top_of_stage(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "filas",
            "J-12345678-4",
            ZoneSpec::Numbered {
                rows: vec![4, 4, 4],
                price_usd_cents: 2_000,
            },
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let stage = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "Lanzamiento", "modifier": percent(-1_000) }),
    )
    .await;
    assert_status(&stage, 201);
    assert_eq!(stage.body["status"], "current");

    let seat_ids = app.seat_ids(cashier, shop.zone_id).await;
    assert_eq!(seat_ids.len(), 12);
    // Seats are in row and number order: A1..A4, B1..B4, C1..C4.
    let seat_c3 = seat_ids[10];
    let pricing = update_zone_pricing(
        &app,
        admin,
        shop.zone_id,
        json!({
            "row_markup_basis_points": 1_000,
            "rows": [{ "row": "A", "basis_points": 2_500 }],
            "seats": [{ "seat_id": seat_c3, "usd_cents": 150 }],
        }),
    )
    .await;
    assert_status(&pricing, 200);
    assert_eq!(pricing.body["row_markup_basis_points"], 1_000);
    assert_eq!(pricing.body["table_mode"], "by_seat");
    assert_eq!(pricing.body["tax_exempt"], false);

    let availability = app.availability(cashier, shop.zone_id).await;
    // The zone's quote is base and stage only: 20.00 - 10 % = 18.00.
    assert_eq!(availability.body["price_usd_cents"], 1_800);
    assert_eq!(availability.body["stage"]["name"], "Lanzamiento");
    let seats = availability.body["seats"].as_array().unwrap().clone();
    for seat in &seats[0..4] {
        assert_eq!(seat["row"], "A");
        assert_eq!(seat["price_usd_cents"], 2_250, "seat {seat}");
    }
    for seat in &seats[4..8] {
        assert_eq!(seat["row"], "B");
        assert_eq!(seat["price_usd_cents"], 1_980, "seat {seat}");
    }
    assert_eq!(seats[8]["price_usd_cents"], 1_980);
    assert_eq!(seats[9]["price_usd_cents"], 1_980);
    assert_eq!(seats[10]["row"], "C");
    assert_eq!(seats[10]["number"], 3);
    assert_eq!(seats[10]["price_usd_cents"], 2_130);
    assert_eq!(seats[11]["price_usd_cents"], 1_980);
    let quoted: std::collections::HashMap<Uuid, i64> = seats
        .iter()
        .map(|seat| {
            (
                uuid_of(&seat["id"]),
                seat["price_usd_cents"].as_i64().unwrap(),
            )
        })
        .collect();

    // An order for A1, B1 and C3 charges exactly the quoted prices.
    // Bs.: 812.78 + 715.24 + 769.43 = 2,297.45, IVA 16 % = 367.592 → 367.59,
    // total 2,665.04. USD: 22.50 + 19.80 + 21.30 = 63.60.
    let chosen = [seat_ids[0], seat_ids[4], seat_c3];
    let hold = app.hold_seats(cashier, shop.zone_id, &chosen).await;
    assert_status(&hold, 201);
    // The hold quotes the same prices: 22.50 + 19.80 + 21.30 = 63.60.
    for seat in hold.body["seats"].as_array().unwrap() {
        assert_eq!(
            seat["price_usd_cents"],
            quoted[&uuid_of(&seat["id"])],
            "hold seat {seat}"
        );
    }
    assert_eq!(hold.body["quoted_subtotal_usd_cents"], 6_360);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let lines = order.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let seat_id = uuid_of(&line["seat_id"]);
        assert_eq!(
            line["unit_price_usd_cents"], quoted[&seat_id],
            "line {line}"
        );
        assert_eq!(line["price"]["unit_price_usd_cents"], quoted[&seat_id]);
        assert_eq!(line["price"]["base_usd_cents"], 2_000);
        assert_eq!(line["price"]["stage_modifier"], percent(-1_000));
        assert_eq!(line["price"]["after_stage_usd_cents"], 1_800);
        assert!(line["price"]["discount"].is_null());
    }
    let row_a = &lines[0]["price"];
    assert_eq!(row_a["row_markup_basis_points"], 2_500);
    assert_eq!(row_a["after_row_usd_cents"], 2_250);
    assert_eq!(row_a["seat_modifier_usd_cents"], 0);
    assert_eq!(row_a["after_seat_usd_cents"], 2_250);
    let row_b = &lines[1]["price"];
    assert_eq!(row_b["row_markup_basis_points"], 1_000);
    assert_eq!(row_b["after_row_usd_cents"], 1_980);
    assert_eq!(row_b["after_seat_usd_cents"], 1_980);
    let seat_c3_price = &lines[2]["price"];
    assert_eq!(uuid_of(&lines[2]["seat_id"]), seat_c3);
    assert_eq!(seat_c3_price["row_markup_basis_points"], 1_000);
    assert_eq!(seat_c3_price["after_row_usd_cents"], 1_980);
    assert_eq!(seat_c3_price["seat_modifier_usd_cents"], 150);
    assert_eq!(seat_c3_price["after_seat_usd_cents"], 2_130);
    assert_eq!(lines[0]["total_bs_cents"], 81_278);
    assert_eq!(lines[1]["total_bs_cents"], 71_524);
    assert_eq!(lines[2]["total_bs_cents"], 76_943);
    assert_eq!(order.body["subtotal_usd_cents"], 6_360);
    assert_eq!(order.body["subtotal_bs_cents"], 229_745);
    assert_eq!(order.body["tax_bs_cents"], 36_759);
    assert_eq!(order.body["total_bs_cents"], 266_504);

    // Later pricing changes leave the order's frozen prices alone.
    let changed = update_zone_pricing(
        &app,
        admin,
        shop.zone_id,
        json!({ "rows": [{ "row": "A", "basis_points": null }] }),
    )
    .await;
    assert_status(&changed, 200);
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["seats"][1]["price_usd_cents"], 1_980);
    let reread = app.get_order(cashier, order.id("id")).await;
    assert_status(&reread, 200);
    assert_eq!(reread.body["lines"], order.body["lines"]);
    assert_eq!(reread.body["total_bs_cents"], 266_504);

    app.teardown().await;
}

/// Sells "Mesa 1" (seats A1–A4) only whole.
async fn complete_table_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "mesas",
            "J-00124134-5",
            ZoneSpec::Numbered {
                rows: vec![4, 4],
                price_usd_cents: 3_000,
            },
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let seat_ids = app.seat_ids(cashier, shop.zone_id).await;

    let table = app
        .post(&format!("/api/v1/zones/{}/tables", shop.zone_id))
        .token(admin)
        .json(json!({ "name": "Mesa 1", "seat_count": 4, "seats": [{ "row": "A", "from": 1, "to": 4 }] }))
        .send()
        .await;
    assert_status(&table, 201);
    assert_eq!(table.body["name"], "Mesa 1");
    assert_eq!(table.body["seat_count"], 4);
    let table_id = table.id("id");
    let mut table_seats: Vec<Uuid> = table.body["seat_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(uuid_of)
        .collect();
    table_seats.sort();
    let mut row_a = seat_ids[0..4].to_vec();
    row_a.sort();
    assert_eq!(table_seats, row_a);

    let mode = update_zone_pricing(
        &app,
        admin,
        shop.zone_id,
        json!({ "table_mode": "complete_only" }),
    )
    .await;
    assert_status(&mode, 200);
    assert_eq!(mode.body["table_mode"], "complete_only");

    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["table_mode"], "complete_only");
    assert_eq!(availability.body["tables"][0]["name"], "Mesa 1");
    assert_eq!(availability.body["tables"][0]["seat_count"], 4);
    assert_eq!(availability.body["tables"][0]["available"], 4);
    assert_eq!(
        uuid_of(&availability.body["seats"][0]["table_id"]),
        table_id
    );
    assert!(availability.body["seats"][4]["table_id"].is_null());

    // One seat of the table is rejected and names the table.
    let partial = app.hold_seats(cashier, shop.zone_id, &seat_ids[0..1]).await;
    assert_error(&partial, 409, "table_must_be_complete");
    let incomplete = &partial.body["error"]["details"]["tables"][0];
    assert_eq!(uuid_of(&incomplete["id"]), table_id);
    assert_eq!(incomplete["requested"], 1);
    assert_eq!(incomplete["seat_count"], 4);
    let three = app.hold_seats(cashier, shop.zone_id, &seat_ids[0..3]).await;
    assert_error(&three, 409, "table_must_be_complete");

    // A seat outside every table still sells alone.
    let single = app.hold_seats(cashier, shop.zone_id, &seat_ids[4..5]).await;
    assert_status(&single, 201);

    // The whole table: four lines of US$30.00, then a full payment.
    let whole = app.hold_seats(cashier, shop.zone_id, &seat_ids[0..4]).await;
    assert_status(&whole, 201);
    let order = app
        .create_order(cashier, whole.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    assert_eq!(order.body["lines"].as_array().unwrap().len(), 4);
    assert_eq!(order.body["subtotal_usd_cents"], 12_000);
    let total = order.body["total_bs_cents"].as_i64().unwrap();
    let payment = app
        .pay(cashier, order.id("id"), pago_movil(total, "552211"))
        .await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["order"]["status"], "paid");
    let tickets = app.tickets(cashier, order.id("id")).await;
    assert_status(&tickets, 200);
    assert_eq!(tickets.body.as_array().unwrap().len(), 4);

    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["tables"][0]["available"], 0);
    assert_eq!(availability.body["sold"], 4);
    // B1 is still held by the single-seat hold.
    assert_eq!(availability.body["held"], 1);
    for seat in &availability.body["seats"].as_array().unwrap()[0..4] {
        assert_eq!(seat["status"], "sold");
    }

    app.teardown().await;
}

/// Holds, orders and pays one GA unit in full, each step with its own
/// Idempotency-Key and resent on 503. Returns the paid order.
async fn buy_one_unit(app: &TestApp, shop: &Shop) -> Value {
    let token = &shop.tenant.cashier_token;
    let hold_key = Uuid::new_v4().to_string();
    let hold = send_retrying_busy(|| {
        app.post("/api/v1/holds")
            .token(token)
            .idempotency_key(&hold_key)
            .json(json!({ "zone_id": shop.zone_id, "quantity": 1 }))
    })
    .await;
    assert_status(&hold, 201);

    let order_key = Uuid::new_v4().to_string();
    let hold_id = hold.id("id");
    let order = send_retrying_busy(|| {
        app.post("/api/v1/orders")
            .token(token)
            .idempotency_key(&order_key)
            .json(json!({ "hold_id": hold_id, "customer_id": shop.customer_id }))
    })
    .await;
    assert_status(&order, 201);

    let payment_key = Uuid::new_v4().to_string();
    let order_id = order.id("id");
    let total = order.body["total_bs_cents"].as_i64().unwrap();
    let payment = send_retrying_busy(|| {
        app.post(&format!("/api/v1/orders/{order_id}/payments"))
            .token(token)
            .idempotency_key(&payment_key)
            .json(cash_ves(total))
    })
    .await;
    assert_status(&payment, 201);
    assert_eq!(
        payment.body["order"]["status"], "paid",
        "body: {}",
        payment.text
    );
    payment.body["order"].clone()
}

/// Sells one unit to each of 100 concurrent buyers. "Preventa" (-20 %, so
/// US$20.00) has 50 units, then "General" (US$25.00) prices the rest.
async fn concurrent_purchases_across_stage_boundary(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "frontera",
            "G-20009997-6",
            general_admission(100, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let early = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "Preventa", "modifier": percent(-2_000), "quantity_limit": 50 }),
    )
    .await;
    assert_status(&early, 201);
    let early_id = early.id("id");
    let general = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "General", "modifier": percent(0) }),
    )
    .await;
    assert_status(&general, 201);
    let general_id = general.id("id");

    let orders = join_all((0..100).map(|_| buy_one_unit(&app, &shop))).await;
    let early_orders = orders
        .iter()
        .filter(|order| order["lines"][0]["unit_price_usd_cents"] == 2_000)
        .count();
    let later_orders = orders
        .iter()
        .filter(|order| order["lines"][0]["unit_price_usd_cents"] == 2_500)
        .count();
    assert_eq!(early_orders, 50);
    assert_eq!(later_orders, 50);

    // Units on paid orders at one unit price, and units priced by one stage.
    const PAID_UNITS_AT_PRICE: &str = "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) \
        FROM order_lines l JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id \
        WHERE o.event_id = $1 AND o.status = 'paid' AND l.unit_price_usd_cents = $2";
    const UNITS_OF_STAGE: &str =
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines WHERE stage_id = $1";
    let event = [Param::from(shop.event_id)];

    let early_units = app
        .db
        .scalar_i64(
            PAID_UNITS_AT_PRICE,
            &[Param::from(shop.event_id), Param::from(2_000_i64)],
        )
        .await;
    assert_eq!(early_units, 50);
    let later_units = app
        .db
        .scalar_i64(
            PAID_UNITS_AT_PRICE,
            &[Param::from(shop.event_id), Param::from(2_500_i64)],
        )
        .await;
    assert_eq!(later_units, 50);
    let paid_orders = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM orders WHERE event_id = $1 AND status = 'paid'",
            &event,
        )
        .await;
    assert_eq!(paid_orders, 100);
    let early_stage_units = app
        .db
        .scalar_i64(UNITS_OF_STAGE, &[Param::from(early_id)])
        .await;
    assert_eq!(early_stage_units, 50);
    let general_stage_units = app
        .db
        .scalar_i64(UNITS_OF_STAGE, &[Param::from(general_id)])
        .await;
    assert_eq!(general_stage_units, 50);

    let transitions = app
        .db
        .rows::<(String, i64)>(
            "SELECT trigger, units_sold FROM stage_transitions WHERE event_id = $1",
            &event,
        )
        .await;
    assert_eq!(transitions, [("quantity_reached".to_string(), 50)]);
    let early_sold = app
        .db
        .scalar_i64(
            "SELECT units_sold FROM price_stages WHERE id = $1",
            &[Param::from(early_id)],
        )
        .await;
    assert_eq!(early_sold, 50);
    let (sold, held): (i64, i64) = app
        .db
        .rows(
            "SELECT sold, held FROM zones WHERE id = $1",
            &[Param::from(shop.zone_id)],
        )
        .await[0];
    assert_eq!(sold, 100);
    assert_eq!(held, 0);

    app.teardown().await;
}

/// Gives a courtesy of two US$25.00 units, then sells with a -50 % code usable once.
async fn courtesy_and_discount_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "cortesia",
            "J-12345678-4",
            general_admission(10, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;

    // A tenant admin's courtesy is paid at once, at 0, with an invoice and tickets.
    let hold = app.hold_quantity(admin, shop.zone_id, 2).await;
    assert_status(&hold, 201);
    let courtesy = app
        .post("/api/v1/orders")
        .token(admin)
        .json(
            json!({ "hold_id": hold.id("id"), "customer_id": shop.customer_id, "courtesy": true }),
        )
        .send()
        .await;
    assert_status(&courtesy, 201);
    let body = &courtesy.body;
    assert_eq!(body["status"], "paid");
    assert_eq!(body["courtesy"], true);
    assert_eq!(body["total_usd_cents"], 0);
    assert_eq!(body["total_bs_cents"], 0);
    assert_eq!(body["balance_bs_cents"], 0);
    assert_eq!(body["lines"][0]["quantity"], 2);
    assert_eq!(body["lines"][0]["unit_price_usd_cents"], 0);
    assert_eq!(body["lines"][0]["total_bs_cents"], 0);
    assert_eq!(body["lines"][0]["courtesy"], true);
    // The breakdown keeps the list price and shows the courtesy as -100 %.
    assert_eq!(body["lines"][0]["price"]["base_usd_cents"], 2_500);
    assert_eq!(body["lines"][0]["price"]["discount"], percent(-10_000));
    assert!(body["invoice"].is_object(), "body: {}", courtesy.text);
    let courtesy_id = courtesy.id("id");
    let tickets = app.tickets(admin, courtesy_id).await;
    assert_status(&tickets, 200);
    assert_eq!(tickets.body.as_array().unwrap().len(), 2);
    let invoice = fiscal_document(&app, admin, uuid_of(&body["invoice"]["id"])).await;
    assert_eq!(invoice["kind"], "invoice");
    assert_eq!(invoice["total_bs_cents"], 0);
    assert_eq!(invoice["content"]["lines"][0]["quantity"], 2);
    assert_eq!(invoice["content"]["lines"][0]["unit_price_usd_cents"], 0);
    assert_eq!(invoice["content"]["lines"][0]["total_bs_cents"], 0);
    assert_eq!(invoice["content"]["total_bs_cents"], 0);
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["sold"], 2);

    // A cashier may not give courtesies.
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let hold_id = hold.id("id");
    let rejected = app
        .post("/api/v1/orders")
        .token(cashier)
        .json(json!({ "hold_id": hold_id, "customer_id": shop.customer_id, "courtesy": true }))
        .send()
        .await;
    assert_error(&rejected, 403, "forbidden");

    // A courtesy with a discount code is contradictory.
    let admin_hold = app.hold_quantity(admin, shop.zone_id, 1).await;
    assert_status(&admin_hold, 201);
    let both = app
        .post("/api/v1/orders")
        .token(admin)
        .json(json!({
            "hold_id": admin_hold.id("id"),
            "customer_id": shop.customer_id,
            "courtesy": true,
            "discount_code": "MITAD-50",
        }))
        .send()
        .await;
    assert_error(&both, 422, "validation_failed");
    assert_eq!(
        both.body["error"]["details"]["errors"][0]["field"],
        "discount_code"
    );
    assert_eq!(
        both.body["error"]["details"]["errors"][0]["rule"],
        "not_allowed_with_courtesy"
    );

    let code = app
        .post(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(admin)
        .json(json!({ "code": "mitad-50", "modifier": percent(-5_000), "max_uses": 1 }))
        .send()
        .await;
    assert_status(&code, 201);
    assert_eq!(code.body["code"], "MITAD-50");
    assert_eq!(code.body["uses"], 0);
    assert_eq!(code.body["max_uses"], 1);

    // Half of US$25.00 is US$12.50, which is 451.54 Bs. IVA 16 % = 72.2464
    // → 72.25, so the total is 523.79 Bs.
    let discounted = app
        .post("/api/v1/orders")
        .token(cashier)
        .json(json!({ "hold_id": hold_id, "customer_id": shop.customer_id, "discount_code": " Mitad-50 " }))
        .send()
        .await;
    assert_status(&discounted, 201);
    assert_eq!(discounted.body["discount_code"], "MITAD-50");
    let line = &discounted.body["lines"][0];
    assert_eq!(line["unit_price_usd_cents"], 1_250);
    assert_eq!(line["price"]["after_seat_usd_cents"], 2_500);
    assert_eq!(line["price"]["discount"], percent(-5_000));
    assert_eq!(line["total_bs_cents"], 45_154);
    assert_eq!(discounted.body["tax_bs_cents"], 7_225);
    assert_eq!(discounted.body["total_bs_cents"], 52_379);

    let codes = app
        .get(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_status(&codes, 200);
    assert_eq!(codes.body["items"][0]["uses"], 1);

    // The single use is spent: a second order is rejected, in Spanish by default.
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let second = app
        .post("/api/v1/orders")
        .token(cashier)
        .json(json!({ "hold_id": hold.id("id"), "customer_id": shop.customer_id, "discount_code": "MITAD-50" }))
        .send()
        .await;
    assert_error(&second, 409, "discount_code_unavailable");
    assert_eq!(
        second.body["error"]["message"],
        "El código de descuento no existe, está inactivo o ya agotó sus usos."
    );
    assert_eq!(second.body["error"]["details"]["code"], "MITAD-50");
    let codes = app
        .get(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_eq!(codes.body["items"][0]["uses"], 1);

    app.teardown().await;
}

/// Changes the IGTF rate between two payments of one order. The invoice must
/// show the rate that was charged (3 %: US$0.30 on US$10.00), not the rate the
/// tenant has when the invoice is issued.
async fn invoice_keeps_igtf_rate_charged(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "igtf-tasa",
            "G-20009997-6",
            general_admission(10, 2_000),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    app.create_exchange_rate(admin, "40.00").await;
    let set_igtf = |basis_points: i64| {
        app.request(Method::PUT, "/api/v1/settings/igtf")
            .token(admin)
            .json(json!({ "enabled": true, "basis_points": basis_points, "methods": ["cash"] }))
            .send()
    };
    assert_status(&set_igtf(300).await, 200);

    // 928.00 Bs. as in the IGTF scenario: US$10.30 cash pays 400.00 Bs. and US$0.30 of IGTF.
    let order = order_units(&app, &shop, cashier, 1).await;
    let order_id = order.id("id");
    let first = app.pay(cashier, order_id, cash_usd(1_030)).await;
    assert_status(&first, 201);
    assert_eq!(first.body["payment"]["igtf_base_cents"], 1_000);
    assert_eq!(first.body["payment"]["igtf_cents"], 30);

    // The tenant lowers IGTF to 2 % before the balance is paid in bolívares.
    assert_status(&set_igtf(200).await, 200);
    let second = app
        .pay(cashier, order_id, pago_movil(52_800, "909090"))
        .await;
    assert_status(&second, 201);
    assert_eq!(second.body["order"]["status"], "paid");
    assert_eq!(second.body["order"]["igtf_usd_cents"], 30);

    let invoice = fiscal_document(
        &app,
        cashier,
        uuid_of(&second.body["order"]["invoice"]["id"]),
    )
    .await;
    let igtf = &invoice["content"]["igtf"];
    assert_eq!(igtf["base_usd_cents"], 1_000);
    assert_eq!(igtf["igtf_usd_cents"], 30);
    assert_eq!(igtf["rate_basis_points"], 300, "igtf: {igtf}");

    app.teardown().await;
}

/// Adds a venue's municipal tax of 5 % (category `other`) next to IVA. One GA
/// unit of US$25.00 is 903.09 Bs., and 5 % of it is 45.1545 → 45.15 Bs.
async fn tax_rules_history_and_municipal_tax(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "municipal",
            "J-00124134-5",
            general_admission(10, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let old_iva_id = uuid_of(&tax_rules(&app, admin, false).await[0]["id"]);

    let municipal = app
        .post("/api/v1/tax-rules")
        .token(admin)
        .json(json!({
            "scope": "venue",
            "venue_id": shop.venue_id,
            "name": "Impuesto municipal",
            "category": "other",
            "kind": { "kind": "percentage", "basis_points": 500 },
        }))
        .send()
        .await;
    assert_status(&municipal, 201);
    assert_eq!(municipal.body["scope"], "venue");
    assert_eq!(uuid_of(&municipal.body["venue_id"]), shop.venue_id);
    assert_eq!(municipal.body["category"], "other");
    let municipal_id = municipal.id("id");

    // Taxed order: 903.09 + IVA 144.49 + municipal 45.15 = 1,092.73 Bs., and
    // US$25.00 + 4.00 + 1.25 = 30.25.
    let taxed = order_units(&app, &shop, cashier, 1).await;
    let taxed_id = taxed.id("id");
    assert_eq!(taxed.body["lines"][0]["tax_basis_points"], 1_600);
    assert_eq!(
        taxed.body["lines"][0]["tax_rules"],
        json!([old_iva_id.to_string(), municipal_id.to_string()])
    );
    let taxes = taxed.body["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2);
    assert_eq!(taxes[0]["name"], "IVA");
    assert_eq!(taxes[0]["tax_bs_cents"], 14_449);
    assert_eq!(taxes[1]["name"], "Impuesto municipal");
    assert_eq!(taxes[1]["category"], "other");
    assert_eq!(taxes[1]["rate_basis_points"], 500);
    assert_eq!(taxes[1]["base_bs_cents"], 90_309);
    assert_eq!(taxes[1]["tax_bs_cents"], 4_515);
    assert_eq!(taxed.body["tax_bs_cents"], 18_964);
    assert_eq!(taxed.body["total_bs_cents"], 109_273);
    assert_eq!(taxed.body["total_usd_cents"], 3_025);

    // In an exempt zone the line pays no IVA but still pays the municipal tax
    // on its base: 903.09 + 45.15 = 948.24 Bs.
    let exempt_zone =
        update_zone_pricing(&app, admin, shop.zone_id, json!({ "tax_exempt": true })).await;
    assert_status(&exempt_zone, 200);
    assert_eq!(exempt_zone.body["tax_exempt"], true);
    let exempt = order_units(&app, &shop, cashier, 1).await;
    let line = &exempt.body["lines"][0];
    assert_eq!(line["exempt"], true);
    assert!(line["tax_basis_points"].is_null());
    assert_eq!(line["tax_rules"], json!([municipal_id.to_string()]));
    let taxes = exempt.body["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 1);
    assert_eq!(taxes[0]["name"], "Impuesto municipal");
    assert_eq!(taxes[0]["base_bs_cents"], 90_309);
    assert_eq!(taxes[0]["tax_bs_cents"], 4_515);
    assert_eq!(exempt.body["exempt_bs_cents"], 90_309);
    assert_eq!(exempt.body["exempt_usd_cents"], 2_500);
    assert_eq!(exempt.body["tax_bs_cents"], 4_515);
    assert_eq!(exempt.body["total_bs_cents"], 94_824);
    let payment = app
        .pay(cashier, exempt.id("id"), pago_movil(94_824, "310310"))
        .await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["order"]["status"], "paid");
    let invoice = fiscal_document(
        &app,
        cashier,
        uuid_of(&payment.body["order"]["invoice"]["id"]),
    )
    .await;
    let description = invoice["content"]["lines"][0]["description"]
        .as_str()
        .unwrap();
    assert!(description.ends_with("(E)"), "description {description:?}");
    assert_eq!(invoice["content"]["lines"][0]["exempt"], true);
    assert_eq!(invoice["content"]["exempt_bs_cents"], 90_309);
    assert_eq!(invoice["content"]["taxes"][0]["name"], "Impuesto municipal");
    assert_eq!(invoice["content"]["total_bs_cents"], 94_824);

    // IVA goes down to 8 %: the 16 % rule ends and its successor replaces it.
    let restored =
        update_zone_pricing(&app, admin, shop.zone_id, json!({ "tax_exempt": false })).await;
    assert_status(&restored, 200);
    let successor = app
        .post(&format!("/api/v1/tax-rules/{old_iva_id}/end"))
        .token(admin)
        .json(json!({
            "successor": {
                "scope": "tenant",
                "name": "IVA",
                "category": "iva",
                "kind": { "kind": "percentage", "basis_points": 800 },
            }
        }))
        .send()
        .await;
    assert_status(&successor, 200);
    assert_eq!(uuid_of(&successor.body["supersedes_id"]), old_iva_id);
    assert_eq!(successor.body["kind"]["basis_points"], 800);
    let new_iva_id = successor.id("id");
    let ended_again = app
        .post(&format!("/api/v1/tax-rules/{old_iva_id}/end"))
        .token(admin)
        .json(json!({}))
        .send()
        .await;
    assert_error(&ended_again, 409, "tax_rule_ended");

    let in_force = tax_rules(&app, admin, false).await;
    let in_force_ids: Vec<Uuid> = in_force.iter().map(|rule| uuid_of(&rule["id"])).collect();
    assert_eq!(in_force_ids.len(), 2);
    assert!(in_force_ids.contains(&new_iva_id));
    assert!(in_force_ids.contains(&municipal_id));
    let history = tax_rules(&app, admin, true).await;
    assert_eq!(history.len(), 3);
    let old_rule = history
        .iter()
        .find(|rule| uuid_of(&rule["id"]) == old_iva_id)
        .expect("the ended rule stays in the history");
    assert!(old_rule["ended_at"].is_string());
    assert_eq!(old_rule["kind"]["basis_points"], 1_600);
    let new_rule = history
        .iter()
        .find(|rule| uuid_of(&rule["id"]) == new_iva_id)
        .expect("the successor is listed");
    assert!(new_rule["ended_at"].is_null());
    assert_eq!(uuid_of(&new_rule["supersedes_id"]), old_iva_id);

    // A new order uses 8 %: 903.09 × 8 % = 72.2472 → 72.25 Bs., so the
    // total is 903.09 + 72.25 + 45.15 = 1,020.49 Bs.
    let current = order_units(&app, &shop, cashier, 1).await;
    assert_eq!(current.body["lines"][0]["tax_basis_points"], 800);
    let taxes = current.body["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2);
    assert_eq!(taxes[0]["key"], new_iva_id.to_string());
    assert_eq!(taxes[0]["rate_basis_points"], 800);
    assert_eq!(taxes[0]["tax_bs_cents"], 7_225);
    assert_eq!(taxes[1]["tax_bs_cents"], 4_515);
    assert_eq!(current.body["total_bs_cents"], 102_049);

    // The earlier order keeps 16 %, on reading and on its invoice.
    let earlier = app.get_order(cashier, taxed_id).await;
    assert_status(&earlier, 200);
    assert_eq!(earlier.body["lines"][0]["tax_basis_points"], 1_600);
    assert_eq!(earlier.body["taxes"][0]["key"], old_iva_id.to_string());
    assert_eq!(earlier.body["taxes"][0]["rate_basis_points"], 1_600);
    assert_eq!(earlier.body["total_bs_cents"], 109_273);
    let payment = app
        .pay(cashier, taxed_id, pago_movil(109_273, "424242"))
        .await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["order"]["status"], "paid");
    let invoice = fiscal_document(
        &app,
        cashier,
        uuid_of(&payment.body["order"]["invoice"]["id"]),
    )
    .await;
    assert_eq!(invoice["content"]["taxes"][0]["rate_basis_points"], 1_600);
    assert_eq!(invoice["content"]["taxes"][0]["tax_bs_cents"], 14_449);
    assert_eq!(invoice["content"]["total_bs_cents"], 109_273);
    assert!(
        !invoice["content"]["lines"][0]["description"]
            .as_str()
            .unwrap()
            .ends_with("(E)")
    );

    app.teardown().await;
}

/// Asserts a 422 whose first field error is `field` breaking `rule`.
#[track_caller]
fn assert_field_error(response: &ApiResponse, field: &str, rule: &str) {
    assert_error(response, 422, "validation_failed");
    let first = &response.body["error"]["details"]["errors"][0];
    assert_eq!(first["field"], field, "body: {}", response.text);
    assert_eq!(first["rule"], rule, "body: {}", response.text);
}

async fn stage_validation_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "etapas",
            "J-12345678-4",
            general_admission(10, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let now = app.now();

    let first = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({
            "name": "Preventa",
            "modifier": percent(-2_000),
            "starts_at": rfc3339(now + Duration::days(1)),
            "ends_at": rfc3339(now + Duration::days(3)),
        }),
    )
    .await;
    assert_status(&first, 201);
    assert_eq!(first.body["status"], "upcoming");

    // Days 2–4 overlap days 1–3.
    let overlapping = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({
            "name": "Solapada",
            "modifier": percent(-1_000),
            "starts_at": rfc3339(now + Duration::days(2)),
            "ends_at": rfc3339(now + Duration::days(4)),
        }),
    )
    .await;
    assert_field_error(&overlapping, "starts_at", "stage_window_overlaps");
    assert!(
        overlapping.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("se solapa"),
        "body: {}",
        overlapping.text
    );

    // The event's only zone has 10 units, so a stage of 11 could never sell out.
    let event_wide = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "Grande", "modifier": percent(-1_000), "quantity_limit": 11 }),
    )
    .await;
    assert_field_error(
        &event_wide,
        "quantity_limit",
        "stage_quantity_exceeds_capacity",
    );
    let zone_wide = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "zone_id": shop.zone_id, "name": "Grande", "modifier": percent(-1_000), "quantity_limit": 11 }),
    )
    .await;
    assert_field_error(
        &zone_wide,
        "quantity_limit",
        "stage_quantity_exceeds_capacity",
    );

    // -100.01 %.
    let below = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "Regalo", "modifier": percent(-10_001) }),
    )
    .await;
    assert_field_error(&below, "modifier.basis_points", "out_of_range");

    let unknown_zone = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "zone_id": Uuid::new_v4(), "name": "Zona", "modifier": percent(-1_000) }),
    )
    .await;
    assert_error(&unknown_zone, 404, "not_found");
    assert_eq!(unknown_zone.body["error"]["details"]["entity"], "zone");

    // Another tenant's event and zone are not found, for reading and writing alike.
    let other = app.setup_tenant("ajena", "J-00124134-5").await;
    let foreign = create_stage(
        &app,
        &other.admin_token,
        shop.event_id,
        json!({ "name": "Intrusa", "modifier": percent(-1_000) }),
    )
    .await;
    assert_error(&foreign, 404, "not_found");
    assert_eq!(foreign.body["error"]["details"]["entity"], "event");
    for path in [
        format!("/api/v1/events/{}/stages", shop.event_id),
        format!("/api/v1/events/{}/stages/current", shop.event_id),
        format!("/api/v1/events/{}/stages/transitions", shop.event_id),
    ] {
        let read = app.get(&path).token(&other.admin_token).send().await;
        assert_error(&read, 404, "not_found");
    }
    let foreign_zone = update_zone_pricing(
        &app,
        &other.admin_token,
        shop.zone_id,
        json!({ "tax_exempt": true }),
    )
    .await;
    assert_error(&foreign_zone, 404, "not_found");
    let foreign_code = app
        .post(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(&other.admin_token)
        .json(json!({ "code": "AJENO", "modifier": percent(-1_000), "max_uses": 5 }))
        .send()
        .await;
    assert_error(&foreign_code, 404, "not_found");

    // A discount code must lower the price.
    let raising = app
        .post(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(admin)
        .json(json!({ "code": "SUBE", "modifier": percent(1_000), "max_uses": 5 }))
        .send()
        .await;
    assert_error(&raising, 422, "validation_failed");
    assert_eq!(
        raising.body["error"]["details"]["errors"][0]["rule"],
        "must_lower_price"
    );
    // Another tenant's event has no discount codes to list: 404.
    let foreign_list = app
        .get(&format!("/api/v1/events/{}/discount-codes", shop.event_id))
        .token(&other.admin_token)
        .send()
        .await;
    assert_error(&foreign_list, 404, "not_found");

    // A corrected (superseded) rate cannot be pinned; its correction can.
    let first_rate = app.create_exchange_rate(admin, "40").await.id("id");
    let corrected = app.create_exchange_rate(admin, "41").await.id("id");
    let pin_old = app
        .request(
            Method::PUT,
            &format!("/api/v1/events/{}/pinned-rate", shop.event_id),
        )
        .token(admin)
        .json(json!({ "rate_id": first_rate }))
        .send()
        .await;
    assert_error(&pin_old, 422, "validation_failed");
    assert_eq!(
        pin_old.body["error"]["details"]["errors"][0]["rule"],
        "exchange_rate_superseded"
    );
    let pin_new = app
        .request(
            Method::PUT,
            &format!("/api/v1/events/{}/pinned-rate", shop.event_id),
        )
        .token(admin)
        .json(json!({ "rate_id": corrected }))
        .send()
        .await;
    assert_status(&pin_new, 200);
    let malformed = app
        .request(
            Method::PUT,
            &format!("/api/v1/events/{}/pinned-rate", shop.event_id),
        )
        .token(admin)
        .json(json!({ "rate_id": "no-es-un-uuid" }))
        .send()
        .await;
    assert_error(&malformed, 422, "validation_failed");

    // Only the first stage was created.
    let stages = app
        .get(&format!("/api/v1/events/{}/stages", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_status(&stages, 200);
    assert_eq!(stages.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(stages.body["items"][0]["name"], "Preventa");
    let stored = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM price_stages WHERE event_id = $1",
            &[Param::from(shop.event_id)],
        )
        .await;
    assert_eq!(stored, 1);

    app.teardown().await;
}

/// A stage with no window and no limit never ends by itself. Ending it by
/// hand starts the next stage at once and is recorded once.
async fn stage_ended_by_hand(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "a-mano",
            "J-12345678-4",
            general_admission(10, 2_500),
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;

    let mistaken = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "Error", "modifier": percent(-10_000) }),
    )
    .await;
    assert_status(&mistaken, 201);
    let next = create_stage(
        &app,
        admin,
        shop.event_id,
        json!({ "name": "General", "modifier": percent(0) }),
    )
    .await;
    assert_status(&next, 201);
    // The mistaken -100 % stage prices the zone at 0.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["price_usd_cents"], 0);

    let path = format!("/api/v1/stages/{}/end", mistaken.id("id"));
    let by_cashier = app.post(&path).token(cashier).send().await;
    assert_error(&by_cashier, 403, "forbidden");
    let ended = app.post(&path).token(admin).send().await;
    assert_status(&ended, 200);
    assert_eq!(ended.body["trigger"], "ended_manually");
    assert_eq!(ended.body["units_sold"], 0);

    // General prices the zone now: 25.00.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["price_usd_cents"], 2_500);
    assert_eq!(availability.body["stage"]["name"], "General");

    // General has no quantity limit: its units are counted from the orders.
    order_units(&app, &shop, cashier, 3).await;
    let stages = app
        .get(&format!("/api/v1/events/{}/stages", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_status(&stages, 200);
    assert_eq!(stages.body["items"][0]["name"], "Error");
    assert_eq!(stages.body["items"][0]["units_sold"], 0);
    assert_eq!(stages.body["items"][1]["name"], "General");
    assert_eq!(stages.body["items"][1]["units_sold"], 3);
    assert_eq!(stages.body["items"][1]["units_left"], Value::Null);
    let current = app
        .get(&format!("/api/v1/events/{}/stages/current", shop.event_id))
        .token(admin)
        .send()
        .await;
    assert_status(&current, 200);
    assert_eq!(current.body[0]["current"]["units_sold"], 3);

    let again = app.post(&path).token(admin).send().await;
    assert_error(&again, 409, "stage_ended");
    let other = app.setup_tenant("ajena", "J-00124134-5").await;
    let foreign = app.post(&path).token(&other.admin_token).send().await;
    assert_error(&foreign, 404, "not_found");

    let transitions = app
        .get(&format!(
            "/api/v1/events/{}/stages/transitions",
            shop.event_id
        ))
        .token(admin)
        .send()
        .await;
    assert_status(&transitions, 200);
    assert_eq!(transitions.body["items"].as_array().unwrap().len(), 1);
    let metrics = app.get("/metrics").send().await;
    assert!(
        metrics.text.contains("trigger=\"ended_manually\""),
        "the manual end is counted in venezuelan_pos_stage_transitions_total"
    );

    app.teardown().await;
}
