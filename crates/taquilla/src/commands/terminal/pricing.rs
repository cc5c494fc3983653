//! Offline pricing: the order total and the payment check the server will
//! make at sync, computed from the copy `setup` downloaded with the domain
//! crate's functions (price formula, tax rules, exchange-rate conversion,
//! IGTF split).
//!
//! Exact only while the copy is current, because the server prices a synced
//! sale again as of its `sold_at`. A price stage that ends or runs out of
//! units while the terminal is offline, a rate registered later for the same
//! day or a tax rule changed meanwhile make the sync reject the sale with
//! `amount_mismatch`. [`stage_warning`] warns the cashier when the stage is
//! the risk.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taquilla_domain::igtf::{igtf_on, split_received};
use taquilla_domain::money::{Currency, ExchangeRate};
use taquilla_domain::pricing::{Modifier, PriceInputs, unit_price};
use taquilla_domain::tax::{DocumentTotals, TaxRule, TaxedLine, compute_document_totals};
use taquilla_store::model::NewPayment;

/// One priced line of a sale: a seat, or a general-admission quantity.
pub struct Line {
    pub description: String,
    pub quantity: i64,
    pub unit_price_usd_cents: i64,
}

/// The price stage that priced a zone when the copy was downloaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageCopy {
    pub name: String,
    pub modifier: Modifier,
    pub ends_at: Option<DateTime<Utc>>,
    /// Units left before the stage's quantity limit, at download time.
    pub units_left: Option<i64>,
}

/// The tenant's IGTF settings at download time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgtfCopy {
    pub enabled: bool,
    pub basis_points: i64,
    pub methods: Vec<String>,
}

/// An exchange rate as downloaded.
pub struct RateCopy {
    pub id: String,
    pub currency: String,
    pub rate_scaled: i64,
    pub effective_date: NaiveDate,
    pub superseded: bool,
}

/// Picks the order's rate as the server does: the event's pinned rate
/// (followed to its correction), else the latest non-superseded USD rate
/// effective on or before `today` (a Caracas date).
pub fn order_rate(
    rates: &[RateCopy],
    pinned_rate_id: Option<&str>,
    today: NaiveDate,
) -> Option<(ExchangeRate, NaiveDate)> {
    let chosen = match pinned_rate_id {
        Some(pinned_id) => {
            let pinned = rates.iter().find(|rate| rate.id == pinned_id)?;
            rates.iter().find(|rate| {
                !rate.superseded
                    && rate.currency == pinned.currency
                    && rate.effective_date == pinned.effective_date
            })
        }
        None => rates
            .iter()
            .filter(|rate| {
                rate.currency == "USD" && !rate.superseded && rate.effective_date <= today
            })
            .max_by(|left, right| {
                (left.effective_date, &left.id).cmp(&(right.effective_date, &right.id))
            }),
    }?;
    let rate = ExchangeRate::from_scaled(chosen.rate_scaled).ok()?;
    Some((rate, chosen.effective_date))
}

/// Computes the unit price of a general-admission ticket: the zone's base
/// price and the stage modifier, with no row or seat modifier.
pub fn general_admission_price(
    base_usd_cents: i64,
    stage: Option<&StageCopy>,
) -> anyhow::Result<i64> {
    let price = unit_price(&PriceInputs {
        base_usd_cents,
        stage: stage.map(|stage| stage.modifier),
        row_markup_basis_points: 0,
        seat_modifier_usd_cents: 0,
        discount: None,
    })
    .map_err(|error| anyhow::anyhow!("no se pudo calcular el precio: {error}"))?;
    Ok(price.unit_price_usd_cents)
}

/// Computes the order's totals under the tax rules in force, at `rate`.
pub fn totals(
    lines: &[Line],
    exempt: bool,
    rules: &[TaxRule],
    rate: ExchangeRate,
) -> anyhow::Result<DocumentTotals> {
    let taxed: Vec<TaxedLine> = lines
        .iter()
        .map(|line| TaxedLine {
            quantity: line.quantity,
            unit_price_usd_cents: line.unit_price_usd_cents,
            exempt,
        })
        .collect();
    compute_document_totals(&taxed, rules, rate)
        .map_err(|error| anyhow::anyhow!("no se pudo calcular el total: {error}"))
}

/// Returns a warning when the stage that priced the zone at download time may
/// no longer price it at `now` for `units` more units.
pub fn stage_warning(stage: Option<&StageCopy>, units: i64, now: DateTime<Utc>) -> Option<String> {
    let stage = stage?;
    if stage.ends_at.is_some_and(|ends_at| ends_at <= now) {
        return Some(format!(
            "la etapa de precio «{}» terminó después de la descarga; el servidor puede rechazar la venta por monto (amount_mismatch)",
            stage.name
        ));
    }
    if stage.units_left.is_some_and(|left| left < units) {
        return Some(format!(
            "la etapa de precio «{}» tenía menos unidades disponibles que las vendidas en este terminal; el servidor puede rechazar la venta por monto (amount_mismatch)",
            stage.name
        ));
    }
    None
}

/// Effect of the payments on the order, as the server will record it.
#[derive(Debug, Default)]
pub struct Settlement {
    /// Change given in cash, in Bs. cents.
    pub change_bs_cents: i64,
    /// IGTF collected on top of the order, in USD cents.
    pub igtf_usd_cents: i64,
}

/// Reason the payments would not pay the order on the server.
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentProblem {
    /// The payments leave this balance unpaid, in Bs. cents.
    Short {
        balance_bs_cents: i64,
    },
    /// A card, transfer or Pago Móvil payment exceeds the balance it pays.
    ExceedsBalance {
        position: usize,
        balance_bs_cents: i64,
    },
    /// A payment comes after the order is already paid.
    AfterPaid {
        position: usize,
    },
    Overflow,
}

/// Applies `payments` to an order of `total_bs_cents` in the server's order
/// and with its rules: IGTF on top for listed foreign-currency methods, no
/// change except in cash, and a USD payment may leave one céntimo as rounding.
pub fn settle(
    total_bs_cents: i64,
    payments: &[NewPayment],
    rate: ExchangeRate,
    igtf: &IgtfCopy,
) -> Result<Settlement, PaymentProblem> {
    let mut settlement = Settlement::default();
    let mut paid_bs = 0_i64;
    let mut paid = false;
    for (position, payment) in payments.iter().enumerate() {
        if paid {
            return Err(PaymentProblem::AfterPaid { position });
        }
        let balance = total_bs_cents - paid_bs;
        let igtf_applies = igtf.enabled
            && payment.currency == Currency::Usd
            && igtf.methods.contains(&payment.method);
        let tendered = if igtf_applies {
            let ceiling = rate
                .bs_to_usd_ceil(balance)
                .ok_or(PaymentProblem::Overflow)?;
            let split = split_received(payment.amount_cents, igtf.basis_points)
                .ok_or(PaymentProblem::Overflow)?;
            let base = split.base_cents.min(ceiling);
            let tax = igtf_on(base, igtf.basis_points).ok_or(PaymentProblem::Overflow)?;
            settlement.igtf_usd_cents += tax;
            payment.amount_cents - tax
        } else {
            payment.amount_cents
        };
        let amount_bs = match payment.currency {
            Currency::Ves => tendered,
            Currency::Usd => rate.usd_to_bs(tendered).ok_or(PaymentProblem::Overflow)?,
        };
        let within_balance = match payment.currency {
            Currency::Ves => tendered <= balance,
            Currency::Usd => rate
                .bs_to_usd_ceil(balance)
                .is_some_and(|ceiling| tendered <= ceiling),
        };
        if payment.method != "cash" && !within_balance {
            return Err(PaymentProblem::ExceedsBalance {
                position,
                balance_bs_cents: balance,
            });
        }

        let applied = amount_bs.min(balance);
        if payment.method == "cash" {
            settlement.change_bs_cents += (amount_bs - applied).max(0);
        }
        paid_bs += applied;
        let remaining = total_bs_cents - paid_bs;
        paid = remaining <= 0 || (payment.currency == Currency::Usd && remaining <= 1);
    }
    if !paid {
        return Err(PaymentProblem::Short {
            balance_bs_cents: total_bs_cents - paid_bs,
        });
    }
    Ok(settlement)
}

/// Formats cents as an amount with two decimals: `1234` → `12.34`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Parses an amount with at most two decimals (`12`, `12.5`, `12,50`) into cents.
pub fn parse_cents(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let (units, fraction) = match text.split_once('.') {
        Some((units, fraction)) => (units, fraction),
        None => (text.as_str(), ""),
    };
    if units.is_empty()
        || fraction.len() > 2
        || !units.chars().all(|digit| digit.is_ascii_digit())
        || !fraction.chars().all(|digit| digit.is_ascii_digit())
    {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    units.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cash(currency: Currency, amount_cents: i64) -> NewPayment {
        NewPayment {
            method: "cash".to_string(),
            currency,
            amount_cents,
            change_currency: None,
            bank_code: None,
            reference: None,
            payer_phone: None,
            payer_document: None,
            tickets: Vec::new(),
        }
    }

    fn no_igtf() -> IgtfCopy {
        IgtfCopy {
            enabled: false,
            basis_points: 300,
            methods: Vec::new(),
        }
    }

    #[test]
    fn amounts_parse_to_cents() {
        assert_eq!(parse_cents("12"), Some(1_200));
        assert_eq!(parse_cents("12.5"), Some(1_250));
        assert_eq!(parse_cents("12,05"), Some(1_205));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("-1"), None);
        assert_eq!(format_cents(1_205), "12.05");
    }

    #[test]
    fn exact_payment_settles() {
        let rate = ExchangeRate::parse("36.12345678").unwrap();

        let settled = settle(10_000, &[cash(Currency::Ves, 10_000)], rate, &no_igtf());

        assert_eq!(settled.unwrap().change_bs_cents, 0);
    }

    #[test]
    fn short_payment_reports_balance() {
        let rate = ExchangeRate::parse("36.12345678").unwrap();

        let settled = settle(10_000, &[cash(Currency::Ves, 9_900)], rate, &no_igtf());

        assert_eq!(
            settled.unwrap_err(),
            PaymentProblem::Short {
                balance_bs_cents: 100
            }
        );
    }

    #[test]
    fn cash_surplus_is_change() {
        let rate = ExchangeRate::parse("36.12345678").unwrap();

        let settled = settle(10_000, &[cash(Currency::Ves, 12_000)], rate, &no_igtf());

        assert_eq!(settled.unwrap().change_bs_cents, 2_000);
    }
}
