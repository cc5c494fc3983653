//! Phone numbers, normalised to E.164.
//!
//! Venezuelan numbers are accepted in national (`0412-1234567`), international
//! (`+58 412 1234567`, `584121234567`) or bare (`4121234567`) form and stored as
//! `+584121234567`. Mobile numbers follow libphonenumber's pattern for Venezuela,
//! `4(1[24-8]|2[46])\d{7}`, extended with 0422, which a 2026 payment form lists;
//! carriers open ranges, so there is no closed prefix list. Landlines start with 2.
//! Foreign numbers must be written with `+` and their country code.

use crate::FieldError;

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

fn is_venezuelan_mobile(national: &str) -> bool {
    let bytes = national.as_bytes();
    if bytes.len() != 10 || bytes[0] != b'4' {
        return false;
    }
    matches!(
        (bytes[1], bytes[2]),
        (b'1', b'2' | b'4'..=b'8') | (b'2', b'2' | b'4' | b'6')
    )
}

fn is_venezuelan_landline(national: &str) -> bool {
    national.len() == 10 && national.starts_with('2')
}

impl PhoneNumber {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        let has_plus = trimmed.starts_with('+');
        let digits: String = trimmed
            .chars()
            .filter(|character| !matches!(character, ' ' | '-' | '.' | '(' | ')' | '+'))
            .collect();
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(FieldError::new(field, "phone_format"));
        }

        let national = if let Some(rest) = digits.strip_prefix("58").filter(|rest| rest.len() == 10)
        {
            rest.to_string()
        } else if has_plus && digits.starts_with("58") {
            // +58 is Venezuela: the national number must follow its rules.
            return Err(FieldError::new(field, "phone_venezuelan"));
        } else if has_plus {
            // A foreign number: E.164 allows up to 15 digits after the country code's `+`.
            if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Ok(Self(format!("+{digits}")));
            }
            return Err(FieldError::new(field, "phone_format"));
        } else if let Some(rest) = digits.strip_prefix('0').filter(|rest| rest.len() == 10) {
            rest.to_string()
        } else {
            digits
        };

        if is_venezuelan_mobile(&national) || is_venezuelan_landline(&national) {
            return Ok(Self(format!("+58{national}")));
        }
        Err(FieldError::new(field, "phone_venezuelan"))
    }

    /// Parses a number that must be a Venezuelan mobile, as Pago Móvil requires.
    pub fn parse_mobile(input: &str, field: &str) -> Result<Self, FieldError> {
        let phone = Self::parse(input, field)?;
        let national = phone.0.strip_prefix("+58").unwrap_or_default();
        if !is_venezuelan_mobile(national) {
            return Err(FieldError::new(field, "phone_mobile"));
        }
        Ok(phone)
    }

    pub fn e164(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venezuelan_forms_normalise_to_e164() {
        for input in [
            "0412-1234567",
            "04121234567",
            "+58 412 1234567",
            "584121234567",
            "4121234567",
            "(0412) 123.45.67",
        ] {
            assert_eq!(
                PhoneNumber::parse(input, "phone").unwrap().e164(),
                "+584121234567",
                "{input}"
            );
        }
    }

    #[test]
    fn every_carrier_prefix_is_mobile() {
        for prefix in [
            "412", "414", "424", "416", "426", "422", "415", "417", "418",
        ] {
            let input = format!("0{prefix}1234567");
            assert!(
                PhoneNumber::parse_mobile(&input, "phone").is_ok(),
                "{input}"
            );
        }
    }

    #[test]
    fn landlines_are_phones_but_not_mobiles() {
        let landline = PhoneNumber::parse("0212-5551234", "phone").unwrap();
        assert_eq!(landline.e164(), "+582125551234");
        assert_eq!(
            PhoneNumber::parse_mobile("0212-5551234", "phone")
                .unwrap_err()
                .rule,
            "phone_mobile"
        );
    }

    #[test]
    fn malformed_venezuelan_e164_is_rejected() {
        for input in ["+58123456789", "+5812345678", "+584141234567999"] {
            assert_eq!(
                PhoneNumber::parse(input, "phone").unwrap_err().rule,
                "phone_venezuelan",
                "{input}"
            );
        }
    }

    #[test]
    fn foreign_numbers_need_a_plus() {
        assert_eq!(
            PhoneNumber::parse("+1 305 555 0100", "phone")
                .unwrap()
                .e164(),
            "+13055550100"
        );
        assert!(PhoneNumber::parse("13055550100", "phone").is_err());
    }

    #[test]
    fn bad_numbers_are_rejected() {
        for input in [
            "",
            "0412-123",
            "0419-1234567",
            "abc",
            "0412-12345678",
            "0312-1234567",
        ] {
            assert!(
                PhoneNumber::parse(input, "phone").is_err(),
                "{input} accepted"
            );
        }
    }
}
