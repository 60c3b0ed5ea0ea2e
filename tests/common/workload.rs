//! A reproducible `drx io` workload of every operation across every
//! organization, for the mirroring tests: fixed, relative, sequential and
//! indexed files under `data/` written, rewritten, deleted and truncated,
//! in transactions (some aborted) and outside, and whole files copied,
//! renamed and deleted.

use std::collections::BTreeMap;

/// What the generator knows of the files, to write only valid operations.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// Seed of the generator's state.
    state: u64,
    /// Fixed file: records so far.
    fixed: u64,
    /// Relative file: occupied slots.
    relative: BTreeMap<u64, ()>,
    /// Relative file: slots in the file (occupied or not).
    relative_slots: u64,
    /// Sequential file: each record's length.
    sequential: Vec<usize>,
    /// Indexed file (error_codes' layout): keys present.
    indexed: BTreeMap<i64, ()>,
    /// Whether the files were created.
    created: bool,
    /// Copies made so far (for distinct names).
    copies: u64,
}

const FIXED: &str = "data/f.fix";
const RELATIVE: &str = "data/r.rel";
const SEQUENTIAL: &str = "data/s.seq";
const INDEXED: &str = "data/i.idx";
/// Record length of the fixed and relative files.
const LEN: usize = 8;
/// Longest record of the sequential file.
const SEQ_MAX: usize = 24;

impl Workload {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Workload {
        Workload {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            ..Workload::default()
        }
    }

    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n.max(1)
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| format!("{:02x}", self.next(256)))
            .collect()
    }

    /// The next `ops` operations as a script (the files are created by the
    /// first call).
    pub fn script(&mut self, ops: usize) -> String {
        // Each script is a new session: it creates the files, or opens
        // them with their specs.
        let mut out = String::new();
        let op = if self.created { "open" } else { "create" };
        self.created = true;
        out += &format!(
            "{{\"op\":\"{op}\",\"file\":\"{FIXED}\",\"organization\":\"fixed\",\"record_len\":{LEN}}}\n"
        );
        out += &format!(
            "{{\"op\":\"{op}\",\"file\":\"{RELATIVE}\",\"organization\":\"relative\",\"record_len\":{LEN}}}\n"
        );
        out += &format!(
            "{{\"op\":\"{op}\",\"file\":\"{SEQUENTIAL}\",\"organization\":\"sequential\",\"record_len\":{SEQ_MAX}}}\n"
        );
        out += &format!(
            "{{\"op\":\"{op}\",\"file\":\"{INDEXED}\",\"file_id\":200,\"organization\":\"indexed\"}}\n"
        );
        let mut done = 0;
        while done < ops {
            match self.next(10) {
                0 => {
                    // A whole-file operation, outside any transaction.
                    out += &self.whole_file();
                    done += 1;
                }
                1..=6 => {
                    let size = 1 + self.next(5) as usize;
                    let abort = self.next(4) == 0;
                    let saved = self.clone();
                    out += "{\"op\":\"begin\"}\n";
                    for _ in 0..size {
                        out += &self.record_op();
                    }
                    if abort {
                        // The files go back to what they were; so does
                        // what the generator knows (but not its seed).
                        let state = self.state;
                        *self = saved;
                        self.state = state;
                        out += "{\"op\":\"abort\"}\n";
                    } else {
                        out += "{\"op\":\"commit\"}\n";
                    }
                    done += size;
                }
                _ => {
                    out += &self.record_op();
                    done += 1;
                }
            }
        }
        out
    }

    fn whole_file(&mut self) -> String {
        self.copies += 1;
        let n = self.copies;
        let from = [FIXED, RELATIVE, SEQUENTIAL, INDEXED][self.next(4) as usize];
        match self.next(3) {
            // A copy that stays.
            0 => format!("{{\"op\":\"copy\",\"file\":\"{from}\",\"to\":\"data/copy{n}\"}}\n"),
            // A copy renamed.
            1 => format!(
                "{{\"op\":\"copy\",\"file\":\"{from}\",\"to\":\"data/tmp{n}\"}}\n{{\"op\":\"rename\",\"file\":\"data/tmp{n}\",\"to\":\"data/renamed{n}\"}}\n"
            ),
            // A copy renamed over another, then deleted.
            _ => format!(
                "{{\"op\":\"copy\",\"file\":\"{from}\",\"to\":\"data/gone{n}\"}}\n{{\"op\":\"copy\",\"file\":\"{FIXED}\",\"to\":\"data/over{n}\"}}\n{{\"op\":\"rename\",\"file\":\"data/gone{n}\",\"to\":\"data/over{n}\"}}\n{{\"op\":\"delete_file\",\"file\":\"data/over{n}\"}}\n"
            ),
        }
    }

    fn record_op(&mut self) -> String {
        match self.next(4) {
            0 => self.fixed_op(),
            1 => self.relative_op(),
            2 => self.sequential_op(),
            _ => self.indexed_op(),
        }
    }

    fn fixed_op(&mut self) -> String {
        let roll = self.next(20);
        if self.fixed == 0 || roll < 12 {
            self.fixed += 1;
            let hex = self.hex(LEN);
            format!("{{\"op\":\"write\",\"file\":\"{FIXED}\",\"hex\":\"{hex}\"}}\n")
        } else if roll < 19 {
            let recno = 1 + self.next(self.fixed);
            let hex = self.hex(LEN);
            format!(
                "{{\"op\":\"rewrite\",\"file\":\"{FIXED}\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n"
            )
        } else {
            self.fixed = self.next(self.fixed + 1);
            format!(
                "{{\"op\":\"truncate\",\"file\":\"{FIXED}\",\"records\":{}}}\n",
                self.fixed
            )
        }
    }

    fn relative_op(&mut self) -> String {
        let roll = self.next(20);
        let occupied: Vec<u64> = self.relative.keys().copied().collect();
        if occupied.is_empty() || roll < 10 {
            let recno = loop {
                let r = 1 + self.next(self.relative_slots + 4);
                if !self.relative.contains_key(&r) {
                    break r;
                }
            };
            self.relative.insert(recno, ());
            self.relative_slots = self.relative_slots.max(recno);
            let hex = self.hex(LEN);
            format!(
                "{{\"op\":\"write\",\"file\":\"{RELATIVE}\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n"
            )
        } else if roll < 15 {
            let recno = occupied[self.next(occupied.len() as u64) as usize];
            let hex = self.hex(LEN);
            format!(
                "{{\"op\":\"rewrite\",\"file\":\"{RELATIVE}\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n"
            )
        } else if roll < 19 {
            let recno = occupied[self.next(occupied.len() as u64) as usize];
            self.relative.remove(&recno);
            format!("{{\"op\":\"delete\",\"file\":\"{RELATIVE}\",\"recno\":{recno}}}\n")
        } else {
            let keep = self.next(self.relative_slots + 1);
            self.relative_slots = keep;
            self.relative.retain(|r, _| *r <= keep);
            format!("{{\"op\":\"truncate\",\"file\":\"{RELATIVE}\",\"records\":{keep}}}\n")
        }
    }

    fn sequential_op(&mut self) -> String {
        let roll = self.next(20);
        if self.sequential.is_empty() || roll < 12 {
            let len = 1 + self.next(SEQ_MAX as u64) as usize;
            self.sequential.push(len);
            let hex = self.hex(len);
            format!("{{\"op\":\"write\",\"file\":\"{SEQUENTIAL}\",\"hex\":\"{hex}\"}}\n")
        } else if roll < 19 {
            let i = self.next(self.sequential.len() as u64) as usize;
            let hex = self.hex(self.sequential[i]);
            format!(
                "{{\"op\":\"rewrite\",\"file\":\"{SEQUENTIAL}\",\"recno\":{},\"hex\":\"{hex}\"}}\n",
                i + 1
            )
        } else {
            let keep = self.next(self.sequential.len() as u64 + 1) as usize;
            self.sequential.truncate(keep);
            format!("{{\"op\":\"truncate\",\"file\":\"{SEQUENTIAL}\",\"records\":{keep}}}\n")
        }
    }

    fn indexed_op(&mut self) -> String {
        let roll = self.next(10);
        let keys: Vec<i64> = self.indexed.keys().copied().collect();
        let text = format!("t{}", self.next(1_000_000));
        if keys.is_empty() || roll < 5 {
            let key = loop {
                let k = self.next(20_000) as i64 - 10_000;
                if !self.indexed.contains_key(&k) {
                    break k;
                }
            };
            self.indexed.insert(key, ());
            format!(
                "{{\"op\":\"write\",\"file\":\"{INDEXED}\",\"record\":{{\"err_number\":{key},\"err_name\":\"{text}\",\"err_text\":\"{text}\"}}}}\n"
            )
        } else if roll < 8 {
            let key = keys[self.next(keys.len() as u64) as usize];
            format!(
                "{{\"op\":\"rewrite\",\"file\":\"{INDEXED}\",\"key\":{{\"err_number\":{key}}},\"record\":{{\"err_number\":{key},\"err_name\":\"u{text}\",\"err_text\":\"{text}{text}\"}}}}\n"
            )
        } else {
            let key = keys[self.next(keys.len() as u64) as usize];
            self.indexed.remove(&key);
            format!(
                "{{\"op\":\"delete\",\"file\":\"{INDEXED}\",\"key\":{{\"err_number\":{key}}}}}\n"
            )
        }
    }
}
