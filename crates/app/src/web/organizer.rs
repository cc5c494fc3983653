//! The organiser's screens under `/app/organizador`, for tenant admins only:
//! the sales dashboard of an event and the pages that manage venues, events
//! and their zones and price stages, exchange rates and users.
//!
//! The dashboard is drawn on the server from the store. The management pages
//! list from the store too, and their forms call the JSON API from
//! `organizer.js`, so the API's validation applies unchanged.

mod dashboard;
mod manage;

use axum::Router;
use axum::routing::get;
use taquilla_store::model::{Event, Role};

use super::session::WebUser;
use super::text::TextTable;
use crate::error::ApiError;
use crate::state::AppState;

/// Events a selector lists at most, newest first.
const MAX_LISTED_EVENTS: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/organizador", get(dashboard::dashboard))
        .route("/app/organizador/recintos", get(manage::venues))
        .route("/app/organizador/eventos", get(manage::events))
        .route("/app/organizador/eventos/{event_id}", get(manage::event))
        .route("/app/organizador/tasas", get(manage::rates))
        .route("/app/organizador/usuarios", get(manage::users))
}

/// Roles that open the organiser's pages; others get the forbidden page.
const ORGANIZERS: &[Role] = &[Role::TenantAdmin];

/// Returns up to [`MAX_LISTED_EVENTS`] of the tenant's events, newest first.
async fn all_events(state: &AppState, user: &WebUser) -> Result<Vec<Event>, ApiError> {
    let mut events =
        super::tenant_events(state, user.tenant_id, |_| true, Some(MAX_LISTED_EVENTS)).await?;
    events.sort_by_key(|event| std::cmp::Reverse(event.starts_at));
    Ok(events)
}

/// Texts of the organiser's pages.
pub const TEXT: TextTable = &[
    (
        "organizer.title",
        "Panel del organizador",
        "Organiser dashboard",
    ),
    ("organizer.nav.dashboard", "Ventas", "Sales"),
    ("organizer.nav.venues", "Recintos", "Venues"),
    ("organizer.nav.events", "Eventos", "Events"),
    ("organizer.nav.rates", "Tasa BCV", "BCV rate"),
    ("organizer.nav.users", "Usuarios", "Users"),
    (
        "organizer.nav.label",
        "Secciones del organizador",
        "Organiser sections",
    ),
    ("organizer.event", "Evento", "Event"),
    ("organizer.show", "Ver", "Show"),
    (
        "organizer.no_events",
        "Todavía no hay eventos. Cree un recinto y luego un evento.",
        "There are no events yet. Create a venue, then an event.",
    ),
    (
        "organizer.tickets_sold",
        "Entradas vendidas",
        "Tickets sold",
    ),
    ("organizer.orders_paid", "Órdenes pagadas", "Paid orders"),
    ("organizer.revenue_usd", "Ingresos en US$", "Revenue in US$"),
    ("organizer.revenue_bs", "Ingresos en Bs.", "Revenue in Bs."),
    (
        "organizer.revenue_note",
        "Totales de las órdenes pagadas con IVA, sin IGTF. IGTF cobrado: {usd} / {bs}.",
        "Totals of paid orders with VAT, without IGTF. IGTF charged: {usd} / {bs}.",
    ),
    ("organizer.zones", "Localidades", "Zones"),
    ("organizer.zone", "Zona", "Zone"),
    ("organizer.capacity", "Aforo", "Capacity"),
    ("organizer.sold", "Vendidas", "Sold"),
    ("organizer.held", "Reservadas", "Held"),
    ("organizer.available", "Disponibles", "Available"),
    (
        "organizer.no_zones",
        "El evento no tiene zonas.",
        "The event has no zones.",
    ),
    (
        "organizer.by_method",
        "Ingresos por forma de pago",
        "Revenue by payment method",
    ),
    ("organizer.method", "Forma de pago", "Payment method"),
    ("organizer.currency", "Moneda", "Currency"),
    ("organizer.payments", "Pagos", "Payments"),
    ("organizer.tendered", "Recibido", "Tendered"),
    ("organizer.applied_bs", "Aplicado en Bs.", "Applied in Bs."),
    (
        "organizer.applied_usd",
        "Equivalente en US$",
        "US$ equivalent",
    ),
    (
        "organizer.no_payments",
        "Aún no hay ventas pagadas.",
        "No paid sales yet.",
    ),
    ("organizer.method.cash", "Efectivo", "Cash"),
    ("organizer.method.card", "Punto de venta", "Card (POS)"),
    (
        "organizer.method.transfer",
        "Transferencia",
        "Bank transfer",
    ),
    ("organizer.method.pago_movil", "Pago Móvil", "Pago Móvil"),
    (
        "organizer.per_hour",
        "Entradas vendidas por hora",
        "Tickets sold per hour",
    ),
    (
        "organizer.per_hour_caption",
        "Hora de Caracas. Se muestran las {hours} horas hasta la última venta.",
        "Caracas time. Shows the {hours} hours up to the last sale.",
    ),
    ("organizer.heat_map", "Mapa de ocupación", "Occupancy map"),
    ("organizer.heat_zone", "Zona numerada", "Numbered zone"),
    (
        "organizer.no_numbered",
        "El evento no tiene zonas numeradas.",
        "The event has no numbered zones.",
    ),
    ("organizer.seat_free", "Libre", "Free"),
    ("organizer.seat_held", "Reservado", "Held"),
    ("organizer.seat_sold", "Vendido", "Sold"),
    (
        "organizer.row_seat",
        "Fila {row}, asiento {number}",
        "Row {row}, seat {number}",
    ),
    ("organizer.updated", "Datos al", "Figures as of"),
    // Management pages.
    ("organizer.save", "Guardar", "Save"),
    ("organizer.saved", "Guardado.", "Saved."),
    (
        "organizer.invalid_integer",
        "Escriba un número entero, sin decimales.",
        "Enter a whole number, without decimals.",
    ),
    (
        "organizer.invalid_amount",
        "Escriba un monto con hasta dos decimales, por ejemplo 25,00.",
        "Enter an amount with up to two decimals, for example 25.00.",
    ),
    ("organizer.created_at", "Creado", "Created"),
    ("organizer.name", "Nombre", "Name"),
    (
        "organizer.none_yet",
        "Todavía no hay registros.",
        "Nothing here yet.",
    ),
    ("organizer.venues.title", "Recintos", "Venues"),
    ("organizer.venues.new", "Nuevo recinto", "New venue"),
    ("organizer.venues.address", "Dirección", "Address"),
    ("organizer.venues.city", "Ciudad", "City"),
    ("organizer.events.title", "Eventos", "Events"),
    ("organizer.events.new", "Nuevo evento", "New event"),
    ("organizer.events.venue", "Recinto", "Venue"),
    ("organizer.events.description", "Descripción", "Description"),
    (
        "organizer.events.starts_at",
        "Fecha y hora de la función",
        "Date and time of the show",
    ),
    (
        "organizer.events.sale_starts_at",
        "Inicio de la venta",
        "Sale opens",
    ),
    (
        "organizer.events.sale_ends_at",
        "Fin de la venta",
        "Sale closes",
    ),
    (
        "organizer.events.hold_minutes",
        "Minutos de reserva",
        "Hold minutes",
    ),
    (
        "organizer.events.payment_minutes",
        "Minutos para pagar",
        "Minutes to pay",
    ),
    ("organizer.events.status", "Estado", "Status"),
    (
        "organizer.events.manage",
        "Zonas y precios",
        "Zones and prices",
    ),
    (
        "organizer.events.activate",
        "Poner a la venta",
        "Put on sale",
    ),
    ("organizer.events.close", "Cerrar venta", "Close sale"),
    ("organizer.events.cancel", "Cancelar evento", "Cancel event"),
    (
        "organizer.events.confirm_close",
        "¿Cerrar la venta de «{name}»? Las taquillas ya no podrán vender.",
        "Close the sale of “{name}”? Box offices will no longer be able to sell.",
    ),
    (
        "organizer.events.confirm_cancel",
        "¿Cancelar «{name}»? Esta acción no se puede deshacer.",
        "Cancel “{name}”? This cannot be undone.",
    ),
    (
        "organizer.events.need_venue",
        "Primero cree un recinto.",
        "Create a venue first.",
    ),
    (
        "organizer.events.time_hint",
        "Horas de Caracas.",
        "Caracas time.",
    ),
    ("organizer.zones.new", "Nueva zona", "New zone"),
    ("organizer.zones.kind", "Tipo", "Kind"),
    (
        "organizer.zones.kind.numbered",
        "Numerada (filas y asientos)",
        "Numbered (rows and seats)",
    ),
    (
        "organizer.zones.kind.general_admission",
        "General (por aforo)",
        "General admission (by capacity)",
    ),
    ("organizer.zones.rows", "Filas", "Rows"),
    (
        "organizer.zones.seats_per_row",
        "Asientos por fila",
        "Seats per row",
    ),
    ("organizer.zones.price", "Precio (US$)", "Price (US$)"),
    (
        "organizer.zones.entries",
        "Entradas por boleto",
        "Admissions per ticket",
    ),
    (
        "organizer.zones.preview",
        "Vista previa del mapa",
        "Map preview",
    ),
    (
        "organizer.zones.preview_total",
        "{rows} filas × {seats} asientos = {total} puestos",
        "{rows} rows × {seats} seats = {total} places",
    ),
    (
        "organizer.zones.not_editable",
        "Esta página agrega zonas solo a eventos en borrador o a la venta.",
        "This page adds zones only to draft events and events on sale.",
    ),
    (
        "organizer.markups.title",
        "Recargos por fila",
        "Row markups",
    ),
    (
        "organizer.markups.hint",
        "En porcentaje sobre el precio de la zona. Una fila con recargo propio no usa el de todas las filas; deje vacío su valor para quitárselo. Las órdenes ya creadas conservan su precio.",
        "As a percentage of the zone's price. A row with its own markup ignores the one for every row; leave its value empty to remove it. Orders already created keep their price.",
    ),
    ("organizer.markups.column", "Recargo por fila", "Row markup"),
    (
        "organizer.markups.every_row",
        "Recargo de todas las filas (%)",
        "Markup of every row (%)",
    ),
    ("organizer.markups.row", "Fila", "Row"),
    (
        "organizer.markups.row_value",
        "Recargo de esa fila (%)",
        "Markup of that row (%)",
    ),
    (
        "organizer.markups.empty",
        "Escriba el recargo de todas las filas o el de una fila.",
        "Enter the markup of every row or of one row.",
    ),
    (
        "organizer.invalid_percent",
        "Escriba un porcentaje con hasta dos decimales, por ejemplo 12,5.",
        "Enter a percentage with up to two decimals, for example 12.5.",
    ),
    ("organizer.stages.title", "Etapas de venta", "Price stages"),
    ("organizer.stages.new", "Nueva etapa", "New stage"),
    ("organizer.stages.scope", "Aplica a", "Applies to"),
    (
        "organizer.stages.whole_event",
        "Todo el evento",
        "Whole event",
    ),
    (
        "organizer.stages.modifier",
        "Ajuste de precio",
        "Price change",
    ),
    ("organizer.stages.percent", "Porcentaje (%)", "Percent (%)"),
    (
        "organizer.stages.fixed",
        "Monto fijo (US$)",
        "Fixed amount (US$)",
    ),
    (
        "organizer.stages.value",
        "Valor (negativo para descuento)",
        "Value (negative for a discount)",
    ),
    ("organizer.stages.starts_at", "Comienza", "Starts"),
    ("organizer.stages.ends_at", "Termina", "Ends"),
    (
        "organizer.stages.limit",
        "Límite de entradas",
        "Ticket limit",
    ),
    ("organizer.stages.status", "Estado", "Status"),
    ("organizer.stages.end", "Terminar", "End"),
    (
        "organizer.stages.confirm_end",
        "¿Terminar la etapa «{name}» ahora? La siguiente etapa comienza de inmediato.",
        "End the stage “{name}” now? The next stage starts at once.",
    ),
    ("organizer.stages.status.upcoming", "Próxima", "Upcoming"),
    ("organizer.stages.status.current", "Vigente", "Current"),
    ("organizer.stages.status.ended", "Terminada", "Ended"),
    ("organizer.rates.title", "Tasa BCV", "BCV exchange rate"),
    (
        "organizer.rates.new",
        "Registrar la tasa del día",
        "Record the day's rate",
    ),
    ("organizer.rates.rate", "Bs. por US$", "Bs. per US$"),
    ("organizer.rates.date", "Fecha valor", "Value date"),
    ("organizer.rates.source", "Fuente", "Source"),
    ("organizer.rates.source.manual", "Manual", "Manual"),
    ("organizer.rates.source.bcv", "BCV", "BCV"),
    ("organizer.rates.superseded", "Corregida", "Corrected"),
    ("organizer.rates.current", "Vigente", "Current"),
    (
        "organizer.rates.hint",
        "Una tasa nueva para la misma fecha valor reemplaza la anterior.",
        "A new rate for the same value date replaces the earlier one.",
    ),
    ("organizer.users.title", "Usuarios", "Users"),
    ("organizer.users.new", "Nuevo usuario", "New user"),
    ("organizer.users.username", "Usuario", "Username"),
    ("organizer.users.email", "Correo electrónico", "Email"),
    (
        "organizer.users.password",
        "Contraseña (mínimo 8 caracteres)",
        "Password (at least 8 characters)",
    ),
    ("organizer.users.role", "Rol", "Role"),
    ("organizer.users.active", "Activo", "Active"),
    ("organizer.users.yes", "Sí", "Yes"),
    ("organizer.users.no", "No", "No"),
    (
        "organizer.users.api_client",
        "Cliente de la API",
        "API client",
    ),
];
