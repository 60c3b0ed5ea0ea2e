use super::config::CsvConfig;
use crate::file_feed::FileFeed;
use crate::{Batch, Binding, Checkpoint, Sink, SinkError};
use std::path::Path;

/// Writes changes as CSV rows: `op,seq,txn,<fields>`.
#[derive(Debug)]
pub struct CsvSink {
    name: String,
    feed: FileFeed,
    delimiter: u8,
    /// Reused between batches: the rows of one batch.
    rows: Vec<u8>,
    field: Vec<u8>,
}

impl CsvSink {
    /// Opens (or continues) `<dir>/<target>.csv`.
    pub fn open(
        name: String,
        config: &CsvConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<CsvSink, SinkError> {
        if !config.delimiter.is_ascii() || matches!(config.delimiter, '"' | '\r' | '\n') {
            return Err(SinkError::Config(format!(
                "{name}: delimiter {:?} cannot separate CSV fields: use one ASCII character other than a quote or a line end",
                config.delimiter
            )));
        }
        let delimiter = config.delimiter as u8;
        let dir = drx_config::absolute(home, &config.dir);
        let mut header = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        let names = ["op", "seq", "txn"]
            .into_iter()
            .chain(binding.layout.fields().iter().map(|f| f.name.as_str()));
        header
            .write_record(names)
            .map_err(|e| SinkError::Config(e.to_string()))?;
        let header = header
            .into_inner()
            .map_err(|e| SinkError::Config(e.to_string()))?;
        let feed = FileFeed::open(
            config.commit_every,
            dir.join(format!("{}.csv", binding.target)),
            &header,
            b"",
        )?;
        Ok(CsvSink {
            name,
            feed,
            delimiter,
            rows: Vec::new(),
            field: Vec::new(),
        })
    }
}

/// Why writing a row's fields stopped.
enum Fail {
    Decode(drx_layouts::DecodeError),
    Csv(csv::Error),
}

impl From<drx_layouts::DecodeError> for Fail {
    fn from(e: drx_layouts::DecodeError) -> Fail {
        Fail::Decode(e)
    }
}

impl Sink for CsvSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        Ok(self.feed.checkpoint())
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(std::mem::take(&mut self.rows));
        let csv_err = |e: csv::Error| SinkError::Config(format!("csv: {e}"));
        let mut num = itoa::Buffer::new();
        for change in batch.decoded() {
            let change = change?;
            w.write_field(change.op.as_str()).map_err(csv_err)?;
            w.write_field(num.format(change.seq)).map_err(csv_err)?;
            w.write_field(num.format(change.txn)).map_err(csv_err)?;
            let image = change.image().ok_or_else(|| {
                SinkError::Config(format!(
                    "seq {}: {} without its image",
                    change.seq,
                    change.op.as_str()
                ))
            })?;
            let field = &mut self.field;
            image
                .try_for_each(|_, value| {
                    field.clear();
                    value.write_utf8(field)?;
                    w.write_field(&*field).map_err(Fail::Csv)
                })
                .map_err(|fail| match fail {
                    Fail::Decode(source) => SinkError::Decode {
                        seq: change.seq,
                        source,
                    },
                    Fail::Csv(e) => csv_err(e),
                })?;
            w.write_record(None::<&[u8]>).map_err(csv_err)?;
        }
        let mut rows = w
            .into_inner()
            .map_err(|e| SinkError::Config(format!("csv: {e}")))?;
        self.feed.write(&rows)?;
        rows.clear();
        self.rows = rows;
        self.feed.applied(batch.checkpoint, batch.len() as u64)
    }

    fn commit(&mut self) -> Result<(), SinkError> {
        self.feed.commit_and_wait()
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.feed.finish()
    }
}
