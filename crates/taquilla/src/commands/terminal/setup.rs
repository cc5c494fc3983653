//! `taquilla terminal setup`: logs in, downloads what selling offline needs,
//! takes a block of numbers and writes it all to the terminal's file in one
//! transaction.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use sqlx::Connection;
use taquilla_domain::fiscal::caracas_date;
use taquilla_domain::tax::{TaxCategory, TaxKind, TaxRule};
use uuid::Uuid;

use super::pricing::{IgtfCopy, RateCopy, StageCopy, format_cents, order_rate};
use super::remote::{Remote, failure_status};
use super::{DirArgs, caracas_time, format_instant, local};

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub(super) dir: DirArgs,

    /// Base URL of the central server, e.g. `http://127.0.0.1:8000`.
    #[arg(long)]
    server: String,

    /// Cashier's username.
    #[arg(long)]
    username: String,

    /// Cashier's password; prefer the environment variable, which stays out of
    /// the shell history.
    #[arg(long, env = "TAQUILLA_TERMINAL_PASSWORD", hide_env_values = true)]
    password: String,

    /// Id of the event to sell.
    #[arg(long)]
    event: Uuid,

    /// Code of the invoice series with the `offline` adapter; when omitted,
    /// the tenant's only offline invoice series.
    #[arg(long)]
    series: Option<String>,

    /// Numbers in the block, 1 to 500; the server's default (50) when omitted.
    #[arg(long)]
    size: Option<i64>,

    /// Hours the block stays valid, 1 to 48; the server's default (8) when omitted.
    #[arg(long)]
    valid_hours: Option<i64>,

    /// Name of the terminal printed on its invoices (at most 60 characters).
    #[arg(long, default_value = "Terminal")]
    name: String,
}

#[derive(Deserialize)]
struct Event {
    name: String,
    venue_id: Uuid,
    status: String,
    sale_starts_at: Option<DateTime<Utc>>,
    sale_ends_at: Option<DateTime<Utc>>,
    pinned_rate_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct Zone {
    id: Uuid,
    name: String,
    kind: String,
    price_usd_cents: i64,
    table_mode: String,
    tax_exempt: bool,
}

#[derive(Deserialize)]
struct Seat {
    id: Uuid,
    row: String,
    number: i64,
    status: String,
    price_usd_cents: i64,
}

#[derive(Deserialize)]
struct Stage {
    name: String,
    modifier: taquilla_domain::pricing::Modifier,
    ends_at: Option<DateTime<Utc>>,
    units_left: Option<i64>,
}

#[derive(Deserialize)]
struct Availability {
    available: i64,
    stage: Option<Stage>,
    seats: Vec<Seat>,
}

#[derive(Deserialize)]
struct TaxRuleRecord {
    id: Uuid,
    scope: String,
    venue_id: Option<Uuid>,
    event_id: Option<Uuid>,
    name: String,
    category: TaxCategory,
    kind: TaxKind,
    compound: bool,
    ended_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Rate {
    id: Uuid,
    currency: String,
    rate_scaled: i64,
    effective_date: NaiveDate,
    superseded: bool,
}

#[derive(Deserialize)]
struct Customer {
    id: Uuid,
    first_name: String,
    last_name: String,
    document: Option<String>,
}

#[derive(Deserialize)]
struct Series {
    code: String,
    kind: String,
    adapter: String,
}

#[derive(Deserialize)]
struct Block {
    id: Uuid,
    series: String,
    first_number: i64,
    last_number: i64,
    first_control_number: String,
    last_control_number: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// Everything downloaded for selling, before the block is taken.
struct Catalogue {
    event: Event,
    zones: Vec<(Zone, Availability)>,
    rules: Vec<TaxRule>,
    rates: Vec<Rate>,
    igtf: IgtfCopy,
    customers: Vec<Customer>,
}

pub async fn run(args: SetupArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir.dir;
    if local::file_in(dir).exists() {
        let mut conn = local::open(dir).await?;
        let pending = local::pending_count(&mut conn).await?;
        if pending > 0 {
            bail!(
                "el terminal en {} tiene {pending} números sin sincronizar; ejecute `taquilla terminal sync` antes de configurarlo de nuevo",
                dir.display()
            );
        }
        // A block left open would keep its numbers from the series until it
        // expires and would hold back the cashier's Z report.
        if let Ok(terminal) = super::Terminal::load(&mut conn).await
            && terminal.block_status == "open"
            && terminal
                .expires_at()
                .is_ok_and(|expires| expires > Utc::now())
        {
            bail!(
                "el bloque {} {}–{} de este terminal sigue abierto; ciérrelo con `taquilla terminal close` antes de configurar otro",
                terminal.series,
                terminal.first_number,
                terminal.last_number
            );
        }
    }

    let mut remote = Remote::new(&args.server)?;
    let tokens = remote.login(&args.username, &args.password).await?;
    let catalogue = download(&remote, args.event).await?;
    let series = match &args.series {
        Some(code) => code.trim().to_uppercase(),
        None => offline_series(&remote).await?,
    };

    // The block is taken last, so a failed download leaves no block behind.
    let mut request = json!({ "series": series, "terminal": args.name });
    if let Some(size) = args.size {
        request["size"] = json!(size);
    }
    if let Some(hours) = args.valid_hours {
        request["valid_hours"] = json!(hours);
    }
    let block: Block = remote
        .post("/offline/blocks", &request)
        .await
        .context("el servidor no entregó el bloque de números")?;

    let mut conn = local::create(dir).await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    local::clear(&mut tx).await?;
    store(
        &mut tx,
        &args,
        &tokens.refresh_token,
        &block,
        &catalogue,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;

    print_summary(&args, &block, &catalogue);
    Ok(ExitCode::SUCCESS)
}

/// Downloads the event and what pricing its zones needs.
async fn download(remote: &Remote, event_id: Uuid) -> anyhow::Result<Catalogue> {
    let event: Event = remote
        .get(&format!("/events/{event_id}"))
        .await
        .map_err(|error| match failure_status(&error) {
            Some(StatusCode::NOT_FOUND) => anyhow::anyhow!(
                "el evento {event_id} no existe o no pertenece a la empresa del usuario"
            ),
            _ => error.context("no se pudo descargar el evento"),
        })?;
    if event.status != "active" {
        bail!(
            "el evento «{}» no está a la venta (estado: {})",
            event.name,
            event.status
        );
    }

    let zone_list: Vec<Zone> = remote.get_all(&format!("/events/{event_id}/zones")).await?;
    let mut zones = Vec::with_capacity(zone_list.len());
    for zone in zone_list {
        let availability: Availability = remote
            .get(&format!("/zones/{}/availability", zone.id))
            .await?;
        zones.push((zone, availability));
    }

    // The rules in force for the event, in the order the server applies them.
    let mut records: Vec<TaxRuleRecord> = remote.get_all("/tax-rules").await?;
    records.retain(|rule| {
        rule.ended_at.is_none()
            && match rule.scope.as_str() {
                "tenant" => true,
                "venue" => rule.venue_id == Some(event.venue_id),
                "event" => rule.event_id == Some(event_id),
                _ => false,
            }
    });
    let scope_rank = |scope: &str| match scope {
        "tenant" => 0,
        "venue" => 1,
        _ => 2,
    };
    records.sort_by(|left, right| {
        (scope_rank(&left.scope), left.id).cmp(&(scope_rank(&right.scope), right.id))
    });
    let rules = records
        .into_iter()
        .map(|record| TaxRule {
            key: record.id.to_string(),
            name: record.name,
            category: record.category,
            kind: record.kind,
            compound: record.compound,
        })
        .collect();

    let rates: Vec<Rate> = remote.get_all("/exchange-rates").await?;
    let igtf: IgtfCopy = remote.get("/settings/igtf").await?;
    let customers: Vec<Customer> = remote.get_all("/customers").await?;
    Ok(Catalogue {
        event,
        zones,
        rules,
        rates,
        igtf,
        customers,
    })
}

/// Returns the code of the tenant's only offline invoice series.
async fn offline_series(remote: &Remote) -> anyhow::Result<String> {
    let series: Vec<Series> = remote.get_all("/fiscal/series").await?;
    let offline: Vec<&Series> = series
        .iter()
        .filter(|series| series.kind == "invoice" && series.adapter == "offline")
        .collect();
    match offline.as_slice() {
        [only] => Ok(only.code.clone()),
        [] => bail!(
            "la empresa no tiene una serie de facturas con el adaptador `offline`; pida a un administrador que la cree"
        ),
        several => bail!(
            "la empresa tiene varias series `offline` ({}); elija una con --series",
            several
                .iter()
                .map(|series| series.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn store(
    conn: &mut sqlx::SqliteConnection,
    args: &SetupArgs,
    refresh_token: &str,
    block: &Block,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let event = &catalogue.event;
    sqlx::query(
        "INSERT INTO terminal (id, server_url, username, refresh_token, terminal_name, block_id, series, \
         first_number, last_number, first_control_number, issued_at, expires_at, block_status, event_id, \
         event_name, event_status, sale_starts_at, sale_ends_at, pinned_rate_id, tax_rules, igtf, downloaded_at) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(args.server.trim_end_matches('/'))
    .bind(&args.username)
    .bind(refresh_token)
    .bind(&args.name)
    .bind(block.id.to_string())
    .bind(&block.series)
    .bind(block.first_number)
    .bind(block.last_number)
    .bind(&block.first_control_number)
    .bind(format_instant(block.issued_at))
    .bind(format_instant(block.expires_at))
    .bind(args.event.to_string())
    .bind(&event.name)
    .bind(&event.status)
    .bind(event.sale_starts_at.map(format_instant))
    .bind(event.sale_ends_at.map(format_instant))
    .bind(event.pinned_rate_id.map(|id| id.to_string()))
    .bind(serde_json::to_string(&catalogue.rules)?)
    .bind(serde_json::to_string(&catalogue.igtf)?)
    .bind(format_instant(now))
    .execute(&mut *conn)
    .await?;

    for rate in &catalogue.rates {
        sqlx::query(
            "INSERT INTO rates (id, currency, rate_scaled, effective_date, superseded) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(rate.id.to_string())
        .bind(&rate.currency)
        .bind(rate.rate_scaled)
        .bind(rate.effective_date.to_string())
        .bind(rate.superseded)
        .execute(&mut *conn)
        .await?;
    }

    for (zone, availability) in &catalogue.zones {
        let stage = availability.stage.as_ref().map(|stage| StageCopy {
            name: stage.name.clone(),
            modifier: stage.modifier,
            ends_at: stage.ends_at,
            units_left: stage.units_left,
        });
        let stage = stage
            .map(|stage| serde_json::to_string(&stage))
            .transpose()?;
        sqlx::query(
            "INSERT INTO zones (id, name, kind, available, price_usd_cents, stage, tax_exempt, table_mode) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(zone.id.to_string())
        .bind(&zone.name)
        .bind(&zone.kind)
        .bind(availability.available)
        .bind(zone.price_usd_cents)
        .bind(stage)
        .bind(zone.tax_exempt)
        .bind(&zone.table_mode)
        .execute(&mut *conn)
        .await?;
        for seat in &availability.seats {
            sqlx::query(
                "INSERT INTO seats (id, zone_id, row_label, number, status, price_usd_cents) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(seat.id.to_string())
            .bind(zone.id.to_string())
            .bind(&seat.row)
            .bind(seat.number)
            .bind(&seat.status)
            .bind(seat.price_usd_cents)
            .execute(&mut *conn)
            .await?;
        }
    }

    for customer in &catalogue.customers {
        sqlx::query("INSERT INTO customers (id, name, document) VALUES ($1, $2, $3)")
            .bind(customer.id.to_string())
            .bind(format!("{} {}", customer.first_name, customer.last_name))
            .bind(&customer.document)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn print_summary(args: &SetupArgs, block: &Block, catalogue: &Catalogue) {
    say!("Terminal configurado en {}", args.dir.dir.display());
    say!("  evento:   {}", catalogue.event.name);
    say!(
        "  bloque:   serie {}, números {}–{}, control {} a {}",
        block.series,
        block.first_number,
        block.last_number,
        block.first_control_number,
        block.last_control_number
    );
    say!(
        "  vence:    {} (hora de Caracas)",
        caracas_time(block.expires_at)
    );
    for (zone, availability) in &catalogue.zones {
        say!(
            "  zona:     {} ({}) {}, {} disponibles, US$ {}",
            zone.name,
            zone.id,
            zone.kind,
            availability.available,
            format_cents(zone.price_usd_cents)
        );
    }
    say!("  clientes: {}", catalogue.customers.len());
    let copies: Vec<RateCopy> = catalogue
        .rates
        .iter()
        .map(|rate| RateCopy {
            id: rate.id.to_string(),
            currency: rate.currency.clone(),
            rate_scaled: rate.rate_scaled,
            effective_date: rate.effective_date,
            superseded: rate.superseded,
        })
        .collect();
    let pinned = catalogue.event.pinned_rate_id.map(|id| id.to_string());
    match order_rate(&copies, pinned.as_deref(), caracas_date(Utc::now())) {
        Some((rate, date)) => say!("  tasa:     {} Bs./US$ del {date}", rate_text(rate)),
        None => say!(
            "  aviso:    no hay tasa de cambio para hoy; el terminal no podrá vender hasta que se registre una y se configure de nuevo"
        ),
    }
}

/// Formats a rate with its 8 decimals.
fn rate_text(rate: taquilla_domain::money::ExchangeRate) -> String {
    let scaled = rate.scaled();
    format!("{}.{:08}", scaled / 100_000_000, scaled % 100_000_000)
}
