//! Decoding a whole copybook record into flat columns and a JSON object.
//!
//! [`RecordDecoder`] is built once per copybook; [`RecordDecoder::decode`]
//! then fills reused buffers with one record's values (no allocation per
//! record once the buffers have grown), which read back as [`Cell`]s (for
//! CSV), as one flat JSON object ([`RecordDecoder::write_json`]) or as one
//! nested JSON object in Cobrix's shape
//! ([`RecordDecoder::write_json_nested`]).
//!
//! The shape of the flat output (columns and [`write_json`](RecordDecoder::write_json)):
//! - Groups are flattened: only elementary items become columns, named by
//!   their data name alone (no group prefix, no nested objects); `-` in
//!   names becomes `_`. Two items of the same name in different groups give
//!   two columns of the same name.
//! - `FILLER` items (and unnamed ones) are dropped, groups with all their
//!   subordinates (as Cobrix does by default).
//! - `OCCURS` is flattened: `NAME_1`, `NAME_2`, …, with one suffix per
//!   enclosing table, outermost first (`NAME_1_2` is occurrence 2 of NAME
//!   in occurrence 1 of its group). Columns are listed for the maximum
//!   number of occurrences.
//! - `OCCURS … DEPENDING ON`: the count is the counter field's decoded
//!   value (its first occurrence); occurrences past the count are absent
//!   (left out of the JSON object, empty in CSV). By default items keep the
//!   positions of the maximum-size table (Cobrix's default); with
//!   [`RecordOptions::variable_size_occurs`] a table takes only count ×
//!   item size bytes and everything after it shifts (Cobrix's
//!   `variable_size_occurs`), so records have variable lengths
//!   ([`RecordDecoder::record_len`], [`RecordDecoder::decode_next`]). The
//!   count is the counter's most recently decoded value (so a counter
//!   inside a table occurrence governs the tables of that occurrence), or,
//!   when the counter has not been decoded yet, its first occurrence read
//!   at its own offset. A count over the maximum, or a counter that is not
//!   a whole number, is an error.
//! - `REDEFINES`: every alternative is decoded; a value inside an
//!   alternative (an item that redefines or is redefined, or an item under
//!   one) that fails to decode is `null` rather than an error, since only
//!   one alternative usually holds valid data. With several 01 records,
//!   each is such an alternative.
//! - Numbers are exact: decimals are written with the PIC scale (`30.50`);
//!   COMP-1 as the shortest `f32` text, COMP-2 as the shortest `f64` text
//!   (ryu); a NaN or infinity is `null`. Text is trimmed per [`Trim`].
//!
//! The nested output ([`write_json_nested`](RecordDecoder::write_json_nested))
//! is what Cobrix's Spark rows give through `toJSON`: groups are nested
//! objects, `OCCURS` tables are arrays (of objects for group tables, of
//! values for elementary ones) holding only the present occurrences of an
//! `OCCURS … DEPENDING ON` table (`[]` for a count of 0), FILLER items and
//! groups with no named elementary item are left out, `-` becomes `_`, and
//! null values are left out of objects (an array keeps them as `null`).
//! The 01 record is one key holding an object (Cobrix's `keep_original`),
//! or with [`RecordOptions::collapse_root`] its items are the top-level
//! keys (`collapse_root`).
//!
//! Errors name the 1-based record number, the field and its byte offset in
//! the record.

use std::fmt::Write as _;
use std::ops::Range;

use super::Copybook;
use super::decode::{CobolDecodeError, CobolErrorKind, CobolOptions, ElementaryField};
use super::fieldmap::FieldMapEntry;
use super::parser::Item;
use crate::decimal::Decimal;

/// How text (PIC X / A) values are trimmed. Trimming removes every
/// character up to U+0020, as Java's `String.trim` (and so Cobrix) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trim {
    /// Keep the text as decoded.
    None,
    /// Trim leading blanks.
    Left,
    /// Trim trailing blanks.
    Right,
    /// Trim both ends (Cobrix's default).
    #[default]
    Both,
}

/// What an elementary value that does not decode becomes (outside
/// `REDEFINES`, where it is always `null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidValue {
    /// Stop with an error naming the record, field and offset.
    #[default]
    Error,
    /// A `null` value (what Cobrix does).
    Null,
}

/// Options of [`RecordDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordOptions {
    /// Code page, float format, COMP-5 byte order, sign strictness.
    pub cobol: CobolOptions,
    /// Trimming of text values.
    pub trim: Trim,
    /// What a value that does not decode becomes.
    pub invalid: InvalidValue,
    /// An `OCCURS … DEPENDING ON` table takes only its present
    /// occurrences' bytes, and the items after it shift (Cobrix's
    /// `variable_size_occurs`); records then have variable lengths.
    pub variable_size_occurs: bool,
    /// In [`RecordDecoder::write_json_nested`], write the items of each 01
    /// record at the top level instead of under the record's name.
    pub collapse_root: bool,
}

/// A record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordDecodeError {
    /// An elementary value that does not decode (its display names the
    /// field and the byte offset in the record).
    #[error("record {record}: {error}")]
    Field {
        /// 1-based record number.
        record: u64,
        /// The field's error, with field name and offset in the record.
        error: CobolDecodeError,
    },
    /// An `OCCURS DEPENDING ON` count above the table's maximum.
    #[error(
        "record {record}: field {field}: OCCURS DEPENDING ON {counter} = {count} (at byte {offset}) exceeds the maximum {max}"
    )]
    OccursOverMax {
        /// 1-based record number.
        record: u64,
        /// The table's name.
        field: String,
        /// The counter's name.
        counter: String,
        /// 0-based offset of the counter in the record.
        offset: usize,
        /// The count read.
        count: String,
        /// The OCCURS maximum.
        max: u32,
    },
    /// An `OCCURS DEPENDING ON` counter that is not a whole number ≥ 0.
    #[error(
        "record {record}: field {field}: OCCURS DEPENDING ON {counter} (at byte {offset}) is {value}, not a count"
    )]
    BadCount {
        /// 1-based record number.
        record: u64,
        /// The table's name.
        field: String,
        /// The counter's name.
        counter: String,
        /// 0-based offset of the counter in the record.
        offset: usize,
        /// The value read, or the decoding error.
        value: String,
    },
    /// The data ends inside a record (see [`RecordDecoder::decode_next`]).
    #[error("record {record} at byte {offset}: truncated, needs {needed} bytes, {remaining} left")]
    Truncated {
        /// 1-based record number.
        record: u64,
        /// Offset of the record's first byte in the data.
        offset: usize,
        /// Bytes the record needs (at least; a later field may need more).
        needed: usize,
        /// Bytes left in the data from `offset`.
        remaining: usize,
    },
    /// A record that takes no bytes (all its items are empty tables), so
    /// reading records back to back would not advance.
    #[error("record {record} at byte {offset}: the record takes 0 bytes")]
    EmptyRecord {
        /// 1-based record number.
        record: u64,
        /// Offset of the record in the data.
        offset: usize,
    },
    /// A `DEPENDING ON` name that is not an elementary numeric item (found
    /// when building the decoder, before any record).
    #[error(
        "field {field}: OCCURS DEPENDING ON {counter}, which is not an elementary numeric item"
    )]
    BadCounter {
        /// The table's name.
        field: String,
        /// The counter's name.
        counter: String,
    },
}

/// One column's value in the decoded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// An occurrence past an `OCCURS DEPENDING ON` count.
    Absent,
    /// A value that did not decode (see [`InvalidValue`] and REDEFINES),
    /// or a NaN / infinite float.
    Null,
    /// A number's exact text.
    Number(&'a str),
    /// A text value, trimmed.
    Text(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Absent,
    Null,
    Number(usize, usize),
    Text(usize, usize),
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    /// The JSON-escaped, quoted name followed by `:` (nested output).
    json_key: String,
    /// Offset of the first occurrence relative to the parent occurrence
    /// (fixed-size tables; variable-size ones lay items out as decoded).
    rel: usize,
    item_len: usize,
    max: usize,
    /// Whether the item has an OCCURS clause (an array in nested JSON).
    table: bool,
    /// Whether the item REDEFINES the sibling before it.
    redefines: bool,
    /// A FILLER: not output, its bytes only skipped.
    dropped: bool,
    /// Index into `counters` for OCCURS DEPENDING ON.
    counter: Option<usize>,
    /// Index into `counters` of the counter this elementary item is.
    sets_counter: Option<usize>,
    /// Whether values under this node become null when they fail.
    lenient: bool,
    /// Columns of one occurrence.
    ncols: usize,
    elem: Option<ElementaryField>,
    children: Vec<Node>,
}

/// One column of a copybook whose items all lie at fixed places.
#[derive(Debug, Clone)]
struct Step {
    elem: ElementaryField,
    at: usize,
    lenient: bool,
}

/// The columns of `node`'s occurrences, the first at `start`, as steps.
fn flatten(node: &Node, start: usize, out: &mut Vec<Step>) {
    if node.dropped {
        return;
    }
    for i in 0..node.max {
        let at = start + i * node.item_len;
        match &node.elem {
            Some(e) => out.push(Step {
                elem: e.clone(),
                at,
                lenient: node.lenient,
            }),
            None => {
                for c in &node.children {
                    flatten(c, at + c.rel, out);
                }
            }
        }
    }
}

/// Decodes whole records of a copybook into flat columns; see the module
/// documentation for the shape of the output.
///
/// ```
/// use drx_layouts::{Cell, Copybook, RecordDecoder, RecordOptions};
///
/// let text = "       01  REC.\n\
///             \x20          05  CUST-ID  PIC 9(3).\n\
///             \x20          05  AMT      PIC S9(3)V99 COMP-3 OCCURS 2.\n";
/// let cb = Copybook::parse("rec.cob", text)?;
/// let mut dec = RecordDecoder::new(&cb, RecordOptions::default())?;
/// assert_eq!(dec.columns(), ["CUST_ID", "AMT_1", "AMT_2"]);
/// let record = [0xF0, 0xF4, 0xF2, 0x00, 0x30, 0x5C, 0x01, 0x00, 0x0D];
/// dec.decode(1, &record)?;
/// assert_eq!(dec.cell(1), Cell::Number("3.05"));
/// let mut json = String::new();
/// dec.write_json(&mut json);
/// assert_eq!(json, r#"{"CUST_ID":42,"AMT_1":3.05,"AMT_2":-10.00}"#);
/// json.clear();
/// dec.write_json_nested(&mut json);
/// assert_eq!(json, r#"{"REC":{"CUST_ID":42,"AMT":[3.05,-10.00]}}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    roots: Vec<Node>,
    columns: Vec<String>,
    /// JSON-escaped, quoted column names followed by `:`.
    json_keys: Vec<String>,
    counters: Vec<ElementaryField>,
    /// For a copybook without OCCURS DEPENDING ON (every item at a fixed
    /// place): its elementary items in column order, decoded in one loop.
    flat: Option<Vec<Step>>,
    opts: RecordOptions,
    text: String,
    slots: Vec<Slot>,
    /// The present count of each OCCURS DEPENDING ON table decoded, in
    /// decoding order (what the nested writer reads back).
    counts: Vec<usize>,
    /// Each counter's latest value in the record being decoded.
    counter_values: Vec<CounterValue>,
    /// Bytes the last record decoded took.
    record_len: usize,
}

/// A counter's latest value while decoding a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CounterValue {
    /// Not decoded yet in this record.
    Unset,
    /// Decoded at this offset.
    Value(Decimal, usize),
    /// Did not decode (a null) at this offset.
    Invalid(usize),
}

fn is_filler(name: &str) -> bool {
    name.is_empty() || name.eq_ignore_ascii_case("FILLER")
}

struct Builder<'a> {
    entries: std::slice::Iter<'a, FieldMapEntry>,
    all: Vec<ElementaryField>,
    deps: Vec<(String, String)>,
}

impl Builder<'_> {
    fn node(&mut self, item: &Item, parent_off: usize, lenient: bool) -> Option<Node> {
        let entry = self.entries.next()?;
        let lenient = lenient || entry.redefined || entry.redefines.is_some();
        let elem = ElementaryField::new(entry, item);
        if let Some(e) = &elem {
            self.all.push(e.clone());
        }
        let mut children = Vec::with_capacity(item.children.len());
        for c in &item.children {
            children.push(self.node(c, entry.offset, lenient)?);
        }
        let keep = !is_filler(&item.name);
        if !keep {
            children.clear();
        }
        let ncols = match &elem {
            Some(_) if keep => 1,
            Some(_) => 0,
            None => children.iter().map(|c| c.ncols * c.max).sum(),
        };
        let counter = item
            .occurs
            .as_ref()
            .and_then(|o| o.depending_on.as_ref())
            .map(|d| {
                self.deps.push((item.name.clone(), d.clone()));
                self.deps.len() - 1
            });
        let name = item.name.replace('-', "_");
        let mut json_key = String::new();
        json_string(&name, &mut json_key);
        json_key.push(':');
        Some(Node {
            name,
            json_key,
            rel: entry.offset.saturating_sub(parent_off),
            item_len: entry.item_len,
            max: item
                .occurs
                .as_ref()
                .map_or(1, |o| usize::try_from(o.max).unwrap_or(usize::MAX)),
            table: item.occurs.is_some(),
            redefines: item.redefines.is_some(),
            dropped: !keep,
            counter,
            sets_counter: None,
            lenient,
            ncols,
            elem: elem.filter(|_| keep),
            children,
        })
    }
}

/// Marks the elementary items that are counters of some table (by name,
/// as `DEPENDING ON` names them).
fn mark_counters(node: &mut Node, counters: &[ElementaryField]) {
    if let Some(e) = &node.elem {
        node.sets_counter = counters
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&e.name));
    }
    for c in &mut node.children {
        mark_counters(c, counters);
    }
}

fn push_columns(node: &Node, suffix: &mut String, out: &mut Vec<String>) {
    let table = node.max > 1 || node.counter.is_some();
    for i in 1..=node.max {
        let len = suffix.len();
        if table {
            let _ = write!(suffix, "_{i}");
        }
        if node.elem.is_some() {
            out.push(format!("{}{suffix}", node.name));
        } else {
            for c in &node.children {
                push_columns(c, suffix, out);
            }
        }
        suffix.truncate(len);
    }
}

pub(crate) fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl RecordDecoder {
    /// A decoder for the records of `copybook`.
    pub fn new(
        copybook: &Copybook,
        opts: RecordOptions,
    ) -> Result<RecordDecoder, RecordDecodeError> {
        let mut b = Builder {
            entries: copybook.field_map().iter(),
            all: Vec::new(),
            deps: Vec::new(),
        };
        let several = copybook.items().len() > 1;
        let mut roots: Vec<Node> = copybook
            .items()
            .iter()
            .filter_map(|it| b.node(it, 0, several))
            .collect();
        // One counter per distinct DEPENDING ON name; `deps[i]` (the
        // table numbered i while building) maps to `counter_of[i]`.
        let mut counters: Vec<ElementaryField> = Vec::with_capacity(b.deps.len());
        let mut counter_of = Vec::with_capacity(b.deps.len());
        for (field, counter) in &b.deps {
            if let Some(i) = counters
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(counter))
            {
                counter_of.push(i);
                continue;
            }
            let e = b
                .all
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(counter) && !e.is_text() && !e.is_float())
                .ok_or_else(|| RecordDecodeError::BadCounter {
                    field: field.clone(),
                    counter: counter.clone(),
                })?;
            counter_of.push(counters.len());
            counters.push(e.clone());
        }
        for r in &mut roots {
            renumber_counters(r, &counter_of);
            mark_counters(r, &counters);
        }
        let mut columns = Vec::new();
        let mut suffix = String::new();
        for r in &roots {
            push_columns(r, &mut suffix, &mut columns);
        }
        let json_keys = columns
            .iter()
            .map(|c| {
                let mut k = String::new();
                json_string(c, &mut k);
                k.push(':');
                k
            })
            .collect();
        let flat = counters.is_empty().then(|| {
            let mut steps = Vec::with_capacity(columns.len());
            for r in &roots {
                flatten(r, 0, &mut steps);
            }
            steps
        });
        Ok(RecordDecoder {
            slots: Vec::with_capacity(columns.len()),
            roots,
            columns,
            json_keys,
            counter_values: vec![CounterValue::Unset; counters.len()],
            counters,
            flat,
            opts,
            text: String::new(),
            counts: Vec::new(),
            record_len: 0,
        })
    }

    /// The column names, in order (flattened, `-` as `_`).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Decodes one record; `number` (1-based) is for error messages. The
    /// values are then read with [`cell`](Self::cell),
    /// [`write_json`](Self::write_json) or
    /// [`write_json_nested`](Self::write_json_nested), until the next call.
    /// Bytes of `record` past the record's length
    /// ([`record_len`](Self::record_len)) are ignored.
    pub fn decode(&mut self, number: u64, record: &[u8]) -> Result<(), RecordDecodeError> {
        self.text.clear();
        self.slots.clear();
        self.counts.clear();
        self.counter_values.fill(CounterValue::Unset);
        if let Some(steps) = &self.flat {
            for step in steps {
                let slot = value(
                    &self.opts,
                    &mut self.text,
                    record,
                    &step.elem,
                    step.at,
                    step.lenient,
                )
                .map_err(|error| RecordDecodeError::Field {
                    record: number,
                    error,
                })?;
                self.slots.push(slot);
            }
            self.record_len = self
                .roots
                .iter()
                .map(|r| r.item_len * r.max)
                .max()
                .unwrap_or(0);
            return Ok(());
        }
        let mut ctx = Ctx {
            counters: &self.counters,
            opts: &self.opts,
            text: &mut self.text,
            slots: &mut self.slots,
            counts: &mut self.counts,
            counter_values: &mut self.counter_values,
            record,
            number,
        };
        let mut len = 0;
        for r in &self.roots {
            len = len.max(ctx.node(r, 0)?);
        }
        self.record_len = len;
        Ok(())
    }

    /// The length in bytes of the last record decoded: the copybook's
    /// record length, or with
    /// [`variable_size_occurs`](RecordOptions::variable_size_occurs) the
    /// bytes its present table occurrences take (the largest 01 record's,
    /// when there are several).
    pub fn record_len(&self) -> usize {
        self.record_len
    }

    /// Decodes the record that starts at `offset` in `data`, where records
    /// lie back to back with no length prefix (variable-size tables make
    /// each record's length depend on its counters), and returns its
    /// length: the next record starts that many bytes later.
    ///
    /// A record that runs past the end of `data` is a
    /// [`RecordDecodeError::Truncated`] naming the record number and the
    /// offset of the record in `data`; a record of 0 bytes is an
    /// [`RecordDecodeError::EmptyRecord`] (it would never advance).
    ///
    /// ```
    /// use drx_layouts::{CodePage, Copybook, RecordDecoder, RecordOptions};
    ///
    /// let text = "       01  R.\n\
    ///             \x20          05  N  PIC 9.\n\
    ///             \x20          05  A  PIC X OCCURS 0 TO 3 DEPENDING ON N.\n";
    /// let mut opts = RecordOptions { variable_size_occurs: true, ..Default::default() };
    /// opts.cobol.code_page = CodePage::Ascii;
    /// let mut dec = RecordDecoder::new(&Copybook::parse("r.cob", text)?, opts)?;
    /// let data = b"2ab01c3";
    /// let (mut at, mut number, mut lines) = (0, 1, Vec::new());
    /// while at < 5 {
    ///     at += dec.decode_next(number, data, at)?;
    ///     number += 1;
    ///     let mut line = String::new();
    ///     dec.write_json_nested(&mut line);
    ///     lines.push(line);
    /// }
    /// assert_eq!(lines, [r#"{"R":{"N":2,"A":["a","b"]}}"#, r#"{"R":{"N":0,"A":[]}}"#, r#"{"R":{"N":1,"A":["c"]}}"#]);
    /// let e = dec.decode_next(4, data, at).unwrap_err();
    /// assert_eq!(e.to_string(), "record 4 at byte 6: truncated, needs 2 bytes, 1 left");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_next(
        &mut self,
        number: u64,
        data: &[u8],
        offset: usize,
    ) -> Result<usize, RecordDecodeError> {
        let rest = data.get(offset..).unwrap_or_default();
        let truncated = |needed: usize| RecordDecodeError::Truncated {
            record: number,
            offset,
            needed,
            remaining: rest.len(),
        };
        match self.decode(number, rest) {
            Ok(()) if self.record_len > rest.len() => Err(truncated(self.record_len)),
            Ok(()) if self.record_len == 0 => Err(RecordDecodeError::EmptyRecord {
                record: number,
                offset,
            }),
            Ok(()) => Ok(self.record_len),
            Err(RecordDecodeError::Field { error, .. })
                if matches!(error.kind, CobolErrorKind::Truncated(_)) =>
            {
                Err(truncated(error.offset.saturating_add(error_len(&error))))
            }
            Err(e) => Err(e),
        }
    }

    /// Column `i`'s value in the last record decoded (`Absent` past the
    /// columns or before any record).
    pub fn cell(&self, i: usize) -> Cell<'_> {
        let get = |r: Range<usize>| self.text.get(r).unwrap_or("");
        match self.slots.get(i) {
            None | Some(Slot::Absent) => Cell::Absent,
            Some(Slot::Null) => Cell::Null,
            Some(&Slot::Number(a, b)) => Cell::Number(get(a..b)),
            Some(&Slot::Text(a, b)) => Cell::Text(get(a..b)),
        }
    }

    /// Appends the last record decoded to `out` as one flat JSON object
    /// (no newline); absent occurrences are left out.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        for (i, key) in self.json_keys.iter().enumerate() {
            let cell = self.cell(i);
            if cell == Cell::Absent {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(key);
            write_cell(cell, out);
        }
        out.push('}');
    }

    /// Appends the last record decoded to `out` as one nested JSON object
    /// in Cobrix's shape (no newline): see the module documentation.
    pub fn write_json_nested(&self, out: &mut String) {
        let mut w = NestedWriter {
            dec: self,
            slot: 0,
            count: 0,
            out,
        };
        w.out.push('{');
        let mut first = true;
        for r in &self.roots {
            if self.opts.collapse_root && r.elem.is_none() && !r.table {
                for c in &r.children {
                    w.member(c, &mut first);
                }
            } else {
                w.member(r, &mut first);
            }
        }
        w.out.push('}');
    }
}

/// The length a truncated field needed (its error's kind carries it).
fn error_len(e: &CobolDecodeError) -> usize {
    match e.kind {
        CobolErrorKind::Truncated(n) => n,
        _ => 0,
    }
}

/// Gives each table the index of its (deduplicated) counter.
fn renumber_counters(node: &mut Node, counter_of: &[usize]) {
    if let Some(i) = node.counter {
        node.counter = counter_of.get(i).copied();
    }
    for c in &mut node.children {
        renumber_counters(c, counter_of);
    }
}

fn write_cell(cell: Cell<'_>, out: &mut String) {
    match cell {
        Cell::Absent | Cell::Null => out.push_str("null"),
        Cell::Number(n) => out.push_str(n),
        Cell::Text(t) => json_string(t, out),
    }
}

/// Walks the node tree as decoding did, reading back the slots and the
/// tables' counts in the same order.
struct NestedWriter<'d, 'o> {
    dec: &'d RecordDecoder,
    /// Next slot to read.
    slot: usize,
    /// Next count to read.
    count: usize,
    out: &'o mut String,
}

impl<'d> NestedWriter<'d, '_> {
    fn next_cell(&mut self) -> Cell<'d> {
        let i = self.slot;
        self.slot += 1;
        self.dec.cell(i)
    }

    /// The number of occurrences decoded for `node`.
    fn present(&mut self, node: &Node) -> usize {
        if node.counter.is_none() {
            return node.max;
        }
        let n = self.dec.counts.get(self.count).copied().unwrap_or(0);
        self.count += 1;
        n
    }

    fn key(&mut self, node: &Node, first: &mut bool) {
        if !*first {
            self.out.push(',');
        }
        *first = false;
        self.out.push_str(&node.json_key);
    }

    /// Writes `node` as a member of the current object (nothing for a
    /// FILLER, a null value or a group with no named elementary item).
    fn member(&mut self, node: &Node, first: &mut bool) {
        if node.dropped {
            return;
        }
        if node.ncols == 0 {
            self.skip(node);
            return;
        }
        let present = self.present(node);
        if node.table {
            self.key(node, first);
            self.out.push('[');
            for i in 0..present {
                if i > 0 {
                    self.out.push(',');
                }
                self.occurrence(node);
            }
            self.out.push(']');
            self.slot += node.max.saturating_sub(present) * node.ncols;
        } else if node.elem.is_some() {
            let cell = self.next_cell();
            if !matches!(cell, Cell::Null | Cell::Absent) {
                self.key(node, first);
                write_cell(cell, self.out);
            }
        } else {
            self.key(node, first);
            self.occurrence(node);
        }
    }

    /// Writes one occurrence of `node`: its value, or its object.
    fn occurrence(&mut self, node: &Node) {
        if node.elem.is_some() {
            let cell = self.next_cell();
            write_cell(cell, self.out);
            return;
        }
        self.out.push('{');
        let mut first = true;
        for c in &node.children {
            self.member(c, &mut first);
        }
        self.out.push('}');
    }

    /// Reads past the counts of a node that has no output.
    fn skip(&mut self, node: &Node) {
        let present = self.present(node);
        if node.elem.is_none() {
            for _ in 0..present {
                for c in &node.children {
                    if !c.dropped {
                        self.skip(c);
                    }
                }
            }
        }
    }
}

struct Ctx<'a, 'r> {
    counters: &'a [ElementaryField],
    opts: &'a RecordOptions,
    text: &'a mut String,
    slots: &'a mut Vec<Slot>,
    counts: &'a mut Vec<usize>,
    counter_values: &'a mut [CounterValue],
    record: &'r [u8],
    number: u64,
}

impl Ctx<'_, '_> {
    fn count(&self, node: &Node, idx: usize) -> Result<usize, RecordDecodeError> {
        let Some(c) = self.counters.get(idx) else {
            return Ok(node.max);
        };
        let bad = |offset: usize, value: String| RecordDecodeError::BadCount {
            record: self.number,
            field: node.name.clone(),
            counter: c.name.clone(),
            offset,
            value,
        };
        let (d, offset) = match self.counter_values.get(idx) {
            Some(&CounterValue::Value(d, at)) => (d, at),
            Some(&CounterValue::Invalid(at)) => {
                return Err(bad(at, "not a valid number".to_owned()));
            }
            _ => (
                c.decimal(self.record, &self.opts.cobol)
                    .map_err(|e| bad(c.offset, e.to_string()))?,
                c.offset,
            ),
        };
        let ten = 10i128.pow(u32::from(d.scale()));
        if d.unscaled() < 0 || d.unscaled() % ten != 0 {
            return Err(bad(offset, d.to_string()));
        }
        let n = d.unscaled() / ten;
        match usize::try_from(n) {
            Ok(n) if n <= node.max => Ok(n),
            _ => Err(RecordDecodeError::OccursOverMax {
                record: self.number,
                field: node.name.clone(),
                counter: c.name.clone(),
                offset,
                count: n.to_string(),
                max: u32::try_from(node.max).unwrap_or(u32::MAX),
            }),
        }
    }

    /// Decodes every occurrence of `node`, the first at `start`; returns
    /// the bytes they take.
    fn node(&mut self, node: &Node, start: usize) -> Result<usize, RecordDecodeError> {
        let variable = self.opts.variable_size_occurs;
        if node.dropped {
            // A FILLER: only its size matters.
            let times = match node.counter {
                Some(i) if variable => self.count(node, i)?,
                _ => node.max,
            };
            return Ok(node.item_len * times);
        }
        let present = match node.counter {
            Some(i) => {
                let n = self.count(node, i)?;
                self.counts.push(n);
                n
            }
            None => node.max,
        };
        let mut at = start;
        for _ in 0..present {
            let size = match &node.elem {
                Some(e) => {
                    let slot = self.value(e, at, node)?;
                    self.slots.push(slot);
                    node.item_len
                }
                None => self.group(node, at)?,
            };
            at += if variable { size } else { node.item_len };
        }
        let absent = node.max.saturating_sub(present) * node.ncols;
        self.slots.resize(self.slots.len() + absent, Slot::Absent);
        Ok(if variable {
            at - start
        } else {
            node.item_len * node.max
        })
    }

    /// Decodes one occurrence of a group at `at`; returns its size.
    fn group(&mut self, node: &Node, at: usize) -> Result<usize, RecordDecodeError> {
        if !self.opts.variable_size_occurs {
            for c in &node.children {
                self.node(c, at + c.rel)?;
            }
            return Ok(node.item_len);
        }
        // Items lie one after the other as decoded; a REDEFINES chain
        // starts where its first member does and takes its largest
        // member's size.
        let (mut chain_start, mut chain_size) = (at, 0);
        for c in &node.children {
            if c.redefines {
                chain_size = chain_size.max(self.node(c, chain_start)?);
            } else {
                chain_start += chain_size;
                chain_size = self.node(c, chain_start)?;
            }
        }
        Ok(chain_start + chain_size - at)
    }

    fn value(
        &mut self,
        e: &ElementaryField,
        at: usize,
        node: &Node,
    ) -> Result<Slot, RecordDecodeError> {
        let r = match node
            .sets_counter
            .and_then(|k| self.counter_values.get_mut(k))
        {
            // A counter: its value is kept for the tables it governs.
            Some(v) => {
                let d = e.decimal_at(self.record, at, &self.opts.cobol);
                *v = match d {
                    Ok(d) => CounterValue::Value(d, at),
                    Err(_) => CounterValue::Invalid(at),
                };
                let a = self.text.len();
                d.map(|d| {
                    d.write_to(self.text);
                    Slot::Number(a, self.text.len())
                })
                .or_else(|e| lenient(self.opts, node.lenient, e))
            }
            None => value(self.opts, self.text, self.record, e, at, node.lenient),
        };
        r.map_err(|error| RecordDecodeError::Field {
            record: self.number,
            error,
        })
    }
}

/// A value that failed: null in a `REDEFINES` alternative or when invalid
/// values are null, else the error.
fn lenient(
    opts: &RecordOptions,
    lenient: bool,
    e: CobolDecodeError,
) -> Result<Slot, CobolDecodeError> {
    if lenient || opts.invalid == InvalidValue::Null {
        Ok(Slot::Null)
    } else {
        Err(e)
    }
}

/// Decodes the elementary item `e` at `at` and appends its text to `text`:
/// text decoded from the code page and trimmed (by narrowing the slot, not
/// copying), numbers as their exact text, floats as the shortest text.
fn value(
    opts: &RecordOptions,
    text: &mut String,
    record: &[u8],
    e: &ElementaryField,
    at: usize,
    is_lenient: bool,
) -> Result<Slot, CobolDecodeError> {
    let cobol = &opts.cobol;
    let a = text.len();
    let r = if e.is_text() {
        e.text_into_at(record, at, cobol, text).map(|()| {
            let s = text.get(a..).unwrap_or("");
            let blank = |c: char| c <= ' ';
            let start = match opts.trim {
                Trim::Left | Trim::Both => s.len() - s.trim_start_matches(blank).len(),
                Trim::None | Trim::Right => 0,
            };
            let end = match opts.trim {
                Trim::Right | Trim::Both => s.trim_end_matches(blank).len().max(start),
                Trim::None | Trim::Left => s.len(),
            };
            Slot::Text(a + start, a + end)
        })
    } else if e.is_float() {
        e.float_at(record, at, cobol).map(|f| {
            if !f.is_finite() {
                return Slot::Null;
            }
            let mut buf = ryu::Buffer::new();
            #[allow(clippy::cast_possible_truncation)]
            let s = if e.len == 4 {
                buf.format_finite(f as f32)
            } else {
                buf.format_finite(f)
            };
            text.push_str(s);
            Slot::Number(a, text.len())
        })
    } else {
        e.decimal_text_at(record, at, cobol, text)
            .map(|()| Slot::Number(a, text.len()))
    };
    r.or_else(|e| lenient(opts, is_lenient, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cb(body: &str) -> Copybook {
        let text: String = body.lines().map(|l| format!("       {l}\n")).collect();
        Copybook::parse("t.cob", &text).unwrap()
    }

    fn ascii() -> RecordOptions {
        RecordOptions {
            cobol: CobolOptions {
                code_page: crate::codepage::CodePage::Ascii,
                ..CobolOptions::default()
            },
            ..RecordOptions::default()
        }
    }

    fn json(d: &RecordDecoder) -> String {
        let mut s = String::new();
        d.write_json(&mut s);
        s
    }

    #[test]
    fn filler_groups_are_dropped() {
        let c = cb(
            "01 R.\n  05 A PIC X(2).\n  05 FILLER REDEFINES A.\n    10 B PIC X.\n    10 C PIC X.\n  05 D PIC X.",
        );
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        assert_eq!(d.columns(), ["A", "D"]);
        d.decode(1, b"abc").unwrap();
        assert_eq!(json(&d), r#"{"A":"ab","D":"c"}"#);
    }

    #[test]
    fn nested_occurs_filler_and_names() {
        let c = cb(
            "01 R.\n  05 G OCCURS 2.\n    10 X-Y PIC 9 OCCURS 2.\n    10 FILLER PIC X.\n  05 T PIC X(3).",
        );
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        assert_eq!(
            d.columns(),
            ["X_Y_1_1", "X_Y_1_2", "X_Y_2_1", "X_Y_2_2", "T"]
        );
        d.decode(1, b"12-34- a\"").unwrap();
        assert_eq!(
            json(&d),
            r#"{"X_Y_1_1":1,"X_Y_1_2":2,"X_Y_2_1":3,"X_Y_2_2":4,"T":"a\""}"#
        );
    }

    #[test]
    fn occurs_depending_on() {
        let c = cb("01 R.\n  05 N PIC 9.\n  05 A PIC X OCCURS 0 TO 3 DEPENDING ON N.");
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        assert_eq!(d.columns(), ["N", "A_1", "A_2", "A_3"]);
        d.decode(1, b"2abc").unwrap();
        assert_eq!(json(&d), r#"{"N":2,"A_1":"a","A_2":"b"}"#);
        assert_eq!(d.cell(3), Cell::Absent);
        let e = d.decode(7, b"4abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "record 7: field A: OCCURS DEPENDING ON N = 4 (at byte 0) exceeds the maximum 3"
        );
        // The counter itself is invalid: a field error first, and with
        // invalid values as null, a bad count.
        let e = d.decode(8, b"xabc").unwrap_err();
        assert!(
            matches!(e, RecordDecodeError::Field { record: 8, .. }),
            "{e}"
        );
        let mut opts = ascii();
        opts.invalid = InvalidValue::Null;
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        let e = d.decode(8, b"xabc").unwrap_err();
        assert!(
            matches!(e, RecordDecodeError::BadCount { record: 8, .. }),
            "{e}"
        );
    }

    #[test]
    fn redefines_failure_is_null_other_failure_is_error() {
        let c = cb("01 R.\n  05 A PIC X(2).\n  05 B REDEFINES A PIC 99.\n  05 C PIC 9(2).");
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        d.decode(1, b"ab12").unwrap();
        assert_eq!(json(&d), r#"{"A":"ab","B":null,"C":12}"#);
        let e = d.decode(3, b"abx2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "record 3: field C: invalid zoned digit 0x78 at byte 2"
        );
        let mut opts = ascii();
        opts.invalid = InvalidValue::Null;
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        d.decode(3, b"abx2").unwrap();
        assert_eq!(d.cell(2), Cell::Null);
    }

    #[test]
    fn trim_and_scale() {
        let c = cb("01 R.\n  05 A PIC X(4).\n  05 B PIC 9V99.");
        let mut opts = ascii();
        opts.trim = Trim::None;
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        d.decode(1, b" a  050").unwrap();
        assert_eq!(json(&d), r#"{"A":" a  ","B":0.50}"#);
    }

    #[test]
    fn short_record_names_record_field_offset() {
        let c = cb("01 R.\n  05 A PIC X(2).\n  05 C PIC 9(2).");
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        let e = d.decode(5, b"ab1").unwrap_err();
        assert!(e.to_string().starts_with("record 5: field C: "), "{e}");
        assert!(e.to_string().ends_with("at byte 2"), "{e}");
    }

    fn nested(d: &RecordDecoder) -> String {
        let mut s = String::new();
        d.write_json_nested(&mut s);
        s
    }

    fn with(mut opts: RecordOptions, f: impl FnOnce(&mut RecordOptions)) -> RecordOptions {
        f(&mut opts);
        opts
    }

    #[test]
    fn nested_json_groups_tables_fillers_and_nulls() {
        let c = cb(
            "01 R.\n  05 A-B PIC X(2).\n  05 G.\n    10 N PIC 9 OCCURS 2.\n    10 FILLER PIC X.\n  05 H OCCURS 2.\n    10 X PIC X.\n    10 Y PIC 9.\n  05 F.\n    10 FILLER PIC X.\n  05 Z PIC 9.",
        );
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        d.decode(1, b"ab12-a1b2-3").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"R":{"A_B":"ab","G":{"N":[1,2]},"H":[{"X":"a","Y":1},{"X":"b","Y":2}],"Z":3}}"#
        );
        let mut d = RecordDecoder::new(
            &c,
            with(ascii(), |o| {
                o.collapse_root = true;
                o.invalid = InvalidValue::Null;
            }),
        )
        .unwrap();
        // Nulls are left out of objects, kept in arrays of values.
        d.decode(1, b"ab1x-a1bx-y").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"A_B":"ab","G":{"N":[1,null]},"H":[{"X":"a","Y":1},{"X":"b"}]}"#
        );
    }

    #[test]
    fn nested_json_odo_arrays_hold_present_occurrences() {
        let c = cb(
            "01 R.\n  05 N PIC 9.\n  05 T OCCURS 0 TO 2 DEPENDING ON N.\n    10 M PIC 9.\n    10 V PIC X OCCURS 0 TO 2 DEPENDING ON M.\n  05 E PIC X.",
        );
        let mut d = RecordDecoder::new(&c, with(ascii(), |o| o.collapse_root = true)).unwrap();
        // Fixed positions: T takes 2 × 3 bytes whatever N is.
        d.decode(1, b"22ab1c-e").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"N":2,"T":[{"M":2,"V":["a","b"]},{"M":1,"V":["c"]}],"E":"e"}"#
        );
        assert_eq!(d.record_len(), 8);
        d.decode(2, b"0------e").unwrap();
        assert_eq!(nested(&d), r#"{"N":0,"T":[],"E":"e"}"#);
        // Flat columns: each M governs the V of its own occurrence.
        d.decode(3, b"20--2ab-").unwrap();
        assert_eq!(
            json(&d),
            r#"{"N":2,"M_1":0,"M_2":2,"V_2_1":"a","V_2_2":"b","E":"-"}"#
        );
    }

    #[test]
    fn variable_size_occurs_shifts_what_follows() {
        let c = cb(
            "01 R.\n  05 N PIC 9.\n  05 T OCCURS 0 TO 2 DEPENDING ON N.\n    10 M PIC 9.\n    10 V PIC X OCCURS 0 TO 2 DEPENDING ON M.\n  05 E PIC X.",
        );
        let opts = with(ascii(), |o| o.variable_size_occurs = true);
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        d.decode(1, b"22ab1ce").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"R":{"N":2,"T":[{"M":2,"V":["a","b"]},{"M":1,"V":["c"]}],"E":"e"}}"#
        );
        assert_eq!(d.record_len(), 7);
        d.decode(2, b"0e").unwrap();
        assert_eq!(nested(&d), r#"{"R":{"N":0,"T":[],"E":"e"}}"#);
        assert_eq!(d.record_len(), 2);
        // The flat columns stay those of the maximum table.
        assert_eq!(d.columns().len(), 8);
        assert_eq!(json(&d), r#"{"N":0,"E":"e"}"#);
    }

    #[test]
    fn variable_size_redefines_chain_takes_its_largest_member() {
        let c = cb(
            "01 R.\n  05 N PIC 9.\n  05 A.\n    10 V PIC X OCCURS 0 TO 3 DEPENDING ON N.\n  05 B REDEFINES A PIC X(2).\n  05 E PIC X.",
        );
        let opts = with(ascii(), |o| o.variable_size_occurs = true);
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        // A takes 1 byte, B 2: E follows B.
        d.decode(1, b"1xye").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"R":{"N":1,"A":{"V":["x"]},"B":"xy","E":"e"}}"#
        );
        assert_eq!(d.record_len(), 4);
        // A takes 3 bytes: E follows A.
        d.decode(2, b"3xyze").unwrap();
        assert_eq!(
            nested(&d),
            r#"{"R":{"N":3,"A":{"V":["x","y","z"]},"B":"xy","E":"e"}}"#
        );
        assert_eq!(d.record_len(), 5);
    }

    #[test]
    fn decode_next_reads_records_back_to_back() {
        let c = cb("01 R.\n  05 N PIC 9.\n  05 V PIC X OCCURS 0 TO 3 DEPENDING ON N.");
        let opts = with(ascii(), |o| o.variable_size_occurs = true);
        let mut d = RecordDecoder::new(&c, opts).unwrap();
        let data = b"2ab03xyz1";
        let mut lens = Vec::new();
        let mut at = 0;
        for n in 1..=3 {
            let len = d.decode_next(n, data, at).unwrap();
            lens.push(len);
            at += len;
        }
        assert_eq!(lens, [3, 1, 4]);
        let e = d.decode_next(4, data, at).unwrap_err();
        assert_eq!(
            e,
            RecordDecodeError::Truncated {
                record: 4,
                offset: 8,
                needed: 2,
                remaining: 1
            }
        );
        // With invalid values as null, the whole record length is known.
        let mut d = RecordDecoder::new(&c, with(opts, |o| o.invalid = InvalidValue::Null)).unwrap();
        let e = d.decode_next(4, b"3x", 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "record 4 at byte 0: truncated, needs 4 bytes, 2 left"
        );
        // A record of no bytes would never advance.
        let c = cb("01 R.\n  05 V PIC X OCCURS 0 TO 3 DEPENDING ON N.\n01 S.\n  05 N PIC 9.");
        let mut d = RecordDecoder::new(&c, with(opts, |o| o.invalid = InvalidValue::Null)).unwrap();
        assert!(d.decode_next(1, b"", 0).is_err());
    }

    #[test]
    fn fixed_record_len_is_the_copybook_length() {
        let c = cb("01 R.\n  05 N PIC 9.\n  05 V PIC X OCCURS 0 TO 3 DEPENDING ON N.");
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        d.decode(1, b"1a--").unwrap();
        assert_eq!(d.record_len(), 4);
        assert_eq!(d.decode_next(1, b"1a--0---", 4).unwrap(), 4);
        assert_eq!(nested(&d), r#"{"R":{"N":0,"V":[]}}"#);
    }

    #[test]
    fn one_byte_binary_fields_decode() {
        let text = "       01 R.\n           05 A PIC S99 COMP.\n           05 B PIC 9(3) COMP.\n";
        let c = Copybook::parse_options(
            "t.cob",
            text,
            super::super::CopybookOptions {
                binary_sizes: super::super::BinarySizes::OneTwoFourEight,
                ..Default::default()
            },
        )
        .unwrap();
        let mut d = RecordDecoder::new(&c, ascii()).unwrap();
        d.decode(1, &[0xFF, 0x01, 0x00]).unwrap();
        assert_eq!(json(&d), r#"{"A":-1,"B":256}"#);
    }
}
