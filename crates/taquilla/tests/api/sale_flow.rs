//! The whole sale at the box office: seats, customer, order, mixed payment,
//! invoice, tickets and the gate.

use serde_json::json;
use taquilla_domain::money::ExchangeRate;
use taquilla_domain::tax::{LineInput, compute_totals};
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, Param, RATE, ZoneSpec, assert_error, assert_status, cash_usd, pago_movil,
    spawn_app, uuid_of,
};

backend_tests!(
    sale_flow_end_to_end,
    invoice_totals_hand_computed,
    cash_overpayment_returns_change
);

fn rate() -> ExchangeRate {
    ExchangeRate::parse(RATE).unwrap()
}

fn iva_line(unit_price_usd_cents: i64) -> LineInput {
    LineInput {
        quantity: 1,
        unit_price_usd_cents,
        tax_basis_points: Some(1_600),
    }
}

async fn sale_flow_end_to_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "acme",
            "J-12345678-4",
            ZoneSpec::Numbered {
                rows: vec![10, 10],
                price_usd_cents: 4_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;

    // /auth/me returns the logged-in cashier.
    let me = app.get("/api/v1/auth/me").token(cashier).send().await;
    assert_status(&me, 200);
    assert_eq!(me.body["username"], "acme-cajero");
    assert_eq!(me.body["role"], "cashier");
    assert_eq!(uuid_of(&me.body["tenant_id"]), shop.tenant.tenant_id);

    // Availability before the sale: 20 free seats.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["kind"], "numbered");
    assert_eq!(availability.body["capacity"], 20);
    assert_eq!(availability.body["available"], 20);
    assert_eq!(availability.body["held"], 0);
    assert_eq!(availability.body["sold"], 0);
    assert_eq!(availability.body["price_usd_cents"], 4_500);
    let seats = availability.body["seats"].as_array().unwrap().clone();
    assert_eq!(seats.len(), 20);
    assert_eq!(seats[0]["row"], "A");
    assert_eq!(seats[0]["number"], 1);
    assert_eq!(seats[10]["row"], "B");
    assert!(seats.iter().all(|seat| seat["status"] == "available"));
    let chosen = [uuid_of(&seats[0]["id"]), uuid_of(&seats[1]["id"])];

    // Hold two seats.
    let hold = app.hold_seats(cashier, shop.zone_id, &chosen).await;
    assert_status(&hold, 201);
    assert_eq!(hold.body["status"], "active");
    assert_eq!(hold.body["kind"], "numbered");
    assert_eq!(hold.body["quantity"], 2);
    assert_eq!(uuid_of(&hold.body["zone_id"]), shop.zone_id);
    assert_eq!(uuid_of(&hold.body["event_id"]), shop.event_id);
    let held_seats: Vec<Uuid> = hold.body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seat| uuid_of(&seat["id"]))
        .collect();
    assert_eq!(held_seats, chosen);
    let created_at: chrono::DateTime<chrono::Utc> =
        hold.body["created_at"].as_str().unwrap().parse().unwrap();
    let expires_at: chrono::DateTime<chrono::Utc> =
        hold.body["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at - created_at, chrono::Duration::minutes(15));

    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["held"], 2);
    assert_eq!(availability.body["available"], 18);
    assert_eq!(availability.body["seats"][0]["status"], "held");
    assert_eq!(availability.body["seats"][1]["status"], "held");
    assert_eq!(availability.body["seats"][2]["status"], "available");

    // A customer with a cédula and a mobile number, normalised.
    let customer = app
        .post("/api/v1/customers")
        .token(cashier)
        .json(json!({
            "first_name": "José",
            "last_name": "Hernández",
            "document": "V-12.345.678",
            "phone": "0414-1234567",
            "email": "Jose.Hernandez@Example.com",
        }))
        .send()
        .await;
    assert_status(&customer, 201);
    assert_eq!(customer.body["document_kind"], "cedula");
    assert_eq!(customer.body["document"], "V12345678");
    assert_eq!(customer.body["phone"], "+584141234567");
    assert_eq!(customer.body["email"], "jose.hernandez@example.com");
    let customer_id = customer.id("id");

    // The order freezes prices, IVA and the rate.
    let expected = compute_totals(&[iva_line(4_500), iva_line(4_500)], rate()).unwrap();
    let order = app.create_order(cashier, hold.id("id"), customer_id).await;
    assert_status(&order, 201);
    let order_id = order.id("id");
    assert_eq!(order.body["status"], "pending");
    assert_eq!(order.body["exchange_rate"]["rate"], RATE);
    assert_eq!(
        order.body["exchange_rate"]["rate_scaled"],
        3_612_345_678_i64
    );
    assert_eq!(order.body["subtotal_usd_cents"], 9_000);
    assert_eq!(order.body["tax_usd_cents"], 1_440);
    assert_eq!(order.body["total_usd_cents"], 10_440);
    assert_eq!(order.body["total_usd_cents"], expected.total_usd_cents);
    assert_eq!(order.body["subtotal_bs_cents"], expected.subtotal_bs_cents);
    assert_eq!(order.body["tax_bs_cents"], expected.tax_bs_cents);
    assert_eq!(order.body["total_bs_cents"], expected.total_bs_cents);
    assert_eq!(order.body["paid_bs_cents"], 0);
    assert_eq!(order.body["balance_bs_cents"], expected.total_bs_cents);
    assert_eq!(
        order.body["balance_usd_cents"],
        rate().bs_to_usd_ceil(expected.total_bs_cents).unwrap()
    );
    let lines = order.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for (line, seat_id) in lines.iter().zip(chosen) {
        assert_eq!(line["quantity"], 1);
        assert_eq!(line["unit_price_usd_cents"], 4_500);
        assert_eq!(line["total_usd_cents"], 4_500);
        assert_eq!(line["total_bs_cents"], expected.lines[0].total_bs_cents);
        assert_eq!(line["tax_basis_points"], 1_600);
        assert_eq!(uuid_of(&line["seat_id"]), seat_id);
    }
    assert_eq!(lines[0]["description"], "Platea — fila A, asiento 1");
    let taxes = order.body["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 1);
    assert_eq!(taxes[0]["name"], "IVA");
    assert_eq!(taxes[0]["rate_basis_points"], 1_600);
    assert_eq!(taxes[0]["base_bs_cents"], expected.rates[0].base_bs_cents);
    assert_eq!(taxes[0]["tax_bs_cents"], expected.rates[0].tax_bs_cents);

    // First payment: 50.00 USD in cash.
    let usd_in_bs = rate().usd_to_bs(5_000).unwrap();
    let first = app.pay(cashier, order_id, cash_usd(5_000)).await;
    assert_status(&first, 201);
    assert_eq!(first.body["payment"]["method"], "cash");
    assert_eq!(first.body["payment"]["currency"], "USD");
    assert_eq!(first.body["payment"]["amount_cents"], 5_000);
    assert_eq!(first.body["payment"]["amount_bs_cents"], usd_in_bs);
    assert_eq!(first.body["payment"]["applied_bs_cents"], usd_in_bs);
    assert_eq!(first.body["payment"]["change_cents"], 0);
    assert!(first.body["payment"]["change_currency"].is_null());
    assert_eq!(first.body["order"]["status"], "pending");
    assert_eq!(first.body["order"]["paid_bs_cents"], usd_in_bs);
    let balance = expected.total_bs_cents - usd_in_bs;
    assert_eq!(first.body["order"]["balance_bs_cents"], balance);
    assert_eq!(
        first.body["order"]["balance_usd_cents"],
        rate().bs_to_usd_ceil(balance).unwrap()
    );
    assert!(first.body["order"]["invoice"].is_null());

    // Second payment: the bolívar balance by Pago Móvil completes the order.
    let second = app
        .pay(cashier, order_id, pago_movil(balance, "123456"))
        .await;
    assert_status(&second, 201);
    assert_eq!(second.body["payment"]["method"], "pago_movil");
    assert_eq!(second.body["payment"]["bank_code"], "0102");
    assert_eq!(second.body["payment"]["payer_phone"], "+584141234567");
    assert_eq!(second.body["payment"]["payer_document"], "V12345678");
    assert_eq!(second.body["payment"]["applied_bs_cents"], balance);
    let paid = &second.body["order"];
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_bs_cents"], expected.total_bs_cents);
    assert_eq!(paid["balance_bs_cents"], 0);
    assert_eq!(paid["rounding_bs_cents"], 0);
    assert_eq!(paid["payments"].as_array().unwrap().len(), 2);
    assert_eq!(paid["invoice"]["kind"], "invoice");
    assert_eq!(paid["invoice"]["series"], "A");
    assert_eq!(paid["invoice"]["number"], 1);
    assert_eq!(paid["invoice"]["control_number"], "00-00000001");
    let invoice_id = uuid_of(&paid["invoice"]["id"]);

    // The fiscal document carries the frozen totals and taxes.
    let documents = app.fiscal_documents(cashier).await;
    let items = documents.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let invoice = &items[0];
    assert_eq!(uuid_of(&invoice["id"]), invoice_id);
    assert_eq!(invoice["kind"], "invoice");
    assert_eq!(invoice["number"], 1);
    assert_eq!(invoice["control_number"], "00-00000001");
    assert_eq!(uuid_of(&invoice["order_id"]), order_id);
    assert!(invoice["references_document_id"].is_null());
    assert_eq!(invoice["total_usd_cents"], 10_440);
    assert_eq!(invoice["total_bs_cents"], expected.total_bs_cents);
    let content = &invoice["content"];
    assert_eq!(content["title"], "FACTURA");
    assert_eq!(content["number"], 1);
    assert_eq!(content["control_number"], "00-00000001");
    assert_eq!(content["issuer"]["rif"], "J-12345678-4");
    assert_eq!(content["buyer"]["name"], "José Hernández");
    assert_eq!(content["buyer"]["document"], "V12345678");
    assert_eq!(content["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        content["lines"][0]["total_bs_cents"],
        expected.lines[0].total_bs_cents
    );
    assert_eq!(content["subtotal_bs_cents"], expected.subtotal_bs_cents);
    assert_eq!(content["tax_bs_cents"], expected.tax_bs_cents);
    assert_eq!(content["total_bs_cents"], expected.total_bs_cents);
    assert_eq!(content["total_usd_cents"], 10_440);
    assert_eq!(content["taxes"][0]["rate_basis_points"], 1_600);
    assert_eq!(
        content["taxes"][0]["base_bs_cents"],
        expected.rates[0].base_bs_cents
    );
    assert_eq!(
        content["taxes"][0]["tax_bs_cents"],
        expected.rates[0].tax_bs_cents
    );
    assert_eq!(content["exchange_rate"]["rate"], RATE);
    assert_eq!(content["payments"].as_array().unwrap().len(), 2);

    // Two tickets, one per seat, with signed QR payloads.
    let tickets = app.tickets(cashier, order_id).await;
    assert_status(&tickets, 200);
    let tickets = tickets.body.as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2);
    let mut ticket_seats: Vec<Uuid> = tickets
        .iter()
        .map(|ticket| uuid_of(&ticket["seat_id"]))
        .collect();
    ticket_seats.sort();
    let mut expected_seats = chosen.to_vec();
    expected_seats.sort();
    assert_eq!(ticket_seats, expected_seats);
    for ticket in &tickets {
        assert_eq!(ticket["status"], "valid");
        assert_eq!(ticket["uses"], 0);
        assert_eq!(ticket["max_uses"], 1);
        let code = ticket["code"].as_str().unwrap();
        let payload = ticket["qr_payload"].as_str().unwrap();
        assert!(
            payload.starts_with(&format!("TQ1.{code}.")),
            "payload {payload} does not carry code {code}"
        );
    }

    // The seats are sold.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["sold"], 2);
    assert_eq!(availability.body["held"], 0);
    assert_eq!(availability.body["available"], 18);
    assert_eq!(availability.body["seats"][0]["status"], "sold");
    assert_eq!(availability.body["seats"][1]["status"], "sold");

    // The gate admits a ticket once.
    let validator = &shop.tenant.validator_token;
    let admitted = app
        .validate_ticket(
            validator,
            json!({ "qr_payload": tickets[0]["qr_payload"], "gate": "Puerta 2" }),
        )
        .await;
    assert_status(&admitted, 200);
    assert_eq!(admitted.body["result"], "admitted");
    assert_eq!(admitted.body["ticket"]["id"], tickets[0]["id"]);
    assert_eq!(admitted.body["ticket"]["uses"], 1);
    assert_eq!(admitted.body["ticket"]["first_gate"], "Puerta 2");

    let again = app
        .validate_ticket(
            validator,
            json!({ "code": tickets[0]["code"], "gate": "Puerta 3" }),
        )
        .await;
    assert_error(&again, 409, "ticket_already_used");
    assert_eq!(again.body["error"]["details"]["first_gate"], "Puerta 2");
    assert_eq!(again.body["error"]["details"]["uses"], 1);
    assert_eq!(again.body["error"]["details"]["max_uses"], 1);
    assert!(again.body["error"]["details"]["first_used_at"].is_string());

    // Every scan is recorded, the rejected one too.
    let scans = app
        .db
        .column_string(
            "SELECT result FROM validations WHERE tenant_id = $1 ORDER BY id",
            &[Param::from(shop.tenant.tenant_id)],
        )
        .await;
    assert_eq!(scans, ["admitted", "already_used"]);

    app.teardown().await;
}

/// Two seats at 25.00 USD and 36.12345678 Bs./USD, worked out by hand:
/// each line 25.00 × 36.12345678 = 903.0864195 → 903.09 Bs.; base 1,806.18;
/// IVA 16 % = 288.9888 → 288.99; total 2,095.17 Bs. and 58.00 USD.
async fn invoice_totals_hand_computed(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "manual",
            "J-00124134-5",
            ZoneSpec::Numbered {
                rows: vec![4],
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;

    let hold = app.hold_seats(cashier, shop.zone_id, &seats[..2]).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    assert_eq!(order.body["lines"][0]["total_bs_cents"], 90_309);
    assert_eq!(order.body["lines"][1]["total_bs_cents"], 90_309);
    assert_eq!(order.body["subtotal_bs_cents"], 180_618);
    assert_eq!(order.body["taxes"][0]["base_bs_cents"], 180_618);
    assert_eq!(order.body["tax_bs_cents"], 28_899);
    assert_eq!(order.body["taxes"][0]["tax_bs_cents"], 28_899);
    assert_eq!(order.body["total_bs_cents"], 209_517);
    assert_eq!(order.body["subtotal_usd_cents"], 5_000);
    assert_eq!(order.body["tax_usd_cents"], 800);
    assert_eq!(order.body["total_usd_cents"], 5_800);
    // 2,095.17 / 36.12345678 = 58.0014 USD: the smallest covering amount is 58.01.
    assert_eq!(order.body["balance_usd_cents"], 5_801);

    // 58.00 USD is 2,095.16 Bs.; the one céntimo left is booked as rounding.
    let payment = app.pay(cashier, order.id("id"), cash_usd(5_800)).await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["payment"]["amount_bs_cents"], 209_516);
    assert_eq!(payment.body["payment"]["applied_bs_cents"], 209_516);
    assert_eq!(payment.body["payment"]["change_cents"], 0);
    assert_eq!(payment.body["order"]["status"], "paid");
    assert_eq!(payment.body["order"]["rounding_bs_cents"], 1);
    assert_eq!(payment.body["order"]["balance_bs_cents"], 0);

    let documents = app.fiscal_documents(cashier).await;
    let invoice = &documents.body["items"][0];
    assert_eq!(invoice["total_bs_cents"], 209_517);
    assert_eq!(invoice["total_usd_cents"], 5_800);
    assert_eq!(invoice["content"]["subtotal_bs_cents"], 180_618);
    assert_eq!(invoice["content"]["tax_bs_cents"], 28_899);
    assert_eq!(invoice["content"]["taxes"][0]["base_bs_cents"], 180_618);
    assert_eq!(invoice["content"]["taxes"][0]["tax_bs_cents"], 28_899);
    assert_eq!(invoice["content"]["issuer"]["rif"], "J-00124134-5");

    app.teardown().await;
}

async fn cash_overpayment_returns_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "vuelto",
            "G-20009997-6",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 2_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let expected = compute_totals(&[iva_line(2_500)], rate()).unwrap();

    // 50.00 USD for a 29.00 USD ticket, change in dollars (the default).
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    assert_eq!(order.body["total_usd_cents"], 2_900);
    assert_eq!(order.body["total_bs_cents"], expected.total_bs_cents);

    let tendered_bs = rate().usd_to_bs(5_000).unwrap();
    let change_bs = tendered_bs - expected.total_bs_cents;
    let change_usd = rate().bs_to_usd(change_bs).unwrap();
    let payment = app.pay(cashier, order.id("id"), cash_usd(5_000)).await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["payment"]["amount_bs_cents"], tendered_bs);
    assert_eq!(
        payment.body["payment"]["applied_bs_cents"],
        expected.total_bs_cents
    );
    assert_eq!(payment.body["payment"]["change_currency"], "USD");
    assert_eq!(payment.body["payment"]["change_cents"], change_usd);
    assert_eq!(change_usd, 2_100);
    assert_eq!(
        payment.body["payment"]["rounding_bs_cents"],
        change_bs - rate().usd_to_bs(change_usd).unwrap()
    );
    assert_eq!(payment.body["order"]["status"], "paid");
    assert_eq!(
        payment.body["order"]["paid_bs_cents"],
        expected.total_bs_cents
    );

    // 50.00 USD again, change asked for in bolívares.
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let mut body = cash_usd(5_000);
    body["change_currency"] = json!("VES");
    let payment = app.pay(cashier, order.id("id"), body).await;
    assert_status(&payment, 201);
    assert_eq!(payment.body["payment"]["change_currency"], "VES");
    assert_eq!(payment.body["payment"]["change_cents"], change_bs);
    assert_eq!(payment.body["payment"]["rounding_bs_cents"], 0);
    assert_eq!(payment.body["order"]["status"], "paid");

    // Only cash gives change: an oversized card payment is rejected.
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let card = app
        .pay(
            cashier,
            order.id("id"),
            json!({ "method": "card", "currency": "USD", "amount_cents": 5_000, "reference": "T-000123" }),
        )
        .await;
    assert_error(&card, 409, "amount_exceeds_balance");
    assert_eq!(
        card.body["error"]["details"]["balance_bs_cents"],
        expected.total_bs_cents
    );

    app.teardown().await;
}
