//! Venezuelan bank codes: the first 4 digits of a 20-digit account number, also
//! used as the bank identifier in Pago Móvil.
//!
//! Taken from the lists of Megasoft's pinpad plugin and a BCV-sourced validator;
//! historical codes (banks merged or closed) stay accepted so old references
//! still validate.

use crate::FieldError;

/// Known codes with the bank's display name.
pub const BANKS: &[(&str, &str)] = &[
    ("0001", "Banco Central de Venezuela"),
    ("0102", "Banco de Venezuela"),
    ("0104", "Venezolano de Crédito"),
    ("0105", "Mercantil"),
    ("0108", "BBVA Provincial"),
    ("0114", "Bancaribe"),
    ("0115", "Banco Exterior"),
    ("0116", "BOD (Banco Occidental de Descuento)"),
    ("0128", "Banco Caroní"),
    ("0134", "Banesco"),
    ("0137", "Sofitasa"),
    ("0138", "Banco Plaza"),
    ("0146", "Bangente"),
    ("0149", "Banco del Pueblo Soberano"),
    ("0151", "BFC Banco Fondo Común"),
    ("0156", "100% Banco"),
    ("0157", "DelSur"),
    ("0163", "Banco del Tesoro"),
    ("0166", "Banco Agrícola de Venezuela"),
    ("0168", "Bancrecer"),
    ("0169", "R4 Banco Microfinanciero (Mi Banco)"),
    ("0171", "Banco Activo"),
    ("0172", "Bancamiga"),
    ("0173", "Banco Internacional de Desarrollo"),
    ("0174", "Banplus"),
    (
        "0175",
        "BDT – Banco Digital de los Trabajadores (antes Bicentenario)",
    ),
    ("0176", "Banco Espírito Santo"),
    ("0177", "BANFANB"),
    ("0178", "N58 Banco Digital"),
    ("0190", "Citibank"),
    ("0191", "Banco Nacional de Crédito"),
    ("0601", "Instituto Municipal de Crédito Popular"),
];

/// A known 4-digit bank code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BankCode(&'static str);

impl BankCode {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        BANKS
            .iter()
            .find(|(code, _)| *code == trimmed)
            .map(|(code, _)| BankCode(code))
            .ok_or_else(|| FieldError::new(field, "bank_code_unknown"))
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    pub fn name(self) -> &'static str {
        BANKS
            .iter()
            .find(|(code, _)| *code == self.0)
            .map(|(_, name)| *name)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse() {
        assert_eq!(
            BankCode::parse("0102", "bank_code").unwrap().name(),
            "Banco de Venezuela"
        );
        assert_eq!(
            BankCode::parse(" 0175 ", "bank_code").unwrap().code(),
            "0175"
        );
    }

    #[test]
    fn unknown_codes_are_rejected() {
        for input in ["0106", "102", "abcd", ""] {
            assert!(BankCode::parse(input, "bank_code").is_err(), "{input}");
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = BANKS.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), BANKS.len());
    }
}
