//! The parsed layout and its accessors.

use crate::copybook_layout::{CobolPlan, build_layout};
use crate::{
    ByteOrder, Charset, Copybook, CopybookLayoutOptions, DateTime, DecodeError, DecodeErrorKind,
    EncodeError, Field, LayoutError, Organization, OwnedValue, RecordView, encode, parse,
};

/// The layout-wide settings that decoding and encoding need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    pub(crate) byte_order: ByteOrder,
    pub(crate) charset: Charset,
    /// Right-trim `char(n)` values of spaces.
    pub(crate) trim: bool,
    /// The `dt_epoch` as seconds since 1970-01-01 UTC.
    pub(crate) dt_epoch: i64,
}

/// 1980-01-01 00:00:00 UTC, the default `dt_epoch`.
pub(crate) const DEFAULT_DT_EPOCH: i64 = 315_532_800;

impl Default for Format {
    fn default() -> Self {
        Format {
            byte_order: ByteOrder::Big,
            charset: Charset::Latin1,
            trim: true,
            dt_epoch: DEFAULT_DT_EPOCH,
        }
    }
}

/// A record layout: the fields of a record file and how to decode them.
///
/// Made by [`Layout::parse`] from the text of a VOS layout file, or by
/// [`Layout::from_copybook`] from a COBOL copybook.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub(crate) name: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) record_len: usize,
    /// The shortest record accepted: `record_len`, or for a copybook with
    /// `OCCURS DEPENDING ON` the offset of its first such table.
    pub(crate) min_len: usize,
    pub(crate) organization: Option<Organization>,
    pub(crate) key: Vec<usize>,
    pub(crate) format: Format,
    /// A record holding every field's default (or zero / spaces).
    pub(crate) template: Vec<u8>,
    /// How to read the columns of a copybook layout (`None` for VOS).
    pub(crate) cobol: Option<Box<CobolPlan>>,
}

impl Layout {
    /// Parses the text of a layout. `name` (usually the file's path) only
    /// names the layout in error messages: this crate does no I/O.
    pub fn parse(name: &str, text: &str) -> Result<Layout, LayoutError> {
        parse::parse_layout(name, text)
    }

    /// A layout over the records of a COBOL copybook: its columns are the
    /// copybook's elementary items (see [`CopybookLayoutOptions`] for
    /// tables, code pages, trimming and names). `name` names the layout in
    /// errors. Such a layout decodes records and encodes them (see [`encode`](Self::encode)).
    ///
    /// ```
    /// use drx_layouts::{CodePage, Copybook, CopybookLayoutOptions, Layout, Value};
    ///
    /// let text = "       01  REC.\n\
    ///             \x20          05  CUST-ID  PIC 9(3).\n\
    ///             \x20          05  AMT      PIC S9(3)V99 COMP-3 OCCURS 2.\n";
    /// let copybook = Copybook::parse("rec.cob", text)?;
    /// let layout = Layout::from_copybook("rec.cob", &copybook, &CopybookLayoutOptions::default())?;
    /// let names: Vec<_> = layout.fields().iter().map(|f| f.name.as_str()).collect();
    /// assert_eq!(names, ["cust_id", "amt_1", "amt_2"]);
    ///
    /// let record = [0xF0, 0xF4, 0xF2, 0x00, 0x30, 0x5C, 0x01, 0x00, 0x0D];
    /// let view = layout.view(&record)?;
    /// let mut text = String::new();
    /// view.get(2)?.write_text(&mut text)?;
    /// assert_eq!(text, "-10.00");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_copybook(
        name: &str,
        copybook: &Copybook,
        options: &CopybookLayoutOptions,
    ) -> Result<Layout, LayoutError> {
        build_layout(name, copybook, options)
    }

    /// Whether the layout was made from a COBOL copybook.
    pub fn is_copybook(&self) -> bool {
        self.cobol.is_some()
    }

    /// The shortest record [`view`](Self::view) accepts: the record length,
    /// or for a copybook with `OCCURS DEPENDING ON` tables the bytes before
    /// the first of them.
    pub fn min_record_len(&self) -> usize {
        self.min_len
    }

    /// The display name given to [`parse`](Self::parse) or
    /// [`from_copybook`](Self::from_copybook).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields in record order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The index of the field named exactly `name` (case-sensitive).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The total bytes of a record: the sum of the field sizes for a VOS
    /// layout; for a copybook, its largest 01 record (tables at their
    /// maximum size, REDEFINES overlapping, FILLER included).
    pub fn record_len(&self) -> usize {
        self.record_len
    }

    /// The declared `organization:`, if any.
    pub fn organization(&self) -> Option<Organization> {
        self.organization
    }

    /// Indices of the `key:` fields in key order; empty if no key is declared.
    pub fn key_fields(&self) -> &[usize] {
        &self.key
    }

    /// The byte order of binaries, floats and varying lengths (default big).
    pub fn byte_order(&self) -> ByteOrder {
        self.format.byte_order
    }

    /// The charset of `char` fields (default ISO-8859-1); for a copybook
    /// layout, its code page (items may have their own, see
    /// [`CopybookLayoutOptions::field_code_pages`]).
    pub fn charset(&self) -> Charset {
        self.format.charset
    }

    /// Whether `char(n)` values are trimmed: right-trimmed of spaces for a
    /// VOS layout (`trim: right;`, the default) or kept whole (`trim:
    /// none;`); for a copybook layout, whether its `trim` is anything but
    /// `none` (it may trim the left, the right or both).
    pub fn trim_right(&self) -> bool {
        self.format.trim
    }

    /// The epoch of `dt_` fields (default 1980-01-01 00:00:00 UTC).
    pub fn dt_epoch(&self) -> DateTime {
        DateTime::from_unix_seconds(self.format.dt_epoch)
    }

    /// Checks the record length (shorter than
    /// [`min_record_len`](Self::min_record_len) is an error; longer is
    /// allowed, the extra bytes are ignored) and returns a view to decode
    /// fields from. No allocation.
    pub fn view<'a>(&'a self, record: &'a [u8]) -> Result<RecordView<'a>, DecodeError> {
        let bytes = self.checked(record)?;
        Ok(RecordView::new(self, bytes))
    }

    /// Appends the raw bytes of the key fields of `record`, in key order, to
    /// `out` (for indexed files). Appends nothing if no key is declared.
    pub fn key_bytes(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let bytes = self.checked(record)?;
        for &i in &self.key {
            let f = &self.fields[i];
            out.extend_from_slice(&bytes[f.offset..f.offset + f.size]);
        }
        Ok(())
    }

    /// Encodes field values given as text into a record of
    /// [`record_len`](Self::record_len) bytes.
    ///
    /// Each text is parsed per the field's type: `"123"` for binaries,
    /// `"-5.25"` for decimals and floats, `"2024-01-31 12:00:00"` for `dt_`
    /// fields, binary digits (`"1"`, `"0101"`) for bits, any string for
    /// `char`. Fields not given take their `default (..)`, else zero, spaces
    /// or an empty varying string. An unknown field name, a field given
    /// twice, a text too long, a number out of range or a malformed number
    /// is an [`EncodeError`] naming the field.
    ///
    /// A copybook layout ([`from_copybook`](Self::from_copybook)) encodes
    /// exactly as it decodes: columns not given are zero (text and `FILLER`
    /// spaces in their code page); decimals are rescaled exactly to the PIC
    /// scale and must fit its digits; zoned numbers take their code page's
    /// digits and sign (overpunched or separate), packed numbers sign C / D
    /// (F when unsigned), binaries their byte order and size, COMP-1 /
    /// COMP-2 the layout's float format. `OCCURS DEPENDING ON` counters are
    /// columns like any other (0 if not given): give the counter with the
    /// occurrences; a counter over its table's maximum, or a value given
    /// past its count, is an error. Numeric-edited items and JSON table
    /// columns cannot be encoded.
    ///
    /// ```
    /// use drx_layouts::{Copybook, CopybookLayoutOptions, Layout};
    ///
    /// let text = "       01  REC.\n\
    ///             \x20          05  CUST-ID  PIC 9(3).\n\
    ///             \x20          05  AMT      PIC S9(3)V99 COMP-3.\n";
    /// let copybook = Copybook::parse("rec.cob", text)?;
    /// let layout = Layout::from_copybook("rec.cob", &copybook, &CopybookLayoutOptions::default())?;
    /// let record = layout.encode([("cust_id", "42"), ("amt", "-10")])?;
    /// assert_eq!(record, [0xF0, 0xF4, 0xF2, 0x01, 0x00, 0x0D]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode<'v>(
        &self,
        values: impl IntoIterator<Item = (&'v str, &'v str)>,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encodes()?;
        match &self.cobol {
            Some(plan) => plan.encode_texts(self, values),
            None => encode::encode_texts(self, values),
        }
    }

    /// Encodes typed values, given by field index, into a record; fields
    /// not given are as in [`encode`](Self::encode). Each value must be of
    /// the field's kind: `Int` for binaries, `Float` for floats, `Decimal`
    /// for decimals (rescaled exactly to the field's scale), `Text` for
    /// `char`, `Bits` for bits, `DateTime` for `dt_` fields. A copybook
    /// layout's columns take `Int`, `Decimal`, `Float` or `Text` by their
    /// type; `Null` leaves a column at its zero.
    pub fn encode_values(&self, values: &[(usize, OwnedValue)]) -> Result<Vec<u8>, EncodeError> {
        self.encodes()?;
        match &self.cobol {
            Some(plan) => plan.encode_values(self, values),
            None => encode::encode_values(self, values),
        }
    }

    /// Every layout encodes from its template record, which must be a
    /// whole record (a layout always has one; this guards the encoders'
    /// writes).
    fn encodes(&self) -> Result<(), EncodeError> {
        if self.template.len() != self.record_len {
            return Err(EncodeError::new(
                "",
                format!(
                    "layout {} has a template of {} bytes for records of {} bytes",
                    self.name,
                    self.template.len(),
                    self.record_len
                ),
            ));
        }
        Ok(())
    }

    /// The record's first `record_len` bytes (fewer for a variable-length
    /// copybook record), or a short-record error.
    fn checked<'r>(&self, record: &'r [u8]) -> Result<&'r [u8], DecodeError> {
        if record.len() < self.min_len {
            return Err(DecodeError {
                field: String::new(),
                offset: record.len(),
                kind: DecodeErrorKind::ShortRecord {
                    len: record.len(),
                    need: self.min_len,
                },
            });
        }
        Ok(&record[..record.len().min(self.record_len)])
    }
}
