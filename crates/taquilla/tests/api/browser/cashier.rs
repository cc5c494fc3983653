//! Browser scenarios of the cashier's sale screen and the receipt on the demo
//! hall: a whole sale watched by a second cashier, and two cashiers racing for
//! one seat. After each script, the database must hold each seat sold once.

use taquilla_store::model::Role;
use uuid::Uuid;

use super::{browser_available, demo_user, run_scenario, test_name};
use crate::helpers::{Backend, PASSWORD, Param, TestApp, spawn_app};

backend_tests!(cashier_sells_two_seats, cashiers_race_for_one_seat);

const SECOND_CASHIER: &str = "demo-cajero2";
const ZONE: &str = "Platea";

/// Starts the application with the demo data and a second cashier; returns
/// the app and the id of the demo's Platea zone.
async fn demo_app(backend: Backend) -> (TestApp, Uuid) {
    let app = spawn_app(backend).await;
    let demo = taquilla_app::demo::seed(&app.state)
        .await
        .expect("seeding the demo tenant");
    app.create_user(Some(demo.tenant_id), SECOND_CASHIER, Role::Cashier)
        .await;
    let zone_id = app
        .db
        .rows::<(Uuid,)>(
            "SELECT id FROM zones WHERE tenant_id = $1 AND name = $2",
            &[Param::Uuid(demo.tenant_id), Param::Text(ZONE.to_string())],
        )
        .await
        .first()
        .expect("the demo has a Platea zone")
        .0;
    (app, zone_id)
}

/// Returns the seats of `zone_id` sold at least once, as (row, number, tickets).
async fn sold_seats(app: &TestApp, zone_id: Uuid) -> Vec<(String, i64, i64)> {
    app.db
        .rows::<(String, i64, i64)>(
            "SELECT s.row_label, s.number, \
             (SELECT COUNT(*) FROM tickets t WHERE t.seat_id = s.id AND t.status = 'valid') \
             FROM seats s WHERE s.zone_id = $1 AND s.status = 'sold' \
             ORDER BY s.row_index, s.number",
            &[Param::Uuid(zone_id)],
        )
        .await
}

fn scenario_env<'a>(cashier: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CASHIER_USERNAME", cashier.0),
        ("CASHIER_PASSWORD", cashier.1),
        ("CASHIER2_USERNAME", SECOND_CASHIER),
        ("CASHIER2_PASSWORD", PASSWORD),
        ("ZONE_NAME", ZONE),
    ]
}

async fn cashier_sells_two_seats(backend: Backend) {
    let name = test_name("cashier-sale", backend);
    if !browser_available(&name) {
        return;
    }
    let (app, zone_id) = demo_app(backend).await;
    let env = scenario_env(demo_user(Role::Cashier));
    run_scenario(&app, "cashier-sale", &name, &env).await;

    let sold = sold_seats(&app, zone_id).await;
    assert_eq!(
        sold,
        vec![("A".to_string(), 1, 1), ("A".to_string(), 2, 1)],
        "seats A1 and A2 sold once, with one valid ticket each"
    );
    let paid_orders = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM orders WHERE status = 'paid'", &[])
        .await;
    assert_eq!(paid_orders, 1);
    app.teardown().await;
}

async fn cashiers_race_for_one_seat(backend: Backend) {
    let name = test_name("cashier-race", backend);
    if !browser_available(&name) {
        return;
    }
    let (app, zone_id) = demo_app(backend).await;
    let mut env = scenario_env(demo_user(Role::Cashier));
    env.push(("SEAT_ROW", "B"));
    env.push(("SEAT_NUMBER", "5"));
    run_scenario(&app, "cashier-race", &name, &env).await;

    let sold = sold_seats(&app, zone_id).await;
    assert_eq!(sold, vec![("B".to_string(), 5, 1)], "seat B5 sold once");
    let holds = app
        .db
        .scalar_i64(
            "SELECT COUNT(*) FROM holds WHERE zone_id = $1",
            &[Param::Uuid(zone_id)],
        )
        .await;
    assert_eq!(holds, 1, "the refused cashier got no hold");
    app.teardown().await;
}
