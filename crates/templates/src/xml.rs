//! XML output: the guide's `template.NNN` (ids 1–99) with `@field@`
//! placeholders, or one default element per change written with quick-xml.
//!
//! Every value is escaped (the guide's `replace_special_chars`: `< > & ' "`),
//! and a value holding a character XML 1.0 cannot carry is an error rather
//! than a malformed document, so the output is always well-formed.

use crate::placeholder::{Piece, Slot, split};
use crate::{Change, RenderError, TemplateError};
use drx_layouts::{Layout, RecordView};
use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

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
                    escape_into(scratch, out, "template value")?;
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
    match text
        .chars()
        .find(|c| matches!(*c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}'))
    {
        Some(c) => Err(RenderError::NotXml {
            what: what.to_owned(),
            code: c as u32,
        }),
        None => Ok(()),
    }
}

/// Escapes `< > & ' "` (and CR, which XML would otherwise normalize away).
fn escape_into(text: &str, out: &mut Vec<u8>, what: &str) -> Result<(), RenderError> {
    check_xml_chars(text, what)?;
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\'' => b"&apos;",
            b'"' => b"&quot;",
            b'\r' => b"&#13;",
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&text.as_bytes()[last..]);
    Ok(())
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
/// where the before image is known.
pub fn write_default_element(
    change: &Change<'_>,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), RenderError> {
    check_xml_chars(change.file, "file name")?;
    let mut writer = Writer::new(out);
    let mut num = itoa::Buffer::new();
    let mut start = BytesStart::new("change");
    start.push_attribute(("op", change.op.as_str()));
    start.push_attribute(("seq", num.format(change.seq)));
    start.push_attribute(("txn", num.format(change.txn)));
    start.push_attribute(("file_id", num.format(change.file_id)));
    start.push_attribute(("file", change.file));
    writer.write_event(Event::Start(start)).map_err(xml_io)?;
    let images: [(&str, Option<RecordView<'_>>); 2] = match change.op {
        crate::ChangeOp::Insert => [("after", change.after), ("", None)],
        crate::ChangeOp::Update => [("before", change.before), ("after", change.after)],
        crate::ChangeOp::Delete => [("before", change.before), ("", None)],
    };
    for (tag, image) in images {
        let Some(image) = image else { continue };
        writer.write_event(Event::Start(BytesStart::new(tag))).map_err(xml_io)?;
        for (i, field) in image.layout().fields().iter().enumerate() {
            scratch.clear();
            image.get(i)?.write_text(scratch)?;
            check_xml_chars(scratch, &field.name)?;
            let name = field.name.as_str();
            if is_xml_name(name) {
                writer.write_event(Event::Start(BytesStart::new(name))).map_err(xml_io)?;
                writer.write_event(Event::Text(BytesText::new(scratch))).map_err(xml_io)?;
                writer.write_event(Event::End(BytesEnd::new(name))).map_err(xml_io)?;
            } else {
                let mut el = BytesStart::new("field");
                el.push_attribute(("name", name));
                writer.write_event(Event::Start(el)).map_err(xml_io)?;
                writer.write_event(Event::Text(BytesText::new(scratch))).map_err(xml_io)?;
                writer.write_event(Event::End(BytesEnd::new("field"))).map_err(xml_io)?;
            }
        }
        writer.write_event(Event::End(BytesEnd::new(tag))).map_err(xml_io)?;
    }
    writer.write_event(Event::End(BytesEnd::new("change"))).map_err(xml_io)?;
    writer.get_mut().push(b'\n');
    Ok(())
}

fn xml_io(e: std::io::Error) -> RenderError {
    RenderError::Handlebars(format!("writing XML: {e}"))
}

/// Whether `name` can be an XML element name as it is.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.to_ascii_lowercase().starts_with("xml")
}
