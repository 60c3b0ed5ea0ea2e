use super::config::{SqliteConfig, Synchronous};
use crate::{Checkpoint, SinkError};
use drx_layouts::Layout;
use drx_templates::Dialect;
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

pub(super) fn db_err(sink: &str) -> impl Fn(rusqlite::Error) -> SinkError + '_ {
    move |e| SinkError::Database {
        sink: sink.to_owned(),
        message: e.to_string(),
    }
}

/// Opens the database with drx's settings and its checkpoint table.
pub(super) fn connect(
    sink: &str,
    path: &Path,
    config: &SqliteConfig,
) -> Result<Connection, SinkError> {
    let err = db_err(sink);
    // One thread uses the connection (it is not Sync): no SQLite mutexes.
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(&err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(&err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(&err)?;
    let sync = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(&err)?;
    conn.execute_batch(
        "create table if not exists drx_checkpoint (
            consumer text primary key,
            applied integer not null,
            resume integer not null
        )",
    )
    .map_err(&err)?;
    Ok(conn)
}

pub(super) fn read_checkpoint(
    conn: &Connection,
    sink: &str,
    consumer: &str,
) -> Result<Option<Checkpoint>, SinkError> {
    conn.query_row(
        "select applied, resume from drx_checkpoint where consumer = ?1",
        [consumer],
        |row| {
            Ok(Checkpoint {
                applied: row.get::<_, i64>(0)? as u64,
                resume: row.get::<_, i64>(1)? as u64,
            })
        },
    )
    .optional()
    .map_err(db_err(sink))
}

/// `create table if not exists` for the layout: a typed column per field
/// (see [`crate::column_type`]), the key as primary key.
pub(super) fn create_table(
    conn: &Connection,
    sink: &str,
    table: &str,
    layout: &Layout,
) -> Result<(), SinkError> {
    let sql = crate::create_table_sql(Dialect::Sqlite, table, layout);
    conn.execute_batch(&sql).map_err(db_err(sink))
}

/// Whether `table` (possibly `schema.table`) exists.
pub(super) fn table_exists(conn: &Connection, sink: &str, table: &str) -> Result<bool, SinkError> {
    let (schema, name) = match table.split_once('.') {
        Some((schema, name)) => (schema, name),
        None => ("main", table),
    };
    let mut sql = String::from("select count(*) from ");
    Dialect::Sqlite.quote_identifier(schema, &mut sql);
    sql.push_str(".sqlite_schema where type in ('table', 'view') and name = ?1 collate nocase");
    conn.query_row(&sql, [name], |row| row.get::<_, i64>(0))
        .map(|n| n > 0)
        .map_err(db_err(sink))
}
