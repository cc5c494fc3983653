//! SQLite backend: WAL journal, `synchronous=FULL` by default, foreign keys on,
//! and write transactions opened with `BEGIN IMMEDIATE` so the write lock is
//! taken before the first read. In-process writers queue on a mutex instead of
//! polling SQLite's busy handler; other processes still wait up to the busy
//! timeout.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{Clock, ConnectOptions, StoreError, StoreResult};

type Db = sqlx::Sqlite;
type Backend = SqliteStore;
const BACKEND_NAME: &str = "sqlite";
/// `BEGIN IMMEDIATE` already holds the database's write lock.
const SHARE_LOCK: &str = "";
/// See the PostgreSQL backend. SQLite has no `sha256()` nor UPDATE inside
/// WITH, and its statements do not cross a network, so `issue_document`
/// runs them one by one.
const ONE_STATEMENT_ISSUE: bool = false;
/// SQLite has no data-modifying WITH: a gate scan takes two statements.
const ONE_STATEMENT_SCAN: bool = false;
/// A read transaction in WAL mode already sees one snapshot, from its first
/// read to its end.
const SNAPSHOT_READ: Option<&str> = None;

/// The store on an SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    write_gate: Arc<Mutex<()>>,
    clock: Arc<dyn Clock>,
}

/// An open write transaction and the in-process writer slot it occupies.
struct WriteTx {
    tx: sqlx::Transaction<'static, Db>,
    _gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(StoreError::from)
    }
}

impl SqliteStore {
    pub async fn connect(options: &ConnectOptions, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let synchronous = if options.sqlite_synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let connect_options = SqliteConnectOptions::from_str(&options.url)
            .map_err(StoreError::from)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .log_slow_statements(
                tracing::log::LevelFilter::Warn,
                options.slow_statement_threshold,
            );
        Self::open(options, connect_options, clock).await
    }

    /// Opens an existing file read-only and leaves its journal mode as it is,
    /// because changing it would write. A missing file is an error.
    pub async fn connect_read_only(
        options: &ConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> StoreResult<Self> {
        let connect_options = SqliteConnectOptions::from_str(&options.url)
            .map_err(StoreError::from)?
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(5))
            .log_slow_statements(
                tracing::log::LevelFilter::Warn,
                options.slow_statement_threshold,
            );
        Self::open(options, connect_options, clock).await
    }

    async fn open(
        options: &ConnectOptions,
        connect_options: SqliteConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> StoreResult<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options)
            .await
            .map_err(StoreError::from)?;
        Ok(Self {
            pool,
            write_gate: Arc::new(Mutex::new(())),
            clock,
        })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|error| StoreError::Internal(format!("migration failed: {error}")))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<WriteTx> {
        let gate = self.write_gate.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _gate: gate })
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[path = "common.rs"]
mod common;
