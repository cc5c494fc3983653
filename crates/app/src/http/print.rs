//! Printable fiscal documents and tickets: HTML for 80 mm thermal paper and A4 PDF.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taquilla_store::model::{FiscalDocument, Order, OrderLine, Role, Ticket};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, IdPath, NoQuery};
use crate::print::ticket::{TicketPlace, TicketPrice};
use crate::print::{self, DocumentPrint, TicketPrint};
use crate::state::AppState;

/// Roles that may print: the same that may read fiscal documents and tickets.
const PRINT_ROLES: &[Role] = &[Role::TenantAdmin, Role::Cashier, Role::ApiClient];

/// Allows nothing but inline styles, because the QR codes are inline SVG elements.
const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrintQuery {
    /// `true` prints the copy, with the legend «sin derecho a crédito fiscal».
    /// The original (the default) omits it.
    pub copy: Option<bool>,
}

/// Shows a fiscal document as HTML for 80 mm thermal paper.
#[utoipa::path(get, path = "/api/v1/fiscal/documents/{id}/print", tag = "fiscal",
    params(("id" = Uuid, Path), PrintQuery),
    responses((status = 200, content_type = "text/html", description = "the document, 80 mm wide"), (status = 404)),
    security(("bearer" = [])))]
pub async fn document_html(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<PrintQuery>,
) -> ApiResult<Response> {
    let print = load_document(&state, &principal, id, query.copy).await?;
    let page = print::html::document(&print).map_err(ApiError::internal)?;
    Ok(html_response(page))
}

/// Returns a fiscal document as an A4 PDF.
#[utoipa::path(get, path = "/api/v1/fiscal/documents/{id}/pdf", tag = "fiscal",
    params(("id" = Uuid, Path), PrintQuery),
    responses((status = 200, content_type = "application/pdf", description = "the document on A4"), (status = 404)),
    security(("bearer" = [])))]
pub async fn document_pdf(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<PrintQuery>,
) -> ApiResult<Response> {
    let print = load_document(&state, &principal, id, query.copy).await?;
    let file_name = print.file_name();
    let pdf = render_blocking(move || print::pdf::document(&print)).await?;
    Ok(pdf_response(pdf, &file_name))
}

/// Shows the tickets of a paid order as HTML for 80 mm paper, one per page.
#[utoipa::path(get, path = "/api/v1/orders/{id}/tickets/print", tag = "gate",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", description = "the tickets, 80 mm wide"),
        (status = 404, description = "the order does not exist or has no tickets yet")),
    security(("bearer" = [])))]
pub async fn tickets_html(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(order_id): IdPath,
) -> ApiResult<Response> {
    let (title, tickets) = load_tickets(&state, &principal, order_id).await?;
    let page = print::html::tickets(&title, &tickets).map_err(ApiError::internal)?;
    Ok(html_response(page))
}

/// Returns the tickets of a paid order as an A4 PDF with their QR codes.
#[utoipa::path(get, path = "/api/v1/orders/{id}/tickets/pdf", tag = "gate",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", description = "the tickets on A4"),
        (status = 404, description = "the order does not exist or has no tickets yet")),
    security(("bearer" = [])))]
pub async fn tickets_pdf(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(order_id): IdPath,
) -> ApiResult<Response> {
    let (title, tickets) = load_tickets(&state, &principal, order_id).await?;
    let file_name = format!("entradas-{order_id}.pdf");
    let pdf = render_blocking(move || print::pdf::tickets(&title, &tickets)).await?;
    Ok(pdf_response(pdf, &file_name))
}

pub(crate) async fn load_document(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    copy: Option<bool>,
) -> ApiResult<DocumentPrint> {
    principal.require(PRINT_ROLES)?;
    let document: FiscalDocument = state
        .store
        .get_fiscal_document(principal.tenant()?, id)
        .await?;
    DocumentPrint::from_document(&document, copy.unwrap_or(false)).map_err(|error| {
        tracing::error!(event = "print_failed", fiscal_document.id = %id, error = %error, "printing a fiscal document failed");
        ApiError::internal(error)
    })
}

/// Gathers what each ticket of an order shows, in the order the tickets were issued.
pub(crate) async fn load_tickets(
    state: &AppState,
    principal: &Principal,
    order_id: Uuid,
) -> ApiResult<(String, Vec<TicketPrint>)> {
    principal.require(PRINT_ROLES)?;
    let tenant_id = principal.tenant()?;
    let order = state.store.get_order(tenant_id, order_id).await?;
    let tickets = state.store.list_tickets(tenant_id, order_id).await?;
    if tickets.is_empty() {
        // Tickets are issued when the order is paid in full.
        return Err(ApiError::NotFound("tickets"));
    }
    let tenant = state.store.get_tenant(tenant_id).await?;
    let event = state.store.get_event(tenant_id, order.event_id).await?;
    let venue = state.store.get_venue(tenant_id, event.venue_id).await?;

    let mut zones = HashMap::new();
    let mut seats: HashMap<Uuid, (String, i64)> = HashMap::new();
    for ticket in &tickets {
        if zones.contains_key(&ticket.zone_id) {
            continue;
        }
        let zone = state.store.get_zone(tenant_id, ticket.zone_id).await?;
        if zone.kind == "numbered" {
            // NOTE: this reads every seat of the zone to label a few tickets,
            // because the store has no lookup of seats by id.
            let availability = state.store.zone_availability(tenant_id, zone.id).await?;
            seats.extend(
                availability
                    .seats
                    .into_iter()
                    .map(|seat| (seat.id, (seat.row, seat.number))),
            );
        }
        zones.insert(zone.id, zone);
    }

    let invoice = order
        .invoice
        .as_ref()
        .map(|invoice| format!("FACTURA Serie {} N° {:08}", invoice.series, invoice.number));
    let venue_address = [venue.address.as_str(), venue.city.as_str()]
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let prices = ticket_prices(&order, &tickets);
    let count = tickets.len();
    let prints = tickets
        .into_iter()
        .zip(prices)
        .enumerate()
        .map(|(index, (ticket, price))| {
            let place = match ticket.seat_id.and_then(|seat_id| seats.get(&seat_id)) {
                Some((row, number)) => TicketPlace::Seat {
                    row: row.clone(),
                    number: *number,
                },
                None => TicketPlace::GeneralAdmission,
            };
            TicketPrint {
                organizer: tenant.name.clone(),
                event_name: event.name.clone(),
                venue_name: venue.name.clone(),
                venue_address: venue_address.clone(),
                starts_at: event.starts_at,
                zone_name: zones
                    .get(&ticket.zone_id)
                    .map(|zone| zone.name.clone())
                    .unwrap_or_default(),
                place,
                price,
                cancelled: ticket.status == "cancelled",
                max_uses: ticket.max_uses,
                code: ticket.code,
                qr_payload: ticket.qr_payload,
                invoice: invoice.clone(),
                position: (index + 1, count),
            }
        })
        .collect();
    Ok((format!("Entradas — {}", event.name), prints))
}

/// Matches each ticket with the order line it was issued for: a seat's line by
/// seat, and general-admission units in line order, as the sale issues them.
fn ticket_prices(order: &Order, tickets: &[Ticket]) -> Vec<Option<TicketPrice>> {
    let price_of = |line: &OrderLine| TicketPrice {
        unit_usd_cents: line.unit_price_usd_cents,
        tax_basis_points: line.tax_basis_points,
        exempt: line.exempt,
        courtesy: line.courtesy,
    };
    let mut units = order
        .lines
        .iter()
        .filter(|line| line.seat_id.is_none())
        .flat_map(|line| std::iter::repeat_n(line, line.quantity.max(0) as usize));
    tickets
        .iter()
        .map(|ticket| match ticket.seat_id {
            Some(seat_id) => order
                .lines
                .iter()
                .find(|line| line.seat_id == Some(seat_id))
                .map(price_of),
            None => units.next().map(price_of),
        })
        .collect()
}

/// Runs CPU-bound PDF writing off the async workers.
async fn render_blocking(
    render: impl FnOnce() -> Result<Vec<u8>, print::PrintError> + Send + 'static,
) -> ApiResult<Vec<u8>> {
    tokio::task::spawn_blocking(render)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

fn html_response(page: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                HTML_CONTENT_SECURITY_POLICY,
            ),
            (header::CONTENT_LANGUAGE, "es-VE"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page,
    )
        .into_response()
}

/// `file_name` must be a plain ASCII name, as [`DocumentPrint::file_name`] returns.
fn pdf_response(pdf: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        pdf,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn line(seat: Option<u128>, quantity: i64, unit_usd_cents: i64) -> serde_json::Value {
        json!({
            "line_number": 1,
            "zone_id": Uuid::from_u128(9),
            "seat_id": seat.map(Uuid::from_u128),
            "description": "Zona",
            "quantity": quantity,
            "unit_price_usd_cents": unit_usd_cents,
            "total_usd_cents": unit_usd_cents * quantity,
            "total_bs_cents": 0,
            "tax_basis_points": 1_600,
        })
    }

    fn ticket(seat: Option<u128>) -> Ticket {
        Ticket {
            id: Uuid::now_v7(),
            code: "CODE".to_string(),
            order_id: Uuid::from_u128(1),
            event_id: Uuid::from_u128(2),
            zone_id: Uuid::from_u128(9),
            seat_id: seat.map(Uuid::from_u128),
            status: "valid".to_string(),
            uses: 0,
            max_uses: 1,
            first_used_at: None,
            first_gate: None,
            qr_payload: "TQ1.CODE.sig".to_string(),
            created_at: chrono::Utc::now(),
        }
    }

    fn order(lines: Vec<serde_json::Value>) -> Order {
        let rate = json!({ "id": Uuid::from_u128(3), "rate": "36.00000000", "rate_scaled": 3_600_000_000_i64, "effective_date": "2026-12-04" });
        serde_json::from_value(json!({
            "id": Uuid::from_u128(1), "hold_id": Uuid::from_u128(4), "customer_id": Uuid::from_u128(5),
            "event_id": Uuid::from_u128(2), "status": "paid", "exchange_rate": rate, "lines": lines,
            "taxes": [], "subtotal_usd_cents": 0, "tax_usd_cents": 0, "total_usd_cents": 0,
            "subtotal_bs_cents": 0, "tax_bs_cents": 0, "total_bs_cents": 0, "paid_bs_cents": 0,
            "balance_bs_cents": 0, "balance_usd_cents": 0, "rounding_bs_cents": 0,
            "payment_deadline": "2026-12-04T12:00:00Z", "payments": [], "invoice": null,
            "credit_note": null, "created_at": "2026-12-04T11:00:00Z", "completed_at": null,
        }))
        .expect("a valid order")
    }

    #[test]
    fn seat_tickets_take_their_seat_line_price() {
        let order = order(vec![line(Some(11), 1, 4_000), line(Some(12), 1, 4_500)]);
        let prices = ticket_prices(&order, &[ticket(Some(12)), ticket(Some(11))]);
        let units: Vec<Option<i64>> = prices
            .iter()
            .map(|price| price.as_ref().map(|price| price.unit_usd_cents))
            .collect();
        assert_eq!(units, vec![Some(4_500), Some(4_000)]);
    }

    #[test]
    fn general_admission_units_follow_line_order() {
        // Two stages: 2 units at US$ 20 then 1 at US$ 25.
        let order = order(vec![line(None, 2, 2_000), line(None, 1, 2_500)]);
        let tickets = [ticket(None), ticket(None), ticket(None), ticket(None)];
        let units: Vec<Option<i64>> = ticket_prices(&order, &tickets)
            .iter()
            .map(|price| price.as_ref().map(|price| price.unit_usd_cents))
            .collect();
        assert_eq!(units, vec![Some(2_000), Some(2_000), Some(2_500), None]);
    }
}
