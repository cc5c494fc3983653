//! Printable invoices, credit notes and tickets: the 80 mm HTML views and the
//! A4 PDFs, after real sales, with tenant isolation and role checks.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Shop, TestApp, ZoneSpec, assert_error, assert_status,
    spawn_app, uuid_of,
};

backend_tests!(
    invoice_and_credit_note_print,
    ticket_print_views,
    print_requires_tenant_and_role
);

/// Sells two taxed seats of the shop's numbered zone and two units of a
/// general-admission zone marked exempt; returns both paid orders.
async fn sell_taxed_and_exempt(app: &TestApp, shop: &Shop) -> (Value, Value) {
    let admin = &shop.tenant.admin_token;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let taxed = app
        .sell(
            shop,
            json!({ "zone_id": shop.zone_id, "seat_ids": seats[..2] }),
        )
        .await;

    let exempt_zone = app
        .create_zone(
            admin,
            shop.event_id,
            &ZoneSpec::GeneralAdmission {
                capacity: 50,
                price_usd_cents: 2_000,
            },
        )
        .await;
    let exemption = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/zones/{exempt_zone}/pricing"),
        )
        .token(admin)
        .json(json!({ "tax_exempt": true }))
        .send()
        .await;
    assert_status(&exemption, 200);
    let exempt = app
        .sell(shop, json!({ "zone_id": exempt_zone, "quantity": 2 }))
        .await;
    (taxed, exempt)
}

async fn setup(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::Numbered {
            rows: vec![6],
            price_usd_cents: 4_500,
        },
        EventTimes::default(),
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> ApiResponse {
    app.get(path).token(token).send().await
}

fn header<'a>(response: &'a ApiResponse, name: &str) -> &'a str {
    response
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[track_caller]
fn assert_html(response: &ApiResponse) {
    assert_status(response, 200);
    assert_eq!(header(response, "content-type"), "text/html; charset=utf-8");
    assert!(response.text.starts_with("<!DOCTYPE html>"));
    assert!(response.text.contains("@page { size: 80mm auto;"));
}

#[track_caller]
fn assert_pdf(response: &ApiResponse, file_name: &str) {
    assert_status(response, 200);
    assert_eq!(header(response, "content-type"), "application/pdf");
    assert_eq!(
        header(response, "content-disposition"),
        format!("inline; filename=\"{file_name}\"")
    );
    assert!(response.text.starts_with("%PDF-"), "not a PDF");
    assert!(response.text.trim_end().ends_with("%%EOF"), "truncated PDF");
}

async fn invoice_and_credit_note_print(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = setup(&app, "impresion").await;
    let cashier = &shop.tenant.cashier_token;
    let (taxed, exempt) = sell_taxed_and_exempt(&app, &shop).await;
    let taxed_invoice = uuid_of(&taxed["invoice"]["id"]);
    let exempt_invoice = uuid_of(&exempt["invoice"]["id"]);
    let control_number = taxed["invoice"]["control_number"].as_str().unwrap();

    // The original of the taxed invoice: no « (E)», no copy legend.
    let original = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{taxed_invoice}/print"),
    )
    .await;
    assert_html(&original);
    for expected in [
        "<h1>FACTURA</h1>",
        "Serie A N° 00000001",
        control_number,
        "Producciones impresion, C.A.",
        "RIF J-12345678-4",
        "Domicilio fiscal: Av. Urdaneta, Caracas 1010",
        "María Pérez",
        "Platea — fila",
        "Base imponible IVA 16 %",
        "Tasa BCV aplicada",
        "Bs. 36,12345678 / US$",
    ] {
        assert!(
            original.text.contains(expected),
            "the invoice lacks {expected:?}"
        );
    }
    assert!(!original.text.contains("(E)"), "a taxed line shows (E)");
    assert!(!original.text.contains("sin derecho a crédito fiscal"));
    assert!(!original.text.contains("<script"));

    let copy = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{taxed_invoice}/print?copy=true"),
    )
    .await;
    assert_html(&copy);
    assert!(copy.text.contains("sin derecho a crédito fiscal"));

    // The exempt invoice marks its one line, and only it, with « (E)».
    let exempt_print = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{exempt_invoice}/print"),
    )
    .await;
    assert_html(&exempt_print);
    assert!(exempt_print.text.contains("Pista — entrada general (E)"));
    assert_eq!(exempt_print.text.matches("(E)").count(), 1);
    assert!(exempt_print.text.contains("Serie A N° 00000002"));

    let pdf = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{taxed_invoice}/pdf"),
    )
    .await;
    assert_pdf(&pdf, "factura-A-00000001.pdf");
    let pdf_copy = get(
        &app,
        &shop.tenant.admin_token,
        &format!("/api/v1/fiscal/documents/{taxed_invoice}/pdf?copy=true"),
    )
    .await;
    assert_pdf(&pdf_copy, "factura-A-00000001-copia.pdf");

    // The credit note cites the invoice it voids.
    let order_id = uuid_of(&taxed["id"]);
    let voided = app
        .void_order(&shop.tenant.admin_token, order_id, "Evento reprogramado")
        .await;
    assert_status(&voided, 200);
    let credit_note = uuid_of(&voided.body["credit_note"]["id"]);
    let note = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{credit_note}/print"),
    )
    .await;
    assert_html(&note);
    for expected in [
        "<h1>NOTA DE CRÉDITO</h1>",
        "Serie NC N° 00000001",
        "Afecta a la FACTURA Serie A N° 00000001",
        control_number,
        "Evento reprogramado",
    ] {
        assert!(
            note.text.contains(expected),
            "the credit note lacks {expected:?}"
        );
    }
    let note_pdf = get(
        &app,
        cashier,
        &format!("/api/v1/fiscal/documents/{credit_note}/pdf"),
    )
    .await;
    assert_pdf(&note_pdf, "nota-de-credito-NC-00000001.pdf");

    app.teardown().await;
}

async fn ticket_print_views(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = setup(&app, "entradas").await;
    let cashier = &shop.tenant.cashier_token;
    let (taxed, exempt) = sell_taxed_and_exempt(&app, &shop).await;
    let taxed_order = uuid_of(&taxed["id"]);
    let exempt_order = uuid_of(&exempt["id"]);
    let tickets = app.tickets(cashier, taxed_order).await;
    assert_status(&tickets, 200);
    let codes: Vec<String> = tickets
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|ticket| ticket["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 2);

    let seated = get(
        &app,
        cashier,
        &format!("/api/v1/orders/{taxed_order}/tickets/print"),
    )
    .await;
    assert_html(&seated);
    assert_eq!(seated.text.matches("<section class=\"ticket\">").count(), 2);
    assert_eq!(seated.text.matches("<svg class=\"qr\"").count(), 2);
    for code in &codes {
        assert!(seated.text.contains(code.as_str()), "missing ticket {code}");
    }
    for expected in [
        "Concierto de prueba",
        "Teatro Teresa Carreño",
        "Av. Paseo Colón, Caracas",
        "<span>Zona</span> <span>Platea</span>",
        "<span>Fila</span>",
        "<span>Asiento</span> <span>1</span>",
        "US$ 45,00 + IVA 16 %",
        "FACTURA Serie A N° 00000001",
        "Entrada 2 de 2",
    ] {
        assert!(
            seated.text.contains(expected),
            "the tickets lack {expected:?}"
        );
    }
    assert!(!seated.text.contains("ANULADA"));

    let general = get(
        &app,
        cashier,
        &format!("/api/v1/orders/{exempt_order}/tickets/print"),
    )
    .await;
    assert_html(&general);
    assert!(general.text.contains("Entrada general"));
    assert!(general.text.contains("US$ 20,00 (E)"));

    let pdf = get(
        &app,
        cashier,
        &format!("/api/v1/orders/{taxed_order}/tickets/pdf"),
    )
    .await;
    assert_pdf(&pdf, &format!("entradas-{taxed_order}.pdf"));

    // Voided tickets still print, marked as cancelled.
    let voided = app
        .void_order(&shop.tenant.admin_token, taxed_order, "Error de caja")
        .await;
    assert_status(&voided, 200);
    let after_void = get(
        &app,
        cashier,
        &format!("/api/v1/orders/{taxed_order}/tickets/print"),
    )
    .await;
    assert_html(&after_void);
    assert_eq!(after_void.text.matches("ANULADA").count(), 2);

    app.teardown().await;
}

async fn print_requires_tenant_and_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = setup(&app, "propia").await;
    let other = app.setup_tenant("ajena", "J-87654321-0").await;
    let seats = app.seat_ids(&shop.tenant.cashier_token, shop.zone_id).await;
    let order = app
        .sell(
            &shop,
            json!({ "zone_id": shop.zone_id, "seat_ids": seats[..1] }),
        )
        .await;
    let order_id = uuid_of(&order["id"]);
    let invoice_id = uuid_of(&order["invoice"]["id"]);
    let paths = [
        format!("/api/v1/fiscal/documents/{invoice_id}/print"),
        format!("/api/v1/fiscal/documents/{invoice_id}/pdf"),
        format!("/api/v1/orders/{order_id}/tickets/print"),
        format!("/api/v1/orders/{order_id}/tickets/pdf"),
    ];

    for path in &paths {
        let own = get(&app, &shop.tenant.cashier_token, path).await;
        assert_status(&own, 200);

        // Another tenant's ids do not exist for this tenant.
        let foreign = get(&app, &other.admin_token, path).await;
        assert_error(&foreign, 404, "not_found");

        // A gate validator reads no fiscal documents and prints no tickets.
        let validator = get(&app, &shop.tenant.validator_token, path).await;
        assert_error(&validator, 403, "forbidden");

        let anonymous = app.get(path).send().await;
        assert_status(&anonymous, 401);
    }

    let unknown = get(
        &app,
        &shop.tenant.cashier_token,
        &format!("/api/v1/fiscal/documents/{}/print", Uuid::now_v7()),
    )
    .await;
    assert_error(&unknown, 404, "not_found");

    // An unpaid order has no tickets to print yet.
    let hold = app
        .hold_seats(&shop.tenant.cashier_token, shop.zone_id, &seats[1..2])
        .await;
    assert_status(&hold, 201);
    let pending = app
        .create_order(&shop.tenant.cashier_token, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&pending, 201);
    let unpaid = get(
        &app,
        &shop.tenant.cashier_token,
        &format!("/api/v1/orders/{}/tickets/print", pending.id("id")),
    )
    .await;
    assert_error(&unpaid, 404, "not_found");
    assert_eq!(unpaid.body["error"]["details"]["entity"], "tickets");

    app.teardown().await;
}
