//! The PostgreSQL sink (postgres crate): the file id's SQL templates as
//! prepared statements, values sent as text and typed by the server, each
//! batch in one transaction with its checkpoint row.

mod client;
mod config;
mod sink;

pub use config::PostgresConfig;
pub use sink::PostgresSink;
