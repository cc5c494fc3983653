//! Fiscal formats and the fiscal day.
//!
//! The fiscal day is the calendar day in America/Caracas, computed with the tz
//! database: Venezuela used −4:30 from 2007-12-09 to 2016-05-01 and −4:00 since.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Caracas;

/// Returns the Caracas calendar day of an instant.
pub fn caracas_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Caracas).date_naive()
}

/// Returns the instants a Caracas calendar day starts and ends, as a half-open
/// range `[start, end)` in UTC.
pub fn caracas_day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |date: NaiveDate| {
        // Caracas has no daylight saving time, so midnight always exists once.
        Caracas
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight is a valid time"))
            .earliest()
            .expect("midnight exists in Caracas")
            .with_timezone(&Utc)
    };
    let next = day.succ_opt().unwrap_or(day);
    (start_of(day), start_of(next))
}

/// Returns the instant the Caracas clock hour of `instant` started. Between
/// 2007 and 2016 Caracas was 4:30 behind UTC, so its hours started at half
/// past the UTC hour.
pub fn caracas_hour_start(instant: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    let local = instant.with_timezone(&Caracas);
    let truncated = local
        .with_minute(0)
        .and_then(|time| time.with_second(0))
        .and_then(|time| time.with_nanosecond(0))
        .expect("every Caracas hour has its minute zero");
    truncated.with_timezone(&Utc)
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
    fn hour_start_follows_the_caracas_offset() {
        let instant: DateTime<Utc> = "2026-12-05T00:14:59Z".parse().unwrap();
        let expected: DateTime<Utc> = "2026-12-05T00:00:00Z".parse().unwrap();
        assert_eq!(caracas_hour_start(instant), expected);

        let in_2010: DateTime<Utc> = "2010-06-01T12:10:00Z".parse().unwrap();
        let expected_2010: DateTime<Utc> = "2010-06-01T11:30:00Z".parse().unwrap();
        assert_eq!(caracas_hour_start(in_2010), expected_2010);
    }

    #[test]
    fn day_bounds_follow_the_caracas_offset() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let (start, end) = caracas_day_bounds(day);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 4, 4, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 5, 4, 0, 0).unwrap());
        // 23:59 and 00:01 Caracas time fall on either side of the bound.
        assert_eq!(caracas_date(end - chrono::Duration::minutes(1)), day);
        assert_eq!(
            caracas_date(end + chrono::Duration::minutes(1)),
            day.succ_opt().unwrap()
        );
        let (start_2010, _) = caracas_day_bounds(NaiveDate::from_ymd_opt(2010, 6, 1).unwrap());
        assert_eq!(
            start_2010,
            Utc.with_ymd_and_hms(2010, 6, 1, 4, 30, 0).unwrap()
        );
    }

    #[test]
    fn control_numbers_have_eight_digits() {
        assert_eq!(format_control_number(0, 1), "00-00000001");
        assert_eq!(format_control_number(1, 1_234), "01-00001234");
    }
}
