#!/usr/bin/env bash
# The DRMS guide's complete example, end to end on the embedded default:
# drx demo copies error_codes.table into the critical file error_codes.data
# (every write journaled), then drx extract delivers the changes of file id
# 200 into the SQLite table error_codes, and the rows that landed are shown.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
cargo build --quiet --release --manifest-path ../../Cargo.toml
drx="${CARGO_TARGET_DIR:-../../target}/release/drx"
rm -rf journal error_codes.data error_codes.db error_codes.db-wal error_codes.db-shm
"$drx" check
"$drx" demo --input-path error_codes.table --output-path error_codes.data
"$drx" extract --file-id 200
query="select err_number, err_name, err_text from error_codes where err_number < 0 or err_number > 1180 order by err_number"
if command -v sqlite3 >/dev/null; then
    sqlite3 -header -column error_codes.db "select count(*) as rows from error_codes"
    sqlite3 -header -column error_codes.db "$query"
else
    python3 - "$query" <<'PY'
import sqlite3, sys
db = sqlite3.connect("error_codes.db")
print("rows:", db.execute("select count(*) from error_codes").fetchone()[0])
for row in db.execute(sys.argv[1]):
    print(row)
PY
fi
