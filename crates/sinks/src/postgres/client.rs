use super::config::PostgresConfig;
use crate::{Checkpoint, SinkError};
use drx_layouts::{FieldType, Layout};
use drx_templates::Dialect;
use postgres::{Client, NoTls};

pub(super) fn db_err(sink: &str) -> impl Fn(postgres::Error) -> SinkError + '_ {
    move |e| SinkError::Database {
        sink: sink.to_owned(),
        message: describe(&e),
    }
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

/// The connection string: `url_env`'s variable, else `url`.
fn connection_string(sink: &str, config: &PostgresConfig) -> Result<String, SinkError> {
    if let Some(var) = &config.url_env {
        return std::env::var(var).map_err(|_| {
            SinkError::Config(format!(
                "{sink}: environment variable {var} (url_env) is not set"
            ))
        });
    }
    config
        .url
        .clone()
        .ok_or_else(|| SinkError::Config(format!("{sink}: give `url` or `url_env`")))
}

/// Connects and makes sure the checkpoint table exists.
pub(super) fn connect(sink: &str, config: &PostgresConfig) -> Result<Client, SinkError> {
    let url = connection_string(sink, config)?;
    // The error, not the string: it may hold a password.
    let mut client = Client::connect(&url, NoTls).map_err(|e| SinkError::Database {
        sink: sink.to_owned(),
        message: format!("connecting: {}", describe(&e)),
    })?;
    client
        .batch_execute(
            "create table if not exists drx_checkpoint (
                consumer text primary key,
                epoch bigint not null default 1,
                applied bigint not null,
                resume bigint not null
            )",
        )
        .map_err(db_err(sink))?;
    Ok(client)
}

pub(super) fn read_checkpoint(
    client: &mut Client,
    sink: &str,
    consumer: &str,
) -> Result<Option<Checkpoint>, SinkError> {
    let row = client
        .query_opt(
            "select applied, resume from drx_checkpoint where consumer = $1",
            &[&consumer],
        )
        .map_err(db_err(sink))?;
    Ok(row.map(|r| Checkpoint {
        applied: r.get::<_, i64>(0) as u64,
        resume: r.get::<_, i64>(1) as u64,
    }))
}

/// The PostgreSQL type of a field: exact, never a float for a decimal.
pub fn column_type(ty: &FieldType) -> String {
    match *ty {
        FieldType::Binary { bytes } if bytes <= 2 => "smallint".into(),
        FieldType::Binary { bytes } if bytes <= 4 => "integer".into(),
        FieldType::Binary { .. } => "bigint".into(),
        FieldType::Char { len } => format!("varchar({len})"),
        FieldType::VarChar { max } => format!("varchar({max})"),
        FieldType::Bit { bits } if bits < 16 => "smallint".into(),
        FieldType::Bit { bits } if bits < 32 => "integer".into(),
        FieldType::Bit { bits } if bits < 64 => "bigint".into(),
        FieldType::Bit { bits } => format!("bit({bits})"),
        FieldType::Float { bytes } if bytes <= 4 => "real".into(),
        FieldType::Float { .. } => "double precision".into(),
        FieldType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
        FieldType::DateTime => "timestamp".into(),
    }
}

/// `create table if not exists` for the layout: a typed column per field,
/// the key as primary key. Identifiers are quoted.
pub(super) fn create_table(
    client: &mut Client,
    sink: &str,
    table: &str,
    layout: &Layout,
) -> Result<(), SinkError> {
    let mut sql = String::from("create table if not exists ");
    Dialect::Postgres.quote_identifier(table, &mut sql);
    sql.push_str(" (");
    for (i, field) in layout.fields().iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        Dialect::Postgres.quote_identifier(&field.name, &mut sql);
        sql.push(' ');
        sql.push_str(&column_type(&field.ty));
    }
    if !layout.key_fields().is_empty() {
        sql.push_str(", primary key (");
        for (n, k) in layout.key_fields().iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            Dialect::Postgres.quote_identifier(&layout.fields()[*k].name, &mut sql);
        }
        sql.push(')');
    }
    sql.push(')');
    client.batch_execute(&sql).map_err(db_err(sink))
}
