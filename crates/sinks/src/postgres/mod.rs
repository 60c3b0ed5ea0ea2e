//! The PostgreSQL sink (postgres crate): the engine of [`crate::sql`] over
//! a PostgreSQL connection. Values go as text, typed by the server (so a
//! decimal arrives digit for digit and an integer checks its range);
//! mapped inserts go through `COPY`; a session advisory lock keeps one
//! extraction per sink and file id.

mod client;
mod config;
mod sink;

pub use config::PostgresConfig;
pub use sink::PostgresSink;
