//! `taquilla terminal sync`, `status` and `close`: settle the recorded numbers
//! with the server and report them.
//!
//! A sync is safe to repeat. Each result is stored as soon as the server
//! returns its batch. A number whose response was lost (a timeout, a crash)
//! stays pending and is sent again unchanged, and the server replays what it
//! recorded.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::remote::{Remote, failure_status};
use super::{DirArgs, Terminal, caracas_time, format_instant, local};

/// Items per sync request, the server's maximum.
const BATCH_SIZE: usize = 100;

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub(super) dir: DirArgs,

    /// Cashier's password, used only when the stored session no longer works
    /// (for example after a crash right after a token refresh).
    #[arg(long, env = "TAQUILLA_TERMINAL_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub(super) dir: DirArgs,

    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize)]
struct SyncResult {
    number: i64,
    outcome: String,
    reason: Option<String>,
    replayed: bool,
}

#[derive(Deserialize)]
struct SyncError {
    number: i64,
    code: String,
    details: Value,
}

#[derive(Deserialize)]
struct Block {
    status: String,
}

#[derive(Deserialize)]
struct SyncOutcome {
    block: Block,
    results: Vec<SyncResult>,
    error: Option<SyncError>,
}

/// Counts of one sync run.
#[derive(Default)]
struct SyncReport {
    accepted: i64,
    rejected: i64,
    voided: i64,
    /// Numbers that could not be sent or settled; they stay pending.
    failed: bool,
}

/// Explains a server reason to the cashier.
fn reason_text(reason: &str) -> &'static str {
    match reason {
        "seats_unavailable" => "el asiento se vendió por otro canal mientras tanto",
        "insufficient_capacity" => "la zona se llenó mientras tanto",
        "amount_mismatch" => "los pagos no cubren el precio que calculó el servidor",
        "out_of_order" => "se sincronizó antes un número posterior",
        "sold_at_out_of_range" => "la hora del terminal no coincide con la del bloque",
        "sold_at_before_previous" => "la venta tiene una hora anterior a la venta previa",
        "block_closed" => "el bloque se cerró antes de sincronizar",
        "block_expired" => "el bloque venció antes de sincronizar",
        "event_not_on_sale" => "el evento ya no está a la venta",
        "sale_window_closed" => "la venta del evento había cerrado",
        _ => "",
    }
}

/// Opens a session with the stored refresh token, storing the rotated token
/// before anything else; falls back to the password when one is given.
async fn connect(
    conn: &mut SqliteConnection,
    terminal: &Terminal,
    password: Option<&str>,
) -> anyhow::Result<Remote> {
    let mut remote = Remote::new(&terminal.server_url)?;
    let tokens = match remote.refresh(&terminal.refresh_token).await {
        Ok(tokens) => tokens,
        Err(error) if failure_status(&error).is_some() => match password {
            Some(password) => remote.login(&terminal.username, password).await?,
            None => bail!(
                "la sesión guardada ya no es válida ({error}); vuelva a ejecutar con TAQUILLA_TERMINAL_PASSWORD o --password"
            ),
        },
        Err(error) => return Err(error),
    };
    sqlx::query("UPDATE terminal SET refresh_token = $1 WHERE id = 1")
        .bind(&tokens.refresh_token)
        .execute(&mut *conn)
        .await
        .context("no se pudo guardar la sesión renovada")?;
    Ok(remote)
}

/// Sends every pending number in batches and stores each result.
async fn send_pending(
    conn: &mut SqliteConnection,
    terminal: &Terminal,
    remote: &Remote,
) -> anyhow::Result<SyncReport> {
    let pending: Vec<(i64, String)> =
        sqlx::query_as("SELECT number, item FROM numbers WHERE outcome IS NULL ORDER BY number")
            .fetch_all(&mut *conn)
            .await?;
    let mut report = SyncReport::default();
    for batch in pending.chunks(BATCH_SIZE) {
        let items: Vec<Value> = batch
            .iter()
            .map(|(_, item)| serde_json::from_str(item))
            .collect::<Result<_, _>>()?;
        let path = format!("/offline/blocks/{}/sync", terminal.block_id);
        let outcome: SyncOutcome = match remote.post(&path, &json!({ "sales": items })).await {
            Ok(outcome) => outcome,
            Err(error) => {
                say!(
                    "No se pudieron enviar los números {}–{}: {error:#}. Siguen pendientes; vuelva a ejecutar `taquilla terminal sync`.",
                    batch[0].0,
                    batch[batch.len() - 1].0
                );
                report.failed = true;
                return Ok(report);
            }
        };

        let synced_at = format_instant(chrono::Utc::now());
        for result in &outcome.results {
            sqlx::query(
                "UPDATE numbers SET outcome = $2, reason = $3, synced_at = $4 WHERE number = $1",
            )
            .bind(result.number)
            .bind(&result.outcome)
            .bind(&result.reason)
            .bind(&synced_at)
            .execute(&mut *conn)
            .await?;
            print_result(result);
            match result.outcome.as_str() {
                "accepted" => report.accepted += 1,
                "rejected" => report.rejected += 1,
                _ => report.voided += 1,
            }
        }
        sqlx::query("UPDATE terminal SET block_status = $1 WHERE id = 1")
            .bind(&outcome.block.status)
            .execute(&mut *conn)
            .await?;
        if let Some(error) = outcome.error {
            say!(
                "El número {} no se pudo sincronizar: {} {}. Corrija la causa y vuelva a ejecutar `taquilla terminal sync`.",
                error.number,
                error.code,
                error.details
            );
            report.failed = true;
            return Ok(report);
        }
    }
    Ok(report)
}

fn print_result(result: &SyncResult) {
    let replayed = if result.replayed {
        " (ya registrado)"
    } else {
        ""
    };
    let outcome = match result.outcome.as_str() {
        "accepted" => "aceptado".to_string(),
        "rejected" | "voided" => {
            let word = if result.outcome == "rejected" {
                "rechazado"
            } else {
                "anulado"
            };
            let reason = result.reason.as_deref().unwrap_or("");
            match reason_text(reason) {
                "" => format!("{word}: {reason}"),
                text => format!("{word}: {reason} ({text})"),
            }
        }
        other => other.to_string(),
    };
    say!("N.º {:>5}  {outcome}{replayed}", result.number);
}

fn print_summary(report: &SyncReport, pending: i64) {
    say!(
        "Resumen: {} aceptados, {} rechazados, {} anulados, {pending} pendientes.",
        report.accepted,
        report.rejected,
        report.voided
    );
    if report.rejected > 0 {
        say!("Las ventas rechazadas no se cobraron en el servidor: devuelva el dinero al cliente.");
    }
}

/// Syncs and prints the results; returns the report and the numbers still pending.
async fn sync_terminal(
    conn: &mut SqliteConnection,
    password: Option<&str>,
) -> anyhow::Result<(SyncReport, i64)> {
    let terminal = Terminal::load(conn).await?;
    let pending = local::pending_count(conn).await?;
    if pending == 0 {
        say!("No hay números pendientes de sincronizar.");
        return Ok((SyncReport::default(), 0));
    }
    let remote = connect(conn, &terminal, password).await?;
    let report = send_pending(conn, &terminal, &remote).await?;
    let pending = local::pending_count(conn).await?;
    print_summary(&report, pending);
    Ok((report, pending))
}

fn exit_code(report: &SyncReport, pending: i64) -> ExitCode {
    if report.failed || report.rejected > 0 || pending > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let mut conn = local::open(&args.dir.dir).await?;
    let (report, pending) = sync_terminal(&mut conn, args.password.as_deref()).await?;
    Ok(exit_code(&report, pending))
}

pub async fn close(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let mut conn = local::open(&args.dir.dir).await?;
    let (report, pending) = sync_terminal(&mut conn, args.password.as_deref()).await?;
    if pending > 0 {
        bail!(
            "el bloque no se cerró: quedan {pending} números sin sincronizar, que el cierre anularía"
        );
    }

    let terminal = Terminal::load(&mut conn).await?;
    let remote = connect(&mut conn, &terminal, args.password.as_deref()).await?;
    let path = format!("/offline/blocks/{}/close", terminal.block_id);
    let closed: Option<Block> = match remote.post(&path, &json!({})).await {
        Ok(block) => Some(block),
        Err(error) if failure_status(&error) == Some(reqwest::StatusCode::CONFLICT) => None,
        Err(error) => return Err(error.context("el servidor no cerró el bloque")),
    };
    sqlx::query("UPDATE terminal SET block_status = 'closed' WHERE id = 1")
        .execute(&mut conn)
        .await?;

    // The numbers this terminal never used are the ones the closing voided.
    let used: Vec<i64> = sqlx::query_scalar("SELECT number FROM numbers ORDER BY number")
        .fetch_all(&mut conn)
        .await?;
    let unused: Vec<i64> = (terminal.first_number..=terminal.last_number)
        .filter(|number| used.binary_search(number).is_err())
        .collect();
    match closed {
        // The server's count of voided numbers also includes the ones this
        // terminal voided itself, so the unused ones are counted here.
        Some(_) => say!(
            "Bloque cerrado. El servidor anuló {} números sin usar: {}",
            unused.len(),
            ranges(&unused)
        ),
        None => say!("El bloque ya estaba cerrado en el servidor."),
    }
    Ok(exit_code(&report, 0))
}

/// Formats sorted numbers as ranges: `4–7, 9`.
fn ranges(numbers: &[i64]) -> String {
    if numbers.is_empty() {
        return "ninguno".to_string();
    }
    let mut parts = Vec::new();
    let mut start = numbers[0];
    let mut end = numbers[0];
    for &number in &numbers[1..] {
        if number == end + 1 {
            end = number;
            continue;
        }
        parts.push((start, end));
        start = number;
        end = number;
    }
    parts.push((start, end));
    parts
        .iter()
        .map(|&(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}–{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Serialize, sqlx::FromRow)]
struct NumberStatus {
    number: i64,
    control_number: String,
    kind: String,
    sold_at: String,
    total_bs_cents: i64,
    /// `accepted`, `rejected` or `voided` once synced; absent while pending.
    outcome: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct Status {
    server_url: String,
    username: String,
    terminal: String,
    block_id: Uuid,
    block_status: String,
    series: String,
    first_number: i64,
    last_number: i64,
    expires_at: String,
    event_id: String,
    event_name: String,
    used: i64,
    unused: i64,
    pending: i64,
    accepted: i64,
    rejected: i64,
    voided: i64,
    numbers: Vec<NumberStatus>,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut conn = local::open(&args.dir.dir).await?;
    let terminal = Terminal::load(&mut conn).await?;
    let numbers: Vec<NumberStatus> = sqlx::query_as(
        "SELECT number, control_number, kind, sold_at, total_bs_cents, outcome, reason FROM numbers ORDER BY number",
    )
    .fetch_all(&mut conn)
    .await?;
    let count = |outcome: Option<&str>| {
        numbers
            .iter()
            .filter(|number| number.outcome.as_deref() == outcome)
            .count() as i64
    };
    let used = numbers.len() as i64;
    let status = Status {
        server_url: terminal.server_url.clone(),
        username: terminal.username.clone(),
        terminal: terminal.terminal_name.clone(),
        block_id: terminal.block_id.parse()?,
        block_status: terminal.block_status.clone(),
        series: terminal.series.clone(),
        first_number: terminal.first_number,
        last_number: terminal.last_number,
        expires_at: terminal.expires_at.clone(),
        event_id: terminal.event_id.clone(),
        event_name: terminal.event_name.clone(),
        used,
        unused: terminal.last_number - terminal.first_number + 1 - used,
        pending: count(None),
        accepted: count(Some("accepted")),
        rejected: count(Some("rejected")),
        voided: count(Some("voided")),
        numbers,
    };
    if args.json {
        say!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }

    say!("Terminal {} ({})", status.terminal, status.username);
    say!("  servidor: {}", status.server_url);
    say!("  evento:   {}", status.event_name);
    say!(
        "  bloque:   serie {}, números {}–{}, {}",
        status.series,
        status.first_number,
        status.last_number,
        if status.block_status == "open" {
            "abierto"
        } else {
            "cerrado"
        }
    );
    say!(
        "  vence:    {} (hora de Caracas)",
        caracas_time(terminal.expires_at()?)
    );
    say!(
        "  números:  {} usados, {} sin usar; {} pendientes, {} aceptados, {} rechazados, {} anulados",
        status.used,
        status.unused,
        status.pending,
        status.accepted,
        status.rejected,
        status.voided
    );
    for number in &status.numbers {
        let state = match (number.outcome.as_deref(), number.reason.as_deref()) {
            (None, _) => "pendiente".to_string(),
            (Some("accepted"), _) => "aceptado".to_string(),
            (Some("rejected"), reason) => format!("rechazado: {}", reason.unwrap_or("")),
            (Some(_), reason) => format!("anulado: {}", reason.unwrap_or("")),
        };
        let kind = if number.kind == "sale" {
            format!(
                "venta Bs. {}",
                super::pricing::format_cents(number.total_bs_cents)
            )
        } else {
            "anulación".to_string()
        };
        say!(
            "  N.º {:>5}  {}  {kind}  {state}",
            number.number,
            number.control_number
        );
    }
    Ok(ExitCode::SUCCESS)
}
