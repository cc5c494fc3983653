//! Exact money arithmetic.
//!
//! Amounts are `i64` minor units (cents of USD, céntimos of Bs.). Exchange rates
//! are Bs. per USD scaled by 10^8, as the BCV publishes them with 8 decimals.
//! Products are taken in `i128`, so no intermediate result overflows.
//!
//! Rounding rule, used at every rounding point: half away from zero to the
//! minor unit. The BCV redenomination rules state half-up to the céntimo; for
//! the non-negative amounts of a sale the two are the same.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Scale of an [`ExchangeRate`]: 8 decimal places.
pub const RATE_SCALE: i64 = 100_000_000;

/// ISO 4217 currency of an amount. `VES` is the bolívar (displayed «Bs.»).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Usd,
    Ves,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Ves => "VES",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "USD" => Some(Currency::Usd),
            "VES" => Some(Currency::Ves),
            _ => None,
        }
    }
}

/// Divides `numerator` by a positive `denominator`, rounding half away from zero.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0, "denominator must be positive");
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// Narrows an `i128` result back to `i64` minor units; `None` on overflow.
fn narrow(value: i128) -> Option<i64> {
    i64::try_from(value).ok()
}

/// Applies a rate in basis points (1600 = 16 %) to an amount, rounded half away from zero.
pub fn apply_basis_points(amount: i64, basis_points: i64) -> Option<i64> {
    narrow(div_round_half_away(
        i128::from(amount) * i128::from(basis_points),
        10_000,
    ))
}

/// Bs. per USD with 8 decimals, stored as an integer scaled by 10^8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeRate(i64);

impl ExchangeRate {
    /// Builds a rate from its scaled integer form (36.5 Bs./USD is `3_650_000_000`).
    pub fn from_scaled(scaled: i64) -> Result<Self, FieldError> {
        if scaled <= 0 {
            return Err(FieldError::new("rate", "positive"));
        }
        Ok(Self(scaled))
    }

    /// Parses a decimal rate as published: `36,12345678` or `36.12345678`, at most
    /// 8 decimals, thousands separators not allowed.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("rate", "decimal_with_at_most_8_places");
        let text = text.trim();
        let normalised = text.replace(',', ".");
        let (whole, fraction) = match normalised.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (normalised.as_str(), ""),
        };
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty() || whole.len() > 10 || !all_digits(whole) {
            return Err(invalid());
        }
        if fraction.len() > 8 || !all_digits(fraction) {
            return Err(invalid());
        }

        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let mut fraction_scaled: i64 = 0;
        if !fraction.is_empty() {
            let digits: i64 = fraction.parse().map_err(|_| invalid())?;
            fraction_scaled = digits * 10_i64.pow(8 - fraction.len() as u32);
        }
        let scaled = whole
            .checked_mul(RATE_SCALE)
            .and_then(|value| value.checked_add(fraction_scaled))
            .ok_or_else(invalid)?;
        Self::from_scaled(scaled)
    }

    pub fn scaled(self) -> i64 {
        self.0
    }

    /// Converts USD cents to Bs. céntimos, rounded half away from zero.
    pub fn usd_to_bs(self, usd_cents: i64) -> Option<i64> {
        narrow(div_round_half_away(
            i128::from(usd_cents) * i128::from(self.0),
            i128::from(RATE_SCALE),
        ))
    }

    /// Converts Bs. céntimos to USD cents, rounded half away from zero.
    pub fn bs_to_usd(self, bs_cents: i64) -> Option<i64> {
        narrow(div_round_half_away(
            i128::from(bs_cents) * i128::from(RATE_SCALE),
            i128::from(self.0),
        ))
    }

    /// Converts Bs. céntimos to the smallest number of USD cents worth at least that much.
    pub fn bs_to_usd_ceil(self, bs_cents: i64) -> Option<i64> {
        let numerator = i128::from(bs_cents) * i128::from(RATE_SCALE);
        let denominator = i128::from(self.0);
        let mut quotient = numerator / denominator;
        if numerator % denominator > 0 {
            quotient += 1;
        }
        narrow(quotient)
    }
}

impl std::fmt::Display for ExchangeRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:08}", self.0 / RATE_SCALE, self.0 % RATE_SCALE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_goes_half_away_from_zero() {
        assert_eq!(div_round_half_away(5, 10), 1);
        assert_eq!(div_round_half_away(4, 10), 0);
        assert_eq!(div_round_half_away(15, 10), 2);
        assert_eq!(div_round_half_away(-5, 10), -1);
        assert_eq!(div_round_half_away(-4, 10), 0);
    }

    #[test]
    fn rate_parses_comma_and_dot() {
        let comma = ExchangeRate::parse("36,12345678").unwrap();
        let dot = ExchangeRate::parse("36.12345678").unwrap();
        assert_eq!(comma, dot);
        assert_eq!(comma.scaled(), 3_612_345_678);
        assert_eq!(ExchangeRate::parse("40").unwrap().scaled(), 4_000_000_000);
        assert_eq!(ExchangeRate::parse("40.5").unwrap().scaled(), 4_050_000_000);
        assert_eq!(comma.to_string(), "36.12345678");
    }

    #[test]
    fn rate_rejects_bad_text() {
        for text in ["", "abc", "1.123456789", "-3", "0", "1.2.3", "1 000", ".5"] {
            assert!(ExchangeRate::parse(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn conversion_uses_all_eight_decimals() {
        // 25.00 USD at 36.12345678 is 903.0864195 Bs., which rounds to 903.09.
        let rate = ExchangeRate::parse("36.12345678").unwrap();
        assert_eq!(rate.usd_to_bs(2_500), Some(90_309));
        // A display-rounded rate (36.12) would give 903.00: a 9-céntimo error.
        let rounded = ExchangeRate::parse("36.12").unwrap();
        assert_eq!(rounded.usd_to_bs(2_500), Some(90_300));
    }

    #[test]
    fn basis_points_round_half_up() {
        assert_eq!(apply_basis_points(90_309, 1_600), Some(14_449));
        assert_eq!(apply_basis_points(3_125, 1_600), Some(500));
        assert_eq!(apply_basis_points(3, 5_000), Some(2));
    }

    proptest! {
        #[test]
        fn usd_round_trip_is_within_one_cent(usd in 0i64..1_000_000_000, scaled in 1_000_000i64..100_000_000_000_000) {
            let rate = ExchangeRate::from_scaled(scaled).unwrap();
            let bs = rate.usd_to_bs(usd).unwrap();
            let back = rate.bs_to_usd(bs).unwrap();
            // Converting back loses at most what the céntimo rounding lost, which is
            // at most one cent when the rate is at least 1 Bs. per USD.
            if scaled >= RATE_SCALE {
                prop_assert!((back - usd).abs() <= 1);
            }
        }

        #[test]
        fn ceil_conversion_covers_the_amount(bs in 0i64..10_000_000_000, scaled in RATE_SCALE..100_000_000_000_000) {
            let rate = ExchangeRate::from_scaled(scaled).unwrap();
            let usd = rate.bs_to_usd_ceil(bs).unwrap();
            prop_assert!(rate.usd_to_bs(usd).unwrap() >= bs);
            if usd > 0 {
                prop_assert!(rate.usd_to_bs(usd - 1).unwrap() <= bs);
            }
        }
    }
}
