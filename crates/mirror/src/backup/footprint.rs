//! Byte ranges: what an aborted transaction touched in one file, and what
//! the backup read of it.

/// The bytes of one file a transaction changed: `[start, end)` ranges,
/// and `whole` when it emptied, truncated or extended the file by a
/// `Create` or `Truncate` (its undo may then restore any byte and the
/// length).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// Sorted, disjoint, non-empty ranges.
    ranges: Vec<(u64, u64)>,
    /// The whole file.
    whole: bool,
}

impl Footprint {
    /// The whole file.
    pub fn whole() -> Footprint {
        Footprint {
            ranges: Vec::new(),
            whole: true,
        }
    }

    /// Whether it covers the whole file.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// Whether it covers nothing.
    pub fn is_empty(&self) -> bool {
        !self.whole && self.ranges.is_empty()
    }

    /// The ranges (meaningless when whole).
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Adds `[start, end)`.
    pub fn add(&mut self, start: u64, end: u64) {
        if self.whole || start >= end {
            return;
        }
        let at = self.ranges.partition_point(|r| r.1 < start);
        let mut merged = (start, end);
        let mut until = at;
        while until < self.ranges.len() && self.ranges[until].0 <= merged.1 {
            merged.0 = merged.0.min(self.ranges[until].0);
            merged.1 = merged.1.max(self.ranges[until].1);
            until += 1;
        }
        self.ranges.splice(at..until, [merged]);
    }

    /// Adds all of `other`.
    pub fn merge(&mut self, other: &Footprint) {
        if other.whole {
            *self = Footprint::whole();
            return;
        }
        for &(s, e) in &other.ranges {
            self.add(s, e);
        }
    }

    /// Whether it shares a byte with `other` (a whole footprint shares
    /// one with anything not empty).
    pub fn overlaps(&self, other: &Footprint) -> bool {
        if self.is_empty() || other.is_empty() {
            return false;
        }
        if self.whole || other.whole {
            return true;
        }
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            if a.0 < b.1 && b.0 < a.1 {
                return true;
            }
            if a.1 <= b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// The ranges clipped to `[0, len)`: what to read again of a file of
    /// `len` bytes.
    pub fn within(&self, len: u64) -> Vec<(u64, u64)> {
        if self.whole {
            return if len > 0 { vec![(0, len)] } else { Vec::new() };
        }
        self.ranges
            .iter()
            .filter(|r| r.0 < len)
            .map(|&(s, e)| (s, e.min(len)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(ranges: &[(u64, u64)]) -> Footprint {
        let mut f = Footprint::default();
        for &(s, e) in ranges {
            f.add(s, e);
        }
        f
    }

    #[test]
    fn ranges_merge_and_overlap() {
        let f = of(&[(10, 20), (30, 40), (18, 31), (50, 60), (0, 0)]);
        assert_eq!(f.ranges(), &[(10, 40), (50, 60)]);
        assert!(f.overlaps(&of(&[(39, 41)])));
        assert!(!f.overlaps(&of(&[(40, 50), (60, 70)])));
        assert!(f.overlaps(&Footprint::whole()));
        assert!(!Footprint::whole().overlaps(&Footprint::default()));
        assert_eq!(f.within(55), vec![(10, 40), (50, 55)]);
        assert_eq!(Footprint::whole().within(7), vec![(0, 7)]);
        let mut g = of(&[(100, 110)]);
        g.merge(&f);
        assert_eq!(g.ranges(), &[(10, 40), (50, 60), (100, 110)]);
        g.merge(&Footprint::whole());
        assert_eq!(g, Footprint::whole());
    }
}
