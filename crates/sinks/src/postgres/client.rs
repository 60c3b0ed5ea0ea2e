//! The PostgreSQL connection as the SQL engine drives it.

use crate::sql::Settings;
use crate::sql::backend::{
    Backend, DbError, Failure, StatementId, StoredCheckpoint, ValueRef, float_text, tab_separated,
};
use crate::{Checkpoint, SinkError};
use bytes::BytesMut;
use drx_templates::Dialect;
use postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::io::Write;

/// The checkpoint table: one row per sink and file id.
const CHECKPOINT_TABLE: &str = "create table if not exists drx_checkpoint (
    sink text not null,
    file_id integer not null,
    epoch bigint not null,
    applied bigint not null,
    resume bigint not null,
    primary key (sink, file_id)
)";

/// How bad a PostgreSQL error is.
fn failure(e: &postgres::Error) -> Failure {
    if e.is_closed() {
        return Failure::Connection;
    }
    match e.code().map(|c| c.code()) {
        Some(code) if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") => {
            Failure::Connection
        }
        Some(code) if code.starts_with("22") || code.starts_with("23") => Failure::Data,
        Some(_) => Failure::Other,
        // No server error: the socket failed, or (never with text values)
        // a parameter could not be written.
        None if is_io(e) => Failure::Connection,
        None => Failure::Other,
    }
}

/// Whether an I/O error is behind `e`.
fn is_io(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The server's message with its detail, or the client's.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => e.to_string(),
    }
}

fn db_error(e: postgres::Error) -> DbError {
    DbError {
        failure: failure(&e),
        column: e.as_db_error().and_then(|d| d.column()).map(str::to_owned),
        message: describe(&e),
    }
}

/// A value sent in text format, typed by the server from the statement.
#[derive(Debug)]
struct Text<'a>(ValueRef<'a>);

impl ToSql for Text<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            ValueRef::Null => return Ok(IsNull::Yes),
            ValueRef::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            ValueRef::Float(v) => {
                out.extend_from_slice(float_text(v, &mut ryu::Buffer::new()).as_bytes())
            }
            ValueRef::Text(t) => out.extend_from_slice(t),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A PostgreSQL session holding the advisory lock of its sink and file id.
pub(super) struct PgClient {
    settings: Settings,
    client: Client,
    statements: HashMap<StatementId, Statement>,
    save: Option<Statement>,
    /// `copy T (…) from stdin`.
    copy_sql: String,
    /// The rows of one COPY.
    copy_buf: Vec<u8>,
}

impl PgClient {
    /// Connects, takes the lock, creates the tables as asked.
    pub fn open(settings: Settings) -> Result<PgClient, SinkError> {
        let err = |e: DbError| SinkError::Database {
            sink: settings.sink.clone(),
            message: e.message,
        };
        let mut client = session(&settings).map_err(err)?;
        hold_consumer_lock(&mut client, &settings.sink, settings.binding.file_id).map_err(err)?;
        let mut copy_sql = String::from("copy ");
        Dialect::Postgres.quote_identifier(&settings.binding.target, &mut copy_sql);
        copy_sql.push_str(" (");
        for (i, f) in settings.binding.layout.fields().iter().enumerate() {
            if i > 0 {
                copy_sql.push_str(", ");
            }
            Dialect::Postgres.quote_identifier(&f.name, &mut copy_sql);
        }
        copy_sql.push_str(") from stdin");
        let mut pg = PgClient {
            settings,
            client,
            statements: HashMap::new(),
            save: None,
            copy_sql,
            copy_buf: Vec::new(),
        };
        if pg.settings.create_tables {
            let sql = crate::sql::create_table_sql(
                Dialect::Postgres,
                &pg.settings.binding.target,
                &pg.settings.binding.layout,
            );
            pg.client
                .batch_execute(&sql)
                .map_err(|e| SinkError::Database {
                    sink: pg.settings.sink.clone(),
                    message: format!(
                        "creating table {}: {}",
                        pg.settings.binding.target,
                        describe(&e)
                    ),
                })?;
        }
        Ok(pg)
    }

    fn statement(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
    ) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(&id) {
            return Ok(s.clone());
        }
        let text = sql();
        let stmt = self.client.prepare(&text).map_err(|e| {
            let mut d = db_error(e);
            d.message = format!("{} in `{text}`", d.message);
            d
        })?;
        self.statements.insert(id, stmt.clone());
        Ok(stmt)
    }
}

/// A new session: UTC, the checkpoint table (the lock is taken apart, once
/// the session it replaces is gone).
fn session(settings: &Settings) -> Result<Client, DbError> {
    // The error, not the string: it may hold a password.
    let mut client = Client::connect(&settings.connection, NoTls).map_err(|e| {
        let mut d = db_error(e);
        d.message = format!("connecting: {}", d.message);
        d
    })?;
    client
        .batch_execute("set time zone 'UTC'")
        .map_err(db_error)?;
    client.batch_execute(CHECKPOINT_TABLE).map_err(db_error)?;
    Ok(client)
}

/// Takes the session's advisory lock of the sink and file id: one
/// extraction at a time. It also waits out the server session of an
/// extraction that was just killed, whose last commit may still be in
/// flight: the checkpoint is read only once that session has ended.
fn hold_consumer_lock(client: &mut Client, sink: &str, file_id: u16) -> Result<(), DbError> {
    let consumer = format!("{sink}.{file_id}");
    client
        .batch_execute("set lock_timeout = '60s'")
        .map_err(db_error)?;
    let locked = client.execute(
        "select pg_advisory_lock(hashtextextended($1, 0))",
        &[&consumer],
    );
    client
        .batch_execute("set lock_timeout = 0")
        .map_err(db_error)?;
    locked.map(|_| ()).map_err(|e| {
        let mut d = db_error(e);
        d.message = format!(
            "another drx extract holds {consumer} (waited 60 s for its PostgreSQL advisory lock): {}",
            d.message
        );
        d
    })
}

fn params<'v>(values: &'v [Text<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Appends `v` to a COPY text row.
fn copy_value(v: &ValueRef<'_>, out: &mut Vec<u8>) {
    match *v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        ValueRef::Float(f) => {
            out.extend_from_slice(float_text(f, &mut ryu::Buffer::new()).as_bytes())
        }
        ValueRef::Text(t) => {
            let mut from = 0;
            for (i, &b) in t.iter().enumerate() {
                let escaped: &[u8] = match b {
                    b'\\' => b"\\\\",
                    b'\n' => b"\\n",
                    b'\r' => b"\\r",
                    b'\t' => b"\\t",
                    _ => continue,
                };
                out.extend_from_slice(&t[from..i]);
                out.extend_from_slice(escaped);
                from = i + 1;
            }
            out.extend_from_slice(&t[from..]);
        }
    }
}

impl Backend for PgClient {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn max_rows(&self, params_per_row: usize) -> usize {
        (u16::MAX as usize / params_per_row.max(1)).min(1024)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.client.batch_execute("begin").map_err(db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.client.batch_execute("commit").map_err(db_error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.client.batch_execute("rollback").map_err(db_error)
    }

    fn execute(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<u64, DbError> {
        let stmt = self.statement(id, sql)?;
        let texts: Vec<Text<'_>> = values.iter().map(|v| Text(*v)).collect();
        self.client
            .execute(&stmt, &params(&texts))
            .map_err(db_error)
    }

    fn query_numbers(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<Vec<i64>, DbError> {
        let stmt = self.statement(id, sql)?;
        let texts: Vec<Text<'_>> = values.iter().map(|v| Text(*v)).collect();
        let rows = self
            .client
            .query(&stmt, &params(&texts))
            .map_err(db_error)?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<_, i32>(0).ok().map(i64::from))
            .collect())
    }

    fn bulk_insert(
        &mut self,
        columns: usize,
        values: &[ValueRef<'_>],
    ) -> Option<Result<u64, DbError>> {
        let mut buf = std::mem::take(&mut self.copy_buf);
        buf.clear();
        tab_separated(values, columns, &mut buf, copy_value);
        let result = (|| {
            let mut writer = self
                .client
                .copy_in(self.copy_sql.as_str())
                .map_err(db_error)?;
            writer.write_all(&buf).map_err(|e| DbError {
                failure: Failure::Connection,
                message: format!("sending COPY data: {e}"),
                column: None,
            })?;
            writer.finish().map_err(db_error)
        })();
        self.copy_buf = buf;
        Some(result)
    }

    fn read_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, DbError> {
        let row = self
            .client
            .query_opt(
                "select epoch, applied, resume from drx_checkpoint where sink = $1 and file_id = $2",
                &[&self.settings.sink, &i32::from(self.settings.binding.file_id)],
            )
            .map_err(db_error)?;
        Ok(row.map(|r| StoredCheckpoint {
            epoch: r.get::<_, i64>(0) as u64,
            checkpoint: Checkpoint {
                applied: r.get::<_, i64>(1) as u64,
                resume: r.get::<_, i64>(2) as u64,
            },
        }))
    }

    fn save_checkpoint(&mut self, stored: StoredCheckpoint) -> Result<(), DbError> {
        let stmt = match &self.save {
            Some(s) => s.clone(),
            None => {
                let s = self
                    .client
                    .prepare(
                        "insert into drx_checkpoint (sink, file_id, epoch, applied, resume)
                         values ($1, $2, $3, $4, $5)
                         on conflict (sink, file_id) do update set epoch = excluded.epoch,
                           applied = excluded.applied, resume = excluded.resume",
                    )
                    .map_err(db_error)?;
                self.save = Some(s.clone());
                s
            }
        };
        self.client
            .execute(
                &stmt,
                &[
                    &self.settings.sink,
                    &i32::from(self.settings.binding.file_id),
                    &(stored.epoch as i64),
                    &(stored.checkpoint.applied as i64),
                    &(stored.checkpoint.resume as i64),
                ],
            )
            .map(|_| ())
            .map_err(db_error)
    }

    fn reconnect(&mut self) -> Result<(), DbError> {
        let fresh = session(&self.settings)?;
        // The old session goes first: it may still hold the lock.
        drop(std::mem::replace(&mut self.client, fresh));
        hold_consumer_lock(
            &mut self.client,
            &self.settings.sink,
            self.settings.binding.file_id,
        )?;
        self.statements.clear();
        self.save = None;
        Ok(())
    }

    fn probe_field(
        &mut self,
        values: &[ValueRef<'_>],
        fields: &[Option<usize>],
    ) -> Result<Option<usize>, DbError> {
        let mut table = String::new();
        Dialect::Postgres.quote_identifier(&self.settings.binding.target, &mut table);
        for (value, field) in values.iter().zip(fields) {
            let Some(f) = *field else { continue };
            let name = &self.settings.binding.layout.fields()[f].name;
            let ty = self
                .client
                .query_opt(
                    "select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                     where a.attrelid = $1::text::regclass and a.attname = $2 and a.attnum > 0 and not a.attisdropped",
                    &[&table, name],
                )
                .map_err(db_error)?;
            let Some(ty) = ty.map(|r| r.get::<_, String>(0)) else {
                continue;
            };
            // A cast to a character type cuts silently where storing it
            // fails: compare lengths instead.
            if let Some(len) = character_length(&ty) {
                let ValueRef::Text(t) = value else { continue };
                if String::from_utf8_lossy(t).chars().count() > len {
                    return Ok(Some(f));
                }
                continue;
            }
            // `ty` is the server's own spelling of a type name.
            let probe = self
                .client
                .execute(&format!("select $1::{ty}"), &[&Text(*value)]);
            if let Err(e) = probe {
                match failure(&e) {
                    Failure::Data => return Ok(Some(f)),
                    Failure::Connection => return Err(db_error(e)),
                    Failure::Other => {}
                }
            }
        }
        Ok(None)
    }
}

/// The `n` of `character varying(n)` or `character(n)`.
fn character_length(ty: &str) -> Option<usize> {
    let rest = ty
        .strip_prefix("character varying(")
        .or_else(|| ty.strip_prefix("character("))?;
    rest.strip_suffix(')')?.parse().ok()
}
