//! Shared state handed to every handler.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, RwLock};

use taquilla_store::StoreResult;
use uuid::Uuid;

use taquilla_store::{Clock, Store};

use crate::auth::{PasswordHashing, TokenKeys};
use crate::config::Config;
use crate::metrics::Metrics;

/// The last integrity check and when it ran.
pub type IntegrityCache = Arc<
    tokio::sync::Mutex<
        Option<(
            chrono::DateTime<chrono::Utc>,
            taquilla_store::model::IntegrityReport,
        )>,
    >,
>;

/// The state every handler and middleware receives. Each stateful middleware
/// and extractor clones it, so it is one `Arc`: a clone is a reference-count
/// increment, not a copy of the token keys and a dozen `Arc`s.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The services, keys and caches behind `AppState`.
pub struct AppStateInner {
    pub integrity: IntegrityCache,
    /// Tenants' ticket-signing keys, read once per process: a key never changes.
    pub signing_keys: Arc<RwLock<HashMap<Uuid, Arc<Vec<u8>>>>>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub tokens: TokenKeys,
    pub passwords: PasswordHashing,
    pub jobs: crate::jobs::SharedJobStatus,
    /// Wakes the issuing job when a document is queued for an external adapter.
    pub issuing: Arc<tokio::sync::Notify>,
    /// Adapters of series with external issuing, built on first use.
    pub issuing_adapters: Arc<crate::issuing::job::Adapters>,
    /// Read cache of availability, stages and the catalogue; never decides a sale.
    pub cache: Arc<crate::cache::Cache>,
    /// The shared Redis connection when REDIS_URL is set.
    pub redis: Option<crate::redis_client::Redis>,
    /// Per-user, per-IP and login rate limits, shared through Redis when it is set.
    pub rate_limiter: Arc<crate::rate_limit::RateLimiter>,
    /// Recent requests with their store calls, filled only when request profiling is enabled.
    pub profiles: Arc<crate::profiling::RequestProfiles>,
}

impl AppStateInner {
    /// Returns a tenant's ticket-signing key, from memory after the first read.
    pub async fn signing_key(&self, tenant_id: Uuid) -> StoreResult<Arc<Vec<u8>>> {
        if let Some(key) = self
            .signing_keys
            .read()
            .expect("signing key cache lock")
            .get(&tenant_id)
        {
            return Ok(key.clone());
        }
        let key = Arc::new(self.store.tenant_signing_key(tenant_id).await?);
        self.signing_keys
            .write()
            .expect("signing key cache lock")
            .insert(tenant_id, key.clone());
        Ok(key)
    }
}
