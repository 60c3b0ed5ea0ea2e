//! The XML sink (quick-xml for the default element).

mod config;
mod sink;

pub use config::XmlConfig;
pub use sink::XmlSink;
