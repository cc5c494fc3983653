//! Words of the web pages in Spanish (es-VE) and English, and the formats of
//! money and dates per locale.
//!
//! Each page module owns a table of `(key, es, en)` rows, and [`text`] looks a
//! key up in all of them. A key that no table has renders as `??key??`, which
//! the browser tests look for.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use crate::i18n::Locale;

/// Rows of one page: key, Spanish, English.
pub type TextTable = &'static [(&'static str, &'static str, &'static str)];

/// Words shared by every page: the layout, sign-in and error pages.
pub const COMMON: TextTable = &[
    ("app.name", "Taquilla", "Taquilla"),
    ("nav.cashier", "Taquilla", "Box office"),
    ("nav.day", "Caja", "Cash desk"),
    ("nav.gate", "Portería", "Gate"),
    ("nav.organizer", "Organizador", "Organiser"),
    ("nav.logout", "Cerrar sesión", "Sign out"),
    ("nav.language", "Idioma", "Language"),
    ("nav.signed_in_as", "Sesión de", "Signed in as"),
    ("login.title", "Iniciar sesión", "Sign in"),
    ("login.username", "Usuario", "Username"),
    ("login.password", "Contraseña", "Password"),
    ("login.submit", "Entrar", "Sign in"),
    (
        "login.help",
        "Use el usuario y la contraseña que le dio el administrador de su organización.",
        "Use the username and password your organisation's administrator gave you.",
    ),
    (
        "login.csrf_failed",
        "El formulario venció. Intente de nuevo.",
        "The form has expired. Please try again.",
    ),
    ("error.title", "No se pudo completar", "Could not complete"),
    ("error.back", "Volver", "Go back"),
    (
        "error.not_found",
        "La página que busca no existe.",
        "The page you are looking for does not exist.",
    ),
    ("role.tenant_admin", "Administrador", "Administrator"),
    ("role.cashier", "Cajero", "Cashier"),
    ("role.validator", "Portero", "Gate staff"),
    ("events.title", "Eventos a la venta", "Events on sale"),
    (
        "events.none",
        "No hay eventos a la venta. Un administrador debe activar un evento.",
        "No events are on sale. An administrator must activate an event.",
    ),
    ("events.starts", "Comienza", "Starts"),
    ("events.open", "Vender", "Sell"),
    ("status.draft", "Borrador", "Draft"),
    ("status.active", "A la venta", "On sale"),
    ("status.closed", "Cerrado", "Closed"),
    ("status.cancelled", "Cancelado", "Cancelled"),
];

/// Every table, in lookup order. Page modules add theirs here.
const TABLES: &[TextTable] = &[
    COMMON,
    super::cashier::TEXT,
    super::receipt::TEXT,
    super::day::TEXT,
    super::gate::TEXT,
    super::organizer::TEXT,
];

static INDEX: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> = LazyLock::new(|| {
    TABLES
        .iter()
        .flat_map(|table| table.iter())
        .map(|(key, es, en)| (*key, (*es, *en)))
        .collect()
});

/// Returns the words for `key` in `locale`, or `??key??` when no table has it.
pub fn text(key: &str, locale: Locale) -> Cow<'static, str> {
    match INDEX.get(key) {
        Some((es, en)) => Cow::Borrowed(match locale {
            Locale::Es => es,
            Locale::En => en,
        }),
        None => Cow::Owned(format!("??{key}??")),
    }
}

/// Returns the rows whose key starts with one of `prefixes`, for the page
/// scripts, as a JSON object safe to put inside a `<script>` element.
pub fn script_texts(prefixes: &[&str], locale: Locale) -> String {
    let texts: serde_json::Map<String, serde_json::Value> = INDEX
        .iter()
        .filter(|(key, _)| prefixes.iter().any(|prefix| key.starts_with(prefix)))
        .map(|(key, (es, en))| {
            let words = match locale {
                Locale::Es => es,
                Locale::En => en,
            };
            (key.to_string(), serde_json::Value::from(*words))
        })
        .collect();
    json_for_script(&serde_json::Value::Object(texts))
}

/// Serialises `value` so that it cannot end the `<script>` element it sits in.
pub fn json_for_script(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Formats cents as the API's decimal string, `123456` as `1234.56`, so
/// [`money`] can take amounts the store keeps in cents.
pub fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// Formats a decimal amount as the box office writes it: `US$ 1.234,56` and
/// `Bs. 1.234,56` in Spanish, `US$ 1,234.56` and `Bs. 1,234.56` in English.
/// `amount` is the API's decimal string; it is never turned into a float.
pub fn money(amount: &str, currency: &str, locale: Locale) -> String {
    let symbol = match currency {
        "USD" => "US$",
        "VES" => "Bs.",
        other => other,
    };
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut cents: String = fraction.chars().take(2).collect();
    while cents.len() < 2 {
        cents.push('0');
    }
    let (group, decimal) = match locale {
        Locale::Es => ('.', ','),
        Locale::En => (',', '.'),
    };
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    if grouped.is_empty() {
        grouped.push('0');
    }
    let sign = if negative { "-" } else { "" };
    format!("{symbol} {sign}{grouped}{decimal}{cents}")
}

/// Formats an instant in Caracas time: `05/12/2026 08:14 p. m.` in Spanish,
/// `12/05/2026 08:14 PM` in English.
pub fn date_time(instant: DateTime<Utc>, locale: Locale) -> String {
    let local = instant.with_timezone(&chrono_tz::America::Caracas);
    let pm = local.format("%p").to_string() == "PM";
    match locale {
        Locale::Es => format!(
            "{} {}",
            local.format("%d/%m/%Y %I:%M"),
            if pm { "p. m." } else { "a. m." }
        ),
        Locale::En => format!(
            "{} {}",
            local.format("%m/%d/%Y %I:%M"),
            if pm { "PM" } else { "AM" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn decimal_keeps_cents_exact() {
        assert_eq!(decimal(0), "0.00");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(4_500), "45.00");
        assert_eq!(decimal(123_456), "1234.56");
        assert_eq!(decimal(-705), "-7.05");
        assert_eq!(decimal(-1_050), "-10.50");
        assert_eq!(decimal(-1_234), "-12.34");
        assert_eq!(decimal(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn keys_are_unique_across_tables() {
        let mut seen = HashSet::new();
        for table in TABLES {
            for (key, _, _) in table.iter() {
                assert!(seen.insert(*key), "text key {key} is defined twice");
            }
        }
    }

    #[test]
    fn every_key_has_both_languages() {
        for table in TABLES {
            for (key, es, en) in table.iter() {
                assert!(!es.trim().is_empty(), "{key} has no Spanish text");
                assert!(!en.trim().is_empty(), "{key} has no English text");
            }
        }
    }

    #[test]
    fn unknown_key_is_marked() {
        assert_eq!(text("no.such.key", Locale::Es), "??no.such.key??");
        assert_eq!(text("login.title", Locale::Es), "Iniciar sesión");
        assert_eq!(text("login.title", Locale::En), "Sign in");
    }

    #[test]
    fn money_uses_locale_separators() {
        assert_eq!(money("25.00", "USD", Locale::Es), "US$ 25,00");
        assert_eq!(money("1234.56", "VES", Locale::Es), "Bs. 1.234,56");
        assert_eq!(money("1234.56", "VES", Locale::En), "Bs. 1,234.56");
        assert_eq!(money("1234567.5", "USD", Locale::Es), "US$ 1.234.567,50");
        assert_eq!(money("-7.25", "USD", Locale::Es), "US$ -7,25");
        assert_eq!(money("0", "VES", Locale::Es), "Bs. 0,00");
        assert_eq!(money("999", "USD", Locale::En), "US$ 999.00");
    }

    #[test]
    fn script_texts_cannot_close_the_script() {
        let value = serde_json::json!({ "x": "</script><b>" });
        let text = json_for_script(&value);
        assert!(!text.contains('<'));
        assert!(!text.contains('>'));
    }

    #[test]
    fn date_time_is_caracas_time() {
        let instant: DateTime<Utc> = "2026-12-05T00:14:00Z".parse().unwrap();
        assert_eq!(date_time(instant, Locale::Es), "04/12/2026 08:14 p. m.");
        assert_eq!(date_time(instant, Locale::En), "12/04/2026 08:14 PM");
    }
}
