//! `Capture::write_many` (one write for a run of records) journals and
//! leaves the file exactly as the same records written one by one.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, rec, spec};
use drx_capture::{CaptureError, Org, Target};

fn run(records: &[Vec<u8>]) -> Vec<u8> {
    records.concat()
}

fn effects(home: &Home, name: &str) -> Vec<(common::OwnedEffect, Option<common::OwnedRecord>)> {
    let path = home.jpath(name);
    home.entries()
        .into_iter()
        .filter(|e| e.file == path)
        .map(|e| (e.effect, e.record))
        .collect()
}

#[test]
fn a_run_is_journaled_and_written_exactly_like_single_writes() {
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let home = Home::all_critical();
        let mut capture = home.capture("p");
        let mut one = capture.create(&home.path("one.dat"), spec(org)).unwrap();
        let mut many = capture.create(&home.path("many.dat"), spec(org)).unwrap();
        let records: Vec<Vec<u8>> = (0..50).map(|i| rec(i, b'a' + (i % 20) as u8)).collect();
        for r in &records {
            capture.write(&mut one, r, None).unwrap();
        }
        for chunk in records.chunks(7) {
            capture.write_many(&mut many, &run(chunk)).unwrap();
        }
        if org == Org::Indexed {
            // With a free slot to reuse, the run falls back to single writes.
            for f in [&mut one, &mut many] {
                capture.delete(f, Target::Key(&3i16.to_be_bytes())).unwrap();
            }
            let more: Vec<Vec<u8>> = (100..104).map(|i| rec(i, b'z')).collect();
            for r in &more {
                capture.write(&mut one, r, None).unwrap();
            }
            capture.write_many(&mut many, &run(&more)).unwrap();
        }
        capture.close().unwrap();
        assert_eq!(
            std::fs::read(home.path("one.dat")).unwrap(),
            std::fs::read(home.path("many.dat")).unwrap(),
            "{org:?}: file bytes"
        );
        let (a, b) = (effects(&home, "one.dat"), effects(&home, "many.dat"));
        assert_eq!(a.len(), b.len(), "{org:?}: entry count");
        assert!(a == b, "{org:?}: journal entries differ");
    }
}

#[test]
fn an_aborted_run_is_undone_and_never_delivered() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let mut f = capture
        .create(&home.path("f.dat"), spec(Org::Indexed))
        .unwrap();
    capture
        .write_many(&mut f, &run(&[rec(1, b'a'), rec(2, b'b')]))
        .unwrap();
    let before = std::fs::read(home.path("f.dat")).unwrap();
    capture.begin().unwrap();
    capture
        .write_many(&mut f, &run(&[rec(3, b'c'), rec(4, b'd')]))
        .unwrap();
    capture.abort().unwrap();
    assert_eq!(std::fs::read(home.path("f.dat")).unwrap(), before);
    // The handle sees the restored file: key 3 can be written again.
    capture.write_many(&mut f, &run(&[rec(3, b'e')])).unwrap();
    capture.close().unwrap();
    let delivered = common::delivered(&home.entries());
    let inserts = delivered.iter().filter(|e| e.record.is_some()).count();
    assert_eq!(inserts, 3);
}

#[test]
fn a_duplicate_key_in_a_run_writes_nothing() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let mut f = capture
        .create(&home.path("f.dat"), spec(Org::Indexed))
        .unwrap();
    capture.write_many(&mut f, &run(&[rec(1, b'a')])).unwrap();
    let before = std::fs::read(home.path("f.dat")).unwrap();
    for bad in [
        run(&[rec(2, b'b'), rec(2, b'c')]),
        run(&[rec(5, b'b'), rec(1, b'c')]),
    ] {
        let err = capture.write_many(&mut f, &bad).unwrap_err();
        assert!(matches!(err, CaptureError::DuplicateKey { .. }), "{err}");
        assert_eq!(std::fs::read(home.path("f.dat")).unwrap(), before);
    }
    let err = capture.write_many(&mut f, &[0u8; 5]).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a whole number of 8-byte records"),
        "{err}"
    );
    capture.close().unwrap();
    assert_eq!(
        home.entries().iter().filter(|e| e.record.is_some()).count(),
        1
    );
}
