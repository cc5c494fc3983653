//! Venezuelan (es-VE) formats for printed documents: amounts as `Bs. 1.234,56`
//! and `US$ 25,00`, rates and percentages with a decimal comma, dates as
//! `dd/mm/aaaa` and times on the 12-hour clock with «a. m.» / «p. m.».

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::America::Caracas;

/// Formats minor units (cents) as `1.234,56`: dots between thousands, a decimal comma.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!(
        "{sign}{},{:02}",
        group_thousands(magnitude / 100),
        magnitude % 100
    )
}

/// Formats Bs. céntimos as `Bs. 1.234,56`.
pub fn bs(cents: i64) -> String {
    format!("Bs. {}", amount(cents))
}

/// Formats USD cents as `US$ 25,00`.
pub fn usd(cents: i64) -> String {
    format!("US$ {}", amount(cents))
}

/// Formats an amount in minor units of an ISO 4217 currency code (`USD` or `VES`).
pub fn money(currency: &str, cents: i64) -> String {
    match currency {
        "USD" => usd(cents),
        "VES" => bs(cents),
        other => format!("{other} {}", amount(cents)),
    }
}

/// Formats an exchange rate scaled by 10^8 with its 8 decimals: `36,12345678`.
pub fn rate(scaled: i64) -> String {
    let magnitude = scaled.unsigned_abs();
    let sign = if scaled < 0 { "-" } else { "" };
    format!(
        "{sign}{},{:08}",
        group_thousands(magnitude / 100_000_000),
        magnitude % 100_000_000
    )
}

/// Formats basis points as a percentage: 1600 is `16 %`, 850 is `8,5 %`.
pub fn percent(basis_points: i64) -> String {
    let sign = if basis_points < 0 { "-" } else { "" };
    let magnitude = basis_points.unsigned_abs();
    let whole = magnitude / 100;
    let fraction = magnitude % 100;
    if fraction == 0 {
        format!("{sign}{whole} %")
    } else {
        let digits = format!("{fraction:02}");
        format!("{sign}{whole},{} %", digits.trim_end_matches('0'))
    }
}

/// Formats a date as `dd/mm/aaaa`.
pub fn date(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// Inserts slashes into an 8-digit DDMMAAAA date (`04122026` becomes
/// `04/12/2026`) and returns any other text unchanged.
pub fn ddmmaaaa(text: &str) -> String {
    if text.len() == 8 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("{}/{}/{}", &text[..2], &text[2..4], &text[4..])
    } else {
        text.to_string()
    }
}

/// Formats an instant in Caracas time as `dd/mm/aaaa, h:mm a. m.`.
pub fn caracas_date_time(instant: DateTime<Utc>) -> String {
    let local = instant.with_timezone(&Caracas);
    let (is_pm, hour) = local.hour12();
    let suffix = if is_pm { "p. m." } else { "a. m." };
    format!(
        "{}, {hour}:{:02} {suffix}",
        local.format("%d/%m/%Y"),
        local.minute()
    )
}

/// Escapes text for an HTML element body or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn amounts_group_thousands_with_dots() {
        assert_eq!(bs(123_456), "Bs. 1.234,56");
        assert_eq!(bs(0), "Bs. 0,00");
        assert_eq!(bs(5), "Bs. 0,05");
        assert_eq!(bs(10_000_000_000), "Bs. 100.000.000,00");
        assert_eq!(usd(2_500), "US$ 25,00");
        assert_eq!(usd(-150), "US$ -1,50");
        assert_eq!(money("VES", 99_999), "Bs. 999,99");
        assert_eq!(money("EUR", 100), "EUR 1,00");
    }

    #[test]
    fn rates_keep_eight_decimals() {
        assert_eq!(rate(3_612_345_678), "36,12345678");
        assert_eq!(rate(123_456_000_000), "1.234,56000000");
    }

    #[test]
    fn percentages_drop_trailing_zeros() {
        assert_eq!(percent(1_600), "16 %");
        assert_eq!(percent(850), "8,5 %");
        assert_eq!(percent(1_234), "12,34 %");
        assert_eq!(percent(300), "3 %");
    }

    #[test]
    fn dates_and_times_in_caracas() {
        assert_eq!(ddmmaaaa("04122026"), "04/12/2026");
        assert_eq!(ddmmaaaa("2026-12-04"), "2026-12-04");
        // 00:30 UTC on the 13th is 8:30 p. m. on the 12th in Caracas (−4:00).
        let instant = Utc.with_ymd_and_hms(2027, 1, 13, 0, 30, 0).unwrap();
        assert_eq!(caracas_date_time(instant), "12/01/2027, 8:30 p. m.");
        let noon = Utc.with_ymd_and_hms(2027, 1, 13, 16, 5, 0).unwrap();
        assert_eq!(caracas_date_time(noon), "13/01/2027, 12:05 p. m.");
    }

    #[test]
    fn html_escape_replaces_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
