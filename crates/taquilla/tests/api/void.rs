//! Voiding a paid order: seats back on sale, tickets cancelled, credit note issued.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, Param, ZoneSpec, assert_error, assert_status, spawn_app, uuid_of,
};

backend_tests!(void_returns_seats_and_issues_credit_note);

async fn void_returns_seats_and_issues_credit_note(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "anulacion",
            "J-12345678-4",
            ZoneSpec::Numbered {
                rows: vec![6],
                price_usd_cents: 4_000,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let admin = &shop.tenant.admin_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let sold: Vec<Uuid> = seats[..2].to_vec();

    let order = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "seat_ids": sold }))
        .await;
    let order_id = uuid_of(&order["id"]);
    let invoice_id = uuid_of(&order["invoice"]["id"]);
    let tickets = app.tickets(cashier, order_id).await;
    assert_status(&tickets, 200);
    let tickets = tickets.body.as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2);

    // Only a tenant admin may void.
    let by_cashier = app.void_order(cashier, order_id, "Error de caja").await;
    assert_error(&by_cashier, 403, "forbidden");

    let voided = app.void_order(admin, order_id, "Evento reprogramado").await;
    assert_status(&voided, 200);
    assert_eq!(voided.body["order"]["status"], "voided");
    let credit_note = &voided.body["credit_note"];
    assert_eq!(credit_note["kind"], "credit_note");
    assert_eq!(credit_note["series"], "NC");
    assert_eq!(credit_note["number"], 1);
    assert_eq!(credit_note["control_number"], "00-00000002");
    assert_eq!(voided.body["order"]["credit_note"], *credit_note);
    assert_eq!(uuid_of(&voided.body["order"]["invoice"]["id"]), invoice_id);

    // The seats are on sale again.
    let availability = app.availability(cashier, shop.zone_id).await;
    assert_eq!(availability.body["sold"], 0);
    assert_eq!(availability.body["available"], 6);
    for seat in availability.body["seats"].as_array().unwrap() {
        assert_eq!(seat["status"], "available", "seat {seat} after the void");
    }

    // The tickets are cancelled and the gate rejects them.
    let after = app.tickets(cashier, order_id).await;
    assert_status(&after, 200);
    for ticket in after.body.as_array().unwrap() {
        assert_eq!(ticket["status"], "cancelled");
    }
    for ticket in &tickets {
        let scan = app
            .validate_ticket(
                &shop.tenant.validator_token,
                json!({ "qr_payload": ticket["qr_payload"] }),
            )
            .await;
        assert_error(&scan, 409, "ticket_cancelled");
        assert_eq!(scan.body["error"]["details"]["ticket_id"], ticket["id"]);
    }

    // The fiscal record: the invoice and a credit note that references it.
    let documents = app.fiscal_documents(admin).await;
    let items = documents.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let invoice = items
        .iter()
        .find(|document| document["kind"] == "invoice")
        .expect("the invoice");
    let note = items
        .iter()
        .find(|document| document["kind"] == "credit_note")
        .expect("the credit note");
    assert_eq!(uuid_of(&invoice["id"]), invoice_id);
    assert_eq!(invoice["number"], 1);
    assert_eq!(note["number"], 1);
    assert_eq!(note["series"], "NC");
    assert_eq!(note["control_number"], "00-00000002");
    assert_eq!(uuid_of(&note["references_document_id"]), invoice_id);
    assert_eq!(uuid_of(&note["order_id"]), order_id);
    assert_eq!(note["total_bs_cents"], invoice["total_bs_cents"]);
    assert_eq!(note["total_usd_cents"], invoice["total_usd_cents"]);
    assert_eq!(note["content"]["title"], "NOTA DE CRÉDITO");
    assert_eq!(note["content"]["reason"], "Evento reprogramado");
    assert_eq!(note["content"]["references"]["number"], 1);
    assert_eq!(note["content"]["references"]["series"], "A");
    assert_eq!(
        note["content"]["references"]["control_number"],
        "00-00000001"
    );
    let one = app
        .get(&format!(
            "/api/v1/fiscal/documents/{}",
            note["id"].as_str().unwrap()
        ))
        .token(admin)
        .send()
        .await;
    assert_status(&one, 200);
    assert_eq!(one.body, *note);

    // A second void is rejected and issues nothing.
    let twice = app.void_order(admin, order_id, "Otra vez").await;
    assert_error(&twice, 409, "order_not_voidable");
    assert_eq!(twice.body["error"]["details"]["status"], "voided");
    let documents = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM fiscal_documents WHERE tenant_id = $1",
            &[Param::from(shop.tenant.tenant_id)],
        )
        .await;
    assert_eq!(documents, 2);

    // The returned seats can be sold again, to the next invoice number.
    let resold = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "seat_ids": sold }))
        .await;
    assert_eq!(resold["invoice"]["number"], 2);
    assert_eq!(resold["invoice"]["control_number"], "00-00000003");

    app.teardown().await;
}
