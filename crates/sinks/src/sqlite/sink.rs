use super::client::{connect, create_table, db_err, read_checkpoint, table_exists};
use super::config::SqliteConfig;
use crate::{Batch, Binding, Checkpoint, Sink, SinkError};
use drx_templates::{Bound, ChangeOp, Dialect, SqlTemplates};
use rusqlite::{Connection, types::Null};
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
    text: String,
    bound: Vec<Bound>,
}

fn op_index(op: ChangeOp) -> usize {
    match op {
        ChangeOp::Insert => 0,
        ChangeOp::Update => 1,
        ChangeOp::Delete => 2,
    }
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
            text: String::new(),
            bound: Vec::new(),
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
            for change in batch.decoded() {
                let change = change?;
                let n = op_index(change.op);
                let (Some(template), Some(sql)) = (self.templates.get(change.op), &self.sql[n])
                else {
                    return Err(SinkError::Config(format!(
                        "seq {}: {} {} of file id {} needs template.{}.{} (or a `key:` in layout {} for the default)",
                        change.seq,
                        if change.op == ChangeOp::Delete {
                            "a"
                        } else {
                            "an"
                        },
                        change.op.as_str(),
                        self.binding.file_id,
                        self.binding.file_id,
                        change.op.suffix(),
                        self.binding.layout.name()
                    )));
                };
                template
                    .bind(
                        &change,
                        &self.binding.target,
                        &mut self.text,
                        &mut self.bound,
                    )
                    .map_err(|source| SinkError::Render {
                        seq: change.seq,
                        source,
                    })?;
                if statements[n].is_none() {
                    statements[n] = Some(tx.prepare_cached(sql).map_err(&err)?);
                }
                let Some(stmt) = statements[n].as_mut() else {
                    unreachable!("prepared above")
                };
                for (i, value) in self.bound.iter().enumerate() {
                    let r = match value {
                        Bound::Null => stmt.raw_bind_parameter(i + 1, Null),
                        Bound::Int(v) => stmt.raw_bind_parameter(i + 1, v),
                        Bound::Float(v) => stmt.raw_bind_parameter(i + 1, v),
                        Bound::Text(r) => stmt.raw_bind_parameter(i + 1, &self.text[r.clone()]),
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
}
