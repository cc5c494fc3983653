//! The in-process job runner: expires holds and unpaid orders, records due
//! price stage transitions, closes expired offline blocks, and purges
//! idempotency keys older than 24 hours.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use crate::state::AppState;

/// How long idempotency keys are kept.
const IDEMPOTENCY_KEY_HOURS: i64 = 24;
/// Holds expired per sweeper round; the rest wait for the next round.
const SWEEP_BATCH: i64 = 1_000;

/// When the sweeper last finished, for the health check.
#[derive(Debug, Default)]
pub struct JobStatus {
    last_run_micros: AtomicI64,
    failures: AtomicI64,
}

impl JobStatus {
    fn record_run(&self, at: DateTime<Utc>) {
        self.last_run_micros
            .store(at.timestamp_micros(), Ordering::Relaxed);
    }

    /// Reports the worker as degraded when it has not run for three intervals.
    pub fn status(&self, now: DateTime<Utc>, interval_seconds: u64) -> Value {
        let last = self.last_run_micros.load(Ordering::Relaxed);
        let failures = self.failures.load(Ordering::Relaxed);
        if last == 0 {
            return json!({ "status": "starting", "failures": failures });
        }
        let last_run = DateTime::<Utc>::from_timestamp_micros(last).unwrap_or(now);
        let late = (now - last_run).num_seconds() > (interval_seconds as i64) * 3 + 5;
        json!({
            "status": if late { "degraded" } else { "healthy" },
            "last_run": last_run,
            "failures": failures,
        })
    }
}

/// Runs one round: expire due holds, purge old idempotency keys.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<u64> {
    // The backlog before this round: holds past their expiry not ended yet.
    let (due, oldest) = state.store.holds_due().await?;
    state.metrics.holds_due.set(due);
    state
        .metrics
        .holds_due_oldest_seconds
        .set(oldest.map_or(0, |oldest| {
            (state.clock.now() - oldest).num_seconds().max(0)
        }));
    let expired_holds = state.store.expire_holds(SWEEP_BATCH).await?;
    let expired = expired_holds.len() as u64;
    // Availability already counts a hold past its expiry as free. Expiring it
    // also cancels its order, which frees the order's seats, so the cached
    // seat maps of its event are replaced.
    let mut events: Vec<(Uuid, Uuid)> = expired_holds;
    events.sort_unstable();
    events.dedup();
    for (tenant_id, event_id) in events {
        state.cache.invalidate_event(tenant_id, event_id).await;
    }
    if expired > 0 {
        state.metrics.holds_expired_total.inc_by(expired);
        tracing::info!(
            event = "hold_expired",
            count = expired,
            "expired holds returned their capacity"
        );
    }
    // Date transitions of price stages, for events whose stages no request reads.
    for (tenant_id, transition) in state.store.apply_due_stage_transitions(SWEEP_BATCH).await? {
        crate::http::pricing::record_transitions(
            state,
            tenant_id,
            std::slice::from_ref(&transition),
        );
        state
            .cache
            .invalidate_event(tenant_id, transition.event_id)
            .await;
    }
    // Offline blocks past their validity: their unused numbers are voided.
    for block in state.store.expire_offline_blocks(SWEEP_BATCH).await? {
        tracing::info!(
            event = "offline_block_expired",
            tenant.id = %block.tenant_id,
            block.id = %block.block_id,
            voided = block.voided,
            "offline block expired; its unused numbers are voided"
        );
    }
    let cutoff = state.clock.now() - chrono::Duration::hours(IDEMPOTENCY_KEY_HOURS);
    state.store.purge_idempotency_keys(cutoff).await?;
    state.jobs.record_run(state.clock.now());
    Ok(expired)
}

/// Runs the sweeper every `sweep_interval_seconds`, and the fiscal issuer
/// beside it, until `stop` changes.
pub async fn run_sweeper(state: AppState, mut stop: watch::Receiver<bool>) {
    // The fiscal issuer runs beside the sweeper, wherever background jobs run.
    let issuer = tokio::spawn(crate::issuing::job::run(state.clone(), stop.clone()));
    let interval = Duration::from_secs(state.config.sweep_interval_seconds);
    loop {
        let result = sweep_once(&state).await;
        state
            .metrics
            .record_job_round("sweeper", result.is_ok(), state.clock.now());
        if let Err(error) = result {
            state.jobs.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(event = "job_failed", job = "sweeper", error.cause_chain = ?error, "hold sweeper failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = issuer.await;
    tracing::info!(
        event = "job_stopped",
        job = "sweeper",
        "hold sweeper stopped"
    );
}

pub type SharedJobStatus = Arc<JobStatus>;
