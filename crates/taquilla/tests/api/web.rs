//! Sign-in to the web pages over plain HTTP: the session cookie, CSRF checks,
//! logout, the API through the cookie, language and embedded files. The
//! browser tests drive the same pages in Chromium.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, Param, TestApp, spawn_app, spawn_app_with};

backend_tests!(
    sign_in_sets_strict_session_cookie,
    sign_in_rejects_bad_input,
    cookie_requests_need_csrf_token,
    logout_revokes_session,
    inactive_user_loses_session,
    web_sign_in_shares_lockout,
    web_sign_in_spends_login_budget,
    cookie_stays_in_its_tenant,
    language_cookie_and_assets
);

/// Cookies a browser would keep, as `name=value` pairs.
#[derive(Default, Clone)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(existing, _)| existing != name);
            if !value.is_empty() && !text.contains("Max-Age=0") {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value.as_str())
    }
}

struct Browser<'a> {
    app: &'a TestApp,
    jar: Jar,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
    }

    /// Returns the value of the first hidden `csrf_token` field.
    fn csrf_field(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("page has a csrf_token field") + marker.len();
        self.body[start..start + 64].to_string()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            jar: Jar::default(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header("Cookie", self.jar.header())
            .send()
            .await
            .expect("sending a web request");
        self.jar.absorb(response.headers());
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.app.client.get(format!("{}{path}", self.app.address));
        self.send(request).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .app
            .client
            .post(format!("{}{path}", self.app.address))
            .form(form);
        self.send(request).await
    }

    /// Opens the sign-in page and submits `username` and `password`.
    async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/app/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf_field();
        self.post_form(
            "/app/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    /// Returns the CSRF token of the signed-in session, from a page's meta tag.
    async fn session_csrf(&mut self) -> String {
        let page = self.get("/app/taquilla").await;
        let marker = "<meta name=\"csrf-token\" content=\"";
        let start = page.body.find(marker).expect("csrf meta tag") + marker.len();
        page.body[start..start + 64].to_string()
    }

    async fn api(&mut self, method: reqwest::Method, path: &str, csrf: Option<&str>) -> Page {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.address))
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .json(&json!({}));
        if let Some(token) = csrf {
            request = request.header("X-CSRF-Token", token);
        }
        self.send(request).await
    }
}

async fn sign_in_sets_strict_session_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("web", "J-12345678-4").await;
    let mut browser = Browser::new(&app);

    let signed_in = browser.sign_in("web-cajero", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), "/app");
    let cookie = signed_in
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .find(|value| value.starts_with("taquilla_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/;"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");

    // Only the hash of the token is stored.
    let token = browser.jar.get("taquilla_session").unwrap().to_string();
    let stored = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM web_sessions WHERE token_hash = $1",
            &[Param::Text(token.clone())],
        )
        .await;
    assert_eq!(stored, 0);
    let sessions = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM web_sessions", &[])
        .await;
    assert_eq!(sessions, 1);

    let home = browser.get("/app").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/app/taquilla");

    let events = browser.get("/app/taquilla").await;
    assert_eq!(events.status, StatusCode::OK);
    assert!(events.body.contains("<html lang=\"es-VE\">"));
    assert!(
        events
            .body
            .contains("data-testid=\"current-user\">web-cajero<")
    );
    assert!(events.body.contains("Eventos a la venta"));
    assert!(
        !events.body.contains("??"),
        "untranslated key in {}",
        events.body
    );
    let policy = events.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert_eq!(events.headers["cache-control"], "no-store");

    // A signed-in visitor of the sign-in page goes straight in.
    let again = browser.get("/app/login").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // The validator lands on the gate page.
    let mut gate = Browser::new(&app);
    gate.sign_in("web-porteria", PASSWORD).await;
    assert_eq!(gate.get("/app").await.location(), "/app/porteria");
    app.teardown().await;
}

async fn sign_in_rejects_bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("malo", "J-12345678-4").await;
    app.create_user(
        None,
        "plataforma",
        taquilla_store::model::Role::PlatformAdmin,
    )
    .await;

    let mut browser = Browser::new(&app);
    let wrong = browser.sign_in("malo-cajero", "clave-equivocada").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("data-testid=\"flash-error\""));
    assert!(wrong.body.contains("Usuario o contraseña incorrectos."));
    // The username stays in the form; the password does not.
    assert!(wrong.body.contains("value=\"malo-cajero\""));
    assert!(browser.jar.get("taquilla_session").is_none());

    // Without the form's token, nothing is checked.
    let mut forged = Browser::new(&app);
    let page = forged
        .post_form(
            "/app/login",
            &[
                ("username", "malo-cajero"),
                ("password", PASSWORD),
                ("csrf_token", "0"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("El formulario venció"));
    assert!(forged.jar.get("taquilla_session").is_none());

    // A made-up pair that is not a token this server could issue fails too,
    // the empty pair included.
    for made_up in ["", "aaaa"] {
        let mut planted = Browser::new(&app);
        planted
            .jar
            .0
            .push(("taquilla_login_csrf".to_string(), made_up.to_string()));
        let page = planted
            .post_form(
                "/app/login",
                &[
                    ("username", "malo-cajero"),
                    ("password", PASSWORD),
                    ("csrf_token", made_up),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "pair {made_up:?}");
        assert!(planted.jar.get("taquilla_session").is_none());
    }

    // Platform admins have no tenant to sell for.
    let mut admin = Browser::new(&app);
    let rejected = admin.sign_in("plataforma", PASSWORD).await;
    assert_eq!(rejected.status, StatusCode::FORBIDDEN);
    assert!(rejected.body.contains("no puede usar la taquilla web"));
    assert!(admin.jar.get("taquilla_session").is_none());

    // Pages need a session.
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get("/app/taquilla").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/app/login");

    // A made-up session cookie is no session.
    anonymous
        .jar
        .0
        .push(("taquilla_session".to_string(), "f".repeat(64)));
    assert_eq!(
        anonymous.get("/app/taquilla").await.location(),
        "/app/login"
    );
    app.teardown().await;
}

async fn cookie_requests_need_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("csrf", "J-12345678-4").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("csrf-cajero", PASSWORD).await;
    let csrf = browser.session_csrf().await;

    let me = browser
        .api(reqwest::Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("csrf-cajero"));

    // A write without the token is rejected before the handler runs.
    let missing = browser
        .api(reqwest::Method::POST, "/api/v1/holds", None)
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    assert!(missing.body.contains("csrf_token_invalid"));
    let wrong = browser
        .api(
            reqwest::Method::POST,
            "/api/v1/holds",
            Some(&"0".repeat(64)),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // With the token, the request reaches the handler, which validates the body.
    let checked = browser
        .api(reqwest::Method::POST, "/api/v1/holds", Some(&csrf))
        .await;
    assert_eq!(
        checked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        checked.body
    );

    // Logging out needs the token too.
    let forged = browser
        .post_form("/app/logout", &[("csrf_token", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/app/taquilla").await.status,
        StatusCode::OK,
        "the session must survive a forged logout"
    );
    app.teardown().await;
}

async fn logout_revokes_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("salir", "J-12345678-4").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("salir-cajero", PASSWORD).await;
    let csrf = browser.session_csrf().await;
    let stolen = browser.jar.clone();

    let out = browser
        .post_form("/app/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/app/login");
    assert!(browser.jar.get("taquilla_session").is_none());

    // A copy of the old cookie no longer works: the session is revoked in the database.
    let mut thief = Browser::new(&app);
    thief.jar = stolen;
    assert_eq!(thief.get("/app/taquilla").await.location(), "/app/login");
    let me = thief
        .api(reqwest::Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

async fn inactive_user_loses_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("baja", "J-12345678-4").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("baja-cajero", PASSWORD).await;
    assert_eq!(browser.get("/app/taquilla").await.status, StatusCode::OK);

    app.db
        .execute(
            "UPDATE users SET active = FALSE WHERE username = $1",
            &[Param::Text("baja-cajero".to_string())],
        )
        .await;
    assert_eq!(browser.get("/app/taquilla").await.location(), "/app/login");
    let me = browser
        .api(reqwest::Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

async fn web_sign_in_shares_lockout(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("cerrojo", "J-12345678-4").await;
    let mut browser = Browser::new(&app);
    for attempt in 1..=5 {
        let wrong = browser.sign_in("cerrojo-cajero", "clave-equivocada").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let locked = browser.sign_in("cerrojo-cajero", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(locked.body.contains("data-testid=\"flash-error\""));
    assert!(browser.jar.get("taquilla_session").is_none());

    // The API reports the same lock.
    let api = app.login("cerrojo-cajero", PASSWORD).await;
    assert_eq!(api.status.as_u16(), 429);
    app.teardown().await;
}

async fn web_sign_in_spends_login_budget(backend: Backend) {
    // Setting up the tenant signs in three users through the API, which
    // spends three of the five logins.
    let app = spawn_app_with(backend, |config| config.rate_limit_login_per_minute = 5).await;
    app.setup_tenant("cupo", "J-12345678-4").await;
    let mut browser = Browser::new(&app);
    // Opening the form spends nothing; each submission does.
    for _ in 0..3 {
        assert_eq!(browser.get("/app/login").await.status, StatusCode::OK);
    }
    for attempt in 1..=2 {
        let wrong = browser.sign_in("cupo-cajero", "clave-equivocada").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = browser.sign_in("cupo-cajero", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    // A person gets a page in Spanish, not the API's JSON.
    assert!(
        limited.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        limited.body.contains("Demasiadas solicitudes"),
        "{}",
        limited.body
    );
    assert!(browser.jar.get("taquilla_session").is_none());
    app.teardown().await;
}

async fn cookie_stays_in_its_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let own = app.setup_tenant("propio", "J-12345678-4").await;
    let other = app.setup_tenant("ajeno", "J-87654321-0").await;
    let venue = app.create_venue(&other.admin_token).await;
    let foreign_event = app
        .create_event(&other.admin_token, venue, Default::default())
        .await;
    let own_venue = app.create_venue(&own.admin_token).await;

    let mut browser = Browser::new(&app);
    browser.sign_in("propio-cajero", PASSWORD).await;
    let foreign = browser
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/events/{foreign_event}"),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let mine = browser
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/venues/{own_venue}"),
            None,
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    // An X-Tenant-Id header does not move a cookie session to another tenant.
    let request = app
        .client
        .get(format!("{}/api/v1/events/{foreign_event}", app.address))
        .header("X-Tenant-Id", other.tenant_id.to_string());
    let moved = browser.send(request).await;
    assert_eq!(moved.status, StatusCode::NOT_FOUND);
    app.teardown().await;
}

async fn language_cookie_and_assets(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("idioma", "J-12345678-4").await;
    let mut browser = Browser::new(&app);

    let english = browser.get("/app/idioma/en?next=/app/login").await;
    assert_eq!(english.status, StatusCode::SEE_OTHER);
    assert_eq!(english.location(), "/app/login");
    assert_eq!(browser.jar.get("taquilla_lang"), Some("en"));
    let login = browser.get("/app/login").await;
    assert!(login.body.contains("<html lang=\"en\">"));
    assert!(login.body.contains("Sign in"));
    let wrong = browser.sign_in("idioma-cajero", "wrong-password").await;
    assert!(wrong.body.contains("Invalid username or password."));

    // The redirect never leaves the web pages.
    for next in ["//example.com/", "https://example.com/", "/api/v1/events"] {
        let page = browser.get(&format!("/app/idioma/es?next={next}")).await;
        assert_eq!(page.location(), "/app", "next={next}");
    }

    let css = browser.get("/app/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let script = browser.get("/app/static/app.js").await;
    assert!(script.body.contains("X-CSRF-Token"));
    assert_eq!(
        browser.get("/app/static/nothing.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser.get("/app/static/..%2Fapp.css").await.status,
        StatusCode::NOT_FOUND
    );

    // An unknown page gets a page in the chosen language (Spanish since the
    // loop above), not JSON.
    let unknown = browser.get("/app/no-existe").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        unknown.body.contains("<html lang=\"es-VE\">"),
        "{}",
        unknown.body
    );
    app.teardown().await;
}
