//! The customers file of the copybook tests: an EBCDIC copybook (file id
//! 300, customers.dat) with a COMP-3 balance and an OCCURS DEPENDING ON
//! table, and its records as hex for `drx io`.

use super::Home;
use drx_layouts::CodePage;

pub const COPYBOOK: &str = "      * Customers, EBCDIC 037, as a mainframe writes them.
       01  CUSTOMER.
           05  CUST-ID       PIC 9(6).
           05  CUST-NAME     PIC X(12).
           05  BALANCE       PIC S9(7)V99 COMP-3.
           05  N-PHONES      PIC 9.
           05  PHONE         PIC X(8)
                             OCCURS 0 TO 3 TIMES DEPENDING ON N-PHONES.
";

pub const SETTINGS: &str = "\
code_page = \"cp037\"
organization = \"relative\"
key = [\"cust_id\"]
";

/// A home with file id 300 (customers.dat) described by the copybook and
/// extracted into customers.db and a CSV feed.
pub fn home() -> Home {
    let home = Home::sample();
    home.write("layouts/layout.300.cpy", COPYBOOK);
    home.write("layouts/layout.300.toml", SETTINGS);
    home.append_config(
        "
[[files]]
source_path = \"customers.dat\"
extractor_file_id = 300

[[sinks]]
name = \"customers\"
type = \"sqlite\"
path = \"customers.db\"
file_ids = [300]
tables = { 300 = \"customers\" }

[[sinks]]
name = \"feed\"
type = \"csv\"
dir = \"feed\"
file_ids = [300]
",
    );
    home
}

/// One customer record (48 bytes) as hex.
pub fn record(id: u32, name: &str, cents: i64, phones: &[&str]) -> String {
    let mut r = Vec::new();
    r.extend(format!("{id:06}").bytes().map(|d| 0xF0 + (d - b'0')));
    let mut text = Vec::new();
    CodePage::Ebcdic037
        .encode_into(&format!("{name:12}"), &mut text)
        .unwrap();
    r.extend(text);
    // S9(7)V99 COMP-3: 9 digits and a sign nibble.
    let digits = format!("{:09}", cents.unsigned_abs());
    let mut nibbles: Vec<u8> = digits.bytes().map(|d| d - b'0').collect();
    nibbles.push(if cents < 0 { 0xD } else { 0xC });
    r.extend(nibbles.chunks(2).map(|p| p[0] << 4 | p[1]));
    r.push(0xF0 + phones.len() as u8);
    for i in 0..3 {
        let mut text = Vec::new();
        CodePage::Ebcdic037
            .encode_into(&format!("{:8}", phones.get(i).unwrap_or(&"")), &mut text)
            .unwrap();
        r.extend(text);
    }
    assert_eq!(r.len(), 48);
    r.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn op(op: &str, recno: u32, hex: &str) -> String {
    format!("{{\"op\":\"{op}\",\"file\":\"customers.dat\",\"recno\":{recno},\"hex\":\"{hex}\"}}\n")
}
