//! What the SQL engine needs of a database: one implementation per server
//! kind (`postgres/client.rs`, `mysql/client.rs`, `odbc/client.rs`).

use crate::Checkpoint;
use drx_templates::{ChangeOp, Dialect};

/// A value bound to a statement parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// UTF-8 text (also decimals and date-times, in their canonical form).
    Text(&'a [u8]),
}

/// The statements the engine runs; a backend prepares each once per
/// connection and keeps it under this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StatementId {
    /// A template of the file id (template mode).
    Template(ChangeOp),
    /// `rows` rows inserted (mapped mode).
    Insert(usize),
    /// `rows` rows inserted, or updated where their key exists.
    Upsert(usize),
    /// `rows` rows updated by key.
    Update(usize),
    /// `rows` rows deleted by key.
    Delete(usize),
    /// Which of `rows` keys exist: the statement returns their row numbers.
    Exists(usize),
}

/// How bad a database error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection is gone (server restart, network): reconnect and retry.
    Connection,
    /// The server refused the values of a statement (constraint, range,
    /// conversion): the change at fault is rejected.
    Data,
    /// Anything else (permissions, missing table, syntax): stop.
    Other,
}

/// A database error, its password-free message and how bad it is.
#[derive(Debug, Clone)]
pub(crate) struct DbError {
    /// How bad.
    pub failure: Failure,
    /// What the server or the client said.
    pub message: String,
    /// The column the server named, if it did.
    pub column: Option<String>,
}

/// The checkpoint row of a sink and file id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredCheckpoint {
    /// The journal epoch it was written in.
    pub epoch: u64,
    /// The position.
    pub checkpoint: Checkpoint,
}

/// A database connection as the SQL engine drives it. Every method that
/// talks to the server may fail with [`Failure::Connection`], after which
/// the engine calls [`Backend::reconnect`].
pub(crate) trait Backend {
    /// The dialect statements are written in.
    fn dialect(&self) -> Dialect;

    /// The most rows one statement may carry with `params_per_row`
    /// parameters each (1: no multi-row statements).
    fn max_rows(&self, params_per_row: usize) -> usize;

    /// Starts a transaction.
    fn begin(&mut self) -> Result<(), DbError>;

    /// Commits it.
    fn commit(&mut self) -> Result<(), DbError>;

    /// Rolls it back (an error here is ignored by the engine: the
    /// transaction is gone either way).
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Runs statement `id` (prepared from `sql()` the first time) with
    /// `values`; returns the rows it affected (found, for updates).
    fn execute(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<u64, DbError>;

    /// Runs query `id` and returns the integer first column of its rows.
    fn query_numbers(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<Vec<i64>, DbError>;

    /// Inserts rows in bulk (`COPY`, `LOAD DATA`), if the server has a way:
    /// `values` holds `columns` values per row. `None` when it has none.
    fn bulk_insert(
        &mut self,
        _columns: usize,
        _values: &[ValueRef<'_>],
    ) -> Option<Result<u64, DbError>> {
        None
    }

    /// The checkpoint row of `(sink, file_id)`.
    fn read_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, DbError>;

    /// Writes the checkpoint row, in the open transaction.
    fn save_checkpoint(&mut self, stored: StoredCheckpoint) -> Result<(), DbError>;

    /// Connects again after a [`Failure::Connection`], taking the same
    /// locks; prepared statements are prepared again on use.
    fn reconnect(&mut self) -> Result<(), DbError>;

    /// The field a [`Failure::Data`] error of a one-row statement is about,
    /// found by asking the server about each value in turn (`values` are
    /// the statement's, `fields` the field of each, if any). `None` if no
    /// single value is at fault.
    fn probe_field(
        &mut self,
        _values: &[ValueRef<'_>],
        _fields: &[Option<usize>],
    ) -> Result<Option<usize>, DbError> {
        Ok(None)
    }
}

/// A float as text (`NaN` and `Infinity` as PostgreSQL spells them).
pub(crate) fn float_text(v: f64, buf: &mut ryu::Buffer) -> &str {
    if v.is_nan() {
        "NaN"
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }
    } else {
        buf.format(v)
    }
}

/// Rows of `columns` values as tab-separated lines for a bulk loader,
/// each value written by `field`.
pub(crate) fn tab_separated(
    values: &[ValueRef<'_>],
    columns: usize,
    out: &mut Vec<u8>,
    field: fn(&ValueRef<'_>, &mut Vec<u8>),
) {
    for row in values.chunks(columns.max(1)) {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            field(v, out);
        }
        out.push(b'\n');
    }
}
