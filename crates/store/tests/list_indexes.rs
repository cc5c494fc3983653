//! The list queries use indexes on PostgreSQL. One tenant gets a million
//! customers and a million fiscal documents, the tables of list endpoints
//! that grow with sales. After `ANALYZE`, the test runs `EXPLAIN (FORMAT JSON)`
//! on the SQL text of every list query, taken from `taquilla_store::list_sql`,
//! with the parameters of a first page, a later page and each filter. It fails
//! if any plan reads one of those tables with a sequential scan.
//!
//! Each query is planned twice. A custom plan uses the parameter values, as on
//! the first executions of a prepared statement. A generic plan does not,
//! which PostgreSQL may switch to after five executions, as with the
//! statements sqlx keeps prepared.
//!
//! The rows are inserted with one `INSERT … SELECT … FROM generate_series`
//! per table, with constraints and triggers in force. The database is dropped
//! at the end.

use sqlx::{Connection, PgConnection, Row};
use taquilla_store::list_sql;
use taquilla_store::model::*;
use uuid::Uuid;

mod common;

use common::{Backend, Harness};

/// Rows loaded into each big table.
const ROWS: i64 = 1_000_000;

/// Tables a sequential scan must not read.
const BIG_TABLES: [&str; 2] = ["customers", "fiscal_documents"];

/// Queries that may read a big table with a sequential scan, with the reason.
/// Each also carries a NOTE in `list_sql`.
const ACCEPTED_SCANS: [(&str, &str); 2] = [
    (
        "customers by name",
        "a `LIKE '%…%'` pattern cannot use a B-tree index",
    ),
    (
        "documents of an offline series",
        "a count reads the whole series, and the generic plan assumes the one series here",
    ),
];

/// `limit + 1` of a default page of 50.
const PAGE: i64 = 51;

/// A parameter of a prepared query, with its PostgreSQL type.
#[derive(Clone)]
enum Arg {
    Uuid(Uuid),
    NullUuid,
    Int(i64),
    Bool(bool),
    Text(String),
    NullText,
}

impl Arg {
    fn sql_type(&self) -> &'static str {
        match self {
            Arg::Uuid(_) | Arg::NullUuid => "uuid",
            Arg::Int(_) => "bigint",
            Arg::Bool(_) => "boolean",
            Arg::Text(_) | Arg::NullText => "text",
        }
    }

    fn literal(&self) -> String {
        match self {
            Arg::Uuid(id) => format!("'{id}'"),
            Arg::NullUuid | Arg::NullText => "NULL".to_string(),
            Arg::Int(value) => value.to_string(),
            Arg::Bool(value) => value.to_string(),
            Arg::Text(text) => format!("'{}'", text.replace('\'', "''")),
        }
    }
}

/// One list query with the parameters of one request.
struct Case {
    name: &'static str,
    sql: &'static str,
    args: Vec<Arg>,
}

fn case(name: &'static str, sql: &'static str, args: Vec<Arg>) -> Case {
    Case { name, sql, args }
}

/// Ids of the fixture rows the cases filter on.
struct Fixture {
    tenant_id: Uuid,
    cashier_id: Uuid,
    event_id: Uuid,
    invoice_series_id: Uuid,
}

async fn fixture(harness: &Harness) -> Fixture {
    let store = &harness.store;
    let tenant = store
        .create_tenant(NewTenant {
            slug: "indices".to_string(),
            name: "Producciones Índice, C.A.".to_string(),
            rif: "J-12345678-4".to_string(),
            fiscal_address: "Caracas".to_string(),
            signing_key: vec![7; 32],
        })
        .await
        .unwrap();
    let cashier = store
        .create_user(NewUser {
            tenant_id: Some(tenant.id),
            username: "indices-cajero".to_string(),
            email: "indices@example.invalid".to_string(),
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
    let now = taquilla_store::Clock::now(harness.clock.as_ref());
    let event = store
        .create_event(
            tenant.id,
            NewEvent {
                venue_id: venue.id,
                name: "Concierto".to_string(),
                description: String::new(),
                starts_at: now + chrono::Duration::days(10),
                sale_starts_at: Some(now - chrono::Duration::days(1)),
                sale_ends_at: Some(now + chrono::Duration::days(9)),
                hold_minutes: 15,
                payment_minutes: 15,
            },
        )
        .await
        .unwrap();
    let series = store
        .list_fiscal_series(
            tenant.id,
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    let invoice_series_id = series
        .items
        .iter()
        .find(|series| series.code == "A")
        .expect("a new tenant has the invoice series A")
        .id;
    Fixture {
        tenant_id: tenant.id,
        cashier_id: cashier.id,
        event_id: event.id,
        invoice_series_id,
    }
}

/// Loads `ROWS` customers and `ROWS` invoices of series A into the tenant,
/// then refreshes the planner statistics. Ids ascend with the row number, as
/// the time-ordered ids the store creates do.
async fn load_big_tables(connection: &mut PgConnection, fixture: &Fixture) {
    let tenant = fixture.tenant_id;
    let customers = format!(
        "INSERT INTO customers (tenant_id, id, first_name, last_name, document_kind, document, \
         phone, email, search_name, created_at) \
         SELECT '{tenant}', lpad(to_hex(g), 32, '0')::uuid, 'Cliente', 'Número ' || g, 'V', \
         'V' || (10000000 + g), '0414' || lpad(g::text, 7, '0'), 'cliente' || g || '@example.invalid', \
         'cliente numero ' || g, TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 second' \
         FROM generate_series(1, {ROWS}) AS g"
    );
    let documents = format!(
        "INSERT INTO fiscal_documents (tenant_id, id, series_id, kind, number, control_number, \
         order_id, issued_at, total_usd_cents, total_bs_cents, content, issued_by) \
         SELECT '{tenant}', lpad(to_hex(g), 32, '0')::uuid, '{series}', 'invoice', g, \
         '00-' || lpad(g::text, 8, '0'), md5('order' || g)::uuid, \
         TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 minute', 2500, 90308, \
         '{{\"lines\": [{{\"description\": \"Entrada general\", \"quantity\": 1}}]}}', '{cashier}' \
         FROM generate_series(1, {ROWS}) AS g",
        series = fixture.invoice_series_id,
        cashier = fixture.cashier_id,
    );
    for statement in [customers, documents, "ANALYZE".to_string()] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *connection)
            .await
            .expect("load statement");
    }
}

/// Returns the id `offset` rows into a tenant's table in id order: the
/// cursor of a page in the middle of a long list.
async fn id_at(connection: &mut PgConnection, table: &str, tenant: Uuid, offset: i64) -> Uuid {
    let sql = format!(
        "SELECT id FROM {table} WHERE tenant_id = '{tenant}' ORDER BY id OFFSET {offset} LIMIT 1"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *connection)
        .await
        .expect("a row at that offset")
        .get(0)
}

/// Plans `case` under `plan_cache_mode` and returns the JSON plan.
async fn explain(connection: &mut PgConnection, case: &Case, plan_cache_mode: &str) -> String {
    let types: Vec<&str> = case.args.iter().map(Arg::sql_type).collect();
    let values: Vec<String> = case.args.iter().map(Arg::literal).collect();
    let statements = [
        format!("SET plan_cache_mode = {plan_cache_mode}"),
        format!("PREPARE list_query ({}) AS {}", types.join(", "), case.sql),
    ];
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *connection)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    }
    let explain = format!(
        "EXPLAIN (FORMAT JSON) EXECUTE list_query ({})",
        values.join(", ")
    );
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(explain))
        .fetch_one(&mut *connection)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    let plan: String = row.try_get_unchecked(0).expect("plan text");
    sqlx::raw_sql("DEALLOCATE list_query")
        .execute(&mut *connection)
        .await
        .expect("deallocate");
    plan
}

/// Collects the relations that `node` and its children read with a
/// sequential scan.
fn sequential_scans(node: &serde_json::Value, found: &mut Vec<String>) {
    if node["Node Type"] == "Seq Scan" {
        found.push(node["Relation Name"].as_str().unwrap_or("?").to_string());
    }
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            sequential_scans(child, found);
        }
    }
}

fn cases(
    fixture: &Fixture,
    customer_mid: Uuid,
    document_mid: Uuid,
    document_end: Uuid,
) -> Vec<Case> {
    use Arg::*;
    let tenant = Uuid(fixture.tenant_id);
    let event = Uuid(fixture.event_id);
    let nil = Uuid(uuid::Uuid::nil());
    let somewhere = Uuid(uuid::Uuid::now_v7());
    let customer_filters = |document: Arg, phone: Arg, email: Arg, name: Arg| {
        vec![
            tenant.clone(),
            nil.clone(),
            document,
            phone,
            email,
            name,
            Int(PAGE),
        ]
    };

    vec![
        case(
            "customers, first page",
            list_sql::CUSTOMERS_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "tenants",
            list_sql::TENANTS_PAGE,
            vec![nil.clone(), Int(PAGE)],
        ),
        case(
            "users",
            list_sql::USERS_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "venues",
            list_sql::VENUES_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "events",
            list_sql::EVENTS_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "zones",
            list_sql::ZONES_PAGE,
            vec![tenant.clone(), event.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "price stages",
            list_sql::PRICE_STAGES_OF_EVENT,
            vec![tenant.clone(), event.clone()],
        ),
        case(
            "stage transitions, first page",
            list_sql::STAGE_TRANSITIONS_FIRST,
            vec![tenant.clone(), event.clone(), Int(PAGE)],
        ),
        case(
            "stage transitions, later page",
            list_sql::STAGE_TRANSITIONS_AFTER,
            vec![tenant.clone(), event.clone(), somewhere.clone(), Int(PAGE)],
        ),
        case(
            "tax rules in force",
            list_sql::TAX_RULES_PAGE,
            vec![tenant.clone(), nil.clone(), Bool(false), Int(PAGE)],
        ),
        case(
            "tax rules with history",
            list_sql::TAX_RULES_PAGE,
            vec![tenant.clone(), nil.clone(), Bool(true), Int(PAGE)],
        ),
        case(
            "discount codes",
            list_sql::DISCOUNT_CODES_PAGE,
            vec![tenant.clone(), event.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "exchange rates",
            list_sql::EXCHANGE_RATES_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "tickets of an order",
            list_sql::TICKETS_OF_ORDER,
            vec![tenant.clone(), somewhere.clone()],
        ),
        case(
            "fiscal series, first page",
            list_sql::FISCAL_SERIES_FIRST,
            vec![tenant.clone(), Int(PAGE)],
        ),
        case(
            "fiscal series, later page",
            list_sql::FISCAL_SERIES_AFTER,
            vec![tenant.clone(), Uuid(fixture.invoice_series_id), Int(PAGE)],
        ),
        case(
            "fiscal series code",
            list_sql::FISCAL_SERIES_CODE,
            vec![tenant.clone(), Uuid(fixture.invoice_series_id)],
        ),
        case(
            "documents of an offline series",
            list_sql::FISCAL_SERIES_DOCUMENT_COUNT,
            vec![tenant.clone(), Uuid(fixture.invoice_series_id)],
        ),
        case(
            "fiscal issue queue",
            list_sql::FISCAL_ISSUES_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "Z reports",
            list_sql::Z_REPORTS_PAGE,
            vec![tenant.clone(), NullUuid, nil.clone(), Int(PAGE)],
        ),
        case(
            "Z reports of a cashier",
            list_sql::Z_REPORTS_PAGE,
            vec![
                tenant.clone(),
                Uuid(fixture.cashier_id),
                nil.clone(),
                Int(PAGE),
            ],
        ),
        case(
            "offline blocks",
            list_sql::OFFLINE_BLOCKS_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "fiscal documents, first page",
            list_sql::FISCAL_DOCUMENTS_PAGE,
            vec![tenant.clone(), nil.clone(), Int(PAGE)],
        ),
        case(
            "fiscal documents, middle page",
            list_sql::FISCAL_DOCUMENTS_PAGE,
            vec![tenant.clone(), Uuid(document_mid), Int(PAGE)],
        ),
        case(
            "fiscal documents, last page",
            list_sql::FISCAL_DOCUMENTS_PAGE,
            vec![tenant.clone(), Uuid(document_end), Int(PAGE)],
        ),
        case(
            "customers, later page",
            list_sql::CUSTOMERS_PAGE,
            vec![tenant.clone(), Uuid(customer_mid), Int(PAGE)],
        ),
        case(
            "customers by document",
            list_sql::CUSTOMERS_BY_DOCUMENT,
            customer_filters(Text("V10424242".into()), NullText, NullText, NullText),
        ),
        case(
            "customers by phone",
            list_sql::CUSTOMERS_BY_PHONE,
            customer_filters(NullText, Text("04140424242".into()), NullText, NullText),
        ),
        case(
            "customers by email",
            list_sql::CUSTOMERS_BY_EMAIL,
            customer_filters(
                NullText,
                NullText,
                Text("cliente424242@example.invalid".into()),
                NullText,
            ),
        ),
        case(
            "customers by name",
            list_sql::CUSTOMERS_BY_NAME,
            customer_filters(NullText, NullText, NullText, Text("%numero 42424%".into())),
        ),
    ]
}

/// Loads the big tables and returns one line per plan that reads one of them
/// with a sequential scan.
async fn sequential_scans_of_big_tables(url: String, fixture: Fixture) -> Vec<String> {
    let mut connection = PgConnection::connect(&url)
        .await
        .expect("PostgreSQL connection");
    load_big_tables(&mut connection, &fixture).await;
    let customer_mid = id_at(&mut connection, "customers", fixture.tenant_id, ROWS / 2).await;
    let document_mid = id_at(
        &mut connection,
        "fiscal_documents",
        fixture.tenant_id,
        ROWS / 2,
    )
    .await;
    let document_end = id_at(
        &mut connection,
        "fiscal_documents",
        fixture.tenant_id,
        ROWS - 10,
    )
    .await;

    let mut scans = Vec::new();
    for case in cases(&fixture, customer_mid, document_mid, document_end) {
        // An accepted query is still planned, which checks that its SQL is valid.
        let accepted = ACCEPTED_SCANS.iter().any(|(name, _)| *name == case.name);
        for plan_cache_mode in ["force_custom_plan", "force_generic_plan"] {
            let plan = explain(&mut connection, &case, plan_cache_mode).await;
            if accepted {
                continue;
            }
            let plan: serde_json::Value = serde_json::from_str(&plan).expect("JSON plan");
            let mut found = Vec::new();
            sequential_scans(&plan[0]["Plan"], &mut found);
            for table in found
                .into_iter()
                .filter(|table| BIG_TABLES.contains(&table.as_str()))
            {
                scans.push(format!(
                    "{} ({plan_cache_mode}): Seq Scan on {table}\n{plan:#}",
                    case.name
                ));
            }
        }
    }
    connection.close().await.expect("close connection");
    scans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_queries_scan_no_big_table() {
    // Arrange
    let harness = Harness::new(Backend::Postgres).await;
    let fixture = fixture(&harness).await;

    // Act: in a task of its own, so that the database is dropped even when a
    // statement fails.
    let checked = tokio::spawn(sequential_scans_of_big_tables(
        harness.url().to_string(),
        fixture,
    ))
    .await;
    harness.teardown().await;

    // Assert
    let scans = checked.unwrap_or_else(|failure| std::panic::resume_unwind(failure.into_panic()));
    assert!(scans.is_empty(), "sequential scans:\n{}", scans.join("\n"));
}
