//! The validation error that every parser in this crate returns.

use serde::Serialize;

/// A rejected input value: which field and which rule it broke.
///
/// `rule` is a stable English identifier (for example `rif_check_digit`); the HTTP
/// layer turns it into a message in the client's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}` breaks rule `{}`", self.field, self.rule)
    }
}

impl std::error::Error for FieldError {}
