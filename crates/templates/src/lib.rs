//! Templates: how a decoded change renders as SQL, XML or text.
//!
//! Two syntaxes are understood:
//!
//! * the DRMS guide's: `template.NNN.i` / `.u` / `.d` (SQL insert, update,
//!   delete; file ids ≥ 100) and `template.NNN` (XML; ids 1–99), with
//!   placeholders `@field@`, `@drms_file@` and `@drms_index_info@` (plus
//!   drx's `@drms_seq@`, `@drms_txn@`, `@drms_op@`, `@drms_file_id@`);
//! * Handlebars, in files ending `.hbs`.
//!
//! Templates are compiled once, against their layout: a placeholder that
//! names no field is an error naming `file:line:col`. An SQL template becomes
//! a prepared statement whose values are bound parameters, so a record whose
//! text is `'); DROP TABLE x; --` is stored verbatim:
//!
//! ```
//! use drx_layouts::Layout;
//! use drx_templates::{Bound, Change, ChangeOp, Dialect, SqlTemplate};
//!
//! let layout = Layout::parse("layout.200", "key: err_number;\n\
//!     fields: err_number fixed bin (15), err_name char (32); end;").unwrap();
//! let template = SqlTemplate::compile(
//!     "template.200.i",
//!     "insert into @drms_file@ values (@err_number@, '@err_name@')",
//!     &layout,
//! ).unwrap();
//! assert_eq!(template.sql(Dialect::Postgres, "error_codes"),
//!            r#"insert into "error_codes" values ($1, $2)"#);
//!
//! let record = layout.encode([("err_number", "7"), ("err_name", "'); DROP TABLE x; --")]).unwrap();
//! let view = layout.view(&record).unwrap();
//! let change = Change { op: ChangeOp::Insert, seq: 1, txn: 0, file_id: 200,
//!                       file: "error_codes.data", before: None, after: Some(view) };
//! let (mut text, mut bound) = (Vec::new(), Vec::new());
//! template.bind(&change, "error_codes", &mut text, &mut bound).unwrap();
//! assert_eq!(bound[0], Bound::Int(7));
//! let Bound::Text(range) = bound[1].clone() else { panic!() };
//! assert_eq!(&text[range], "'); DROP TABLE x; --".as_bytes());
//! ```

mod change;
mod error;
mod hbs;
mod placeholder;
mod set;
mod sql;
mod xml;

pub use crate::{
    change::{Change, ChangeOp},
    error::{RenderError, TemplateError},
    hbs::{HbsTemplate, compile_sql_hbs},
    set::{LoadError, SqlTemplates, XmlRenderer},
    sql::{Bound, Dialect, Param, SqlTemplate, TextPart},
    xml::{DefaultElement, XmlTemplate, write_default_element},
};
