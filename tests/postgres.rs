//! The PostgreSQL sink against the real server on 127.0.0.1:5432
//! (database `test`): the complete example, changes and transactions,
//! kill -9 and rerun, hard values, exact decimals, quoted identifiers.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, keys_of, mixed_script, write_input};
use std::time::{Duration, Instant};

const URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A table and sink name no other test (or run) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn client() -> postgres::Client {
    postgres::Client::connect(URL, postgres::NoTls).unwrap()
}

/// Adds a postgres sink writing file id 200 to `table`; returns the sink name.
fn add_sink(home: &Home, table: &str) -> String {
    add_sink_with(home, table, "")
}

/// Adds a postgres sink for file id 200 with more settings (`mode = "mapped"`…).
fn add_sink_with(home: &Home, table: &str, extra: &str) -> String {
    let name = unique("pg");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{URL}\"\nfile_ids = [200]\ntables = {{ 200 = '{table}' }}\n{extra}\n"
    ));
    name
}

/// Asserts that `table` holds exactly the records of error_codes.data.
fn assert_equals_file(home: &Home, table: &str) {
    let rows = pg_rows(table);
    let file = home.file_rows("error_codes.data");
    assert_eq!(rows.len(), file.len(), "row count");
    if let Some((a, b)) = rows.iter().zip(&file).find(|(a, b)| a != b) {
        panic!("PostgreSQL differs from the critical file: {a:?} vs {b:?}");
    }
}

/// The rows of `table`, as text, ordered by err_number.
fn pg_rows(table: &str) -> Vec<Vec<String>> {
    let sql = format!(
        "select err_number::text as n, err_name, err_text, err_category, err_category2 from \"{}\" order by err_number",
        table.replace('"', "\"\"")
    );
    client()
        .query(&sql, &[])
        .unwrap()
        .iter()
        .map(|r| (0..5).map(|i| r.get::<_, String>(i)).collect())
        .collect()
}

fn drop_table(table: &str) {
    let _ = client().batch_execute(&format!(
        "drop table if exists \"{}\"",
        table.replace('"', "\"\"")
    ));
}

#[test]
fn the_complete_example_and_its_changes_land_exactly_in_postgres() {
    let home = Home::sample();
    let table = unique("error_codes");
    let sink = add_sink(&home, &table);
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    let mut script = String::new();
    for t in 0..30 {
        script += "{\"op\":\"begin\"}\n";
        let n = t * 10 + 1;
        script += &format!(
            "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{n}}},\"record\":{{\"err_number\":{n},\"err_name\":\"T{t}\",\"err_text\":\"it's <&> caf\u{e9}\"}}}}\n"
        );
        script += &format!(
            "{{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{}}}}}\n",
            n + 1
        );
        script += if t % 4 == 3 {
            "{\"op\":\"abort\"}\n"
        } else {
            "{\"op\":\"commit\"}\n"
        };
    }
    home.write("ops.jsonl", &script);
    home.ok(&["io", "--script", "ops.jsonl"]);
    let out = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(out.contains(&format!("{sink}: ")), "{out}");
    let rows = pg_rows(&table);
    let file = home.file_rows("error_codes.data");
    assert_eq!(rows.len(), file.len());
    if let Some((a, b)) = rows.iter().zip(&file).find(|(a, b)| a != b) {
        panic!("PostgreSQL differs from the critical file: {a:?} vs {b:?}");
    }
    assert!(
        rows.iter()
            .any(|r| r[2] == "'); DROP TABLE error_codes; --")
    );
    assert!(rows.iter().any(|r| r[0] == "-32768") && rows.iter().any(|r| r[0] == "32767"));
    // Nothing new: nothing delivered, nothing doubled.
    let again = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    drop_table(&table);
}

#[test]
fn kill_9_then_rerun_is_exactly_once_in_postgres() {
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"stop\"\nbatch_size = 200",
    );
    let table = unique("crash");
    let sink = add_sink(&home, &table);
    write_input(&home.layout(), &home.join("input.table"), 15_000);
    home.ok(&[
        "demo",
        "--input-path",
        "input.table",
        "--output-path",
        "error_codes.data",
    ]);
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..20u64 {
        if Instant::now() > deadline {
            break;
        }
        let mut child = home
            .command(&["extract", "--file-id", "200", "--sink", &sink])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + (i * 53) % 200));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    let rows = pg_rows(&table);
    assert_eq!(rows.len(), 15_000);
    let file = home.file_rows("error_codes.data");
    if let Some((a, b)) = rows.iter().zip(&file).find(|(a, b)| a != b) {
        panic!("PostgreSQL differs from the critical file: {a:?} vs {b:?}");
    }
    drop_table(&table);
}

#[test]
fn a_table_name_with_quotes_cannot_change_a_statement() {
    let home = Home::sample();
    let table = format!("{}\"; drop table x; --", unique("q"));
    let sink = add_sink(&home, &table.replace('\'', "''"));
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert_eq!(pg_rows(&table).len(), 1200);
    drop_table(&table);
}

#[test]
fn decimals_and_date_times_arrive_exactly() {
    let home = Home::sample();
    std::fs::write(
        home.join("layouts/layout.300"),
        "key: id;\nfields: id bin(31), amount fixed dec(31,9), small fixed dec(3,2), dt_when bin(31), ratio float bin(53);\nend;\n",
    )
    .unwrap();
    let table = unique("amounts");
    let name = unique("pg");
    home.append_config(&format!(
        "\n[[files]]\nsource_path = \"amounts.data\"\nextractor_file_id = 300\n\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{URL}\"\nfile_ids = [300]\ntables = {{ 300 = \"{table}\" }}\n"
    ));
    home.write(
        "ops.jsonl",
        "{\"op\":\"create\",\"file\":\"amounts.data\"}\n\
         {\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{\"id\":1,\"amount\":1234567890123456789012.123456789,\"small\":-9.99,\"dt_when\":\"2024-02-29 23:59:59\",\"ratio\":0.1}}\n\
         {\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{\"id\":2,\"amount\":-0.000000001,\"small\":0,\"dt_when\":\"1980-01-01 00:00:00\",\"ratio\":-1e300}}\n",
    );
    home.ok(&["io", "--script", "ops.jsonl"]);
    home.ok(&["extract", "--file-id", "300", "--sink", &name]);
    let rows: Vec<Vec<String>> = client()
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
    let types: Vec<String> = client()
        .query(
            "select data_type from information_schema.columns where table_name = $1 order by ordinal_position",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        types,
        [
            "integer",
            "numeric",
            "numeric",
            "timestamp with time zone",
            "double precision"
        ]
    );
    let _ = client().batch_execute(&format!("drop table if exists \"{table}\""));
}

#[test]
fn a_value_out_of_range_names_seq_file_id_and_the_server_message() {
    let home = Home::sample();
    let table = unique("narrow");
    let sink = add_sink(&home, &table);
    // The table exists with a narrower column than the layout's.
    client()
        .batch_execute(&format!(
            "create table \"{table}\" (err_number smallint primary key, err_name varchar(3), err_text text, err_category text, err_category2 text)"
        ))
        .unwrap();
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(
        err.contains(
            "(insert, file id 200, field err_name): value too long for type character varying(3)"
        ),
        "{err}"
    );
    assert!(err.contains("seq "), "{err}");
    assert!(pg_rows(&table).is_empty(), "the failed batch left nothing");
    drop_table(&table);
}

#[test]
fn connection_errors_never_show_the_password_and_url_env_must_be_set() {
    let home = Home::sample();
    home.append_config(
        "\n[[sinks]]\nname = \"secret\"\ntype = \"postgres\"\nurl = \"host=127.0.0.1 port=1 user=drx password=hunter2 dbname=test connect_timeout=5\"\n\n[[sinks]]\nname = \"from_env\"\ntype = \"postgres\"\nurl_env = \"DRX_TEST_UNSET_PG_URL\"\n",
    );
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "secret"]);
    assert!(err.contains("connecting:"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "from_env"]);
    assert!(
        err.contains("environment variable DRX_TEST_UNSET_PG_URL (url_env) is not set"),
        "{err}"
    );
}

#[test]
fn mapped_mode_mixed_stream_with_transactions_equals_the_file() {
    let home = Home::sample();
    let table = unique("mapped");
    let sink = add_sink_with(&home, &table, "mode = \"mapped\"");
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert_equals_file(&home, &table);
    let mut keys = keys_of(&home.file_rows("error_codes.data"));
    for round in 0..3 {
        home.write("ops.jsonl", &mixed_script(&mut keys, 2_000, round));
        home.ok(&["io", "--script", "ops.jsonl"]);
        let out = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
        assert!(!out.contains("repaired"), "{out}");
        assert_equals_file(&home, &table);
    }
    drop_table(&table);
}

#[test]
fn kill_9_in_mapped_mode_then_rerun_is_exactly_once() {
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"stop\"\nbatch_size = 300",
    );
    let table = unique("mcrash");
    let sink = add_sink_with(&home, &table, "mode = \"mapped\"");
    write_input(&home.layout(), &home.join("input.table"), 5_000);
    home.ok(&[
        "demo",
        "--input-path",
        "input.table",
        "--output-path",
        "error_codes.data",
    ]);
    let mut keys = keys_of(&home.file_rows("error_codes.data"));
    home.write("ops.jsonl", &mixed_script(&mut keys, 12_000, 7));
    home.ok(&["io", "--script", "ops.jsonl"]);
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..20u64 {
        if Instant::now() > deadline {
            break;
        }
        let mut child = home
            .command(&["extract", "--file-id", "200", "--sink", &sink])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + (i * 61) % 250));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert_equals_file(&home, &table);
    drop_table(&table);
}

/// Changes `table` behind drx's back: deletes the row of `missing` and
/// inserts a row with key `extra`.
fn tamper(table: &str, missing: i64, extra: i64) {
    let mut c = client();
    let t = table.replace('"', "\"\"");
    c.execute(
        &format!("delete from \"{t}\" where err_number = $1"),
        &[&(missing as i16)],
    )
    .unwrap();
    c.execute(
        &format!("insert into \"{t}\" values ($1, 'stale', '', '', '')"),
        &[&(extra as i16)],
    )
    .unwrap();
}

#[test]
fn out_of_sync_rows_stop_a_strict_run_and_auto_synchronize_repairs_them() {
    let home = Home::sample();
    let table = unique("sync");
    let sink = add_sink_with(&home, &table, "mode = \"mapped\"");
    home.ok(&[
        "demo",
        "--input-path",
        "error_codes.table",
        "--output-path",
        "error_codes.data",
    ]);
    home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    let keys = keys_of(&home.file_rows("error_codes.data"));
    let (a, b) = (keys[10], keys[20]);
    // a: rewritten but missing; b: deleted but missing; 9999: inserted but present.
    tamper(&table, a, 9999);
    client()
        .execute(
            &format!("delete from \"{table}\" where err_number = $1"),
            &[&(b as i16)],
        )
        .unwrap();
    home.write(
        "ops.jsonl",
        &format!(
            "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{a}}},\"record\":{{\"err_number\":{a},\"err_name\":\"back\"}}}}\n\
             {{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{b}}}}}\n\
             {{\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{{\"err_number\":9999,\"err_name\":\"fresh\"}}}}\n"
        ),
    );
    home.ok(&["io", "--script", "ops.jsonl"]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(
        err.contains(
            "(update, file id 200): the target is out of sync: update of a row that is not in"
        ) && err.contains(&format!("err_number = {a}"))
            && err.contains("auto_synchronize"),
        "{err}"
    );
    // Strict: nothing of the batch was applied.
    assert!(
        pg_rows(&table)
            .iter()
            .any(|r| r[0] == "9999" && r[1] == "stale")
    );
    home.edit_config(
        "extractor_file_id = 200",
        "extractor_file_id = 200\nauto_synchronize = true",
    );
    let out = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(
        out.contains("3 repaired (1 updates as inserts, 1 inserts as updates, 1 deletes of missing rows skipped)"),
        "{out}"
    );
    assert_equals_file(&home, &table);
    drop_table(&table);
}

#[test]
fn a_refused_change_goes_to_the_dead_letter_file_and_the_rest_lands() {
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"dead-letter\"",
    );
    let table = unique("refuse");
    let sink = add_sink_with(&home, &table, "mode = \"mapped\"");
    client()
        .batch_execute(&format!(
            "create table \"{table}\" (err_number smallint primary key check (err_number <> 7), \
             err_name varchar(32), err_text varchar(128), err_category varchar(18), err_category2 varchar(18))"
        ))
        .unwrap();
    write_input(&home.layout(), &home.join("input.table"), 50);
    home.ok(&[
        "demo",
        "--input-path",
        "input.table",
        "--output-path",
        "error_codes.data",
    ]);
    let out = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(
        out.contains("49 records") && out.contains("1 dead letters"),
        "{out}"
    );
    let rows = pg_rows(&table);
    assert_eq!(rows.len(), 49);
    assert!(!rows.iter().any(|r| r[0] == "7"));
    let dead = std::fs::read_to_string(home.join("dead_letter/file.200.dead.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 1, "{dead}");
    assert!(
        dead.contains("\"op\":\"insert\"") && dead.contains("check constraint"),
        "{dead}"
    );
    drop_table(&table);
}

#[test]
fn schema_prints_exact_types_and_apply_creates_the_table() {
    let home = Home::sample();
    let table = unique("schema");
    let sink = add_sink_with(&home, &format!("{table}\"x"), "create_tables = false");
    let printed = home.ok(&[
        "schema",
        "--file-id",
        "200",
        "--dialect",
        "postgres",
        "--sink",
        &sink,
    ]);
    assert_eq!(
        printed,
        format!(
            "create table if not exists \"{table}\"\"x\" (\n    \"err_number\" smallint not null,\n    \"err_name\" varchar(32),\n    \
             \"err_text\" varchar(128),\n    \"err_category\" varchar(18),\n    \"err_category2\" varchar(18),\n    \
             primary key (\"err_number\")\n);\n"
        )
    );
    home.ok(&[
        "schema",
        "--file-id",
        "200",
        "--dialect",
        "postgres",
        "--sink",
        &sink,
        "--apply",
    ]);
    let types: Vec<(String, String)> = client()
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
    std::fs::write(
        home.join("layouts/layout.301"),
        "charset: utf-8;\nkey: id;\nfields: id fixed bin(63), name char(24), note char(40) varying, tiny fixed bin(15), evil char(40);\nend;\n",
    )
    .unwrap();
    home.append_config("\n[[files]]\nsource_path = \"uni.data\"\nextractor_file_id = 301\n");
    // Inserts through COPY (from one row) and through multi-row INSERT (never COPY).
    let sinks: Vec<(String, String)> = [1, 0]
        .iter()
        .map(|copy_min_rows| {
            let table = format!("{}\"; drop table x; --", unique("uni"));
            let name = unique("pg");
            home.append_config(&format!(
                "\n[[sinks]]\nname = \"{name}\"\ntype = \"postgres\"\nurl = \"{URL}\"\nfile_ids = [301]\nmode = \"mapped\"\ncopy_min_rows = {copy_min_rows}\ntables = {{ 301 = '{table}' }}\n"
            ));
            (name, table)
        })
        .collect();
    let evil = r#"'); drop table x; --\"$1"#;
    home.write(
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
    home.ok(&["io", "--script", "ops.jsonl"]);
    for (name, table) in &sinks {
        home.ok(&["extract", "--file-id", "301", "--sink", name]);
        let quoted = table.replace('"', "\"\"");
        let rows: Vec<Vec<String>> = client()
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
