//! Decoding COBOL copybook records (issue 5): the Cobrix test6 record
//! (every numeric type, 1,493 bytes), a DISPLAY-heavy customer record and
//! a COMP-3-heavy account record: every column as a typed value through
//! `Layout::from_copybook` (what the extractor hands the sinks), and
//! `RecordDecoder::decode` alone and followed by `write_json`. Throughput
//! is in record bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drx_layouts::{Copybook, CopybookLayoutOptions, Layout, RecordDecoder, RecordOptions};

mod workloads;

const COBRIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/conformance/cobrix"
);

/// Records per synthetic batch (about 55 KiB, like test6's 146 KiB: all in
/// cache, so the bench measures decoding, not memory).
const SYNTHETIC_RECORDS: usize = 100;

fn bench_records(
    c: &mut Criterion,
    name: &str,
    copybook: &str,
    record_len: usize,
    data: &[u8],
    opts: RecordOptions,
) {
    let cb = Copybook::parse(name, copybook).expect("the copybook parses");
    assert_eq!(cb.record_len(), record_len, "{name}: record length");
    let mut decoder = RecordDecoder::new(&cb, opts).expect("a decoder");
    let mut group = c.benchmark_group(format!("copybook/{name}"));
    group.throughput(Throughput::Bytes(data.len() as u64));
    let options = CopybookLayoutOptions {
        code_page: opts.cobol.code_page,
        float_format: opts.cobol.float_format,
        native_order: opts.cobol.native_order,
        strict_sign: opts.cobol.strict_sign,
        trim: opts.trim,
        invalid: opts.invalid,
        ..CopybookLayoutOptions::default()
    };
    let layout = Layout::from_copybook(name, &cb, &options).expect("a layout");
    group.bench_function("typed values", |b| {
        let mut text = Vec::with_capacity(16 * 1024);
        b.iter(|| {
            let mut sum = 0;
            for record in data.chunks_exact(record_len) {
                let view = layout.view(black_box(record)).expect("a whole record");
                sum ^= workloads::consume(&view, &mut text).expect("every column decodes");
            }
            black_box(sum);
        });
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            for (i, record) in data.chunks_exact(record_len).enumerate() {
                decoder
                    .decode(i as u64 + 1, black_box(record))
                    .expect("the record decodes");
            }
            black_box(decoder.cell(0));
        });
    });
    group.bench_function("decode + write_json", |b| {
        let mut json = String::with_capacity(16 * 1024);
        b.iter(|| {
            for (i, record) in data.chunks_exact(record_len).enumerate() {
                decoder
                    .decode(i as u64 + 1, black_box(record))
                    .expect("the record decodes");
                json.clear();
                decoder.write_json(&mut json);
                black_box(&json);
            }
        });
    });
    group.finish();
}

fn copybook(c: &mut Criterion) {
    let cob = std::fs::read_to_string(format!("{COBRIX}/test6_copybook.cob"))
        .expect("tests/conformance/cobrix/test6_copybook.cob");
    let data = std::fs::read(format!("{COBRIX}/test6_data/INTEGR.TYPES.NOV28.DATA.dat"))
        .expect("tests/conformance/cobrix/test6_data");
    bench_records(c, "test6", &cob, 1493, &data, workloads::test6_options());
    for w in [
        workloads::display(SYNTHETIC_RECORDS),
        workloads::comp3(SYNTHETIC_RECORDS),
    ] {
        bench_records(
            c,
            w.name,
            &w.copybook,
            w.record_len,
            &w.data,
            workloads::synthetic_options(),
        );
    }
}

criterion_group!(benches, copybook);
criterion_main!(benches);
