//! Building a [`Layout`] from a copybook: the column list and its plan.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::encode::Encoding;
use super::fast::Fast;
use super::{
    CobolPlan, Column, CopybookLayoutOptions, Counter, Elem, Guard, MAX_DEPTH, Node, Occurrence,
    OccursColumns, Out,
};
use crate::copybook::json_string;
use crate::layout::Format;
use crate::value::TextTrim;
use crate::{
    Charset, CobolOptions, CodePage, Copybook, ElementaryField, Field, FieldMapEntry, FieldType,
    Item, Layout, LayoutError, PicCategory, Trim, Usage,
};

/// The most columns a copybook layout may have (each occurrence of a
/// flattened table is one).
const MAX_COLUMNS: usize = 100_000;

/// An item of the copybook with what the plan needs to know about it.
struct Tmp<'c> {
    item: &'c Item,
    entry: &'c FieldMapEntry,
    /// Index in the field map (an id for tables).
    id: usize,
    page: CodePage,
    lenient: bool,
    /// Enclosing tables, outermost first: (id, item length).
    tables: Vec<(usize, usize)>,
    children: Vec<Tmp<'c>>,
    /// The column name (leaves) or table column / JSON key name.
    name: String,
}

struct Builder<'c> {
    name: &'c str,
    opts: &'c CopybookLayoutOptions,
    entries: &'c [FieldMapEntry],
    next: usize,
    /// Normalized name → code page, and whether it was used.
    pages: HashMap<String, (CodePage, bool)>,
}

/// `CUST-ID` and `cust_id` name the same item.
fn normalized(name: &str) -> String {
    name.to_ascii_uppercase().replace('_', "-")
}

fn is_filler(name: &str) -> bool {
    name.is_empty() || name.eq_ignore_ascii_case("FILLER")
}

impl<'c> Builder<'c> {
    fn err(&self, item: Option<&Item>, message: String) -> LayoutError {
        LayoutError {
            name: self.name.to_owned(),
            line: item.map_or(1, |i| i.line),
            col: item.map_or(1, |i| i.col),
            message,
        }
    }

    fn column_name(&self, name: &str) -> String {
        let n = name.replace('-', "_");
        if self.opts.lowercase_names {
            n.to_ascii_lowercase()
        } else {
            n
        }
    }

    fn tmp(
        &mut self,
        item: &'c Item,
        page: CodePage,
        lenient: bool,
        tables: &[(usize, usize)],
    ) -> Result<Tmp<'c>, LayoutError> {
        let id = self.next;
        let entry = self
            .entries
            .get(id)
            .ok_or_else(|| self.err(Some(item), "field map out of step".to_owned()))?;
        self.next += 1;
        let page = match self.pages.get_mut(&normalized(&item.name)) {
            Some((p, used)) => {
                *used = true;
                *p
            }
            None => page,
        };
        let lenient = lenient || entry.redefined || entry.redefines.is_some();
        let mut inner = tables.to_vec();
        if item.occurs.is_some() {
            if inner.len() + 1 >= MAX_DEPTH {
                return Err(self.err(
                    Some(item),
                    format!("OCCURS tables nested deeper than {MAX_DEPTH}"),
                ));
            }
            inner.push((id, entry.item_len));
        }
        let mut children = Vec::with_capacity(item.children.len());
        for c in &item.children {
            children.push(self.tmp(c, page, lenient, &inner)?);
        }
        Ok(Tmp {
            item,
            entry,
            id,
            page,
            lenient,
            tables: tables.to_vec(),
            children,
            name: self.column_name(&item.name),
        })
    }
}

/// Every node of the tree in preorder.
fn walk<'t, 'c>(t: &'t Tmp<'c>, out: &mut Vec<&'t Tmp<'c>>) {
    out.push(t);
    for c in &t.children {
        walk(c, out);
    }
}

/// Builds the layout named `name` from `copybook`.
pub(crate) fn build_layout(
    name: &str,
    copybook: &Copybook,
    opts: &CopybookLayoutOptions,
) -> Result<Layout, LayoutError> {
    let mut b = Builder {
        name,
        opts,
        entries: copybook.field_map(),
        next: 0,
        pages: opts
            .field_code_pages
            .iter()
            .map(|(n, p)| (normalized(n), (*p, false)))
            .collect(),
    };
    let several = copybook.items().len() > 1;
    let mut roots = Vec::with_capacity(copybook.items().len());
    for item in copybook.items() {
        roots.push(b.tmp(item, opts.code_page, several, &[])?);
    }
    if let Some((n, _)) = b.pages.iter().find(|(_, (_, used))| !used) {
        return Err(b.err(
            None,
            format!("a code page is given for {n}, which is not an item of the copybook"),
        ));
    }
    let mut all = Vec::new();
    for r in &roots {
        walk(r, &mut all);
    }
    let (mut counters, counter_of) = counters(&b, &all)?;
    let mut cols = Cols {
        b: &b,
        counters: &counters,
        counter_of: &counter_of,
        fields: Vec::new(),
        columns: Vec::new(),
        names: Vec::new(),
    };
    let mut occ: Occurrence = [0; MAX_DEPTH];
    for r in &roots {
        cols.expand(
            r,
            r.entry.offset,
            &mut occ,
            &mut Vec::new(),
            &mut String::new(),
        )?;
    }
    let Cols {
        mut fields,
        columns,
        names,
        ..
    } = cols;
    unique_names(&b, &mut fields, &names)?;
    // A counter outside any table is one column: errors name it as that
    // column is finally named (qualified if its name was not unique).
    for c in counters.iter_mut().filter(|c| c.tables.is_empty()) {
        let column = columns.iter().position(|col| {
            matches!(col, Column::Leaf { elem, offset, .. }
                if elem.field == c.field && *offset == c.field.offset)
        });
        if let Some(f) = column.and_then(|i| fields.get(i)) {
            c.name.clone_from(&f.name);
        }
    }
    let record_len = copybook.record_len();
    let min_len = all
        .iter()
        .filter(|t| counter_of.contains_key(&t.id))
        .map(|t| t.entry.offset)
        .min()
        .unwrap_or(record_len);
    let mut key = Vec::with_capacity(opts.key.len());
    for k in &opts.key {
        let i = fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(k))
            .ok_or_else(|| b.err(None, format!("key field {k} is not a column of the layout")))?;
        let f = &fields[i];
        if f.offset + f.size > min_len {
            return Err(b.err(
                None,
                format!("key field {k} is not at a fixed place before every OCCURS DEPENDING ON"),
            ));
        }
        key.push(i);
    }
    let plan = CobolPlan {
        fast: columns.iter().map(|c| Fast::of(c, opts.invalid)).collect(),
        columns,
        counters,
        invalid: opts.invalid,
    };
    let template = template(&all, &plan, record_len);
    Ok(Layout {
        name: name.to_owned(),
        fields,
        record_len,
        min_len,
        organization: opts.organization,
        key,
        format: Format {
            charset: Charset::from_code_page(opts.code_page),
            trim: opts.trim != Trim::None,
            ..Format::default()
        },
        template,
        cobol: Some(Box::new(plan)),
    })
}

/// The record encoding starts from: each item's bytes spaces in its code
/// page (outer items first, so inner ones win), then every column's zero.
fn template(all: &[&Tmp<'_>], plan: &CobolPlan, record_len: usize) -> Vec<u8> {
    let mut record = vec![b' '; record_len];
    for t in all {
        let end = (t.entry.offset + t.entry.len).min(record_len);
        if let Some(bytes) = record.get_mut(t.entry.offset..end) {
            bytes.fill(t.page.space());
        }
    }
    plan.fill_template(&mut record);
    record
}

/// The `OCCURS DEPENDING ON` counters, and for each table id its counter.
fn counters(
    b: &Builder<'_>,
    all: &[&Tmp<'_>],
) -> Result<(Vec<Counter>, HashMap<usize, usize>), LayoutError> {
    let mut counters = Vec::new();
    let mut counter_of = HashMap::new();
    for t in all {
        let Some(dep) = t.item.occurs.as_ref().and_then(|o| o.depending_on.as_ref()) else {
            continue;
        };
        let want = normalized(dep);
        let c = all
            .iter()
            .find(|c| {
                !c.item.is_group()
                    && normalized(&c.item.name) == want
                    && c.item
                        .picture
                        .as_ref()
                        .is_some_and(|p| p.category == PicCategory::Numeric)
            })
            .ok_or_else(|| {
                b.err(
                    Some(t.item),
                    format!("OCCURS DEPENDING ON {dep}: no elementary numeric item of that name"),
                )
            })?;
        let prefix = c.tables.len() <= t.tables.len()
            && c.tables.iter().zip(&t.tables).all(|(a, b)| a.0 == b.0);
        if !prefix {
            return Err(b.err(
                Some(t.item),
                format!("OCCURS DEPENDING ON {dep}: the counter is in a table this item is not in"),
            ));
        }
        let field = ElementaryField::new(c.entry, c.item)
            .ok_or_else(|| b.err(Some(c.item), format!("{dep} is a group")))?;
        counter_of.insert(t.id, counters.len());
        counters.push(Counter {
            name: b.column_name(&c.item.name),
            field,
            opts: cobol_options(b.opts, c.page),
            max: t.item.occurs.as_ref().map_or(1, |o| o.max as usize),
            tables: c.tables.iter().map(|&(_, len)| len).collect(),
        });
    }
    Ok((counters, counter_of))
}

fn cobol_options(opts: &CopybookLayoutOptions, page: CodePage) -> CobolOptions {
    CobolOptions {
        code_page: page,
        float_format: opts.float_format,
        native_order: opts.native_order,
        strict_sign: opts.strict_sign,
    }
}

/// The offset of a counter at an occurrence of its enclosing tables.
pub(super) fn counter_offset(c: &Counter, occ: &Occurrence) -> usize {
    c.field.offset
        + c.tables
            .iter()
            .zip(occ.iter())
            .map(|(len, i)| len * i)
            .sum::<usize>()
}

/// The decoder of an elementary item and its column type.
fn elem(b: &Builder<'_>, t: &Tmp<'_>) -> Result<(Elem, FieldType), LayoutError> {
    let field = ElementaryField::new(t.entry, t.item)
        .ok_or_else(|| b.err(Some(t.item), format!("{} is a group", t.item.name)))?;
    let len = t.entry.item_len;
    let (out, ty) = if field.is_float() {
        if len == 4 {
            (Out::Float32, FieldType::Float { bytes: 4 })
        } else {
            (Out::Float64, FieldType::Float { bytes: 8 })
        }
    } else if field.is_text() {
        (Out::Text, FieldType::Char { len })
    } else {
        number_type(t.item, len)
    };
    let trim = match b.opts.trim {
        Trim::None => TextTrim::None,
        Trim::Left => TextTrim::LeftBlanks,
        Trim::Right => TextTrim::RightBlanks,
        Trim::Both => TextTrim::Blanks,
    };
    Ok((
        Elem {
            zoned: field.zoned_spec(&cobol_options(b.opts, t.page)),
            packed: field.packed_scale(),
            field,
            opts: cobol_options(b.opts, t.page),
            charset: Charset::from_code_page(t.page),
            trim,
            out,
            lenient: t.lenient,
            enc: Encoding::of(t.item, &t.entry.kind),
        },
        ty,
    ))
}

/// The column type of a numeric item of `len` bytes.
fn number_type(item: &Item, len: usize) -> (Out, FieldType) {
    let (digits, scale, signed) = item
        .picture
        .as_ref()
        .map_or((1, 0, false), |p| (p.digits, p.scale, p.signed));
    let binary = matches!(item.usage, Usage::Binary | Usage::NativeBinary);
    if binary && scale == 0 {
        let bytes = if signed { len } else { len * 2 };
        if let Ok(b @ (1 | 2 | 4 | 8)) = u8::try_from(bytes) {
            return (Out::Int, FieldType::Binary { bytes: b });
        }
    }
    // Binary numbers may hold more digits than their PIC says.
    let stored = if binary {
        u32::try_from(len.saturating_mul(8))
            .map_or(38, |bits| {
                (f64::from(bits) * std::f64::consts::LOG10_2).ceil() as u32
            })
            .max(digits)
    } else {
        digits
    };
    let (precision, scale) = if scale < 0 {
        (stored + scale.unsigned_abs(), 0)
    } else {
        (stored.max(scale.unsigned_abs()), scale.unsigned_abs())
    };
    let clamp = |v: u32| u8::try_from(v.min(38)).unwrap_or(38);
    (
        Out::Decimal,
        FieldType::Decimal {
            precision: clamp(precision.max(1)),
            scale: clamp(scale),
        },
    )
}

/// Collects the columns while walking the tree.
struct Cols<'b, 'c> {
    b: &'b Builder<'c>,
    counters: &'b [Counter],
    counter_of: &'b HashMap<usize, usize>,
    fields: Vec<Field>,
    columns: Vec<Column>,
    /// Per field: the names of its ancestors, innermost first (to tell
    /// apart two items of the same name).
    names: Vec<Vec<String>>,
}

impl Cols<'_, '_> {
    /// Adds the columns of `t`'s occurrences, `start` being the absolute
    /// offset of its first occurrence.
    fn expand(
        &mut self,
        t: &Tmp<'_>,
        start: usize,
        occ: &mut Occurrence,
        guards: &mut Vec<Guard>,
        suffix: &mut String,
    ) -> Result<(), LayoutError> {
        if is_filler(&t.item.name) {
            return Ok(());
        }
        let table = t.item.occurs.is_some();
        if table && self.b.opts.occurs == OccursColumns::Json {
            let node = self.node(t, 0, t.tables.len())?;
            self.push(
                t,
                suffix,
                FieldType::Json {
                    len: t.entry.item_len * t.item.occurs.as_ref().map_or(1, |o| o.max as usize),
                },
                start,
                t.entry.len,
            );
            self.columns.push(Column::Table {
                node,
                offset: start,
            });
            return Ok(());
        }
        let max = t.item.occurs.as_ref().map_or(1, |o| o.max as usize);
        let depth = t.tables.len();
        for i in 0..max {
            if self.fields.len() >= MAX_COLUMNS {
                return Err(self.b.err(
                    Some(t.item),
                    format!(
                        "more than {MAX_COLUMNS} columns: flatten fewer OCCURS (occurs = \"json\" makes one column per table)"
                    ),
                ));
            }
            let at = start + i * t.entry.item_len;
            let len = suffix.len();
            let guarded = table && self.guard(t, i, occ, guards);
            if table {
                occ[depth] = i;
                let _ = write!(suffix, "_{}", i + 1);
            }
            if t.item.is_group() {
                for c in &t.children {
                    let rel = c.entry.offset - t.entry.offset;
                    self.expand(c, at + rel, occ, guards, suffix)?;
                }
            } else {
                let (elem, ty) = elem(self.b, t)?;
                self.push(t, suffix, ty, at, t.entry.item_len);
                self.columns.push(Column::Leaf {
                    elem,
                    offset: at,
                    guards: guards.clone(),
                });
            }
            if guarded {
                guards.pop();
            }
            suffix.truncate(len);
        }
        Ok(())
    }

    /// Pushes the guard of occurrence `i` of table `t` if it has a counter.
    fn guard(&self, t: &Tmp<'_>, i: usize, occ: &Occurrence, guards: &mut Vec<Guard>) -> bool {
        let Some(&c) = self.counter_of.get(&t.id) else {
            return false;
        };
        guards.push(Guard {
            counter: c,
            counter_offset: counter_offset(&self.counters[c], occ),
            index: i,
        });
        true
    }

    fn push(&mut self, t: &Tmp<'_>, suffix: &str, ty: FieldType, offset: usize, size: usize) {
        self.fields.push(Field {
            name: format!("{}{suffix}", t.name),
            ty,
            offset,
            size,
            default: None,
            line: t.item.line,
            col: t.item.col,
        });
        let ancestors = self.ancestors(t);
        self.names.push(ancestors);
    }

    /// The names of the groups above `t`, innermost first.
    fn ancestors(&self, t: &Tmp<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = t.id;
        // Walk the field map back: a parent is the nearest earlier entry of
        // a smaller depth.
        let entries = self.b.entries;
        let mut depth = entries[at].depth;
        while at > 0 && depth > 0 {
            at -= 1;
            if entries[at].depth < depth {
                depth = entries[at].depth;
                if !is_filler(&entries[at].name) {
                    out.push(self.b.column_name(&entries[at].name));
                }
            }
        }
        out
    }

    /// The JSON node of `t` (inside a table column).
    fn node(&self, t: &Tmp<'_>, parent_offset: usize, depth: usize) -> Result<Node, LayoutError> {
        let mut key = String::new();
        json_string(&t.name, &mut key);
        key.push(':');
        let table = t.item.occurs.is_some();
        let inner = depth + usize::from(table);
        let mut children = Vec::new();
        let elem = if t.item.is_group() {
            for c in t.children.iter().filter(|c| !is_filler(&c.item.name)) {
                children.push(self.node(c, t.entry.offset, inner)?);
            }
            None
        } else {
            Some(elem(self.b, t)?.0)
        };
        Ok(Node {
            key,
            rel: t.entry.offset.saturating_sub(parent_offset),
            item_len: t.entry.item_len,
            max: t.item.occurs.as_ref().map_or(1, |o| o.max as usize),
            counter: self.counter_of.get(&t.id).copied(),
            table,
            depth,
            elem,
            children,
        })
    }
}

/// Makes duplicate column names unique by prefixing their group names.
fn unique_names(
    b: &Builder<'_>,
    fields: &mut [Field],
    ancestors: &[Vec<String>],
) -> Result<(), LayoutError> {
    let mut level = vec![0usize; fields.len()];
    let base: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    loop {
        let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in fields.iter().enumerate() {
            seen.entry(f.name.as_str()).or_default().push(i);
        }
        let dups: Vec<usize> = seen
            .into_values()
            .filter(|v| v.len() > 1)
            .flatten()
            .collect();
        if dups.is_empty() {
            return Ok(());
        }
        let mut grew = false;
        for i in dups {
            if level[i] < ancestors[i].len() {
                level[i] += 1;
                grew = true;
                let mut name = String::new();
                for group in ancestors[i][..level[i]].iter().rev() {
                    name.push_str(group);
                    name.push('_');
                }
                name.push_str(&base[i]);
                fields[i].name = name;
            }
        }
        if !grew {
            let f = fields
                .iter()
                .find(|f| fields.iter().filter(|g| g.name == f.name).count() > 1);
            return Err(LayoutError {
                name: b.name.to_owned(),
                line: f.map_or(1, |f| f.line),
                col: f.map_or(1, |f| f.col),
                message: format!(
                    "two columns would be named {}: their items and groups have the same names",
                    f.map_or("", |f| f.name.as_str())
                ),
            });
        }
    }
}
