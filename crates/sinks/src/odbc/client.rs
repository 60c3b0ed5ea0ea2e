//! An ODBC connection as the SQL engine drives it.

use crate::sql::Settings;
use crate::sql::backend::{
    Backend, DbError, Failure, StatementId, StoredCheckpoint, ValueRef, float_text,
};
use crate::{Checkpoint, SinkError};
use drx_templates::Dialect;
use odbc_api::handles::StatementConnection;
use odbc_api::parameter::VarWCharSlice;
use odbc_api::{
    Connection, ConnectionOptions, ConnectionTransitions, Cursor, Prepared, SharedConnection,
};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The checkpoint table: one row per sink and file id (no `if not
/// exists`: it is created when a query on it fails).
const CHECKPOINT_TABLE: &str = "create table drx_checkpoint (
    sink varchar(255) not null,
    file_id integer not null,
    epoch bigint not null,
    applied bigint not null,
    resume bigint not null,
    primary key (sink, file_id)
)";

/// Touches the checkpoint row: waits out the commit in flight of an
/// extraction that was just killed (its transaction holds the row).
const TOUCH: &str = "update drx_checkpoint set applied = applied where sink = ? and file_id = ?";

const READ: &str =
    "select epoch, applied, resume from drx_checkpoint where sink = ? and file_id = ?";

/// The compare-and-set of the checkpoint row.
const MOVE: &str = "update drx_checkpoint set epoch = ?, applied = ?, resume = ? \
                    where sink = ? and file_id = ? and applied = ?";

const INSERT: &str =
    "insert into drx_checkpoint (sink, file_id, epoch, applied, resume) values (?, ?, ?, ?, ?)";

/// A statement prepared on the connection it keeps alive.
type Statement = Prepared<StatementConnection<SharedConnection<'static>>>;

/// How bad an ODBC error is: by SQLSTATE class, else by whether the
/// driver says the connection is gone.
fn failure(state: &str, dead: impl FnOnce() -> bool) -> Failure {
    match state {
        s if s.starts_with("08") => Failure::Connection,
        // PostgreSQL's administrator shutdown, crash shutdown, cannot connect now.
        "57P01" | "57P02" | "57P03" => Failure::Connection,
        s if s.starts_with("22") || s.starts_with("23") => Failure::Data,
        // HY000 and friends: a closed socket shows only as a dead connection.
        _ if dead() => Failure::Connection,
        _ => Failure::Other,
    }
}

/// The SQLSTATE and message of an ODBC error; the message is the
/// server's, on one line, without the driver's boilerplate.
fn state_and_message(e: &odbc_api::Error) -> (String, String) {
    match e {
        odbc_api::Error::Diagnostics { record, .. } => {
            let text = String::from_utf8_lossy(&record.message);
            let message = text
                .lines()
                .map(|l| l.trim().trim_end_matches(';').trim_end())
                .filter(|l| !l.is_empty() && !l.starts_with("Error while executing the query"))
                .collect::<Vec<_>>()
                .join(" ");
            (record.state.as_str().to_owned(), message)
        }
        other => (String::new(), other.to_string().replace('\n', " ")),
    }
}

/// A database error, classified; `conn` tells whether the connection died.
fn db_error(e: &odbc_api::Error, conn: Option<&Connection<'_>>) -> DbError {
    let (state, message) = state_and_message(e);
    let failure = failure(&state, || {
        conn.is_some_and(|c| c.is_dead().unwrap_or(false))
    });
    DbError {
        failure,
        message: if state.is_empty() {
            message
        } else {
            format!("{message} (SQLSTATE {state})")
        },
        column: None,
    }
}

fn other(message: String) -> DbError {
    DbError {
        failure: Failure::Other,
        message,
        column: None,
    }
}

/// The values of a connection string's password attributes, to be cut
/// from any message that might echo them.
fn secrets(connection_string: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = connection_string;
    while !rest.is_empty() {
        let (key, after) = match rest.split_once('=') {
            Some(kv) => kv,
            None => break,
        };
        // A value in braces may hold `;` (`}}` is a brace).
        let (value, next) = if let Some(braced) = after.trim_start().strip_prefix('{') {
            let mut end = None;
            let bytes = braced.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'}' {
                    if bytes.get(i + 1) == Some(&b'}') {
                        i += 2;
                        continue;
                    }
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            match end {
                Some(e) => {
                    let after_brace = &braced[e + 1..];
                    let next = after_brace.split_once(';').map_or("", |(_, n)| n);
                    (braced[..e].replace("}}", "}"), next)
                }
                None => (braced.to_owned(), ""),
            }
        } else {
            match after.split_once(';') {
                Some((v, n)) => (v.to_owned(), n),
                None => (after.to_owned(), ""),
            }
        };
        let key = key.trim().to_ascii_lowercase();
        if matches!(key.as_str(), "pwd" | "password") && !value.trim().is_empty() {
            found.push(value.trim().to_owned());
            found.push(value);
        }
        rest = next;
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// The UTF-16 text of each value of one statement: text goes as wide
/// characters, which every Unicode driver takes whatever the locale.
#[derive(Default)]
struct WideValues {
    units: Vec<u16>,
    spans: Vec<Option<Range<usize>>>,
}

impl WideValues {
    fn fill(&mut self, values: &[ValueRef<'_>]) -> Result<(), DbError> {
        self.units.clear();
        self.spans.clear();
        for v in values {
            let start = self.units.len();
            match *v {
                ValueRef::Null => {
                    self.spans.push(None);
                    continue;
                }
                ValueRef::Int(i) => self
                    .units
                    .extend(itoa::Buffer::new().format(i).encode_utf16()),
                ValueRef::Float(f) => self
                    .units
                    .extend(float_text(f, &mut ryu::Buffer::new()).encode_utf16()),
                ValueRef::Text(t) => {
                    let s = std::str::from_utf8(t).map_err(|e| DbError {
                        failure: Failure::Data,
                        message: format!("a text value is not UTF-8: {e}"),
                        column: None,
                    })?;
                    self.units.extend(s.encode_utf16());
                }
            }
            self.spans.push(Some(start..self.units.len()));
        }
        Ok(())
    }

    fn params(&self) -> Vec<VarWCharSlice<'_>> {
        self.spans
            .iter()
            .map(|s| match s {
                Some(r) => VarWCharSlice::new(&self.units[r.clone()]),
                None => VarWCharSlice::NULL,
            })
            .collect()
    }
}

/// An ODBC session in manual-commit mode.
pub(super) struct OdbcClient {
    settings: Settings,
    /// The sink's name in UTF-16, for the checkpoint row.
    sink_wide: Vec<u16>,
    conn: SharedConnection<'static>,
    statements: HashMap<StatementId, Statement>,
    values: WideValues,
    /// `applied` of the checkpoint row as this client last read or wrote
    /// it (`Some(None)`: no row; `None`: not read yet): the compare of the
    /// compare-and-set.
    known: Option<Option<u64>>,
    /// `applied` written in the open transaction.
    pending: Option<u64>,
    /// `applied` of a commit whose outcome is unknown (the connection went).
    in_doubt: Option<u64>,
}

impl OdbcClient {
    /// Connects and creates the tables as asked.
    pub fn open(settings: Settings) -> Result<OdbcClient, SinkError> {
        let err = |e: DbError| SinkError::Database {
            sink: settings.sink.clone(),
            message: e.message,
        };
        let conn = session(&settings).map_err(err)?;
        let client = OdbcClient {
            sink_wide: settings.sink.encode_utf16().collect(),
            settings,
            conn,
            statements: HashMap::new(),
            values: WideValues::default(),
            known: None,
            pending: None,
            in_doubt: None,
        };
        if client.settings.create_tables {
            client.create_target().map_err(|e| SinkError::Database {
                sink: client.settings.sink.clone(),
                message: format!(
                    "creating table {}: {}",
                    client.settings.binding.target, e.message
                ),
            })?;
        }
        Ok(client)
    }

    fn lock(&self) -> MutexGuard<'_, Connection<'static>> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the target table from the layout when a query on it fails.
    fn create_target(&self) -> Result<(), DbError> {
        let binding = &self.settings.binding;
        let mut probe = String::from("select 0 from ");
        Dialect::Odbc.quote_identifier(&binding.target, &mut probe);
        probe.push_str(" where 1 = 0");
        let create = crate::sql::create_table_sql(Dialect::Odbc, &binding.target, &binding.layout);
        ensure_table(&self.lock(), &probe, &create)
    }

    fn statement(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
    ) -> Result<&mut Statement, DbError> {
        if !self.statements.contains_key(&id) {
            let text = sql();
            let stmt = Arc::clone(&self.conn).into_prepared(&text).map_err(|e| {
                let mut d = db_error(&e, Some(&self.lock()));
                d.message = format!("{} in `{text}`", d.message);
                d
            })?;
            self.statements.insert(id, stmt);
        }
        self.statements
            .get_mut(&id)
            .ok_or_else(|| other("internal: a prepared statement went missing".into()))
    }

    /// The message of a checkpoint row that moved under this extraction.
    fn moved(&self, expected: Option<u64>) -> DbError {
        other(format!(
            "another extraction of the same sink and file id {} moved the checkpoint (from {}); \
             this one stops without committing its batch: run one drx extract per sink and file id",
            self.settings.binding.file_id,
            expected.map_or_else(|| "no row".to_owned(), |a| format!("applied = {a}"))
        ))
    }
}

/// Runs `probe`; if it fails (not for the connection), runs `create`.
/// Each ends its transaction.
fn ensure_table(conn: &Connection<'_>, probe: &str, create: &str) -> Result<(), DbError> {
    let exists = |conn: &Connection<'_>| -> Result<bool, DbError> {
        let found = conn.execute(probe, (), None).map(|_| ());
        match found {
            Ok(()) => {
                conn.commit().map_err(|e| db_error(&e, Some(conn)))?;
                Ok(true)
            }
            Err(e) => {
                let d = db_error(&e, Some(conn));
                let _ = conn.rollback();
                if d.failure == Failure::Connection {
                    return Err(d);
                }
                Ok(false)
            }
        }
    };
    if exists(conn)? {
        return Ok(());
    }
    let created = conn
        .execute(create, (), None)
        .map(|_| ())
        .and_then(|()| conn.commit());
    if let Err(e) = created {
        let d = db_error(&e, Some(conn));
        let _ = conn.rollback();
        // Another extraction may have created it meanwhile.
        if d.failure != Failure::Connection && exists(conn)? {
            return Ok(());
        }
        return Err(d);
    }
    Ok(())
}

/// A new session: manual commit, the checkpoint table.
fn session(settings: &Settings) -> Result<SharedConnection<'static>, DbError> {
    let env = odbc_api::environment()
        .map_err(|e| other(format!("the ODBC environment: {}", state_and_message(&e).1)))?;
    let conn = env
        .connect_with_connection_string(&settings.connection, ConnectionOptions::default())
        .map_err(|e| {
            // The error, not the string, and the password cut even from
            // that: a driver may echo what it was given.
            let mut d = db_error(&e, None);
            for secret in secrets(&settings.connection) {
                d.message = d.message.replace(&secret, "***");
            }
            d.message = format!("connecting: {}", d.message);
            d
        })?;
    conn.set_autocommit(false)
        .map_err(|e| db_error(&e, Some(&conn)))?;
    ensure_table(
        &conn,
        "select 0 from drx_checkpoint where 1 = 0",
        CHECKPOINT_TABLE,
    )
    .map_err(|mut d| {
        d.message = format!("creating table drx_checkpoint: {}", d.message);
        d
    })?;
    Ok(Arc::new(Mutex::new(conn)))
}

/// The integer in the text of column `col` of `row`.
fn number(
    row: &mut odbc_api::CursorRow<'_>,
    col: u16,
    buf: &mut Vec<u8>,
) -> Result<Option<i64>, odbc_api::Error> {
    buf.clear();
    if !row.get_text(col, buf)? {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(buf);
    let text = text.trim();
    // A driver may show a decimal column as `5.0`.
    let whole = text.split_once('.').map_or(text, |(w, f)| {
        if f.bytes().all(|b| b == b'0') {
            w
        } else {
            text
        }
    });
    Ok(whole.parse().ok())
}

impl Backend for OdbcClient {
    fn dialect(&self) -> Dialect {
        Dialect::Odbc
    }

    fn max_rows(&self, _params_per_row: usize) -> usize {
        1
    }

    fn begin(&mut self) -> Result<(), DbError> {
        // Manual-commit mode: the first statement opens the transaction.
        self.pending = None;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        let conn = self.lock();
        let done = conn.commit().map_err(|e| db_error(&e, Some(&conn)));
        drop(conn);
        done?;
        if let Some(applied) = self.pending.take() {
            self.known = Some(Some(applied));
        }
        self.in_doubt = None;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        // A checkpoint written in this transaction means its commit failed:
        // whether it went through, the row says after reconnecting.
        if let Some(applied) = self.pending.take() {
            self.in_doubt = Some(applied);
        }
        let conn = self.lock();
        conn.rollback().map_err(|e| db_error(&e, Some(&conn)))
    }

    fn execute(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<u64, DbError> {
        let mut wide = std::mem::take(&mut self.values);
        let result = (|| {
            wide.fill(values)?;
            let params = wide.params();
            let stmt = self.statement(id, sql)?;
            let run = stmt.execute(&params[..]).map(drop);
            let counted = run.and_then(|()| stmt.row_count());
            counted
                .map(|n| n.unwrap_or(0) as u64)
                .map_err(|e| db_error(&e, Some(&self.lock())))
        })();
        self.values = wide;
        result
    }

    fn query_numbers(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<Vec<i64>, DbError> {
        let mut wide = std::mem::take(&mut self.values);
        let result = (|| {
            wide.fill(values)?;
            let params = wide.params();
            let stmt = self.statement(id, sql)?;
            let mut numbers = Vec::new();
            let fetched = (|| {
                let mut buf = Vec::new();
                if let Some(mut cursor) = stmt.execute(&params[..])? {
                    while let Some(mut row) = cursor.next_row()? {
                        if let Some(n) = number(&mut row, 1, &mut buf)? {
                            numbers.push(n);
                        }
                    }
                }
                Ok::<(), odbc_api::Error>(())
            })();
            fetched.map_err(|e| db_error(&e, Some(&self.lock())))?;
            Ok(numbers)
        })();
        self.values = wide;
        result
    }

    fn read_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, DbError> {
        let sink = VarWCharSlice::new(&self.sink_wide);
        let file_id = i32::from(self.settings.binding.file_id);
        let conn = self.lock();
        let read = (|| {
            conn.execute(TOUCH, (&sink, &file_id), None).map(drop)?;
            let mut stored = None;
            if let Some(mut cursor) = conn.execute(READ, (&sink, &file_id), None)? {
                let mut buf = Vec::new();
                if let Some(mut row) = cursor.next_row()? {
                    let mut col =
                        |c| number(&mut row, c, &mut buf).map(|n| n.unwrap_or(0).max(0) as u64);
                    let epoch = col(1)?;
                    let applied = col(2)?;
                    let resume = col(3)?;
                    stored = Some(StoredCheckpoint {
                        epoch,
                        checkpoint: Checkpoint { applied, resume },
                    });
                }
            }
            conn.commit()?;
            Ok::<_, odbc_api::Error>(stored)
        })();
        let stored = match read {
            Ok(s) => s,
            Err(e) => {
                let d = db_error(&e, Some(&conn));
                let _ = conn.rollback();
                return Err(d);
            }
        };
        drop(conn);
        let applied = stored.map(|s| s.checkpoint.applied);
        match self.known {
            None => self.known = Some(applied),
            // The commit that lost its connection went through.
            Some(_) if applied.is_some() && applied == self.in_doubt => {
                self.known = Some(applied);
            }
            // Unchanged, or moved by another extraction: then the next
            // compare-and-set fails.
            Some(_) => {}
        }
        self.in_doubt = None;
        Ok(stored)
    }

    fn save_checkpoint(&mut self, stored: StoredCheckpoint) -> Result<(), DbError> {
        let expected = self.known.flatten();
        let sink = VarWCharSlice::new(&self.sink_wide);
        let file_id = i32::from(self.settings.binding.file_id);
        let epoch = stored.epoch as i64;
        let applied = stored.checkpoint.applied as i64;
        let resume = stored.checkpoint.resume as i64;
        let conn = self.lock();
        let written = (|| {
            let mut stmt = conn.preallocate()?;
            match expected {
                Some(prev) => {
                    let prev = prev as i64;
                    let params = (&epoch, &applied, &resume, &sink, &file_id, &prev);
                    drop(stmt.execute(MOVE, params)?);
                    if stmt.row_count()? != Some(0) {
                        return Ok(true);
                    }
                    // A driver that counts changed rather than found rows
                    // says 0 for a write of the same values.
                    if prev != applied {
                        return Ok(false);
                    }
                    let mut now = None;
                    if let Some(mut cursor) = conn.execute(READ, (&sink, &file_id), None)?
                        && let Some(mut row) = cursor.next_row()?
                    {
                        now = number(&mut row, 2, &mut Vec::new())?;
                    }
                    Ok(now == Some(applied))
                }
                None => {
                    let params = (&sink, &file_id, &epoch, &applied, &resume);
                    drop(stmt.execute(INSERT, params)?);
                    Ok(true)
                }
            }
        })();
        let written = written.map_err(|e| db_error(&e, Some(&conn)));
        drop(conn);
        match written {
            Ok(true) => {
                self.pending = Some(stored.checkpoint.applied);
                Ok(())
            }
            Ok(false) => Err(self.moved(expected)),
            // Another extraction inserted the row first.
            Err(d) if d.failure == Failure::Data && expected.is_none() => {
                let mut moved = self.moved(expected);
                moved.message = format!("{} ({})", moved.message, d.message);
                Err(moved)
            }
            Err(d) => Err(d),
        }
    }

    fn reconnect(&mut self) -> Result<(), DbError> {
        let fresh = session(&self.settings)?;
        // The statements hold the old connection: they go first.
        self.statements.clear();
        let old = std::mem::replace(&mut self.conn, fresh);
        if let Ok(conn) = old.lock() {
            let _ = conn.rollback();
        }
        drop(old);
        self.pending = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_by_sqlstate_class() {
        assert_eq!(failure("08S01", || false), Failure::Connection);
        assert_eq!(failure("08001", || false), Failure::Connection);
        assert_eq!(failure("57P01", || false), Failure::Connection);
        assert_eq!(failure("22001", || true), Failure::Data);
        assert_eq!(failure("23505", || false), Failure::Data);
        assert_eq!(failure("42P01", || false), Failure::Other);
        assert_eq!(failure("HY000", || false), Failure::Other);
        assert_eq!(failure("HY000", || true), Failure::Connection);
    }

    #[test]
    fn password_values_are_found_plain_and_braced() {
        assert_eq!(
            secrets("Driver={PostgreSQL Unicode};Server=h;PWD=hunter2;Uid=u"),
            ["hunter2", "hunter2"]
        );
        assert_eq!(
            secrets("DSN=x; Password = {a;b}}c} ;UID=u"),
            ["a;b}c", "a;b}c"]
        );
        assert!(secrets("DSN=x;UID=u").is_empty());
        assert!(secrets("garbage without pairs").is_empty());
    }

    #[test]
    fn values_go_as_utf16_text() {
        let mut wide = WideValues::default();
        wide.fill(&[
            ValueRef::Int(-42),
            ValueRef::Null,
            ValueRef::Float(0.1),
            ValueRef::Text("caf\u{e9} \u{65e5}".as_bytes()),
            ValueRef::Text(b""),
        ])
        .unwrap();
        let text: Vec<Option<String>> = wide
            .spans
            .iter()
            .map(|s| {
                s.clone()
                    .map(|r| String::from_utf16(&wide.units[r]).unwrap())
            })
            .collect();
        assert_eq!(
            text,
            [
                Some("-42".into()),
                None,
                Some("0.1".into()),
                Some("caf\u{e9} \u{65e5}".into()),
                Some(String::new())
            ]
        );
        assert_eq!(wide.params().len(), 5);
        let bad = wide.fill(&[ValueRef::Text(&[0xff])]).unwrap_err();
        assert_eq!(bad.failure, Failure::Data);
    }
}
