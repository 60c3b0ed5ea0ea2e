//! Bad input gets a clear error naming file:line:col, or seq and field, and
//! nothing is lost.

#![allow(clippy::unwrap_used)]

mod common;
use common::Home;

#[test]
fn malformed_config_names_file_line_col() {
    let home = Home::sample();
    home.edit_config(
        "durability = \"group\"",
        "durability = \"group\"\nsegment_sise = 10",
    );
    let err = home.fails(&["check"]);
    assert!(
        err.contains("drx.toml:11:1: unknown field `segment_sise`"),
        "{err}"
    );
}

#[test]
fn malformed_sink_section_names_its_line() {
    let home = Home::sample();
    home.edit_config("path = \"error_codes.db\"", "pth = \"error_codes.db\"");
    let err = home.fails(&["check"]);
    assert!(
        err.contains("drx.toml:24:1: [[sinks]]: unknown field `pth`"),
        "{err}"
    );
}

#[test]
fn malformed_layout_names_file_line_col() {
    let home = Home::sample();
    let path = home.join("layouts/layout.200");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("err_name        \tchar (32)", "err_name        \tchr (32)");
    std::fs::write(&path, text).unwrap();
    let err = home.fails(&["check"]);
    assert!(
        err.contains("layouts/layout.200:7:26: expected a type"),
        "{err}"
    );
    assert!(err.contains("expected a type"), "{err}");
}

#[test]
fn template_placeholder_naming_no_field_names_file_line_col() {
    let home = Home::sample();
    home.write(
        "templates/template.200.u",
        "update @drms_file@\nset err_name = '@err_nmae@' where @drms_index_info@\n",
    );
    let err = home.fails(&["check"]);
    assert!(
        err.contains(
            "templates/template.200.u:2:17: placeholder @err_nmae@ names no field of layout"
        ),
        "{err}"
    );
}

#[test]
fn corrupt_journal_segment_names_segment_and_offset() {
    let home = Home::sample();
    home.demo("error_codes.table");
    let segment = std::fs::read_dir(home.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let err = home.fails(&["extract", "--file-id", "200"]);
    assert!(err.contains(&segment.display().to_string()), "{err}");
    assert!(err.contains("at byte"), "{err}");
    // Nothing past the damage was delivered as data, and what came before is kept.
    let rows = home.db_rows("error_codes.db");
    assert!(rows.len() < 1200, "{}", rows.len());
}

/// A record whose varying length exceeds its maximum, written as raw hex.
fn bad_record_script() -> String {
    let mut good = String::from("0007");
    good += &"41".repeat(32); // err_name
    good += "0003"; // err_text length 3
    good += &"42".repeat(3);
    good += &"00".repeat(125);
    good += &"20".repeat(36);
    let mut bad = String::from("0008");
    bad += &"41".repeat(32);
    bad += "012c"; // err_text length 300 > 128
    bad += &"00".repeat(128);
    bad += &"20".repeat(36);
    format!(
        "{{\"op\":\"create\",\"file\":\"error_codes.data\"}}\n{{\"op\":\"write\",\"file\":\"error_codes.data\",\"hex\":\"{good}\"}}\n{{\"op\":\"write\",\"file\":\"error_codes.data\",\"hex\":\"{bad}\"}}\n{{\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{{\"err_number\":9}}}}\n"
    )
}

#[test]
fn bad_record_stops_naming_file_id_seq_field_and_offset() {
    let home = Home::sample();
    home.io("ops.jsonl", &bad_record_script());
    let err = home.fails(&["extract", "--file-id", "200"]);
    assert!(
        err.contains("file id 200, seq 3, after image: field err_text at byte 34: varying length 300 exceeds maximum 128"),
        "{err}"
    );
    // The good record before it was delivered; nothing after it was.
    let rows = home.db_rows("error_codes.db");
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["7"]
    );
}

#[test]
fn bad_record_goes_to_the_dead_letter_file_with_that_policy() {
    let home = Home::sample();
    home.dead_letter();
    home.io("ops.jsonl", &bad_record_script());
    let out = home.ok(&["extract", "--file-id", "200"]);
    assert!(out.contains("1 dead letters"), "{out}");
    let rows = home.db_rows("error_codes.db");
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["7", "9"]
    );
    let dead = std::fs::read_to_string(home.join("dead_letter/file.200.dead.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(line["seq"], 3);
    assert_eq!(line["op"], "insert");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("field err_text at byte 34")
    );
    assert!(line["after_hex"].as_str().unwrap().starts_with("0008"));
}

#[test]
fn a_second_writer_gets_a_clear_error_not_a_corrupt_journal() {
    let home = Home::sample();
    home.demo("error_codes.table");
    let lock = std::fs::File::open(home.join("journal/LOCK")).unwrap();
    lock.lock().unwrap();
    let err = home.fails(&["io", "--script", "/dev/null"]);
    assert!(err.contains("LOCK"), "{err}");
}

#[test]
fn an_update_with_no_template_and_no_key_stops_naming_the_template_to_add() {
    let home = Home::sample();
    let path = home.join("layouts/layout.200");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("organization: indexed;", "organization: relative;")
        .replace("key: err_number;", "");
    std::fs::write(&path, text).unwrap();
    for t in ["u", "d"] {
        std::fs::remove_file(home.join(&format!("templates/template.200.{t}"))).unwrap();
    }
    home.io(
        "ops.jsonl",
        "{\"op\":\"create\",\"file\":\"error_codes.data\"}\n\
         {\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{\"err_number\":1}}\n\
         {\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"recno\":1,\"record\":{\"err_number\":1,\"err_name\":\"renamed\"}}\n",
    );
    let err = home.fails(&["extract", "--file-id", "200"]);
    assert!(
        err.contains("seq 3: an update of file id 200 needs template.200.u (or a `key:` in layout"),
        "{err}"
    );
    // The batch that holds it is refused whole; its checkpoint stays before it.
    assert!(home.db_rows("error_codes.db").is_empty());
    // With the template added, a rerun delivers everything.
    home.write(
        "templates/template.200.u",
        "update @drms_file@ set err_name = '@err_name@' where err_number = @err_number@\n",
    );
    let out = home.ok(&["extract", "--file-id", "200"]);
    assert!(
        out.contains("2 records (1 inserts, 1 updates, 0 deletes)"),
        "{out}"
    );
    let rows = home.db_rows("error_codes.db");
    assert_eq!(
        (rows.len(), rows[0][0].as_str(), rows[0][1].as_str()),
        (1, "1", "renamed")
    );
}
