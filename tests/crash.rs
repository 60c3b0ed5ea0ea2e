//! Exactly once under SIGKILL: `drx extract` killed again and again at
//! random moments, then run to the end, leaves every sink exactly as a run
//! that never crashed.

#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, kill_repeatedly};

#[test]
fn kill_9_at_any_moment_then_rerun_is_exactly_once() {
    let home = Home::sample();
    home.batch_size(150);
    home.append_config(
        r#"
[[sinks]]
name = "feed"
type = "csv"
dir = "feeds"
commit_every = 400

[[sinks]]
name = "doc"
type = "xml"
dir = "feeds"
commit_every = 250

# The reference: the same changes, extracted once without a crash.
[[sinks]]
name = "ref_sqlite"
type = "sqlite"
path = "reference/error_codes.db"
tables = { 200 = "error_codes" }

[[sinks]]
name = "ref_feed"
type = "csv"
dir = "reference"

[[sinks]]
name = "ref_doc"
type = "xml"
dir = "reference"
"#,
    );
    home.demo_records(20_000);
    // Transactions of updates and deletes, some aborted.
    let mut script = String::new();
    for t in 0..200 {
        script += "{\"op\":\"begin\"}\n";
        for k in 0..4 {
            let n = t * 50 + k + 1;
            script += &format!(
                "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{n}}},\"record\":{{\"err_number\":{n},\"err_name\":\"T{t}\",\"err_text\":\"txn {t}\"}}}}\n"
            );
        }
        script += &format!(
            "{{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{}}}}}\n",
            t * 50 + 10
        );
        script += if t % 7 == 3 {
            "{\"op\":\"abort\"}\n"
        } else {
            "{\"op\":\"commit\"}\n"
        };
    }
    home.io("ops.jsonl", &script);

    for sink in ["ref_sqlite", "ref_feed", "ref_doc"] {
        home.ok(&["extract", "--file-id", "200", "--sink", sink]);
    }

    // Kill -9 at spread-out moments.
    let killed = kill_repeatedly(&home, &["sqlite", "feed", "doc"], 30, |i| {
        5 + (i * 37) % 120
    });
    assert!(
        killed >= 5,
        "only {killed} runs were killed mid-way: make the work longer"
    );
    for sink in ["sqlite", "feed", "doc"] {
        home.ok(&["extract", "--file-id", "200", "--sink", sink]);
    }

    // SQLite: the same rows as the reference, and as the critical file.
    let rows = home.db_rows("error_codes.db");
    let reference = home.db_rows("reference/error_codes.db");
    let file = home.file_rows("error_codes.data");
    assert_eq!((rows.len(), reference.len()), (file.len(), file.len()));
    assert!(
        rows == reference,
        "the SQLite rows differ from the uninterrupted run's"
    );
    assert!(
        rows == file,
        "the SQLite rows differ from the critical file"
    );
    // The feeds: byte for byte the reference's.
    for name in ["error_codes.csv", "error_codes.xml"] {
        let feed = format!("feeds/{name}");
        let got = std::fs::read(home.join(&feed)).unwrap();
        let want = std::fs::read(home.join(&format!("reference/{name}"))).unwrap();
        assert!(
            got == want,
            "{feed} differs from the uninterrupted run ({} vs {} bytes)",
            got.len(),
            want.len()
        );
    }
}
