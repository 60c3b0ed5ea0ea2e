//! The options of a layout made from a copybook.

use crate::{ByteOrder, CodePage, FloatFormat, InvalidValue, Organization, Trim};

/// How `OCCURS` tables become columns of a copybook layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OccursColumns {
    /// One column per elementary item per occurrence: `amount_1`,
    /// `amount_2`, …, with one suffix per enclosing table, outermost first
    /// (`amount_2_1`). Occurrences past an `OCCURS DEPENDING ON` count are
    /// null.
    #[default]
    Flatten,
    /// One column per outermost table, named after it, holding a JSON
    /// array: of values for an elementary table, of objects for a group
    /// table (groups inside as nested objects, tables inside as arrays).
    /// Only the occurrences within an `OCCURS DEPENDING ON` count are in
    /// the array.
    Json,
}

/// Options of [`Layout::from_copybook`](crate::Layout::from_copybook).
///
/// The defaults suit mainframe data: EBCDIC 037, IBM hexadecimal floats,
/// big-endian COMP-5, strict signs, flattened tables, text trimmed on both
/// sides, invalid values an error, lower-case column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopybookLayoutOptions {
    /// Code page of text and of DISPLAY numbers (an EBCDIC page gives
    /// EBCDIC zoned digits, any other page ASCII ones).
    pub code_page: CodePage,
    /// Per-field code pages: a data name (as in the copybook; `-` and `_`
    /// and case do not matter) and its page. A group's page applies to
    /// every item under it.
    pub field_code_pages: Vec<(String, CodePage)>,
    /// Encoding of COMP-1 / COMP-2.
    pub float_format: FloatFormat,
    /// Byte order of COMP-5 binary.
    pub native_order: ByteOrder,
    /// Reject an overpunched sign on an unsigned DISPLAY number.
    pub strict_sign: bool,
    /// Flattened columns or JSON columns for `OCCURS` tables.
    pub occurs: OccursColumns,
    /// Trimming of text values.
    pub trim: Trim,
    /// What a value that does not decode becomes (outside `REDEFINES`,
    /// where it is always null).
    pub invalid: InvalidValue,
    /// Lower-case the column names (`CUST-ID` → `cust_id`); else keep the
    /// copybook's case (`CUST_ID`).
    pub lowercase_names: bool,
    /// The file organization, as a VOS layout's `organization:`.
    pub organization: Option<Organization>,
    /// Key fields of an indexed file, by column name, in key order.
    pub key: Vec<String>,
}

impl Default for CopybookLayoutOptions {
    fn default() -> Self {
        CopybookLayoutOptions {
            code_page: CodePage::Ebcdic037,
            field_code_pages: Vec::new(),
            float_format: FloatFormat::IbmHex,
            native_order: ByteOrder::Big,
            strict_sign: true,
            occurs: OccursColumns::Flatten,
            trim: Trim::Both,
            invalid: InvalidValue::Error,
            lowercase_names: true,
            organization: None,
            key: Vec::new(),
        }
    }
}
