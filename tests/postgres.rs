//! The PostgreSQL sink against the real server on 127.0.0.1:5432
//! (database `test`): the complete example, changes and transactions,
//! kill -9 and rerun, hard values, exact decimals, quoted identifiers.
#![allow(clippy::unwrap_used)]

mod common;
use common::{
    Db, Home, PG_URL, assert_connecting_fails_without_the_password, assert_rows_equal_file,
    assert_sample_hard_rows, kill_repeatedly, mixed_script, pg_client, pg_column_types, pg_quoted,
    pg_rows, pg_tamper, txn_script, unique,
};

/// Adds a postgres sink writing file id 200 to `table`; returns the sink name.
fn add_sink(home: &Home, table: &str) -> String {
    add_sink_with(home, table, "")
}

/// Adds a postgres sink for file id 200 with more settings (`mode = "mapped"`…).
fn add_sink_with(home: &Home, table: &str, extra: &str) -> String {
    let name = unique("pg");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{PG_URL}\"\nfile_ids = [200]\ntables = {{ 200 = '{table}' }}\n{extra}\n"
    ));
    name
}

fn drop_table(table: &str) {
    let _ = pg_client().batch_execute(&format!("drop table if exists {}", pg_quoted(table)));
}

const PG: Db = Db {
    name: "PostgreSQL",
    add_sink: add_sink_with,
    rows: pg_rows,
    tamper: pg_tamper,
    drop: |table, _| drop_table(table),
};

#[test]
fn the_complete_example_and_its_changes_land_exactly_in_postgres() {
    let home = Home::sample();
    let table = unique("error_codes");
    let sink = add_sink(&home, &table);
    home.demo("error_codes.table");
    home.io("ops.jsonl", &txn_script("it's <&> caf\u{e9}"));
    let out = home.extract(&sink);
    assert!(out.contains(&format!("{sink}: ")), "{out}");
    let rows = pg_rows(&table);
    assert_rows_equal_file(&home, &rows, "PostgreSQL");
    assert_sample_hard_rows(&rows);
    // Nothing new: nothing delivered, nothing doubled.
    let again = home.extract(&sink);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    drop_table(&table);
}

#[test]
fn kill_9_then_rerun_is_exactly_once_in_postgres() {
    let (home, table, sink) = PG.kill_case("crash", "", 200, 15_000, 0);
    let killed = kill_repeatedly(&home, &[&sink], 20, |i| 20 + (i * 53) % 200);
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    assert_eq!(PG.rerun_equals_file(&home, &table, &sink).len(), 15_000);
}

#[test]
fn a_table_name_with_quotes_cannot_change_a_statement() {
    let home = Home::sample();
    let table = format!("{}\"; drop table x; --", unique("q"));
    let sink = add_sink(&home, &table.replace('\'', "''"));
    home.demo("error_codes.table");
    home.extract(&sink);
    assert_eq!(pg_rows(&table).len(), 1200);
    drop_table(&table);
}

#[test]
fn decimals_and_date_times_arrive_exactly() {
    let home = Home::sample();
    home.add_file(
        300,
        "amounts.data",
        "key: id;\nfields: id bin(31), amount fixed dec(31,9), small fixed dec(3,2), dt_when bin(31), ratio float bin(53);\nend;\n",
    );
    let table = unique("amounts");
    let name = unique("pg");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{PG_URL}\"\nfile_ids = [300]\ntables = {{ 300 = \"{table}\" }}\n"
    ));
    home.io(
        "ops.jsonl",
        "{\"op\":\"create\",\"file\":\"amounts.data\"}\n\
         {\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{\"id\":1,\"amount\":1234567890123456789012.123456789,\"small\":-9.99,\"dt_when\":\"2024-02-29 23:59:59\",\"ratio\":0.1}}\n\
         {\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{\"id\":2,\"amount\":-0.000000001,\"small\":0,\"dt_when\":\"1980-01-01 00:00:00\",\"ratio\":-1e300}}\n",
    );
    home.ok(&["extract", "--file-id", "300", "--sink", &name]);
    let rows: Vec<Vec<String>> = pg_client()
        .query(&format!("select amount::text, small::text, (dt_when at time zone 'UTC')::text, ratio::text from \"{table}\" order by id"), &[])
        .unwrap()
        .iter()
        .map(|r| (0..4).map(|i| r.get::<_, String>(i)).collect())
        .collect();
    assert_eq!(
        rows,
        [
            [
                "1234567890123456789012.123456789",
                "-9.99",
                "2024-02-29 23:59:59",
                "0.1"
            ],
            ["-0.000000001", "0.00", "1980-01-01 00:00:00", "-1e+300"],
        ]
    );
    assert_eq!(
        pg_column_types(&table),
        [
            "integer",
            "numeric",
            "numeric",
            "timestamp with time zone",
            "double precision"
        ]
    );
    let _ = pg_client().batch_execute(&format!("drop table if exists \"{table}\""));
}

#[test]
fn a_value_out_of_range_names_seq_file_id_and_the_server_message() {
    let home = Home::sample();
    let table = unique("narrow");
    let sink = add_sink(&home, &table);
    // The table exists with a narrower column than the layout's.
    pg_client()
        .batch_execute(&format!(
            "create table \"{table}\" (err_number smallint primary key, err_name varchar(3), err_text text, err_category text, err_category2 text)"
        ))
        .unwrap();
    home.demo("error_codes.table");
    PG.assert_batch_refused(
        &home,
        &table,
        &sink,
        "(insert, file id 200, field err_name): value too long for type character varying(3)",
    );
    drop_table(&table);
}

#[test]
fn connection_errors_never_show_the_password_and_url_env_must_be_set() {
    let home = Home::sample();
    home.append_config(
        "\n[[sinks]]\nname = \"secret\"\ntype = \"postgres\"\nurl = \"host=127.0.0.1 port=1 user=drx password=hunter2 dbname=test connect_timeout=5\"\n\n[[sinks]]\nname = \"from_env\"\ntype = \"postgres\"\nurl_env = \"DRX_TEST_UNSET_PG_URL\"\n",
    );
    home.demo("error_codes.table");
    assert_connecting_fails_without_the_password(&home, &["secret"]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "from_env"]);
    assert!(
        err.contains("environment variable DRX_TEST_UNSET_PG_URL (url_env) is not set"),
        "{err}"
    );
}

#[test]
fn mapped_mode_mixed_stream_with_transactions_equals_the_file() {
    PG.mixed_stream(&[("mapped", "mode = \"mapped\"")], 3, 2_000);
}

#[test]
fn kill_9_in_mapped_mode_then_rerun_is_exactly_once() {
    let (home, table, sink) = PG.kill_case("mcrash", "mode = \"mapped\"", 300, 5_000, 12_000);
    let killed = kill_repeatedly(&home, &[&sink], 20, |i| 30 + (i * 61) % 250);
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    PG.rerun_equals_file(&home, &table, &sink);
}

#[test]
fn out_of_sync_rows_stop_a_strict_run_and_auto_synchronize_repairs_them() {
    PG.out_of_sync(|err, a| {
        assert!(
            err.contains(
                "(update, file id 200): the target is out of sync: update of a row that is not in"
            ) && err.contains(&format!("err_number = {a}"))
                && err.contains("auto_synchronize"),
            "{err}"
        );
    });
}

#[test]
fn a_refused_change_goes_to_the_dead_letter_file_and_the_rest_lands() {
    PG.pg_refused_change_to_the_dead_letter_file("refuse", "mode = \"mapped\"");
}

#[test]
fn schema_prints_exact_types_and_apply_creates_the_table() {
    let home = Home::sample();
    let table = unique("schema");
    let sink = add_sink_with(&home, &format!("{table}\"x"), "create_tables = false");
    let schema = [
        "schema",
        "--file-id",
        "200",
        "--dialect",
        "postgres",
        "--sink",
        &sink,
    ];
    let printed = home.ok(&schema);
    assert_eq!(
        printed,
        format!(
            "create table if not exists \"{table}\"\"x\" (\n    \"err_number\" smallint not null,\n    \"err_name\" varchar(32),\n    \
             \"err_text\" varchar(128),\n    \"err_category\" varchar(18),\n    \"err_category2\" varchar(18),\n    \
             primary key (\"err_number\")\n);\n"
        )
    );
    home.ok(&[&schema[..], &["--apply"]].concat());
    let types: Vec<(String, String)> = pg_client()
        .query(
            "select column_name::text, format_type(a.atttypid, a.atttypmod) from information_schema.columns c \
             join pg_attribute a on a.attrelid = (quote_ident(c.table_name))::regclass and a.attname = c.column_name \
             where c.table_name = $1 order by c.ordinal_position",
            &[&format!("{table}\"x")],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        [
            ("err_number".into(), "smallint".into()),
            ("err_name".into(), "character varying(32)".into()),
            ("err_text".into(), "character varying(128)".into()),
            ("err_category".into(), "character varying(18)".into()),
            ("err_category2".into(), "character varying(18)".into()),
        ]
    );
    drop_table(&format!("{table}\"x"));
}

#[test]
fn unicode_empty_and_extreme_values_in_mapped_mode_through_a_quoted_table_name() {
    let home = Home::sample();
    home.add_file(
        301,
        "uni.data",
        "charset: utf-8;\nkey: id;\nfields: id fixed bin(63), name char(24), note char(40) varying, tiny fixed bin(15), evil char(40);\nend;\n",
    );
    // Inserts through COPY (from one row) and through multi-row INSERT (never COPY).
    let sinks: Vec<(String, String)> = [1, 0]
        .iter()
        .map(|copy_min_rows| {
            let table = format!("{}\"; drop table x; --", unique("uni"));
            let name = unique("pg");
            home.append_config(&format!(
                "\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{PG_URL}\"\nfile_ids = [301]\nmode = \"mapped\"\ncopy_min_rows = {copy_min_rows}\ntables = {{ 301 = '{table}' }}\n"
            ));
            (name, table)
        })
        .collect();
    let evil = r#"'); drop table x; --\"$1"#;
    home.io(
        "ops.jsonl",
        &format!(
            "{{\"op\":\"create\",\"file\":\"uni.data\"}}\n\
             {{\"op\":\"write\",\"file\":\"uni.data\",\"record\":{{\"id\":-9223372036854775808,\"name\":\"日本語 ☃ é\",\"note\":\"\",\"tiny\":-32768,\"evil\":\"{evil}\"}}}}\n\
             {{\"op\":\"write\",\"file\":\"uni.data\",\"record\":{{\"id\":9223372036854775807,\"name\":\"\",\"note\":\"tab\\there\\nnewline \\\\ backslash\",\"tiny\":32767,\"evil\":\"\"}}}}\n\
             {{\"op\":\"write\",\"file\":\"uni.data\",\"record\":{{\"id\":0,\"name\":\"zero\",\"note\":\"gone soon\",\"tiny\":0,\"evil\":\"\"}}}}\n\
             {{\"op\":\"begin\"}}\n\
             {{\"op\":\"rewrite\",\"file\":\"uni.data\",\"key\":{{\"id\":-9223372036854775808}},\"record\":{{\"id\":-9223372036854775808,\"name\":\"ÆØÅ 🦀\",\"note\":\"\",\"tiny\":-1,\"evil\":\"{evil}\"}}}}\n\
             {{\"op\":\"delete\",\"file\":\"uni.data\",\"key\":{{\"id\":0}}}}\n\
             {{\"op\":\"commit\"}}\n"
        ),
    );
    for (name, table) in &sinks {
        home.ok(&["extract", "--file-id", "301", "--sink", name]);
        let quoted = table.replace('"', "\"\"");
        let rows: Vec<Vec<String>> = pg_client()
            .query(
                &format!(
                    "select id::text, name, note, tiny::text, evil from \"{quoted}\" order by id"
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (0..5).map(|i| r.get::<_, String>(i)).collect())
            .collect();
        let evil_text = evil.replace("\\\"", "\"");
        assert_eq!(
            rows,
            [
                vec![
                    "-9223372036854775808",
                    "ÆØÅ 🦀",
                    "",
                    "-1",
                    evil_text.as_str()
                ],
                vec![
                    "9223372036854775807",
                    "",
                    "tab\there\nnewline \\ backslash",
                    "32767",
                    ""
                ],
            ]
        );
        drop_table(table);
    }
}

#[test]
fn a_snapshot_into_postgres_goes_through_copy_then_the_changes_follow() {
    let home = Home::sample();
    let table = unique("snap");
    let sink = add_sink_with(&home, &table, "mode = \"mapped\"");
    home.demo_records(3_000);
    let out = home.ok(&["extract", "--file-id", "200", "--sink", &sink, "--snapshot"]);
    assert!(out.contains("3000 from the snapshot"), "{out}");
    PG.assert_equals_file(&home, &table);
    let mut keys = home.file_keys();
    home.io("ops.jsonl", &mixed_script(&mut keys, 1_000, 3));
    home.extract(&sink);
    PG.assert_equals_file(&home, &table);
    drop_table(&table);
}
