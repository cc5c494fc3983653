//! The read cache serves availability, current stages and the catalogue.
//! Every change through the API shows at once, and tenants never see each
//! other's entries. Redis shares the cache across instances, and a Redis that
//! is down only sends reads to the database.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use taquilla_app::Config;
use taquilla_app::startup::Application;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, Param, Shop, TestApp, ZoneSpec, assert_error, assert_status, cash_ves,
    new_client, spawn_app, spawn_app_with, test_redis_url,
};

backend_tests!(
    random_changes_match_database_in_memory,
    random_changes_match_database_in_redis,
    reads_cached_until_change_or_ttl,
    api_changes_show_at_once,
    entries_stay_in_their_tenant,
    redis_shared_across_instances,
    redis_down_keeps_selling,
    redis_stopped_mid_run_keeps_selling,
);

fn operations(app: &TestApp, operation: &str, result: &str) -> u64 {
    app.state
        .metrics
        .cache_operations_total
        .with_label_values(&[operation, result])
        .get()
}

async fn numbered_shop(app: &TestApp, slug: &str, rif: &str) -> Shop {
    app.setup_shop(
        slug,
        rif,
        ZoneSpec::Numbered {
            rows: vec![4],
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

/// Statuses of the zone's seats, in seat order, as the API shows them.
async fn seat_statuses(app: &TestApp, token: &str, zone_id: Uuid) -> Vec<String> {
    let availability = app.availability(token, zone_id).await;
    assert_status(&availability, 200);
    availability.body["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|seat| seat["status"].as_str().expect("status").to_string())
        .collect()
}

fn statuses(list: &[&str]) -> Vec<String> {
    list.iter().map(|status| status.to_string()).collect()
}

/// A small deterministic generator (xorshift64*), so a failing sequence can
/// be replayed from the seed printed with the failure.
struct Sequence(u64);

impl Sequence {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound
    }
}

/// The sequences move the clock by 16 minutes many times; tokens must outlive them.
const LONG_TOKEN_MINUTES: i64 = 30 * 24 * 60;

async fn random_changes_match_database_in_memory(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.access_token_minutes = LONG_TOKEN_MINUTES;
    })
    .await;
    random_changes_match_database(&app).await;
    app.teardown().await;
}

async fn random_changes_match_database_in_redis(backend: Backend) {
    let prefix = format!("taquilla-test-{}:", Uuid::new_v4().simple());
    let app = spawn_app_with(backend, |config| {
        config.redis_url = Some(test_redis_url());
        config.redis_key_prefix = prefix.clone();
        config.access_token_minutes = LONG_TOKEN_MINUTES;
    })
    .await;
    random_changes_match_database(&app).await;
    app.teardown().await;
    delete_redis_keys(&prefix).await;
}

/// Runs random sequences of holds, releases, orders, cancellations, quick
/// sales, voids, expiries and price changes. After each step the seat map read
/// through the API (and so through the cache) equals the database's.
async fn random_changes_match_database(app: &TestApp) {
    let shop = app
        .setup_shop(
            "cache-azar",
            "J-12345678-4",
            ZoneSpec::Numbered {
                rows: vec![3, 3],
                price_usd_cents: 1_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let admin = &shop.tenant.admin_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let path = format!("/api/v1/zones/{}/availability", shop.zone_id);

    for seed in [0x5EED_0001_u64, 0x5EED_0002, 0x5EED_0003, 0x5EED_0004] {
        let mut random = Sequence(seed);
        let mut holds: Vec<Uuid> = Vec::new();
        let mut unpaid: Vec<Uuid> = Vec::new();
        let mut paid: Vec<Uuid> = Vec::new();
        for step in 0..40 {
            let map = app
                .state
                .store
                .zone_availability(shop.tenant.tenant_id, shop.zone_id)
                .await
                .expect("availability from the database");
            let free: Vec<Uuid> = map
                .seats
                .iter()
                .filter(|status| status.status == "available")
                .map(|status| status.id)
                .collect();
            // Mostly a free seat; sometimes any seat, which a hold or sale must refuse.
            let seat = if free.is_empty() || random.below(5) == 0 {
                seats[random.below(seats.len())]
            } else {
                free[random.below(free.len())]
            };
            // Only operations that apply to the current state are drawn.
            let mut applicable = vec![0, 4, 6, 7];
            if !holds.is_empty() {
                applicable.extend([1, 2]);
            }
            if !unpaid.is_empty() {
                applicable.push(3);
            }
            if !paid.is_empty() {
                applicable.push(5);
            }
            let operation = applicable[random.below(applicable.len())];
            match operation {
                0 => {
                    let hold = app.hold_seats(cashier, shop.zone_id, &[seat]).await;
                    if hold.status == 201 {
                        holds.push(hold.id("id"));
                    }
                }
                1 => {
                    let hold = holds.swap_remove(random.below(holds.len()));
                    app.delete(&format!("/api/v1/holds/{hold}"))
                        .token(cashier)
                        .send()
                        .await;
                }
                2 => {
                    let hold = holds.swap_remove(random.below(holds.len()));
                    let order = app.create_order(cashier, hold, shop.customer_id).await;
                    if order.status == 201 {
                        unpaid.push(order.id("id"));
                    }
                }
                3 => {
                    let order = unpaid.swap_remove(random.below(unpaid.len()));
                    app.post(&format!("/api/v1/orders/{order}/cancel"))
                        .token(cashier)
                        .send()
                        .await;
                }
                4 => {
                    // A taken seat is still offered: the sale must be refused.
                    let total = if free.contains(&seat) {
                        app.order_total_bs(&shop, cashier, &[seat]).await
                    } else {
                        100
                    };
                    let sale = app
                        .post("/api/v1/sales")
                        .token(cashier)
                        .idempotency_key(&format!("azar-{seed}-{step}"))
                        .json(json!({
                            "zone_id": shop.zone_id,
                            "seat_ids": [seat],
                            "customer_id": shop.customer_id,
                            "payments": [cash_ves(total)],
                        }))
                        .send()
                        .await;
                    if sale.status == 201 {
                        paid.push(sale.id("id"));
                    }
                }
                5 => {
                    let order = paid.swap_remove(random.below(paid.len()));
                    app.void_order(admin, order, "Prueba de caché").await;
                }
                6 => {
                    app.advance(Duration::minutes(16));
                    taquilla_app::jobs::sweep_once(&app.state)
                        .await
                        .expect("sweeper round");
                    holds.clear();
                    unpaid.clear();
                }
                _ => {
                    let markup = random.below(5) as i64 * 500;
                    app.request(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/zones/{}/pricing", shop.zone_id),
                    )
                    .token(admin)
                    .json(json!({ "row_markup_basis_points": markup }))
                    .send()
                    .await;
                }
            }

            // The first read after a change loads the map, the second one is
            // served from the cache; both must equal the database.
            let database = app
                .state
                .store
                .zone_availability(shop.tenant.tenant_id, shop.zone_id)
                .await
                .expect("availability from the database");
            for read in ["first", "second"] {
                let through_cache = app.get(&path).token(cashier).send().await;
                assert_status(&through_cache, 200);
                assert_eq!(
                    through_cache.body,
                    serde_json::to_value(&database).unwrap(),
                    "seed {seed:#x}, step {step}, operation {operation}, {read} read"
                );
            }
        }
    }
    assert!(
        operations(app, "get", "hit") > 0,
        "the cache was never used"
    );
}

async fn reads_cached_until_change_or_ttl(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "cache-ttl", "J-12345678-4").await;
    let cashier = &shop.tenant.cashier_token;

    let first = app.availability(cashier, shop.zone_id).await;
    let hits = operations(&app, "get", "hit");
    let second = app.availability(cashier, shop.zone_id).await;
    assert_eq!(first.body, second.body);
    assert_eq!(operations(&app, "get", "hit"), hits + 1);

    // A change behind the API's back (here by SQL) is not seen while the
    // entry is fresh: the response comes from the cache ...
    let seat_id =
        |index: usize| Uuid::parse_str(first.body["seats"][index]["id"].as_str().unwrap()).unwrap();
    for index in [0, 1] {
        app.db
            .execute(
                "UPDATE seats SET status = 'sold' WHERE id = $1",
                &[Param::from(seat_id(index))],
            )
            .await;
    }
    assert_eq!(
        seat_statuses(&app, cashier, shop.zone_id).await[..2],
        statuses(&["available", "available"])
    );
    // ... until a hold is refused because the seat is taken, which replaces
    // the map ...
    let refused = app.hold_seats(cashier, shop.zone_id, &[seat_id(1)]).await;
    assert_error(&refused, 409, "seats_unavailable");
    assert_eq!(
        seat_statuses(&app, cashier, shop.zone_id).await[..2],
        statuses(&["sold", "sold"])
    );
    // ... or until the entry's time is over.
    app.db
        .execute(
            "UPDATE seats SET status = 'sold' WHERE id = $1",
            &[Param::from(seat_id(2))],
        )
        .await;
    assert_eq!(
        seat_statuses(&app, cashier, shop.zone_id).await[2],
        "available"
    );
    app.advance(Duration::seconds(
        app.state.config.cache_ttl_seconds as i64 + 1,
    ));
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await[2], "sold");

    // The counter is exported under its documented name.
    let metrics = app.get("/metrics").send().await;
    let text = metrics.text;
    assert!(
        text.contains("venezuelan_pos_cache_operations_total{operation=\"get\",result=\"hit\"}"),
        "{text}"
    );
    app.teardown().await;
}

async fn api_changes_show_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "cache-cambios", "J-12345678-4").await;
    let cashier = &shop.tenant.cashier_token;
    let admin = &shop.tenant.admin_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let free = statuses(&["available"; 4]);
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await, free);

    // Hold, then release.
    let hold = app.hold_seats(cashier, shop.zone_id, &seats[..1]).await;
    assert_status(&hold, 201);
    assert_eq!(
        seat_statuses(&app, cashier, shop.zone_id).await,
        statuses(&["held", "available", "available", "available"])
    );
    let released = app
        .delete(&format!("/api/v1/holds/{}", hold.id("id")))
        .token(cashier)
        .send()
        .await;
    assert_status(&released, 204);
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await, free);

    // A quick sale, then its void.
    let total = app.order_total_bs(&shop, cashier, &seats[1..2]).await;
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await, free);
    let sale = app
        .post("/api/v1/sales")
        .token(cashier)
        .idempotency_key("cache-venta-1")
        .json(json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[1]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total)],
        }))
        .send()
        .await;
    assert_status(&sale, 201);
    assert_eq!(
        seat_statuses(&app, cashier, shop.zone_id).await,
        statuses(&["available", "sold", "available", "available"])
    );
    let voided = app
        .void_order(admin, sale.id("id"), "Cambio de fecha")
        .await;
    assert_status(&voided, 200);
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await, free);

    // A hold left to expire: the sweeper's round shows in the cached map.
    let hold = app.hold_seats(cashier, shop.zone_id, &seats[2..3]).await;
    assert_status(&hold, 201);
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await[2], "held");
    app.advance(Duration::minutes(16));
    taquilla_app::jobs::sweep_once(&app.state)
        .await
        .expect("sweeper round");
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await, free);

    // A price change by the organiser.
    let before = app.availability(cashier, shop.zone_id).await;
    let priced = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/zones/{}/pricing", shop.zone_id),
        )
        .token(admin)
        .json(json!({ "row_markup_basis_points": 1_000 }))
        .send()
        .await;
    assert_status(&priced, 200);
    let after = app.availability(cashier, shop.zone_id).await;
    assert_eq!(
        after.body["seats"][0]["price_usd_cents"].as_i64().unwrap(),
        before.body["seats"][0]["price_usd_cents"].as_i64().unwrap() * 11 / 10
    );

    // A stage added and ended: the current stages follow each step.
    let stages_path = format!("/api/v1/events/{}/stages/current", shop.event_id);
    let current = app.get(&stages_path).token(cashier).send().await;
    assert_status(&current, 200);
    let mut stage_ids = Vec::new();
    for (name, basis_points) in [("Preventa", -2_000), ("General", 0)] {
        let stage = app
            .post(&format!("/api/v1/events/{}/stages", shop.event_id))
            .token(admin)
            .json(json!({
                "name": name,
                "modifier": { "kind": "percent", "basis_points": basis_points },
            }))
            .send()
            .await;
        assert_status(&stage, 201);
        stage_ids.push(stage.id("id"));
        let current = app.get(&stages_path).token(cashier).send().await;
        assert_eq!(
            current.body[0]["current"]["name"], "Preventa",
            "{}",
            current.body
        );
    }
    let ended = app
        .post(&format!("/api/v1/stages/{}/end", stage_ids[0]))
        .token(admin)
        .send()
        .await;
    assert_status(&ended, 200);
    let current = app.get(&stages_path).token(cashier).send().await;
    assert_eq!(
        current.body[0]["current"]["name"], "General",
        "{}",
        current.body
    );

    // The catalogue: an event closed by the organiser reads as closed.
    let event_path = format!("/api/v1/events/{}", shop.event_id);
    let event = app.get(&event_path).token(cashier).send().await;
    assert_eq!(event.body["status"], "active");
    let closed = app
        .post(&format!("{event_path}/close"))
        .token(admin)
        .send()
        .await;
    assert_status(&closed, 200);
    let event = app.get(&event_path).token(cashier).send().await;
    assert_eq!(event.body["status"], "closed");
    let events = app.get("/api/v1/events").token(cashier).send().await;
    assert_eq!(events.body["items"][0]["status"], "closed");
    app.teardown().await;
}

async fn entries_stay_in_their_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = numbered_shop(&app, "cache-nuestro", "J-12345678-4").await;
    let theirs = app.setup_tenant("cache-ajeno", "J-00124134-5").await;

    // Our map and event are cached; the other tenant still cannot read them.
    assert_status(
        &app.availability(&ours.tenant.cashier_token, ours.zone_id)
            .await,
        200,
    );
    let event_path = format!("/api/v1/events/{}", ours.event_id);
    assert_status(
        &app.get(&event_path)
            .token(&ours.tenant.cashier_token)
            .send()
            .await,
        200,
    );
    for _ in 0..2 {
        let map = app
            .get(&format!("/api/v1/zones/{}/availability", ours.zone_id))
            .token(&theirs.cashier_token)
            .send()
            .await;
        assert_error(&map, 404, "not_found");
        assert_error(
            &app.get(&event_path)
                .token(&theirs.cashier_token)
                .send()
                .await,
            404,
            "not_found",
        );
        let stages = app
            .get(&format!("/api/v1/events/{}/stages/current", ours.event_id))
            .token(&theirs.cashier_token)
            .send()
            .await;
        assert_error(&stages, 404, "not_found");
    }
    let list = app
        .get("/api/v1/events")
        .token(&theirs.cashier_token)
        .send()
        .await;
    assert_eq!(list.body["items"], json!([]));
    app.teardown().await;
}

/// A second instance of `app` on the same database, clock and configuration
/// (with `adjust` applied), serving on its own loopback port.
struct Instance {
    address: String,
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    async fn start(app: &TestApp, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = (*app.state.config).clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        adjust(&mut config);
        let application = Application::build(config, app.clock.clone() as Arc<_>)
            .await
            .expect("building the second instance");
        let address = format!("http://127.0.0.1:{}", application.local_addr().port());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            address,
            shutdown,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server
            .await
            .expect("the second instance panicked")
            .expect("the second instance stopped with an error");
    }
}

/// Deletes every Redis key under `prefix`.
async fn delete_redis_keys(prefix: &str) {
    let client = redis::Client::open(test_redis_url()).expect("Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .expect("listing keys");
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .expect("deleting keys");
    }
}

async fn set_redis_key(key: &str) {
    let client = redis::Client::open(test_redis_url()).expect("Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to Redis");
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("not taquilla's")
        .query_async(&mut connection)
        .await
        .expect("setting a key");
}

async fn redis_keys(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(test_redis_url()).expect("Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to Redis");
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .expect("listing keys")
}

async fn redis_shared_across_instances(backend: Backend) {
    let prefix = format!("taquilla-test-{}:", Uuid::new_v4().simple());
    let app = spawn_app_with(backend, |config| {
        config.redis_url = Some(test_redis_url());
        config.redis_key_prefix = prefix.clone();
    })
    .await;
    let second = Instance::start(&app, |_| {}).await;
    let shop = numbered_shop(&app, "cache-redis", "J-12345678-4").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;

    // The first instance fills the shared entry; the second one reads it.
    let first = app.availability(cashier, shop.zone_id).await;
    assert_status(&first, 200);
    let keys = redis_keys(&prefix).await;
    let group = format!(
        "{prefix}cache:{}:event:{}",
        shop.tenant.tenant_id, shop.event_id
    );
    assert!(keys.contains(&group), "{keys:?}");
    let client = new_client();
    let path = format!("/api/v1/zones/{}/availability", shop.zone_id);
    let read_second = || async {
        let response = client
            .get(format!("{}{path}", second.address))
            .bearer_auth(cashier)
            .send()
            .await
            .expect("request to the second instance");
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.expect("JSON")
    };
    assert_eq!(read_second().await, first.body);

    // A hold on the first instance shows on the second at once.
    assert_status(
        &app.hold_seats(cashier, shop.zone_id, &seats[..1]).await,
        201,
    );
    assert_eq!(read_second().await["seats"][0]["status"], "held");

    // `taquilla cache stats` counts it and `taquilla cache clear` empties it
    // for every instance, without touching keys outside the prefix.
    let foreign = format!("{prefix}other:cache:1");
    set_redis_key(&foreign).await;
    let cache_command = |command: &'static [&'static str]| {
        let prefix = prefix.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_taquilla"))
                .arg("cache")
                .args(command)
                .arg("--json")
                .env("REDIS_URL", test_redis_url())
                .env("TAQUILLA_REDIS_KEY_PREFIX", prefix)
                .env("DATABASE_URL", "postgres://127.0.0.1:1/unused")
                .output()
                .expect("running taquilla cache")
        })
    };
    let stats = cache_command(&["stats"]).await.unwrap();
    assert!(stats.status.success(), "{stats:?}");
    let stats: Value = serde_json::from_slice(&stats.stdout).expect("JSON stats");
    assert_eq!(stats["groups"], 1, "{stats}");
    assert!(stats["entries"].as_u64().unwrap() >= 1, "{stats}");
    let unconfirmed = cache_command(&["clear"]).await.unwrap();
    assert_eq!(unconfirmed.status.code(), Some(2), "{unconfirmed:?}");
    assert_eq!(redis_keys(&prefix).await.len(), 2);
    let cleared = cache_command(&["clear", "--confirm"]).await.unwrap();
    assert!(cleared.status.success(), "{cleared:?}");
    assert_eq!(redis_keys(&prefix).await, vec![foreign]);
    assert_eq!(read_second().await["seats"][0]["status"], "held");

    second.stop().await;
    app.teardown().await;
    delete_redis_keys(&prefix).await;
}

async fn redis_down_keeps_selling(backend: Backend) {
    // Nothing listens on port 1 of loopback.
    let app = spawn_app_with(backend, |config| {
        config.redis_url = Some("redis://127.0.0.1:1".to_string());
    })
    .await;
    let shop = numbered_shop(&app, "cache-caido", "J-12345678-4").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;

    assert_status(&app.availability(cashier, shop.zone_id).await, 200);
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let sale = app
        .post("/api/v1/sales")
        .token(cashier)
        .idempotency_key("cache-caido-1")
        .json(json!({
            "zone_id": shop.zone_id,
            "seat_ids": [seats[0]],
            "customer_id": shop.customer_id,
            "payments": [cash_ves(total)],
        }))
        .send()
        .await;
    assert_status(&sale, 201);
    assert_eq!(seat_statuses(&app, cashier, shop.zone_id).await[0], "sold");
    assert!(operations(&app, "get", "error") >= 2);

    let health = app.get("/health/").send().await;
    assert_status(&health, 200);
    assert_eq!(health.body["status"], "degraded");
    assert_eq!(health.body["components"]["redis"]["status"], "unhealthy");
    assert_eq!(health.body["components"]["cache"]["status"], "degraded");
    assert_eq!(health.body["components"]["cache"]["kind"], "redis");
    app.teardown().await;
}

/// A Redis server of the test's own, on a free loopback port, stopped when dropped.
struct OwnRedis {
    port: u16,
    process: std::process::Child,
}

impl OwnRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut process = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting redis-server (Debian package redis-server)");
        let url = format!("redis://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = redis::Client::open(url.as_str())
                && client.get_multiplexed_async_connection().await.is_ok()
            {
                return Self { port, process };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = process.kill();
        let _ = process.wait();
        panic!("redis-server on port {port} did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn redis_stopped_mid_run_keeps_selling(backend: Backend) {
    let mut redis = OwnRedis::start().await;
    let url = redis.url();
    let app = spawn_app_with(backend, |config| config.redis_url = Some(url)).await;
    let shop = app
        .setup_shop(
            "cache-corte",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 40,
                price_usd_cents: 1_500,
            },
            EventTimes::default(),
        )
        .await;
    let cashier = &shop.tenant.cashier_token;
    let hold = app.hold_quantity(cashier, shop.zone_id, 1).await;
    let order = app
        .create_order(cashier, hold.id("id"), shop.customer_id)
        .await;
    let unit_total = order.body["total_bs_cents"].as_i64().unwrap();
    assert_status(
        &app.post(&format!("/api/v1/orders/{}/cancel", order.id("id")))
            .token(cashier)
            .send()
            .await,
        200,
    );

    // 80 buyers of one unit each for 40 places, one after the other, with map
    // reads around each sale; Redis stops before the 21st buyer.
    let mut sold = 0;
    for buyer in 0..80 {
        if buyer == 20 {
            redis.stop();
        }
        assert_status(&app.availability(cashier, shop.zone_id).await, 200);
        let sale = app
            .post("/api/v1/sales")
            .token(cashier)
            .idempotency_key(&format!("corte-{buyer}"))
            .json(json!({
                "zone_id": shop.zone_id,
                "quantity": 1,
                "customer_id": shop.customer_id,
                "payments": [cash_ves(unit_total)],
            }))
            .send()
            .await;
        match sale.status.as_u16() {
            201 => sold += 1,
            409 => assert_eq!(sale.error_code(), "insufficient_capacity", "{}", sale.text),
            other => panic!("unexpected status {other}: {}", sale.text),
        }
        let map = app.availability(cashier, shop.zone_id).await;
        assert_eq!(map.body["sold"], sold, "buyer {buyer}: {}", map.text);
    }
    assert_eq!(sold, 40);
    let zone_sold = app
        .db
        .scalar_i64(
            "SELECT sold FROM zones WHERE id = $1",
            &[Param::from(shop.zone_id)],
        )
        .await;
    assert_eq!(zone_sold, 40);
    assert!(
        operations(&app, "get", "hit") > 0,
        "Redis served no read before it stopped"
    );
    assert!(operations(&app, "get", "error") > 0);

    let health = app.get("/health/").send().await;
    assert_status(&health, 200);
    assert_eq!(health.body["status"], "degraded");
    assert_eq!(health.body["components"]["redis"]["status"], "unhealthy");
    app.teardown().await;
}
