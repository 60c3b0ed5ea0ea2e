//! The MySQL / MariaDB sink (mysql_async on a current-thread tokio
//! runtime): the engine of [`crate::sql`] over a MySQL connection. Values
//! go as binary protocol parameters (decimals and date-times as their
//! text, converted by the server, so a decimal arrives digit for digit);
//! the session is strict (`STRICT_ALL_TABLES`), in UTC and utf8mb4;
//! `GET_LOCK` keeps one extraction per sink and file id.

mod client;
mod config;
mod sink;

pub use config::MysqlConfig;
pub use sink::MysqlSink;
