//! The cashier's sale screen and the receipt over plain HTTP: what the pages
//! render and who may open them. A whole sale goes through the session cookie
//! as the page script makes it (hold, customer, order, payments), while a
//! second cashier races for the same seat.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use taquilla_store::model::Role;
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, PASSWORD, Param, Shop, TestApp, ZoneSpec, assert_status, pago_movil,
    spawn_app, uuid_of,
};

backend_tests!(
    sale_screen_lists_zones_and_rate,
    sale_screen_checks_role_and_tenant,
    cookie_sale_sells_seat_once,
    receipt_shows_invoice_change_and_tickets,
    receipt_checks_role_and_tenant
);

/// A signed-in web session: its cookies and CSRF token.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
    csrf: String,
}

struct Reply {
    status: StatusCode,
    location: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

impl<'a> Browser<'a> {
    fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(existing, _)| existing != name);
            if !value.is_empty() && !text.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .expect("sending a web request");
        self.absorb(response.headers());
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        Reply {
            status,
            location,
            body: response.text().await.unwrap(),
        }
    }

    /// Signs `username` in through the sign-in form.
    async fn sign_in(app: &'a TestApp, username: &str) -> Browser<'a> {
        let mut browser = Browser {
            app,
            cookies: Vec::new(),
            csrf: String::new(),
        };
        let form = browser.get("/app/login").await;
        let marker = "name=\"csrf_token\" value=\"";
        let start = form.body.find(marker).expect("csrf_token field") + marker.len();
        let token = form.body[start..start + 64].to_string();
        let request = app
            .client
            .post(format!("{}/app/login", app.address))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ]);
        let signed_in = browser.send(request).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        let page = browser.get("/app/taquilla").await;
        let marker = "<meta name=\"csrf-token\" content=\"";
        let start = page.body.find(marker).expect("csrf meta tag") + marker.len();
        browser.csrf = page.body[start..start + 64].to_string();
        browser
    }

    async fn get(&mut self, path: &str) -> Reply {
        let request = self
            .app
            .client
            .get(format!("{}{path}", self.app.address))
            .header("Accept-Language", "es-VE");
        self.send(request).await
    }

    /// Calls the API as the page script does: cookie, CSRF token, Spanish
    /// messages and an Idempotency-Key.
    async fn api(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, format!("{}/api/v1{path}", self.app.address))
            .header("Accept-Language", "es-VE")
            .header("X-CSRF-Token", self.csrf.clone())
            .header("Idempotency-Key", Uuid::now_v7().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }
}

/// Sets up a shop with a numbered hall of 3 rows of 10 seats at US$ 45,00.
async fn numbered_shop(app: &TestApp, slug: &str, rif: &str) -> Shop {
    app.setup_shop(
        slug,
        rif,
        ZoneSpec::Numbered {
            rows: vec![10, 10, 10],
            price_usd_cents: 4_500,
        },
        EventTimes::default(),
    )
    .await
}

/// Sells two seats by Pago Móvil for part and US$ 100 in cash for the rest,
/// with IGTF on; returns the paid order.
async fn sell_two_seats(app: &TestApp, shop: &Shop) -> Value {
    let admin = &shop.tenant.admin_token;
    let igtf = app
        .request(reqwest::Method::PUT, "/api/v1/settings/igtf")
        .token(admin)
        .json(json!({ "enabled": true, "basis_points": 300, "methods": ["cash", "card", "transfer"] }))
        .send()
        .await;
    assert_status(&igtf, 200);
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let hold = app.hold_seats(cashier, shop.zone_id, &seats[..2]).await;
    assert_status(&hold, 201);
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    assert_status(&order, 201);
    let order_id = order.id("id");
    let first = app
        .pay(cashier, order_id, pago_movil(100_000, "778899"))
        .await;
    assert_status(&first, 201);
    let cash = json!({ "method": "cash", "currency": "USD", "amount_cents": 10_000 });
    let second = app.pay(cashier, order_id, cash).await;
    assert_status(&second, 201);
    assert_eq!(second.body["order"]["status"], "paid", "{}", second.text);
    second.body["order"].clone()
}

async fn sale_screen_lists_zones_and_rate(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "sala", "J-12345678-4").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let held = app.hold_seats(cashier, shop.zone_id, &seats[..3]).await;
    assert_status(&held, 201);

    let mut browser = Browser::sign_in(&app, "sala-cajero").await;
    let page = browser
        .get(&format!("/app/taquilla/{}", shop.event_id))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("??"),
        "untranslated text: {}",
        page.body
    );
    assert!(page.body.contains("<html lang=\"es-VE\">"));
    assert!(page.body.contains("Concierto de prueba"));
    assert!(
        page.body
            .contains(&format!("data-zone-id=\"{}\"", shop.zone_id))
    );
    assert!(page.body.contains("Platea"));
    assert!(page.body.contains("Precio: US$ 45,00"), "{}", page.body);
    // 30 seats, 3 of them held.
    assert!(
        page.body
            .contains("Quedan: <span class=\"zone-left-count\">27</span> / 30"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Bs. 36,12345678 por US$"),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-testid=\"seat-map\""));
    assert!(page.body.contains("data-testid=\"flash-error\""));
    assert!(page.body.contains("/app/static/cashier.js"));
    // The script's data names the zone and is safe inside <script>.
    let data_start = page.body.find("id=\"sale-data\">").unwrap();
    let data = &page.body[data_start..];
    assert!(data.contains(&shop.zone_id.to_string()));
    assert!(data.contains("\"numbered\":true"));

    let english = browser
        .get(&format!(
            "/app/idioma/en?next=/app/taquilla/{}",
            shop.event_id
        ))
        .await;
    assert_eq!(english.status, StatusCode::SEE_OTHER);
    let page = browser
        .get(&format!("/app/taquilla/{}", shop.event_id))
        .await;
    assert!(
        !page.body.contains("??"),
        "untranslated text: {}",
        page.body
    );
    assert!(page.body.contains("Price: US$ 45.00"), "{}", page.body);
    assert!(
        page.body.contains("Bs. 36.12345678 per US$"),
        "{}",
        page.body
    );

    for asset in ["cashier.js", "cashier.css", "receipt.css", "receipt.js"] {
        let file = browser.get(&format!("/app/static/{asset}")).await;
        assert_eq!(file.status, StatusCode::OK, "{asset}");
    }
    app.teardown().await;
}

async fn sale_screen_checks_role_and_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "propia", "J-12345678-4").await;
    let other = numbered_shop(&app, "ajena", "J-87654321-0").await;
    let path = format!("/app/taquilla/{}", shop.event_id);

    let mut anonymous = Browser {
        app: &app,
        cookies: Vec::new(),
        csrf: String::new(),
    };
    let page = anonymous.get(&path).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/app/login");

    let mut validator = Browser::sign_in(&app, "propia-porteria").await;
    assert_eq!(validator.get(&path).await.status, StatusCode::FORBIDDEN);

    let mut admin = Browser::sign_in(&app, "propia-admin").await;
    assert_eq!(admin.get(&path).await.status, StatusCode::OK);

    let mut cashier = Browser::sign_in(&app, "propia-cajero").await;
    let foreign = cashier
        .get(&format!("/app/taquilla/{}", other.event_id))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(foreign.body.contains("data-testid=\"flash-error\""));
    assert!(!foreign.body.contains("Concierto de prueba"));
    let unknown = cashier
        .get(&format!("/app/taquilla/{}", Uuid::now_v7()))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = cashier.get("/app/taquilla/no-es-un-id").await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    app.teardown().await;
}

/// Races two cashiers' sessions for one seat, as the sale screen does. One
/// gets it, the other a Spanish message, and the seat sells once.
async fn cookie_sale_sells_seat_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "carrera", "J-12345678-4").await;
    app.create_user(
        Some(shop.tenant.tenant_id),
        "carrera-cajero2",
        Role::Cashier,
    )
    .await;
    let seats = app.seat_ids(&shop.tenant.cashier_token, shop.zone_id).await;
    let mut first = Browser::sign_in(&app, "carrera-cajero").await;
    let mut second = Browser::sign_in(&app, "carrera-cajero2").await;

    let body = json!({ "zone_id": shop.zone_id, "seat_ids": [seats[4]] });
    let (one, two) = tokio::join!(
        first.api(reqwest::Method::POST, "/holds", Some(body.clone())),
        second.api(reqwest::Method::POST, "/holds", Some(body.clone())),
    );
    let statuses = [one.status, two.status];
    assert!(
        statuses.contains(&StatusCode::CREATED) && statuses.contains(&StatusCode::CONFLICT),
        "{statuses:?}: {} / {}",
        one.body,
        two.body
    );
    let (winner, loser, hold) = if one.status == StatusCode::CREATED {
        (&mut first, two, one)
    } else {
        (&mut second, one, two)
    };
    let refused = loser.json();
    assert_eq!(refused["error"]["code"], "seats_unavailable");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Algunos asientos ya no están disponibles"),
        "{message}"
    );
    assert!(message.contains("fila A, asiento 5"), "{message}");

    // The map the loser polls shows the seat as taken at once.
    let map = loser_map(&app, &shop).await;
    assert_eq!(seat_status(&map, seats[4]), "held");

    // The winner finds the customer by cédula, orders and pays in two lines.
    let found = winner
        .api(
            reqwest::Method::GET,
            "/customers?document=V-12345678&limit=1",
            None,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let customer_id = uuid_of(&found.json()["items"][0]["id"]);
    assert_eq!(customer_id, shop.customer_id);
    let hold_id = uuid_of(&hold.json()["id"]);
    let order = winner
        .api(
            reqwest::Method::POST,
            "/orders",
            Some(json!({ "hold_id": hold_id, "customer_id": customer_id })),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    let order_id = uuid_of(&order.json()["id"]);
    let paid_in_bs = winner
        .api(
            reqwest::Method::POST,
            &format!("/orders/{order_id}/payments"),
            Some(pago_movil(50_000, "445566")),
        )
        .await;
    assert_eq!(
        paid_in_bs.status,
        StatusCode::CREATED,
        "{}",
        paid_in_bs.body
    );
    let cash = json!({ "method": "cash", "currency": "USD", "amount_cents": 10_000 });
    let paid = winner
        .api(
            reqwest::Method::POST,
            &format!("/orders/{order_id}/payments"),
            Some(cash),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    let outcome = paid.json();
    assert_eq!(outcome["order"]["status"], "paid");
    assert!(outcome["payment"]["change_cents"].as_i64().unwrap() > 0);

    assert_eq!(seat_status(&loser_map(&app, &shop).await, seats[4]), "sold");
    let sold = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM seats WHERE zone_id = $1 AND status = 'sold'",
            &[Param::Uuid(shop.zone_id)],
        )
        .await;
    assert_eq!(sold, 1);
    let tickets = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM tickets WHERE seat_id = $1",
            &[Param::Uuid(seats[4])],
        )
        .await;
    assert_eq!(tickets, 1);
    app.teardown().await;
}

async fn loser_map(app: &TestApp, shop: &Shop) -> Value {
    app.availability(&shop.tenant.cashier_token, shop.zone_id)
        .await
        .body
}

fn seat_status(map: &Value, seat_id: Uuid) -> String {
    map["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|seat| uuid_of(&seat["id"]) == seat_id)
        .map(|seat| seat["status"].as_str().unwrap().to_string())
        .expect("seat on the map")
}

async fn receipt_shows_invoice_change_and_tickets(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "recibo", "J-12345678-4").await;
    let order = sell_two_seats(&app, &shop).await;
    let order_id = uuid_of(&order["id"]);
    let invoice_number = order["invoice"]["number"].as_i64().unwrap();
    let change: Vec<i64> = order["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|payment| payment["change_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(change[0], 0);
    assert!(change[1] > 0, "{order}");

    let mut browser = Browser::sign_in(&app, "recibo-cajero").await;
    let page = browser.get(&format!("/app/recibo/{order_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("??"),
        "untranslated text: {}",
        page.body
    );
    assert!(page.body.contains("data-testid=\"print\""));
    assert!(page.body.contains("/app/static/receipt.css"));
    // The invoice with its fiscal numbers, taxes, IGTF and payments.
    assert!(page.body.contains("<h1>FACTURA</h1>"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("Serie A N° {invoice_number:08}"))
    );
    assert!(page.body.contains("N° de control"));
    assert!(page.body.contains("RIF J-12345678-4"));
    assert!(page.body.contains("IVA 16 %"));
    assert!(page.body.contains("IGTF (3 %)"), "{}", page.body);
    assert!(page.body.contains("Pago Móvil"));
    assert!(page.body.contains("Formas de pago"));
    // The change given, formatted from the API's cents.
    let change_text = format!("US$ {},{:02}", change[1] / 100, change[1] % 100);
    assert!(
        page.body
            .contains(&format!("data-testid=\"change-amount\">{change_text}<")),
        "expected change {change_text}: {}",
        page.body
    );
    // One ticket per seat, each with its QR code.
    assert_eq!(page.body.matches("<section class=\"ticket\">").count(), 2);
    assert!(page.body.matches("<svg class=\"qr\"").count() >= 2);
    assert!(
        page.body.contains("<span>Fila</span> <span>A</span>"),
        "{}",
        page.body
    );
    // The QR code SVG carries no style attribute the page's CSP would block.
    assert!(!page.body.contains(" style=\""));
    app.teardown().await;
}

async fn receipt_checks_role_and_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "dueno", "J-12345678-4").await;
    let other = numbered_shop(&app, "extrano", "J-87654321-0").await;
    let order = sell_two_seats(&app, &shop).await;
    let order_id = uuid_of(&order["id"]);
    let path = format!("/app/recibo/{order_id}");

    let mut foreign = Browser::sign_in(&app, "extrano-cajero").await;
    let page = foreign.get(&path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("FACTURA"));

    let mut validator = Browser::sign_in(&app, "dueno-porteria").await;
    assert_eq!(validator.get(&path).await.status, StatusCode::FORBIDDEN);

    let mut cashier = Browser::sign_in(&app, "dueno-cajero").await;
    assert_eq!(
        cashier
            .get(&format!("/app/recibo/{}", Uuid::now_v7()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cashier.get("/app/recibo/123").await.status,
        StatusCode::NOT_FOUND
    );

    // An unpaid order has no invoice and no tickets yet.
    let token = &other.tenant.cashier_token;
    let seats = app.seat_ids(token, other.zone_id).await;
    let hold = app.hold_seats(token, other.zone_id, &seats[..1]).await;
    let pending = app
        .create_order(token, hold.id("id"), other.customer_id)
        .await;
    assert_status(&pending, 201);
    let page = foreign
        .get(&format!("/app/recibo/{}", pending.id("id")))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-testid=\"not-paid\""));
    assert!(page.body.contains("Pendiente de pago"));
    assert!(!page.body.contains("<section class=\"ticket\">"));
    assert!(!page.body.contains("??"));
    app.teardown().await;
}
