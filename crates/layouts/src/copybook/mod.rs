//! COBOL copybooks: parse the data description entries of a record and
//! compute each field's offset and length.
//!
//! Supported: levels 01–49, 77 and 88 (condition names, kept on their
//! parent); FILLER and unnamed items; the clauses PIC/PICTURE, USAGE (and
//! its bare keywords: DISPLAY, COMP, COMP-0, COMP-4, BINARY, COMP-5,
//! COMP-3, PACKED-DECIMAL, COMP-1, COMP-2, COMPUTATIONAL-n), SIGN
//! LEADING/TRAILING [SEPARATE [CHARACTER]], OCCURS n / m TO n [TIMES]
//! [DEPENDING ON name], ASCENDING/DESCENDING KEY and INDEXED BY (ignored),
//! REDEFINES, VALUE[S] (ignored, except as the values of a level 88),
//! JUSTIFIED, BLANK WHEN ZERO, SYNC (accepted and ignored: no slack bytes
//! are inserted, as Cobrix does by default), GLOBAL, EXTERNAL. USAGE on a
//! group applies to its items. Level 66 (RENAMES) is rejected.
//!
//! Sizes: DISPLAY takes one byte per character position (`S`, `V`, `P`
//! none), plus one for SIGN SEPARATE; COMP/BINARY/COMP-4/COMP-5 take 2, 4
//! or 8 bytes for 1–4, 5–9, 10–18 digits (with
//! [`BinarySizes::OneTwoFourEight`], GnuCOBOL's 1, 2, 4 or 8 bytes for
//! 1–2, 3–4, 5–9, 10–18 digits; beyond, Cobrix's extension:
//! enough bytes for the bits plus a sign bit); COMP-3 digits/2 + 1;
//! COMP-1 4 and COMP-2 8; a group the sum of its items, times its OCCURS
//! maximum. A REDEFINES chain takes the size of its largest member.

mod decode;
mod fieldmap;
mod lexer;
mod parser;
mod picture;
mod record;
mod source;

use std::fmt;

use thiserror::Error;

pub use self::decode::{
    CobolDecodeError, CobolErrorKind, CobolOptions, CobolValue, ElementaryField, FloatFormat,
    ZonedEncoding, ZonedSign, ZonedSpec, decode_binary, decode_edited, decode_float, decode_packed,
    decode_zoned, elementary_fields,
};
pub(crate) use self::decode::{packed_plain, zoned_plain_at};
pub use self::fieldmap::{BinarySizes, CopybookOptions, FieldMapEntry};
pub use self::parser::{Condition, Item, Occurs, SignClause, Usage};
pub use self::picture::{PicCategory, Picture};
pub(crate) use self::record::json_string;
pub use self::record::{Cell, InvalidValue, RecordDecodeError, RecordDecoder, RecordOptions, Trim};
pub use self::source::SourceFormat;

/// A copybook that does not parse or does not make sense.
///
/// Displays as `name:line:col: message`, with the display name given to
/// [`Copybook::parse`] and the 1-based line and column (in characters) of
/// the original source.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name}:{line}:{col}: {message}")]
pub struct CopybookError {
    /// The display name of the copybook (usually its path).
    pub name: String,
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column of the problem.
    pub col: u32,
    /// What is wrong, e.g. `expected a PIC string, found "."`.
    pub message: String,
}

/// A parsed copybook: its item tree and its field map.
///
/// ```
/// use drx_layouts::Copybook;
///
/// let text = "       01  REC.\n\
///             \x20          05  ID      PIC S9(4) COMP.\n\
///             \x20          05  NAME    PIC X(10).\n";
/// let cb = Copybook::parse("rec.cob", text)?;
/// let f = &cb.field_map()[2];
/// assert_eq!((f.name.as_str(), f.start(), f.end(), f.len), ("NAME", 3, 12, 10));
/// assert_eq!(cb.record_len(), 12);
/// # Ok::<(), drx_layouts::CopybookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Copybook {
    items: Vec<Item>,
    fields: Vec<FieldMapEntry>,
}

impl Copybook {
    /// Parses fixed-format copybook text; `name` is used in error messages.
    pub fn parse(name: &str, text: &str) -> Result<Copybook, CopybookError> {
        Copybook::parse_with(name, text, SourceFormat::Fixed)
    }

    /// Parses copybook text in the given source format.
    pub fn parse_with(
        name: &str,
        text: &str,
        format: SourceFormat,
    ) -> Result<Copybook, CopybookError> {
        Copybook::parse_options(
            name,
            text,
            CopybookOptions {
                format,
                ..CopybookOptions::default()
            },
        )
    }

    /// Parses copybook text with the given options (source format, binary
    /// sizes).
    ///
    /// ```
    /// use drx_layouts::{BinarySizes, Copybook, CopybookOptions};
    ///
    /// let text = "       01  REC.\n\
    ///             \x20          05  A  PIC 99 COMP.\n\
    ///             \x20          05  B  PIC S9(4) COMP-5.\n";
    /// let gnu = CopybookOptions { binary_sizes: BinarySizes::OneTwoFourEight, ..Default::default() };
    /// let cb = Copybook::parse_options("rec.cob", text, gnu)?;
    /// assert_eq!(cb.record_len(), 3);
    /// assert_eq!(Copybook::parse("rec.cob", text)?.record_len(), 4);
    /// # Ok::<(), drx_layouts::CopybookError>(())
    /// ```
    pub fn parse_options(
        name: &str,
        text: &str,
        options: CopybookOptions,
    ) -> Result<Copybook, CopybookError> {
        let lines = source::lines(text, options.format);
        let toks = lexer::tokenize(&lines);
        let items = parser::parse_items(name, &toks)?;
        if items.is_empty() {
            return Err(CopybookError {
                name: name.to_owned(),
                line: 1,
                col: 1,
                message: "no data description entries".to_owned(),
            });
        }
        let fields = fieldmap::build(name, &items, options.binary_sizes)?;
        Ok(Copybook { items, fields })
    }

    /// The top-level items (levels 01 and 77) with their subordinates.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Every group and elementary item in source order, with its offset
    /// and length (level 88 entries are on [`Item::conditions`]).
    pub fn field_map(&self) -> &[FieldMapEntry] {
        &self.fields
    }

    /// The record length: the largest top-level item's length.
    pub fn record_len(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| f.depth == 0)
            .map(|f| f.len)
            .max()
            .unwrap_or(0)
    }
}

/// The field map as a Cobrix-style layout listing (see its
/// `*_layout.txt` files): header, blank line, one line per item.
impl fmt::Display for Copybook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fieldmap::write_listing(f, &self.fields)
    }
}
