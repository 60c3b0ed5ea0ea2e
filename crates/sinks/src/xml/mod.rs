//! The XML sink (quick-xml for the default element and for checking what
//! templates render).

mod check;
mod config;
mod sink;

pub use config::XmlConfig;
pub use sink::XmlSink;
