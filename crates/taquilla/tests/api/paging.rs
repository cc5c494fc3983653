//! Paging of list endpoints: walking a list page by page with a small limit
//! returns every row exactly once, also when rows share a sort value, and a
//! malformed cursor or limit is rejected.

use std::collections::HashSet;

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, EventTimes, TestApp, ZoneSpec, assert_error, assert_status, rfc3339, spawn_app,
    uuid_of,
};

backend_tests!(
    lists_with_ties_walk_each_row_once,
    list_rejects_bad_cursor_and_limit
);

/// Walks `path` with `?limit=` and the `next_cursor` of each page, and returns
/// the items in the order received and the number of pages read.
async fn walk(app: &TestApp, token: &str, path: &str, limit: i64) -> (Vec<Value>, usize) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit={limit}&cursor={cursor}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let page = app.get(&url).token(token).send().await;
        assert_status(&page, 200);
        pages += 1;
        let batch = page.body["items"].as_array().expect("items").clone();
        assert!(
            batch.len() as i64 <= limit,
            "{url} returned {} items",
            batch.len()
        );
        items.extend(batch);
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (items, pages),
        }
        assert!(pages < 100, "{path} never reached its last page");
    }
}

/// Asserts that `items` contains each id of `expected` exactly once.
fn assert_each_once(items: &[Value], expected: &HashSet<uuid::Uuid>, what: &str) {
    let ids: Vec<uuid::Uuid> = items.iter().map(|item| uuid_of(&item["id"])).collect();
    let unique: HashSet<uuid::Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: a row appeared twice");
    assert_eq!(&unique, expected, "{what}: rows missing or foreign");
}

async fn lists_with_ties_walk_each_row_once(backend: Backend) {
    // Arrange: five zones, each with its own stage ending at the same instant,
    // and an event-wide stage ending an hour earlier. When the clock passes
    // them, the five date transitions share one `occurred_at`.
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "paginas",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 100,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let mut zone_ids = HashSet::from([shop.zone_id]);
    for index in 0..4 {
        let zone = app
            .post(&format!("/api/v1/events/{}/zones", shop.event_id))
            .token(admin)
            .json(json!({
                "name": format!("Zona {index}"),
                "kind": "general_admission",
                "capacity": 10,
                "price_usd_cents": 1_000,
            }))
            .send()
            .await;
        assert_status(&zone, 201);
        zone_ids.insert(zone.id("id"));
    }
    let now = app.now();
    let shared_end = rfc3339(now + Duration::hours(2));
    let mut stage_ids = HashSet::new();
    let event_wide = app
        .post(&format!("/api/v1/events/{}/stages", shop.event_id))
        .token(admin)
        .json(json!({
            "name": "Lanzamiento",
            "modifier": { "kind": "percent", "basis_points": -3_000 },
            "ends_at": rfc3339(now + Duration::hours(1)),
        }))
        .send()
        .await;
    assert_status(&event_wide, 201);
    stage_ids.insert(event_wide.id("id"));
    for zone_id in &zone_ids {
        let stage = app
            .post(&format!("/api/v1/events/{}/stages", shop.event_id))
            .token(admin)
            .json(json!({
                "zone_id": zone_id,
                "name": "Preventa",
                "modifier": { "kind": "percent", "basis_points": -1_000 },
                "ends_at": shared_end,
            }))
            .send()
            .await;
        assert_status(&stage, 201);
        stage_ids.insert(stage.id("id"));
    }
    app.advance(Duration::hours(3));
    // The access tokens issued before the jump have expired.
    let admin = &app.access_token("paginas-admin").await;

    // Act
    let (transitions, transition_pages) = walk(
        &app,
        admin,
        &format!("/api/v1/events/{}/stages/transitions", shop.event_id),
        2,
    )
    .await;
    let (stages, _) = walk(
        &app,
        admin,
        &format!("/api/v1/events/{}/stages", shop.event_id),
        2,
    )
    .await;
    let (zones, zone_pages) = walk(
        &app,
        admin,
        &format!("/api/v1/events/{}/zones", shop.event_id),
        2,
    )
    .await;
    let (series, _) = walk(&app, admin, "/api/v1/fiscal/series", 1).await;

    // Assert: the transitions tie on `occurred_at` and still come once each,
    // oldest first.
    let transition_ids: HashSet<uuid::Uuid> = transitions
        .iter()
        .map(|item| uuid_of(&item["id"]))
        .collect();
    assert_each_once(&transitions, &transition_ids, "transitions");
    assert_eq!(transitions.len(), 6);
    assert_eq!(transition_pages, 3);
    let stages_ended: HashSet<uuid::Uuid> = transitions
        .iter()
        .map(|item| uuid_of(&item["stage_id"]))
        .collect();
    assert_eq!(stages_ended, stage_ids);
    let tied = transitions
        .iter()
        .filter(|item| item["occurred_at"] == transitions[5]["occurred_at"])
        .count();
    assert_eq!(tied, 5, "five transitions share one instant");
    let instants: Vec<chrono::DateTime<chrono::Utc>> = transitions
        .iter()
        .map(|item| item["occurred_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(instants.windows(2).all(|pair| pair[0] <= pair[1]));

    assert_each_once(&stages, &stage_ids, "stages");
    assert_each_once(&zones, &zone_ids, "zones");
    assert_eq!(zone_pages, 3);

    let all_series = app
        .get("/api/v1/fiscal/series?limit=200")
        .token(admin)
        .send()
        .await;
    assert_status(&all_series, 200);
    assert!(all_series.body["next_cursor"].is_null());
    let expected_series: Vec<Value> = all_series.body["items"].as_array().unwrap().clone();
    assert!(expected_series.len() >= 2, "{expected_series:?}");
    let walked_codes: Vec<&Value> = series.iter().map(|item| &item["code"]).collect();
    let expected_codes: Vec<&Value> = expected_series.iter().map(|item| &item["code"]).collect();
    assert_eq!(walked_codes, expected_codes);

    app.teardown().await;
}

async fn list_rejects_bad_cursor_and_limit(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let shop = app
        .setup_shop(
            "cursores",
            "J-12345678-4",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let admin = &shop.tenant.admin_token;
    let paths = [
        format!("/api/v1/events/{}/zones", shop.event_id),
        format!("/api/v1/events/{}/stages", shop.event_id),
        format!("/api/v1/events/{}/stages/transitions", shop.event_id),
        "/api/v1/fiscal/series".to_string(),
    ];

    for path in &paths {
        // Act
        let junk = app
            .get(&format!("{path}?cursor=no-es-un-cursor"))
            .token(admin)
            .send()
            .await;
        let zero = app
            .get(&format!("{path}?limit=0"))
            .token(admin)
            .send()
            .await;
        let too_large = app
            .get(&format!("{path}?limit=201"))
            .token(admin)
            .send()
            .await;
        let first = app
            .get(&format!("{path}?limit=1"))
            .token(admin)
            .send()
            .await;

        // Assert
        assert_error(&junk, 400, "invalid_cursor");
        assert_error(&zero, 422, "validation_failed");
        assert_error(&too_large, 422, "validation_failed");
        assert_status(&first, 200);
        assert!(first.body["items"].is_array(), "{path}: {}", first.body);
    }

    app.teardown().await;
}
