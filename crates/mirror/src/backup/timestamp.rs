//! Journal timestamps (microseconds since 1970-01-01T00:00:00Z) to and
//! from RFC 3339 text, for `--to-time` and the manifest.

use super::error::BackupError;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `micros` as RFC 3339 in UTC with microseconds
/// (`2026-01-31T12:00:00.000123Z`).
pub fn format_micros(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rest / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1_000_000
    )
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `t` and
/// a space accepted for `T`) into microseconds since the epoch; digits
/// past the microsecond are cut.
pub fn parse_rfc3339(text: &str) -> Result<i64, BackupError> {
    let bad = |reason: &str| BackupError::BadTime {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let b = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, BackupError> {
        let digits = b.get(from..from + len).ok_or_else(|| bad("too short"))?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad("a digit was expected"));
        }
        Ok(digits
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| -> Result<(), BackupError> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad("bad separator")),
        }
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    sep(13, b":")?;
    sep(16, b":")?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad("a field is out of range"));
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                micros = micros * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(bad("no digits after the decimal point"));
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            sep(at + 3, b":")?;
            let (oh, om) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(bad("the offset is out of range"));
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => return Err(bad("a zone (Z or ±HH:MM) must end it")),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset_secs;
    Ok(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        let t = parse_rfc3339("2026-11-24T05:09:14.123456Z").unwrap();
        assert_eq!(format_micros(t), "2026-11-24T05:09:14.123456Z");
        assert_eq!(
            parse_rfc3339("2026-11-24T07:09:14.123456789+02:00").unwrap(),
            t
        );
        assert_eq!(
            parse_rfc3339("2000-02-29 00:00:00.5z").unwrap(),
            951_782_400_500_000
        );
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
        for bad in [
            "",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-11-24T00:00:00",
            "2026-11-24T00:00:00+2",
        ] {
            assert!(
                matches!(parse_rfc3339(bad), Err(BackupError::BadTime { .. })),
                "{bad}"
            );
        }
    }
}
