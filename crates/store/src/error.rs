//! Storage errors: a closed set of outcomes the HTTP layer maps to statuses.

use serde_json::Value;
use taquilla_domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The entity does not exist in the caller's tenant (or at all).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state; `code` is stable.
    #[error("conflict: {code}")]
    Conflict { code: &'static str, details: Value },
    /// An input value breaks a rule only the database can check.
    #[error("invalid input: {0}")]
    Invalid(FieldError),
    /// The same idempotency key was sent with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// A lock or serialization conflict persisted after retries; the client may retry.
    #[error("database busy, retry later")]
    Busy,
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn conflict(code: &'static str) -> Self {
        StoreError::Conflict {
            code,
            details: Value::Object(Default::default()),
        }
    }

    pub fn conflict_with(code: &'static str, details: Value) -> Self {
        StoreError::Conflict { code, details }
    }

    /// Returns whether retrying the whole transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Busy)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database_error) = &error {
            let code = database_error.code().unwrap_or_default();
            // PostgreSQL: serialization failure, deadlock, lock timeout.
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with extended codes.
            if matches!(code.as_ref(), "40001" | "40P01" | "55P03")
                || matches!(code.as_ref(), "5" | "6" | "261" | "517" | "262")
            {
                return StoreError::Busy;
            }
        }
        if matches!(error, sqlx::Error::PoolTimedOut) {
            return StoreError::Busy;
        }
        StoreError::Database(error)
    }
}

/// Returns the name of the violated unique constraint, if `error` is one.
pub fn unique_violation(error: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(database_error) = error else {
        return None;
    };
    if !matches!(
        database_error.kind(),
        sqlx::error::ErrorKind::UniqueViolation
    ) {
        return None;
    }
    Some(
        database_error
            .constraint()
            .map(str::to_string)
            .unwrap_or_else(|| database_error.message().to_string()),
    )
}
