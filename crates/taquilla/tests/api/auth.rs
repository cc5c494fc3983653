//! Login, lockout, refresh-token rotation and role checks.

use chrono::Duration;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, Param, assert_error, assert_status, spawn_app};

backend_tests!(
    login_failures_lock_account,
    refresh_token_rotates_once,
    roles_limit_endpoints,
    access_token_expires,
    parallel_guesses_hit_the_lockout
);

async fn login_failures_lock_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("bloqueo", "J-12345678-4").await;
    let username = "bloqueo-cajero";

    let unknown = app.login("nadie", PASSWORD).await;
    assert_error(&unknown, 401, "invalid_credentials");
    let empty = app.login("", "").await;
    assert_error(&empty, 401, "invalid_credentials");

    // Five wrong passwords in a row lock the account.
    for attempt in 1..=5 {
        let wrong = app.login(username, "clave-equivocada").await;
        assert_eq!(
            wrong.status.as_u16(),
            401,
            "attempt {attempt}: {}",
            wrong.text
        );
        assert_eq!(
            wrong.error_code(),
            "invalid_credentials",
            "attempt {attempt}"
        );
        assert!(wrong.body.get("access_token").is_none());
    }
    let user = [Param::from(username)];
    let failures = app
        .db
        .scalar_i64("SELECT failed_logins FROM users WHERE username = $1", &user)
        .await;
    assert_eq!(failures, 5);

    // Locked: even the right password is refused, with a Retry-After.
    let locked = app.login(username, PASSWORD).await;
    assert_error(&locked, 429, "account_locked");
    let retry_after: u64 = locked
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=15 * 60).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert!(
        retry_after > 14 * 60,
        "Retry-After {retry_after} is far below the 15-minute lockout"
    );

    // Another user of the tenant is not affected.
    let other = app.login("bloqueo-admin", PASSWORD).await;
    assert_status(&other, 200);

    // After the lockout the right password works and resets the counter.
    app.advance(Duration::minutes(15) + Duration::seconds(1));
    let unlocked = app.login(username, PASSWORD).await;
    assert_status(&unlocked, 200);
    assert_eq!(unlocked.body["token_type"], "Bearer");
    assert_eq!(unlocked.body["expires_in"], 120 * 60);
    assert_eq!(unlocked.body["user"]["username"], username);
    assert_eq!(unlocked.body["user"]["tenant_id"], json!(tenant.tenant_id));
    let failures = app
        .db
        .scalar_i64("SELECT failed_logins FROM users WHERE username = $1", &user)
        .await;
    assert_eq!(failures, 0);

    app.teardown().await;
}

async fn refresh_token_rotates_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("renovar", "J-00124134-5").await;

    let login = app.login("renovar-admin", PASSWORD).await;
    assert_status(&login, 200);
    let first = login.body["refresh_token"].as_str().unwrap().to_string();

    let rotated = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": first }))
        .send()
        .await;
    assert_status(&rotated, 200);
    let second = rotated.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let access = rotated.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me").token(access).send().await;
    assert_status(&me, 200);
    assert_eq!(me.body["username"], "renovar-admin");

    // Presenting the used token again fails and revokes the token that replaced it.
    let reused = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": first }))
        .send()
        .await;
    assert_error(&reused, 401, "invalid_refresh_token");
    let revoked = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": second }))
        .send()
        .await;
    assert_error(&revoked, 401, "invalid_refresh_token");

    let unknown = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": "0".repeat(64) }))
        .send()
        .await;
    assert_error(&unknown, 401, "invalid_refresh_token");

    // A new login starts a new family that works.
    let again = app.login("renovar-admin", PASSWORD).await;
    assert_status(&again, 200);
    let fresh = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": again.body["refresh_token"] }))
        .send()
        .await;
    assert_status(&fresh, 200);

    app.teardown().await;
}

async fn roles_limit_endpoints(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("roles", "G-20009997-6").await;
    let venue = json!({ "name": "Sala", "address": "Calle 2", "city": "Mérida" });

    let by_cashier = app
        .post("/api/v1/venues")
        .token(&tenant.cashier_token)
        .json(venue.clone())
        .send()
        .await;
    assert_error(&by_cashier, 403, "forbidden");
    let by_validator = app
        .post("/api/v1/venues")
        .token(&tenant.validator_token)
        .json(venue.clone())
        .send()
        .await;
    assert_error(&by_validator, 403, "forbidden");
    let venues = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM venues WHERE tenant_id = $1",
            &[Param::from(tenant.tenant_id)],
        )
        .await;
    assert_eq!(venues, 0);
    let by_admin = app
        .post("/api/v1/venues")
        .token(&tenant.admin_token)
        .json(venue)
        .send()
        .await;
    assert_status(&by_admin, 201);

    let rate = app
        .post("/api/v1/exchange-rates")
        .token(&tenant.cashier_token)
        .json(json!({ "rate": "36.5", "effective_date": "2026-01-05" }))
        .send()
        .await;
    assert_error(&rate, 403, "forbidden");
    let user = app
        .post("/api/v1/users")
        .token(&tenant.cashier_token)
        .json(json!({ "username": "colado", "email": "colado@example.test", "password": PASSWORD, "role": "tenant_admin" }))
        .send()
        .await;
    assert_error(&user, 403, "forbidden");
    let hold = app
        .post("/api/v1/holds")
        .token(&tenant.validator_token)
        .json(json!({ "zone_id": uuid::Uuid::new_v4(), "quantity": 1 }))
        .send()
        .await;
    assert_error(&hold, 403, "forbidden");
    let tenants = app
        .get("/api/v1/tenants")
        .token(&tenant.admin_token)
        .send()
        .await;
    assert_error(&tenants, 403, "forbidden");

    // Requests without a valid bearer token.
    let missing = app.get("/api/v1/venues").send().await;
    assert_error(&missing, 401, "missing_token");
    let garbage = app.get("/api/v1/venues").token("no-es-un-jwt").send().await;
    assert_error(&garbage, 401, "invalid_token");
    let wrong_scheme = app
        .get("/api/v1/venues")
        .header("authorization", &format!("Token {}", tenant.admin_token))
        .send()
        .await;
    assert_error(&wrong_scheme, 401, "invalid_token");

    app.teardown().await;
}

async fn access_token_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.setup_tenant("caduca", "J-00124134-5").await;
    let before = app
        .get("/api/v1/venues")
        .token(&tenant.cashier_token)
        .send()
        .await;
    assert_status(&before, 200);

    // The test configuration gives access tokens 120 minutes.
    app.clock.advance(Duration::minutes(121));

    let after = app
        .get("/api/v1/venues")
        .token(&tenant.cashier_token)
        .send()
        .await;
    assert_error(&after, 401, "invalid_token");
    app.teardown().await;
}

async fn parallel_guesses_hit_the_lockout(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_tenant("rafaga", "J-12345678-4").await;
    let username = "rafaga-cajero";

    // Twenty wrong passwords at once: only five may be checked.
    let guesses = (0..20).map(|_| app.login(username, "clave-equivocada"));
    let answers = futures::future::join_all(guesses).await;

    let checked = answers
        .iter()
        .filter(|answer| answer.status.as_u16() == 401)
        .count();
    let locked = answers
        .iter()
        .filter(|answer| answer.status.as_u16() == 429)
        .count();
    assert_eq!(checked, 5, "wrong passwords checked before the lock");
    assert_eq!(locked, 15);
    let right = app.login(username, PASSWORD).await;
    assert_error(&right, 429, "account_locked");

    // Once the lock ends, one wrong password starts a new count instead of relocking.
    app.advance(Duration::minutes(16));
    let wrong = app.login(username, "clave-equivocada").await;
    assert_error(&wrong, 401, "invalid_credentials");
    let right = app.login(username, PASSWORD).await;
    assert_status(&right, 200);
    app.teardown().await;
}
