//! Request profiling: with PERFORMANCE_MONITORING_ENABLE_REQUEST_PROFILING set,
//! each request records its store calls (operation, table and duration) and
//! this instance keeps the last [`RequestProfiles::WINDOW`] requests in memory
//! for the admin profiling endpoints.
//!
//! A profile contains only the method, route template, status, timings, ids and
//! store operation names. Request and response bodies, query strings, bound SQL
//! values and headers other than `x-request-id` are never recorded.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Store operations kept per request. Later ones still count in `query_count`
/// and `database_ms`, and the profile sets `operations_truncated`.
pub const MAX_OPERATIONS_PER_REQUEST: usize = 100;

/// Maximum length of a stored request id, in bytes, because a client may send
/// its own `x-request-id`.
const MAX_REQUEST_ID_BYTES: usize = 100;

/// Route templates of the profiling endpoints, which are not profiled
/// themselves so that reading the list does not push requests out of it.
const UNPROFILED_ROUTES: [&str; 2] = ["/api/v1/admin/profiling/requests", "/admin/profiling"];

tokio::task_local! {
    /// The collector of the request that the current task is serving.
    static CURRENT_PROFILE: Arc<ProfileCollector>;
}

/// One store call of a profiled request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfiledOperation {
    /// The store method, for example `add_payment`.
    pub operation: &'static str,
    /// The table the operation mainly touches, for example `payments`.
    pub table: &'static str,
    pub duration_ms: f64,
}

/// The store calls and caller of one request, gathered while it runs.
#[derive(Debug, Default)]
pub struct CollectedProfile {
    pub query_count: u64,
    pub database_time: Duration,
    pub operations: Vec<ProfiledOperation>,
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
}

#[derive(Default)]
struct ProfileCollector {
    profile: Mutex<CollectedProfile>,
}

impl ProfileCollector {
    fn lock(&self) -> std::sync::MutexGuard<'_, CollectedProfile> {
        // A panic while the lock is held cannot leave the counters inconsistent.
        self.profile
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Checks whether requests to `route` (a route template) are profiled.
pub fn is_profiled_route(route: &str) -> bool {
    !UNPROFILED_ROUTES.contains(&route)
}

/// Runs `future` with a fresh collector and returns its output with the store
/// calls it made.
///
/// Store calls made in tasks that `future` spawns (`tokio::spawn`) run outside
/// the task-local collector, so they are not counted.
pub async fn collect<F: Future>(future: F) -> (F::Output, CollectedProfile) {
    let collector = Arc::new(ProfileCollector::default());
    let output = CURRENT_PROFILE.scope(collector.clone(), future).await;
    let profile = std::mem::take(&mut *collector.lock());
    (output, profile)
}

/// Adds a finished store call to the current request's profile. Does nothing
/// outside [`collect`], for example when profiling is disabled.
pub fn record_query(operation: &'static str, table: &'static str, duration: Duration) {
    let _ = CURRENT_PROFILE.try_with(|collector| {
        let mut profile = collector.lock();
        profile.query_count += 1;
        profile.database_time += duration;
        if profile.operations.len() < MAX_OPERATIONS_PER_REQUEST {
            profile.operations.push(ProfiledOperation {
                operation,
                table,
                duration_ms: milliseconds(duration),
            });
        }
    });
}

/// Records the authenticated caller in the current request's profile. Does
/// nothing outside [`collect`].
pub fn record_caller(tenant_id: Option<Uuid>, user_id: Uuid) {
    let _ = CURRENT_PROFILE.try_with(|collector| {
        let mut profile = collector.lock();
        profile.tenant_id = tenant_id;
        profile.user_id = Some(user_id);
    });
}

/// One served request with its database work.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestProfile {
    /// The `x-request-id` of the request, also in its access log line.
    pub request_id: String,
    pub started_at: DateTime<Utc>,
    pub method: String,
    /// The route template, for example `/api/v1/orders/{id}/payments`, or
    /// `unmatched`, never the raw path.
    pub route: String,
    pub status: u16,
    pub duration_ms: f64,
    /// The caller's tenant, empty before authentication and for a platform
    /// admin who did not send `X-Tenant-Id`.
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// Store calls made by the request. One store call runs one SQL statement
    /// or one transaction of several statements.
    pub query_count: u64,
    /// Sum of the store calls' durations, so calls that overlap are each
    /// counted in full.
    pub database_ms: f64,
    /// Store calls in the order they finished, at most 100.
    pub operations: Vec<ProfiledOperation>,
    /// Whether the request made more store calls than `operations` lists.
    pub operations_truncated: bool,
}

/// The measurements of a request that the `observe` middleware takes, apart from its store calls.
pub struct ServedRequest<'a> {
    pub request_id: &'a str,
    pub started_at: DateTime<Utc>,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration: Duration,
}

impl RequestProfile {
    pub fn new(request: ServedRequest<'_>, collected: CollectedProfile) -> Self {
        let operations_truncated = collected.query_count > collected.operations.len() as u64;
        Self {
            request_id: truncate(request.request_id, MAX_REQUEST_ID_BYTES).to_string(),
            started_at: request.started_at,
            method: request.method.to_string(),
            route: request.route.to_string(),
            status: request.status,
            duration_ms: milliseconds(request.duration),
            tenant_id: collected.tenant_id,
            user_id: collected.user_id,
            query_count: collected.query_count,
            database_ms: milliseconds(collected.database_time),
            operations: collected.operations,
            operations_truncated,
        }
    }
}

/// Scope of the recorded requests that a caller may list.
#[derive(Debug, Clone, Copy)]
pub enum TenantFilter {
    /// Every request, including those without a tenant (platform admins only).
    All,
    /// Only requests authenticated for this tenant.
    Tenant(Uuid),
}

/// The last [`Self::WINDOW`] profiled requests of this instance, oldest first.
/// They are kept in memory only, so a restart empties the list and each replica
/// has its own.
#[derive(Default)]
pub struct RequestProfiles {
    recent: Mutex<VecDeque<Arc<RequestProfile>>>,
}

impl RequestProfiles {
    /// Number of most recent requests kept.
    pub const WINDOW: usize = 1_000;
    /// Maximum number of requests one listing returns.
    pub const MAX_LISTED: usize = 50;

    /// Adds a finished request, dropping the oldest once the window is full.
    pub fn push(&self, profile: RequestProfile) {
        let mut recent = self.lock();
        if recent.len() == Self::WINDOW {
            recent.pop_front();
        }
        recent.push_back(Arc::new(profile));
    }

    /// Returns up to `limit` of the kept requests that pass `filter`, slowest first.
    pub fn slowest(&self, filter: TenantFilter, limit: usize) -> Vec<Arc<RequestProfile>> {
        let mut matching: Vec<Arc<RequestProfile>> = self
            .lock()
            .iter()
            .filter(|profile| match filter {
                TenantFilter::All => true,
                TenantFilter::Tenant(tenant_id) => profile.tenant_id == Some(tenant_id),
            })
            .cloned()
            .collect();
        matching.sort_by(|left, right| right.duration_ms.total_cmp(&left.duration_ms));
        matching.truncate(limit);
        matching
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<RequestProfile>>> {
        // Each operation on the queue completes before the lock is released,
        // so a poisoned lock still holds a valid queue.
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Returns the longest prefix of `text` of at most `max_bytes` bytes that ends
/// on a character boundary.
fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(duration_ms: u64, tenant_id: Option<Uuid>) -> RequestProfile {
        RequestProfile::new(
            ServedRequest {
                request_id: "id",
                started_at: Utc::now(),
                method: "GET",
                route: "/api/v1/events",
                status: 200,
                duration: Duration::from_millis(duration_ms),
            },
            CollectedProfile {
                tenant_id,
                ..CollectedProfile::default()
            },
        )
    }

    #[tokio::test]
    async fn collect_records_calls_inside_scope_only() {
        record_query("get_event", "events", Duration::from_millis(1));
        let tenant_id = Uuid::now_v7();
        let user_id = Uuid::now_v7();

        let ((), collected) = collect(async {
            record_caller(Some(tenant_id), user_id);
            record_query("get_event", "events", Duration::from_millis(2));
            record_query("add_payment", "payments", Duration::from_millis(3));
            tokio::spawn(async {
                record_query("spawned", "none", Duration::from_millis(4));
            })
            .await
            .unwrap();
        })
        .await;

        assert_eq!(collected.query_count, 2);
        assert_eq!(collected.database_time, Duration::from_millis(5));
        let names: Vec<&str> = collected
            .operations
            .iter()
            .map(|operation| operation.operation)
            .collect();
        assert_eq!(names, ["get_event", "add_payment"]);
        assert_eq!(collected.tenant_id, Some(tenant_id));
        assert_eq!(collected.user_id, Some(user_id));
    }

    #[tokio::test]
    async fn collect_truncates_long_operation_lists() {
        let extra = 5;
        let ((), collected) = collect(async {
            for _ in 0..MAX_OPERATIONS_PER_REQUEST + extra {
                record_query("get_event", "events", Duration::from_micros(10));
            }
        })
        .await;
        let request = ServedRequest {
            request_id: "id",
            started_at: Utc::now(),
            method: "GET",
            route: "/api/v1/events",
            status: 200,
            duration: Duration::from_millis(1),
        };

        let profile = RequestProfile::new(request, collected);

        assert_eq!(
            profile.query_count,
            (MAX_OPERATIONS_PER_REQUEST + extra) as u64
        );
        assert_eq!(profile.operations.len(), MAX_OPERATIONS_PER_REQUEST);
        assert!(profile.operations_truncated);
    }

    #[test]
    fn slowest_sorts_filters_and_limits() {
        let profiles = RequestProfiles::default();
        let tenant_a = Uuid::now_v7();
        let tenant_b = Uuid::now_v7();
        profiles.push(profile(5, Some(tenant_a)));
        profiles.push(profile(30, Some(tenant_b)));
        profiles.push(profile(20, Some(tenant_a)));
        profiles.push(profile(10, None));

        let all: Vec<f64> = profiles
            .slowest(TenantFilter::All, 3)
            .iter()
            .map(|profile| profile.duration_ms)
            .collect();
        let only_a: Vec<f64> = profiles
            .slowest(TenantFilter::Tenant(tenant_a), 10)
            .iter()
            .map(|profile| profile.duration_ms)
            .collect();

        assert_eq!(all, [30.0, 20.0, 10.0]);
        assert_eq!(only_a, [20.0, 5.0]);
    }

    #[test]
    fn push_drops_oldest_beyond_window() {
        let profiles = RequestProfiles::default();
        profiles.push(profile(1_000, None));
        for _ in 0..RequestProfiles::WINDOW {
            profiles.push(profile(1, None));
        }

        let slowest = profiles.slowest(TenantFilter::All, 1);

        assert_eq!(slowest[0].duration_ms, 1.0);
        assert_eq!(profiles.lock().len(), RequestProfiles::WINDOW);
    }

    #[test]
    fn truncate_keeps_character_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("añb", 2), "a");
        assert_eq!(truncate("añb", 3), "añ");
    }
}
