//! Extractors that turn malformed input into the error envelope instead of
//! axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use taquilla_store::model::{IdempotencyRequest, PageRequest};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;

/// A JSON body and the SHA-256 of its bytes (for idempotency checks).
pub struct ApiJson<T> {
    pub value: T,
    pub body_sha256: String,
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::bad_request("invalid_json")
                    }
                })?;
        if contains_nul_escape(&bytes) {
            return Err(ApiError::BadRequest {
                code: "invalid_json",
                details: json!({ "reason": "NUL characters (\\u0000) are not allowed" }),
            });
        }
        // Every request body of this API is a JSON object.
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(ApiError::BadRequest {
                code: "invalid_json",
                details: json!({ "reason": "the body must be a JSON object" }),
            });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        // A field the request type does not know is rejected, not dropped:
        // `"courtesy": true` must not sell at full price.
        let mut unknown = Vec::new();
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let parsed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
            &mut deserializer,
            &mut note_unknown,
        ));
        let value = match parsed {
            Ok(value) => value,
            // Unknown fields met before the error are named too: a misspelt
            // `first_nam` explains the missing `first_name`.
            Err(error) => {
                return Err(match body_error(error) {
                    ApiError::Validation(mut fields) => {
                        fields.extend(unknown_field_errors("", unknown));
                        ApiError::Validation(fields)
                    }
                    other => other,
                });
            }
        };
        deserializer.end().map_err(|error| ApiError::BadRequest {
            code: "invalid_json",
            details: json!({ "reason": error.to_string() }),
        })?;
        if !unknown.is_empty() {
            return Err(ApiError::Validation(unknown_field_errors("", unknown)));
        }
        Ok(Self {
            value,
            body_sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

/// Tells a syntax error (400 `invalid_json`) from well-formed JSON with a
/// missing or mistyped field (422, naming the field).
fn body_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.classify() != serde_json::error::Category::Data {
        return ApiError::BadRequest {
            code: "invalid_json",
            details: json!({ "reason": inner.to_string() }),
        };
    }

    let message = inner.to_string();

    // Tagged enums (a price modifier, a tax amount) deny unknown fields
    // themselves, since serde_ignored cannot see inside them.
    if let Some(name) = unknown_field_name(&message) {
        let field = if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        return ApiError::Validation(unknown_field_errors("", vec![field]));
    }
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| match path.as_str() {
                "." => name.to_string(),
                path => format!("{path}.{name}"),
            })
    };
    let (field, rule) = match (named("missing field `"), named("duplicate field `")) {
        (Some(field), _) => (field, "required"),
        (None, Some(field)) => (field, "duplicate_field"),
        (None, None)
            if message.starts_with("invalid type") || message.starts_with("invalid length") =>
        {
            (path, "invalid_type")
        }
        (None, None) => (path, "invalid_value"),
    };
    ApiError::Validation(vec![taquilla_domain::FieldError::new(field, rule)])
}

/// Maximum number of unknown fields one error lists, and maximum length of
/// each name, so a body of many or long made-up keys gets a small error.
const MAX_UNKNOWN_FIELDS: usize = 10;
const MAX_FIELD_NAME_CHARS: usize = 100;

/// Returns the validation errors for fields the request type does not have,
/// each named after `prefix`.
pub fn unknown_field_errors(prefix: &str, fields: Vec<String>) -> Vec<taquilla_domain::FieldError> {
    fields
        .into_iter()
        .take(MAX_UNKNOWN_FIELDS)
        .map(|field| {
            let field = match field.char_indices().nth(MAX_FIELD_NAME_CHARS) {
                Some((end, _)) => format!("{}…", &field[..end]),
                None => field,
            };
            let field = match (prefix, field.starts_with('[')) {
                ("", _) => field,
                (prefix, true) => format!("{prefix}{field}"),
                (prefix, false) => format!("{prefix}.{field}"),
            };
            taquilla_domain::FieldError::new(field, "unknown_field")
        })
        .collect()
}

/// Deserializes a JSON value, listing the fields `T` does not have instead
/// of dropping them (named as `unknown_field_errors` names them).
pub fn from_value_listing_unknown<T: DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<(T, Vec<String>), serde_json::Error> {
    let mut unknown = Vec::new();
    let parsed = serde_ignored::deserialize(value, |path| unknown.push(field_path(&path)))?;
    Ok((parsed, unknown))
}

/// Returns the field named by serde's `unknown field` message.
pub fn unknown_field_name(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

/// Writes an ignored field's path as the validation errors name fields:
/// `payments[1].courtesy`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// Finds a `\u0000` escape: PostgreSQL text cannot store NUL characters.
fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|window| window.eq_ignore_ascii_case(b"\\u0000"))
}

/// A UUID path parameter. An id that does not parse is treated like an id that
/// does not exist: 404.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("resource"))?;
        Uuid::parse_str(&text)
            .map(IdPath)
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// Query parameters: a malformed query is a 400, an unknown parameter a 422
/// with rule `unknown_field`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(|query| query.contains("%00")) {
            return Err(ApiError::BadRequest {
                code: "invalid_query",
                details: json!({ "reason": "NUL characters (%00) are not allowed" }),
            });
        }
        // Parsed as axum's `Query` parses it, but a parameter the endpoint does
        // not read is an error: `?documnt=` must not list every customer.
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let mut unknown = Vec::new();
        let value = serde_ignored::deserialize(deserializer, |path| {
            unknown.push(field_path(&path));
        })
        .map_err(|error| ApiError::BadRequest {
            code: "invalid_query",
            details: json!({ "reason": format!("Failed to deserialize query string: {error}") }),
        })?;
        if !unknown.is_empty() {
            return Err(ApiError::Validation(unknown_field_errors("", unknown)));
        }
        Ok(ApiQuery(value))
    }
}

/// The query of an endpoint that reads none: any parameter is a 422 with
/// rule `unknown_field`, as on the endpoints that read some.
pub struct NoQuery;

/// A query type with no parameter.
#[derive(serde::Deserialize)]
struct NoParameters {}

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ApiQuery::<NoParameters>::from_request_parts(parts, state)
            .await
            .map(|_| NoQuery)
    }
}

/// The `Idempotency-Key` header, if sent.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        // Two keys name no single request to replay.
        if values.next().is_some() {
            return Err(ApiError::bad_request("idempotency_key_repeated"));
        }
        let key = value
            .to_str()
            .map_err(|_| ApiError::bad_request("idempotency_key_invalid"))?
            .trim()
            .to_string();
        let visible = key.bytes().all(|byte| byte.is_ascii_graphic());
        if key.is_empty() || key.len() > 255 || !visible {
            return Err(ApiError::bad_request("idempotency_key_invalid"));
        }
        Ok(Self(Some(key)))
    }
}

impl IdempotencyKey {
    /// Binds the key to the caller, the request path and the body.
    pub fn request(
        &self,
        principal: &Principal,
        path: &str,
        body_sha256: &str,
    ) -> Option<IdempotencyRequest> {
        let key = self.0.as_ref()?;
        let request_hash = hex::encode(Sha256::digest(format!("{path}\n{body_sha256}").as_bytes()));
        Some(IdempotencyRequest {
            principal_id: principal.user_id,
            key: key.clone(),
            request_hash,
        })
    }

    pub fn required(
        &self,
        principal: &Principal,
        path: &str,
        body_sha256: &str,
    ) -> Result<IdempotencyRequest, ApiError> {
        self.request(principal, path, body_sha256)
            .ok_or(ApiError::bad_request("idempotency_key_required"))
    }
}

/// `?limit=&cursor=` of every list endpoint.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Largest page any list endpoint returns.
pub const MAX_PAGE_SIZE: i64 = 200;

impl PageQuery {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ApiError::field("limit", "out_of_range"));
        }
        let after = match &self.cursor {
            Some(cursor) => {
                Some(Uuid::parse_str(cursor).map_err(|_| ApiError::bad_request("invalid_cursor"))?)
            }
            None => None,
        };
        Ok(PageRequest { limit, after })
    }
}
