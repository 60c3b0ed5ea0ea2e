#!/usr/bin/env python3
"""Prints the EBCDIC tables of crates/layouts/src/codepage.rs.

Source: glibc iconv (IBM037, IBM273, IBM500, IBM1047, IBM1140), each byte
0x00..0xFF converted to UTF-32BE. Cross-check: Python's codecs cp037, cp500
and cp1140 agree byte for byte; Python's cp273 differs only at 0xBC (U+203E
OVERLINE), where glibc follows IBM's CCSID 273 (U+00AF MACRON, glibc bug
23290). Run: python3 crates/layouts/tools/gen_codepages.py
"""
import codecs
import subprocess

PAGES = [("037", "IBM037", "cp037"), ("273", "IBM273", "cp273"),
         ("500", "IBM500", "cp500"), ("1047", "IBM1047", None),
         ("1140", "IBM1140", "cp1140")]


def iconv(name):
    out = subprocess.run(["iconv", "-f", name, "-t", "UTF-32BE"],
                         input=bytes(range(256)), capture_output=True,
                         check=True).stdout
    assert len(out) == 1024, name
    return [chr(int.from_bytes(out[i:i + 4], "big")) for i in range(0, 1024, 4)]


def lit(c):
    if c in "'\\":
        return "'\\" + c + "'"
    if 0x20 <= ord(c) < 0x7F:
        return "'" + c + "'"
    return "'\\u{%x}'" % ord(c)


for num, name, py in PAGES:
    table = iconv(name)
    assert len(set(table)) == 256, name
    if py:
        diff = [b for b in range(256) if bytes([b]).decode(py) != table[b]]
        assert diff == ([0xBC] if num == "273" else []), (name, diff)
    print("/// IBM code page %s (glibc iconv `%s`), indexed by byte." % (num, name))
    print("static EBCDIC_%s: [char; 256] = [" % num)
    for row in range(0, 256, 8):
        cells = ", ".join(lit(c) for c in table[row:row + 8])
        print("    %s, // 0x%02X" % (cells, row))
    print("];")
    print()
