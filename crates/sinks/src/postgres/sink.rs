use super::client::{connect, create_table, db_err, describe, read_checkpoint};
use super::config::PostgresConfig;
use crate::sql_values::{SqlPreparer, ValueCursor, missing_template, op_index};
use crate::{Batch, Binding, Checkpoint, Prepare, Sink, SinkError};
use bytes::BytesMut;
use drx_templates::{Bound, ChangeOp, Dialect, SqlTemplates};
use postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Statement};
use std::ops::Range;

/// Applies changes to PostgreSQL through the file id's SQL templates, each
/// batch in one transaction that also updates its checkpoint row.
pub struct PostgresSink {
    name: String,
    consumer: String,
    client: Client,
    binding: Binding,
    /// The prepared insert, update and delete.
    statements: [Option<Statement>; 3],
    templates: SqlTemplates,
    /// The values of each change.
    values: ValueCursor,
    /// Numbers of one change written as text.
    numbers: Vec<u8>,
    /// Where each parameter's text is: in the values' text or in `numbers`.
    params: Vec<Param>,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its configuration may hold a password.
        f.debug_struct("PostgresSink")
            .field("name", &self.name)
            .field("consumer", &self.consumer)
            .finish()
    }
}

/// A parameter's text: NULL, or a range of one of two buffers.
#[derive(Debug, Clone)]
enum Param {
    Null,
    Text(Range<usize>),
    Number(Range<usize>),
}

/// A value sent in text format, typed by the server from the statement
/// (so a decimal arrives digit for digit, an integer checks its range).
#[derive(Debug)]
struct TextValue<'a>(Option<&'a [u8]>);

impl ToSql for TextValue<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

impl PostgresSink {
    /// Connects, creates the table unless told not to, and prepares the statements.
    pub fn open(
        name: String,
        config: &PostgresConfig,
        binding: Binding,
    ) -> Result<PostgresSink, SinkError> {
        let mut client = connect(&name, config)?;
        let consumer = format!("{name}.{}", binding.file_id);
        hold_consumer_lock(&mut client, &name, &consumer)?;
        if config.create_tables {
            create_table(&mut client, &name, &binding.target, &binding.layout)?;
        }
        let templates =
            SqlTemplates::load(&binding.templates_dir, binding.file_id, &binding.layout)?;
        let mut statements = [None, None, None];
        for op in [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete] {
            if let Some(t) = templates.get(op) {
                let sql = t.sql(Dialect::Postgres, &binding.target);
                let stmt = client.prepare(&sql).map_err(|e| SinkError::Database {
                    sink: name.clone(),
                    message: format!("{} in `{sql}` ({})", describe(&e), t.name()),
                })?;
                statements[op_index(op)] = Some(stmt);
            }
        }
        Ok(PostgresSink {
            consumer,
            name,
            client,
            binding,
            statements,
            templates,
            values: ValueCursor::default(),
            numbers: Vec::new(),
            params: Vec::new(),
        })
    }
}

/// Takes the session's advisory lock of the consumer: one extraction per
/// sink and file id at a time. It also waits out the server session of an
/// extraction that was just killed, whose last commit may still be in
/// flight: the checkpoint is read only once that session has ended.
fn hold_consumer_lock(client: &mut Client, sink: &str, consumer: &str) -> Result<(), SinkError> {
    let err = |e: postgres::Error| SinkError::Database {
        sink: sink.to_owned(),
        message: describe(&e),
    };
    client
        .batch_execute("set lock_timeout = '60s'")
        .map_err(err)?;
    let locked = client.execute(
        "select pg_advisory_lock(hashtextextended($1, 0))",
        &[&consumer],
    );
    client.batch_execute("set lock_timeout = 0").map_err(err)?;
    locked.map(|_| ()).map_err(|e| SinkError::Database {
        sink: sink.to_owned(),
        message: format!(
            "another drx extract holds {consumer} (waited 60 s for its PostgreSQL advisory lock): {}",
            describe(&e)
        ),
    })
}

/// Writes the numbers of `bound` as text into `numbers` and says where each
/// parameter's text is.
fn locate(bound: &[Bound], numbers: &mut Vec<u8>, params: &mut Vec<Param>) {
    numbers.clear();
    params.clear();
    for value in bound {
        let start = numbers.len();
        params.push(match value {
            Bound::Null => Param::Null,
            Bound::Text(r) => Param::Text(r.clone()),
            Bound::Int(v) => {
                numbers.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
                Param::Number(start..numbers.len())
            }
            Bound::Float(v) => {
                let text = if v.is_nan() {
                    "NaN"
                } else if v.is_infinite() {
                    if *v > 0.0 { "Infinity" } else { "-Infinity" }
                } else {
                    ""
                };
                if text.is_empty() {
                    numbers.extend_from_slice(ryu::Buffer::new().format(*v).as_bytes());
                } else {
                    numbers.extend_from_slice(text.as_bytes());
                }
                Param::Number(start..numbers.len())
            }
        });
    }
}

impl Sink for PostgresSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, SinkError> {
        read_checkpoint(&mut self.client, &self.name, &self.consumer)
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let err = db_err(&self.name);
        let mut tx = self.client.transaction().map_err(&err)?;
        self.values.reset();
        for (k, change) in batch.decoded().enumerate() {
            let change = change?;
            let n = op_index(change.op);
            let Some(stmt) = &self.statements[n] else {
                return Err(missing_template(&self.binding, change.op, change.seq));
            };
            let (text, bound) =
                self.values
                    .next(batch, k, &change, &self.templates, &self.binding)?;
            locate(bound, &mut self.numbers, &mut self.params);
            let numbers = &self.numbers;
            let values: Vec<TextValue<'_>> = self
                .params
                .iter()
                .map(|p| match p {
                    Param::Null => TextValue(None),
                    Param::Text(r) => TextValue(Some(&text[r.clone()])),
                    Param::Number(r) => TextValue(Some(&numbers[r.clone()])),
                })
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            tx.execute(stmt, &refs).map_err(|e| SinkError::Database {
                sink: self.name.clone(),
                message: format!(
                    "seq {} ({}, file id {}): {}",
                    change.seq,
                    change.op.as_str(),
                    change.file_id,
                    describe(&e)
                ),
            })?;
        }
        tx.execute(
            "insert into drx_checkpoint (consumer, applied, resume) values ($1, $2, $3)
             on conflict (consumer) do update set applied = excluded.applied, resume = excluded.resume",
            &[&self.consumer, &(batch.checkpoint.applied as i64), &(batch.checkpoint.resume as i64)],
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
