use super::client::{connect, create_table, db_err, read_checkpoint, table_exists};
use super::config::SqliteConfig;
use crate::sql_values::{SqlPreparer, ValueCursor, missing_template, op_index};
use crate::{Batch, Binding, Checkpoint, Prepare, Sink, SinkError};
use drx_templates::{Bound, ChangeOp, Dialect, SqlTemplates};
use rusqlite::Connection;
use rusqlite::types::{Null, ToSqlOutput, ValueRef};
use std::path::Path;

/// Applies changes to an SQLite database through the file id's SQL
/// templates, each batch in one database transaction with its checkpoint.
#[derive(Debug)]
pub struct SqliteSink {
    name: String,
    consumer: String,
    conn: Connection,
    binding: Binding,
    /// The statement text of insert, update and delete.
    sql: [Option<String>; 3],
    templates: SqlTemplates,
    /// The values of each change.
    values: ValueCursor,
}

impl SqliteSink {
    /// Opens (creating if needed) the database and, unless told not to, the table.
    pub fn open(
        name: String,
        config: &SqliteConfig,
        home: &Path,
        binding: Binding,
    ) -> Result<SqliteSink, SinkError> {
        let path = drx_config::absolute(home, &config.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(crate::sink::io(dir))?;
        }
        let conn = connect(&name, &path, config)?;
        if config.create_tables {
            create_table(&conn, &name, &binding.target, &binding.layout)?;
        } else if !table_exists(&conn, &name, &binding.target)? {
            return Err(SinkError::Config(format!(
                "{name}: table `{}` (file id {}) does not exist in {} and create_tables = false: \
                 create it, or set create_tables = true to create it from layout {}",
                binding.target,
                binding.file_id,
                path.display(),
                binding.layout.name()
            )));
        }
        let templates =
            SqlTemplates::load(&binding.templates_dir, binding.file_id, &binding.layout)?;
        let sql = [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete].map(|op| {
            templates
                .get(op)
                .map(|t| t.sql(Dialect::Sqlite, &binding.target))
        });
        for text in sql.iter().flatten() {
            conn.prepare_cached(text).map_err(|e| SinkError::Database {
                sink: name.clone(),
                message: format!("{e} in `{text}`"),
            })?;
        }
        Ok(SqliteSink {
            consumer: format!("{name}.{}", binding.file_id),
            name,
            conn,
            binding,
            sql,
            templates,
            values: ValueCursor::default(),
        })
    }
}

impl Sink for SqliteSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        read_checkpoint(&self.conn, &self.name, &self.consumer)
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let err = db_err(&self.name);
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut statements: [Option<rusqlite::CachedStatement<'_>>; 3] = [None, None, None];
            self.values.reset();
            for (k, change) in batch.decoded().enumerate() {
                let change = change?;
                let n = op_index(change.op);
                let Some(sql) = &self.sql[n] else {
                    return Err(missing_template(&self.binding, change.op, change.seq));
                };
                let (text, bound) =
                    self.values
                        .next(batch, k, &change, &self.templates, &self.binding)?;
                let stmt = match &mut statements[n] {
                    Some(stmt) => stmt,
                    slot => slot.insert(tx.prepare_cached(sql).map_err(&err)?),
                };
                for (i, value) in bound.iter().enumerate() {
                    let r = match value {
                        Bound::Null => stmt.raw_bind_parameter(i + 1, Null),
                        Bound::Int(v) => stmt.raw_bind_parameter(i + 1, v),
                        Bound::Float(v) => stmt.raw_bind_parameter(i + 1, v),
                        Bound::Text(r) => stmt.raw_bind_parameter(
                            i + 1,
                            ToSqlOutput::Borrowed(ValueRef::Text(&text[r.clone()])),
                        ),
                    };
                    r.map_err(&err)?;
                }
                stmt.raw_execute().map_err(|e| SinkError::Database {
                    sink: self.name.clone(),
                    message: format!("seq {} ({}): {e}", change.seq, change.op.as_str()),
                })?;
            }
        }
        tx.execute(
            "insert into drx_checkpoint (consumer, applied, resume) values (?1, ?2, ?3)
             on conflict (consumer) do update set applied = excluded.applied, resume = excluded.resume",
            rusqlite::params![self.consumer, batch.checkpoint.applied as i64, batch.checkpoint.resume as i64],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
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
}
