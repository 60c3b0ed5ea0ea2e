//! Transactions through a `Capture`: an abort restores every file byte for
//! byte and handles pick up the restored state; misuse is refused.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, OwnedEffect, key, rec, records, spec};
use drx_capture::{CaptureError, Org, Target};

#[test]
fn abort_restores_every_organization_byte_for_byte() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    for org in [Org::Fixed, Org::Relative, Org::Sequential, Org::Indexed] {
        let path = home.path(&format!("{}.dat", org.name()));
        let mut f = capture.create(&path, spec(org)).unwrap();
        for i in 1..=4 {
            capture.write(&mut f, &rec(i, b'a'), None).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let id = capture.begin().unwrap();
        assert!(capture.in_transaction());
        let (k2, k3) = (key(2), key(3));
        let (t2, t3) = if org == Org::Indexed {
            (Target::Key(&k2), Target::Key(&k3))
        } else {
            (Target::RecNo(2), Target::RecNo(3))
        };
        capture.rewrite(&mut f, t2, &rec(2, b'X')).unwrap();
        if matches!(org, Org::Relative | Org::Indexed) {
            capture.delete(&mut f, t3).unwrap();
        }
        capture.write(&mut f, &rec(9, b'n'), None).unwrap();
        capture.truncate(&mut f, 2).unwrap();
        capture.write(&mut f, &rec(10, b'm'), None).unwrap();
        capture.write(&mut f, &rec(11, b'm'), None).unwrap();
        if org == Org::Relative {
            capture.write(&mut f, &rec(12, b'm'), Some(20)).unwrap();
        }
        assert_ne!(std::fs::read(&path).unwrap(), before);
        let seq = capture.abort().unwrap();
        assert!(!capture.in_transaction());
        assert!(seq > id);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{org:?}");

        // The handle sees the restored state on its next operation.
        let a = capture.write(&mut f, &rec(5, b'e'), None);
        assert!(a.unwrap() > seq);
        let got: Vec<_> = records(&path, spec(org))
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        let want: Vec<_> = [1, 2, 3, 4, 5]
            .map(|i| rec(i, if i == 5 { b'e' } else { b'a' }))
            .to_vec();
        assert_eq!(got, want, "{org:?}");
    }
    capture.close().unwrap();
}

#[test]
fn an_aborted_indexed_transaction_leaves_the_index_as_it_was() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let path = home.path("i.dat");
    let mut f = capture.create(&path, spec(Org::Indexed)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.begin().unwrap();
    capture.delete(&mut f, Target::Key(&key(1))).unwrap();
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    capture.abort().unwrap();
    // Key 1 is back, key 2 is gone.
    let e = capture.write(&mut f, &rec(1, b'z'), None).unwrap_err();
    assert!(matches!(e, CaptureError::DuplicateKey { .. }), "{e}");
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    assert_eq!(f.file().len(), 2);
    capture.close().unwrap();
}

#[test]
fn recreating_a_file_inside_a_transaction_is_undone_by_abort() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let path = home.path("f.dat");
    let mut f = capture.create(&path, spec(Org::Relative)).unwrap();
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    let before = std::fs::read(&path).unwrap();
    capture.begin().unwrap();
    let mut g = capture.create(&path, spec(Org::Relative)).unwrap();
    assert!(g.file().is_empty());
    capture.write(&mut g, &rec(7, b'x'), None).unwrap();
    capture.abort().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    capture.write(&mut g, &rec(3, b'c'), None).unwrap();
    assert_eq!(g.file().len(), 3);
    capture.close().unwrap();
}

#[test]
fn committed_changes_stay_and_markers_carry_the_transaction_id() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let path = home.path("f.dat");
    let mut f = capture.create(&path, spec(Org::Fixed)).unwrap();
    let id = capture.begin().unwrap();
    assert_eq!(id, 2);
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    assert_eq!(capture.commit().unwrap(), 4);
    capture.write(&mut f, &rec(2, b'b'), None).unwrap();
    capture.close().unwrap();
    let entries = home.entries();
    let txns: Vec<_> = entries
        .iter()
        .map(|e| (e.seq, e.txn, e.file.as_str()))
        .collect();
    let jp = home.jpath("f.dat");
    assert_eq!(
        txns,
        [
            (1, 0, jp.as_str()),
            (2, 2, ""),
            (3, 2, jp.as_str()),
            (4, 2, ""),
            (5, 0, jp.as_str())
        ]
    );
    assert_eq!(entries[1].effect, OwnedEffect::BeginTxn);
    assert_eq!(entries[3].effect, OwnedEffect::CommitTxn);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        [rec(1, b'a'), rec(2, b'b')].concat()
    );
}

#[test]
fn transaction_misuse_is_refused() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    for e in [capture.commit().unwrap_err(), capture.abort().unwrap_err()] {
        assert!(matches!(e, CaptureError::Transaction(_)), "{e}");
    }
    assert_eq!(
        capture.commit().unwrap_err().to_string(),
        "transaction: commit without begin"
    );
    let a = home.path("a.dat");
    let mut f = capture.create(&a, spec(Org::Fixed)).unwrap();
    capture.begin().unwrap();
    assert_eq!(
        capture.begin().unwrap_err().to_string(),
        "transaction: begin inside an open transaction"
    );
    let e = capture
        .create(&home.path("new.dat"), spec(Org::Fixed))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "transaction: files cannot be created inside a transaction"
    );
    assert!(!home.path("new.dat").exists());
    for e in [
        capture.rename(&a, &home.path("b.dat")).unwrap_err(),
        capture.copy(&a, &home.path("b.dat")).unwrap_err(),
        capture.delete_file(&a).unwrap_err(),
    ] {
        assert!(matches!(e, CaptureError::Transaction(_)), "{e}");
    }
    assert!(a.exists() && !home.path("b.dat").exists());
    // A failed operation inside the transaction changes nothing.
    capture.write(&mut f, &rec(1, b'a'), None).unwrap();
    assert!(capture.write(&mut f, b"short", None).is_err());
    capture.commit().unwrap();
    capture.close().unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), rec(1, b'a'));
}

#[test]
fn close_aborts_an_open_transaction() {
    let home = Home::all_critical();
    let mut capture = home.capture("p");
    let path = home.path("f.dat");
    let mut f = capture.create(&path, spec(Org::Sequential)).unwrap();
    capture.write(&mut f, b"kept", None).unwrap();
    let before = std::fs::read(&path).unwrap();
    let id = capture.begin().unwrap();
    capture.write(&mut f, b"lost", None).unwrap();
    capture.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let last = home.entries().pop().unwrap();
    assert_eq!((last.effect, last.txn), (OwnedEffect::AbortTxn, id));
}

#[test]
fn disabled_capture_journals_nothing_but_still_undoes() {
    let home = Home::with_config(
        "[global_settings]\ndisable_drms = true\n[journal]\ndurability = \"none\"\n[[files]]\nsource_path = \"*.dat\"\n",
    );
    let mut capture = home.capture("p");
    let path = home.path("f.dat");
    let mut f = capture.create(&path, spec(Org::Relative)).unwrap();
    assert!(!f.is_critical());
    assert_eq!(capture.write(&mut f, &rec(1, b'a'), None).unwrap(), 0);
    capture.begin().unwrap();
    assert_eq!(capture.write(&mut f, &rec(2, b'b'), None).unwrap(), 0);
    assert_eq!(capture.abort().unwrap(), 0);
    capture.begin().unwrap();
    capture.delete(&mut f, Target::RecNo(1)).unwrap();
    assert_eq!(capture.commit().unwrap(), 0);
    capture.rename(&path, &home.path("g.dat")).unwrap();
    capture
        .copy(&home.path("g.dat"), &home.path("h.dat"))
        .unwrap();
    capture.delete_file(&home.path("g.dat")).unwrap();
    capture.close().unwrap();
    assert_eq!(home.entries(), []);
    // The deleted slot: status byte 0, the old record bytes left in place.
    assert_eq!(
        std::fs::read(home.path("h.dat")).unwrap(),
        [&[0u8][..], &rec(1, b'a')].concat()
    );
}
