//! `connect_read_only` on both backends: it reads a migrated database, and the
//! database rejects writes through it.
//!
//! The PostgreSQL test creates a fresh database through the admin URL in
//! `TAQUILLA_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drops it at the end.

use std::sync::Arc;

use chrono::{Duration, Utc};
use sqlx::Connection;
use taquilla_store::model::NewTenant;
use taquilla_store::{ConnectOptions, Store, SystemClock};
use uuid::Uuid;

fn pg_admin_url() -> String {
    std::env::var("TAQUILLA_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn options(url: String) -> ConnectOptions {
    ConnectOptions {
        url,
        max_connections: 2,
        slow_statement_threshold: std::time::Duration::from_secs(1),
        sqlite_synchronous_full: true,
    }
}

fn tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: slug.to_string(),
        name: "Producciones Prueba, C.A.".to_string(),
        rif: "J-12345678-4".to_string(),
        fiscal_address: "Caracas".to_string(),
        signing_key: vec![7; 32],
    }
}

/// Migrates `url` with a tenant in it, then checks the read-only store on it.
async fn read_only_store_rejects_writes(url: String) {
    // Arrange: a migrated database with one tenant.
    let writer = taquilla_store::connect(&options(url.clone()), Arc::new(SystemClock))
        .await
        .expect("store connects and migrates");
    let created = writer.create_tenant(tenant("lectura")).await.unwrap();

    // Act
    let reader: Arc<dyn Store> =
        taquilla_store::connect_read_only(&options(url), Arc::new(SystemClock))
            .await
            .expect("read-only store connects");
    let gauges = reader
        .export_gauges(Utc::now() - Duration::days(7), 100)
        .await;
    let write = reader.create_tenant(tenant("escritura")).await;

    // Assert
    let gauges = gauges.expect("the read-only store reads the gauges");
    assert_eq!(gauges.holds.len(), 1);
    assert_eq!(gauges.holds[0].tenant_id, created.id);
    let error = write.expect_err("a write through the read-only store fails");
    let message = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        message.contains("read-only") || message.contains("readonly"),
        "the database rejected the write as read-only: {message}"
    );
    assert!(
        writer
            .get_tenant_by_slug("escritura")
            .await
            .unwrap()
            .is_none(),
        "the rejected tenant is not in the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_store_rejects_writes_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("lectura.db").display());
    read_only_store_rejects_writes(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_store_rejects_writes_on_postgres() {
    let name = format!("taquilla_read_only_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .expect("PostgreSQL admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let admin_url = pg_admin_url();
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or(admin_url);

    read_only_store_rejects_writes(format!("{base}/{name}")).await;

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_store_needs_existing_sqlite_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("missing.db");

    let result = taquilla_store::connect_read_only(
        &options(format!("sqlite://{}", path.display())),
        Arc::new(SystemClock),
    )
    .await;

    assert!(result.is_err());
    assert!(!path.exists(), "no SQLite file was created");
}
