//! What the server SQL sinks (PostgreSQL, MySQL, ODBC) share: the engine
//! that applies batches over a [`backend::Backend`], the statements of
//! mapped mode, and the tables made from layouts.
//!
//! Two modes:
//! * template mode runs the file id's templates, one prepared statement per
//!   change, exactly as written;
//! * mapped mode generates the statements from the layout: a phase of
//!   changes on distinct keys goes as one multi-row delete, insert (or the
//!   server's bulk path) and update each; a row count that is off or a
//!   value the server refuses sends the batch down the one-row path, which
//!   names the change at fault.

pub(crate) mod backend;
mod connection;
mod engine;
mod phases;
mod schema;
mod statements;

pub use connection::SqlMode;
pub(crate) use connection::{ConnectionKeys, SectionSettings, Settings, open_settings};
pub(crate) use engine::{SqlOptions, SqlSink};
pub use schema::{column_type, create_table_sql};

/// Implements [`crate::Sink`] for a newtype over [`SqlSink`].
macro_rules! delegate_sink {
    ($t:ty) => {
        impl crate::Sink for $t {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn checkpoint(&mut self) -> Result<Option<crate::Checkpoint>, crate::SinkError> {
                self.0.checkpoint()
            }
            fn apply(&mut self, batch: &crate::Batch) -> Result<(), crate::SinkError> {
                self.0.apply(batch)
            }
            fn commit(&mut self) -> Result<(), crate::SinkError> {
                self.0.commit()
            }
            fn finish(&mut self) -> Result<(), crate::SinkError> {
                self.0.finish()
            }
            fn preparer(&self) -> Option<Box<dyn crate::Prepare>> {
                self.0.preparer()
            }
            fn repairs(&self) -> crate::Repairs {
                self.0.repairs()
            }
        }
    };
}
pub(crate) use delegate_sink;
