//! Tables from layouts: exact column types per dialect and the
//! `create table` that `drx schema` prints and the SQL sinks run.

use drx_layouts::{Field, FieldType, Layout};
use drx_templates::Dialect;

/// The column type of `field` in `dialect`: integers by size, decimals as
/// exact NUMERIC / DECIMAL (never a float), `char(n)` as VARCHAR(n) when the
/// layout trims it (the default) and CHAR(n) when it keeps it whole, `dt_`
/// date-times as a UTC timestamp. SQLite has no exact decimal and no
/// date-time type: both are stored as their canonical text there.
pub fn column_type(dialect: Dialect, field: &Field, layout: &Layout) -> String {
    use Dialect::{MySql, Odbc, Postgres, Sqlite};
    match (dialect, field.ty) {
        (Sqlite, FieldType::Binary { .. }) => "integer".into(),
        (Sqlite, FieldType::Bit { bits }) if bits < 64 => "integer".into(),
        (Sqlite, FieldType::Float { .. }) => "real".into(),
        (Sqlite, _) => "text".into(),
        (_, FieldType::Binary { bytes }) if bytes <= 2 => "smallint".into(),
        (MySql, FieldType::Binary { bytes }) if bytes <= 4 => "int".into(),
        (_, FieldType::Binary { bytes }) if bytes <= 4 => "integer".into(),
        (_, FieldType::Binary { .. }) => "bigint".into(),
        (_, FieldType::Char { len }) if layout.trim_right() => format!("varchar({len})"),
        (_, FieldType::Char { len }) => format!("char({len})"),
        (_, FieldType::VarChar { max }) => format!("varchar({max})"),
        (_, FieldType::Bit { bits }) if bits < 16 => "smallint".into(),
        (MySql, FieldType::Bit { bits }) if bits < 32 => "int".into(),
        (_, FieldType::Bit { bits }) if bits < 32 => "integer".into(),
        (_, FieldType::Bit { bits }) if bits < 64 => "bigint".into(),
        (MySql, FieldType::Bit { bits }) => format!("char({bits})"),
        (_, FieldType::Bit { bits }) => format!("bit({bits})"),
        (MySql, FieldType::Float { bytes }) if bytes <= 4 => "float".into(),
        (MySql, FieldType::Float { .. }) => "double".into(),
        (_, FieldType::Float { bytes }) if bytes <= 4 => "real".into(),
        (_, FieldType::Float { .. }) => "double precision".into(),
        (MySql, FieldType::Decimal { precision, scale }) => {
            format!("decimal({precision},{scale})")
        }
        (Postgres | Odbc, FieldType::Decimal { precision, scale }) => {
            format!("numeric({precision},{scale})")
        }
        (Postgres, FieldType::DateTime) => "timestamp with time zone".into(),
        (MySql, FieldType::DateTime) => "datetime".into(),
        (Odbc, FieldType::DateTime) => "timestamp".into(),
        (Postgres, FieldType::Json { .. }) => "jsonb".into(),
        (MySql, FieldType::Json { .. }) => "json".into(),
        (Odbc, FieldType::Json { .. }) => "text".into(),
    }
}

/// The type a parameter is cast to where the server cannot infer it (rows
/// of a `values` list): the column's base type without length or scale, so
/// the cast never truncates or rounds and the column's own check applies.
pub(crate) fn cast_type(dialect: Dialect, ty: FieldType) -> Option<String> {
    match dialect {
        Dialect::Postgres => Some(String::from(match ty {
            FieldType::Binary { bytes } if bytes <= 2 => "smallint",
            FieldType::Binary { bytes } if bytes <= 4 => "integer",
            FieldType::Binary { .. } => "bigint",
            FieldType::Bit { bits } if bits < 16 => "smallint",
            FieldType::Bit { bits } if bits < 32 => "integer",
            FieldType::Bit { bits } if bits < 64 => "bigint",
            FieldType::Bit { .. } => "varbit",
            FieldType::Char { .. } | FieldType::VarChar { .. } => "text",
            FieldType::Float { bytes } if bytes <= 4 => "real",
            FieldType::Float { .. } => "double precision",
            FieldType::Decimal { .. } => "numeric",
            FieldType::DateTime => "timestamptz",
            FieldType::Json { .. } => "jsonb",
        })),
        // Typed binary values compare exactly; text compared with a decimal
        // or a date-time would go through a double or a string.
        Dialect::MySql => match ty {
            FieldType::Decimal { precision, scale } => {
                Some(format!("decimal({precision},{scale})"))
            }
            FieldType::DateTime => Some("datetime".into()),
            _ => None,
        },
        Dialect::Sqlite | Dialect::Odbc => None,
    }
}

/// `create table if not exists` for `layout`: a typed column per field, the
/// key as primary key. Every identifier is quoted.
pub fn create_table_sql(dialect: Dialect, table: &str, layout: &Layout) -> String {
    let mut sql = String::from("create table ");
    if dialect != Dialect::Odbc {
        sql.push_str("if not exists ");
    }
    dialect.quote_identifier(table, &mut sql);
    sql.push_str(" (\n");
    for (i, field) in layout.fields().iter().enumerate() {
        if i > 0 {
            sql.push_str(",\n");
        }
        sql.push_str("    ");
        dialect.quote_identifier(&field.name, &mut sql);
        sql.push(' ');
        sql.push_str(&column_type(dialect, field, layout));
        if layout.key_fields().contains(&i) {
            sql.push_str(" not null");
        }
    }
    if !layout.key_fields().is_empty() {
        sql.push_str(",\n    primary key (");
        for (n, k) in layout.key_fields().iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            dialect.quote_identifier(&layout.fields()[*k].name, &mut sql);
        }
        sql.push(')');
    }
    sql.push_str("\n)");
    if dialect == Dialect::MySql {
        sql.push_str(" default charset = utf8mb4");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::parse(
            "layout.7",
            "key: id;\nfields: id fixed bin(31), small fixed bin(15), big fixed bin(63),\n\
             name char(12), note char(40) varying, amount fixed dec(15,2),\n\
             ratio float bin(53), dt_when fixed bin(31); end;",
        )
        .unwrap()
    }

    #[test]
    fn exact_types_per_dialect() {
        let l = layout();
        let types = |d| {
            l.fields()
                .iter()
                .map(|f| column_type(d, f, &l))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            types(Dialect::Postgres),
            "integer smallint bigint varchar(12) varchar(40) numeric(15,2) double precision timestamp with time zone"
        );
        assert_eq!(
            types(Dialect::MySql),
            "int smallint bigint varchar(12) varchar(40) decimal(15,2) double datetime"
        );
        assert_eq!(
            types(Dialect::Sqlite),
            "integer integer integer text text text real text"
        );
    }

    #[test]
    fn copybook_tables_as_json_columns_per_dialect() {
        let copybook = drx_layouts::Copybook::parse(
            "acct.cpy",
            "       01  ACCT.\n           05  N  PIC 9.\n           05  AMT  PIC S9(3)V99 COMP-3 OCCURS 0 TO 3 DEPENDING ON N.\n",
        )
        .unwrap();
        let options = drx_layouts::CopybookLayoutOptions {
            occurs: drx_layouts::OccursColumns::Json,
            ..Default::default()
        };
        let l = Layout::from_copybook("acct.cpy", &copybook, &options).unwrap();
        let amt = &l.fields()[1];
        let types: Vec<_> = [
            Dialect::Postgres,
            Dialect::MySql,
            Dialect::Odbc,
            Dialect::Sqlite,
        ]
        .into_iter()
        .map(|d| column_type(d, amt, &l))
        .collect();
        assert_eq!(types, ["jsonb", "json", "text", "text"]);
        assert_eq!(
            cast_type(Dialect::Postgres, amt.ty).as_deref(),
            Some("jsonb")
        );
    }

    #[test]
    fn untrimmed_char_is_char() {
        let l = Layout::parse("layout.8", "trim: none;\nfields: code char(4); end;").unwrap();
        assert_eq!(
            column_type(Dialect::Postgres, &l.fields()[0], &l),
            "char(4)"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        let l = Layout::parse("layout.9", "key: a;\nfields: a fixed bin(15); end;").unwrap();
        let sql = create_table_sql(Dialect::MySql, "x`; drop table y; --", &l);
        assert_eq!(
            sql,
            "create table if not exists `x``; drop table y; --` (\n    `a` smallint not null,\n    primary key (`a`)\n) default charset = utf8mb4"
        );
        let sql = create_table_sql(Dialect::Postgres, "app.t\"x", &l);
        assert!(
            sql.starts_with("create table if not exists \"app\".\"t\"\"x\" ("),
            "{sql}"
        );
    }
}
