//! What a `Capture` journals: record meanings (locator, before and after
//! images), which files the Files Table selects, and rename / copy /
//! delete_file.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, OwnedEffect, OwnedLocator, OwnedRecord, changes, key, rec, replay, spec};
use drx_capture::{Org, Target};
use drx_journal::{FileOrganization, RecordOp};

fn change(
    op: RecordOp,
    locator: OwnedLocator,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
) -> OwnedRecord {
    OwnedRecord {
        op,
        locator,
        before,
        after,
    }
}

#[test]
fn record_meanings_carry_locator_and_images() {
    use OwnedLocator::{Key, RecNo};
    use RecordOp::{Delete, Insert, Update};
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let name = format!("{}.dat", org.name());
        let mut f = capture.create(&home.path(&name), spec(org)).unwrap();
        let (a, b, b2) = (rec(1, b'a'), rec(2, b'b'), rec(2, b'B'));
        capture.write(&mut f, &a, None).unwrap();
        capture.write(&mut f, &b, None).unwrap();
        let k2 = key(2);
        let t2 = if org == Org::Indexed {
            Target::Key(&k2)
        } else {
            Target::RecNo(2)
        };
        capture.rewrite(&mut f, t2, &b2).unwrap();
        if matches!(org, Org::Relative | Org::Indexed) {
            capture.delete(&mut f, t2).unwrap();
        }
        capture.sync().unwrap();
        let entries = home.entries();
        let got: Vec<OwnedRecord> = changes(&entries, &home.jpath(&name))
            .into_iter()
            .cloned()
            .collect();
        let loc = |n: u64, id: i16| {
            if org == Org::Indexed {
                Key(key(id))
            } else {
                RecNo(n)
            }
        };
        let mut want = vec![
            change(Insert, loc(1, 1), None, Some(a.clone())),
            change(Insert, loc(2, 2), None, Some(b.clone())),
            change(Update, loc(2, 2), Some(b.clone()), Some(b2.clone())),
        ];
        if matches!(org, Org::Relative | Org::Indexed) {
            want.push(change(Delete, loc(2, 2), Some(b2.clone()), None));
        }
        assert_eq!(got, want, "{org:?}");
        // The create entry says how the file is organized.
        let create = entries
            .iter()
            .find(|e| e.file == home.jpath(&name))
            .unwrap();
        let organization = match org {
            Org::Fixed => FileOrganization::Fixed,
            Org::Relative => FileOrganization::Relative,
            Org::Sequential => FileOrganization::Sequential,
            Org::Indexed => FileOrganization::Indexed,
        };
        assert_eq!(
            create.effect,
            OwnedEffect::Create {
                organization,
                record_len: 8
            }
        );
        assert!(create.record.is_none());
    }
    capture.close().unwrap();
}

#[test]
fn the_byte_effect_is_the_exact_write() {
    let home = Home::all_critical();
    let mut capture = home.capture("proc");
    let path = home.path("r.dat");
    let mut f = capture.create(&path, spec(Org::Relative)).unwrap();
    let seq = capture.write(&mut f, &rec(4, b'd'), Some(4)).unwrap();
    capture.truncate(&mut f, 2).unwrap();
    capture.close().unwrap();
    let entries = home.entries();
    let e = entries.iter().find(|e| e.seq == seq).unwrap();
    assert_eq!(
        (e.process.as_str(), e.file.as_str(), e.txn),
        ("proc", home.jpath("r.dat").as_str(), 0)
    );
    assert_eq!(
        e.effect,
        OwnedEffect::Write {
            offset: 27,
            data: [&[1u8][..], &rec(4, b'd')].concat()
        }
    );
    assert_eq!(
        entries.last().unwrap().effect,
        OwnedEffect::Truncate { len: 18 }
    );
}

/// The files of `names` written by `process` under the Files Table
/// `files`; returns the names whose changes were journaled.
fn journaled(files: &str, process: &str, names: &[&str]) -> Vec<String> {
    let home = Home::new(files);
    std::fs::create_dir_all(home.path("data")).unwrap();
    std::fs::create_dir_all(home.path("other")).unwrap();
    let mut capture = home.capture(process);
    for name in names {
        let path = home.path(name);
        let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
        let seq = capture.write(&mut f, &rec(1, b'a'), None).unwrap();
        assert_eq!(seq == 0, !f.is_critical());
        // Written either way.
        assert_eq!(std::fs::read(&path).unwrap(), rec(1, b'a'));
    }
    capture.close().unwrap();
    let entries = home.entries();
    let mut out: Vec<String> = names
        .iter()
        .filter(|n| {
            let jp = home.jpath(n);
            let n = entries.iter().filter(|e| e.file == jp).count();
            assert!(n == 0 || n == 2, "a create and a write, or nothing");
            n == 2
        })
        .map(|n| n.to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn include_records_select_by_star_names() {
    let table = r#"
[[files]]
process_name = "Trade*"
source_path = "data/*.dat"

[[files]]
process_name = "*"
source_path = "data/shared.dat"
"#;
    let names = [
        "data/main.dat",
        "data/shared.dat",
        "other/main.dat",
        "data/main.idx",
    ];
    assert_eq!(
        journaled(table, "TradeProcessor1", &names),
        ["data/main.dat", "data/shared.dat"]
    );
    assert_eq!(journaled(table, "Report", &names), ["data/shared.dat"]);
    // No include record at all: nothing is journaled.
    assert_eq!(journaled("", "TradeX", &names), Vec::<String>::new());
}

#[test]
fn exclude_records_win_over_include_records() {
    let table = r#"
[[files]]
source_path = "data/*.dat"

[[files]]
record_type = "exclude"
process_name = "Report*"
source_path = "data/main.dat"

[[files]]
record_type = "exclude"
source_path = "data/log.dat"
"#;
    let names = ["data/main.dat", "data/log.dat", "data/x.dat"];
    assert_eq!(
        journaled(table, "Trade", &names),
        ["data/main.dat", "data/x.dat"]
    );
    assert_eq!(journaled(table, "ReportTxn", &names), ["data/x.dat"]);
}

#[test]
fn in_any_directory_matches_the_file_name() {
    let table = "[[files]]\nsource_path = \"main.dat\"\nin_any_directory = true\n";
    let names = ["data/main.dat", "other/main.dat", "data/x.dat"];
    assert_eq!(
        journaled(table, "p", &names),
        ["data/main.dat", "other/main.dat"]
    );
}

#[test]
fn a_non_critical_file_in_a_transaction_is_undone_but_never_journaled() {
    let home = Home::new("[[files]]\nsource_path = \"crit.dat\"\n");
    let mut capture = home.capture("p");
    let mut crit = capture
        .create(&home.path("crit.dat"), spec(Org::Fixed))
        .unwrap();
    let mut other = capture
        .create(&home.path("other.dat"), spec(Org::Fixed))
        .unwrap();
    capture.begin().unwrap();
    capture.write(&mut crit, &rec(1, b'a'), None).unwrap();
    assert_eq!(capture.write(&mut other, &rec(1, b'a'), None).unwrap(), 0);
    capture.abort().unwrap();
    assert_eq!(std::fs::read(home.path("other.dat")).unwrap(), b"");
    capture.close().unwrap();
    assert!(
        home.entries()
            .iter()
            .all(|e| e.file != home.jpath("other.dat"))
    );
}

// ---------------------------------------------------------------- file operations

#[test]
fn rename_between_critical_paths_is_a_rename() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let (a, b) = (home.path("a.dat"), home.path("b.dat"));
    let mut f = capture.create(&a, spec(Org::Fixed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.rename(&a, &b).unwrap();
    assert!(!a.exists());
    capture.close().unwrap();
    let entries = home.entries();
    let last = entries.last().unwrap();
    assert_eq!(
        (last.file.clone(), last.effect.clone()),
        (
            home.jpath("a.dat"),
            OwnedEffect::Rename {
                to: home.jpath("b.dat")
            }
        )
    );
    assert!(last.record.is_none());
    let replayed = replay(&entries);
    assert_eq!(replayed.keys().collect::<Vec<_>>(), [&home.jpath("b.dat")]);
    assert_eq!(replayed[&home.jpath("b.dat")], std::fs::read(&b).unwrap());
}

#[test]
fn rename_or_copy_into_a_critical_path_journals_the_whole_file() {
    let home = Home::new("[[files]]\nsource_path = \"*.dat\"\n");
    let mut capture = home.capture("p");
    // A non-critical file of 2.5 MiB: three chunks.
    let big: Vec<u8> = (0..(5u32 << 19)).map(|i| (i % 251) as u8).collect();
    std::fs::write(home.path("plain.bin"), &big).unwrap();
    capture
        .copy(&home.path("plain.bin"), &home.path("copy.dat"))
        .unwrap();
    capture
        .rename(&home.path("plain.bin"), &home.path("moved.dat"))
        .unwrap();
    std::fs::write(home.path("empty.bin"), b"").unwrap();
    capture
        .rename(&home.path("empty.bin"), &home.path("empty.dat"))
        .unwrap();
    capture.close().unwrap();
    let entries = home.entries();
    for name in ["copy.dat", "moved.dat"] {
        let jp = home.jpath(name);
        let effects: Vec<_> = entries
            .iter()
            .filter(|e| e.file == jp)
            .map(|e| &e.effect)
            .collect();
        assert_eq!(effects.len(), 4, "{name}: a create and three chunks");
        assert_eq!(
            effects[0],
            &OwnedEffect::Create {
                organization: FileOrganization::Unknown,
                record_len: 0
            }
        );
        let offsets: Vec<u64> = effects[1..]
            .iter()
            .map(|e| match e {
                OwnedEffect::Write { offset, data } => {
                    assert!(data.len() <= 1 << 20);
                    *offset
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(offsets, [0, 1 << 20, 2 << 20]);
        assert_eq!(replay(&entries)[&jp], big);
    }
    let jp = home.jpath("empty.dat");
    let effects: Vec<_> = entries
        .iter()
        .filter(|e| e.file == jp)
        .map(|e| &e.effect)
        .collect();
    assert_eq!(
        effects,
        [&OwnedEffect::Create {
            organization: FileOrganization::Unknown,
            record_len: 0
        }]
    );
    assert!(entries.iter().all(|e| !e.file.ends_with(".bin")));
}

#[test]
fn renaming_out_of_the_critical_paths_and_deleting_are_deletions() {
    let home = Home::new("[[files]]\nsource_path = \"*.dat\"\n");
    let mut capture = home.capture("p");
    let mut f = capture
        .create(&home.path("a.dat"), spec(Org::Fixed))
        .unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture
        .copy(&home.path("a.dat"), &home.path("b.dat"))
        .unwrap();
    capture
        .rename(&home.path("a.dat"), &home.path("a.bak"))
        .unwrap();
    capture.delete_file(&home.path("b.dat")).unwrap();
    capture.delete_file(&home.path("a.bak")).unwrap();
    let e = capture.delete_file(&home.path("a.bak")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&home.path("a.bak").display().to_string()),
        "{e}"
    );
    capture.close().unwrap();
    let entries = home.entries();
    let summary: Vec<_> = entries
        .iter()
        .skip(2)
        .map(|e| (e.file.clone(), e.effect.clone()))
        .collect();
    let (a, b) = (home.jpath("a.dat"), home.jpath("b.dat"));
    assert_eq!(
        summary,
        [
            (
                b.clone(),
                OwnedEffect::Create {
                    organization: FileOrganization::Unknown,
                    record_len: 0
                }
            ),
            (
                b.clone(),
                OwnedEffect::Write {
                    offset: 0,
                    data: rec(1, b'a')
                }
            ),
            (a.clone(), OwnedEffect::DeleteFile),
            (b.clone(), OwnedEffect::DeleteFile),
        ]
    );
    assert!(replay(&entries).is_empty(), "every file is gone");
}

#[test]
fn copying_a_file_onto_itself_is_refused() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    std::fs::write(home.path("a.dat"), b"data").unwrap();
    let e = capture
        .copy(&home.path("a.dat"), &home.path("./x/../a.dat"))
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot copy a file onto itself"),
        "{e}"
    );
    assert_eq!(std::fs::read(home.path("a.dat")).unwrap(), b"data");
    capture.close().unwrap();
    assert_eq!(home.entries(), []);
}
