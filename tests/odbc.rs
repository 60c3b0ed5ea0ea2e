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
use common::{Home, keys_of, mixed_script, write_input};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// The connection string of the tests' database, through the driver.
const CS: &str =
    "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres;";

const PG_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A table and sink name no other test (or run) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn client() -> postgres::Client {
    postgres::Client::connect(PG_URL, postgres::NoTls).unwrap()
}

/// `table` quoted for PostgreSQL.
fn quoted(table: &str) -> String {
    format!("\"{}\"", table.replace('"', "\"\""))
}

/// Adds an odbc sink writing `file_id` to `table` with more settings
/// (`mode = "mapped"`…); returns the sink name.
fn add_sink(home: &Home, file_id: u16, table: &str, extra: &str) -> String {
    let name = unique("odbc");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"odbc\"\nconnection_string = \"{CS}\"\nfile_ids = [{file_id}]\ntables = {{ {file_id} = '{table}' }}\n{extra}\n"
    ));
    name
}

/// The rows of an error_codes `table`, as text, ordered by err_number.
fn pg_rows(table: &str) -> Vec<Vec<String>> {
    let sql = format!(
        "select err_number::text as n, err_name, err_text, err_category, err_category2 from {} order by err_number",
        quoted(table)
    );
    client()
        .query(&sql, &[])
        .unwrap()
        .iter()
        .map(|r| (0..5).map(|i| r.get::<_, String>(i)).collect())
        .collect()
}

/// Asserts that `table` holds exactly the records of error_codes.data.
fn assert_equals_file(home: &Home, table: &str) {
    let rows = pg_rows(table);
    let file = home.file_rows("error_codes.data");
    assert_eq!(rows.len(), file.len(), "row count");
    if let Some((a, b)) = rows.iter().zip(&file).find(|(a, b)| a != b) {
        panic!("PostgreSQL (through ODBC) differs from the critical file: {a:?} vs {b:?}");
    }
}

/// Drops `table` and the checkpoint rows of `sink`.
fn drop_table(table: &str, sink: &str) {
    let mut c = client();
    let _ = c.batch_execute(&format!("drop table if exists {}", quoted(table)));
    let _ = c.execute("delete from drx_checkpoint where sink = $1", &[&sink]);
}

fn demo(home: &Home, input: &str) {
    home.ok(&[
        "demo",
        "--input-path",
        input,
        "--output-path",
        "error_codes.data",
    ]);
}

fn extract(home: &Home, sink: &str) -> String {
    home.ok(&["extract", "--file-id", "200", "--sink", sink])
}

#[test]
fn the_complete_example_and_its_changes_land_exactly_through_odbc() {
    let home = Home::sample();
    let table = unique("error_codes");
    let sink = add_sink(&home, 200, &table, "mode = \"template\"");
    demo(&home, "error_codes.table");
    let out = extract(&home, &sink);
    assert!(out.contains(&format!("{sink}: 1200 records")), "{out}");
    // The sample's rows, the hard ones too.
    assert_equals_file(&home, &table);
    let rows = pg_rows(&table);
    assert!(
        rows.iter()
            .any(|r| r[2] == "'); DROP TABLE error_codes; --")
    );
    assert!(rows.iter().any(|r| r[0] == "-32768") && rows.iter().any(|r| r[0] == "32767"));
    // Rewrites and deletes in transactions, one in four aborted.
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
    extract(&home, &sink);
    assert_equals_file(&home, &table);
    assert!(
        pg_rows(&table)
            .iter()
            .any(|r| r[1] == "T0" && r[2] == "it's <&> caf\u{e9}")
    );
    // Nothing new: nothing delivered, nothing doubled.
    let again = extract(&home, &sink);
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
    std::fs::write(
        home.join("layouts/layout.300"),
        "organization: indexed;\ncharset: utf-8;\nkey: id;\nfields: id bin(31), name char(24) varying, amount fixed dec(31,9), small fixed dec(3,2), dt_when bin(31), ratio float bin(53);\nend;\n",
    )
    .unwrap();
    // A double quote, a `;` and a comment in the table name.
    let table = format!("{}\"; drop table x; --", unique("amounts"));
    home.append_config("\n[[files]]\nsource_path = \"amounts.data\"\nextractor_file_id = 300\n");
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
    home.write("ops.jsonl", &script);
    home.ok(&["io", "--script", "ops.jsonl"]);
    let out = home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    assert!(out.contains(&format!("{sink}: ")), "{out}");
    let rows: Vec<Vec<Option<String>>> = client()
        .query(
            &format!(
                "select id::text, name, amount::text, small::text, dt_when::text, ratio::text from {} order by id",
                quoted(&table)
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
    home.write(
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
    home.ok(&["io", "--script", "ops2.jsonl"]);
    home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    let two: Vec<Option<String>> = client()
        .query(
            &format!(
                "select name, amount::text, small::text, dt_when::text, ratio::text from {} where id = 2",
                quoted(&table)
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
    let home = Home::sample();
    let table = unique("mapped");
    let sink = add_sink(&home, 200, &table, "mode = \"mapped\"");
    demo(&home, "error_codes.table");
    extract(&home, &sink);
    assert_equals_file(&home, &table);
    let mut keys = keys_of(&home.file_rows("error_codes.data"));
    for round in 0..2 {
        home.write("ops.jsonl", &mixed_script(&mut keys, 1_500, round));
        home.ok(&["io", "--script", "ops.jsonl"]);
        let out = extract(&home, &sink);
        assert!(!out.contains("repaired"), "{out}");
        assert_equals_file(&home, &table);
    }
    drop_table(&table, &sink);
}

#[test]
fn a_constraint_violation_names_seq_file_id_and_the_server_message() {
    let home = Home::sample();
    let table = unique("refuse");
    let sink = add_sink(&home, 200, &table, "");
    client()
        .batch_execute(&format!(
            "create table {} (err_number smallint primary key check (err_number <> 7), \
             err_name varchar(32), err_text varchar(128), err_category varchar(18), err_category2 varchar(18))",
            quoted(&table)
        ))
        .unwrap();
    write_input(&home.layout(), &home.join("input.table"), 50);
    demo(&home, "input.table");
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
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"dead-letter\"",
    );
    let table = unique("refuse_dl");
    let sink = add_sink(&home, 200, &table, "");
    client()
        .batch_execute(&format!(
            "create table {} (err_number smallint primary key check (err_number <> 7), \
             err_name varchar(32), err_text varchar(128), err_category varchar(18), err_category2 varchar(18))",
            quoted(&table)
        ))
        .unwrap();
    write_input(&home.layout(), &home.join("input.table"), 50);
    demo(&home, "input.table");
    let out = extract(&home, &sink);
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
    drop_table(&table, &sink);
}

#[test]
fn out_of_sync_rows_stop_a_strict_run_and_auto_synchronize_repairs_them() {
    let home = Home::sample();
    let table = unique("sync");
    let sink = add_sink(&home, 200, &table, "mode = \"mapped\"");
    demo(&home, "error_codes.table");
    extract(&home, &sink);
    let keys = keys_of(&home.file_rows("error_codes.data"));
    let (a, b) = (keys[10], keys[20]);
    // a: rewritten but missing; b: deleted but missing; 9999: inserted but present.
    let mut c = client();
    let t = quoted(&table);
    for k in [a, b] {
        c.execute(
            &format!("delete from {t} where err_number = $1"),
            &[&(k as i16)],
        )
        .unwrap();
    }
    c.execute(
        &format!("insert into {t} values (9999, 'stale', '', '', '')"),
        &[],
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
        err.contains("(update, file id 200): the target is out of sync")
            && err.contains(&format!("err_number = {a}"))
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
    let out = extract(&home, &sink);
    assert!(
        out.contains("3 repaired (1 updates as inserts, 1 inserts as updates, 1 deletes of missing rows skipped)"),
        "{out}"
    );
    assert_equals_file(&home, &table);
    drop_table(&table, &sink);
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
    demo(&home, "error_codes.table");
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
    assert_equals_file(&home, &t_env);
    extract(&home, &s_file);
    assert_equals_file(&home, &t_file);
    for sink in ["secret", "secret_file", "no_dsn"] {
        let err = home.fails(&["extract", "--file-id", "200", "--sink", sink]);
        assert!(err.contains("connecting:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
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
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"stop\"\nbatch_size = 200",
    );
    let table = unique("crash");
    let sink = add_sink(&home, 200, &table, "");
    write_input(&home.layout(), &home.join("input.table"), 15_000);
    demo(&home, "input.table");
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..20u64 {
        if Instant::now() > deadline {
            break;
        }
        let mut child = home
            .command(&["extract", "--file-id", "200", "--sink", &sink])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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
    extract(&home, &sink);
    assert_eq!(pg_rows(&table).len(), 15_000);
    assert_equals_file(&home, &table);
    drop_table(&table, &sink);
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
    client()
        .batch_execute(&format!(
            "create table {} (err_number smallint, err_name varchar(32), err_text varchar(128), \
             err_category varchar(18), err_category2 varchar(18))",
            quoted(&table)
        ))
        .unwrap();
    for home in &homes {
        home.edit_config(
            "on_bad_record = \"stop\"",
            "on_bad_record = \"stop\"\nbatch_size = 100",
        );
        home.append_config(&format!(
            "\n[[sinks]]\nname = \"{sink}\"\ntype = \"odbc\"\nconnection_string = \"{CS}\"\ntables = {{ 200 = '{table}' }}\ncreate_tables = false\n"
        ));
        write_input(&home.layout(), &home.join("input.table"), 2_000);
        demo(home, "input.table");
    }
    // The checkpoint row exists: the next batches move it by compare-and-set.
    extract(&homes[0], &sink);
    for home in &homes {
        let mut keys = keys_of(&home.file_rows("error_codes.data"));
        home.write("ops.jsonl", &mixed_script(&mut keys, 3_000, 11));
        home.ok(&["io", "--script", "ops.jsonl"]);
    }
    let children = homes.each_ref().map(|home| {
        home.command(&["extract", "--file-id", "200", "--sink", &sink])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    });
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
    extract(&homes[0], &sink);
    assert_equals_file(&homes[0], &table);
    drop_table(&table, &sink);
}

#[test]
fn a_lost_connection_is_reconnected_and_every_record_lands_once() {
    let home = Home::sample();
    home.edit_config(
        "on_bad_record = \"stop\"",
        "on_bad_record = \"stop\"\nbatch_size = 200",
    );
    let table = unique("reconnect");
    // The session's application_name tells which server sessions to end.
    let app = unique("drx_odbc_app");
    let name = unique("odbc");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{name}\"\ntype = \"odbc\"\nconnection_string = \"{CS}pqopt={{application_name={app}}};\"\ntables = {{ 200 = '{table}' }}\n"
    ));
    let sink = name;
    write_input(&home.layout(), &home.join("input.table"), 15_000);
    demo(&home, "input.table");
    let mut child = home
        .command(&["extract", "--file-id", "200", "--sink", &sink])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = client();
    let mut ended = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    for _ in 0..600 {
        if ended >= 3 || Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break;
        }
        let n: i64 = c
            .query_one(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = $1",
                &[&app],
            )
            .unwrap()
            .get(0);
        ended += n;
        std::thread::sleep(Duration::from_millis(150));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(ended >= 1, "no session was ended");
    assert!(err.contains("lost the database connection"), "{err}");
    assert_equals_file(&home, &table);
    drop_table(&table, &sink);
}
