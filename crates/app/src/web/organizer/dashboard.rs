//! The sales dashboard: places per zone, revenue per payment method, tickets
//! per hour as SVG bars, and an occupancy map of a numbered zone, all drawn
//! on the server.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use taquilla_store::model::{Availability, Event, EventSalesSummary, HourlySales};
use uuid::Uuid;

use super::{ORGANIZERS, all_events};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::page::{Page, error_page, render};
use crate::web::session::WebUser;
use crate::web::text::decimal;

/// Hours the sales chart spans, ending at the hour of the last sale.
pub const CHART_HOURS: i64 = 24;
const CHART_WIDTH: i64 = 720;
const CHART_HEIGHT: i64 = 200;
/// Room under the bars for the hour labels.
const CHART_LABEL_SPACE: i64 = 20;
/// Room over the tallest bar for its count.
const CHART_TOP_SPACE: i64 = 14;
/// Side of one seat of the occupancy map and the gap between seats, in SVG units.
const SEAT_SIZE: i64 = 12;
const SEAT_GAP: i64 = 2;
/// Room left of the seats for the row labels.
const ROW_LABEL_SPACE: i64 = 28;

#[derive(Deserialize)]
pub struct DashboardQuery {
    evento: Option<String>,
    zona: Option<String>,
}

pub struct ZoneLine {
    pub name: String,
    pub capacity: i64,
    pub sold: i64,
    pub held: i64,
    pub available: i64,
}

pub struct PaymentLine {
    pub method: String,
    pub currency: String,
    /// `US$` or `Bs.`, as amounts are written.
    pub symbol: String,
    pub count: i64,
    pub tendered: String,
    pub applied_bs: String,
    pub applied_usd: String,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub label_x: i64,
    /// Caracas hour, `20:00`.
    pub hour: String,
    pub tickets: i64,
    /// Whether the hour is printed under this bar. Every third bar is labelled.
    pub labelled: bool,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub baseline: i64,
    pub bars: Vec<Bar>,
}

pub struct Seat {
    pub x: i64,
    pub y: i64,
    /// CSS class: `seat-free`, `seat-held` or `seat-sold`.
    pub class: &'static str,
    pub title: String,
}

pub struct RowLabel {
    pub y: i64,
    pub label: String,
}

pub struct HeatMap {
    pub zone_id: Uuid,
    pub width: i64,
    pub height: i64,
    pub seat_size: i64,
    pub seats: Vec<Seat>,
    pub rows: Vec<RowLabel>,
    pub free: i64,
    pub held: i64,
    pub sold: i64,
}

pub struct EventFigures {
    pub event: Event,
    pub taken_at: String,
    pub tickets: i64,
    pub orders: i64,
    pub total_usd: String,
    pub total_bs: String,
    pub revenue_note: String,
    pub zones: Vec<ZoneLine>,
    pub payments: Vec<PaymentLine>,
    pub chart: Option<Chart>,
    pub chart_caption: String,
    /// Numbered zones, for the occupancy map's selector.
    pub numbered_zones: Vec<(Uuid, String)>,
    pub heat_map: Option<HeatMap>,
}

/// An event of the selector: its id and `name · start · status`.
pub struct EventOption {
    pub id: Uuid,
    pub label: String,
}

#[derive(askama::Template)]
#[template(path = "web/organizer_dashboard.html")]
struct DashboardTemplate {
    page: Page,
    events: Vec<EventOption>,
    figures: Option<EventFigures>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DashboardQuery>,
) -> Response {
    if !user.is(ORGANIZERS) {
        return error_page(user.locale, ApiError::Forbidden);
    }
    let started = Instant::now();
    let mut page = Page::for_user(&user, "/app/organizador");
    let events = match all_events(&state, &user).await {
        Ok(events) => events,
        Err(error) => return error_page(user.locale, error),
    };
    let selected = match parse_id(query.evento.as_deref()) {
        Err(error) => return error_page(user.locale, error),
        Ok(Some(event_id)) => match state.store.get_event(user.tenant_id, event_id).await {
            Ok(event) => Some(event),
            Err(error) => return error_page(user.locale, error.into()),
        },
        // Without a choice: the next active event, else the newest one.
        Ok(None) => default_event(&events, state.clock.now()),
    };
    let zone_choice = match parse_id(query.zona.as_deref()) {
        Ok(zone_id) => zone_id,
        Err(error) => return error_page(user.locale, error),
    };
    // The language links come back to the same event and zone.
    page.query = match (&selected, zone_choice) {
        (Some(event), Some(zone_id)) => Some(format!("evento={}&zona={zone_id}", event.id)),
        (Some(event), None) => Some(format!("evento={}", event.id)),
        (None, _) => None,
    };
    let figures = match selected {
        Some(event) => match event_figures(&state, &user, &page, event, zone_choice).await {
            Ok(figures) => Some(figures),
            Err(error) => return error_page(user.locale, error),
        },
        None => None,
    };
    let events = events
        .iter()
        .map(|event| EventOption {
            id: event.id,
            label: format!(
                "{} · {} · {}",
                event.name,
                page.date_time(&event.starts_at),
                page.t(&format!("status.{}", event.status))
            ),
        })
        .collect();
    let response = render(
        &DashboardTemplate {
            page,
            events,
            figures,
        },
        StatusCode::OK,
    );
    tracing::debug!(
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "organiser dashboard rendered"
    );
    response
}

/// Parses an optional id from the query. An invalid id gives 404, as an
/// unknown id does.
fn parse_id(text: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => Uuid::parse_str(text)
            .map(Some)
            .map_err(|_| ApiError::NotFound("event")),
    }
}

fn default_event(events: &[Event], now: DateTime<Utc>) -> Option<Event> {
    events
        .iter()
        .filter(|event| event.status == "active" && event.starts_at >= now)
        .min_by_key(|event| event.starts_at)
        .or_else(|| events.iter().find(|event| event.status == "active"))
        .or_else(|| events.first())
        .cloned()
}

async fn event_figures(
    state: &AppState,
    user: &WebUser,
    page: &Page,
    event: Event,
    zone_choice: Option<Uuid>,
) -> Result<EventFigures, ApiError> {
    let summary = state
        .store
        .event_sales_summary(user.tenant_id, event.id)
        .await?;
    let numbered_zones: Vec<(Uuid, String)> = summary
        .zones
        .iter()
        .filter(|zone| zone.kind == "numbered")
        .map(|zone| (zone.zone_id, zone.name.clone()))
        .collect();
    let heat_zone = match zone_choice {
        Some(zone_id) if numbered_zones.iter().any(|(id, _)| *id == zone_id) => Some(zone_id),
        Some(_) => return Err(ApiError::NotFound("zone")),
        None => numbered_zones.first().map(|(id, _)| *id),
    };
    let heat_map = match heat_zone {
        Some(zone_id) => {
            let availability = state
                .store
                .zone_availability(user.tenant_id, zone_id)
                .await?;
            Some(heat_map(page, &availability))
        }
        None => None,
    };
    Ok(figures(page, event, summary, numbered_zones, heat_map))
}

fn figures(
    page: &Page,
    event: Event,
    summary: EventSalesSummary,
    numbered_zones: Vec<(Uuid, String)>,
    heat_map: Option<HeatMap>,
) -> EventFigures {
    let revenue_note = page
        .t("organizer.revenue_note")
        .replace(
            "{usd}",
            &page.money(&decimal(summary.igtf_usd_cents), "USD"),
        )
        .replace("{bs}", &page.money(&decimal(summary.igtf_bs_cents), "VES"));
    let zones = summary
        .zones
        .iter()
        .map(|zone| ZoneLine {
            name: zone.name.clone(),
            capacity: zone.capacity,
            sold: zone.sold,
            held: zone.held,
            available: zone.available,
        })
        .collect();
    let payments = summary
        .payments
        .iter()
        .map(|payment| {
            let key = format!("organizer.method.{}", payment.method);
            let label = page.t(&key);
            PaymentLine {
                // A method without words of its own shows its API name.
                method: if label.starts_with("??") {
                    payment.method.clone()
                } else {
                    label.into_owned()
                },
                symbol: match payment.currency.as_str() {
                    "USD" => "US$".to_string(),
                    "VES" => "Bs.".to_string(),
                    other => other.to_string(),
                },
                currency: payment.currency.clone(),
                count: payment.count,
                tendered: page.money(&decimal(payment.amount_cents), &payment.currency),
                applied_bs: page.money(&decimal(payment.applied_bs_cents), "VES"),
                applied_usd: page.money(&decimal(payment.applied_usd_cents), "USD"),
            }
        })
        .collect();
    EventFigures {
        taken_at: page.date_time(&summary.taken_at),
        tickets: summary.tickets,
        orders: summary.orders,
        total_usd: page.money(&decimal(summary.total_usd_cents), "USD"),
        total_bs: page.money(&decimal(summary.total_bs_cents), "VES"),
        revenue_note,
        zones,
        payments,
        chart: hour_chart(&summary.hourly),
        chart_caption: page
            .t("organizer.per_hour_caption")
            .replace("{hours}", &CHART_HOURS.to_string()),
        numbered_zones,
        heat_map,
        event,
    }
}

/// Draws tickets per hour for the [`CHART_HOURS`] hours up to the last sale,
/// with an empty bar for each hour without sales. Returns `None` before the
/// first sale.
pub fn hour_chart(hourly: &[HourlySales]) -> Option<Chart> {
    let last = hourly.last()?.hour;
    let first = last - Duration::hours(CHART_HOURS - 1);
    let tickets_at = |hour: DateTime<Utc>| {
        hourly
            .iter()
            .find(|sales| sales.hour == hour)
            .map_or(0, |sales| sales.tickets)
    };
    let counts: Vec<(DateTime<Utc>, i64)> = (0..CHART_HOURS)
        .map(|index| {
            let hour = first + Duration::hours(index);
            (hour, tickets_at(hour))
        })
        .collect();
    let max = counts
        .iter()
        .map(|(_, tickets)| *tickets)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = CHART_WIDTH / CHART_HOURS;
    let baseline = CHART_HEIGHT - CHART_LABEL_SPACE;
    let plot_height = baseline - CHART_TOP_SPACE;
    let bars = counts
        .into_iter()
        .enumerate()
        .map(|(index, (hour, tickets))| {
            let height = tickets * plot_height / max;
            let x = index as i64 * slot;
            Bar {
                x: x + 2,
                y: baseline - height,
                width: slot - 4,
                height,
                label_x: x + slot / 2,
                hour: hour
                    .with_timezone(&chrono_tz::America::Caracas)
                    .format("%H:%M")
                    .to_string(),
                tickets,
                labelled: index % 3 == 0,
            }
        })
        .collect();
    Some(Chart {
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        baseline,
        bars,
    })
}

/// Lays out a numbered zone's seats in rows, in the order the store returns
/// them (row order, then seat number).
pub fn heat_map(page: &Page, availability: &Availability) -> HeatMap {
    let mut rows: Vec<RowLabel> = Vec::new();
    let mut seats = Vec::with_capacity(availability.seats.len());
    let mut column = 0;
    let mut widest = 0;
    let (mut free, mut held, mut sold) = (0, 0, 0);
    let row_title = page.t("organizer.row_seat");
    for seat in &availability.seats {
        if rows.last().is_none_or(|row| row.label != seat.row) {
            rows.push(RowLabel {
                y: rows.len() as i64 * (SEAT_SIZE + SEAT_GAP),
                label: seat.row.clone(),
            });
            column = 0;
        }
        let (class, status_key) = match seat.status.as_str() {
            "sold" => {
                sold += 1;
                ("seat-sold", "organizer.seat_sold")
            }
            "held" => {
                held += 1;
                ("seat-held", "organizer.seat_held")
            }
            _ => {
                free += 1;
                ("seat-free", "organizer.seat_free")
            }
        };
        let y = (rows.len() as i64 - 1) * (SEAT_SIZE + SEAT_GAP);
        seats.push(Seat {
            x: ROW_LABEL_SPACE + column * (SEAT_SIZE + SEAT_GAP),
            y,
            class,
            title: format!(
                "{}: {}",
                row_title
                    .replace("{row}", &seat.row)
                    .replace("{number}", &seat.number.to_string()),
                page.t(status_key)
            ),
        });
        column += 1;
        widest = widest.max(column);
    }
    HeatMap {
        zone_id: availability.zone_id,
        width: ROW_LABEL_SPACE + widest * (SEAT_SIZE + SEAT_GAP),
        height: (rows.len() as i64 * (SEAT_SIZE + SEAT_GAP)).max(SEAT_SIZE),
        seat_size: SEAT_SIZE,
        seats,
        rows,
        free,
        held,
        sold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales(hour: &str, tickets: i64) -> HourlySales {
        HourlySales {
            hour: hour.parse().unwrap(),
            orders: 1,
            tickets,
            total_usd_cents: 0,
            total_bs_cents: 0,
        }
    }

    #[test]
    fn hour_chart_needs_a_sale() {
        assert!(hour_chart(&[]).is_none());
    }

    #[test]
    fn hour_chart_fills_hours_without_sales() {
        let chart = hour_chart(&[
            sales("2026-12-05T20:00:00Z", 2),
            sales("2026-12-05T22:00:00Z", 4),
        ])
        .unwrap();
        assert_eq!(chart.bars.len(), CHART_HOURS as usize);
        let last = chart.bars.last().unwrap();
        assert_eq!(last.tickets, 4);
        assert_eq!(last.hour, "18:00", "22:00 UTC is 18:00 in Caracas");
        assert_eq!(last.y, CHART_TOP_SPACE, "the busiest hour fills the plot");
        assert_eq!(last.y + last.height, chart.baseline);
        let empty = &chart.bars[CHART_HOURS as usize - 2];
        assert_eq!(empty.tickets, 0);
        assert_eq!(empty.height, 0);
        let half = &chart.bars[CHART_HOURS as usize - 3];
        assert_eq!(half.tickets, 2);
        assert_eq!(half.height, (chart.baseline - CHART_TOP_SPACE) / 2);
    }
}
