//! The statements of mapped mode, written per dialect for a number of rows.
//! Every identifier is quoted; every value is a parameter.
//!
//! The values of one row, in order:
//! * insert and upsert: every field;
//! * update: every field, then the old key;
//! * delete: the old key;
//! * exists: the key that identifies the row.

use super::schema::cast_type;
use drx_layouts::Layout;
use drx_templates::Dialect;

/// A statement being written: its text and the number of its markers.
struct Sql<'a> {
    dialect: Dialect,
    layout: &'a Layout,
    text: String,
    markers: usize,
}

impl<'a> Sql<'a> {
    fn new(dialect: Dialect, layout: &'a Layout) -> Sql<'a> {
        Sql {
            dialect,
            layout,
            text: String::with_capacity(256),
            markers: 0,
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn ident(&mut self, name: &str) -> &mut Self {
        self.dialect.quote_identifier(name, &mut self.text);
        self
    }

    fn column(&mut self, field: usize) -> &mut Self {
        let name = &self.layout.fields()[field].name;
        self.dialect.quote_identifier(name, &mut self.text);
        self
    }

    fn marker(&mut self) -> &mut Self {
        self.markers += 1;
        if self.dialect == Dialect::Postgres {
            self.text.push('$');
            self.text.push_str(itoa::Buffer::new().format(self.markers));
        } else {
            self.text.push('?');
        }
        self
    }

    /// A marker cast to the field's base type where the dialect needs it
    /// (`cast` false: only MySQL's exact casts).
    fn typed_marker(&mut self, field: usize, cast: bool) -> &mut Self {
        let ty = self.layout.fields()[field].ty;
        let cast_to =
            cast_type(self.dialect, ty).filter(|_| cast || self.dialect == Dialect::MySql);
        match cast_to {
            Some(t) if self.dialect == Dialect::Postgres => {
                self.marker();
                self.text.push_str("::");
                self.text.push_str(&t);
            }
            Some(t) => {
                self.text.push_str("cast(");
                self.marker();
                self.text.push_str(" as ");
                self.text.push_str(&t);
                self.text.push(')');
            }
            None => {
                self.marker();
            }
        }
        self
    }

    fn sep(&mut self, i: usize, sep: &str) -> &mut Self {
        if i > 0 {
            self.text.push_str(sep);
        }
        self
    }

    /// `k0 = m and k1 = m`, the key compared with markers.
    fn key_equals(&mut self) -> &mut Self {
        let key = self.layout.key_fields().to_vec();
        for (n, k) in key.into_iter().enumerate() {
            self.sep(n, " and ")
                .column(k)
                .push(" = ")
                .typed_marker(k, false);
        }
        self
    }

    /// `t.k0 = v.o0 and ...`
    fn key_join(&mut self) -> &mut Self {
        let key = self.layout.key_fields().to_vec();
        for (n, k) in key.into_iter().enumerate() {
            self.sep(n, " and ").push("t.").column(k).push(" = v.o");
            self.text.push_str(itoa::Buffer::new().format(n));
        }
        self
    }
}

/// `insert into T (c…) values (…), (…)`.
pub(crate) fn insert(dialect: Dialect, table: &str, layout: &Layout, rows: usize) -> String {
    let mut sql = Sql::new(dialect, layout);
    sql.push("insert into ").ident(table).push(" (");
    for i in 0..layout.fields().len() {
        sql.sep(i, ", ").column(i);
    }
    sql.push(") values ");
    for r in 0..rows {
        sql.sep(r, ", ").push("(");
        for i in 0..layout.fields().len() {
            sql.sep(i, ", ").marker();
        }
        sql.push(")");
    }
    sql.text
}

/// An insert that updates the row of an existing key instead, on that key
/// only: `on conflict (key) do update` (PostgreSQL) or `on duplicate key
/// update` (MySQL; drx's tables have no other unique key).
pub(crate) fn upsert(dialect: Dialect, table: &str, layout: &Layout, rows: usize) -> String {
    let mut text = insert(dialect, table, layout, rows);
    let key = layout.key_fields();
    let others: Vec<usize> = (0..layout.fields().len())
        .filter(|i| !key.contains(i))
        .collect();
    let mut sql = Sql::new(dialect, layout);
    if dialect == Dialect::MySql {
        sql.push(" on duplicate key update ");
        if others.is_empty() {
            sql.column(key[0]).push(" = ").column(key[0]);
        }
        for (n, &i) in others.iter().enumerate() {
            sql.sep(n, ", ")
                .column(i)
                .push(" = values(")
                .column(i)
                .push(")");
        }
    } else {
        sql.push(" on conflict (");
        for (n, &k) in key.iter().enumerate() {
            sql.sep(n, ", ").column(k);
        }
        if others.is_empty() {
            sql.push(") do nothing");
        } else {
            sql.push(") do update set ");
            for (n, &i) in others.iter().enumerate() {
                sql.sep(n, ", ").column(i).push(" = excluded.").column(i);
            }
        }
    }
    text.push_str(&sql.text);
    text
}

/// Updates rows by their old key, setting every field (the key too).
pub(crate) fn update(dialect: Dialect, table: &str, layout: &Layout, rows: usize) -> String {
    let n = layout.fields().len();
    let key = layout.key_fields().to_vec();
    let mut sql = Sql::new(dialect, layout);
    if rows == 1 {
        sql.push("update ").ident(table).push(" set ");
        for i in 0..n {
            sql.sep(i, ", ").column(i).push(" = ").marker();
        }
        sql.push(" where ").key_equals();
        return sql.text;
    }
    match dialect {
        Dialect::MySql => {
            sql.push("update ").ident(table).push(" as t join (");
            derived_rows(&mut sql, rows, n, &key, None);
            sql.push(") as v on ").key_join().push(" set ");
            for i in 0..n {
                sql.sep(i, ", ").push("t.").column(i).push(" = v.c");
                sql.push(itoa::Buffer::new().format(i));
            }
        }
        _ => {
            sql.push("update ").ident(table).push(" as t set ");
            for i in 0..n {
                sql.sep(i, ", ").column(i).push(" = v.c");
                sql.push(itoa::Buffer::new().format(i));
            }
            sql.push(" from (");
            values_rows(&mut sql, rows, n, &key, None);
            sql.push(") as v(");
            for i in 0..n {
                sql.sep(i, ", ")
                    .push("c")
                    .push(itoa::Buffer::new().format(i));
            }
            for j in 0..key.len() {
                sql.push(", o").push(itoa::Buffer::new().format(j));
            }
            sql.push(") where ").key_join();
        }
    }
    sql.text
}

/// Deletes rows by key.
pub(crate) fn delete(dialect: Dialect, table: &str, layout: &Layout, rows: usize) -> String {
    let key = layout.key_fields().to_vec();
    let mut sql = Sql::new(dialect, layout);
    sql.push("delete from ").ident(table).push(" where ");
    if rows == 1 {
        sql.key_equals();
        return sql.text;
    }
    if key.len() == 1 {
        sql.column(key[0]).push(" in (");
        for r in 0..rows {
            sql.sep(r, ", ").typed_marker(key[0], false);
        }
        sql.push(")");
    } else {
        sql.push("(");
        for (n, &k) in key.iter().enumerate() {
            sql.sep(n, ", ").column(k);
        }
        sql.push(") in (");
        for r in 0..rows {
            sql.sep(r, ", ").push("(");
            for (n, &k) in key.iter().enumerate() {
                sql.sep(n, ", ").typed_marker(k, false);
            }
            sql.push(")");
        }
        sql.push(")");
    }
    sql.text
}

/// Which of `rows` keys exist: the row numbers (0-based) of those that do.
pub(crate) fn exists(dialect: Dialect, table: &str, layout: &Layout, rows: usize) -> String {
    let key = layout.key_fields().to_vec();
    let mut sql = Sql::new(dialect, layout);
    if rows == 1 {
        sql.push("select 0 from ")
            .ident(table)
            .push(" where ")
            .key_equals();
        return sql.text;
    }
    sql.push("select v.i from (");
    match dialect {
        Dialect::MySql => derived_rows(&mut sql, rows, 0, &key, Some(())),
        _ => values_rows(&mut sql, rows, 0, &key, Some(())),
    }
    sql.push(") as v");
    if dialect != Dialect::MySql {
        sql.push("(");
        for j in 0..key.len() {
            sql.sep(j, ", ")
                .push("o")
                .push(itoa::Buffer::new().format(j));
        }
        sql.push(", i)");
    }
    sql.push(" join ").ident(table).push(" as t on ").key_join();
    sql.text
}

/// `values (m::t, …), (m, …)`: `fields` fields then the key, then the row
/// number when `numbered`. The first row's markers are cast so the server
/// knows their types.
fn values_rows(sql: &mut Sql<'_>, rows: usize, fields: usize, key: &[usize], numbered: Option<()>) {
    sql.push("values ");
    for r in 0..rows {
        sql.sep(r, ", ").push("(");
        for i in 0..fields {
            sql.sep(i, ", ").typed_marker(i, r == 0);
        }
        for (j, &k) in key.iter().enumerate() {
            sql.sep(fields + j, ", ").typed_marker(k, r == 0);
        }
        if numbered.is_some() {
            sql.push(", ").push(itoa::Buffer::new().format(r));
        }
        sql.push(")");
    }
}

/// MySQL's derived table: `select m as c0, …, m as o0 union all select …`.
fn derived_rows(
    sql: &mut Sql<'_>,
    rows: usize,
    fields: usize,
    key: &[usize],
    numbered: Option<()>,
) {
    for r in 0..rows {
        sql.sep(r, " union all ").push("select ");
        for i in 0..fields {
            sql.sep(i, ", ").typed_marker(i, true);
            if r == 0 {
                sql.push(" as c").push(itoa::Buffer::new().format(i));
            }
        }
        for (j, &k) in key.iter().enumerate() {
            sql.sep(fields + j, ", ").typed_marker(k, true);
            if r == 0 {
                sql.push(" as o").push(itoa::Buffer::new().format(j));
            }
        }
        if numbered.is_some() {
            sql.push(", ").push(itoa::Buffer::new().format(r));
            if r == 0 {
                sql.push(" as i");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::parse(
            "layout.1",
            "key: id;\nfields: id fixed bin(31), name char(8), amount fixed dec(9,2); end;",
        )
        .unwrap()
    }

    #[test]
    fn postgres_statements() {
        let l = layout();
        let d = Dialect::Postgres;
        assert_eq!(
            insert(d, "t", &l, 2),
            r#"insert into "t" ("id", "name", "amount") values ($1, $2, $3), ($4, $5, $6)"#
        );
        assert_eq!(
            upsert(d, "t", &l, 1),
            r#"insert into "t" ("id", "name", "amount") values ($1, $2, $3) on conflict ("id") do update set "name" = excluded."name", "amount" = excluded."amount""#
        );
        assert_eq!(
            update(d, "t", &l, 1),
            r#"update "t" set "id" = $1, "name" = $2, "amount" = $3 where "id" = $4"#
        );
        assert_eq!(
            update(d, "t", &l, 2),
            r#"update "t" as t set "id" = v.c0, "name" = v.c1, "amount" = v.c2 from (values ($1::integer, $2::text, $3::numeric, $4::integer), ($5, $6, $7, $8)) as v(c0, c1, c2, o0) where t."id" = v.o0"#
        );
        assert_eq!(
            delete(d, "t", &l, 3),
            r#"delete from "t" where "id" in ($1, $2, $3)"#
        );
        assert_eq!(
            exists(d, "t", &l, 2),
            r#"select v.i from (values ($1::integer, 0), ($2, 1)) as v(o0, i) join "t" as t on t."id" = v.o0"#
        );
    }

    #[test]
    fn mysql_statements() {
        let l = Layout::parse(
            "layout.1",
            "key: id, amount;\nfields: id fixed bin(31), name char(8), amount fixed dec(9,2); end;",
        )
        .unwrap();
        let d = Dialect::MySql;
        assert_eq!(
            upsert(d, "t", &l, 1),
            "insert into `t` (`id`, `name`, `amount`) values (?, ?, ?) on duplicate key update `name` = values(`name`)"
        );
        assert_eq!(
            update(d, "t", &l, 2),
            "update `t` as t join (select ? as c0, ? as c1, cast(? as decimal(9,2)) as c2, ? as o0, cast(? as decimal(9,2)) as o1 union all select ?, ?, cast(? as decimal(9,2)), ?, cast(? as decimal(9,2))) as v on t.`id` = v.o0 and t.`amount` = v.o1 set t.`id` = v.c0, t.`name` = v.c1, t.`amount` = v.c2"
        );
        assert_eq!(
            delete(d, "t", &l, 2),
            "delete from `t` where (`id`, `amount`) in ((?, cast(? as decimal(9,2))), (?, cast(? as decimal(9,2))))"
        );
        assert_eq!(
            exists(d, "t", &l, 2),
            "select v.i from (select ? as o0, cast(? as decimal(9,2)) as o1, 0 as i union all select ?, cast(? as decimal(9,2)), 1) as v join `t` as t on t.`id` = v.o0 and t.`amount` = v.o1"
        );
    }
}
