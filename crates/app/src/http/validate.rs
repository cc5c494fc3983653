//! Small input checks shared by handlers; each failure names the field and rule.

use taquilla_domain::FieldError;

/// Trims `value` and checks it is present and at most `max` characters long.
pub fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "required"));
    } else if trimmed.chars().count() > max {
        errors.push(FieldError::new(field, "too_long"));
    } else if trimmed.chars().any(is_forbidden_control) {
        errors.push(FieldError::new(field, "invalid_characters"));
    }
    trimmed.to_string()
}

/// Like [`text`] for an optional value; empty becomes `None`.
pub fn optional_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|value| !value.is_empty())?;
    if trimmed.chars().count() > max {
        errors.push(FieldError::new(field, "too_long"));
    } else if trimmed.chars().any(is_forbidden_control) {
        errors.push(FieldError::new(field, "invalid_characters"));
    }
    Some(trimmed.to_string())
}

/// Checks `value` lies in `min..=max`.
pub fn range(errors: &mut Vec<FieldError>, field: &str, value: i64, min: i64, max: i64) {
    if value < min || value > max {
        errors.push(FieldError::new(field, "out_of_range"));
    }
}

/// Lower-cases an e-mail address and checks its basic shape (one `@`, a dot in the domain).
pub fn email(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    let normalised = value.trim().to_lowercase();
    let valid = match normalised.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !normalised.contains(char::is_whitespace)
        }
        None => false,
    };
    if normalised.chars().count() > 254 {
        errors.push(FieldError::new(field, "too_long"));
    } else if !valid {
        errors.push(FieldError::new(field, "email_format"));
    }
    normalised
}

/// Ends validation: an error list becomes a 422.
pub fn finish(errors: Vec<FieldError>) -> Result<(), crate::error::ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::error::ApiError::Validation(errors))
    }
}

/// Control characters other than line breaks and tabs, which multi-line
/// descriptions and reasons may contain, and the Unicode bidirectional
/// embeddings, overrides and isolates: a name with U+202E would print
/// reversed on an invoice.
fn is_forbidden_control(character: char) -> bool {
    (character.is_control() && !matches!(character, '\n' | '\r' | '\t'))
        || matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_overrides_are_rejected() {
        for name in ["Ana\u{202E}sojoR", "\u{2066}Ana\u{2069}", "Ana\u{0007}"] {
            let mut errors = Vec::new();
            text(&mut errors, "first_name", name, 100);
            assert_eq!(errors.len(), 1, "{name:?}");
            assert_eq!(errors[0].rule, "invalid_characters");
        }
        let mut errors = Vec::new();
        assert_eq!(
            text(&mut errors, "first_name", " José\tMaría ", 100),
            "José\tMaría"
        );
        assert!(errors.is_empty());
    }
}
