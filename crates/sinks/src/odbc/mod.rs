//! The ODBC sink (odbc-api): the engine of [`crate::sql`] over any ODBC
//! connection string or DSN. Values go as text (UTF-16, which every
//! Unicode driver takes), typed by the server, so a decimal arrives digit
//! for digit; statements are the one-row forms (no server-specific upsert,
//! multi-row or bulk syntax). With no portable lock, the checkpoint row is
//! written by compare-and-set, so two extractions of the same sink and file
//! id can never both commit a batch.

mod client;
mod config;
mod sink;

pub use config::OdbcConfig;
pub use sink::OdbcSink;
