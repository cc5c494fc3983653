//! Adapter for an authorised *imprenta digital* reached over HTTP.
//!
//! `POST {base_url}/v1/documents` with `Authorization: Bearer <token>`, an
//! `Idempotency-Key` header and the body
//! `{"idempotency_key", "series", "kind", "document"}`. A 200 or 201 returns
//! `{"number", "control_number", "verification_url"?, "issued_at"?}`.
//!
//! How each response is classified:
//!
//! | Response | Result |
//! | --- | --- |
//! | 200 or 201 with a valid body | `Ok(Issued)` |
//! | 200 or 201 with a body that fails validation | `Rejected { code: "invalid_provider_response" }` |
//! | 202 (accepted, not yet issued) | `Transient` |
//! | 401 or 403 | `Transient`, logged as an error |
//! | 408, 429, 5xx, other 1xx/3xx, timeout, connection error | `Transient` |
//! | any other 4xx | `Rejected` with the provider's `error.code` or `http_<status>` |
//!
//! The client follows no redirects, because a redirected POST would drop the body or the
//! token. Plain HTTP always works. HTTPS needs a TLS backend in reqwest: the workspace
//! enables reqwest's `rustls` feature only through sentry's `rustls` feature.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::{DocumentKind, IssueError, IssueRequest, Issued, IssuingAdapter};

/// Name the adapter reports and logs.
pub const ADAPTER_NAME: &str = "digital_printer";

/// Rejection code for a success status whose body cannot be trusted.
pub const INVALID_PROVIDER_RESPONSE: &str = "invalid_provider_response";

/// Connection settings for one imprenta digital.
#[derive(Clone)]
pub struct DigitalPrinterConfig {
    /// Base URL of the provider's API, for example `https://api.example.com`. The adapter
    /// appends `/v1/documents`.
    pub base_url: String,
    /// Bearer token that the provider issued to this taxpayer. `Debug` prints it redacted.
    pub api_token: String,
    /// Limit for one whole attempt: connecting, sending and reading the response.
    pub timeout: Duration,
}

impl fmt::Debug for DigitalPrinterConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DigitalPrinterConfig")
            .field("base_url", &self.base_url)
            .field("api_token", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Invalid [`DigitalPrinterConfig`].
#[derive(Debug, thiserror::Error)]
pub enum DigitalPrinterConfigError {
    #[error("invalid digital printer base URL {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error(
        "the digital printer API token is empty or contains characters not allowed in a header"
    )]
    InvalidToken,
    #[error("the digital printer timeout must be greater than zero")]
    ZeroTimeout,
    #[error("failed to build the HTTP client for the digital printer")]
    Client(#[source] reqwest::Error),
}

/// Issues documents through an imprenta digital. One instance per provider account; it
/// keeps one connection pool for all series.
pub struct DigitalPrinterAdapter {
    client: reqwest::Client,
    documents_url: Url,
    authorization: HeaderValue,
}

impl fmt::Debug for DigitalPrinterAdapter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DigitalPrinterAdapter")
            .field("documents_url", &self.documents_url.as_str())
            .finish_non_exhaustive()
    }
}

impl DigitalPrinterAdapter {
    /// Validates the configuration and builds the HTTP client.
    pub fn new(config: DigitalPrinterConfig) -> Result<Self, DigitalPrinterConfigError> {
        let documents_url = documents_url(&config.base_url)?;

        if config.api_token.trim().is_empty() {
            return Err(DigitalPrinterConfigError::InvalidToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.api_token))
            .map_err(|_| DigitalPrinterConfigError::InvalidToken)?;
        authorization.set_sensitive(true);

        if config.timeout.is_zero() {
            return Err(DigitalPrinterConfigError::ZeroTimeout);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(DigitalPrinterConfigError::Client)?;

        Ok(Self {
            client,
            documents_url,
            authorization,
        })
    }

    /// Sends one attempt and classifies the response, without logging.
    async fn send(&self, request: &IssueRequest) -> Attempt {
        let body = ProviderRequest {
            idempotency_key: request.idempotency_key,
            series: &request.series,
            kind: request.kind,
            document: &request.content,
        };
        let sent = self
            .client
            .post(self.documents_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header("Idempotency-Key", request.idempotency_key.to_string())
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Attempt::failed(None, transport_reason(&error), &error),
        };

        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => return Attempt::failed(Some(status), transport_reason(&error), &error),
        };
        classify(status, &body)
    }
}

#[async_trait::async_trait]
impl IssuingAdapter for DigitalPrinterAdapter {
    fn name(&self) -> &'static str {
        ADAPTER_NAME
    }

    async fn issue(&self, request: &IssueRequest) -> Result<Issued, IssueError> {
        let started = Instant::now();
        let attempt = self.send(request).await;
        log_attempt(request, &attempt, started.elapsed());
        attempt.result
    }
}

/// Builds `{base_url}/v1/documents`, accepting a base URL with or without a trailing slash.
fn documents_url(base_url: &str) -> Result<Url, DigitalPrinterConfigError> {
    let invalid = |reason: String| DigitalPrinterConfigError::InvalidBaseUrl {
        url: base_url.to_string(),
        reason,
    };
    // The base itself must name a host: `http://` alone would otherwise join
    // into `http:///v1/documents`, which names a host called `v1`.
    let base = Url::parse(base_url).map_err(|error| invalid(error.to_string()))?;
    if base.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL names no host".to_string()));
    }
    let joined = format!("{}/v1/documents", base_url.trim_end_matches('/'));
    let url = Url::parse(&joined).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed".to_string()));
    }
    Ok(url)
}

#[derive(Serialize)]
struct ProviderRequest<'a> {
    idempotency_key: uuid::Uuid,
    series: &'a str,
    kind: DocumentKind,
    document: &'a serde_json::Value,
}

#[derive(Deserialize)]
struct ProviderSuccess {
    number: i64,
    control_number: String,
    #[serde(default)]
    verification_url: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
}

#[derive(Deserialize)]
struct ProviderErrorEnvelope {
    error: ProviderError,
}

#[derive(Deserialize)]
struct ProviderError {
    code: String,
    #[serde(default)]
    message: String,
}

/// Result of one attempt with what the log event needs.
struct Attempt {
    result: Result<Issued, IssueError>,
    status: Option<StatusCode>,
    /// Short machine-readable cause, for example `timeout` or `http_503`.
    reason: &'static str,
}

impl Attempt {
    fn failed(status: Option<StatusCode>, reason: &'static str, error: &reqwest::Error) -> Self {
        // reqwest's Display names the URL but never the headers, so the token stays out.
        let message = match reason {
            "timeout" => format!("the request to the digital printer timed out: {error}"),
            "connection" => format!("failed to connect to the digital printer: {error}"),
            _ => format!("the request to the digital printer failed: {error}"),
        };
        Self {
            result: Err(IssueError::Transient(message)),
            status,
            reason,
        }
    }
}

fn transport_reason(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection"
    } else {
        "transport"
    }
}

/// Classifies a complete HTTP response as the table in the module documentation shows.
fn classify(status: StatusCode, body: &[u8]) -> Attempt {
    let attempt = |result, reason| Attempt {
        result,
        status: Some(status),
        reason,
    };

    if status == StatusCode::OK || status == StatusCode::CREATED {
        return match parse_success(body) {
            Ok(issued) => attempt(Ok(issued), "issued"),
            // A success status with a body we cannot trust most likely means a provider bug,
            // and the provider may already hold a control number for this key. Retrying would
            // return the same stored response again, so it is rejected for an operator to
            // reconcile with the provider. The fix is then a retry with the same key.
            Err(problem) => attempt(
                Err(IssueError::Rejected {
                    code: INVALID_PROVIDER_RESPONSE.to_string(),
                    message: format!(
                        "the digital printer responded with HTTP {status} and an invalid body: {problem}; \
                         the document may exist at the provider, so reconcile it there and retry with the same idempotency key"
                    ),
                }),
                "invalid_response",
            ),
        };
    }
    if status == StatusCode::ACCEPTED {
        return attempt(
            Err(IssueError::Transient(
                "the digital printer accepted the document but has not issued it yet".to_string(),
            )),
            "accepted",
        );
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        // A rejected token fails every document alike, not this one in particular, so
        // the queue keeps retrying and drains by itself once the token is fixed.
        return attempt(
            Err(IssueError::Transient(format!(
                "the digital printer rejected the API token (HTTP {status}); check the configured token"
            ))),
            "unauthorized",
        );
    }
    if status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
    {
        let (code, message) = match serde_json::from_slice::<ProviderErrorEnvelope>(body) {
            Ok(envelope) => (envelope.error.code, envelope.error.message),
            Err(_) => (
                format!("http_{}", status.as_u16()),
                format!("the digital printer responded with HTTP {status} without an error body"),
            ),
        };
        return attempt(Err(IssueError::Rejected { code, message }), "rejected");
    }
    if status.is_success() {
        return attempt(
            Err(IssueError::Rejected {
                code: INVALID_PROVIDER_RESPONSE.to_string(),
                message: format!(
                    "the digital printer responded with HTTP {status}, which is not 200 or 201; \
                     reconcile the document with the provider and retry with the same idempotency key"
                ),
            }),
            "invalid_response",
        );
    }

    // 408, 429, 5xx, and 1xx or 3xx that should never reach a client without redirects.
    attempt(
        Err(IssueError::Transient(format!(
            "the digital printer responded with HTTP {status}"
        ))),
        status_reason(status),
    )
}

fn status_reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        408 => "http_408",
        429 => "http_429",
        500..=599 => "http_5xx",
        _ => "unexpected_status",
    }
}

/// Parses and validates a success body.
fn parse_success(body: &[u8]) -> Result<Issued, String> {
    let success: ProviderSuccess =
        serde_json::from_slice(body).map_err(|error| format!("unparsable JSON: {error}"))?;

    if success.number <= 0 {
        return Err(format!(
            "number {} is not a positive integer",
            success.number
        ));
    }
    if !is_valid_control_number(&success.control_number) {
        return Err(format!(
            "control number {:?} is not in the form 00-00000001",
            success.control_number
        ));
    }
    let issued_at = match success.issued_at.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|error| format!("issued_at {text:?} is not RFC 3339: {error}"))?
                .with_timezone(&Utc),
        ),
    };
    let verification_url = success
        .verification_url
        .filter(|url| !url.trim().is_empty());

    Ok(Issued {
        number: success.number,
        control_number: success.control_number,
        verification_url,
        issued_at,
        machine_serial: None,
    })
}

/// Checks the control number format: a 2-digit prefix, a dash and an 8-digit sequence that
/// starts at 1, as in `00-00000001`.
pub fn is_valid_control_number(control_number: &str) -> bool {
    let Some((prefix, sequence)) = control_number.split_once('-') else {
        return false;
    };
    let all_digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());

    prefix.len() == 2
        && all_digits(prefix)
        && sequence.len() == 8
        && all_digits(sequence)
        && sequence != "00000000"
}

/// Logs one event per attempt: info when issued, warn when it will be retried, and error
/// when someone must act (a rejection or a rejected token).
fn log_attempt(request: &IssueRequest, attempt: &Attempt, elapsed: Duration) {
    let status = attempt.status.map(|status| status.as_u16());
    let duration_ms = elapsed.as_millis() as u64;
    match &attempt.result {
        Ok(issued) => tracing::info!(
            event = "fiscal_document_issue_attempt",
            adapter = ADAPTER_NAME,
            tenant.id = %request.tenant_id,
            series = %request.series,
            kind = request.kind.as_str(),
            idempotency_key = %request.idempotency_key,
            outcome = "issued",
            status,
            duration_ms,
            document.number = issued.number,
            document.control_number = %issued.control_number,
            "the digital printer issued the document"
        ),
        Err(IssueError::Transient(message)) if attempt.reason == "unauthorized" => {
            tracing::error!(
                event = "fiscal_document_issue_attempt",
                adapter = ADAPTER_NAME,
                tenant.id = %request.tenant_id,
                series = %request.series,
                kind = request.kind.as_str(),
                idempotency_key = %request.idempotency_key,
                outcome = "transient",
                reason = attempt.reason,
                status,
                duration_ms,
                error = %message,
                "the digital printer rejected the API token; the document will be retried"
            )
        }
        Err(IssueError::Transient(message)) => tracing::warn!(
            event = "fiscal_document_issue_attempt",
            adapter = ADAPTER_NAME,
            tenant.id = %request.tenant_id,
            series = %request.series,
            kind = request.kind.as_str(),
            idempotency_key = %request.idempotency_key,
            outcome = "transient",
            reason = attempt.reason,
            status,
            duration_ms,
            error = %message,
            "issuing through the digital printer failed; the document will be retried"
        ),
        Err(IssueError::Rejected { code, message }) => tracing::error!(
            event = "fiscal_document_issue_attempt",
            adapter = ADAPTER_NAME,
            tenant.id = %request.tenant_id,
            series = %request.series,
            kind = request.kind.as_str(),
            idempotency_key = %request.idempotency_key,
            outcome = "rejected",
            reason = attempt.reason,
            status,
            duration_ms,
            error.code = %code,
            error = %message,
            "the digital printer rejected the document; an operator must act"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuing::fake::{FakeProvider, spawn_fake_provider};
    use crate::issuing::test_support::request;

    fn adapter_for(provider: &FakeProvider, timeout: Duration) -> DigitalPrinterAdapter {
        DigitalPrinterAdapter::new(DigitalPrinterConfig {
            base_url: provider.base_url(),
            api_token: provider.token(),
            timeout,
        })
        .expect("valid configuration")
    }

    fn rejected_code(result: Result<Issued, IssueError>) -> String {
        match result {
            Err(IssueError::Rejected { code, .. }) => code,
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn digital_printer_issues_first_document() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));

        let issued = adapter
            .issue(&request("W1", DocumentKind::Invoice))
            .await
            .expect("issued");

        assert_eq!(issued.number, 1);
        assert_eq!(issued.control_number, "00-00000001");
        assert!(issued.verification_url.is_some());
        assert!(issued.issued_at.is_some());
        assert_eq!(issued.machine_serial, None);
        assert_eq!(adapter.name(), "digital_printer");
    }

    #[tokio::test]
    async fn digital_printer_sends_request_body() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));
        let request = request("W1", DocumentKind::CreditNote);

        adapter.issue(&request).await.expect("issued");

        let documents = provider.documents();
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].idempotency_key, request.idempotency_key);
        assert_eq!(documents[0].series, "W1");
        assert_eq!(documents[0].kind, DocumentKind::CreditNote);
        assert_eq!(documents[0].document, request.content);
    }

    #[tokio::test]
    async fn digital_printer_timeout_then_retry() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_millis(200));
        let request = request("W1", DocumentKind::Invoice);
        provider.delay_next(1, Duration::from_secs(1));

        let first = adapter.issue(&request).await;
        let retry = adapter.issue(&request).await.expect("retry issued");

        match first {
            Err(IssueError::Transient(message)) => {
                assert!(message.contains("timed out"), "{message}")
            }
            other => panic!("expected Transient, got {other:?}"),
        }
        assert_eq!(retry.number, 1);
        assert_eq!(retry.control_number, "00-00000001");
        assert_eq!(provider.issued_count(), 1);
        assert_eq!(provider.documents()[0].control_number, "00-00000001");
    }

    #[tokio::test]
    async fn digital_printer_rejection_keeps_code() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));
        provider.reject_next(1, "invalid_buyer_rif", "RIF J-0 is not valid");

        let result = adapter.issue(&request("W1", DocumentKind::Invoice)).await;

        match result {
            Err(IssueError::Rejected { code, message }) => {
                assert_eq!(code, "invalid_buyer_rif");
                assert_eq!(message, "RIF J-0 is not valid");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert_eq!(provider.issued_count(), 0);
    }

    #[tokio::test]
    async fn digital_printer_unavailable_is_transient() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));
        let request = request("W1", DocumentKind::Invoice);
        provider.fail_next(1);

        let first = adapter.issue(&request).await;
        let retry = adapter.issue(&request).await.expect("retry issued");

        assert!(
            matches!(&first, Err(IssueError::Transient(message)) if message.contains("503")),
            "{first:?}"
        );
        assert_eq!(retry.number, 1);
        assert_eq!(provider.issued_count(), 1);
    }

    #[tokio::test]
    async fn digital_printer_wrong_token_is_transient() {
        let provider = spawn_fake_provider().await;
        let adapter = DigitalPrinterAdapter::new(DigitalPrinterConfig {
            base_url: provider.base_url(),
            api_token: "wrong-token".to_string(),
            timeout: Duration::from_secs(5),
        })
        .expect("valid configuration");

        let result = adapter.issue(&request("W1", DocumentKind::Invoice)).await;

        assert!(
            matches!(&result, Err(IssueError::Transient(message)) if message.contains("401")),
            "{result:?}"
        );
        assert_eq!(provider.issued_count(), 0);
    }

    #[tokio::test]
    async fn digital_printer_numbers_consecutively() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));

        let first = adapter
            .issue(&request("W1", DocumentKind::Invoice))
            .await
            .expect("first issued");
        let second = adapter
            .issue(&request("W1", DocumentKind::Invoice))
            .await
            .expect("second issued");
        let other_series = adapter
            .issue(&request("W2", DocumentKind::Invoice))
            .await
            .expect("other series issued");

        assert_eq!(first.number, 1);
        assert_eq!(second.number, 2);
        assert_eq!(second.control_number, "00-00000002");
        assert_eq!(other_series.number, 1);
        assert_eq!(other_series.control_number, "00-00000003");
        assert_eq!(provider.issued_count(), 3);
    }

    #[tokio::test]
    async fn digital_printer_malformed_success_is_rejected() {
        let provider = spawn_fake_provider().await;
        let adapter = adapter_for(&provider, Duration::from_secs(5));
        let request = request("W1", DocumentKind::Invoice);
        provider.respond_malformed_next(1);

        let first = adapter.issue(&request).await;
        // The operator's fix: once the provider responds correctly, retry with the same key.
        let retry = adapter.issue(&request).await.expect("retry issued");

        assert_eq!(rejected_code(first), INVALID_PROVIDER_RESPONSE);
        assert_eq!(retry.number, 1);
        assert_eq!(retry.control_number, "00-00000001");
        assert_eq!(provider.issued_count(), 1);
    }

    #[tokio::test]
    async fn digital_printer_connection_refused_is_transient() {
        // Bind and drop a listener so the port is very likely closed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let adapter = DigitalPrinterAdapter::new(DigitalPrinterConfig {
            base_url: format!("http://{address}"),
            api_token: "token".to_string(),
            timeout: Duration::from_secs(5),
        })
        .expect("valid configuration");

        let result = adapter.issue(&request("W1", DocumentKind::Invoice)).await;

        assert!(
            matches!(&result, Err(IssueError::Transient(_))),
            "{result:?}"
        );
    }

    #[test]
    fn success_body_validation() {
        let cases: [(&str, Option<&str>); 7] = [
            (r#"{"number": 7, "control_number": "01-00000007"}"#, None),
            (
                r#"{"number": 7, "control_number": "01-00000007", "issued_at": "2026-12-05T10:00:00-04:00"}"#,
                None,
            ),
            (
                r#"{"number": 0, "control_number": "00-00000001"}"#,
                Some("not a positive integer"),
            ),
            (
                r#"{"number": 1, "control_number": "0000000001"}"#,
                Some("not in the form"),
            ),
            (
                r#"{"number": 1, "control_number": "00-00000000"}"#,
                Some("not in the form"),
            ),
            (
                r#"{"number": 1, "control_number": "00-00000001", "issued_at": "yesterday"}"#,
                Some("not RFC 3339"),
            ),
            (r#"{"number": "1"}"#, Some("unparsable JSON")),
        ];

        for (body, expected_error) in cases {
            let result = parse_success(body.as_bytes());
            match expected_error {
                None => assert!(result.is_ok(), "{body}: {result:?}"),
                Some(fragment) => {
                    let error = result.expect_err(body);
                    assert!(error.contains(fragment), "{body}: {error}");
                }
            }
        }
    }

    #[test]
    fn status_classification() {
        let transient = [408, 429, 500, 502, 503, 504, 401, 403, 202, 302];
        let rejected = [400, 404, 409, 422, 204];

        for code in transient {
            let status = StatusCode::from_u16(code).expect("status");
            let result = classify(status, b"{}").result;
            assert!(
                matches!(result, Err(IssueError::Transient(_))),
                "{code}: {result:?}"
            );
        }
        for code in rejected {
            let status = StatusCode::from_u16(code).expect("status");
            let result = classify(status, b"").result;
            assert!(
                matches!(result, Err(IssueError::Rejected { .. })),
                "{code}: {result:?}"
            );
        }
        assert_eq!(
            rejected_code(classify(StatusCode::NOT_FOUND, b"").result),
            "http_404"
        );
    }

    #[test]
    fn control_number_format() {
        assert!(is_valid_control_number("00-00000001"));
        assert!(is_valid_control_number("99-12345678"));
        assert!(!is_valid_control_number("0-00000001"));
        assert!(!is_valid_control_number("00-0000001"));
        assert!(!is_valid_control_number("00_00000001"));
        assert!(!is_valid_control_number("0a-00000001"));
        assert!(!is_valid_control_number("00-00000000"));
        assert!(!is_valid_control_number("00-000000001"));
    }

    #[test]
    fn config_validation() {
        let config = |base_url: &str, api_token: &str, timeout| DigitalPrinterConfig {
            base_url: base_url.to_string(),
            api_token: api_token.to_string(),
            timeout,
        };
        let second = Duration::from_secs(1);

        let adapter = DigitalPrinterAdapter::new(config("http://127.0.0.1:9/api/", "t", second))
            .expect("valid");
        assert_eq!(
            adapter.documents_url.as_str(),
            "http://127.0.0.1:9/api/v1/documents"
        );
        assert!(DigitalPrinterAdapter::new(config("ftp://127.0.0.1", "t", second)).is_err());
        assert!(DigitalPrinterAdapter::new(config("not a url", "t", second)).is_err());
        assert!(DigitalPrinterAdapter::new(config("http://127.0.0.1?a=1", "t", second)).is_err());
        assert!(DigitalPrinterAdapter::new(config("http://127.0.0.1", " ", second)).is_err());
        assert!(DigitalPrinterAdapter::new(config("http://127.0.0.1", "a\nb", second)).is_err());
        assert!(
            DigitalPrinterAdapter::new(config("http://127.0.0.1", "t", Duration::ZERO)).is_err()
        );
    }

    #[test]
    fn config_debug_redacts_token() {
        let config = DigitalPrinterConfig {
            base_url: "http://127.0.0.1:9".to_string(),
            api_token: "very-secret-token".to_string(),
            timeout: Duration::from_secs(1),
        };

        let printed = format!("{config:?}");

        assert!(!printed.contains("very-secret-token"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
    }
}
