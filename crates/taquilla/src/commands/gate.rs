//! `taquilla load-test --test-type gate`: scans at the door. The run sells
//! the --seats of a new event with quick sales and reads their tickets. Then
//! --concurrent-users scanners validate every ticket twice: the two scans of
//! one ticket are taken one right after the other, so two scanners usually
//! send them at the same moment. The report checks that each ticket was
//! admitted exactly once and rejected once as `ticket_already_used`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::load_test::{Api, RATE_LIMIT_HINT, latency_line, set_up_event, summary};

/// The scanners' shared tally: latencies by result, and the tickets admitted.
#[derive(Default)]
struct Scans {
    admitted: Vec<Duration>,
    already_used: Vec<Duration>,
    /// Tickets admitted, by index into the ticket list, to find a ticket
    /// admitted twice.
    admitted_tickets: Vec<usize>,
    errors: usize,
    rate_limited: usize,
}

/// Sells every seat of the zone with quick sales of `seats_per_sale` seats,
/// `sellers` at a time, and returns the QR payloads of their tickets.
async fn sell_out(
    make_api: &impl Fn() -> Api,
    zone_id: &str,
    customer_id: &str,
    seat_ids: Vec<String>,
    seats_per_sale: usize,
    sellers: usize,
) -> anyhow::Result<Vec<String>> {
    let sales: Arc<Vec<Vec<String>>> = Arc::new(
        seat_ids
            .chunks(seats_per_sale)
            .map(<[String]>::to_vec)
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..sellers {
        let (api, sales, next) = (make_api(), sales.clone(), next.clone());
        let (zone_id, customer_id) = (zone_id.to_string(), customer_id.to_string());
        workers.push(tokio::spawn(async move {
            let mut payloads = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(seats) = sales.get(index) else {
                    return anyhow::Ok(payloads);
                };
                let order = api
                    .expect(
                        reqwest::Method::POST,
                        "/sales",
                        Some(json!({
                            "zone_id": zone_id,
                            "seat_ids": seats,
                            "customer_id": customer_id,
                            "payments": [{ "method": "cash", "currency": "USD",
                                "amount_cents": seats.len() as i64 * 2_500 * 2 }],
                        })),
                        Some(uuid::Uuid::now_v7().to_string()),
                    )
                    .await
                    .context("selling the event's seats before the scans")?;
                let order_id = order["id"].as_str().unwrap_or_default();
                let tickets = api
                    .expect(
                        reqwest::Method::GET,
                        &format!("/orders/{order_id}/tickets"),
                        None,
                        None,
                    )
                    .await?;
                payloads.extend(
                    tickets
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|ticket| ticket["qr_payload"].as_str().map(str::to_string)),
                );
            }
        }));
    }
    let mut payloads = Vec::new();
    for worker in workers {
        payloads.extend(worker.await??);
    }
    Ok(payloads)
}

/// Runs one scanner: takes the next scan of the list until none is left or
/// the deadline passes. Scan `2 i` and `2 i + 1` are both of ticket `i`.
async fn scanner(
    api: Api,
    gate: String,
    payloads: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    scans: Arc<Mutex<Scans>>,
    deadline: Instant,
) {
    while Instant::now() < deadline {
        let scan = next.fetch_add(1, Ordering::Relaxed);
        let Some(payload) = payloads.get(scan / 2) else {
            return;
        };
        let started = Instant::now();
        let result = api
            .send(
                reqwest::Method::POST,
                "/tickets/validate",
                Some(json!({ "qr_payload": payload, "gate": gate })),
                None,
            )
            .await;
        let took = started.elapsed();
        let mut scans = scans.lock().await;
        match result {
            Ok((200, body)) if body["result"] == "admitted" => {
                scans.admitted.push(took);
                scans.admitted_tickets.push(scan / 2);
            }
            Ok((409, body)) if body["error"]["code"] == "ticket_already_used" => {
                scans.already_used.push(took);
            }
            Ok((429, _)) => scans.rate_limited += 1,
            Ok((status, body)) => {
                scans.errors += 1;
                if scans.errors <= 5 {
                    eprintln!("scan failed with {status}: {body}");
                }
            }
            Err(error) => {
                scans.errors += 1;
                if scans.errors <= 5 {
                    eprintln!("scan failed: {error:#}");
                }
            }
        }
    }
}

/// Sells out a new event of `seats` seats, then scans each ticket twice with
/// `scanners` concurrent scanners for at most `duration`; returns the report.
pub(super) async fn run_gate(
    admin: &Api,
    make_api: impl Fn() -> Api,
    scanners: usize,
    seats: usize,
    seats_per_sale: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let (zone_id, seat_ids, customer_id) = set_up_event(admin, seats).await?;
    eprintln!("selling {} seats to scan their tickets …", seat_ids.len());
    let payloads = sell_out(
        &make_api,
        &zone_id,
        &customer_id,
        seat_ids,
        seats_per_sale,
        scanners.min(8),
    )
    .await?;
    if payloads.is_empty() {
        bail!("the sold orders have no tickets to scan");
    }
    let tickets = payloads.len();
    eprintln!("{scanners} scanners, {tickets} tickets, each scanned twice …");

    let payloads = Arc::new(payloads);
    let next = Arc::new(AtomicUsize::new(0));
    let scans = Arc::new(Mutex::new(Scans::default()));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    for index in 0..scanners {
        workers.push(tokio::spawn(scanner(
            make_api(),
            format!("Puerta {}", index + 1),
            payloads.clone(),
            next.clone(),
            scans.clone(),
            deadline,
        )));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut scans = scans.lock().await;
    let scanned = scans.admitted.len() + scans.already_used.len() + scans.errors;
    let mut admitted_tickets = scans.admitted_tickets.clone();
    admitted_tickets.sort_unstable();
    let admitted = admitted_tickets.len();
    admitted_tickets.dedup();
    let admitted_twice = admitted - admitted_tickets.len();
    // Every ticket whose two scans both ran: one admission, one rejection.
    let both_scanned = next.load(Ordering::Relaxed).min(2 * tickets) / 2;
    let complete = both_scanned == tickets;
    let already_used = scans.already_used.len();
    let mut all: Vec<Duration> = scans
        .admitted
        .iter()
        .chain(&scans.already_used)
        .copied()
        .collect();
    let overall = summary("scan", &mut all);
    let admitted_summary = summary("admitted", &mut scans.admitted);
    let rejected_summary = summary("already_used", &mut scans.already_used);
    let error_rate = if scanned == 0 {
        0.0
    } else {
        scans.errors as f64 / scanned as f64
    };
    let clean =
        admitted_twice == 0 && (!complete || (admitted == tickets && already_used == tickets));
    let p95 = overall["p95_ms"].as_f64().unwrap_or(0.0);
    let p99 = overall["p99_ms"].as_f64().unwrap_or(0.0);
    let thresholds_met = p95 < 500.0 && p99 < 1000.0 && error_rate < 0.05;
    Ok(json!({
        "test_type": "gate",
        "scanners": scanners,
        "tickets": tickets,
        "duration_s": elapsed,
        "scans": scanned,
        "scans_per_second": scanned as f64 / elapsed,
        "all_scanned_twice": complete,
        "admitted": admitted,
        "already_used": already_used,
        "errors": scans.errors,
        "rate_limited": scans.rate_limited,
        "error_rate": error_rate,
        "requests": [overall, admitted_summary, rejected_summary],
        "invariants": {
            "clean": clean,
            "tickets_admitted_twice": admitted_twice,
        },
        "thresholds": {
            "p95_ms_below": 500,
            "p99_ms_below": 1000,
            "error_rate_below": 0.05,
            "met": thresholds_met,
        },
        "passed": clean && complete && thresholds_met && scans.errors == 0 && scans.rate_limited == 0,
    }))
}

/// Prints the gate report as JSON or as a short text summary.
pub(super) fn print_gate(report: &Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "{} scanners, {} tickets: {} scans in {:.1} s ({:.1}/s): {} admitted, {} already used, {} errors, {} rate-limited",
        report["scanners"],
        report["tickets"],
        report["scans"],
        report["duration_s"].as_f64().unwrap_or(0.0),
        report["scans_per_second"].as_f64().unwrap_or(0.0),
        report["admitted"],
        report["already_used"],
        report["errors"],
        report["rate_limited"]
    );
    println!("scans: {}", latency_line(&report["requests"][0]));
    println!(
        "double-scan protection: {} (tickets admitted twice: {}); every ticket scanned twice: {}; {}",
        if report["invariants"]["clean"] == true {
            "intact"
        } else {
            "BROKEN"
        },
        report["invariants"]["tickets_admitted_twice"],
        report["all_scanned_twice"],
        if report["passed"] == true {
            "PASSED"
        } else {
            "FAILED"
        }
    );
    if report["rate_limited"].as_u64().unwrap_or(0) > 0 {
        eprintln!("hint: scans were rejected with 429 rate_limited. {RATE_LIMIT_HINT}");
    }
    Ok(())
}
