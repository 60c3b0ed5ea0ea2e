use drx_layouts::{DecodeError, Layout};
use drx_templates::{Change, ChangeOp};
use std::ops::Range;
use std::sync::Arc;

/// The durable position of a sink: every change up to `applied` is in it,
/// and reading again from `resume` (≤ `applied` + 1, earlier when a source
/// transaction was open) and skipping what is ≤ `applied` loses nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// The seq of the last delivered change or transaction end.
    pub applied: u64,
    /// Where to start reading the journal again.
    pub resume: u64,
}

/// A change of a batch as captured: its images undecoded.
#[derive(Debug, Clone, Copy)]
pub struct RawChange<'a> {
    /// The operation.
    pub op: ChangeOp,
    /// Its journal sequence number.
    pub seq: u64,
    /// Its source transaction (0: none).
    pub txn: u64,
    /// The critical file.
    pub file: &'a str,
    /// The record before.
    pub before: Option<&'a [u8]>,
    /// The record after.
    pub after: Option<&'a [u8]>,
}

#[derive(Debug, Clone)]
struct Meta {
    op: ChangeOp,
    seq: u64,
    txn: u64,
    file: u32,
    before: Option<Range<usize>>,
    after: Option<Range<usize>>,
}

/// A run of decoded changes of one file id that a sink applies atomically
/// together with its checkpoint. Source transactions are never split across
/// batches. Buffers are reused between batches.
#[derive(Debug)]
pub struct Batch {
    layout: Arc<Layout>,
    file_id: u16,
    bytes: Vec<u8>,
    files: Vec<String>,
    metas: Vec<Meta>,
    /// The checkpoint to store with the batch.
    pub checkpoint: Checkpoint,
    /// Values a sink's [`crate::Prepare`] computed ahead of `apply`.
    pub(crate) prepared: Prepared,
}

/// SQL values bound ahead of `apply`, on the thread that builds batches.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// Whether every change of the batch has its values below.
    pub ready: bool,
    /// Text values, UTF-8.
    pub text: Vec<u8>,
    /// The values of all changes, in order.
    pub bounds: Vec<drx_templates::Bound>,
    /// Per change: the end of its values in `bounds`.
    pub ends: Vec<u32>,
}

impl Prepared {
    /// The values of the `k`th change.
    pub(crate) fn of(&self, k: usize) -> &[drx_templates::Bound] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.bounds[start..self.ends[k] as usize]
    }

    pub(crate) fn clear(&mut self) {
        self.ready = false;
        self.text.clear();
        self.bounds.clear();
        self.ends.clear();
    }
}

impl Batch {
    /// An empty batch for `file_id`, decoded with `layout`.
    pub fn new(file_id: u16, layout: Arc<Layout>) -> Batch {
        Batch {
            layout,
            file_id,
            bytes: Vec::new(),
            files: Vec::new(),
            metas: Vec::new(),
            checkpoint: Checkpoint::default(),
            prepared: Prepared::default(),
        }
    }

    /// The file id.
    pub fn file_id(&self) -> u16 {
        self.file_id
    }

    /// The layout.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Changes in the batch.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// Whether the batch holds no change.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.metas.clear();
        self.prepared.clear();
    }

    /// Appends a change; its images must already have been checked against
    /// the layout.
    pub fn push(
        &mut self,
        op: ChangeOp,
        seq: u64,
        txn: u64,
        file: &str,
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) {
        let file = match self.files.iter().position(|f| f == file) {
            Some(i) => i as u32,
            None => {
                self.files.push(file.to_owned());
                (self.files.len() - 1) as u32
            }
        };
        let mut put = |image: Option<&[u8]>| {
            image.map(|b| {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(b);
                start..self.bytes.len()
            })
        };
        let before = put(before);
        let after = put(after);
        self.metas.push(Meta {
            op,
            seq,
            txn,
            file,
            before,
            after,
        });
    }

    /// Appends every change of `other` (same file id and layout).
    pub fn append(&mut self, other: &Batch) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        for m in &other.metas {
            let file = other.files[m.file as usize].as_str();
            let file = match self.files.iter().position(|f| f == file) {
                Some(i) => i as u32,
                None => {
                    self.files.push(file.to_owned());
                    (self.files.len() - 1) as u32
                }
            };
            let shift = |r: &Option<Range<usize>>| r.as_ref().map(|r| r.start + base..r.end + base);
            self.metas.push(Meta {
                file,
                before: shift(&m.before),
                after: shift(&m.after),
                ..m.clone()
            });
        }
    }

    /// The `i`th change as captured (for a dead-letter file).
    pub fn raw(&self, i: usize) -> Option<RawChange<'_>> {
        let m = self.metas.get(i)?;
        let image = |r: &Option<Range<usize>>| r.as_ref().map(|r| &self.bytes[r.clone()]);
        Some(RawChange {
            op: m.op,
            seq: m.seq,
            txn: m.txn,
            file: &self.files[m.file as usize],
            before: image(&m.before),
            after: image(&m.after),
        })
    }

    /// A copy of the batch without its `i`th change, with the same checkpoint.
    pub fn without(&self, i: usize) -> Batch {
        let mut out = Batch::new(self.file_id, self.layout.clone());
        for j in (0..self.metas.len()).filter(|j| *j != i) {
            if let Some(c) = self.raw(j) {
                out.push(c.op, c.seq, c.txn, c.file, c.before, c.after);
            }
        }
        out.checkpoint = self.checkpoint;
        out
    }

    /// The operations of the changes, in order.
    pub fn ops(&self) -> impl Iterator<Item = ChangeOp> + '_ {
        self.metas.iter().map(|m| m.op)
    }

    /// The operation of the `i`-th change.
    pub(crate) fn op_at(&self, i: usize) -> ChangeOp {
        self.metas[i].op
    }

    /// The seq of the `i`-th change (0 past the end), for error messages.
    pub(crate) fn seq_at(&self, i: usize) -> u64 {
        self.metas.get(i).map_or(0, |m| m.seq)
    }

    /// The changes, in order, each with the error its seq names.
    pub(crate) fn decoded(
        &self,
    ) -> impl Iterator<Item = Result<Change<'_>, crate::SinkError>> + '_ {
        self.changes().enumerate().map(|(i, c)| {
            c.map_err(|source| crate::SinkError::Decode {
                seq: self.seq_at(i),
                source,
            })
        })
    }

    /// The changes, in order.
    pub fn changes(&self) -> impl Iterator<Item = Result<Change<'_>, DecodeError>> + '_ {
        self.metas.iter().map(move |m| {
            let view = |r: &Option<Range<usize>>| -> Result<_, DecodeError> {
                r.as_ref()
                    .map(|r| self.layout.view(&self.bytes[r.clone()]))
                    .transpose()
            };
            Ok(Change {
                op: m.op,
                seq: m.seq,
                txn: m.txn,
                file_id: self.file_id,
                file: &self.files[m.file as usize],
                before: view(&m.before)?,
                after: view(&m.after)?,
            })
        })
    }
}
