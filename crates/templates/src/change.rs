use drx_layouts::RecordView;

/// What a change does to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    /// A new record.
    Insert,
    /// A record rewritten.
    Update,
    /// A record deleted.
    Delete,
}

impl ChangeOp {
    /// `insert`, `update` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }

    /// The template suffix of the guide: `i`, `u` or `d`.
    pub fn suffix(self) -> &'static str {
        match self {
            ChangeOp::Insert => "i",
            ChangeOp::Update => "u",
            ChangeOp::Delete => "d",
        }
    }
}

/// One decoded change of a record, as sinks and templates see it: never a
/// journal frame, always records viewed through their layout.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Insert, update or delete.
    pub op: ChangeOp,
    /// The journal sequence number of the change.
    pub seq: u64,
    /// The source transaction (0: none).
    pub txn: u64,
    /// The extractor file id.
    pub file_id: u16,
    /// The critical file's path.
    pub file: &'a str,
    /// The record before the change (updates and deletes, where known).
    pub before: Option<RecordView<'a>>,
    /// The record after the change (inserts and updates).
    pub after: Option<RecordView<'a>>,
}

impl<'a> Change<'a> {
    /// The image whose fields a template renders: the after image of an
    /// insert or update, the before image of a delete.
    pub fn image(&self) -> Option<RecordView<'a>> {
        match self.op {
            ChangeOp::Insert | ChangeOp::Update => self.after,
            ChangeOp::Delete => self.before,
        }
    }

    /// The image that identifies the record (`@drms_index_info@`): the
    /// before image where there is one, else the after image.
    pub fn key_image(&self) -> Option<RecordView<'a>> {
        self.before.or(self.after)
    }

    pub(crate) fn require_image(&self) -> Result<RecordView<'a>, crate::RenderError> {
        self.image().ok_or(crate::RenderError::MissingImage {
            op: self.op.as_str(),
            image: if self.op == ChangeOp::Delete {
                "before"
            } else {
                "after"
            },
        })
    }

    pub(crate) fn require_key_image(&self) -> Result<RecordView<'a>, crate::RenderError> {
        self.key_image().ok_or(crate::RenderError::MissingImage {
            op: self.op.as_str(),
            image: "before",
        })
    }
}
