//! Fiscal formats and the fiscal day.
//!
//! The fiscal day is the calendar day in America/Caracas, computed with the tz
//! database: Venezuela used −4:30 from 2007-12-09 to 2016-05-01 and −4:00 since.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::Caracas;

/// Returns the Caracas calendar day of an instant.
pub fn caracas_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Caracas).date_naive()
}

/// Formats a control number as `00-00000001`: a 2-digit prefix and 8 digits.
pub fn format_control_number(prefix: u8, sequence: i64) -> String {
    format!("{prefix:02}-{sequence:08}")
}

/// Formats an issue date as DDMMAAAA in Caracas time.
pub fn format_issue_date(instant: DateTime<Utc>) -> String {
    instant.with_timezone(&Caracas).format("%d%m%Y").to_string()
}

/// Formats an issue time as `hh:mm:ss a. m.` / `p. m.` in Caracas time.
pub fn format_issue_time(instant: DateTime<Utc>) -> String {
    let local = instant.with_timezone(&Caracas);
    let suffix = if local.format("%p").to_string() == "AM" {
        "a. m."
    } else {
        "p. m."
    };
    format!("{} {suffix}", local.format("%I:%M:%S"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn caracas_day_differs_from_utc_day_before_midnight() {
        // 03:30 UTC on the 5th is 23:30 on the 4th in Caracas (−4:00).
        let instant = Utc.with_ymd_and_hms(2026, 12, 5, 3, 30, 0).unwrap();
        assert_eq!(
            caracas_date(instant),
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
        assert_eq!(format_issue_date(instant), "04122026");
        assert_eq!(format_issue_time(instant), "11:30:00 p. m.");
    }

    #[test]
    fn caracas_offset_in_2010() {
        // 04:15 UTC on 2010-06-02 was 23:45 on the 1st at −4:30; a fixed −4:00 gives the 2nd.
        let instant = Utc.with_ymd_and_hms(2010, 6, 2, 4, 15, 0).unwrap();
        assert_eq!(
            caracas_date(instant),
            NaiveDate::from_ymd_opt(2010, 6, 1).unwrap()
        );
    }

    #[test]
    fn control_numbers_have_eight_digits() {
        assert_eq!(format_control_number(0, 1), "00-00000001");
        assert_eq!(format_control_number(1, 1_234), "01-00001234");
    }
}
