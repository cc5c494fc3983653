//! `taquilla terminal`: a box-office terminal that sells offline from a block
//! of invoice numbers, keeps its state in its own SQLite file, and syncs its
//! sales with the central server later.
//!
//! `setup` downloads the block and what selling needs (`setup.rs`), `sell`
//! and `void` record numbers locally (`sell.rs`), `sync`, `status` and
//! `close` settle them with the server (`sync.rs`). Messages are for cashiers
//! and in Spanish; codes from the server stay in English.

/// Prints a line for the cashier. A closed standard output (for example
/// `| head`) is ignored rather than a panic: the command's work is already
/// saved, and a crash would invite a retry that records a sale twice.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod local;
mod pricing;
mod remote;
mod sell;
mod setup;
mod sync;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use sqlx::SqliteConnection;

#[derive(Debug, Args)]
pub struct TerminalArgs {
    #[command(subcommand)]
    command: TerminalCommand,
}

/// Options every terminal command takes.
#[derive(Debug, Args)]
struct DirArgs {
    /// Directory of the terminal's file `terminal.db`.
    #[arg(long, env = "TAQUILLA_TERMINAL_DIR", default_value = "./terminal")]
    dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum TerminalCommand {
    /// Log in, take a block of offline invoice numbers and download the event,
    /// its zones, seats, prices, taxes, exchange rates and customers.
    Setup(setup::SetupArgs),
    /// Sell seats or general-admission entries offline with the next number of the block.
    Sell(sell::SellArgs),
    /// Void a number not used yet, or a sale recorded here and not synced yet.
    Void(sell::VoidArgs),
    /// Send the numbers not synced yet to the server, in order, and record each result.
    Sync(sync::SyncArgs),
    /// Show the block, the numbers used and the server's result for each.
    Status(sync::StatusArgs),
    /// Sync, then close the block on the server, which voids the numbers not used.
    Close(sync::SyncArgs),
}

pub async fn run(args: TerminalArgs) -> anyhow::Result<ExitCode> {
    let (dir, creates) = match &args.command {
        TerminalCommand::Setup(setup) => (setup.dir.dir.clone(), true),
        TerminalCommand::Sell(sell) => (sell.dir.dir.clone(), false),
        TerminalCommand::Void(void) => (void.dir.dir.clone(), false),
        TerminalCommand::Sync(sync) | TerminalCommand::Close(sync) => (sync.dir.dir.clone(), false),
        TerminalCommand::Status(status) => (status.dir.dir.clone(), false),
    };
    let _lock = lock_dir(&dir, creates).await?;
    match args.command {
        TerminalCommand::Setup(args) => setup::run(args).await,
        TerminalCommand::Sell(args) => sell::sell(args).await,
        TerminalCommand::Void(args) => sell::void(args).await,
        TerminalCommand::Sync(args) => sync::sync(args).await,
        TerminalCommand::Status(args) => sync::status(args).await,
        TerminalCommand::Close(args) => sync::close(args).await,
    }
}

/// Takes the terminal directory's lock, waiting for another terminal command
/// on the same directory to finish: a `sell` during a `setup` or a `close`,
/// or a `void` during a `sync`, would otherwise lose or misreport a number.
/// Without `creates`, a directory without a terminal file is left untouched
/// (the command then reports the missing file).
async fn lock_dir(dir: &Path, creates: bool) -> anyhow::Result<Option<std::fs::File>> {
    if !creates && !local::file_in(dir).exists() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|error| {
        anyhow::anyhow!("no se pudo crear el directorio {}: {error}", dir.display())
    })?;
    let path = dir.join("terminal.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|error| anyhow::anyhow!("no se pudo abrir {}: {error}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "Otra orden del terminal está en curso en {}; esperando a que termine…",
                dir.display()
            );
            let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                .await?
                .map_err(|error| {
                    anyhow::anyhow!("no se pudo bloquear {}: {error}", path.display())
                })?;
            Ok(Some(file))
        }
        Err(std::fs::TryLockError::Error(error)) => Err(anyhow::anyhow!(
            "no se pudo bloquear {}: {error}",
            path.display()
        )),
    }
}

/// The terminal's settings and block, as `setup` stored them.
#[derive(sqlx::FromRow)]
struct Terminal {
    server_url: String,
    username: String,
    refresh_token: String,
    terminal_name: String,
    block_id: String,
    series: String,
    first_number: i64,
    last_number: i64,
    first_control_number: String,
    expires_at: String,
    block_status: String,
    event_id: String,
    event_name: String,
    event_status: String,
    sale_starts_at: Option<String>,
    sale_ends_at: Option<String>,
    pinned_rate_id: Option<String>,
    tax_rules: String,
    igtf: String,
}

impl Terminal {
    async fn load(conn: &mut SqliteConnection) -> anyhow::Result<Self> {
        sqlx::query_as("SELECT * FROM terminal WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "el archivo del terminal está vacío; ejecute `taquilla terminal setup`"
                )
            })
    }

    fn expires_at(&self) -> anyhow::Result<DateTime<Utc>> {
        parse_instant(&self.expires_at)
    }

    /// Returns the control number printed with `number`: the block's first
    /// control number advanced by the number's position in the block.
    fn control_number(&self, number: i64) -> anyhow::Result<String> {
        let (prefix, sequence) = self
            .first_control_number
            .split_once('-')
            .and_then(|(prefix, sequence)| {
                Some((prefix.parse::<u8>().ok()?, sequence.parse::<i64>().ok()?))
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "número de control inicial no válido: {}",
                    self.first_control_number
                )
            })?;
        Ok(taquilla_domain::fiscal::format_control_number(
            prefix,
            sequence + (number - self.first_number),
        ))
    }
}

fn parse_instant(text: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)
        .map_err(|error| anyhow::anyhow!("fecha no válida `{text}` en el archivo: {error}"))?
        .with_timezone(&Utc))
}

fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Formats an instant for cashiers, in Caracas time.
fn caracas_time(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&chrono_tz::America::Caracas)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}
