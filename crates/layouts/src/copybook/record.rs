//! Decoding a whole copybook record into flat columns and a JSON object.
//!
//! [`RecordDecoder`] is built once per copybook; [`RecordDecoder::decode`]
//! then fills reused buffers with one record's values (no allocation per
//! record once the buffers have grown), which read back as [`Cell`]s (for
//! CSV) or as one JSON object ([`RecordDecoder::write_json`]).
//!
//! The shape of the output:
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
//!   (left out of the JSON object, empty in CSV). Items keep the positions
//!   of the maximum-size table (Cobrix's default, not its
//!   `variable_size_occurs`). A count over the maximum, or a counter that
//!   is not a whole number, is an error.
//! - `REDEFINES`: every alternative is decoded; a value inside an
//!   alternative (an item that redefines or is redefined, or an item under
//!   one) that fails to decode is `null` rather than an error, since only
//!   one alternative usually holds valid data. With several 01 records,
//!   each is such an alternative.
//! - Numbers are exact: decimals are written with the PIC scale (`30.50`);
//!   COMP-1 as the shortest `f32` text, COMP-2 as the shortest `f64` text
//!   (ryu); a NaN or infinity is `null`. Text is trimmed per [`Trim`].
//!
//! Errors name the 1-based record number, the field and its byte offset in
//! the record.

use std::fmt::Write as _;
use std::ops::Range;

use super::Copybook;
use super::decode::{CobolDecodeError, CobolOptions, ElementaryField};
use super::fieldmap::FieldMapEntry;
use super::parser::Item;

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
    /// Offset of the first occurrence relative to the parent occurrence.
    rel: usize,
    item_len: usize,
    max: usize,
    /// Index into `counters` for OCCURS DEPENDING ON.
    counter: Option<usize>,
    /// Whether values under this node become null when they fail.
    lenient: bool,
    /// Columns of one occurrence.
    ncols: usize,
    elem: Option<ElementaryField>,
    children: Vec<Node>,
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
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    roots: Vec<Node>,
    columns: Vec<String>,
    /// JSON-escaped, quoted column names followed by `:`.
    json_keys: Vec<String>,
    counters: Vec<ElementaryField>,
    opts: RecordOptions,
    text: String,
    scratch: String,
    slots: Vec<Slot>,
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
        Some(Node {
            name: item.name.replace('-', "_"),
            rel: entry.offset.saturating_sub(parent_off),
            item_len: entry.item_len,
            max: item
                .occurs
                .as_ref()
                .map_or(1, |o| usize::try_from(o.max).unwrap_or(usize::MAX)),
            counter,
            lenient,
            ncols,
            elem: elem.filter(|_| keep),
            children,
        })
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

fn json_string(s: &str, out: &mut String) {
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
        let roots: Vec<Node> = copybook
            .items()
            .iter()
            .filter_map(|it| b.node(it, 0, several))
            .collect();
        let mut counters = Vec::with_capacity(b.deps.len());
        for (field, counter) in &b.deps {
            let e = b
                .all
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(counter) && !e.is_text() && !e.is_float())
                .ok_or_else(|| RecordDecodeError::BadCounter {
                    field: field.clone(),
                    counter: counter.clone(),
                })?;
            counters.push(e.clone());
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
        Ok(RecordDecoder {
            slots: Vec::with_capacity(columns.len()),
            roots,
            columns,
            json_keys,
            counters,
            opts,
            text: String::new(),
            scratch: String::new(),
        })
    }

    /// The column names, in order (flattened, `-` as `_`).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Decodes one record; `number` (1-based) is for error messages. The
    /// values are then read with [`cell`](Self::cell) or
    /// [`write_json`](Self::write_json), until the next call.
    pub fn decode(&mut self, number: u64, record: &[u8]) -> Result<(), RecordDecodeError> {
        self.text.clear();
        self.slots.clear();
        let mut ctx = Ctx {
            counters: &self.counters,
            opts: &self.opts,
            text: &mut self.text,
            scratch: &mut self.scratch,
            slots: &mut self.slots,
            record,
            number,
        };
        for r in &self.roots {
            ctx.node(r, 0)?;
        }
        Ok(())
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

    /// Appends the last record decoded to `out` as one JSON object (no
    /// newline); absent occurrences are left out.
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
            match cell {
                Cell::Absent | Cell::Null => out.push_str("null"),
                Cell::Number(n) => out.push_str(n),
                Cell::Text(t) => json_string(t, out),
            }
        }
        out.push('}');
    }
}

struct Ctx<'a, 'r> {
    counters: &'a [ElementaryField],
    opts: &'a RecordOptions,
    text: &'a mut String,
    scratch: &'a mut String,
    slots: &'a mut Vec<Slot>,
    record: &'r [u8],
    number: u64,
}

impl Ctx<'_, '_> {
    fn count(&self, node: &Node, idx: usize) -> Result<usize, RecordDecodeError> {
        let Some(c) = self.counters.get(idx) else {
            return Ok(node.max);
        };
        let bad = |value: String| RecordDecodeError::BadCount {
            record: self.number,
            field: node.name.clone(),
            counter: c.name.clone(),
            offset: c.offset,
            value,
        };
        let d = c
            .decimal(self.record, &self.opts.cobol)
            .map_err(|e| bad(e.to_string()))?;
        let ten = 10i128.pow(u32::from(d.scale()));
        if d.unscaled() < 0 || d.unscaled() % ten != 0 {
            return Err(bad(d.to_string()));
        }
        let n = d.unscaled() / ten;
        match usize::try_from(n) {
            Ok(n) if n <= node.max => Ok(n),
            _ => Err(RecordDecodeError::OccursOverMax {
                record: self.number,
                field: node.name.clone(),
                counter: c.name.clone(),
                offset: c.offset,
                count: n.to_string(),
                max: u32::try_from(node.max).unwrap_or(u32::MAX),
            }),
        }
    }

    fn node(&mut self, node: &Node, base: usize) -> Result<(), RecordDecodeError> {
        let present = match node.counter {
            Some(i) => self.count(node, i)?,
            None => node.max,
        };
        let start = base + node.rel;
        for i in 0..node.max {
            if i >= present {
                let n = self.slots.len() + node.ncols;
                self.slots.resize(n, Slot::Absent);
                continue;
            }
            let at = start + i * node.item_len;
            match &node.elem {
                Some(e) => {
                    let slot = self.value(e, at, node.lenient)?;
                    self.slots.push(slot);
                }
                None => {
                    for c in &node.children {
                        self.node(c, at)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        e: &ElementaryField,
        at: usize,
        lenient: bool,
    ) -> Result<Slot, RecordDecodeError> {
        let opts = &self.opts.cobol;
        let a = self.text.len();
        let r = if e.is_text() {
            self.scratch.clear();
            e.text_into_at(self.record, at, opts, self.scratch)
                .map(|()| {
                    let s = self.scratch.as_str();
                    let blank = |c: char| c <= ' ';
                    let s = match self.opts.trim {
                        Trim::None => s,
                        Trim::Left => s.trim_start_matches(blank),
                        Trim::Right => s.trim_end_matches(blank),
                        Trim::Both => s.trim_matches(blank),
                    };
                    self.text.push_str(s);
                    Slot::Text(a, self.text.len())
                })
        } else if e.is_float() {
            e.float_at(self.record, at, opts).map(|f| {
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
                self.text.push_str(s);
                Slot::Number(a, self.text.len())
            })
        } else {
            e.decimal_at(self.record, at, opts).map(|d| {
                let _ = write!(self.text, "{d}");
                Slot::Number(a, self.text.len())
            })
        };
        match r {
            Ok(s) => Ok(s),
            Err(_) if lenient || self.opts.invalid == InvalidValue::Null => Ok(Slot::Null),
            Err(error) => Err(RecordDecodeError::Field {
                record: self.number,
                error,
            }),
        }
    }
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
}
