//! Batches: changes in order, images decoded through the layout, buffers
//! reused.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use drx_layouts::RecordView;
use drx_sinks::{Batch, Checkpoint};
use drx_templates::{Change, ChangeOp};

/// `number:name` of an image.
fn show(view: Option<RecordView<'_>>) -> String {
    match view {
        None => "-".into(),
        Some(v) => {
            let mut s = String::new();
            v.get(0).unwrap().write_text(&mut s).unwrap();
            s.push(':');
            v.get(1).unwrap().write_text(&mut s).unwrap();
            s
        }
    }
}

fn summary(batch: &Batch) -> Vec<String> {
    batch
        .changes()
        .map(|c| {
            let c: Change<'_> = c.unwrap();
            format!(
                "{} {} txn {} {} id {} before {} after {} image {}",
                c.op.as_str(),
                c.seq,
                c.txn,
                c.file,
                c.file_id,
                show(c.before),
                show(c.after),
                show(c.image())
            )
        })
        .collect()
}

#[test]
fn changes_come_back_in_order_with_their_images() {
    let layout = layout_200();
    let a = encode(&layout, &row(1, "a", "", "", ""));
    let b = encode(&layout, &row(2, "b", "", "", ""));
    let mut batch = Batch::new(200, layout.clone());
    assert!(batch.is_empty());
    batch.push(ChangeOp::Insert, 5, 0, "/d/one", None, Some(&a));
    batch.push(ChangeOp::Update, 6, 3, "/d/two", Some(&a), Some(&b));
    batch.push(ChangeOp::Delete, 7, 3, "/d/one", Some(&b), None);
    batch.checkpoint = Checkpoint {
        applied: 7,
        resume: 8,
    };
    assert_eq!((batch.len(), batch.file_id()), (3, 200));
    assert_eq!(
        batch.ops().collect::<Vec<_>>(),
        [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete]
    );
    assert_eq!(
        summary(&batch),
        [
            "insert 5 txn 0 /d/one id 200 before - after 1:a image 1:a",
            "update 6 txn 3 /d/two id 200 before 1:a after 2:b image 2:b",
            "delete 7 txn 3 /d/one id 200 before 2:b after - image 2:b",
        ]
    );

    // Appending keeps the order, the files and the images of both.
    let mut other = Batch::new(200, layout.clone());
    other.push(ChangeOp::Insert, 8, 0, "/d/three", None, Some(&b));
    other.push(ChangeOp::Delete, 9, 0, "/d/two", Some(&a), None);
    batch.append(&other);
    assert_eq!(
        &summary(&batch)[3..],
        [
            "insert 8 txn 0 /d/three id 200 before - after 2:b image 2:b",
            "delete 9 txn 0 /d/two id 200 before 1:a after - image 1:a",
        ]
    );

    // Clearing empties the batch; it fills again as new.
    batch.clear();
    assert!(batch.is_empty() && batch.changes().next().is_none());
    batch.push(ChangeOp::Insert, 10, 0, "/d/four", None, Some(&a));
    assert_eq!(
        summary(&batch),
        ["insert 10 txn 0 /d/four id 200 before - after 1:a image 1:a"]
    );
}

#[test]
fn a_short_image_is_a_decode_error_of_its_change() {
    let layout = layout_200();
    let mut batch = Batch::new(200, layout.clone());
    batch.push(ChangeOp::Insert, 1, 0, "/d", None, Some(&[1, 2, 3]));
    let err = batch.changes().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("short"), "{err}");
}
