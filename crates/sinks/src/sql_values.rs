//! What the SQL sinks share: binding the values of a batch ahead of
//! `apply`, and the error of a change without a template.

use crate::batch::Prepared;
use crate::{Batch, Binding, Prepare, SinkError};
use drx_templates::{Bound, Change, ChangeOp, SqlTemplates};

/// The index of an operation's statement: insert, update, delete.
pub(crate) fn op_index(op: ChangeOp) -> usize {
    match op {
        ChangeOp::Insert => 0,
        ChangeOp::Update => 1,
        ChangeOp::Delete => 2,
    }
}

/// Binds the values of every change of a batch on the thread that builds
/// the batches, so that the applying thread only executes statements.
#[derive(Debug)]
pub(crate) struct SqlPreparer {
    pub templates: SqlTemplates,
    pub binding: Binding,
}

impl Prepare for SqlPreparer {
    fn prepare(&mut self, batch: &mut Batch) -> Result<(), SinkError> {
        let mut prepared = std::mem::take(&mut batch.prepared);
        let result = bind_all(&mut prepared, batch, &self.templates, &self.binding);
        batch.prepared = prepared;
        result
    }
}

/// Binds the values of every change of `batch` into `prepared` (cleared
/// first); `prepared.ready` says whether it succeeded.
pub(crate) fn bind_all(
    prepared: &mut Prepared,
    batch: &Batch,
    templates: &SqlTemplates,
    binding: &Binding,
) -> Result<(), SinkError> {
    prepared.clear();
    let result = (|| {
        for change in batch.decoded() {
            let change = change?;
            let Some(template) = templates.get(change.op) else {
                return Err(missing_template(binding, change.op, change.seq));
            };
            template
                .bind(
                    &change,
                    &binding.target,
                    &mut prepared.text,
                    &mut prepared.bounds,
                )
                .map_err(|source| SinkError::Render {
                    seq: change.seq,
                    source,
                })?;
            prepared.ends.push(prepared.bounds.len() as u32);
        }
        Ok(())
    })();
    prepared.ready = result.is_ok();
    result
}

/// The error of a change whose operation has no template (and no default,
/// for want of a key).
pub(crate) fn missing_template(binding: &Binding, op: ChangeOp, seq: u64) -> SinkError {
    SinkError::Config(format!(
        "seq {seq}: {} {} of file id {} needs template.{}.{} (or a `key:` in layout {} for the default)",
        if op == ChangeOp::Delete { "a" } else { "an" },
        op.as_str(),
        binding.file_id,
        binding.file_id,
        op.suffix(),
        binding.layout.name()
    ))
}

/// Walks the bound values of a batch's changes, in order: those the
/// preparer computed ahead, or, when it did not run, bound here.
#[derive(Debug, Default)]
pub(crate) struct ValueCursor {
    /// Where the next change's values start in the prepared values.
    start: usize,
    /// The values of one change bound here, UTF-8 text and bounds.
    text: Vec<u8>,
    bound: Vec<Bound>,
}

impl ValueCursor {
    /// Starts a new batch.
    pub fn reset(&mut self) {
        self.start = 0;
    }

    /// The values of `change`, the `k`th change of `batch`.
    pub fn next<'a>(
        &'a mut self,
        batch: &'a Batch,
        k: usize,
        change: &Change<'_>,
        templates: &SqlTemplates,
        binding: &Binding,
    ) -> Result<(&'a [u8], &'a [Bound]), SinkError> {
        let prepared = &batch.prepared;
        if prepared.ready {
            let end = prepared.ends[k] as usize;
            let values = &prepared.bounds[self.start..end];
            self.start = end;
            return Ok((&prepared.text, values));
        }
        let Some(template) = templates.get(change.op) else {
            return Err(missing_template(binding, change.op, change.seq));
        };
        self.text.clear();
        self.bound.clear();
        template
            .bind(change, &binding.target, &mut self.text, &mut self.bound)
            .map_err(|source| SinkError::Render {
                seq: change.seq,
                source,
            })?;
        Ok((&self.text, &self.bound))
    }
}
