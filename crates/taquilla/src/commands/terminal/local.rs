//! The terminal's own SQLite file, `terminal.db`: the block, the copy of the
//! event needed to sell, and every number used with its sync result.
//!
//! The schema is created with `CREATE TABLE IF NOT EXISTS` in the same
//! transaction that `setup` fills it, instead of with embedded migrations. A
//! file serves one block: `setup` empties and refills it, and refuses while it
//! holds unsynced sales. So there is never old data to migrate, only a schema
//! to create, and a file is never left with half a schema.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

/// Name of the terminal's file inside its directory.
pub const FILE_NAME: &str = "terminal.db";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS terminal (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        server_url TEXT NOT NULL,
        username TEXT NOT NULL,
        refresh_token TEXT NOT NULL,
        terminal_name TEXT NOT NULL,
        block_id TEXT NOT NULL,
        series TEXT NOT NULL,
        first_number INTEGER NOT NULL,
        last_number INTEGER NOT NULL,
        first_control_number TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        block_status TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_status TEXT NOT NULL,
        sale_starts_at TEXT,
        sale_ends_at TEXT,
        pinned_rate_id TEXT,
        tax_rules TEXT NOT NULL,
        igtf TEXT NOT NULL,
        downloaded_at TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS rates (
        id TEXT PRIMARY KEY,
        currency TEXT NOT NULL,
        rate_scaled INTEGER NOT NULL,
        effective_date TEXT NOT NULL,
        superseded INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS zones (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        available INTEGER NOT NULL,
        price_usd_cents INTEGER NOT NULL,
        stage TEXT,
        tax_exempt INTEGER NOT NULL,
        table_mode TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS seats (
        id TEXT PRIMARY KEY,
        zone_id TEXT NOT NULL REFERENCES zones (id),
        row_label TEXT NOT NULL,
        number INTEGER NOT NULL,
        status TEXT NOT NULL,
        price_usd_cents INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        document TEXT
    )",
    "CREATE TABLE IF NOT EXISTS numbers (
        number INTEGER PRIMARY KEY,
        control_number TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'void')),
        item TEXT NOT NULL,
        zone_id TEXT,
        quantity INTEGER NOT NULL DEFAULT 0,
        total_usd_cents INTEGER NOT NULL DEFAULT 0,
        total_bs_cents INTEGER NOT NULL DEFAULT 0,
        sold_at TEXT NOT NULL,
        outcome TEXT,
        reason TEXT,
        synced_at TEXT
    )",
    // The primary key is what refuses a second local sale of one seat.
    "CREATE TABLE IF NOT EXISTS sold_seats (
        seat_id TEXT PRIMARY KEY,
        number INTEGER NOT NULL REFERENCES numbers (number)
    )",
];

/// Tables `setup` empties before refilling, children first.
const TABLES: &[&str] = &[
    "sold_seats",
    "numbers",
    "customers",
    "seats",
    "zones",
    "rates",
    "terminal",
];

/// Returns the path of the terminal's file in `dir`.
pub fn file_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn options(path: &Path) -> anyhow::Result<SqliteConnectOptions> {
    let url = format!("sqlite://{}", path.display());
    Ok(SqliteConnectOptions::from_str(&url)?
        .journal_mode(SqliteJournalMode::Wal)
        // A recorded sale must survive a power cut like a server's 2xx.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10)))
}

/// Opens an existing terminal file.
pub async fn open(dir: &Path) -> anyhow::Result<SqliteConnection> {
    let path = file_in(dir);
    if !path.exists() {
        bail!(
            "no hay terminal configurado en {}; ejecute primero `taquilla terminal setup`",
            dir.display()
        );
    }
    SqliteConnection::connect_with(&options(&path)?)
        .await
        .with_context(|| format!("no se pudo abrir {}", path.display()))
}

/// Opens the terminal file, creating it (and `dir`) with owner-only
/// permissions when missing, and creates the schema.
pub async fn create(dir: &Path) -> anyhow::Result<SqliteConnection> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("no se pudo crear el directorio {}", dir.display()))?;
    let path = file_in(dir);
    // The file contains a refresh token, so only its owner may read it. SQLite gives
    // its -wal and -shm files the same permissions.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("no se pudo crear {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("no se pudo proteger {}", path.display()))?;
    let mut conn = SqliteConnection::connect_with(&options(&path)?)
        .await
        .with_context(|| format!("no se pudo abrir {}", path.display()))?;
    let mut tx = conn.begin().await?;
    for statement in SCHEMA {
        sqlx::query(*statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(conn)
}

/// Deletes every row of every table, inside the caller's transaction.
pub async fn clear(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Counts the numbers recorded locally and not settled by the server yet.
pub async fn pending_count(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM numbers WHERE outcome IS NULL")
            .fetch_one(&mut *conn)
            .await?,
    )
}
