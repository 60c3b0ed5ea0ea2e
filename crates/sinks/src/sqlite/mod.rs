//! The SQLite sink (rusqlite): the embedded default.

mod client;
mod config;
mod sink;

pub use config::{SqliteConfig, Synchronous};
pub use sink::SqliteSink;
