//! `drx demo`: every record of an input file copied into a critical file.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, OwnedLocator, changes, key, rec, records, spec};
use drx_capture::{Org, RecordFile, Target, demo};

#[test]
fn demo_copies_records_and_keeps_relative_record_numbers() {
    let home = Home::all_critical();
    let input = home.path("input.table");
    let mut f = RecordFile::create(&input, spec(Org::Relative)).unwrap();
    f.write(&rec(1, b'a'), None).unwrap();
    f.write(&rec(4, b'd'), Some(4)).unwrap();
    f.write(&rec(6, b'f'), Some(6)).unwrap();
    f.delete(Target::RecNo(6)).unwrap();
    drop(f);
    let mut capture = home.capture("drx_demo");
    let out = home.path("out.dat");
    assert_eq!(
        demo(
            &mut capture,
            &input,
            spec(Org::Relative),
            &out,
            spec(Org::Relative)
        )
        .unwrap(),
        2
    );
    let idx = home.path("out_idx.dat");
    assert_eq!(
        demo(
            &mut capture,
            &input,
            spec(Org::Relative),
            &idx,
            spec(Org::Indexed)
        )
        .unwrap(),
        2
    );
    capture.close().unwrap();
    assert_eq!(
        records(&out, spec(Org::Relative)),
        [(1, rec(1, b'a')), (4, rec(4, b'd'))]
    );
    assert_eq!(
        records(&idx, spec(Org::Indexed)),
        [(0, rec(1, b'a')), (0, rec(4, b'd'))]
    );
    let entries = home.entries();
    let locators: Vec<_> = changes(&entries, &home.jpath("out.dat"))
        .iter()
        .map(|c| c.locator.clone())
        .collect();
    assert_eq!(locators, [OwnedLocator::RecNo(1), OwnedLocator::RecNo(4)]);
    let locators: Vec<_> = changes(&entries, &home.jpath("out_idx.dat"))
        .iter()
        .map(|c| c.locator.clone())
        .collect();
    assert_eq!(
        locators,
        [OwnedLocator::Key(key(1)), OwnedLocator::Key(key(4))]
    );
}

#[test]
fn demo_of_a_missing_input_names_it_and_creates_nothing() {
    let home = Home::all_critical();
    let mut capture = home.capture("drx_demo");
    let input = home.path("missing.table");
    let e = demo(
        &mut capture,
        &input,
        spec(Org::Fixed),
        &home.path("out.dat"),
        spec(Org::Fixed),
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with(&input.display().to_string()),
        "{e}"
    );
    assert!(!home.path("out.dat").exists());
    capture.close().unwrap();
}
