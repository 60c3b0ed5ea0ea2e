#!/usr/bin/env python3
"""Writes error_codes.table: 1,200 records of layout.200, back to back.

err_number fixed bin(15) | err_name char(32) | err_text char(128) varying |
err_category char(18) | err_category2 char(18): 200 bytes, big-endian,
ISO-8859-1. Hard values on purpose: quotes, <&>, SQL that must stay data,
non-ASCII bytes, empty varying strings, tabs and newlines, extreme numbers.
"""
import struct

HARD = [
    (-32768, "MIN_NUMBER", "the smallest bin(15)", "limits", ""),
    (32767, "MAX_NUMBER", "the largest bin(15)", "limits", ""),
    (-1, "MINUS_ONE", "", "limits", "empty text"),
    (0, "ZERO", "", "", ""),
    (-2, "e$quote", "it's a 'quoted' \"text\"", "quotes", "'"),
    (-3, "e$markup", "<tag attr=\"x\">&amp; & <&></tag>", "xml", "<&>"),
    (-4, "e$inject", "'); DROP TABLE error_codes; --", "sql", "\"; --"),
    (-5, "e$latin1", "caf\xe9 na\xefve \xfcber Stra\xdfe \xa9 \xd7 \xff", "non-ascii", "\xe9\xe8"),
    (-6, "e$space", "   leading and trailing   ", "  spaces", "x "),
    (-7, "e$tab_newline", "tab\there\nnewline\r\nCRLF", "control", ""),
    (-8, "e$full", "x" * 128, "y" * 18, "z" * 18),
    (-9, "n" * 32, "comma, separated, \"csv\"", "csv", ","),
]

def record(number, name, text, cat, cat2):
    enc = lambda s: s.encode("latin-1")
    t = enc(text)
    assert len(t) <= 128
    return (
        struct.pack(">h", number)
        + enc(name).ljust(32, b" ")
        + struct.pack(">H", len(t)) + t.ljust(128, b"\0")
        + enc(cat).ljust(18, b" ")
        + enc(cat2).ljust(18, b" ")
    )

rows = list(HARD)
for n in range(1, 1201 - len(HARD)):
    rows.append((n, "e$%05d" % n, "error number %d: %s" % (n, "something went wrong" if n % 3 else "file not found"),
                 ("io", "net", "auth", "disk")[n % 4], "" if n % 5 else "severe"))
with open("error_codes.table", "wb") as f:
    for r in rows:
        rec = record(*r)
        assert len(rec) == 200
        f.write(rec)
print("wrote %d records" % len(rows))
