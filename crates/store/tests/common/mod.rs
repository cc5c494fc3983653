//! The harness shared by the store's integration tests: a store on a fresh
//! SQLite file or a fresh PostgreSQL database, dropped at the end.
//!
//! PostgreSQL databases are created through the admin URL in
//! `TAQUILLA_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::Arc;

use sqlx::Connection;
use taquilla_store::{ConnectOptions, OffsetClock, Store};
use uuid::Uuid;

#[allow(dead_code)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<OffsetClock>,
    url: String,
    pg_database: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn pg_admin_url() -> String {
    std::env::var("TAQUILLA_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn pg_url(database: &str) -> String {
    let admin = pg_admin_url();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or(admin);
    format!("{base}/{database}")
}

impl Harness {
    pub async fn new(backend: Backend) -> Self {
        let clock = Arc::new(OffsetClock::default());
        let (url, pg_database, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                (url, None, Some(dir))
            }
            Backend::Postgres => {
                let name = format!("taquilla_store_test_{}", Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL admin connection");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                (pg_url(&name), Some(name), None)
            }
        };
        let options = ConnectOptions {
            url: url.clone(),
            max_connections: 8,
            slow_statement_threshold: std::time::Duration::from_secs(1),
            sqlite_synchronous_full: true,
        };
        let store = taquilla_store::connect(&options, clock.clone())
            .await
            .expect("store connects and migrates");
        Self {
            store,
            clock,
            url,
            pg_database,
            _dir: dir,
        }
    }

    /// Runs statements on a connection of its own, outside the store: how a
    /// test tampers with rows the store would never change.
    #[allow(dead_code)]
    pub async fn execute_raw(&self, statements: &[&str]) {
        if self.pg_database.is_some() {
            let mut connection = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("PostgreSQL connection");
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
                    .execute(&mut connection)
                    .await
                    .expect("raw statement");
            }
        } else {
            let mut connection = sqlx::SqliteConnection::connect(&self.url)
                .await
                .expect("SQLite connection");
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
                    .execute(&mut connection)
                    .await
                    .expect("raw statement");
            }
        }
    }

    /// Opens a second store on the same database, as a restart would.
    #[allow(dead_code)]
    pub async fn reconnect(&self) -> Arc<dyn Store> {
        let options = ConnectOptions {
            url: self.url.clone(),
            max_connections: 4,
            slow_statement_threshold: std::time::Duration::from_secs(1),
            sqlite_synchronous_full: true,
        };
        taquilla_store::connect(&options, self.clock.clone())
            .await
            .expect("store reconnects")
    }

    /// The database URL the store connects to.
    #[allow(dead_code)]
    pub fn url(&self) -> &str {
        &self.url
    }

    #[allow(dead_code)]
    pub fn is_postgres(&self) -> bool {
        self.pg_database.is_some()
    }

    pub async fn teardown(self) {
        let Harness {
            store, pg_database, ..
        } = self;
        drop(store);
        if let Some(name) = pg_database {
            let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
                .await
                .expect("PostgreSQL admin connection");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .expect("drop test database");
        }
    }
}
