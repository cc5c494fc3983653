//! Request-mix load tests of the operators' plan: `--test-type health`,
//! `auth`, `events`, `reports` and `mixed` (health 10, auth 20, events 25,
//! sales 30, reports 15). Each iteration of a virtual user runs one scenario,
//! a few requests long. Users run closed-loop (`--concurrent-users`, each
//! until `--duration` or `--requests-per-user` iterations), or open-loop with
//! `--rate`: iterations start at that rate whatever the responses take, with at
//! most `--concurrent-users` in flight.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

use super::load_test::{Api, summary};

/// One scenario of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scenario {
    Health,
    Auth,
    Events,
    Sales,
    Reports,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Auth => "auth",
            Self::Events => "events",
            Self::Sales => "sales",
            Self::Reports => "reports",
        }
    }
}

/// The operators' mixed weights, out of 100.
pub(super) const MIXED: [(Scenario, u64); 5] = [
    (Scenario::Health, 10),
    (Scenario::Auth, 20),
    (Scenario::Events, 25),
    (Scenario::Sales, 30),
    (Scenario::Reports, 15),
];

/// Picks the scenario of iteration `index`: spread evenly by the weights, in
/// a fixed order, so a short run still follows them.
fn pick(mix: &[(Scenario, u64)], index: u64) -> Scenario {
    let total: u64 = mix.iter().map(|(_, weight)| weight).sum();
    // Iteration i takes slot (i * 37) mod total: 37 is prime to 100, so 100
    // iterations visit every slot once.
    let mut slot = (index.wrapping_mul(37)) % total.max(1);
    for (scenario, weight) in mix {
        if slot < *weight {
            return *scenario;
        }
        slot -= weight;
    }
    mix[0].0
}

/// Set-up data the scenarios use: tokens, the event and the seats to sell.
pub(super) struct Fixture {
    pub(super) cashier: Api,
    pub(super) admin: Api,
    pub(super) username: String,
    pub(super) password: String,
    pub(super) event_id: String,
    pub(super) zone_id: String,
    /// Seats for sales, handed out in order so no two sales take the same seat.
    pub(super) seats: Vec<String>,
    pub(super) seats_per_sale: usize,
    pub(super) customer_id: String,
}

/// Latencies per request name, and failures by kind.
#[derive(Default)]
struct Results {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    failures: BTreeMap<String, u64>,
    iterations_by_scenario: BTreeMap<&'static str, u64>,
}

struct Run {
    fixture: Fixture,
    results: Mutex<Results>,
    next_seat: AtomicUsize,
    requests: AtomicU64,
    failed: AtomicU64,
}

impl Run {
    /// Sends one request, times it and files a non-2xx response or a transport
    /// error under its kind. Returns the body of a 2xx response.
    async fn call(
        &self,
        api: &Api,
        name: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<String>,
    ) -> Option<Value> {
        let started = Instant::now();
        let outcome = api.send(method, path, body, key).await;
        let elapsed = started.elapsed();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let failure = match &outcome {
            Ok((status, _)) if (200..300).contains(status) => None,
            Ok((status, _)) => Some(format!("http_{status}")),
            Err(error) => Some(transport_kind(error)),
        };
        let mut results = self.results.lock().await;
        results.latencies.entry(name).or_default().push(elapsed);
        match failure {
            None => outcome.ok().map(|(_, value)| value),
            Some(kind) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                *results
                    .failures
                    .entry(format!("{name}: {kind}"))
                    .or_default() += 1;
                None
            }
        }
    }

    /// Sends a request outside `/api/v1` (the health routes), with no token.
    async fn call_root(&self, api: &Api, name: &'static str, path: &str) {
        let started = Instant::now();
        let outcome = api.client.get(format!("{}{path}", api.base)).send().await;
        let elapsed = started.elapsed();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let failure = match &outcome {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("http_{}", response.status().as_u16())),
            Err(error) => Some(if error.is_timeout() {
                "timeout".to_string()
            } else {
                "connection".to_string()
            }),
        };
        let mut results = self.results.lock().await;
        results.latencies.entry(name).or_default().push(elapsed);
        if let Some(kind) = failure {
            self.failed.fetch_add(1, Ordering::Relaxed);
            *results
                .failures
                .entry(format!("{name}: {kind}"))
                .or_default() += 1;
        }
    }

    async fn iteration(&self, scenario: Scenario) {
        let fixture = &self.fixture;
        let cashier = &fixture.cashier;
        match scenario {
            Scenario::Health => {
                for (name, path) in [
                    ("health", "/health/"),
                    ("health_live", "/health/live"),
                    ("health_ready", "/health/ready"),
                ] {
                    self.call_root(cashier, name, path).await;
                }
            }
            Scenario::Auth => {
                let body = json!({ "username": fixture.username, "password": fixture.password });
                let Some(tokens) = self
                    .call(
                        cashier,
                        "login",
                        reqwest::Method::POST,
                        "/auth/login",
                        Some(body),
                        None,
                    )
                    .await
                else {
                    return;
                };
                let user = Api {
                    client: cashier.client.clone(),
                    base: cashier.base.clone(),
                    token: tokens["access_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                };
                self.call(&user, "me", reqwest::Method::GET, "/auth/me", None, None)
                    .await;
                let refresh = json!({ "refresh_token": tokens["refresh_token"] });
                self.call(
                    &user,
                    "refresh",
                    reqwest::Method::POST,
                    "/auth/refresh",
                    Some(refresh),
                    None,
                )
                .await;
            }
            Scenario::Events => {
                let event = &fixture.event_id;
                let zone = &fixture.zone_id;
                let reads = [
                    ("events", "/events?limit=20".to_string()),
                    ("event", format!("/events/{event}")),
                    ("zones", format!("/events/{event}/zones")),
                    ("availability", format!("/zones/{zone}/availability")),
                    ("current_stages", format!("/events/{event}/stages/current")),
                ];
                for (name, path) in reads {
                    self.call(cashier, name, reqwest::Method::GET, &path, None, None)
                        .await;
                }
            }
            Scenario::Sales => self.sale().await,
            Scenario::Reports => {
                self.call(
                    cashier,
                    "x_report",
                    reqwest::Method::GET,
                    "/fiscal/reports/x",
                    None,
                    None,
                )
                .await;
                let admin = &fixture.admin;
                for (name, path) in [
                    ("daily_summary", "/fiscal/reports/daily"),
                    ("documents", "/fiscal/documents?limit=50"),
                ] {
                    self.call(admin, name, reqwest::Method::GET, path, None, None)
                        .await;
                }
            }
        }
    }

    /// Runs one online sale (hold, order, payment, tickets) on seats of its own.
    async fn sale(&self) {
        let fixture = &self.fixture;
        let per_sale = fixture.seats_per_sale;
        let first = self.next_seat.fetch_add(per_sale, Ordering::Relaxed);
        let Some(seats) = fixture.seats.get(first..first + per_sale) else {
            let mut results = self.results.lock().await;
            *results
                .failures
                .entry("sales: seats_exhausted".to_string())
                .or_default() += 1;
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };

        let cashier = &fixture.cashier;
        let hold_body = json!({ "zone_id": fixture.zone_id, "seat_ids": seats });
        let Some(hold) = self
            .call(
                cashier,
                "hold",
                reqwest::Method::POST,
                "/holds",
                Some(hold_body),
                None,
            )
            .await
        else {
            return;
        };

        let order_body = json!({ "hold_id": hold["id"], "customer_id": fixture.customer_id });
        let Some(order) = self
            .call(
                cashier,
                "order",
                reqwest::Method::POST,
                "/orders",
                Some(order_body),
                None,
            )
            .await
        else {
            return;
        };

        let order_id = order["id"].as_str().unwrap_or_default().to_string();
        let payment = json!({
            "method": "cash",
            "currency": "VES",
            "amount_cents": order["total_bs_cents"],
        });
        let paid = self
            .call(
                cashier,
                "payment",
                reqwest::Method::POST,
                &format!("/orders/{order_id}/payments"),
                Some(payment),
                Some(uuid::Uuid::now_v7().to_string()),
            )
            .await;

        if paid.is_some() {
            self.call(
                cashier,
                "tickets",
                reqwest::Method::GET,
                &format!("/orders/{order_id}/tickets"),
                None,
                None,
            )
            .await;
        }
    }
}

fn transport_kind(error: &anyhow::Error) -> String {
    match error.downcast_ref::<reqwest::Error>() {
        Some(error) if error.is_timeout() => "timeout".to_string(),
        Some(error) if error.is_connect() => "connection".to_string(),
        _ => "transport".to_string(),
    }
}

/// Pacing of the iterations: closed loop, or open loop at a rate.
pub(super) struct Pace {
    pub(super) users: usize,
    pub(super) duration: Duration,
    /// Iterations per user (closed loop); none: until the duration ends.
    pub(super) iterations_per_user: Option<u64>,
    /// Iterations started per second (open loop); none: closed loop.
    pub(super) rate: Option<f64>,
}

/// Prints progress to stderr: a bar redrawn every second on a terminal, a
/// line every 5 seconds otherwise.
fn spawn_progress(
    run: Arc<Run>,
    started: Instant,
    duration: Duration,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let terminal = std::io::stderr().is_terminal();
        let every = if terminal { 1 } else { 5 };
        let mut ticker = tokio::time::interval(Duration::from_secs(every));
        ticker.tick().await;
        while !done.load(Ordering::Relaxed) {
            ticker.tick().await;
            if done.load(Ordering::Relaxed) {
                break;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let requests = run.requests.load(Ordering::Relaxed);
            let failed = run.failed.load(Ordering::Relaxed);
            let share = (elapsed / duration.as_secs_f64().max(1.0)).min(1.0);
            let filled = (share * 30.0) as usize;
            let line = format!(
                "[{}{}] {elapsed:>5.0}/{} s  {requests} requests  {:.1}/s  {failed} failed",
                "=".repeat(filled),
                " ".repeat(30 - filled),
                duration.as_secs(),
                requests as f64 / elapsed.max(0.001)
            );
            if terminal {
                eprint!("\r{line}");
            } else {
                eprintln!("{line}");
            }
        }
    })
}

/// Runs `mix` at `pace` and returns the report: requests per second,
/// latencies per request, failures by kind and the thresholds' verdict.
pub(super) async fn run_mix(fixture: Fixture, mix: Vec<(Scenario, u64)>, pace: Pace) -> Value {
    let run = Arc::new(Run {
        fixture,
        results: Mutex::new(Results::default()),
        next_seat: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let mix = Arc::new(mix);
    let iterations = Arc::new(AtomicU64::new(0));
    let skipped_arrivals = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + pace.duration;
    let done = Arc::new(AtomicBool::new(false));
    let progress = spawn_progress(run.clone(), started, pace.duration, done.clone());

    let count = |scenario: Scenario, run: &Arc<Run>| {
        let run = run.clone();
        async move {
            *run.results
                .lock()
                .await
                .iterations_by_scenario
                .entry(scenario.name())
                .or_default() += 1;
        }
    };

    match pace.rate {
        None => {
            let mut users = Vec::new();
            for _ in 0..pace.users {
                let (run, mix, iterations) = (run.clone(), mix.clone(), iterations.clone());
                let limit = pace.iterations_per_user;
                users.push(tokio::spawn(async move {
                    let mut done_here = 0u64;
                    while Instant::now() < deadline && limit.is_none_or(|limit| done_here < limit) {
                        let index = iterations.fetch_add(1, Ordering::Relaxed);
                        let scenario = pick(&mix, index);
                        run.iteration(scenario).await;
                        count(scenario, &run).await;
                        done_here += 1;
                    }
                }));
            }
            for user in users {
                let _ = user.await;
            }
        }
        Some(rate) => {
            let slots = Arc::new(Semaphore::new(pace.users));
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut in_flight = Vec::new();
            while Instant::now() < deadline {
                ticker.tick().await;
                // Open loop: an arrival finding every slot busy is counted, not queued.
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    skipped_arrivals.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let index = iterations.fetch_add(1, Ordering::Relaxed);
                let scenario = pick(&mix, index);
                let run = run.clone();
                in_flight.push(tokio::spawn(async move {
                    run.iteration(scenario).await;
                    count(scenario, &run).await;
                    drop(permit);
                }));
            }
            for task in in_flight {
                let _ = task.await;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    progress.abort();
    if progress.await.is_err() && std::io::stderr().is_terminal() {
        // The bar was cut mid-line.
        eprintln!();
    }

    let mut results = run.results.lock().await;
    let mut all: Vec<Duration> = results.latencies.values().flatten().copied().collect();
    let overall = summary("all", &mut all);
    let requests = all.len() as u64;
    let failed = run.failed.load(Ordering::Relaxed);
    let error_rate = if requests == 0 {
        0.0
    } else {
        failed as f64 / requests as f64
    };
    let per_request: Vec<Value> = results
        .latencies
        .iter_mut()
        .map(|(name, samples)| summary(name, samples))
        .collect();
    let p95 = overall["p95_ms"].as_f64().unwrap_or(0.0);
    let p99 = overall["p99_ms"].as_f64().unwrap_or(0.0);
    let met = p95 < 500.0 && p99 < 1_000.0 && error_rate < 0.05 && requests > 0;
    json!({
        "duration_s": elapsed,
        "concurrent_users": pace.users,
        "rate": pace.rate,
        "iterations": iterations.load(Ordering::Relaxed),
        "iterations_by_scenario": results.iterations_by_scenario,
        "skipped_arrivals": skipped_arrivals.load(Ordering::Relaxed),
        "requests": requests,
        "requests_per_second": requests as f64 / elapsed.max(0.001),
        "failed": failed,
        "error_rate": error_rate,
        "failures": results.failures,
        "overall": overall,
        "per_request": per_request,
        "thresholds": { "p95_ms": 500, "p99_ms": 1000, "error_rate": 0.05, "met": met },
        "passed": met,
    })
}

/// Prints a request-mix report as text.
pub(super) fn print_mix(test_type: &str, report: &Value) {
    println!(
        "{test_type}: {} requests in {:.1} s ({:.1}/s), {} failed ({:.2} %), {} iterations{}",
        report["requests"],
        report["duration_s"].as_f64().unwrap_or(0.0),
        report["requests_per_second"].as_f64().unwrap_or(0.0),
        report["failed"],
        report["error_rate"].as_f64().unwrap_or(0.0) * 100.0,
        report["iterations"],
        match report["skipped_arrivals"].as_u64() {
            Some(skipped) if skipped > 0 => {
                format!(", {skipped} arrivals skipped (every user busy)")
            }
            _ => String::new(),
        }
    );
    println!(
        "{:<16} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "request", "count", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let rows = report["per_request"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&report["overall"]));
    for row in rows {
        println!(
            "{:<16} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            row["kind"].as_str().unwrap_or_default(),
            row["count"].as_u64().unwrap_or(0),
            row["mean_ms"].as_f64().unwrap_or(0.0),
            row["p50_ms"].as_f64().unwrap_or(0.0),
            row["p95_ms"].as_f64().unwrap_or(0.0),
            row["p99_ms"].as_f64().unwrap_or(0.0),
            row["max_ms"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(failures) = report["failures"].as_object()
        && !failures.is_empty()
    {
        println!("failures by kind:");
        for (kind, count) in failures {
            println!("  {kind}: {count}");
        }
        if failures.keys().any(|kind| kind.ends_with("http_429")) {
            println!("hint: {}", super::load_test::RATE_LIMIT_HINT);
        }
    }
    println!(
        "thresholds (p95 < 500 ms, p99 < 1000 ms, errors < 5 %): {}",
        if report["passed"] == true {
            "PASSED"
        } else {
            "FAILED"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_picks_follow_the_weights() {
        let mut counts = BTreeMap::new();
        for index in 0..1_000 {
            *counts.entry(pick(&MIXED, index).name()).or_insert(0) += 1;
        }
        assert_eq!(counts["health"], 100);
        assert_eq!(counts["auth"], 200);
        assert_eq!(counts["events"], 250);
        assert_eq!(counts["sales"], 300);
        assert_eq!(counts["reports"], 150);
    }

    #[test]
    fn single_scenario_mix_always_picks_it() {
        let mix = [(Scenario::Reports, 1)];
        assert!((0..50).all(|index| pick(&mix, index) == Scenario::Reports));
    }
}
