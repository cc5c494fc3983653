//! `taquilla terminal sell` and `void`: record a number of the block in the
//! terminal's file, each in one local transaction, without the network.

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{Value, json};
use sqlx::{Connection, SqliteConnection};
use taquilla_app::http::offline::SERVER_REASONS;
use taquilla_app::http::sales::{CreatePayment, validate_payments};
use taquilla_domain::fiscal::caracas_date;
use taquilla_domain::tax::TaxRule;
use uuid::Uuid;

use super::pricing::{
    IgtfCopy, Line, PaymentProblem, RateCopy, StageCopy, format_cents, general_admission_price,
    order_rate, parse_cents, settle, stage_warning, totals,
};
use super::{DirArgs, Terminal, format_instant, local, parse_instant};

#[derive(Debug, Args)]
pub struct SellArgs {
    #[command(flatten)]
    pub(super) dir: DirArgs,

    /// Id of the zone to sell in.
    #[arg(long)]
    zone: Uuid,

    /// Id of a seat of a numbered zone; repeat for several seats.
    #[arg(
        long = "seat",
        conflicts_with = "quantity",
        required_unless_present = "quantity"
    )]
    seats: Vec<Uuid>,

    /// Entries of a general-admission zone.
    #[arg(long)]
    quantity: Option<i64>,

    /// Id of the customer, who must have a cédula or RIF.
    #[arg(long)]
    customer: Uuid,

    /// A payment as METHOD:CURRENCY:AMOUNT[:REFERENCE[:BANK[:PHONE[:DOCUMENT]]]],
    /// e.g. `cash:VES:835.50` or `card:USD:20:000123`. METHOD is cash, card,
    /// transfer or pago_movil; CURRENCY is USD or VES; AMOUNT is in units with
    /// up to two decimals. Repeat for split payments.
    #[arg(long = "pay", required = true)]
    payments: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VoidArgs {
    #[command(flatten)]
    pub(super) dir: DirArgs,

    /// The number to void.
    #[arg(long)]
    number: i64,

    /// Why the number was not used, e.g. `papel dañado` (at most 100 characters).
    #[arg(long)]
    reason: String,
}

#[derive(sqlx::FromRow)]
struct ZoneRow {
    name: String,
    kind: String,
    available: i64,
    price_usd_cents: i64,
    stage: Option<String>,
    tax_exempt: bool,
    table_mode: String,
}

#[derive(sqlx::FromRow)]
struct SeatRow {
    id: String,
    row_label: String,
    number: i64,
    status: String,
    price_usd_cents: i64,
}

/// Parses one `--pay` value into the API's payment body.
fn parse_payment(text: &str) -> anyhow::Result<CreatePayment> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(3..=7).contains(&parts.len()) {
        bail!(
            "pago no válido `{text}`: use MÉTODO:MONEDA:MONTO[:REFERENCIA[:BANCO[:TELÉFONO[:DOCUMENTO]]]]"
        );
    }
    let Some(amount_cents) = parse_cents(parts[2]) else {
        bail!(
            "monto no válido `{}` en el pago `{text}`: use unidades con hasta dos decimales, p. ej. 20.50",
            parts[2]
        );
    };
    let optional = |index: usize| {
        parts
            .get(index)
            .map(|part| part.trim().to_string())
            .filter(|part| !part.is_empty())
    };
    Ok(CreatePayment {
        method: parts[0].trim().to_lowercase(),
        currency: parts[1].trim().to_uppercase(),
        amount_cents,
        change_currency: None,
        reference: optional(3),
        bank_code: optional(4),
        phone: optional(5),
        document: optional(6),
    })
}

/// Returns the next number of the block and the earliest `sold_at` it may
/// carry, so numbers follow each other in time as the server requires.
async fn next_number(
    conn: &mut SqliteConnection,
    terminal: &Terminal,
    now: DateTime<Utc>,
) -> anyhow::Result<(i64, DateTime<Utc>)> {
    let (last_number, last_sold_at): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT MAX(number), MAX(sold_at) FROM numbers")
            .fetch_one(&mut *conn)
            .await?;
    let next = last_number.map_or(terminal.first_number, |number| number + 1);
    let sold_at = match last_sold_at {
        Some(text) => parse_instant(&text)?.max(now),
        None => now,
    };
    Ok((next, sold_at))
}

/// Checks that the block can still number a sale at `now`.
fn check_block(terminal: &Terminal, now: DateTime<Utc>) -> anyhow::Result<()> {
    if terminal.block_status != "open" {
        bail!("el bloque de números está cerrado; configure el terminal con un bloque nuevo");
    }
    if terminal.expires_at()? <= now {
        bail!(
            "el bloque de números venció el {}; sincronice y configure el terminal con un bloque nuevo",
            super::caracas_time(terminal.expires_at()?)
        );
    }
    Ok(())
}

pub async fn sell(args: SellArgs) -> anyhow::Result<ExitCode> {
    let mut payments = Vec::with_capacity(args.payments.len());
    for text in &args.payments {
        payments.push(parse_payment(text)?);
    }
    let payment_bodies: Vec<Value> = payments
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    // The server's own checks of payment fields, so a sale the server would
    // refuse as malformed is never printed.
    let mut field_errors = Vec::new();
    let payments = validate_payments(&mut field_errors, payments);
    if !field_errors.is_empty() {
        let fields: Vec<String> = field_errors
            .iter()
            .map(|error| format!("{} ({})", error.field, error.rule))
            .collect();
        bail!("pago no válido: {}", fields.join(", "));
    }

    let mut conn = local::open(&args.dir.dir).await?;
    // IMMEDIATE takes the write lock first, so two sales started at once get
    // different numbers.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let terminal = Terminal::load(&mut tx).await?;
    let now = Utc::now();
    check_block(&terminal, now)?;
    let (number, sold_at) = next_number(&mut tx, &terminal, now).await?;
    if number > terminal.last_number {
        bail!(
            "se agotaron los números del bloque ({}–{}); sincronice y configure el terminal con un bloque nuevo",
            terminal.first_number,
            terminal.last_number
        );
    }
    check_event(&terminal, now)?;

    let zone_id = args.zone.to_string();
    let zone: ZoneRow = sqlx::query_as(
        "SELECT name, kind, available, price_usd_cents, stage, tax_exempt, table_mode FROM zones WHERE id = $1",
    )
    .bind(&zone_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| anyhow::anyhow!("la zona {} no es de este evento", args.zone))?;
    let stage: Option<StageCopy> = zone
        .stage
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let customer: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT name, document FROM customers WHERE id = $1")
            .bind(args.customer.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    let Some((customer_name, customer_document)) = customer else {
        bail!(
            "el cliente {} no está en la copia del terminal; regístrelo en el servidor y configure el terminal de nuevo",
            args.customer
        );
    };
    if customer_document.is_none() {
        bail!("el cliente {customer_name} no tiene cédula ni RIF, que la factura exige");
    }

    // Lines: one per seat, or one for the general-admission quantity.
    let (lines, quantity, seat_ids) = if zone.kind == "numbered" {
        if args.seats.is_empty() {
            bail!(
                "la zona {} es numerada: indique los asientos con --seat",
                zone.name
            );
        }
        if zone.table_mode == "complete_only" {
            bail!(
                "la zona {} vende mesas completas, que el terminal no vende sin conexión",
                zone.name
            );
        }
        let lines = seat_lines(&mut tx, &zone_id, &zone.name, &args.seats).await?;
        (lines, args.seats.len() as i64, args.seats.clone())
    } else {
        let Some(quantity) = args.quantity.filter(|quantity| *quantity > 0) else {
            bail!(
                "la zona {} es de entrada general: indique --quantity mayor que 0",
                zone.name
            );
        };
        let sold: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(quantity), 0) FROM numbers WHERE zone_id = $1 AND kind = 'sale'",
        )
        .bind(&zone_id)
        .fetch_one(&mut *tx)
        .await?;
        let left = zone.available - sold;
        if quantity > left {
            bail!(
                "quedan {left} entradas en la zona {} según la copia del terminal; no se pueden vender {quantity}",
                zone.name
            );
        }
        let unit = general_admission_price(zone.price_usd_cents, stage.as_ref())?;
        let line = Line {
            description: format!("{} — entrada general", zone.name),
            quantity,
            unit_price_usd_cents: unit,
        };
        (vec![line], quantity, Vec::new())
    };

    // Price, taxes and payments as the server will compute them.
    let rates = load_rates(&mut tx).await?;
    let Some((rate, _)) = order_rate(
        &rates,
        terminal.pinned_rate_id.as_deref(),
        caracas_date(sold_at),
    ) else {
        bail!(
            "no hay tasa de cambio para hoy ({}) en la copia del terminal; regístrela en el servidor y configure el terminal de nuevo",
            caracas_date(sold_at)
        );
    };
    let rules: Vec<TaxRule> = serde_json::from_str(&terminal.tax_rules)?;
    let igtf: IgtfCopy = serde_json::from_str(&terminal.igtf)?;
    let totals = totals(&lines, zone.tax_exempt, &rules, rate)?;
    let settlement = match settle(totals.total_bs_cents, &payments, rate, &igtf) {
        Ok(settlement) => settlement,
        Err(problem) => bail!(payment_message(&problem, totals.total_bs_cents)),
    };
    let sold_in_zone: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(quantity), 0) FROM numbers WHERE zone_id = $1 AND kind = 'sale'",
    )
    .bind(&zone_id)
    .fetch_one(&mut *tx)
    .await?;
    let warning = stage_warning(stage.as_ref(), sold_in_zone + quantity, sold_at);

    // The item is stored as sync will send it, so a resend is byte for byte
    // the same sale and the server replays it.
    let control_number = terminal.control_number(number)?;
    let local_id: String = format!("{}-{number}", terminal.terminal_name)
        .chars()
        .take(64)
        .collect();
    let mut item = json!({
        "number": number,
        "local_id": local_id,
        "sold_at": format_instant(sold_at),
        "zone_id": args.zone,
        "customer_id": args.customer,
        "payments": payment_bodies,
    });
    if seat_ids.is_empty() {
        item["quantity"] = json!(quantity);
    } else {
        item["seat_ids"] = json!(seat_ids);
    }
    sqlx::query(
        "INSERT INTO numbers (number, control_number, kind, item, zone_id, quantity, total_usd_cents, total_bs_cents, sold_at) \
         VALUES ($1, $2, 'sale', $3, $4, $5, $6, $7, $8)",
    )
    .bind(number)
    .bind(&control_number)
    .bind(item.to_string())
    .bind(&zone_id)
    .bind(quantity)
    .bind(totals.total_usd_cents)
    .bind(totals.total_bs_cents)
    .bind(format_instant(sold_at))
    .execute(&mut *tx)
    .await?;
    for seat_id in &seat_ids {
        sqlx::query("INSERT INTO sold_seats (seat_id, number) VALUES ($1, $2)")
            .bind(seat_id.to_string())
            .bind(number)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;

    say!(
        "Factura {} N.º {number}  control {control_number}",
        terminal.series
    );
    say!("  {}", super::caracas_time(sold_at));
    say!(
        "  cliente: {customer_name} ({})",
        customer_document.unwrap_or_default()
    );
    for line in &lines {
        say!(
            "  {} × {}  US$ {}",
            line.quantity,
            line.description,
            format_cents(line.unit_price_usd_cents)
        );
    }
    say!(
        "  total: Bs. {} (US$ {})",
        format_cents(totals.total_bs_cents),
        format_cents(totals.total_usd_cents)
    );
    if settlement.igtf_usd_cents > 0 {
        say!("  IGTF: US$ {}", format_cents(settlement.igtf_usd_cents));
    }
    if settlement.change_bs_cents > 0 {
        say!("  vuelto: Bs. {}", format_cents(settlement.change_bs_cents));
    }
    if let Some(warning) = warning {
        say!("  aviso: {warning}");
    }
    say!("  pendiente de sincronizar");
    Ok(ExitCode::SUCCESS)
}

/// Checks the event's status and sale window in the local copy.
fn check_event(terminal: &Terminal, now: DateTime<Utc>) -> anyhow::Result<()> {
    if terminal.event_status != "active" {
        bail!("el evento «{}» no está a la venta", terminal.event_name);
    }
    if let Some(starts) = terminal
        .sale_starts_at
        .as_deref()
        .map(parse_instant)
        .transpose()?
        && now < starts
    {
        bail!(
            "la venta del evento «{}» empieza el {}",
            terminal.event_name,
            super::caracas_time(starts)
        );
    }
    if let Some(ends) = terminal
        .sale_ends_at
        .as_deref()
        .map(parse_instant)
        .transpose()?
        && now >= ends
    {
        bail!(
            "la venta del evento «{}» cerró el {}",
            terminal.event_name,
            super::caracas_time(ends)
        );
    }
    Ok(())
}

/// Checks each seat against the local copy and returns one line per seat, in
/// the server's order (row, then number).
async fn seat_lines(
    conn: &mut SqliteConnection,
    zone_id: &str,
    zone_name: &str,
    seat_ids: &[Uuid],
) -> anyhow::Result<Vec<Line>> {
    let mut seen = HashSet::new();
    let mut seats = Vec::with_capacity(seat_ids.len());
    for seat_id in seat_ids {
        if !seen.insert(*seat_id) {
            bail!("el asiento {seat_id} aparece dos veces");
        }
        let seat: SeatRow = sqlx::query_as(
            "SELECT id, row_label, number, status, price_usd_cents FROM seats WHERE id = $1 AND zone_id = $2",
        )
        .bind(seat_id.to_string())
        .bind(zone_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("el asiento {seat_id} no es de la zona {zone_name}"))?;
        if seat.status != "available" {
            bail!(
                "el asiento fila {}, número {} no estaba disponible al descargar ({})",
                seat.row_label,
                seat.number,
                seat.status
            );
        }
        let sold_in: Option<i64> =
            sqlx::query_scalar("SELECT number FROM sold_seats WHERE seat_id = $1")
                .bind(&seat.id)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(number) = sold_in {
            bail!(
                "el asiento fila {}, número {} ya se vendió en este terminal (factura N.º {number})",
                seat.row_label,
                seat.number
            );
        }
        seats.push(seat);
    }
    seats.sort_by(|left, right| {
        (&left.row_label, left.number).cmp(&(&right.row_label, right.number))
    });
    // Each seat's price is the server's price formula (zone base, stage, row
    // markup, seat modifier) as quoted when the copy was downloaded.
    Ok(seats
        .into_iter()
        .map(|seat| Line {
            description: format!(
                "{zone_name} — fila {}, asiento {}",
                seat.row_label, seat.number
            ),
            quantity: 1,
            unit_price_usd_cents: seat.price_usd_cents,
        })
        .collect())
}

async fn load_rates(conn: &mut SqliteConnection) -> anyhow::Result<Vec<RateCopy>> {
    let rows: Vec<(String, String, i64, String, bool)> =
        sqlx::query_as("SELECT id, currency, rate_scaled, effective_date, superseded FROM rates")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(id, currency, rate_scaled, effective_date, superseded)| {
            Ok(RateCopy {
                id,
                currency,
                rate_scaled,
                effective_date: effective_date.parse()?,
                superseded,
            })
        })
        .collect()
}

fn payment_message(problem: &PaymentProblem, total_bs_cents: i64) -> String {
    match problem {
        PaymentProblem::Short { balance_bs_cents } => format!(
            "los pagos no cubren el total de Bs. {}: faltan Bs. {}",
            format_cents(total_bs_cents),
            format_cents(*balance_bs_cents)
        ),
        PaymentProblem::ExceedsBalance {
            position,
            balance_bs_cents,
        } => format!(
            "el pago {} excede el saldo de Bs. {}; solo el efectivo admite vuelto",
            position + 1,
            format_cents(*balance_bs_cents)
        ),
        PaymentProblem::AfterPaid { position } => format!(
            "el pago {} sobra: los anteriores ya pagan el total de Bs. {}",
            position + 1,
            format_cents(total_bs_cents)
        ),
        PaymentProblem::Overflow => "un monto es demasiado grande".to_string(),
    }
}

pub async fn void(args: VoidArgs) -> anyhow::Result<ExitCode> {
    let reason = args.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 100 {
        bail!("indique un motivo de 1 a 100 caracteres con --reason");
    }
    if SERVER_REASONS.contains(&reason.as_str()) {
        bail!("el motivo `{reason}` está reservado para el servidor; use otro");
    }

    let mut conn = local::open(&args.dir.dir).await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let terminal = Terminal::load(&mut tx).await?;
    let number = args.number;
    if number < terminal.first_number || number > terminal.last_number {
        bail!(
            "el número {number} no es del bloque ({}–{})",
            terminal.first_number,
            terminal.last_number
        );
    }
    let existing: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT kind, sold_at, outcome FROM numbers WHERE number = $1")
            .bind(number)
            .fetch_optional(&mut *tx)
            .await?;
    let sold_at = match existing {
        Some((_, _, Some(outcome))) => {
            bail!("el número {number} ya se sincronizó ({outcome}); no se puede anular aquí")
        }
        Some((kind, _, None)) if kind == "void" => bail!("el número {number} ya está anulado"),
        // A recorded sale keeps its time, so the numbers stay in time order.
        Some((_, sold_at, None)) => parse_instant(&sold_at)?,
        None => {
            let now = Utc::now();
            check_block(&terminal, now)?;
            let (next, sold_at) = next_number(&mut tx, &terminal, now).await?;
            if number < next {
                bail!(
                    "el número {number} quedó sin usar antes de otros ya usados; se anulará al cerrar el bloque"
                );
            }
            sold_at
        }
    };

    let item = json!({
        "number": number,
        "sold_at": format_instant(sold_at),
        "void": reason,
    });
    sqlx::query("DELETE FROM sold_seats WHERE number = $1")
        .bind(number)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO numbers (number, control_number, kind, item, sold_at) VALUES ($1, $2, 'void', $3, $4) \
         ON CONFLICT (number) DO UPDATE SET kind = 'void', item = excluded.item, zone_id = NULL, quantity = 0, \
         total_usd_cents = 0, total_bs_cents = 0",
    )
    .bind(number)
    .bind(terminal.control_number(number)?)
    .bind(item.to_string())
    .bind(format_instant(sold_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    say!("Número {number} anulado: {reason} (pendiente de sincronizar)");
    Ok(ExitCode::SUCCESS)
}
