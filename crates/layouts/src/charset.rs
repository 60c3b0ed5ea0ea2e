//! Character sets of `char` fields: bytes ↔ text.
//!
//! Everything that depends on the charset lives here, so a new one (EBCDIC
//! code pages) is a new variant plus its arms below.

use std::fmt;

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
}

impl Charset {
    /// The canonical name: `ISO-8859-1`, `UTF-8` or `ASCII`.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Latin1 => "ISO-8859-1",
            Charset::Utf8 => "UTF-8",
            Charset::Ascii => "ASCII",
        }
    }

    /// Looks a charset up by a name as written in a layout, ignoring case:
    /// `iso-8859-1`, `iso8859-1`, `latin1`, `latin-1`, `utf-8`, `utf8`,
    /// `ascii`, `us-ascii`.
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
    }

    /// The byte of a space, used to pad and trim `char(n)` fields.
    pub fn space(self) -> u8 {
        match self {
            Charset::Latin1 | Charset::Utf8 | Charset::Ascii => b' ',
        }
    }

    /// Appends the text of `bytes` to `out`; `Err(())` if they are not valid
    /// in this charset (then `out` is unchanged).
    pub(crate) fn decode_into(self, bytes: &[u8], out: &mut String) -> Result<(), ()> {
        match self {
            Charset::Latin1 => {
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
            Charset::Utf8 => {
                out.push_str(std::str::from_utf8(bytes).map_err(|_| ())?);
                Ok(())
            }
            Charset::Ascii => {
                out.push_str(ascii_str(bytes)?);
                Ok(())
            }
        }
    }

    /// Appends the UTF-8 bytes of `bytes` to `out`; `Err(())` if they are
    /// not valid in this charset (then `out` is unchanged).
    pub(crate) fn decode_utf8_into(self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
        match self {
            Charset::Latin1 => {
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
            Charset::Utf8 => {
                std::str::from_utf8(bytes).map_err(|_| ())?;
                out.extend_from_slice(bytes);
                Ok(())
            }
            Charset::Ascii => {
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
        match self {
            Charset::Latin1 => {
                let mut n = 0;
                for c in text.chars() {
                    if u32::from(c) > 0xFF {
                        return Err(c);
                    }
                    n += 1;
                }
                Ok(n)
            }
            Charset::Utf8 => Ok(text.len()),
            Charset::Ascii => match text.chars().find(|c| !c.is_ascii()) {
                Some(c) => Err(c),
                None => Ok(text.len()),
            },
        }
    }

    /// Writes `text` at the start of `out`, which must be at least
    /// [`encoded_len`](Self::encoded_len) bytes (checked before).
    pub(crate) fn encode_into(self, text: &str, out: &mut [u8]) {
        match self {
            Charset::Latin1 => {
                for (slot, c) in out.iter_mut().zip(text.chars()) {
                    // encoded_len checked every char is at most 0xFF
                    *slot = u8::try_from(u32::from(c)).unwrap_or(b'?');
                }
            }
            Charset::Utf8 | Charset::Ascii => {
                out[..text.len()].copy_from_slice(text.as_bytes());
            }
        }
    }
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
