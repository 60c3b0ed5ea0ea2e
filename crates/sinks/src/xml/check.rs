//! A check that what a template rendered for one change is well-formed XML
//! content, so that a template mistake (an unclosed element, a bare `&`, a
//! Handlebars `{{{triple-stash}}}` letting `<` through) is refused before it
//! reaches the feed rather than breaking the whole document.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Checks that `fragment` is XML element content: balanced elements, valid
/// references and attributes, only characters XML 1.0 allows, no
/// declaration or doctype. Returns what is wrong.
pub(crate) fn check_fragment(fragment: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(fragment).map_err(|e| format!("not UTF-8: {e}"))?;
    if let Some(c) = text.chars().find(|c| !is_xml_char(*c)) {
        return Err(format!(
            "character U+{:04X} cannot appear in XML 1.0",
            c as u32
        ));
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {at}: {e}"))?;
        match event {
            Event::Start(e) => {
                check_attributes(&e)?;
                depth += 1;
            }
            Event::Empty(e) => check_attributes(&e)?,
            Event::End(e) => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    format!(
                        "at byte {at}: </{}> closes an element it did not open",
                        String::from_utf8_lossy(e.name().as_ref())
                    )
                })?;
            }
            Event::GeneralRef(r) => {
                let known = matches!(&r[..], b"lt" | b"gt" | b"amp" | b"apos" | b"quot");
                let char_ref = r
                    .resolve_char_ref()
                    .map_err(|e| format!("at byte {at}: {e}"))?;
                if !known && !char_ref.is_some_and(is_xml_char) {
                    return Err(format!(
                        "at byte {at}: &{}; is not a predefined entity or an XML character",
                        String::from_utf8_lossy(r.as_ref())
                    ));
                }
            }
            Event::Decl(_) | Event::DocType(_) => {
                return Err(format!(
                    "at byte {at}: a declaration or doctype inside the document"
                ));
            }
            Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if depth > 0 {
        return Err(format!("{depth} element(s) left open"));
    }
    Ok(())
}

fn check_attributes(e: &quick_xml::events::BytesStart<'_>) -> Result<(), String> {
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        if attribute.value.contains(&b'<') {
            return Err(format!("attribute {name} holds a bare `<`"));
        }
        attribute
            .unescape_value()
            .map_err(|e| format!("attribute {name}: {e}"))?;
    }
    Ok(())
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::check_fragment;

    #[test]
    fn accepts_element_content() {
        for ok in [
            "",
            "text only\n",
            "<a x=\"1 &amp; 2\"><b/>t&lt;&#233;&#x41;<![CDATA[<raw>]]><!-- c --></a>\n",
            "<a/><b></b>",
        ] {
            assert_eq!(check_fragment(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_what_would_break_the_document() {
        for bad in [
            "<a>",
            "</a>",
            "<a></b>",
            "<a>&</a>",
            "<a>&nbsp;</a>",
            "<a>&#1;</a>",
            "<a x=\"<\"/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>\u{1}</a>",
            "<?xml version=\"1.0\"?><a/>",
            "<a><n></a>",
        ] {
            assert!(check_fragment(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
