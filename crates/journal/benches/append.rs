//! Append and read throughput of 200-byte insert entries (a Write effect
//! plus a RecordChange whose after-image is the written data).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drx_journal::{
    Durability, Effect, Locator, NewEntry, Reader, RecordChange, RecordOp, Writer, WriterConfig,
};

const RECORD: [u8; 200] = [b'r'; 200];

fn insert(n: u64) -> NewEntry<'static> {
    NewEntry {
        txn: 0,
        process: "bench_app",
        file: "/srv/data/customers.dat",
        effect: Effect::Write {
            offset: n * 200,
            data: &RECORD,
        },
        record: Some(RecordChange {
            op: RecordOp::Insert,
            locator: Locator::RecNo(n),
            before: None,
            after: Some(&RECORD),
        }),
    }
}

fn config(dir: &Path, durability: Durability) -> WriterConfig {
    WriterConfig {
        durability,
        ..WriterConfig::new(dir)
    }
}

/// Times `iters` appends into a fresh journal, the final flush included.
fn time_appends(iters: u64, durability: Durability) -> Duration {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut writer = Writer::open(config(dir.path(), durability)).expect("open writer");
    let start = Instant::now();
    for n in 0..iters {
        black_box(writer.append(&insert(n)).expect("append"));
    }
    writer.flush().expect("flush");
    let elapsed = start.elapsed();
    writer.close().expect("close");
    elapsed
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("200B insert, Durability::None", |b| {
        b.iter_custom(|iters| time_appends(iters, Durability::None));
    });
    let grouped = Durability::Group {
        max_entries: 1000,
        max_delay: Duration::from_millis(10),
    };
    group.bench_function("200B insert, Group{1000, 10ms}", |b| {
        b.iter_custom(|iters| time_appends(iters, grouped));
    });
    group.finish();
}

fn read(c: &mut Criterion) {
    const ENTRIES: u64 = 200_000;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut writer = Writer::open(config(dir.path(), Durability::None)).expect("open writer");
    for n in 0..ENTRIES {
        writer.append(&insert(n)).expect("append");
    }
    writer.close().expect("close");

    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("200B insert entries", |b| {
        b.iter(|| {
            let mut reader = Reader::open(dir.path(), 1).expect("open reader");
            let mut bytes = 0usize;
            while let Some(entry) = reader.next().expect("next") {
                if let Effect::Write { data, .. } = entry.effect {
                    bytes += data.len();
                }
            }
            assert_eq!(reader.position(), ENTRIES + 1);
            black_box(bytes)
        });
    });
    group.finish();
}

criterion_group!(benches, append, read);
criterion_main!(benches);
