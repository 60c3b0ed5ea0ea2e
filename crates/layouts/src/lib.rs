//! Record layouts in the VOS data-description syntax of the DRMS user's
//! guide, or as COBOL copybooks: parse them, then decode and encode record
//! bytes as typed values.
//!
//! A COBOL copybook ([`Copybook::parse`]) becomes a layout of the same
//! model with [`Layout::from_copybook`] (code pages, OCCURS as columns or
//! JSON, see [`CopybookLayoutOptions`] and `docs/COPYBOOKS.md`); its data
//! files can also be read whole with [`RecordFormat`] and
//! [`RecordDecoder`]. The rest of this page shows a VOS layout.
//!
//! A layout names the fields of a record file, in order, with their types:
//!
//! ```text
//! fields: err_number      fixed bin (15),
//!         err_name        char (32),
//!         err_text        char (128) varying,
//!         err_category    char(18),
//!         err_category2   char(18);
//! end;
//! ```
//!
//! [`Layout::parse`] turns such text into a [`Layout`]: each [`Field`] gets
//! its [`FieldType`], byte offset and size (fields lie back to back, no
//! padding). [`Layout::view`] checks a record's length and returns a
//! [`RecordView`], whose [`get`](RecordView::get) decodes one field into a
//! [`Value`] without allocating; [`Value::write_text`] appends the value's
//! canonical text (what CSV, XML and SQL output use) to a reused `String`.
//! [`Layout::encode`] goes the other way, from texts to record bytes.
//!
//! This crate does no I/O: callers read the layout file and the records,
//! and pass a display name for error messages. Layout errors read
//! `name:line:col: message`. The syntax and the decoding rules are in
//! `docs/LAYOUTS.md` ("Layout syntax version 1").
//!
//! ```
//! use drx_layouts::{Layout, Value};
//!
//! let text = "fields: err_number\t\tfixed bin (15),
//!         err_name        \tchar (32),
//!         err_text           char (128) varying,
//!         err_category    \tchar(18),
//!         err_category2   \tchar(18);
//! end;";
//! let layout = Layout::parse("layouts/layout.200", text)?;
//! assert_eq!(layout.record_len(), 200);
//!
//! // A record as the application writes it: big-endian binary,
//! // space-padded char, 2-byte length before varying text.
//! let mut record = Vec::new();
//! record.extend_from_slice(&404i16.to_be_bytes());
//! record.extend_from_slice(format!("{:32}", "e$not_found").as_bytes());
//! record.extend_from_slice(&9u16.to_be_bytes());
//! record.extend_from_slice(format!("{:128}", "not found").as_bytes());
//! record.extend_from_slice(format!("{:18}{:18}", "lookup", "").as_bytes());
//!
//! let view = layout.view(&record)?;
//! assert_eq!(view.get(0)?, Value::Int(404));
//! let mut line = String::new();
//! for (i, field) in layout.fields().iter().enumerate() {
//!     line.push_str(&field.name);
//!     line.push('=');
//!     view.get(i)?.write_text(&mut line)?;
//!     line.push(';');
//! }
//! assert_eq!(
//!     line,
//!     "err_number=404;err_name=e$not_found;err_text=not found;err_category=lookup;err_category2=;"
//! );
//!
//! // Encoding gives the same bytes back.
//! let encoded = layout.encode([
//!     ("err_number", "404"),
//!     ("err_name", "e$not_found"),
//!     ("err_text", "not found"),
//!     ("err_category", "lookup"),
//! ])?;
//! assert_eq!(encoded, record);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod charset;
mod codepage;
mod copybook;
mod copybook_layout;
mod datetime;
mod decimal;
mod decode;
mod encode;
mod error;
mod field;
mod layout;
mod parse;
mod record_format;
mod value;

pub use crate::codepage::{CodePage, CodePageError};
pub use crate::copybook::{
    BinarySizes, Condition, Copybook, CopybookError, CopybookOptions, FieldMapEntry, Item, Occurs,
    PicCategory, Picture, SignClause, SourceFormat, Usage,
};
pub use crate::copybook::{
    Cell, InvalidValue, RecordDecodeError, RecordDecoder, RecordOptions, Trim,
};
pub use crate::copybook::{
    CobolDecodeError, CobolErrorKind, CobolOptions, CobolValue, ElementaryField, FloatFormat,
    ZonedEncoding, ZonedSign, ZonedSpec, decode_binary, decode_edited, decode_float, decode_packed,
    decode_zoned, elementary_fields,
};
pub use crate::copybook_layout::{CopybookLayoutOptions, OccursColumns, TableValue};
pub use crate::record_format::{
    Record, RecordFormat, RecordFormatError, RecordFormatKind, Records, UnknownRecordFormat,
    VarSeqPrefix,
};
pub use crate::{
    charset::Charset,
    datetime::DateTime,
    decimal::Decimal,
    decode::RecordView,
    error::{DecodeError, DecodeErrorKind, EncodeError, LayoutError},
    field::{ByteOrder, Field, FieldType, Organization},
    layout::Layout,
    value::{OwnedValue, Text, Value},
};
