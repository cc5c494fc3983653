//! Pricing scenarios of the store contract: price stages, row and seat price
//! modifiers, tables, tax rules, IGTF, courtesies, discount codes and pinned
//! rates. Each scenario runs against SQLite and PostgreSQL, with the same
//! harness as `contract.rs`.
//!
//! PostgreSQL tests create a fresh database per test through the admin URL in
//! `TAQUILLA_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drop it at the end.
//!
//! Expected amounts are computed by hand in the comments. Unless a test names
//! another rate, the rate is the fixture's 36.12345678 Bs./USD. Every rounding
//! is half away from zero to the cent or céntimo.

use std::sync::Arc;

use chrono::{Duration, Utc};
use taquilla_domain::fiscal::caracas_date;
use taquilla_domain::money::Currency;
use taquilla_domain::pricing::{Modifier, PriceBreakdown};
use taquilla_domain::tax::{TaxCategory, TaxKind};
use taquilla_store::model::*;
use taquilla_store::{OffsetClock, Store, StoreError};
use uuid::Uuid;

mod common;

use common::{Backend, Harness};

struct Fixture {
    tenant_id: Uuid,
    user_id: Uuid,
    event_id: Uuid,
    customer_id: Uuid,
}

/// A page large enough for every list these tests read.
const ALL: PageRequest = PageRequest {
    limit: 200,
    after: None,
};

/// Rate the fixture stores for today: 36.12345678 Bs./USD.
const FIXTURE_RATE_SCALED: i64 = 3_612_345_678;

async fn fixture(store: &Arc<dyn Store>, clock: &OffsetClock, slug: &str) -> Fixture {
    let tenant = store
        .create_tenant(NewTenant {
            slug: slug.to_string(),
            name: "Producciones Prueba, C.A.".to_string(),
            rif: "J-12345678-4".to_string(),
            fiscal_address: "Caracas".to_string(),
            signing_key: vec![7; 32],
        })
        .await
        .unwrap();
    let user = store
        .create_user(NewUser {
            tenant_id: Some(tenant.id),
            username: format!("{slug}-cajero"),
            email: format!("{slug}@example.invalid"),
            password_hash: "not-a-real-hash".to_string(),
            role: Role::Cashier,
        })
        .await
        .unwrap();
    let venue = store
        .create_venue(
            tenant.id,
            NewVenue {
                name: "Sala".to_string(),
                address: "Av. 1".to_string(),
                city: "Caracas".to_string(),
            },
        )
        .await
        .unwrap();
    let now = clock.now_for_tests();
    let event = store
        .create_event(
            tenant.id,
            NewEvent {
                venue_id: venue.id,
                name: "Concierto".to_string(),
                description: String::new(),
                starts_at: now + Duration::days(10),
                sale_starts_at: Some(now - Duration::days(1)),
                sale_ends_at: Some(now + Duration::days(9)),
                hold_minutes: 15,
                payment_minutes: 15,
            },
        )
        .await
        .unwrap();
    store
        .create_exchange_rate(
            tenant.id,
            user.id,
            NewExchangeRate {
                rate_scaled: FIXTURE_RATE_SCALED,
                effective_date: caracas_date(now),
                source: "manual".to_string(),
            },
        )
        .await
        .unwrap();
    let customer = store
        .create_customer(
            tenant.id,
            NewCustomer {
                first_name: "Ana".to_string(),
                last_name: "Rojas".to_string(),
                search_name: "ana rojas".to_string(),
                document_kind: Some("cedula".to_string()),
                document: Some("V12345678".to_string()),
                phone: Some("+584141234567".to_string()),
                email: None,
            },
        )
        .await
        .unwrap();
    Fixture {
        tenant_id: tenant.id,
        user_id: user.id,
        event_id: event.id,
        customer_id: customer.id,
    }
}

trait ClockExt {
    fn now_for_tests(&self) -> chrono::DateTime<Utc>;
}

impl ClockExt for OffsetClock {
    fn now_for_tests(&self) -> chrono::DateTime<Utc> {
        taquilla_store::Clock::now(self)
    }
}

async fn activate(store: &Arc<dyn Store>, fixture: &Fixture) {
    store
        .set_event_status(fixture.tenant_id, fixture.event_id, &["draft"], "active")
        .await
        .unwrap();
}

fn fresh<T>(result: Idempotent<T>) -> T {
    match result {
        Idempotent::Fresh(value) => value,
        Idempotent::Replay { .. } => panic!("expected a fresh result, got a replay"),
    }
}

/// Maximum attempts of an operation that fails with `StoreError::Busy` under
/// contention, on top of the store's own retries.
const BUSY_ATTEMPTS: u32 = 5;

/// Runs `operation` again, after a short pause, while it fails with `Busy`.
async fn retry_busy<T, F, Fut>(mut operation: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(StoreError::Busy) if attempt < BUSY_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn tickets_for(order: &Order) -> Vec<NewTicket> {
    order
        .lines
        .iter()
        .flat_map(|line| {
            let units = if line.seat_id.is_some() {
                1
            } else {
                line.quantity
            };
            (0..units).map(move |_| NewTicket {
                id: Uuid::now_v7(),
                code: Uuid::new_v4().simple().to_string(),
                zone_id: line.zone_id,
                seat_id: line.seat_id,
                qr_payload: "TQ1.test".to_string(),
            })
        })
        .collect()
}

/// Prepares tickets for `quantity` general-admission units before the order exists.
fn general_admission_tickets(zone_id: Uuid, quantity: usize) -> Vec<NewTicket> {
    (0..quantity)
        .map(|_| NewTicket {
            id: Uuid::now_v7(),
            code: Uuid::new_v4().simple().to_string(),
            zone_id,
            seat_id: None,
            qr_payload: "TQ1.test".to_string(),
        })
        .collect()
}

fn payment(
    method: &str,
    currency: Currency,
    amount_cents: i64,
    tickets: Vec<NewTicket>,
) -> NewPayment {
    NewPayment {
        method: method.to_string(),
        currency,
        amount_cents,
        change_currency: None,
        bank_code: None,
        reference: None,
        payer_phone: None,
        payer_document: None,
        tickets,
    }
}

async fn pay(
    harness: &Harness,
    fixture: &Fixture,
    order_id: Uuid,
    payment: NewPayment,
) -> PaymentOutcome {
    fresh(
        harness
            .store
            .add_payment(fixture.tenant_id, fixture.user_id, None, order_id, payment)
            .await
            .unwrap(),
    )
}

async fn general_admission_zone(
    harness: &Harness,
    fixture: &Fixture,
    name: &str,
    capacity: i64,
    price_usd_cents: i64,
) -> Zone {
    harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: name.to_string(),
                kind: ZoneKind::GeneralAdmission { capacity },
                price_usd_cents,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap()
}

async fn numbered_zone(
    harness: &Harness,
    fixture: &Fixture,
    rows: Vec<i64>,
    price_usd_cents: i64,
) -> Zone {
    harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Platea".to_string(),
                kind: ZoneKind::Numbered { rows },
                price_usd_cents,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap()
}

/// Builds a stage with a percentage modifier, no window and no quantity limit.
fn percent_stage(name: &str, basis_points: i64) -> NewPriceStage {
    NewPriceStage {
        zone_id: None,
        name: name.to_string(),
        modifier: Modifier::Percent { basis_points },
        starts_at: None,
        ends_at: None,
        quantity_limit: None,
    }
}

async fn create_stage(harness: &Harness, fixture: &Fixture, stage: NewPriceStage) -> PriceStage {
    harness
        .store
        .create_price_stage(fixture.tenant_id, fixture.event_id, stage)
        .await
        .unwrap()
}

/// Returns the event's stage with `stage_id` as listed now.
async fn listed_stage(harness: &Harness, fixture: &Fixture, stage_id: Uuid) -> PriceStage {
    harness
        .store
        .list_price_stages(fixture.tenant_id, fixture.event_id, ALL)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|stage| stage.id == stage_id)
        .expect("the stage is listed")
}

async fn hold_units(harness: &Harness, fixture: &Fixture, zone_id: Uuid, quantity: i64) -> Hold {
    fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id,
                    seat_ids: Vec::new(),
                    quantity,
                },
            )
            .await
            .unwrap(),
    )
}

async fn hold_seats(
    harness: &Harness,
    fixture: &Fixture,
    zone_id: Uuid,
    seat_ids: Vec<Uuid>,
) -> Result<Hold, StoreError> {
    let quantity = seat_ids.len() as i64;
    harness
        .store
        .create_hold(
            fixture.tenant_id,
            fixture.user_id,
            None,
            NewHold {
                zone_id,
                seat_ids,
                quantity,
            },
        )
        .await
        .map(fresh)
}

fn new_order(fixture: &Fixture, hold_id: Uuid) -> NewOrder {
    NewOrder {
        hold_id,
        customer_id: fixture.customer_id,
        courtesy: false,
        discount_code: None,
        tickets: Vec::new(),
        series: None,
    }
}

/// Creates a plain order for `hold_id` and the fixture's customer.
async fn order_for(harness: &Harness, fixture: &Fixture, hold_id: Uuid) -> Order {
    fresh(
        harness
            .store
            .create_order(
                fixture.tenant_id,
                fixture.user_id,
                None,
                new_order(fixture, hold_id),
            )
            .await
            .unwrap(),
    )
}

/// Holds `quantity` units of a general-admission zone and orders them.
async fn order_units(harness: &Harness, fixture: &Fixture, zone_id: Uuid, quantity: i64) -> Order {
    let hold = hold_units(harness, fixture, zone_id, quantity).await;
    order_for(harness, fixture, hold.id).await
}

fn seat<'a>(availability: &'a Availability, row: &str, number: i64) -> &'a SeatStatus {
    availability
        .seats
        .iter()
        .find(|seat| seat.row == row && seat.number == number)
        .unwrap_or_else(|| panic!("seat {row}{number} exists"))
}

/// Returns the rule of an `Invalid` error, and panics on any other outcome.
fn invalid_rule<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(error)) => error.rule,
        other => panic!("expected an invalid-input error, got {other:?}"),
    }
}

/// Returns the code and details of a `Conflict` error, and panics on any other outcome.
fn conflict<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
) -> (&'static str, serde_json::Value) {
    match result {
        Err(StoreError::Conflict { code, details }) => (code, details),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

macro_rules! pricing_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = super::Harness::new(super::Backend::Sqlite).await;
                super::$name(&harness).await;
                harness.teardown().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = super::Harness::new(super::Backend::Postgres).await;
                super::$name(&harness).await;
                harness.teardown().await;
            })*
        }
    };
}

pricing_tests!(
    quantity_stage_splits_the_order,
    concurrent_orders_fill_stage_exactly,
    ended_orders_return_stage_units,
    date_transition_recorded_once,
    stage_validation_and_zone_scope,
    row_and_seat_modifiers_stack,
    tables_sell_whole,
    tax_rules_exempt_zone_and_history,
    igtf_on_foreign_cash_only,
    courtesy_order_completes_at_once,
    discount_code_single_use_race,
    last_stage_price_stays,
    voided_order_returns_stage_units,
    expired_order_frees_units_before_pricing,
    pinned_rate_prices_order,
);

async fn quantity_stage_splits_the_order(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "preventa").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    let now = harness.clock.now_for_tests();
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            starts_at: Some(now - Duration::hours(1)),
            ends_at: Some(now + Duration::days(1)),
            quantity_limit: Some(3),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    let general = create_stage(harness, &fixture, percent_stage("General", 0)).await;
    activate(&harness.store, &fixture).await;
    assert_eq!(presale.status, "current");
    assert_eq!(general.status, "upcoming");

    // 25.00 - 20 % = 20.00 while the presale runs.
    let quote = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(quote.price_usd_cents, 2_000);
    assert_eq!(quote.stage.map(|stage| stage.id), Some(presale.id));

    let first = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(first.lines.len(), 1);
    assert_eq!(first.lines[0].quantity, 2);
    assert_eq!(first.lines[0].unit_price_usd_cents, 2_000);
    assert_eq!(first.lines[0].stage_id, Some(presale.id));
    assert!(first.stage_transitions.is_empty());
    assert_eq!(
        listed_stage(harness, &fixture, presale.id).await.units_sold,
        2
    );

    // The presale has 1 unit left: the second order takes it at 20.00 and the
    // other unit at the general price, 25.00 + 0 % = 25.00.
    let second = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(second.lines.len(), 2);
    assert_eq!(second.lines[0].quantity, 1);
    assert_eq!(second.lines[0].unit_price_usd_cents, 2_000);
    assert_eq!(second.lines[0].stage_id, Some(presale.id));
    assert_eq!(second.lines[1].quantity, 1);
    assert_eq!(second.lines[1].unit_price_usd_cents, 2_500);
    assert_eq!(second.lines[1].stage_id, Some(general.id));
    let general_price = second.lines[1].price.clone().expect("a price breakdown");
    assert_eq!(
        general_price.stage_modifier,
        Some(Modifier::Percent { basis_points: 0 })
    );
    assert_eq!(general_price.after_stage_usd_cents, 2_500);
    // Bs.: 20.00 → 722.47 and 25.00 → 903.09 (903.0864195). Subtotal 1,625.56,
    // IVA 16 % 260.09 (260.0896), total 1,885.65. USD: 45.00 + 7.20 = 52.20.
    assert_eq!(second.lines[0].total_bs_cents, 72_247);
    assert_eq!(second.lines[1].total_bs_cents, 90_309);
    assert_eq!(second.subtotal_bs_cents, 162_556);
    assert_eq!(second.tax_bs_cents, 26_009);
    assert_eq!(second.total_bs_cents, 188_565);
    assert_eq!(second.total_usd_cents, 5_220);

    // One transition, recorded by the sale that reached the limit.
    let transitions = harness
        .store
        .list_stage_transitions(fixture.tenant_id, fixture.event_id, ALL)
        .await
        .unwrap()
        .items;
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].stage_id, presale.id);
    assert_eq!(transitions[0].trigger, "quantity_reached");
    assert_eq!(transitions[0].units_sold, 3);
    assert_eq!(transitions[0].zone_id, None);
    assert_eq!(second.stage_transitions.len(), 1);
    assert_eq!(second.stage_transitions[0].id, transitions[0].id);

    let presale_now = listed_stage(harness, &fixture, presale.id).await;
    assert_eq!(presale_now.status, "ended");
    assert_eq!(presale_now.units_sold, 3);
    assert_eq!(presale_now.units_left, Some(0));
    assert_eq!(
        listed_stage(harness, &fixture, general.id).await.status,
        "current"
    );
    let quote = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(quote.price_usd_cents, 2_500);
    assert_eq!(quote.stage.map(|stage| stage.id), Some(general.id));

    // The frozen lines read back as created.
    let read = harness
        .store
        .get_order(fixture.tenant_id, second.id)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&read.lines).unwrap(),
        serde_json::to_value(&second.lines).unwrap()
    );
}

async fn concurrent_orders_fill_stage_exactly(harness: &Harness) {
    const BUYERS: usize = 100;
    const EARLY_LIMIT: i64 = 50;
    let fixture = fixture(&harness.store, &harness.clock, "carrera-etapa").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", BUYERS as i64, 2_500).await;
    let early = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            quantity_limit: Some(EARLY_LIMIT),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    let general = create_stage(harness, &fixture, percent_stage("General", 0)).await;
    activate(&harness.store, &fixture).await;

    let mut buyers = Vec::with_capacity(BUYERS);
    for _ in 0..BUYERS {
        let store = harness.store.clone();
        let (tenant_id, user_id, customer_id, zone_id) = (
            fixture.tenant_id,
            fixture.user_id,
            fixture.customer_id,
            zone.id,
        );
        buyers.push(tokio::spawn(async move {
            let hold = retry_busy(|| {
                store.create_hold(
                    tenant_id,
                    user_id,
                    None,
                    NewHold {
                        zone_id,
                        seat_ids: Vec::new(),
                        quantity: 1,
                    },
                )
            })
            .await
            .map(fresh)?;
            retry_busy(|| {
                store.create_order(
                    tenant_id,
                    user_id,
                    None,
                    NewOrder {
                        hold_id: hold.id,
                        customer_id,
                        courtesy: false,
                        discount_code: None,
                        tickets: Vec::new(),
                        series: None,
                    },
                )
            })
            .await
            .map(fresh)
        }));
    }
    let mut orders = Vec::with_capacity(BUYERS);
    for buyer in buyers {
        orders.push(buyer.await.unwrap().expect("every buyer gets an order"));
    }

    // Each order has one unit, so one line, at 20.00 early and 25.00 after.
    let lines: Vec<&OrderLine> = orders.iter().flat_map(|order| &order.lines).collect();
    assert_eq!(lines.len(), BUYERS);
    let early_lines: Vec<&&OrderLine> = lines
        .iter()
        .filter(|line| line.unit_price_usd_cents == 2_000)
        .collect();
    let general_lines: Vec<&&OrderLine> = lines
        .iter()
        .filter(|line| line.unit_price_usd_cents == 2_500)
        .collect();
    assert_eq!(early_lines.len() as i64, EARLY_LIMIT);
    assert_eq!(general_lines.len(), BUYERS - EARLY_LIMIT as usize);
    assert!(
        early_lines
            .iter()
            .all(|line| line.stage_id == Some(early.id))
    );
    assert!(
        general_lines
            .iter()
            .all(|line| line.stage_id == Some(general.id))
    );

    let transitions = harness
        .store
        .list_stage_transitions(fixture.tenant_id, fixture.event_id, ALL)
        .await
        .unwrap()
        .items;
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].stage_id, early.id);
    assert_eq!(transitions[0].trigger, "quantity_reached");
    assert_eq!(transitions[0].units_sold, EARLY_LIMIT);
    let reported: usize = orders
        .iter()
        .map(|order| order.stage_transitions.len())
        .sum();
    assert_eq!(
        reported, 1,
        "only the order that reached the limit reports it"
    );
    assert_eq!(
        listed_stage(harness, &fixture, early.id).await.units_sold,
        EARLY_LIMIT
    );
}

async fn ended_orders_return_stage_units(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "devuelve").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 20, 2_500).await;
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            quantity_limit: Some(5),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    let general = create_stage(harness, &fixture, percent_stage("General", 0)).await;
    activate(&harness.store, &fixture).await;
    let units_sold = async || listed_stage(harness, &fixture, presale.id).await.units_sold;

    // Cancelled order.
    let cancelled = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(units_sold().await, 2);
    let after_cancel = harness
        .store
        .cancel_order(fixture.tenant_id, cancelled.id)
        .await
        .unwrap();
    assert_eq!(after_cancel.status, "cancelled");
    assert_eq!(units_sold().await, 0);

    // Released hold.
    let released = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(units_sold().await, 1);
    harness
        .store
        .release_hold(fixture.tenant_id, released.hold_id)
        .await
        .unwrap();
    let after_release = harness
        .store
        .get_order(fixture.tenant_id, released.id)
        .await
        .unwrap();
    assert_eq!(after_release.status, "cancelled");
    assert_eq!(units_sold().await, 0);

    // Expired order: the payment deadline is 15 minutes after the order.
    let expired = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(units_sold().await, 1);
    harness.clock.advance(Duration::minutes(20));
    assert_eq!(harness.store.expire_holds(100).await.unwrap().len(), 1);
    let after_expiry = harness
        .store
        .get_order(fixture.tenant_id, expired.id)
        .await
        .unwrap();
    assert_eq!(after_expiry.status, "expired");
    assert_eq!(units_sold().await, 0);

    // A stage already ended by its limit keeps its count and stays ended.
    let pending = order_units(harness, &fixture, zone.id, 3).await;
    let closing = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(closing.stage_transitions.len(), 1);
    assert_eq!(units_sold().await, 5);
    harness
        .store
        .cancel_order(fixture.tenant_id, pending.id)
        .await
        .unwrap();
    let presale_now = listed_stage(harness, &fixture, presale.id).await;
    assert_eq!(presale_now.units_sold, 5);
    assert_eq!(presale_now.status, "ended");
    let later = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(later.lines[0].stage_id, Some(general.id));
    assert_eq!(later.lines[0].unit_price_usd_cents, 2_500);
}

async fn date_transition_recorded_once(harness: &Harness) {
    let other = fixture(&harness.store, &harness.clock, "fecha-otra").await;
    let fixture = fixture(&harness.store, &harness.clock, "fecha").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    general_admission_zone(harness, &other, "Pista", 10, 1_000).await;
    let ends_at = harness.clock.now_for_tests() + Duration::seconds(10);
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            ends_at: Some(ends_at),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    let general = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            starts_at: Some(ends_at),
            ..percent_stage("General", 0)
        },
    )
    .await;
    let other_stage = create_stage(
        harness,
        &other,
        NewPriceStage {
            ends_at: Some(ends_at),
            ..percent_stage("Preventa", -1_000)
        },
    )
    .await;
    activate(&harness.store, &fixture).await;

    let before = harness
        .store
        .zone_stages(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(
        before[0].current.as_ref().map(|stage| stage.id),
        Some(presale.id)
    );
    assert_eq!(
        before[0].next.as_ref().map(|stage| stage.id),
        Some(general.id)
    );
    let seconds_left = before[0].seconds_left.expect("the presale has an end");
    assert!(
        (0..=10).contains(&seconds_left),
        "seconds left: {seconds_left}"
    );
    // One unit sold at the presale price: 25.00 - 20 % = 20.00.
    let presale_order = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(presale_order.lines[0].unit_price_usd_cents, 2_000);

    harness.clock.advance(Duration::minutes(1));
    let recorded = harness
        .store
        .apply_stage_transitions(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].stage_id, presale.id);
    assert_eq!(recorded[0].trigger, "date_expired");
    // A stage without a limit counts the units of its pending and paid lines.
    assert_eq!(recorded[0].units_sold, 1);
    assert_eq!(recorded[0].occurred_at, ends_at);
    let again = harness
        .store
        .apply_stage_transitions(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    assert!(again.is_empty(), "a second call records nothing");
    let listed = harness
        .store
        .list_stage_transitions(fixture.tenant_id, fixture.event_id, ALL)
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, recorded[0].id);

    let after = harness
        .store
        .zone_stages(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    let current = after[0].current.as_ref().expect("a current stage");
    assert_eq!(current.id, general.id);
    assert_eq!(current.status, "current");
    assert!(!after[0].finished);
    assert!(after[0].next.is_none());
    assert_eq!(after[0].seconds_left, None);
    let presale_now = listed_stage(harness, &fixture, presale.id).await;
    assert_eq!(presale_now.status, "ended");
    assert_eq!(presale_now.ended_at, Some(ends_at));
    let general_order = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(general_order.lines[0].unit_price_usd_cents, 2_500);

    // The background pass finds the other tenant's due stage, and only it.
    let due = harness
        .store
        .apply_due_stage_transitions(100)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, other.tenant_id);
    assert_eq!(due[0].1.stage_id, other_stage.id);
    assert_eq!(due[0].1.trigger, "date_expired");
    assert_eq!(due[0].1.units_sold, 0);
    assert!(
        harness
            .store
            .apply_due_stage_transitions(100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        harness
            .store
            .list_stage_transitions(other.tenant_id, other.event_id, ALL)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn stage_validation_and_zone_scope(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "valida").await;
    let front = general_admission_zone(harness, &fixture, "Frente", 10, 2_500).await;
    let back = general_admission_zone(harness, &fixture, "Fondo", 10, 1_000).await;
    let now = harness.clock.now_for_tests();
    let event_stage = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            ends_at: Some(now + Duration::days(1)),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;

    let overlapping = harness
        .store
        .create_price_stage(
            fixture.tenant_id,
            fixture.event_id,
            NewPriceStage {
                starts_at: Some(now + Duration::hours(12)),
                ends_at: Some(now + Duration::days(2)),
                ..percent_stage("Solapada", -1_000)
            },
        )
        .await;
    assert_eq!(invalid_rule(overlapping), "stage_window_overlaps");

    // The event's capacity is 10 + 10 = 20, and each zone's is 10.
    let event_too_many = harness
        .store
        .create_price_stage(
            fixture.tenant_id,
            fixture.event_id,
            NewPriceStage {
                quantity_limit: Some(21),
                ..percent_stage("Demasiadas", 0)
            },
        )
        .await;
    assert_eq!(
        invalid_rule(event_too_many),
        "stage_quantity_exceeds_capacity"
    );
    let zone_too_many = harness
        .store
        .create_price_stage(
            fixture.tenant_id,
            fixture.event_id,
            NewPriceStage {
                zone_id: Some(front.id),
                quantity_limit: Some(11),
                ..percent_stage("Demasiadas", 0)
            },
        )
        .await;
    assert_eq!(
        invalid_rule(zone_too_many),
        "stage_quantity_exceeds_capacity"
    );
    assert_eq!(
        harness
            .store
            .list_price_stages(fixture.tenant_id, fixture.event_id, ALL)
            .await
            .unwrap()
            .items
            .len(),
        1,
        "rejected stages are not stored"
    );

    // Another scope may reuse the same window.
    let zone_stage = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            zone_id: Some(front.id),
            modifier: Modifier::Fixed { usd_cents: 500 },
            ends_at: Some(now + Duration::days(1)),
            quantity_limit: Some(10),
            ..percent_stage("Frente anticipada", 0)
        },
    )
    .await;
    activate(&harness.store, &fixture).await;

    let stages = harness
        .store
        .zone_stages(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    let current_of = |zone_id: Uuid| {
        stages
            .iter()
            .find(|entry| entry.zone_id == zone_id)
            .and_then(|entry| entry.current.as_ref())
            .map(|stage| stage.id)
    };
    assert_eq!(current_of(front.id), Some(zone_stage.id));
    assert_eq!(current_of(back.id), Some(event_stage.id));

    // Front: 25.00 + 5.00 = 30.00 from its own stage. Back: 10.00 - 20 % = 8.00.
    let front_quote = harness
        .store
        .zone_availability(fixture.tenant_id, front.id)
        .await
        .unwrap();
    let back_quote = harness
        .store
        .zone_availability(fixture.tenant_id, back.id)
        .await
        .unwrap();
    assert_eq!(front_quote.price_usd_cents, 3_000);
    assert_eq!(back_quote.price_usd_cents, 800);
    let front_order = order_units(harness, &fixture, front.id, 1).await;
    let back_order = order_units(harness, &fixture, back.id, 1).await;
    assert_eq!(front_order.lines[0].unit_price_usd_cents, 3_000);
    assert_eq!(front_order.lines[0].stage_id, Some(zone_stage.id));
    assert_eq!(back_order.lines[0].unit_price_usd_cents, 800);
    assert_eq!(back_order.lines[0].stage_id, Some(event_stage.id));
    // The zone stage counts its unit. The event-wide one has no limit to count.
    assert_eq!(
        listed_stage(harness, &fixture, zone_stage.id)
            .await
            .units_sold,
        1
    );
}

async fn row_and_seat_modifiers_stack(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "filas-precio").await;
    let zone = numbered_zone(harness, &fixture, vec![3, 3], 2_000).await;
    let stage = create_stage(harness, &fixture, percent_stage("Preventa", -1_000)).await;
    let seats = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    let (a1, a3, b1) = (
        seat(&seats, "A", 1).id,
        seat(&seats, "A", 3).id,
        seat(&seats, "B", 1).id,
    );
    let updated = harness
        .store
        .update_zone_pricing(
            fixture.tenant_id,
            zone.id,
            ZonePricing {
                row_markup_basis_points: Some(1_000),
                row_overrides: vec![("B".to_string(), Some(2_500))],
                seat_modifiers: vec![(a3, 150)],
                ..ZonePricing::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.row_markup_basis_points, 1_000);
    activate(&harness.store, &fixture).await;

    // Row A: 20.00 - 10 % = 18.00, then + 10 % = 19.80, and A3 adds 1.50 = 21.30.
    // Row B: 18.00 + 25 % = 22.50.
    let quote = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(quote.price_usd_cents, 1_800, "base and stage only");
    assert_eq!(seat(&quote, "A", 1).price_usd_cents, 1_980);
    assert_eq!(seat(&quote, "A", 2).price_usd_cents, 1_980);
    assert_eq!(seat(&quote, "A", 3).price_usd_cents, 2_130);
    assert_eq!(seat(&quote, "B", 1).price_usd_cents, 2_250);
    assert_eq!(seat(&quote, "B", 3).price_usd_cents, 2_250);

    let hold = hold_seats(harness, &fixture, zone.id, vec![b1, a3, a1])
        .await
        .unwrap();
    let order = order_for(harness, &fixture, hold.id).await;
    let stage_modifier = Some(Modifier::Percent {
        basis_points: -1_000,
    });
    let expected = [
        (
            a1,
            PriceBreakdown {
                base_usd_cents: 2_000,
                stage_modifier,
                after_stage_usd_cents: 1_800,
                row_markup_basis_points: 1_000,
                after_row_usd_cents: 1_980,
                seat_modifier_usd_cents: 0,
                after_seat_usd_cents: 1_980,
                discount: None,
                unit_price_usd_cents: 1_980,
            },
        ),
        (
            a3,
            PriceBreakdown {
                base_usd_cents: 2_000,
                stage_modifier,
                after_stage_usd_cents: 1_800,
                row_markup_basis_points: 1_000,
                after_row_usd_cents: 1_980,
                seat_modifier_usd_cents: 150,
                after_seat_usd_cents: 2_130,
                discount: None,
                unit_price_usd_cents: 2_130,
            },
        ),
        (
            b1,
            PriceBreakdown {
                base_usd_cents: 2_000,
                stage_modifier,
                after_stage_usd_cents: 1_800,
                row_markup_basis_points: 2_500,
                after_row_usd_cents: 2_250,
                seat_modifier_usd_cents: 0,
                after_seat_usd_cents: 2_250,
                discount: None,
                unit_price_usd_cents: 2_250,
            },
        ),
    ];
    assert_eq!(order.lines.len(), 3);
    for (line, (seat_id, breakdown)) in order.lines.iter().zip(&expected) {
        assert_eq!(line.seat_id, Some(*seat_id), "lines in seat-map order");
        assert_eq!(line.price.as_ref(), Some(breakdown));
        assert_eq!(line.unit_price_usd_cents, breakdown.unit_price_usd_cents);
        assert_eq!(line.stage_id, Some(stage.id));
        let quoted = quote
            .seats
            .iter()
            .find(|seat| seat.id == *seat_id)
            .unwrap()
            .price_usd_cents;
        assert_eq!(line.unit_price_usd_cents, quoted, "order matches the quote");
    }
    // Bs.: 19.80 → 715.24, 21.30 → 769.43, 22.50 → 812.78. Subtotal 2,297.45,
    // IVA 16 % 367.59 (367.592), total 2,665.04. USD: 63.60 + 10.18 = 73.78.
    assert_eq!(order.subtotal_bs_cents, 229_745);
    assert_eq!(order.tax_bs_cents, 36_759);
    assert_eq!(order.total_bs_cents, 266_504);
    assert_eq!(order.total_usd_cents, 7_378);

    // Changing the markups later leaves the order's frozen prices alone.
    harness
        .store
        .update_zone_pricing(
            fixture.tenant_id,
            zone.id,
            ZonePricing {
                row_overrides: vec![("B".to_string(), None)],
                ..ZonePricing::default()
            },
        )
        .await
        .unwrap();
    let requote = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(seat(&requote, "B", 2).price_usd_cents, 1_980);
    let read = harness
        .store
        .get_order(fixture.tenant_id, order.id)
        .await
        .unwrap();
    assert_eq!(read.lines[2].unit_price_usd_cents, 2_250);
    assert_eq!(read.lines[2].price.as_ref(), Some(&expected[2].1));
}

async fn tables_sell_whole(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "mesas").await;
    let zone = numbered_zone(harness, &fixture, vec![6], 1_000).await;
    let seat_map = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    let table = harness
        .store
        .create_table_group(
            fixture.tenant_id,
            zone.id,
            NewTableGroup {
                name: "Mesa 1".to_string(),
                seat_count: 4,
                ranges: vec![SeatRange {
                    row: "A".to_string(),
                    from: 1,
                    to: 4,
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(table.seat_ids.len(), 4);
    let updated = harness
        .store
        .update_zone_pricing(
            fixture.tenant_id,
            zone.id,
            ZonePricing {
                table_mode: Some("complete_only".to_string()),
                ..ZonePricing::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.table_mode, "complete_only");

    let mismatched = harness
        .store
        .create_table_group(
            fixture.tenant_id,
            zone.id,
            NewTableGroup {
                name: "Mesa 2".to_string(),
                seat_count: 3,
                ranges: vec![SeatRange {
                    row: "A".to_string(),
                    from: 5,
                    to: 6,
                }],
            },
        )
        .await;
    assert_eq!(invalid_rule(mismatched), "does_not_match_seats");
    let overlapping = harness
        .store
        .create_table_group(
            fixture.tenant_id,
            zone.id,
            NewTableGroup {
                name: "Mesa 3".to_string(),
                seat_count: 2,
                ranges: vec![SeatRange {
                    row: "A".to_string(),
                    from: 4,
                    to: 5,
                }],
            },
        )
        .await;
    let (code, details) = conflict(overlapping);
    assert_eq!(code, "seat_already_in_table");
    assert_eq!(
        details["seat_ids"],
        serde_json::json!([seat(&seat_map, "A", 4).id])
    );
    activate(&harness.store, &fixture).await;

    let before = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(before.table_mode, "complete_only");
    assert_eq!(before.tables.len(), 1);
    assert_eq!(before.tables[0].id, table.id);
    assert_eq!(before.tables[0].name, "Mesa 1");
    assert_eq!(before.tables[0].seat_count, 4);
    assert_eq!(before.tables[0].available, 4);
    for number in 1..=4 {
        assert_eq!(seat(&before, "A", number).table_id, Some(table.id));
    }
    assert_eq!(seat(&before, "A", 5).table_id, None);

    let partial = hold_seats(
        harness,
        &fixture,
        zone.id,
        vec![seat(&before, "A", 1).id, seat(&before, "A", 2).id],
    )
    .await;
    let (code, details) = conflict(partial);
    assert_eq!(code, "table_must_be_complete");
    assert_eq!(details["tables"][0]["name"], "Mesa 1");
    assert_eq!(details["tables"][0]["requested"], 2);
    assert_eq!(
        seat(
            &harness
                .store
                .zone_availability(fixture.tenant_id, zone.id)
                .await
                .unwrap(),
            "A",
            1
        )
        .status,
        "available",
        "the rejected hold took nothing"
    );

    let whole = hold_seats(harness, &fixture, zone.id, table.seat_ids.clone())
        .await
        .expect("the whole table can be held");
    assert_eq!(whole.quantity, 4);
    // A seat outside every table still sells alone.
    hold_seats(harness, &fixture, zone.id, vec![seat(&before, "A", 5).id])
        .await
        .expect("a seat outside a table sells alone");
    let after = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(after.tables[0].available, 0);
    assert_eq!(after.held, 5);
}

async fn tax_rules_exempt_zone_and_history(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "impuestos").await;
    let first_page = PageRequest {
        limit: 50,
        after: None,
    };
    let initial = harness
        .store
        .list_tax_rules(fixture.tenant_id, false, first_page)
        .await
        .unwrap()
        .items;
    assert_eq!(initial.len(), 1, "a new tenant has one rule");
    let iva = &initial[0];
    assert_eq!(iva.scope, "tenant");
    assert_eq!(iva.name, "IVA");
    assert_eq!(iva.category, TaxCategory::Iva);
    assert_eq!(
        iva.kind,
        TaxKind::Percentage {
            basis_points: 1_600
        }
    );
    assert_eq!(iva.ended_at, None);

    let venue_id = harness
        .store
        .get_event(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap()
        .venue_id;
    let municipal_rule = |basis_points| NewTaxRule {
        scope: TaxScope::Venue { venue_id },
        name: "Impuesto municipal".to_string(),
        category: TaxCategory::Other,
        kind: TaxKind::Percentage { basis_points },
        compound: false,
    };
    let municipal = harness
        .store
        .create_tax_rule(fixture.tenant_id, fixture.user_id, municipal_rule(500))
        .await
        .unwrap();
    assert_eq!(municipal.scope, "venue");
    assert_eq!(municipal.venue_id, Some(venue_id));

    let exempt_zone = general_admission_zone(harness, &fixture, "Exenta", 10, 2_000).await;
    let taxed_zone = general_admission_zone(harness, &fixture, "Gravada", 10, 2_000).await;
    let updated = harness
        .store
        .update_zone_pricing(
            fixture.tenant_id,
            exempt_zone.id,
            ZonePricing {
                tax_exempt: Some(true),
                ..ZonePricing::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.tax_exempt);
    activate(&harness.store, &fixture).await;

    // Exempt: 20.00 → 722.47 Bs. with no IVA, and municipal 5 % = 36.12
    // (36.1235), total 758.59. USD: 20.00 + 1.00 = 21.00.
    let exempt = order_units(harness, &fixture, exempt_zone.id, 1).await;
    let line = &exempt.lines[0];
    assert!(line.exempt);
    assert_eq!(line.tax_basis_points, None);
    assert_eq!(line.tax_rules, vec![municipal.id.to_string()]);
    assert_eq!(exempt.taxes.len(), 1);
    assert_eq!(exempt.taxes[0].key, municipal.id.to_string());
    assert_eq!(exempt.taxes[0].category, "other");
    assert_eq!(exempt.taxes[0].rate_basis_points, 500);
    assert_eq!(exempt.taxes[0].base_bs_cents, 72_247);
    assert_eq!(exempt.taxes[0].tax_bs_cents, 3_612);
    assert_eq!(exempt.exempt_bs_cents, 72_247);
    assert_eq!(exempt.exempt_usd_cents, 2_000);
    assert_eq!(exempt.tax_bs_cents, 3_612);
    assert_eq!(exempt.total_bs_cents, 75_859);
    assert_eq!(exempt.total_usd_cents, 2_100);

    // Taxed: IVA 16 % = 115.60 (115.5952) and municipal 36.12, total 874.19.
    let taxed = order_units(harness, &fixture, taxed_zone.id, 1).await;
    assert!(!taxed.lines[0].exempt);
    assert_eq!(taxed.lines[0].tax_basis_points, Some(1_600));
    assert_eq!(
        taxed.lines[0].tax_rules,
        vec![iva.id.to_string(), municipal.id.to_string()]
    );
    assert_eq!(taxed.tax_bs_cents, 11_560 + 3_612);
    assert_eq!(taxed.total_bs_cents, 87_419);
    assert_eq!(taxed.exempt_bs_cents, 0);

    // Raising the municipal tax ends the rule and keeps it in the history.
    let successor = harness
        .store
        .end_tax_rule(
            fixture.tenant_id,
            fixture.user_id,
            municipal.id,
            Some(municipal_rule(700)),
        )
        .await
        .unwrap()
        .expect("the successor is returned");
    assert_eq!(successor.supersedes_id, Some(municipal.id));
    let in_force = harness
        .store
        .list_tax_rules(fixture.tenant_id, false, first_page)
        .await
        .unwrap()
        .items;
    let in_force_ids: Vec<Uuid> = in_force.iter().map(|rule| rule.id).collect();
    assert_eq!(in_force_ids, vec![iva.id, successor.id]);
    let history = harness
        .store
        .list_tax_rules(fixture.tenant_id, true, first_page)
        .await
        .unwrap()
        .items;
    assert_eq!(history.len(), 3);
    let ended = history
        .iter()
        .find(|rule| rule.id == municipal.id)
        .expect("the ended rule stays in the history");
    assert!(ended.ended_at.is_some());
    let ended_again = harness
        .store
        .end_tax_rule(fixture.tenant_id, fixture.user_id, municipal.id, None)
        .await;
    assert_eq!(conflict(ended_again).0, "tax_rule_ended");

    // New orders use the successor: 7 % of 722.47 = 50.57 (50.5729).
    let later = order_units(harness, &fixture, exempt_zone.id, 1).await;
    assert_eq!(later.lines[0].tax_rules, vec![successor.id.to_string()]);
    assert_eq!(later.taxes[0].rate_basis_points, 700);
    assert_eq!(later.tax_bs_cents, 5_057);
    // The earlier order keeps the rule it was created with.
    let reread = harness
        .store
        .get_order(fixture.tenant_id, exempt.id)
        .await
        .unwrap();
    assert_eq!(reread.lines[0].tax_rules, vec![municipal.id.to_string()]);
    assert_eq!(reread.tax_bs_cents, 3_612);
}

async fn igtf_on_foreign_cash_only(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "igtf").await;
    let defaults = harness
        .store
        .igtf_settings(fixture.tenant_id)
        .await
        .unwrap();
    assert!(!defaults.enabled);
    let settings = harness
        .store
        .set_igtf_settings(
            fixture.tenant_id,
            IgtfSettings {
                enabled: true,
                basis_points: 300,
                methods: vec!["cash".to_string()],
            },
        )
        .await
        .unwrap();
    assert!(settings.enabled);
    let read = harness
        .store
        .igtf_settings(fixture.tenant_id)
        .await
        .unwrap();
    assert!(read.enabled);
    assert_eq!(read.basis_points, 300);
    assert_eq!(read.methods, vec!["cash".to_string()]);
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_000).await;
    activate(&harness.store, &fixture).await;

    // 20.00 + IVA 16 % = US$23.20. In Bs.: 722.47 + 115.60 = 838.07.
    let order = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(order.total_usd_cents, 2_320);
    assert_eq!(order.total_bs_cents, 83_807);

    // US$10.30 in cash: US$10.00 pays the order and US$0.30 is the 3 % IGTF.
    // 10.00 → 361.23 Bs. (361.2345678) and 0.30 → 10.84 Bs. (10.837037).
    let first = pay(
        harness,
        &fixture,
        order.id,
        payment("cash", Currency::Usd, 1_030, Vec::new()),
    )
    .await;
    assert_eq!(first.payment.igtf_base_cents, 1_000);
    assert_eq!(first.payment.igtf_cents, 30);
    assert_eq!(first.payment.igtf_bs_cents, 1_084);
    assert_eq!(first.payment.applied_bs_cents, 36_123);
    assert_eq!(first.payment.change_cents, 0);
    assert_eq!(first.order.status, "pending");
    assert_eq!(first.order.paid_bs_cents, 36_123);
    // 838.07 - 361.23 = 476.84 left.
    assert_eq!(first.order.balance_bs_cents, 47_684);
    // 476.84 / 36.12345678 = 13.2003…, rounded up to US$13.21.
    assert_eq!(first.order.balance_usd_cents, 1_321);
    assert_eq!(first.order.igtf_usd_cents, 30);
    assert_eq!(first.order.igtf_bs_cents, 1_084);

    // The rest in bolívares pays no IGTF and leaves nothing owed.
    let second = pay(
        harness,
        &fixture,
        order.id,
        payment("transfer", Currency::Ves, 47_684, tickets_for(&order)),
    )
    .await;
    assert_eq!(second.payment.igtf_cents, 0);
    assert_eq!(second.payment.igtf_bs_cents, 0);
    assert_eq!(second.order.status, "paid");
    assert_eq!(second.order.balance_bs_cents, 0);
    assert_eq!(second.order.balance_usd_cents, 0);
    assert_eq!(second.order.paid_bs_cents, 83_807);
    assert_eq!(second.order.rounding_bs_cents, 0);
    assert_eq!(second.order.igtf_usd_cents, 30);
    assert_eq!(second.order.igtf_bs_cents, 1_084);

    let invoice_id = second.order.invoice.expect("an invoice").id;
    let invoice = harness
        .store
        .get_fiscal_document(fixture.tenant_id, invoice_id)
        .await
        .unwrap();
    let igtf = &invoice.content["igtf"];
    assert!(igtf.is_object(), "invoice content: {}", invoice.content);
    assert_eq!(igtf["rate_basis_points"], 300);
    assert_eq!(igtf["base_usd_cents"], 1_000);
    assert_eq!(igtf["igtf_usd_cents"], 30);
    assert_eq!(igtf["igtf_bs_cents"], 1_084);
    // IGTF is charged on top of the invoice total, not inside it.
    assert_eq!(invoice.total_bs_cents, 83_807);
    assert_eq!(invoice.content["total_with_igtf_bs_cents"], 83_807 + 1_084);

    // A card is not a listed method: a USD card payment pays no IGTF.
    let card_order = order_units(harness, &fixture, zone.id, 1).await;
    let card = pay(
        harness,
        &fixture,
        card_order.id,
        payment("card", Currency::Usd, 1_000, Vec::new()),
    )
    .await;
    assert_eq!(card.payment.igtf_base_cents, 0);
    assert_eq!(card.payment.igtf_cents, 0);
    assert_eq!(card.payment.igtf_bs_cents, 0);
    assert_eq!(card.payment.applied_bs_cents, 36_123);
    assert_eq!(card.order.igtf_usd_cents, 0);
    assert_eq!(card.order.balance_bs_cents, 47_684);
}

async fn courtesy_order_completes_at_once(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "cortesia").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    activate(&harness.store, &fixture).await;

    let courtesy_hold = hold_units(harness, &fixture, zone.id, 2).await;
    let courtesy = fresh(
        harness
            .store
            .create_order(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewOrder {
                    courtesy: true,
                    tickets: general_admission_tickets(zone.id, 2),
                    ..new_order(&fixture, courtesy_hold.id)
                },
            )
            .await
            .unwrap(),
    );
    assert_eq!(courtesy.status, "paid");
    assert!(courtesy.courtesy);
    assert_eq!(courtesy.total_usd_cents, 0);
    assert_eq!(courtesy.total_bs_cents, 0);
    assert!(courtesy.invoice.is_some(), "a courtesy is still invoiced");
    for line in &courtesy.lines {
        assert_eq!(line.unit_price_usd_cents, 0);
        assert_eq!(line.total_bs_cents, 0);
        assert!(line.courtesy);
        let price = line.price.as_ref().expect("a price breakdown");
        // The breakdown keeps the list price before the 100 % discount.
        assert_eq!(price.after_seat_usd_cents, 2_500);
        assert_eq!(
            price.discount,
            Some(Modifier::Percent {
                basis_points: -10_000
            })
        );
    }
    let tickets = harness
        .store
        .list_tickets(fixture.tenant_id, courtesy.id)
        .await
        .unwrap();
    assert_eq!(tickets.len(), 2);
    assert!(tickets.iter().all(|ticket| ticket.status == "valid"));
    let availability = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(availability.sold, 2);
    assert_eq!(availability.held, 0);
    let integrity = harness.store.check_integrity().await.unwrap();
    assert!(integrity.fiscal_series_ok(), "{integrity:?}");
    assert!(integrity.tenant_data_ok(), "{integrity:?}");

    // The cheaper read of the lines marks them as courtesies too.
    let lines = harness
        .store
        .get_order_lines(fixture.tenant_id, courtesy.id)
        .await
        .unwrap();
    assert_eq!(lines.len(), courtesy.lines.len());
    for line in &lines {
        assert!(
            line.courtesy,
            "get_order_lines returns line {} of a courtesy order without the courtesy flag",
            line.line_number
        );
    }
}

async fn discount_code_single_use_race(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "descuento").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    activate(&harness.store, &fixture).await;

    let code = harness
        .store
        .create_discount_code(
            fixture.tenant_id,
            fixture.event_id,
            NewDiscountCode {
                code: "PROMO10".to_string(),
                modifier: Modifier::Percent {
                    basis_points: -1_000,
                },
                max_uses: 1,
            },
        )
        .await
        .unwrap();
    let uses = async || {
        harness
            .store
            .list_discount_codes(
                fixture.tenant_id,
                fixture.event_id,
                PageRequest {
                    limit: 10,
                    after: None,
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|listed| listed.id == code.id)
            .expect("the code is listed")
            .uses
    };

    let holds = [
        hold_units(harness, &fixture, zone.id, 1).await,
        hold_units(harness, &fixture, zone.id, 1).await,
    ];
    let mut attempts = Vec::new();
    for hold in &holds {
        let store = harness.store.clone();
        let (tenant_id, user_id) = (fixture.tenant_id, fixture.user_id);
        let request = NewOrder {
            discount_code: Some("PROMO10".to_string()),
            ..new_order(&fixture, hold.id)
        };
        attempts.push(tokio::spawn(async move {
            retry_busy(|| store.create_order(tenant_id, user_id, None, request.clone()))
                .await
                .map(fresh)
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for (attempt, hold) in attempts.into_iter().zip(&holds) {
        match attempt.await.unwrap() {
            Ok(order) => winners.push(order),
            Err(StoreError::Conflict { code, .. }) => {
                assert_eq!(code, "discount_code_unavailable");
                losers.push(hold.id);
            }
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(losers.len(), 1);
    let winner = winners.remove(0);
    // 25.00 - 10 % = 22.50.
    assert_eq!(winner.lines[0].unit_price_usd_cents, 2_250);
    assert_eq!(
        winner.lines[0]
            .price
            .as_ref()
            .and_then(|price| price.discount),
        Some(Modifier::Percent {
            basis_points: -1_000
        })
    );
    assert_eq!(winner.discount_code.as_deref(), Some("PROMO10"));
    assert_eq!(uses().await, 1);

    // Cancelling the winner gives the use back, and the other buyer can take it.
    harness
        .store
        .cancel_order(fixture.tenant_id, winner.id)
        .await
        .unwrap();
    assert_eq!(uses().await, 0);
    let retried = fresh(
        harness
            .store
            .create_order(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewOrder {
                    discount_code: Some("PROMO10".to_string()),
                    ..new_order(&fixture, losers[0])
                },
            )
            .await
            .unwrap(),
    );
    assert_eq!(retried.lines[0].unit_price_usd_cents, 2_250);
    assert_eq!(uses().await, 1);
}

async fn pinned_rate_prices_order(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "tasa-fija").await;
    let today = caracas_date(harness.clock.now_for_tests());
    let older = harness
        .store
        .create_exchange_rate(
            fixture.tenant_id,
            fixture.user_id,
            NewExchangeRate {
                rate_scaled: 3_500_000_000,
                effective_date: today - Duration::days(1),
                source: "BCV".to_string(),
            },
        )
        .await
        .unwrap();
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_000).await;
    activate(&harness.store, &fixture).await;

    let event = harness
        .store
        .pin_event_rate(fixture.tenant_id, fixture.event_id, Some(older.id))
        .await
        .unwrap();
    assert_eq!(event.pinned_rate_id, Some(older.id));
    // 20.00 at 35.00 = 700.00 Bs., and IVA 16 % = 112.00.
    let pinned = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(pinned.exchange_rate.id, older.id);
    assert_eq!(pinned.exchange_rate.rate_scaled, 3_500_000_000);
    assert_eq!(
        pinned.exchange_rate.effective_date,
        today - Duration::days(1)
    );
    assert_eq!(pinned.subtotal_bs_cents, 70_000);
    assert_eq!(pinned.total_bs_cents, 81_200);

    let unknown = harness
        .store
        .pin_event_rate(fixture.tenant_id, fixture.event_id, Some(Uuid::now_v7()))
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))));

    // Unpinned, the order takes the rate of the day again: 20.00 → 722.47 Bs.
    let unpinned_event = harness
        .store
        .pin_event_rate(fixture.tenant_id, fixture.event_id, None)
        .await
        .unwrap();
    assert_eq!(unpinned_event.pinned_rate_id, None);
    let unpinned = order_units(harness, &fixture, zone.id, 1).await;
    assert_ne!(unpinned.exchange_rate.id, older.id);
    assert_eq!(unpinned.exchange_rate.rate_scaled, FIXTURE_RATE_SCALED);
    assert_eq!(unpinned.exchange_rate.effective_date, today);
    assert_eq!(unpinned.subtotal_bs_cents, 72_247);
}

async fn last_stage_price_stays(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "ultima").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            quantity_limit: Some(2),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    activate(&harness.store, &fixture).await;

    let filling = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(filling.stage_transitions.len(), 1);
    // Every stage is over, so the last one keeps its price, 25.00 - 20 % = 20.00,
    // and counts nothing more.
    let after = order_units(harness, &fixture, zone.id, 1).await;
    assert_eq!(after.lines.len(), 1);
    assert_eq!(after.lines[0].unit_price_usd_cents, 2_000);
    assert_eq!(after.lines[0].stage_id, Some(presale.id));
    assert!(after.stage_transitions.is_empty());
    let listed = listed_stage(harness, &fixture, presale.id).await;
    assert_eq!(listed.units_sold, 2);
    assert_eq!(listed.status, "ended");
    assert_eq!(
        harness
            .store
            .list_stage_transitions(fixture.tenant_id, fixture.event_id, ALL)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let stages = harness
        .store
        .zone_stages(fixture.tenant_id, fixture.event_id)
        .await
        .unwrap();
    assert!(stages[0].finished);
    assert!(stages[0].next.is_none());
    let current = stages[0].current.as_ref().expect("the last stage");
    assert_eq!(current.id, presale.id);
    assert_eq!(current.status, "ended");

    let quote = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(quote.price_usd_cents, 2_000);
    let quoted_stage = quote.stage.expect("the last stage prices the zone");
    assert_eq!(quoted_stage.id, presale.id);
    // The quote reports the stage as the stage list and `zone_stages` do.
    assert_eq!(quoted_stage.status, "ended");
}

async fn voided_order_returns_stage_units(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "anula-etapa").await;
    let zone = general_admission_zone(harness, &fixture, "Pista", 10, 2_500).await;
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            quantity_limit: Some(5),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    activate(&harness.store, &fixture).await;

    // 2 × 20.00 = 40.00 + IVA 6.40 = US$46.40, paid in USD cash.
    let order = order_units(harness, &fixture, zone.id, 2).await;
    assert_eq!(order.total_usd_cents, 4_640);
    let paid = pay(
        harness,
        &fixture,
        order.id,
        payment(
            "cash",
            Currency::Usd,
            order.total_usd_cents,
            tickets_for(&order),
        ),
    )
    .await;
    assert_eq!(paid.order.status, "paid");
    assert_eq!(
        listed_stage(harness, &fixture, presale.id).await.units_sold,
        2
    );

    let voided = fresh(
        harness
            .store
            .void_order(
                fixture.tenant_id,
                fixture.user_id,
                None,
                order.id,
                "Error de taquilla".to_string(),
            )
            .await
            .unwrap(),
    );
    assert_eq!(voided.order.status, "voided");
    // `units_sold` counts units on pending and paid orders only, and the
    // stage is still running, so the voided units come back.
    let presale_now = listed_stage(harness, &fixture, presale.id).await;
    assert_eq!(presale_now.status, "current");
    assert_eq!(presale_now.units_sold, 0);
}

async fn expired_order_frees_units_before_pricing(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "vencida").await;
    let zone = numbered_zone(harness, &fixture, vec![6], 2_500).await;
    let presale = create_stage(
        harness,
        &fixture,
        NewPriceStage {
            quantity_limit: Some(3),
            ..percent_stage("Preventa", -2_000)
        },
    )
    .await;
    create_stage(harness, &fixture, percent_stage("General", 0)).await;
    activate(&harness.store, &fixture).await;
    let seats = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();

    let first_hold = hold_seats(
        harness,
        &fixture,
        zone.id,
        vec![seat(&seats, "A", 1).id, seat(&seats, "A", 2).id],
    )
    .await
    .unwrap();
    let abandoned = order_for(harness, &fixture, first_hold.id).await;
    assert_eq!(
        listed_stage(harness, &fixture, presale.id).await.units_sold,
        2
    );

    // The payment deadline passes, and no sweep has run yet.
    harness.clock.advance(Duration::minutes(20));
    let read = harness
        .store
        .get_order(fixture.tenant_id, abandoned.id)
        .await
        .unwrap();
    assert_eq!(read.status, "expired");

    // The expired order's 2 units no longer count, so both seats of the next
    // order are priced at the presale, 25.00 - 20 % = 20.00, and the limit of
    // 3 is not reached.
    let second_hold = hold_seats(
        harness,
        &fixture,
        zone.id,
        vec![seat(&seats, "A", 3).id, seat(&seats, "A", 4).id],
    )
    .await
    .unwrap();
    let next = order_for(harness, &fixture, second_hold.id).await;
    let prices: Vec<i64> = next
        .lines
        .iter()
        .map(|line| line.unit_price_usd_cents)
        .collect();
    assert_eq!(prices, vec![2_000, 2_000]);
    assert!(next.stage_transitions.is_empty());
    assert_eq!(
        listed_stage(harness, &fixture, presale.id).await.units_sold,
        2
    );
}
