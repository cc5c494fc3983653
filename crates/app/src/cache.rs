//! Read cache for what box offices and buyers read most: zone availability
//! (seat maps), the current price stages and the event catalogue.
//!
//! The cache never decides a sale: holds and orders lock and re-check in the
//! database. It only spares the database repeated reads, and everything in it
//! is scoped by tenant.
//!
//! Entries live in groups that are invalidated together: one event's
//! (availability of its zones, its current stages) or a tenant's catalogue.
//! Each handler that changes what a group shows invalidates it after its
//! transaction commits. A group has an epoch: a load first reads the epoch,
//! and its result is stored only if the epoch is still current, so a read that
//! raced a sale never stores the response from before the sale. Entries also
//! expire after `TAQUILLA_CACHE_TTL_SECONDS`, which bounds how stale a
//! time-driven change (a hold reaching its expiry, a stage reaching its end
//! date) can look.
//!
//! Concurrent misses of one entry under one epoch share a single load: when
//! an entry expires under 64 readers, the database reads the seat map once,
//! not 64 times. A reader that joins a load gets the value a hit under that
//! epoch would return, so sharing costs no freshness.
//!
//! Two backends: process memory (moka) when `REDIS_URL` is not set, and Redis,
//! shared by every instance, so an invalidation on one is seen by all. When
//! Redis fails, reads go to the database and a warning is logged at most once
//! a minute; selling never waits for the cache.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use prometheus::IntCounterVec;
use redis::AsyncCommands;
use uuid::Uuid;

use crate::redis_client::Redis;

/// Scope of a group of entries that are invalidated together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One event: its zones' availability and its current price stages.
    Event(Uuid),
    /// The tenant's event catalogue: the event list and each event.
    Catalogue,
}

/// A tenant's group of entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Group {
    pub tenant_id: Uuid,
    pub scope: Scope,
}

impl Group {
    pub fn event(tenant_id: Uuid, event_id: Uuid) -> Self {
        Self {
            tenant_id,
            scope: Scope::Event(event_id),
        }
    }

    pub fn catalogue(tenant_id: Uuid) -> Self {
        Self {
            tenant_id,
            scope: Scope::Catalogue,
        }
    }

    /// Returns the group's key, with the tenant always first.
    fn key(&self) -> String {
        match self.scope {
            Scope::Event(event_id) => format!("cache:{}:event:{event_id}", self.tenant_id),
            Scope::Catalogue => format!("cache:{}:catalogue", self.tenant_id),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cache backend failed: {0}")]
pub struct CacheError(String);

impl From<redis::RedisError> for CacheError {
    fn from(error: redis::RedisError) -> Self {
        Self(error.to_string())
    }
}

/// Counts of what a backend stores now.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct BackendStats {
    /// Groups with a current epoch.
    pub groups: u64,
    /// Entries stored (in memory, including entries of invalidated groups not yet evicted).
    pub entries: u64,
    /// Bytes of stored values, where the backend reports them.
    pub bytes: Option<u64>,
}

/// Storage of the entries. Values are opaque bytes: the JSON body of a handler's response.
#[async_trait]
pub trait CacheBackend: Send + Sync {
    /// `memory` or `redis`.
    fn kind(&self) -> &'static str;
    async fn get(&self, group: &str, field: &str) -> Result<Option<Bytes>, CacheError>;
    /// Returns the group's current epoch, starting one if the group has none.
    async fn epoch(&self, group: &str) -> Result<String, CacheError>;
    /// Stores `value` if `epoch` is still the group's epoch; returns whether it did.
    async fn put(
        &self,
        group: &str,
        epoch: &str,
        field: &str,
        value: Bytes,
    ) -> Result<bool, CacheError>;
    /// Ends the group's epoch: its entries are no longer read.
    async fn invalidate(&self, group: &str) -> Result<(), CacheError>;
    /// Drops every group; returns how many there were.
    async fn clear(&self) -> Result<u64, CacheError>;
    async fn stats(&self) -> Result<BackendStats, CacheError>;
}

/// Entries in this process's memory, bounded by total size in bytes.
pub struct MemoryBackend {
    epochs: moka::future::Cache<String, u64>,
    entries: moka::future::Cache<(String, u64, String), Bytes>,
    next_epoch: AtomicU64,
}

impl MemoryBackend {
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        Self {
            epochs: moka::future::Cache::builder().time_to_live(ttl).build(),
            entries: moka::future::Cache::builder()
                .time_to_live(ttl)
                .max_capacity(max_bytes)
                .weigher(|key: &(String, u64, String), value: &Bytes| {
                    let size = key.0.len() + key.2.len() + value.len() + 64;
                    u32::try_from(size).unwrap_or(u32::MAX)
                })
                .build(),
            next_epoch: AtomicU64::new(1),
        }
    }
}

#[async_trait]
impl CacheBackend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, group: &str, field: &str) -> Result<Option<Bytes>, CacheError> {
        let Some(epoch) = self.epochs.get(group).await else {
            return Ok(None);
        };
        Ok(self
            .entries
            .get(&(group.to_string(), epoch, field.to_string()))
            .await)
    }

    async fn epoch(&self, group: &str) -> Result<String, CacheError> {
        let epoch = self
            .epochs
            .get_with(group.to_string(), async {
                self.next_epoch.fetch_add(1, Ordering::Relaxed)
            })
            .await;
        Ok(epoch.to_string())
    }

    async fn put(
        &self,
        group: &str,
        epoch: &str,
        field: &str,
        value: Bytes,
    ) -> Result<bool, CacheError> {
        let Ok(epoch) = epoch.parse::<u64>() else {
            return Ok(false);
        };
        if self.epochs.get(group).await != Some(epoch) {
            return Ok(false);
        }
        // An invalidation between the check and the insert leaves the entry
        // under an epoch no reader asks for; it ages out.
        self.entries
            .insert((group.to_string(), epoch, field.to_string()), value)
            .await;
        Ok(true)
    }

    async fn invalidate(&self, group: &str) -> Result<(), CacheError> {
        self.epochs.invalidate(group).await;
        Ok(())
    }

    async fn clear(&self) -> Result<u64, CacheError> {
        self.epochs.run_pending_tasks().await;
        let groups = self.epochs.entry_count();
        self.epochs.invalidate_all();
        self.entries.invalidate_all();
        self.epochs.run_pending_tasks().await;
        self.entries.run_pending_tasks().await;
        Ok(groups)
    }

    async fn stats(&self) -> Result<BackendStats, CacheError> {
        self.epochs.run_pending_tasks().await;
        self.entries.run_pending_tasks().await;
        Ok(BackendStats {
            groups: self.epochs.entry_count(),
            entries: self.entries.entry_count(),
            bytes: Some(self.entries.weighted_size()),
        })
    }
}

/// Returns the group's epoch (field `_epoch` of the group's hash), starting one (with the group's expiry) when it has none.
const EPOCH_SCRIPT: &str = r"
local epoch = redis.call('HGET', KEYS[1], '_epoch')
if epoch then return epoch end
redis.call('HSET', KEYS[1], '_epoch', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return ARGV[1]
";

/// Stores a field only while the group's epoch is the one the load started under.
const PUT_SCRIPT: &str = r"
if redis.call('HGET', KEYS[1], '_epoch') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
";

/// Escapes the characters that SCAN MATCH reads as a pattern.
fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\' | '^') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Entries in Redis, one hash per group, shared by every instance.
pub struct RedisBackend {
    redis: Redis,
    ttl: Duration,
    epoch_script: redis::Script,
    put_script: redis::Script,
}

impl RedisBackend {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self {
            redis,
            ttl,
            epoch_script: redis::Script::new(EPOCH_SCRIPT),
            put_script: redis::Script::new(PUT_SCRIPT),
        }
    }

    /// Keys of every group of this deployment: hashes under the prefix,
    /// matched literally, so keys of other programs are left alone.
    async fn group_keys(&self) -> Result<Vec<String>, CacheError> {
        let mut connection = self.redis.connection();
        let pattern = format!("{}*", escape_glob(&self.redis.key("cache:")));
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .arg("TYPE")
                .arg("hash")
                .query_async(&mut connection)
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }
}

#[async_trait]
impl CacheBackend for RedisBackend {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, group: &str, field: &str) -> Result<Option<Bytes>, CacheError> {
        let mut connection = self.redis.connection();
        let value: Option<Vec<u8>> = connection.hget(self.redis.key(group), field).await?;
        Ok(value.map(Bytes::from))
    }

    async fn epoch(&self, group: &str) -> Result<String, CacheError> {
        let mut connection = self.redis.connection();
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let epoch: String = self
            .epoch_script
            .key(self.redis.key(group))
            .arg(Uuid::new_v4().simple().to_string())
            .arg(ttl_ms)
            .invoke_async(&mut connection)
            .await?;
        Ok(epoch)
    }

    async fn put(
        &self,
        group: &str,
        epoch: &str,
        field: &str,
        value: Bytes,
    ) -> Result<bool, CacheError> {
        let mut connection = self.redis.connection();
        let stored: i64 = self
            .put_script
            .key(self.redis.key(group))
            .arg(epoch)
            .arg(field)
            .arg(value.as_ref())
            .invoke_async(&mut connection)
            .await?;
        Ok(stored == 1)
    }

    async fn invalidate(&self, group: &str) -> Result<(), CacheError> {
        let mut connection = self.redis.connection();
        let _: i64 = connection.del(self.redis.key(group)).await?;
        Ok(())
    }

    async fn clear(&self) -> Result<u64, CacheError> {
        let keys = self.group_keys().await?;
        let mut connection = self.redis.connection();
        for chunk in keys.chunks(500) {
            let _: i64 = redis::cmd("UNLINK")
                .arg(chunk)
                .query_async(&mut connection)
                .await?;
        }
        Ok(keys.len() as u64)
    }

    async fn stats(&self) -> Result<BackendStats, CacheError> {
        let keys = self.group_keys().await?;
        let mut connection = self.redis.connection();
        let mut entries = 0u64;
        for key in &keys {
            let fields: u64 = connection.hlen(key).await?;
            // The epoch field is bookkeeping, not an entry.
            entries += fields.saturating_sub(1);
        }
        Ok(BackendStats {
            groups: keys.len() as u64,
            entries,
            bytes: None,
        })
    }
}

/// Field of a zone's availability in its event's group.
pub fn availability_field(zone_id: Uuid) -> String {
    format!("zone:{zone_id}:availability")
}

/// Field of an event's current stages in its group.
pub const CURRENT_STAGES_FIELD: &str = "stages:current";

/// Field of one event in the tenant's catalogue group.
pub fn event_field(event_id: Uuid) -> String {
    format!("event:{event_id}")
}

/// Counts of what [`warm_tenant`] loaded.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WarmCounts {
    pub events: u64,
    pub zones: u64,
}

/// Loads the availability of every zone of a tenant's active events (or of
/// `only_event`, whatever its status), and each such event, into the cache.
/// Entries already there are kept.
pub async fn warm_tenant(
    state: &crate::state::AppState,
    tenant_id: Uuid,
    only_event: Option<Uuid>,
) -> taquilla_store::StoreResult<WarmCounts> {
    use taquilla_store::model::{Page, PageRequest};

    let mut counts = WarmCounts::default();
    let mut after = None;
    loop {
        let page = match only_event {
            Some(event_id) => Page {
                items: vec![state.store.get_event(tenant_id, event_id).await?],
                next_cursor: None,
            },
            None => {
                state
                    .store
                    .list_events(tenant_id, PageRequest { limit: 200, after })
                    .await?
            }
        };
        let wanted = |status: &str| only_event.is_some() || status == "active";
        for event in page.items.iter().filter(|event| wanted(&event.status)) {
            let catalogue = Group::catalogue(tenant_id);
            state
                .cache
                .get_or_load(catalogue, &event_field(event.id), || async {
                    json_bytes(event)
                })
                .await?;
            counts.events += 1;
            let group = Group::event(tenant_id, event.id);
            for zone in crate::http::catalogue::all_zones(state, tenant_id, event.id).await? {
                state
                    .cache
                    .remember_zone_event(tenant_id, zone.id, event.id);
                state
                    .cache
                    .get_or_load(group, &availability_field(zone.id), || async {
                        json_bytes(&state.store.zone_availability(tenant_id, zone.id).await?)
                    })
                    .await?;
                counts.zones += 1;
            }
        }
        after = page.items.last().map(|event| event.id);
        if page.next_cursor.is_none() {
            return Ok(counts);
        }
    }
}

/// Serialises `value` as the JSON body a handler responds with.
pub fn json_bytes<T: serde::Serialize>(value: &T) -> taquilla_store::StoreResult<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|error| taquilla_store::StoreError::Internal(error.to_string()))
}

/// Prefixes a value with the time (Unix milliseconds, application clock) it
/// stops being served.
fn stamp(value: &Bytes, valid_until_ms: i64) -> Bytes {
    let mut stored = Vec::with_capacity(8 + value.len());
    stored.extend_from_slice(&valid_until_ms.to_be_bytes());
    stored.extend_from_slice(value);
    Bytes::from(stored)
}

/// Returns the value of a stamped entry if it is still valid at `now_ms`.
fn fresh_value(stored: &Bytes, now_ms: i64) -> Option<Bytes> {
    let stamp: [u8; 8] = stored.get(..8)?.try_into().ok()?;
    (now_ms < i64::from_be_bytes(stamp)).then(|| stored.slice(8..))
}

/// How long the backend is bypassed after it failed.
const BYPASS_MILLISECONDS: i64 = 5_000;

/// Seconds between two "cache unavailable" warnings.
const WARNING_INTERVAL_SECONDS: i64 = 60;

/// The cache as handlers use it: typed by group, counted in
/// `venezuelan_pos_cache_operations_total`, and never failing a request.
pub struct Cache {
    backend: Arc<dyn CacheBackend>,
    /// The application's clock: an entry is stale once it shows so, whatever
    /// the backend's own expiry, so tests that move the clock see it too.
    clock: Arc<dyn taquilla_store::Clock>,
    ttl: chrono::Duration,
    operations: IntCounterVec,
    /// Unix time of the last "cache unavailable" warning.
    last_warning: AtomicI64,
    /// Until this Unix time in milliseconds, after a backend failure, the
    /// backend is not asked at all, so a Redis that is down costs one slow
    /// call every few seconds rather than one per request.
    bypass_until_ms: AtomicI64,
    /// Zones never move to another event, so this map is never invalidated.
    zone_events: moka::sync::Cache<(Uuid, Uuid), Uuid>,
    /// Loads in progress, by group key, epoch and field.
    loads: Loads,
}

/// Group key, epoch and field of a load in progress.
type LoadKey = (String, String, String);

/// Loads in progress, each a cell its readers wait on.
type Loads = Mutex<HashMap<LoadKey, Arc<tokio::sync::OnceCell<Bytes>>>>;

/// One reader's share of a load. The last reader to leave an unfinished
/// load, or the first to leave a finished one, removes it from the map, so a
/// later miss starts a new load.
struct SharedLoad<'a> {
    loads: &'a Loads,
    key: LoadKey,
    cell: Option<Arc<tokio::sync::OnceCell<Bytes>>>,
}

impl<'a> SharedLoad<'a> {
    fn join(loads: &'a Loads, key: LoadKey) -> Self {
        let cell = loads
            .lock()
            .expect("cache loads lock")
            .entry(key.clone())
            .or_default()
            .clone();
        Self {
            loads,
            key,
            cell: Some(cell),
        }
    }

    fn cell(&self) -> &tokio::sync::OnceCell<Bytes> {
        self.cell.as_ref().expect("cell is taken only on drop")
    }
}

impl Drop for SharedLoad<'_> {
    fn drop(&mut self) {
        let Some(cell) = self.cell.take() else {
            return;
        };
        let mut loads = self.loads.lock().expect("cache loads lock");
        let current = loads
            .get(&self.key)
            .is_some_and(|stored| Arc::ptr_eq(stored, &cell));
        // Two references: the map's and this reader's. The count is exact
        // because every clone and every drop of a shared cell happens under the lock.
        if current && (cell.initialized() || Arc::strong_count(&cell) == 2) {
            loads.remove(&self.key);
        }
        drop(cell);
    }
}

impl Cache {
    pub fn new(
        backend: Arc<dyn CacheBackend>,
        operations: IntCounterVec,
        clock: Arc<dyn taquilla_store::Clock>,
        ttl: Duration,
    ) -> Self {
        Self {
            backend,
            clock,
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(5)),
            operations,
            last_warning: AtomicI64::new(0),
            bypass_until_ms: AtomicI64::new(0),
            zone_events: moka::sync::Cache::new(100_000),
            loads: Mutex::default(),
        }
    }

    /// Memory or Redis, as configured.
    pub fn from_config(
        config: &crate::config::Config,
        redis: Option<&Redis>,
        operations: IntCounterVec,
        clock: Arc<dyn taquilla_store::Clock>,
    ) -> Self {
        let ttl = Duration::from_secs(config.cache_ttl_seconds);
        let backend: Arc<dyn CacheBackend> = match redis {
            Some(redis) => Arc::new(RedisBackend::new(redis.clone(), ttl)),
            None => Arc::new(MemoryBackend::new(
                ttl,
                config.cache_max_mib.saturating_mul(1024 * 1024),
            )),
        };
        Self::new(backend, operations, clock, ttl)
    }

    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    pub fn backend(&self) -> &dyn CacheBackend {
        self.backend.as_ref()
    }

    /// Returns the cached value of `field` in `group`, or loads it, answers
    /// with it and stores it. A backend failure only costs the cache.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        group: Group,
        field: &str,
        load: F,
    ) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if self.bypassed() {
            self.count("get", "error");
            return load().await;
        }
        let key = group.key();
        let now = self.clock.now().timestamp_millis();
        match self.backend.get(&key, field).await {
            Ok(Some(stored)) => match fresh_value(&stored, now) {
                Some(value) => {
                    self.count("get", "hit");
                    return Ok(value);
                }
                None => self.count("get", "miss"),
            },
            Ok(None) => self.count("get", "miss"),
            Err(error) => {
                self.count("get", "error");
                self.warn(&error);
                return load().await;
            }
        }
        let epoch = match self.backend.epoch(&key).await {
            Ok(epoch) => epoch,
            Err(error) => {
                self.warn(&error);
                let value = load().await?;
                self.count("set", "error");
                return Ok(value);
            }
        };
        let shared = SharedLoad::join(&self.loads, (key, epoch, field.to_string()));
        let mut loaded_here = false;
        let value = shared
            .cell()
            .get_or_try_init(|| {
                loaded_here = true;
                load()
            })
            .await?
            .clone();
        if !loaded_here {
            return Ok(value);
        }
        let (key, epoch, field) = &shared.key;
        match self
            .backend
            .put(
                key,
                epoch,
                field,
                stamp(&value, now + self.ttl.num_milliseconds()),
            )
            .await
        {
            Ok(true) => self.count("set", "ok"),
            Ok(false) => self.count("set", "skipped"),
            Err(error) => {
                self.count("set", "error");
                self.warn(&error);
            }
        }
        Ok(value)
    }

    /// Ends a group after a change to what it shows. Call it after the change commits.
    pub async fn invalidate(&self, group: Group) {
        if self.bypassed() {
            // Entries this instance cannot reach end by their time.
            self.count("invalidate", "error");
            return;
        }
        match self.backend.invalidate(&group.key()).await {
            Ok(()) => self.count("invalidate", "ok"),
            Err(error) => {
                self.count("invalidate", "error");
                self.warn(&error);
            }
        }
    }

    /// Ends an event's group after a sale, hold, release, void or price change.
    pub async fn invalidate_event(&self, tenant_id: Uuid, event_id: Uuid) {
        self.invalidate(Group::event(tenant_id, event_id)).await;
    }

    /// Ends the tenant's catalogue and, when given, one event's group, after
    /// an edit of an event or its zones.
    pub async fn invalidate_catalogue(&self, tenant_id: Uuid, event_id: Option<Uuid>) {
        self.invalidate(Group::catalogue(tenant_id)).await;
        if let Some(event_id) = event_id {
            self.invalidate_event(tenant_id, event_id).await;
        }
    }

    /// Returns the event a zone belongs to, if this process has seen it.
    pub fn zone_event(&self, tenant_id: Uuid, zone_id: Uuid) -> Option<Uuid> {
        self.zone_events.get(&(tenant_id, zone_id))
    }

    pub fn remember_zone_event(&self, tenant_id: Uuid, zone_id: Uuid, event_id: Uuid) {
        self.zone_events.insert((tenant_id, zone_id), event_id);
    }

    fn count(&self, operation: &str, result: &str) {
        self.operations
            .with_label_values(&[operation, result])
            .inc();
    }

    /// Whether the backend failed in the last [`BYPASS_MILLISECONDS`].
    fn bypassed(&self) -> bool {
        chrono::Utc::now().timestamp_millis() < self.bypass_until_ms.load(Ordering::Relaxed)
    }

    /// Logs a backend failure, at most once a minute, and bypasses the
    /// backend for the next [`BYPASS_MILLISECONDS`].
    fn warn(&self, error: &CacheError) {
        self.bypass_until_ms.store(
            chrono::Utc::now().timestamp_millis() + BYPASS_MILLISECONDS,
            Ordering::Relaxed,
        );
        let now = chrono::Utc::now().timestamp();
        let last = self.last_warning.load(Ordering::Relaxed);
        if now - last >= WARNING_INTERVAL_SECONDS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                event = "cache_unavailable",
                cache.kind = self.backend.kind(),
                error = %error,
                "cache backend failed; reading from the database"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_cache() -> Cache {
        Cache::new(
            Arc::new(MemoryBackend::new(Duration::from_secs(60), 1 << 20)),
            IntCounterVec::new(
                prometheus::Opts::new("ops", "ops"),
                &["operation", "result"],
            )
            .unwrap(),
            Arc::new(taquilla_store::SystemClock),
            Duration::from_secs(60),
        )
    }

    #[tokio::test]
    async fn load_racing_invalidation_is_not_stored() {
        let cache = memory_cache();
        let group = Group::event(Uuid::now_v7(), Uuid::now_v7());
        let value = cache
            .get_or_load(group, "zone", || async {
                // A sale commits and invalidates while this load reads the old state.
                cache.invalidate(group).await;
                Ok::<_, ()>(Bytes::from_static(b"before the sale"))
            })
            .await
            .unwrap();
        assert_eq!(value, Bytes::from_static(b"before the sale"));
        assert_eq!(
            cache
                .operations
                .with_label_values(&["set", "skipped"])
                .get(),
            1
        );

        let value = cache
            .get_or_load(group, "zone", || async {
                Ok::<_, ()>(Bytes::from_static(b"after the sale"))
            })
            .await
            .unwrap();
        assert_eq!(value, Bytes::from_static(b"after the sale"));
        let cached = cache
            .get_or_load(group, "zone", || async { Err::<Bytes, _>("not called") })
            .await
            .unwrap();
        assert_eq!(cached, Bytes::from_static(b"after the sale"));
        assert_eq!(cache.operations.with_label_values(&["get", "hit"]).get(), 1);
    }

    /// Returns once `calls` shows that a load has started.
    async fn first_call(calls: &AtomicU64) {
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    }

    /// A load that counts its calls, waits for `release` and returns `text`.
    async fn counted_load(
        calls: &AtomicU64,
        release: &tokio::sync::Notify,
        text: &'static str,
    ) -> Result<Bytes, &'static str> {
        calls.fetch_add(1, Ordering::SeqCst);
        release.notified().await;
        Ok(Bytes::from(text))
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_load() {
        let cache = memory_cache();
        let group = Group::event(Uuid::now_v7(), Uuid::now_v7());
        let calls = AtomicU64::new(0);
        let release = tokio::sync::Notify::new();
        let read = || cache.get_or_load(group, "zone", || counted_load(&calls, &release, "map"));
        let releaser = async {
            // A few more yields after the load starts, so every reader waits on it.
            first_call(&calls).await;
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            release.notify_waiters();
        };
        let (first, second, third, fourth, ()) =
            tokio::join!(read(), read(), read(), read(), releaser);
        for value in [first, second, third, fourth] {
            assert_eq!(value.unwrap(), Bytes::from("map"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.operations.with_label_values(&["set", "ok"]).get(), 1);
        assert!(cache.loads.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn miss_after_invalidation_loads_again() {
        let cache = memory_cache();
        let group = Group::event(Uuid::now_v7(), Uuid::now_v7());
        let calls = AtomicU64::new(0);
        let release = tokio::sync::Notify::new();
        let before = cache.get_or_load(group, "zone", || counted_load(&calls, &release, "before"));
        let after = async {
            first_call(&calls).await;
            // A sale commits and invalidates while the first load reads.
            cache.invalidate(group).await;
            let value = cache
                .get_or_load(group, "zone", || async {
                    Ok::<_, &str>(Bytes::from("after"))
                })
                .await;
            release.notify_waiters();
            value
        };
        let (before, after) = tokio::join!(before, after);
        assert_eq!(before.unwrap(), Bytes::from("before"));
        assert_eq!(after.unwrap(), Bytes::from("after"));
        let cached = cache
            .get_or_load(group, "zone", || async { Err::<Bytes, _>("not called") })
            .await;
        assert_eq!(cached.unwrap(), Bytes::from("after"));
        assert!(cache.loads.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn failed_load_retried_by_waiter() {
        let cache = memory_cache();
        let group = Group::event(Uuid::now_v7(), Uuid::now_v7());
        let failing = cache.get_or_load(group, "zone", || async {
            tokio::task::yield_now().await;
            Err::<Bytes, _>("database down")
        });
        let waiting = cache.get_or_load(group, "zone", || async {
            Ok::<_, &str>(Bytes::from("map"))
        });
        let (failed, loaded) = tokio::join!(failing, waiting);
        assert_eq!(failed.unwrap_err(), "database down");
        assert_eq!(loaded.unwrap(), Bytes::from("map"));
        assert!(cache.loads.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn groups_separate_tenants_and_events() {
        let cache = memory_cache();
        let event = Uuid::now_v7();
        let ours = Group::event(Uuid::now_v7(), event);
        let theirs = Group::event(Uuid::now_v7(), event);
        for (group, text) in [(ours, "ours"), (theirs, "theirs")] {
            cache
                .get_or_load(
                    group,
                    "zone",
                    || async move { Ok::<_, ()>(Bytes::from(text)) },
                )
                .await
                .unwrap();
        }
        cache.invalidate(theirs).await;
        let read = |group| {
            cache.get_or_load(group, "zone", || async {
                Ok::<_, ()>(Bytes::from("reloaded"))
            })
        };
        assert_eq!(read(ours).await.unwrap(), Bytes::from("ours"));
        assert_eq!(read(theirs).await.unwrap(), Bytes::from("reloaded"));
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(escape_glob("break-[z]*:cache:"), "break-\\[z\\]\\*:cache:");
        assert_eq!(escape_glob("taquilla:"), "taquilla:");
    }

    #[test]
    fn stamped_value_served_until_its_time() {
        let stored = stamp(&Bytes::from("v"), 1_000);
        assert_eq!(fresh_value(&stored, 999), Some(Bytes::from("v")));
        assert_eq!(fresh_value(&stored, 1_000), None);
        assert_eq!(fresh_value(&Bytes::from("short"), 0), None);
    }

    #[tokio::test]
    async fn memory_entries_expire_after_ttl() {
        let backend = MemoryBackend::new(Duration::from_millis(50), 1 << 20);
        let epoch = backend.epoch("g").await.unwrap();
        assert!(
            backend
                .put("g", &epoch, "f", Bytes::from("v"))
                .await
                .unwrap()
        );
        assert!(backend.get("g", "f").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(backend.get("g", "f").await.unwrap().is_none());
    }
}
