//! `taquilla load-test --test-type onsale`: the on-sale spike. Many buyers
//! race for the seats of one new event with quick sales until it is sold out.
//! Then the run checks through the API that no seat was sold twice, that the
//! zone sold exactly what the buyers bought and that invoice numbers have no gap.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::load_test::{Api, set_up_event, summary};

/// State the buyers share: the seats they still believe free, the seats and
/// invoices they bought, and their latencies.
#[derive(Default)]
struct Shared {
    free: Vec<String>,
    sold: Vec<String>,
    invoices: Vec<(String, i64)>,
    sale_latencies: Vec<Duration>,
    conflict_latencies: Vec<Duration>,
    errors: usize,
    conflicts: usize,
    /// Attempts rejected with 429 `rate_limited`, which are not counted in `errors`.
    rate_limited: usize,
}

/// A small deterministic generator, so a run's picks can be repeated.
fn next_random(state: &mut u64) -> usize {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 33) as usize
}

/// Settings and shared state every buyer of a run works with.
#[derive(Clone)]
struct Race {
    zone_id: String,
    customer_id: String,
    shared: Arc<Mutex<Shared>>,
    deadline: Instant,
    attempts: Arc<AtomicUsize>,
}

/// Runs one buyer: picks one or two seats it believes free and tries a quick
/// sale, until no seat is left or the deadline passes.
async fn buyer(api: Api, buyer_index: usize, race: Race) {
    let Race {
        zone_id,
        customer_id,
        shared,
        deadline,
        attempts,
    } = race;
    let mut random = 0x2545_F491_4F6C_DD1D_u64 ^ (buyer_index as u64).wrapping_mul(0x9E37_79B9);
    while Instant::now() < deadline {
        let seats: Vec<String> = {
            let shared = shared.lock().await;
            if shared.free.is_empty() {
                break;
            }
            let seat_count = 1 + next_random(&mut random) % 2;
            let mut picked = BTreeSet::new();
            for _ in 0..seat_count {
                let index = next_random(&mut random) % shared.free.len();
                picked.insert(shared.free[index].clone());
            }
            picked.into_iter().collect()
        };
        attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = api
            .send(
                reqwest::Method::POST,
                "/sales",
                Some(json!({
                    "zone_id": zone_id,
                    "seat_ids": seats,
                    "customer_id": customer_id,
                    "payments": [{ "method": "cash", "currency": "USD", "amount_cents": seats.len() as i64 * 2_500 * 2 }],
                })),
                Some(uuid::Uuid::now_v7().to_string()),
            )
            .await;
        let elapsed = started.elapsed();
        let mut shared = shared.lock().await;
        match result {
            Ok((201, order)) => {
                shared.sale_latencies.push(elapsed);
                shared.free.retain(|seat| !seats.contains(seat));
                shared.sold.extend(seats);
                if let Some(number) = order["invoice"]["number"].as_i64() {
                    let series = order["invoice"]["series"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    shared.invoices.push((series, number));
                }
            }
            Ok((409, body)) => {
                shared.conflict_latencies.push(elapsed);
                shared.conflicts += 1;
                // The conflict names the seats taken, so the buyer drops them from its list.
                let unavailable: HashSet<String> = body["error"]["details"]["seats"]
                    .as_array()
                    .map(|seats| {
                        seats
                            .iter()
                            .filter_map(|seat| {
                                seat["id"]
                                    .as_str()
                                    .or_else(|| seat.as_str())
                                    .map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if unavailable.is_empty() {
                    shared.free.retain(|seat| !seats.contains(seat));
                } else {
                    shared.free.retain(|seat| !unavailable.contains(seat));
                }
            }
            Ok((429, _)) => {
                // The server's rate limits are on, so every further attempt
                // of this buyer would be rejected too.
                shared.rate_limited += 1;
                break;
            }
            Ok((status, body)) => {
                shared.errors += 1;
                if shared.errors <= 5 {
                    eprintln!("sale failed with {status}: {body}");
                }
            }
            Err(error) => {
                shared.errors += 1;
                if shared.errors <= 5 {
                    eprintln!("sale failed: {error:#}");
                }
            }
        }
    }
}

/// Reads every invoice of the tenant through the paged list.
async fn invoice_numbers(api: &Api) -> anyhow::Result<Vec<(String, i64)>> {
    let mut numbers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/fiscal/documents?limit=200&cursor={cursor}"),
            None => "/fiscal/documents?limit=200".to_string(),
        };
        let page = api.expect(reqwest::Method::GET, &path, None, None).await?;
        for document in page["items"].as_array().into_iter().flatten() {
            if document["kind"] == "invoice" {
                numbers.push((
                    document["series"].as_str().unwrap_or_default().to_string(),
                    document["number"].as_i64().unwrap_or_default(),
                ));
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    Ok(numbers)
}

/// Runs the spike and returns its report. Its `passed` field is true when
/// the invariants held and the thresholds were met.
pub async fn run_onsale(
    admin: &Api,
    make_api: impl Fn() -> Api,
    buyers: usize,
    seats: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let (zone_id, seat_ids, customer_id) = set_up_event(admin, seats).await?;
    let capacity = seat_ids.len();
    // Invoices issued before the spike, so the check covers only its own.
    let before: HashSet<(String, i64)> = invoice_numbers(admin).await?.into_iter().collect();
    eprintln!("{buyers} buyers against {capacity} seats …");

    let shared = Arc::new(Mutex::new(Shared {
        free: seat_ids.clone(),
        ..Shared::default()
    }));
    let attempts = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    let race = Race {
        zone_id: zone_id.clone(),
        customer_id,
        shared: shared.clone(),
        deadline,
        attempts: attempts.clone(),
    };
    for index in 0..buyers {
        workers.push(tokio::spawn(buyer(make_api(), index, race.clone())));
    }
    let progress = {
        let shared = shared.clone();
        let attempts = attempts.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let sold = shared.lock().await.sold.len();
                eprint!(
                    "\r{:>6.1} s  {sold}/{capacity} seats sold, {} attempts   ",
                    started.elapsed().as_secs_f64(),
                    attempts.load(Ordering::Relaxed)
                );
            }
        })
    };
    for worker in workers {
        worker.await?;
    }
    progress.abort();
    eprintln!();
    let elapsed = started.elapsed().as_secs_f64();

    let mut shared = shared.lock().await;
    let sold_by_buyers = shared.sold.len();
    let distinct: HashSet<&String> = shared.sold.iter().collect();
    let sold_twice = sold_by_buyers - distinct.len();
    let availability = admin
        .expect(
            reqwest::Method::GET,
            &format!("/zones/{zone_id}/availability"),
            None,
            None,
        )
        .await?;
    let sold_in_zone = availability["sold"].as_i64().unwrap_or(-1);
    // The spike's invoices: every invoice not there before. Per series they
    // must continue the numbers before them without a gap or a repeat.
    let after = invoice_numbers(admin).await?;
    let mut new_numbers: Vec<(String, i64)> = after
        .into_iter()
        .filter(|invoice| !before.contains(invoice))
        .collect();
    new_numbers.sort();
    let mut numbering_problems = Vec::new();
    let mut series: Vec<String> = new_numbers.iter().map(|(code, _)| code.clone()).collect();
    series.dedup();
    for code in series {
        let numbers: Vec<i64> = new_numbers
            .iter()
            .filter(|(series, _)| *series == code)
            .map(|(_, number)| *number)
            .collect();
        let highest_before = before
            .iter()
            .filter(|(series, _)| *series == code)
            .map(|(_, number)| *number)
            .max()
            .unwrap_or(0);
        for (offset, number) in numbers.iter().enumerate() {
            if *number != highest_before + 1 + offset as i64 {
                numbering_problems.push(format!(
                    "series {code}: expected invoice {} and found {number}",
                    highest_before + 1 + offset as i64
                ));
                break;
            }
        }
    }
    let invoices_seen: HashSet<&(String, i64)> = shared.invoices.iter().collect();
    let invoices_repeated = shared.invoices.len() - invoices_seen.len();

    let sales = shared.sale_latencies.len();
    let errors = shared.errors;
    let conflicts = shared.conflicts;
    let rate_limited = shared.rate_limited;
    let requests = sales + conflicts + errors;
    let error_rate = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    let mut all_latencies: Vec<Duration> = shared
        .sale_latencies
        .iter()
        .chain(&shared.conflict_latencies)
        .copied()
        .collect();
    let overall = summary("request", &mut all_latencies);
    let sale_summary = summary("quick_sale", &mut shared.sale_latencies);
    let conflict_summary = summary("conflict", &mut shared.conflict_latencies);
    let sold_out = sold_in_zone == capacity as i64;
    let invariants_clean = sold_twice == 0
        && invoices_repeated == 0
        && numbering_problems.is_empty()
        && sold_in_zone == sold_by_buyers as i64
        && sold_in_zone <= capacity as i64;
    let p95 = overall["p95_ms"].as_f64().unwrap_or(0.0);
    let p99 = overall["p99_ms"].as_f64().unwrap_or(0.0);
    let thresholds_met = p95 < 500.0 && p99 < 1000.0 && error_rate < 0.05;
    if sold_in_zone < 0 {
        bail!("the zone's availability has no sold count: {availability}");
    }
    Ok(json!({
        "test_type": "onsale",
        "buyers": buyers,
        "capacity": capacity,
        "duration_s": elapsed,
        "sold_out": sold_out,
        "seats_sold": sold_in_zone,
        "sales": sales,
        "conflicts": conflicts,
        "errors": errors,
        "rate_limited": rate_limited,
        "error_rate": error_rate,
        "requests": [overall, sale_summary, conflict_summary],
        "invariants": {
            "clean": invariants_clean,
            "seats_sold_twice": sold_twice,
            "sold_in_zone": sold_in_zone,
            "sold_by_buyers": sold_by_buyers,
            "invoices_repeated": invoices_repeated,
            "numbering_problems": numbering_problems,
        },
        "thresholds": {
            "p95_ms_below": 500,
            "p99_ms_below": 1000,
            "error_rate_below": 0.05,
            "met": thresholds_met,
        },
        "passed": invariants_clean && thresholds_met && sold_out && rate_limited == 0,
    }))
}
