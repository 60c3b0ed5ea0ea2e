//! Character sets of `char` fields: bytes ↔ text.
//!
//! Everything that depends on the charset lives here, so a new one (EBCDIC
//! code pages) is a new variant plus its arms below.

use std::fmt;

use crate::CodePage;

/// The character set of a layout's `char` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    /// ISO-8859-1: every byte is the character of the same code (the default).
    #[default]
    Latin1,
    /// UTF-8; invalid sequences are decode errors, never replaced.
    Utf8,
    /// 7-bit ASCII; a byte above 127 is a decode error.
    Ascii,
    /// EBCDIC code page 037 (US/Canada), as [`CodePage::Ebcdic037`].
    Ebcdic037,
    /// EBCDIC code page 273 (Germany/Austria).
    Ebcdic273,
    /// EBCDIC code page 500 (International).
    Ebcdic500,
    /// EBCDIC code page 1047 (Latin-1 open systems).
    Ebcdic1047,
    /// EBCDIC code page 1140 (037 with the euro sign).
    Ebcdic1140,
}

impl Charset {
    /// The canonical name: `ISO-8859-1`, `UTF-8`, `ASCII`, or the code
    /// page's name for EBCDIC (`cp037`, …).
    pub fn name(self) -> &'static str {
        match self {
            Charset::Latin1 => "ISO-8859-1",
            Charset::Utf8 => "UTF-8",
            Charset::Ascii => "ASCII",
            other => other.code_page().name(),
        }
    }

    /// The [`CodePage`] of the same bytes ↔ text mapping.
    pub fn code_page(self) -> CodePage {
        match self {
            Charset::Latin1 => CodePage::Latin1,
            Charset::Utf8 => CodePage::Utf8,
            Charset::Ascii => CodePage::Ascii,
            Charset::Ebcdic037 => CodePage::Ebcdic037,
            Charset::Ebcdic273 => CodePage::Ebcdic273,
            Charset::Ebcdic500 => CodePage::Ebcdic500,
            Charset::Ebcdic1047 => CodePage::Ebcdic1047,
            Charset::Ebcdic1140 => CodePage::Ebcdic1140,
        }
    }

    /// The charset of a code page.
    pub fn from_code_page(page: CodePage) -> Charset {
        match page {
            CodePage::Latin1 => Charset::Latin1,
            CodePage::Utf8 => Charset::Utf8,
            CodePage::Ascii => Charset::Ascii,
            CodePage::Ebcdic037 => Charset::Ebcdic037,
            CodePage::Ebcdic273 => Charset::Ebcdic273,
            CodePage::Ebcdic500 => Charset::Ebcdic500,
            CodePage::Ebcdic1047 => Charset::Ebcdic1047,
            CodePage::Ebcdic1140 => Charset::Ebcdic1140,
        }
    }

    /// How the bytes map to text.
    fn kind(self) -> Kind {
        match (self, self.code_page().table()) {
            (_, Some(table)) => Kind::Ebcdic(table),
            (Charset::Utf8, None) => Kind::Utf8,
            (Charset::Ascii, None) => Kind::Ascii,
            _ => Kind::Latin1,
        }
    }

    /// Looks a charset up by a name as written in a layout, ignoring case:
    /// `iso-8859-1`, `iso8859-1`, `latin1`, `latin-1`, `utf-8`, `utf8`,
    /// `ascii`, `us-ascii`, and the EBCDIC code page names (`cp037`,
    /// `ebcdic-037`, `ibm-1140`, …, see [`CodePage`]).
    pub fn from_name(name: &str) -> Option<Charset> {
        const NAMES: [(&str, Charset); 8] = [
            ("iso-8859-1", Charset::Latin1),
            ("iso8859-1", Charset::Latin1),
            ("latin1", Charset::Latin1),
            ("latin-1", Charset::Latin1),
            ("utf-8", Charset::Utf8),
            ("utf8", Charset::Utf8),
            ("ascii", Charset::Ascii),
            ("us-ascii", Charset::Ascii),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
            .or_else(|| {
                name.parse::<CodePage>()
                    .ok()
                    .filter(|p| p.is_ebcdic())
                    .map(Charset::from_code_page)
            })
    }

    /// The byte of a space, used to pad and trim `char(n)` fields.
    pub fn space(self) -> u8 {
        self.code_page().space()
    }

    /// Whether every byte string is valid text in this charset (all but
    /// ASCII and UTF-8): its text never needs checking.
    pub fn accepts_all(self) -> bool {
        matches!(self.kind(), Kind::Latin1 | Kind::Ebcdic(_))
    }

    /// Whether `bytes` are valid text in this charset (only ASCII and
    /// UTF-8 can fail).
    pub(crate) fn accepts(self, bytes: &[u8]) -> bool {
        match self.kind() {
            Kind::Ascii => bytes.is_ascii(),
            Kind::Utf8 => std::str::from_utf8(bytes).is_ok(),
            Kind::Latin1 | Kind::Ebcdic(_) => true,
        }
    }

    /// Appends the text of `bytes` to `out`; `Err(())` if they are not valid
    /// in this charset (then `out` is unchanged).
    pub(crate) fn decode_into(self, bytes: &[u8], out: &mut String) -> Result<(), ()> {
        match self.kind() {
            Kind::Ebcdic(_) => self.code_page().decode_into(bytes, out).map_err(|_| ()),
            Kind::Latin1 => {
                out.reserve(bytes.len() + bytes.len() / 4);
                let mut rest = bytes;
                while !rest.is_empty() {
                    // ASCII runs are copied whole; each other byte is the
                    // char of the same code.
                    let run = rest.iter().position(|&b| b >= 0x80).unwrap_or(rest.len());
                    out.push_str(ascii_str(&rest[..run])?);
                    match rest.get(run) {
                        Some(&b) => {
                            out.push(char::from(b));
                            rest = &rest[run + 1..];
                        }
                        None => break,
                    }
                }
                Ok(())
            }
            Kind::Utf8 => {
                out.push_str(std::str::from_utf8(bytes).map_err(|_| ())?);
                Ok(())
            }
            Kind::Ascii => {
                out.push_str(ascii_str(bytes)?);
                Ok(())
            }
        }
    }

    /// Appends the UTF-8 bytes of `bytes` to `out`; `Err(())` if they are
    /// not valid in this charset (then `out` is unchanged).
    #[inline]
    pub(crate) fn decode_utf8_into(self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
        match self.kind() {
            Kind::Ebcdic(_) => {
                self.code_page().ebcdic_utf8_into(bytes, out);
                Ok(())
            }
            Kind::Latin1 => {
                out.reserve(bytes.len() + bytes.len() / 4);
                let mut rest = bytes;
                while !rest.is_empty() {
                    let run = rest.iter().position(|&b| b >= 0x80).unwrap_or(rest.len());
                    out.extend_from_slice(&rest[..run]);
                    match rest.get(run) {
                        Some(&b) => {
                            out.extend_from_slice(&[0xC0 | (b >> 6), 0x80 | (b & 0x3F)]);
                            rest = &rest[run + 1..];
                        }
                        None => break,
                    }
                }
                Ok(())
            }
            Kind::Utf8 => {
                std::str::from_utf8(bytes).map_err(|_| ())?;
                out.extend_from_slice(bytes);
                Ok(())
            }
            Kind::Ascii => {
                if !bytes.is_ascii() {
                    return Err(());
                }
                out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// The number of bytes `text` takes in this charset, or the first
    /// character it cannot represent.
    pub(crate) fn encoded_len(self, text: &str) -> Result<usize, char> {
        match self.kind() {
            Kind::Ebcdic(table) => match text.chars().find(|c| !table.contains(c)) {
                Some(c) => Err(c),
                None => Ok(text.chars().count()),
            },
            Kind::Latin1 => {
                let mut n = 0;
                for c in text.chars() {
                    if u32::from(c) > 0xFF {
                        return Err(c);
                    }
                    n += 1;
                }
                Ok(n)
            }
            Kind::Utf8 => Ok(text.len()),
            Kind::Ascii => match text.chars().find(|c| !c.is_ascii()) {
                Some(c) => Err(c),
                None => Ok(text.len()),
            },
        }
    }

    /// Writes `text` at the start of `out`, which must be at least
    /// [`encoded_len`](Self::encoded_len) bytes (checked before).
    pub(crate) fn encode_into(self, text: &str, out: &mut [u8]) {
        match self.kind() {
            Kind::Ebcdic(table) => {
                for (slot, c) in out.iter_mut().zip(text.chars()) {
                    // encoded_len checked every char is in the table
                    let byte = table.iter().position(|&t| t == c).unwrap_or(0x6F);
                    *slot = u8::try_from(byte).unwrap_or(0x6F);
                }
            }
            Kind::Latin1 => {
                for (slot, c) in out.iter_mut().zip(text.chars()) {
                    // encoded_len checked every char is at most 0xFF
                    *slot = u8::try_from(u32::from(c)).unwrap_or(b'?');
                }
            }
            Kind::Utf8 | Kind::Ascii => {
                out[..text.len()].copy_from_slice(text.as_bytes());
            }
        }
    }
}

/// The four ways a charset maps bytes to text.
enum Kind {
    Latin1,
    Utf8,
    Ascii,
    /// A single-byte EBCDIC page: its byte → character table.
    Ebcdic(&'static [char; 256]),
}

/// `bytes` as a `&str` if they are all ASCII.
fn ascii_str(bytes: &[u8]) -> Result<&str, ()> {
    if bytes.is_ascii() {
        std::str::from_utf8(bytes).map_err(|_| ())
    } else {
        Err(())
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_tables_follow_code_page_order() {
        for page in CodePage::ALL {
            let blanks = page.blanks();
            assert!(blanks[usize::from(page.space())], "{page}");
            // 0x41 is 'A' in ASCII pages and a no-break space (U+00A0,
            // above U+0020: not blank) in EBCDIC 037.
            assert!(!blanks[0x41], "{page}");
        }
    }
}
