//! `drx demo`: the guide's drms_demo — copy every record of an input file
//! into a critical file.

use crate::{Capture, CaptureError, FileSpec, Org, RecordFile};
use std::path::Path;

/// Copies every record of `input` (read with `input_spec`) into a new
/// critical file `output` (created with `output_spec`); returns the count.
pub fn demo(
    capture: &mut Capture,
    input: &Path,
    input_spec: FileSpec,
    output: &Path,
    output_spec: FileSpec,
) -> Result<u64, CaptureError> {
    let source = RecordFile::open_read_only(input, input_spec)?;
    let mut target = capture.create(output, output_spec)?;
    let relative = target.file().spec().organization == Org::Relative;
    let mut count = 0u64;
    source.for_each_record(|recno, record| {
        let at = (relative && recno > 0).then_some(recno);
        capture.write(&mut target, record, at)?;
        count += 1;
        Ok(())
    })?;
    capture.sync()?;
    Ok(count)
}
