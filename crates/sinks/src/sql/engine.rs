//! The engine of the SQL server sinks: one [`SqlSink`] over any
//! [`Backend`]. It applies each batch in one transaction with its
//! checkpoint row, in template or mapped mode, repairs or refuses
//! out-of-sync changes, names the change a server refuses, and reconnects
//! with backoff when the server goes away.

use super::backend::{Backend, DbError, Failure, StatementId, StoredCheckpoint, ValueRef};
use super::phases::{Phases, Route};
use super::statements;
use crate::batch::Prepared;
use crate::sql_values::{SqlPreparer, bind_all, missing_template};
use crate::{Batch, Binding, Checkpoint, Prepare, Repairs, Sink, SinkError};
use drx_templates::{Bound, ChangeOp, Dialect, Param, SqlTemplates, TextPart};
use std::time::{Duration, Instant};

/// How a SQL sink runs.
#[derive(Debug, Clone)]
pub(crate) struct SqlOptions {
    /// Mapped mode (generated statements) rather than the templates.
    pub mapped: bool,
    /// How long to keep reconnecting before giving up.
    pub reconnect_for: Duration,
    /// Inserts of at least this many rows go through the server's bulk path.
    pub bulk_min_rows: usize,
}

/// The most rows of a statement that finds rows by key (update, delete,
/// exists): few enough that the server looks each one up in the key's
/// index rather than scanning the table, whatever its statistics say.
const KEYED_ROWS: usize = 64;

/// Why an attempt to apply a batch stopped.
#[derive(Debug)]
enum Fail {
    /// A database error (the connection's, or another), with the change.
    Db(DbError, Option<(u64, ChangeOp)>),
    /// An error with everything said.
    Sink(SinkError),
    /// A multi-row statement failed or missed rows: redo one row at a time.
    Slow,
}

impl From<SinkError> for Fail {
    fn from(e: SinkError) -> Fail {
        Fail::Sink(e)
    }
}

/// A sink into a server database through a [`Backend`].
pub(crate) struct SqlSink<B: Backend> {
    name: String,
    binding: Binding,
    backend: B,
    templates: SqlTemplates,
    options: SqlOptions,
    /// Values bound here, for batches the reading side did not prepare.
    local: Prepared,
    /// Changes repaired so far (committed ones only).
    repairs: Repairs,
    phases: Phases,
}

impl<B: Backend> std::fmt::Debug for SqlSink<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the backend: its connection settings may hold a password.
        f.debug_struct("SqlSink")
            .field("name", &self.name)
            .field("file_id", &self.binding.file_id)
            .field("mapped", &self.options.mapped)
            .finish()
    }
}

impl<B: Backend> SqlSink<B> {
    pub fn new(
        name: String,
        binding: Binding,
        backend: B,
        options: SqlOptions,
    ) -> Result<Self, SinkError> {
        let templates = if options.mapped {
            SqlTemplates::defaults(&binding.layout)
        } else {
            SqlTemplates::load(&binding.templates_dir, binding.file_id, &binding.layout)?
        };
        Ok(SqlSink {
            name,
            binding,
            backend,
            templates,
            options,
            local: Prepared::default(),
            repairs: Repairs::default(),
            phases: Phases::default(),
        })
    }

    /// The error of a database failure, with the change it happened on.
    fn db_error(&self, e: DbError, at: Option<(u64, ChangeOp)>) -> SinkError {
        let message = match at {
            Some((seq, op)) => format!(
                "seq {seq} ({}, file id {}): {}",
                op.as_str(),
                self.binding.file_id,
                e.message
            ),
            None => e.message,
        };
        SinkError::Database {
            sink: self.name.clone(),
            message,
        }
    }

    /// Reconnects with backoff until it works or `reconnect_for` is spent.
    fn reconnect(&mut self, cause: &DbError) -> Result<(), SinkError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        tracing::warn!(sink = %self.name, error = %cause.message, "lost the database connection; reconnecting");
        loop {
            std::thread::sleep(delay);
            match self.backend.reconnect() {
                Ok(()) => {
                    tracing::info!(sink = %self.name, after_ms = started.elapsed().as_millis() as u64, "reconnected");
                    return Ok(());
                }
                Err(e) if e.failure == Failure::Connection => {
                    if started.elapsed() >= self.options.reconnect_for {
                        return Err(SinkError::Database {
                            sink: self.name.clone(),
                            message: format!(
                                "could not reconnect for {} s: {}",
                                self.options.reconnect_for.as_secs(),
                                e.message
                            ),
                        });
                    }
                    tracing::debug!(sink = %self.name, error = %e.message, "reconnect failed; retrying");
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(self.db_error(e, None)),
            }
        }
    }

    fn try_apply(&mut self, batch: &Batch) -> Result<Repairs, Fail> {
        let prepared = if batch.prepared.ready {
            &batch.prepared
        } else {
            bind_all(&mut self.local, batch, &self.templates, &self.binding)?;
            &self.local
        };
        let mut run = Run {
            backend: &mut self.backend,
            binding: &self.binding,
            templates: &self.templates,
            options: &self.options,
            batch,
            prepared,
            repairs: Repairs::default(),
        };
        let stored = StoredCheckpoint {
            epoch: self.binding.epoch,
            checkpoint: batch.checkpoint,
        };
        run.backend.begin().map_err(|e| Fail::Db(e, None))?;
        let done = if self.options.mapped {
            match run.mapped_fast(&mut self.phases) {
                Err(Fail::Slow) => {
                    let _ = run.backend.rollback();
                    run.repairs = Repairs::default();
                    run.backend.begin().map_err(|e| Fail::Db(e, None))?;
                    run.one_by_one()
                }
                other => other,
            }
        } else {
            run.one_by_one()
        };
        let finish = done.and_then(|()| {
            run.backend
                .save_checkpoint(stored)
                .map_err(|e| Fail::Db(e, None))?;
            run.backend.commit().map_err(|e| Fail::Db(e, None))
        });
        if let Err(e) = finish {
            let _ = run.backend.rollback();
            return Err(e);
        }
        Ok(run.repairs)
    }
}

impl<B: Backend> Sink for SqlSink<B> {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        loop {
            match self.backend.read_checkpoint() {
                Ok(stored) => return Ok(stored.map(|s| s.checkpoint)),
                Err(e) if e.failure == Failure::Connection => self.reconnect(&e)?,
                Err(e) => return Err(self.db_error(e, None)),
            }
        }
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let started = Instant::now();
        loop {
            match self.try_apply(batch) {
                Ok(repairs) => {
                    self.repairs.add(&repairs);
                    return Ok(());
                }
                Err(Fail::Db(e, at)) if e.failure == Failure::Connection => {
                    // A batch that loses the connection every time (a
                    // statement that brings the server down) is not retried
                    // for ever.
                    if started.elapsed() >= self.options.reconnect_for {
                        return Err(self.db_error(e, at));
                    }
                    self.reconnect(&e)?;
                    // The commit may have gone through before the connection
                    // did: the checkpoint row says.
                    match self.backend.read_checkpoint() {
                        Ok(Some(s))
                            if !batch.is_empty()
                                && s.checkpoint.applied >= batch.checkpoint.applied =>
                        {
                            tracing::info!(sink = %self.name, applied = s.checkpoint.applied, "the batch was committed before the connection was lost");
                            return Ok(());
                        }
                        Ok(_) => {}
                        Err(e) if e.failure == Failure::Connection => {}
                        Err(e) => return Err(self.db_error(e, None)),
                    }
                }
                Err(Fail::Db(e, at)) => return Err(self.db_error(e, at)),
                Err(Fail::Sink(e)) => return Err(e),
                Err(Fail::Slow) => {
                    return Err(SinkError::Config(
                        "internal: the one-row path asked for itself".into(),
                    ));
                }
            }
        }
    }

    fn commit(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn preparer(&self) -> Option<Box<dyn Prepare>> {
        Some(Box::new(SqlPreparer {
            templates: self.templates.clone(),
            binding: self.binding.clone(),
        }))
    }

    fn repairs(&self) -> Repairs {
        self.repairs
    }
}

/// One attempt at a batch.
struct Run<'a, B: Backend> {
    backend: &'a mut B,
    binding: &'a Binding,
    templates: &'a SqlTemplates,
    options: &'a SqlOptions,
    batch: &'a Batch,
    prepared: &'a Prepared,
    /// Repairs made in this attempt (they count once it commits).
    repairs: Repairs,
}

fn value_ref<'t>(bound: &Bound, text: &'t [u8]) -> ValueRef<'t> {
    match bound {
        Bound::Null => ValueRef::Null,
        Bound::Int(v) => ValueRef::Int(*v),
        Bound::Float(v) => ValueRef::Float(*v),
        Bound::Text(r) => ValueRef::Text(&text[r.clone()]),
    }
}

/// The statement of `route` for `rows` rows.
fn statement_id(route: Route, rows: usize) -> StatementId {
    match route {
        Route::Insert => StatementId::Insert(rows),
        Route::Upsert => StatementId::Upsert(rows),
        Route::Update => StatementId::Update(rows),
        Route::Delete => StatementId::Delete(rows),
        Route::Exists | Route::Skip => StatementId::Exists(rows),
    }
}

/// Sizes of the statements that carry `count` rows, at most `max` each:
/// powers of two, so that few distinct statements are ever prepared.
fn chunk_sizes(count: usize, max: usize) -> impl Iterator<Item = usize> {
    let cap = if max <= 1 {
        1
    } else {
        1 << (usize::BITS - 1 - max.leading_zeros())
    };
    let mut left = count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let size = if left >= cap {
            cap
        } else {
            1 << (usize::BITS - 1 - left.leading_zeros())
        };
        left -= size;
        Some(size)
    })
}

impl<'a, B: Backend> Run<'a, B> {
    fn fields(&self) -> usize {
        self.binding.layout.fields().len()
    }

    fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    /// Appends the values of change `k` for a statement of `route`.
    fn push_row(&self, k: usize, route: Route, out: &mut Vec<ValueRef<'a>>) {
        let text: &'a [u8] = &self.prepared.text;
        let bounds: &'a [Bound] = self.prepared.of(k);
        let n = self.fields();
        let key = self.binding.layout.key_fields();
        let op = self.batch.op_at(k);
        let ident = |out: &mut Vec<ValueRef<'a>>| match op {
            ChangeOp::Insert => out.extend(key.iter().map(|&i| value_ref(&bounds[i], text))),
            ChangeOp::Update => out.extend(bounds[n..].iter().map(|b| value_ref(b, text))),
            ChangeOp::Delete => out.extend(bounds.iter().map(|b| value_ref(b, text))),
        };
        match route {
            Route::Insert | Route::Upsert => {
                out.extend(bounds[..n].iter().map(|b| value_ref(b, text)));
            }
            Route::Update => {
                out.extend(bounds[..n].iter().map(|b| value_ref(b, text)));
                ident(out);
            }
            Route::Delete | Route::Exists => ident(out),
            Route::Skip => {}
        }
    }

    /// The field of each value of a row of `route`.
    fn row_fields(&self, route: Route) -> Vec<Option<usize>> {
        let n = self.fields();
        let key = self.binding.layout.key_fields().iter().map(|&k| Some(k));
        match route {
            Route::Insert | Route::Upsert => (0..n).map(Some).collect(),
            Route::Update => (0..n).map(Some).chain(key).collect(),
            Route::Delete | Route::Exists => key.collect(),
            Route::Skip => Vec::new(),
        }
    }

    /// The text of statement `id`, written only when the backend has not
    /// prepared it yet (once per connection, not per change).
    fn sql(&self) -> impl Fn(StatementId) -> String + 'a {
        let (d, binding, templates) = (self.dialect(), self.binding, self.templates);
        move |id| {
            let (t, l) = (binding.target.as_str(), &*binding.layout);
            match id {
                StatementId::Template(op) => templates
                    .get(op)
                    .map(|template| template.sql(d, t))
                    .unwrap_or_default(),
                StatementId::Insert(rows) => statements::insert(d, t, l, rows),
                StatementId::Upsert(rows) => statements::upsert(d, t, l, rows),
                StatementId::Update(rows) => statements::update(d, t, l, rows),
                StatementId::Delete(rows) => statements::delete(d, t, l, rows),
                StatementId::Exists(rows) => statements::exists(d, t, l, rows),
            }
        }
    }

    fn params_per_row(&self, route: Route) -> usize {
        let n = self.fields();
        let key = self.binding.layout.key_fields().len();
        match route {
            Route::Insert | Route::Upsert => n,
            Route::Update => n + key,
            Route::Delete | Route::Exists => key,
            Route::Skip => 0,
        }
    }

    /// Where a repaired change goes, given whether its row exists; counts it.
    fn repair(&mut self, k: usize, exists: bool) -> Route {
        let op = self.batch.op_at(k);
        let seq = self.batch.seq_at(k);
        let upsert = matches!(self.dialect(), Dialect::Postgres | Dialect::MySql);
        let (route, what) = match (op, exists) {
            (ChangeOp::Insert, false) => return Route::Insert,
            (ChangeOp::Update, true) => return Route::Update,
            (ChangeOp::Delete, true) => return Route::Delete,
            (ChangeOp::Insert, true) => {
                self.repairs.inserts_as_updates += 1;
                let route = if upsert { Route::Upsert } else { Route::Update };
                (route, "an insert of an existing key becomes an update")
            }
            (ChangeOp::Update, false) => {
                self.repairs.updates_as_inserts += 1;
                (
                    Route::Insert,
                    "an update of a missing row becomes an insert",
                )
            }
            (ChangeOp::Delete, false) => {
                self.repairs.deletes_skipped += 1;
                (Route::Skip, "a delete of a missing row is skipped")
            }
        };
        tracing::info!(seq, file_id = self.binding.file_id, key = %self.key_text(k), "out of sync, repaired: {what}");
        route
    }

    /// `name = value` of the key that identifies change `k`, for messages.
    fn key_text(&self, k: usize) -> String {
        let mut values = Vec::new();
        self.push_row(k, Route::Exists, &mut values);
        let layout = &self.binding.layout;
        let mut out = String::new();
        for (n, (&f, v)) in layout.key_fields().iter().zip(&values).enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str(&layout.fields()[f].name);
            out.push_str(" = ");
            match v {
                ValueRef::Null => out.push_str("NULL"),
                ValueRef::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
                ValueRef::Float(x) => out.push_str(&x.to_string()),
                ValueRef::Text(t) => {
                    out.push('\'');
                    out.push_str(&String::from_utf8_lossy(t));
                    out.push('\'');
                }
            }
        }
        out
    }

    /// Mapped mode, a phase at a time, multi-row statements. `Fail::Slow`
    /// when the server refuses one or a count is off.
    fn mapped_fast(&mut self, phases: &mut Phases) -> Result<(), Fail> {
        let key = self.binding.layout.key_fields();
        if key.is_empty() && self.batch.ops().any(|op| op != ChangeOp::Insert) {
            // The one-row path names the change that cannot be done.
            return Err(Fail::Slow);
        }
        phases.split(self.batch.ops(), self.prepared, self.fields(), key);
        for phase in phases.list() {
            self.phase(phase)?;
        }
        Ok(())
    }

    fn phase(&mut self, changes: &[usize]) -> Result<(), Fail> {
        let repair = self.binding.repair;
        let exists = if repair {
            self.exists(changes)?
        } else {
            Vec::new()
        };
        let mut groups: [Vec<usize>; 4] = Default::default();
        for (n, &k) in changes.iter().enumerate() {
            let route = if repair {
                self.repair(k, exists[n])
            } else {
                match self.batch.op_at(k) {
                    ChangeOp::Insert => Route::Insert,
                    ChangeOp::Update => Route::Update,
                    ChangeOp::Delete => Route::Delete,
                }
            };
            let g = match route {
                Route::Delete => 0,
                Route::Insert => 1,
                Route::Upsert => 2,
                Route::Update => 3,
                Route::Exists | Route::Skip => continue,
            };
            groups[g].push(k);
        }
        for (g, route) in [Route::Delete, Route::Insert, Route::Upsert, Route::Update]
            .into_iter()
            .enumerate()
        {
            let rows = &groups[g];
            if rows.is_empty() {
                continue;
            }
            if route == Route::Insert && rows.len() >= self.options.bulk_min_rows {
                let mut values = Vec::with_capacity(rows.len() * self.fields());
                for &k in rows {
                    self.push_row(k, route, &mut values);
                }
                if let Some(done) = self.backend.bulk_insert(self.fields(), &values) {
                    let affected = done.map_err(|e| self.fast_error(e))?;
                    if affected != rows.len() as u64 {
                        return Err(Fail::Slow);
                    }
                    continue;
                }
            }
            let mut max = self.backend.max_rows(self.params_per_row(route)).max(1);
            if matches!(route, Route::Update | Route::Delete) {
                max = max.min(KEYED_ROWS);
            }
            let mut at = 0;
            for size in chunk_sizes(rows.len(), max) {
                let mut values = Vec::with_capacity(size * self.params_per_row(route));
                for &k in &rows[at..at + size] {
                    self.push_row(k, route, &mut values);
                }
                at += size;
                let (id, sql) = (statement_id(route, size), self.sql());
                let affected = self
                    .backend
                    .execute(id, &|| sql(id), &values)
                    .map_err(|e| self.fast_error(e))?;
                if route != Route::Upsert && affected != size as u64 {
                    return Err(Fail::Slow);
                }
            }
        }
        Ok(())
    }

    /// A failed multi-row statement: the connection's error, or the slow path.
    fn fast_error(&self, e: DbError) -> Fail {
        match e.failure {
            Failure::Data => Fail::Slow,
            _ => Fail::Db(e, None),
        }
    }

    /// Whether the row of each of `changes` exists (by its identifying key).
    fn exists(&mut self, changes: &[usize]) -> Result<Vec<bool>, Fail> {
        let mut found = vec![false; changes.len()];
        let max = self
            .backend
            .max_rows(self.params_per_row(Route::Exists))
            .clamp(1, KEYED_ROWS);
        let mut at = 0;
        for size in chunk_sizes(changes.len(), max) {
            let mut values = Vec::with_capacity(size * self.params_per_row(Route::Exists));
            for &k in &changes[at..at + size] {
                self.push_row(k, Route::Exists, &mut values);
            }
            let (id, sql) = (StatementId::Exists(size), self.sql());
            let rows = self
                .backend
                .query_numbers(id, &|| sql(id), &values)
                .map_err(|e| Fail::Db(e, None))?;
            for r in rows {
                if let Some(slot) = usize::try_from(r).ok().and_then(|r| found.get_mut(at + r)) {
                    *slot = true;
                }
            }
            at += size;
        }
        Ok(found)
    }

    /// Every change on its own, in order: template mode, and mapped mode
    /// when the fast path failed. The first change the server refuses is
    /// named in the error.
    fn one_by_one(&mut self) -> Result<(), Fail> {
        for k in 0..self.batch.len() {
            let op = self.batch.op_at(k);
            let seq = self.batch.seq_at(k);
            let at = Some((seq, op));
            let (route, id, fields) = if self.options.mapped {
                let route = if self.binding.repair {
                    let mut values = Vec::new();
                    self.push_row(k, Route::Exists, &mut values);
                    let (id, sql) = (StatementId::Exists(1), self.sql());
                    let rows = self
                        .backend
                        .query_numbers(id, &|| sql(id), &values)
                        .map_err(|e| Fail::Db(e, at))?;
                    self.repair(k, !rows.is_empty())
                } else {
                    match op {
                        ChangeOp::Insert => Route::Insert,
                        ChangeOp::Update => Route::Update,
                        ChangeOp::Delete => Route::Delete,
                    }
                };
                if route == Route::Skip {
                    continue;
                }
                if self.binding.layout.key_fields().is_empty() && route != Route::Insert {
                    return Err(Fail::Sink(missing_template(self.binding, op, seq)));
                }
                (Some(route), statement_id(route, 1), self.row_fields(route))
            } else {
                let Some(template) = self.templates.get(op) else {
                    return Err(Fail::Sink(missing_template(self.binding, op, seq)));
                };
                let fields = template
                    .params()
                    .iter()
                    .map(|p| match p {
                        Param::Field(i) | Param::KeyField(i) => Some(*i),
                        Param::Text(parts) => match parts.as_slice() {
                            [TextPart::Field(i)] => Some(*i),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                (None, StatementId::Template(op), fields)
            };
            let mut values: Vec<ValueRef<'a>> = Vec::new();
            match route {
                Some(route) => self.push_row(k, route, &mut values),
                None => {
                    let text: &'a [u8] = &self.prepared.text;
                    values.extend(self.prepared.of(k).iter().map(|b| value_ref(b, text)));
                }
            }
            let sql = self.sql();
            match self.backend.execute(id, &|| sql(id), &values) {
                Ok(affected) => {
                    let strict =
                        matches!(route, Some(Route::Insert | Route::Update | Route::Delete));
                    if strict && affected != 1 {
                        let message = format!(
                            "the target is out of sync: {} of a row that is not in {} ({}); \
                             set auto_synchronize = true on the file's Files Table record to repair such changes",
                            if op == ChangeOp::Insert {
                                "an insert"
                            } else {
                                op.as_str()
                            },
                            self.binding.target,
                            self.key_text(k)
                        );
                        return Err(self.reject(k, None, message));
                    }
                }
                Err(e) if e.failure == Failure::Data => {
                    let _ = self.backend.rollback();
                    let field = match e
                        .column
                        .as_deref()
                        .and_then(|c| self.binding.layout.field_index(c))
                    {
                        Some(f) => Some(f),
                        None => self
                            .backend
                            .probe_field(&values, &fields)
                            .map_err(|e| Fail::Db(e, at))?,
                    };
                    return Err(self.reject(k, field, e.message));
                }
                Err(e) => return Err(Fail::Db(e, at)),
            }
        }
        Ok(())
    }

    /// The error of a change the server refused.
    fn reject(&self, k: usize, field: Option<usize>, message: String) -> Fail {
        Fail::Sink(SinkError::Rejected {
            index: k,
            seq: self.batch.seq_at(k),
            file_id: self.binding.file_id,
            op: self.batch.op_at(k).as_str(),
            field: field.map(|f| self.binding.layout.fields()[f].name.clone()),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::chunk_sizes;

    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(
            chunk_sizes(300, 256).collect::<Vec<_>>(),
            vec![256, 32, 8, 4]
        );
        assert_eq!(chunk_sizes(5, 1000).collect::<Vec<_>>(), vec![4, 1]);
        assert_eq!(chunk_sizes(3, 1).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert_eq!(
            chunk_sizes(700, 300).collect::<Vec<_>>(),
            vec![256, 256, 128, 32, 16, 8, 4]
        );
        assert_eq!(chunk_sizes(0, 8).count(), 0);
    }
}
