//! The MySQL sink against the real MariaDB server on 127.0.0.1:3306 (user
//! root, database `test`): the complete example in template mode, a mixed
//! stream with transactions in mapped mode, exact decimals, date-times and
//! hard text, quoted identifiers, refused values, out-of-sync rows strict
//! and repaired, kill -9 and rerun.
#![allow(clippy::unwrap_used)]

mod common;
use common::{
    Db, Home, assert_connecting_fails_without_the_password, assert_sample_hard_rows,
    kill_repeatedly, txn_script, unique, wait_until,
};
use mysql_async::prelude::Queryable;
use std::time::Duration;

const URL: &str = "mysql://root@127.0.0.1:3306/test";

/// `name` quoted for MySQL.
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Runs `sql` (text protocol) and returns its rows, every value as text
/// (`NULL` for NULL).
fn query(sql: &str) -> Vec<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = mysql_async::Conn::from_url(URL).await.unwrap();
        conn.query_drop("set time_zone = '+00:00'").await.unwrap();
        let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap();
        conn.disconnect().await.unwrap();
        rows.into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => "NULL".to_owned(),
                        mysql_async::Value::Bytes(b) => String::from_utf8(b).unwrap(),
                        other => other.as_sql(true),
                    })
                    .collect()
            })
            .collect()
    })
}

/// Runs statements that return no rows.
fn exec(sql: &str) {
    query(sql);
}

fn drop_table(table: &str) {
    exec(&format!("drop table if exists {}", quoted(table)));
}

/// Adds a mysql sink for file id 200 writing to `table`, with more
/// settings (`mode = "mapped"`…); returns the sink name.
fn add_sink(home: &Home, table: &str, extra: &str) -> String {
    let name = unique("my");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"mysql\"\nurl = \"{URL}\"\nfile_ids = [200]\ntables = {{ 200 = \"{}\" }}\n{extra}\n",
        table.replace('\\', "\\\\").replace('"', "\\\"")
    ));
    name
}

/// The rows of `table`, as text, ordered by err_number.
fn my_rows(table: &str) -> Vec<Vec<String>> {
    query(&format!(
        "select err_number, err_name, err_text, err_category, err_category2 from {} order by err_number",
        quoted(table)
    ))
}

const MY: Db = Db {
    name: "MySQL",
    add_sink,
    rows: my_rows,
    tamper,
    drop: |table, _| drop_table(table),
};

#[test]
fn the_complete_example_and_its_changes_land_exactly_in_mysql() {
    let home = Home::sample();
    let table = unique("error_codes");
    let sink = add_sink(&home, &table, "");
    home.demo("error_codes.table");
    home.io("ops.jsonl", &txn_script("it's <&> caf\u{e9} \\\\ `x`"));
    let out = home.extract(&sink);
    assert!(out.contains(&format!("{sink}: ")), "{out}");
    MY.assert_equals_file(&home, &table);
    let rows = my_rows(&table);
    assert_sample_hard_rows(&rows);
    assert!(rows.iter().any(|r| r[2] == "it's <&> caf\u{e9} \\ `x`"));
    // The checkpoint row is the sink's.
    let checkpoint = query(&format!(
        "select file_id from drx_checkpoint where sink = '{sink}'"
    ));
    assert_eq!(checkpoint, [["200"]]);
    // Nothing new: nothing delivered, nothing doubled.
    let again = home.extract(&sink);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    MY.assert_equals_file(&home, &table);
    drop_table(&table);
}

#[test]
fn mapped_mode_mixed_stream_with_transactions_equals_the_file() {
    // Inserts through LOAD DATA (the default), and multi-row inserts only.
    MY.mixed_stream(
        &[
            ("mapped", "mode = \"mapped\""),
            ("multi", "mode = \"mapped\"\nload_data_min_rows = 0"),
        ],
        3,
        2_000,
    );
}

#[test]
fn a_bulk_insert_over_an_existing_key_stops_strictly_and_is_repaired() {
    let home = Home::sample();
    let table = unique("dup");
    let sink = add_sink(&home, &table, "mode = \"mapped\"");
    exec(&format!(
        "create table {} (err_number smallint not null primary key, err_name varchar(32), \
         err_text varchar(128), err_category varchar(18), err_category2 varchar(18))",
        quoted(&table)
    ));
    tamper(&table, &[0], 250);
    home.demo_records(500);
    // 500 inserts go as one LOAD DATA, which skips the existing key with a
    // warning: the batch is redone a row at a time, and refused.
    let err = home.fails(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(
        err.contains("(insert, file id 200): Duplicate entry '250' for key 'PRIMARY'")
            && err.contains("seq "),
        "{err}"
    );
    assert_eq!(my_rows(&table).len(), 1, "the failed batch left nothing");
    home.auto_synchronize();
    let out = home.extract(&sink);
    assert!(
        out.contains("1 repaired (0 updates as inserts, 1 inserts as updates, 0 deletes of missing rows skipped)"),
        "{out}"
    );
    MY.assert_equals_file(&home, &table);
    drop_table(&table);
}

#[test]
fn decimals_date_times_and_hard_text_arrive_exactly_in_mapped_mode() {
    let home = Home::sample();
    // File id 300 has no templates: `auto` is mapped mode.
    home.add_file(
        300,
        "amounts.data",
        "charset: utf-8;\nkey: id;\nfields: id bin(15), amount fixed dec(31,9), small fixed dec(3,2), \
         dt_when bin(31), ratio float bin(53), name char(40) varying, code char(6);\nend;\n",
    );
    // Inserts as multi-row statements (fewer than 64), and through LOAD DATA.
    let table = unique("amounts");
    let name = unique("my");
    let loaded = unique("loaded");
    let load_name = unique("myl");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"mysql\"\nurl = \"{URL}\"\nfile_ids = [300]\ntables = {{ 300 = \"{table}\" }}\n\n\
         [[sinks]]\nname = \"{load_name}\"\ntype = \"mysql\"\nurl = \"{URL}\"\nfile_ids = [300]\ntables = {{ 300 = \"{loaded}\" }}\nload_data_min_rows = 1\n"
    ));
    let record = |id: i64,
                  amount: &str,
                  small: &str,
                  dt: &str,
                  ratio: &str,
                  name: &str,
                  code: &str| {
        format!(
            "{{\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{{\"id\":{id},\"amount\":{amount},\"small\":{small},\"dt_when\":\"{dt}\",\"ratio\":{ratio},\"name\":{name},\"code\":{code}}}}}\n"
        )
    };
    let mut script = String::from("{\"op\":\"create\",\"file\":\"amounts.data\"}\n");
    script += &record(
        1,
        "1234567890123456789012.123456789",
        "-9.99",
        "2024-02-29 23:59:59",
        "0.1",
        "\"caf\u{e9} \u{65e5}\u{672c} \u{1f600}\"",
        "\"\"",
    );
    script += &record(
        2,
        "-0.000000001",
        "0",
        "1980-01-01 00:00:00",
        "-1e300",
        "\"\"",
        "\"x\"",
    );
    script += &record(
        -32768,
        "-9999999999999999999999.999999999",
        "9.99",
        "2037-12-31 23:59:59",
        "0",
        "\"'); drop table t; -- \\\\ ` \\\" '\"",
        "\"a'b\"",
    );
    script += &record(
        3,
        "1",
        "1",
        "2001-01-01 00:00:00",
        "1",
        "\"three\"",
        "\"3\"",
    );
    script += &record(
        32767,
        "0.5",
        "-0.01",
        "1999-12-31 23:59:59",
        "1.5",
        "\"tab\\there\\nnew line\"",
        "\"\\\\N\"",
    );
    home.io("ops.jsonl", &script);
    // A transaction that rewrites and deletes, and an aborted one.
    home.io(
        "ops2.jsonl",
        "{\"op\":\"begin\"}\n\
         {\"op\":\"rewrite\",\"file\":\"amounts.data\",\"key\":{\"id\":2},\"record\":{\"id\":2,\"amount\":7.000000001,\"small\":1.5,\"dt_when\":\"2000-01-01 00:00:00\",\"ratio\":2,\"name\":\"again\",\"code\":\"\"}}\n\
         {\"op\":\"delete\",\"file\":\"amounts.data\",\"key\":{\"id\":3}}\n\
         {\"op\":\"commit\"}\n\
         {\"op\":\"begin\"}\n\
         {\"op\":\"delete\",\"file\":\"amounts.data\",\"key\":{\"id\":1}}\n\
         {\"op\":\"abort\"}\n",
    );
    home.ok(&["extract", "--file-id", "300", "--sink", &name]);
    home.ok(&["extract", "--file-id", "300", "--sink", &load_name]);
    let rows = query(&format!(
        "select id, amount, small, dt_when, ratio, name, code from {} order by id",
        quoted(&table)
    ));
    let loaded_rows = query(&format!(
        "select id, amount, small, dt_when, ratio, name, code from {} order by id",
        quoted(&loaded)
    ));
    assert_eq!(rows, loaded_rows);
    assert_eq!(
        rows,
        [
            [
                "-32768",
                "-9999999999999999999999.999999999",
                "9.99",
                "2037-12-31 23:59:59",
                "0",
                "'); drop table t; -- \\ ` \" '",
                "a'b"
            ],
            [
                "1",
                "1234567890123456789012.123456789",
                "-9.99",
                "2024-02-29 23:59:59",
                "0.1",
                "caf\u{e9} \u{65e5}\u{672c} \u{1f600}",
                ""
            ],
            [
                "2",
                "7.000000001",
                "1.50",
                "2000-01-01 00:00:00",
                "2",
                "again",
                ""
            ],
            [
                "32767",
                "0.500000000",
                "-0.01",
                "1999-12-31 23:59:59",
                "1.5",
                "tab\there\nnew line",
                "\\N"
            ],
        ]
    );
    let types = query(&format!(
        "select column_type from information_schema.columns where table_schema = 'test' and table_name = '{table}' order by ordinal_position"
    ));
    assert_eq!(
        types.concat(),
        [
            "smallint(6)",
            "decimal(31,9)",
            "decimal(3,2)",
            "datetime",
            "double",
            "varchar(40)",
            "varchar(6)"
        ]
    );
    drop_table(&table);
    drop_table(&loaded);
}

#[test]
fn table_names_with_backticks_and_quotes_cannot_change_a_statement() {
    let home = Home::sample();
    let template = format!("{}`\"'; drop table x; --", unique("qt"));
    let mapped = format!("{}`\"'; drop table y; --", unique("qm"));
    let t_sink = add_sink(&home, &template, "mode = \"template\"");
    let m_sink = add_sink(&home, &mapped, "mode = \"mapped\"");
    home.demo("error_codes.table");
    home.ok(&["extract", "--file-id", "200", "--sink", &t_sink]);
    home.ok(&["extract", "--file-id", "200", "--sink", &m_sink]);
    MY.assert_equals_file(&home, &template);
    MY.assert_equals_file(&home, &mapped);
    drop_table(&template);
    drop_table(&mapped);
}

#[test]
fn a_value_out_of_range_names_seq_file_id_field_and_the_server_message() {
    let home = Home::sample();
    let narrow = unique("narrow");
    let tiny = unique("tiny");
    let text_sink = add_sink(&home, &narrow, "");
    let number_sink = add_sink(&home, &tiny, "mode = \"mapped\"");
    // The tables exist with narrower columns than the layout's.
    exec(&format!(
        "create table {} (err_number smallint primary key, err_name varchar(3), err_text text, err_category text, err_category2 text)",
        quoted(&narrow)
    ));
    exec(&format!(
        "create table {} (err_number tinyint primary key, err_name text, err_text text, err_category text, err_category2 text)",
        quoted(&tiny)
    ));
    home.demo("error_codes.table");
    MY.assert_batch_refused(
        &home,
        &narrow,
        &text_sink,
        "(insert, file id 200, field err_name): Data too long for column 'err_name'",
    );
    MY.assert_batch_refused(
        &home,
        &tiny,
        &number_sink,
        "(insert, file id 200, field err_number): Out of range value for column 'err_number'",
    );
    drop_table(&narrow);
    drop_table(&tiny);
}

/// Changes `table` behind drx's back: deletes the rows of `missing` and
/// inserts a row with key `extra`.
fn tamper(table: &str, missing: &[i64], extra: i64) {
    let t = quoted(table);
    for k in missing {
        exec(&format!("delete from {t} where err_number = {k}"));
    }
    exec(&format!(
        "insert into {t} values ({extra}, 'stale', '', '', '')"
    ));
}

#[test]
fn out_of_sync_rows_stop_a_strict_run_and_auto_synchronize_repairs_them() {
    let (a, b, rows) = MY.out_of_sync(|err, a| {
        assert!(
            err.contains(
                "(update, file id 200): the target is out of sync: update of a row that is not in"
            ) && err.contains(&format!("err_number = {a}"))
                && err.contains("auto_synchronize")
                && err.contains("seq "),
            "{err}"
        );
    });
    assert!(rows.iter().any(|r| r[0] == a.to_string() && r[1] == "back"));
    assert!(rows.iter().any(|r| r[0] == "9999" && r[1] == "fresh"));
    assert!(!rows.iter().any(|r| r[0] == b.to_string()));
}

#[test]
fn kill_9_then_rerun_is_exactly_once_in_template_mode() {
    let (home, table, sink) = MY.kill_case("crash", "", 200, 15_000, 0);
    let killed = kill_repeatedly(&home, &[&sink], 20, |i| 30 + (i * 61) % 250);
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    MY.rerun_equals_file(&home, &table, &sink);
}

#[test]
fn kill_9_in_mapped_mode_then_rerun_is_exactly_once() {
    let (home, table, sink) = MY.kill_case("mcrash", "mode = \"mapped\"", 300, 5_000, 12_000);
    let killed = kill_repeatedly(&home, &[&sink], 20, |i| 30 + (i * 61) % 250);
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    MY.rerun_equals_file(&home, &table, &sink);
}

#[test]
fn connection_errors_never_show_the_password() {
    let home = Home::sample();
    home.append_config(
        "\n[[sinks]]\nname = \"nowhere\"\ntype = \"mysql\"\nurl = \"mysql://drx:hunter2@127.0.0.1:1/test\"\n\n\
         [[sinks]]\nname = \"refused\"\ntype = \"mysql\"\nurl = \"mysql://nobody_drx:hunter2@127.0.0.1:3306/test\"\n\n\
         [[sinks]]\nname = \"from_env\"\ntype = \"mysql\"\nurl_env = \"DRX_TEST_UNSET_MYSQL_URL\"\n",
    );
    home.demo("error_codes.table");
    assert_connecting_fails_without_the_password(&home, &["nowhere", "refused"]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "from_env"]);
    assert!(
        err.contains("environment variable DRX_TEST_UNSET_MYSQL_URL (url_env) is not set"),
        "{err}"
    );
}

#[test]
fn a_killed_server_connection_is_reconnected_and_loses_and_doubles_nothing() {
    let home = Home::sample();
    home.batch_size(100);
    let table = unique("killed");
    let sink = add_sink(&home, &table, "");
    home.demo_records(30_000);
    let mut child = home.spawn_extract(&sink);
    // The server ends drx's session (found by the lock it holds) now and
    // then, as a restart or a network cut would.
    let lock = format!("drx.{sink}.200");
    let mut kills = 0;
    let mut last = String::new();
    wait_until(Duration::from_secs(120), Duration::from_millis(150), || {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        let holder = query(&format!("select is_used_lock('{lock}')")).concat();
        if kills < 3 && holder.len() == 1 && holder[0] != "NULL" && holder[0] != last {
            // The session may end by itself meanwhile.
            let _ = std::panic::catch_unwind(|| exec(&format!("kill connection {}", holder[0])));
            last = holder[0].clone();
            kills += 1;
        }
        false
    });
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(kills >= 2, "only {kills} sessions were killed mid-way");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lost the database connection; reconnecting"),
        "{stderr}"
    );
    MY.assert_equals_file(&home, &table);
    drop_table(&table);
}

/// A file described by a COBOL copybook lands in MySQL as in the other
/// sinks: exact DECIMAL balances, NULL phones past the count.
#[test]
fn copybook_file_lands_in_mysql_with_exact_decimals_and_nulls() {
    let home = common::copybook::home();
    let table = unique("cb_customers");
    let sink = unique("my");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{sink}\"\ntype = \"mysql\"\nurl = \"{URL}\"\nfile_ids = [300]\ntables = {{ 300 = \"{table}\" }}\n"
    ));
    use common::copybook::{op, record};
    let script = [
        "{\"op\":\"create\",\"file\":\"customers.dat\"}\n".to_owned(),
        op(
            "write",
            1,
            &record(1, "ANNA", 123_450, &["555-0101", "555-0102"]),
        ),
        op("write", 2, &record(2, "BJÖRN", -1_705, &[])),
    ]
    .concat();
    home.io("ops.jsonl", &script);
    home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    let rows = query(&format!(
        "select cust_id, cust_name, balance, n_phones, phone_1, phone_2, phone_3 from {} order by cust_id",
        quoted(&table)
    ));
    assert_eq!(
        rows,
        [
            ["1", "ANNA", "1234.50", "2", "555-0101", "555-0102", "NULL"],
            ["2", "BJÖRN", "-17.05", "0", "NULL", "NULL", "NULL"],
        ]
    );
    drop_table(&table);
}
