//! Fiscal series, document issuing, the hash-chained audit log, cashiers'
//! fiscal days with their X and Z reports, and the verification behind
//! `taquilla fiscal verify`. Shared by both backends like `common.rs` (this
//! file is a child module of it).
//!
//! Locks: a payment that issues a document takes the series row, then the
//! tenant row (control counter and audit chain length), in the last
//! statements of its transaction, so one tenant's sales queue on them only for
//! the final inserts. Under the tenant row it checks that the cashier's day is
//! open. A Z report takes the tenant row first, then the cashier's day row, so
//! it waits for documents in flight and later ones find the day closed. A
//! payment that issues nothing takes the day row shared instead.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use taquilla_domain::fiscal::caracas_day_bounds;

use super::*;
use crate::list_sql::{QUEUE_COLUMNS, SERIES_COLUMNS, Z_COLUMNS};

/// The `previous_hash` of a chain's first entry.
pub(super) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Returns an audit entry's hash. It covers the previous hash, so editing or
/// deleting any entry breaks every later link.
pub(super) fn audit_hash(
    previous_hash: &str,
    sequence: i64,
    kind: &str,
    subject_id: Uuid,
    payload: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        format!("taquilla-audit-v1\n{previous_hash}\n{sequence}\n{kind}\n{subject_id}\n")
            .as_bytes(),
    );
    hasher.update(payload.as_bytes());
    hex::encode(hasher.finalize())
}

/// Returns the SHA-256 of a document's stored content.
pub(super) fn content_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// Appends an entry to the tenant's audit chain. `reserved` is the sequence
/// when the caller already bumped `tenants.audit_length` and so has locked
/// the tenant row. Otherwise this function bumps it.
pub(super) async fn append_audit(
    conn: &mut Conn,
    tenant_id: Uuid,
    reserved: Option<i64>,
    kind: &str,
    subject_id: Uuid,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let sequence = match reserved {
        Some(sequence) => sequence,
        None => sqlx::query_scalar(
            "UPDATE tenants SET audit_length = audit_length + 1 WHERE id = $1 RETURNING audit_length",
        )
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?,
    };
    let previous_hash: String = if sequence == 1 {
        GENESIS_HASH.to_string()
    } else {
        sqlx::query_scalar(
            "SELECT hash FROM fiscal_audit_log WHERE tenant_id = $1 AND sequence = $2",
        )
        .bind(tenant_id)
        .bind(sequence - 1)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::Internal(format!(
                "fiscal audit entry {} of tenant {tenant_id} is missing",
                sequence - 1
            ))
        })?
    };
    let payload = payload.to_string();
    let hash = audit_hash(&previous_hash, sequence, kind, subject_id, &payload);
    sqlx::query(
        "INSERT INTO fiscal_audit_log (tenant_id, sequence, kind, subject_id, payload, previous_hash, hash, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(sequence)
    .bind(kind)
    .bind(subject_id)
    .bind(&payload)
    .bind(&previous_hash)
    .bind(&hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(sequence)
}

#[derive(FromRow, Clone)]
pub(super) struct SeriesRecord {
    pub(super) id: Uuid,
    pub(super) code: String,
    kind: String,
    pub(super) adapter: String,
    adapter_config: String,
    description: String,
    is_default: bool,
    credit_note_series_id: Option<Uuid>,
    created_at: Option<DateTime<Utc>>,
    next_number: i64,
}

impl SeriesRecord {
    fn view(&self, credit_note_series: Option<String>, documents_issued: i64) -> FiscalSeries {
        FiscalSeries {
            id: self.id,
            code: self.code.clone(),
            kind: self.kind.clone(),
            adapter: self.adapter.clone(),
            description: self.description.clone(),
            is_default: self.is_default,
            credit_note_series,
            documents_issued,
            created_at: self.created_at,
        }
    }
}

/// Returns a series as the API shows it: with the code of its credit-note
/// series and the documents it has issued.
async fn series_view(
    conn: &mut Conn,
    tenant_id: Uuid,
    record: &SeriesRecord,
) -> StoreResult<FiscalSeries> {
    let credit_note_series = match record.credit_note_series_id {
        Some(id) => {
            sqlx::query_scalar(crate::list_sql::FISCAL_SERIES_CODE)
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    // Counted as the metrics exporter counts them, because an offline
    // series' counter also covers block numbers that became no document.
    let documents_issued: i64 = if record.adapter == "offline" {
        sqlx::query_scalar(crate::list_sql::FISCAL_SERIES_DOCUMENT_COUNT)
            .bind(tenant_id)
            .bind(record.id)
            .fetch_one(&mut *conn)
            .await?
    } else {
        record.next_number - 1
    };
    Ok(record.view(credit_note_series, documents_issued))
}

/// Returns a series by id.
pub(super) async fn series_by_id(
    conn: &mut Conn,
    tenant_id: Uuid,
    series_id: Uuid,
) -> StoreResult<SeriesRecord> {
    let sql =
        format!("SELECT {SERIES_COLUMNS} FROM fiscal_series WHERE tenant_id = $1 AND id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(series_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("fiscal series"))
}

/// Returns the series named by `code` (which must be of `kind`), or the
/// tenant's default series of that kind.
pub(super) async fn resolve_series(
    conn: &mut Conn,
    tenant_id: Uuid,
    kind: &str,
    code: Option<&str>,
) -> StoreResult<SeriesRecord> {
    let record: Option<SeriesRecord> = match code {
        Some(code) => {
            let sql = format!(
                "SELECT {SERIES_COLUMNS} FROM fiscal_series WHERE tenant_id = $1 AND code = $2"
            );
            let found: Option<SeriesRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
            match found {
                Some(series) if series.kind == kind => Some(series),
                Some(_) => {
                    return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                        "series",
                        "series_wrong_kind",
                    )));
                }
                None => {
                    return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                        "series",
                        "unknown_series",
                    )));
                }
            }
        }
        None => {
            let sql = format!(
                "SELECT {SERIES_COLUMNS} FROM fiscal_series WHERE tenant_id = $1 AND kind = $2 AND is_default"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(kind)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    record.ok_or_else(|| StoreError::Internal(format!("tenant has no default {kind} series")))
}

/// Rejects the operation when a Z report closed the cashier's fiscal day of
/// `now`. Otherwise it takes the day row shared until commit, so a Z report
/// waits for it. Payments that issue no document use it, because documents
/// are checked under the tenant row lock instead (see [`check_day_open`]).
pub(super) async fn ensure_day_open(
    conn: &mut Conn,
    tenant_id: Uuid,
    cashier_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let day = caracas_date(now);
    sqlx::query(
        "INSERT INTO cashier_days (tenant_id, cashier_id, fiscal_day) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, cashier_id, fiscal_day) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(cashier_id)
    .bind(day)
    .execute(&mut *conn)
    .await?;
    let sql = format!(
        "SELECT closed_at FROM cashier_days WHERE tenant_id = $1 AND cashier_id = $2 AND fiscal_day = $3{SHARE_LOCK}"
    );
    let closed_at: Option<DateTime<Utc>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(cashier_id)
        .bind(day)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(closed_at) = closed_at {
        return Err(StoreError::conflict_with(
            "fiscal_day_closed",
            json!({ "fiscal_day": day, "closed_at": closed_at }),
        ));
    }
    Ok(())
}

/// Rejects a document of a closed day. The caller has locked the tenant row,
/// which a Z report locks before it closes the day. So this read sees any Z
/// that committed first, and a later Z waits for this transaction.
pub(super) async fn check_day_open(
    conn: &mut Conn,
    tenant_id: Uuid,
    cashier_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if day_closed(conn, tenant_id, cashier_id, now).await? {
        return Err(day_closed_error(now));
    }
    Ok(())
}

/// Returns the error of an operation in a fiscal day closed by its Z report.
pub(super) fn day_closed_error(now: DateTime<Utc>) -> StoreError {
    StoreError::conflict_with(
        "fiscal_day_closed",
        json!({ "fiscal_day": caracas_date(now) }),
    )
}

/// Returns whether the cashier's fiscal day of `now` is closed, without
/// locking. Holds and payments use it to reject early.
pub(super) async fn day_closed(
    conn: &mut Conn,
    tenant_id: Uuid,
    cashier_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let closed: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT closed_at FROM cashier_days WHERE tenant_id = $1 AND cashier_id = $2 AND fiscal_day = $3",
    )
    .bind(tenant_id)
    .bind(cashier_id)
    .bind(caracas_date(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(matches!(closed, Some(Some(_))))
}

/// A document ready to be numbered: everything but its number and control number.
pub(super) struct DocumentDraft {
    pub(super) kind: &'static str,
    pub(super) order_id: Uuid,
    pub(super) references_document_id: Option<Uuid>,
    pub(super) total_usd_cents: i64,
    pub(super) total_bs_cents: i64,
    pub(super) content: serde_json::Value,
    pub(super) issued_by: Uuid,
    /// The id that the caller already stored on the order as its invoice, so
    /// the document takes it and the order row is not updated again. Only for
    /// an internal series, whose invoice is numbered in the same transaction.
    pub(super) linked_id: Option<Uuid>,
}

fn title_of(kind: &str) -> &'static str {
    if kind == "credit_note" {
        "NOTA DE CRÉDITO"
    } else {
        "FACTURA"
    }
}

/// Fills the numbering fields of a document's printable content.
fn numbered_content(
    mut content: serde_json::Value,
    kind: &str,
    series: &str,
    number: i64,
    control_number: &str,
    issued_at: DateTime<Utc>,
) -> serde_json::Value {
    content["title"] = json!(title_of(kind));
    content["series"] = json!(series);
    content["number"] = json!(number);
    content["control_number"] = json!(control_number);
    content["issue_date"] = json!(format_issue_date(issued_at));
    content["issue_time"] = json!(format_issue_time(issued_at));
    content
}

/// Builds the audit payload of an issued document: its identity, figures and the
/// hash of its stored content, so `fiscal verify` detects an edited document.
fn document_payload(
    document_id: Uuid,
    series: &str,
    draft: &DocumentDraft,
    number: i64,
    control_number: &str,
    issued_at: DateTime<Utc>,
    content_text: &str,
) -> serde_json::Value {
    json!({
        "document_id": document_id,
        "kind": draft.kind,
        "series": series,
        "number": number,
        "control_number": control_number,
        "order_id": draft.order_id,
        "references_document_id": draft.references_document_id,
        "issued_at": issued_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "issued_by": draft.issued_by,
        "total_usd_cents": draft.total_usd_cents,
        "total_bs_cents": draft.total_bs_cents,
        "content_sha256": content_hash(content_text),
    })
}

/// The outcome of issuing a document in a transaction.
pub(super) enum Issuance {
    /// Numbered in this transaction (internal series).
    Issued(DocumentSummary),
    /// Queued for its series' external adapter.
    Queued,
}

/// Issues a document in `series`. An internal series numbers it now, and the
/// caller calls this last so the counters stay locked only for the final
/// inserts. An external series queues it for the issuing job.
pub(super) async fn issue_document(
    conn: &mut Conn,
    tenant_id: Uuid,
    series: &SeriesRecord,
    draft: DocumentDraft,
    now: DateTime<Utc>,
) -> StoreResult<Issuance> {
    let document_id = draft.linked_id.unwrap_or_else(Uuid::now_v7);
    if draft.linked_id.is_some() && series.adapter != "internal" {
        return Err(StoreError::Internal(format!(
            "series {} does not number its invoices in the sale's transaction",
            series.code
        )));
    }
    if series.adapter == "offline" {
        return Err(StoreError::Internal(format!(
            "series {} numbers only the sales of offline blocks",
            series.code
        )));
    }
    if series.adapter != "internal" {
        // The tenant row orders this against a Z report, as for internal series.
        sqlx::query("UPDATE tenants SET audit_length = audit_length WHERE id = $1")
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
        check_day_open(conn, tenant_id, draft.issued_by, now).await?;
        sqlx::query(
            "INSERT INTO fiscal_issue_queue (tenant_id, id, order_id, series_id, kind, references_document_id, content, \
             total_usd_cents, total_bs_cents, issued_by, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11)",
        )
        .bind(tenant_id)
        .bind(document_id)
        .bind(draft.order_id)
        .bind(series.id)
        .bind(draft.kind)
        .bind(draft.references_document_id)
        .bind(draft.content.to_string())
        .bind(draft.total_usd_cents)
        .bind(draft.total_bs_cents)
        .bind(draft.issued_by)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(Issuance::Queued);
    }

    // Series row first, then the tenant row. On PostgreSQL one statement locks
    // both, in that order, because RETURNING runs the WITH clause's update.
    // An UPDATE that waited for a row reads it as committed after the wait.
    let (number, prefix, control_sequence, sequence): (i64, i64, i64, i64) = if ONE_STATEMENT_ISSUE
    {
        sqlx::query_as(
            "WITH counters AS (UPDATE tenants SET next_control_number = next_control_number + 1, \
             audit_length = audit_length + 1 WHERE id = $1 \
             RETURNING control_prefix, next_control_number - 1 AS control_sequence, audit_length) \
             UPDATE fiscal_series SET next_number = next_number + 1 WHERE tenant_id = $1 AND id = $2 \
             RETURNING next_number - 1, (SELECT control_prefix FROM counters), \
             (SELECT control_sequence FROM counters), (SELECT audit_length FROM counters)",
        )
        .bind(tenant_id)
        .bind(series.id)
        .fetch_one(&mut *conn)
        .await?
    } else {
        let number: i64 = sqlx::query_scalar(
            "UPDATE fiscal_series SET next_number = next_number + 1 WHERE tenant_id = $1 AND id = $2 \
             RETURNING next_number - 1",
        )
        .bind(tenant_id)
        .bind(series.id)
        .fetch_one(&mut *conn)
        .await?;
        let (prefix, control_sequence, sequence): (i64, i64, i64) = sqlx::query_as(
            "UPDATE tenants SET next_control_number = next_control_number + 1, audit_length = audit_length + 1 \
             WHERE id = $1 RETURNING control_prefix, next_control_number - 1, audit_length",
        )
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?;
        (number, prefix, control_sequence, sequence)
    };
    let control_number = format_control_number(prefix.clamp(0, 99) as u8, control_sequence);
    let document = RecordedDocument {
        id: document_id,
        series,
        number,
        control_number,
        verification_url: None,
        issued_at: now,
        audit_sequence: Some(sequence),
    };
    let summary = if ONE_STATEMENT_ISSUE {
        record_document_in_open_day(conn, tenant_id, document, &draft, now, sequence).await?
    } else {
        check_day_open(conn, tenant_id, draft.issued_by, now).await?;
        record_document(conn, tenant_id, document, &draft, now).await?
    };
    Ok(Issuance::Issued(summary))
}

/// Records a document and its audit entry in one statement on PostgreSQL,
/// only if the issuer's day is open (`check_day_open` then `record_document`).
/// PostgreSQL computes the entry's hash by the formula of `audit_hash`, which
/// `fiscal verify` checks. The statement starts after the caller locked the
/// tenant row, so it reads a Z report or audit entry committed during the wait.
async fn record_document_in_open_day(
    conn: &mut Conn,
    tenant_id: Uuid,
    document: RecordedDocument<'_>,
    draft: &DocumentDraft,
    now: DateTime<Utc>,
    sequence: i64,
) -> StoreResult<DocumentSummary> {
    let (content_text, payload) = document_texts(&document, draft);
    let payload = payload.to_string();
    let query = sqlx::query(
        "WITH open_day AS (SELECT 1 AS open WHERE NOT EXISTS (SELECT 1 FROM cashier_days \
         WHERE tenant_id = $1 AND cashier_id = $13 AND fiscal_day = $15 AND closed_at IS NOT NULL)), \
         document AS (INSERT INTO fiscal_documents (tenant_id, id, series_id, kind, number, control_number, order_id, \
         references_document_id, issued_at, total_usd_cents, total_bs_cents, content, issued_by, verification_url) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM open_day RETURNING id), \
         previous AS (SELECT CASE WHEN $16 = 1 THEN $17 \
         ELSE (SELECT hash FROM fiscal_audit_log WHERE tenant_id = $1 AND sequence = $16 - 1) END AS hash) \
         INSERT INTO fiscal_audit_log (tenant_id, sequence, kind, subject_id, payload, previous_hash, hash, recorded_at) \
         SELECT $1, $16, $18, document.id, $19, previous.hash, \
         encode(sha256(convert_to('taquilla-audit-v1' || chr(10) || previous.hash || chr(10) || $16::text \
         || chr(10) || $18 || chr(10) || document.id::text || chr(10) || $19, 'UTF8')), 'hex'), $20 \
         FROM document, previous RETURNING hash",
    );
    let recorded = bind_document(query, tenant_id, &document, draft, &content_text)
        .bind(caracas_date(now))
        .bind(sequence)
        .bind(GENESIS_HASH)
        .bind(audit_kind(draft.kind))
        .bind(&payload)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    if recorded.is_none() {
        return Err(day_closed_error(now));
    }
    link_document(conn, tenant_id, &document, draft).await?;
    Ok(document.summary(draft))
}

pub(super) struct RecordedDocument<'a> {
    pub(super) id: Uuid,
    pub(super) series: &'a SeriesRecord,
    pub(super) number: i64,
    pub(super) control_number: String,
    pub(super) verification_url: Option<String>,
    pub(super) issued_at: DateTime<Utc>,
    pub(super) audit_sequence: Option<i64>,
}

/// Inserts a numbered document, links it to its order and appends its audit entry.
pub(super) async fn record_document(
    conn: &mut Conn,
    tenant_id: Uuid,
    document: RecordedDocument<'_>,
    draft: &DocumentDraft,
    now: DateTime<Utc>,
) -> StoreResult<DocumentSummary> {
    let (content_text, payload) = document_texts(&document, draft);
    let query = sqlx::query(
        "INSERT INTO fiscal_documents (tenant_id, id, series_id, kind, number, control_number, order_id, \
         references_document_id, issued_at, total_usd_cents, total_bs_cents, content, issued_by, verification_url) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    );
    bind_document(query, tenant_id, &document, draft, &content_text)
        .execute(&mut *conn)
        .await?;
    link_document(conn, tenant_id, &document, draft).await?;
    append_audit(
        conn,
        tenant_id,
        document.audit_sequence,
        audit_kind(draft.kind),
        document.id,
        &payload,
        now,
    )
    .await?;
    Ok(document.summary(draft))
}

impl RecordedDocument<'_> {
    fn summary(self, draft: &DocumentDraft) -> DocumentSummary {
        DocumentSummary {
            id: self.id,
            kind: draft.kind.to_string(),
            series: self.series.code.clone(),
            number: self.number,
            control_number: self.control_number,
            issued_at: self.issued_at,
        }
    }
}

/// Binds a document's columns as $1 to $14, in the order of the
/// `fiscal_documents` inserts above.
fn bind_document<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    tenant_id: Uuid,
    document: &RecordedDocument<'_>,
    draft: &DocumentDraft,
    content_text: &str,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
        .bind(tenant_id)
        .bind(document.id)
        .bind(document.series.id)
        .bind(draft.kind)
        .bind(document.number)
        .bind(&document.control_number)
        .bind(draft.order_id)
        .bind(draft.references_document_id)
        .bind(document.issued_at)
        .bind(draft.total_usd_cents)
        .bind(draft.total_bs_cents)
        .bind(content_text)
        .bind(draft.issued_by)
        .bind(&document.verification_url)
}

/// Returns a numbered document's stored content and its audit payload.
fn document_texts(
    document: &RecordedDocument<'_>,
    draft: &DocumentDraft,
) -> (String, serde_json::Value) {
    let mut content = numbered_content(
        draft.content.clone(),
        draft.kind,
        &document.series.code,
        document.number,
        &document.control_number,
        document.issued_at,
    );
    if let Some(url) = &document.verification_url {
        content["verification_url"] = json!(url);
    }
    let content_text = content.to_string();
    let payload = document_payload(
        document.id,
        &document.series.code,
        draft,
        document.number,
        &document.control_number,
        document.issued_at,
        &content_text,
    );
    (content_text, payload)
}

/// Returns the audit entry kind for issuing a document of `kind`.
fn audit_kind(kind: &str) -> &'static str {
    if kind == "credit_note" {
        "credit_note_issued"
    } else {
        "invoice_issued"
    }
}

/// Stores a document's id on its order, unless the caller already did.
async fn link_document(
    conn: &mut Conn,
    tenant_id: Uuid,
    document: &RecordedDocument<'_>,
    draft: &DocumentDraft,
) -> StoreResult<()> {
    if draft.linked_id == Some(document.id) {
        return Ok(());
    }
    let link = if draft.kind == "credit_note" {
        "UPDATE orders SET credit_note_id = $3 WHERE tenant_id = $1 AND id = $2"
    } else {
        "UPDATE orders SET invoice_id = $3 WHERE tenant_id = $1 AND id = $2"
    };
    sqlx::query(link)
        .bind(tenant_id)
        .bind(draft.order_id)
        .bind(document.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Returns an order's fiscal status from its invoice and the issue queue.
pub(super) async fn fiscal_status(
    conn: &mut Conn,
    tenant_id: Uuid,
    order_id: Uuid,
    status: &str,
    has_invoice: bool,
    has_credit_note: bool,
) -> StoreResult<String> {
    let waiting_for = match (status, has_invoice, has_credit_note) {
        ("paid", false, _) => "invoice",
        ("voided", true, false) => "credit_note",
        (_, true, _) => return Ok("invoiced".to_string()),
        _ => return Ok("none".to_string()),
    };
    let queued: Option<String> = sqlx::query_scalar(
        "SELECT status FROM fiscal_issue_queue WHERE tenant_id = $1 AND order_id = $2 AND kind = $3",
    )
    .bind(tenant_id)
    .bind(order_id)
    .bind(waiting_for)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match (waiting_for, queued.as_deref()) {
        ("invoice", Some("rejected")) => "issue_rejected",
        ("invoice", Some(_)) => "pending_issue",
        ("credit_note", Some("rejected")) => "credit_note_rejected",
        ("credit_note", Some(_)) => "credit_note_pending",
        ("credit_note", None) => "invoiced",
        _ => "none",
    }
    .to_string())
}

#[derive(FromRow)]
struct QueueRecord {
    tenant_id: Uuid,
    id: Uuid,
    order_id: Uuid,
    series_id: Uuid,
    kind: String,
    references_document_id: Option<Uuid>,
    content: String,
    total_usd_cents: i64,
    total_bs_cents: i64,
    issued_by: Uuid,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

fn parse_json(text: &str, what: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|error| StoreError::Internal(format!("{what}: {error}")))
}

fn add_rates(totals: &mut BTreeMap<(String, String, i64), RateTotal>, taxes: &serde_json::Value) {
    let Some(taxes) = taxes.as_array() else {
        return;
    };
    for tax in taxes {
        let Ok(tax) = serde_json::from_value::<TaxTotal>(tax.clone()) else {
            continue;
        };
        let entry = totals
            .entry((
                tax.category.clone(),
                tax.name.clone(),
                tax.rate_basis_points,
            ))
            .or_insert_with(|| RateTotal {
                category: tax.category.clone(),
                name: tax.name.clone(),
                rate_basis_points: tax.rate_basis_points,
                ..RateTotal::default()
            });
        entry.base_usd_cents += tax.base_usd_cents;
        entry.tax_usd_cents += tax.tax_usd_cents;
        entry.base_bs_cents += tax.base_bs_cents;
        entry.tax_bs_cents += tax.tax_bs_cents;
    }
}

fn cents(value: &serde_json::Value, field: &str) -> i64 {
    value[field].as_i64().unwrap_or(0)
}

/// Sums the documents and payments of a fiscal day, for one cashier or for
/// the whole tenant.
pub(super) async fn day_totals(
    conn: &mut Conn,
    tenant_id: Uuid,
    cashier_id: Option<Uuid>,
    day: NaiveDate,
) -> StoreResult<FiscalDayTotals> {
    let (from, to) = caracas_day_bounds(day);
    let documents: Vec<(String, String, i64, String, String)> = sqlx::query_as(
        "SELECT d.kind, s.code, d.number, d.control_number, d.content FROM fiscal_documents d \
         JOIN fiscal_series s ON s.tenant_id = d.tenant_id AND s.id = d.series_id \
         WHERE d.tenant_id = $1 AND ($2 IS NULL OR d.issued_by = $2) AND d.issued_at >= $3 AND d.issued_at < $4 \
         ORDER BY s.code, d.number",
    )
    .bind(tenant_id)
    .bind(cashier_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut invoices = DocumentTotals::default();
    let mut credit_notes = DocumentTotals::default();
    let mut invoice_rates = BTreeMap::new();
    let mut credit_rates = BTreeMap::new();
    let mut ranges: Vec<SeriesRange> = Vec::new();
    for (kind, series, number, control_number, content) in documents {
        let content = parse_json(&content, "fiscal document content")?;
        let (totals, rates) = if kind == "credit_note" {
            (&mut credit_notes, &mut credit_rates)
        } else {
            (&mut invoices, &mut invoice_rates)
        };
        totals.count += 1;
        add_rates(rates, &content["taxes"]);
        totals.exempt_usd_cents += cents(&content, "exempt_usd_cents");
        totals.exempt_bs_cents += cents(&content, "exempt_bs_cents");
        totals.igtf_usd_cents += cents(&content["igtf"], "igtf_usd_cents");
        totals.igtf_bs_cents += cents(&content["igtf"], "igtf_bs_cents");
        totals.total_usd_cents += cents(&content, "total_usd_cents");
        totals.total_bs_cents += cents(&content, "total_bs_cents");
        match ranges.last_mut() {
            Some(range) if range.series == series => {
                range.count += 1;
                range.last_number = number;
                range.last_control_number = control_number;
            }
            _ => ranges.push(SeriesRange {
                series,
                kind,
                count: 1,
                first_number: number,
                last_number: number,
                first_control_number: control_number.clone(),
                last_control_number: control_number,
            }),
        }
    }
    invoices.rates = invoice_rates.into_values().collect();
    credit_notes.rates = credit_rates.into_values().collect();

    let payments: Vec<(String, String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT method, currency, COUNT(*), CAST(SUM(amount_cents) AS BIGINT), CAST(SUM(amount_bs_cents) AS BIGINT), \
         CAST(SUM(igtf_cents) AS BIGINT), CAST(SUM(igtf_bs_cents) AS BIGINT) FROM payments \
         WHERE tenant_id = $1 AND ($2 IS NULL OR created_by = $2) AND created_at >= $3 AND created_at < $4 \
         GROUP BY method, currency ORDER BY method, currency",
    )
    .bind(tenant_id)
    .bind(cashier_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let payments = payments
        .into_iter()
        .map(
            |(
                method,
                currency,
                count,
                amount_cents,
                amount_bs_cents,
                igtf_cents,
                igtf_bs_cents,
            )| {
                PaymentMethodTotal {
                    method,
                    currency,
                    count,
                    amount_cents,
                    amount_bs_cents,
                    igtf_cents,
                    igtf_bs_cents,
                }
            },
        )
        .collect();
    // Every document still with its adapter counts, whatever day it was
    // queued: it is recorded on the day it is issued, so a Z must wait for it.
    let pending_documents: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM fiscal_issue_queue WHERE tenant_id = $1 AND ($2 IS NULL OR issued_by = $2)",
    )
    .bind(tenant_id)
    .bind(cashier_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(FiscalDayTotals {
        cashier_id,
        fiscal_day: day,
        from,
        to,
        net_total_usd_cents: invoices.total_usd_cents - credit_notes.total_usd_cents,
        net_total_bs_cents: invoices.total_bs_cents - credit_notes.total_bs_cents,
        invoices,
        credit_notes,
        payments,
        series: ranges,
        pending_documents,
    })
}

#[derive(FromRow)]
struct ZRecord {
    id: Uuid,
    number: i64,
    cashier_id: Uuid,
    fiscal_day: NaiveDate,
    totals: String,
    closed_by: Uuid,
    closed_at: DateTime<Utc>,
}

impl ZRecord {
    fn view(self) -> StoreResult<ZReport> {
        Ok(ZReport {
            id: self.id,
            number: self.number,
            cashier_id: self.cashier_id,
            fiscal_day: self.fiscal_day,
            totals: serde_json::from_str(&self.totals)
                .map_err(|error| StoreError::Internal(format!("Z report totals: {error}")))?,
            closed_by: self.closed_by,
            closed_at: self.closed_at,
        })
    }
}

async fn require_tenant_user(conn: &mut Conn, tenant_id: Uuid, user_id: Uuid) -> StoreResult<()> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("user"))
}

/// Checks one tenant's audit chain, series and Z reports; every problem
/// names the row at fault.
pub(super) async fn verify_tenant(
    conn: &mut Conn,
    tenant_id: Uuid,
) -> StoreResult<FiscalVerification> {
    let mut problems = Vec::new();
    let mut problem = |kind: &str, row: String, detail: String| {
        problems.push(FiscalProblem {
            kind: kind.to_string(),
            row,
            detail,
        });
    };

    // 1. The chain: consecutive sequences, each linked to the previous hash
    // and matching its own stored hash.
    let audit_length: i64 = sqlx::query_scalar("SELECT audit_length FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("tenant"))?;
    let entries: Vec<(i64, String, Uuid, String, String, String)> = sqlx::query_as(
        "SELECT sequence, kind, subject_id, payload, previous_hash, hash FROM fiscal_audit_log \
         WHERE tenant_id = $1 ORDER BY sequence",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut expected_sequence = 1;
    let mut previous = GENESIS_HASH.to_string();
    // document id → (sequence, payload) of its issue entry.
    let mut issued: HashMap<Uuid, (i64, serde_json::Value)> = HashMap::new();
    // Z report id → (sequence, payload) of its closing entry.
    let mut closings: HashMap<Uuid, (i64, serde_json::Value)> = HashMap::new();
    // offline_numbers id → (sequence, payload) of its voiding entry.
    let mut voidings: HashMap<Uuid, (i64, serde_json::Value)> = HashMap::new();
    for (sequence, kind, subject_id, payload, previous_hash, hash) in &entries {
        let row = format!("fiscal_audit_log sequence={sequence}");
        if *sequence != expected_sequence {
            problem(
                "sequence_gap",
                row.clone(),
                format!("expected sequence {expected_sequence}, found {sequence}"),
            );
        }
        if *previous_hash != previous {
            problem(
                "chain_break",
                row.clone(),
                "previous_hash does not match the hash of the entry before it".to_string(),
            );
        }
        if audit_hash(previous_hash, *sequence, kind, *subject_id, payload) != *hash {
            problem(
                "hash_mismatch",
                row.clone(),
                "the entry's content does not match its hash".to_string(),
            );
        }
        if kind == "z_report_closed"
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(payload)
        {
            closings.insert(*subject_id, (*sequence, value));
        }
        if kind == "offline_number_voided"
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(payload)
        {
            voidings.insert(*subject_id, (*sequence, value));
        }
        if kind == "invoice_issued" || kind == "credit_note_issued" {
            match serde_json::from_str::<serde_json::Value>(payload) {
                Ok(value) => {
                    if issued.insert(*subject_id, (*sequence, value)).is_some() {
                        problem(
                            "duplicate_audit_entry",
                            row.clone(),
                            format!("document {subject_id} is recorded as issued twice"),
                        );
                    }
                }
                Err(_) => problem("hash_mismatch", row.clone(), "payload is not JSON".into()),
            }
        }
        previous = hash.clone();
        expected_sequence = sequence + 1;
    }
    if expected_sequence - 1 != audit_length {
        problem(
            "sequence_gap",
            format!("tenants id={tenant_id}"),
            format!(
                "the chain should hold {audit_length} entries and ends at {}",
                expected_sequence - 1
            ),
        );
    }

    // 2. The series: numbers 1..n with no gap or duplicate, and n matches the
    // counter of internal series.
    let series: Vec<(Uuid, String, String, i64)> = sqlx::query_as(
        "SELECT id, code, adapter, next_number FROM fiscal_series WHERE tenant_id = $1 ORDER BY code",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let documents: Vec<(Uuid, Uuid, i64, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, series_id, number, control_number, content, total_usd_cents, total_bs_cents \
         FROM fiscal_documents WHERE tenant_id = $1 ORDER BY series_id, number",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_series: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for (id, series_id, number, control_number, content, total_usd, total_bs) in &documents {
        by_series.entry(*series_id).or_default().push(*number);
        let row = format!("fiscal_documents id={id}");
        let Some((sequence, payload)) = issued.get(id) else {
            problem(
                "missing_audit_entry",
                row,
                "the document has no issue entry in the audit log".to_string(),
            );
            continue;
        };
        let matches = payload["number"].as_i64() == Some(*number)
            && payload["control_number"].as_str() == Some(control_number.as_str())
            && payload["total_usd_cents"].as_i64() == Some(*total_usd)
            && payload["total_bs_cents"].as_i64() == Some(*total_bs)
            && payload["content_sha256"].as_str() == Some(content_hash(content).as_str());
        if !matches {
            problem(
                "document_mismatch",
                row,
                format!("the document differs from audit entry {sequence}"),
            );
        }
    }
    let stored: std::collections::HashSet<Uuid> = documents.iter().map(|d| d.0).collect();
    for (id, (sequence, _)) in &issued {
        if !stored.contains(id) {
            problem(
                "missing_document",
                format!("fiscal_audit_log sequence={sequence}"),
                format!("document {id} was issued and is no longer stored"),
            );
        }
    }
    // Numbers of offline blocks that did not become invoices count in their
    // series, each checked against its voiding entry. Numbers of open blocks
    // not synced yet are reserved, not missing.
    let offline = offline_numbers_of(conn, tenant_id).await?;
    for voided in &offline.voided {
        by_series
            .entry(voided.series_id)
            .or_default()
            .push(voided.number);
        let row = format!("offline_numbers id={}", voided.id);
        match voidings.remove(&voided.id) {
            None => problem(
                "missing_audit_entry",
                row,
                "the voided number has no entry in the audit log".to_string(),
            ),
            Some((sequence, payload)) => {
                let matches = payload["number"].as_i64() == Some(voided.number)
                    && payload["series_id"].as_str() == Some(voided.series_id.to_string().as_str())
                    && payload["control_number"].as_str() == Some(voided.control_number.as_str())
                    && payload["outcome"].as_str() == Some(voided.outcome.as_str())
                    && payload["reason"].as_str() == voided.reason.as_deref();
                if !matches {
                    problem(
                        "voided_number_mismatch",
                        row,
                        format!("the voided number differs from audit entry {sequence}"),
                    );
                }
            }
        }
    }
    for (id, (sequence, _)) in &voidings {
        problem(
            "missing_voided_number",
            format!("fiscal_audit_log sequence={sequence}"),
            format!("voided number {id} was recorded and is no longer stored"),
        );
    }
    for (series_id, number) in &offline.reserved {
        by_series.entry(*series_id).or_default().push(*number);
    }
    for numbers in by_series.values_mut() {
        numbers.sort_unstable();
    }
    for (series_id, code, adapter, next_number) in &series {
        let numbers = by_series.remove(series_id).unwrap_or_default();
        let row = format!("fiscal_series code={code}");
        let mut expected = 1;
        for number in &numbers {
            if *number < expected {
                problem(
                    "duplicate_number",
                    row.clone(),
                    format!("number {number} appears more than once"),
                );
                continue;
            }
            if *number > expected {
                problem(
                    "series_gap",
                    row.clone(),
                    format!("numbers {expected} to {} are missing", number - 1),
                );
            }
            expected = number + 1;
        }
        if matches!(adapter.as_str(), "internal" | "offline") && expected != *next_number {
            problem(
                "series_gap",
                row.clone(),
                format!(
                    "the series handed out numbers up to {} and documents end at {}",
                    next_number - 1,
                    expected - 1
                ),
            );
        }
    }

    // 3. Z reports: consecutive per cashier, each matching its closing entry,
    // and the day it closed still closed.
    let z_reports: Vec<ZCheck> = sqlx::query_as(
        "SELECT z.id, z.cashier_id, z.number, z.fiscal_day, z.totals, z.closed_by, c.closed_at \
         FROM z_reports z LEFT JOIN cashier_days c ON c.tenant_id = z.tenant_id \
         AND c.cashier_id = z.cashier_id AND c.fiscal_day = z.fiscal_day \
         WHERE z.tenant_id = $1 ORDER BY z.cashier_id, z.number",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut last: Option<(Uuid, i64)> = None;
    for report in &z_reports {
        let row = format!("z_reports id={}", report.id);
        let expected = match last {
            Some((previous_cashier, previous_number)) if previous_cashier == report.cashier_id => {
                previous_number + 1
            }
            _ => 1,
        };
        if report.number != expected {
            problem(
                "z_report_gap",
                row.clone(),
                format!(
                    "cashier {} has Z report {} where {expected} was expected",
                    report.cashier_id, report.number
                ),
            );
        }
        last = Some((report.cashier_id, report.number));
        match closings.remove(&report.id) {
            None => problem(
                "missing_audit_entry",
                row.clone(),
                "the Z report has no closing entry in the audit log".to_string(),
            ),
            Some((sequence, payload)) => {
                let matches = payload["cashier_id"].as_str()
                    == Some(report.cashier_id.to_string().as_str())
                    && payload["number"].as_i64() == Some(report.number)
                    && payload["fiscal_day"].as_str()
                        == Some(report.fiscal_day.to_string().as_str())
                    && payload["closed_by"].as_str() == Some(report.closed_by.to_string().as_str())
                    && payload["totals_sha256"].as_str()
                        == Some(content_hash(&report.totals).as_str());
                if !matches {
                    problem(
                        "z_report_mismatch",
                        row.clone(),
                        format!("the Z report differs from audit entry {sequence}"),
                    );
                }
            }
        }
        if report.closed_at.is_none() {
            problem(
                "day_reopened",
                format!(
                    "cashier_days cashier_id={} fiscal_day={}",
                    report.cashier_id, report.fiscal_day
                ),
                format!("the day closed by Z report {} is open again", report.number),
            );
        }
    }
    for (id, (sequence, _)) in &closings {
        problem(
            "missing_z_report",
            format!("fiscal_audit_log sequence={sequence}"),
            format!("Z report {id} was closed and is no longer stored"),
        );
    }

    Ok(FiscalVerification {
        tenant_id,
        audit_entries: entries.len() as i64,
        documents: documents.len() as i64,
        series: series.len() as i64,
        z_reports: z_reports.len() as i64,
        problems,
    })
}

/// A Z report with the state of the day it closed, as verification reads it.
#[derive(FromRow)]
struct ZCheck {
    id: Uuid,
    cashier_id: Uuid,
    number: i64,
    fiscal_day: NaiveDate,
    totals: String,
    closed_by: Uuid,
    closed_at: Option<DateTime<Utc>>,
}

/// A stored document, as the audit backfill reads it.
type StoredDocument = (
    Uuid,
    String,
    String,
    i64,
    String,
    Uuid,
    Option<Uuid>,
    DateTime<Utc>,
    i64,
    i64,
    String,
    Option<Uuid>,
);

impl Backend {
    /// Appends an issue entry for each document stored before the audit log
    /// existed, oldest first, so `fiscal verify` covers those documents too.
    /// Runs after migrations. Only tenants whose chain is still empty are
    /// touched, so a second run does nothing.
    pub(crate) async fn backfill_audit_log(&self) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let tenants: Vec<Uuid> = sqlx::query_scalar(
            "SELECT t.id FROM tenants t WHERE t.audit_length = 0 \
             AND EXISTS (SELECT 1 FROM fiscal_documents d WHERE d.tenant_id = t.id)",
        )
        .fetch_all(tx.conn())
        .await?;
        let mut appended = 0;
        for tenant_id in tenants {
            let documents: Vec<StoredDocument> = sqlx::query_as(
                "SELECT d.id, s.code, d.kind, d.number, d.control_number, d.order_id, d.references_document_id, \
                 d.issued_at, d.total_usd_cents, d.total_bs_cents, d.content, d.issued_by \
                 FROM fiscal_documents d JOIN fiscal_series s ON s.tenant_id = d.tenant_id AND s.id = d.series_id \
                 WHERE d.tenant_id = $1 ORDER BY d.issued_at, d.id",
            )
            .bind(tenant_id)
            .fetch_all(tx.conn())
            .await?;
            for (
                id,
                series,
                kind,
                number,
                control_number,
                order_id,
                references,
                issued_at,
                usd,
                bs,
                content,
                issued_by,
            ) in documents
            {
                let draft = DocumentDraft {
                    kind: if kind == "credit_note" {
                        "credit_note"
                    } else {
                        "invoice"
                    },
                    order_id,
                    references_document_id: references,
                    total_usd_cents: usd,
                    total_bs_cents: bs,
                    content: serde_json::Value::Null,
                    issued_by: issued_by.unwrap_or(Uuid::nil()),
                    linked_id: None,
                };
                let payload = document_payload(
                    id,
                    &series,
                    &draft,
                    number,
                    &control_number,
                    issued_at,
                    &content,
                );
                let event = if draft.kind == "credit_note" {
                    "credit_note_issued"
                } else {
                    "invoice_issued"
                };
                append_audit(tx.conn(), tenant_id, None, event, id, &payload, now).await?;
                appended += 1;
            }
            tracing::info!(
                event = "fiscal_audit_backfilled",
                tenant.id = %tenant_id,
                "recorded audit entries for documents issued before the audit log existed"
            );
        }
        tx.commit().await?;
        Ok(appended)
    }

    pub(super) async fn create_fiscal_series_impl(
        &self,
        tenant_id: Uuid,
        series: NewFiscalSeries,
    ) -> StoreResult<FiscalSeries> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let credit_note_series_id = match &series.credit_note_series {
            Some(code) => Some(
                resolve_series(tx.conn(), tenant_id, "credit_note", Some(code))
                    .await
                    .map_err(|error| match error {
                        StoreError::Invalid(mut field) => {
                            field.field = "credit_note_series".to_string();
                            StoreError::Invalid(field)
                        }
                        other => other,
                    })?
                    .id,
            ),
            None => None,
        };
        if series.is_default {
            sqlx::query(
                "UPDATE fiscal_series SET is_default = FALSE WHERE tenant_id = $1 AND kind = $2 AND is_default",
            )
            .bind(tenant_id)
            .bind(&series.kind)
            .execute(tx.conn())
            .await?;
        }
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO fiscal_series (tenant_id, id, code, kind, adapter, adapter_config, description, is_default, \
             credit_note_series_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(&series.code)
        .bind(&series.kind)
        .bind(&series.adapter)
        .bind(series.adapter_config.to_string())
        .bind(&series.description)
        .bind(series.is_default)
        .bind(credit_note_series_id)
        .bind(now)
        .execute(tx.conn())
        .await;
        if let Err(error) = inserted {
            if unique_violation(&error).is_some() {
                return Err(StoreError::conflict_with(
                    "series_exists",
                    json!({ "code": series.code }),
                ));
            }
            return Err(error.into());
        }
        append_audit(
            tx.conn(),
            tenant_id,
            None,
            "series_created",
            id,
            &json!({
                "series_id": id,
                "code": series.code,
                "kind": series.kind,
                "adapter": series.adapter,
                "is_default": series.is_default,
            }),
            now,
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.read_pool().acquire().await?;
        let record = series_by_id(&mut conn, tenant_id, id).await?;
        Ok(record.view(series.credit_note_series, 0))
    }

    pub(super) async fn list_fiscal_series_impl(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalSeries>> {
        let mut conn = self.read_pool().acquire().await?;
        let query = match page.after {
            None => sqlx::query_as(crate::list_sql::FISCAL_SERIES_FIRST).bind(tenant_id),
            Some(cursor) => sqlx::query_as(crate::list_sql::FISCAL_SERIES_AFTER)
                .bind(tenant_id)
                .bind(cursor),
        };
        let records: Vec<SeriesRecord> = query.bind(page.limit + 1).fetch_all(&mut *conn).await?;
        let records = page_of(records, page, |record| record.id);

        let mut items = Vec::with_capacity(records.items.len());
        for record in &records.items {
            items.push(series_view(&mut conn, tenant_id, record).await?);
        }
        Ok(Page {
            items,
            next_cursor: records.next_cursor,
        })
    }

    pub(super) async fn get_fiscal_series_impl(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
    ) -> StoreResult<FiscalSeries> {
        let mut conn = self.read_pool().acquire().await?;
        let record = series_by_id(&mut conn, tenant_id, series_id).await?;
        series_view(&mut conn, tenant_id, &record).await
    }

    pub(super) async fn update_series_settings_impl(
        &self,
        tenant_id: Uuid,
        series_id: Uuid,
        adapter_config: serde_json::Value,
        changed_by: Uuid,
    ) -> StoreResult<FiscalSeries> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let record = series_by_id(tx.conn(), tenant_id, series_id).await?;
        // Internal and offline series number documents themselves; they have no settings.
        if matches!(record.adapter.as_str(), "internal" | "offline") {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "adapter_config",
                "not_used_by_adapter",
            )));
        }

        sqlx::query(
            "UPDATE fiscal_series SET adapter_config = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(series_id)
        .bind(adapter_config.to_string())
        .execute(tx.conn())
        .await?;

        // Documents waiting out a backoff are tried with the new settings now.
        let waiting = sqlx::query(
            "UPDATE fiscal_issue_queue SET next_attempt_at = $3 \
             WHERE tenant_id = $1 AND series_id = $2 AND status = 'pending' AND next_attempt_at > $3",
        )
        .bind(tenant_id)
        .bind(series_id)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();

        // The audit entry names the settings, never their values: one is a token.
        let mut settings: Vec<&String> = adapter_config
            .as_object()
            .map(|object| object.keys().collect())
            .unwrap_or_default();
        settings.sort();
        append_audit(
            tx.conn(),
            tenant_id,
            None,
            "series_settings_changed",
            series_id,
            &json!({
                "series_id": series_id,
                "code": record.code,
                "adapter": record.adapter,
                "settings": settings,
                "documents_due_now": waiting,
                "changed_by": changed_by,
            }),
            now,
        )
        .await?;
        let view = series_view(tx.conn(), tenant_id, &record).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub(super) async fn claim_fiscal_issues_impl(
        &self,
        limit: i64,
        lease: Duration,
    ) -> StoreResult<Vec<PendingIssue>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, id FROM fiscal_issue_queue WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let mut claimed = Vec::new();
        for (tenant_id, id) in due {
            // The lease keeps a second worker off the item while this one calls
            // the adapter; the idempotency key covers a lease that runs out.
            let sql = format!(
                "UPDATE fiscal_issue_queue SET next_attempt_at = $3, attempts = attempts + 1 \
                 WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND next_attempt_at <= $4 RETURNING {QUEUE_COLUMNS}"
            );
            let record: Option<QueueRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(id)
                .bind(lease_until)
                .bind(now)
                .fetch_optional(tx.conn())
                .await?;
            let Some(record) = record else {
                continue;
            };
            let series = series_by_id(tx.conn(), tenant_id, record.series_id).await?;
            claimed.push(PendingIssue {
                tenant_id,
                id: record.id,
                order_id: record.order_id,
                series: series.code.clone(),
                kind: record.kind.clone(),
                adapter: series.adapter.clone(),
                adapter_config: parse_json(&series.adapter_config, "series adapter settings")?,
                content: parse_json(&record.content, "queued document content")?,
                attempts: record.attempts,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    pub(super) async fn record_external_document_impl(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        issued: &ExternalIssued,
    ) -> StoreResult<Option<DocumentSummary>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let issued_by: Option<Uuid> = sqlx::query_scalar(
            "SELECT issued_by FROM fiscal_issue_queue WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(queue_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(issued_by) = issued_by else {
            // Another worker recorded it already.
            return Ok(None);
        };
        // The document belongs to the issuer's fiscal day of now. Taking the
        // tenant row first (it also reserves the audit entry) orders this
        // recording against a Z report, which takes that row before closing.
        let sequence: i64 = sqlx::query_scalar(
            "UPDATE tenants SET audit_length = audit_length + 1 WHERE id = $1 RETURNING audit_length",
        )
        .bind(tenant_id)
        .fetch_one(tx.conn())
        .await?;
        check_day_open(tx.conn(), tenant_id, issued_by, now).await?;
        let sql = format!(
            "DELETE FROM fiscal_issue_queue WHERE tenant_id = $1 AND id = $2 RETURNING {QUEUE_COLUMNS}"
        );
        let record: Option<QueueRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(queue_id)
            .fetch_optional(tx.conn())
            .await?;
        let Some(record) = record else {
            // Another worker recorded it already; dropping the transaction
            // rolls back the reserved audit entry.
            return Ok(None);
        };
        let series = series_by_id(tx.conn(), tenant_id, record.series_id).await?;
        let draft = DocumentDraft {
            kind: if record.kind == "credit_note" {
                "credit_note"
            } else {
                "invoice"
            },
            order_id: record.order_id,
            references_document_id: record.references_document_id,
            total_usd_cents: record.total_usd_cents,
            total_bs_cents: record.total_bs_cents,
            content: {
                let mut content = parse_json(&record.content, "queued document content")?;
                if let Some(at) = issued.issued_at {
                    content["provider_issued_at"] = json!(at);
                }
                content
            },
            issued_by: record.issued_by,
            linked_id: None,
        };
        // Keeps the series' counter in step with what the adapter numbered.
        sqlx::query(
            "UPDATE fiscal_series SET next_number = CASE WHEN next_number > $3 THEN next_number ELSE $3 END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(series.id)
        .bind(issued.number + 1)
        .execute(tx.conn())
        .await?;
        let recorded = record_document(
            tx.conn(),
            tenant_id,
            RecordedDocument {
                id: record.id,
                series: &series,
                number: issued.number,
                control_number: issued.control_number.clone(),
                verification_url: issued.verification_url.clone(),
                // Our clock, not the provider's: the fiscal day and the X and Z
                // reports follow when taquilla recorded the document.
                issued_at: now,
                audit_sequence: Some(sequence),
            },
            &draft,
            now,
        )
        .await;
        let summary = match recorded {
            Ok(summary) => summary,
            Err(StoreError::Database(error)) if unique_violation(&error).is_some() => {
                let constraint = unique_violation(&error).unwrap_or_default();
                let clash = if constraint.contains("control") {
                    "control_number"
                } else {
                    "number"
                };
                return Err(StoreError::conflict_with(
                    "document_number_taken",
                    json!({ "series": series.code, "number": issued.number, "control_number": issued.control_number, "taken": clash }),
                ));
            }
            Err(error) => return Err(error),
        };
        tx.commit().await?;
        Ok(Some(summary))
    }

    pub(super) async fn defer_fiscal_issue_impl(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let (status, next) = match retry_at {
            Some(at) => ("pending", at),
            None => ("rejected", self.clock.now()),
        };
        sqlx::query(
            "UPDATE fiscal_issue_queue SET status = $3, next_attempt_at = $4, last_error = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(queue_id)
        .bind(status)
        .bind(next)
        .bind(error)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn retry_fiscal_issue_impl(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE fiscal_issue_queue SET status = 'pending', next_attempt_at = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(queue_id)
        .bind(self.clock.now())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("queued fiscal document"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn reassign_fiscal_issue_impl(
        &self,
        tenant_id: Uuid,
        queue_id: Uuid,
        series_code: &str,
        principal_id: Uuid,
    ) -> StoreResult<Option<DocumentSummary>> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let sql = format!(
            "DELETE FROM fiscal_issue_queue WHERE tenant_id = $1 AND id = $2 RETURNING {QUEUE_COLUMNS}"
        );
        let record: QueueRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(queue_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound("queued fiscal document"))?;
        if record.status != "rejected" {
            return Err(StoreError::conflict_with(
                "issue_not_rejected",
                json!({ "status": record.status }),
            ));
        }
        // A provider that issued the document but whose numbers clash has a
        // document of its own; moving the sale would issue it twice.
        if record
            .last_error
            .as_deref()
            .is_some_and(|error| error.starts_with("document_number_taken"))
        {
            return Err(StoreError::conflict("issue_already_issued_by_provider"));
        }
        let kind = if record.kind == "credit_note" {
            "credit_note"
        } else {
            "invoice"
        };
        let target = resolve_series(tx.conn(), tenant_id, kind, Some(series_code)).await?;
        // A move within its own series would send it again under a new
        // idempotency key; a retry keeps the key the provider already saw.
        if target.id == record.series_id {
            return Err(StoreError::conflict("issue_same_series"));
        }
        if target.adapter == "offline" {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "series",
                "series_offline_only",
            )));
        }
        let from = series_by_id(tx.conn(), tenant_id, record.series_id).await?;
        let draft = DocumentDraft {
            kind,
            order_id: record.order_id,
            references_document_id: record.references_document_id,
            total_usd_cents: record.total_usd_cents,
            total_bs_cents: record.total_bs_cents,
            content: parse_json(&record.content, "queued document content")?,
            // The person who moves the document issues it, on their own fiscal day.
            issued_by: principal_id,
            linked_id: None,
        };

        // Issued first: it takes the series row before the tenant row, like a sale.
        let issuance = issue_document(tx.conn(), tenant_id, &target, draft, now).await?;
        append_audit(
            tx.conn(),
            tenant_id,
            None,
            "issue_reassigned",
            record.id,
            &json!({
                "queue_id": record.id,
                "order_id": record.order_id,
                "from_series": from.code,
                "to_series": target.code,
                "rejection": record.last_error,
                "reassigned_by": principal_id,
            }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(match issuance {
            Issuance::Issued(summary) => Some(summary),
            Issuance::Queued => None,
        })
    }

    pub(super) async fn list_fiscal_issues_impl(
        &self,
        tenant_id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<FiscalIssueItem>> {
        let mut conn = self.read_pool().acquire().await?;
        let records: Vec<QueueRecord> = sqlx::query_as(crate::list_sql::FISCAL_ISSUES_PAGE)
            .bind(tenant_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::with_capacity(records.len());
        for record in records {
            let series = series_by_id(&mut conn, tenant_id, record.series_id).await?;
            debug_assert_eq!(record.tenant_id, tenant_id);
            items.push(FiscalIssueItem {
                id: record.id,
                order_id: record.order_id,
                series: series.code,
                kind: record.kind,
                adapter: series.adapter,
                status: record.status,
                attempts: record.attempts,
                last_error: record.last_error,
                next_attempt_at: record.next_attempt_at,
                created_at: record.created_at,
            });
        }
        Ok(page_of(items, page, |item| item.id))
    }

    pub(super) async fn fiscal_queue_stats_impl(&self) -> StoreResult<FiscalQueueStats> {
        let mut conn = self.read_pool().acquire().await?;
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM fiscal_issue_queue GROUP BY status")
                .fetch_all(&mut *conn)
                .await?;
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(created_at) FROM fiscal_issue_queue WHERE status = 'pending'",
        )
        .fetch_one(&mut *conn)
        .await?;
        let mut stats = FiscalQueueStats::default();
        for (status, count) in counts {
            match status.as_str() {
                "pending" => stats.pending = count,
                _ => stats.rejected += count,
            }
        }
        stats.oldest_pending_seconds = oldest
            .map(|oldest| (self.clock.now() - oldest).num_seconds().max(0))
            .unwrap_or(0);
        Ok(stats)
    }

    pub(super) async fn fiscal_day_totals_impl(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        day: Option<NaiveDate>,
    ) -> StoreResult<FiscalDayTotals> {
        let mut conn = self.read_pool().acquire().await?;
        if let Some(cashier_id) = cashier_id {
            require_tenant_user(&mut conn, tenant_id, cashier_id).await?;
        }
        let day = day.unwrap_or_else(|| caracas_date(self.clock.now()));
        day_totals(&mut conn, tenant_id, cashier_id, day).await
    }

    pub(super) async fn close_fiscal_day_impl(
        &self,
        tenant_id: Uuid,
        cashier_id: Uuid,
        closed_by: Uuid,
        day: Option<NaiveDate>,
    ) -> StoreResult<ZReport> {
        let mut tx = self.begin_write().await?;
        let now = self.clock.now();
        let today = caracas_date(now);
        let day = day.unwrap_or(today);
        if day > today {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "fiscal_day",
                "fiscal_day_in_future",
            )));
        }
        let (role, tenant_created): (String, DateTime<Utc>) = sqlx::query_as(
            "SELECT u.role, t.created_at FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE u.tenant_id = $1 AND u.id = $2",
        )
        .bind(tenant_id)
        .bind(cashier_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("user"))?;
        if !matches!(role.as_str(), "tenant_admin" | "cashier" | "api_client") {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "cashier_id",
                "not_a_seller",
            )));
        }
        if day < caracas_date(tenant_created) {
            return Err(StoreError::Invalid(taquilla_domain::FieldError::new(
                "fiscal_day",
                "fiscal_day_before_tenant",
            )));
        }
        // The tenant row first: documents are issued under it, so the Z waits
        // for those in flight and every later one sees the day closed.
        sqlx::query("UPDATE tenants SET audit_length = audit_length WHERE id = $1")
            .bind(tenant_id)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO cashier_days (tenant_id, cashier_id, fiscal_day) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, cashier_id, fiscal_day) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(cashier_id)
        .bind(day)
        .execute(tx.conn())
        .await?;
        // Exclusive on the day row: waits for the cashier's sales in flight,
        // and every later sale of the day finds it closed.
        let closed = sqlx::query(
            "UPDATE cashier_days SET closed_at = $4 WHERE tenant_id = $1 AND cashier_id = $2 AND fiscal_day = $3 \
             AND closed_at IS NULL",
        )
        .bind(tenant_id)
        .bind(cashier_id)
        .bind(day)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if closed == 0 {
            return Err(StoreError::conflict_with(
                "z_report_exists",
                json!({ "fiscal_day": day }),
            ));
        }
        let totals = day_totals(tx.conn(), tenant_id, Some(cashier_id), day).await?;
        if totals.pending_documents > 0 {
            return Err(StoreError::conflict_with(
                "documents_pending_issue",
                json!({ "pending_documents": totals.pending_documents }),
            ));
        }
        // Sales of an open offline block may still come in for this cashier.
        let open_blocks: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM offline_blocks WHERE tenant_id = $1 AND cashier_id = $2 AND status = 'open' ORDER BY id",
        )
        .bind(tenant_id)
        .bind(cashier_id)
        .fetch_all(tx.conn())
        .await?;
        if !open_blocks.is_empty() {
            return Err(StoreError::conflict_with(
                "offline_block_open",
                json!({ "offline_blocks": open_blocks }),
            ));
        }
        let number: i64 = sqlx::query_scalar(
            "UPDATE users SET z_reports = z_reports + 1 WHERE tenant_id = $1 AND id = $2 RETURNING z_reports",
        )
        .bind(tenant_id)
        .bind(cashier_id)
        .fetch_one(tx.conn())
        .await?;
        let id = Uuid::now_v7();
        let totals_text = serde_json::to_string(&totals)
            .map_err(|error| StoreError::Internal(format!("Z report totals: {error}")))?;
        sqlx::query(
            "INSERT INTO z_reports (tenant_id, id, cashier_id, number, fiscal_day, totals, closed_by, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(cashier_id)
        .bind(number)
        .bind(day)
        .bind(&totals_text)
        .bind(closed_by)
        .bind(now)
        .execute(tx.conn())
        .await?;
        append_audit(
            tx.conn(),
            tenant_id,
            None,
            "z_report_closed",
            id,
            &json!({
                "z_report_id": id,
                "cashier_id": cashier_id,
                "number": number,
                "fiscal_day": day,
                "closed_by": closed_by,
                "totals_sha256": content_hash(&totals_text),
            }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ZReport {
            id,
            number,
            cashier_id,
            fiscal_day: day,
            totals,
            closed_by,
            closed_at: now,
        })
    }

    pub(super) async fn list_z_reports_impl(
        &self,
        tenant_id: Uuid,
        cashier_id: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<ZReport>> {
        let records: Vec<ZRecord> = sqlx::query_as(crate::list_sql::Z_REPORTS_PAGE)
            .bind(tenant_id)
            .bind(cashier_id)
            .bind(after(page))
            .bind(page.limit + 1)
            .fetch_all(self.read_pool())
            .await?;
        let items = records
            .into_iter()
            .map(ZRecord::view)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(page_of(items, page, |report| report.id))
    }

    pub(super) async fn get_z_report_impl(
        &self,
        tenant_id: Uuid,
        report_id: Uuid,
    ) -> StoreResult<ZReport> {
        let sql = format!("SELECT {Z_COLUMNS} FROM z_reports WHERE tenant_id = $1 AND id = $2");
        let record: Option<ZRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(report_id)
            .fetch_optional(self.read_pool())
            .await?;
        record.ok_or(StoreError::NotFound("Z report"))?.view()
    }

    pub(super) async fn verify_fiscal_impl(
        &self,
        tenant_id: Uuid,
    ) -> StoreResult<FiscalVerification> {
        // One snapshot: a sale committing between two of the check's reads
        // would look like a document without its audit entry, or a gap.
        let mut snapshot = self.begin_snapshot().await?;
        verify_tenant(&mut snapshot, tenant_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_hash_covers_every_field() {
        let subject = Uuid::nil();
        let base = audit_hash(GENESIS_HASH, 1, "invoice_issued", subject, "{}");
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            audit_hash(GENESIS_HASH, 2, "invoice_issued", subject, "{}")
        );
        assert_ne!(
            base,
            audit_hash(GENESIS_HASH, 1, "credit_note_issued", subject, "{}")
        );
        assert_ne!(
            base,
            audit_hash(GENESIS_HASH, 1, "invoice_issued", Uuid::max(), "{}")
        );
        assert_ne!(
            base,
            audit_hash(GENESIS_HASH, 1, "invoice_issued", subject, "{ }")
        );
        assert_ne!(base, audit_hash(&base, 1, "invoice_issued", subject, "{}"));
    }
}
