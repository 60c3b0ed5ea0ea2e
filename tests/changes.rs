//! Inserts, updates, deletes and transactions written with `drx io` land in
//! the sinks exactly as the critical file ends up.

#![allow(clippy::unwrap_used)]

mod common;
use common::Home;

fn record(n: i64, name: &str, text: &str) -> String {
    format!(
        r#"{{"err_number":{n},"err_name":"{name}","err_text":"{text}","err_category":"cat{}","err_category2":""}}"#,
        n % 3
    )
}

/// A script of inserts, then committed and aborted transactions of updates
/// and deletes.
fn script() -> String {
    let f = "error_codes.data";
    let mut s = format!("# a drx io script\n{{\"op\":\"create\",\"file\":\"{f}\"}}\n");
    for n in 1..=300 {
        s += &format!(
            "{{\"op\":\"write\",\"file\":\"{f}\",\"record\":{}}}\n",
            record(n, &format!("e{n}"), "original")
        );
    }
    for round in 0..20 {
        let commit = round % 3 != 2;
        s += "{\"op\":\"begin\"}\n";
        for k in 0..5 {
            let n = round * 10 + k + 1;
            let text = if commit { "updated" } else { "ABORTED" };
            s += &format!(
                "{{\"op\":\"rewrite\",\"file\":\"{f}\",\"key\":{{\"err_number\":{n}}},\"record\":{}}}\n",
                record(n, &format!("u{n}"), text)
            );
        }
        s += &format!(
            "{{\"op\":\"delete\",\"file\":\"{f}\",\"key\":{{\"err_number\":{}}}}}\n",
            200 + round
        );
        s += &format!(
            "{{\"op\":\"write\",\"file\":\"{f}\",\"record\":{}}}\n",
            record(
                1000 + round,
                "new",
                if commit { "inserted" } else { "ABORTED" }
            )
        );
        s += if commit {
            "{\"op\":\"commit\"}\n"
        } else {
            "{\"op\":\"abort\"}\n"
        };
    }
    // Outside any transaction.
    s += &format!(
        "{{\"op\":\"rewrite\",\"file\":\"{f}\",\"key\":{{\"err_number\":300}},\"record\":{}}}\n",
        record(300, "last", "it's <&> \\\"x\\\"")
    );
    s += &format!("{{\"op\":\"delete\",\"file\":\"{f}\",\"key\":{{\"err_number\":299}}}}\n");
    s
}

#[test]
fn committed_changes_land_and_aborted_ones_never_do() {
    let home = Home::sample();
    home.append_config(
        r#"
[[sinks]]
name = "feed"
type = "csv"
dir = "feeds"
file_ids = [200]

[[sinks]]
name = "xmlfeed"
type = "xml"
dir = "feeds"
"#,
    );
    home.write("ops.jsonl", &script());
    let out = home.ok(&["io", "--script", "ops.jsonl"]);
    assert!(out.contains("operations"), "{out}");

    let out = home.ok(&["extract", "--file-id", "200"]);
    assert!(out.contains("sqlite: "), "{out}");
    assert!(out.contains("aborted transactions dropped"), "{out}");

    let file = home.file_rows("error_codes.data");
    let db = home.db_rows("error_codes.db");
    assert_eq!(db, file, "the SQLite table equals the critical file");
    assert!(!db.iter().any(|r| r[2] == "ABORTED"));
    assert!(db.iter().any(|r| r[0] == "1" && r[2] == "updated"));
    assert!(db.iter().any(|r| r[0] == "300" && r[2] == "it's <&> \"x\""));
    assert!(!db.iter().any(|r| r[0] == "299"));
    // Rounds 2, 5, 8, ... were aborted: their deletes did not happen either.
    assert!(db.iter().any(|r| r[0] == "202"));
    assert!(!db.iter().any(|r| r[0] == "201"));

    // The CSV feed replays to the same state.
    let csv = std::fs::read_to_string(home.join("feeds/error_codes.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "op",
            "seq",
            "txn",
            "err_number",
            "err_name",
            "err_text",
            "err_category",
            "err_category2"
        ]
    );
    let mut state = std::collections::BTreeMap::new();
    let mut last_seq = 0u64;
    for row in reader.records() {
        let row = row.unwrap();
        let seq: u64 = row[1].parse().unwrap();
        assert!(seq > last_seq, "in order");
        last_seq = seq;
        let key: i64 = row[3].parse().unwrap();
        let fields: Vec<String> = row.iter().skip(3).map(str::to_owned).collect();
        match &row[0] {
            "insert" | "update" => state.insert(key, fields),
            "delete" => state.remove(&key),
            other => panic!("op {other}"),
        };
    }
    assert_eq!(state.into_values().collect::<Vec<_>>(), file);

    // The XML feed is well-formed and carries as many changes as the CSV.
    let xml = std::fs::read_to_string(home.join("feeds/error_codes.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut changes = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"change" => changes += 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(changes, csv.lines().count() - 1);
    assert!(xml.trim_end().ends_with("</drx>"));
}
