//! Copybook layouts: a COBOL copybook seen through the [`Layout`] model, so
//! sinks, templates and the extractor use it as they use a VOS layout.
//!
//! [`Layout::from_copybook`] turns a [`Copybook`] into a layout whose
//! fields are its columns: elementary items (groups flattened, `FILLER`
//! dropped), each `OCCURS` table either flattened (`amount_1`, …) or one
//! JSON column ([`OccursColumns`]). Each column keeps a plan of how to
//! read it: the elementary decoder, its code page, its absolute offset
//! (tables at their maximum size, as Cobrix lays them out) and the
//! `OCCURS DEPENDING ON` guards that make an occurrence past its count
//! null.
//!
//! Column types, as sinks see them:
//! - PIC X / A: `Char { len }`, decoded in the field's code page, trimmed
//!   per [`Trim`](crate::Trim);
//! - DISPLAY, COMP-3 and numeric-edited numbers, and binary numbers with
//!   decimals: `Decimal { precision, scale }`, exact;
//! - binary (COMP, COMP-4, COMP-5) integers that fit an `i64`:
//!   `Binary { bytes }` (an unsigned item one size up), else `Decimal`;
//! - COMP-1 / COMP-2: `Float { bytes }`;
//! - a table as JSON: `Json { len }`.
//!
//! Records may be shorter than the layout's maximum when their tables are
//! `OCCURS DEPENDING ON` (variable-length records): a field past the end
//! of the record is an error unless its occurrence is past its count.
//!
//! Such a layout also encodes records (`encode.rs`), exactly inverse to
//! decoding: from a template of zeros and spaces, each value given is
//! written in its item's encoding; `OCCURS DEPENDING ON` counters are
//! columns the caller gives with the occurrences. Numeric-edited items and
//! JSON table columns cannot be encoded.

mod build;
mod encode;
mod fast;
mod json;
mod options;
mod read;

pub use self::json::TableValue;
pub use self::options::{CopybookLayoutOptions, OccursColumns};

pub(crate) use self::build::build_layout;

use self::encode::Encoding;
use self::fast::Fast;
use crate::value::TextTrim;
use crate::{Charset, CobolOptions, ElementaryField, InvalidValue, ZonedSpec};

/// How to read the columns of a copybook layout, one entry per field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CobolPlan {
    columns: Vec<Column>,
    /// How to read each column's common case (`fast.rs`), one per column.
    fast: Vec<Fast>,
    counters: Vec<Counter>,
    invalid: InvalidValue,
}

/// An `OCCURS DEPENDING ON` counter.
#[derive(Debug, Clone, PartialEq)]
struct Counter {
    /// The counter's column name (for errors).
    name: String,
    field: ElementaryField,
    opts: CobolOptions,
    /// The table's maximum.
    max: usize,
    /// Item lengths of the tables the counter itself is in, outermost
    /// first (its offset moves with their occurrences).
    tables: Vec<usize>,
}

/// A column's elementary item: how to decode it and what it becomes.
#[derive(Debug, Clone, PartialEq)]
struct Elem {
    field: ElementaryField,
    opts: CobolOptions,
    charset: Charset,
    trim: TextTrim,
    out: Out,
    /// For a zoned item: how to read its common case in one pass.
    zoned: Option<ZonedSpec>,
    /// For a packed item: its scale.
    packed: Option<i32>,
    /// In a `REDEFINES` alternative: a value that fails is null.
    lenient: bool,
    /// How to write the item (`encode.rs`).
    enc: Encoding,
}

/// What an elementary item decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Text,
    Int,
    Decimal,
    Float32,
    Float64,
}

/// An occurrence of a column past an `OCCURS DEPENDING ON` count is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guard {
    counter: usize,
    /// The counter's offset for this column's occurrence.
    counter_offset: usize,
    /// The occurrence (0-based) of the table this guard is for.
    index: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Column {
    /// One elementary item at one offset.
    Leaf {
        elem: Elem,
        offset: usize,
        guards: Vec<Guard>,
    },
    /// An outermost table as a JSON column.
    Table { node: Node, offset: usize },
}

/// An item of a table rendered as JSON.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The JSON key: quoted, escaped, followed by `:`.
    key: String,
    /// Offset of the first occurrence from the parent occurrence's start.
    rel: usize,
    item_len: usize,
    /// 1 for an item that is not a table.
    max: usize,
    counter: Option<usize>,
    /// Whether the item is a table (an OCCURS clause).
    table: bool,
    /// How many tables enclose this item (its own excluded).
    depth: usize,
    elem: Option<Elem>,
    children: Vec<Node>,
}

/// OCCURS tables nest at most this deep (COBOL allows 7).
const MAX_DEPTH: usize = 16;

/// The occurrence indices of the enclosing tables, outermost first.
type Occurrence = [usize; MAX_DEPTH];
