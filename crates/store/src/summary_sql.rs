//! The sales summary of one event, for the organiser's dashboard. Compiled
//! into `common.rs` once per backend.

use std::collections::BTreeMap;

use taquilla_domain::fiscal::caracas_hour_start;
use taquilla_domain::money::ExchangeRate;

use super::*;

/// Payments of paid orders grouped by method, currency and the order's rate.
#[derive(FromRow)]
struct PaymentGroupRow {
    method: String,
    currency: String,
    rate_scaled: i64,
    count: i64,
    amount_cents: i64,
    applied_bs_cents: i64,
    igtf_bs_cents: i64,
}

/// One paid order with the places it sold.
#[derive(FromRow)]
struct PaidOrderRow {
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    tickets: i64,
    total_usd_cents: i64,
    total_bs_cents: i64,
    igtf_usd_cents: i64,
    igtf_bs_cents: i64,
}

impl Backend {
    /// Reads the dashboard figures of one event. Every query is scoped by
    /// tenant and filters on the leading columns of `zones_event_idx`,
    /// `seats_position_key`, `orders_event_idx`, `payments_order_idx` or the
    /// order lines' primary key.
    pub(super) async fn event_sales_summary_impl(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<EventSalesSummary> {
        let mut conn = self.read_pool().acquire().await?;
        let now = self.clock.now();
        let found: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM events WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(event_id)
                .fetch_optional(&mut *conn)
                .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("event"));
        }

        // The same counting rule as `zone_availability`: a hold past its
        // expiry no longer takes places, even before the sweeper releases it.
        let zone_rows: Vec<(ZoneGaugeRow, String)> = sqlx::query_as::<_, ZoneGaugeNamedRow>(
            "SELECT z.tenant_id, z.event_id, z.id, z.kind, z.capacity, z.sold, z.held, z.name, \
             CASE WHEN z.kind = 'general_admission' THEN CAST((SELECT COALESCE(SUM(h.quantity), 0) FROM holds h \
               WHERE h.tenant_id = z.tenant_id AND h.zone_id = z.id AND h.status = 'active' AND h.expires_at <= $3) AS BIGINT) \
               ELSE 0 END AS lapsed_held, \
             CASE WHEN z.kind = 'numbered' THEN (SELECT COUNT(*) FROM seats s \
               WHERE s.tenant_id = z.tenant_id AND s.zone_id = z.id AND s.status = 'sold') \
               ELSE 0 END AS seats_sold, \
             CASE WHEN z.kind = 'numbered' THEN (SELECT COUNT(*) FROM seats s \
               WHERE s.tenant_id = z.tenant_id AND s.zone_id = z.id AND s.status = 'held' AND s.hold_expires_at > $3) \
               ELSE 0 END AS seats_held \
             FROM zones z WHERE z.tenant_id = $1 AND z.event_id = $2 ORDER BY z.id",
        )
        .bind(tenant_id)
        .bind(event_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| (row.gauge, row.name))
        .collect();
        let zones = zone_rows
            .into_iter()
            .map(|(row, name)| {
                let (sold, available) = row.sold_and_available();
                ZoneSales {
                    zone_id: row.id,
                    name,
                    kind: row.kind.clone(),
                    capacity: row.capacity,
                    sold,
                    held: (row.capacity - sold - available).max(0),
                    available,
                }
            })
            .collect();

        let payment_rows: Vec<PaymentGroupRow> = sqlx::query_as(
            "SELECT p.method, p.currency, o.rate_scaled, COUNT(*) AS count, \
             CAST(SUM(p.amount_cents) AS BIGINT) AS amount_cents, \
             CAST(SUM(p.applied_bs_cents) AS BIGINT) AS applied_bs_cents, \
             CAST(SUM(p.igtf_bs_cents) AS BIGINT) AS igtf_bs_cents \
             FROM orders o JOIN payments p ON p.tenant_id = o.tenant_id AND p.order_id = o.id \
             WHERE o.tenant_id = $1 AND o.event_id = $2 AND o.status = 'paid' \
             GROUP BY p.method, p.currency, o.rate_scaled",
        )
        .bind(tenant_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut payments: BTreeMap<(String, String), PaymentMethodSales> = BTreeMap::new();
        for row in payment_rows {
            let applied_usd_cents = ExchangeRate::from_scaled(row.rate_scaled)
                .ok()
                .and_then(|rate| rate.bs_to_usd(row.applied_bs_cents))
                .unwrap_or(0);
            let entry = payments
                .entry((row.method.clone(), row.currency.clone()))
                .or_insert_with(|| PaymentMethodSales {
                    method: row.method,
                    currency: row.currency,
                    count: 0,
                    amount_cents: 0,
                    applied_bs_cents: 0,
                    applied_usd_cents: 0,
                    igtf_bs_cents: 0,
                });
            entry.count += row.count;
            entry.amount_cents += row.amount_cents;
            entry.applied_bs_cents += row.applied_bs_cents;
            entry.applied_usd_cents += applied_usd_cents;
            entry.igtf_bs_cents += row.igtf_bs_cents;
        }

        let orders: Vec<PaidOrderRow> = sqlx::query_as(
            "SELECT o.completed_at, o.created_at, o.total_usd_cents, o.total_bs_cents, o.igtf_usd_cents, o.igtf_bs_cents, \
             CAST((SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l \
               WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id) AS BIGINT) AS tickets \
             FROM orders o WHERE o.tenant_id = $1 AND o.event_id = $2 AND o.status = 'paid'",
        )
        .bind(tenant_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut summary = EventSalesSummary {
            event_id,
            taken_at: now,
            zones,
            orders: orders.len() as i64,
            tickets: 0,
            total_usd_cents: 0,
            total_bs_cents: 0,
            igtf_usd_cents: 0,
            igtf_bs_cents: 0,
            payments: payments.into_values().collect(),
            hourly: Vec::new(),
        };
        let mut hourly: BTreeMap<DateTime<Utc>, HourlySales> = BTreeMap::new();
        for order in orders {
            summary.tickets += order.tickets;
            summary.total_usd_cents += order.total_usd_cents;
            summary.total_bs_cents += order.total_bs_cents;
            summary.igtf_usd_cents += order.igtf_usd_cents;
            summary.igtf_bs_cents += order.igtf_bs_cents;
            // Every paid order has `completed_at`; `created_at` only guards
            // rows written before that column was filled.
            let hour = caracas_hour_start(order.completed_at.unwrap_or(order.created_at));
            let bucket = hourly.entry(hour).or_insert_with(|| HourlySales {
                hour,
                orders: 0,
                tickets: 0,
                total_usd_cents: 0,
                total_bs_cents: 0,
            });
            bucket.orders += 1;
            bucket.tickets += order.tickets;
            bucket.total_usd_cents += order.total_usd_cents;
            bucket.total_bs_cents += order.total_bs_cents;
        }
        summary.hourly = hourly.into_values().collect();
        Ok(summary)
    }
}

/// A [`ZoneGaugeRow`] with the zone's name.
#[derive(FromRow)]
struct ZoneGaugeNamedRow {
    #[sqlx(flatten)]
    gauge: ZoneGaugeRow,
    name: String,
}
