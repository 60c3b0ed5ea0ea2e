//! Decoding 200-byte error_codes records (layout.200) and writing every
//! field's text into a reused String.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drx_layouts::Layout;

const LAYOUT_200: &str = "fields: err_number\t\tfixed bin (15),
        err_name        \tchar (32),
        err_text           char (128) varying,
        err_category    \tchar(18),
        err_category2   \tchar(18);
end;
";

fn records(layout: &Layout, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let number = (i % 30_000).to_string();
            let name = format!("e$error_{i}");
            let text = format!("error number {i}: the record could not be found in the file");
            layout
                .encode([
                    ("err_number", number.as_str()),
                    ("err_name", name.as_str()),
                    ("err_text", text.as_str()),
                    ("err_category", "lookup"),
                    ("err_category2", "file système"),
                ])
                .expect("valid record")
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let layout = Layout::parse("layouts/layout.200", LAYOUT_200).expect("valid layout");
    let records = records(&layout, 1000);
    let fields = layout.fields().len();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("layout.200 records to text", |b| {
        let mut out = String::with_capacity(512);
        b.iter(|| {
            for record in &records {
                out.clear();
                let view = layout.view(black_box(record)).expect("long enough");
                for i in 0..fields {
                    view.get(i)
                        .expect("decodes")
                        .write_text(&mut out)
                        .expect("valid text");
                    out.push(',');
                }
                black_box(&out);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
