#![allow(clippy::unwrap_used)]
//! The ODBC sink against the real PostgreSQL server on 127.0.0.1:5432
//! (database `test`) through the PostgreSQL ODBC driver ("PostgreSQL
//! Unicode" in /etc/odbcinst.ini): the complete example, mapped mode with
//! transactions, hard values, quoted identifiers, refused changes (stop and
//! dead letter), strict vs auto_synchronize, where the connection string
//! comes from, kill -9 and rerun, two extractions at once, and sessions
//! ended under a running extraction. Rows are read back with the `postgres`
//! crate.

mod common;
use common::{
    Db, Home, assert_connecting_fails_without_the_password, assert_sample_hard_rows,
    kill_repeatedly, mixed_script, pg_client, pg_column_types, pg_create_table_refusing_7,
    pg_quoted, pg_rows, pg_tamper, txn_script, unique, wait_until,
};
use std::process::Output;
use std::time::Duration;

/// The connection string of the tests' database, through the driver.
const CS: &str =
    "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres;";

/// Adds an odbc sink writing `file_id` to `table` with more settings
/// (`mode = "mapped"`…); returns the sink name.
fn add_sink(home: &Home, file_id: u16, table: &str, extra: &str) -> String {
    let name = unique("odbc");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"odbc\"\nconnection_string = \"{CS}\"\nfile_ids = [{file_id}]\ntables = {{ {file_id} = '{table}' }}\n{extra}\n"
    ));
    name
}

/// Drops `table` and the checkpoint rows of `sink`.
fn drop_table(table: &str, sink: &str) {
    let mut c = pg_client();
    let _ = c.batch_execute(&format!("drop table if exists {}", pg_quoted(table)));
    let _ = c.execute("delete from drx_checkpoint where sink = $1", &[&sink]);
}

const ODBC: Db = Db {
    name: "PostgreSQL (through ODBC)",
    add_sink: |home, table, extra| add_sink(home, 200, table, extra),
    rows: pg_rows,
    tamper: pg_tamper,
    drop: drop_table,
};

#[test]
fn the_complete_example_and_its_changes_land_exactly_through_odbc() {
    let home = Home::sample();
    let table = unique("error_codes");
    let sink = add_sink(&home, 200, &table, "mode = \"template\"");
    home.demo("error_codes.table");
    let out = home.extract(&sink);
    assert!(out.contains(&format!("{sink}: 1200 records")), "{out}");
    // The sample's rows, the hard ones too.
    ODBC.assert_equals_file(&home, &table);
    let rows = pg_rows(&table);
    assert_sample_hard_rows(&rows);
    // Rewrites and deletes in transactions, one in four aborted.
    home.io("ops.jsonl", &txn_script("it's <&> caf\u{e9}"));
    home.extract(&sink);
    ODBC.assert_equals_file(&home, &table);
    assert!(
        pg_rows(&table)
            .iter()
            .any(|r| r[1] == "T0" && r[2] == "it's <&> caf\u{e9}")
    );
    // Nothing new: nothing delivered, nothing doubled.
    let again = home.extract(&sink);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    drop_table(&table, &sink);
}

/// One record of layout.300 as a `drx io` record object.
fn amount(id: i64, name: &str, amount: &str, small: &str, when: &str, ratio: &str) -> String {
    format!(
        "{{\"id\":{id},\"name\":{},\"amount\":{amount},\"small\":{small},\"dt_when\":\"{when}\",\"ratio\":{ratio}}}",
        serde_json::to_string(name).unwrap()
    )
}

#[test]
fn mapped_mode_with_transactions_hard_values_and_a_quoted_table_name() {
    let home = Home::sample();
    home.add_file(
        300,
        "amounts.data",
        "organization: indexed;\ncharset: utf-8;\nkey: id;\nfields: id bin(31), name char(24) varying, amount fixed dec(31,9), small fixed dec(3,2), dt_when bin(31), ratio float bin(53);\nend;\n",
    );
    // A double quote, a `;` and a comment in the table name.
    let table = format!("{}\"; drop table x; --", unique("amounts"));
    let sink = add_sink(&home, 300, &table, "");
    let w = |r: String| format!("{{\"op\":\"write\",\"file\":\"amounts.data\",\"record\":{r}}}\n");
    let rw =
        |r: String| format!("{{\"op\":\"rewrite\",\"file\":\"amounts.data\",\"record\":{r}}}\n");
    let del = |id: i64| {
        format!("{{\"op\":\"delete\",\"file\":\"amounts.data\",\"key\":{{\"id\":{id}}}}}\n")
    };
    let t = "2024-02-29 23:59:59";
    let mut script = String::from("{\"op\":\"create\",\"file\":\"amounts.data\"}\n");
    script += &w(amount(
        1,
        "one",
        "1234567890123456789012.123456789",
        "-9.99",
        t,
        "0.1",
    ));
    script += &w(amount(
        2,
        "",
        "-0.000000001",
        "0",
        "1980-01-01 00:00:00",
        "-1e300",
    ));
    script += &w(amount(
        3,
        "caf\u{e9} \u{2603} \u{65e5}\u{672c}",
        "0",
        "1",
        t,
        "2.5",
    ));
    script += &w(amount(4, "'); drop table x; --", "1.5", "0.01", t, "0"));
    script += &w(amount(5, "five", "5", "5", t, "5"));
    script += "{\"op\":\"begin\"}\n";
    script += &rw(amount(
        1,
        "uno",
        "9999999999999999999999.999999999",
        "9.99",
        t,
        "1e-300",
    ));
    script += &del(2);
    script += &w(amount(6, "six", "6", "6", t, "6"));
    script += "{\"op\":\"commit\"}\n";
    script += "{\"op\":\"begin\"}\n";
    script += &rw(amount(3, "aborted", "3", "3", t, "3"));
    script += &del(4);
    script += &w(amount(7, "seven", "7", "7", t, "7"));
    script += "{\"op\":\"abort\"}\n";
    script += "{\"op\":\"begin\"}\n";
    script += &w(amount(8, "eight", "8", "8", t, "8"));
    script += &rw(amount(8, "ocho", "8.5", "8.5", t, "8.5"));
    script += &del(5);
    script += &w(amount(5, "five again", "-5", "-5", t, "-5"));
    script += "{\"op\":\"commit\"}\n";
    script += &del(6);
    home.io("ops.jsonl", &script);
    let out = home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    assert!(out.contains(&format!("{sink}: ")), "{out}");
    let rows: Vec<Vec<Option<String>>> = pg_client()
        .query(
            &format!(
                "select id::text, name, amount::text, small::text, dt_when::text, ratio::text from {} order by id",
                pg_quoted(&table)
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..6).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect();
    let row = |v: [&str; 6]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
    assert_eq!(
        rows,
        [
            row([
                "1",
                "uno",
                "9999999999999999999999.999999999",
                "9.99",
                t,
                "1e-300"
            ]),
            row([
                "3",
                "caf\u{e9} \u{2603} \u{65e5}\u{672c}",
                "0.000000000",
                "1.00",
                t,
                "2.5"
            ]),
            row(["4", "'); drop table x; --", "1.500000000", "0.01", t, "0"]),
            row(["5", "five again", "-5.000000000", "-5.00", t, "-5"]),
            row(["8", "ocho", "8.500000000", "8.50", t, "8.5"]),
        ]
    );
    // An empty string stays an empty string (not NULL), decimals digit for digit.
    home.io(
        "ops2.jsonl",
        &w(amount(
            2,
            "",
            "-0.000000001",
            "0",
            "1980-01-01 00:00:00",
            "-1e300",
        )),
    );
    home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    let two: Vec<Option<String>> = pg_client()
        .query(
            &format!(
                "select name, amount::text, small::text, dt_when::text, ratio::text from {} where id = 2",
                pg_quoted(&table)
            ),
            &[],
        )
        .unwrap()
        .iter()
        .flat_map(|r| (0..5).map(|i| r.get::<_, Option<String>>(i)).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        two,
        ["", "-0.000000001", "0.00", "1980-01-01 00:00:00", "-1e+300"].map(|s| Some(s.to_owned()))
    );
    let again = home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    // The exact types of the table made from the layout.
    assert_eq!(
        pg_column_types(&table),
        [
            "integer",
            "character varying",
            "numeric",
            "numeric",
            "timestamp without time zone",
            "double precision"
        ]
    );
    drop_table(&table, &sink);
}

#[test]
fn mapped_mode_mixed_stream_with_aborted_transactions_equals_the_file() {
    ODBC.mixed_stream(&[("mapped", "mode = \"mapped\"")], 2, 1_500);
}

#[test]
fn a_constraint_violation_names_seq_file_id_and_the_server_message() {
    let home = Home::sample();
    let table = unique("refuse");
    let sink = add_sink(&home, 200, &table, "");
    pg_create_table_refusing_7(&table);
    home.demo_records(50);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", &sink]);
    // Seq 1 is the file's create: record 7 is seq 8.
    assert!(err.contains("seq 8 (insert, file id 200): "), "{err}");
    assert!(err.contains("check constraint"), "{err}");
    assert!(err.contains("23514"), "{err}");
    assert!(pg_rows(&table).is_empty(), "the failed batch left nothing");
    drop_table(&table, &sink);
}

#[test]
fn under_dead_letter_a_refused_change_is_set_aside_and_the_rest_lands() {
    ODBC.pg_refused_change_to_the_dead_letter_file("refuse_dl", "");
}

#[test]
fn out_of_sync_rows_stop_a_strict_run_and_auto_synchronize_repairs_them() {
    ODBC.out_of_sync(|err, a| {
        assert!(
            err.contains("(update, file id 200): the target is out of sync")
                && err.contains(&format!("err_number = {a}"))
                && err.contains("auto_synchronize"),
            "{err}"
        );
    });
}

/// `drx ARGS` with `vars` set.
fn run_with(home: &Home, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = home.command(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_connection_string_from_env_or_file_and_errors_never_show_the_password() {
    let home = Home::sample();
    let (t_env, t_file) = (unique("from_env"), unique("from_file"));
    // Checkpoints are kept per sink name in the database: names of this run.
    let (s_env, s_file) = (unique("odbc_env"), unique("odbc_file"));
    std::fs::create_dir_all(home.join("secrets")).unwrap();
    home.write(
        "secrets/odbc.txt",
        &format!("{CS}\nthe second line is not read\n"),
    );
    home.write(
        "secrets/bad.txt",
        "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=test;Uid=drx;Pwd={hunter2;x};\n",
    );
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{s_env}\"\ntype = \"odbc\"\nconnection_string_env = \"DRX_TEST_ODBC_CS\"\ntables = {{ 200 = \"{t_env}\" }}\n\
         \n[[sinks]]\nname = \"{s_file}\"\ntype = \"odbc\"\nconnection_string_file = \"secrets/odbc.txt\"\ntables = {{ 200 = \"{t_file}\" }}\n\
         \n[[sinks]]\nname = \"secret\"\ntype = \"odbc\"\nconnection_string = \"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port=1;Database=test;Uid=drx;Pwd=hunter2;\"\n\
         \n[[sinks]]\nname = \"secret_file\"\ntype = \"odbc\"\nconnection_string_file = \"secrets/bad.txt\"\n\
         \n[[sinks]]\nname = \"no_dsn\"\ntype = \"odbc\"\nconnection_string = \"DSN=drx_no_such_dsn;UID=drx;PWD=hunter2\"\n\
         \n[[sinks]]\nname = \"unset\"\ntype = \"odbc\"\nconnection_string_env = \"DRX_TEST_UNSET_ODBC_CS\"\n"
    ));
    home.demo("error_codes.table");
    let out = run_with(
        &home,
        &["extract", "--file-id", "200", "--sink", &s_env],
        &[("DRX_TEST_ODBC_CS", CS)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ODBC.assert_equals_file(&home, &t_env);
    home.extract(&s_file);
    ODBC.assert_equals_file(&home, &t_file);
    assert_connecting_fails_without_the_password(&home, &["secret", "secret_file", "no_dsn"]);
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "secret"]);
    assert!(err.contains("(SQLSTATE 08001)"), "{err}");
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "unset"]);
    assert!(
        err.contains(
            "environment variable DRX_TEST_UNSET_ODBC_CS (connection_string_env) is not set"
        ),
        "{err}"
    );
    // With -vv every log line is out too: still no password.
    let out = run_with(
        &home,
        &["-vv", "extract", "--file-id", "200", "--sink", "secret"],
        &[],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success() && !all.contains("hunter2"), "{all}");
    drop_table(&t_env, &s_env);
    drop_table(&t_file, &s_file);
}

#[test]
fn kill_9_then_rerun_is_exactly_once_through_odbc() {
    let (home, table, sink) = ODBC.kill_case("crash", "", 200, 15_000, 0);
    let killed = kill_repeatedly(&home, &[&sink], 20, |i| 20 + (i * 53) % 200);
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    assert_eq!(ODBC.rerun_equals_file(&home, &table, &sink).len(), 15_000);
}

#[test]
fn two_extractions_at_once_never_both_commit_a_batch() {
    // Two homes with the same records and journal positions, one sink name
    // and table: two extractions of the same sink and file id.
    let homes = [Home::sample(), Home::sample()];
    let table = unique("twice");
    let sink = unique("odbc");
    // No primary key: only the checkpoint's compare-and-set keeps a batch
    // from landing twice.
    pg_client()
        .batch_execute(&format!(
            "create table {} (err_number smallint, err_name varchar(32), err_text varchar(128), \
             err_category varchar(18), err_category2 varchar(18))",
            pg_quoted(&table)
        ))
        .unwrap();
    for home in &homes {
        home.batch_size(100);
        home.append_config(&format!(
            "\n[[sinks]]\nname = \"{sink}\"\ntype = \"odbc\"\nconnection_string = \"{CS}\"\ntables = {{ 200 = '{table}' }}\ncreate_tables = false\n"
        ));
        home.demo_records(2_000);
    }
    // The checkpoint row exists: the next batches move it by compare-and-set.
    homes[0].extract(&sink);
    for home in &homes {
        home.io("ops.jsonl", &mixed_script(&mut home.file_keys(), 3_000, 11));
    }
    let children = homes.each_ref().map(|home| home.spawn_extract(&sink));
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(
                    "another extraction of the same sink and file id 200 moved the checkpoint"
                ),
                "{err}"
            );
        }
    }
    // Whatever is left, a last run delivers; every record is there once.
    homes[0].extract(&sink);
    ODBC.assert_equals_file(&homes[0], &table);
    drop_table(&table, &sink);
}

#[test]
fn a_lost_connection_is_reconnected_and_every_record_lands_once() {
    let home = Home::sample();
    home.batch_size(200);
    let table = unique("reconnect");
    // The session's application_name tells which server sessions to end.
    let app = unique("drx_odbc_app");
    let name = unique("odbc");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"odbc\"\nconnection_string = \"{CS}pqopt={{application_name={app}}};\"\ntables = {{ 200 = '{table}' }}\n"
    ));
    let sink = name;
    home.demo_records(15_000);
    let mut child = home.spawn_extract(&sink);
    let mut c = pg_client();
    let mut ended = 0;
    wait_until(Duration::from_secs(60), Duration::from_millis(150), || {
        if ended >= 3 || child.try_wait().unwrap().is_some() {
            return true;
        }
        let n: i64 = c
            .query_one(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = $1",
                &[&app],
            )
            .unwrap()
            .get(0);
        ended += n;
        false
    });
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(ended >= 1, "no session was ended");
    assert!(err.contains("lost the database connection"), "{err}");
    ODBC.assert_equals_file(&home, &table);
    drop_table(&table, &sink);
}
