//! The cashier's day at `/app/caja`: the X report of the current fiscal day,
//! closing the day with a Z report, and the cashier's earlier Z reports.
//!
//! The page script draws the reports from the API's JSON (`/fiscal/reports/x`
//! and `/fiscal/reports/z`). The server renders whether the day is closed and
//! the list of Z reports, so a closed desk shows as closed before any script runs.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use taquilla_store::model::{FiscalDayTotals, PageRequest, Role, ZReport};
use uuid::Uuid;

use super::page::{Page, error_page, render};
use super::session::WebUser;
use super::text::{self, TextTable, decimal};
use crate::error::ApiError;
use crate::state::AppState;

pub const TEXT: TextTable = &[
    ("day.title", "Caja", "Cash desk"),
    ("day.fiscal_day", "Jornada fiscal", "Fiscal day"),
    ("day.cashier", "Cajero", "Cashier"),
    ("day.open", "Caja abierta", "Cash desk open"),
    (
        "day.open_hint",
        "Puede vender. El reporte X muestra lo vendido hasta ahora y no cierra la jornada.",
        "You can sell. The X report shows the sales so far and does not close the day.",
    ),
    (
        "day.closed_until",
        "Caja cerrada hasta",
        "Cash desk closed until",
    ),
    (
        "day.closed_hint",
        "La jornada se cerró con el reporte Z. No puede vender, anular ni emitir facturas hasta la próxima jornada.",
        "The day was closed with the Z report. You cannot sell, void or issue invoices until the next fiscal day.",
    ),
    (
        "day.closed_ok",
        "Jornada cerrada con el reporte Z N° {number}.",
        "Day closed with Z report No. {number}.",
    ),
    ("day.refresh", "Actualizar reporte X", "Refresh X report"),
    ("day.updated_at", "Actualizado: {time}", "Updated: {time}"),
    ("day.print", "Imprimir", "Print"),
    (
        "day.close",
        "Cerrar el día (reporte Z)",
        "Close the day (Z report)",
    ),
    (
        "day.confirm_title",
        "¿Cerrar la jornada fiscal?",
        "Close the fiscal day?",
    ),
    (
        "day.confirm_text",
        "El reporte Z cierra su jornada fiscal del {day} y no se puede deshacer: no podrá vender, anular ni emitir facturas hasta la próxima jornada. Cuadre la caja antes de continuar.",
        "The Z report closes your fiscal day of {day} and cannot be undone: you cannot sell, void or issue invoices until the next fiscal day. Count the cash before you go on.",
    ),
    (
        "day.confirm_yes",
        "Sí, emitir el reporte Z",
        "Yes, issue the Z report",
    ),
    ("day.confirm_no", "Cancelar", "Cancel"),
    ("day.closing", "Cerrando la jornada…", "Closing the day…"),
    ("day.history", "Reportes Z anteriores", "Earlier Z reports"),
    (
        "day.history_none",
        "No hay reportes Z de jornadas anteriores.",
        "There are no Z reports of earlier days.",
    ),
    (
        "day.history_more",
        "Se muestran los últimos {count} reportes Z.",
        "The last {count} Z reports are shown.",
    ),
    ("day.z_number", "Z N°", "Z No."),
    ("day.closed_at", "Emitido", "Issued"),
    ("day.invoices", "Facturas", "Invoices"),
    ("day.credit_notes", "Notas de crédito", "Credit notes"),
    ("day.net_bs", "Neto Bs.", "Net Bs."),
    ("day.net_usd", "Neto US$", "Net US$"),
    ("day.view", "Ver e imprimir", "View and print"),
    ("day.report_x", "REPORTE X", "X REPORT"),
    (
        "day.report_z",
        "REPORTE Z N° {number}",
        "Z REPORT No. {number}",
    ),
    (
        "day.report_x_note",
        "Reporte de lectura: no cierra la jornada.",
        "Read-only report: it does not close the day.",
    ),
    ("day.generated_at", "Emitido", "Issued"),
    ("day.count", "Cantidad", "Count"),
    (
        "day.base",
        "Base imponible {name} ({rate})",
        "Taxable base {name} ({rate})",
    ),
    ("day.tax", "{name} ({rate})", "{name} ({rate})"),
    ("day.exempt", "Exento (E)", "Exempt (E)"),
    ("day.igtf", "IGTF (3 %)", "IGTF (3 %)"),
    ("day.total", "Total sin IGTF", "Total without IGTF"),
    (
        "day.net",
        "Neto del día (facturas menos notas de crédito)",
        "Day's net (invoices minus credit notes)",
    ),
    (
        "day.payments",
        "Pagos por forma de pago",
        "Payments by method",
    ),
    ("day.payments_none", "Sin pagos.", "No payments."),
    ("day.amount", "Monto", "Amount"),
    ("day.series", "Numeración", "Numbering"),
    (
        "day.series_none",
        "No se emitieron documentos.",
        "No documents were issued.",
    ),
    (
        "day.series_range",
        "Serie {series}: N° {first} al {last}",
        "Series {series}: No. {first} to {last}",
    ),
    (
        "day.control_range",
        "Control {first} al {last}",
        "Control {first} to {last}",
    ),
    (
        "day.pending",
        "{count} documentos esperan su emisión; el reporte Z no se puede emitir hasta que se emitan.",
        "{count} documents are waiting to be issued; the Z report cannot be issued until they are.",
    ),
    ("day.kind.invoice", "Facturas", "Invoices"),
    ("day.kind.credit_note", "Notas de crédito", "Credit notes"),
    ("day.method.cash.USD", "Efectivo US$", "Cash US$"),
    ("day.method.cash.VES", "Efectivo Bs.", "Cash Bs."),
    ("day.method.card", "Punto de venta", "Card (point of sale)"),
    ("day.method.transfer", "Transferencia", "Bank transfer"),
    ("day.method.pago_movil", "Pago Móvil", "Pago Móvil"),
    ("day.method.zelle", "Zelle", "Zelle"),
    ("day.loading", "Cargando…", "Loading…"),
];

/// Roles that sell and so have a fiscal day of their own.
const DAY_ROLES: &[Role] = &[Role::Cashier, Role::TenantAdmin];

/// Z reports the page lists, newest first.
const MAX_LISTED_REPORTS: usize = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/caja", get(day_page))
}

#[derive(Deserialize)]
struct DayQuery {
    /// Id of the Z report the page script has just issued, to confirm it.
    z: Option<String>,
}

/// One row of the list of earlier Z reports.
struct ZRow {
    id: Uuid,
    number: i64,
    fiscal_day: String,
    closed_at: String,
    invoices: i64,
    credit_notes: i64,
    net_bs: String,
    net_usd: String,
}

#[derive(askama::Template)]
#[template(path = "web/day.html")]
struct DayTemplate {
    page: Page,
    fiscal_day: String,
    /// When the closed desk opens again (the start of the next fiscal day).
    closed_until: Option<String>,
    /// Number of today's Z report when the page script has just issued it.
    just_closed: Option<i64>,
    rows: Vec<ZRow>,
    /// A note that the list shows only the last [`MAX_LISTED_REPORTS`].
    more_reports: Option<String>,
    /// JSON for the page script: the X report and today's Z report, if any.
    data: String,
}

/// Formats a fiscal day as the page's language writes dates, as `day.js` does.
fn fiscal_day_text(day: chrono::NaiveDate, locale: crate::i18n::Locale) -> String {
    match locale {
        crate::i18n::Locale::Es => day.format("%d/%m/%Y").to_string(),
        crate::i18n::Locale::En => day.format("%m/%d/%Y").to_string(),
    }
}

/// Reads every Z report of `cashier_id` and returns today's, the last
/// [`MAX_LISTED_REPORTS`] before it (newest first) and whether there were more.
///
/// NOTE: the store lists Z reports oldest first, so this reads all of the
/// cashier's reports, one page of 100 at a time (about 4 pages a year).
async fn z_reports(
    state: &AppState,
    tenant_id: Uuid,
    cashier_id: Uuid,
    today: chrono::NaiveDate,
) -> Result<(Option<ZReport>, Vec<ZReport>, bool), ApiError> {
    let mut todays = None;
    let mut earlier = std::collections::VecDeque::new();
    let mut more = false;
    let mut after = None;
    loop {
        let page = state
            .store
            .list_z_reports(
                tenant_id,
                Some(cashier_id),
                PageRequest { limit: 100, after },
            )
            .await?;
        after = page.items.last().map(|report| report.id);
        for report in page.items {
            if report.fiscal_day == today {
                todays = Some(report);
                continue;
            }
            earlier.push_back(report);
            if earlier.len() > MAX_LISTED_REPORTS {
                earlier.pop_front();
                more = true;
            }
        }
        if page.next_cursor.is_none() {
            break;
        }
    }
    let mut earlier: Vec<ZReport> = earlier.into();
    earlier.reverse();
    Ok((todays, earlier, more))
}

fn z_row(page: &Page, report: &ZReport) -> ZRow {
    ZRow {
        id: report.id,
        number: report.number,
        fiscal_day: fiscal_day_text(report.fiscal_day, page.locale),
        closed_at: page.date_time(&report.closed_at),
        invoices: report.totals.invoices.count,
        credit_notes: report.totals.credit_notes.count,
        net_bs: page.money(&decimal(report.totals.net_total_bs_cents), "VES"),
        net_usd: page.money(&decimal(report.totals.net_total_usd_cents), "USD"),
    }
}

async fn day_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DayQuery>,
) -> Response {
    if !user.is(DAY_ROLES) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let totals: FiscalDayTotals = match state
        .store
        .fiscal_day_totals(user.tenant_id, Some(user.user.id), None)
        .await
    {
        Ok(totals) => totals,
        Err(error) => return error_page(user.locale, error.into()),
    };
    let (todays, earlier, more_reports) =
        match z_reports(&state, user.tenant_id, user.user.id, totals.fiscal_day).await {
            Ok(reports) => reports,
            Err(error) => return error_page(user.locale, error),
        };

    let page = Page::for_user(&user, "/app/caja");
    // A closed day opens again when the next fiscal day starts.
    let closed_until: Option<DateTime<Utc>> = todays.as_ref().map(|report| report.totals.to);
    let just_closed = todays
        .as_ref()
        .filter(|report| query.z.as_deref() == Some(report.id.to_string().as_str()))
        .map(|report| report.number);
    let data = serde_json::json!({
        "cashier": user.user.username,
        "x": totals,
        "z": todays,
    });
    let template = DayTemplate {
        fiscal_day: fiscal_day_text(totals.fiscal_day, page.locale),
        closed_until: closed_until.map(|instant| page.date_time(&instant)),
        just_closed,
        rows: earlier.iter().map(|report| z_row(&page, report)).collect(),
        more_reports: more_reports.then(|| {
            page.t("day.history_more")
                .replace("{count}", &MAX_LISTED_REPORTS.to_string())
        }),
        data: text::json_for_script(&data),
        page,
    };
    render(&template, StatusCode::OK)
}
