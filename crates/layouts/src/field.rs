//! Fields, their types, and the layout-wide enums.

use std::fmt;

use crate::decimal;

/// One field of a layout, in record order.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name as declared (case kept).
    pub name: String,
    /// The type, which fixes the size and the decoding.
    pub ty: FieldType,
    /// Byte offset of the field in the record.
    pub offset: usize,
    /// Bytes the field takes in the record (`ty.size()`).
    pub size: usize,
    /// The `default (..)` text as declared, quotes removed.
    pub default: Option<String>,
    /// 1-based line of the field's name in the layout text.
    pub line: u32,
    /// 1-based column (in characters) of the field's name.
    pub col: u32,
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `fixed bin(p)`: a signed two's complement integer of 1, 2, 4 or 8 bytes.
    Binary {
        /// 1 (p ≤ 7), 2 (p ≤ 15), 4 (p ≤ 31) or 8 (p ≤ 63).
        bytes: u8,
    },
    /// `char(n)`: `len` bytes, space padded.
    Char {
        /// `n`.
        len: usize,
    },
    /// `char(n) varying`: a 2-byte length then `max` bytes.
    VarChar {
        /// `n`, the largest length.
        max: usize,
    },
    /// `bit(n)`: `n` bits, MSB first, in whole bytes.
    Bit {
        /// `n`, 1 to 64.
        bits: u32,
    },
    /// `float bin(p)`: IEEE 754 binary32 or binary64.
    Float {
        /// 4 (p ≤ 24) or 8.
        bytes: u8,
    },
    /// `fixed dec(p,q)`: packed decimal.
    Decimal {
        /// `p`, total digits, 1 to 38.
        precision: u8,
        /// `q`, digits after the point, 0 to `p`.
        scale: u8,
    },
    /// A `dt_` field declared `fixed bin(31)`: 4-byte signed seconds since
    /// the layout's `dt_epoch`.
    DateTime,
    /// An `OCCURS` table of a copybook layout as one JSON column.
    Json {
        /// Bytes the table spans at its maximum size.
        len: usize,
    },
}

impl FieldType {
    /// Bytes a field of this type takes in a record.
    pub fn size(&self) -> usize {
        match *self {
            FieldType::Binary { bytes } | FieldType::Float { bytes } => usize::from(bytes),
            FieldType::Char { len } => len,
            FieldType::VarChar { max } => max + 2,
            FieldType::Bit { bits } => bits.div_ceil(8) as usize,
            FieldType::Decimal { precision, .. } => decimal::packed_len(precision),
            FieldType::DateTime => 4,
            FieldType::Json { len } => len,
        }
    }
}

/// The declaration text of the type, e.g. `fixed bin(15)`, `char(128) varying`,
/// `fixed dec(7,2)`, `float bin(53)`; a date-time shows as `fixed bin(31) date-time`,
/// a JSON column as `json`.
impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FieldType::Binary { bytes } => write!(f, "fixed bin({})", u32::from(bytes) * 8 - 1),
            FieldType::Char { len } => write!(f, "char({len})"),
            FieldType::VarChar { max } => write!(f, "char({max}) varying"),
            FieldType::Bit { bits } => write!(f, "bit({bits})"),
            FieldType::Float { bytes } => {
                write!(f, "float bin({})", if bytes == 4 { 24 } else { 53 })
            }
            FieldType::Decimal { precision, scale } => {
                write!(f, "fixed dec({precision},{scale})")
            }
            FieldType::DateTime => f.write_str("fixed bin(31) date-time"),
            FieldType::Json { .. } => f.write_str("json"),
        }
    }
}

/// The file organization declared by `organization:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Organization {
    /// `fixed`: fixed-length records.
    Fixed,
    /// `relative`: records addressed by record number.
    Relative,
    /// `sequential`: records in order of writing.
    Sequential,
    /// `indexed`: records addressed by key.
    Indexed,
}

impl Organization {
    /// The keyword as written in a layout: `fixed`, `relative`, `sequential`, `indexed`.
    pub fn name(self) -> &'static str {
        match self {
            Organization::Fixed => "fixed",
            Organization::Relative => "relative",
            Organization::Sequential => "sequential",
            Organization::Indexed => "indexed",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Organization> {
        [
            Organization::Fixed,
            Organization::Relative,
            Organization::Sequential,
            Organization::Indexed,
        ]
        .into_iter()
        .find(|o| o.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Organization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The byte order of binary integers, floats and varying lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// Most significant byte first (the default: VOS keeps big-endian data).
    #[default]
    Big,
    /// Least significant byte first.
    Little,
}
