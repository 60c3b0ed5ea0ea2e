//! `--snapshot`: every record of the current file as an insert, as of a
//! journal position.

use crate::ExtractError;
use drx_capture::{FileSpec, RecordFile};
use drx_config::Config;
use drx_journal::{Durability, Writer, WriterConfig};
use drx_layouts::Layout;
use drx_sinks::{Batch, Checkpoint};
use drx_templates::ChangeOp;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of `file_id` as they are now: the include records' source
/// paths, with star-names matched in their directory.
fn current_files(config: &Config, file_id: u16) -> Result<Vec<PathBuf>, ExtractError> {
    let mut files = Vec::new();
    for source in config.files.sources_of(file_id, &config.home) {
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(['*', '?']) {
            if source.exists() {
                files.push(source);
            }
            continue;
        }
        let dir = source.parent().unwrap_or(Path::new("/"));
        let pattern = wildmatch::WildMatch::new(&name);
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(ExtractError::Io {
                    path: dir.to_owned(),
                    source,
                });
            }
        };
        for entry in entries.flatten() {
            if pattern.matches(&entry.file_name().to_string_lossy()) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every record of the file id's current files into one batch, while
/// holding the journal's writer lock so that no change slips between the
/// files and the journal position. Returns the batch, whose checkpoint is
/// that position.
pub(crate) fn take(
    config: &Config,
    file_id: u16,
    layout: &Arc<Layout>,
) -> Result<Batch, ExtractError> {
    let writer = Writer::open(WriterConfig {
        dir: config.journal.dir.clone(),
        segment_size: config.journal.segment_size,
        durability: Durability::None,
    })
    .map_err(|e| match e {
        drx_journal::JournalError::Locked { path } => ExtractError::Config(format!(
            "a snapshot needs a moment with no writer, but {} is held by a running capture",
            path.display()
        )),
        other => other.into(),
    })?;
    let position = writer.last_seq();
    let mut batch = Batch::new(file_id, layout.clone());
    for path in current_files(config, file_id)? {
        let file = RecordFile::open_read_only(&path, FileSpec::from_layout(layout.clone()))?;
        let name = path.to_string_lossy().into_owned();
        file.for_each_record(|_, record| {
            batch.push(ChangeOp::Insert, position, 0, &name, None, Some(record));
            Ok(())
        })?;
    }
    writer.close()?;
    batch.checkpoint = Checkpoint {
        applied: position,
        resume: position + 1,
    };
    Ok(batch)
}
