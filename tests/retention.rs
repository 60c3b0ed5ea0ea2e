//! Journal segments go once every configured sink has passed them, never
//! before.

#![allow(clippy::unwrap_used)]

mod common;
use common::Home;

fn segments(home: &Home) -> usize {
    std::fs::read_dir(home.join("journal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count()
}

#[test]
fn segments_are_removed_only_when_every_configured_sink_has_passed_them() {
    let home = Home::sample();
    home.edit_config(
        "durability = \"group\"",
        "durability = \"group\"\nsegment_size = 65536",
    );
    home.append_config("\n[[sinks]]\nname = \"feed\"\ntype = \"csv\"\ndir = \"feeds\"\n");
    home.demo_records(3000);
    let before = segments(&home);
    assert!(before > 5, "{before} segments");

    // One sink passed everything; the other has not run: nothing goes.
    home.ok(&["extract", "--file-id", "200", "--sink", "sqlite"]);
    assert_eq!(segments(&home), before);

    // Now both have: all but the newest segment go.
    home.ok(&["extract", "--file-id", "200", "--sink", "feed"]);
    assert_eq!(segments(&home), 1);
    assert_eq!(home.db_rows("error_codes.db").len(), 3000);

    // A sink added now cannot read what is gone: a clear error, and --snapshot.
    home.append_config("\n[[sinks]]\nname = \"late\"\ntype = \"sqlite\"\npath = \"late.db\"\ntables = { 200 = \"error_codes\" }\n");
    let err = home.fails(&["extract", "--file-id", "200", "--sink", "late"]);
    assert!(
        err.contains("sink late needs the journal from seq 1"),
        "{err}"
    );
    assert!(err.contains("--snapshot"), "{err}");
    home.ok(&[
        "extract",
        "--file-id",
        "200",
        "--sink",
        "late",
        "--snapshot",
    ]);
    assert_eq!(home.db_rows("late.db"), home.db_rows("error_codes.db"));
}
