//! A record file described by a COBOL copybook, end to end: EBCDIC records
//! written through `drx io`, journaled, extracted into SQLite and a CSV
//! feed by the same sinks as VOS layouts; bad data under the stop and
//! dead-letter policies.

#![allow(clippy::unwrap_used)]

mod common;
use common::Home;
use common::copybook::{SETTINGS, home, op, record};

fn rows(home: &Home) -> Vec<Vec<Option<String>>> {
    let conn = rusqlite::Connection::open(home.join("customers.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "select cust_id, cust_name, balance, n_phones, phone_1, phone_2, phone_3 \
             from customers order by cust_id",
        )
        .unwrap();
    stmt.query_map([], |row| {
        (0..7)
            .map(|i| {
                let v: rusqlite::types::Value = row.get(i)?;
                Ok(match v {
                    rusqlite::types::Value::Null => None,
                    rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                    rusqlite::types::Value::Text(t) => Some(t),
                    other => Some(format!("{other:?}")),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The rows after the changes both scripts make: Anna with two phones,
/// Björn rewritten with one, Carl deleted.
fn anna_and_bjorn() -> Vec<Vec<Option<String>>> {
    let row = |cells: [Option<&str>; 7]| cells.map(|c| c.map(str::to_owned)).to_vec();
    vec![
        row([
            Some("1"),
            Some("ANNA"),
            Some("1234.50"),
            Some("2"),
            Some("555-0101"),
            Some("555-0102"),
            None,
        ]),
        row([
            Some("2"),
            Some("BJÖRN"),
            Some("99.99"),
            Some("1"),
            Some("555-0201"),
            None,
            None,
        ]),
    ]
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn copybook_file_is_extracted_into_sqlite_and_csv() {
    let home = home();
    let script = [
        "{\"op\":\"create\",\"file\":\"customers.dat\"}\n".to_owned(),
        op(
            "write",
            1,
            &record(1, "ANNA", 123_450, &["555-0101", "555-0102"]),
        ),
        op("write", 2, &record(2, "BJÖRN", -1_705, &[])),
        op(
            "write",
            3,
            &record(3, "CARL", 0, &["555-0301", "555-0302", "555-0303"]),
        ),
        op("rewrite", 2, &record(2, "BJÖRN", 9_999, &["555-0201"])),
        "{\"op\":\"delete\",\"file\":\"customers.dat\",\"recno\":3}\n".to_owned(),
    ]
    .concat();
    home.io("ops.jsonl", &script);
    let out = home.ok(&["extract", "--file-id", "300"]);
    assert!(
        out.contains("5 records (3 inserts, 1 updates, 1 deletes)"),
        "{out}"
    );
    assert_eq!(rows(&home), anna_and_bjorn());
    // The table's columns and exact types, as `drx schema` prints them.
    let schema = home.ok(&["schema", "--file-id", "300", "--dialect", "postgres"]);
    for column in [
        "\"cust_id\" numeric(6,0) not null",
        "\"cust_name\" varchar(12)",
        "\"balance\" numeric(9,2)",
        "\"phone_3\" varchar(8)",
    ] {
        assert!(schema.contains(column), "{column} in {schema}");
    }
    // The CSV feed has every change, nulls as empty fields.
    let feed: String = std::fs::read_dir(home.join("feed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(feed.contains("2,BJÖRN,-17.05,0,,,"), "{feed}");
    assert!(
        feed.contains("3,CARL,0.00,3,555-0301,555-0302,555-0303"),
        "{feed}"
    );
}

/// Record 2 has an invalid packed digit (0xA) in BALANCE (byte 18).
fn bad_script() -> String {
    let mut bad = record(2, "BAD", 100, &[]);
    bad.replace_range(36..38, "0a");
    [
        "{\"op\":\"create\",\"file\":\"customers.dat\"}\n".to_owned(),
        op("write", 1, &record(1, "ANNA", 100, &[])),
        op("write", 2, &bad),
        op("write", 3, &record(3, "CARL", 300, &[])),
    ]
    .concat()
}

#[test]
fn bad_packed_digit_stops_naming_seq_field_and_offset() {
    let home = home();
    home.io("ops.jsonl", &bad_script());
    let err = home.fails(&["extract", "--file-id", "300", "--sink", "customers"]);
    assert!(
        err.contains(
            "file id 300, seq 3, after image: field balance at byte 18: invalid packed digit 0xA"
        ),
        "{err}"
    );
    let ids: Vec<_> = rows(&home).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [s("1")]);
}

#[test]
fn bad_packed_digit_goes_to_the_dead_letter_file_with_that_policy() {
    let home = home();
    home.dead_letter();
    home.io("ops.jsonl", &bad_script());
    let out = home.ok(&["extract", "--file-id", "300", "--sink", "customers"]);
    assert!(out.contains("1 dead letters"), "{out}");
    let ids: Vec<_> = rows(&home).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [s("1"), s("3")]);
    let dead = std::fs::read_to_string(home.join("dead_letter/file.300.dead.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(line["seq"], 3);
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("field balance at byte 18: invalid packed digit 0xA"),
        "{line}"
    );
}

#[test]
fn occurs_count_over_its_maximum_names_the_counter() {
    let home = home();
    let mut bad = record(4, "DORA", 0, &[]);
    bad.replace_range(46..48, "f7"); // N-PHONES = 7 > 3
    home.io(
        "ops.jsonl",
        &[
            "{\"op\":\"create\",\"file\":\"customers.dat\"}\n".to_owned(),
            op("write", 1, &bad),
        ]
        .concat(),
    );
    let err = home.fails(&["extract", "--file-id", "300", "--sink", "customers"]);
    assert!(
        err.contains("seq 2, after image: field n_phones at byte 23: OCCURS DEPENDING ON count 7 exceeds the table's maximum 3"),
        "{err}"
    );
}

/// The same file into PostgreSQL with its table as a JSON column: exact
/// NUMERIC balances, a JSONB array of the phones within the count.
#[test]
fn copybook_tables_as_jsonb_in_postgres() {
    let home = home();
    home.write(
        "layouts/layout.300.toml",
        &format!("{SETTINGS}occurs = \"json\"\n"),
    );
    // Checkpoints live in the server, by sink name: both unique per run.
    let table = common::unique("cb_customers");
    let sink = common::unique("pg");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{sink}\"\ntype = \"postgres\"\nurl = \"{}\"\nfile_ids = [300]\ntables = {{ 300 = \"{table}\" }}\n",
        common::PG_URL
    ));
    let script = [
        "{\"op\":\"create\",\"file\":\"customers.dat\"}\n".to_owned(),
        op(
            "write",
            1,
            &record(1, "ANNA", 123_450, &["555-0101", "555-0102"]),
        ),
        op("write", 2, &record(2, "BJÖRN", -1_705, &[])),
        op("rewrite", 2, &record(2, "BJÖRN", -1_706, &["555-\"02"])),
    ]
    .concat();
    home.io("ops.jsonl", &script);
    home.ok(&["extract", "--file-id", "300", "--sink", &sink]);
    let mut client = common::pg_client();
    let rows: Vec<(String, String, String, String)> = client
        .query(
            &format!(
                "select cust_id::text, balance::text, phone::text, jsonb_typeof(phone) from {} order by cust_id",
                common::pg_quoted(&table)
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let row =
        |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned(), "array".to_owned());
    assert_eq!(
        rows,
        [
            row("1", "1234.50", r#"["555-0101", "555-0102"]"#),
            row("2", "-17.06", r#"["555-\"02"]"#),
        ]
    );
    assert_eq!(
        common::pg_column_types(&table),
        [
            "numeric",
            "character varying",
            "numeric",
            "numeric",
            "jsonb"
        ]
    );
    client
        .batch_execute(&format!("drop table {}", common::pg_quoted(&table)))
        .unwrap();
}

/// `drx io` writes records and addresses keys of an indexed file by field
/// values, encoded through the copybook (EBCDIC, COMP-3, the ODO counter
/// given with its occurrences).
#[test]
fn drx_io_writes_copybook_records_from_field_values() {
    let home = home();
    home.write(
        "layouts/layout.300.toml",
        "organization = \"indexed\"\nkey = [\"cust_id\"]\n",
    );
    home.io(
        "ops.jsonl",
        r#"{"op":"create","file":"customers.dat"}
{"op":"write","file":"customers.dat","record":{"cust_id":1,"cust_name":"ANNA","balance":1234.5,"n_phones":2,"phone_1":"555-0101","phone_2":"555-0102"}}
{"op":"write","file":"customers.dat","record":{"cust_id":2,"cust_name":"BJÖRN","balance":-17.05}}
{"op":"write","file":"customers.dat","record":{"cust_id":3,"cust_name":"CARL"}}
{"op":"rewrite","file":"customers.dat","record":{"cust_id":2,"cust_name":"BJÖRN","balance":99.99,"n_phones":1,"phone_1":"555-0201"}}
{"op":"delete","file":"customers.dat","key":{"cust_id":3}}
"#,
    );
    home.ok(&["extract", "--file-id", "300", "--sink", "customers"]);
    assert_eq!(rows(&home), anna_and_bjorn());
    // The bytes are the mainframe's: the record of customer 1 as hex.
    let file = std::fs::read(home.join("customers.dat")).unwrap();
    let want = hex_bytes(&record(1, "ANNA", 123_450, &["555-0101", "555-0102"]));
    assert!(
        file.windows(want.len()).any(|w| w == want.as_slice()),
        "customer 1's EBCDIC record is in the file"
    );
    // A value that does not fit its PIC is an error naming the field.
    home.write(
        "bad.jsonl",
        "{\"op\":\"write\",\"file\":\"customers.dat\",\"record\":{\"cust_id\":1234567}}\n",
    );
    let err = home.fails(&["io", "--script", "bad.jsonl"]);
    assert!(err.contains("field cust_id"), "{err}");
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
