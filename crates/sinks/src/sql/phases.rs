//! Splitting a batch of mapped changes into phases: runs of consecutive
//! changes that touch distinct keys. Within a phase the changes commute, so
//! its deletes, inserts and updates can each go to the server as one
//! multi-row statement; the changes of one key keep their order because a
//! key seen again starts a new phase. The batch is one transaction, so no
//! reader sees the order within it.

use crate::batch::Prepared;
use drx_templates::{Bound, ChangeOp};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;

/// Which statement a change goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Insert,
    Upsert,
    Update,
    Delete,
    /// The key only, to learn whether its row exists.
    Exists,
    /// Nothing to do (a repaired delete of a missing row).
    Skip,
}

/// The phases of a batch, reused from batch to batch.
#[derive(Debug, Default)]
pub(crate) struct Phases {
    seen: HashSet<u64>,
    /// The changes of each phase, in order.
    pub ranges: Vec<Range<usize>>,
}

/// A hash of some bound values (a key).
fn hash_key<'b>(values: impl Iterator<Item = &'b Bound>, text: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    for v in values {
        match v {
            Bound::Null => 0u8.hash(&mut h),
            Bound::Int(i) => (1u8, i).hash(&mut h),
            Bound::Float(f) => (2u8, f.to_bits()).hash(&mut h),
            Bound::Text(r) => (3u8, &text[r.clone()]).hash(&mut h),
        }
    }
    h.finish()
}

impl Phases {
    /// Splits the `ops.len()` changes whose values `prepared` holds (mapped
    /// order: fields, then the old key of an update; the key of a delete).
    pub fn split(
        &mut self,
        ops: impl Iterator<Item = ChangeOp>,
        prepared: &Prepared,
        fields: usize,
        key: &[usize],
    ) {
        self.ranges.clear();
        self.seen.clear();
        let mut start = 0;
        let mut k = 0;
        for op in ops {
            if !key.is_empty() {
                let b = prepared.of(k);
                let text = &prepared.text;
                let new = || hash_key(key.iter().map(|&i| &b[i]), text);
                let keys = match op {
                    ChangeOp::Insert => [Some(new()), None],
                    ChangeOp::Update => [Some(new()), Some(hash_key(b[fields..].iter(), text))],
                    ChangeOp::Delete => [Some(hash_key(b.iter(), text)), None],
                };
                if keys.iter().flatten().any(|h| self.seen.contains(h)) {
                    self.ranges.push(start..k);
                    self.seen.clear();
                    start = k;
                }
                self.seen.extend(keys.iter().flatten());
            }
            k += 1;
        }
        if k > start {
            self.ranges.push(start..k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(rows: &[&[i64]]) -> Prepared {
        let mut p = Prepared::default();
        for r in rows {
            p.bounds.extend(r.iter().map(|v| Bound::Int(*v)));
            p.ends.push(p.bounds.len() as u32);
        }
        p.ready = true;
        p
    }

    #[test]
    fn a_key_seen_again_starts_a_phase() {
        use ChangeOp::*;
        // fields: id, value; key: id. Update values: id, value, old id.
        let ops = [Insert, Insert, Update, Delete, Insert, Update];
        let p = prepared(&[&[1, 10], &[2, 20], &[3, 30, 3], &[4], &[1, 11], &[5, 50, 2]]);
        let mut phases = Phases::default();
        phases.split(ops.into_iter(), &p, 2, &[0]);
        // Change 4 inserts key 1 again; change 5 moves key 2 (seen in phase 0, not in 1).
        assert_eq!(phases.ranges, vec![0..4, 4..6]);
        let p = prepared(&[&[1, 10], &[1, 10, 1], &[1]]);
        phases.split([Insert, Update, Delete].into_iter(), &p, 2, &[0]);
        assert_eq!(phases.ranges, vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn no_key_one_phase() {
        let p = prepared(&[&[1], &[1], &[1]]);
        let mut phases = Phases::default();
        phases.split([ChangeOp::Insert; 3].into_iter(), &p, 1, &[]);
        assert_eq!(phases.ranges, vec![0..3]);
    }
}
