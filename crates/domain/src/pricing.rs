//! Unit price of a ticket.
//!
//! The price formula, the same on every channel, applies these steps in this
//! order to an amount in USD cents:
//! 1. the zone's base price;
//! 2. the active price stage's modifier, a percentage or a fixed amount;
//! 3. the row markup, a percentage in basis points that may be negative;
//! 4. the seat modifier, a fixed amount in cents that may be negative;
//! 5. the discount code's modifier, a percentage or a fixed amount.
//!
//! Each step rounds half away from zero to the cent and then clamps at zero, so
//! a price never goes below zero and a later step starts from the clamped
//! amount. A percentage step adds `round(price × basis_points / 10_000)` to the
//! price, so -2_000 basis points take 20 % off.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::money::div_round_half_away;

/// Smallest percentage modifier, -100 %, in basis points.
pub const MIN_MODIFIER_BASIS_POINTS: i64 = -10_000;
/// Largest percentage modifier, +1000 %, in basis points.
pub const MAX_MODIFIER_BASIS_POINTS: i64 = 100_000;
/// Largest fixed modifier in either direction: US$1,000,000.00 in cents.
pub const MAX_MODIFIER_USD_CENTS: i64 = 100_000_000;

/// A change to a price: a percentage of it or a fixed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Modifier {
    /// Percentage in basis points (-2_000 is -20 %).
    Percent { basis_points: i64 },
    /// Fixed amount in USD cents, added to the price (negative takes off).
    Fixed { usd_cents: i64 },
}

impl Modifier {
    /// Applies the modifier to a price in USD cents, rounding half away from zero
    /// to the cent and clamping the result at zero.
    ///
    /// Returns `None` only when the result does not fit in an `i64`.
    pub fn apply(self, price_usd_cents: i64) -> Option<i64> {
        let price = i128::from(price_usd_cents);
        let changed = match self {
            Modifier::Percent { basis_points } => {
                // An i64 × i64 product always fits in an i128.
                let change = div_round_half_away(price * i128::from(basis_points), 10_000);
                price + change
            }
            Modifier::Fixed { usd_cents } => price + i128::from(usd_cents),
        };
        i64::try_from(changed.max(0)).ok()
    }

    /// Checks the modifier against the limits of a configured price stage or
    /// discount code: a percentage within -100 %..=+1000 %, a fixed amount
    /// within ±US$1,000,000.00.
    pub fn validate(&self) -> Result<(), FieldError> {
        match *self {
            Modifier::Percent { basis_points } => {
                if !(MIN_MODIFIER_BASIS_POINTS..=MAX_MODIFIER_BASIS_POINTS).contains(&basis_points)
                {
                    return Err(FieldError::new("modifier.basis_points", "out_of_range"));
                }
            }
            Modifier::Fixed { usd_cents } => {
                if !(-MAX_MODIFIER_USD_CENTS..=MAX_MODIFIER_USD_CENTS).contains(&usd_cents) {
                    return Err(FieldError::new("modifier.usd_cents", "out_of_range"));
                }
            }
        }
        Ok(())
    }
}

/// Everything that sets the unit price of one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceInputs {
    /// The zone's base price in USD cents.
    pub base_usd_cents: i64,
    /// Modifier of the active price stage, if any.
    pub stage: Option<Modifier>,
    /// Markup of the seat's row in basis points. A negative markup lowers the price.
    pub row_markup_basis_points: i64,
    /// Seat's own modifier in USD cents. A negative modifier lowers the price.
    pub seat_modifier_usd_cents: i64,
    /// Modifier of the discount code, if any.
    pub discount: Option<Modifier>,
}

/// The unit price with the amount after each step of the price formula.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceBreakdown {
    pub base_usd_cents: i64,
    pub stage_modifier: Option<Modifier>,
    pub after_stage_usd_cents: i64,
    pub row_markup_basis_points: i64,
    pub after_row_usd_cents: i64,
    pub seat_modifier_usd_cents: i64,
    pub after_seat_usd_cents: i64,
    pub discount: Option<Modifier>,
    pub unit_price_usd_cents: i64,
}

/// Failure to compute a unit price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("the base price is negative")]
    Negative,
    #[error("a price does not fit in 64 bits")]
    Overflow,
}

/// Computes the unit price of a ticket with the price formula of this module,
/// and returns the amount after each step.
///
/// The modifiers are applied as given. Check configured ones with
/// [`Modifier::validate`] when they are saved.
pub fn unit_price(inputs: &PriceInputs) -> Result<PriceBreakdown, PriceError> {
    if inputs.base_usd_cents < 0 {
        return Err(PriceError::Negative);
    }

    let after_stage_usd_cents = apply_optional(inputs.stage, inputs.base_usd_cents)?;
    let row_markup = Modifier::Percent {
        basis_points: inputs.row_markup_basis_points,
    };
    let after_row_usd_cents = apply_step(row_markup, after_stage_usd_cents)?;
    let seat_modifier = Modifier::Fixed {
        usd_cents: inputs.seat_modifier_usd_cents,
    };
    let after_seat_usd_cents = apply_step(seat_modifier, after_row_usd_cents)?;
    let unit_price_usd_cents = apply_optional(inputs.discount, after_seat_usd_cents)?;

    Ok(PriceBreakdown {
        base_usd_cents: inputs.base_usd_cents,
        stage_modifier: inputs.stage,
        after_stage_usd_cents,
        row_markup_basis_points: inputs.row_markup_basis_points,
        after_row_usd_cents,
        seat_modifier_usd_cents: inputs.seat_modifier_usd_cents,
        after_seat_usd_cents,
        discount: inputs.discount,
        unit_price_usd_cents,
    })
}

fn apply_step(modifier: Modifier, price_usd_cents: i64) -> Result<i64, PriceError> {
    modifier.apply(price_usd_cents).ok_or(PriceError::Overflow)
}

fn apply_optional(modifier: Option<Modifier>, price_usd_cents: i64) -> Result<i64, PriceError> {
    match modifier {
        Some(modifier) => apply_step(modifier, price_usd_cents),
        None => Ok(price_usd_cents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(base_usd_cents: i64) -> PriceInputs {
        PriceInputs {
            base_usd_cents,
            stage: None,
            row_markup_basis_points: 0,
            seat_modifier_usd_cents: 0,
            discount: None,
        }
    }

    #[test]
    fn steps_apply_in_order() {
        // 25.00 - 20 % = 20.00, then + 10 % = 22.00, then + 1.50 = 23.50.
        let inputs = PriceInputs {
            stage: Some(Modifier::Percent {
                basis_points: -2_000,
            }),
            row_markup_basis_points: 1_000,
            seat_modifier_usd_cents: 150,
            ..plain(2_500)
        };
        let breakdown = unit_price(&inputs).unwrap();

        assert_eq!(breakdown.base_usd_cents, 2_500);
        assert_eq!(breakdown.after_stage_usd_cents, 2_000);
        assert_eq!(breakdown.after_row_usd_cents, 2_200);
        assert_eq!(breakdown.after_seat_usd_cents, 2_350);
        assert_eq!(breakdown.unit_price_usd_cents, 2_350);
    }

    #[test]
    fn discount_applies_last() {
        // 23.50 - 10 % = 21.15. The same discount before the seat modifier
        // would give 22.65.
        let inputs = PriceInputs {
            stage: Some(Modifier::Percent {
                basis_points: -2_000,
            }),
            row_markup_basis_points: 1_000,
            seat_modifier_usd_cents: 150,
            discount: Some(Modifier::Percent {
                basis_points: -1_000,
            }),
            ..plain(2_500)
        };
        assert_eq!(unit_price(&inputs).unwrap().unit_price_usd_cents, 2_115);
    }

    #[test]
    fn full_percent_off_gives_zero() {
        let inputs = PriceInputs {
            stage: Some(Modifier::Percent {
                basis_points: -10_000,
            }),
            row_markup_basis_points: 1_000,
            ..plain(2_500)
        };
        let breakdown = unit_price(&inputs).unwrap();
        assert_eq!(breakdown.after_stage_usd_cents, 0);
        assert_eq!(breakdown.unit_price_usd_cents, 0);
    }

    #[test]
    fn fixed_discount_clamps_at_zero() {
        // 25.00 - 50.00 clamps to 0.00, and +10 % of 0.00 stays 0.00. Only the
        // seat modifier then adds to it.
        let inputs = PriceInputs {
            stage: Some(Modifier::Fixed { usd_cents: -5_000 }),
            row_markup_basis_points: 1_000,
            seat_modifier_usd_cents: 100,
            ..plain(2_500)
        };
        let breakdown = unit_price(&inputs).unwrap();
        assert_eq!(breakdown.after_stage_usd_cents, 0);
        assert_eq!(breakdown.after_row_usd_cents, 0);
        assert_eq!(breakdown.after_seat_usd_cents, 100);
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        // 10 % of 0.05 is 0.005: +10 % gives 0.06, -10 % gives 0.04.
        let up = Modifier::Percent {
            basis_points: 1_000,
        };
        let down = Modifier::Percent {
            basis_points: -1_000,
        };
        assert_eq!(up.apply(5), Some(6));
        assert_eq!(down.apply(5), Some(4));
        // 10 % of 0.04 is 0.004, which rounds to zero.
        assert_eq!(up.apply(4), Some(4));
        assert_eq!(down.apply(4), Some(4));
    }

    #[test]
    fn negative_seat_modifier_lowers_price() {
        let inputs = PriceInputs {
            row_markup_basis_points: -500,
            seat_modifier_usd_cents: -250,
            ..plain(2_000)
        };
        let breakdown = unit_price(&inputs).unwrap();
        assert_eq!(breakdown.after_row_usd_cents, 1_900);
        assert_eq!(breakdown.unit_price_usd_cents, 1_650);
    }

    #[test]
    fn negative_base_is_rejected() {
        assert_eq!(unit_price(&plain(-1)), Err(PriceError::Negative));
    }

    #[test]
    fn overflow_is_reported() {
        let inputs = PriceInputs {
            seat_modifier_usd_cents: 1,
            ..plain(i64::MAX)
        };
        assert_eq!(unit_price(&inputs), Err(PriceError::Overflow));
        let doubled = Modifier::Percent {
            basis_points: 10_000,
        };
        assert_eq!(doubled.apply(i64::MAX), None);
        // A result below zero clamps instead of overflowing.
        let huge_cut = Modifier::Fixed {
            usd_cents: i64::MIN,
        };
        assert_eq!(huge_cut.apply(0), Some(0));
    }

    #[test]
    fn modifier_limits_are_checked() {
        let percent = |basis_points| Modifier::Percent { basis_points };
        let fixed = |usd_cents| Modifier::Fixed { usd_cents };
        assert!(percent(-10_000).validate().is_ok());
        assert!(percent(100_000).validate().is_ok());
        assert!(fixed(-100_000_000).validate().is_ok());
        assert!(fixed(100_000_000).validate().is_ok());

        let percent_error = FieldError::new("modifier.basis_points", "out_of_range");
        assert_eq!(percent(-10_001).validate(), Err(percent_error.clone()));
        assert_eq!(percent(100_001).validate(), Err(percent_error));
        let fixed_error = FieldError::new("modifier.usd_cents", "out_of_range");
        assert_eq!(fixed(-100_000_001).validate(), Err(fixed_error.clone()));
        assert_eq!(fixed(100_000_001).validate(), Err(fixed_error));
    }

    /// Modifiers within the limits that [`Modifier::validate`] accepts.
    fn valid_modifier() -> impl Strategy<Value = Modifier> {
        prop_oneof![
            (MIN_MODIFIER_BASIS_POINTS..=MAX_MODIFIER_BASIS_POINTS)
                .prop_map(|basis_points| Modifier::Percent { basis_points }),
            (-MAX_MODIFIER_USD_CENTS..=MAX_MODIFIER_USD_CENTS)
                .prop_map(|usd_cents| Modifier::Fixed { usd_cents }),
        ]
    }

    fn non_negative_modifier() -> impl Strategy<Value = Modifier> {
        prop_oneof![
            (0..=MAX_MODIFIER_BASIS_POINTS)
                .prop_map(|basis_points| Modifier::Percent { basis_points }),
            (0..=MAX_MODIFIER_USD_CENTS).prop_map(|usd_cents| Modifier::Fixed { usd_cents }),
        ]
    }

    fn valid_inputs() -> impl Strategy<Value = PriceInputs> {
        (
            0i64..10_000_000_000,
            prop::option::of(valid_modifier()),
            MIN_MODIFIER_BASIS_POINTS..=MAX_MODIFIER_BASIS_POINTS,
            -MAX_MODIFIER_USD_CENTS..=MAX_MODIFIER_USD_CENTS,
            prop::option::of(valid_modifier()),
        )
            .prop_map(|(base, stage, row, seat, discount)| PriceInputs {
                base_usd_cents: base,
                stage,
                row_markup_basis_points: row,
                seat_modifier_usd_cents: seat,
                discount,
            })
    }

    proptest! {
        #[test]
        fn price_is_never_negative(inputs in valid_inputs()) {
            let breakdown = unit_price(&inputs).unwrap();
            prop_assert!(breakdown.after_stage_usd_cents >= 0);
            prop_assert!(breakdown.after_row_usd_cents >= 0);
            prop_assert!(breakdown.after_seat_usd_cents >= 0);
            prop_assert!(breakdown.unit_price_usd_cents >= 0);
        }

        #[test]
        fn zero_modifiers_keep_base(
            base in 0i64..10_000_000_000,
            stage in prop::option::of(prop_oneof![
                Just(Modifier::Percent { basis_points: 0 }),
                Just(Modifier::Fixed { usd_cents: 0 }),
            ]),
        ) {
            let inputs = PriceInputs { stage, ..plain(base) };
            prop_assert_eq!(unit_price(&inputs).unwrap().unit_price_usd_cents, base);
        }

        #[test]
        fn each_step_is_reproducible(inputs in valid_inputs()) {
            let breakdown = unit_price(&inputs).unwrap();

            let after_stage = match inputs.stage {
                Some(stage) => stage.apply(inputs.base_usd_cents).unwrap(),
                None => inputs.base_usd_cents,
            };
            prop_assert_eq!(breakdown.after_stage_usd_cents, after_stage);

            let row = Modifier::Percent { basis_points: inputs.row_markup_basis_points };
            prop_assert_eq!(breakdown.after_row_usd_cents, row.apply(after_stage).unwrap());

            let seat = Modifier::Fixed { usd_cents: inputs.seat_modifier_usd_cents };
            let after_seat = seat.apply(breakdown.after_row_usd_cents).unwrap();
            prop_assert_eq!(breakdown.after_seat_usd_cents, after_seat);

            let unit = match inputs.discount {
                Some(discount) => discount.apply(after_seat).unwrap(),
                None => after_seat,
            };
            prop_assert_eq!(breakdown.unit_price_usd_cents, unit);

            prop_assert_eq!(unit_price(&inputs).unwrap(), breakdown);
        }

        #[test]
        fn price_is_monotone_in_base(
            base in 0i64..10_000_000_000,
            increase in 0i64..1_000_000,
            stage in prop::option::of(non_negative_modifier()),
            row in 0..=MAX_MODIFIER_BASIS_POINTS,
            seat in 0..=MAX_MODIFIER_USD_CENTS,
            discount in prop::option::of(non_negative_modifier()),
        ) {
            let lower = PriceInputs {
                base_usd_cents: base,
                stage,
                row_markup_basis_points: row,
                seat_modifier_usd_cents: seat,
                discount,
            };
            let higher = PriceInputs { base_usd_cents: base + increase, ..lower };
            let lower_price = unit_price(&lower).unwrap().unit_price_usd_cents;
            let higher_price = unit_price(&higher).unwrap().unit_price_usd_cents;
            prop_assert!(lower_price <= higher_price);
        }

        // Down to -100 %, a percentage step takes off at most one cent for each
        // cent added to its input, so each step stays monotone with negative
        // modifiers as well.
        #[test]
        fn valid_modifiers_keep_monotone(lower in valid_inputs(), increase in 0i64..1_000_000) {
            let higher = PriceInputs { base_usd_cents: lower.base_usd_cents + increase, ..lower };
            let lower_price = unit_price(&lower).unwrap().unit_price_usd_cents;
            let higher_price = unit_price(&higher).unwrap().unit_price_usd_cents;
            prop_assert!(lower_price <= higher_price);
        }
    }
}
