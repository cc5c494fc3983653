//! Malformed input: every rejection is a 4xx with the error envelope, a
//! Spanish message by default and an English one on request.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, EventTimes, Param, ZoneSpec, assert_error, assert_status, cash_ves,
    pago_movil, spawn_app,
};

backend_tests!(malformed_input_rejected, validation_messages_localised);

/// Asserts a 422 whose first field error is `field` breaking `rule`.
#[track_caller]
fn assert_field_error(response: &ApiResponse, field: &str, rule: &str) {
    assert_error(response, 422, "validation_failed");
    let errors = response.body["error"]["details"]["errors"]
        .as_array()
        .expect("details.errors");
    assert_eq!(errors[0]["field"], field, "body: {}", response.text);
    assert_eq!(errors[0]["rule"], rule, "body: {}", response.text);
}

fn customer(document: &str, phone: &str) -> Value {
    json!({ "first_name": "Ana", "last_name": "Rojas", "document": document, "phone": phone })
}

/// One malformed request and the response it must get.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<String>,
    idempotency_key: bool,
    status: u16,
    code: &'static str,
    /// Field and rule of the first field error, for 422 responses.
    field_error: Option<(&'static str, &'static str)>,
}

impl Case {
    fn json(name: &'static str, path: &str, body: Value, status: u16, code: &'static str) -> Self {
        Self {
            name,
            method: Method::POST,
            path: path.to_string(),
            body: Some(body.to_string()),
            idempotency_key: true,
            status,
            code,
            field_error: None,
        }
    }

    fn raw(name: &'static str, path: &str, body: &str, status: u16, code: &'static str) -> Self {
        Self {
            body: Some(body.to_string()),
            ..Self::json(name, path, Value::Null, status, code)
        }
    }

    fn field(
        name: &'static str,
        path: &str,
        body: Value,
        field: &'static str,
        rule: &'static str,
    ) -> Self {
        Self {
            field_error: Some((field, rule)),
            ..Self::json(name, path, body, 422, "validation_failed")
        }
    }

    fn get(name: &'static str, path: &str, status: u16, code: &'static str) -> Self {
        Self {
            method: Method::GET,
            body: None,
            ..Self::json(name, path, Value::Null, status, code)
        }
    }
}

async fn malformed_input_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "validaciones",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 20,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let admin = &shop.tenant.admin_token;
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let order_id = order.id("id");
    let zone_id = shop.zone_id;
    let payments = format!("/api/v1/orders/{order_id}/payments");

    let mut unknown_bank = pago_movil(100, "777001");
    unknown_bank["bank_code"] = json!("9999");
    let mut landline_pago_movil = pago_movil(100, "777002");
    landline_pago_movil["phone"] = json!("0212-5551234");
    let cases = vec![
        Case::field(
            "customer RIF check digit",
            "/api/v1/customers",
            customer("J-12345678-9", "0414-1234567"),
            "document",
            "rif_check_digit",
        ),
        Case::field(
            "customer RIF letter",
            "/api/v1/customers",
            customer("X-12345678-4", "0414-1234567"),
            "document",
            "rif_letter",
        ),
        Case::field(
            "customer short phone",
            "/api/v1/customers",
            customer("V-12.345.678", "0414-123"),
            "phone",
            "phone_venezuelan",
        ),
        Case::field(
            "customer phone letters",
            "/api/v1/customers",
            customer("V-12.345.678", "0414-ABCDEFG"),
            "phone",
            "phone_format",
        ),
        Case::field(
            "customer without contact",
            "/api/v1/customers",
            json!({ "first_name": "Ana", "last_name": "Rojas" }),
            "phone",
            "contact_required",
        ),
        Case::field(
            "customer first name too long",
            "/api/v1/customers",
            json!({ "first_name": "a".repeat(101), "last_name": "Rojas", "phone": "0414-1234567" }),
            "first_name",
            "too_long",
        ),
        Case::field(
            "venue name too long",
            "/api/v1/venues",
            json!({ "name": "n".repeat(201), "address": "Av. Bolívar", "city": "Valencia" }),
            "name",
            "too_long",
        ),
        Case::field(
            "venue name blank",
            "/api/v1/venues",
            json!({ "name": "   ", "address": "Av. Bolívar", "city": "Valencia" }),
            "name",
            "required",
        ),
        Case::field(
            "negative quantity",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": -1 }),
            "quantity",
            "out_of_range",
        ),
        Case::field(
            "zero quantity",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": 0 }),
            "quantity",
            "out_of_range",
        ),
        Case::field(
            "quantity over 50",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": 51 }),
            "quantity",
            "out_of_range",
        ),
        Case::field(
            "unknown field",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": 1, "courtesy": true }),
            "courtesy",
            "unknown_field",
        ),
        Case::field(
            "unknown field of a payment in a sale",
            "/api/v1/sales",
            json!({
                "zone_id": zone_id,
                "quantity": 1,
                "customer_id": Uuid::now_v7(),
                "payments": [
                    { "method": "cash", "currency": "VES", "amount_cents": 100 },
                    { "method": "cash", "currency": "VES", "amount_cents": 100, "tip_cents": 50 }
                ]
            }),
            "payments[1].tip_cents",
            "unknown_field",
        ),
        Case::field(
            "bank reference on a cash payment",
            &payments,
            json!({ "method": "cash", "currency": "USD", "amount_cents": 1_160, "reference": "R1" }),
            "reference",
            "not_allowed_for_method",
        ),
        Case::field(
            "payer's phone on a card payment",
            &payments,
            json!({ "method": "card", "currency": "VES", "amount_cents": 100, "reference": "T-1", "phone": "0414-1234567" }),
            "phone",
            "not_allowed_for_method",
        ),
        Case::field(
            "unknown field of a price modifier",
            &format!("/api/v1/events/{}/discount-codes", shop.event_id),
            json!({
                "code": "TYPO-50",
                "modifier": { "kind": "percent", "basis_point": -5_000, "basis_points": -100 },
                "max_uses": 5
            }),
            "modifier.basis_point",
            "unknown_field",
        ),
        Case::field(
            "hold without quantity",
            "/api/v1/holds",
            json!({ "zone_id": zone_id }),
            "quantity",
            "required",
        ),
        Case::field(
            "duplicate seats",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "seat_ids": [zone_id, zone_id] }),
            "seat_ids",
            "duplicate",
        ),
        Case::json(
            "unknown zone",
            "/api/v1/holds",
            json!({ "zone_id": Uuid::new_v4(), "quantity": 1 }),
            404,
            "not_found",
        ),
        Case::raw(
            "invalid JSON",
            "/api/v1/customers",
            "{not json",
            400,
            "invalid_json",
        ),
        Case {
            field_error: Some(("name", "duplicate_field")),
            ..Case::raw(
                "duplicate key",
                "/api/v1/venues",
                r#"{"name": "Sala", "name": "Otra", "address": "Av. Urdaneta", "city": "Caracas"}"#,
                422,
                "validation_failed",
            )
        },
        Case::raw("empty body", "/api/v1/holds", "", 400, "invalid_json"),
        Case::raw("null body", "/api/v1/holds", "null", 400, "invalid_json"),
        Case::raw(
            "deeply nested JSON",
            "/api/v1/holds",
            &format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)),
            400,
            "invalid_json",
        ),
        Case::field(
            "zone id as number",
            "/api/v1/holds",
            json!({ "zone_id": 123, "quantity": 1 }),
            "zone_id",
            "invalid_type",
        ),
        Case::field(
            "quantity as text",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": "dos" }),
            "quantity",
            "invalid_type",
        ),
        Case::field(
            "quantity as fraction",
            "/api/v1/holds",
            json!({ "zone_id": zone_id, "quantity": 1.5 }),
            "quantity",
            "invalid_type",
        ),
        Case::field(
            "amount as text",
            &payments,
            json!({ "method": "cash", "currency": "VES", "amount_cents": "100" }),
            "amount_cents",
            "invalid_type",
        ),
        Case::field(
            "missing zone id",
            "/api/v1/holds",
            json!({ "quantity": 1 }),
            "zone_id",
            "required",
        ),
        Case::raw(
            "NUL character",
            "/api/v1/customers",
            r#"{"first_name":"A\u0000","last_name":"B","phone":"04141234567"}"#,
            400,
            "invalid_json",
        ),
        Case::field(
            "control character in a name",
            "/api/v1/customers",
            json!({ "first_name": "A\u{7}", "last_name": "B", "phone": "04141234567" }),
            "first_name",
            "invalid_characters",
        ),
        Case::field(
            "zero payment",
            &payments,
            cash_ves(0),
            "amount_cents",
            "out_of_range",
        ),
        Case::field(
            "negative payment",
            &payments,
            cash_ves(-500),
            "amount_cents",
            "out_of_range",
        ),
        Case::field(
            "unknown currency",
            &payments,
            json!({ "method": "cash", "currency": "EUR", "amount_cents": 100 }),
            "currency",
            "invalid_value",
        ),
        Case::field(
            "unknown method",
            &payments,
            json!({ "method": "bitcoin", "currency": "USD", "amount_cents": 100 }),
            "method",
            "invalid_value",
        ),
        Case::field(
            "Pago Móvil unknown bank",
            &payments,
            unknown_bank,
            "bank_code",
            "bank_code_unknown",
        ),
        Case::field(
            "Pago Móvil landline",
            &payments,
            landline_pago_movil,
            "phone",
            "phone_mobile",
        ),
        Case {
            idempotency_key: false,
            ..Case::json(
                "payment without key",
                &payments,
                cash_ves(100),
                400,
                "idempotency_key_required",
            )
        },
        Case::field(
            "rate with nine decimals",
            "/api/v1/exchange-rates",
            json!({ "rate": "36.123456789", "effective_date": "2026-01-05" }),
            "rate",
            "decimal_with_at_most_8_places",
        ),
        Case::field(
            "rate date format",
            "/api/v1/exchange-rates",
            json!({ "rate": "36.5", "effective_date": "05/01/2026" }),
            "effective_date",
            "date_format",
        ),
        Case::field(
            "event sale window reversed",
            "/api/v1/events",
            json!({
                "venue_id": shop.venue_id,
                "name": "Al revés",
                "starts_at": "2030-01-10T20:00:00-04:00",
                "sale_starts_at": "2030-01-05T00:00:00-04:00",
                "sale_ends_at": "2030-01-01T00:00:00-04:00",
            }),
            "sale_ends_at",
            "after_start",
        ),
        Case::field(
            "event start not a date",
            "/api/v1/events",
            json!({ "venue_id": shop.venue_id, "name": "Sin fecha", "starts_at": "mañana" }),
            "starts_at",
            "datetime_format",
        ),
        Case::field(
            "numbered zone without rows",
            &format!("/api/v1/events/{}/zones", shop.event_id),
            json!({ "name": "Balcón", "kind": "numbered", "price_usd_cents": 100 }),
            "rows",
            "required_for_numbered_zone",
        ),
        Case::get("unknown route", "/api/v1/no-existe", 404, "not_found"),
        Case::get(
            "id that is not a UUID",
            "/api/v1/orders/123",
            404,
            "not_found",
        ),
        Case::get(
            "page limit zero",
            "/api/v1/venues?limit=0",
            422,
            "validation_failed",
        ),
        Case::get(
            "page limit not a number",
            "/api/v1/venues?limit=muchos",
            400,
            "invalid_query",
        ),
        Case {
            field_error: Some(("documnt", "unknown_field")),
            ..Case::get(
                "misspelt customer filter",
                "/api/v1/customers?documnt=V-12345678",
                422,
                "validation_failed",
            )
        },
        Case {
            field_error: Some(("dry_run", "unknown_field")),
            ..Case::json(
                "query parameter on a request that changes something",
                &format!("/api/v1/events/{}/cancel?dry_run=1", shop.event_id),
                json!({}),
                422,
                "validation_failed",
            )
        },
        Case {
            field_error: Some(("tenant", "unknown_field")),
            ..Case::get(
                "parameter of an endpoint that reads none",
                "/api/v1/fiscal/verify?tenant=otro",
                422,
                "validation_failed",
            )
        },
        Case {
            field_error: Some(("limit", "unknown_field")),
            ..Case::get(
                "page limit on a list without pages",
                "/api/v1/banks?limit=1",
                422,
                "validation_failed",
            )
        },
        Case {
            field_error: Some(("lmit", "unknown_field")),
            ..Case::get(
                "misspelt page limit",
                "/api/v1/venues?limit=5&lmit=3",
                422,
                "validation_failed",
            )
        },
        Case::get(
            "page cursor not a UUID",
            "/api/v1/venues?cursor=abc",
            400,
            "invalid_cursor",
        ),
        Case::raw(
            "body over the size limit",
            "/api/v1/customers",
            &format!("\"{}\"", "x".repeat(300_000)),
            413,
            "payload_too_large",
        ),
    ];

    let tenant = [Param::from(shop.tenant.tenant_id)];
    let customers_before = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM customers WHERE tenant_id = $1",
            &tenant,
        )
        .await;
    for case in &cases {
        // Venues, rates, events and zones are for admins; the rest is the cashier's.
        let admin_only = ["/api/v1/venues", "/api/v1/exchange-rates", "/api/v1/events"]
            .iter()
            .any(|prefix| case.path.starts_with(prefix));
        let token = if admin_only { admin } else { cashier };
        let mut request = app.request(case.method.clone(), &case.path).token(token);
        if case.idempotency_key {
            request = request.idempotency_key(&Uuid::new_v4().to_string());
        }
        if let Some(body) = &case.body {
            request = request.raw_json(body);
        }
        let response = request.send().await;

        assert!(
            response.status.as_u16() < 500,
            "{}: server error {}",
            case.name,
            response.text
        );
        assert_eq!(
            response.status.as_u16(),
            case.status,
            "{}: {}",
            case.name,
            response.text
        );
        assert_eq!(
            response.error_code(),
            case.code,
            "{}: {}",
            case.name,
            response.text
        );
        let message = response.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(!message.is_empty(), "{}: no message", case.name);
        if let Some((field, rule)) = case.field_error {
            let first = &response.body["error"]["details"]["errors"][0];
            assert_eq!(first["field"], field, "{}: {}", case.name, response.text);
            assert_eq!(first["rule"], rule, "{}: {}", case.name, response.text);
            assert!(
                message.starts_with("Los datos enviados no son válidos."),
                "{}: {message}",
                case.name
            );
            assert!(
                message.contains(&format!("«{field}»")),
                "{}: {message}",
                case.name
            );
        }
    }

    // Many or long made-up keys get a short error: at most ten fields, each
    // name cut at 100 characters.
    let mut body = json!({ "zone_id": zone_id, "quantity": 1 });
    for index in 0..20 {
        body[format!("extra_{index}")] = json!(index);
    }
    body["k".repeat(300)] = json!(true);
    let flooded = app
        .post("/api/v1/holds")
        .token(cashier)
        .idempotency_key(&Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await;
    assert_error(&flooded, 422, "validation_failed");
    let errors = flooded.body["error"]["details"]["errors"]
        .as_array()
        .expect("details.errors");
    assert_eq!(errors.len(), 10, "{}", flooded.text);
    assert!(
        errors.iter().all(|error| error["rule"] == "unknown_field"
            && error["field"].as_str().unwrap().chars().count() <= 101),
        "{}",
        flooded.text
    );
    assert!(flooded.text.len() < 8_000, "{} bytes", flooded.text.len());

    // Nothing was written by the rejected requests.
    let customers_after = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM customers WHERE tenant_id = $1",
            &tenant,
        )
        .await;
    assert_eq!(customers_after, customers_before);
    let payment_rows = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM payments WHERE order_id = $1",
            &[Param::from(order_id)],
        )
        .await;
    assert_eq!(payment_rows, 0);
    let holds = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM holds WHERE tenant_id = $1", &tenant)
        .await;
    assert_eq!(holds, 1);

    // A tenant with a bad RIF is rejected and not created.
    let platform = app.platform_admin_token("plataforma-validaciones").await;
    let tenant = app
        .post("/api/v1/tenants")
        .token(&platform)
        .json(json!({ "slug": "rif-malo", "name": "RIF Malo, C.A.", "rif": "J-12345678-0", "fiscal_address": "Caracas" }))
        .send()
        .await;
    assert_field_error(&tenant, "rif", "rif_check_digit");
    let created = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM tenants WHERE slug = $1",
            &[Param::from("rif-malo")],
        )
        .await;
    assert_eq!(created, 0);
    let good = app
        .post("/api/v1/tenants")
        .token(&platform)
        .json(json!({ "slug": "rif-bueno", "name": "RIF Bueno, C.A.", "rif": "g 20009997 6", "fiscal_address": "Caracas" }))
        .send()
        .await;
    assert_status(&good, 201);
    assert_eq!(good.body["rif"], "G-20009997-6");

    // A misspelt field is named next to the required field it stands for.
    let misspelt = app
        .post("/api/v1/customers")
        .token(admin)
        .json(json!({ "first_nam": "Ana", "last_name": "Rojas", "document": "V-12345678", "phone": "0414-1234567" }))
        .send()
        .await;
    assert_field_error(&misspelt, "first_name", "required");
    let errors = misspelt.body["error"]["details"]["errors"]
        .as_array()
        .unwrap();
    assert_eq!(errors.len(), 2, "{}", misspelt.text);
    assert_eq!(errors[1]["field"], "first_nam");
    assert_eq!(errors[1]["rule"], "unknown_field");

    app.teardown().await;
}

async fn validation_messages_localised(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("idiomas", "G-20009997-6").await;
    let bad_rif = customer("J-12345678-9", "0414-1234567");

    let spanish = app
        .post("/api/v1/customers")
        .token(&tenant.cashier_token)
        .json(bad_rif.clone())
        .send()
        .await;
    assert_field_error(&spanish, "document", "rif_check_digit");
    assert_eq!(
        spanish.body["error"]["message"],
        "Los datos enviados no son válidos. El campo «document» tiene un dígito verificador de RIF incorrecto."
    );
    assert_eq!(
        spanish.body["error"]["details"]["errors"][0]["message"],
        "El campo «document» tiene un dígito verificador de RIF incorrecto."
    );

    let english = app
        .post("/api/v1/customers")
        .token(&tenant.cashier_token)
        .header("accept-language", "en")
        .json(bad_rif.clone())
        .send()
        .await;
    assert_field_error(&english, "document", "rif_check_digit");
    assert_eq!(
        english.body["error"]["message"],
        "The submitted data is invalid. Field `document` has a wrong RIF check digit."
    );
    assert_eq!(
        english.body["error"]["details"]["errors"][0]["message"],
        "Field `document` has a wrong RIF check digit."
    );

    // A browser that prefers Spanish but lists English gets Spanish.
    let preferred = app
        .post("/api/v1/customers")
        .token(&tenant.cashier_token)
        .header("accept-language", "es-VE,es;q=0.9,en;q=0.5")
        .json(bad_rif)
        .send()
        .await;
    assert_eq!(preferred.body, spanish.body);

    // Non-validation errors are translated too.
    let invalid_json = app
        .post("/api/v1/customers")
        .token(&tenant.cashier_token)
        .raw_json("{")
        .send()
        .await;
    assert_error(&invalid_json, 400, "invalid_json");
    assert_eq!(
        invalid_json.body["error"]["message"],
        "El cuerpo de la solicitud no es JSON válido."
    );
    let invalid_json = app
        .post("/api/v1/customers")
        .token(&tenant.cashier_token)
        .header("accept-language", "en-US,en;q=0.9")
        .raw_json("{")
        .send()
        .await;
    assert_error(&invalid_json, 400, "invalid_json");
    assert_eq!(
        invalid_json.body["error"]["message"],
        "The request body is not valid JSON."
    );

    let missing_key = app
        .post(&format!("/api/v1/orders/{}/payments", Uuid::new_v4()))
        .token(&tenant.cashier_token)
        .header("accept-language", "en")
        .json(cash_ves(100))
        .send()
        .await;
    assert_error(&missing_key, 400, "idempotency_key_required");
    assert_eq!(
        missing_key.body["error"]["message"],
        "This operation requires an Idempotency-Key header."
    );

    app.teardown().await;
}
