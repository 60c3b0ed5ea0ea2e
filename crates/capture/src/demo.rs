//! `drx demo`: the guide's drms_demo — copy every record of an input file
//! into a critical file.

use crate::{Capture, CaptureError, FileSpec, Org, RecordFile};
use std::path::Path;

/// Records per write when copying.
const RUN: usize = 1024;

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
    let rec = target.file().spec().record_len;
    let same_len = source.spec().record_len == rec;
    let mut count = 0u64;
    // Records go out in runs of up to RUN records, one write each.
    let mut run: Vec<u8> = Vec::with_capacity(RUN * rec);
    let mut next_recno = 1;
    source.for_each_record(|recno, record| {
        // A relative source with gaps keeps its record numbers: written one by one.
        let in_order = !relative || recno == 0 || recno == next_recno;
        if same_len && in_order && record.len() == rec {
            run.extend_from_slice(record);
            next_recno = recno + 1;
            if run.len() >= RUN * rec {
                capture.write_many(&mut target, &run)?;
                run.clear();
            }
        } else {
            if !run.is_empty() {
                capture.write_many(&mut target, &run)?;
                run.clear();
            }
            let at = (relative && recno > 0).then_some(recno);
            capture.write(&mut target, record, at)?;
            next_recno = recno + 1;
        }
        count += 1;
        Ok(())
    })?;
    if !run.is_empty() {
        capture.write_many(&mut target, &run)?;
    }
    capture.close_file(target)?;
    capture.sync()?;
    Ok(count)
}
