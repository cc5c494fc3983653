//! The receipt of a sale as a print view for 80 mm paper: the invoice with its
//! fiscal numbers, the payments and change, and the tickets with their QR codes.
//!
//! The invoice and tickets reuse the blocks of [`crate::print`], so the page
//! shows the same text as the API's print views and PDFs.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use taquilla_store::model::{Order, Payment};
use uuid::Uuid;

use super::cashier::SELLERS;
use super::page::{Page, error_page, render};
use super::session::WebUser;
use super::text::decimal;
use super::text::{self, TextTable};
use crate::error::ApiError;
use crate::i18n::Locale;
use crate::state::AppState;

pub const TEXT: TextTable = &[
    ("receipt.title", "Recibo", "Receipt"),
    ("receipt.print", "Imprimir", "Print"),
    ("receipt.back", "Volver a la venta", "Back to the sale"),
    ("receipt.invoice", "Factura", "Invoice"),
    ("receipt.tickets", "Entradas", "Tickets"),
    ("receipt.change", "Vuelto entregado", "Change given"),
    ("receipt.no_change", "Sin vuelto", "No change"),
    (
        "receipt.invoice_pending",
        "La factura de esta orden está en cola de emisión; imprímala cuando se emita.",
        "This order's invoice is queued for issue; print it once it is issued.",
    ),
    (
        "receipt.not_paid",
        "Esta orden no está pagada: no tiene factura ni entradas.",
        "This order is not paid: it has no invoice and no tickets.",
    ),
    ("receipt.order_total", "Total de la orden", "Order total"),
    ("receipt.status", "Estado", "Status"),
    (
        "receipt.status_pending",
        "Pendiente de pago",
        "Awaiting payment",
    ),
    ("receipt.status_paid", "Pagada", "Paid"),
    ("receipt.status_cancelled", "Anulada", "Cancelled"),
    ("receipt.status_expired", "Vencida", "Expired"),
    (
        "receipt.status_voided",
        "Anulada con nota de crédito",
        "Voided with a credit note",
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/recibo/{order_id}", get(receipt_page))
}

#[derive(askama::Template)]
#[template(path = "web/receipt.html")]
struct ReceiptTemplate {
    page: Page,
    order: Order,
    /// The invoice's blocks as HTML, escaped by [`crate::print::html`].
    invoice_html: Option<String>,
    /// One `<section class="ticket">` per ticket, escaped by [`crate::print::html`].
    tickets_html: Option<String>,
    /// Change handed back on each cash payment that gave some, formatted.
    change: Vec<String>,
}

impl ReceiptTemplate {
    fn status_text(&self) -> std::borrow::Cow<'static, str> {
        self.page
            .t(&format!("receipt.status_{}", self.order.status))
    }

    fn total_usd(&self) -> String {
        self.page.money(&decimal(self.order.total_usd_cents), "USD")
    }

    fn total_bs(&self) -> String {
        self.page.money(&decimal(self.order.total_bs_cents), "VES")
    }
}

/// Returns the change of each cash payment that gave some, as `US$ 5,00`.
fn change_lines(payments: &[Payment], locale: Locale) -> Vec<String> {
    payments
        .iter()
        .filter(|payment| payment.change_cents > 0)
        .map(|payment| {
            let currency = payment
                .change_currency
                .as_deref()
                .unwrap_or(payment.currency.as_str());
            text::money(&decimal(payment.change_cents), currency, locale)
        })
        .collect()
}

async fn receipt_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(order_id): Path<String>,
) -> Response {
    if !user.is(SELLERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let Ok(order_id) = Uuid::parse_str(&order_id) else {
        return error_page(user.locale, ApiError::NotFound("order"));
    };
    match load_receipt(&state, &user, order_id).await {
        Ok(template) => render(&template, StatusCode::OK),
        Err(error) => error_page(user.locale, error),
    }
}

async fn load_receipt(
    state: &AppState,
    user: &WebUser,
    order_id: Uuid,
) -> Result<ReceiptTemplate, ApiError> {
    let principal = user.principal();
    // The store reads orders of the session's tenant only, so another
    // tenant's order id is not found.
    let order = state.store.get_order(user.tenant_id, order_id).await?;

    let invoice_html = match &order.invoice {
        Some(invoice) => {
            let print =
                crate::http::print::load_document(state, &principal, invoice.id, None).await?;
            Some(crate::print::html::document_blocks(&print).map_err(ApiError::internal)?)
        }
        None => None,
    };
    let tickets_html = match crate::http::print::load_tickets(state, &principal, order_id).await {
        Ok((_, tickets)) => {
            Some(crate::print::html::ticket_sections(&tickets).map_err(ApiError::internal)?)
        }
        // An unpaid order has no tickets yet.
        Err(ApiError::NotFound(_)) => None,
        Err(error) => return Err(error),
    };
    let change = change_lines(&order.payments, user.locale);
    Ok(ReceiptTemplate {
        page: Page::for_user(user, &format!("/app/recibo/{order_id}")),
        order,
        invoice_html,
        tickets_html,
        change,
    })
}
