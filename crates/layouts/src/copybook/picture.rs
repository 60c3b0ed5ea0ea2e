//! PIC strings (parsed with nom): category, digits, scale and size.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::tag_no_case,
    character::complete::{char as ch, digit1, satisfy},
    combinator::{all_consuming, map, opt},
    multi::many1,
    sequence::delimited,
};

/// What kind of data a PIC string describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PicCategory {
    /// `X` (possibly mixed with `A` or `9`): any characters.
    Alphanumeric,
    /// Only `A` (and `B`): letters and spaces.
    Alphabetic,
    /// `9`, `S`, `V`, `P` and at most an explicit `.`: a number.
    Numeric,
    /// A number with editing symbols (`Z`, `+`, `-`, `,`, `B`, `0`, `/`,
    /// `*`, `$`, `CR`, `DB`): a formatted number in display form.
    NumericEdited,
}

/// A parsed PIC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// The PIC string as written, e.g. `S9(4)V99`.
    pub text: String,
    /// Its category.
    pub category: PicCategory,
    /// Digit positions (`9`, `Z`, `*`): the precision of a number.
    pub digits: u32,
    /// Decimal places: digits after `V` or `.`, plus leading `P`s, minus
    /// trailing `P`s (`9(5)PPP` has scale -3).
    pub scale: i32,
    /// Whether the number carries a sign (`S`, `+`, `-`, `CR`, `DB`).
    pub signed: bool,
    /// Whether the number has an explicit decimal point (`.`).
    pub explicit_point: bool,
    /// Character positions in display form (`S`, `V` and `P` take none;
    /// `CR`/`DB` take two), not counting a separate sign.
    pub display_len: u32,
}

/// A PIC symbol: one character, or `CR` / `DB` (as `'C'` / `'D'`).
fn symbol(input: &str) -> IResult<&str, char> {
    alt((
        map(tag_no_case("CR"), |_| 'C'),
        map(tag_no_case("DB"), |_| 'D'),
        map(satisfy(|c| "XxAa9SsVvPpZz+-,.Bb0/*$".contains(c)), |c| {
            c.to_ascii_uppercase()
        }),
    ))
    .parse(input)
}

/// A symbol and its repetition count, e.g. `9(5)`.
fn element(input: &str) -> IResult<&str, (char, &str)> {
    (
        symbol,
        map(opt(delimited(ch('('), digit1, ch(')'))), |n| {
            n.unwrap_or("1")
        }),
    )
        .parse(input)
}

impl Picture {
    /// Parses a PIC string, or says what is wrong with it.
    pub(super) fn parse(text: &str) -> Result<Picture, String> {
        let (_, elements) = all_consuming(many1(element))
            .parse(text)
            .map_err(|_| {
                if text.contains(['N', 'n', 'G', 'g', 'U', 'u']) {
                    format!(
                        "PIC string \"{text}\": national, DBCS and UTF-8 data (N, G, U) is not supported"
                    )
                } else {
                    format!("invalid PIC string \"{text}\"")
                }
            })?;
        let mut p = Picture {
            text: text.to_owned(),
            category: PicCategory::Numeric,
            digits: 0,
            scale: 0,
            signed: false,
            explicit_point: false,
            display_len: 0,
        };
        let (mut has_x, mut has_a, mut has_9, mut edited) = (false, false, false, false);
        let mut after_point = false;
        for (c, n) in elements {
            let n: u32 = n
                .parse()
                .ok()
                .filter(|&n| n > 0 && n <= 1 << 24)
                .ok_or_else(|| format!("invalid repetition ({n}) in PIC string \"{text}\""))?;
            let mut positions = n;
            match c {
                'X' => has_x = true,
                'A' => has_a = true,
                '9' | 'Z' | '*' => {
                    has_9 = true;
                    edited |= c != '9';
                    p.digits += n;
                    if after_point {
                        p.scale += n as i32;
                    }
                }
                'S' => {
                    p.signed = true;
                    positions = 0;
                }
                'V' => {
                    after_point = true;
                    positions = 0;
                }
                '.' => {
                    after_point = true;
                    p.explicit_point = true;
                }
                'P' => {
                    positions = 0;
                    // Leading Ps imply a decimal point before them.
                    after_point |= p.digits == 0;
                    if after_point {
                        p.scale += n as i32;
                    } else {
                        p.scale -= n as i32;
                    }
                }
                'C' | 'D' => {
                    p.signed = true;
                    edited = true;
                    positions = 2 * n;
                }
                '+' | '-' => {
                    p.signed = true;
                    edited = true;
                }
                _ => edited = true,
            }
            p.display_len = p
                .display_len
                .checked_add(positions)
                .ok_or_else(|| format!("PIC string \"{text}\" is too long"))?;
        }
        p.category = if has_x {
            PicCategory::Alphanumeric
        } else if has_a && !has_9 {
            PicCategory::Alphabetic
        } else if has_a {
            PicCategory::Alphanumeric
        } else if edited {
            PicCategory::NumericEdited
        } else {
            PicCategory::Numeric
        };
        if p.category == PicCategory::Numeric && p.digits == 0 {
            return Err(format!("PIC string \"{text}\" has no digit positions"));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pic(s: &str) -> Picture {
        match Picture::parse(s) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn numeric() {
        let p = pic("S9(4)V99");
        assert_eq!(p.category, PicCategory::Numeric);
        assert_eq!(
            (p.digits, p.scale, p.signed, p.display_len),
            (6, 2, true, 6)
        );
        let p = pic("9(8).9(2)");
        assert!(p.explicit_point);
        assert_eq!((p.digits, p.scale, p.display_len), (10, 2, 11));
        assert_eq!(pic("PPP9(5)").scale, 8);
        assert_eq!(pic("S9(5)PPP").scale, -3);
        assert_eq!(pic("SPPP9(5)").display_len, 5);
    }

    #[test]
    fn alphanumeric_and_edited() {
        assert_eq!(pic("X(10)").category, PicCategory::Alphanumeric);
        assert_eq!(pic("x(10)").display_len, 10);
        assert_eq!(pic("A(3)").category, PicCategory::Alphabetic);
        let p = pic("Z(6)VZZ-");
        assert_eq!(p.category, PicCategory::NumericEdited);
        assert_eq!(p.display_len, 9);
        assert_eq!(pic("9(6).99CR").display_len, 11);
        assert_eq!(pic("+9(8)").display_len, 9);
    }

    #[test]
    fn errors() {
        assert!(Picture::parse("9(").is_err());
        assert!(Picture::parse("Q").is_err());
        assert!(Picture::parse("9(0)").is_err());
        assert!(Picture::parse("SV").is_err());
        for national in ["N(10)", "G(4)", "U(2)"] {
            let e = Picture::parse(national).unwrap_err();
            assert!(e.contains("is not supported"), "{e}");
        }
    }
}
