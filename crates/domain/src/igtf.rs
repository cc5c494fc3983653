//! IGTF (Impuesto a las Grandes Transacciones Financieras), the tax on payments
//! in foreign currency or crypto-assets.
//!
//! The tax is a percentage of the foreign-currency part of a payment, charged
//! on top of it and shown apart. It is not part of the IVA base and does not
//! count toward the order's balance. Amounts are minor units of the currency
//! paid.
//!
//! NOTE: no rounding rule specific to IGTF was found, so it uses the general
//! rule of this crate, half away from zero to the minor unit.

use serde::{Deserialize, Serialize};

use crate::money::{apply_basis_points, div_round_half_away};

/// IGTF rate on foreign-currency payments, 3 %, in basis points. The law allows
/// rates from 2 % to 20 %, so the functions here take the rate as a parameter.
pub const IGTF_DEFAULT_BASIS_POINTS: i64 = 300;

/// Computes the IGTF on a payment of `base_cents`, rounded half away from zero.
///
/// Returns `None` when the tax does not fit in an `i64`.
pub fn igtf_on(base_cents: i64, basis_points: i64) -> Option<i64> {
    apply_basis_points(base_cents, basis_points)
}

/// The parts of an amount received that includes its IGTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IgtfSplit {
    /// Amount that counts as payment of the order.
    pub base_cents: i64,
    /// IGTF on `base_cents`.
    pub igtf_cents: i64,
    /// Remainder that pays neither the order nor the tax, left by rounding. It is
    /// zero or one cent when the rate is at most 100 %.
    pub leftover_cents: i64,
}

/// Splits an amount received into the largest payment base whose IGTF still
/// fits, that IGTF, and the leftover.
///
/// The base is the largest `B ≥ 0` with `B + igtf_on(B) ≤ received_cents`, and
/// `base + igtf + leftover == received_cents` always holds. Returns `None` when
/// `received_cents` or `basis_points` is negative.
pub fn split_received(received_cents: i64, basis_points: i64) -> Option<IgtfSplit> {
    if received_cents < 0 || basis_points < 0 {
        return None;
    }
    let received = i128::from(received_cents);
    let rate = i128::from(basis_points);
    let charged = |base: i128| base + div_round_half_away(base * rate, 10_000);

    // The estimate B0 = floor(received × 10_000 / (10_000 + bp)) always fits,
    // because B0 + B0 × bp / 10_000 ≤ received and rounding adds at most half a
    // cent to a whole number. B0 + 1 already reaches received, because rounding
    // takes off less than half a cent, so B0 + 2 never fits. The loops below
    // therefore run at most once and only add the cent that rounding may allow.
    let mut base = received * 10_000 / (10_000 + rate);
    while charged(base + 1) <= received {
        base += 1;
    }
    while base > 0 && charged(base) > received {
        base -= 1;
    }

    let igtf = charged(base) - base;
    Some(IgtfSplit {
        base_cents: i64::try_from(base).ok()?,
        igtf_cents: i64::try_from(igtf).ok()?,
        leftover_cents: i64::try_from(received - base - igtf).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn igtf_is_three_percent_by_default() {
        // 3 % of US$10.00 is US$0.30.
        assert_eq!(igtf_on(1_000, IGTF_DEFAULT_BASIS_POINTS), Some(30));
        // 3 % of US$0.50 is 1.5 cents, rounded to 2.
        assert_eq!(igtf_on(50, IGTF_DEFAULT_BASIS_POINTS), Some(2));
        // 3 % of US$0.49 is 1.47 cents, rounded to 1.
        assert_eq!(igtf_on(49, IGTF_DEFAULT_BASIS_POINTS), Some(1));
    }

    #[test]
    fn ten_dollars_thirty_splits_exactly() {
        // A customer who hands over US$10.30 in cash pays US$10.00 of the order
        // and US$0.30 of IGTF.
        let split = split_received(1_030, IGTF_DEFAULT_BASIS_POINTS).unwrap();
        assert_eq!(
            split,
            IgtfSplit {
                base_cents: 1_000,
                igtf_cents: 30,
                leftover_cents: 0,
            }
        );
    }

    #[test]
    fn split_takes_the_cent_above_the_estimate() {
        // floor(1031 × 10_000 / 10_300) is 1000, but 10.01 + round(0.3003) = 10.31 fits.
        let split = split_received(1_031, IGTF_DEFAULT_BASIS_POINTS).unwrap();
        assert_eq!(split.base_cents, 1_001);
        assert_eq!(split.igtf_cents, 30);
        assert_eq!(split.leftover_cents, 0);
    }

    #[test]
    fn split_can_leave_one_cent() {
        // 0.16 carries 0.0048 of IGTF, rounded to 0. 0.17 would carry 0.0051,
        // rounded to 0.01, and 0.18 exceeds 0.17.
        let split = split_received(17, IGTF_DEFAULT_BASIS_POINTS).unwrap();
        assert_eq!(split.base_cents, 16);
        assert_eq!(split.igtf_cents, 0);
        assert_eq!(split.leftover_cents, 1);
    }

    #[test]
    fn split_handles_zero_and_rejects_negatives() {
        let zero = split_received(0, IGTF_DEFAULT_BASIS_POINTS).unwrap();
        assert_eq!(zero.base_cents, 0);
        assert_eq!(zero.igtf_cents, 0);
        assert_eq!(zero.leftover_cents, 0);

        assert_eq!(split_received(-1, IGTF_DEFAULT_BASIS_POINTS), None);
        assert_eq!(split_received(1_000, -1), None);
    }

    #[test]
    fn zero_rate_keeps_everything() {
        let split = split_received(12_345, 0).unwrap();
        assert_eq!(split.base_cents, 12_345);
        assert_eq!(split.igtf_cents, 0);
        assert_eq!(split.leftover_cents, 0);
    }

    #[test]
    fn split_works_at_i64_max() {
        let split = split_received(i64::MAX, IGTF_DEFAULT_BASIS_POINTS).unwrap();
        let sum = i128::from(split.base_cents)
            + i128::from(split.igtf_cents)
            + i128::from(split.leftover_cents);
        assert_eq!(sum, i128::from(i64::MAX));
    }

    proptest! {
        #[test]
        fn split_parts_add_up(received in 0i64..10_000_000_000, basis_points in 0i64..2_000) {
            let split = split_received(received, basis_points).unwrap();
            prop_assert_eq!(split.base_cents + split.igtf_cents + split.leftover_cents, received);
            prop_assert_eq!(Some(split.igtf_cents), igtf_on(split.base_cents, basis_points));
        }

        #[test]
        fn split_base_is_largest(received in 0i64..10_000_000_000, basis_points in 0i64..2_000) {
            let split = split_received(received, basis_points).unwrap();
            let next = split.base_cents + 1;
            prop_assert!(next + igtf_on(next, basis_points).unwrap() > received);
        }

        #[test]
        fn split_leftover_is_small(received in 0i64..10_000_000_000, basis_points in 0i64..2_000) {
            let split = split_received(received, basis_points).unwrap();
            prop_assert!(split.leftover_cents >= 0);
            prop_assert!(split.leftover_cents < 2);
        }
    }
}
