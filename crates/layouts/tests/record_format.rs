//! Record formats: fixed, RDW, GnuCOBOL variable / relative, line sequential.

use drx_layouts::{
    CodePage, Copybook, Record, RecordFormat, RecordFormatError, RecordFormatKind, VarSeqPrefix,
};

fn all(format: RecordFormat, data: &[u8]) -> Vec<Result<Record<'_>, RecordFormatError>> {
    format.records(data).collect()
}

fn ok(format: RecordFormat, data: &[u8]) -> Vec<(u64, usize, Vec<u8>)> {
    format
        .records(data)
        .map(|r| {
            let r = r.expect("records cut");
            (r.number, r.offset, r.bytes.to_vec())
        })
        .collect()
}

fn rec(number: u64, offset: usize, bytes: &[u8]) -> (u64, usize, Vec<u8>) {
    (number, offset, bytes.to_vec())
}

fn fixed(len: usize, header: usize, footer: usize) -> RecordFormat {
    RecordFormat::Fixed {
        len,
        header,
        footer,
    }
}

#[test]
fn fixed_records() {
    assert_eq!(
        ok(fixed(2, 0, 0), b"abcdef"),
        [rec(1, 0, b"ab"), rec(2, 2, b"cd"), rec(3, 4, b"ef")]
    );
    assert!(ok(fixed(2, 0, 0), b"").is_empty());
    assert_eq!(
        ok(fixed(2, 3, 1), b"HHHabcdF"),
        [rec(1, 3, b"ab"), rec(2, 5, b"cd")]
    );
    // Header and footer exactly the file: no records.
    assert!(ok(fixed(2, 3, 1), b"HHHF").is_empty());
}

#[test]
fn fixed_errors() {
    let got = all(fixed(4, 0, 0), b"abcdefg");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().bytes, b"abcd");
    let err = got[1].clone().unwrap_err();
    assert_eq!(
        err,
        RecordFormatError::PartialRecord {
            record: 2,
            offset: 4,
            len: 4,
            remaining: 3
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("record 2") && text.contains("byte 4"),
        "{text}"
    );

    assert_eq!(
        all(fixed(2, 10, 12), b"short"),
        [Err(RecordFormatError::HeaderFooter {
            size: 5,
            header: 10,
            footer: 12
        })]
    );
    assert_eq!(
        all(fixed(2, 1, 0), b""),
        [Err(RecordFormatError::HeaderFooter {
            size: 0,
            header: 1,
            footer: 0
        })]
    );
    assert_eq!(
        all(fixed(0, 0, 0), b"x"),
        [Err(RecordFormatError::ZeroLength)]
    );
    assert!(all(fixed(0, 0, 0), b"").is_empty());
}

fn rdw(big_endian: bool) -> RecordFormat {
    RecordFormat::VariableRdw {
        big_endian,
        header: 0,
        footer: 0,
    }
}

#[test]
fn rdw_big_and_little_endian() {
    let be = b"\x00\x07\x00\x00abc\x00\x04\x00\x00\x00\x05\x00\x00z";
    assert_eq!(
        ok(rdw(true), be),
        [rec(1, 4, b"abc"), rec(2, 11, b""), rec(3, 15, b"z")]
    );
    let le = b"\x07\x00\x00\x00abc\x05\x00\x00\x00z";
    assert_eq!(ok(rdw(false), le), [rec(1, 4, b"abc"), rec(2, 11, b"z")]);
    assert!(ok(rdw(true), b"").is_empty());
    // Header and footer skipped.
    let framed = b"HH\x00\x06\x00\x00abFFF";
    let format = RecordFormat::VariableRdw {
        big_endian: true,
        header: 2,
        footer: 3,
    };
    assert_eq!(ok(format, framed), [rec(1, 6, b"ab")]);
}

#[test]
fn rdw_errors() {
    let got = all(rdw(true), b"\x00\x05\x00\x00a\x00\x03\x00\x00");
    assert_eq!(
        got[1],
        Err(RecordFormatError::RdwTooShort {
            record: 2,
            offset: 5,
            length: 3
        })
    );
    // Length past the end.
    assert_eq!(
        all(rdw(true), b"\x00\x09\x00\x00abc"),
        [Err(RecordFormatError::Truncated {
            record: 1,
            offset: 0,
            needed: 9,
            remaining: 7
        })]
    );
    // A truncated RDW itself.
    let got = all(rdw(false), b"\x05\x00\x00\x00a\x05\x00");
    assert_eq!(
        got[1],
        Err(RecordFormatError::Truncated {
            record: 2,
            offset: 5,
            needed: 4,
            remaining: 2
        })
    );
    assert_eq!(got.len(), 2, "iteration stops after an error");
}

fn varseq(prefix: VarSeqPrefix) -> RecordFormat {
    RecordFormat::GnuCobolVariable {
        prefix,
        header: 0,
        footer: 0,
    }
}

#[test]
fn gnucobol_variable_forms() {
    let f0 = b"\x00\x03\x00\x00abc\x00\x00\x00\x00\x00\x01\x00\x00z";
    assert_eq!(
        ok(varseq(VarSeqPrefix::Be2Pad2), f0),
        [rec(1, 4, b"abc"), rec(2, 11, b""), rec(3, 15, b"z")]
    );
    let f1 = b"\x00\x00\x00\x03abc\x00\x00\x00\x01z";
    assert_eq!(
        ok(varseq(VarSeqPrefix::Be4), f1),
        [rec(1, 4, b"abc"), rec(2, 11, b"z")]
    );
    let f2 = b"\x03\x00\x00\x00abc\x01\x00\x00\x00z";
    assert_eq!(
        ok(varseq(VarSeqPrefix::Native4), f2),
        [rec(1, 4, b"abc"), rec(2, 11, b"z")]
    );
    let f3 = b"\x00\x03abc\x00\x01z";
    assert_eq!(
        ok(varseq(VarSeqPrefix::Be2), f3),
        [rec(1, 2, b"abc"), rec(2, 7, b"z")]
    );
    assert!(ok(varseq(VarSeqPrefix::Be2), b"").is_empty());
}

#[test]
fn gnucobol_variable_errors() {
    assert_eq!(
        all(varseq(VarSeqPrefix::Be2Pad2), b"\x00\x01\x00\x01a"),
        [Err(RecordFormatError::BadPrefix {
            record: 1,
            offset: 0
        })]
    );
    let got = all(varseq(VarSeqPrefix::Be2), b"\x00\x01a\x00\x05abc");
    assert_eq!(
        got[1],
        Err(RecordFormatError::Truncated {
            record: 2,
            offset: 3,
            needed: 7,
            remaining: 5
        })
    );
    assert_eq!(
        all(varseq(VarSeqPrefix::Be4), b"\x00\x00"),
        [Err(RecordFormatError::Truncated {
            record: 1,
            offset: 0,
            needed: 4,
            remaining: 2
        })]
    );
}

#[test]
fn line_sequential() {
    let ls = RecordFormat::LineSequential;
    assert!(ok(ls, b"").is_empty());
    assert_eq!(
        ok(ls, b"ab\r\n\ncd\nlast"),
        [
            rec(1, 0, b"ab"),
            rec(2, 4, b""),
            rec(3, 5, b"cd"),
            rec(4, 8, b"last")
        ]
    );
    // A final LF does not start another record; CR only goes before LF.
    assert_eq!(ok(ls, b"a\n"), [rec(1, 0, b"a")]);
    assert_eq!(ok(ls, b"\n"), [rec(1, 0, b"")]);
    assert_eq!(
        ok(ls, b"a\rb\nc\r"),
        [rec(1, 0, b"a\rb"), rec(2, 4, b"c\r")]
    );
}

fn slot(len: u64, data: &[u8], record_len: usize) -> Vec<u8> {
    let mut v = len.to_le_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(8 + record_len, b' ');
    v
}

#[test]
fn gnucobol_relative() {
    let format = RecordFormat::GnuCobolRelative { record_len: 4 };
    let mut data = slot(3, b"abc", 4);
    data.extend(slot(0, b"", 4)); // deleted slot 2
    data.extend(slot(4, b"wxyz", 4));
    assert_eq!(ok(format, &data), [rec(1, 8, b"abc"), rec(3, 32, b"wxyz")]);
    assert!(ok(format, b"").is_empty());
    // Only deleted slots.
    assert!(ok(format, &slot(0, b"", 4)).is_empty());
}

#[test]
fn gnucobol_relative_errors() {
    let format = RecordFormat::GnuCobolRelative { record_len: 4 };
    let mut data = slot(3, b"abc", 4);
    data.extend(slot(0, b"", 4));
    data.extend_from_slice(&slot(2, b"ab", 4)[..10]);
    let got = all(format, &data);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1],
        Err(RecordFormatError::Truncated {
            record: 3,
            offset: 24,
            needed: 12,
            remaining: 10
        })
    );
    assert_eq!(
        all(format, &slot(5, b"abcd", 4)),
        [Err(RecordFormatError::SlotTooLong {
            record: 1,
            offset: 0,
            length: 5,
            max: 4
        })]
    );
}

#[test]
fn kind_names_round_trip() {
    for name in [
        "fixed",
        "rdw",
        "rdw-le",
        "gnucobol-variable",
        "gnucobol-variable-1",
        "gnucobol-variable-2",
        "gnucobol-variable-3",
        "line-sequential",
        "gnucobol-relative",
    ] {
        let kind: RecordFormatKind = name.parse().unwrap();
        assert_eq!(kind.to_string(), name);
        assert_eq!(kind.with_record_len(10).kind(), kind);
    }
    let zero: RecordFormatKind = "gnucobol-variable-0".parse().unwrap();
    assert_eq!(zero.to_string(), "gnucobol-variable");
    for bad in ["", "Fixed", "gnucobol-variable-4", "rdw-be"] {
        assert!(bad.parse::<RecordFormatKind>().is_err(), "{bad}");
    }
    assert_eq!(
        "fixed"
            .parse::<RecordFormatKind>()
            .unwrap()
            .with_record_len(45),
        fixed(45, 0, 0)
    );
}

const COBRIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/conformance/cobrix"
);

#[test]
fn cobrix_test13a_header_footer() {
    let copybook =
        std::fs::read_to_string(format!("{COBRIX}/test13a_file_header_footer.cob")).unwrap();
    let len = Copybook::parse("test13a_file_header_footer.cob", &copybook)
        .unwrap()
        .record_len();
    assert_eq!(len, 45, "test13a_layout.txt: TRANSDATA 1..45");
    let data = std::fs::read(format!("{COBRIX}/test13a_data/TRAN2.JUN24.DATA.dat")).unwrap();
    let expected =
        std::fs::read_to_string(format!("{COBRIX}/test13_expected/test13a.txt")).unwrap();
    let records: Vec<_> = fixed(len, 10, 12)
        .records(&data)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), expected.lines().count());
    assert_eq!(records[0].offset, 10);
    // The records' CURRENCY values (bytes 1..3, EBCDIC) are the expected
    // lines' (Spark does not keep file order, so compare sorted).
    let mut got: Vec<String> = records
        .iter()
        .map(|record| {
            let mut currency = String::new();
            CodePage::Ebcdic037
                .decode_into(&record.bytes[..3], &mut currency)
                .unwrap();
            currency
        })
        .collect();
    let mut want: Vec<String> = expected
        .lines()
        .map(|line| line["{\"CURRENCY\":\"".len()..][..3].to_owned())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let last = records.last().unwrap();
    assert_eq!(last.offset + len, data.len() - 12);
    // Without the skips the size is not a whole number of records.
    let err = fixed(len, 0, 0)
        .records(&data)
        .find_map(Result::err)
        .unwrap();
    assert!(matches!(
        err,
        RecordFormatError::PartialRecord {
            record: 51,
            offset: 2250,
            ..
        }
    ));
}
