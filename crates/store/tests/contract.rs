//! The store contract: the same scenarios run against SQLite and PostgreSQL.
//!
//! PostgreSQL tests create a fresh database per test through the admin URL in
//! `TAQUILLA_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drop it at the end.

use std::sync::Arc;

use chrono::{Duration, Utc};
use taquilla_domain::fiscal::caracas_date;
use taquilla_domain::money::Currency;
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
                rate_scaled: 3_612_345_678,
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

fn cash_usd(amount_cents: i64, tickets: Vec<NewTicket>) -> NewPayment {
    NewPayment {
        method: "cash".to_string(),
        currency: Currency::Usd,
        amount_cents,
        change_currency: None,
        bank_code: None,
        reference: None,
        payer_phone: None,
        payer_document: None,
        tickets,
    }
}

/// Creates an order for `hold_id` and the fixture's customer.
async fn order_for(harness: &Harness, fixture: &Fixture, hold_id: Uuid) -> Order {
    fresh(
        harness
            .store
            .create_order(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewOrder {
                    hold_id,
                    customer_id: fixture.customer_id,
                    courtesy: false,
                    discount_code: None,
                    tickets: Vec::new(),
                    series: None,
                },
            )
            .await
            .unwrap(),
    )
}

/// Pays `order` in full in USD cash.
async fn pay_in_full(harness: &Harness, fixture: &Fixture, order: &Order) -> PaymentOutcome {
    fresh(
        harness
            .store
            .add_payment(
                fixture.tenant_id,
                fixture.user_id,
                None,
                order.id,
                cash_usd(order.total_usd_cents, tickets_for(order)),
            )
            .await
            .unwrap(),
    )
}

/// Creates a general-admission zone, activates the event and sells one unit
/// paid in full; returns the paid order.
async fn sell_one_unit(harness: &Harness, fixture: &Fixture, entries_per_ticket: i64) -> Order {
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 5 },
                price_usd_cents: 1_000,
                entries_per_ticket,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, fixture).await;
    let hold = fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: Vec::new(),
                    quantity: 1,
                },
            )
            .await
            .unwrap(),
    );
    let order = order_for(harness, fixture, hold.id).await;
    let paid = pay_in_full(harness, fixture, &order).await;
    assert_eq!(paid.order.status, "paid");
    paid.order
}

macro_rules! contract_tests {
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

contract_tests!(
    timestamps_round_trip_exactly,
    slugs_and_usernames_are_unique,
    numbered_zone_generates_labelled_rows,
    general_admission_never_exceeds_capacity,
    taken_seat_conflicts_and_names_the_seat,
    expired_hold_frees_its_seat,
    payment_completes_order_and_numbers_invoice,
    replayed_payment_changes_nothing,
    void_issues_credit_note_and_frees_seats,
    second_scan_is_rejected,
    multi_entry_ticket_counts_uses,
    one_order_per_hold_under_races,
    pages_do_not_repeat_or_skip,
    other_tenant_sees_nothing,
    export_gauges_cover_live_events,
);

async fn timestamps_round_trip_exactly(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "reloj").await;
    let venue = harness
        .store
        .create_venue(
            fixture.tenant_id,
            NewVenue {
                name: "X".to_string(),
                address: "Y".to_string(),
                city: "Z".to_string(),
            },
        )
        .await
        .unwrap();
    let read = harness
        .store
        .get_venue(fixture.tenant_id, venue.id)
        .await
        .unwrap();
    assert_eq!(read.created_at, venue.created_at);
    assert_eq!(
        read.created_at.timestamp_subsec_nanos() % 1_000,
        0,
        "truncated to microseconds"
    );
}

async fn slugs_and_usernames_are_unique(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "unico").await;
    let duplicate_tenant = harness
        .store
        .create_tenant(NewTenant {
            slug: "unico".to_string(),
            name: "Otro".to_string(),
            rif: "J-12345678-4".to_string(),
            fiscal_address: "Caracas".to_string(),
            signing_key: vec![1; 32],
        })
        .await;
    assert!(matches!(
        duplicate_tenant,
        Err(StoreError::Conflict {
            code: "tenant_slug_taken",
            ..
        })
    ));
    let duplicate_user = harness
        .store
        .create_user(NewUser {
            tenant_id: Some(fixture.tenant_id),
            username: "unico-cajero".to_string(),
            email: "x@example.invalid".to_string(),
            password_hash: "h".to_string(),
            role: Role::Cashier,
        })
        .await;
    assert!(matches!(
        duplicate_user,
        Err(StoreError::Conflict {
            code: "username_taken",
            ..
        })
    ));
}

async fn numbered_zone_generates_labelled_rows(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "filas").await;
    let rows: Vec<i64> = (0..28).map(|index| 10 + index % 3).collect();
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Platea".to_string(),
                kind: ZoneKind::Numbered { rows: rows.clone() },
                price_usd_cents: 2_500,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(zone.capacity, rows.iter().sum::<i64>());
    assert_eq!(zone.rows.len(), 28);
    assert_eq!(zone.rows[0].label, "A");
    assert_eq!(zone.rows[25].label, "Z");
    assert_eq!(zone.rows[26].label, "AA");
    // Row AB is index 27: 10 + 27 % 3 = 10 seats.
    assert_eq!(zone.rows[27].seats, 10);
    let availability = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(availability.seats.len() as i64, zone.capacity);
    assert_eq!(availability.available, zone.capacity);
}

async fn general_admission_never_exceeds_capacity(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "pista").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 10 },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;

    let mut handles = Vec::new();
    for _ in 0..30 {
        let store = harness.store.clone();
        let (tenant_id, user_id, zone_id) = (fixture.tenant_id, fixture.user_id, zone.id);
        handles.push(tokio::spawn(async move {
            store
                .create_hold(
                    tenant_id,
                    user_id,
                    None,
                    NewHold {
                        zone_id,
                        seat_ids: Vec::new(),
                        quantity: 1,
                    },
                )
                .await
        }));
    }
    let mut granted = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(_) => granted += 1,
            Err(StoreError::Conflict { code, .. }) => assert_eq!(code, "insufficient_capacity"),
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(granted, 10);
    let availability = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(availability.held, 10);
    assert_eq!(availability.available, 0);
}

async fn taken_seat_conflicts_and_names_the_seat(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "asiento").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Platea".to_string(),
                kind: ZoneKind::Numbered { rows: vec![4] },
                price_usd_cents: 2_500,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;
    let seats = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap()
        .seats;
    let mut first = vec![seats[1].id, seats[0].id];
    first.sort();
    let held = harness
        .store
        .create_hold(
            fixture.tenant_id,
            fixture.user_id,
            None,
            NewHold {
                zone_id: zone.id,
                seat_ids: first,
                quantity: 2,
            },
        )
        .await
        .unwrap();
    let held = fresh(held);
    // The seats come back in seat-map order, as a later read shows them.
    assert_eq!(held.seats[0].row, "A");
    assert_eq!(held.seats[0].number, 1);
    assert_eq!(held.seats[1].number, 2);
    let read = harness
        .store
        .get_hold(fixture.tenant_id, held.id)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&held).unwrap(),
        serde_json::to_value(&read).unwrap()
    );

    let mut overlapping = vec![seats[1].id, seats[2].id];
    overlapping.sort();
    let error = harness
        .store
        .create_hold(
            fixture.tenant_id,
            fixture.user_id,
            None,
            NewHold {
                zone_id: zone.id,
                seat_ids: overlapping,
                quantity: 2,
            },
        )
        .await
        .unwrap_err();
    let StoreError::Conflict { code, details } = error else {
        panic!("expected a conflict")
    };
    assert_eq!(code, "seats_unavailable");
    assert_eq!(details["seats"][0]["row"], "A");
    assert_eq!(details["seats"][0]["number"], 2);
    // The failed hold took nothing: seat 3 is still available.
    let availability = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(availability.seats[2].status, "available");
}

async fn expired_hold_frees_its_seat(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "expira").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Platea".to_string(),
                kind: ZoneKind::Numbered { rows: vec![2] },
                price_usd_cents: 2_500,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;
    let seat = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap()
        .seats[0]
        .id;
    let hold = fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: vec![seat],
                    quantity: 1,
                },
            )
            .await
            .unwrap(),
    );

    harness.clock.advance(Duration::minutes(16));
    assert_eq!(
        harness
            .store
            .get_hold(fixture.tenant_id, hold.id)
            .await
            .unwrap()
            .status,
        "expired"
    );
    assert_eq!(
        harness
            .store
            .zone_availability(fixture.tenant_id, zone.id)
            .await
            .unwrap()
            .seats[0]
            .status,
        "available"
    );
    assert_eq!(harness.store.expire_holds(100).await.unwrap().len(), 1);
    harness
        .store
        .create_hold(
            fixture.tenant_id,
            fixture.user_id,
            None,
            NewHold {
                zone_id: zone.id,
                seat_ids: vec![seat],
                quantity: 1,
            },
        )
        .await
        .expect("an expired hold gives its seat back");
}

async fn payment_completes_order_and_numbers_invoice(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "factura").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 50 },
                price_usd_cents: 2_500,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;

    for expected_number in 1..=3 {
        let hold = fresh(
            harness
                .store
                .create_hold(
                    fixture.tenant_id,
                    fixture.user_id,
                    None,
                    NewHold {
                        zone_id: zone.id,
                        seat_ids: Vec::new(),
                        quantity: 2,
                    },
                )
                .await
                .unwrap(),
        );
        // The hold as created is the hold as read, before an order extends it.
        let read_hold = harness
            .store
            .get_hold(fixture.tenant_id, hold.id)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&read_hold).unwrap()["status"],
            "active"
        );
        assert_eq!(
            serde_json::to_value(&hold).unwrap(),
            serde_json::to_value(&read_hold).unwrap()
        );
        let order = order_for(harness, &fixture, hold.id).await;
        // What creation returns is what a later read returns.
        let read_order = harness
            .store
            .get_order(fixture.tenant_id, order.id)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&order).unwrap(),
            serde_json::to_value(&read_order).unwrap()
        );
        // 2 × 25.00 at 36.12345678: 1,806.17 Bs. (one line), IVA 288.99, total 2,095.16.
        assert_eq!(order.subtotal_bs_cents, 180_617);
        assert_eq!(order.tax_bs_cents, 28_899);
        assert_eq!(order.total_bs_cents, 209_516);
        let outcome = fresh(
            harness
                .store
                .add_payment(
                    fixture.tenant_id,
                    fixture.user_id,
                    None,
                    order.id,
                    cash_usd(6_000, tickets_for(&order)),
                )
                .await
                .unwrap(),
        );
        assert_eq!(outcome.order.status, "paid");
        let invoice = outcome.order.invoice.expect("paid orders have an invoice");
        assert_eq!(invoice.number, expected_number);
        assert_eq!(invoice.control_number, format!("00-{expected_number:08}"));
        // 60.00 USD tendered for 58.00 owed: change in USD.
        assert_eq!(outcome.payment.change_currency.as_deref(), Some("USD"));
        assert_eq!(outcome.payment.change_cents, 200);
    }
    let availability = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap();
    assert_eq!(availability.sold, 6);
    assert_eq!(availability.held, 0);
}

async fn replayed_payment_changes_nothing(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "repite").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 5 },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;
    let hold = fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: Vec::new(),
                    quantity: 1,
                },
            )
            .await
            .unwrap(),
    );
    let order = order_for(harness, &fixture, hold.id).await;
    let key = IdempotencyRequest {
        principal_id: fixture.user_id,
        key: "pago-1".to_string(),
        request_hash: "hash-a".to_string(),
    };

    let first = fresh(
        harness
            .store
            .add_payment(
                fixture.tenant_id,
                fixture.user_id,
                Some(key.clone()),
                order.id,
                cash_usd(500, tickets_for(&order)),
            )
            .await
            .unwrap(),
    );
    let replay = harness
        .store
        .add_payment(
            fixture.tenant_id,
            fixture.user_id,
            Some(key.clone()),
            order.id,
            cash_usd(500, tickets_for(&order)),
        )
        .await
        .unwrap();
    let Idempotent::Replay { status_code, body } = replay else {
        panic!("expected a replay")
    };
    assert_eq!(status_code, 201);
    let replayed: PaymentOutcome = serde_json::from_str(&body).unwrap();
    assert_eq!(replayed.payment.id, first.payment.id);
    assert_eq!(
        harness
            .store
            .get_order(fixture.tenant_id, order.id)
            .await
            .unwrap()
            .payments
            .len(),
        1
    );

    let other_body = IdempotencyRequest {
        request_hash: "hash-b".to_string(),
        ..key
    };
    let reused = harness
        .store
        .add_payment(
            fixture.tenant_id,
            fixture.user_id,
            Some(other_body),
            order.id,
            cash_usd(700, tickets_for(&order)),
        )
        .await;
    assert!(matches!(reused, Err(StoreError::IdempotencyKeyReused)));
}

async fn void_issues_credit_note_and_frees_seats(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "anula").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Platea".to_string(),
                kind: ZoneKind::Numbered { rows: vec![3] },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;
    let seats: Vec<Uuid> = harness
        .store
        .zone_availability(fixture.tenant_id, zone.id)
        .await
        .unwrap()
        .seats
        .iter()
        .map(|seat| seat.id)
        .collect();
    let hold = fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: vec![seats[0]],
                    quantity: 1,
                },
            )
            .await
            .unwrap(),
    );
    let order = order_for(harness, &fixture, hold.id).await;
    let paid = pay_in_full(harness, &fixture, &order).await;
    let invoice = paid.order.invoice.unwrap();

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
    let credit_note = voided
        .credit_note
        .expect("an internal series issues at once");
    assert_eq!(credit_note.kind, "credit_note");
    assert_eq!(credit_note.number, 1);
    let document = harness
        .store
        .get_fiscal_document(fixture.tenant_id, credit_note.id)
        .await
        .unwrap();
    assert_eq!(document.references_document_id, Some(invoice.id));
    assert_eq!(document.total_bs_cents, paid.order.total_bs_cents);
    assert_eq!(
        harness
            .store
            .zone_availability(fixture.tenant_id, zone.id)
            .await
            .unwrap()
            .seats[0]
            .status,
        "available"
    );
    let tickets = harness
        .store
        .list_tickets(fixture.tenant_id, order.id)
        .await
        .unwrap();
    assert!(tickets.iter().all(|ticket| ticket.status == "cancelled"));
}

async fn second_scan_is_rejected(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "puerta").await;
    let order = sell_one_unit(harness, &fixture, 1).await;
    let code = harness
        .store
        .list_tickets(fixture.tenant_id, order.id)
        .await
        .unwrap()[0]
        .code
        .clone();

    let first = harness
        .store
        .validate_ticket(fixture.tenant_id, fixture.user_id, &code, "Puerta 2", None)
        .await
        .unwrap();
    assert!(matches!(first, ValidationOutcome::Admitted(_)));
    let second = harness
        .store
        .validate_ticket(fixture.tenant_id, fixture.user_id, &code, "Puerta 3", None)
        .await
        .unwrap();
    let ValidationOutcome::AlreadyUsed {
        first_gate,
        first_used_at,
        ..
    } = second
    else {
        panic!("expected already used")
    };
    assert_eq!(first_gate.as_deref(), Some("Puerta 2"));
    assert!(first_used_at.is_some());
    let unknown = harness
        .store
        .validate_ticket(fixture.tenant_id, fixture.user_id, "NOPE", "Puerta 2", None)
        .await
        .unwrap();
    assert!(matches!(unknown, ValidationOutcome::Unknown));
}

async fn pages_do_not_repeat_or_skip(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "paginas").await;
    for index in 0..25 {
        harness
            .store
            .create_venue(
                fixture.tenant_id,
                NewVenue {
                    name: format!("Sala {index}"),
                    address: "A".to_string(),
                    city: "C".to_string(),
                },
            )
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest {
        limit: 7,
        after: None,
    };
    loop {
        let result = harness
            .store
            .list_venues(fixture.tenant_id, page)
            .await
            .unwrap();
        seen.extend(result.items.iter().map(|venue| venue.id));
        match result.next_cursor {
            Some(cursor) => page.after = Some(Uuid::parse_str(&cursor).unwrap()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 26, "25 new venues and the fixture's one");
    assert_eq!(unique.len(), seen.len());
}

async fn other_tenant_sees_nothing(harness: &Harness) {
    let owner = fixture(&harness.store, &harness.clock, "duena").await;
    let other = fixture(&harness.store, &harness.clock, "otra").await;
    let zone = harness
        .store
        .create_zone(
            owner.tenant_id,
            NewZone {
                event_id: owner.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 5 },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &owner).await;
    let hold = fresh(
        harness
            .store
            .create_hold(
                owner.tenant_id,
                owner.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: Vec::new(),
                    quantity: 1,
                },
            )
            .await
            .unwrap(),
    );

    assert!(matches!(
        harness
            .store
            .get_event(other.tenant_id, owner.event_id)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        harness.store.get_zone(other.tenant_id, zone.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        harness.store.get_hold(other.tenant_id, hold.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        harness
            .store
            .get_customer(other.tenant_id, owner.customer_id)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        harness.store.release_hold(other.tenant_id, hold.id).await,
        Err(StoreError::NotFound(_))
    ));
    let stolen = harness
        .store
        .create_hold(
            other.tenant_id,
            other.user_id,
            None,
            NewHold {
                zone_id: zone.id,
                seat_ids: Vec::new(),
                quantity: 1,
            },
        )
        .await;
    assert!(matches!(stolen, Err(StoreError::NotFound(_))));
    assert_eq!(
        harness
            .store
            .get_hold(owner.tenant_id, hold.id)
            .await
            .unwrap()
            .status,
        "active"
    );
}

async fn multi_entry_ticket_counts_uses(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "abono").await;
    let order = sell_one_unit(harness, &fixture, 2).await;
    let ticket = harness
        .store
        .list_tickets(fixture.tenant_id, order.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(ticket.max_uses, 2);

    let first = harness
        .store
        .validate_ticket(
            fixture.tenant_id,
            fixture.user_id,
            &ticket.code,
            "Puerta 1",
            None,
        )
        .await
        .unwrap();
    let second = harness
        .store
        .validate_ticket(
            fixture.tenant_id,
            fixture.user_id,
            &ticket.code,
            "Puerta 2",
            None,
        )
        .await
        .unwrap();
    let third = harness
        .store
        .validate_ticket(
            fixture.tenant_id,
            fixture.user_id,
            &ticket.code,
            "Puerta 3",
            None,
        )
        .await
        .unwrap();
    let ValidationOutcome::Admitted(after_second) = second else {
        panic!("the second entry is allowed")
    };
    assert!(matches!(first, ValidationOutcome::Admitted(_)));
    assert_eq!(after_second.uses, 2);
    assert!(matches!(third, ValidationOutcome::AlreadyUsed { .. }));
}

async fn one_order_per_hold_under_races(harness: &Harness) {
    let fixture = fixture(&harness.store, &harness.clock, "carrera").await;
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity: 5 },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, &fixture).await;
    let hold = fresh(
        harness
            .store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id: zone.id,
                    seat_ids: Vec::new(),
                    quantity: 2,
                },
            )
            .await
            .unwrap(),
    );

    let mut attempts = Vec::new();
    for _ in 0..10 {
        let store = harness.store.clone();
        let (tenant_id, user_id, customer_id, hold_id) = (
            fixture.tenant_id,
            fixture.user_id,
            fixture.customer_id,
            hold.id,
        );
        attempts.push(tokio::spawn(async move {
            store
                .create_order(
                    tenant_id,
                    user_id,
                    None,
                    NewOrder {
                        hold_id,
                        customer_id,
                        courtesy: false,
                        discount_code: None,
                        tickets: Vec::new(),
                        series: None,
                    },
                )
                .await
        }));
    }
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { code, .. }) => assert_eq!(code, "hold_already_ordered"),
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created, 1);
}

/// Creates an event at `starts_at` in a new venue and moves it through `statuses`.
async fn event_with_status(
    store: &Arc<dyn Store>,
    tenant_id: Uuid,
    starts_at: chrono::DateTime<Utc>,
    statuses: &[(&str, &str)],
) -> Uuid {
    let venue = store
        .create_venue(
            tenant_id,
            NewVenue {
                name: "Teatro".to_string(),
                address: "Av. 2".to_string(),
                city: "Valencia".to_string(),
            },
        )
        .await
        .unwrap();
    let event = store
        .create_event(
            tenant_id,
            NewEvent {
                venue_id: venue.id,
                name: "Obra".to_string(),
                description: String::new(),
                starts_at,
                sale_starts_at: None,
                sale_ends_at: None,
                hold_minutes: 15,
                payment_minutes: 15,
            },
        )
        .await
        .unwrap();
    for (from, to) in statuses {
        store
            .set_event_status(tenant_id, event.id, &[from], to)
            .await
            .unwrap();
    }
    event.id
}

async fn export_gauges_cover_live_events(harness: &Harness) {
    // Arrange: one unit sold and two held in a general-admission zone of 5.
    let store = &harness.store;
    let fixture = fixture(store, &harness.clock, "gauges").await;
    let order = sell_one_unit(harness, &fixture, 1).await;
    let zone_id = order.lines[0].zone_id;
    fresh(
        store
            .create_hold(
                fixture.tenant_id,
                fixture.user_id,
                None,
                NewHold {
                    zone_id,
                    seat_ids: Vec::new(),
                    quantity: 2,
                },
            )
            .await
            .unwrap(),
    );
    let now = harness.clock.now_for_tests();

    // Act
    let gauges = store.export_gauges(now, 10).await.unwrap();

    // Assert
    assert_eq!(
        gauges.events,
        vec![EventGauges {
            tenant_id: fixture.tenant_id,
            event_id: fixture.event_id,
            tickets_sold: 1,
            revenue_usd_cents: order.total_usd_cents,
        }]
    );
    assert_eq!(
        gauges.zones,
        vec![ZoneGauges {
            tenant_id: fixture.tenant_id,
            event_id: fixture.event_id,
            zone_id,
            available: 2,
        }]
    );
    assert_eq!(
        gauges.holds,
        vec![TenantHolds {
            tenant_id: fixture.tenant_id,
            active_holds: 1,
        }]
    );
    let issued: Vec<(&str, &str, i64)> = gauges
        .series
        .iter()
        .map(|series| {
            (
                series.series.as_str(),
                series.kind.as_str(),
                series.documents_issued,
            )
        })
        .collect();
    assert!(issued.contains(&("A", "invoice", 1)), "{issued:?}");
    assert!(issued.contains(&("NC", "credit_note", 0)), "{issued:?}");
    assert!(!gauges.events_omitted);

    // A hold past its expiry frees its places before the sweeper runs.
    harness.clock.advance(Duration::minutes(16));
    let gauges = store.export_gauges(now, 10).await.unwrap();
    assert_eq!(gauges.zones[0].available, 4);
    assert_eq!(gauges.holds[0].active_holds, 0);

    // Closed events count until `closed_since` passes their start; drafts never do.
    let closed = event_with_status(
        store,
        fixture.tenant_id,
        now + Duration::days(20),
        &[("draft", "active"), ("active", "closed")],
    )
    .await;
    event_with_status(store, fixture.tenant_id, now + Duration::days(5), &[]).await;
    let event_ids = |gauges: &ExportGauges| -> Vec<Uuid> {
        gauges.events.iter().map(|event| event.event_id).collect()
    };
    let gauges = store.export_gauges(now, 10).await.unwrap();
    assert_eq!(event_ids(&gauges), vec![fixture.event_id, closed]);
    let gauges = store
        .export_gauges(now + Duration::days(21), 10)
        .await
        .unwrap();
    assert_eq!(event_ids(&gauges), vec![fixture.event_id]);

    // The limit keeps the events that start first and reports the rest as omitted.
    let gauges = store.export_gauges(now, 1).await.unwrap();
    assert_eq!(event_ids(&gauges), vec![fixture.event_id]);
    assert!(
        gauges
            .zones
            .iter()
            .all(|zone| zone.event_id == fixture.event_id)
    );
    assert!(gauges.events_omitted);
}

#[path = "contract/fiscal.rs"]
mod fiscal;
