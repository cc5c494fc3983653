//! Venezuelan identity documents: cédula and RIF.
//!
//! Input is normalised by upper-casing and removing spaces, dots and dashes, so
//! `j-00.124.134-5`, `J 00124134 5` and `J001241345` are the same RIF.
//!
//! RIF check digit (reverse-engineered by the industry and matched against real
//! RIFs, as in python-stdnum's `stdnum/ve/rif.py`): letter value V=4, E=8, J=12,
//! P=16, G=20; weights 3,2,7,6,5,4,3,2 over the 8 body digits; `s` = letter value
//! plus the weighted sum; digit = 11 − (s mod 11), where 10 and 11 become 0.

use serde::Serialize;

use crate::FieldError;

const RIF_WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|character| !matches!(character, ' ' | '.' | '-' | '\t'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// A cédula de identidad: `V` (Venezuelan) or `E` (foreign resident) and 6 to 8 digits.
///
/// A cédula has no check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cedula {
    letter: char,
    number: u32,
}

impl Cedula {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let normalised = normalise(input);
        let mut characters = normalised.chars();
        let letter = characters
            .next()
            .ok_or_else(|| FieldError::new(field, "required"))?;
        if !matches!(letter, 'V' | 'E') {
            return Err(FieldError::new(field, "cedula_letter"));
        }
        let digits: String = characters.collect();
        if !(6..=8).contains(&digits.len()) || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(FieldError::new(field, "cedula_format"));
        }
        let number: u32 = digits
            .parse()
            .map_err(|_| FieldError::new(field, "cedula_format"))?;
        if number == 0 {
            return Err(FieldError::new(field, "cedula_format"));
        }
        Ok(Self { letter, number })
    }

    /// Returns the stored form, `V12345678`, as bank APIs expect it.
    pub fn normalised(&self) -> String {
        format!("{}{}", self.letter, self.number)
    }
}

/// A RIF: letter, 8 body digits and a check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rif {
    letter: char,
    body: [u8; 8],
    check_digit: u8,
}

fn rif_letter_value(letter: char) -> Option<u32> {
    match letter {
        'V' => Some(4),
        'E' => Some(8),
        'J' => Some(12),
        'P' => Some(16),
        'G' => Some(20),
        _ => None,
    }
}

/// Computes the RIF check digit of `letter` and an 8-digit body.
pub fn rif_check_digit(letter: char, body: &[u8; 8]) -> Option<u8> {
    let letter_value = rif_letter_value(letter)?;
    let weighted: u32 = body
        .iter()
        .zip(RIF_WEIGHTS)
        .map(|(digit, weight)| u32::from(*digit) * weight)
        .sum();
    let digit = 11 - (letter_value + weighted) % 11;
    Some(if digit >= 10 { 0 } else { digit as u8 })
}

impl Rif {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let normalised = normalise(input);
        let mut characters = normalised.chars();
        let letter = characters
            .next()
            .ok_or_else(|| FieldError::new(field, "required"))?;
        if rif_letter_value(letter).is_none() {
            return Err(FieldError::new(field, "rif_letter"));
        }
        let digits: Vec<u8> = characters
            .map(|character| character.to_digit(10).map(|digit| digit as u8))
            .collect::<Option<_>>()
            .ok_or_else(|| FieldError::new(field, "rif_format"))?;
        if digits.len() != 9 {
            return Err(FieldError::new(field, "rif_format"));
        }

        let mut body = [0_u8; 8];
        body.copy_from_slice(&digits[..8]);
        let check_digit = digits[8];
        if rif_check_digit(letter, &body) != Some(check_digit) {
            return Err(FieldError::new(field, "rif_check_digit"));
        }
        Ok(Self {
            letter,
            body,
            check_digit,
        })
    }

    /// Returns the stored form, `J001241345`.
    pub fn normalised(&self) -> String {
        let body: String = self
            .body
            .iter()
            .map(|digit| char::from(b'0' + digit))
            .collect();
        format!("{}{}{}", self.letter, body, self.check_digit)
    }

    /// Returns the printed form, `J-00124134-5`.
    pub fn formatted(&self) -> String {
        let body: String = self
            .body
            .iter()
            .map(|digit| char::from(b'0' + digit))
            .collect();
        format!("{}-{}-{}", self.letter, body, self.check_digit)
    }
}

/// Kind of a customer's identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Cedula,
    Rif,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Cedula => "cedula",
            DocumentKind::Rif => "rif",
        }
    }
}

/// A customer's document: a RIF when the input has 9 digits, a cédula otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Cedula(Cedula),
    Rif(Rif),
}

impl Document {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let normalised = normalise(input);
        if normalised.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        let digit_count = normalised.chars().skip(1).count();
        if digit_count == 9 {
            return Rif::parse(&normalised, field).map(Document::Rif);
        }
        let letter = normalised.chars().next().unwrap_or(' ');
        if matches!(letter, 'V' | 'E') {
            return Cedula::parse(&normalised, field).map(Document::Cedula);
        }
        if rif_letter_value(letter).is_some() {
            return Err(FieldError::new(field, "rif_format"));
        }
        Err(FieldError::new(field, "document_letter"))
    }

    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Cedula(_) => DocumentKind::Cedula,
            Document::Rif(_) => DocumentKind::Rif,
        }
    }

    pub fn normalised(&self) -> String {
        match self {
            Document::Cedula(cedula) => cedula.normalised(),
            Document::Rif(rif) => rif.normalised(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_rifs_are_valid() {
        for rif in ["G-20000303-0", "G-20009997-6", "J-00124134-5"] {
            assert!(Rif::parse(rif, "rif").is_ok(), "{rif} rejected");
        }
    }

    #[test]
    fn synthetic_vectors_are_valid() {
        for rif in [
            "V-12345678-1",
            "E-12345678-8",
            "P-12345678-0",
            "J-12345678-4",
            "G-12345678-7",
            "V-05892464-0",
        ] {
            assert!(Rif::parse(rif, "rif").is_ok(), "{rif} rejected");
        }
    }

    #[test]
    fn check_digit_branches() {
        // r = 0 gives 0 (SENIAT), r = 5 gives 6 (BDV), r = 6 gives 5 (CANTV).
        assert_eq!(rif_check_digit('G', &[2, 0, 0, 0, 0, 3, 0, 3]), Some(0));
        assert_eq!(rif_check_digit('G', &[2, 0, 0, 0, 9, 9, 9, 7]), Some(6));
        // r = 1 gives 0: V + 00000002 is 4 + 4 = 8... search a body with r = 1.
        let body_r1 = [0, 0, 0, 0, 0, 0, 0, 4]; // 4 + 8 = 12, 12 mod 11 = 1
        assert_eq!(rif_check_digit('V', &body_r1), Some(0));
        let body_r10 = [0, 0, 0, 0, 0, 0, 0, 3]; // 4 + 6 = 10
        assert_eq!(rif_check_digit('V', &body_r10), Some(1));
    }

    #[test]
    fn spacing_and_case_are_normalised() {
        for input in [
            "j001241345",
            "J 00124134 5",
            "J-00124134-5",
            "J-00.124.134-5",
        ] {
            let rif = Rif::parse(input, "rif").unwrap();
            assert_eq!(rif.normalised(), "J001241345");
            assert_eq!(rif.formatted(), "J-00124134-5");
        }
    }

    #[test]
    fn invalid_rifs_are_rejected() {
        let cases = [
            ("V-12345678-9", "rif_check_digit"),
            ("E-87654321-5", "rif_check_digit"),
            ("J-30123456-7", "rif_check_digit"),
            ("G-20000001-3", "rif_check_digit"),
            ("G-20009997-4", "rif_check_digit"),
            ("V-114702839-4", "rif_format"),
            ("V-5892464", "rif_format"),
            ("Q-00000000-0", "rif_letter"),
            ("V-11A70283-4", "rif_format"),
        ];
        for (input, rule) in cases {
            let error = Rif::parse(input, "rif").unwrap_err();
            assert_eq!(error.rule, rule, "{input}");
        }
    }

    #[test]
    fn cedulas_parse_and_normalise() {
        let cedula = Cedula::parse("v-12.345.678", "document").unwrap();
        assert_eq!(cedula.normalised(), "V12345678");
        assert!(Cedula::parse("E-81234567", "document").is_ok());
        assert_eq!(
            Cedula::parse("J-12345678", "document").unwrap_err().rule,
            "cedula_letter"
        );
        assert_eq!(
            Cedula::parse("V-123", "document").unwrap_err().rule,
            "cedula_format"
        );
        assert_eq!(
            Cedula::parse("V-000000", "document").unwrap_err().rule,
            "cedula_format"
        );
    }

    #[test]
    fn document_picks_rif_or_cedula() {
        let rif = Document::parse("J-00124134-5", "document").unwrap();
        assert_eq!(rif.kind(), DocumentKind::Rif);
        let cedula = Document::parse("V-12.345.678", "document").unwrap();
        assert_eq!(cedula.kind(), DocumentKind::Cedula);
        assert_eq!(
            Document::parse("V-12345678-9", "document")
                .unwrap_err()
                .rule,
            "rif_check_digit"
        );
        assert_eq!(
            Document::parse("J-1234", "document").unwrap_err().rule,
            "rif_format"
        );
        assert_eq!(
            Document::parse("X-1234567", "document").unwrap_err().rule,
            "document_letter"
        );
    }
}
