//! The cash desk page (`/app/caja`: X report, Z close, earlier Z reports) and
//! the gate page (`/app/porteria`) over plain HTTP, signed in with the web
//! session cookie as a browser would be. The page scripts call the API with
//! that cookie and the CSRF token, so the API calls here do the same.

use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use taquilla_app::i18n::Locale;
use taquilla_app::web::text::money;

use crate::helpers::{Backend, EventTimes, PASSWORD, Shop, TestApp, ZoneSpec, spawn_app};

backend_tests!(
    day_page_closes_day_with_z,
    day_page_checks_roles,
    gate_page_admits_once
);

/// A signed-in browser: a cookie jar and the session's CSRF token.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
    csrf: String,
}

struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Response {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("{error}: not JSON: {}", self.body))
    }

    /// Returns the JSON inside `<script type="application/json" id="{id}">`.
    fn script_json(&self, id: &str) -> Value {
        let marker = format!("<script type=\"application/json\" id=\"{id}\">");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("page has no {id} script: {}", self.body))
            + marker.len();
        let end = start + self.body[start..].find("</script>").unwrap();
        serde_json::from_str(&self.body[start..end]).unwrap()
    }

    /// Returns the text of the element with `data-testid="{testid}"`, up to
    /// the next tag (so only for elements that contain text alone).
    fn testid_text(&self, testid: &str) -> Option<String> {
        let marker = format!("data-testid=\"{testid}\"");
        let at = self.body.find(&marker)?;
        let start = at + self.body[at..].find('>')? + 1;
        let end = start + self.body[start..].find('<')?;
        Some(self.body[start..end].trim().to_string())
    }

    fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }

    #[track_caller]
    fn assert_translated(&self) {
        assert!(
            !self.body.contains("??"),
            "untranslated key in {}",
            self.body
        );
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
            csrf: String::new(),
        }
    }

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

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header("Cookie", cookie)
            .send()
            .await
            .expect("sending a web request");
        self.absorb(response.headers());
        Response {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Response {
        let request = self.app.client.get(format!("{}{path}", self.app.address));
        self.send(request).await
    }

    /// Signs in through the sign-in form and keeps the session's CSRF token,
    /// read from the page at `page_path`.
    async fn sign_in(app: &'a TestApp, username: &str, page_path: &str) -> Self {
        let mut browser = Self::new(app);
        let form = browser.get("/app/login").await;
        let csrf = field_after(&form.body, "name=\"csrf_token\" value=\"");
        let request = app
            .client
            .post(format!("{}/app/login", app.address))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ]);
        let signed_in = browser.send(request).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        let page = browser.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        browser.csrf = field_after(&page.body, "<meta name=\"csrf-token\" content=\"");
        browser
    }

    /// Calls the JSON API as the page scripts do: cookie, CSRF token,
    /// Idempotency-Key and Spanish messages.
    async fn api(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .app
            .client
            .request(method, format!("{}/api/v1{path}", self.app.address))
            .header("X-CSRF-Token", &self.csrf)
            .header("Accept-Language", "es-VE")
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }
}

/// Returns the 64 characters after `marker` (a CSRF token).
fn field_after(body: &str, marker: &str) -> String {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {body}"))
        + marker.len();
    body[start..start + 64].to_string()
}

async fn shop(app: &TestApp, slug: &str, rif: &str) -> Shop {
    app.setup_shop(
        slug,
        rif,
        ZoneSpec::GeneralAdmission {
            capacity: 50,
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

fn cents_decimal(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

async fn day_page_closes_day_with_z(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = shop(&app, "caja", "J-12345678-4").await;
    let order = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 2 }))
        .await;
    let mut cashier = Browser::sign_in(&app, "caja-cajero", "/app/caja").await;

    // The open day: the X report's data for the script, the close button.
    let open = cashier.get("/app/caja").await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    open.assert_translated();
    assert!(open.body.contains("data-state=\"open\""), "{}", open.body);
    assert!(open.body.contains("data-testid=\"z-open\""));
    assert!(open.body.contains("data-testid=\"z-dialog\""));
    assert!(open.body.contains("no se puede deshacer"));
    assert!(open.body.contains("data-testid=\"z-list-empty\""));
    let data = open.script_json("day-data");
    assert_eq!(data["cashier"], "caja-cajero");
    assert_eq!(data["x"]["invoices"]["count"], 1);
    assert_eq!(data["x"]["net_total_bs_cents"], order["total_bs_cents"]);
    assert!(data["z"].is_null());
    let fiscal_day: NaiveDate = data["x"]["fiscal_day"].as_str().unwrap().parse().unwrap();
    let heading = fiscal_day.format("%d/%m/%Y").to_string();
    assert!(open.body.contains(&heading), "{}", open.body);

    // The refresh button's request.
    let x = cashier
        .api(reqwest::Method::GET, "/fiscal/reports/x", None)
        .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(x.json()["invoices"]["count"], 1);
    assert_eq!(x.json()["payments"][0]["method"], "cash");

    // The confirmation dialog's request, then the page it goes to.
    let z = cashier
        .api(reqwest::Method::POST, "/fiscal/reports/z", Some(json!({})))
        .await;
    assert_eq!(z.status, StatusCode::CREATED, "{}", z.body);
    let z = z.json();
    assert_eq!(z["number"], 1);
    let closed = cashier
        .get(&format!("/app/caja?z={}", z["id"].as_str().unwrap()))
        .await;
    assert_eq!(closed.status, StatusCode::OK);
    closed.assert_translated();
    assert!(
        closed.body.contains("data-state=\"closed\""),
        "{}",
        closed.body
    );
    assert!(!closed.body.contains("data-testid=\"z-open\""));
    assert_eq!(
        closed.testid_text("flash-ok").as_deref(),
        Some("Jornada cerrada con el reporte Z N° 1.")
    );
    let next_day = (fiscal_day + Duration::days(1)).format("%d/%m/%Y");
    assert_eq!(
        closed.testid_text("closed-until"),
        Some(format!("{next_day} 12:00 a. m."))
    );
    let data = closed.script_json("day-data");
    assert_eq!(data["z"]["id"], z["id"]);
    assert_eq!(data["z"]["totals"]["invoices"]["count"], 1);
    // Only the page the script opens after its own Z shows the confirmation.
    let reloaded = cashier.get("/app/caja").await;
    assert!(reloaded.testid_text("flash-ok").is_none());
    assert!(reloaded.body.contains("data-state=\"closed\""));

    // The closed cashier cannot start a sale with the session.
    let hold = cashier
        .api(
            reqwest::Method::POST,
            "/holds",
            Some(json!({ "zone_id": shop.zone_id, "quantity": 1 })),
        )
        .await;
    assert_eq!(hold.status, StatusCode::CONFLICT, "{}", hold.body);
    assert_eq!(hold.json()["error"]["code"], "fiscal_day_closed");
    assert!(
        hold.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reporte Z")
    );

    // The next fiscal day is open again and lists the Z report. The session
    // may have expired over the day, so the cashier signs in again.
    app.advance(Duration::days(1));
    let mut cashier = Browser::sign_in(&app, "caja-cajero", "/app/caja").await;
    let next = cashier.get("/app/caja").await;
    assert!(next.body.contains("data-state=\"open\""), "{}", next.body);
    assert_eq!(next.count("data-testid=\"z-row\""), 1);
    let net_bs = money(
        &cents_decimal(z["totals"]["net_total_bs_cents"].as_i64().unwrap()),
        "VES",
        Locale::Es,
    );
    assert!(
        next.body.contains(&net_bs),
        "{net_bs} missing: {}",
        next.body
    );
    assert!(
        next.body
            .contains(&format!("data-report-id=\"{}\"", z["id"].as_str().unwrap()))
    );
    assert!(next.script_json("day-data")["z"].is_null());
    app.teardown().await;
}

async fn day_page_checks_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let own = shop(&app, "roles", "J-12345678-4").await;
    let other = shop(&app, "otra", "J-87654321-0").await;
    app.sell(&other, json!({ "zone_id": other.zone_id, "quantity": 1 }))
        .await;
    let other_z = app
        .post("/api/v1/fiscal/reports/z")
        .token(&other.tenant.cashier_token)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(other_z.status, 201, "{}", other_z.text);

    let mut anonymous = Browser::new(&app);
    let redirected = anonymous.get("/app/caja").await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.location(), "/app/login");
    assert_eq!(
        anonymous.get("/app/porteria").await.location(),
        "/app/login"
    );

    let mut validator = Browser::sign_in(&app, "roles-porteria", "/app/porteria").await;
    let forbidden = validator.get("/app/caja").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    forbidden.assert_translated();

    let mut cashier = Browser::sign_in(&app, "roles-cajero", "/app/caja").await;
    assert_eq!(
        cashier.get("/app/porteria").await.status,
        StatusCode::FORBIDDEN
    );
    // Another tenant's Z report is not found through this session.
    let foreign = cashier
        .api(
            reqwest::Method::GET,
            &format!("/fiscal/reports/z/{}", other_z.body["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let listed = cashier.get("/app/caja").await;
    assert!(listed.body.contains("data-testid=\"z-list-empty\""));

    // The admin has a day of their own, and the page has English words.
    let mut admin = Browser::sign_in(&app, "roles-admin", "/app/caja").await;
    admin.get("/app/idioma/en?next=/app/caja").await;
    let english = admin.get("/app/caja").await;
    assert_eq!(english.status, StatusCode::OK);
    english.assert_translated();
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("Cash desk open"));
    assert!(english.body.contains("Close the day (Z report)"));
    assert_eq!(english.script_json("day-data")["cashier"], "roles-admin");
    assert_eq!(
        english.script_json("i18n")["day.report_x"],
        "X REPORT",
        "the script gets its texts"
    );
    let gate = admin.get("/app/porteria").await;
    assert_eq!(gate.status, StatusCode::OK);
    gate.assert_translated();
    assert!(gate.body.contains(&own.event_id.to_string()));

    for asset in ["day.js", "day.css", "gate.js", "gate.css"] {
        let file = admin.get(&format!("/app/static/{asset}")).await;
        assert_eq!(file.status, StatusCode::OK, "{asset}");
    }
    app.teardown().await;
}

async fn gate_page_admits_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = shop(&app, "puerta", "J-12345678-4").await;
    let foreign = shop_event_of_other_tenant(&app).await;
    let order = app
        .sell(&shop, json!({ "zone_id": shop.zone_id, "quantity": 2 }))
        .await;
    let tickets = app
        .tickets(
            &shop.tenant.cashier_token,
            uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap(),
        )
        .await;
    let first = tickets.body[0].clone();
    let second = tickets.body[1].clone();

    let mut gate = Browser::sign_in(&app, "puerta-porteria", "/app/porteria").await;
    let page = gate.get("/app/porteria").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_translated();
    assert!(page.body.contains("data-testid=\"gate-code\""));
    assert!(
        page.body
            .contains(&format!("<option value=\"{}\">", shop.event_id)),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&foreign.to_string()));
    let data = page.script_json("gate-data");
    assert_eq!(
        data["events"][shop.event_id.to_string()],
        "Concierto de prueba"
    );
    assert_eq!(data["events"].as_object().unwrap().len(), 1);

    // The scanner's code, then the same ticket again by its QR payload.
    let admitted = gate
        .api(
            reqwest::Method::POST,
            "/tickets/validate",
            Some(json!({ "code": first["code"], "gate": "Puerta 2", "event_id": shop.event_id })),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
    assert_eq!(admitted.json()["result"], "admitted");
    let again = gate
        .api(
            reqwest::Method::POST,
            "/tickets/validate",
            Some(json!({ "qr_payload": first["qr_payload"], "gate": "Puerta 3" })),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let error = &again.json()["error"];
    assert_eq!(error["code"], "ticket_already_used");
    assert_eq!(error["details"]["first_gate"], "Puerta 2");
    assert!(error["details"]["first_used_at"].is_string());

    // A ticket of this event at a gate set to another event.
    let wrong = gate
        .api(
            reqwest::Method::POST,
            "/tickets/validate",
            Some(json!({ "code": second["code"], "event_id": foreign })),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::CONFLICT, "{}", wrong.body);
    assert_eq!(wrong.json()["error"]["code"], "ticket_wrong_event");
    assert_eq!(
        wrong.json()["error"]["details"]["ticket_event_id"],
        shop.event_id.to_string()
    );
    let unknown = gate
        .api(
            reqwest::Method::POST,
            "/tickets/validate",
            Some(json!({ "code": "NOPE" })),
        )
        .await;
    assert_eq!(unknown.json()["error"]["code"], "ticket_not_found");
    app.teardown().await;
}

/// Creates an active event in another tenant and returns its id.
async fn shop_event_of_other_tenant(app: &TestApp) -> uuid::Uuid {
    shop(app, "vecino", "J-87654321-0").await.event_id
}
