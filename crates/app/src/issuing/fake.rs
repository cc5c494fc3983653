//! A fake *imprenta digital* on loopback, for tests and demos. Never use it in production:
//! it keeps documents in memory only, and its numbers have no fiscal value.
//!
//! [`spawn_fake_provider`] serves `POST /v1/documents` on `127.0.0.1` with the contract that
//! [`super::digital_printer`] expects. It checks the bearer token, numbers documents from 1
//! per series code, and assigns control numbers `00-00000001`, `00-00000002`, … across
//! all series. A repeated idempotency key returns the stored document with 200 instead of
//! issuing again. The controls on [`FakeProvider`] inject delays, rejections, outages and
//! malformed responses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::DocumentKind;

/// One document the fake provider issued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FakeDocument {
    pub idempotency_key: Uuid,
    pub series: String,
    pub kind: DocumentKind,
    pub number: i64,
    pub control_number: String,
    pub verification_url: String,
    pub issued_at: DateTime<Utc>,
    /// The `document` field of the request, as received.
    pub document: serde_json::Value,
}

/// A running fake provider. Dropping it stops the server.
pub struct FakeProvider {
    address: SocketAddr,
    state: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeProvider {
    /// Base URL to put in the digital printer configuration, for example `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the only bearer token the provider accepts.
    pub fn token(&self) -> String {
        self.state.token.clone()
    }

    /// Delays the response to the next `count` authorised requests by `duration`. The document
    /// is stored before the delay, like a server that committed and then responded late, so
    /// a client that gave up finds it on retry.
    pub fn delay_next(&self, count: u32, duration: Duration) {
        let mut controls = self.state.lock();
        controls.delays = count;
        controls.delay = duration;
    }

    /// Responds to the next `count` authorised requests with 422 and this error, storing nothing.
    pub fn reject_next(&self, count: u32, code: &str, message: &str) {
        let mut controls = self.state.lock();
        controls.rejections = count;
        controls.rejection = (code.to_string(), message.to_string());
    }

    /// Responds to the next `count` authorised requests with 503, storing nothing.
    pub fn fail_next(&self, count: u32) {
        self.state.lock().failures = count;
    }

    /// Stores the next `count` documents but responds with 200 and a body that fails validation,
    /// like a provider bug after the document was issued.
    pub fn respond_malformed_next(&self, count: u32) {
        self.state.lock().malformed = count;
    }

    /// Number of documents issued, counting each idempotency key once.
    pub fn issued_count(&self) -> usize {
        self.state.lock().documents.len()
    }

    /// Returns the documents issued, in issue order.
    pub fn documents(&self) -> Vec<FakeDocument> {
        self.state.lock().documents.clone()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts a fake provider on `127.0.0.1` at a free port.
///
/// # Panics
///
/// Panics when no loopback port can be bound; it is meant for tests and demos.
pub async fn spawn_fake_provider() -> FakeProvider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("failed to bind the fake imprenta digital to 127.0.0.1:0");
    let address = listener
        .local_addr()
        .expect("failed to read the fake imprenta digital address");
    let state = Arc::new(Shared {
        token: format!("fake-{}", Uuid::new_v4().simple()),
        base_url: format!("http://{address}"),
        inner: Mutex::new(FakeState::default()),
    });

    let router = Router::new()
        .route("/v1/documents", post(issue_document))
        .with_state(state.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(error = %error, "the fake imprenta digital stopped");
        }
    });

    FakeProvider {
        address,
        state,
        server,
    }
}

struct Shared {
    token: String,
    base_url: String,
    inner: Mutex<FakeState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Default)]
struct FakeState {
    documents: Vec<FakeDocument>,
    /// Index into `documents` per idempotency key.
    by_key: HashMap<Uuid, usize>,
    /// Last number issued per series code.
    series_numbers: HashMap<String, i64>,
    /// Last control number sequence issued.
    control_sequence: i64,
    delays: u32,
    delay: Duration,
    rejections: u32,
    rejection: (String, String),
    failures: u32,
    malformed: u32,
}

#[derive(Deserialize)]
struct IssueBody {
    idempotency_key: Uuid,
    series: String,
    kind: DocumentKind,
    document: serde_json::Value,
}

/// Outcome of a request once the controls and the store have been applied.
enum Plan {
    Respond(Response),
    Issue {
        status: StatusCode,
        document: FakeDocument,
        malformed: bool,
        delay: Option<Duration>,
    },
}

async fn issue_document(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Decide and store synchronously, before any await, so the document is kept even when
    // the client disconnects during the delay and the handler future is dropped.
    let (status, document, malformed, delay) = match plan_request(&state, &headers, &body) {
        Plan::Respond(response) => return response,
        Plan::Issue {
            status,
            document,
            malformed,
            delay,
        } => (status, document, malformed, delay),
    };

    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if malformed {
        // The control number without its dash fails the adapter's format check.
        let body = json!({
            "number": document.number,
            "control_number": document.control_number.replace('-', ""),
        });
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    let body = json!({
        "number": document.number,
        "control_number": document.control_number,
        "verification_url": document.verification_url,
        "issued_at": document.issued_at,
    });
    (status, axum::Json(body)).into_response()
}

fn plan_request(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Plan {
    let expected = format!("Bearer {}", state.token);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == expected.as_bytes());
    if !authorized {
        return Plan::Respond(error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "missing or invalid bearer token",
        ));
    }

    let mut inner = state.lock();
    if inner.failures > 0 {
        inner.failures -= 1;
        return Plan::Respond(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable",
        ));
    }
    if inner.rejections > 0 {
        inner.rejections -= 1;
        let (code, message) = inner.rejection.clone();
        return Plan::Respond(error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &code,
            &message,
        ));
    }

    let request = match parse_request(headers, body) {
        Ok(request) => request,
        Err((status, code, message)) => {
            return Plan::Respond(error_response(status, code, &message));
        }
    };
    let delay = (inner.delays > 0).then(|| {
        inner.delays -= 1;
        inner.delay
    });
    let malformed = inner.malformed > 0;
    if malformed {
        inner.malformed -= 1;
    }

    // A repeated key returns the stored document, unless the content differs.
    if let Some(&index) = inner.by_key.get(&request.idempotency_key) {
        let stored = inner.documents[index].clone();
        let same = stored.series == request.series
            && stored.kind == request.kind
            && stored.document == request.document;
        if !same {
            return Plan::Respond(error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this idempotency key was already used for a different document",
            ));
        }
        return Plan::Issue {
            status: StatusCode::OK,
            document: stored,
            malformed,
            delay,
        };
    }

    let number = {
        let last = inner
            .series_numbers
            .entry(request.series.clone())
            .or_insert(0);
        *last += 1;
        *last
    };
    inner.control_sequence += 1;
    let control_number = format!("00-{:08}", inner.control_sequence);
    let document = FakeDocument {
        idempotency_key: request.idempotency_key,
        series: request.series,
        kind: request.kind,
        number,
        verification_url: format!("{}/verify/{control_number}", state.base_url),
        control_number,
        issued_at: Utc::now(),
        document: request.document,
    };
    let index = inner.documents.len();
    inner.documents.push(document.clone());
    inner.by_key.insert(document.idempotency_key, index);

    Plan::Issue {
        status: StatusCode::CREATED,
        document,
        malformed,
        delay,
    }
}

/// Parses the body and checks that it agrees with the `Idempotency-Key` header.
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<IssueBody, RequestError> {
    let Some(header_key) = headers
        .get("Idempotency-Key")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Uuid::parse_str(value).ok())
    else {
        return Err((
            StatusCode::BAD_REQUEST,
            "missing_idempotency_key",
            "the Idempotency-Key header is missing or is not a UUID".to_string(),
        ));
    };
    let request: IssueBody = serde_json::from_slice(body).map_err(|error| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("invalid request body: {error}"),
        )
    })?;
    if request.idempotency_key != header_key {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_mismatch",
            "the Idempotency-Key header and the body's idempotency_key differ".to_string(),
        ));
    }
    if request.series.trim().is_empty() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_series",
            "the series code is empty".to_string(),
        ));
    }
    Ok(request)
}

/// Status, code and message of a request the fake provider refuses.
type RequestError = (StatusCode, &'static str, String);

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::issuing::digital_printer::{DigitalPrinterAdapter, DigitalPrinterConfig};
    use crate::issuing::test_support::request;
    use crate::issuing::{IssueError, IssuingAdapter};

    fn adapter_for(provider: &FakeProvider) -> DigitalPrinterAdapter {
        DigitalPrinterAdapter::new(DigitalPrinterConfig {
            base_url: provider.base_url(),
            api_token: provider.token(),
            timeout: Duration::from_secs(5),
        })
        .expect("valid configuration")
    }

    #[tokio::test]
    async fn fake_provider_rejects_reused_key() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider);
        let first = request("W1", DocumentKind::Invoice);
        let mut changed = first.clone();
        changed.content["total_bs_cents"] = json!(1);

        adapter.issue(&first).await.expect("issued");
        let result = adapter.issue(&changed).await;

        assert!(
            matches!(&result, Err(IssueError::Rejected { code, .. }) if code == "idempotency_key_reused"),
            "{result:?}"
        );
        assert_eq!(provider.issued_count(), 1);
    }

    #[tokio::test]
    async fn fake_provider_binds_loopback() {
        let provider = spawn_fake_provider().await;

        assert!(provider.base_url().starts_with("http://127.0.0.1:"));
    }
}
