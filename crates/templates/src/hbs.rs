//! Handlebars templates (`*.hbs`), the alternative to the guide's `@field@`.
//!
//! * An XML template (`template.NNN.hbs`) renders each change with the
//!   record's fields by name, plus `drms_op`, `drms_seq`, `drms_txn`,
//!   `drms_file_id`, `drms_file` and, for updates, `before.<field>`; values
//!   are XML-escaped.
//! * An SQL template (`template.NNN.i.hbs`, ...) is rendered once, at
//!   compile time, with every field standing for its placeholder; the result
//!   is compiled like a `@field@` template, so its values are still bound
//!   parameters. Handlebars shapes the statement; data never does.

use crate::placeholder::Slot;
use crate::xml::{check_xml_chars, write_meta};
use crate::{Change, RenderError, SqlTemplate, TemplateError};
use drx_layouts::{Layout, RecordView, Value};
use handlebars::Handlebars;
use serde_json::{Map, Value as Json};

const NAME: &str = "t";

fn registry(name: &str, text: &str) -> Result<Handlebars<'static>, TemplateError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(xml_escape);
    hb.register_template_string(NAME, text).map_err(|e| {
        let (line, col) = e.pos().unwrap_or((1, 1));
        TemplateError {
            file: name.to_owned(),
            line,
            col,
            message: e.reason().to_string(),
        }
    })?;
    Ok(hb)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A Handlebars template rendering each change as text (XML-escaped values).
#[derive(Debug)]
pub struct HbsTemplate {
    registry: Handlebars<'static>,
}

impl HbsTemplate {
    /// Compiles the template and checks it against `layout` by rendering a
    /// blank record, so that a name that is no field fails now, not later.
    pub fn compile(name: &str, text: &str, layout: &Layout) -> Result<HbsTemplate, TemplateError> {
        let registry = registry(name, text)?;
        let template = HbsTemplate { registry };
        let blank = layout
            .encode(std::iter::empty::<(&str, &str)>())
            .unwrap_or_else(|_| vec![b' '; layout.record_len()]);
        if let Ok(view) = layout.view(&blank) {
            let change = Change {
                op: crate::ChangeOp::Update,
                seq: 1,
                txn: 0,
                file_id: 0,
                file: "",
                before: Some(view),
                after: Some(view),
            };
            let mut out = Vec::new();
            if let Err(RenderError::Handlebars { message, line, col }) =
                template.render(&change, &mut out)
            {
                return Err(TemplateError {
                    file: name.to_owned(),
                    line: line.unwrap_or(1),
                    col: col.unwrap_or(1),
                    message,
                });
            }
        }
        Ok(template)
    }

    /// Appends the rendering of `change` to `out`.
    pub fn render(&self, change: &Change<'_>, out: &mut Vec<u8>) -> Result<(), RenderError> {
        let mut context = Map::new();
        if let Some(image) = change.image() {
            add_fields(&mut context, image)?;
        }
        if let Some(before) = change.before {
            let mut map = Map::new();
            add_fields(&mut map, before)?;
            context.insert("before".into(), Json::Object(map));
        }
        for (key, slot) in [
            ("drms_op", Slot::Op),
            ("drms_seq", Slot::Seq),
            ("drms_txn", Slot::Txn),
            ("drms_file_id", Slot::FileId),
            ("drms_file", Slot::File),
        ] {
            let mut s = String::new();
            write_meta(slot, change, &mut s);
            context.insert(key.into(), Json::String(s));
        }
        self.registry
            .render_to_write(NAME, &context, out)
            .map_err(|e| RenderError::Handlebars {
                message: e.to_string(),
                line: e.line_no,
                col: e.column_no,
            })
    }
}

/// Each field as a string, a null (`Value::Null`) or, for a copybook's JSON
/// table column, the table itself (so `{{#each}}` walks it).
fn add_fields(map: &mut Map<String, Json>, image: RecordView<'_>) -> Result<(), RenderError> {
    for (i, field) in image.layout().fields().iter().enumerate() {
        let value = image.get(i)?;
        if value.is_null() {
            map.insert(field.name.clone(), Json::Null);
            continue;
        }
        let mut s = String::new();
        let json = match value {
            // Numbers as strings, so they keep their exact digits (12.50).
            Value::Json(table) => {
                table.write_json_numbers_as_strings(&mut s)?;
                check_xml_chars(&s, &field.name)?;
                serde_json::from_str(&s).unwrap_or(Json::String(s))
            }
            _ => {
                value.write_text(&mut s)?;
                check_xml_chars(&s, &field.name)?;
                Json::String(s)
            }
        };
        map.insert(field.name.clone(), json);
    }
    Ok(())
}

/// Compiles a Handlebars SQL template: rendered once with each field standing
/// for its `@field@` placeholder, then compiled as a seed-syntax template.
pub fn compile_sql_hbs(
    name: &str,
    text: &str,
    layout: &Layout,
) -> Result<SqlTemplate, TemplateError> {
    let mut hb = registry(name, text)?;
    hb.register_escape_fn(handlebars::no_escape);
    let mut context = Map::new();
    for field in layout.fields() {
        context.insert(
            field.name.clone(),
            Json::String(format!("@{}@", field.name)),
        );
    }
    for key in [
        "drms_file",
        "drms_index_info",
        "drms_seq",
        "drms_txn",
        "drms_op",
        "drms_file_id",
    ] {
        context.insert(key.into(), Json::String(format!("@{key}@")));
    }
    context.insert(
        "fields".into(),
        Json::Array(
            layout
                .fields()
                .iter()
                .map(|f| Json::String(f.name.clone()))
                .collect(),
        ),
    );
    let rendered = hb.render(NAME, &context).map_err(|e| TemplateError {
        file: name.to_owned(),
        line: e.line_no.unwrap_or(1),
        col: e.column_no.unwrap_or(1),
        message: e.to_string(),
    })?;
    SqlTemplate::compile(name, &rendered, layout)
}
