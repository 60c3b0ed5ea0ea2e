//! Splitting a batch of mapped changes into phases of changes on distinct
//! keys. Within a phase the changes commute, so its deletes, inserts and
//! updates can each go to the server as one multi-row statement. Each
//! change goes to the phase after the last one that touched its key (both
//! keys, for an update that moves a record), so the changes of one key
//! keep their order and a batch needs as many phases as its busiest key
//! has changes, not one per repeated key. The batch is one transaction, so
//! no reader sees the order within it.

use crate::batch::Prepared;
use drx_templates::{Bound, ChangeOp};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

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
    /// The last phase that touched each key (by hash; a collision only
    /// costs a phase).
    last: HashMap<u64, usize>,
    /// The changes of each phase, in batch order; only the first `count`
    /// are in use.
    phases: Vec<Vec<usize>>,
    count: usize,
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
    /// The phases, in the order they must run.
    pub fn list(&self) -> &[Vec<usize>] {
        &self.phases[..self.count]
    }

    /// Splits the changes whose values `prepared` holds (mapped order:
    /// fields, then the old key of an update; the key of a delete).
    pub fn split(
        &mut self,
        ops: impl Iterator<Item = ChangeOp>,
        prepared: &Prepared,
        fields: usize,
        key: &[usize],
    ) {
        self.last.clear();
        for p in &mut self.phases {
            p.clear();
        }
        self.count = 0;
        for (k, op) in ops.enumerate() {
            let phase = if key.is_empty() {
                0
            } else {
                let b = prepared.of(k);
                let text = &prepared.text;
                let new = || hash_key(key.iter().map(|&i| &b[i]), text);
                let keys = match op {
                    ChangeOp::Insert => [Some(new()), None],
                    ChangeOp::Update => [Some(new()), Some(hash_key(b[fields..].iter(), text))],
                    ChangeOp::Delete => [Some(hash_key(b.iter(), text)), None],
                };
                let phase = keys
                    .iter()
                    .flatten()
                    .filter_map(|h| self.last.get(h).map(|p| p + 1))
                    .max()
                    .unwrap_or(0);
                for h in keys.iter().flatten() {
                    self.last.insert(*h, phase);
                }
                phase
            };
            if phase >= self.phases.len() {
                self.phases.resize_with(phase + 1, Vec::new);
            }
            self.phases[phase].push(k);
            self.count = self.count.max(phase + 1);
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
    fn a_change_goes_to_the_phase_after_the_last_one_of_its_key() {
        use ChangeOp::*;
        // fields: id, value; key: id. Update values: id, value, old id.
        let ops = [Insert, Insert, Update, Delete, Insert, Update];
        let p = prepared(&[&[1, 10], &[2, 20], &[3, 30, 3], &[4], &[1, 11], &[5, 50, 2]]);
        let mut phases = Phases::default();
        phases.split(ops.into_iter(), &p, 2, &[0]);
        // Change 4 inserts key 1 again: phase 1; change 5 moves key 2 to
        // key 5 after change 1 touched key 2: phase 1.
        assert_eq!(phases.list(), [vec![0, 1, 2, 3], vec![4, 5]]);
        let p = prepared(&[&[1, 10], &[1, 10, 1], &[2, 20], &[1]]);
        phases.split([Insert, Update, Insert, Delete].into_iter(), &p, 2, &[0]);
        assert_eq!(phases.list(), [vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn no_key_one_phase() {
        let p = prepared(&[&[1], &[1], &[1]]);
        let mut phases = Phases::default();
        phases.split([ChangeOp::Insert; 3].into_iter(), &p, 1, &[]);
        assert_eq!(phases.list(), [vec![0, 1, 2]]);
    }
}
