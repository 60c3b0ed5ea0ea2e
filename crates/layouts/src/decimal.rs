//! Exact decimal numbers and the packed decimal encoding.

use std::fmt;

use crate::DecodeErrorKind;

/// The largest precision of a `fixed dec(p,q)` field (digits fit an `i128`).
pub(crate) const MAX_PRECISION: u8 = 38;

/// An exact decimal number: `unscaled × 10^-scale`.
///
/// Displays exactly, with `scale` digits after the point: unscaled `-1250`
/// scale 2 is `-12.50`, `5` scale 2 is `0.05`, `7` scale 0 is `7`.
/// Equality is structural: `1.0` (10, scale 1) differs from `1.00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    unscaled: i128,
    scale: u8,
}

/// The pieces of a decimal's text.
struct Parts<'b> {
    negative: bool,
    int: &'b str,
    zeros: usize,
    frac: &'b str,
}

impl Decimal {
    /// The number `unscaled × 10^-scale`.
    pub const fn new(unscaled: i128, scale: u8) -> Decimal {
        Decimal { unscaled, scale }
    }

    /// The digits as an integer, e.g. `-1250` for `-12.50`.
    pub const fn unscaled(self) -> i128 {
        self.unscaled
    }

    /// The number of digits after the decimal point.
    pub const fn scale(self) -> u8 {
        self.scale
    }

    /// Parses `[+|-]digits[.digits]` (or `.5`, `5.`); the scale is the
    /// number of digits written after the point. Surrounding whitespace is
    /// ignored. `None` if malformed or beyond 38 digits.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let scale = u8::try_from(frac.len()).ok()?;
        let mut unscaled: i128 = 0;
        for d in int.bytes().chain(frac.bytes()) {
            if !d.is_ascii_digit() {
                return None;
            }
            unscaled = unscaled
                .checked_mul(10)?
                .checked_add(i128::from(d - b'0'))?;
        }
        if scale > MAX_PRECISION {
            return None;
        }
        Some(Decimal {
            unscaled: if negative { -unscaled } else { unscaled },
            scale,
        })
    }

    /// The same number with `scale` digits after the point, or `None` if
    /// that loses non-zero digits or overflows.
    pub fn rescale(self, scale: u8) -> Option<Decimal> {
        let unscaled = if scale >= self.scale {
            let factor = 10i128.checked_pow(u32::from(scale - self.scale))?;
            self.unscaled.checked_mul(factor)?
        } else {
            let factor = 10i128.checked_pow(u32::from(self.scale - scale))?;
            if self.unscaled % factor != 0 {
                return None;
            }
            self.unscaled / factor
        };
        Some(Decimal { unscaled, scale })
    }

    fn parts(self, buf: &mut itoa::Buffer) -> Parts<'_> {
        let digits = buf.format(self.unscaled.unsigned_abs());
        let scale = usize::from(self.scale);
        let (int, zeros, frac) = if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            (int, 0, frac)
        } else {
            ("0", scale - digits.len(), digits)
        };
        Parts {
            negative: self.unscaled < 0,
            int,
            zeros,
            frac,
        }
    }

    /// Appends the canonical text to `out`.
    pub(crate) fn write_to(self, out: &mut String) {
        let mut buf = itoa::Buffer::new();
        let p = self.parts(&mut buf);
        if p.negative {
            out.push('-');
        }
        out.push_str(p.int);
        if self.scale > 0 {
            out.push('.');
            for _ in 0..p.zeros {
                out.push('0');
            }
            out.push_str(p.frac);
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = itoa::Buffer::new();
        let p = self.parts(&mut buf);
        if p.negative {
            f.write_str("-")?;
        }
        f.write_str(p.int)?;
        if self.scale > 0 {
            f.write_str(".")?;
            for _ in 0..p.zeros {
                f.write_str("0")?;
            }
            f.write_str(p.frac)?;
        }
        Ok(())
    }
}

/// Bytes of a packed decimal of `precision` digits.
pub(crate) fn packed_len(precision: u8) -> usize {
    usize::from(precision) / 2 + 1
}

/// 10^precision, the first unscaled value a precision cannot hold.
pub(crate) fn limit(precision: u8) -> i128 {
    10i128.pow(u32::from(precision))
}

/// Decodes a packed decimal (digits as nibbles, last nibble the sign).
/// On error returns the index of the faulty byte within `bytes` and why.
pub(crate) fn decode_packed(
    bytes: &[u8],
    precision: u8,
    scale: u8,
) -> Result<Decimal, (usize, DecodeErrorKind)> {
    let mut unscaled: i128 = 0;
    let last = bytes.len() - 1;
    // An even precision leaves the first nibble unused: it must be zero.
    let skip_first = precision.is_multiple_of(2);
    for (i, &b) in bytes.iter().enumerate() {
        let hi = b >> 4;
        let lo = b & 0x0F;
        if hi > 9 || (i == 0 && skip_first && hi != 0) {
            return Err((i, DecodeErrorKind::BadPackedDigit { nibble: hi }));
        }
        unscaled = unscaled * 10 + i128::from(hi);
        if i == last {
            let negative = match lo {
                0xC | 0xF | 0xA | 0xE => false,
                0xD | 0xB => true,
                _ => return Err((i, DecodeErrorKind::BadPackedSign { nibble: lo })),
            };
            if negative {
                unscaled = -unscaled;
            }
        } else {
            if lo > 9 {
                return Err((i, DecodeErrorKind::BadPackedDigit { nibble: lo }));
            }
            unscaled = unscaled * 10 + i128::from(lo);
        }
    }
    Ok(Decimal { unscaled, scale })
}

/// Encodes `unscaled` (|unscaled| < 10^precision, checked before) as packed
/// decimal into `out` (of `packed_len(precision)` bytes), sign C or D.
pub(crate) fn encode_packed(unscaled: i128, out: &mut [u8]) {
    let mut rest = unscaled.unsigned_abs();
    let sign: u8 = if unscaled < 0 { 0xD } else { 0xC };
    let mut low = Some(sign);
    for slot in out.iter_mut().rev() {
        let lo = match low.take() {
            Some(s) => s,
            None => next_digit(&mut rest),
        };
        let hi = next_digit(&mut rest);
        *slot = (hi << 4) | lo;
    }
}

fn next_digit(rest: &mut u128) -> u8 {
    let d = (*rest % 10) as u8;
    *rest /= 10;
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(unscaled: i128, scale: u8) -> String {
        let d = Decimal::new(unscaled, scale);
        let mut s = String::new();
        d.write_to(&mut s);
        assert_eq!(s, d.to_string());
        s
    }

    #[test]
    fn display() {
        assert_eq!(text(-1250, 2), "-12.50");
        assert_eq!(text(5, 2), "0.05");
        assert_eq!(text(-5, 2), "-0.05");
        assert_eq!(text(7, 0), "7");
        assert_eq!(text(0, 0), "0");
        assert_eq!(text(0, 3), "0.000");
        assert_eq!(text(123, 3), "0.123");
        assert_eq!(text(1234, 3), "1.234");
        assert_eq!(
            text(i128::MIN, 0),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(
            text(i128::MAX, 38),
            "1.70141183460469231731687303715884105727"
        );
    }

    #[test]
    fn parse() {
        assert_eq!(Decimal::parse("-5.25"), Some(Decimal::new(-525, 2)));
        assert_eq!(Decimal::parse("+3"), Some(Decimal::new(3, 0)));
        assert_eq!(Decimal::parse(".5"), Some(Decimal::new(5, 1)));
        assert_eq!(Decimal::parse("5."), Some(Decimal::new(5, 0)));
        assert_eq!(Decimal::parse(" 12.50 "), Some(Decimal::new(1250, 2)));
        for bad in ["", ".", "-", "1.2.3", "1e3", "abc", "- 1", "1,5", "١"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Decimal::parse(&"9".repeat(39)), None);
        assert!(Decimal::parse(&"9".repeat(38)).is_some());
    }

    #[test]
    fn rescale() {
        let d = Decimal::new(125, 1);
        assert_eq!(d.rescale(3), Some(Decimal::new(12_500, 3)));
        assert_eq!(d.rescale(0), None);
        assert_eq!(Decimal::new(1200, 2).rescale(0), Some(Decimal::new(12, 0)));
        assert_eq!(Decimal::new(i128::MAX, 0).rescale(1), None);
    }

    #[test]
    fn packed() {
        let mut out = [0u8; 3];
        encode_packed(12345, &mut out);
        assert_eq!(out, [0x12, 0x34, 0x5C]);
        encode_packed(-1250, &mut out);
        assert_eq!(out, [0x01, 0x25, 0x0D]);
        assert_eq!(
            decode_packed(&[0x12, 0x34, 0x5F], 5, 2),
            Ok(Decimal::new(12345, 2))
        );
        assert_eq!(
            decode_packed(&[0x01, 0x25, 0x0B], 4, 0),
            Ok(Decimal::new(-1250, 0))
        );
        assert_eq!(
            decode_packed(&[0x1A, 0x34, 0x5C], 5, 0),
            Err((0, DecodeErrorKind::BadPackedDigit { nibble: 0xA }))
        );
        assert_eq!(
            decode_packed(&[0x12, 0x34, 0x59], 5, 0),
            Err((2, DecodeErrorKind::BadPackedSign { nibble: 9 }))
        );
        assert_eq!(
            decode_packed(&[0x10, 0x34, 0x5C], 4, 0),
            Err((0, DecodeErrorKind::BadPackedDigit { nibble: 1 }))
        );
    }

    proptest! {
        #[test]
        fn packed_round_trip(precision in 1u8..=38, seed in any::<i128>(), scale in 0u8..=38) {
            let lim = limit(precision);
            let unscaled = seed % lim;
            let mut out = vec![0u8; packed_len(precision)];
            encode_packed(unscaled, &mut out);
            prop_assert_eq!(decode_packed(&out, precision, scale), Ok(Decimal::new(unscaled, scale)));
        }

        #[test]
        fn text_round_trip(unscaled in any::<i128>(), scale in 0u8..=38) {
            let d = Decimal::new(unscaled, scale);
            prop_assume!(unscaled.unsigned_abs() < 10u128.pow(38));
            prop_assert_eq!(Decimal::parse(&d.to_string()), Some(d));
        }
    }
}
