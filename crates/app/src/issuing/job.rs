//! The job that issues queued documents through their series' external
//! adapter and records the numbers it returns.
//!
//! A payment in a `digital_printer` or `fiscal_printer` series commits with
//! the order paid and its invoice queued. This job claims due queue items
//! (leased, so two workers do not call the adapter for one document at once),
//! calls the adapter with the queue id as idempotency key, and then:
//! - records the document (a second recording is a no-op);
//! - on a transient failure, retries later with backoff;
//! - on a rejection, parks the item for an operator
//!   (`POST /api/v1/fiscal/issue-queue/{id}/retry`).
//!
//! Failures feed `venezuelan_pos_fiscal_issue_failures_total`, and the queue's
//! depth and age feed the gauges the `FiscalDocumentsNotIssued` alert reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taquilla_store::StoreError;
use taquilla_store::model::{ExternalIssued, PendingIssue};
use tokio::sync::watch;
use uuid::Uuid;

use super::digital_printer::{DigitalPrinterAdapter, DigitalPrinterConfig};
use super::fiscal_printer::{FiscalPrinterAdapter, SimulatedFiscalPrinter};
use super::{DocumentKind, IssueError, IssueRequest, IssuingAdapter};
use crate::state::AppState;

/// Documents claimed per round.
const BATCH: i64 = 20;
/// How long a claimed document stays with one worker before another may take it.
const LEASE: Duration = Duration::from_secs(120);
/// Default time limit of one call to a digital printer.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Seconds before the first retry; doubled per attempt up to [`MAX_BACKOFF_SECONDS`].
const FIRST_BACKOFF_SECONDS: i64 = 5;
const MAX_BACKOFF_SECONDS: i64 = 600;

/// Adapters built from series settings, one per tenant and series, reused
/// across rounds. Each is kept with the settings it was built from: when an
/// operator replaces them (`PATCH /api/v1/fiscal/series/{id}`), the next
/// document of the series builds a new one.
#[derive(Default)]
pub struct Adapters {
    built: Mutex<HashMap<(Uuid, String), BuiltAdapter>>,
}

/// An adapter and the series settings it was built from.
type BuiltAdapter = (serde_json::Value, Arc<dyn IssuingAdapter>);

impl Adapters {
    /// Returns the adapter of a queued document's series, or why none can be built.
    fn for_issue(&self, pending: &PendingIssue) -> Result<Arc<dyn IssuingAdapter>, String> {
        let key = (pending.tenant_id, pending.series.clone());
        let config = &pending.adapter_config;
        if let Some((settings, adapter)) = self.built.lock().expect("adapter cache lock").get(&key)
            && settings == config
        {
            return Ok(adapter.clone());
        }
        let adapter: Arc<dyn IssuingAdapter> = match pending.adapter.as_str() {
            "digital_printer" => {
                let timeout_ms = config["timeout_ms"].as_u64().unwrap_or(DEFAULT_TIMEOUT_MS);
                let adapter = DigitalPrinterAdapter::new(DigitalPrinterConfig {
                    base_url: config["base_url"].as_str().unwrap_or_default().to_string(),
                    api_token: config["api_token"].as_str().unwrap_or_default().to_string(),
                    timeout: Duration::from_millis(timeout_ms),
                })
                .map_err(|error| format!("digital printer settings: {error}"))?;
                Arc::new(adapter)
            }
            "fiscal_printer" if config["driver"].as_str() == Some("simulated") => {
                Arc::new(FiscalPrinterAdapter::new(SimulatedFiscalPrinter::new()))
            }
            other => return Err(format!("no adapter for series adapter `{other}`")),
        };
        self.built
            .lock()
            .expect("adapter cache lock")
            .insert(key, (config.clone(), adapter.clone()));
        Ok(adapter)
    }
}

/// Seconds to wait before attempt `attempts + 1`.
fn backoff_seconds(attempts: i64) -> i64 {
    let doublings = attempts.clamp(1, 16) - 1;
    (FIRST_BACKOFF_SECONDS << doublings).min(MAX_BACKOFF_SECONDS)
}

fn request_of(pending: &PendingIssue) -> IssueRequest {
    IssueRequest {
        idempotency_key: pending.id,
        tenant_id: pending.tenant_id,
        series: pending.series.clone(),
        kind: if pending.kind == "credit_note" {
            DocumentKind::CreditNote
        } else {
            DocumentKind::Invoice
        },
        content: pending.content.clone(),
    }
}

/// Parks a document for an operator and counts the failure.
async fn reject(state: &AppState, pending: &PendingIssue, reason: &str) -> anyhow::Result<()> {
    state
        .metrics
        .fiscal_issue_failures_total
        .with_label_values(&[pending.adapter.as_str(), "rejected"])
        .inc();
    tracing::error!(
        event = "fiscal_document_rejected",
        tenant.id = %pending.tenant_id,
        order.id = %pending.order_id,
        series = %pending.series,
        idempotency_key = %pending.id,
        reason,
        "a fiscal document was rejected and needs an operator"
    );
    state
        .store
        .defer_fiscal_issue(pending.tenant_id, pending.id, reason, None)
        .await?;
    Ok(())
}

/// Issues one claimed document.
async fn issue_one(state: &AppState, pending: PendingIssue) -> anyhow::Result<()> {
    let adapter = match state.issuing_adapters.for_issue(&pending) {
        Ok(adapter) => adapter,
        Err(reason) => return reject(state, &pending, &reason).await,
    };
    match adapter.issue(&request_of(&pending)).await {
        Ok(issued) => {
            let recorded = state
                .store
                .record_external_document(
                    pending.tenant_id,
                    pending.id,
                    &ExternalIssued {
                        number: issued.number,
                        control_number: issued.control_number,
                        verification_url: issued.verification_url,
                        issued_at: issued.issued_at,
                    },
                )
                .await;
            match recorded {
                Ok(Some(summary)) => crate::http::fiscal::record_document_issued(
                    state,
                    pending.tenant_id,
                    pending.order_id,
                    &summary,
                ),
                Ok(None) => {}
                Err(StoreError::Conflict { code, details }) => {
                    reject(state, &pending, &format!("{code}: {details}")).await?;
                }
                // The lease runs out and a later round records it: the
                // adapter returns the same numbers for the same key.
                Err(error) => return Err(error.into()),
            }
        }
        Err(IssueError::Transient(reason)) => {
            state
                .metrics
                .fiscal_issue_failures_total
                .with_label_values(&[pending.adapter.as_str(), "transient"])
                .inc();
            let retry_at =
                state.clock.now() + chrono::Duration::seconds(backoff_seconds(pending.attempts));
            state
                .store
                .defer_fiscal_issue(pending.tenant_id, pending.id, &reason, Some(retry_at))
                .await?;
        }
        Err(IssueError::Rejected { code, message }) => {
            reject(state, &pending, &format!("{code}: {message}")).await?;
        }
    }
    Ok(())
}

/// Runs one round: issues the due documents and refreshes the queue gauges.
/// Returns how many documents were attempted.
pub async fn issue_due_once(state: &AppState) -> anyhow::Result<usize> {
    let claimed = state.store.claim_fiscal_issues(BATCH, LEASE).await?;
    let attempted = claimed.len();
    for pending in claimed {
        let (tenant_id, id) = (pending.tenant_id, pending.id);
        if let Err(error) = issue_one(state, pending).await {
            tracing::error!(event = "job_failed", job = "fiscal_issuer", tenant.id = %tenant_id, idempotency_key = %id, error.cause_chain = ?error, "issuing a fiscal document failed");
        }
    }
    let stats = state.store.fiscal_queue_stats().await?;
    let waiting = &state.metrics.fiscal_documents_waiting;
    waiting.with_label_values(&["pending"]).set(stats.pending);
    waiting.with_label_values(&["rejected"]).set(stats.rejected);
    state
        .metrics
        .fiscal_oldest_pending_seconds
        .set(stats.oldest_pending_seconds);
    Ok(attempted)
}

/// Issues queued documents until `stop` changes: each round when a sale
/// queues one, and at least every `sweep_interval_seconds` (at most 5 s) for
/// retries.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_secs(state.config.sweep_interval_seconds.clamp(1, 5));
    loop {
        let result = issue_due_once(&state).await;
        state
            .metrics
            .record_job_round("fiscal_issuer", result.is_ok(), state.clock.now());
        match result {
            // A full batch may mean more are due now.
            Ok(attempted) if attempted as i64 == BATCH => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(event = "job_failed", job = "fiscal_issuer", error.cause_chain = ?error, "fiscal issuing round failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = state.issuing.notified() => {}
            _ = stop.changed() => break,
        }
    }
    tracing::info!(
        event = "job_stopped",
        job = "fiscal_issuer",
        "fiscal issuer stopped"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff_seconds(1), 5);
        assert_eq!(backoff_seconds(2), 10);
        assert_eq!(backoff_seconds(4), 40);
        assert_eq!(backoff_seconds(8), 600);
        assert_eq!(backoff_seconds(1_000), 600);
    }
}
