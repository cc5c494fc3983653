//! Fiscal contract: series numbering under concurrency, the audit chain and
//! its verification, cashiers' fiscal days with X and Z reports, and the queue
//! of documents issued by external adapters.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone};
use serde_json::json;
use tokio::sync::Semaphore;

use super::*;

/// Creates a general-admission zone of `capacity` at US$10 and activates the event.
async fn open_zone(harness: &Harness, fixture: &Fixture, capacity: i64) -> Uuid {
    let zone = harness
        .store
        .create_zone(
            fixture.tenant_id,
            NewZone {
                event_id: fixture.event_id,
                name: "Pista".to_string(),
                kind: ZoneKind::GeneralAdmission { capacity },
                price_usd_cents: 1_000,
                entries_per_ticket: 1,
            },
        )
        .await
        .unwrap();
    activate(&harness.store, fixture).await;
    zone.id
}

/// Sells one unit as `cashier` in `series` (the default when `None`).
async fn sell(
    store: &Arc<dyn Store>,
    tenant_id: Uuid,
    cashier: Uuid,
    customer_id: Uuid,
    zone_id: Uuid,
    series: Option<&str>,
) -> Result<Order, StoreError> {
    let hold = fresh(
        store
            .create_hold(
                tenant_id,
                cashier,
                None,
                NewHold {
                    zone_id,
                    seat_ids: Vec::new(),
                    quantity: 1,
                },
            )
            .await?,
    );
    let order = fresh(
        store
            .create_order(
                tenant_id,
                cashier,
                None,
                NewOrder {
                    hold_id: hold.id,
                    customer_id,
                    courtesy: false,
                    discount_code: None,
                    tickets: Vec::new(),
                    series: series.map(str::to_string),
                },
            )
            .await?,
    );
    let paid = fresh(
        store
            .add_payment(
                tenant_id,
                cashier,
                None,
                order.id,
                cash_usd(order.total_usd_cents, tickets_for(&order)),
            )
            .await?,
    );
    Ok(paid.order)
}

/// Sells `count` units one after another as the fixture's cashier, in the default series.
async fn sell_times(store: &Arc<dyn Store>, fixture: &Fixture, zone_id: Uuid, count: usize) {
    for _ in 0..count {
        sell(
            store,
            fixture.tenant_id,
            fixture.user_id,
            fixture.customer_id,
            zone_id,
            None,
        )
        .await
        .unwrap();
    }
}

async fn add_cashier(harness: &Harness, tenant_id: Uuid, username: &str) -> Uuid {
    harness
        .store
        .create_user(NewUser {
            tenant_id: Some(tenant_id),
            username: username.to_string(),
            email: format!("{username}@example.invalid"),
            password_hash: "not-a-real-hash".to_string(),
            role: Role::Cashier,
        })
        .await
        .unwrap()
        .id
}

fn series(code: &str, kind: &str, adapter: &str) -> NewFiscalSeries {
    NewFiscalSeries {
        code: code.to_string(),
        kind: kind.to_string(),
        adapter: adapter.to_string(),
        adapter_config: json!({}),
        description: String::new(),
        is_default: false,
        credit_note_series: None,
    }
}

/// Returns all documents of a tenant, reading every page.
async fn documents(store: &Arc<dyn Store>, tenant_id: Uuid) -> Vec<FiscalDocument> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_fiscal_documents(tenant_id, PageRequest { limit: 200, after })
            .await
            .unwrap();
        after = page.items.last().map(|document| document.id);
        all.extend(page.items);
        if page.next_cursor.is_none() {
            return all;
        }
    }
}

/// 500 orders completed concurrently across three series of two tenants:
/// each series is gapless and unique, verification passes, and a tampered
/// document is named by the verification.
async fn concurrent_orders_keep_every_series_gapless(harness: &Harness) {
    let store = &harness.store;
    let first = fixture(store, &harness.clock, "fiscal-uno").await;
    let second = fixture(store, &harness.clock, "fiscal-dos").await;
    store
        .create_fiscal_series(first.tenant_id, series("B1", "invoice", "internal"))
        .await
        .unwrap();
    let first_zone = open_zone(harness, &first, 1_000).await;
    let second_zone = open_zone(harness, &second, 1_000).await;

    let permits = Arc::new(Semaphore::new(16));
    let mut sales = tokio::task::JoinSet::new();
    for index in 0..500 {
        let store = store.clone();
        let permits = permits.clone();
        let (tenant_id, cashier, customer, zone, code) = match index % 3 {
            0 => (
                first.tenant_id,
                first.user_id,
                first.customer_id,
                first_zone,
                None,
            ),
            1 => (
                first.tenant_id,
                first.user_id,
                first.customer_id,
                first_zone,
                Some("B1"),
            ),
            _ => (
                second.tenant_id,
                second.user_id,
                second.customer_id,
                second_zone,
                None,
            ),
        };
        sales.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            sell(&store, tenant_id, cashier, customer, zone, code).await
        });
    }
    let mut completed = 0;
    while let Some(result) = sales.join_next().await {
        let order = result.unwrap().expect("every sale completes");
        assert_eq!(order.fiscal_status, "invoiced");
        completed += 1;
    }
    assert_eq!(completed, 500);

    for (tenant_id, expected) in [
        (first.tenant_id, vec![("A", 167), ("B1", 167)]),
        (second.tenant_id, vec![("A", 166)]),
    ] {
        let documents = documents(store, tenant_id).await;
        for (code, count) in expected {
            let numbers: Vec<i64> = documents
                .iter()
                .filter(|document| document.series == code)
                .map(|document| document.number)
                .collect();
            let unique: BTreeSet<i64> = numbers.iter().copied().collect();
            assert_eq!(numbers.len(), count, "series {code}");
            assert_eq!(
                unique.into_iter().collect::<Vec<_>>(),
                (1..=count as i64).collect::<Vec<_>>(),
                "series {code} is gapless and unique"
            );
        }
        let controls: BTreeSet<&str> = documents
            .iter()
            .map(|document| document.control_number.as_str())
            .collect();
        assert_eq!(
            controls.len(),
            documents.len(),
            "control numbers are unique"
        );
        let report = store.verify_fiscal(tenant_id).await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.documents, documents.len() as i64);
        assert!(report.audit_entries >= report.documents);
    }
    let integrity = store.check_integrity().await.unwrap();
    assert!(integrity.fiscal_series_ok(), "{integrity:?}");

    // Tamper with one stored invoice behind the store's back.
    let target = documents(store, first.tenant_id)
        .await
        .into_iter()
        .find(|document| document.series == "B1" && document.number == 7)
        .unwrap();
    let update = "UPDATE fiscal_documents SET total_bs_cents = total_bs_cents + 100 \
         WHERE number = 7 AND series_id IN (SELECT id FROM fiscal_series WHERE code = 'B1')";
    if harness.is_postgres() {
        harness
            .execute_raw(&[
                "ALTER TABLE fiscal_documents DISABLE TRIGGER fiscal_documents_immutable",
                update,
            ])
            .await;
    } else {
        harness
            .execute_raw(&["DROP TRIGGER fiscal_documents_no_update", update])
            .await;
    }
    let report = store.verify_fiscal(first.tenant_id).await.unwrap();
    assert!(!report.ok());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].kind, "document_mismatch");
    assert_eq!(
        report.problems[0].row,
        format!("fiscal_documents id={}", target.id)
    );
    // The other tenant is untouched.
    assert!(store.verify_fiscal(second.tenant_id).await.unwrap().ok());
}

/// Checks that an edited or deleted audit entry breaks the chain at that entry.
async fn audit_chain_detects_edits_and_deletions(harness: &Harness) {
    let store = &harness.store;
    let fixture = fixture(store, &harness.clock, "fiscal-cadena").await;
    let zone = open_zone(harness, &fixture, 10).await;
    sell_times(store, &fixture, zone, 3).await;
    assert!(store.verify_fiscal(fixture.tenant_id).await.unwrap().ok());
    let (unlock, relock): (&[&str], &str) = if harness.is_postgres() {
        (
            &["ALTER TABLE fiscal_audit_log DISABLE TRIGGER fiscal_audit_log_immutable"],
            "SELECT 1",
        )
    } else {
        (
            &[
                "DROP TRIGGER fiscal_audit_log_no_update",
                "DROP TRIGGER fiscal_audit_log_no_delete",
            ],
            "SELECT 1",
        )
    };
    harness.execute_raw(unlock).await;
    harness
        .execute_raw(&[
            "UPDATE fiscal_audit_log SET payload = replace(payload, '\"number\":2', '\"number\":9') WHERE sequence = 2",
            relock,
        ])
        .await;
    let report = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    let kinds: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|problem| (problem.kind.as_str(), problem.row.as_str()))
        .collect();
    assert!(
        kinds.contains(&("hash_mismatch", "fiscal_audit_log sequence=2")),
        "{kinds:?}"
    );

    harness
        .execute_raw(&["DELETE FROM fiscal_audit_log WHERE sequence = 3"])
        .await;
    let report = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.kind == "missing_audit_entry"),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.kind == "sequence_gap"),
        "{:?}",
        report.problems
    );
    let integrity = store.check_integrity().await.unwrap();
    assert_eq!(integrity.audit_chains_broken, vec![fixture.tenant_id]);
    assert!(!integrity.fiscal_series_ok());
}

/// Checks that fiscal days follow Caracas time and a Z report closes one
/// cashier's day only. A zero-sale day still gets its Z, and the totals add up.
async fn z_report_closes_one_cashiers_day(harness: &Harness) {
    let store = &harness.store;
    // 23:59 on 4 December in Caracas is 03:59 UTC on the 5th.
    let before_midnight = chrono::Utc.with_ymd_and_hms(2026, 12, 5, 3, 59, 0).unwrap();
    // The tenant exists from three days before, so earlier days can be closed.
    harness.clock.set(before_midnight - Duration::days(3));
    let fixture = fixture(store, &harness.clock, "fiscal-jornada").await;
    harness.clock.set(before_midnight);
    let second_cashier = add_cashier(harness, fixture.tenant_id, "fiscal-jornada-2").await;
    let zone = open_zone(harness, &fixture, 50).await;
    let day_4 = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let day_5 = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    let sell_as = |cashier: Uuid| {
        sell(
            store,
            fixture.tenant_id,
            cashier,
            fixture.customer_id,
            zone,
            None,
        )
    };

    let late = sell_as(fixture.user_id).await.unwrap();
    harness.clock.advance(Duration::minutes(2));
    let early = sell_as(fixture.user_id).await.unwrap();
    sell_as(second_cashier).await.unwrap();

    // X reports: read-only, per cashier and per day.
    let x_4 = store
        .fiscal_day_totals(fixture.tenant_id, Some(fixture.user_id), Some(day_4))
        .await
        .unwrap();
    assert_eq!(x_4.invoices.count, 1);
    assert_eq!(
        x_4.series[0].first_number,
        late.invoice.as_ref().unwrap().number
    );
    let x_5 = store
        .fiscal_day_totals(fixture.tenant_id, Some(fixture.user_id), None)
        .await
        .unwrap();
    assert_eq!(x_5.fiscal_day, day_5);
    assert_eq!(x_5.invoices.count, 1);
    assert_eq!(
        x_5.series[0].first_number,
        early.invoice.as_ref().unwrap().number
    );
    assert_eq!(x_5.payments.len(), 1);
    assert_eq!(x_5.payments[0].method, "cash");
    assert_eq!(x_5.payments[0].amount_cents, early.total_usd_cents);
    // Totals per rate add up to the order's taxes.
    let rate_tax: i64 = x_5
        .invoices
        .rates
        .iter()
        .map(|rate| rate.tax_bs_cents)
        .sum();
    assert_eq!(rate_tax, early.tax_bs_cents);
    let rate_base: i64 = x_5
        .invoices
        .rates
        .iter()
        .filter(|rate| rate.category == "iva")
        .map(|rate| rate.base_bs_cents)
        .sum();
    assert_eq!(
        rate_base + x_5.invoices.exempt_bs_cents,
        early.subtotal_bs_cents
    );
    assert_eq!(x_5.invoices.total_bs_cents, early.total_bs_cents);
    let daily = store
        .fiscal_day_totals(fixture.tenant_id, None, Some(day_5))
        .await
        .unwrap();
    assert_eq!(
        daily.invoices.count, 2,
        "both cashiers in the daily summary"
    );

    // The earlier day left open can be closed; then today's.
    let z_4 = store
        .close_fiscal_day(
            fixture.tenant_id,
            fixture.user_id,
            fixture.user_id,
            Some(day_4),
        )
        .await
        .unwrap();
    assert_eq!((z_4.number, z_4.totals.invoices.count), (1, 1));
    let z_5 = store
        .close_fiscal_day(fixture.tenant_id, fixture.user_id, fixture.user_id, None)
        .await
        .unwrap();
    assert_eq!((z_5.number, z_5.fiscal_day), (2, day_5));
    assert_eq!(z_5.totals.net_total_bs_cents, early.total_bs_cents);
    let again = store
        .close_fiscal_day(fixture.tenant_id, fixture.user_id, fixture.user_id, None)
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict {
            code: "z_report_exists",
            ..
        })
    ));
    let future = store
        .close_fiscal_day(
            fixture.tenant_id,
            fixture.user_id,
            fixture.user_id,
            day_5.succ_opt(),
        )
        .await;
    assert!(matches!(future, Err(StoreError::Invalid(_))));

    // After Z the cashier cannot sell today; the other cashier can.
    let blocked = sell_as(fixture.user_id).await;
    assert!(
        matches!(
            blocked,
            Err(StoreError::Conflict {
                code: "fiscal_day_closed",
                ..
            })
        ),
        "{blocked:?}"
    );
    sell_as(second_cashier).await.unwrap();

    // A zero-sale day gets its Z too.
    let empty_day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let z_empty = store
        .close_fiscal_day(
            fixture.tenant_id,
            second_cashier,
            second_cashier,
            Some(empty_day),
        )
        .await
        .unwrap();
    assert_eq!(z_empty.number, 1);
    assert_eq!(z_empty.totals.invoices.count, 0);
    assert_eq!(z_empty.totals.net_total_bs_cents, 0);
    assert!(z_empty.totals.payments.is_empty());

    // The next fiscal day the cashier sells again.
    harness.clock.advance(Duration::days(1));
    store
        .create_exchange_rate(
            fixture.tenant_id,
            fixture.user_id,
            NewExchangeRate {
                rate_scaled: 3_612_345_678,
                effective_date: day_5.succ_opt().unwrap(),
                source: "manual".to_string(),
            },
        )
        .await
        .unwrap();
    sell_as(fixture.user_id).await.unwrap();

    let reports = store
        .list_z_reports(
            fixture.tenant_id,
            Some(fixture.user_id),
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reports.items.len(), 2);
    let verification = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(verification.ok(), "{:?}", verification.problems);
    assert_eq!(verification.z_reports, 3);

    // Only selling users have a fiscal day to close.
    let validator = harness
        .store
        .create_user(NewUser {
            tenant_id: Some(fixture.tenant_id),
            username: "fiscal-jornada-porteria".to_string(),
            email: "porteria@example.invalid".to_string(),
            password_hash: "not-a-real-hash".to_string(),
            role: Role::Validator,
        })
        .await
        .unwrap();
    let not_seller = store
        .close_fiscal_day(fixture.tenant_id, validator.id, fixture.user_id, None)
        .await;
    assert!(
        matches!(not_seller, Err(StoreError::Invalid(_))),
        "{not_seller:?}"
    );

    // Edited, deleted and reopened Z reports are named by the verification.
    let unlock: &[&str] = if harness.is_postgres() {
        &["ALTER TABLE z_reports DISABLE TRIGGER z_reports_immutable"]
    } else {
        &[
            "DROP TRIGGER z_reports_no_update",
            "DROP TRIGGER z_reports_no_delete",
        ]
    };
    harness.execute_raw(unlock).await;
    harness
        .execute_raw(&[
            "UPDATE z_reports SET totals = replace(totals, '\"count\":1', '\"count\":0') WHERE number = 2",
            "DELETE FROM z_reports WHERE number = 1 AND fiscal_day = '2026-12-03'",
            "UPDATE cashier_days SET closed_at = NULL WHERE fiscal_day = '2026-12-04'",
        ])
        .await;
    let tampered = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    let kinds: Vec<(&str, &str)> = tampered
        .problems
        .iter()
        .map(|problem| (problem.kind.as_str(), problem.row.as_str()))
        .collect();
    let z_5_row = format!("z_reports id={}", z_5.id);
    assert!(
        kinds.contains(&("z_report_mismatch", z_5_row.as_str())),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|(kind, _)| *kind == "missing_z_report"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|(kind, _)| *kind == "day_reopened"),
        "{kinds:?}"
    );
}

/// Checks that an external series leaves the order paid but not invoiced until
/// the job records the adapter's numbers, exactly once.
async fn external_series_queue_documents(harness: &Harness) {
    let store = &harness.store;
    let fixture = fixture(store, &harness.clock, "fiscal-imprenta").await;
    store
        .create_fiscal_series(
            fixture.tenant_id,
            NewFiscalSeries {
                adapter_config: json!({ "base_url": "http://127.0.0.1:9", "api_token": "t" }),
                ..series("W1", "invoice", "digital_printer")
            },
        )
        .await
        .unwrap();
    let unknown = store
        .create_fiscal_series(fixture.tenant_id, series("W1", "invoice", "internal"))
        .await;
    assert!(matches!(
        unknown,
        Err(StoreError::Conflict {
            code: "series_exists",
            ..
        })
    ));
    let zone = open_zone(harness, &fixture, 10).await;
    let wrong = sell(
        store,
        fixture.tenant_id,
        fixture.user_id,
        fixture.customer_id,
        zone,
        Some("NC"),
    )
    .await;
    assert!(matches!(wrong, Err(StoreError::Invalid(_))), "{wrong:?}");

    let order = sell(
        store,
        fixture.tenant_id,
        fixture.user_id,
        fixture.customer_id,
        zone,
        Some("W1"),
    )
    .await
    .unwrap();
    assert_eq!(order.status, "paid");
    assert_eq!(order.fiscal_status, "pending_issue");
    assert!(order.invoice.is_none());
    let integrity = store.check_integrity().await.unwrap();
    assert!(
        integrity.fiscal_series_ok(),
        "a queued invoice is accounted for"
    );

    // The day cannot close while a document waits for its adapter.
    let closing = store
        .close_fiscal_day(fixture.tenant_id, fixture.user_id, fixture.user_id, None)
        .await;
    assert!(matches!(
        closing,
        Err(StoreError::Conflict {
            code: "documents_pending_issue",
            ..
        })
    ));

    let claimed = store
        .claim_fiscal_issues(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].series.as_str(), claimed[0].adapter.as_str()),
        ("W1", "digital_printer")
    );
    assert_eq!(claimed[0].attempts, 1);
    // Leased: a second worker finds nothing due.
    assert!(
        store
            .claim_fiscal_issues(10, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );

    // A rejection parks it until an operator retries.
    store
        .defer_fiscal_issue(fixture.tenant_id, claimed[0].id, "rejected: bad RIF", None)
        .await
        .unwrap();
    let view = store.get_order(fixture.tenant_id, order.id).await.unwrap();
    assert_eq!(view.fiscal_status, "issue_rejected");
    store
        .retry_fiscal_issue(fixture.tenant_id, claimed[0].id)
        .await
        .unwrap();
    let claimed = store
        .claim_fiscal_issues(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed[0].attempts, 2);

    // A provider timestamp from another day does not move the document there.
    let provider_time = harness.clock.now_for_tests() - Duration::days(3);
    let issued = ExternalIssued {
        number: 1,
        control_number: "00-00000001".to_string(),
        verification_url: Some("http://127.0.0.1:9/v/1".to_string()),
        issued_at: Some(provider_time),
    };
    let summary = store
        .record_external_document(fixture.tenant_id, claimed[0].id, &issued)
        .await
        .unwrap()
        .expect("recorded the first time");
    assert_eq!((summary.series.as_str(), summary.number), ("W1", 1));
    assert_eq!(
        summary.id, claimed[0].id,
        "the queue id becomes the document id"
    );
    assert!(
        store
            .record_external_document(fixture.tenant_id, claimed[0].id, &issued)
            .await
            .unwrap()
            .is_none(),
        "a second recording is a no-op"
    );
    let view = store.get_order(fixture.tenant_id, order.id).await.unwrap();
    assert_eq!(view.fiscal_status, "invoiced");
    assert_eq!(view.invoice.unwrap().control_number, "00-00000001");
    let document = store
        .get_fiscal_document(fixture.tenant_id, summary.id)
        .await
        .unwrap();
    assert_eq!(
        document.content["verification_url"],
        "http://127.0.0.1:9/v/1"
    );
    assert_eq!(document.content["series"], "W1");
    let verification = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(verification.ok(), "{:?}", verification.problems);
    let listed = store
        .list_fiscal_series(
            fixture.tenant_id,
            PageRequest {
                limit: 200,
                after: None,
            },
        )
        .await
        .unwrap();
    let w1 = listed
        .items
        .iter()
        .find(|series| series.code == "W1")
        .unwrap();
    assert_eq!(w1.documents_issued, 1);

    // A rejected document moves to the internal series and is issued there.
    let second = sell(
        store,
        fixture.tenant_id,
        fixture.user_id,
        fixture.customer_id,
        zone,
        Some("W1"),
    )
    .await
    .unwrap();
    let claimed = store
        .claim_fiscal_issues(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let not_rejected = store
        .reassign_fiscal_issue(fixture.tenant_id, claimed[0].id, "A", fixture.user_id)
        .await;
    assert!(
        matches!(
            not_rejected,
            Err(StoreError::Conflict {
                code: "issue_not_rejected",
                ..
            })
        ),
        "{not_rejected:?}"
    );
    store
        .defer_fiscal_issue(fixture.tenant_id, claimed[0].id, "rechazado: datos", None)
        .await
        .unwrap();
    let moved = store
        .reassign_fiscal_issue(fixture.tenant_id, claimed[0].id, "A", fixture.user_id)
        .await
        .unwrap()
        .expect("an internal series issues at once");
    assert_eq!((moved.series.as_str(), moved.number), ("A", 1));
    let view = store.get_order(fixture.tenant_id, second.id).await.unwrap();
    assert_eq!(view.fiscal_status, "invoiced");
    let verification = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(verification.ok(), "{:?}", verification.problems);
}

/// Documents issued before the audit log existed get their entries when the
/// store next starts, so verification covers them.
async fn startup_backfills_missing_audit_entries(harness: &Harness) {
    let store = &harness.store;
    let fixture = fixture(store, &harness.clock, "fiscal-antes").await;
    let zone = open_zone(harness, &fixture, 10).await;
    sell_times(store, &fixture, zone, 2).await;
    // Put the database back in its state before the audit log: no entries.
    let unlock = if harness.is_postgres() {
        "ALTER TABLE fiscal_audit_log DISABLE TRIGGER fiscal_audit_log_immutable"
    } else {
        "DROP TRIGGER fiscal_audit_log_no_delete"
    };
    harness
        .execute_raw(&[
            unlock,
            "DELETE FROM fiscal_audit_log",
            "UPDATE tenants SET audit_length = 0",
        ])
        .await;
    let before = store.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(
        before
            .problems
            .iter()
            .all(|problem| problem.kind == "missing_audit_entry"),
        "{:?}",
        before.problems
    );
    assert_eq!(before.problems.len(), 2);

    let restarted = harness.reconnect().await;
    let after = restarted.verify_fiscal(fixture.tenant_id).await.unwrap();
    assert!(after.ok(), "{:?}", after.problems);
    assert_eq!(after.audit_entries, 2);
    // A second start changes nothing.
    let again = harness.reconnect().await;
    assert_eq!(
        again
            .verify_fiscal(fixture.tenant_id)
            .await
            .unwrap()
            .audit_entries,
        2
    );
}

/// Checks that a Z report closing during the cashier's sales counts exactly the
/// documents and payments that made it into the day.
async fn z_report_races_sales(harness: &Harness) {
    let store = &harness.store;
    let fixture = fixture(store, &harness.clock, "fiscal-carrera").await;
    let zone = open_zone(harness, &fixture, 200).await;
    let mut sales = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let store = store.clone();
        let (tenant_id, cashier, customer) =
            (fixture.tenant_id, fixture.user_id, fixture.customer_id);
        sales.spawn(async move { sell(&store, tenant_id, cashier, customer, zone, None).await });
    }
    // Close the day once the first sale is done, with the others in flight.
    let first = sales.join_next().await.unwrap().unwrap();
    assert!(first.is_ok(), "{first:?}");
    let z = store
        .close_fiscal_day(fixture.tenant_id, fixture.user_id, fixture.user_id, None)
        .await
        .unwrap();
    let (mut sold, mut refused) = (1, 0);
    while let Some(result) = sales.join_next().await {
        match result.unwrap() {
            Ok(_) => sold += 1,
            Err(StoreError::Conflict {
                code: "fiscal_day_closed",
                ..
            }) => refused += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(sold + refused, 24);
    // The day's totals now equal what the Z report froze.
    let now = store
        .fiscal_day_totals(fixture.tenant_id, Some(fixture.user_id), Some(z.fiscal_day))
        .await
        .unwrap();
    assert_eq!(now.invoices.count, sold);
    assert_eq!(z.totals.invoices.count, sold);
    assert_eq!(
        now.invoices.total_bs_cents,
        z.totals.invoices.total_bs_cents
    );
    let paid = |totals: &FiscalDayTotals| -> i64 {
        totals
            .payments
            .iter()
            .map(|payment| payment.amount_bs_cents)
            .sum()
    };
    assert_eq!(paid(&now), paid(&z.totals));
}

contract_tests!(
    z_report_races_sales,
    startup_backfills_missing_audit_entries,
    concurrent_orders_keep_every_series_gapless,
    audit_chain_detects_edits_and_deletions,
    z_report_closes_one_cashiers_day,
    external_series_queue_documents,
);
