//! The CSV sink (csv crate).

mod config;
mod sink;

pub use config::CsvConfig;
pub(crate) use config::every as every_default;
pub use sink::CsvSink;
