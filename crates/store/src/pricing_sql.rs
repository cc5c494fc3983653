//! Price stages, unit prices and tax rules, shared by both backends like
//! `common.rs` (this file is a child module of it).
//!
//! A stage with a quantity limit counts the units priced at it on pending and
//! paid orders. The order transaction takes those units under the stage's row
//! lock, so a limit is never exceeded and the sale that reaches it records the
//! `quantity_reached` transition. `take_stage_units` locks stages in position
//! order and before any discount code, so two orders cannot deadlock on them. A pending order that is cancelled or
//! expires gives its units back to a stage that is still running.

use taquilla_domain::pricing::Modifier;
use taquilla_domain::stages::{self, Selection, StageState};
use taquilla_domain::tax::{TaxCategory, TaxKind, TaxRule};

use super::*;
use crate::list_sql::{STAGE_COLUMNS, TAX_RULE_COLUMNS};

#[derive(FromRow, Clone)]
pub(super) struct StageRecord {
    pub(super) id: Uuid,
    event_id: Uuid,
    pub(super) zone_id: Option<Uuid>,
    position: i64,
    name: String,
    modifier_kind: String,
    modifier_value: i64,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    quantity_limit: Option<i64>,
    units_sold: i64,
    ended_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl StageRecord {
    pub(super) fn modifier(&self) -> Modifier {
        modifier_from_columns(&self.modifier_kind, self.modifier_value)
    }

    fn state(&self) -> StageState {
        StageState {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            quantity_limit: self.quantity_limit,
            units_sold: self.units_sold,
            ended: self.ended_at.is_some(),
        }
    }

    pub(super) fn view(&self, status: &str) -> PriceStage {
        PriceStage {
            id: self.id,
            event_id: self.event_id,
            zone_id: self.zone_id,
            position: self.position,
            name: self.name.clone(),
            modifier: self.modifier(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            quantity_limit: self.quantity_limit,
            units_sold: self.units_sold,
            units_left: self.state().units_left(),
            status: status.to_string(),
            ended_at: self.ended_at,
            created_at: self.created_at,
        }
    }
}

pub(super) fn modifier_from_columns(kind: &str, value: i64) -> Modifier {
    match kind {
        "fixed" => Modifier::Fixed { usd_cents: value },
        _ => Modifier::Percent {
            basis_points: value,
        },
    }
}

pub(super) fn modifier_columns(modifier: Modifier) -> (&'static str, i64) {
    match modifier {
        Modifier::Percent { basis_points } => ("percent", basis_points),
        Modifier::Fixed { usd_cents } => ("fixed", usd_cents),
    }
}

/// Reads an event's stages, every scope, in position order.
pub(super) async fn event_stages(
    conn: &mut Conn,
    tenant_id: Uuid,
    event_id: Uuid,
) -> StoreResult<Vec<StageRecord>> {
    Ok(sqlx::query_as(crate::list_sql::PRICE_STAGES_OF_EVENT)
        .bind(tenant_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Returns the units priced at a stage on pending and paid orders.
async fn units_at_stage(conn: &mut Conn, tenant_id: Uuid, stage_id: Uuid) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l \
         JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id \
         WHERE l.tenant_id = $1 AND l.stage_id = $2 AND o.status IN ('pending', 'paid')",
    )
    .bind(tenant_id)
    .bind(stage_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Fills in `units_sold` of the stages without a quantity limit, summed from
/// the order lines. Sales do not count units on such a stage's row, so that
/// they do not wait for each other on it.
pub(super) async fn count_unlimited_stage_units(
    conn: &mut Conn,
    tenant_id: Uuid,
    event_id: Uuid,
    stages: &mut [StageRecord],
) -> StoreResult<()> {
    if stages.iter().all(|stage| stage.quantity_limit.is_some()) {
        return Ok(());
    }
    let counts: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT l.stage_id, CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l \
         JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id \
         WHERE l.tenant_id = $1 AND o.status IN ('pending', 'paid') AND l.stage_id IN \
         (SELECT id FROM price_stages WHERE tenant_id = $1 AND event_id = $2 AND quantity_limit IS NULL) \
         GROUP BY l.stage_id",
    )
    .bind(tenant_id)
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?;
    for stage in stages
        .iter_mut()
        .filter(|stage| stage.quantity_limit.is_none())
    {
        stage.units_sold = counts
            .iter()
            .find(|(id, _)| *id == stage.id)
            .map_or(0, |(_, units)| *units);
    }
    Ok(())
}

/// Returns the stages that price `zone_id`, as indexes into `stages`, with the
/// selection among them: the zone's own stages when they select one, else the
/// event-wide stages.
pub(super) fn zone_selection(
    stages: &[StageRecord],
    zone_id: Uuid,
    now: DateTime<Utc>,
) -> (Vec<usize>, Selection) {
    let scope_of = |zone: Option<Uuid>| -> Vec<usize> {
        (0..stages.len())
            .filter(|&index| stages[index].zone_id == zone)
            .collect()
    };
    let select = |scope: &[usize]| {
        let states: Vec<StageState> = scope.iter().map(|&index| stages[index].state()).collect();
        stages::select(&states, now)
    };
    let own = scope_of(Some(zone_id));
    let own_selection = select(&own);
    if own_selection.index().is_some() {
        return (own, own_selection);
    }
    let event_wide = scope_of(None);
    let selection = select(&event_wide);
    (event_wide, selection)
}

/// Returns the stage that prices `zone_id` now, for quotes (availability); no
/// units are taken.
pub(super) fn quoted_stage(
    stages: &[StageRecord],
    zone_id: Uuid,
    now: DateTime<Utc>,
) -> Option<(&StageRecord, &'static str)> {
    let (scope, selection) = zone_selection(stages, zone_id, now);
    let status = match selection {
        Selection::Finished(_) => "ended",
        _ => "current",
    };
    selection
        .index()
        .map(|index| (&stages[scope[index]], status))
}

/// Prices a hold now with the formula orders use (zone base, current stage,
/// row markup, seat modifier); takes no stage units.
pub(super) async fn quote_hold(
    conn: &mut Conn,
    tenant_id: Uuid,
    hold: &mut Hold,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (base, default_markup): (i64, i64) = sqlx::query_as(
        "SELECT price_usd_cents, row_markup_basis_points FROM zones WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(hold.zone_id)
    .fetch_one(&mut *conn)
    .await?;
    let stages = event_stages(conn, tenant_id, hold.event_id).await?;
    let stage = quoted_stage(&stages, hold.zone_id, now).map(|(stage, _)| stage.modifier());
    let price = |row_markup: i64, seat_modifier: i64| {
        unit_price(&PriceInputs {
            base_usd_cents: base,
            stage,
            row_markup_basis_points: row_markup,
            seat_modifier_usd_cents: seat_modifier,
            discount: None,
        })
        .map(|price| price.unit_price_usd_cents)
        .map_err(|error| StoreError::Internal(error.to_string()))
    };
    if hold.seats.is_empty() {
        let unit = price(0, 0)?;
        hold.unit_price_usd_cents = Some(unit);
        hold.quoted_subtotal_usd_cents = unit.saturating_mul(hold.quantity);
        return Ok(());
    }
    let modifiers: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.price_modifier_usd_cents, COALESCE(m.basis_points, $3) FROM hold_seats h \
         JOIN seats s ON s.tenant_id = h.tenant_id AND s.id = h.seat_id \
         LEFT JOIN zone_row_markups m ON m.tenant_id = s.tenant_id AND m.zone_id = s.zone_id AND m.row_index = s.row_index \
         WHERE h.tenant_id = $1 AND h.hold_id = $2",
    )
    .bind(tenant_id)
    .bind(hold.id)
    .bind(default_markup)
    .fetch_all(&mut *conn)
    .await?;
    let mut subtotal = 0_i64;
    for seat in &mut hold.seats {
        if let Some((_, seat_modifier, row_markup)) =
            modifiers.iter().find(|(id, _, _)| *id == seat.id)
        {
            seat.price_usd_cents = price(*row_markup, *seat_modifier)?;
            subtotal = subtotal.saturating_add(seat.price_usd_cents);
        }
    }
    hold.quoted_subtotal_usd_cents = subtotal;
    Ok(())
}

/// Records the end of every stage whose window has passed without a
/// transition: one `date_expired` transition each, dated at the window's end.
pub(super) async fn end_passed_stages(
    conn: &mut Conn,
    tenant_id: Uuid,
    stages: &mut [StageRecord],
    now: DateTime<Utc>,
) -> StoreResult<Vec<StageTransition>> {
    let mut transitions = Vec::new();
    for stage in stages.iter_mut() {
        if !stage.state().window_passed(now) {
            continue;
        }
        let Some(ends_at) = stage.ends_at else {
            continue;
        };
        let ended: Option<i64> = sqlx::query_scalar(
            "UPDATE price_stages SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL \
             RETURNING units_sold",
        )
        .bind(tenant_id)
        .bind(stage.id)
        .bind(ends_at)
        .fetch_optional(&mut *conn)
        .await?;
        stage.ended_at = Some(ends_at);
        let Some(counted) = ended else {
            // Another transaction recorded it first.
            continue;
        };
        stage.units_sold = counted;
        let units_sold = if stage.quantity_limit.is_some() {
            counted
        } else {
            units_at_stage(conn, tenant_id, stage.id).await?
        };
        transitions.push(
            insert_transition(conn, tenant_id, stage, "date_expired", units_sold, ends_at).await?,
        );
    }
    Ok(transitions)
}

async fn insert_transition(
    conn: &mut Conn,
    tenant_id: Uuid,
    stage: &StageRecord,
    trigger: &str,
    units_sold: i64,
    occurred_at: DateTime<Utc>,
) -> StoreResult<StageTransition> {
    let transition = StageTransition {
        id: Uuid::now_v7(),
        event_id: stage.event_id,
        zone_id: stage.zone_id,
        stage_id: stage.id,
        trigger: trigger.to_string(),
        units_sold,
        occurred_at,
    };
    sqlx::query(
        "INSERT INTO stage_transitions (tenant_id, id, event_id, zone_id, stage_id, trigger, units_sold, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(transition.id)
    .bind(transition.event_id)
    .bind(transition.zone_id)
    .bind(transition.stage_id)
    .bind(&transition.trigger)
    .bind(transition.units_sold)
    .bind(transition.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(transition)
}

/// Units priced by one stage (or by the base price when `stage` is `None`).
pub(super) struct StageChunk {
    pub(super) stage: Option<(Uuid, Modifier)>,
    pub(super) units: i64,
}

/// Prices `units` units of a zone through its stages inside the order
/// transaction: takes them from the running stage under its row lock and, when
/// that stage's limit is reached, records the transition and continues with the
/// next stage. Returns the units per stage, in order, and the transitions made.
pub(super) async fn take_stage_units(
    conn: &mut Conn,
    tenant_id: Uuid,
    event_id: Uuid,
    zone_id: Uuid,
    units: i64,
    now: DateTime<Utc>,
) -> StoreResult<(Vec<StageChunk>, Vec<StageTransition>)> {
    let mut stages = event_stages(conn, tenant_id, event_id).await?;
    let mut transitions = end_passed_stages(conn, tenant_id, &mut stages, now).await?;
    let mut chunks = Vec::new();
    let mut remaining = units;
    let mut swept = false;
    while remaining > 0 {
        let (scope, selection) = zone_selection(&stages, zone_id, now);
        let index = match selection {
            Selection::NotStarted => {
                chunks.push(StageChunk {
                    stage: None,
                    units: remaining,
                });
                break;
            }
            Selection::Finished(index) => {
                // After the last stage its price stays; nothing more is counted.
                let stage = &stages[scope[index]];
                chunks.push(StageChunk {
                    stage: Some((stage.id, stage.modifier())),
                    units: remaining,
                });
                break;
            }
            Selection::Running(index) => scope[index],
        };
        let stage = &mut stages[index];
        let Some(limit) = stage.quantity_limit else {
            chunks.push(StageChunk {
                stage: Some((stage.id, stage.modifier())),
                units: remaining,
            });
            break;
        };

        // Lock the stage and read its current count: an earlier read may be stale.
        let (units_sold, ended_at): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "UPDATE price_stages SET units_sold = units_sold WHERE tenant_id = $1 AND id = $2 \
             RETURNING units_sold, ended_at",
        )
        .bind(tenant_id)
        .bind(stage.id)
        .fetch_one(&mut *conn)
        .await?;
        stage.units_sold = units_sold;
        stage.ended_at = ended_at;
        if ended_at.is_none() && units_sold + remaining > limit && !swept {
            // Orders past their payment deadline still count until the sweeper
            // ends them; end them now, so they do not end the stage early.
            swept = true;
            if end_expired_holds_of_event(conn, tenant_id, event_id, now).await? > 0 {
                continue;
            }
        }
        if ended_at.is_some() || units_sold >= limit {
            // Another sale ended it; select again.
            continue;
        }

        let taken = (limit - units_sold).min(remaining);
        sqlx::query(
            "UPDATE price_stages SET units_sold = units_sold + $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(stage.id)
        .bind(taken)
        .execute(&mut *conn)
        .await?;
        stage.units_sold += taken;
        remaining -= taken;
        chunks.push(StageChunk {
            stage: Some((stage.id, stage.modifier())),
            units: taken,
        });

        if stage.units_sold == limit {
            sqlx::query(
                "UPDATE price_stages SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
            )
            .bind(tenant_id)
            .bind(stage.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            stage.ended_at = Some(now);
            let stage = stage.clone();
            transitions.push(
                insert_transition(conn, tenant_id, &stage, "quantity_reached", limit, now).await?,
            );
        }
    }
    Ok((chunks, transitions))
}

#[derive(FromRow)]
struct OrderLineRow {
    line_number: i64,
    zone_id: Uuid,
    seat_id: Option<Uuid>,
    description: String,
    quantity: i64,
    unit_price_usd_cents: i64,
    total_usd_cents: i64,
    total_bs_cents: i64,
    tax_basis_points: Option<i64>,
    stage_id: Option<Uuid>,
    price_breakdown: String,
    tax_rules: String,
    exempt: bool,
}

/// Reads the lines of an order, in order, with their frozen price breakdown and tax rules.
pub(super) async fn order_lines(
    conn: &mut Conn,
    tenant_id: Uuid,
    order_id: Uuid,
    courtesy: bool,
) -> StoreResult<Vec<OrderLine>> {
    let rows: Vec<OrderLineRow> = sqlx::query_as(
        "SELECT line_number, zone_id, seat_id, description, quantity, unit_price_usd_cents, total_usd_cents, \
         total_bs_cents, tax_basis_points, stage_id, price_breakdown, tax_rules, exempt \
         FROM order_lines WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_number",
    )
    .bind(tenant_id)
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| OrderLine {
            line_number: row.line_number,
            zone_id: row.zone_id,
            seat_id: row.seat_id,
            description: row.description,
            quantity: row.quantity,
            unit_price_usd_cents: row.unit_price_usd_cents,
            total_usd_cents: row.total_usd_cents,
            total_bs_cents: row.total_bs_cents,
            tax_basis_points: row.tax_basis_points,
            stage_id: row.stage_id,
            // Lines written before breakdowns existed read as `null`.
            price: serde_json::from_str(&row.price_breakdown).ok(),
            exempt: row.exempt,
            courtesy,
            tax_rules: serde_json::from_str(&row.tax_rules).unwrap_or_default(),
        })
        .collect())
}

/// Returns NotFound unless the event exists in the tenant.
async fn require_event(conn: &mut Conn, tenant_id: Uuid, event_id: Uuid) -> StoreResult<()> {
    let known: Option<(Uuid,)> =
        sqlx::query_as("SELECT id FROM events WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await?;
    match known {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound("event")),
    }
}

/// A line of a new order before its taxes.
pub(super) struct PlannedLine {
    pub(super) seat_id: Option<Uuid>,
    pub(super) description: String,
    pub(super) quantity: i64,
    pub(super) stage_id: Option<Uuid>,
    pub(super) price: taquilla_domain::pricing::PriceBreakdown,
}

/// Converts a rule's figures to the form orders and documents show.
pub(super) fn tax_total(rule: &taquilla_domain::tax::RuleTotals) -> TaxTotal {
    let (kind, rate_basis_points, fixed_usd_cents) = tax_kind_columns(rule.kind);
    TaxTotal {
        key: rule.key.clone(),
        name: rule.name.clone(),
        category: match rule.category {
            TaxCategory::Iva => "iva".to_string(),
            TaxCategory::Other => "other".to_string(),
        },
        kind: kind.to_string(),
        compound: rule.compound,
        rate_basis_points,
        fixed_usd_cents,
        base_usd_cents: rule.base_usd_cents,
        tax_usd_cents: rule.tax_usd_cents,
        base_bs_cents: rule.base_bs_cents,
        tax_bs_cents: rule.tax_bs_cents,
    }
}

/// Gives the units of a pending order that is being cancelled or expired back
/// to its stages that are still running, and its discount code use back.
pub(super) async fn return_order_allowances(
    conn: &mut Conn,
    tenant_id: Uuid,
    hold_id: Uuid,
) -> StoreResult<()> {
    let units: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT l.stage_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_lines l \
         JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id \
         WHERE o.tenant_id = $1 AND o.hold_id = $2 AND o.status = 'pending' AND o.courtesy = $3 \
         AND l.stage_id IS NOT NULL GROUP BY l.stage_id ORDER BY l.stage_id",
    )
    .bind(tenant_id)
    .bind(hold_id)
    .bind(false)
    .fetch_all(&mut *conn)
    .await?;
    give_back_units(conn, tenant_id, &units).await?;
    sqlx::query(
        "UPDATE discount_codes SET uses = uses - 1 WHERE tenant_id = $1 AND uses > 0 AND id = \
         (SELECT discount_code_id FROM orders WHERE tenant_id = $1 AND hold_id = $2 AND status = 'pending')",
    )
    .bind(tenant_id)
    .bind(hold_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the event's reservations whose time has passed (their pending orders expire
/// and give their stage units back). Returns how many were ended.
async fn end_expired_holds_of_event(
    conn: &mut Conn,
    tenant_id: Uuid,
    event_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let expired: Vec<HoldRecord> = sqlx::query_as(
        "SELECT id, event_id, zone_id, kind, quantity, status, expires_at, created_at FROM holds \
         WHERE tenant_id = $1 AND event_id = $2 AND status = 'active' AND expires_at <= $3 ORDER BY id",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut ended = 0;
    for hold in &expired {
        if end_hold(conn, tenant_id, hold, "expired", now).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Gives the stage units of a paid order that is being voided back to its
/// stages that are still running: voided tickets are no longer sold. The
/// discount code use stays counted.
pub(super) async fn return_voided_stage_units(
    conn: &mut Conn,
    tenant_id: Uuid,
    order_id: Uuid,
) -> StoreResult<()> {
    let units: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT l.stage_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_lines l \
         JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id \
         WHERE o.tenant_id = $1 AND o.id = $2 AND o.courtesy = $3 \
         AND l.stage_id IS NOT NULL GROUP BY l.stage_id ORDER BY l.stage_id",
    )
    .bind(tenant_id)
    .bind(order_id)
    .bind(false)
    .fetch_all(&mut *conn)
    .await?;
    give_back_units(conn, tenant_id, &units).await
}

async fn give_back_units(
    conn: &mut Conn,
    tenant_id: Uuid,
    units: &[(Uuid, i64)],
) -> StoreResult<()> {
    for (stage_id, quantity) in units {
        sqlx::query(
            "UPDATE price_stages SET units_sold = units_sold - $3 \
             WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND quantity_limit IS NOT NULL AND units_sold >= $3",
        )
        .bind(tenant_id)
        .bind(stage_id)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct TaxRuleRow {
    id: Uuid,
    scope: String,
    venue_id: Option<Uuid>,
    event_id: Option<Uuid>,
    name: String,
    category: String,
    kind: String,
    basis_points: i64,
    usd_cents: i64,
    compound: bool,
    supersedes_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl TaxRuleRow {
    fn rule(&self) -> TaxRule {
        TaxRule {
            key: self.id.to_string(),
            name: self.name.clone(),
            category: if self.category == "iva" {
                TaxCategory::Iva
            } else {
                TaxCategory::Other
            },
            kind: match self.kind.as_str() {
                "fixed_per_ticket" => TaxKind::FixedPerTicket {
                    usd_cents: self.usd_cents,
                },
                "fixed_per_order" => TaxKind::FixedPerOrder {
                    usd_cents: self.usd_cents,
                },
                _ => TaxKind::Percentage {
                    basis_points: self.basis_points,
                },
            },
            compound: self.compound,
        }
    }

    fn view(self) -> TaxRuleRecord {
        let rule = self.rule();
        TaxRuleRecord {
            id: self.id,
            scope: self.scope,
            venue_id: self.venue_id,
            event_id: self.event_id,
            name: self.name,
            category: rule.category,
            kind: rule.kind,
            compound: self.compound,
            supersedes_id: self.supersedes_id,
            created_at: self.created_at,
            ended_at: self.ended_at,
        }
    }
}

/// Reads the tax rules in force for an event: the tenant's, its venue's and its own,
/// in that order, oldest first within each.
pub(super) async fn rules_in_force(
    conn: &mut Conn,
    tenant_id: Uuid,
    venue_id: Uuid,
    event_id: Uuid,
) -> StoreResult<Vec<TaxRule>> {
    let sql = format!(
        "SELECT {TAX_RULE_COLUMNS} FROM tax_rules WHERE tenant_id = $1 AND ended_at IS NULL \
         AND (scope = 'tenant' OR (scope = 'venue' AND venue_id = $2) OR (scope = 'event' AND event_id = $3)) \
         ORDER BY CASE scope WHEN 'tenant' THEN 0 WHEN 'venue' THEN 1 ELSE 2 END, id"
    );
    let rows: Vec<TaxRuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(venue_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(TaxRuleRow::rule).collect())
}

fn tax_kind_columns(kind: TaxKind) -> (&'static str, i64, i64) {
    match kind {
        TaxKind::Percentage { basis_points } => ("percentage", basis_points, 0),
        TaxKind::FixedPerTicket { usd_cents } => ("fixed_per_ticket", 0, usd_cents),
        TaxKind::FixedPerOrder { usd_cents } => ("fixed_per_order", 0, usd_cents),
    }
}

impl Backend {
    pub(super) async fn insert_tax_rule(
        &self,
        conn: &mut Conn,
        tenant_id: Uuid,
        rule: &NewTaxRule,
        supersedes_id: Option<Uuid>,
        created_by: Option<Uuid>,
    ) -> StoreResult<TaxRuleRecord> {
        let (scope, venue_id, event_id) = match rule.scope {
            TaxScope::Tenant => ("tenant", None, None),
            TaxScope::Venue { venue_id } => ("venue", Some(venue_id), None),
            TaxScope::Event { event_id } => ("event", None, Some(event_id)),
        };
        if let Some(venue_id) = venue_id {
            let known: Option<(Uuid,)> =
                sqlx::query_as("SELECT id FROM venues WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(venue_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if known.is_none() {
                return Err(StoreError::NotFound("venue"));
            }
        }
        if let Some(event_id) = event_id {
            require_event(&mut *conn, tenant_id, event_id).await?;
        }
        let (kind, basis_points, usd_cents) = tax_kind_columns(rule.kind);
        let id = Uuid::now_v7();
        let now = self.clock.now();
        sqlx::query(
            "INSERT INTO tax_rules (tenant_id, id, scope, venue_id, event_id, name, category, kind, basis_points, \
             usd_cents, compound, supersedes_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(scope)
        .bind(venue_id)
        .bind(event_id)
        .bind(&rule.name)
        .bind(match rule.category {
            TaxCategory::Iva => "iva",
            TaxCategory::Other => "other",
        })
        .bind(kind)
        .bind(basis_points)
        .bind(usd_cents)
        .bind(rule.compound)
        .bind(supersedes_id)
        .bind(created_by)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(TaxRuleRecord {
            id,
            scope: scope.to_string(),
            venue_id,
            event_id,
            name: rule.name.clone(),
            category: rule.category,
            kind: rule.kind,
            compound: rule.compound,
            supersedes_id,
            created_at: now,
            ended_at: None,
        })
    }

    pub(super) async fn pricing_create_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule: NewTaxRule,
    ) -> StoreResult<TaxRuleRecord> {
        let mut tx = self.begin_write().await?;
        let created = self
            .insert_tax_rule(tx.conn(), tenant_id, &rule, None, Some(principal_id))
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Ends a rule and, with `successor`, adds the rule that replaces it; the
    /// ended rule stays in the history.
    pub(super) async fn pricing_end_tax_rule(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        rule_id: Uuid,
        successor: Option<NewTaxRule>,
    ) -> StoreResult<Option<TaxRuleRecord>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let ended = sqlx::query(
            "UPDATE tax_rules SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
        )
        .bind(tenant_id)
        .bind(rule_id)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if ended == 0 {
            let exists: Option<(Uuid,)> =
                sqlx::query_as("SELECT id FROM tax_rules WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(rule_id)
                    .fetch_optional(tx.conn())
                    .await?;
            return Err(match exists {
                Some(_) => StoreError::conflict("tax_rule_ended"),
                None => StoreError::NotFound("tax rule"),
            });
        }
        let created = match successor {
            Some(rule) => Some(
                self.insert_tax_rule(
                    tx.conn(),
                    tenant_id,
                    &rule,
                    Some(rule_id),
                    Some(principal_id),
                )
                .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        Ok(created)
    }

    pub(super) async fn pricing_list_tax_rules(
        &self,
        tenant_id: Uuid,
        include_ended: bool,
        page: PageRequest,
    ) -> StoreResult<Page<TaxRuleRecord>> {
        let rows: Vec<TaxRuleRow> = sqlx::query_as(crate::list_sql::TAX_RULES_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(include_ended)
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        let items = rows.into_iter().map(TaxRuleRow::view).collect();
        Ok(page_of(items, page, |rule: &TaxRuleRecord| rule.id))
    }

    pub(super) async fn pricing_create_stage(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        stage: NewPriceStage,
    ) -> StoreResult<PriceStage> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let event: Option<(String,)> =
            sqlx::query_as("SELECT status FROM events WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(event_id)
                .fetch_optional(tx.conn())
                .await?;
        let Some((status,)) = event else {
            return Err(StoreError::NotFound("event"));
        };
        if status == "closed" || status == "cancelled" {
            return Err(StoreError::conflict_with(
                "event_not_editable",
                json!({ "status": status }),
            ));
        }
        // Serialise stage changes of one event on the event row.
        sqlx::query("UPDATE events SET status = status WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(event_id)
            .execute(tx.conn())
            .await?;

        let capacity: i64 = match stage.zone_id {
            Some(zone_id) => {
                let zone: Option<(i64,)> = sqlx::query_as(
                    "SELECT capacity FROM zones WHERE tenant_id = $1 AND id = $2 AND event_id = $3",
                )
                .bind(tenant_id)
                .bind(zone_id)
                .bind(event_id)
                .fetch_optional(tx.conn())
                .await?;
                zone.ok_or(StoreError::NotFound("zone"))?.0
            }
            None => {
                sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(capacity), 0) AS BIGINT) FROM zones WHERE tenant_id = $1 AND event_id = $2",
                )
                .bind(tenant_id)
                .bind(event_id)
                .fetch_one(tx.conn())
                .await?
            }
        };
        if let Some(limit) = stage.quantity_limit
            && limit > capacity
        {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "quantity_limit",
                "stage_quantity_exceeds_capacity",
            )));
        }

        let existing = event_stages(tx.conn(), tenant_id, event_id).await?;
        let same_scope: Vec<&StageRecord> = existing
            .iter()
            .filter(|other| other.zone_id == stage.zone_id)
            .collect();
        let has_window = |starts: Option<DateTime<Utc>>, ends: Option<DateTime<Utc>>| {
            starts.is_some() || ends.is_some()
        };
        if has_window(stage.starts_at, stage.ends_at) {
            for other in &same_scope {
                if !has_window(other.starts_at, other.ends_at) {
                    continue;
                }
                // Stages run in position order, so a new stage's window must
                // also come after every earlier window.
                let overlaps = stages::windows_overlap(
                    (stage.starts_at, stage.ends_at),
                    (other.starts_at, other.ends_at),
                );
                let before = match (stage.starts_at, other.ends_at) {
                    (Some(starts), Some(other_ends)) => starts < other_ends,
                    _ => true,
                };
                if overlaps || before {
                    return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                        "starts_at",
                        "stage_window_overlaps",
                    )));
                }
            }
        }

        let position = existing
            .iter()
            .map(|other| other.position)
            .max()
            .unwrap_or(0)
            + 1;
        let (modifier_kind, modifier_value) = modifier_columns(stage.modifier);
        let record = StageRecord {
            id: Uuid::now_v7(),
            event_id,
            zone_id: stage.zone_id,
            position,
            name: stage.name,
            modifier_kind: modifier_kind.to_string(),
            modifier_value,
            starts_at: stage.starts_at,
            ends_at: stage.ends_at,
            quantity_limit: stage.quantity_limit,
            units_sold: 0,
            ended_at: None,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO price_stages (tenant_id, id, event_id, zone_id, position, name, modifier_kind, modifier_value, \
             starts_at, ends_at, quantity_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(tenant_id)
        .bind(record.id)
        .bind(event_id)
        .bind(record.zone_id)
        .bind(position)
        .bind(&record.name)
        .bind(&record.modifier_kind)
        .bind(modifier_value)
        .bind(record.starts_at)
        .bind(record.ends_at)
        .bind(record.quantity_limit)
        .bind(now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;

        let mut all = existing;
        all.push(record.clone());
        Ok(record.view(&stage_status(&all, all.len() - 1, now)))
    }

    /// Ends a running or upcoming stage by hand, for a stage created by
    /// mistake or a sale stopped early: records an `ended_manually` transition.
    pub(super) async fn pricing_end_stage(
        &self,
        tenant_id: Uuid,
        stage_id: Uuid,
    ) -> StoreResult<StageTransition> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let sql =
            format!("SELECT {STAGE_COLUMNS} FROM price_stages WHERE tenant_id = $1 AND id = $2");
        let stage: Option<StageRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(stage_id)
            .fetch_optional(tx.conn())
            .await?;
        let Some(mut stage) = stage else {
            return Err(StoreError::NotFound("price stage"));
        };
        // Lock the stage: a sale taking its units waits, then reads it as ended.
        let ended: Option<i64> = sqlx::query_scalar(
            "UPDATE price_stages SET ended_at = $3 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL \
             RETURNING units_sold",
        )
        .bind(tenant_id)
        .bind(stage_id)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let Some(counted) = ended else {
            return Err(StoreError::conflict_with(
                "stage_ended",
                json!({ "ended_at": stage.ended_at }),
            ));
        };
        stage.units_sold = counted;
        let units_sold = if stage.quantity_limit.is_some() {
            counted
        } else {
            units_at_stage(tx.conn(), tenant_id, stage_id).await?
        };
        let transition = insert_transition(
            tx.conn(),
            tenant_id,
            &stage,
            "ended_manually",
            units_sold,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(transition)
    }

    /// Records the date transitions that are due for one event (lazily, on
    /// reads); opens a write transaction only when one is due.
    pub(super) async fn pricing_apply_event_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<Vec<StageTransition>> {
        let now = self.clock.now();
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM price_stages WHERE tenant_id = $1 AND event_id = $2 AND ended_at IS NULL AND ends_at <= $3",
        )
        .bind(tenant_id)
        .bind(event_id)
        .bind(now)
        .fetch_one(self.read_pool())
        .await?;
        if due == 0 {
            return Ok(Vec::new());
        }
        with_retry!(
            async {
                let mut tx = self.begin_write().await?;
                let mut stages = event_stages(tx.conn(), tenant_id, event_id).await?;
                let transitions = end_passed_stages(tx.conn(), tenant_id, &mut stages, now).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(transitions)
            }
            .await
        )
    }

    /// The background job's pass: records up to `limit` due date transitions of any tenant.
    pub(super) async fn pricing_apply_due_transitions(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, StageTransition)>> {
        let now = self.clock.now();
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT DISTINCT tenant_id, event_id FROM price_stages WHERE ended_at IS NULL AND ends_at <= $1 LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await?;
        let mut transitions = Vec::new();
        for (tenant_id, event_id) in due {
            for transition in self
                .pricing_apply_event_transitions(tenant_id, event_id)
                .await?
            {
                transitions.push((tenant_id, transition));
            }
        }
        Ok(transitions)
    }

    pub(super) async fn pricing_list_stages(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<PriceStage>> {
        let mut conn = self.read_pool().acquire().await?;
        require_event(&mut conn, tenant_id, event_id).await?;
        let now = self.clock.now();
        // A stage's status depends on every stage of its scope, so all the
        // event's stages are read and the page is cut from them.
        let mut stages = event_stages(&mut conn, tenant_id, event_id).await?;
        count_unlimited_stage_units(&mut conn, tenant_id, event_id, &mut stages).await?;

        let first = match page.after {
            None => 0,
            Some(cursor) => stages
                .iter()
                .position(|stage| stage.id == cursor)
                .map_or(stages.len(), |index| index + 1),
        };
        let end = stages.len().min(first + page.limit.max(0) as usize + 1);
        let items = (first..end)
            .map(|index| stages[index].view(&stage_status(&stages, index, now)))
            .collect();
        Ok(page_of(items, page, |stage: &PriceStage| stage.id))
    }

    pub(super) async fn pricing_zone_stages(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
    ) -> StoreResult<Vec<ZoneStage>> {
        let mut conn = self.read_pool().acquire().await?;
        let now = self.clock.now();
        let zones: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT id, name, price_usd_cents FROM zones WHERE tenant_id = $1 AND event_id = $2 ORDER BY id",
        )
        .bind(tenant_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
        if zones.is_empty() {
            require_event(&mut conn, tenant_id, event_id).await?;
        }
        let mut stages = event_stages(&mut conn, tenant_id, event_id).await?;
        count_unlimited_stage_units(&mut conn, tenant_id, event_id, &mut stages).await?;
        Ok(zones
            .into_iter()
            .map(|(zone_id, zone_name, base_price_usd_cents)| {
                let (scope, selection) = zone_selection(&stages, zone_id, now);
                let states: Vec<StageState> =
                    scope.iter().map(|&index| stages[index].state()).collect();
                let current = selection.index().map(|index| &stages[scope[index]]);
                let next = stages::next_after(&states, selection, now)
                    .map(|index| stages[scope[index]].view("upcoming"));
                let finished = matches!(selection, Selection::Finished(_));
                ZoneStage {
                    zone_id,
                    zone_name,
                    base_price_usd_cents,
                    current: current
                        .map(|stage| stage.view(if finished { "ended" } else { "current" })),
                    finished,
                    seconds_left: current
                        .filter(|_| !finished)
                        .and_then(|stage| stage.ends_at)
                        .map(|ends| (ends - now).num_seconds().max(0)),
                    next,
                }
            })
            .collect())
    }

    pub(super) async fn pricing_list_transitions(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<StageTransition>> {
        let mut conn = self.read_pool().acquire().await?;
        require_event(&mut conn, tenant_id, event_id).await?;
        let query = match page.after {
            None => sqlx::query_as(crate::list_sql::STAGE_TRANSITIONS_FIRST)
                .bind(tenant_id)
                .bind(event_id),
            Some(cursor) => sqlx::query_as(crate::list_sql::STAGE_TRANSITIONS_AFTER)
                .bind(tenant_id)
                .bind(event_id)
                .bind(cursor),
        };
        let items: Vec<StageTransition> = query.bind(page.limit + 1).fetch_all(&mut *conn).await?;
        Ok(page_of(items, page, |transition| transition.id))
    }
}

/// `current`, `ended` or `upcoming` for the stage at `index`, as the zones of
/// its scope see it.
fn stage_status(stages: &[StageRecord], index: usize, now: DateTime<Utc>) -> String {
    let stage = &stages[index];
    if stage.state().is_over(now) {
        return "ended".to_string();
    }
    let scope: Vec<usize> = (0..stages.len())
        .filter(|&other| stages[other].zone_id == stage.zone_id)
        .collect();
    let states: Vec<StageState> = scope.iter().map(|&other| stages[other].state()).collect();
    match stages::select(&states, now) {
        Selection::Running(selected) if scope[selected] == index => "current".to_string(),
        _ => "upcoming".to_string(),
    }
}

#[derive(FromRow)]
pub(super) struct SeatRow {
    pub(super) id: Uuid,
    pub(super) row_label: String,
    pub(super) number: i64,
    pub(super) status: String,
    pub(super) table_id: Option<Uuid>,
    pub(super) price_modifier_usd_cents: i64,
    pub(super) row_markup: i64,
}

/// The zone's tables with their available seats, from the seat map just read.
pub(super) async fn zone_tables(
    conn: &mut Conn,
    tenant_id: Uuid,
    zone_id: Uuid,
    seats: &[SeatStatus],
) -> StoreResult<Vec<TableAvailability>> {
    let tables: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT id, name, seat_count FROM table_groups WHERE tenant_id = $1 AND zone_id = $2 ORDER BY name, id",
    )
    .bind(tenant_id)
    .bind(zone_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(tables
        .into_iter()
        .map(|(id, name, seat_count)| TableAvailability {
            available: seats
                .iter()
                .filter(|seat| seat.table_id == Some(id) && seat.status == "available")
                .count() as i64,
            id,
            name,
            seat_count,
        })
        .collect())
}

/// In a zone that sells tables whole, checks that the requested seats cover
/// every table they touch.
pub(super) async fn check_complete_tables(
    conn: &mut Conn,
    tenant_id: Uuid,
    zone_id: Uuid,
    seat_ids: &[Uuid],
) -> StoreResult<()> {
    let mut query = QueryBuilder::<Db>::new(
        "SELECT t.id, t.name, t.seat_count FROM table_groups t WHERE t.tenant_id = ",
    );
    query
        .push_bind(tenant_id)
        .push(" AND t.zone_id = ")
        .push_bind(zone_id)
        .push(" AND t.id IN (SELECT s.table_id FROM seats s WHERE s.tenant_id = ")
        .push_bind(tenant_id)
        .push(" AND s.id IN (");
    let mut separated = query.separated(", ");
    for seat_id in seat_ids {
        separated.push_bind(*seat_id);
    }
    query.push("))");
    let tables: Vec<(Uuid, String, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
    let mut incomplete = Vec::new();
    for (table_id, name, seat_count) in tables {
        let members: Vec<(Uuid,)> =
            sqlx::query_as("SELECT id FROM seats WHERE tenant_id = $1 AND table_id = $2")
                .bind(tenant_id)
                .bind(table_id)
                .fetch_all(&mut *conn)
                .await?;
        let requested = members.iter().filter(|(id,)| seat_ids.contains(id)).count() as i64;
        if requested != seat_count {
            incomplete.push(json!({ "id": table_id, "name": name, "seat_count": seat_count, "requested": requested }));
        }
    }
    if incomplete.is_empty() {
        Ok(())
    } else {
        Err(StoreError::conflict_with(
            "table_must_be_complete",
            json!({ "tables": incomplete }),
        ))
    }
}

#[derive(FromRow)]
struct DiscountRow {
    id: Uuid,
    event_id: Uuid,
    code: String,
    modifier_kind: String,
    modifier_value: i64,
    max_uses: i64,
    uses: i64,
    active: bool,
    created_at: DateTime<Utc>,
}

impl DiscountRow {
    fn view(self) -> DiscountCode {
        DiscountCode {
            modifier: modifier_from_columns(&self.modifier_kind, self.modifier_value),
            id: self.id,
            event_id: self.event_id,
            code: self.code,
            max_uses: self.max_uses,
            uses: self.uses,
            active: self.active,
            created_at: self.created_at,
        }
    }
}

impl Backend {
    pub(super) async fn pricing_update_zone(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        pricing: ZonePricing,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let zone = self.zone_record(tx.conn(), tenant_id, zone_id).await?;
        let numbered_only = |field: &str| {
            StoreError::Invalid(taquilla_domain::FieldError::new(
                field,
                "numbered_zone_only",
            ))
        };
        if zone.kind != "numbered"
            && (pricing
                .row_markup_basis_points
                .is_some_and(|value| value != 0)
                || !pricing.row_overrides.is_empty()
                || !pricing.seat_modifiers.is_empty()
                || pricing.table_mode.as_deref() == Some("complete_only"))
        {
            return Err(numbered_only("zone_id"));
        }
        sqlx::query(
            "UPDATE zones SET row_markup_basis_points = COALESCE($3, row_markup_basis_points), \
             table_mode = COALESCE($4, table_mode), tax_exempt = COALESCE($5, tax_exempt) \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(zone_id)
        .bind(pricing.row_markup_basis_points)
        .bind(&pricing.table_mode)
        .bind(pricing.tax_exempt)
        .execute(tx.conn())
        .await?;
        for (label, basis_points) in &pricing.row_overrides {
            let row_index: Option<i64> = sqlx::query_scalar(
                "SELECT row_index FROM seats WHERE tenant_id = $1 AND zone_id = $2 AND row_label = $3 LIMIT 1",
            )
            .bind(tenant_id)
            .bind(zone_id)
            .bind(label)
            .fetch_optional(tx.conn())
            .await?;
            let Some(row_index) = row_index else {
                return Err(StoreError::conflict_with(
                    "row_not_found",
                    json!({ "row": label }),
                ));
            };
            sqlx::query(
                "DELETE FROM zone_row_markups WHERE tenant_id = $1 AND zone_id = $2 AND row_index = $3",
            )
            .bind(tenant_id)
            .bind(zone_id)
            .bind(row_index)
            .execute(tx.conn())
            .await?;
            if let Some(basis_points) = basis_points {
                sqlx::query(
                    "INSERT INTO zone_row_markups (tenant_id, zone_id, row_index, basis_points) VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant_id)
                .bind(zone_id)
                .bind(row_index)
                .bind(basis_points)
                .execute(tx.conn())
                .await?;
            }
        }
        for (seat_id, usd_cents) in &pricing.seat_modifiers {
            let updated = sqlx::query(
                "UPDATE seats SET price_modifier_usd_cents = $4 WHERE tenant_id = $1 AND zone_id = $2 AND id = $3",
            )
            .bind(tenant_id)
            .bind(zone_id)
            .bind(seat_id)
            .bind(usd_cents)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(StoreError::conflict_with(
                    "seat_not_found",
                    json!({ "seat_ids": [seat_id] }),
                ));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn pricing_create_table(
        &self,
        tenant_id: Uuid,
        zone_id: Uuid,
        table: NewTableGroup,
    ) -> StoreResult<TableGroup> {
        let mut tx = self.begin_write().await?;
        let zone = self.zone_record(tx.conn(), tenant_id, zone_id).await?;
        if zone.kind != "numbered" {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "zone_id",
                "numbered_zone_only",
            )));
        }
        let mut seats: Vec<(Uuid, Option<Uuid>)> = Vec::new();
        for range in &table.ranges {
            let found: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(
                "SELECT id, table_id FROM seats WHERE tenant_id = $1 AND zone_id = $2 AND row_label = $3 \
                 AND number >= $4 AND number <= $5 ORDER BY number",
            )
            .bind(tenant_id)
            .bind(zone_id)
            .bind(&range.row)
            .bind(range.from)
            .bind(range.to)
            .fetch_all(tx.conn())
            .await?;
            if found.len() as i64 != range.to - range.from + 1 {
                return Err(StoreError::conflict_with(
                    "seat_not_found",
                    json!({ "row": range.row, "from": range.from, "to": range.to }),
                ));
            }
            seats.extend(found);
        }
        seats.sort_unstable();
        seats.dedup();
        if seats.len() as i64 != table.seat_count {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "seat_count",
                "does_not_match_seats",
            )));
        }
        let taken: Vec<Uuid> = seats
            .iter()
            .filter(|(_, table_id)| table_id.is_some())
            .map(|(id, _)| *id)
            .collect();
        if !taken.is_empty() {
            return Err(StoreError::conflict_with(
                "seat_already_in_table",
                json!({ "seat_ids": taken }),
            ));
        }
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let inserted = sqlx::query(
            "INSERT INTO table_groups (tenant_id, id, zone_id, name, seat_count, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(zone_id)
        .bind(&table.name)
        .bind(table.seat_count)
        .bind(now)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict_with(
                    "table_name_taken",
                    json!({ "name": table.name }),
                ));
            }
            return Err(error.into());
        }
        for (seat_id, _) in &seats {
            sqlx::query("UPDATE seats SET table_id = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(seat_id)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        Ok(TableGroup {
            id,
            zone_id,
            name: table.name,
            seat_count: table.seat_count,
            seat_ids: seats.into_iter().map(|(id, _)| id).collect(),
            created_at: now,
        })
    }

    pub(super) async fn pricing_igtf_settings(&self, tenant_id: Uuid) -> StoreResult<IgtfSettings> {
        let row: Option<(bool, i64, String)> = sqlx::query_as(
            "SELECT igtf_enabled, igtf_basis_points, igtf_methods FROM tenants WHERE id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(self.read_pool())
        .await?;
        let (enabled, basis_points, methods) = row.ok_or(StoreError::NotFound("tenant"))?;
        Ok(IgtfSettings {
            enabled,
            basis_points,
            methods: methods
                .split(',')
                .map(str::trim)
                .filter(|method| !method.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    pub(super) async fn pricing_set_igtf(
        &self,
        tenant_id: Uuid,
        settings: IgtfSettings,
    ) -> StoreResult<IgtfSettings> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE tenants SET igtf_enabled = $2, igtf_basis_points = $3, igtf_methods = $4 WHERE id = $1",
        )
        .bind(tenant_id)
        .bind(settings.enabled)
        .bind(settings.basis_points)
        .bind(settings.methods.join(","))
        .execute(tx.conn())
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("tenant"));
        }
        tx.commit().await?;
        Ok(settings)
    }

    pub(super) async fn pricing_create_discount_code(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        code: NewDiscountCode,
    ) -> StoreResult<DiscountCode> {
        let mut tx = self.begin_write().await?;
        require_event(tx.conn(), tenant_id, event_id).await?;
        let (kind, value) = modifier_columns(code.modifier);
        let row = DiscountRow {
            id: Uuid::now_v7(),
            event_id,
            code: code.code,
            modifier_kind: kind.to_string(),
            modifier_value: value,
            max_uses: code.max_uses,
            uses: 0,
            active: true,
            created_at: self.clock.now(),
        };
        let inserted = sqlx::query(
            "INSERT INTO discount_codes (tenant_id, id, event_id, code, modifier_kind, modifier_value, max_uses, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(row.id)
        .bind(event_id)
        .bind(&row.code)
        .bind(&row.modifier_kind)
        .bind(row.modifier_value)
        .bind(row.max_uses)
        .bind(row.created_at)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict_with(
                    "discount_code_taken",
                    json!({ "code": row.code }),
                ));
            }
            return Err(error.into());
        }
        tx.commit().await?;
        Ok(row.view())
    }

    pub(super) async fn pricing_list_discount_codes(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<DiscountCode>> {
        let mut conn = self.read_pool().acquire().await?;
        require_event(&mut conn, tenant_id, event_id).await?;
        let rows: Vec<DiscountRow> = sqlx::query_as(crate::list_sql::DISCOUNT_CODES_PAGE)
            .bind(tenant_id)
            .bind(event_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let items = rows.into_iter().map(DiscountRow::view).collect();
        Ok(page_of(items, page, |code: &DiscountCode| code.id))
    }

    pub(super) async fn pricing_pin_rate(
        &self,
        tenant_id: Uuid,
        event_id: Uuid,
        rate_id: Option<Uuid>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        if let Some(rate_id) = rate_id {
            let known: Option<(bool, chrono::NaiveDate)> = sqlx::query_as(
                "SELECT superseded, effective_date FROM exchange_rates WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(rate_id)
            .fetch_optional(tx.conn())
            .await?;
            let Some((superseded, effective_date)) = known else {
                return Err(StoreError::NotFound("exchange rate"));
            };
            // A corrected rate or one not yet in effect cannot be pinned.
            if superseded {
                return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                    "rate_id",
                    "exchange_rate_superseded",
                )));
            }
            if effective_date > caracas_date(self.clock.now()) {
                return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                    "rate_id",
                    "exchange_rate_not_effective",
                )));
            }
        }
        let updated =
            sqlx::query("UPDATE events SET pinned_rate_id = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(event_id)
                .bind(rate_id)
                .execute(tx.conn())
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("event"));
        }
        tx.commit().await?;
        Ok(())
    }
}
