//! Offline sales: blocks of reserved numbers for terminals, their sync and
//! their closing. Shared by both backends like `common.rs` (this file is a
//! child module of it).
//!
//! A block takes `size` consecutive numbers of an offline invoice series and
//! as many control numbers from the tenant's counter when it is handed out,
//! so online sales go on numbering without waiting for the terminal's sync. Every number of a block ends as
//! one `offline_numbers` row (and, when accepted, an invoice): the series has
//! no gap once the block is closed, and `fiscal verify` counts the numbers of
//! open blocks as reserved.
//!
//! Locks: every sync, closing and expiry of a block first updates the block's
//! row, so they run one at a time per block and keep the terminal's order.
//! A synced sale then takes the same locks as an online one.

use std::collections::HashSet;

use taquilla_domain::fiscal::format_control_number;

use super::*;
use crate::list_sql::BLOCK_COLUMNS;

/// How far a terminal's clock may be ahead of or behind the server's.
const CLOCK_TOLERANCE_MINUTES: i64 = 5;

/// The number an offline sale printed, which its invoice must carry.
pub(super) struct ReservedNumber {
    pub(super) series_id: Uuid,
    pub(super) block_id: Uuid,
    pub(super) terminal: String,
    pub(super) number: i64,
    pub(super) control_number: String,
    pub(super) sold_at: DateTime<Utc>,
}

/// Issues the invoice of a synced offline sale with the number and control
/// number the terminal printed and the time it sold, under the tenant row
/// like any other document.
pub(super) async fn issue_reserved(
    conn: &mut Conn,
    tenant_id: Uuid,
    series: &SeriesRecord,
    reserved: &ReservedNumber,
    mut draft: DocumentDraft,
    now: DateTime<Utc>,
) -> StoreResult<Issuance> {
    let sequence: i64 = sqlx::query_scalar(
        "UPDATE tenants SET audit_length = audit_length + 1 WHERE id = $1 RETURNING audit_length",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    check_day_open(conn, tenant_id, draft.issued_by, reserved.sold_at).await?;
    draft.content["offline"] = json!({
        "block_id": reserved.block_id,
        "terminal": reserved.terminal,
        "sold_at": reserved.sold_at,
    });
    let summary = record_document(
        conn,
        tenant_id,
        RecordedDocument {
            id: Uuid::now_v7(),
            series,
            number: reserved.number,
            control_number: reserved.control_number.clone(),
            verification_url: None,
            issued_at: reserved.sold_at,
            audit_sequence: Some(sequence),
        },
        &draft,
        now,
    )
    .await?;
    Ok(Issuance::Issued(summary))
}

#[derive(FromRow)]
struct BlockRecord {
    id: Uuid,
    series_id: Uuid,
    terminal: String,
    cashier_id: Uuid,
    first_number: i64,
    size: i64,
    control_prefix: i64,
    first_control: i64,
    status: String,
    close_reason: Option<String>,
    last_synced: i64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl BlockRecord {
    fn last_number(&self) -> i64 {
        self.first_number + self.size - 1
    }

    fn control_number(&self, number: i64) -> String {
        format_control_number(
            self.control_prefix.clamp(0, 99) as u8,
            self.first_control + (number - self.first_number),
        )
    }
}

/// Locks a block's row and returns it.
async fn lock_block(conn: &mut Conn, tenant_id: Uuid, block_id: Uuid) -> StoreResult<BlockRecord> {
    let sql = format!(
        "UPDATE offline_blocks SET status = status WHERE tenant_id = $1 AND id = $2 RETURNING {BLOCK_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(block_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("offline block"))
}

async fn block_view(
    conn: &mut Conn,
    tenant_id: Uuid,
    block: BlockRecord,
) -> StoreResult<OfflineBlock> {
    let series = series_by_id(conn, tenant_id, block.series_id).await?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, COUNT(*) FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2 GROUP BY outcome",
    )
    .bind(tenant_id)
    .bind(block.id)
    .fetch_all(&mut *conn)
    .await?;
    let count = |outcome: &str| {
        counts
            .iter()
            .find(|(name, _)| name == outcome)
            .map_or(0, |(_, count)| *count)
    };
    let (accepted, rejected, voided) = (count("accepted"), count("rejected"), count("voided"));
    Ok(OfflineBlock {
        id: block.id,
        series: series.code,
        terminal: block.terminal.clone(),
        cashier_id: block.cashier_id,
        first_number: block.first_number,
        last_number: block.last_number(),
        first_control_number: block.control_number(block.first_number),
        last_control_number: block.control_number(block.last_number()),
        status: block.status.clone(),
        close_reason: block.close_reason.clone(),
        last_synced: block.last_synced,
        accepted,
        rejected,
        voided,
        unresolved: block.size - accepted - rejected - voided,
        issued_at: block.issued_at,
        expires_at: block.expires_at,
        closed_at: block.closed_at,
    })
}

#[derive(FromRow)]
struct NumberRecord {
    number: i64,
    control_number: String,
    outcome: String,
    reason: Option<String>,
    detail: Option<String>,
    request_hash: Option<String>,
    local_id: Option<String>,
    order_id: Option<Uuid>,
    document_id: Option<Uuid>,
}

async fn fetch_number(
    conn: &mut Conn,
    tenant_id: Uuid,
    block_id: Uuid,
    number: i64,
) -> StoreResult<Option<NumberRecord>> {
    Ok(sqlx::query_as(
        "SELECT number, control_number, outcome, reason, detail, request_hash, local_id, order_id, document_id \
         FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2 AND number = $3",
    )
    .bind(tenant_id)
    .bind(block_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?)
}

async fn number_result(
    conn: &mut Conn,
    tenant_id: Uuid,
    record: NumberRecord,
    replayed: bool,
) -> StoreResult<OfflineSaleResult> {
    let invoice = match record.document_id {
        Some(document_id) => {
            let (id, kind, series, number, control_number, issued_at): (
                Uuid,
                String,
                String,
                i64,
                String,
                DateTime<Utc>,
            ) = sqlx::query_as(
                "SELECT d.id, d.kind, s.code, d.number, d.control_number, d.issued_at \
                 FROM fiscal_documents d JOIN fiscal_series s ON s.tenant_id = d.tenant_id AND s.id = d.series_id \
                 WHERE d.tenant_id = $1 AND d.id = $2",
            )
            .bind(tenant_id)
            .bind(document_id)
            .fetch_one(&mut *conn)
            .await?;
            Some(DocumentSummary {
                id,
                kind,
                series,
                number,
                control_number,
                issued_at,
            })
        }
        None => None,
    };
    Ok(OfflineSaleResult {
        number: record.number,
        control_number: record.control_number,
        outcome: record.outcome,
        reason: record.reason,
        detail: record
            .detail
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        local_id: record.local_id,
        order_id: record.order_id,
        invoice,
        replayed,
    })
}

/// The record of one number of a block, before it is written.
struct Settlement<'a> {
    number: i64,
    outcome: &'static str,
    reason: Option<&'a str>,
    detail: Option<serde_json::Value>,
    sale: Option<&'a OfflineSale>,
    order_id: Option<Uuid>,
    document_id: Option<Uuid>,
}

/// Records what became of a number. A number that did not become an invoice
/// gets its own audit entry, so `fiscal verify` can account for it.
async fn settle_number(
    conn: &mut Conn,
    tenant_id: Uuid,
    block: &BlockRecord,
    settlement: Settlement<'_>,
    now: DateTime<Utc>,
) -> StoreResult<NumberRecord> {
    let id = Uuid::now_v7();
    let control_number = block.control_number(settlement.number);
    let detail = settlement.detail.as_ref().map(|value| value.to_string());
    sqlx::query(
        "INSERT INTO offline_numbers (tenant_id, block_id, number, id, series_id, control_number, outcome, reason, \
         detail, request_hash, local_id, order_id, document_id, sold_at, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tenant_id)
    .bind(block.id)
    .bind(settlement.number)
    .bind(id)
    .bind(block.series_id)
    .bind(&control_number)
    .bind(settlement.outcome)
    .bind(settlement.reason)
    .bind(&detail)
    .bind(settlement.sale.map(|sale| sale.request_hash.as_str()))
    .bind(settlement.sale.and_then(|sale| sale.local_id.as_deref()))
    .bind(settlement.order_id)
    .bind(settlement.document_id)
    .bind(settlement.sale.map(|sale| sale.sold_at))
    .bind(now)
    .execute(&mut *conn)
    .await?;

    if settlement.outcome != "accepted" {
        append_audit(
            conn,
            tenant_id,
            None,
            "offline_number_voided",
            id,
            &json!({
                "block_id": block.id,
                "series_id": block.series_id,
                "number": settlement.number,
                "control_number": control_number,
                "outcome": settlement.outcome,
                "reason": settlement.reason,
            }),
            now,
        )
        .await?;
    }

    if let Some(sale) = settlement.sale {
        sqlx::query(
            "UPDATE offline_blocks SET last_synced = $3 WHERE tenant_id = $1 AND id = $2 AND last_synced < $3",
        )
        .bind(tenant_id)
        .bind(block.id)
        .bind(sale.number)
        .execute(&mut *conn)
        .await?;
    }
    Ok(NumberRecord {
        number: settlement.number,
        control_number,
        outcome: settlement.outcome.to_string(),
        reason: settlement.reason.map(str::to_string),
        detail,
        request_hash: settlement.sale.map(|sale| sale.request_hash.clone()),
        local_id: settlement.sale.and_then(|sale| sale.local_id.clone()),
        order_id: settlement.order_id,
        document_id: settlement.document_id,
    })
}

/// Voids every number of the block not settled yet and closes it.
async fn close_block(
    conn: &mut Conn,
    tenant_id: Uuid,
    block: &BlockRecord,
    reason: &'static str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let settled: HashSet<i64> = sqlx::query_scalar::<_, i64>(
        "SELECT number FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2",
    )
    .bind(tenant_id)
    .bind(block.id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();

    let mut voided = 0;
    for number in block.first_number..=block.last_number() {
        if settled.contains(&number) {
            continue;
        }
        settle_number(
            conn,
            tenant_id,
            block,
            Settlement {
                number,
                outcome: "voided",
                reason: Some(reason),
                detail: None,
                sale: None,
                order_id: None,
                document_id: None,
            },
            now,
        )
        .await?;
        voided += 1;
    }

    sqlx::query(
        "UPDATE offline_blocks SET status = 'closed', close_reason = $3, closed_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(block.id)
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    append_audit(
        conn,
        tenant_id,
        None,
        "offline_block_closed",
        block.id,
        &json!({ "block_id": block.id, "reason": reason, "voided": voided }),
        now,
    )
    .await?;
    Ok(voided)
}

/// The outcome of one attempt to take an offline sale.
enum Attempt {
    /// The number is settled (now or by an earlier sync).
    Settled(Box<OfflineSaleResult>),
    /// The sale cannot be taken for this reason; nothing of it was written.
    Rejected(StoreError),
}

/// Returns whether `error` means the sale cannot be taken, as opposed to a
/// failure worth retrying later.
fn rejects_sale(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Conflict { .. } | StoreError::Invalid(_) | StoreError::NotFound(_)
    )
}

/// Returns whether `error` is one staff can fix and then sync again (today's
/// rate missing, a customer not registered yet or without a document), so the
/// number is left unsettled instead of losing a paid sale.
fn needs_staff(error: &StoreError) -> bool {
    match error {
        StoreError::Conflict { code, .. } => *code == "exchange_rate_missing",
        StoreError::NotFound(entity) => *entity == "customer",
        StoreError::Invalid(field) => field.rule == "customer_document_required",
        _ => false,
    }
}

/// Returns the reason and detail recorded for a rejected sale.
fn rejection_of(error: &StoreError) -> (String, serde_json::Value) {
    match error {
        StoreError::Conflict { code, details } => (code.to_string(), details.clone()),
        StoreError::Invalid(field) => (field.rule.clone(), json!({ "field": field.field })),
        StoreError::NotFound(what) => ("not_found".to_string(), json!({ "entity": what })),
        other => (
            "internal".to_string(),
            json!({ "error": other.to_string() }),
        ),
    }
}

impl Backend {
    pub(super) async fn create_offline_block_impl(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        request: NewOfflineBlock,
    ) -> StoreResult<OfflineBlock> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let series = resolve_series(tx.conn(), tenant_id, "invoice", Some(&request.series)).await?;
        if series.adapter != "offline" {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "series",
                "series_not_offline",
            )));
        }
        // Checked first without a lock, to reject early.
        if day_closed(tx.conn(), tenant_id, cashier_id, now).await? {
            return Err(day_closed_error(now));
        }

        // The block's numbers and control numbers are taken in one go.
        let first_number: i64 = sqlx::query_scalar(
            "UPDATE fiscal_series SET next_number = next_number + $3 WHERE tenant_id = $1 AND id = $2 \
             RETURNING next_number - $3",
        )
        .bind(tenant_id)
        .bind(series.id)
        .bind(request.size)
        .fetch_one(tx.conn())
        .await?;
        let (control_prefix, first_control, sequence): (i64, i64, i64) = sqlx::query_as(
            "UPDATE tenants SET next_control_number = next_control_number + $2, audit_length = audit_length + 1 \
             WHERE id = $1 RETURNING control_prefix, next_control_number - $2, audit_length",
        )
        .bind(tenant_id)
        .bind(request.size)
        .fetch_one(tx.conn())
        .await?;
        // Again under the tenant row, which a Z report takes before it closes
        // the day and looks for open blocks: this check reads a Z that
        // committed during the wait, and a later Z finds this block.
        check_day_open(tx.conn(), tenant_id, cashier_id, now).await?;

        let block = BlockRecord {
            id: Uuid::now_v7(),
            series_id: series.id,
            terminal: request.terminal,
            cashier_id,
            first_number,
            size: request.size,
            control_prefix,
            first_control,
            status: "open".to_string(),
            close_reason: None,
            last_synced: 0,
            issued_at: now,
            expires_at: now + request.valid_for,
            closed_at: None,
        };
        sqlx::query(
            "INSERT INTO offline_blocks (tenant_id, id, series_id, terminal, cashier_id, first_number, size, \
             control_prefix, first_control, status, last_synced, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', 0, $10, $11)",
        )
        .bind(tenant_id)
        .bind(block.id)
        .bind(block.series_id)
        .bind(&block.terminal)
        .bind(block.cashier_id)
        .bind(block.first_number)
        .bind(block.size)
        .bind(block.control_prefix)
        .bind(block.first_control)
        .bind(block.issued_at)
        .bind(block.expires_at)
        .execute(tx.conn())
        .await?;

        append_audit(
            tx.conn(),
            tenant_id,
            Some(sequence),
            "offline_block_assigned",
            block.id,
            &json!({
                "block_id": block.id,
                "series": series.code,
                "terminal": block.terminal,
                "cashier_id": cashier_id,
                "first_number": block.first_number,
                "last_number": block.last_number(),
                "first_control_number": block.control_number(block.first_number),
                "last_control_number": block.control_number(block.last_number()),
                "expires_at": block.expires_at,
            }),
            now,
        )
        .await?;
        let view = block_view(tx.conn(), tenant_id, block).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub(super) async fn get_offline_block_impl(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        let mut conn = self.read_pool().acquire().await?;
        let sql =
            format!("SELECT {BLOCK_COLUMNS} FROM offline_blocks WHERE tenant_id = $1 AND id = $2");
        let block: BlockRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(block_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("offline block"))?;
        block_view(&mut conn, tenant_id, block).await
    }

    pub(super) async fn list_offline_blocks_impl(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<OfflineBlock>> {
        let mut conn = self.read_pool().acquire().await?;
        let records: Vec<BlockRecord> = sqlx::query_as(crate::list_sql::OFFLINE_BLOCKS_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::with_capacity(records.len());
        for record in records {
            items.push(block_view(&mut conn, tenant_id, record).await?);
        }
        Ok(page_of(items, page, |block| block.id))
    }

    pub(super) async fn sync_offline_sale_impl(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: &OfflineSale,
    ) -> StoreResult<OfflineSaleResult> {
        match with_retry!(self.sync_attempt(tenant_id, block_id, sale).await)? {
            Attempt::Settled(result) => Ok(*result),
            Attempt::Rejected(error) => {
                with_retry!(
                    self.record_rejection(tenant_id, block_id, sale, &error)
                        .await
                )
            }
        }
    }

    /// Takes one offline sale in one transaction: hold, order, payments and
    /// the invoice with the reserved number, or nothing.
    async fn sync_attempt(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: &OfflineSale,
    ) -> StoreResult<Attempt> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let block = lock_block(tx.conn(), tenant_id, block_id).await?;
        if sale.number < block.first_number || sale.number > block.last_number() {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "number",
                "number_outside_block",
            )));
        }
        if let Some(existing) = fetch_number(tx.conn(), tenant_id, block.id, sale.number).await? {
            if existing
                .request_hash
                .as_deref()
                .is_some_and(|hash| hash != sale.request_hash)
            {
                return Err(StoreError::conflict_with(
                    "offline_number_reused",
                    json!({ "number": sale.number }),
                ));
            }
            return Ok(Attempt::Settled(Box::new(
                number_result(tx.conn(), tenant_id, existing, true).await?,
            )));
        }
        if block.status == "open" && block.expires_at <= now {
            // Expired and not swept yet: close it now; the number is voided with the rest.
            close_block(tx.conn(), tenant_id, &block, "block_expired", now).await?;
            let settled = fetch_number(tx.conn(), tenant_id, block.id, sale.number)
                .await?
                .ok_or_else(|| StoreError::Internal("closed block left a number".to_string()))?;
            let result = number_result(tx.conn(), tenant_id, settled, false).await?;
            tx.commit().await?;
            return Ok(Attempt::Settled(Box::new(result)));
        }
        if block.status != "open" {
            return Err(StoreError::Internal(format!(
                "closed offline block {} has an unsettled number {}",
                block.id, sale.number
            )));
        }

        let mut settlement = Settlement {
            number: sale.number,
            outcome: "rejected",
            reason: None,
            detail: None,
            sale: Some(sale),
            order_id: None,
            document_id: None,
        };
        // Invoices of a block must follow each other in time as in number.
        let previous_sold_at: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MAX(sold_at) FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2 AND outcome = 'accepted'",
        )
        .bind(tenant_id)
        .bind(block.id)
        .fetch_one(tx.conn())
        .await?;
        let earliest = block.issued_at - chrono::Duration::minutes(CLOCK_TOLERANCE_MINUTES);
        let latest = now.min(block.expires_at) + chrono::Duration::minutes(CLOCK_TOLERANCE_MINUTES);
        if sale.number <= block.last_synced {
            // A later number was synced first: taking this one now would
            // change the terminal's order.
            settlement.reason = Some("out_of_order");
            settlement.detail = Some(json!({ "last_synced": block.last_synced }));
        } else if sale.sold_at < earliest || sale.sold_at > latest {
            settlement.reason = Some("sold_at_out_of_range");
            settlement.detail = Some(json!({
                "sold_at": sale.sold_at,
                "block_issued_at": block.issued_at,
                "block_expires_at": block.expires_at,
            }));
        } else if let Some(previous) = previous_sold_at
            && sale.sold_at < previous
        {
            settlement.reason = Some("sold_at_before_previous");
            settlement.detail = Some(json!({
                "sold_at": sale.sold_at,
                "previous_sold_at": previous,
            }));
        } else {
            match &sale.entry {
                OfflineEntry::Void { reason } => {
                    settlement.outcome = "voided";
                    settlement.reason = Some(reason.as_str());
                }
                OfflineEntry::Sale(entry) => {
                    let reserved = ReservedNumber {
                        series_id: block.series_id,
                        block_id: block.id,
                        terminal: block.terminal.clone(),
                        number: sale.number,
                        control_number: block.control_number(sale.number),
                        sold_at: sale.sold_at,
                    };
                    // The sale is made again as of when the terminal made it:
                    // that day's rate, stage, sale window and fiscal day.
                    match self
                        .sale_in(
                            &mut tx,
                            tenant_id,
                            block.cashier_id,
                            entry,
                            Some(&reserved),
                            sale.sold_at,
                        )
                        .await
                    {
                        Ok(order) => {
                            settlement.outcome = "accepted";
                            settlement.order_id = Some(order.id);
                            settlement.document_id = order.invoice.map(|invoice| invoice.id);
                        }
                        Err(error) if needs_staff(&error) => return Err(error),
                        Err(error) if rejects_sale(&error) => {
                            // Dropping the transaction undoes what the sale wrote.
                            return Ok(Attempt::Rejected(error));
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        let record = settle_number(tx.conn(), tenant_id, &block, settlement, now).await?;
        let result = number_result(tx.conn(), tenant_id, record, false).await?;
        tx.commit().await?;
        Ok(Attempt::Settled(Box::new(result)))
    }

    /// Records a sale that could not be taken, in its own transaction.
    async fn record_rejection(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
        sale: &OfflineSale,
        error: &StoreError,
    ) -> StoreResult<OfflineSaleResult> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let block = lock_block(tx.conn(), tenant_id, block_id).await?;
        // Another sync may have settled the number meanwhile, with this sale
        // or with another one.
        if let Some(existing) = fetch_number(tx.conn(), tenant_id, block.id, sale.number).await? {
            if existing
                .request_hash
                .as_deref()
                .is_some_and(|hash| hash != sale.request_hash)
            {
                return Err(StoreError::conflict_with(
                    "offline_number_reused",
                    json!({ "number": sale.number }),
                ));
            }
            return number_result(tx.conn(), tenant_id, existing, true).await;
        }

        let (reason, detail) = rejection_of(error);
        let record = settle_number(
            tx.conn(),
            tenant_id,
            &block,
            Settlement {
                number: sale.number,
                outcome: "rejected",
                reason: Some(&reason),
                detail: Some(detail),
                sale: Some(sale),
                order_id: None,
                document_id: None,
            },
            now,
        )
        .await?;
        let result = number_result(tx.conn(), tenant_id, record, false).await?;
        tx.commit().await?;
        Ok(result)
    }

    pub(super) async fn close_offline_block_impl(
        &self,
        tenant_id: Uuid,
        block_id: Uuid,
    ) -> StoreResult<OfflineBlock> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let block = lock_block(tx.conn(), tenant_id, block_id).await?;
        if block.status != "open" {
            return Err(StoreError::conflict_with(
                "offline_block_closed",
                json!({ "closed_at": block.closed_at, "close_reason": block.close_reason }),
            ));
        }
        let reason = if block.expires_at <= now {
            "block_expired"
        } else {
            "block_closed"
        };
        close_block(tx.conn(), tenant_id, &block, reason, now).await?;
        let block = lock_block(tx.conn(), tenant_id, block_id).await?;
        let view = block_view(tx.conn(), tenant_id, block).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Closes up to `limit` expired blocks, voiding their unused numbers.
    /// Returns each closed block with its tenant and the numbers voided.
    pub(super) async fn expire_offline_blocks_impl(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<ExpiredBlock>> {
        let now = self.clock.now();
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, id FROM offline_blocks WHERE status = 'open' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await?;
        let mut expired = Vec::new();
        for (tenant_id, block_id) in due {
            if let Some(voided) = with_retry!(self.expire_block(tenant_id, block_id).await)? {
                expired.push(ExpiredBlock {
                    tenant_id,
                    block_id,
                    voided,
                });
            }
        }
        Ok(expired)
    }

    async fn expire_block(&self, tenant_id: Uuid, block_id: Uuid) -> StoreResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let block = lock_block(tx.conn(), tenant_id, block_id).await?;
        if block.status != "open" || block.expires_at > now {
            return Ok(None);
        }
        let voided = close_block(tx.conn(), tenant_id, &block, "block_expired", now).await?;
        tx.commit().await?;
        Ok(Some(voided))
    }
}

/// A rejected or voided number of a block, as `fiscal verify` checks it.
#[derive(FromRow)]
pub(super) struct VoidedNumber {
    pub(super) id: Uuid,
    pub(super) series_id: Uuid,
    pub(super) number: i64,
    pub(super) control_number: String,
    pub(super) outcome: String,
    pub(super) reason: Option<String>,
}

/// The numbers of offline blocks as `fiscal verify` counts them: voided and
/// rejected numbers per series (with their row id), and the unsettled
/// numbers of open blocks, which are reserved rather than missing.
pub(super) struct OfflineNumbers {
    pub(super) voided: Vec<VoidedNumber>,
    pub(super) reserved: Vec<(Uuid, i64)>,
}

pub(super) async fn offline_numbers_of(
    conn: &mut Conn,
    tenant_id: Uuid,
) -> StoreResult<OfflineNumbers> {
    let voided: Vec<VoidedNumber> = sqlx::query_as(
        "SELECT id, series_id, number, control_number, outcome, reason FROM offline_numbers \
         WHERE tenant_id = $1 AND outcome <> 'accepted' ORDER BY series_id, number",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let open: Vec<(Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT id, series_id, first_number, size FROM offline_blocks WHERE tenant_id = $1 AND status = 'open'",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut reserved = Vec::new();
    for (block_id, series_id, first_number, size) in open {
        let settled: HashSet<i64> = sqlx::query_scalar::<_, i64>(
            "SELECT number FROM offline_numbers WHERE tenant_id = $1 AND block_id = $2",
        )
        .bind(tenant_id)
        .bind(block_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        reserved.extend(
            (first_number..first_number + size)
                .filter(|number| !settled.contains(number))
                .map(|number| (series_id, number)),
        );
    }
    Ok(OfflineNumbers { voided, reserved })
}
