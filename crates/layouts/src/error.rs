//! The three error types: layout text, record decoding, record encoding.

use std::fmt;

use thiserror::Error;

use crate::{Charset, CobolErrorKind};

/// A layout text that does not parse or does not make sense.
///
/// Displays as `name:line:col: message`, where `name` is the display name
/// given to [`Layout::parse`](crate::Layout::parse), `line` and `col` are
/// 1-based and `col` counts characters (a tab is one).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name}:{line}:{col}: {message}")]
pub struct LayoutError {
    /// The display name of the layout (usually its path).
    pub name: String,
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column (in characters) of the problem.
    pub col: u32,
    /// What is wrong, e.g. `duplicate field name "err_name"`.
    pub message: String,
}

/// A record whose bytes do not decode under its layout.
///
/// Displays as `field err_text at byte 34: varying length 300 exceeds maximum 128`,
/// or just the kind's message when the whole record is at fault
/// ([`DecodeErrorKind::ShortRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Name of the field at fault; empty when the whole record is.
    pub field: String,
    /// Byte offset in the record of the faulty bytes.
    pub offset: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn field(field: &str, offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError {
            field: field.to_owned(),
            offset,
            kind,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(
                f,
                "field {} at byte {}: {}",
                self.field, self.offset, self.kind
            )
        }
    }
}

impl std::error::Error for DecodeError {}

/// The ways record bytes can fail to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// The record is shorter than the layout's record length (for a
    /// copybook layout with OCCURS DEPENDING ON, its
    /// [`min_record_len`](crate::Layout::min_record_len)).
    #[error("record is {len} bytes, shorter than the {need} bytes of the layout")]
    ShortRecord {
        /// Length of the record given.
        len: usize,
        /// Length the layout needs.
        need: usize,
    },
    /// A `char(n) varying` length prefix is larger than `n`.
    #[error("varying length {len} exceeds maximum {max}")]
    VaryingTooLong {
        /// The length found in the record.
        len: usize,
        /// The declared maximum `n`.
        max: usize,
    },
    /// A packed decimal digit nibble above 9 (or a non-zero unused leading
    /// nibble of an even precision).
    #[error("bad packed decimal digit nibble 0x{nibble:X}")]
    BadPackedDigit {
        /// The nibble found.
        nibble: u8,
    },
    /// A packed decimal sign nibble that is not one of A-F.
    #[error("bad packed decimal sign nibble 0x{nibble:X}")]
    BadPackedSign {
        /// The nibble found.
        nibble: u8,
    },
    /// Text bytes that are not valid in the layout's charset.
    #[error("text is not valid {charset}")]
    BadText {
        /// The layout's charset.
        charset: Charset,
    },
    /// A COBOL field (copybook layout) whose bytes do not decode: an
    /// invalid zoned digit, packed nibble or sign, a field past the end of
    /// a short record, …
    #[error("{0}")]
    Cobol(CobolErrorKind),
    /// An `OCCURS DEPENDING ON` counter (the error's field) over the
    /// table's maximum.
    #[error("OCCURS DEPENDING ON count {count} exceeds the table's maximum {max}")]
    OccursOverMax {
        /// The count read.
        count: i128,
        /// The OCCURS maximum.
        max: u32,
    },
    /// An `OCCURS DEPENDING ON` counter (the error's field) that is not a
    /// whole number ≥ 0.
    #[error("OCCURS DEPENDING ON count is not a whole number >= 0")]
    BadCount,
}

/// Field values that cannot be encoded into a record.
///
/// Displays as `field err_number: value 70000 is out of range for fixed bin(15) (-32768 to 32767)`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field {field}: {message}")]
pub struct EncodeError {
    /// Name of the field at fault (as given, for an unknown field).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl EncodeError {
    pub(crate) fn new(field: &str, message: String) -> Self {
        EncodeError {
            field: field.to_owned(),
            message,
        }
    }
}
