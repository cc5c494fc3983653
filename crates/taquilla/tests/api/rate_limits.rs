//! Rate limits per user, per client IP address and on login, in process
//! memory and shared through Redis. The Redis scenarios use the server at
//! TAQUILLA_TEST_REDIS_URL (default `redis://127.0.0.1:6379`), each under a
//! key prefix of its own that is deleted at the end.

use chrono::Duration;
use serde_json::json;
use taquilla_store::model::Role;
use uuid::Uuid;

use crate::helpers::{
    ApiResponse, Backend, PASSWORD, Param, TestApp, assert_error, assert_status, spawn_app_with,
};

backend_tests!(
    user_limit_rejects_then_recovers,
    ip_limit_covers_every_user_of_an_address,
    forwarded_for_ignored_unless_trusted,
    login_limit_applies_before_lockout,
    health_and_metrics_never_limited,
    redis_shares_budget_between_instances,
    closed_redis_port_falls_back_to_memory
);

use crate::helpers::test_redis_url as redis_url;

/// Returns the `Retry-After` header in seconds.
#[track_caller]
fn retry_after(response: &ApiResponse) -> u64 {
    response
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After header: {}", response.text))
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

/// Asserts that a 429 sets a wait of one emission interval, less the seconds
/// the scenario's earlier requests took (the clock keeps running), and that
/// the body repeats the header.
#[track_caller]
fn assert_retry_after(response: &ApiResponse, interval_seconds: u64) {
    let seconds = retry_after(response);
    assert!(
        seconds <= interval_seconds && seconds + 10 >= interval_seconds,
        "Retry-After {seconds} s, expected about {interval_seconds} s"
    );
    assert_eq!(
        response.body["error"]["details"]["retry_after_seconds"],
        json!(seconds),
        "{}",
        response.text
    );
}

/// Reads `venezuelan_pos_rate_limited_total` of `scope` from `/metrics`.
async fn rate_limited_total(app: &TestApp, scope: &str) -> u64 {
    let metrics = app.get("/metrics").send().await;
    assert_status(&metrics, 200);
    let series = format!("venezuelan_pos_rate_limited_total{{scope=\"{scope}\"}} ");
    metrics
        .text
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{}", metrics.text))
}

/// Deletes every key under `prefix`.
async fn delete_redis_keys(prefix: &str) {
    let client = redis::Client::open(redis_url()).expect("a valid Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to the test Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .expect("listing the test keys");
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .expect("deleting the test keys");
    }
}

/// Returns whether `key` exists in the test Redis.
async fn redis_key_exists(key: &str) -> bool {
    let client = redis::Client::open(redis_url()).expect("a valid Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to the test Redis");
    let count: i64 = redis::cmd("EXISTS")
        .arg(key)
        .query_async(&mut connection)
        .await
        .expect("checking a key");
    count == 1
}

async fn user_limit_rejects_then_recovers(backend: Backend) {
    // Arrange: 3 requests per hour, so one more every 20 minutes.
    let app = spawn_app_with(backend, |config| config.rate_limit_user_per_hour = 3).await;
    let tenant = app.setup_tenant("limite", "J-12345678-4").await;
    for request in 1..=3 {
        let me = app
            .get("/api/v1/auth/me")
            .token(&tenant.cashier_token)
            .send()
            .await;
        assert_eq!(me.status.as_u16(), 200, "request {request}: {}", me.text);
    }

    // Act
    let spanish = app
        .get("/api/v1/auth/me")
        .token(&tenant.cashier_token)
        .send()
        .await;
    let english = app
        .get("/api/v1/auth/me")
        .token(&tenant.cashier_token)
        .header("accept-language", "en")
        .send()
        .await;
    let other_user = app
        .get("/api/v1/auth/me")
        .token(&tenant.admin_token)
        .send()
        .await;

    // Assert
    assert_error(&spanish, 429, "rate_limited");
    assert_retry_after(&spanish, 20 * 60);
    let message = spanish.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Demasiadas solicitudes"), "{message}");
    let wait = format!("Intente de nuevo en {} s.", retry_after(&spanish));
    assert!(message.ends_with(&wait), "{message}");
    assert_error(&english, 429, "rate_limited");
    let message = english.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Too many requests"), "{message}");
    assert_status(&other_user, 200);
    assert_eq!(rate_limited_total(&app, "user").await, 2);
    assert_eq!(rate_limited_total(&app, "ip").await, 0);

    // After Retry-After one more request is allowed, and only one.
    app.advance(Duration::minutes(20));
    let recovered = app
        .get("/api/v1/auth/me")
        .token(&tenant.cashier_token)
        .send()
        .await;
    assert_status(&recovered, 200);
    let again = app
        .get("/api/v1/auth/me")
        .token(&tenant.cashier_token)
        .send()
        .await;
    assert_error(&again, 429, "rate_limited");
    app.teardown().await;
}

async fn ip_limit_covers_every_user_of_an_address(backend: Backend) {
    // Arrange: the setup's logins come from 127.0.0.1; the scenario's requests
    // name another address in X-Forwarded-For, which a trusted proxy would set.
    let app = spawn_app_with(backend, |config| {
        config.rate_limit_ip_per_hour = 4;
        config.trust_forwarded_for = true;
    })
    .await;
    let tenant = app.setup_tenant("nat", "J-12345678-4").await;
    let venue_address = "203.0.113.10";
    let tokens = [
        &tenant.cashier_token,
        &tenant.admin_token,
        &tenant.validator_token,
        &tenant.cashier_token,
    ];
    for (request, token) in tokens.iter().enumerate() {
        let me = app
            .get("/api/v1/auth/me")
            .token(token)
            .header("x-forwarded-for", &format!("{venue_address}, 10.0.0.1"))
            .send()
            .await;
        assert_eq!(me.status.as_u16(), 200, "request {request}: {}", me.text);
    }

    // Act
    let fifth = app
        .get("/api/v1/auth/me")
        .token(&tenant.admin_token)
        .header("x-forwarded-for", venue_address)
        .send()
        .await;
    let unauthenticated = app
        .get("/api/v1/auth/me")
        .header("x-forwarded-for", venue_address)
        .send()
        .await;
    let other_address = app
        .get("/api/v1/auth/me")
        .token(&tenant.admin_token)
        .header("x-forwarded-for", "198.51.100.20")
        .send()
        .await;

    // Assert: 4 per hour is one request every 15 minutes.
    assert_error(&fifth, 429, "rate_limited");
    assert_retry_after(&fifth, 15 * 60);
    assert_error(&unauthenticated, 429, "rate_limited");
    assert_status(&other_address, 200);
    assert_eq!(rate_limited_total(&app, "ip").await, 2);
    assert_eq!(rate_limited_total(&app, "user").await, 0);
    app.teardown().await;
}

async fn forwarded_for_ignored_unless_trusted(backend: Backend) {
    // Arrange: without a trusted proxy every request counts for 127.0.0.1.
    let app = spawn_app_with(backend, |config| config.rate_limit_ip_per_hour = 2).await;
    let mut responses = Vec::new();

    // Act
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = app
            .get("/api/v1/auth/me")
            .header("x-forwarded-for", address)
            .send()
            .await;
        responses.push(response);
    }

    // Assert
    assert_error(&responses[0], 401, "missing_token");
    assert_error(&responses[1], 401, "missing_token");
    assert_error(&responses[2], 429, "rate_limited");
    app.teardown().await;
}

async fn login_limit_applies_before_lockout(backend: Backend) {
    // Arrange: 3 logins per minute, below the 5 failures that lock an account.
    let app = spawn_app_with(backend, |config| {
        config.rate_limit_login_per_minute = 3;
        config.max_login_failures = 5;
    })
    .await;
    let tenant_id = app
        .state
        .store
        .create_tenant(taquilla_store::model::NewTenant {
            slug: "intentos".to_string(),
            name: "Producciones intentos, C.A.".to_string(),
            rif: "J-12345678-4".to_string(),
            fiscal_address: "Av. Urdaneta, Caracas 1010".to_string(),
            signing_key: taquilla_app::tickets::new_signing_key(),
        })
        .await
        .expect("creating a tenant")
        .id;
    app.create_user(Some(tenant_id), "intentos-cajero", Role::Cashier)
        .await;
    app.create_user(Some(tenant_id), "intentos-admin", Role::TenantAdmin)
        .await;
    for attempt in 1..=3 {
        let wrong = app.login("intentos-cajero", "clave-equivocada").await;
        assert_eq!(
            wrong.status.as_u16(),
            401,
            "attempt {attempt}: {}",
            wrong.text
        );
    }

    // Act
    let right_password = app.login("intentos-cajero", PASSWORD).await;
    let other_account = app.login("intentos-admin", PASSWORD).await;
    let refresh = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": "0".repeat(64) }))
        .send()
        .await;
    let api_call = app.get("/api/v1/auth/me").send().await;

    // Assert: 3 per minute is one login every 20 seconds.
    assert_error(&right_password, 429, "rate_limited");
    assert_retry_after(&right_password, 20);
    assert_error(&other_account, 429, "rate_limited");
    assert_error(&refresh, 429, "rate_limited");
    assert_error(&api_call, 401, "missing_token");
    let user = [Param::from("intentos-cajero")];
    let failures = app
        .db
        .scalar_i64("SELECT failed_logins FROM users WHERE username = $1", &user)
        .await;
    assert_eq!(failures, 3, "a rejected login reached the account");
    assert_eq!(rate_limited_total(&app, "login").await, 3);

    // The account was never locked: the next allowed login succeeds.
    app.advance(Duration::seconds(20));
    let later = app.login("intentos-cajero", PASSWORD).await;
    assert_status(&later, 200);
    app.teardown().await;
}

async fn health_and_metrics_never_limited(backend: Backend) {
    // Arrange
    let app = spawn_app_with(backend, |config| {
        config.rate_limit_user_per_hour = 1;
        config.rate_limit_ip_per_hour = 1;
        config.rate_limit_login_per_minute = 1;
    })
    .await;
    let first_api_call = app.get("/api/v1/auth/me").send().await;
    assert_error(&first_api_call, 401, "missing_token");

    // Act and assert: the address's budget is spent, yet these still return 200.
    for round in 1..=5 {
        for path in [
            "/health/",
            "/health/live",
            "/health/ready",
            "/metrics",
            "/api/openapi.json",
        ] {
            let response = app.get(path).send().await;
            assert_eq!(
                response.status.as_u16(),
                200,
                "{path}, round {round}: {}",
                response.text
            );
        }
    }
    let second_api_call = app.get("/api/v1/auth/me").send().await;
    assert_error(&second_api_call, 429, "rate_limited");
    assert_eq!(rate_limited_total(&app, "ip").await, 1);
    app.teardown().await;
}

async fn redis_shares_budget_between_instances(backend: Backend) {
    // Arrange: two instances on one database and one Redis prefix.
    let prefix = format!("taquilla-test-{}:", Uuid::new_v4().simple());
    let with_redis = |config: &mut taquilla_app::Config| {
        config.rate_limit_user_per_hour = 4;
        config.redis_url = Some(redis_url());
        config.redis_key_prefix = prefix.clone();
    };
    let first = spawn_app_with(backend, with_redis).await;
    let database_url = first.state.config.database_url.clone();
    let second = spawn_app_with(backend, |config| {
        with_redis(config);
        config.database_url = database_url;
    })
    .await;
    let tenant = first.setup_tenant("compartido", "J-12345678-4").await;
    let user_id = first
        .create_user(Some(tenant.tenant_id), "compartido-taquilla", Role::Cashier)
        .await;
    let token = first.access_token("compartido-taquilla").await;

    // Act: the requests alternate between the instances.
    let mut statuses = Vec::new();
    for request in 0..6 {
        let instance = if request % 2 == 0 { &first } else { &second };
        let response = instance.get("/api/v1/auth/me").token(&token).send().await;
        statuses.push(response.status.as_u16());
    }
    let key_exists = redis_key_exists(&format!("{prefix}ratelimit:user:{user_id}")).await;

    // Assert: each instance alone would have allowed 4.
    assert_eq!(statuses, vec![200, 200, 200, 200, 429, 429]);
    assert!(key_exists, "the budget is not in Redis");
    assert_eq!(rate_limited_total(&first, "user").await, 1);
    assert_eq!(rate_limited_total(&second, "user").await, 1);
    delete_redis_keys(&prefix).await;
    second.teardown().await;
    first.teardown().await;
}

async fn closed_redis_port_falls_back_to_memory(backend: Backend) {
    // Arrange: a loopback port that nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let app = spawn_app_with(backend, |config| {
        config.rate_limit_user_per_hour = 3;
        config.redis_url = Some(format!("redis://127.0.0.1:{closed_port}"));
    })
    .await;
    let tenant = app.setup_tenant("sinredis", "J-12345678-4").await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app
            .get("/api/v1/auth/me")
            .token(&tenant.cashier_token)
            .send()
            .await;
        statuses.push(response.status.as_u16());
    }
    let other_user = app
        .get("/api/v1/auth/me")
        .token(&tenant.admin_token)
        .send()
        .await;
    let health = app.get("/health/").send().await;

    // Assert
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    assert_status(&other_user, 200);
    assert_status(&health, 200);
    assert_eq!(rate_limited_total(&app, "user").await, 1);
    app.teardown().await;
}
