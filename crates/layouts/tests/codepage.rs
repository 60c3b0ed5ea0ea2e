//! Code pages checked against Cobrix, an independent decoder: field
//! `COMPANY-NAME-NP` (PIC X(15), random bytes) of six records of Cobrix's
//! `data/test9_data/TRAN.APR14.NPT.DATA.dat`, with the values Cobrix printed
//! under `ebcdic_code_page` cp500 and cp1140 (test9_expected, string trimming
//! none). See tests/conformance/cobrix/README.md; the bytes and the values
//! are copied here.
//!
//! Cobrix agrees with the IBM tables on every graphic character and on the
//! C0 controls; it differs in two documented ways that [`cobrix_view`]
//! applies: C1 controls (U+0080..=U+009F) print as a space, and 0x0D/0x25
//! (CR/LF) come out swapped.

use drx_layouts::CodePage;

/// (record, field bytes, Cobrix cp500 value, Cobrix cp1140 value).
const SAMPLES: [(usize, [u8; 15], &str, &str); 6] = [
    (
        1,
        *b"\xfd\x48\x83\x9f\x1a\xfa\xaf\x3f\x40\xc1\x9b\x3c\x53\x84\x00",
        "Ùçc¤ ³®\u{1a} Aº\u{14}ëd\0",
        "Ùçc€ ³®\u{1a} Aº\u{14}ëd\0",
    ),
    (
        5,
        *b"\xab\x1c\x41\xbb\x9e\x8b\x8d\xe8\x5d\xeb\x6c\x7c\x78\xed\x00",
        "¿\u{1c}\u{a0}|Æ»ýY)Ô%@ÌÒ\0",
        "¿\u{1c}\u{a0}]Æ»ýY)Ô%@ÌÒ\0",
    ),
    (
        6,
        *b"\x73\xdd\x8f\x93\xb2\xfd\x31\x73\xb0\x96\x2c\x6d\xea\x4c\x00",
        "Ëù±l¥Ù Ë¢o _²<\0",
        "Ëù±l¥Ù Ë^o _²<\0",
    ),
    (
        12,
        *b"\x99\x02\x2d\x63\x91\xcf\xf3\xcc\xa1\x7a\x6f\x5f\xfd\x9c\x00",
        "r\u{2}\u{5}Äjõ3ö~:?^Ùæ\0",
        "r\u{2}\u{5}Äjõ3ö~:?¬Ùæ\0",
    ),
    (
        16,
        *b"\x37\xd4\x73\x66\x6e\xc4\x37\xa6\xf3\x46\xf5\xe8\xbb\x29\x00",
        "\u{4}MËÃ>D\u{4}w3ã5Y| \0",
        "\u{4}MËÃ>D\u{4}w3ã5Y] \0",
    ),
    (
        19,
        *b"\x7a\xbb\x07\xc0\x98\xca\x79\x10\x1f\x58\xb9\xc4\x0d\x05\x00",
        ":|\u{7f}{q\u{ad}`\u{10}\u{1f}ì¾D\n\t\0",
        ":]\u{7f}{q\u{ad}`\u{10}\u{1f}ì¾D\n\t\0",
    ),
];

/// What Cobrix prints for the IBM text `text`.
fn cobrix_view(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\r' => '\n',
            '\n' => '\r',
            '\u{80}'..='\u{9f}' => ' ',
            c => c,
        })
        .collect()
}

#[test]
fn ebcdic_decoding_agrees_with_cobrix() {
    let mut text = String::new();
    for (record, bytes, cp500, cp1140) in SAMPLES {
        for (page, expected) in [(CodePage::Ebcdic500, cp500), (CodePage::Ebcdic1140, cp1140)] {
            text.clear();
            page.decode_into(&bytes, &mut text).unwrap();
            assert_eq!(cobrix_view(&text), expected, "record {record}, {page}");
            // And back: the IBM text encodes to the original bytes.
            let mut back = Vec::new();
            page.encode_into(&text, &mut back).unwrap();
            assert_eq!(back, bytes, "record {record}, {page}");
        }
    }
}

#[test]
fn config_names_round_trip_through_display() {
    for page in CodePage::ALL {
        let name = page.to_string();
        assert_eq!(name.parse::<CodePage>().unwrap(), page);
    }
    let err = "cp1252".parse::<CodePage>().unwrap_err();
    assert!(
        err.to_string().starts_with("unknown code page `cp1252`"),
        "{err}"
    );
}
