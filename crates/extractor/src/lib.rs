//! The extractor: journal entries of one file id, decoded through its
//! layout, rendered through its templates, delivered to sinks exactly once.
//!
//! `extract` reads the journal from each sink's checkpoint, keeps the
//! entries of the files the Files Table maps to the file id, holds back
//! the changes of a source transaction until its commit (an aborted one is
//! never delivered), checks every record against the layout (a bad one stops
//! the run, or goes to the dead-letter file), and hands batches to the sink,
//! which stores each with its checkpoint atomically. A kill at any moment and
//! a rerun leave the sink as if it had never crashed.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = drx_config::Config::load("samples/error_codes".as_ref())?;
//! let summaries = drx_extractor::extract(&config, &drx_extractor::ExtractOptions::new(200), &mut |_| {})?;
//! for summary in summaries {
//!     println!("{summary}");
//! }
//! # Ok(())
//! # }
//! ```

mod check;
mod dead_letter;
mod error;
mod extract;
mod options;
mod reading;
mod schema;
mod snapshot;
mod target;

pub use crate::{
    check::{CheckReport, check},
    error::ExtractError,
    extract::extract,
    options::{ExtractOptions, Progress, Summary},
    schema::{SchemaOptions, schema},
    target::default_target,
};
