//! Date-times: seconds since 1970-01-01 00:00:00 UTC, with civil-date
//! conversion (proleptic Gregorian calendar, no leap seconds).

use std::fmt;

const SECS_PER_DAY: i64 = 86_400;

/// A date-time in UTC, held as seconds since 1970-01-01 00:00:00.
///
/// Displays as `YYYY-MM-DD HH:MM:SS` (the canonical text of `dt_` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    secs: i64,
}

/// Civil fields of a date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl DateTime {
    /// The date-time `secs` seconds after 1970-01-01 00:00:00 UTC.
    pub const fn from_unix_seconds(secs: i64) -> DateTime {
        DateTime { secs }
    }

    /// Seconds since 1970-01-01 00:00:00 UTC (negative before).
    pub const fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// The date-time of a civil date and time of day, or `None` if a part
    /// is out of range (month 1-12, day within the month, hour 0-23,
    /// minute 0-59, second 0-59).
    pub fn from_civil(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<DateTime> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * SECS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
        Some(DateTime { secs })
    }

    /// Parses `YYYY-MM-DD HH:MM:SS` (a `T` may stand for the space) or a
    /// bare `YYYY-MM-DD` (midnight). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Option<DateTime> {
        let b = text.trim().as_bytes();
        let (date, time) = match b.len() {
            10 => (b, None),
            19 if b[10] == b' ' || b[10] == b'T' => (&b[..10], Some(&b[11..])),
            _ => return None,
        };
        if date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        let year = digits(&date[..4])?;
        let month = digits(&date[5..7])?;
        let day = digits(&date[8..10])?;
        let (hour, minute, second) = match time {
            None => (0, 0, 0),
            Some(t) => {
                if t[2] != b':' || t[5] != b':' {
                    return None;
                }
                (digits(&t[..2])?, digits(&t[3..5])?, digits(&t[6..8])?)
            }
        };
        let year = i32::try_from(year).ok()?;
        DateTime::from_civil(year, month, day, hour, minute, second)
    }

    fn civil(self) -> Civil {
        let days = self.secs.div_euclid(SECS_PER_DAY);
        let rem = self.secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        // rem is in 0..86400
        let rem = u32::try_from(rem).unwrap_or(0);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// Appends the canonical text to `out` without formatting machinery
    /// for years 0-9999.
    pub(crate) fn write_to(self, out: &mut String) {
        let c = self.civil();
        if (0..=9999).contains(&c.year) {
            let y = c.year as u32;
            let mut buf = *b"0000-00-00 00:00:00";
            put2(&mut buf[0..2], y / 100);
            put2(&mut buf[2..4], y % 100);
            put2(&mut buf[5..7], c.month);
            put2(&mut buf[8..10], c.day);
            put2(&mut buf[11..13], c.hour);
            put2(&mut buf[14..16], c.minute);
            put2(&mut buf[17..19], c.second);
            for &b in &buf {
                out.push(char::from(b));
            }
        } else {
            use std::fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(out, "{self}");
        }
    }
}

/// Writes a two-digit number (0-99).
fn put2(slot: &mut [u8], n: u32) {
    slot[0] = b'0' + (n / 10 % 10) as u8;
    slot[1] = b'0' + (n % 10) as u8;
}

/// The number written by ASCII digits only.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11], March first
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Civil date of a count of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    fn text(secs: i64) -> String {
        let mut s = String::new();
        DateTime::from_unix_seconds(secs).write_to(&mut s);
        s
    }

    #[test]
    fn known_dates() {
        assert_eq!(text(0), "1970-01-01 00:00:00");
        assert_eq!(text(315_532_800), "1980-01-01 00:00:00");
        assert_eq!(text(-1), "1969-12-31 23:59:59");
        assert_eq!(text(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(text(i64::from(i32::MAX)), "2038-01-19 03:14:07");
        assert_eq!(text(253_402_300_799), "9999-12-31 23:59:59");
        assert_eq!(text(253_402_300_800), "10000-01-01 00:00:00");
    }

    #[test]
    fn extremes_do_not_panic() {
        for secs in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let mut s = String::new();
            DateTime::from_unix_seconds(secs).write_to(&mut s);
            assert!(!s.is_empty());
        }
    }

    #[test]
    fn parse_forms() {
        let dt = DateTime::parse("2024-01-31 12:00:00").expect("valid");
        assert_eq!(dt.to_string(), "2024-01-31 12:00:00");
        assert_eq!(DateTime::parse("2024-01-31T12:00:00"), Some(dt));
        assert_eq!(
            DateTime::parse(" 1980-01-01 "),
            Some(DateTime::from_unix_seconds(315_532_800))
        );
        for bad in [
            "",
            "2024-02-30",
            "2023-02-29 00:00:00",
            "2024-13-01",
            "2024-01-01 24:00:00",
            "2024-01-01 23:60:00",
            "2024-01-01 23:00:60",
            "2024/01/01",
            "2024-01-01 1:00:00",
            "+024-01-01",
            "2024-01-01  12:00:00",
        ] {
            assert_eq!(DateTime::parse(bad), None, "{bad:?}");
        }
        assert!(DateTime::parse("2024-02-29").is_some());
        assert!(DateTime::parse("2000-02-29").is_some());
        assert!(DateTime::parse("1900-02-29").is_none());
    }

    proptest! {
        #[test]
        fn matches_chrono(secs in -100_000_000_000i64..100_000_000_000i64) {
            let ours = DateTime::from_unix_seconds(secs);
            let theirs = chrono::DateTime::from_timestamp(secs, 0).expect("in chrono range");
            let c = ours.civil();
            prop_assert_eq!(c.year, i64::from(theirs.year()));
            prop_assert_eq!(c.month, theirs.month());
            prop_assert_eq!(c.day, theirs.day());
            prop_assert_eq!(c.hour, theirs.hour());
            prop_assert_eq!(c.minute, theirs.minute());
            prop_assert_eq!(c.second, theirs.second());
            let year = i32::try_from(c.year).expect("small year");
            prop_assert_eq!(
                DateTime::from_civil(year, c.month, c.day, c.hour, c.minute, c.second),
                Some(ours)
            );
            let mut fast = String::new();
            ours.write_to(&mut fast);
            prop_assert_eq!(fast, ours.to_string());
        }

        #[test]
        fn text_round_trips(secs in -62_167_219_200i64..253_402_300_800i64) {
            let dt = DateTime::from_unix_seconds(secs);
            prop_assert_eq!(DateTime::parse(&dt.to_string()), Some(dt));
        }
    }
}
