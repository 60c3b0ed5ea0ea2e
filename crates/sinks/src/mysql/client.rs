//! The MySQL / MariaDB connection as the SQL engine drives it: mysql_async
//! on a tokio current-thread runtime of its own, each call run to its end
//! with `block_on` (the sink is synchronous).

use crate::sql::Settings;
use crate::sql::backend::{
    Backend, DbError, Failure, StatementId, StoredCheckpoint, ValueRef, tab_separated,
};
use crate::{Binding, Checkpoint, SinkError};
use bytes::Bytes;
use drx_templates::Dialect;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, IoError, Opts, OptsBuilder, Params, Row, Statement, Value};
use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::Runtime;

/// The checkpoint table: one row per sink and file id.
const CHECKPOINT_TABLE: &str = "create table if not exists drx_checkpoint (
    sink varchar(255) not null,
    file_id int not null,
    epoch bigint not null,
    applied bigint not null,
    resume bigint not null,
    primary key (sink, file_id)
) engine = InnoDB default charset = utf8mb4";

/// Strict: a value the column cannot hold is an error, never a warning
/// with a clipped or zero value.
const SQL_MODE: &str = "set session sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

/// How long connecting may take before it counts as a failed attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait for the lock of another extraction of the same sink
/// and file id (MySQL's `GET_LOCK` timeout, seconds).
const LOCK_WAIT_SECS: u32 = 60;

/// Server errors after which the connection is gone (or the transaction
/// was rolled back by the server and may be run again on a new one):
/// shutdown, killed, gone away, lost, aborted, too many connections,
/// deadlock, disconnected for inactivity.
const CONNECTION_CODES: [u16; 9] = [1040, 1053, 1152, 1213, 1927, 2006, 2013, 4031, 1184];

/// Server errors about the values of a statement: NULL into NOT NULL,
/// duplicate key, out of range, truncated, bad date-time or number, bad
/// string, too long, foreign keys, check constraints.
const DATA_CODES: [u16; 22] = [
    1022, 1048, 1062, 1216, 1217, 1263, 1264, 1265, 1292, 1300, 1364, 1366, 1367, 1406, 1411, 1451,
    1452, 1557, 1586, 1690, 3819, 4025,
];

/// Server errors that refuse `LOAD DATA LOCAL` itself (`local_infile` is
/// off): "not allowed with this version" (MySQL 5), "loading local data is
/// disabled" (MySQL 8), "… disabled the local infile capability" (MariaDB).
const LOAD_DATA_REFUSED: [u16; 3] = [1148, 3948, 4166];

/// How bad a MySQL error is.
fn failure(e: &mysql_async::Error) -> Failure {
    match e {
        mysql_async::Error::Io(_) => Failure::Connection,
        mysql_async::Error::Driver(
            DriverError::ConnectionClosed | DriverError::PacketOutOfOrder,
        ) => Failure::Connection,
        mysql_async::Error::Server(s) if CONNECTION_CODES.contains(&s.code) => Failure::Connection,
        mysql_async::Error::Server(s)
            if DATA_CODES.contains(&s.code)
                || s.state.starts_with("22")
                || s.state.starts_with("23") =>
        {
            Failure::Data
        }
        _ => Failure::Other,
    }
}

/// The server's message and code, or the client's; never the URL.
fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} (MySQL error {})", s.message, s.code),
        mysql_async::Error::Io(IoError::Io(io)) => format!("I/O error: {io}"),
        mysql_async::Error::Driver(d) => d.to_string(),
        mysql_async::Error::Url(u) => format!("the connection URL: {u}"),
        e => e.to_string(),
    }
}

fn db_error(e: mysql_async::Error) -> DbError {
    let message = describe(&e);
    DbError {
        failure: failure(&e),
        column: match &e {
            mysql_async::Error::Server(s) => column_of(&s.message),
            _ => None,
        },
        message,
    }
}

/// The column a server message names: the last identifier of the last
/// `column 'x'` or ``column `db`.`t`.`x` `` in it.
fn column_of(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let mut end = lower.len();
    while let Some(at) = lower[..end].rfind("column ") {
        end = at;
        if let Some(name) = quoted_path(&message[at + "column ".len()..]) {
            return Some(name);
        }
    }
    None
}

/// The last part of `'a'`, `` `a`.`b` `` or `` `a`.`b`.`c` `` at the start of `s`.
fn quoted_path(s: &str) -> Option<String> {
    let mut rest = s;
    loop {
        let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '`'))?;
        let mut name = String::new();
        let mut chars = rest[1..].char_indices();
        let mut after = None;
        while let Some((i, c)) = chars.next() {
            if c == quote {
                // A doubled quote is one quote of the name.
                if rest[1 + i + 1..].starts_with(quote) {
                    name.push(quote);
                    chars.next();
                    continue;
                }
                after = Some(1 + i + 1);
                break;
            }
            name.push(c);
        }
        rest = &rest[after?..];
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => return Some(name),
        }
    }
}

/// A MySQL session holding the `GET_LOCK` lock of its sink and file id.
pub(super) struct MyClient {
    settings: Settings,
    /// The password of the URL, cut out of every message.
    password: Option<String>,
    opts: Opts,
    /// The lock's name: `drx.<sink>.<file_id>`.
    lock: String,
    /// `None` once dropped for a new one.
    conn: Option<Conn>,
    /// The server's `max_allowed_packet`: one statement's size at most.
    max_packet: usize,
    /// The most bytes a row of values may take in a statement.
    row_bytes: usize,
    runtime: Runtime,
    statements: HashMap<StatementId, Statement>,
    read: Option<Statement>,
    save: Option<Statement>,
    /// `load data local infile … into table T (…)`.
    load_sql: String,
    /// Whether the server takes `LOAD DATA LOCAL` (until it refuses it).
    load_data: bool,
}

/// The one connection of a client, or the error that makes the engine
/// connect again.
fn live(conn: &mut Option<Conn>) -> Result<&mut Conn, DbError> {
    conn.as_mut().ok_or_else(|| DbError {
        failure: Failure::Connection,
        message: "not connected".into(),
        column: None,
    })
}

impl MyClient {
    /// Connects, takes the lock, creates the table as asked.
    pub fn open(settings: Settings) -> Result<MyClient, SinkError> {
        let sink = settings.sink.clone();
        let err = |e: DbError| SinkError::Database {
            sink: sink.clone(),
            message: e.message,
        };
        let opts = Opts::from_url(&settings.connection).map_err(|e| {
            err(DbError {
                failure: Failure::Other,
                message: format!("the connection URL: {e}"),
                column: None,
            })
        })?;
        let password = opts.pass().filter(|p| !p.is_empty()).map(str::to_owned);
        let opts: Opts = OptsBuilder::from_opts(opts)
            // UPDATE reports the rows it matched, not those it changed:
            // the engine checks the counts.
            .client_found_rows(true)
            // Statements are kept here, per statement id, for the life of
            // the connection; the driver's cache would close them.
            .stmt_cache_size(0)
            .into();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SinkError::Database {
                sink: sink.clone(),
                message: format!("starting the MySQL client's runtime: {e}"),
            })?;
        let lock = lock_name(&settings.sink, settings.binding.file_id);
        let load_sql = load_sql(&settings.binding);
        // Text may grow to twice its bytes (ISO-8859-1 as UTF-8); each
        // value has a type, a length and some slack.
        let layout = &settings.binding.layout;
        let row_bytes = 2 * layout.record_len() + 16 * layout.fields().len();
        let mut my = MyClient {
            settings,
            password,
            opts,
            lock,
            conn: None,
            max_packet: 4 << 20,
            row_bytes,
            runtime,
            statements: HashMap::new(),
            read: None,
            save: None,
            load_sql,
            load_data: true,
        };
        my.connect().map_err(|e| err(my.scrub(e)))?;
        if my.settings.create_tables {
            let sql = crate::sql::create_table_sql(
                Dialect::MySql,
                &my.settings.binding.target,
                &my.settings.binding.layout,
            );
            let conn = live(&mut my.conn).map_err(err)?;
            my.runtime.block_on(conn.query_drop(sql)).map_err(|e| {
                let e = my.scrub(db_error(e));
                SinkError::Database {
                    sink: sink.clone(),
                    message: format!(
                        "creating table {}: {}",
                        my.settings.binding.target, e.message
                    ),
                }
            })?;
        }
        Ok(my)
    }

    /// `e` with the password cut out of its message.
    fn scrub(&self, mut e: DbError) -> DbError {
        if let Some(p) = &self.password {
            e.message = e.message.replace(p.as_str(), "***");
        }
        e
    }

    /// A new session (strict, UTC, utf8mb4, the checkpoint table) that
    /// holds the lock. The old one, if any, is closed first: it may hold
    /// the lock.
    fn connect(&mut self) -> Result<(), DbError> {
        // Dropped outside the runtime, the connection closes its socket at
        // once (inside, it would wait for a task that never runs).
        self.conn = None;
        self.statements.clear();
        self.read = None;
        self.save = None;
        let opts = self.opts.clone();
        let lock = self.lock.clone();
        let conn = self.runtime.block_on(async move {
            let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
                Ok(conn) => conn.map_err(|e| {
                    let mut d = db_error(e);
                    d.message = format!("connecting: {}", d.message);
                    d
                })?,
                Err(_) => {
                    return Err(DbError {
                        failure: Failure::Connection,
                        message: format!(
                            "connecting: no answer in {} s",
                            CONNECT_TIMEOUT.as_secs()
                        ),
                        column: None,
                    });
                }
            };
            for sql in [
                "set names utf8mb4",
                SQL_MODE,
                "set time_zone = '+00:00'",
                CHECKPOINT_TABLE,
            ] {
                conn.query_drop(sql).await.map_err(db_error)?;
            }
            let max_packet: Option<u64> = conn
                .query_first("select @@max_allowed_packet")
                .await
                .map_err(db_error)?;
            hold_consumer_lock(&mut conn, &lock).await?;
            Ok((conn, max_packet))
        });
        let (conn, max_packet) = conn.map_err(|e| self.scrub(e))?;
        if let Some(p) = max_packet {
            self.max_packet = usize::try_from(p).unwrap_or(usize::MAX);
        }
        self.conn = Some(conn);
        Ok(())
    }

    /// Statement `id`, prepared from `sql()` the first time.
    fn statement(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
    ) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(&id) {
            return Ok(s.clone());
        }
        let text = sql();
        let conn = live(&mut self.conn)?;
        let stmt = self.runtime.block_on(conn.prep(&text)).map_err(|e| {
            let mut d = db_error(e);
            d.message = format!("{} in `{text}`", d.message);
            d
        })?;
        self.statements.insert(id, stmt.clone());
        Ok(stmt)
    }

    /// Runs a statement without parameters (text protocol).
    fn simple(&mut self, sql: &'static str) -> Result<(), DbError> {
        let conn = live(&mut self.conn)?;
        self.runtime
            .block_on(conn.query_drop(sql))
            .map_err(db_error)
            .map_err(|e| self.scrub(e))
    }
}

/// The name of the lock of a sink and file id: `drx.<sink>.<file_id>`, or,
/// past MySQL's 64 characters, `drx.` and a hash of that.
fn lock_name(sink: &str, file_id: u16) -> String {
    let name = format!("drx.{sink}.{file_id}");
    if name.len() <= 64 {
        return name;
    }
    // FNV-1a: the same name gives the same lock in every drx.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("drx.{hash:016x}.{file_id}")
}

/// Takes the session's `GET_LOCK` lock of the sink and file id: one
/// extraction at a time. It also waits out the server session of an
/// extraction that was just killed, whose last commit may still be in
/// flight: the checkpoint is read only once that session has ended.
async fn hold_consumer_lock(conn: &mut Conn, lock: &str) -> Result<(), DbError> {
    let stmt = conn
        .prep(format!("select get_lock(?, {LOCK_WAIT_SECS})"))
        .await
        .map_err(db_error)?;
    let got: Option<Option<i64>> = conn.exec_first(&stmt, (lock,)).await.map_err(db_error)?;
    conn.close(stmt).await.map_err(db_error)?;
    match got.flatten() {
        Some(1) => Ok(()),
        _ => Err(DbError {
            failure: Failure::Other,
            message: format!(
                "another drx extract holds {lock} (waited {LOCK_WAIT_SECS} s for its MySQL lock)"
            ),
            column: None,
        }),
    }
}

/// The parameters of a statement.
fn params(values: &[ValueRef<'_>]) -> Params {
    if values.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        values
            .iter()
            .map(|v| match *v {
                ValueRef::Null => Value::NULL,
                ValueRef::Int(i) => Value::Int(i),
                ValueRef::Float(f) => Value::Double(f),
                ValueRef::Text(t) => Value::Bytes(t.to_vec()),
            })
            .collect(),
    )
}

/// `LOAD DATA LOCAL` of the binding's table, every field, in the default
/// format (tab-separated, backslash escapes, `\N` for NULL).
fn load_sql(binding: &Binding) -> String {
    let mut sql = String::from("load data local infile 'drx' into table ");
    Dialect::MySql.quote_identifier(&binding.target, &mut sql);
    sql.push_str(" character set utf8mb4 (");
    for (i, f) in binding.layout.fields().iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        Dialect::MySql.quote_identifier(&f.name, &mut sql);
    }
    sql.push(')');
    sql
}

/// Appends `v` to a `LOAD DATA` row.
fn load_value(v: &ValueRef<'_>, out: &mut Vec<u8>) {
    match *v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        ValueRef::Float(f) => out.extend_from_slice(ryu::Buffer::new().format(f).as_bytes()),
        ValueRef::Text(t) => {
            let mut from = 0;
            for (i, &b) in t.iter().enumerate() {
                let escaped: &[u8] = match b {
                    b'\\' => b"\\\\",
                    b'\n' => b"\\n",
                    b'\r' => b"\\r",
                    b'\t' => b"\\t",
                    0 => b"\\0",
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

/// A stream of one chunk: the data of a `LOAD DATA LOCAL`.
struct Once(Option<Bytes>);

impl futures_core::Stream for Once {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

impl Backend for MyClient {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    /// At most 65,535 markers (the protocol's limit), 1,024 rows, and half
    /// of `max_allowed_packet` at the largest rows the layout can give.
    fn max_rows(&self, params_per_row: usize) -> usize {
        (u16::MAX as usize / params_per_row.max(1))
            .min(1024)
            .min(self.max_packet / 2 / self.row_bytes.max(1))
            .max(1)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.simple("start transaction")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.simple("commit")
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.simple("rollback")
    }

    fn execute(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<u64, DbError> {
        let stmt = self.statement(id, sql)?;
        let conn = live(&mut self.conn)?;
        match self.runtime.block_on(conn.exec_drop(&stmt, params(values))) {
            Ok(()) => Ok(conn.affected_rows()),
            Err(e) => Err(self.scrub(db_error(e))),
        }
    }

    fn query_numbers(
        &mut self,
        id: StatementId,
        sql: &dyn Fn() -> String,
        values: &[ValueRef<'_>],
    ) -> Result<Vec<i64>, DbError> {
        let stmt = self.statement(id, sql)?;
        let conn = live(&mut self.conn)?;
        let rows: Vec<Row> = self
            .runtime
            .block_on(conn.exec(&stmt, params(values)))
            .map_err(|e| self.scrub(db_error(e)))?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get_opt::<i64, usize>(0).and_then(Result::ok))
            .collect())
    }

    /// `LOAD DATA LOCAL`. LOCAL implies IGNORE: a duplicate key is skipped
    /// and a bad value clipped, each with a warning. So any warning makes
    /// it a [`Failure::Data`] (and a skipped row a short count): the engine
    /// rolls back and goes the one-row way, which names the change.
    fn bulk_insert(
        &mut self,
        columns: usize,
        values: &[ValueRef<'_>],
    ) -> Option<Result<u64, DbError>> {
        if !self.load_data {
            return None;
        }
        let mut buf = Vec::with_capacity(values.len() * 16);
        tab_separated(values, columns, &mut buf, load_value);
        let conn = match live(&mut self.conn) {
            Ok(conn) => conn,
            Err(e) => return Some(Err(e)),
        };
        let data = Bytes::from(buf);
        conn.set_infile_handler(async move {
            let stream: mysql_async::InfileData = Box::pin(Once(Some(data)));
            Ok(stream)
        });
        let done = self
            .runtime
            .block_on(conn.query_drop(self.load_sql.as_str()));
        Some(match done {
            // A statement error leaves the transaction as it was: the
            // engine goes on with multi-row inserts, now and from now on.
            Err(mysql_async::Error::Server(e)) if LOAD_DATA_REFUSED.contains(&e.code) => {
                tracing::warn!(sink = %self.settings.sink, error = %e.message, "the server refuses LOAD DATA LOCAL INFILE; inserting with multi-row statements");
                self.load_data = false;
                return None;
            }
            Ok(()) if conn.get_warnings() > 0 => Err(DbError {
                failure: Failure::Data,
                message: format!(
                    "LOAD DATA: {} warnings (a value clipped or a key skipped)",
                    conn.get_warnings()
                ),
                column: None,
            }),
            Ok(()) => Ok(conn.affected_rows()),
            Err(e) => Err(self.scrub(db_error(e))),
        })
    }

    fn read_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, DbError> {
        let conn = live(&mut self.conn)?;
        let read = match &self.read {
            Some(s) => s.clone(),
            None => {
                let s = self
                    .runtime
                    .block_on(conn.prep(
                        "select epoch, applied, resume from drx_checkpoint where sink = ? and file_id = ?",
                    ))
                    .map_err(db_error)?;
                self.read = Some(s.clone());
                s
            }
        };
        let row: Option<(i64, i64, i64)> = self
            .runtime
            .block_on(conn.exec_first(
                &read,
                (
                    self.settings.sink.as_str(),
                    i32::from(self.settings.binding.file_id),
                ),
            ))
            .map_err(db_error)?;
        Ok(row.map(|(epoch, applied, resume)| StoredCheckpoint {
            epoch: epoch as u64,
            checkpoint: Checkpoint {
                applied: applied as u64,
                resume: resume as u64,
            },
        }))
    }

    fn save_checkpoint(&mut self, stored: StoredCheckpoint) -> Result<(), DbError> {
        let conn = live(&mut self.conn)?;
        let save = match &self.save {
            Some(s) => s.clone(),
            None => {
                let s = self
                    .runtime
                    .block_on(conn.prep(
                        "insert into drx_checkpoint (sink, file_id, epoch, applied, resume)
                         values (?, ?, ?, ?, ?)
                         on duplicate key update epoch = values(epoch),
                           applied = values(applied), resume = values(resume)",
                    ))
                    .map_err(db_error)?;
                self.save = Some(s.clone());
                s
            }
        };
        self.runtime
            .block_on(conn.exec_drop(
                &save,
                (
                    self.settings.sink.as_str(),
                    i32::from(self.settings.binding.file_id),
                    stored.epoch as i64,
                    stored.checkpoint.applied as i64,
                    stored.checkpoint.resume as i64,
                ),
            ))
            .map_err(db_error)
    }

    fn reconnect(&mut self) -> Result<(), DbError> {
        self.connect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_in_server_messages() {
        assert_eq!(
            column_of("Out of range value for column 'err_number' at row 1").as_deref(),
            Some("err_number")
        );
        assert_eq!(
            column_of("Incorrect integer value: 'x' for column `test`.`t`.`amount` at row 1")
                .as_deref(),
            Some("amount")
        );
        assert_eq!(
            column_of(
                "Incorrect integer value: 'column `a`' for column `d`.`t``x`.`b``c` at row 2"
            )
            .as_deref(),
            Some("b`c")
        );
        assert_eq!(
            column_of("Column 'name' cannot be null").as_deref(),
            Some("name")
        );
        assert_eq!(column_of("Duplicate entry '5' for key 'PRIMARY'"), None);
    }

    #[test]
    fn lock_names_fit_mysql() {
        assert_eq!(lock_name("my", 200), "drx.my.200");
        let long = lock_name(&"x".repeat(100), 7);
        assert!(long.len() <= 64 && long.starts_with("drx.") && long.ends_with(".7"));
        assert_ne!(long, lock_name(&"y".repeat(100), 7));
    }
}
