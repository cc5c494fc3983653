//! `taquilla terminal`: a box-office terminal that sells offline from a block
//! of invoice numbers, keeps its state in its own SQLite file, and syncs its
//! sales with the central server later.
//!
//! `setup` downloads the block and what selling needs (`setup.rs`), `sell`
//! and `void` record numbers locally (`sell.rs`), `sync`, `status` and
//! `close` settle them with the server (`sync.rs`). Messages are for cashiers
//! and in Spanish; codes from the server stay in English.

mod local;
mod pricing;
mod remote;
mod sell;
mod setup;
mod sync;

use std::path::PathBuf;
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
    match args.command {
        TerminalCommand::Setup(args) => setup::run(args).await,
        TerminalCommand::Sell(args) => sell::sell(args).await,
        TerminalCommand::Void(args) => sell::void(args).await,
        TerminalCommand::Sync(args) => sync::sync(args).await,
        TerminalCommand::Status(args) => sync::status(args).await,
        TerminalCommand::Close(args) => sync::close(args).await,
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
