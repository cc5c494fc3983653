//! The one place where outcomes become HTTP responses.
//!
//! Every error response has the envelope
//! `{"error": {"code": "…", "message": "…", "details": {…}}}`: `code` is stable
//! English, `message` is Spanish unless the client asks for English (the
//! [`localize_errors`] middleware rewrites it). Unknown failures become an
//! opaque 500, logged once with their cause chain.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use taquilla_domain::FieldError;
use taquilla_store::StoreError;

use crate::i18n::{Locale, error_message, rule_message};

/// Seconds a client should wait before retrying a busy request.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("bad request: {code}")]
    BadRequest { code: &'static str, details: Value },
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    /// A request authenticated by the web session cookie changed something
    /// without the session's CSRF token.
    #[error("csrf token missing or invalid")]
    CsrfRejected,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {code}")]
    Conflict { code: &'static str, details: Value },
    #[error("too many requests: {code}")]
    TooManyRequests {
        code: &'static str,
        retry_after_seconds: u64,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("service busy")]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, rule: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, rule)])
    }

    pub fn bad_request(code: &'static str) -> Self {
        ApiError::BadRequest {
            code,
            details: json!({}),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(entity) => ApiError::NotFound(entity),
            StoreError::Conflict { code, details } => ApiError::Conflict { code, details },
            StoreError::Invalid(field_error) => ApiError::Validation(vec![field_error]),
            StoreError::IdempotencyKeyReused => ApiError::Conflict {
                code: "idempotency_key_reused",
                details: json!({}),
            },
            StoreError::Busy => ApiError::Busy,
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::Validation(vec![error])
    }
}

/// Code and details of an error response, kept so the body can be localised.
#[derive(Debug, Clone)]
pub struct ErrorParts {
    pub code: &'static str,
    pub details: Value,
}

fn render(code: &'static str, details: &Value, locale: Locale) -> Value {
    let mut details = details.clone();
    // Validation errors carry one message per field.
    if let Some(errors) = details.get_mut("errors").and_then(Value::as_array_mut) {
        for entry in errors {
            let field = entry["field"].as_str().unwrap_or_default().to_string();
            let rule = entry["rule"].as_str().unwrap_or_default().to_string();
            let text = match locale {
                Locale::Es => format!("El campo «{field}» {}.", rule_message(&rule, locale)),
                Locale::En => format!("Field `{field}` {}.", rule_message(&rule, locale)),
            };
            entry["message"] = Value::String(text);
        }
    }
    let mut message = error_message(code, locale).to_string();
    if let Some(first) = details["errors"][0]["message"].as_str() {
        message = format!("{message} {first}");
    }
    if code == "ticket_already_used"
        && let Some(first_use) = first_use_text(&details, locale)
    {
        message = format!("{message} {first_use}");
    }
    if code == "rate_limited"
        && let Some(seconds) = details["retry_after_seconds"].as_u64()
    {
        let retry = match locale {
            Locale::Es => format!("Intente de nuevo en {seconds} s."),
            Locale::En => format!("Try again in {seconds} s."),
        };
        message = format!("{message} {retry}");
    }
    if code == "seats_unavailable"
        && let Some(seats) = details["seats"].as_array()
    {
        let (row_word, seat_word) = match locale {
            Locale::Es => ("fila", "asiento"),
            Locale::En => ("row", "seat"),
        };
        let names: Vec<String> = seats
            .iter()
            .map(|seat| {
                format!(
                    "{row_word} {}, {seat_word} {}",
                    seat["row"].as_str().unwrap_or("?"),
                    seat["number"]
                )
            })
            .collect();
        message = format!("{}: {}.", message.trim_end_matches('.'), names.join("; "));
    }
    json!({ "error": { "code": code, "message": message, "details": details } })
}

/// Returns the message an error response of `code` carries in `locale`, with
/// the details it names (seats, retry time, first admission).
pub fn localized_message(code: &'static str, details: &Value, locale: Locale) -> String {
    render(code, details, locale)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Describes a ticket's first admission in Caracas time: «Primer ingreso: 04/12/2026 08:14 p. m., Puerta 2.»
fn first_use_text(details: &Value, locale: Locale) -> Option<String> {
    let instant: chrono::DateTime<chrono::Utc> = details["first_used_at"].as_str()?.parse().ok()?;
    let local = instant.with_timezone(&chrono_tz::America::Caracas);
    let meridiem = match (locale, local.format("%p").to_string().as_str()) {
        (Locale::Es, "AM") => "a. m.",
        (Locale::Es, _) => "p. m.",
        (Locale::En, "AM") => "AM",
        (Locale::En, _) => "PM",
    };
    let when = format!("{} {meridiem}", local.format("%d/%m/%Y %I:%M"));
    let gate = details["first_gate"].as_str().unwrap_or("-");
    Some(match locale {
        Locale::Es => format!("Primer ingreso: {when}, {gate}."),
        Locale::En => format!("First admitted: {when}, {gate}."),
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details, retry_after) = match self {
            ApiError::Validation(errors) => {
                let errors: Vec<Value> = errors
                    .iter()
                    .map(|error| json!({ "field": error.field, "rule": error.rule }))
                    .collect();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    json!({ "errors": errors }),
                    None,
                )
            }
            ApiError::BadRequest { code, details } => {
                (StatusCode::BAD_REQUEST, code, details, None)
            }
            ApiError::Unauthorized(code) => (StatusCode::UNAUTHORIZED, code, json!({}), None),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", json!({}), None),
            ApiError::CsrfRejected => {
                (StatusCode::FORBIDDEN, "csrf_token_invalid", json!({}), None)
            }
            ApiError::NotFound(entity) => (
                StatusCode::NOT_FOUND,
                "not_found",
                json!({ "entity": entity }),
                None,
            ),
            ApiError::Conflict { code, details } => {
                let status = if code == "ticket_not_found" {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::CONFLICT
                };
                (status, code, details, None)
            }
            ApiError::TooManyRequests {
                code,
                retry_after_seconds,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                code,
                json!({ "retry_after_seconds": retry_after_seconds }),
                Some(retry_after_seconds),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                json!({}),
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                json!({}),
                None,
            ),
            ApiError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_busy",
                json!({}),
                Some(BUSY_RETRY_AFTER_SECONDS),
            ),
            ApiError::Internal(error) => {
                tracing::error!(error.cause_chain = ?error, "request failed with an internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    json!({}),
                    None,
                )
            }
        };

        let body = render(code, &details, Locale::Es);
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
            .extensions_mut()
            .insert(ErrorParts { code, details });
        response
    }
}

/// Rewrites error bodies in English for clients whose `Accept-Language` requests it.
pub async fn localize_errors(request: Request, next: Next) -> Response {
    let locale = Locale::from_headers(request.headers());
    let mut response = next.run(request).await;
    if locale == Locale::Es {
        return response;
    }

    let Some(parts) = response.extensions_mut().remove::<ErrorParts>() else {
        return response;
    };
    let body = render(parts.code, &parts.details, locale);
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(head, axum::body::Body::from(body.to_string()))
}

pub type ApiResult<T> = Result<T, ApiError>;
