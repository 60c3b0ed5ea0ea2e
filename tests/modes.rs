//! `--snapshot` and `--follow`.

#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, wait_until};
use std::time::Duration;

fn write_op(n: i64, text: &str) -> String {
    format!(
        "{{\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{{\"err_number\":{n},\"err_name\":\"n{n}\",\"err_text\":\"{text}\"}}}}\n"
    )
}

#[test]
fn snapshot_delivers_the_current_file_then_the_changes_after_it() {
    let home = Home::sample();
    // The file is filled while capture is disabled: the journal never sees it.
    home.edit_config(
        "replace_special_chars = true",
        "replace_special_chars = true\ndisable_drms = true",
    );
    home.demo("error_codes.table");
    home.edit_config("disable_drms = true", "");

    let plain = home.ok(&["extract", "--file-id", "200", "--sink", "sqlite"]);
    assert!(plain.contains("0 records"), "{plain}");
    std::fs::remove_file(home.join("error_codes.db")).unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(home.join(&format!("error_codes.db{ext}")));
    }

    let out = home.ok(&["extract", "--file-id", "200", "--snapshot"]);
    assert!(
        out.contains("1200 records (1200 inserts, 0 updates, 0 deletes; 1200 from the snapshot)"),
        "{out}"
    );
    assert_eq!(
        home.db_rows("error_codes.db"),
        home.file_rows("error_codes.data")
    );

    // Changes after the snapshot follow it.
    let script = "{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{\"err_number\":1},\"record\":{\"err_number\":1,\"err_name\":\"after\",\"err_text\":\"snapshot\"}}\n{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{\"err_number\":2}}\n".to_owned()
        + &write_op(5000, "new");
    home.io("ops.jsonl", &script);
    let out = home.ok(&["extract", "--file-id", "200", "--snapshot"]);
    assert!(
        out.contains("3 records (1 inserts, 1 updates, 1 deletes)"),
        "{out}"
    );
    let rows = home.db_rows("error_codes.db");
    assert_eq!(rows, home.file_rows("error_codes.data"));
    assert!(rows.iter().any(|r| r[0] == "1" && r[1] == "after"));
}

fn wait_for_rows(home: &Home, n: usize, limit: Duration) -> usize {
    let mut count = 0;
    wait_until(limit, Duration::from_millis(50), || {
        count = if home.join("error_codes.db").exists() {
            let conn =
                rusqlite::Connection::open(home.join("error_codes.db")).expect("open the database");
            conn.query_row("select count(*) from error_codes", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or(0) as usize
        } else {
            0
        };
        count >= n
    });
    count
}

#[test]
fn follow_tails_changes_as_they_are_written() {
    let home = Home::sample();
    home.io(
        "create.jsonl",
        "{\"op\":\"create\",\"file\":\"error_codes.data\"}\n",
    );
    let mut follower = home
        .command(&["extract", "--file-id", "200", "--follow"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let first: String = (1..=50).map(|n| write_op(n, "first")).collect();
    home.io("a.jsonl", &first);
    assert_eq!(wait_for_rows(&home, 50, Duration::from_secs(30)), 50);

    // A transaction arrives whole; an aborted one never.
    let txn = format!(
        "{{\"op\":\"begin\"}}\n{}{{\"op\":\"commit\"}}\n{{\"op\":\"begin\"}}\n{}{{\"op\":\"abort\"}}\n",
        (51..=60).map(|n| write_op(n, "txn")).collect::<String>(),
        (61..=70)
            .map(|n| write_op(n, "aborted"))
            .collect::<String>()
    );
    home.io("b.jsonl", &txn);
    assert_eq!(wait_for_rows(&home, 60, Duration::from_secs(30)), 60);
    assert_eq!(
        wait_for_rows(&home, 61, Duration::from_millis(500)),
        60,
        "the aborted transaction never lands"
    );

    follower.kill().unwrap();
    follower.wait().unwrap();
    assert_eq!(
        home.db_rows("error_codes.db"),
        home.file_rows("error_codes.data")
    );
}

#[test]
fn sigterm_ends_a_follow_cleanly() {
    let home = Home::sample();
    home.append_config("\n[[sinks]]\nname = \"doc\"\ntype = \"xml\"\ndir = \"feeds\"\n");
    let script: String =
        std::iter::once("{\"op\":\"create\",\"file\":\"error_codes.data\"}\n".to_owned())
            .chain((1..=20).map(|n| write_op(n, "x")))
            .collect();
    home.io("a.jsonl", &script);
    let child = home
        .command(&["extract", "--file-id", "200", "--follow", "--sink", "doc"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let xml = home.join("feeds/error_codes.xml.ckpt");
    wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        xml.exists()
    });
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "drx exits 0 after SIGTERM");
    assert!(String::from_utf8_lossy(&out.stdout).contains("doc: 20 records"));
    let doc = std::fs::read_to_string(home.join("feeds/error_codes.xml")).unwrap();
    assert!(
        doc.trim_end().ends_with("</drx>"),
        "the document is closed: {doc}"
    );
}
