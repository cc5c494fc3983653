//! PostgreSQL backend: READ COMMITTED transactions whose conditional updates
//! take row locks; deadlocks and serialization failures are retried by
//! `common.rs` and then reported as [`StoreError::Busy`].

use std::str::FromStr;
use std::sync::Arc;

use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::{Clock, ConnectOptions, StoreError, StoreResult};

type Db = sqlx::Postgres;
type Backend = PgStore;
const BACKEND_NAME: &str = "postgres";
/// Appended to a read that must hold its row against a concurrent update.
const SHARE_LOCK: &str = " FOR SHARE";
/// Whether `issue_document` takes the counters in one statement and writes
/// the document with its audit entry in another (PostgreSQL hashes the
/// entry with `sha256()`), which shortens the section where one tenant's
/// sales wait for each other.
const ONE_STATEMENT_ISSUE: bool = true;
/// Whether an admitting gate scan updates the ticket and records the scan in
/// one statement (a data-modifying WITH), without a transaction around it.
const ONE_STATEMENT_SCAN: bool = true;
/// Sets a read transaction to see one snapshot for all its statements (READ
/// COMMITTED takes a new one per statement).
const SNAPSHOT_READ: Option<&str> =
    Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

/// The store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

/// An open write transaction.
struct WriteTx {
    tx: sqlx::Transaction<'static, Db>,
}

impl WriteTx {
    fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(StoreError::from)
    }
}

impl PgStore {
    pub async fn connect(options: &ConnectOptions, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        Self::open(options, clock, false).await
    }

    /// Connects with `default_transaction_read_only` on, so PostgreSQL rejects
    /// any write of this pool's sessions.
    pub async fn connect_read_only(
        options: &ConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> StoreResult<Self> {
        Self::open(options, clock, true).await
    }

    async fn open(
        options: &ConnectOptions,
        clock: Arc<dyn Clock>,
        read_only: bool,
    ) -> StoreResult<Self> {
        let mut connect_options = PgConnectOptions::from_str(&options.url)
            .map_err(StoreError::from)?
            .log_slow_statements(
                tracing::log::LevelFilter::Warn,
                options.slow_statement_threshold,
            );
        if read_only {
            connect_options = connect_options.options([("default_transaction_read_only", "on")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(connect_options)
            .await
            .map_err(StoreError::from)?;
        Ok(Self { pool, clock })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|error| StoreError::Internal(format!("migration failed: {error}")))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<WriteTx> {
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx })
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }
}

#[path = "common.rs"]
mod common;
