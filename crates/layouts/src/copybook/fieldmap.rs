//! The field map: each item's offset and length, as Cobrix computes them.

use std::fmt;

use super::CopybookError;
use super::parser::{Item, Occurs, Usage};
use super::picture::PicCategory;
use super::source::SourceFormat;

/// How many bytes a binary item (COMP, COMP-4, BINARY, COMP-5) takes for
/// its number of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinarySizes {
    /// IBM (and Cobrix): 2 bytes for 1–4 digits, 4 for 5–9, 8 for 10–18.
    #[default]
    Ibm,
    /// GnuCOBOL's `binary-size: 1-2-4-8`: 1 byte for 1–2 digits, 2 for
    /// 3–4, 4 for 5–9, 8 for 10–18.
    OneTwoFourEight,
}

/// Options of [`Copybook::parse_options`](super::Copybook::parse_options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopybookOptions {
    /// The source format (fixed columns or free).
    pub format: SourceFormat,
    /// The sizes of binary items.
    pub binary_sizes: BinarySizes,
}

/// One line of the field map: a group or elementary item and where it lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapEntry {
    /// Level number as written (1–49 or 77).
    pub level: u8,
    /// The data name (`FILLER` for unnamed items), as written.
    pub name: String,
    /// Nesting depth: 0 for a level-01 or 77 item.
    pub depth: usize,
    /// Whether the item is a group.
    pub is_group: bool,
    /// Type summary: `GROUP`, or the PIC string and usage, e.g. `S9(4) COMP`.
    pub kind: String,
    /// 0-based byte offset of the item's first occurrence in the record.
    pub offset: usize,
    /// Bytes the item spans: one occurrence's size × OCCURS maximum; for
    /// items of a REDEFINES chain, the largest size in the chain (as Cobrix).
    pub len: usize,
    /// Bytes of one occurrence of the item itself.
    pub item_len: usize,
    /// The OCCURS clause, if any.
    pub occurs: Option<Occurs>,
    /// The name this item redefines, if any.
    pub redefines: Option<String>,
    /// Whether a later item redefines this one.
    pub redefined: bool,
}

impl FieldMapEntry {
    /// 1-based first byte (Cobrix's START).
    pub fn start(&self) -> usize {
        self.offset + 1
    }

    /// 1-based last byte (Cobrix's END).
    pub fn end(&self) -> usize {
        self.offset + self.len
    }
}

/// Bytes a binary (COMP) number of `digits` digits takes: 2, 4 or 8 as
/// IBM (1, 2, 4 or 8 with [`BinarySizes::OneTwoFourEight`]), and beyond 18
/// digits Cobrix's extension: enough bytes for the digits' bits plus a
/// sign bit.
fn binary_size(digits: u32, sizes: BinarySizes) -> Option<u64> {
    Some(match digits {
        1..=2 if sizes == BinarySizes::OneTwoFourEight => 1,
        1..=4 => 2,
        5..=9 => 4,
        10..=18 => 8,
        19..=38 => {
            let max = 10u128.pow(digits) - 1;
            let bits = 128 - u64::from(max.leading_zeros()) + 1;
            bits.div_ceil(8)
        }
        _ => return None,
    })
}

/// Size of one occurrence of an elementary item, or what is wrong.
fn elementary_size(item: &Item, sizes: BinarySizes) -> Result<(u64, String), String> {
    let kw = item.usage.keyword();
    let Some(pic) = &item.picture else {
        return match item.usage {
            Usage::Float => Ok((4, kw.to_owned())),
            Usage::Double => Ok((8, kw.to_owned())),
            _ => Err(format!("elementary item {} has no PIC clause", item.name)),
        };
    };
    let numeric = pic.category == PicCategory::Numeric;
    let size = match item.usage {
        Usage::Display => {
            let sep = item.sign.is_some_and(|s| s.separate) && numeric;
            u64::from(pic.display_len) + u64::from(sep)
        }
        Usage::Binary | Usage::NativeBinary | Usage::Packed if !numeric => {
            return Err(format!(
                "{kw} item {} needs a numeric PIC, not \"{}\"",
                item.name, pic.text
            ));
        }
        Usage::Binary | Usage::NativeBinary => binary_size(pic.digits, sizes)
            .ok_or_else(|| format!("{kw} item {} has more than 38 digits", item.name))?,
        Usage::Packed => u64::from(pic.digits / 2 + 1),
        Usage::Float | Usage::Double => {
            return Err(format!("{kw} item {} cannot have a PIC clause", item.name));
        }
    };
    let mut kind = pic.text.clone();
    if item.usage != Usage::Display {
        kind.push(' ');
        kind.push_str(kw);
    }
    if let Some(s) = item.sign {
        kind.push_str(if s.leading { " LEADING" } else { " TRAILING" });
        if s.separate {
            kind.push_str(" SEPARATE");
        }
    }
    Ok((size, kind))
}

/// Builds the field map of the top-level items. Each 01 (or 77) item
/// starts at offset 0: several 01 records describe the same bytes.
pub(super) fn build(
    name: &str,
    roots: &[Item],
    sizes: BinarySizes,
) -> Result<Vec<FieldMapEntry>, CopybookError> {
    let mut b = Builder {
        name,
        sizes,
        out: Vec::new(),
    };
    for r in roots {
        b.place(r, 0, 0)?;
    }
    let fields = b.out;
    check_depending(name, roots, &fields)?;
    Ok(fields)
}

struct Builder<'a> {
    name: &'a str,
    sizes: BinarySizes,
    out: Vec<FieldMapEntry>,
}

impl Builder<'_> {
    fn err(&self, item: &Item, message: String) -> CopybookError {
        CopybookError {
            name: self.name.to_owned(),
            line: item.line,
            col: item.col,
            message,
        }
    }

    fn too_big(&self, item: &Item) -> CopybookError {
        self.err(item, format!("item {} is too large", item.name))
    }

    /// Places `item` at `start`; returns its entry index and total size.
    fn place(
        &mut self,
        item: &Item,
        start: u64,
        depth: usize,
    ) -> Result<(usize, u64), CopybookError> {
        let idx = self.out.len();
        let offset = usize::try_from(start).map_err(|_| self.too_big(item))?;
        self.out.push(FieldMapEntry {
            level: item.level,
            name: item.name.clone(),
            depth,
            is_group: item.is_group(),
            kind: "GROUP".to_owned(),
            offset,
            len: 0,
            item_len: 0,
            occurs: item.occurs.clone(),
            redefines: item.redefines.clone(),
            redefined: false,
        });
        let one = if item.is_group() {
            self.place_children(&item.children, start, depth + 1)?
        } else {
            let (size, kind) = elementary_size(item, self.sizes).map_err(|m| self.err(item, m))?;
            if let Some(e) = self.out.get_mut(idx) {
                e.kind = kind;
            }
            size
        };
        let times = item.occurs.as_ref().map_or(1, |o| u64::from(o.max));
        let total = one.checked_mul(times).ok_or_else(|| self.too_big(item))?;
        let item_len = usize::try_from(one).map_err(|_| self.too_big(item))?;
        let len = usize::try_from(total).map_err(|_| self.too_big(item))?;
        if let Some(e) = self.out.get_mut(idx) {
            e.item_len = item_len;
            e.len = len;
        }
        Ok((idx, total))
    }

    /// Places a group's children from `base`; returns the group's size.
    /// A REDEFINES chain (an item and the items redefining it) starts at
    /// the first one's offset and takes the largest member's size; every
    /// member's `len` becomes that size, as Cobrix lists them.
    fn place_children(
        &mut self,
        children: &[Item],
        base: u64,
        depth: usize,
    ) -> Result<u64, CopybookError> {
        let mut chain: Vec<(usize, &str)> = Vec::new();
        let mut chain_start = base;
        let mut chain_max = 0u64;
        for c in children {
            if let Some(target) = &c.redefines {
                if !chain.iter().any(|(_, n)| n.eq_ignore_ascii_case(target)) {
                    return Err(self.err(
                        c,
                        format!(
                            "{} REDEFINES {target}, which is not the item just before it at this level",
                            c.name
                        ),
                    ));
                }
                let (idx, size) = self.place(c, chain_start, depth)?;
                chain.push((idx, &c.name));
                chain_max = chain_max.max(size);
            } else {
                chain_start = self.finish_chain(&chain, chain_start, chain_max);
                chain.clear();
                let (idx, size) = self.place(c, chain_start, depth)?;
                chain.push((idx, &c.name));
                chain_max = size;
            }
        }
        let end = self.finish_chain(&chain, chain_start, chain_max);
        Ok(end - base)
    }

    /// Gives a REDEFINES chain's members the chain's size; returns the
    /// offset after the chain.
    fn finish_chain(&mut self, chain: &[(usize, &str)], start: u64, max: u64) -> u64 {
        if chain.len() > 1 {
            let max_len = usize::try_from(max).unwrap_or(usize::MAX);
            for (i, &(idx, _)) in chain.iter().enumerate() {
                if let Some(e) = self.out.get_mut(idx) {
                    e.len = max_len;
                    e.redefined |= i == 0;
                }
            }
        }
        if chain.is_empty() { start } else { start + max }
    }
}

/// Checks that every `DEPENDING ON` names a field of the copybook.
fn check_depending(
    name: &str,
    items: &[Item],
    fields: &[FieldMapEntry],
) -> Result<(), CopybookError> {
    for item in items {
        if let Some(dep) = item.occurs.as_ref().and_then(|o| o.depending_on.as_ref())
            && !fields.iter().any(|f| f.name.eq_ignore_ascii_case(dep))
        {
            return Err(CopybookError {
                name: name.to_owned(),
                line: item.line,
                col: item.col,
                message: format!(
                    "{} OCCURS DEPENDING ON {dep}, which is not a field",
                    item.name
                ),
            });
        }
        check_depending(name, &item.children, fields)?;
    }
    Ok(())
}

/// Writes the field map as Cobrix's `generateRecordLayoutPositions` does:
/// level and name indented by depth, attributes (`r` redefined, `R`
/// redefines, `[]` array), field number, start, end and length (1-based).
pub(super) fn write_listing(f: &mut fmt::Formatter<'_>, fields: &[FieldMapEntry]) -> fmt::Result {
    writeln!(
        f,
        "-------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH"
    )?;
    for (i, e) in fields.iter().enumerate() {
        let name = format!("{}{} {}", "  ".repeat(e.depth), e.level, e.name);
        let attribs = format!(
            "{}{}{}",
            if e.redefined { "r" } else { "" },
            if e.redefines.is_some() { "R" } else { "" },
            if e.occurs.is_some() { "[]" } else { "" }
        );
        write!(
            f,
            "\n{name:<39}{attribs:<11}{:>5}{:>7}{:>7}{:>7}",
            i + 1,
            e.start(),
            e.end(),
            e.len
        )?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::copybook::Copybook;

    fn offsets(sizes: BinarySizes) -> Vec<(String, usize, usize)> {
        let body = [
            "01 R.",
            "  05 A PIC 9 COMP.",
            "  05 B PIC S99 BINARY.",
            "  05 C PIC 9(3) COMP-4.",
            "  05 D PIC S9(4) COMP-5.",
            "  05 E PIC 9(5) COMP.",
            "  05 F PIC S9(9) COMP.",
            "  05 G PIC 9(10) COMP.",
            "  05 H PIC S9(18) COMP.",
            "  05 I PIC 9(4)V99 COMP.",
            "  05 J PIC S9(19) COMP.",
            "  05 K PIC 9(3) COMP-3.",
        ];
        let text: String = body.iter().map(|l| format!("       {l}\n")).collect();
        let options = CopybookOptions {
            binary_sizes: sizes,
            ..CopybookOptions::default()
        };
        let cb = Copybook::parse_options("t.cob", &text, options).unwrap();
        cb.field_map()
            .iter()
            .skip(1)
            .map(|f| (f.name.clone(), f.offset, f.len))
            .collect()
    }

    fn lens(sizes: BinarySizes) -> Vec<usize> {
        offsets(sizes).into_iter().map(|(_, _, len)| len).collect()
    }

    #[test]
    fn ibm_binary_sizes() {
        assert_eq!(lens(BinarySizes::Ibm), [2, 2, 2, 2, 4, 4, 8, 8, 4, 9, 2]);
    }

    #[test]
    fn gnucobol_one_two_four_eight_sizes_and_offsets() {
        let map = offsets(BinarySizes::OneTwoFourEight);
        let lens: Vec<usize> = map.iter().map(|m| m.2).collect();
        assert_eq!(lens, [1, 1, 2, 2, 4, 4, 8, 8, 4, 9, 2]);
        let starts: Vec<usize> = map.iter().map(|m| m.1).collect();
        assert_eq!(starts, [0, 1, 2, 4, 6, 10, 14, 22, 30, 34, 43]);
    }

    #[test]
    fn default_options_are_ibm_fixed_format() {
        let options = CopybookOptions::default();
        assert_eq!(options.binary_sizes, BinarySizes::Ibm);
        assert_eq!(options.format, SourceFormat::Fixed);
    }
}
