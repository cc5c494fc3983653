//! The cashier's screens: the event picker and the sale screen of an event.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use taquilla_store::model::{Event, ExchangeRateRecord, PageRequest, Role};
use uuid::Uuid;

use super::page::{Page, error_page, render};
use super::session::WebUser;
use super::text::{TextTable, decimal, json_for_script};
use crate::error::ApiError;
use crate::state::AppState;

pub const TEXT: TextTable = &[
    ("cashier.title", "Venta en taquilla", "Box office sale"),
    ("cashier.back", "Otros eventos", "Other events"),
    ("cashier.zones", "Zonas", "Zones"),
    ("cashier.zone_price", "Precio", "Price"),
    ("cashier.zone_left", "Quedan", "Left"),
    ("cashier.zone_stage", "Etapa", "Stage"),
    (
        "cashier.zone_numbered",
        "Asientos numerados",
        "Numbered seats",
    ),
    (
        "cashier.zone_general",
        "Entrada general",
        "General admission",
    ),
    ("cashier.zone_sold_out", "Agotado", "Sold out"),
    (
        "cashier.no_zones",
        "Este evento no tiene zonas.",
        "This event has no zones.",
    ),
    (
        "cashier.pick_zone",
        "Elija una zona para vender.",
        "Choose a zone to sell.",
    ),
    ("cashier.rate", "Tasa BCV del día", "BCV rate of the day"),
    (
        "cashier.rate_order",
        "Tasa BCV aplicada",
        "BCV rate applied",
    ),
    (
        "cashier.rate_value",
        "Bs. {rate} por US$ (fecha valor {date})",
        "Bs. {rate} per US$ (value date {date})",
    ),
    (
        "cashier.rate_missing",
        "No hay tasa BCV registrada para hoy. Un administrador debe cargarla antes de vender.",
        "No BCV rate is recorded for today. An administrator must enter it before selling.",
    ),
    ("cashier.map", "Mapa de asientos", "Seat map"),
    (
        "cashier.map_help",
        "Haga clic en un asiento, o use las flechas y Enter o Espacio para elegirlo.",
        "Click a seat, or use the arrow keys and Enter or Space to choose it.",
    ),
    ("cashier.stage_side", "Tarima", "Stage"),
    ("cashier.legend", "Leyenda", "Legend"),
    ("cashier.seat_free", "Libre", "Free"),
    ("cashier.seat_held", "Apartado", "Held"),
    ("cashier.seat_sold", "Vendido", "Sold"),
    ("cashier.seat_table", "Mesa", "Table"),
    ("cashier.seat_selected", "Su selección", "Your selection"),
    ("cashier.seat_mine", "Apartado por usted", "Held by you"),
    (
        "cashier.seat_label",
        "Fila {row}, asiento {number}: {status}",
        "Row {row}, seat {number}: {status}",
    ),
    (
        "cashier.seat_label_table",
        "Fila {row}, asiento {number}, {table}: {status}",
        "Row {row}, seat {number}, {table}: {status}",
    ),
    ("cashier.selection", "Asientos elegidos", "Seats chosen"),
    (
        "cashier.selection_none",
        "Ningún asiento elegido.",
        "No seat chosen.",
    ),
    (
        "cashier.selection_item",
        "Fila {row}, asiento {number}",
        "Row {row}, seat {number}",
    ),
    ("cashier.clear", "Quitar selección", "Clear selection"),
    (
        "cashier.too_many",
        "Se pueden apartar hasta {count} asientos a la vez.",
        "At most {count} seats can be held at once.",
    ),
    (
        "cashier.quantity",
        "Cantidad de entradas",
        "Number of tickets",
    ),
    ("cashier.hold", "Apartar", "Hold"),
    ("cashier.hold_title", "Apartado", "Hold"),
    (
        "cashier.hold_expires",
        "Vence en {time}",
        "Expires in {time}",
    ),
    (
        "cashier.hold_expired",
        "El apartado venció. Elija de nuevo.",
        "The hold expired. Choose again.",
    ),
    (
        "cashier.hold_released",
        "Se liberó el apartado.",
        "The hold was released.",
    ),
    ("cashier.hold_quote", "Precio estimado", "Estimated price"),
    ("cashier.release", "Liberar", "Release"),
    (
        "cashier.hold_units",
        "{count} entrada(s)",
        "{count} ticket(s)",
    ),
    (
        "cashier.seats_lost",
        "Estos asientos que había elegido se vendieron o apartaron en otra caja: {seats}.",
        "These seats you had chosen were sold or held at another desk: {seats}.",
    ),
    ("cashier.customer", "Cliente", "Customer"),
    ("cashier.document", "Cédula o RIF", "Cédula or RIF"),
    ("cashier.search", "Buscar", "Search"),
    (
        "cashier.customer_not_found",
        "No hay cliente con ese documento. Regístrelo abajo.",
        "No customer has that document. Register them below.",
    ),
    ("cashier.customer_new", "Cliente nuevo", "New customer"),
    ("cashier.first_name", "Nombre", "First name"),
    ("cashier.last_name", "Apellido", "Last name"),
    ("cashier.phone", "Teléfono", "Phone"),
    ("cashier.email", "Correo electrónico", "E-mail"),
    (
        "cashier.save_customer",
        "Registrar cliente",
        "Register customer",
    ),
    (
        "cashier.customer_chosen",
        "Cliente: {name} ({document})",
        "Customer: {name} ({document})",
    ),
    (
        "cashier.customer_change",
        "Cambiar cliente",
        "Change customer",
    ),
    ("cashier.no_document", "sin documento", "no document"),
    (
        "cashier.create_order",
        "Calcular total",
        "Work out the total",
    ),
    ("cashier.order", "Orden", "Order"),
    ("cashier.subtotal", "Subtotal", "Subtotal"),
    ("cashier.exempt", "Exento (E)", "Exempt (E)"),
    ("cashier.iva", "IVA", "IVA"),
    ("cashier.total", "Total a pagar", "Total to pay"),
    ("cashier.igtf", "IGTF", "IGTF"),
    ("cashier.paid", "Pagado", "Paid"),
    ("cashier.due", "Falta por pagar", "Still due"),
    ("cashier.change", "Vuelto", "Change"),
    ("cashier.payment", "Pago", "Payment"),
    ("cashier.payments", "Pagos registrados", "Payments recorded"),
    ("cashier.method", "Forma de pago", "Payment method"),
    ("cashier.method_cash", "Efectivo", "Cash"),
    ("cashier.method_card", "Punto de venta", "Card terminal"),
    ("cashier.method_transfer", "Transferencia", "Bank transfer"),
    ("cashier.method_pago_movil", "Pago Móvil", "Pago Móvil"),
    ("cashier.currency", "Moneda", "Currency"),
    ("cashier.currency_usd", "Dólares (US$)", "Dollars (US$)"),
    ("cashier.currency_ves", "Bolívares (Bs.)", "Bolívars (Bs.)"),
    ("cashier.amount", "Monto recibido", "Amount received"),
    (
        "cashier.amount_invalid",
        "Escriba un monto mayor que cero, con dos decimales como máximo.",
        "Enter an amount above zero, with at most two decimals.",
    ),
    ("cashier.change_currency", "Vuelto en", "Change in"),
    ("cashier.bank", "Banco", "Bank"),
    ("cashier.bank_choose", "Elija el banco", "Choose the bank"),
    ("cashier.reference", "Referencia", "Reference"),
    (
        "cashier.payer_phone",
        "Teléfono del pagador",
        "Payer's phone",
    ),
    (
        "cashier.payer_document",
        "Cédula o RIF del pagador",
        "Payer's cédula or RIF",
    ),
    ("cashier.add_payment", "Registrar pago", "Record payment"),
    (
        "cashier.payment_line",
        "{method} {currency}: {amount}",
        "{method} {currency}: {amount}",
    ),
    (
        "cashier.payment_igtf",
        "IGTF cobrado: {amount}",
        "IGTF charged: {amount}",
    ),
    (
        "cashier.payment_change",
        "Vuelto: {amount}",
        "Change: {amount}",
    ),
    ("cashier.sold", "Venta completada.", "Sale completed."),
    (
        "cashier.sold_change",
        "Venta completada. Entregue el vuelto: {amount}.",
        "Sale completed. Hand over the change: {amount}.",
    ),
    (
        "cashier.receipt",
        "Ver recibo e imprimir",
        "View and print the receipt",
    ),
    ("cashier.new_sale", "Nueva venta", "New sale"),
    (
        "cashier.sale_resumed",
        "Se recuperó la venta en curso de esta pestaña.",
        "The sale in progress in this tab was brought back.",
    ),
    ("cashier.cancel_order", "Anular orden", "Cancel order"),
    (
        "cashier.cancel_confirm",
        "¿Anular la orden y liberar sus asientos?",
        "Cancel the order and release its seats?",
    ),
    (
        "cashier.order_cancelled",
        "Se anuló la orden y se liberaron los asientos.",
        "The order was cancelled and its seats released.",
    ),
    ("cashier.working", "Procesando…", "Working…"),
    (
        "cashier.field_error",
        "Revise este campo.",
        "Check this field.",
    ),
    (
        "cashier.network_error",
        "No hay conexión con el servidor. Revise la red e intente de nuevo.",
        "The server cannot be reached. Check the network and try again.",
    ),
];

/// Events a picker lists at most; a tenant rarely has more on sale at once.
const MAX_PICKER_EVENTS: usize = 500;

/// Exchange rates read at most to find the rate of the day, oldest first.
const MAX_RATE_PAGES: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/taquilla", get(event_picker))
        .route("/app/taquilla/{event_id}", get(sale_screen))
}

/// Roles that sell at the box office.
pub const SELLERS: &[Role] = &[Role::Cashier, Role::TenantAdmin];

#[derive(askama::Template)]
#[template(path = "web/events.html")]
struct EventsTemplate {
    page: Page,
    events: Vec<Event>,
}

/// Returns the tenant's events that are on sale, soonest first.
pub async fn events_on_sale(state: &AppState, user: &WebUser) -> Result<Vec<Event>, ApiError> {
    let mut events = super::tenant_events(
        state,
        user.tenant_id,
        |event| event.status == "active",
        Some(MAX_PICKER_EVENTS),
    )
    .await?;
    events.sort_by_key(|event| event.starts_at);
    Ok(events)
}

async fn event_picker(State(state): State<AppState>, user: WebUser) -> Response {
    if !user.is(SELLERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let events = match events_on_sale(&state, &user).await {
        Ok(events) => events,
        Err(error) => return error_page(user.locale, error),
    };
    let template = EventsTemplate {
        page: Page::for_user(&user, "/app/taquilla"),
        events,
    };
    render(&template, StatusCode::OK)
}

/// A zone as the sale screen lists it: its price now and what is left.
pub struct ZoneOffer {
    pub id: Uuid,
    pub name: String,
    pub numbered: bool,
    /// The zone's price now (base and current stage), as a decimal string.
    pub price_usd: String,
    pub stage: Option<String>,
    pub available: i64,
    pub capacity: i64,
}

#[derive(askama::Template)]
#[template(path = "web/sale.html")]
struct SaleTemplate {
    page: Page,
    event: Event,
    zones: Vec<ZoneOffer>,
    rate: Option<ExchangeRateRecord>,
    /// JSON for the page script: event, zones and the limits of a hold.
    data: String,
}

impl SaleTemplate {
    /// Returns the texts of the page script, as JSON.
    fn script_texts(&self) -> String {
        self.page.script_texts(&["cashier.", "common."])
    }

    /// Returns the rate of the day as `Bs. 36,12345678 por US$ (fecha valor 04/12/2026)`.
    fn rate_line(&self) -> Option<String> {
        let rate = self.rate.as_ref()?;
        let value = match self.page.locale {
            crate::i18n::Locale::Es => rate.rate.replace('.', ","),
            crate::i18n::Locale::En => rate.rate.clone(),
        };
        let date = match self.page.locale {
            crate::i18n::Locale::Es => rate.effective_date.format("%d/%m/%Y"),
            crate::i18n::Locale::En => rate.effective_date.format("%m/%d/%Y"),
        };
        Some(
            self.page
                .t("cashier.rate_value")
                .replace("{rate}", &value)
                .replace("{date}", &date.to_string()),
        )
    }
}

/// The part of a zone's availability the zone list shows.
#[derive(Deserialize)]
struct ZoneCounts {
    price_usd_cents: i64,
    stage: Option<StageName>,
    available: i64,
    capacity: i64,
}

#[derive(Deserialize)]
struct StageName {
    name: String,
}

/// Reads a zone's counts from the cache entry that
/// `GET /api/v1/zones/{id}/availability` serves, so the page and its seat-map
/// reads count the zone once between changes.
async fn zone_counts(
    state: &AppState,
    tenant_id: Uuid,
    event_id: Uuid,
    zone_id: Uuid,
) -> Result<ZoneCounts, ApiError> {
    state
        .cache
        .remember_zone_event(tenant_id, zone_id, event_id);
    let body = state
        .cache
        .get_or_load(
            crate::cache::Group::event(tenant_id, event_id),
            &crate::cache::availability_field(zone_id),
            || async {
                let availability = state.store.zone_availability(tenant_id, zone_id).await?;
                Ok::<_, ApiError>(crate::cache::json_bytes(&availability)?)
            },
        )
        .await?;
    serde_json::from_slice(&body).map_err(|error| ApiError::Internal(error.into()))
}

/// Returns the rate new orders of `event` take: the event's pinned rate, else
/// the latest uncorrected rate whose value date is today or earlier in Caracas.
async fn rate_of_the_day(
    state: &AppState,
    tenant_id: Uuid,
    event: &Event,
) -> Result<Option<ExchangeRateRecord>, ApiError> {
    let today = taquilla_domain::fiscal::caracas_date(state.clock.now());
    let mut pinned = None;
    let mut latest: Option<ExchangeRateRecord> = None;
    let mut after = None;
    // NOTE: the store lists rates oldest first and has no lookup of the current
    // one. This reads the list page by page, and orders show the rate they froze.
    for _ in 0..MAX_RATE_PAGES {
        let page = state
            .store
            .list_exchange_rates(tenant_id, PageRequest { limit: 100, after })
            .await?;
        after = page.items.last().map(|rate| rate.id);
        for rate in page.items {
            if Some(rate.id) == event.pinned_rate_id {
                pinned = Some(rate.clone());
            }
            if rate.currency != "USD" || rate.superseded || rate.effective_date > today {
                continue;
            }
            let newer = latest.as_ref().is_none_or(|current| {
                (rate.effective_date, rate.id) > (current.effective_date, current.id)
            });
            if newer {
                latest = Some(rate);
            }
        }
        if page.next_cursor.is_none() {
            break;
        }
    }
    Ok(pinned.or(latest))
}

async fn sale_screen(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
) -> Response {
    if !user.is(SELLERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let Ok(event_id) = Uuid::parse_str(&event_id) else {
        return error_page(user.locale, ApiError::NotFound("event"));
    };
    match load_sale_screen(&state, &user, event_id).await {
        Ok(template) => render(&template, StatusCode::OK),
        Err(error) => error_page(user.locale, error),
    }
}

async fn load_sale_screen(
    state: &AppState,
    user: &WebUser,
    event_id: Uuid,
) -> Result<SaleTemplate, ApiError> {
    let tenant_id = user.tenant_id;
    let event = state.store.get_event(tenant_id, event_id).await?;
    let zones = crate::http::catalogue::all_zones(state, tenant_id, event_id).await?;
    let mut offers = Vec::with_capacity(zones.len());
    for zone in zones {
        let counts = zone_counts(state, tenant_id, event_id, zone.id).await?;
        offers.push(ZoneOffer {
            id: zone.id,
            name: zone.name,
            numbered: zone.kind == "numbered",
            price_usd: decimal(counts.price_usd_cents),
            stage: counts.stage.map(|stage| stage.name),
            available: counts.available,
            capacity: counts.capacity,
        });
    }
    let rate = rate_of_the_day(state, tenant_id, &event).await?;
    let data = json!({
        "event_id": event.id,
        "event_status": event.status,
        "max_units": crate::http::sales::MAX_UNITS_PER_HOLD,
        "zones": offers.iter().map(|zone| json!({
            "id": zone.id,
            "name": zone.name,
            "numbered": zone.numbered,
        })).collect::<Vec<_>>(),
    });
    let page = Page::for_user(user, &format!("/app/taquilla/{event_id}"));
    Ok(SaleTemplate {
        page,
        event,
        zones: offers,
        rate,
        data: json_for_script(&data),
    })
}
