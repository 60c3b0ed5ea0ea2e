//! Sinks: where extracted changes go.
//!
//! Every sink implements one [`Sink`] trait and sees decoded changes
//! ([`Batch`] of [`drx_templates::Change`]), never journal frames. Each sink
//! kind has the same shape: a `config.rs` (serde, unknown keys rejected, a
//! doc comment on every field) and a `sink.rs`:
//!
//! * [`sqlite`] — SQLite through the file id's SQL templates; each batch is
//!   one database transaction that also stores the checkpoint;
//! * [`csv`] and [`xml`] — feed files with a sidecar checkpoint: data is
//!   fsynced before the checkpoint, and an unconfirmed tail is cut on open;
//! * [`mysql`] — MySQL / MariaDB over the SQL engine (template or mapped
//!   mode); each batch is one transaction with its checkpoint row;
//! * [`odbc`] — any database with an ODBC driver (a connection string or
//!   a DSN) over the SQL engine; the checkpoint row moves by compare-and-set;
//! * [`stdout`] — for a look.
//!
//! ```
//! use drx_sinks::{Batch, Checkpoint};
//! use drx_templates::ChangeOp;
//! let layout = std::sync::Arc::new(drx_layouts::Layout::parse("layout.1",
//!     "fields: n bin(15); end;").unwrap());
//! let mut batch = Batch::new(1, layout.clone());
//! batch.push(ChangeOp::Insert, 7, 0, "/data/f", None, Some(&[0, 42]));
//! batch.checkpoint = Checkpoint { applied: 7, resume: 8 };
//! let change = batch.changes().next().unwrap().unwrap();
//! assert_eq!(change.after.unwrap().get(0).unwrap(), drx_layouts::Value::Int(42));
//! ```

mod batch;
mod config;
pub mod csv;
mod file_feed;
pub mod mysql;
pub mod odbc;
pub mod postgres;
mod sink;
mod sql;
mod sql_values;
pub mod sqlite;
pub mod stdout;
pub mod xml;

pub use crate::{
    batch::{Batch, Checkpoint, RawChange},
    config::SinkConfig,
    sink::{Binding, Prepare, Repairs, Sink, SinkError},
    sql::{column_type, create_table_sql},
};
