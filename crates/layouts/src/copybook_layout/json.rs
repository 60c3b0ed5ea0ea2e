//! An `OCCURS` table rendered as a JSON array (the JSON column of a
//! copybook layout whose tables are [`OccursColumns::Json`](super::OccursColumns)).

use std::fmt;

use super::build::counter_offset;
use super::{CobolPlan, Elem, MAX_DEPTH, Node, Occurrence};
use crate::copybook::json_string;
use crate::{DecodeError, Value};

/// An `OCCURS` table of one record, as the value of a JSON column.
///
/// Its text ([`Value::write_text`]) is a JSON array: values for an
/// elementary table, objects for a group table (groups inside as nested
/// objects, tables inside as arrays), only the occurrences within an
/// `OCCURS DEPENDING ON` count. Numbers are exact (`12.50`), text is
/// trimmed as the layout trims, a value that does not decode in a
/// `REDEFINES` alternative is `null`.
#[derive(Clone, Copy)]
pub struct TableValue<'a> {
    plan: &'a CobolPlan,
    node: &'a Node,
    name: &'a str,
    record: &'a [u8],
    offset: usize,
}

impl<'a> TableValue<'a> {
    pub(super) fn new(
        plan: &'a CobolPlan,
        node: &'a Node,
        name: &'a str,
        record: &'a [u8],
        offset: usize,
    ) -> TableValue<'a> {
        TableValue {
            plan,
            node,
            name,
            record,
            offset,
        }
    }

    /// Appends the JSON array to `out`; on error `out` is unchanged.
    pub fn write_json(&self, out: &mut String) -> Result<(), DecodeError> {
        self.write(out, false)
    }

    /// Appends the JSON array with every number as a string (`"12.50"`),
    /// for JSON readers that would read numbers as floats and lose their
    /// exact digits (Handlebars templates); on error `out` is unchanged.
    pub fn write_json_numbers_as_strings(&self, out: &mut String) -> Result<(), DecodeError> {
        self.write(out, true)
    }

    fn write(&self, out: &mut String, quote_numbers: bool) -> Result<(), DecodeError> {
        let start = out.len();
        let mut occ: Occurrence = [0; MAX_DEPTH];
        let w = Writer {
            table: self,
            quote_numbers,
        };
        let r = w.item(self.node, self.offset, &mut occ, out);
        if r.is_err() {
            out.truncate(start);
        }
        r.map_err(|fault| fault.into_error(self.name))
    }

    /// Appends the JSON array to `out` as UTF-8 bytes (through one
    /// `String` per table value: a JSON column holds a whole table, so the
    /// allocation is small beside the rendering).
    pub fn write_json_utf8(&self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let mut s = String::new();
        self.write_json(&mut s)?;
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Why a table did not render: the error, and for a value that did not
/// decode, where it is in the table.
struct Fault {
    error: DecodeError,
    /// The JSON path of the value inside the table column (`[1].amt`),
    /// built from the inside out as the fault goes up; `None` when the
    /// error is not a value's (an `OCCURS DEPENDING ON` count names its
    /// counter).
    path: Option<String>,
}

impl Fault {
    /// Puts `segment` in front of the path, if the fault has one.
    fn within(mut self, segment: fmt::Arguments<'_>) -> Fault {
        if let Some(path) = &mut self.path {
            path.insert_str(0, &segment.to_string());
        }
        self
    }

    /// The error, naming the value as `column[1].amt` (its JSON path in
    /// the column, indices from 0 as in the array).
    fn into_error(self, column: &str) -> DecodeError {
        let mut error = self.error;
        if let Some(path) = self.path {
            error.field = format!("{column}{path}");
        }
        error
    }
}

impl From<DecodeError> for Fault {
    fn from(error: DecodeError) -> Fault {
        Fault { error, path: None }
    }
}

/// Renders one table, numbers quoted or not.
struct Writer<'t, 'a> {
    table: &'t TableValue<'a>,
    quote_numbers: bool,
}

impl Writer<'_, '_> {
    fn item(
        &self,
        node: &Node,
        start: usize,
        occ: &mut Occurrence,
        out: &mut String,
    ) -> Result<(), Fault> {
        if !node.table {
            return self.occurrence(node, start, occ, out);
        }
        let count = match node.counter {
            Some(c) => {
                let counter = &self.table.plan.counters[c];
                self.table
                    .plan
                    .count(counter, counter_offset(counter, occ), self.table.record)?
            }
            None => node.max,
        };
        out.push('[');
        for i in 0..count {
            if i > 0 {
                out.push(',');
            }
            occ[node.depth] = i;
            self.occurrence(node, start + i * node.item_len, occ, out)
                .map_err(|f| f.within(format_args!("[{i}]")))?;
        }
        out.push(']');
        Ok(())
    }

    fn occurrence(
        &self,
        node: &Node,
        at: usize,
        occ: &mut Occurrence,
        out: &mut String,
    ) -> Result<(), Fault> {
        if let Some(elem) = &node.elem {
            return self.scalar(elem, at, out);
        }
        out.push('{');
        for (i, child) in node.children.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&child.key);
            self.item(child, at + child.rel, occ, out).map_err(|f| {
                let name = child.key.trim_end_matches(':').trim_matches('"');
                f.within(format_args!(".{name}"))
            })?;
        }
        out.push('}');
        Ok(())
    }

    fn scalar(&self, elem: &Elem, at: usize, out: &mut String) -> Result<(), Fault> {
        self.value(elem, at, out).map_err(|error| Fault {
            error,
            path: Some(String::new()),
        })
    }

    fn value(&self, elem: &Elem, at: usize, out: &mut String) -> Result<(), DecodeError> {
        match self
            .table
            .plan
            .leaf(elem, self.table.name, self.table.record, at)?
        {
            Value::Null => out.push_str("null"),
            Value::Text(t) => {
                let start = out.len();
                t.write_to(out)?;
                if out[start..].contains(|c: char| c == '"' || c == '\\' || c < ' ') {
                    let raw = out.split_off(start);
                    json_string(&raw, out);
                } else {
                    out.insert(start, '"');
                    out.push('"');
                }
            }
            other if self.quote_numbers => {
                out.push('"');
                other.write_text(out)?;
                out.push('"');
            }
            other => other.write_text(out)?,
        }
        Ok(())
    }
}

/// Tables are equal when they are the same column of equal records.
impl PartialEq for TableValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.node, other.node)
            && self.offset == other.offset
            && self.record == other.record
    }
}

impl fmt::Debug for TableValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        match self.write_json(&mut s) {
            Ok(()) => write!(f, "TableValue({s})"),
            Err(e) => write!(f, "TableValue(<{e}>)"),
        }
    }
}
