//! Encoding and decoding an `Entries` frame of 1,000 journal entries of
//! 200-byte records (a Write effect plus the record meaning with its
//! after-image, as the capture journals a record write): what the
//! primary's feed does per batch ([`EntriesWriter`]), and what the standby
//! does with it (the frame's checks, then each entry decoded).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drx_journal::{Effect, EntryRef, Locator, RecordChange, RecordOp, decode_entry, encode_entry};
use drx_mirror::{EntriesWriter, Message};

const ENTRIES: u64 = 1_000;
const RECORD: [u8; 200] = [b'r'; 200];

/// The journal payloads of entries 1 to [`ENTRIES`].
fn payloads() -> Vec<Vec<u8>> {
    (1..=ENTRIES)
        .map(|seq| {
            let entry = EntryRef {
                seq,
                epoch: 1,
                txn: 0,
                timestamp_us: 1_700_000_000_000_000 + seq as i64,
                process: "bench_app",
                file: "/srv/data/customers.dat",
                effect: Effect::Write {
                    offset: (seq - 1) * 200,
                    data: &RECORD,
                },
                record: Some(RecordChange {
                    op: RecordOp::Insert,
                    locator: Locator::RecNo(seq - 1),
                    before: None,
                    after: Some(&RECORD),
                }),
            };
            let mut out = Vec::new();
            encode_entry(&entry, &mut out).expect("encode the entry");
            out
        })
        .collect()
}

/// One `Entries` frame of `payloads`, appended to `frame`.
fn encode(payloads: &[Vec<u8>], frame: &mut Vec<u8>) -> usize {
    let mut batch = EntriesWriter::new(frame, 1).expect("first seq 1");
    for payload in payloads {
        batch.push(payload).expect("the entry fits");
    }
    batch.finish().expect("a batch of entries")
}

fn entries(c: &mut Criterion) {
    let payloads = payloads();
    let mut frame = Vec::new();
    let len = encode(&payloads, &mut frame);
    let mut group = c.benchmark_group("entries frame");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));

    let mut out = Vec::with_capacity(len);
    group.bench_function("encode 1,000 x 200B records", |b| {
        b.iter(|| {
            out.clear();
            black_box(encode(black_box(&payloads), &mut out))
        });
    });
    group.bench_function("decode 1,000 x 200B records (frame only)", |b| {
        b.iter(|| {
            let Ok(Some((Message::Entries(batch), used))) = Message::decode(black_box(&frame))
            else {
                panic!("one Entries frame");
            };
            assert_eq!(used, len);
            black_box(batch.iter().map(<[u8]>::len).sum::<usize>())
        });
    });
    group.bench_function("decode 1,000 x 200B records (frame and entries)", |b| {
        b.iter(|| {
            let Ok(Some((Message::Entries(batch), _))) = Message::decode(black_box(&frame)) else {
                panic!("one Entries frame");
            };
            let mut bytes = 0;
            for (seq, payload) in batch.with_seqs() {
                let entry = decode_entry(payload).expect("a journal entry");
                assert_eq!(entry.seq, seq);
                if let Effect::Write { data, .. } = entry.effect {
                    bytes += data.len();
                }
            }
            assert_eq!(bytes, 200 * ENTRIES as usize);
            black_box(bytes)
        });
    });
    group.finish();
}

criterion_group!(benches, entries);
criterion_main!(benches);
