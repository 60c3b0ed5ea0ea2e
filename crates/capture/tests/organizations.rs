//! The four on-disk organizations through `RecordFile`: the bytes each
//! operation writes, the state rebuilt on reopen, and the errors.
#![allow(clippy::unwrap_used)]

mod common;
use common::{key, rec, records, spec};
use drx_capture::{CaptureError, FileSpec, Org, RecordFile, RecordOpKind, Target};
use std::path::Path;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Asserts that `err` is the given variant and that its message names `path`.
#[track_caller]
fn names_path(err: &CaptureError, path: &Path) {
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// A relative/indexed slot: status byte, then the record.
fn slot(status: u8, record: &[u8]) -> Vec<u8> {
    let mut s = vec![status];
    s.extend_from_slice(record);
    s
}

fn prefixed(record: &[u8]) -> Vec<u8> {
    let mut s = (record.len() as u32).to_be_bytes().to_vec();
    s.extend_from_slice(record);
    s
}

// ---------------------------------------------------------------- fixed

#[test]
fn fixed_appends_rewrites_truncates_and_reopens() {
    let dir = tmp();
    let path = dir.path().join("f.dat");
    let mut f = RecordFile::create(&path, spec(Org::Fixed)).unwrap();
    assert!(f.is_empty());
    for i in 0..3u8 {
        let a = f.write(&rec(i.into(), b'a' + i), None).unwrap();
        assert_eq!(
            (a.offset, a.kind, a.recno, a.key),
            (
                u64::from(i) * 8,
                RecordOpKind::Insert,
                Some(u64::from(i) + 1),
                None
            )
        );
        assert_eq!(a.data, rec(i.into(), b'a' + i).as_slice());
        assert_eq!(a.after, Some(rec(i.into(), b'a' + i).as_slice()));
        assert_eq!(a.before, None);
    }
    // The next record number may be given explicitly.
    f.write(&rec(3, b'd'), Some(4)).unwrap();
    assert_eq!(f.len(), 4);

    let a = f.rewrite(Target::RecNo(2), &rec(1, b'X')).unwrap();
    assert_eq!(
        (a.offset, a.kind, a.recno),
        (8, RecordOpKind::Update, Some(2))
    );
    assert_eq!(a.before, Some(rec(1, b'b').as_slice()));
    assert_eq!(a.after, Some(rec(1, b'X').as_slice()));
    assert_eq!(a.data, rec(1, b'X').as_slice());

    assert_eq!(f.truncate(3).unwrap(), 24);
    assert_eq!(
        f.truncate(10).unwrap(),
        24,
        "truncating past the end keeps every record"
    );
    assert_eq!(f.len(), 3);
    let expected = [rec(0, b'a'), rec(1, b'X'), rec(2, b'c')].concat();
    assert_eq!(bytes(&path), expected);
    drop(f);

    let mut f = RecordFile::open(&path, spec(Org::Fixed)).unwrap();
    assert_eq!(f.len(), 3);
    let a = f.write(&rec(7, b'z'), None).unwrap();
    assert_eq!((a.offset, a.recno), (24, Some(4)));
    assert_eq!(
        records(&path, spec(Org::Fixed))
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(f.truncate(0).unwrap(), 0);
    assert!(f.is_empty());
    assert_eq!(bytes(&path), b"");
}

#[test]
fn fixed_errors_name_the_file() {
    let dir = tmp();
    let path = dir.path().join("f.dat");
    let mut f = RecordFile::create(&path, spec(Org::Fixed)).unwrap();
    f.write(&rec(1, b'a'), None).unwrap();
    f.write(&rec(2, b'b'), None).unwrap();

    let e = f.write(b"short", None).unwrap_err();
    assert!(matches!(e, CaptureError::BadRecord { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record of 5 bytes; the file's records are 8 bytes",
            path.display()
        )
    );
    let e = f.write(&[0; 9], None).unwrap_err();
    names_path(&e, &path);

    let e = f.write(&rec(3, b'c'), Some(2)).unwrap_err();
    assert!(matches!(e, CaptureError::SlotTaken { recno: 2, .. }), "{e}");
    names_path(&e, &path);
    let e = f.write(&rec(3, b'c'), Some(9)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record 9: fixed files only append; the next record is 3",
            path.display()
        )
    );

    let e = f.rewrite(Target::RecNo(3), &rec(3, b'c')).unwrap_err();
    assert!(matches!(e, CaptureError::NoSuchRecord { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("{}: no record at record 3", path.display())
    );
    let e = f.rewrite(Target::RecNo(0), &rec(3, b'c')).unwrap_err();
    assert!(matches!(e, CaptureError::NoSuchRecord { .. }), "{e}");
    let e = f.rewrite(Target::Key(b"ab"), &rec(3, b'c')).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: rewrite by key is not possible in a fixed file",
            path.display()
        )
    );

    let e = f.delete(Target::RecNo(1)).unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::Unsupported {
                op: "delete",
                organization: "fixed",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: delete is not supported for fixed files",
            path.display()
        )
    );

    // Nothing changed.
    assert_eq!(bytes(&path), [rec(1, b'a'), rec(2, b'b')].concat());
    assert_eq!(f.len(), 2);
}

#[test]
fn a_file_whose_size_does_not_fit_is_refused_on_open() {
    let dir = tmp();
    let path = dir.path().join("odd.dat");
    std::fs::write(&path, [0u8; 13]).unwrap();
    let e = RecordFile::open(&path, spec(Org::Fixed)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: size 13 is not a multiple of the record length 8",
            path.display()
        )
    );
    for org in [Org::Relative, Org::Indexed] {
        let e = RecordFile::open(&path, spec(org)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: size 13 is not a multiple of the slot length 9 (status byte + record)",
                path.display()
            )
        );
    }
    // Sequential: a torn length prefix, and a record running past the end.
    std::fs::write(&path, [prefixed(b"abc"), vec![0, 0]].concat()).unwrap();
    let e = RecordFile::open_read_only(&path, spec(Org::Sequential)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: torn length prefix at byte 7", path.display())
    );
    std::fs::write(&path, [prefixed(b"abc"), vec![0, 0, 0, 5, b'x']].concat()).unwrap();
    let e = RecordFile::open(&path, spec(Org::Sequential)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record at byte 7 claims 5 bytes past the end of the file",
            path.display()
        )
    );
    // A missing file.
    let missing = dir.path().join("missing.dat");
    let e = RecordFile::open(&missing, spec(Org::Fixed)).unwrap_err();
    assert!(matches!(e, CaptureError::Io { .. }), "{e}");
    names_path(&e, &missing);
}

#[test]
fn bad_specs_are_refused_before_the_file_is_touched() {
    let dir = tmp();
    let path = dir.path().join("s.dat");
    std::fs::write(&path, b"keep me!").unwrap();
    let zero = FileSpec {
        organization: Org::Fixed,
        record_len: 0,
        layout: None,
    };
    let e = RecordFile::create(&path, zero).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: record length 0", path.display())
    );
    let no_layout = FileSpec {
        organization: Org::Indexed,
        record_len: 8,
        layout: None,
    };
    let e = RecordFile::create(&path, no_layout).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: an indexed file needs a layout that declares a key",
            path.display()
        )
    );
    let keyless = drx_layouts::Layout::parse("k", "fields: a char(8);\nend;").unwrap();
    let keyless = FileSpec {
        organization: Org::Indexed,
        record_len: 8,
        layout: Some(keyless.into()),
    };
    assert!(RecordFile::create(&path, keyless).is_err());
    let short = FileSpec {
        organization: Org::Fixed,
        record_len: 4,
        layout: Some(common::keyed_layout()),
    };
    let e = RecordFile::create(&path, short).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the layout's records are 8 bytes, longer than the record length 4",
            path.display()
        )
    );
    assert_eq!(bytes(&path), b"keep me!");
}

// ---------------------------------------------------------------- relative

#[test]
fn relative_slots_by_record_number() {
    let dir = tmp();
    let path = dir.path().join("r.dat");
    let mut f = RecordFile::create(&path, spec(Org::Relative)).unwrap();
    let a = f.write(&rec(1, b'a'), None).unwrap();
    assert_eq!(
        (a.offset, a.recno, a.data),
        (0, Some(1), slot(1, &rec(1, b'a')).as_slice())
    );
    assert_eq!(a.after, Some(rec(1, b'a').as_slice()));
    // Record 5: slots 2 to 4 read back as empty.
    let a = f.write(&rec(5, b'e'), Some(5)).unwrap();
    assert_eq!((a.offset, a.recno), (36, Some(5)));
    assert_eq!(f.len(), 2, "len counts records, not slots");
    assert_eq!(
        bytes(&path),
        [slot(1, &rec(1, b'a')), vec![0; 27], slot(1, &rec(5, b'e'))].concat()
    );
    // The next automatic number follows the last slot.
    assert_eq!(f.write(&rec(6, b'f'), None).unwrap().recno, Some(6));
    f.write(&rec(3, b'c'), Some(3)).unwrap();

    let e = f.write(&rec(9, b'z'), Some(5)).unwrap_err();
    assert!(matches!(e, CaptureError::SlotTaken { recno: 5, .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("{}: record 5 already holds a record", path.display())
    );
    let e = f.write(&rec(9, b'z'), Some(0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: record numbers start at 1", path.display())
    );
    let e = f.write(&rec(9, b'z'), Some(u64::MAX)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record number {} is too large",
            path.display(),
            u64::MAX
        )
    );

    let a = f.rewrite(Target::RecNo(3), &rec(3, b'C')).unwrap();
    assert_eq!(
        (a.offset, a.kind, a.recno),
        (18, RecordOpKind::Update, Some(3))
    );
    assert_eq!(
        (a.before, a.after),
        (Some(rec(3, b'c').as_slice()), Some(rec(3, b'C').as_slice()))
    );
    assert_eq!(a.data, slot(1, &rec(3, b'C')).as_slice());

    let a = f.delete(Target::RecNo(3)).unwrap();
    assert_eq!(
        (a.offset, a.kind, a.recno, a.data),
        (18, RecordOpKind::Delete, Some(3), &[0u8][..])
    );
    assert_eq!((a.before, a.after), (Some(rec(3, b'C').as_slice()), None));
    assert_eq!(f.len(), 3);
    for e in [
        f.delete(Target::RecNo(3)).unwrap_err(),
        f.delete(Target::RecNo(2)).unwrap_err(),
        f.delete(Target::RecNo(7)).unwrap_err(),
    ] {
        assert!(matches!(e, CaptureError::NoSuchRecord { .. }), "{e}");
        names_path(&e, &path);
    }
    let e = f.rewrite(Target::RecNo(3), &rec(3, b'c')).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: no record at record 3", path.display())
    );
    let e = f.delete(Target::Key(&key(1))).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: delete by key is not possible in a relative file",
            path.display()
        )
    );
    // A deleted slot takes a record again.
    f.write(&rec(33, b'3'), Some(3)).unwrap();
    assert_eq!(f.len(), 4);

    // Reopen: the count and the record numbers come from the slots.
    drop(f);
    let mut f = RecordFile::open(&path, spec(Org::Relative)).unwrap();
    assert_eq!(f.len(), 4);
    let got = records(&path, spec(Org::Relative));
    assert_eq!(
        got,
        [
            (1, rec(1, b'a')),
            (3, rec(33, b'3')),
            (5, rec(5, b'e')),
            (6, rec(6, b'f'))
        ]
    );
    assert_eq!(f.write(&rec(7, b'g'), None).unwrap().recno, Some(7));
    f.delete(Target::RecNo(7)).unwrap();
    // Truncate keeps the first 4 slots, whatever they hold.
    assert_eq!(f.truncate(4).unwrap(), 36);
    assert_eq!(f.len(), 2);
    assert_eq!(f.write(&rec(2, b'b'), Some(2)).unwrap().offset, 9);
    assert_eq!(f.write(&rec(5, b'e'), None).unwrap().recno, Some(5));
    drop(f);
    assert_eq!(
        RecordFile::open(&path, spec(Org::Relative)).unwrap().len(),
        4
    );
}

// ---------------------------------------------------------------- sequential

#[test]
fn sequential_length_prefixed_records() {
    let dir = tmp();
    let path = dir.path().join("s.dat");
    let mut f = RecordFile::create(&path, spec(Org::Sequential)).unwrap();
    let a = f.write(b"abc", None).unwrap();
    assert_eq!(
        (a.offset, a.recno, a.data, a.after),
        (0, Some(1), prefixed(b"abc").as_slice(), Some(&b"abc"[..]))
    );
    let a = f.write(b"", None).unwrap();
    assert_eq!((a.offset, a.recno), (7, Some(2)));
    let a = f.write(b"12345678", Some(3)).unwrap();
    assert_eq!((a.offset, a.recno), (11, Some(3)));
    assert_eq!(
        bytes(&path),
        [prefixed(b"abc"), prefixed(b""), prefixed(b"12345678")].concat()
    );

    let e = f.write(b"123456789", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record of 9 bytes; the file's records are at most 8 bytes",
            path.display()
        )
    );
    let e = f.write(b"x", Some(1)).unwrap_err();
    assert!(matches!(e, CaptureError::SlotTaken { recno: 1, .. }), "{e}");
    let e = f.write(b"x", Some(5)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record 5: sequential files only append; the next record is 4",
            path.display()
        )
    );

    let a = f.rewrite(Target::RecNo(1), b"xyz").unwrap();
    assert_eq!(
        (a.offset, a.kind, a.data),
        (0, RecordOpKind::Update, prefixed(b"xyz").as_slice())
    );
    assert_eq!((a.before, a.after), (Some(&b"abc"[..]), Some(&b"xyz"[..])));
    let e = f.rewrite(Target::RecNo(1), b"xyzw").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: a sequential rewrite keeps the length: record 1 has 3 bytes, not 4",
            path.display()
        )
    );
    let e = f.rewrite(Target::RecNo(4), b"xyz").unwrap_err();
    assert!(matches!(e, CaptureError::NoSuchRecord { .. }), "{e}");
    let e = f.delete(Target::RecNo(1)).unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::Unsupported {
                op: "delete",
                organization: "sequential",
                ..
            }
        ),
        "{e}"
    );
    names_path(&e, &path);

    drop(f);
    let mut f = RecordFile::open(&path, spec(Org::Sequential)).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f.write(b"four", None).unwrap().offset, 23);
    assert_eq!(f.truncate(2).unwrap(), 11);
    assert_eq!(f.len(), 2);
    assert_eq!(f.write(b"new", None).unwrap().offset, 11);
    assert_eq!(
        bytes(&path),
        [prefixed(b"xyz"), prefixed(b""), prefixed(b"new")].concat()
    );
}

#[test]
fn for_each_record_can_run_twice() {
    // Reading must not depend on the file's shared cursor.
    let dir = tmp();
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let path = dir.path().join(format!("{}.dat", org.name()));
        let mut f = RecordFile::create(&path, spec(org)).unwrap();
        for i in 1..=3 {
            f.write(&rec(i, b'a'), None).unwrap();
        }
        for _ in 0..2 {
            let mut n = 0;
            f.for_each_record(|_, r| {
                n += 1;
                assert_eq!(r, rec(n, b'a'));
                Ok(())
            })
            .unwrap();
            assert_eq!(n, 3, "{org:?}");
        }
    }
}

// ---------------------------------------------------------------- indexed

#[test]
fn indexed_records_by_unique_key() {
    let dir = tmp();
    let path = dir.path().join("i.dat");
    let mut f = RecordFile::create(&path, spec(Org::Indexed)).unwrap();
    for (n, id) in [3, 1, 2].into_iter().enumerate() {
        let a = f.write(&rec(id, b'a'), None).unwrap();
        assert_eq!(
            (a.offset, a.recno, a.key),
            (n as u64 * 9, None, Some(key(id).as_slice()))
        );
        assert_eq!(a.data, slot(1, &rec(id, b'a')).as_slice());
    }
    let e = f.write(&rec(1, b'z'), None).unwrap_err();
    assert!(matches!(e, CaptureError::DuplicateKey { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("{}: duplicate key 0001", path.display())
    );
    let e = f.write(&rec(4, b'z'), Some(4)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: record 4: an indexed file places records by key, not by record number",
            path.display()
        )
    );

    let a = f.rewrite(Target::Key(&key(1)), &rec(1, b'B')).unwrap();
    assert_eq!(
        (a.offset, a.kind, a.key),
        (9, RecordOpKind::Update, Some(key(1).as_slice()))
    );
    assert_eq!(
        (a.before, a.after),
        (Some(rec(1, b'a').as_slice()), Some(rec(1, b'B').as_slice()))
    );
    let e = f.rewrite(Target::Key(&key(1)), &rec(7, b'B')).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: a rewrite cannot change the key (0001 to 0007): delete and write instead",
            path.display()
        )
    );
    let e = f.rewrite(Target::Key(&key(8)), &rec(8, b'B')).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: no record at key 0008", path.display())
    );
    let e = f.rewrite(Target::RecNo(1), &rec(1, b'B')).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: rewrite by record number is not possible in an indexed file",
            path.display()
        )
    );

    let a = f.delete(Target::Key(&key(3))).unwrap();
    assert_eq!(
        (a.offset, a.kind, a.data, a.key),
        (0, RecordOpKind::Delete, &[0u8][..], Some(key(3).as_slice()))
    );
    assert_eq!((a.before, a.after), (Some(rec(3, b'a').as_slice()), None));
    assert_eq!(f.len(), 2);
    let e = f.delete(Target::Key(&key(3))).unwrap_err();
    assert!(matches!(e, CaptureError::NoSuchRecord { .. }), "{e}");
    // The freed slot is reused first.
    assert_eq!(f.write(&rec(9, b'n'), None).unwrap().offset, 0);
    f.delete(Target::Key(&key(2))).unwrap();
    drop(f);

    // Reopen: the index and the free slots are rebuilt from the slots.
    let mut f = RecordFile::open(&path, spec(Org::Indexed)).unwrap();
    assert_eq!(f.len(), 2);
    let e = f.write(&rec(9, b'x'), None).unwrap_err();
    assert!(matches!(e, CaptureError::DuplicateKey { .. }), "{e}");
    assert_eq!(
        f.rewrite(Target::Key(&key(1)), &rec(1, b'C'))
            .unwrap()
            .offset,
        9
    );
    assert_eq!(
        f.write(&rec(2, b'2'), None).unwrap().offset,
        18,
        "the free slot found on open"
    );
    assert_eq!(f.write(&rec(4, b'4'), None).unwrap().offset, 27);
    let got: Vec<_> = records(&path, spec(Org::Indexed))
        .into_iter()
        .map(|(n, r)| (n, r[1]))
        .collect();
    assert_eq!(got, [(0, 9), (0, 1), (0, 2), (0, 4)]);

    // Truncate keeps slots; the records in the others leave the index.
    f.delete(Target::Key(&key(1))).unwrap();
    assert_eq!(f.truncate(2).unwrap(), 18);
    assert_eq!(f.len(), 1);
    assert!(f.rewrite(Target::Key(&key(2)), &rec(2, b'x')).is_err());
    assert_eq!(
        f.write(&rec(2, b'x'), None).unwrap().offset,
        9,
        "the freed slot 2 survives the truncate"
    );
    assert_eq!(f.write(&rec(4, b'x'), None).unwrap().offset, 18);
}

#[test]
fn indexed_file_with_a_duplicate_key_on_disk_is_refused() {
    let dir = tmp();
    let path = dir.path().join("dup.dat");
    std::fs::write(
        &path,
        [
            slot(1, &rec(5, b'a')),
            slot(0, &rec(5, b'b')),
            slot(1, &rec(5, b'c')),
        ]
        .concat(),
    )
    .unwrap();
    let e = RecordFile::open(&path, spec(Org::Indexed)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: duplicate key 0005 at record 3", path.display())
    );
}
