//! Configurable tax rules: percentages, fixed amounts per ticket or per order,
//! compound percentages and exempt lines.
//!
//! The rounding scheme is documented on [`compute_document_totals`].

use serde::{Deserialize, Serialize};

use super::TotalsError;
use crate::FieldError;
use crate::money::{ExchangeRate, apply_basis_points};

/// Largest percentage of a tax rule, 100 %, in basis points.
pub const MAX_RULE_BASIS_POINTS: i64 = 10_000;
/// Largest fixed amount of a tax rule: US$1,000,000.00 in cents.
pub const MAX_RULE_USD_CENTS: i64 = 100_000_000;
/// Maximum length of a tax rule's name, in characters.
pub const MAX_RULE_NAME_CHARS: usize = 80;

/// Category of a tax, which decides whether exempt lines pay it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxCategory {
    /// Impuesto al valor agregado. Exempt lines skip rules of this category.
    Iva,
    /// Any other tax, such as a municipal tax. It applies to exempt lines too.
    Other,
}

/// Amount of a tax rule: a percentage of the subject lines or a fixed USD sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaxKind {
    /// Percentage of the subject lines' totals, in basis points (1_600 is 16 %).
    Percentage { basis_points: i64 },
    /// USD amount in cents for each ticket on a subject line.
    FixedPerTicket { usd_cents: i64 },
    /// USD amount in cents, once per document with at least one subject line.
    FixedPerOrder { usd_cents: i64 },
}

/// A configured tax, as frozen on the documents that applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxRule {
    /// The rule's id as text, so a document's figures can be traced to the rule
    /// after the rule changes.
    pub key: String,
    /// Name printed on the invoice.
    pub name: String,
    pub category: TaxCategory,
    pub kind: TaxKind,
    /// Whether a percentage rule also taxes the other rules' taxes. Fixed rules
    /// ignore it.
    pub compound: bool,
}

impl TaxRule {
    /// Checks the name (1 to 80 characters after trimming), a percentage within
    /// 0..=100 %, and a fixed amount within 0..=US$1,000,000.00.
    ///
    /// The error's field follows the JSON shape of the rule: `name`,
    /// `kind.basis_points` or `kind.usd_cents`.
    pub fn validate(&self) -> Result<(), FieldError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "required"));
        }
        if name.chars().count() > MAX_RULE_NAME_CHARS {
            return Err(FieldError::new("name", "too_long"));
        }

        match self.kind {
            TaxKind::Percentage { basis_points } => {
                if !(0..=MAX_RULE_BASIS_POINTS).contains(&basis_points) {
                    return Err(FieldError::new("kind.basis_points", "out_of_range"));
                }
            }
            TaxKind::FixedPerTicket { usd_cents } | TaxKind::FixedPerOrder { usd_cents } => {
                if !(0..=MAX_RULE_USD_CENTS).contains(&usd_cents) {
                    return Err(FieldError::new("kind.usd_cents", "out_of_range"));
                }
            }
        }
        Ok(())
    }

    /// Returns the rate of a compound percentage rule, the only kind of rule
    /// that taxes other taxes.
    fn compound_basis_points(&self) -> Option<i64> {
        match self.kind {
            TaxKind::Percentage { basis_points } if self.compound => Some(basis_points),
            _ => None,
        }
    }
}

/// One priced line of a document before taxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxedLine {
    pub quantity: i64,
    pub unit_price_usd_cents: i64,
    /// Whether the line is exempt from IVA. Rules of category `Other` still apply.
    pub exempt: bool,
}

/// Base and tax of one rule on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleTotals {
    pub key: String,
    pub name: String,
    pub category: TaxCategory,
    pub kind: TaxKind,
    pub compound: bool,
    pub base_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub base_bs_cents: i64,
    pub tax_bs_cents: i64,
}

/// A line's totals in both currencies and the rules that taxed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentLineTotals {
    pub total_usd_cents: i64,
    pub total_bs_cents: i64,
    pub exempt: bool,
    /// Keys of the rules this line is subject to, in rule order.
    pub rule_keys: Vec<String>,
}

/// Totals of a whole order or fiscal document under configurable tax rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentTotals {
    /// One entry per input line, in input order.
    pub lines: Vec<DocumentLineTotals>,
    /// One entry per rule in input order, leaving out rules with no subject line.
    pub rules: Vec<RuleTotals>,
    pub exempt_usd_cents: i64,
    pub exempt_bs_cents: i64,
    pub subtotal_usd_cents: i64,
    pub tax_usd_cents: i64,
    pub total_usd_cents: i64,
    pub subtotal_bs_cents: i64,
    pub tax_bs_cents: i64,
    pub total_bs_cents: i64,
}

/// An amount in both currencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Amount {
    usd_cents: i64,
    bs_cents: i64,
}

impl Amount {
    fn checked_add(self, other: Amount) -> Result<Amount, TotalsError> {
        Ok(Amount {
            usd_cents: checked_sum(self.usd_cents, other.usd_cents)?,
            bs_cents: checked_sum(self.bs_cents, other.bs_cents)?,
        })
    }
}

/// An input line with its rounded totals (step 1).
#[derive(Debug, Clone, Copy)]
struct PricedLine {
    input: TaxedLine,
    total: Amount,
}

/// Computes the totals of `lines` under `rules` at `rate`, rounding at these
/// points and nowhere else:
///
/// 1. USD line total = quantity × unit price (exact). Bs. line total = the USD
///    line total at the document's rate, rounded to the céntimo.
/// 2. A line is subject to a rule unless the line is exempt and the rule is of
///    category [`TaxCategory::Iva`]. Exempt lines therefore still pay taxes of
///    category [`TaxCategory::Other`], such as the municipal tax on public shows.
///    Fixed rules also skip lines with a unit price of zero (courtesies) or a
///    quantity of zero.
/// 3. Percentage rule: base = sum of the Bs. totals of its subject lines, and
///    tax = round(base × basis_points / 10_000), once per rule.
/// 4. Fixed per ticket: the USD amount is converted to Bs. once and rounded,
///    then multiplied by the number of tickets on subject lines. The base shown
///    is the sum of the subject lines' totals.
/// 5. Fixed per order: the USD amount converted to Bs. and rounded, charged once
///    when at least one line is subject. The base shown is as in step 4.
/// 6. Compound percentage rule: base = sum of the Bs. totals of its subject
///    lines, plus, for every rule that is not a compound percentage, the tax that
///    rule gives by step 3, 4 or 5 on the lines subject to both rules. Then tax =
///    round(base × basis_points / 10_000). The base shown is this whole base.
///    Compound percentages never include each other, and a compound flag on a
///    fixed rule has no effect.
/// 7. Document totals are sums of rounded figures: subtotal = sum of the line
///    totals, tax = sum of the rule taxes, total = subtotal + tax.
///
/// Every rounding is half away from zero. The USD figures follow the same steps
/// on the USD amounts, without conversion. They are shown for information,
/// while the bolívar figures are the fiscal truth. With a single non-compound
/// percentage rule of category IVA, the figures equal those of
/// [`compute_totals`](super::compute_totals).
///
/// Returns [`TotalsError::Negative`] for a negative quantity, unit price, rule
/// percentage or fixed amount, and [`TotalsError::Overflow`] when a figure does not fit in 64
/// bits. Rules are not otherwise validated here; see [`TaxRule::validate`].
pub fn compute_document_totals(
    lines: &[TaxedLine],
    rules: &[TaxRule],
    rate: ExchangeRate,
) -> Result<DocumentTotals, TotalsError> {
    check_rule_amounts(rules)?;
    let priced = price_lines(lines, rate)?;

    let mut line_rule_keys: Vec<Vec<String>> = vec![Vec::new(); priced.len()];
    let mut rule_totals = Vec::new();
    for rule in rules {
        let subject_indices: Vec<usize> = (0..priced.len())
            .filter(|&index| is_subject(&priced[index].input, rule))
            .collect();
        if subject_indices.is_empty() {
            continue;
        }
        let subject: Vec<&PricedLine> = subject_indices
            .iter()
            .map(|&index| &priced[index])
            .collect();

        let (base, tax) = match rule.compound_basis_points() {
            Some(basis_points) => {
                let base = compound_base(rules, &subject, rate)?;
                (base, percentage_of(base, basis_points)?)
            }
            None => (
                sum_line_totals(&subject)?,
                simple_tax(rule.kind, &subject, rate)?,
            ),
        };
        for &index in &subject_indices {
            line_rule_keys[index].push(rule.key.clone());
        }
        rule_totals.push(RuleTotals {
            key: rule.key.clone(),
            name: rule.name.clone(),
            category: rule.category,
            kind: rule.kind,
            compound: rule.compound,
            base_usd_cents: base.usd_cents,
            tax_usd_cents: tax.usd_cents,
            base_bs_cents: base.bs_cents,
            tax_bs_cents: tax.bs_cents,
        });
    }

    summarise(&priced, line_rule_keys, rule_totals)
}

fn check_rule_amounts(rules: &[TaxRule]) -> Result<(), TotalsError> {
    for rule in rules {
        let amount = match rule.kind {
            TaxKind::Percentage { basis_points } => basis_points,
            TaxKind::FixedPerTicket { usd_cents } | TaxKind::FixedPerOrder { usd_cents } => {
                usd_cents
            }
        };
        if amount < 0 {
            return Err(TotalsError::Negative);
        }
    }
    Ok(())
}

/// Computes each line's totals in both currencies (step 1).
fn price_lines(lines: &[TaxedLine], rate: ExchangeRate) -> Result<Vec<PricedLine>, TotalsError> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        if line.quantity < 0 || line.unit_price_usd_cents < 0 {
            return Err(TotalsError::Negative);
        }
        let usd_cents = line
            .quantity
            .checked_mul(line.unit_price_usd_cents)
            .ok_or(TotalsError::Overflow)?;
        let bs_cents = rate.usd_to_bs(usd_cents).ok_or(TotalsError::Overflow)?;
        priced.push(PricedLine {
            input: *line,
            total: Amount {
                usd_cents,
                bs_cents,
            },
        });
    }
    Ok(priced)
}

/// Decides whether `rule` applies to `line` (step 2).
fn is_subject(line: &TaxedLine, rule: &TaxRule) -> bool {
    if line.exempt && rule.category == TaxCategory::Iva {
        return false;
    }
    match rule.kind {
        TaxKind::Percentage { .. } => true,
        TaxKind::FixedPerTicket { .. } | TaxKind::FixedPerOrder { .. } => {
            line.quantity > 0 && line.unit_price_usd_cents > 0
        }
    }
}

fn sum_line_totals(lines: &[&PricedLine]) -> Result<Amount, TotalsError> {
    lines
        .iter()
        .try_fold(Amount::default(), |sum, line| sum.checked_add(line.total))
}

/// Computes the tax of a rule that is not a compound percentage on `lines`, all
/// of them subject to it (steps 3, 4 and 5).
fn simple_tax(
    kind: TaxKind,
    lines: &[&PricedLine],
    rate: ExchangeRate,
) -> Result<Amount, TotalsError> {
    match kind {
        TaxKind::Percentage { basis_points } => {
            percentage_of(sum_line_totals(lines)?, basis_points)
        }
        TaxKind::FixedPerTicket { usd_cents } => {
            let tickets = lines
                .iter()
                .try_fold(0_i64, |sum, line| checked_sum(sum, line.input.quantity))?;
            let per_ticket_bs_cents = rate.usd_to_bs(usd_cents).ok_or(TotalsError::Overflow)?;
            Ok(Amount {
                usd_cents: usd_cents
                    .checked_mul(tickets)
                    .ok_or(TotalsError::Overflow)?,
                bs_cents: per_ticket_bs_cents
                    .checked_mul(tickets)
                    .ok_or(TotalsError::Overflow)?,
            })
        }
        TaxKind::FixedPerOrder { usd_cents } => {
            if lines.is_empty() {
                return Ok(Amount::default());
            }
            Ok(Amount {
                usd_cents,
                bs_cents: rate.usd_to_bs(usd_cents).ok_or(TotalsError::Overflow)?,
            })
        }
    }
}

/// Computes the base of a compound percentage rule whose subject lines are
/// `lines` (step 6).
fn compound_base(
    rules: &[TaxRule],
    lines: &[&PricedLine],
    rate: ExchangeRate,
) -> Result<Amount, TotalsError> {
    let mut base = sum_line_totals(lines)?;
    for other in rules {
        if other.compound_basis_points().is_some() {
            continue;
        }
        let shared: Vec<&PricedLine> = lines
            .iter()
            .copied()
            .filter(|line| is_subject(&line.input, other))
            .collect();
        base = base.checked_add(simple_tax(other.kind, &shared, rate)?)?;
    }
    Ok(base)
}

fn percentage_of(base: Amount, basis_points: i64) -> Result<Amount, TotalsError> {
    Ok(Amount {
        usd_cents: apply_basis_points(base.usd_cents, basis_points).ok_or(TotalsError::Overflow)?,
        bs_cents: apply_basis_points(base.bs_cents, basis_points).ok_or(TotalsError::Overflow)?,
    })
}

/// Adds up the rounded figures into document totals (step 7).
fn summarise(
    priced: &[PricedLine],
    line_rule_keys: Vec<Vec<String>>,
    rule_totals: Vec<RuleTotals>,
) -> Result<DocumentTotals, TotalsError> {
    let mut subtotal = Amount::default();
    let mut exempt = Amount::default();
    for line in priced {
        subtotal = subtotal.checked_add(line.total)?;
        if line.input.exempt {
            exempt = exempt.checked_add(line.total)?;
        }
    }

    let mut tax = Amount::default();
    for rule in &rule_totals {
        tax = tax.checked_add(Amount {
            usd_cents: rule.tax_usd_cents,
            bs_cents: rule.tax_bs_cents,
        })?;
    }
    let total = subtotal.checked_add(tax)?;

    let lines = priced
        .iter()
        .zip(line_rule_keys)
        .map(|(line, rule_keys)| DocumentLineTotals {
            total_usd_cents: line.total.usd_cents,
            total_bs_cents: line.total.bs_cents,
            exempt: line.input.exempt,
            rule_keys,
        })
        .collect();

    Ok(DocumentTotals {
        lines,
        rules: rule_totals,
        exempt_usd_cents: exempt.usd_cents,
        exempt_bs_cents: exempt.bs_cents,
        subtotal_usd_cents: subtotal.usd_cents,
        tax_usd_cents: tax.usd_cents,
        total_usd_cents: total.usd_cents,
        subtotal_bs_cents: subtotal.bs_cents,
        tax_bs_cents: tax.bs_cents,
        total_bs_cents: total.bs_cents,
    })
}

fn checked_sum(left: i64, right: i64) -> Result<i64, TotalsError> {
    left.checked_add(right).ok_or(TotalsError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tax::{IVA_GENERAL_BASIS_POINTS, LineInput, compute_totals};
    use proptest::prelude::*;

    fn rule(key: &str, category: TaxCategory, kind: TaxKind, compound: bool) -> TaxRule {
        TaxRule {
            key: key.to_string(),
            name: key.to_uppercase(),
            category,
            kind,
            compound,
        }
    }

    fn iva(basis_points: i64) -> TaxRule {
        rule(
            "iva",
            TaxCategory::Iva,
            TaxKind::Percentage { basis_points },
            false,
        )
    }

    fn municipal(basis_points: i64, compound: bool) -> TaxRule {
        rule(
            "municipal",
            TaxCategory::Other,
            TaxKind::Percentage { basis_points },
            compound,
        )
    }

    fn line(quantity: i64, unit_price_usd_cents: i64, exempt: bool) -> TaxedLine {
        TaxedLine {
            quantity,
            unit_price_usd_cents,
            exempt,
        }
    }

    fn rate(text: &str) -> ExchangeRate {
        ExchangeRate::parse(text).unwrap()
    }

    #[test]
    fn one_ticket_with_iva() {
        // US$25.00 × 36.12345678 = 903.0864195 Bs., rounded to 903.09.
        // IVA 16 % of 903.09 = 144.4944, rounded to 144.49. Total 1,047.58.
        let totals = compute_document_totals(
            &[line(1, 2_500, false)],
            &[iva(IVA_GENERAL_BASIS_POINTS)],
            rate("36.12345678"),
        )
        .unwrap();

        assert_eq!(totals.lines[0].total_bs_cents, 90_309);
        assert_eq!(totals.lines[0].rule_keys, vec!["iva".to_string()]);
        assert_eq!(totals.rules.len(), 1);
        assert_eq!(totals.rules[0].base_bs_cents, 90_309);
        assert_eq!(totals.rules[0].tax_bs_cents, 14_449);
        assert_eq!(totals.subtotal_bs_cents, 90_309);
        assert_eq!(totals.tax_bs_cents, 14_449);
        assert_eq!(totals.total_bs_cents, 104_758);
        // USD: 25.00 + 4.00 = 29.00.
        assert_eq!(totals.tax_usd_cents, 400);
        assert_eq!(totals.total_usd_cents, 2_900);
    }

    #[test]
    fn exempt_line_pays_municipal_tax() {
        // Two US$20.00 lines at 40 Bs./USD, each 800.00 Bs. The second is exempt.
        // IVA 16 % on the first only: 128.00 Bs. (US$3.20).
        // Municipal 5 % on both, 1,600.00 Bs.: 80.00 Bs. (US$2.00).
        // Subtotal 1,600.00, tax 208.00, total 1,808.00 Bs.
        let totals = compute_document_totals(
            &[line(1, 2_000, false), line(1, 2_000, true)],
            &[iva(1_600), municipal(500, false)],
            rate("40"),
        )
        .unwrap();

        assert_eq!(totals.lines[0].total_bs_cents, 80_000);
        assert_eq!(totals.lines[1].total_bs_cents, 80_000);
        assert_eq!(totals.lines[0].rule_keys, vec!["iva", "municipal"]);
        assert_eq!(totals.lines[1].rule_keys, vec!["municipal"]);
        assert!(totals.lines[1].exempt);

        let iva_totals = &totals.rules[0];
        assert_eq!(iva_totals.key, "iva");
        assert_eq!(iva_totals.base_bs_cents, 80_000);
        assert_eq!(iva_totals.tax_bs_cents, 12_800);
        assert_eq!(iva_totals.base_usd_cents, 2_000);
        assert_eq!(iva_totals.tax_usd_cents, 320);

        let municipal_totals = &totals.rules[1];
        assert_eq!(municipal_totals.key, "municipal");
        assert_eq!(municipal_totals.base_bs_cents, 160_000);
        assert_eq!(municipal_totals.tax_bs_cents, 8_000);
        assert_eq!(municipal_totals.base_usd_cents, 4_000);
        assert_eq!(municipal_totals.tax_usd_cents, 200);

        assert_eq!(totals.exempt_bs_cents, 80_000);
        assert_eq!(totals.exempt_usd_cents, 2_000);
        assert_eq!(totals.subtotal_bs_cents, 160_000);
        assert_eq!(totals.tax_bs_cents, 20_800);
        assert_eq!(totals.total_bs_cents, 180_800);
        assert_eq!(totals.subtotal_usd_cents, 4_000);
        assert_eq!(totals.tax_usd_cents, 520);
        assert_eq!(totals.total_usd_cents, 4_520);
    }

    #[test]
    fn compound_rule_taxes_iva() {
        // One US$25.00 ticket at 36.12345678: 903.09 Bs., IVA 144.49 as above.
        // Compound municipal 5 % on 903.09 + 144.49 = 1,047.58 is 52.379,
        // rounded to 52.38. Tax 196.87, total 1,099.96 Bs.
        // USD: 5 % of 25.00 + 4.00 = 1.45. Tax 5.45, total 30.45.
        let totals = compute_document_totals(
            &[line(1, 2_500, false)],
            &[iva(1_600), municipal(500, true)],
            rate("36.12345678"),
        )
        .unwrap();

        let municipal_totals = &totals.rules[1];
        assert!(municipal_totals.compound);
        assert_eq!(municipal_totals.base_bs_cents, 104_758);
        assert_eq!(municipal_totals.base_usd_cents, 2_900);
        assert_eq!(municipal_totals.tax_bs_cents, 5_238);
        assert_eq!(municipal_totals.tax_usd_cents, 145);
        assert_eq!(totals.tax_bs_cents, 19_687);
        assert_eq!(totals.total_bs_cents, 109_996);
        assert_eq!(totals.tax_usd_cents, 545);
        assert_eq!(totals.total_usd_cents, 3_045);
    }

    #[test]
    fn compound_rule_order_does_not_matter() {
        let lines = [line(1, 2_500, false)];
        let first = compute_document_totals(
            &lines,
            &[iva(1_600), municipal(500, true)],
            rate("36.12345678"),
        )
        .unwrap();
        let second = compute_document_totals(
            &lines,
            &[municipal(500, true), iva(1_600)],
            rate("36.12345678"),
        )
        .unwrap();

        assert_eq!(second.rules[0].key, "municipal");
        assert_eq!(second.rules[0].tax_bs_cents, first.rules[1].tax_bs_cents);
        assert_eq!(second.tax_bs_cents, first.tax_bs_cents);
    }

    #[test]
    fn compound_rule_skips_iva_of_exempt_line() {
        // Two US$20.00 lines at 40 Bs./USD, the second exempt: IVA 128.00 Bs. on
        // the first only. The compound municipal 5 % taxes both lines and the
        // IVA of the first: 5 % of 800.00 + 800.00 + 128.00 = 86.40 Bs.
        // USD: 5 % of 20.00 + 20.00 + 3.20 = 2.16.
        let totals = compute_document_totals(
            &[line(1, 2_000, false), line(1, 2_000, true)],
            &[iva(1_600), municipal(500, true)],
            rate("40"),
        )
        .unwrap();

        assert_eq!(totals.rules[0].tax_bs_cents, 12_800);
        assert_eq!(totals.rules[1].base_bs_cents, 172_800);
        assert_eq!(totals.rules[1].tax_bs_cents, 8_640);
        assert_eq!(totals.rules[1].tax_usd_cents, 216);
        assert_eq!(totals.tax_bs_cents, 21_440);
        assert_eq!(totals.total_bs_cents, 181_440);
    }

    #[test]
    fn compound_iva_taxes_fixed_fee() {
        // Two US$10.00 tickets at 40 Bs./USD: 800.00 Bs. A fee of US$0.50 per
        // ticket is 20.00 Bs. each, 40.00 Bs. in all (US$1.00). Compound IVA 16 %
        // on 800.00 + 40.00 = 134.40 Bs. (USD: 16 % of 21.00 = 3.36).
        let fee = rule(
            "fee",
            TaxCategory::Other,
            TaxKind::FixedPerTicket { usd_cents: 50 },
            false,
        );
        let compound_iva = TaxRule {
            compound: true,
            ..iva(1_600)
        };
        let totals = compute_document_totals(
            &[line(2, 1_000, false)],
            &[compound_iva.clone(), fee.clone()],
            rate("40"),
        )
        .unwrap();

        assert_eq!(totals.rules[0].base_bs_cents, 84_000);
        assert_eq!(totals.rules[0].tax_bs_cents, 13_440);
        assert_eq!(totals.rules[0].tax_usd_cents, 336);
        assert_eq!(totals.rules[1].tax_bs_cents, 4_000);
        assert_eq!(totals.rules[1].tax_usd_cents, 100);
        assert_eq!(totals.total_bs_cents, 80_000 + 13_440 + 4_000);

        // A compound flag on the fixed fee changes nothing but the flag shown.
        let compound_fee = TaxRule {
            compound: true,
            ..fee
        };
        let flagged = compute_document_totals(
            &[line(2, 1_000, false)],
            &[compound_iva, compound_fee],
            rate("40"),
        )
        .unwrap();
        assert!(flagged.rules[1].compound);
        assert_eq!(flagged.rules[0], totals.rules[0]);
        assert_eq!(flagged.total_bs_cents, totals.total_bs_cents);
    }

    #[test]
    fn fixed_rules_skip_courtesies() {
        // Three US$10.00 tickets at 36.12345678: 30.00 × 36.12345678 =
        // 1,083.7037034 Bs., rounded to 1,083.70. A courtesy line at US$0.00.
        // Per ticket US$0.75 = 27.092592585 Bs., rounded to 27.09, × 3 = 81.27.
        // Per order US$1.00 = 36.12345678 Bs., rounded to 36.12.
        // Tax 117.39, total 1,201.09 Bs. USD: tax 2.25 + 1.00 = 3.25, total 33.25.
        let per_ticket = rule(
            "service",
            TaxCategory::Other,
            TaxKind::FixedPerTicket { usd_cents: 75 },
            false,
        );
        let per_order = rule(
            "order_fee",
            TaxCategory::Other,
            TaxKind::FixedPerOrder { usd_cents: 100 },
            false,
        );
        let totals = compute_document_totals(
            &[line(3, 1_000, false), line(2, 0, false)],
            &[per_ticket, per_order],
            rate("36.12345678"),
        )
        .unwrap();

        assert_eq!(totals.lines[0].total_bs_cents, 108_370);
        assert_eq!(totals.lines[0].rule_keys, vec!["service", "order_fee"]);
        assert_eq!(totals.lines[1].total_bs_cents, 0);
        assert!(totals.lines[1].rule_keys.is_empty());

        let service = &totals.rules[0];
        assert_eq!(service.base_bs_cents, 108_370);
        assert_eq!(service.base_usd_cents, 3_000);
        assert_eq!(service.tax_bs_cents, 8_127);
        assert_eq!(service.tax_usd_cents, 225);

        let order_fee = &totals.rules[1];
        assert_eq!(order_fee.base_bs_cents, 108_370);
        assert_eq!(order_fee.tax_bs_cents, 3_612);
        assert_eq!(order_fee.tax_usd_cents, 100);

        assert_eq!(totals.subtotal_bs_cents, 108_370);
        assert_eq!(totals.tax_bs_cents, 11_739);
        assert_eq!(totals.total_bs_cents, 120_109);
        assert_eq!(totals.tax_usd_cents, 325);
        assert_eq!(totals.total_usd_cents, 3_325);
    }

    #[test]
    fn courtesies_alone_pay_no_fixed_tax() {
        let per_order = rule(
            "order_fee",
            TaxCategory::Other,
            TaxKind::FixedPerOrder { usd_cents: 100 },
            false,
        );
        let totals =
            compute_document_totals(&[line(2, 0, false)], &[per_order, iva(1_600)], rate("40"))
                .unwrap();

        // IVA applies to the courtesy line with a base of zero. The fee is left out.
        assert_eq!(totals.rules.len(), 1);
        assert_eq!(totals.rules[0].key, "iva");
        assert_eq!(totals.rules[0].tax_bs_cents, 0);
        assert_eq!(totals.total_bs_cents, 0);
    }

    #[test]
    fn rules_without_subject_lines_are_left_out() {
        let totals = compute_document_totals(
            &[line(1, 2_000, true)],
            &[iva(1_600), municipal(500, false)],
            rate("40"),
        )
        .unwrap();
        assert_eq!(totals.rules.len(), 1);
        assert_eq!(totals.rules[0].key, "municipal");
        assert_eq!(totals.exempt_bs_cents, 80_000);
        assert_eq!(totals.tax_bs_cents, 4_000);
    }

    #[test]
    fn percentage_rounds_on_summed_base() {
        // Three lines of 0.10 Bs. at 1 Bs./USD: 16 % of the summed 0.30 is 0.048,
        // rounded to 0.05, while rounding per line would give 3 × 0.02 = 0.06.
        let lines = [line(1, 10, false), line(1, 10, false), line(1, 10, false)];
        let totals = compute_document_totals(&lines, &[iva(1_600)], rate("1")).unwrap();
        assert_eq!(totals.tax_bs_cents, 5);
    }

    #[test]
    fn negative_input_is_rejected() {
        let rate = rate("40");
        assert_eq!(
            compute_document_totals(&[line(-1, 100, false)], &[], rate),
            Err(TotalsError::Negative)
        );
        assert_eq!(
            compute_document_totals(&[line(1, -100, false)], &[], rate),
            Err(TotalsError::Negative)
        );
        assert_eq!(
            compute_document_totals(&[line(1, 100, false)], &[iva(-1)], rate),
            Err(TotalsError::Negative)
        );
        let negative_fee = rule(
            "fee",
            TaxCategory::Other,
            TaxKind::FixedPerOrder { usd_cents: -1 },
            false,
        );
        assert_eq!(
            compute_document_totals(&[line(1, 100, false)], &[negative_fee], rate),
            Err(TotalsError::Negative)
        );
    }

    #[test]
    fn overflow_is_reported() {
        let rate = rate("40");
        assert_eq!(
            compute_document_totals(&[line(i64::MAX, 2, false)], &[], rate),
            Err(TotalsError::Overflow)
        );
        // The USD total fits, but its Bs. conversion does not.
        assert_eq!(
            compute_document_totals(&[line(1, i64::MAX / 2, false)], &[], rate),
            Err(TotalsError::Overflow)
        );
        let fee = rule(
            "fee",
            TaxCategory::Other,
            TaxKind::FixedPerTicket {
                usd_cents: i64::MAX / 100,
            },
            false,
        );
        assert_eq!(
            compute_document_totals(&[line(1_000, 1, false)], &[fee], rate),
            Err(TotalsError::Overflow)
        );
    }

    #[test]
    fn rule_validation_checks_limits() {
        let valid = iva(1_600);
        assert_eq!(valid.validate(), Ok(()));

        let blank = TaxRule {
            name: "   ".to_string(),
            ..valid.clone()
        };
        assert_eq!(blank.validate(), Err(FieldError::new("name", "required")));

        // 80 two-byte characters fit, because the limit counts characters.
        let longest = TaxRule {
            name: "ñ".repeat(80),
            ..valid.clone()
        };
        assert_eq!(longest.validate(), Ok(()));
        let too_long = TaxRule {
            name: "ñ".repeat(81),
            ..valid.clone()
        };
        assert_eq!(
            too_long.validate(),
            Err(FieldError::new("name", "too_long"))
        );

        let rate_error = Err(FieldError::new("kind.basis_points", "out_of_range"));
        assert_eq!(iva(10_000).validate(), Ok(()));
        assert_eq!(iva(10_001).validate(), rate_error.clone());
        assert_eq!(iva(-1).validate(), rate_error);

        let amount_error = Err(FieldError::new("kind.usd_cents", "out_of_range"));
        let fixed = |kind| rule("fee", TaxCategory::Other, kind, false);
        let per_ticket = |usd_cents| fixed(TaxKind::FixedPerTicket { usd_cents });
        let per_order = |usd_cents| fixed(TaxKind::FixedPerOrder { usd_cents });
        assert_eq!(per_ticket(0).validate(), Ok(()));
        assert_eq!(per_order(100_000_000).validate(), Ok(()));
        assert_eq!(per_ticket(100_000_001).validate(), amount_error.clone());
        assert_eq!(per_order(-1).validate(), amount_error);
    }

    fn any_lines() -> impl Strategy<Value = Vec<TaxedLine>> {
        proptest::collection::vec(
            (1i64..10, 0i64..100_000, any::<bool>())
                .prop_map(|(quantity, price, exempt)| line(quantity, price, exempt)),
            0..20,
        )
    }

    fn any_rules() -> impl Strategy<Value = Vec<TaxRule>> {
        let one_rule = (
            any::<bool>(),
            0u8..3,
            0i64..=MAX_RULE_BASIS_POINTS,
            0i64..=100_000,
            any::<bool>(),
        );
        proptest::collection::vec(one_rule, 0..=4).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(
                    |(index, (is_iva, kind, basis_points, usd_cents, compound))| {
                        let category = if is_iva {
                            TaxCategory::Iva
                        } else {
                            TaxCategory::Other
                        };
                        let kind = match kind {
                            0 => TaxKind::Percentage { basis_points },
                            1 => TaxKind::FixedPerTicket { usd_cents },
                            _ => TaxKind::FixedPerOrder { usd_cents },
                        };
                        rule(&format!("rule{index}"), category, kind, compound)
                    },
                )
                .collect()
        })
    }

    fn any_rate() -> impl Strategy<Value = ExchangeRate> {
        (1_000_000i64..1_000_000_000_000)
            .prop_map(|scaled| ExchangeRate::from_scaled(scaled).unwrap())
    }

    proptest! {
        #[test]
        fn document_totals_add_up(lines in any_lines(), rules in any_rules(), rate in any_rate()) {
            let totals = compute_document_totals(&lines, &rules, rate).unwrap();

            let line_bs: i64 = totals.lines.iter().map(|line| line.total_bs_cents).sum();
            let line_usd: i64 = totals.lines.iter().map(|line| line.total_usd_cents).sum();
            prop_assert_eq!(line_bs, totals.subtotal_bs_cents);
            prop_assert_eq!(line_usd, totals.subtotal_usd_cents);

            let rule_bs: i64 = totals.rules.iter().map(|rule| rule.tax_bs_cents).sum();
            let rule_usd: i64 = totals.rules.iter().map(|rule| rule.tax_usd_cents).sum();
            prop_assert_eq!(rule_bs, totals.tax_bs_cents);
            prop_assert_eq!(rule_usd, totals.tax_usd_cents);

            prop_assert_eq!(totals.subtotal_bs_cents + totals.tax_bs_cents, totals.total_bs_cents);
            prop_assert_eq!(totals.subtotal_usd_cents + totals.tax_usd_cents, totals.total_usd_cents);

            let exempt_bs: i64 = totals.lines.iter().filter(|line| line.exempt).map(|line| line.total_bs_cents).sum();
            prop_assert_eq!(exempt_bs, totals.exempt_bs_cents);
        }

        #[test]
        fn document_totals_never_negative(lines in any_lines(), rules in any_rules(), rate in any_rate()) {
            let totals = compute_document_totals(&lines, &rules, rate).unwrap();
            for line in &totals.lines {
                prop_assert!(line.total_usd_cents >= 0);
                prop_assert!(line.total_bs_cents >= 0);
            }
            for rule in &totals.rules {
                prop_assert!(rule.base_usd_cents >= 0);
                prop_assert!(rule.tax_usd_cents >= 0);
                prop_assert!(rule.base_bs_cents >= 0);
                prop_assert!(rule.tax_bs_cents >= 0);
            }
            prop_assert!(totals.exempt_usd_cents >= 0);
            prop_assert!(totals.exempt_bs_cents >= 0);
            prop_assert!(totals.subtotal_usd_cents >= 0);
            prop_assert!(totals.tax_usd_cents >= 0);
            prop_assert!(totals.total_usd_cents >= 0);
            prop_assert!(totals.subtotal_bs_cents >= 0);
            prop_assert!(totals.tax_bs_cents >= 0);
            prop_assert!(totals.total_bs_cents >= 0);
        }

        #[test]
        fn percentage_tax_follows_base(lines in any_lines(), rules in any_rules(), rate in any_rate()) {
            let totals = compute_document_totals(&lines, &rules, rate).unwrap();
            for rule in &totals.rules {
                if let TaxKind::Percentage { basis_points } = rule.kind {
                    prop_assert_eq!(Some(rule.tax_bs_cents), apply_basis_points(rule.base_bs_cents, basis_points));
                    prop_assert_eq!(Some(rule.tax_usd_cents), apply_basis_points(rule.base_usd_cents, basis_points));
                }
            }
        }

        #[test]
        fn document_totals_are_deterministic(lines in any_lines(), rules in any_rules(), rate in any_rate()) {
            let first = compute_document_totals(&lines, &rules, rate).unwrap();
            let second = compute_document_totals(&lines, &rules, rate).unwrap();
            prop_assert_eq!(first, second);
        }

        #[test]
        fn rule_keys_match_rules(lines in any_lines(), rules in any_rules(), rate in any_rate()) {
            let totals = compute_document_totals(&lines, &rules, rate).unwrap();
            for rule in &totals.rules {
                prop_assert!(totals.lines.iter().any(|line| line.rule_keys.contains(&rule.key)));
            }
            for line in &totals.lines {
                for key in &line.rule_keys {
                    let applied = totals.rules.iter().find(|rule| &rule.key == key);
                    prop_assert!(applied.is_some());
                    if line.exempt {
                        prop_assert_eq!(applied.unwrap().category, TaxCategory::Other);
                    }
                }
            }
        }

        #[test]
        fn single_iva_rule_matches_compute_totals(
            lines in any_lines(),
            basis_points in 0i64..=MAX_RULE_BASIS_POINTS,
            rate in any_rate(),
        ) {
            let totals = compute_document_totals(&lines, &[iva(basis_points)], rate).unwrap();
            let inputs: Vec<LineInput> = lines
                .iter()
                .map(|line| LineInput {
                    quantity: line.quantity,
                    unit_price_usd_cents: line.unit_price_usd_cents,
                    tax_basis_points: (!line.exempt).then_some(basis_points),
                })
                .collect();
            let expected = compute_totals(&inputs, rate).unwrap();

            for (line, expected_line) in totals.lines.iter().zip(&expected.lines) {
                prop_assert_eq!(line.total_usd_cents, expected_line.total_usd_cents);
                prop_assert_eq!(line.total_bs_cents, expected_line.total_bs_cents);
            }
            prop_assert_eq!(totals.rules.len(), expected.rates.len());
            for (rule, expected_rate) in totals.rules.iter().zip(&expected.rates) {
                prop_assert_eq!(rule.base_bs_cents, expected_rate.base_bs_cents);
                prop_assert_eq!(rule.tax_bs_cents, expected_rate.tax_bs_cents);
                prop_assert_eq!(rule.base_usd_cents, expected_rate.base_usd_cents);
                prop_assert_eq!(rule.tax_usd_cents, expected_rate.tax_usd_cents);
            }
            prop_assert_eq!(totals.exempt_bs_cents, expected.exempt_bs_cents);
            prop_assert_eq!(totals.exempt_usd_cents, expected.exempt_usd_cents);
            prop_assert_eq!(totals.subtotal_bs_cents, expected.subtotal_bs_cents);
            prop_assert_eq!(totals.tax_bs_cents, expected.tax_bs_cents);
            prop_assert_eq!(totals.total_bs_cents, expected.total_bs_cents);
            prop_assert_eq!(totals.subtotal_usd_cents, expected.subtotal_usd_cents);
            prop_assert_eq!(totals.tax_usd_cents, expected.tax_usd_cents);
            prop_assert_eq!(totals.total_usd_cents, expected.total_usd_cents);
        }
    }
}
