//! XML output: the guide's `template.NNN` (ids 1–99) with `@field@`
//! placeholders, or one default element per change written with quick-xml.
//!
//! Every value is escaped (the guide's `replace_special_chars`: `< > & ' "`),
//! and a value holding a character XML 1.0 cannot carry is an error rather
//! than a malformed document, so the output is always well-formed.

use crate::placeholder::{Piece, Slot, split};
use crate::{Change, RenderError, TemplateError};
use drx_layouts::{Layout, RecordView};

/// A compiled seed-syntax XML template.
#[derive(Debug, Clone)]
pub struct XmlTemplate {
    pieces: Vec<Piece>,
}

impl XmlTemplate {
    /// Compiles `text` against `layout`; `name` names it in errors.
    pub fn compile(name: &str, text: &str, layout: &Layout) -> Result<XmlTemplate, TemplateError> {
        Ok(XmlTemplate {
            pieces: split(name, text, layout)?,
        })
    }

    /// Appends the rendering of `change` to `out`; `scratch` is a reusable buffer.
    pub fn render(
        &self,
        change: &Change<'_>,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), RenderError> {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Slot(slot) => {
                    scratch.clear();
                    let what = match slot {
                        Slot::Field(i) => change
                            .image()
                            .and_then(|v| v.layout().fields().get(*i))
                            .map_or("a field", |f| f.name.as_str()),
                        Slot::IndexInfo => "@drms_index_info@",
                        Slot::File => "@drms_file@",
                        _ => "a drms value",
                    };
                    match slot {
                        Slot::Field(i) => change.require_image()?.get(*i)?.write_text(scratch)?,
                        Slot::IndexInfo => {
                            let image = change.require_key_image()?;
                            for (n, k) in image.layout().key_fields().iter().enumerate() {
                                if n > 0 {
                                    scratch.push(' ');
                                }
                                scratch.push_str(&image.layout().fields()[*k].name);
                                scratch.push('=');
                                image.get(*k)?.write_text(scratch)?;
                            }
                        }
                        other => write_meta(*other, change, scratch),
                    }
                    escape_into(scratch, out, what)?;
                }
            }
        }
        Ok(())
    }
}

/// Appends the text of a non-field slot.
pub(crate) fn write_meta(slot: Slot, change: &Change<'_>, out: &mut String) {
    match slot {
        Slot::Seq => out.push_str(itoa::Buffer::new().format(change.seq)),
        Slot::Txn => out.push_str(itoa::Buffer::new().format(change.txn)),
        Slot::FileId => out.push_str(itoa::Buffer::new().format(change.file_id)),
        Slot::Op => out.push_str(change.op.as_str()),
        Slot::File => out.push_str(change.file),
        Slot::Field(_) | Slot::IndexInfo => {}
    }
}

/// Checks that `text` holds only characters XML 1.0 allows.
pub(crate) fn check_xml_chars(text: &str, what: &str) -> Result<(), RenderError> {
    match bad_xml_char(text.as_bytes()) {
        Some(code) => Err(RenderError::NotXml {
            what: what.to_owned(),
            code,
        }),
        None => Ok(()),
    }
}

/// The first character of UTF-8 `bytes` that XML 1.0 cannot carry: C0
/// controls other than tab, LF and CR, and U+FFFE / U+FFFF.
fn bad_xml_char(bytes: &[u8]) -> Option<u32> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
            return Some(u32::from(b));
        }
        if b == 0xEF
            && bytes.get(i + 1) == Some(&0xBF)
            && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))
        {
            return Some(if bytes[i + 2] == 0xBE { 0xFFFE } else { 0xFFFF });
        }
        i += 1;
    }
    None
}

/// What a byte needs in XML text: nothing, an escape, or a closer look.
const PLAIN: u8 = 0;
const ESCAPE: u8 = 1;
const CONTROL: u8 = 2;
const LEAD_EF: u8 = 3;

const CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = CONTROL;
        b += 1;
    }
    t[b'\t' as usize] = PLAIN;
    t[b'\n' as usize] = PLAIN;
    t[b'\r' as usize] = ESCAPE;
    t[b'<' as usize] = ESCAPE;
    t[b'>' as usize] = ESCAPE;
    t[b'&' as usize] = ESCAPE;
    t[b'\'' as usize] = ESCAPE;
    t[b'"' as usize] = ESCAPE;
    t[0xEF] = LEAD_EF;
    t
};

/// Appends UTF-8 `text` to `out` with `< > & ' "` (and CR, which XML would
/// otherwise normalize away) escaped, in one pass; a character XML 1.0
/// cannot carry is an error naming `what`, and leaves `out` as it was.
fn escape_bytes(text: &[u8], out: &mut Vec<u8>, what: &str) -> Result<(), RenderError> {
    // Most values need nothing: find out 16 bytes at a time, in a loop
    // the compiler vectorizes, before looking byte by byte.
    let needs = |b: u8| b < 0x20 || matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"' | 0xEF);
    let clean = text
        .chunks(16)
        .all(|c| !c.iter().fold(false, |acc, &b| acc | needs(b)));
    if clean {
        out.extend_from_slice(text);
        return Ok(());
    }
    let start_len = out.len();
    let mut last = 0;
    for (i, &b) in text.iter().enumerate() {
        let rep: &[u8] = match CLASS[b as usize] {
            PLAIN => continue,
            ESCAPE => match b {
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'&' => b"&amp;",
                b'\'' => b"&apos;",
                b'"' => b"&quot;",
                _ => b"&#13;",
            },
            LEAD_EF => {
                if text.get(i + 1) == Some(&0xBF) && matches!(text.get(i + 2), Some(0xBE | 0xBF)) {
                    out.truncate(start_len);
                    let code = if text[i + 2] == 0xBE { 0xFFFE } else { 0xFFFF };
                    return Err(RenderError::NotXml {
                        what: what.to_owned(),
                        code,
                    });
                }
                continue;
            }
            _ => {
                out.truncate(start_len);
                return Err(RenderError::NotXml {
                    what: what.to_owned(),
                    code: u32::from(b),
                });
            }
        };
        out.extend_from_slice(&text[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&text[last..]);
    Ok(())
}

/// As [`escape_bytes`], and tab and LF too, which an attribute value would
/// otherwise turn into spaces.
fn escape_attribute(text: &str, out: &mut Vec<u8>, what: &str) -> Result<(), RenderError> {
    if !text.contains(['\t', '\n']) {
        return escape_bytes(text.as_bytes(), out, what);
    }
    for (n, part) in text.split(['\t', '\n']).enumerate() {
        if n > 0 {
            // The separator that split() dropped.
            let at: usize = text
                .split(['\t', '\n'])
                .take(n)
                .map(|p| p.len() + 1)
                .sum::<usize>()
                - 1;
            out.extend_from_slice(if text.as_bytes()[at] == b'\t' {
                b"&#9;"
            } else {
                b"&#10;"
            });
        }
        escape_bytes(part.as_bytes(), out, what)?;
    }
    Ok(())
}

fn escape_into(text: &str, out: &mut Vec<u8>, what: &str) -> Result<(), RenderError> {
    escape_bytes(text.as_bytes(), out, what)
}

/// Writes the default element of a change:
///
/// ```xml
/// <change op="update" seq="7" txn="3" file_id="200" file="/data/error_codes.data">
///   <before><err_number>1</err_number>...</before>
///   <after><err_number>1</err_number>...</after>
/// </change>
/// ```
/// (on one line). Inserts carry `<after>`, deletes `<before>`, updates both
/// where the before image is known. A field whose name is not an XML name
/// is written `<field name="...">`. Escaping as in `template.NNN`; the
/// output is checked well-formed with quick-xml in the tests.
pub fn write_default_element(
    change: &Change<'_>,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), RenderError> {
    let image = change.after.or(change.before);
    match image {
        Some(image) => DefaultElement::new(image.layout()).write(change, out, scratch),
        None => Err(RenderError::MissingImage {
            op: change.op.as_str(),
            image: "after",
        }),
    }
}

/// The opening and closing tag of a field.
type Tags = (Box<[u8]>, Box<[u8]>);

/// The default element of a layout, its tags made once: see
/// [`write_default_element`].
#[derive(Debug, Clone)]
pub struct DefaultElement {
    /// Per field: `<name>` and `</name>` (or `<field name="...">`, `</field>`).
    tags: Vec<Tags>,
}

impl DefaultElement {
    /// The tags of `layout`'s fields.
    pub fn new(layout: &Layout) -> DefaultElement {
        let tags = layout
            .fields()
            .iter()
            .map(|field| {
                if is_xml_name(&field.name) {
                    (
                        format!("<{}>", field.name).into_bytes().into(),
                        format!("</{}>", field.name).into_bytes().into(),
                    )
                } else {
                    let mut open = b"<field name=\"".to_vec();
                    // Field names hold no character XML cannot carry.
                    let _ = escape_attribute(&field.name, &mut open, "field name");
                    open.extend_from_slice(b"\">");
                    (open.into(), b"</field>".to_vec().into())
                }
            })
            .collect();
        DefaultElement { tags }
    }

    /// Appends the element of `change` to `out`; `scratch` is a reusable buffer.
    pub fn write(
        &self,
        change: &Change<'_>,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), RenderError> {
        // The caller's scratch string lends its buffer as bytes.
        let mut value = std::mem::take(scratch).into_bytes();
        let result = self.write_with(change, out, &mut value);
        value.clear();
        *scratch = String::from_utf8(value).unwrap_or_default();
        result
    }

    fn write_with(
        &self,
        change: &Change<'_>,
        out: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"<change op=\"");
        out.extend_from_slice(change.op.as_str().as_bytes());
        out.extend_from_slice(b"\" seq=\"");
        out.extend_from_slice(num.format(change.seq).as_bytes());
        out.extend_from_slice(b"\" txn=\"");
        out.extend_from_slice(num.format(change.txn).as_bytes());
        out.extend_from_slice(b"\" file_id=\"");
        out.extend_from_slice(num.format(change.file_id).as_bytes());
        out.extend_from_slice(b"\" file=\"");
        escape_attribute(change.file, out, "file name")?;
        out.extend_from_slice(b"\">");
        let images: [(&[u8], &[u8], Option<RecordView<'_>>); 2] = match change.op {
            crate::ChangeOp::Insert => [(b"<after>", b"</after>", change.after), (b"", b"", None)],
            crate::ChangeOp::Update => [
                (b"<before>", b"</before>", change.before),
                (b"<after>", b"</after>", change.after),
            ],
            crate::ChangeOp::Delete => {
                [(b"<before>", b"</before>", change.before), (b"", b"", None)]
            }
        };
        for (open, close, image) in images {
            let Some(image) = image else { continue };
            out.extend_from_slice(open);
            for (i, (field, (start, end))) in
                image.layout().fields().iter().zip(&self.tags).enumerate()
            {
                value.clear();
                image.get(i)?.write_utf8(value)?;
                out.extend_from_slice(start);
                escape_bytes(value, out, &field.name)?;
                out.extend_from_slice(end);
            }
            out.extend_from_slice(close);
        }
        out.extend_from_slice(b"</change>\n");
        Ok(())
    }
}

/// Whether `name` can be an XML element name as it is.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}
