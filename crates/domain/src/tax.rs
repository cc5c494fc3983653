//! Order totals and taxes.
//!
//! Rounding points, in this order and nowhere else:
//! 1. USD line total = unit price × quantity (exact);
//! 2. Bs. line total = USD line total × rate, rounded to the céntimo;
//! 3. per tax rate, tax = rate × (sum of the Bs. line totals taxed at that rate),
//!    rounded to the céntimo (the invoice shows base and tax per rate);
//! 4. document totals are sums of rounded figures, so base + tax = total exactly.
//!
//! The USD figures are computed the same way on the USD amounts; they are shown
//! for information, while the bolívar figures are the fiscal truth.
//!
//! [`compute_document_totals`] computes totals under configurable tax rules
//! (percentage, fixed per ticket or per order, compound, and IVA or other
//! taxes). Its rounding scheme, documented on the function, reduces to the one
//! above when the only rule is a single IVA percentage.

use serde::Serialize;

use crate::money::{ExchangeRate, apply_basis_points};

mod rules;

pub use rules::{
    DocumentLineTotals, DocumentTotals, MAX_RULE_BASIS_POINTS, MAX_RULE_NAME_CHARS,
    MAX_RULE_USD_CENTS, RuleTotals, TaxCategory, TaxKind, TaxRule, TaxedLine,
    compute_document_totals,
};

/// IVA general rate, 16 %, in basis points.
pub const IVA_GENERAL_BASIS_POINTS: i64 = 1_600;

/// One priced line of an order before taxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub quantity: i64,
    pub unit_price_usd_cents: i64,
    /// Tax rate applied to this line, in basis points; `None` marks an exempt line.
    pub tax_basis_points: Option<i64>,
}

/// A line's totals in both currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineTotals {
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
}

/// Base and tax for one tax rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateTotals {
    pub rate_basis_points: i64,
    pub base_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub base_bs_cents: i64,
    pub tax_bs_cents: i64,
}

/// Totals of a whole order or fiscal document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderTotals {
    pub lines: Vec<LineTotals>,
    pub rates: Vec<RateTotals>,
    pub exempt_usd_cents: i64,
    pub exempt_bs_cents: i64,
    pub subtotal_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub total_usd_cents: i64,
    pub subtotal_bs_cents: i64,
    pub tax_bs_cents: i64,
    pub total_bs_cents: i64,
}

/// Failure to compute totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    #[error("a quantity or price is negative")]
    Negative,
    #[error("an amount does not fit in 64 bits")]
    Overflow,
}

/// Computes the totals of `lines` at `rate`, following the rounding points above.
pub fn compute_totals(lines: &[LineInput], rate: ExchangeRate) -> Result<OrderTotals, TotalsError> {
    let mut line_totals = Vec::with_capacity(lines.len());
    let mut rates: Vec<RateTotals> = Vec::new();
    let mut exempt_usd_cents = 0_i64;
    let mut exempt_bs_cents = 0_i64;

    for line in lines {
        if line.quantity < 0 || line.unit_price_usd_cents < 0 {
            return Err(TotalsError::Negative);
        }
        let total_usd_cents = line
            .quantity
            .checked_mul(line.unit_price_usd_cents)
            .ok_or(TotalsError::Overflow)?;
        let total_bs_cents = rate
            .usd_to_bs(total_usd_cents)
            .ok_or(TotalsError::Overflow)?;
        line_totals.push(LineTotals {
            total_usd_cents,
            total_bs_cents,
        });

        match line.tax_basis_points {
            None => {
                exempt_usd_cents = checked_sum(exempt_usd_cents, total_usd_cents)?;
                exempt_bs_cents = checked_sum(exempt_bs_cents, total_bs_cents)?;
            }
            Some(basis_points) => {
                let position = match rates
                    .iter()
                    .position(|entry| entry.rate_basis_points == basis_points)
                {
                    Some(position) => position,
                    None => {
                        rates.push(RateTotals {
                            rate_basis_points: basis_points,
                            base_usd_cents: 0,
                            tax_usd_cents: 0,
                            base_bs_cents: 0,
                            tax_bs_cents: 0,
                        });
                        rates.len() - 1
                    }
                };
                let entry = &mut rates[position];
                entry.base_usd_cents = checked_sum(entry.base_usd_cents, total_usd_cents)?;
                entry.base_bs_cents = checked_sum(entry.base_bs_cents, total_bs_cents)?;
            }
        }
    }

    // Tax is rounded once per rate, on the summed base of that rate.
    for entry in &mut rates {
        entry.tax_usd_cents = apply_basis_points(entry.base_usd_cents, entry.rate_basis_points)
            .ok_or(TotalsError::Overflow)?;
        entry.tax_bs_cents = apply_basis_points(entry.base_bs_cents, entry.rate_basis_points)
            .ok_or(TotalsError::Overflow)?;
    }
    rates.sort_by_key(|entry| entry.rate_basis_points);

    let mut totals = OrderTotals {
        lines: line_totals,
        rates,
        exempt_usd_cents,
        exempt_bs_cents,
        subtotal_usd_cents: exempt_usd_cents,
        tax_usd_cents: 0,
        total_usd_cents: 0,
        subtotal_bs_cents: exempt_bs_cents,
        tax_bs_cents: 0,
        total_bs_cents: 0,
    };
    for entry in &totals.rates {
        totals.subtotal_usd_cents = checked_sum(totals.subtotal_usd_cents, entry.base_usd_cents)?;
        totals.subtotal_bs_cents = checked_sum(totals.subtotal_bs_cents, entry.base_bs_cents)?;
        totals.tax_usd_cents = checked_sum(totals.tax_usd_cents, entry.tax_usd_cents)?;
        totals.tax_bs_cents = checked_sum(totals.tax_bs_cents, entry.tax_bs_cents)?;
    }
    totals.total_usd_cents = checked_sum(totals.subtotal_usd_cents, totals.tax_usd_cents)?;
    totals.total_bs_cents = checked_sum(totals.subtotal_bs_cents, totals.tax_bs_cents)?;
    Ok(totals)
}

fn checked_sum(left: i64, right: i64) -> Result<i64, TotalsError> {
    left.checked_add(right).ok_or(TotalsError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn taxed(quantity: i64, unit_price_usd_cents: i64) -> LineInput {
        LineInput {
            quantity,
            unit_price_usd_cents,
            tax_basis_points: Some(IVA_GENERAL_BASIS_POINTS),
        }
    }

    #[test]
    fn two_seats_at_iva_sixteen() {
        let rate = ExchangeRate::parse("36.12345678").unwrap();
        let totals = compute_totals(&[taxed(1, 2_500), taxed(1, 2_500)], rate).unwrap();

        assert_eq!(totals.lines[0].total_bs_cents, 90_309);
        assert_eq!(totals.subtotal_bs_cents, 180_618);
        // 16 % of 1,806.18 is 288.9888, rounded to 288.99.
        assert_eq!(totals.tax_bs_cents, 28_899);
        assert_eq!(totals.total_bs_cents, 209_517);
        assert_eq!(totals.subtotal_usd_cents, 5_000);
        assert_eq!(totals.tax_usd_cents, 800);
        assert_eq!(totals.total_usd_cents, 5_800);
    }

    #[test]
    fn tax_is_rounded_on_the_summed_base() {
        // Three lines of 0.10 Bs. each: per-line tax would round 0.016 to 0.02
        // three times (0.06); the summed base 0.30 gives 0.048, rounded 0.05.
        let rate = ExchangeRate::parse("1").unwrap();
        let totals = compute_totals(&[taxed(1, 10), taxed(1, 10), taxed(1, 10)], rate).unwrap();
        assert_eq!(totals.tax_bs_cents, 5);
    }

    #[test]
    fn exempt_lines_have_no_tax() {
        let rate = ExchangeRate::parse("40").unwrap();
        let exempt = LineInput {
            quantity: 2,
            unit_price_usd_cents: 1_000,
            tax_basis_points: None,
        };
        let totals = compute_totals(&[exempt, taxed(1, 1_000)], rate).unwrap();
        assert_eq!(totals.exempt_bs_cents, 80_000);
        assert_eq!(totals.tax_bs_cents, 6_400);
        assert_eq!(totals.total_bs_cents, 80_000 + 40_000 + 6_400);
    }

    #[test]
    fn negative_input_is_rejected() {
        let rate = ExchangeRate::parse("40").unwrap();
        assert_eq!(
            compute_totals(&[taxed(-1, 100)], rate),
            Err(TotalsError::Negative)
        );
        assert_eq!(
            compute_totals(&[taxed(1, -100)], rate),
            Err(TotalsError::Negative)
        );
    }

    proptest! {
        #[test]
        fn totals_add_up_exactly(
            prices in proptest::collection::vec((1i64..10, 0i64..100_000, prop::option::of(prop::sample::select(vec![0i64, 800, 1_600]))), 1..20),
            scaled in 1_000_000i64..1_000_000_000_000,
        ) {
            let rate = ExchangeRate::from_scaled(scaled).unwrap();
            let lines: Vec<LineInput> = prices
                .iter()
                .map(|(quantity, price, tax)| LineInput { quantity: *quantity, unit_price_usd_cents: *price, tax_basis_points: *tax })
                .collect();
            let totals = compute_totals(&lines, rate).unwrap();

            let line_bs: i64 = totals.lines.iter().map(|line| line.total_bs_cents).sum();
            prop_assert_eq!(line_bs, totals.subtotal_bs_cents);
            let rate_bases: i64 = totals.rates.iter().map(|entry| entry.base_bs_cents).sum();
            prop_assert_eq!(rate_bases + totals.exempt_bs_cents, totals.subtotal_bs_cents);
            let rate_taxes: i64 = totals.rates.iter().map(|entry| entry.tax_bs_cents).sum();
            prop_assert_eq!(rate_taxes, totals.tax_bs_cents);
            prop_assert_eq!(totals.subtotal_bs_cents + totals.tax_bs_cents, totals.total_bs_cents);
            prop_assert_eq!(totals.subtotal_usd_cents + totals.tax_usd_cents, totals.total_usd_cents);
        }
    }
}
