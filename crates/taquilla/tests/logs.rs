//! The log stream of a full `taquilla serve --demo` run: every line on stderr is
//! one JSON object, and no line contains a password, token, secret, cookie,
//! card reference or customer contact detail that the run sent or received.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Secret that signs the access tokens, set by the test so it can search the log for it.
const JWT_SECRET: &str = "secreto-jwt-de-prueba-7f3a9c1e5b2d4f60a8e7";
/// Demo credentials from `taquilla_app::demo::DEMO_USERS`.
const CASHIER: (&str, &str) = ("demo-cajero", "demo-cajero-2026");
const ADMIN: (&str, &str) = ("demo-admin", "demo-admin-2026");
const WRONG_PASSWORD: &str = "clave-equivocada-5150";
/// Password inside a login body that is not valid JSON.
const MALFORMED_BODY_PASSWORD: &str = "clave-en-json-roto-8642";
const COOKIE_VALUE: &str = "sesion-galleta-0c4d7e19a2b8";
const BOGUS_BEARER_TOKEN: &str = "token-falso-93b1d6e0f2a7";
const CUSTOMER_EMAIL: &str = "maria.gonzalez.logs@example.com";
const INVALID_CUSTOMER_EMAIL: &str = "ana.rojas.logs@@example.com";
const CUSTOMER_PHONE: &str = "0414-7654321";
const CUSTOMER_DOCUMENT: &str = "V-18.765.432";
const PAYER_PHONE: &str = "0424-1357924";
const PAYER_DOCUMENT: &str = "V-20.135.792";
// A card payment's `reference` is the terminal's voucher reference, not the card
// number. The field accepts up to 64 letters, digits and dashes, so a cashier can
// type a card number into it. The test therefore treats the reference as card
// data, which docs/logging.md forbids in any log line.
const CARD_REFERENCE: &str = "POS-4417-88213";

/// A `taquilla serve --demo` process whose stderr lines are collected.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    _data_dir: tempfile::TempDir,
}

/// Copies each line of `stream` into `lines` until the stream closes.
fn collect_lines(
    stream: impl Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => lines.lock().unwrap().push(line),
                Err(_) => break,
            }
        }
    })
}

impl Server {
    /// Starts the server on a port the OS chooses, with JSON logs and the
    /// default log filter, and waits for its `server_started` event.
    fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("creating a temporary directory");
        let mut child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir.path())
            // A clean environment, so a developer's RUST_LOG, SENTRY_DSN or
            // OTLP endpoint cannot change what is logged or send data away.
            .env_clear()
            .env("TAQUILLA_LOG_FORMAT", "json")
            .env("TAQUILLA_JWT_SECRET", JWT_SECRET)
            .env("TAQUILLA_ARGON2_MEMORY_KIB", "64")
            .env("TAQUILLA_ARGON2_ITERATIONS", "1")
            .stdin(Stdio::null())
            // stdout carries only the demo banner with the public demo credentials.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting taquilla");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = collect_lines(child.stderr.take().unwrap(), stderr.clone());

        let started = Instant::now();
        loop {
            let address = stderr.lock().unwrap().iter().find_map(|line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["event"] == "server_started")
                    .then(|| event["address"].as_str().map(str::to_string))?
            });
            if let Some(address) = address {
                return Self {
                    child,
                    base: format!("http://{address}"),
                    stderr,
                    reader: Some(reader),
                    _data_dir: data_dir,
                };
            }
            if let Some(status) = child.try_wait().expect("checking taquilla") {
                panic!(
                    "taquilla exited with {status} before listening; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("taquilla wrote no server_started event within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM, waits for a graceful exit and returns every stderr line.
    fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().expect("waiting for taquilla") {
                break exit;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("taquilla did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "taquilla exited with {exit}");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader thread panicked");
        }
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    /// Kills the server when a test fails before stopping it.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A response with its status and JSON body (`Value::Null` when not JSON).
struct Reply {
    status: u16,
    body: Value,
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("reading a response body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let authorization = format!("Bearer {token}");
        self.send(method, path, &[("authorization", &authorization)], body)
            .await
    }

    async fn pay(&self, token: &str, order_id: &str, body: Value) -> Reply {
        let authorization = format!("Bearer {token}");
        let key = Uuid::new_v4().to_string();
        self.send(
            Method::POST,
            &format!("/api/v1/orders/{order_id}/payments"),
            &[("authorization", &authorization), ("idempotency-key", &key)],
            Some(body),
        )
        .await
    }

    async fn login(&self, (username, password): (&str, &str)) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            &[],
            Some(json!({ "username": username, "password": password })),
        )
        .await
    }
}

#[track_caller]
fn assert_reply(reply: &Reply, status: u16) {
    assert_eq!(
        reply.status, status,
        "unexpected status; body: {}",
        reply.body
    );
}

#[track_caller]
fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

/// Collects every string key and value of a JSON value, unescaped.
fn strings_of(value: &Value, output: &mut Vec<String>) {
    match value {
        Value::String(text) => output.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings_of(item, output)),
        Value::Object(map) => {
            for (key, item) in map {
                output.push(key.clone());
                strings_of(item, output);
            }
        }
        _ => {}
    }
}

/// Adds the access token, its signature and the refresh token of a login reply.
fn remember_tokens(secrets: &mut Vec<(String, String)>, who: &str, reply: &Reply) {
    let access = text(&reply.body["access_token"]);
    // The signature is the part of a JWT that only the secret can produce.
    let signature = access.rsplit('.').next().unwrap_or_default().to_string();
    secrets.push((format!("{who} access token"), access));
    secrets.push((format!("{who} access token signature"), signature));
    secrets.push((
        format!("{who} refresh token"),
        text(&reply.body["refresh_token"]),
    ));
}

/// Runs the scripted session and returns the (name, value) of every secret and
/// personal value it sent or received.
async fn run_session(client: &Client) -> Vec<(String, String)> {
    let mut secrets: Vec<(String, String)> = vec![
        ("JWT secret".into(), JWT_SECRET.into()),
        ("cashier password".into(), CASHIER.1.into()),
        ("admin password".into(), ADMIN.1.into()),
        ("wrong password".into(), WRONG_PASSWORD.into()),
        (
            "password in a malformed body".into(),
            MALFORMED_BODY_PASSWORD.into(),
        ),
        ("cookie value".into(), COOKIE_VALUE.into()),
        ("bogus bearer token".into(), BOGUS_BEARER_TOKEN.into()),
        ("customer e-mail".into(), CUSTOMER_EMAIL.into()),
        (
            "invalid customer e-mail".into(),
            INVALID_CUSTOMER_EMAIL.into(),
        ),
        ("customer phone".into(), CUSTOMER_PHONE.into()),
        ("customer document".into(), CUSTOMER_DOCUMENT.into()),
        ("payer phone".into(), PAYER_PHONE.into()),
        ("payer document".into(), PAYER_DOCUMENT.into()),
        ("card reference".into(), CARD_REFERENCE.into()),
    ];
    // Logins: a wrong password, a body that is not JSON, then the real ones.
    let wrong = client.login((CASHIER.0, WRONG_PASSWORD)).await;
    assert_reply(&wrong, 401);
    let broken = client
        .http
        .post(format!("{}/api/v1/auth/login", client.base))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"username\":\"{}\",\"password\":\"{MALFORMED_BODY_PASSWORD}\"",
            CASHIER.0
        ))
        .send()
        .await
        .expect("sending a malformed login");
    assert_eq!(broken.status().as_u16(), 400);
    let first_login = client.login(CASHIER).await;
    assert_reply(&first_login, 200);
    remember_tokens(&mut secrets, "first cashier", &first_login);
    let first_refresh_token = text(&first_login.body["refresh_token"]);
    let refreshed = client
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            &[],
            Some(json!({ "refresh_token": first_refresh_token })),
        )
        .await;
    assert_reply(&refreshed, 200);
    remember_tokens(&mut secrets, "refreshed cashier", &refreshed);
    let cashier = text(&refreshed.body["access_token"]);
    let admin_login = client.login(ADMIN).await;
    assert_reply(&admin_login, 200);
    remember_tokens(&mut secrets, "admin", &admin_login);
    let admin = text(&admin_login.body["access_token"]);

    // The general-admission zone of the demo event.
    let events = client
        .call(Method::GET, "/api/v1/events", &cashier, None)
        .await;
    assert_reply(&events, 200);
    let event_id = text(&events.body["items"][0]["id"]);
    let zones = client
        .call(
            Method::GET,
            &format!("/api/v1/events/{event_id}/zones"),
            &cashier,
            None,
        )
        .await;
    assert_reply(&zones, 200);
    let zone_id = zones.body["items"]
        .as_array()
        .expect("a list of zones")
        .iter()
        .find(|zone| zone["kind"] == "general_admission")
        .map(|zone| text(&zone["id"]))
        .expect("a general-admission zone in the demo event");

    // A customer with contact details, and one whose e-mail is invalid.
    let customer = client
        .call(
            Method::POST,
            "/api/v1/customers",
            &cashier,
            Some(json!({
                "first_name": "María",
                "last_name": "González",
                "document": CUSTOMER_DOCUMENT,
                "phone": CUSTOMER_PHONE,
                "email": CUSTOMER_EMAIL,
            })),
        )
        .await;
    assert_reply(&customer, 201);
    secrets.push((
        "stored customer phone".into(),
        text(&customer.body["phone"]),
    ));
    secrets.push((
        "stored customer document".into(),
        text(&customer.body["document"]),
    ));
    let customer_id = text(&customer.body["id"]);
    let invalid_customer = client
        .call(
            Method::POST,
            "/api/v1/customers",
            &cashier,
            Some(json!({ "first_name": "Ana", "last_name": "Rojas", "email": INVALID_CUSTOMER_EMAIL })),
        )
        .await;
    assert_reply(&invalid_customer, 422);

    // A hold and an order of two places.
    let hold = client
        .call(
            Method::POST,
            "/api/v1/holds",
            &cashier,
            Some(json!({ "zone_id": zone_id, "quantity": 2 })),
        )
        .await;
    assert_reply(&hold, 201);
    let order = client
        .call(
            Method::POST,
            "/api/v1/orders",
            &cashier,
            Some(json!({ "hold_id": hold.body["id"], "customer_id": customer_id })),
        )
        .await;
    assert_reply(&order, 201);
    let order_id = text(&order.body["id"]);
    let total_bs_cents = order.body["total_bs_cents"]
        .as_i64()
        .expect("total_bs_cents");

    // Payments: one without an Idempotency-Key, half by Pago Móvil, the rest by card.
    let unkeyed = client
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order_id}/payments"),
            &cashier,
            Some(json!({ "method": "cash", "currency": "VES", "amount_cents": total_bs_cents })),
        )
        .await;
    assert_reply(&unkeyed, 400);
    let pago_movil = client
        .pay(
            &cashier,
            &order_id,
            json!({
                "method": "pago_movil",
                "currency": "VES",
                "amount_cents": total_bs_cents / 2,
                "bank_code": "0102",
                "phone": PAYER_PHONE,
                "document": PAYER_DOCUMENT,
                "reference": "PM-0098123",
            }),
        )
        .await;
    assert_reply(&pago_movil, 201);
    secrets.push((
        "stored payer phone".into(),
        text(&pago_movil.body["payment"]["payer_phone"]),
    ));
    secrets.push((
        "stored payer document".into(),
        text(&pago_movil.body["payment"]["payer_document"]),
    ));
    let balance_bs_cents = pago_movil.body["order"]["balance_bs_cents"]
        .as_i64()
        .expect("balance_bs_cents");
    let card = client
        .pay(
            &cashier,
            &order_id,
            json!({
                "method": "card",
                "currency": "VES",
                "amount_cents": balance_bs_cents,
                "reference": CARD_REFERENCE,
            }),
        )
        .await;
    assert_reply(&card, 201);
    assert_eq!(card.body["order"]["status"], "paid");

    // Gate: admit one ticket and reject its second scan, then void the order and
    // reject the other ticket.
    let tickets = client
        .call(
            Method::GET,
            &format!("/api/v1/orders/{order_id}/tickets"),
            &admin,
            None,
        )
        .await;
    assert_reply(&tickets, 200);
    let tickets = tickets.body.as_array().expect("a list of tickets").clone();
    assert_eq!(tickets.len(), 2);
    for ticket in &tickets {
        // Anyone who presents a ticket's code or signed payload is admitted.
        secrets.push(("ticket code".into(), text(&ticket["code"])));
        secrets.push(("ticket QR payload".into(), text(&ticket["qr_payload"])));
    }
    let scan = |ticket: &Value| json!({ "qr_payload": ticket["qr_payload"], "gate": "Puerta 1" });
    let admitted = client
        .call(
            Method::POST,
            "/api/v1/tickets/validate",
            &admin,
            Some(scan(&tickets[0])),
        )
        .await;
    assert_reply(&admitted, 200);
    let second_scan = client
        .call(
            Method::POST,
            "/api/v1/tickets/validate",
            &admin,
            Some(scan(&tickets[0])),
        )
        .await;
    assert_reply(&second_scan, 409);
    let void_by_cashier = client
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order_id}/void"),
            &cashier,
            Some(json!({ "reason": "Prueba de anulación" })),
        )
        .await;
    assert_reply(&void_by_cashier, 403);
    let void = client
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order_id}/void"),
            &admin,
            Some(json!({ "reason": "Prueba de anulación" })),
        )
        .await;
    assert_reply(&void, 200);
    let cancelled_scan = client
        .call(
            Method::POST,
            "/api/v1/tickets/validate",
            &admin,
            Some(scan(&tickets[1])),
        )
        .await;
    assert_reply(&cancelled_scan, 409);

    // A Cookie header next to a valid and next to a bogus Authorization header.
    let cookie = format!("sessionid={COOKIE_VALUE}; csrftoken={COOKIE_VALUE}");
    let me = client
        .send(
            Method::GET,
            "/api/v1/auth/me",
            &[
                ("authorization", &format!("Bearer {cashier}")),
                ("cookie", &cookie),
            ],
            None,
        )
        .await;
    assert_reply(&me, 200);
    let bogus = client
        .send(
            Method::GET,
            "/api/v1/auth/me",
            &[
                ("authorization", &format!("Bearer {BOGUS_BEARER_TOKEN}")),
                ("cookie", &cookie),
            ],
            None,
        )
        .await;
    assert_reply(&bogus, 401);

    // More client errors: no token, an unknown route, a wrong method.
    let anonymous = client
        .send(
            Method::GET,
            &format!("/api/v1/orders/{order_id}"),
            &[],
            None,
        )
        .await;
    assert_reply(&anonymous, 401);
    let unknown = client
        .call(Method::GET, "/api/v1/no-existe", &cashier, None)
        .await;
    assert_reply(&unknown, 404);
    let wrong_method = client
        .call(Method::DELETE, "/api/v1/orders", &cashier, None)
        .await;
    assert_reply(&wrong_method, 405);

    // Last, because a reused refresh token revokes every token of its login.
    let reused = client
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            &[],
            Some(json!({ "refresh_token": first_refresh_token })),
        )
        .await;
    assert_reply(&reused, 401);

    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_run_logs_json_without_secrets() {
    // Arrange
    let server = Server::start();
    let client = Client {
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        base: server.base.clone(),
    };

    // Act
    let secrets = run_session(&client).await;
    let lines = server.stop();

    // Assert: every line is a JSON object.
    let mut events = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|error| {
            panic!("stderr line {} is not JSON ({error}): {line}", number + 1)
        });
        assert!(
            parsed.is_object(),
            "stderr line {} is not a JSON object: {line}",
            number + 1
        );
        events.push(parsed);
    }

    // The session was logged, so an empty log cannot pass the search for secrets.
    let count = |name: &str| events.iter().filter(|event| event["event"] == name).count();
    assert_eq!(count("server_started"), 1);
    assert_eq!(
        count("server_stopped"),
        1,
        "the log ends before a graceful stop"
    );
    assert_eq!(count("login_failed"), 1);
    assert_eq!(count("login_succeeded"), 2);
    assert_eq!(count("refresh_token_reused"), 1);
    assert_eq!(count("payment_processed"), 2);
    assert_eq!(count("ticket_purchase_completed"), 1);
    assert_eq!(count("fiscal_document_issued"), 2);
    assert_eq!(count("ticket_admitted"), 1);
    assert_eq!(count("ticket_rejected"), 2);
    assert_eq!(
        count("http_request"),
        26,
        "one access event per request of the session"
    );

    // No line contains a secret, in its raw text or in any unescaped string.
    for (line, event) in lines.iter().zip(&events) {
        let mut haystacks = vec![line.to_lowercase()];
        let mut strings = Vec::new();
        strings_of(event, &mut strings);
        haystacks.extend(strings.iter().map(|text| text.to_lowercase()));
        for (name, secret) in &secrets {
            let needle = secret.to_lowercase();
            assert!(
                !haystacks.iter().any(|haystack| haystack.contains(&needle)),
                "a log line contains the {name}: {line}"
            );
        }
    }
}
