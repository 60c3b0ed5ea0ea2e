//! Code pages of text fields: bytes ↔ text for ASCII, ISO-8859-1, UTF-8 and
//! the single-byte EBCDIC pages of IBM mainframe data (037, 273, 500, 1047,
//! 1140), as COBOL copybook data uses them.
//!
//! Decoding appends to a caller's reused `String`; encoding appends to a
//! caller's reused `Vec<u8>`. Neither allocates beyond those growing. Errors
//! carry the offset within the slice or text given (callers add the field's
//! offset and their display name).
//!
//! The EBCDIC tables are byte-exact copies of glibc's iconv tables, printed
//! by `crates/layouts/tools/gen_codepages.py` (which also cross-checks them
//! against Python's codecs); the reverse tables are built from them at
//! compile time, which also proves each page is bijective on Latin-1.

use std::{fmt, str::FromStr};

/// A code page: how the bytes of a text field map to characters.
///
/// Config names (see [`FromStr`](CodePage::from_str)) are case-insensitive;
/// [`Display`](fmt::Display) writes the canonical [`name`](CodePage::name).
///
/// ```
/// use drx_layouts::CodePage;
///
/// let page: CodePage = "IBM-1140".parse()?;
/// assert_eq!(page, CodePage::Ebcdic1140);
/// assert_eq!(page.to_string(), "cp1140");
///
/// let mut text = String::new();
/// page.decode_into(&[0xC8, 0x89, 0x40, 0x9F, 0xF5], &mut text)?;
/// assert_eq!(text, "Hi €5");
///
/// let mut bytes = Vec::new();
/// page.encode_into(&text, &mut bytes)?;
/// assert_eq!(bytes, [0xC8, 0x89, 0x40, 0x9F, 0xF5]);
/// # Ok::<(), drx_layouts::CodePageError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePage {
    /// 7-bit US-ASCII; a byte at or above 0x80 is a decode error (never
    /// replaced), and so is a character above U+007F on encode.
    Ascii,
    /// ISO-8859-1: each byte is the character of the same code.
    Latin1,
    /// UTF-8; an invalid sequence is a decode error, never replaced.
    Utf8,
    /// EBCDIC code page 037 (USA/Canada).
    Ebcdic037,
    /// EBCDIC code page 273 (Germany/Austria).
    Ebcdic273,
    /// EBCDIC code page 500 (International).
    Ebcdic500,
    /// EBCDIC code page 1047 (Latin-1/Open Systems, z/OS Unix). 0x15 is
    /// U+0085 and 0x25 is U+000A, as in IBM's table and 037 (not the
    /// "swapped LF/NL" variant some z/OS tools use).
    Ebcdic1047,
    /// EBCDIC code page 1140: 037 with the euro sign '€' at 0x9F.
    Ebcdic1140,
}

/// An error from [`CodePage`]: an unknown name, or bytes or text the code
/// page cannot convert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodePageError {
    /// The name given to [`CodePage::from_str`] names no code page.
    #[error(
        "unknown code page `{0}` (known: ascii, latin1, utf8, cp037, cp273, cp500, cp1047, cp1140)"
    )]
    UnknownName(String),
    /// A byte that has no character in the code page (ASCII only).
    #[error("offset {offset}: byte 0x{byte:02X} is not {code_page}")]
    InvalidByte {
        /// The code page decoded from.
        code_page: CodePage,
        /// Offset of the byte in the slice given.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// Bytes that are not valid UTF-8.
    #[error("offset {offset}: invalid UTF-8")]
    InvalidUtf8 {
        /// Offset of the first invalid byte in the slice given.
        offset: usize,
    },
    /// A character that has no byte in the code page.
    #[error("text offset {offset}: {ch:?} (U+{code:04X}) has no byte in {code_page}", code = u32::from(*ch))]
    Unmappable {
        /// The code page encoded to.
        code_page: CodePage,
        /// Byte offset of the character in the text given.
        offset: usize,
        /// The character.
        ch: char,
    },
}

impl CodePage {
    /// Every code page, in declaration order.
    pub const ALL: [CodePage; 8] = [
        CodePage::Ascii,
        CodePage::Latin1,
        CodePage::Utf8,
        CodePage::Ebcdic037,
        CodePage::Ebcdic273,
        CodePage::Ebcdic500,
        CodePage::Ebcdic1047,
        CodePage::Ebcdic1140,
    ];

    /// The canonical name: `ascii`, `latin1`, `utf8`, `cp037`, `cp273`,
    /// `cp500`, `cp1047` or `cp1140` (the EBCDIC ones as Cobrix's
    /// `ebcdic_code_page` option spells them).
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Ascii => "ascii",
            CodePage::Latin1 => "latin1",
            CodePage::Utf8 => "utf8",
            CodePage::Ebcdic037 => "cp037",
            CodePage::Ebcdic273 => "cp273",
            CodePage::Ebcdic500 => "cp500",
            CodePage::Ebcdic1047 => "cp1047",
            CodePage::Ebcdic1140 => "cp1140",
        }
    }

    /// Whether this is an EBCDIC page (space is 0x40, digits 0xF0..=0xF9).
    pub fn is_ebcdic(self) -> bool {
        self.table().is_some()
    }

    /// The byte of a space: 0x40 in EBCDIC, 0x20 otherwise.
    pub fn space(self) -> u8 {
        if self.is_ebcdic() { 0x40 } else { 0x20 }
    }

    /// The 256-entry byte → character table of an EBCDIC page; `None` for
    /// ASCII, Latin-1 and UTF-8.
    pub fn table(self) -> Option<&'static [char; 256]> {
        match self {
            CodePage::Ascii | CodePage::Latin1 | CodePage::Utf8 => None,
            CodePage::Ebcdic037 => Some(&EBCDIC_037),
            CodePage::Ebcdic273 => Some(&EBCDIC_273),
            CodePage::Ebcdic500 => Some(&EBCDIC_500),
            CodePage::Ebcdic1047 => Some(&EBCDIC_1047),
            CodePage::Ebcdic1140 => Some(&EBCDIC_1140),
        }
    }

    /// The byte → ASCII byte table of an EBCDIC page ([`NOT_ASCII`] for
    /// bytes whose character is not ASCII).
    #[inline]
    fn ascii(self) -> Option<&'static [u8; 256]> {
        match self {
            CodePage::Ascii | CodePage::Latin1 | CodePage::Utf8 => None,
            CodePage::Ebcdic037 => Some(&ASCII_037),
            CodePage::Ebcdic273 => Some(&ASCII_273),
            CodePage::Ebcdic500 => Some(&ASCII_500),
            CodePage::Ebcdic1047 => Some(&ASCII_1047),
            CodePage::Ebcdic1140 => Some(&ASCII_1140),
        }
    }

    /// Which bytes are blanks: those whose character is at most U+0020
    /// (space and control codes, as Java's `String.trim`). In UTF-8 only
    /// single bytes count.
    pub(crate) fn blanks(self) -> &'static [bool; 256] {
        match self {
            CodePage::Ascii | CodePage::Latin1 | CodePage::Utf8 => &BLANKS_LOW,
            CodePage::Ebcdic037 => &BLANKS_037,
            CodePage::Ebcdic273 => &BLANKS_273,
            CodePage::Ebcdic500 => &BLANKS_500,
            CodePage::Ebcdic1047 => &BLANKS_1047,
            CodePage::Ebcdic1140 => &BLANKS_1140,
        }
    }

    /// The character → byte table of an EBCDIC page for U+0000..=U+00FF
    /// ([`NONE`] where no byte maps to it).
    fn reverse(self) -> Option<&'static [u16; 256]> {
        match self {
            CodePage::Ascii | CodePage::Latin1 | CodePage::Utf8 => None,
            CodePage::Ebcdic037 => Some(&REV_037),
            CodePage::Ebcdic273 => Some(&REV_273),
            CodePage::Ebcdic500 => Some(&REV_500),
            CodePage::Ebcdic1047 => Some(&REV_1047),
            CodePage::Ebcdic1140 => Some(&REV_1140),
        }
    }

    /// Decodes `bytes` and appends the text to `out` (which is not cleared).
    ///
    /// Every byte of an EBCDIC page or of Latin-1 is a character (control
    /// codes included), so those never fail. On error `out` is unchanged.
    pub fn decode_into(self, bytes: &[u8], out: &mut String) -> Result<(), CodePageError> {
        match (self, self.table()) {
            (_, Some(table)) => {
                out.reserve(bytes.len());
                let ascii = self.ascii().unwrap_or(&NO_ASCII);
                // Runs of bytes that all map to ASCII are copied as bytes;
                // a run with another character goes char by char.
                let mut buf = [0u8; 64];
                for run in bytes.chunks(buf.len()) {
                    let mut high = 0u8;
                    for (dst, &b) in buf.iter_mut().zip(run) {
                        *dst = ascii[usize::from(b)];
                        high |= *dst;
                    }
                    match std::str::from_utf8(&buf[..run.len()]) {
                        Ok(text) if high < 0x80 => out.push_str(text),
                        _ => out.extend(run.iter().map(|&b| table[usize::from(b)])),
                    }
                }
            }
            (CodePage::Ascii, None) => {
                if let Some(offset) = bytes.iter().position(|b| !b.is_ascii()) {
                    return Err(CodePageError::InvalidByte {
                        code_page: self,
                        offset,
                        byte: bytes[offset],
                    });
                }
                out.extend(bytes.iter().map(|&b| char::from(b)));
            }
            (CodePage::Utf8, None) => match std::str::from_utf8(bytes) {
                Ok(text) => out.push_str(text),
                Err(e) => {
                    return Err(CodePageError::InvalidUtf8 {
                        offset: e.valid_up_to(),
                    });
                }
            },
            // Latin-1 (the only page left without a table).
            _ => out.extend(bytes.iter().map(|&b| char::from(b))),
        }
        Ok(())
    }

    /// Appends the UTF-8 of EBCDIC `bytes` to `out`; `false` (nothing
    /// appended) if this is not an EBCDIC page. Bytes that map to ASCII —
    /// nearly all of a record's text — are mapped through one table in a
    /// single pass; a text with other characters is redone char by char.
    #[inline]
    pub(crate) fn ebcdic_utf8_into(self, bytes: &[u8], out: &mut Vec<u8>) -> bool {
        let (Some(table), Some(ascii)) = (self.table(), self.ascii()) else {
            return false;
        };
        if !ascii_into(ascii, bytes, out) {
            let mut buf = [0u8; 4];
            for &b in bytes {
                out.extend_from_slice(table[usize::from(b)].encode_utf8(&mut buf).as_bytes());
            }
        }
        true
    }

    /// Encodes `text` and appends the bytes to `out` (which is not cleared).
    ///
    /// A character with no byte in the page is an error
    /// ([`CodePageError::Unmappable`]), never replaced; on error `out` is
    /// truncated back to its length on entry.
    pub fn encode_into(self, text: &str, out: &mut Vec<u8>) -> Result<(), CodePageError> {
        let start = out.len();
        let result = self.encode_append(text, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_append(self, text: &str, out: &mut Vec<u8>) -> Result<(), CodePageError> {
        let unmappable = |offset, ch| CodePageError::Unmappable {
            code_page: self,
            offset,
            ch,
        };
        match (self, self.reverse(), self.table()) {
            (CodePage::Utf8, _, _) => out.extend_from_slice(text.as_bytes()),
            (CodePage::Ascii, _, _) => match text.char_indices().find(|(_, c)| !c.is_ascii()) {
                Some((offset, ch)) => return Err(unmappable(offset, ch)),
                None => out.extend_from_slice(text.as_bytes()),
            },
            (_, Some(reverse), Some(table)) => {
                out.reserve(text.len());
                for (offset, ch) in text.char_indices() {
                    let byte = match reverse.get(ch as usize) {
                        Some(&b) if b != NONE => u8::try_from(b).ok(),
                        Some(_) => None,
                        // Above U+00FF: only the euro sign of 1140 so far.
                        None => table
                            .iter()
                            .position(|&c| c == ch)
                            .and_then(|b| u8::try_from(b).ok()),
                    };
                    out.push(byte.ok_or_else(|| unmappable(offset, ch))?);
                }
            }
            // Latin-1 (the only page left without tables).
            _ => {
                out.reserve(text.len());
                for (offset, ch) in text.char_indices() {
                    let byte = u8::try_from(ch).map_err(|_| unmappable(offset, ch))?;
                    out.push(byte);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for CodePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CodePage {
    type Err = CodePageError;

    /// Reads a config name, ignoring case: `ascii`, `us-ascii`; `latin1`,
    /// `latin-1`, `iso-8859-1`, `iso8859-1`; `utf8`, `utf-8`; and for the
    /// EBCDIC pages the number (`037`, `37`, `1047`, ...) alone or after
    /// `cp`, `ibm`, `ibm-`, `ebcdic` or `ebcdic-` (`cp037`, `IBM-1047`,
    /// `ebcdic500`).
    fn from_str(name: &str) -> Result<CodePage, CodePageError> {
        const NAMES: [(&str, CodePage); 8] = [
            ("ascii", CodePage::Ascii),
            ("us-ascii", CodePage::Ascii),
            ("latin1", CodePage::Latin1),
            ("latin-1", CodePage::Latin1),
            ("iso-8859-1", CodePage::Latin1),
            ("iso8859-1", CodePage::Latin1),
            ("utf8", CodePage::Utf8),
            ("utf-8", CodePage::Utf8),
        ];
        const PREFIXES: [&str; 5] = ["ebcdic-", "ebcdic", "ibm-", "ibm", "cp"];
        if let Some(&(_, page)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Ok(page);
        }
        let digits = PREFIXES
            .iter()
            .find_map(|p| {
                name.get(..p.len())
                    .filter(|head| head.eq_ignore_ascii_case(p))
                    .map(|_| &name[p.len()..])
            })
            .unwrap_or(name);
        let number =
            if (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse::<u16>().ok()
            } else {
                None
            };
        match number {
            Some(37) => Ok(CodePage::Ebcdic037),
            Some(273) => Ok(CodePage::Ebcdic273),
            Some(500) => Ok(CodePage::Ebcdic500),
            Some(1047) => Ok(CodePage::Ebcdic1047),
            Some(1140) => Ok(CodePage::Ebcdic1140),
            _ => Err(CodePageError::UnknownName(name.to_owned())),
        }
    }
}

/// In a reverse table: no byte maps to this character.
const NONE: u16 = 0x100;

/// Builds the U+0000..=U+00FF → byte table of `table` at compile time,
/// failing the build if two bytes map to the same character.
const fn reverse_of(table: &[char; 256]) -> [u16; 256] {
    let mut rev = [NONE; 256];
    let mut byte = 0;
    while byte < 256 {
        let code = table[byte] as u32;
        if code < 256 {
            assert!(
                rev[code as usize] == NONE,
                "code page maps two bytes to one character"
            );
            rev[code as usize] = byte as u16;
        }
        byte += 1;
    }
    rev
}

/// Appends `bytes` mapped through the byte → ASCII table `ascii` to `out`,
/// in one pass, and returns `true`; if one is not ASCII, appends
/// nothing and returns `false`.
#[inline]
fn ascii_into(ascii: &[u8; 256], bytes: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    // The high bits of every byte written.
    let mut high = 0u8;
    out.extend(bytes.iter().map(|&b| {
        let a = ascii[usize::from(b)];
        high |= a;
        a
    }));
    if high >= 0x80 {
        out.truncate(start);
        return false;
    }
    true
}

/// In an ASCII table: the byte's character is not ASCII.
const NOT_ASCII: u8 = 0xFF;

/// An ASCII table with no ASCII byte (never used: every EBCDIC page has one).
static NO_ASCII: [u8; 256] = [NOT_ASCII; 256];

/// Builds the byte → ASCII byte table of `table` at compile time.
const fn ascii_of(table: &[char; 256]) -> [u8; 256] {
    let mut ascii = [NOT_ASCII; 256];
    let mut byte = 0;
    while byte < 256 {
        let code = table[byte] as u32;
        if code < 0x80 {
            ascii[byte] = code as u8;
        }
        byte += 1;
    }
    ascii
}

static ASCII_037: [u8; 256] = ascii_of(&EBCDIC_037);
static ASCII_273: [u8; 256] = ascii_of(&EBCDIC_273);
static ASCII_500: [u8; 256] = ascii_of(&EBCDIC_500);
static ASCII_1047: [u8; 256] = ascii_of(&EBCDIC_1047);
static ASCII_1140: [u8; 256] = ascii_of(&EBCDIC_1140);

/// Builds the table of the bytes of `table` whose character is at most
/// U+0020 (the blanks of [`CodePage::blanks`]) at compile time.
const fn blanks_of(table: &[char; 256]) -> [bool; 256] {
    let mut blank = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        blank[byte] = table[byte] as u32 <= 0x20;
        byte += 1;
    }
    blank
}

/// The blanks of ASCII, Latin-1 and (single bytes of) UTF-8.
static BLANKS_LOW: [bool; 256] = {
    let mut blank = [false; 256];
    let mut byte = 0;
    while byte <= 0x20 {
        blank[byte] = true;
        byte += 1;
    }
    blank
};
static BLANKS_037: [bool; 256] = blanks_of(&EBCDIC_037);
static BLANKS_273: [bool; 256] = blanks_of(&EBCDIC_273);
static BLANKS_500: [bool; 256] = blanks_of(&EBCDIC_500);
static BLANKS_1047: [bool; 256] = blanks_of(&EBCDIC_1047);
static BLANKS_1140: [bool; 256] = blanks_of(&EBCDIC_1140);

static REV_037: [u16; 256] = reverse_of(&EBCDIC_037);
static REV_273: [u16; 256] = reverse_of(&EBCDIC_273);
static REV_500: [u16; 256] = reverse_of(&EBCDIC_500);
static REV_1047: [u16; 256] = reverse_of(&EBCDIC_1047);
static REV_1140: [u16; 256] = reverse_of(&EBCDIC_1140);

// The tables below are generated: `python3 crates/layouts/tools/gen_codepages.py`
// (glibc iconv, each byte 0x00..=0xFF to UTF-32BE; cross-checked against
// Python's codecs cp037, cp500, cp1140 — identical — and cp273, which differs
// only at 0xBC: Python has U+203E OVERLINE, glibc and IBM's CCSID 273 table
// U+00AF MACRON, glibc bug 23290). Do not edit by hand.

/// IBM code page 037 (glibc iconv `IBM037`), indexed by byte.
static EBCDIC_037: [char; 256] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{9c}', '\u{9}', '\u{86}', '\u{7f}', // 0x00
    '\u{97}', '\u{8d}', '\u{8e}', '\u{b}', '\u{c}', '\u{d}', '\u{e}', '\u{f}', // 0x08
    '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{9d}', '\u{85}', '\u{8}', '\u{87}', // 0x10
    '\u{18}', '\u{19}', '\u{92}', '\u{8f}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', // 0x18
    '\u{80}', '\u{81}', '\u{82}', '\u{83}', '\u{84}', '\u{a}', '\u{17}', '\u{1b}', // 0x20
    '\u{88}', '\u{89}', '\u{8a}', '\u{8b}', '\u{8c}', '\u{5}', '\u{6}', '\u{7}', // 0x28
    '\u{90}', '\u{91}', '\u{16}', '\u{93}', '\u{94}', '\u{95}', '\u{96}', '\u{4}', // 0x30
    '\u{98}', '\u{99}', '\u{9a}', '\u{9b}', '\u{14}', '\u{15}', '\u{9e}', '\u{1a}', // 0x38
    ' ', '\u{a0}', '\u{e2}', '\u{e4}', '\u{e0}', '\u{e1}', '\u{e3}', '\u{e5}', // 0x40
    '\u{e7}', '\u{f1}', '\u{a2}', '.', '<', '(', '+', '|', // 0x48
    '&', '\u{e9}', '\u{ea}', '\u{eb}', '\u{e8}', '\u{ed}', '\u{ee}', '\u{ef}', // 0x50
    '\u{ec}', '\u{df}', '!', '$', '*', ')', ';', '\u{ac}', // 0x58
    '-', '/', '\u{c2}', '\u{c4}', '\u{c0}', '\u{c1}', '\u{c3}', '\u{c5}', // 0x60
    '\u{c7}', '\u{d1}', '\u{a6}', ',', '%', '_', '>', '?', // 0x68
    '\u{f8}', '\u{c9}', '\u{ca}', '\u{cb}', '\u{c8}', '\u{cd}', '\u{ce}', '\u{cf}', // 0x70
    '\u{cc}', '`', ':', '#', '@', '\'', '=', '"', // 0x78
    '\u{d8}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x80
    'h', 'i', '\u{ab}', '\u{bb}', '\u{f0}', '\u{fd}', '\u{fe}', '\u{b1}', // 0x88
    '\u{b0}', 'j', 'k', 'l', 'm', 'n', 'o', 'p', // 0x90
    'q', 'r', '\u{aa}', '\u{ba}', '\u{e6}', '\u{b8}', '\u{c6}', '\u{a4}', // 0x98
    '\u{b5}', '~', 's', 't', 'u', 'v', 'w', 'x', // 0xA0
    'y', 'z', '\u{a1}', '\u{bf}', '\u{d0}', '\u{dd}', '\u{de}', '\u{ae}', // 0xA8
    '^', '\u{a3}', '\u{a5}', '\u{b7}', '\u{a9}', '\u{a7}', '\u{b6}', '\u{bc}', // 0xB0
    '\u{bd}', '\u{be}', '[', ']', '\u{af}', '\u{a8}', '\u{b4}', '\u{d7}', // 0xB8
    '{', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0xC0
    'H', 'I', '\u{ad}', '\u{f4}', '\u{f6}', '\u{f2}', '\u{f3}', '\u{f5}', // 0xC8
    '}', 'J', 'K', 'L', 'M', 'N', 'O', 'P', // 0xD0
    'Q', 'R', '\u{b9}', '\u{fb}', '\u{fc}', '\u{f9}', '\u{fa}', '\u{ff}', // 0xD8
    '\\', '\u{f7}', 'S', 'T', 'U', 'V', 'W', 'X', // 0xE0
    'Y', 'Z', '\u{b2}', '\u{d4}', '\u{d6}', '\u{d2}', '\u{d3}', '\u{d5}', // 0xE8
    '0', '1', '2', '3', '4', '5', '6', '7', // 0xF0
    '8', '9', '\u{b3}', '\u{db}', '\u{dc}', '\u{d9}', '\u{da}', '\u{9f}', // 0xF8
];

/// IBM code page 273 (glibc iconv `IBM273`), indexed by byte.
static EBCDIC_273: [char; 256] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{9c}', '\u{9}', '\u{86}', '\u{7f}', // 0x00
    '\u{97}', '\u{8d}', '\u{8e}', '\u{b}', '\u{c}', '\u{d}', '\u{e}', '\u{f}', // 0x08
    '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{9d}', '\u{85}', '\u{8}', '\u{87}', // 0x10
    '\u{18}', '\u{19}', '\u{92}', '\u{8f}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', // 0x18
    '\u{80}', '\u{81}', '\u{82}', '\u{83}', '\u{84}', '\u{a}', '\u{17}', '\u{1b}', // 0x20
    '\u{88}', '\u{89}', '\u{8a}', '\u{8b}', '\u{8c}', '\u{5}', '\u{6}', '\u{7}', // 0x28
    '\u{90}', '\u{91}', '\u{16}', '\u{93}', '\u{94}', '\u{95}', '\u{96}', '\u{4}', // 0x30
    '\u{98}', '\u{99}', '\u{9a}', '\u{9b}', '\u{14}', '\u{15}', '\u{9e}', '\u{1a}', // 0x38
    ' ', '\u{a0}', '\u{e2}', '{', '\u{e0}', '\u{e1}', '\u{e3}', '\u{e5}', // 0x40
    '\u{e7}', '\u{f1}', '\u{c4}', '.', '<', '(', '+', '!', // 0x48
    '&', '\u{e9}', '\u{ea}', '\u{eb}', '\u{e8}', '\u{ed}', '\u{ee}', '\u{ef}', // 0x50
    '\u{ec}', '~', '\u{dc}', '$', '*', ')', ';', '^', // 0x58
    '-', '/', '\u{c2}', '[', '\u{c0}', '\u{c1}', '\u{c3}', '\u{c5}', // 0x60
    '\u{c7}', '\u{d1}', '\u{f6}', ',', '%', '_', '>', '?', // 0x68
    '\u{f8}', '\u{c9}', '\u{ca}', '\u{cb}', '\u{c8}', '\u{cd}', '\u{ce}', '\u{cf}', // 0x70
    '\u{cc}', '`', ':', '#', '\u{a7}', '\'', '=', '"', // 0x78
    '\u{d8}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x80
    'h', 'i', '\u{ab}', '\u{bb}', '\u{f0}', '\u{fd}', '\u{fe}', '\u{b1}', // 0x88
    '\u{b0}', 'j', 'k', 'l', 'm', 'n', 'o', 'p', // 0x90
    'q', 'r', '\u{aa}', '\u{ba}', '\u{e6}', '\u{b8}', '\u{c6}', '\u{a4}', // 0x98
    '\u{b5}', '\u{df}', 's', 't', 'u', 'v', 'w', 'x', // 0xA0
    'y', 'z', '\u{a1}', '\u{bf}', '\u{d0}', '\u{dd}', '\u{de}', '\u{ae}', // 0xA8
    '\u{a2}', '\u{a3}', '\u{a5}', '\u{b7}', '\u{a9}', '@', '\u{b6}', '\u{bc}', // 0xB0
    '\u{bd}', '\u{be}', '\u{ac}', '|', '\u{af}', '\u{a8}', '\u{b4}', '\u{d7}', // 0xB8
    '\u{e4}', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0xC0
    'H', 'I', '\u{ad}', '\u{f4}', '\u{a6}', '\u{f2}', '\u{f3}', '\u{f5}', // 0xC8
    '\u{fc}', 'J', 'K', 'L', 'M', 'N', 'O', 'P', // 0xD0
    'Q', 'R', '\u{b9}', '\u{fb}', '}', '\u{f9}', '\u{fa}', '\u{ff}', // 0xD8
    '\u{d6}', '\u{f7}', 'S', 'T', 'U', 'V', 'W', 'X', // 0xE0
    'Y', 'Z', '\u{b2}', '\u{d4}', '\\', '\u{d2}', '\u{d3}', '\u{d5}', // 0xE8
    '0', '1', '2', '3', '4', '5', '6', '7', // 0xF0
    '8', '9', '\u{b3}', '\u{db}', ']', '\u{d9}', '\u{da}', '\u{9f}', // 0xF8
];

/// IBM code page 500 (glibc iconv `IBM500`), indexed by byte.
static EBCDIC_500: [char; 256] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{9c}', '\u{9}', '\u{86}', '\u{7f}', // 0x00
    '\u{97}', '\u{8d}', '\u{8e}', '\u{b}', '\u{c}', '\u{d}', '\u{e}', '\u{f}', // 0x08
    '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{9d}', '\u{85}', '\u{8}', '\u{87}', // 0x10
    '\u{18}', '\u{19}', '\u{92}', '\u{8f}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', // 0x18
    '\u{80}', '\u{81}', '\u{82}', '\u{83}', '\u{84}', '\u{a}', '\u{17}', '\u{1b}', // 0x20
    '\u{88}', '\u{89}', '\u{8a}', '\u{8b}', '\u{8c}', '\u{5}', '\u{6}', '\u{7}', // 0x28
    '\u{90}', '\u{91}', '\u{16}', '\u{93}', '\u{94}', '\u{95}', '\u{96}', '\u{4}', // 0x30
    '\u{98}', '\u{99}', '\u{9a}', '\u{9b}', '\u{14}', '\u{15}', '\u{9e}', '\u{1a}', // 0x38
    ' ', '\u{a0}', '\u{e2}', '\u{e4}', '\u{e0}', '\u{e1}', '\u{e3}', '\u{e5}', // 0x40
    '\u{e7}', '\u{f1}', '[', '.', '<', '(', '+', '!', // 0x48
    '&', '\u{e9}', '\u{ea}', '\u{eb}', '\u{e8}', '\u{ed}', '\u{ee}', '\u{ef}', // 0x50
    '\u{ec}', '\u{df}', ']', '$', '*', ')', ';', '^', // 0x58
    '-', '/', '\u{c2}', '\u{c4}', '\u{c0}', '\u{c1}', '\u{c3}', '\u{c5}', // 0x60
    '\u{c7}', '\u{d1}', '\u{a6}', ',', '%', '_', '>', '?', // 0x68
    '\u{f8}', '\u{c9}', '\u{ca}', '\u{cb}', '\u{c8}', '\u{cd}', '\u{ce}', '\u{cf}', // 0x70
    '\u{cc}', '`', ':', '#', '@', '\'', '=', '"', // 0x78
    '\u{d8}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x80
    'h', 'i', '\u{ab}', '\u{bb}', '\u{f0}', '\u{fd}', '\u{fe}', '\u{b1}', // 0x88
    '\u{b0}', 'j', 'k', 'l', 'm', 'n', 'o', 'p', // 0x90
    'q', 'r', '\u{aa}', '\u{ba}', '\u{e6}', '\u{b8}', '\u{c6}', '\u{a4}', // 0x98
    '\u{b5}', '~', 's', 't', 'u', 'v', 'w', 'x', // 0xA0
    'y', 'z', '\u{a1}', '\u{bf}', '\u{d0}', '\u{dd}', '\u{de}', '\u{ae}', // 0xA8
    '\u{a2}', '\u{a3}', '\u{a5}', '\u{b7}', '\u{a9}', '\u{a7}', '\u{b6}', '\u{bc}', // 0xB0
    '\u{bd}', '\u{be}', '\u{ac}', '|', '\u{af}', '\u{a8}', '\u{b4}', '\u{d7}', // 0xB8
    '{', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0xC0
    'H', 'I', '\u{ad}', '\u{f4}', '\u{f6}', '\u{f2}', '\u{f3}', '\u{f5}', // 0xC8
    '}', 'J', 'K', 'L', 'M', 'N', 'O', 'P', // 0xD0
    'Q', 'R', '\u{b9}', '\u{fb}', '\u{fc}', '\u{f9}', '\u{fa}', '\u{ff}', // 0xD8
    '\\', '\u{f7}', 'S', 'T', 'U', 'V', 'W', 'X', // 0xE0
    'Y', 'Z', '\u{b2}', '\u{d4}', '\u{d6}', '\u{d2}', '\u{d3}', '\u{d5}', // 0xE8
    '0', '1', '2', '3', '4', '5', '6', '7', // 0xF0
    '8', '9', '\u{b3}', '\u{db}', '\u{dc}', '\u{d9}', '\u{da}', '\u{9f}', // 0xF8
];

/// IBM code page 1047 (glibc iconv `IBM1047`), indexed by byte.
static EBCDIC_1047: [char; 256] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{9c}', '\u{9}', '\u{86}', '\u{7f}', // 0x00
    '\u{97}', '\u{8d}', '\u{8e}', '\u{b}', '\u{c}', '\u{d}', '\u{e}', '\u{f}', // 0x08
    '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{9d}', '\u{85}', '\u{8}', '\u{87}', // 0x10
    '\u{18}', '\u{19}', '\u{92}', '\u{8f}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', // 0x18
    '\u{80}', '\u{81}', '\u{82}', '\u{83}', '\u{84}', '\u{a}', '\u{17}', '\u{1b}', // 0x20
    '\u{88}', '\u{89}', '\u{8a}', '\u{8b}', '\u{8c}', '\u{5}', '\u{6}', '\u{7}', // 0x28
    '\u{90}', '\u{91}', '\u{16}', '\u{93}', '\u{94}', '\u{95}', '\u{96}', '\u{4}', // 0x30
    '\u{98}', '\u{99}', '\u{9a}', '\u{9b}', '\u{14}', '\u{15}', '\u{9e}', '\u{1a}', // 0x38
    ' ', '\u{a0}', '\u{e2}', '\u{e4}', '\u{e0}', '\u{e1}', '\u{e3}', '\u{e5}', // 0x40
    '\u{e7}', '\u{f1}', '\u{a2}', '.', '<', '(', '+', '|', // 0x48
    '&', '\u{e9}', '\u{ea}', '\u{eb}', '\u{e8}', '\u{ed}', '\u{ee}', '\u{ef}', // 0x50
    '\u{ec}', '\u{df}', '!', '$', '*', ')', ';', '^', // 0x58
    '-', '/', '\u{c2}', '\u{c4}', '\u{c0}', '\u{c1}', '\u{c3}', '\u{c5}', // 0x60
    '\u{c7}', '\u{d1}', '\u{a6}', ',', '%', '_', '>', '?', // 0x68
    '\u{f8}', '\u{c9}', '\u{ca}', '\u{cb}', '\u{c8}', '\u{cd}', '\u{ce}', '\u{cf}', // 0x70
    '\u{cc}', '`', ':', '#', '@', '\'', '=', '"', // 0x78
    '\u{d8}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x80
    'h', 'i', '\u{ab}', '\u{bb}', '\u{f0}', '\u{fd}', '\u{fe}', '\u{b1}', // 0x88
    '\u{b0}', 'j', 'k', 'l', 'm', 'n', 'o', 'p', // 0x90
    'q', 'r', '\u{aa}', '\u{ba}', '\u{e6}', '\u{b8}', '\u{c6}', '\u{a4}', // 0x98
    '\u{b5}', '~', 's', 't', 'u', 'v', 'w', 'x', // 0xA0
    'y', 'z', '\u{a1}', '\u{bf}', '\u{d0}', '[', '\u{de}', '\u{ae}', // 0xA8
    '\u{ac}', '\u{a3}', '\u{a5}', '\u{b7}', '\u{a9}', '\u{a7}', '\u{b6}', '\u{bc}', // 0xB0
    '\u{bd}', '\u{be}', '\u{dd}', '\u{a8}', '\u{af}', ']', '\u{b4}', '\u{d7}', // 0xB8
    '{', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0xC0
    'H', 'I', '\u{ad}', '\u{f4}', '\u{f6}', '\u{f2}', '\u{f3}', '\u{f5}', // 0xC8
    '}', 'J', 'K', 'L', 'M', 'N', 'O', 'P', // 0xD0
    'Q', 'R', '\u{b9}', '\u{fb}', '\u{fc}', '\u{f9}', '\u{fa}', '\u{ff}', // 0xD8
    '\\', '\u{f7}', 'S', 'T', 'U', 'V', 'W', 'X', // 0xE0
    'Y', 'Z', '\u{b2}', '\u{d4}', '\u{d6}', '\u{d2}', '\u{d3}', '\u{d5}', // 0xE8
    '0', '1', '2', '3', '4', '5', '6', '7', // 0xF0
    '8', '9', '\u{b3}', '\u{db}', '\u{dc}', '\u{d9}', '\u{da}', '\u{9f}', // 0xF8
];

/// IBM code page 1140 (glibc iconv `IBM1140`), indexed by byte.
static EBCDIC_1140: [char; 256] = [
    '\u{0}', '\u{1}', '\u{2}', '\u{3}', '\u{9c}', '\u{9}', '\u{86}', '\u{7f}', // 0x00
    '\u{97}', '\u{8d}', '\u{8e}', '\u{b}', '\u{c}', '\u{d}', '\u{e}', '\u{f}', // 0x08
    '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{9d}', '\u{85}', '\u{8}', '\u{87}', // 0x10
    '\u{18}', '\u{19}', '\u{92}', '\u{8f}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', // 0x18
    '\u{80}', '\u{81}', '\u{82}', '\u{83}', '\u{84}', '\u{a}', '\u{17}', '\u{1b}', // 0x20
    '\u{88}', '\u{89}', '\u{8a}', '\u{8b}', '\u{8c}', '\u{5}', '\u{6}', '\u{7}', // 0x28
    '\u{90}', '\u{91}', '\u{16}', '\u{93}', '\u{94}', '\u{95}', '\u{96}', '\u{4}', // 0x30
    '\u{98}', '\u{99}', '\u{9a}', '\u{9b}', '\u{14}', '\u{15}', '\u{9e}', '\u{1a}', // 0x38
    ' ', '\u{a0}', '\u{e2}', '\u{e4}', '\u{e0}', '\u{e1}', '\u{e3}', '\u{e5}', // 0x40
    '\u{e7}', '\u{f1}', '\u{a2}', '.', '<', '(', '+', '|', // 0x48
    '&', '\u{e9}', '\u{ea}', '\u{eb}', '\u{e8}', '\u{ed}', '\u{ee}', '\u{ef}', // 0x50
    '\u{ec}', '\u{df}', '!', '$', '*', ')', ';', '\u{ac}', // 0x58
    '-', '/', '\u{c2}', '\u{c4}', '\u{c0}', '\u{c1}', '\u{c3}', '\u{c5}', // 0x60
    '\u{c7}', '\u{d1}', '\u{a6}', ',', '%', '_', '>', '?', // 0x68
    '\u{f8}', '\u{c9}', '\u{ca}', '\u{cb}', '\u{c8}', '\u{cd}', '\u{ce}', '\u{cf}', // 0x70
    '\u{cc}', '`', ':', '#', '@', '\'', '=', '"', // 0x78
    '\u{d8}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x80
    'h', 'i', '\u{ab}', '\u{bb}', '\u{f0}', '\u{fd}', '\u{fe}', '\u{b1}', // 0x88
    '\u{b0}', 'j', 'k', 'l', 'm', 'n', 'o', 'p', // 0x90
    'q', 'r', '\u{aa}', '\u{ba}', '\u{e6}', '\u{b8}', '\u{c6}', '\u{20ac}', // 0x98
    '\u{b5}', '~', 's', 't', 'u', 'v', 'w', 'x', // 0xA0
    'y', 'z', '\u{a1}', '\u{bf}', '\u{d0}', '\u{dd}', '\u{de}', '\u{ae}', // 0xA8
    '^', '\u{a3}', '\u{a5}', '\u{b7}', '\u{a9}', '\u{a7}', '\u{b6}', '\u{bc}', // 0xB0
    '\u{bd}', '\u{be}', '[', ']', '\u{af}', '\u{a8}', '\u{b4}', '\u{d7}', // 0xB8
    '{', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0xC0
    'H', 'I', '\u{ad}', '\u{f4}', '\u{f6}', '\u{f2}', '\u{f3}', '\u{f5}', // 0xC8
    '}', 'J', 'K', 'L', 'M', 'N', 'O', 'P', // 0xD0
    'Q', 'R', '\u{b9}', '\u{fb}', '\u{fc}', '\u{f9}', '\u{fa}', '\u{ff}', // 0xD8
    '\\', '\u{f7}', 'S', 'T', 'U', 'V', 'W', 'X', // 0xE0
    'Y', 'Z', '\u{b2}', '\u{d4}', '\u{d6}', '\u{d2}', '\u{d3}', '\u{d5}', // 0xE8
    '0', '1', '2', '3', '4', '5', '6', '7', // 0xF0
    '8', '9', '\u{b3}', '\u{db}', '\u{dc}', '\u{d9}', '\u{da}', '\u{9f}', // 0xF8
];

#[cfg(test)]
mod tests {
    use super::*;

    const EBCDIC: [CodePage; 5] = [
        CodePage::Ebcdic037,
        CodePage::Ebcdic273,
        CodePage::Ebcdic500,
        CodePage::Ebcdic1047,
        CodePage::Ebcdic1140,
    ];

    fn decode(page: CodePage, bytes: &[u8]) -> String {
        let mut out = String::new();
        page.decode_into(bytes, &mut out).unwrap();
        out
    }

    fn encode(page: CodePage, text: &str) -> Result<Vec<u8>, CodePageError> {
        let mut out = Vec::new();
        page.encode_into(text, &mut out).map(|()| out)
    }

    fn ch(page: CodePage, byte: u8) -> char {
        page.table().unwrap()[usize::from(byte)]
    }

    /// The bytes where two pages differ, with both characters.
    fn diff(a: CodePage, b: CodePage) -> Vec<(u8, char, char)> {
        (0..=255u8)
            .filter(|&x| ch(a, x) != ch(b, x))
            .map(|x| (x, ch(a, x), ch(b, x)))
            .collect()
    }

    #[test]
    fn common_ebcdic_bytes() {
        for page in EBCDIC {
            assert_eq!(ch(page, 0x40), ' ', "{page}");
            assert_eq!(ch(page, 0x4B), '.', "{page}");
            assert_eq!(ch(page, 0x5B), '$', "{page}");
            assert_eq!(ch(page, 0x60), '-', "{page}");
            assert_eq!(ch(page, 0x7D), '\'', "{page}");
            assert_eq!(ch(page, 0x25), '\n', "{page}");
            assert_eq!(ch(page, 0x15), '\u{85}', "{page}");
            assert_eq!(ch(page, 0x00), '\0', "{page}");
            assert_eq!(page.space(), 0x40);
            assert!(page.is_ebcdic());
            assert_eq!(
                decode(page, &[0xC1, 0xC9, 0xD1, 0xD9, 0xE2, 0xE9]),
                "AIJRSZ"
            );
            assert_eq!(
                decode(page, &[0x81, 0x89, 0x91, 0x99, 0xA2, 0xA9]),
                "aijrsz"
            );
            assert_eq!(
                decode(page, &(0xF0..=0xF9).collect::<Vec<u8>>()),
                "0123456789"
            );
        }
    }

    #[test]
    fn page_specific_bytes() {
        use CodePage::*;
        assert_eq!(ch(Ebcdic037, 0x4A), '¢');
        assert_eq!(ch(Ebcdic037, 0x4F), '|');
        assert_eq!(ch(Ebcdic037, 0x5A), '!');
        assert_eq!(ch(Ebcdic037, 0x5F), '¬');
        assert_eq!(ch(Ebcdic037, 0xBA), '[');
        assert_eq!(ch(Ebcdic037, 0xBB), ']');
        assert_eq!(ch(Ebcdic037, 0x9F), '¤');
        assert_eq!(ch(Ebcdic037, 0xE0), '\\');
        assert_eq!(ch(Ebcdic500, 0x4A), '[');
        assert_eq!(ch(Ebcdic500, 0x5A), ']');
        assert_eq!(ch(Ebcdic500, 0x4F), '!');
        assert_eq!(ch(Ebcdic500, 0xBB), '|');
        assert_eq!(ch(Ebcdic1047, 0xAD), '[');
        assert_eq!(ch(Ebcdic1047, 0xBD), ']');
        assert_eq!(ch(Ebcdic1047, 0x5F), '^');
        assert_eq!(ch(Ebcdic1047, 0xB0), '¬');
        assert_eq!(ch(Ebcdic273, 0x4A), 'Ä');
        assert_eq!(ch(Ebcdic273, 0x7C), '§');
        assert_eq!(ch(Ebcdic273, 0xB5), '@');
        assert_eq!(ch(Ebcdic273, 0xA1), 'ß');
        assert_eq!(ch(Ebcdic273, 0xBC), '\u{AF}'); // IBM/glibc, not Python's U+203E
        assert_eq!(ch(Ebcdic1140, 0x9F), '€');
    }

    #[test]
    fn known_differences_between_pages() {
        use CodePage::*;
        // 1140 is 037 with the euro sign in place of the currency sign.
        assert_eq!(diff(Ebcdic037, Ebcdic1140), [(0x9F, '¤', '€')]);
        assert_eq!(
            diff(Ebcdic037, Ebcdic1047),
            [
                (0x5F, '¬', '^'),
                (0xAD, 'Ý', '['),
                (0xB0, '^', '¬'),
                (0xBA, '[', 'Ý'),
                (0xBB, ']', '¨'),
                (0xBD, '¨', ']'),
            ]
        );
        assert_eq!(
            diff(Ebcdic037, Ebcdic500),
            [
                (0x4A, '¢', '['),
                (0x4F, '|', '!'),
                (0x5A, '!', ']'),
                (0x5F, '¬', '^'),
                (0xB0, '^', '¢'),
                (0xBA, '[', '¬'),
                (0xBB, ']', '|'),
            ]
        );
        assert_eq!(diff(Ebcdic037, Ebcdic273).len(), 21);
    }

    #[test]
    fn every_byte_round_trips() {
        for page in EBCDIC.into_iter().chain([CodePage::Latin1]) {
            for byte in 0..=255u8 {
                let text = decode(page, &[byte]);
                assert_eq!(text.chars().count(), 1);
                assert_eq!(encode(page, &text).unwrap(), [byte], "{page} 0x{byte:02X}");
            }
            let all: Vec<u8> = (0..=255).collect();
            assert_eq!(encode(page, &decode(page, &all)).unwrap(), all, "{page}");
        }
        let ascii: Vec<u8> = (0..=127).collect();
        let text = decode(CodePage::Ascii, &ascii);
        assert_eq!(encode(CodePage::Ascii, &text).unwrap(), ascii);
    }

    #[test]
    fn ebcdic_pages_cover_latin1() {
        // Every page but 1140 maps onto exactly U+0000..=U+00FF.
        for page in EBCDIC {
            let mut chars: Vec<char> = page.table().unwrap().to_vec();
            chars.sort_unstable();
            chars.dedup();
            assert_eq!(chars.len(), 256, "{page}");
            let above: Vec<char> = chars.into_iter().filter(|&c| u32::from(c) > 0xFF).collect();
            let expected: &[char] = if page == CodePage::Ebcdic1140 {
                &['€']
            } else {
                &[]
            };
            assert_eq!(above, expected, "{page}");
        }
    }

    #[test]
    fn decode_appends_and_encode_appends() {
        let mut out = String::from("x=");
        CodePage::Ebcdic037
            .decode_into(&[0xC8, 0x85, 0x93, 0x93, 0x96, 0x40, 0x5B, 0xF1], &mut out)
            .unwrap();
        assert_eq!(out, "x=Hello $1");
        let mut bytes = vec![0xFF];
        CodePage::Ebcdic1140.encode_into("€5", &mut bytes).unwrap();
        assert_eq!(bytes, [0xFF, 0x9F, 0xF5]);
    }

    #[test]
    fn other_pages_decode() {
        assert_eq!(decode(CodePage::Latin1, b"caf\xE9"), "café");
        assert_eq!(decode(CodePage::Utf8, "café".as_bytes()), "café");
        assert_eq!(decode(CodePage::Ascii, b"abc"), "abc");
        assert_eq!(CodePage::Ascii.space(), b' ');
        assert!(!CodePage::Utf8.is_ebcdic());
        assert_eq!(encode(CodePage::Utf8, "café").unwrap(), "café".as_bytes());
        assert_eq!(encode(CodePage::Latin1, "café").unwrap(), b"caf\xE9");
    }

    #[test]
    fn decode_errors_name_the_offset() {
        let mut out = String::from("kept");
        let err = CodePage::Ascii
            .decode_into(b"ab\x80", &mut out)
            .unwrap_err();
        assert_eq!(
            err,
            CodePageError::InvalidByte {
                code_page: CodePage::Ascii,
                offset: 2,
                byte: 0x80
            }
        );
        assert_eq!(err.to_string(), "offset 2: byte 0x80 is not ascii");
        let err = CodePage::Utf8.decode_into(b"a\xC3(", &mut out).unwrap_err();
        assert_eq!(err, CodePageError::InvalidUtf8 { offset: 1 });
        assert_eq!(out, "kept");
    }

    #[test]
    fn encode_errors_name_the_char_and_leave_out_unchanged() {
        let mut out = vec![1, 2];
        let err = CodePage::Ebcdic037
            .encode_into("ab€", &mut out)
            .unwrap_err();
        assert_eq!(
            err,
            CodePageError::Unmappable {
                code_page: CodePage::Ebcdic037,
                offset: 2,
                ch: '€'
            }
        );
        assert_eq!(
            err.to_string(),
            "text offset 2: '€' (U+20AC) has no byte in cp037"
        );
        assert_eq!(out, [1, 2]);
        // 1140 traded the currency sign for the euro sign.
        assert!(encode(CodePage::Ebcdic1140, "¤").is_err());
        assert!(encode(CodePage::Ebcdic500, "ą").is_err());
        assert!(encode(CodePage::Latin1, "€").is_err());
        assert!(encode(CodePage::Ascii, "é").is_err());
    }

    #[test]
    fn names_parse_and_display() {
        for page in CodePage::ALL {
            assert_eq!(page.to_string().parse::<CodePage>().unwrap(), page);
            assert_eq!(
                page.name().to_uppercase().parse::<CodePage>().unwrap(),
                page
            );
        }
        let cases = [
            ("ASCII", CodePage::Ascii),
            ("us-ascii", CodePage::Ascii),
            ("ISO-8859-1", CodePage::Latin1),
            ("utf-8", CodePage::Utf8),
            ("UTF8", CodePage::Utf8),
            ("037", CodePage::Ebcdic037),
            ("cp037", CodePage::Ebcdic037),
            ("CP37", CodePage::Ebcdic037),
            ("ebcdic037", CodePage::Ebcdic037),
            ("IBM037", CodePage::Ebcdic037),
            ("ibm-273", CodePage::Ebcdic273),
            ("ebcdic-500", CodePage::Ebcdic500),
            ("1047", CodePage::Ebcdic1047),
            ("IBM-1047", CodePage::Ebcdic1047),
            ("cp1140", CodePage::Ebcdic1140),
        ];
        for (name, page) in cases {
            assert_eq!(name.parse::<CodePage>().unwrap(), page, "{name}");
        }
        for bad in [
            "", "cp", "ebcdic", "cp038", "cp-037", "cp+37", "cp00037", "1252", "utf16", "cpé",
        ] {
            assert_eq!(
                bad.parse::<CodePage>().unwrap_err(),
                CodePageError::UnknownName(bad.to_owned()),
                "{bad}"
            );
        }
    }
}
