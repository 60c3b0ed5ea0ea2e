//! Helpers for the end-to-end tests: a drx home in a temporary directory,
//! the `drx` binary, and readers for what landed.
#![allow(dead_code, clippy::unwrap_used)]

pub mod copybook;
pub mod proxy;

pub mod pair;
pub mod workload;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/error_codes");

/// A drx home: a temporary directory with the sample's layouts and templates.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// A home with the sample's drx.toml, layouts, templates and input.
    pub fn sample() -> Home {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["layouts", "templates"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(Path::new(SAMPLE).join(sub)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
        for file in ["drx.toml", "error_codes.table"] {
            std::fs::copy(Path::new(SAMPLE).join(file), dir.path().join(file)).unwrap();
        }
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Appends TOML to drx.toml.
    pub fn append_config(&self, text: &str) {
        let path = self.join("drx.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(path, config).unwrap();
    }

    /// Replaces text in drx.toml.
    pub fn edit_config(&self, from: &str, to: &str) {
        let path = self.join("drx.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        assert!(config.contains(from), "drx.toml has no `{from}`");
        std::fs::write(path, config.replace(from, to)).unwrap();
    }

    /// `drx ARGS` run in the home directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_drx"));
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("DRX_HOME")
            .env_remove("RUST_LOG");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "drx {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "drx {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn layout(&self) -> drx_layouts::Layout {
        let text = std::fs::read_to_string(self.join("layouts/layout.200")).unwrap();
        drx_layouts::Layout::parse("layout.200", &text).unwrap()
    }

    /// The rows of table error_codes, ordered by err_number, as text.
    pub fn db_rows(&self, db: &str) -> Vec<Vec<String>> {
        let conn = rusqlite::Connection::open(self.join(db)).unwrap();
        let mut stmt = conn
            .prepare("select err_number, err_name, err_text, err_category, err_category2 from error_codes order by err_number")
            .unwrap();
        stmt.query_map([], |row| {
            Ok(vec![
                row.get::<_, i64>(0)?.to_string(),
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ])
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The records of the indexed critical file, decoded as text, ordered by err_number.
    pub fn file_rows(&self, file: &str) -> Vec<Vec<String>> {
        let layout = std::sync::Arc::new(self.layout());
        let spec = drx_capture::FileSpec::from_layout(layout.clone());
        let f = drx_capture::RecordFile::open_read_only(&self.join(file), spec).unwrap();
        let mut rows = Vec::new();
        f.for_each_record(|_, record| {
            rows.push(decode(&layout, record));
            Ok(())
        })
        .unwrap();
        rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
        rows
    }

    /// `drx demo` from `input` (a file of the home) into error_codes.data.
    pub fn demo(&self, input: &str) {
        self.ok(&[
            "demo",
            "--input-path",
            input,
            "--output-path",
            "error_codes.data",
        ]);
    }

    /// `drx demo` from `n` generated records (numbers 1..=n, written to
    /// input.table by `write_input`) into error_codes.data.
    pub fn demo_records(&self, n: u32) {
        write_input(&self.layout(), &self.join("input.table"), n);
        self.demo("input.table");
    }

    /// Adds a critical file: its layout (layouts/layout.FILE_ID) and its
    /// [[files]] entry.
    pub fn add_file(&self, file_id: u16, source_path: &str, layout: &str) {
        self.write(&format!("layouts/layout.{file_id}"), layout);
        self.append_config(&format!(
            "\n[[files]]\nsource_path = \"{source_path}\"\nextractor_file_id = {file_id}\n"
        ));
    }

    /// The keys error_codes.data holds.
    pub fn file_keys(&self) -> Vec<i64> {
        keys_of(&self.file_rows("error_codes.data"))
    }

    /// `drx extract --file-id 200 --sink SINK`, asserted to succeed; returns stdout.
    pub fn extract(&self, sink: &str) -> String {
        self.ok(&["extract", "--file-id", "200", "--sink", sink])
    }

    /// `drx extract --file-id 200 --sink SINK` started, its stdout and stderr piped.
    pub fn spawn_extract(&self, sink: &str) -> Child {
        self.command(&["extract", "--file-id", "200", "--sink", sink])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Writes `script` to `name` and runs it with `drx io --script`.
    pub fn io(&self, name: &str, script: &str) {
        self.write(name, script);
        self.ok(&["io", "--script", name]);
    }

    /// Sets the extractor's batch_size.
    pub fn batch_size(&self, n: u32) {
        self.edit_config(
            "on_bad_record = \"stop\"",
            &format!("on_bad_record = \"stop\"\nbatch_size = {n}"),
        );
    }

    /// Sets on_bad_record to dead-letter.
    pub fn dead_letter(&self) {
        self.edit_config(
            "on_bad_record = \"stop\"",
            "on_bad_record = \"dead-letter\"",
        );
    }

    /// Sets auto_synchronize for file id 200.
    pub fn auto_synchronize(&self) {
        self.edit_config(
            "extractor_file_id = 200",
            "extractor_file_id = 200\nauto_synchronize = true",
        );
    }
}

/// Every field of `record` as its canonical text.
pub fn decode(layout: &drx_layouts::Layout, record: &[u8]) -> Vec<String> {
    let view = layout.view(record).unwrap();
    (0..layout.fields().len())
        .map(|i| {
            let mut s = String::new();
            view.get(i).unwrap().write_text(&mut s).unwrap();
            s
        })
        .collect()
}

/// Writes `n` generated error_codes records (numbers 1..=n) back to back.
pub fn write_input(layout: &drx_layouts::Layout, path: &Path, n: u32) {
    let mut bytes = Vec::with_capacity(n as usize * layout.record_len());
    for i in 1..=n {
        let number = i.to_string();
        let name = format!("E{i:05}");
        let text = format!("generated error {i}: 'quote' <&> caf\u{e9}");
        bytes.extend(
            layout
                .encode([
                    ("err_number", number.as_str()),
                    ("err_name", name.as_str()),
                    ("err_text", text.as_str()),
                    ("err_category", if i % 2 == 0 { "even" } else { "odd" }),
                    ("err_category2", ""),
                ])
                .unwrap(),
        );
    }
    std::fs::write(path, bytes).unwrap();
}

/// A reproducible mixed stream on error_codes.data (file id 200), as a
/// `drx io` script: about 60 % inserts of new keys, 30 % rewrites and 10 %
/// deletes of existing ones, in transactions of 1 to 4 changes of which one
/// in five is aborted, with quotes, markup and Latin-1 letters in the text.
/// `keys` holds the keys the file has and is kept up to date.
pub fn mixed_script(keys: &mut Vec<i64>, changes: usize, seed: u64) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut present: std::collections::HashSet<i64> = keys.iter().copied().collect();
    let mut script = String::new();
    let mut done = 0;
    while done < changes {
        let size = 1 + next(4) as usize;
        let abort = next(5) == 0;
        // What to undo if the transaction aborts: (key, was inserted).
        let mut undo: Vec<(i64, bool)> = Vec::new();
        script.push_str("{\"op\":\"begin\"}\n");
        for _ in 0..size {
            let roll = next(10);
            let text = format!("s{seed} #{done}: it's <b>&</b> caf\u{e9}");
            if roll <= 5 || keys.is_empty() {
                let key = loop {
                    let k = next(65_536) as i64 - 32_768;
                    if !present.contains(&k) {
                        break k;
                    }
                };
                keys.push(key);
                present.insert(key);
                undo.push((key, true));
                script += &format!(
                    "{{\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{{\"err_number\":{key},\"err_name\":\"N{done}\",\"err_text\":\"{text}\",\"err_category\":\"c{roll}\"}}}}\n"
                );
            } else {
                let i = next(keys.len() as u64) as usize;
                let key = keys[i];
                if roll <= 8 {
                    script += &format!(
                        "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{key}}},\"record\":{{\"err_number\":{key},\"err_name\":\"U{done}\",\"err_text\":\"{text}\",\"err_category2\":\"u\"}}}}\n"
                    );
                } else {
                    keys.swap_remove(i);
                    present.remove(&key);
                    undo.push((key, false));
                    script += &format!(
                        "{{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{key}}}}}\n"
                    );
                }
            }
            done += 1;
        }
        if abort {
            for (key, inserted) in undo.into_iter().rev() {
                if inserted {
                    present.remove(&key);
                    if let Some(i) = keys.iter().rposition(|k| *k == key) {
                        keys.swap_remove(i);
                    }
                } else {
                    present.insert(key);
                    keys.push(key);
                }
            }
            script.push_str("{\"op\":\"abort\"}\n");
        } else {
            script.push_str("{\"op\":\"commit\"}\n");
        }
    }
    script
}

/// The keys of the rows of `file_rows`.
pub fn keys_of(rows: &[Vec<String>]) -> Vec<i64> {
    rows.iter().map(|r| r[0].parse().unwrap()).collect()
}

/// A table and sink name no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Calls `done` every `every` until it returns true, for at most about
/// `limit`; returns whether it did.
pub fn wait_until(limit: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Runs `drx extract --file-id 200 --sink S` `runs` times, S taken in turn
/// from `sinks`, and kills run `i` with SIGKILL if it still runs after
/// `delay_ms(i)` milliseconds; stops early after 120 s. Returns how many runs
/// were killed mid-way.
pub fn kill_repeatedly(
    home: &Home,
    sinks: &[&str],
    runs: u64,
    delay_ms: impl Fn(u64) -> u64,
) -> u32 {
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..runs {
        if Instant::now() > deadline {
            break;
        }
        let sink = sinks[i as usize % sinks.len()];
        let mut child = home
            .command(&["extract", "--file-id", "200", "--sink", sink])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms(i)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    killed
}

/// 30 transactions on error_codes.data, each rewriting record 10t+1 (name
/// `T{t}`, err_text `text`, a JSON string's content) and deleting 10t+2; one
/// in four is aborted.
pub fn txn_script(text: &str) -> String {
    let mut script = String::new();
    for t in 0..30 {
        script += "{\"op\":\"begin\"}\n";
        let n = t * 10 + 1;
        script += &format!(
            "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{n}}},\"record\":{{\"err_number\":{n},\"err_name\":\"T{t}\",\"err_text\":\"{text}\"}}}}\n"
        );
        script += &format!(
            "{{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{}}}}}\n",
            n + 1
        );
        script += if t % 4 == 3 {
            "{\"op\":\"abort\"}\n"
        } else {
            "{\"op\":\"commit\"}\n"
        };
    }
    script
}

/// Rewrites `a` (name `back`), deletes `b` and writes 9999 (name `fresh`):
/// the changes the out-of-sync tests make after tampering with the table.
pub fn out_of_sync_script(a: i64, b: i64) -> String {
    format!(
        "{{\"op\":\"rewrite\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{a}}},\"record\":{{\"err_number\":{a},\"err_name\":\"back\"}}}}\n\
         {{\"op\":\"delete\",\"file\":\"error_codes.data\",\"key\":{{\"err_number\":{b}}}}}\n\
         {{\"op\":\"write\",\"file\":\"error_codes.data\",\"record\":{{\"err_number\":9999,\"err_name\":\"fresh\"}}}}\n"
    )
}

/// Asserts that `rows` (of a sink's table, as text, ordered by err_number)
/// are exactly the records of error_codes.data; `db` names the sink's
/// database in the message.
pub fn assert_rows_equal_file(home: &Home, rows: &[Vec<String>], db: &str) {
    let file = home.file_rows("error_codes.data");
    assert_eq!(rows.len(), file.len(), "row count");
    if let Some((a, b)) = rows.iter().zip(&file).find(|(a, b)| a != b) {
        panic!("{db} differs from the critical file: {a:?} vs {b:?}");
    }
}

/// The tests' PostgreSQL database (the real server on 127.0.0.1:5432).
pub const PG_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

pub fn pg_client() -> postgres::Client {
    postgres::Client::connect(PG_URL, postgres::NoTls).unwrap()
}

/// `name` quoted for PostgreSQL.
pub fn pg_quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The rows of the error_codes `table`, as text, ordered by err_number.
pub fn pg_query_rows(
    client: &mut postgres::Client,
    table: &str,
) -> Result<Vec<Vec<String>>, postgres::Error> {
    let sql = format!(
        "select err_number::text as n, err_name, err_text, err_category, err_category2 from {} order by err_number",
        pg_quoted(table)
    );
    Ok(client
        .query(&sql, &[])?
        .iter()
        .map(|r| (0..5).map(|i| r.get::<_, String>(i)).collect())
        .collect())
}

/// The rows of the error_codes `table`, as text, ordered by err_number.
pub fn pg_rows(table: &str) -> Vec<Vec<String>> {
    pg_query_rows(&mut pg_client(), table).unwrap()
}

/// Creates `table` with error_codes' columns and a check that refuses
/// err_number 7.
pub fn pg_create_table_refusing_7(table: &str) {
    pg_client()
        .batch_execute(&format!(
            "create table {} (err_number smallint primary key check (err_number <> 7), \
             err_name varchar(32), err_text varchar(128), err_category varchar(18), err_category2 varchar(18))",
            pg_quoted(table)
        ))
        .unwrap();
}

/// Changes the error_codes `table` behind drx's back: deletes the rows of
/// `missing` and inserts a row with key `extra` (name `stale`).
pub fn pg_tamper(table: &str, missing: &[i64], extra: i64) {
    let mut c = pg_client();
    let t = pg_quoted(table);
    for k in missing {
        c.execute(
            &format!("delete from {t} where err_number = $1"),
            &[&(*k as i16)],
        )
        .unwrap();
    }
    c.execute(
        &format!("insert into {t} values ($1, 'stale', '', '', '')"),
        &[&(extra as i16)],
    )
    .unwrap();
}

/// The data types of the columns of `table`, in order, as PostgreSQL's
/// information_schema names them.
pub fn pg_column_types(table: &str) -> Vec<String> {
    pg_client()
        .query(
            "select data_type from information_schema.columns where table_name = $1 order by ordinal_position",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Asserts that the rows of the sample's error_codes.table are there, the
/// hard ones too: the SQL in a text and the extreme keys.
pub fn assert_sample_hard_rows(rows: &[Vec<String>]) {
    assert!(
        rows.iter()
            .any(|r| r[2] == "'); DROP TABLE error_codes; --")
    );
    assert!(rows.iter().any(|r| r[0] == "-32768") && rows.iter().any(|r| r[0] == "32767"));
}

/// Asserts that `sinks` fail to connect with an error that does not show
/// the password (hunter2).
pub fn assert_connecting_fails_without_the_password(home: &Home, sinks: &[&str]) {
    for sink in sinks {
        let err = home.fails(&["extract", "--file-id", "200", "--sink", sink]);
        assert!(err.contains("connecting:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

/// A database the SQL sinks write to, as its end-to-end tests see it: each
/// database's tests describe theirs once, and share the scenarios below.
pub struct Db {
    /// Its name in messages.
    pub name: &'static str,
    /// Adds a sink writing file id 200 to `table`, with more settings
    /// (`mode = "mapped"`…); returns the sink name.
    pub add_sink: fn(home: &Home, table: &str, extra: &str) -> String,
    /// The rows of the error_codes `table`, as text, ordered by err_number.
    pub rows: fn(table: &str) -> Vec<Vec<String>>,
    /// Changes `table` behind drx's back: deletes the rows of `missing` and
    /// inserts a row with key `extra` (name `stale`).
    pub tamper: fn(table: &str, missing: &[i64], extra: i64),
    /// Drops `table`, and what `sink` keeps in the database.
    pub drop: fn(table: &str, sink: &str),
}

impl Db {
    /// A new table named after `prefix` and a sink writing file id 200 to
    /// it with `extra` settings: (table, sink).
    pub fn sink(&self, home: &Home, prefix: &str, extra: &str) -> (String, String) {
        let table = unique(prefix);
        let sink = (self.add_sink)(home, &table, extra);
        (table, sink)
    }

    /// Asserts that `table` holds exactly the records of error_codes.data.
    pub fn assert_equals_file(&self, home: &Home, table: &str) {
        assert_rows_equal_file(home, &(self.rows)(table), self.name);
    }

    /// Asserts that extracting to `sink` fails with an error naming the seq
    /// and saying `message`, and that the failed batch left nothing in `table`.
    pub fn assert_batch_refused(&self, home: &Home, table: &str, sink: &str, message: &str) {
        let err = home.fails(&["extract", "--file-id", "200", "--sink", sink]);
        assert!(err.contains(message), "{err}");
        assert!(err.contains("seq "), "{err}");
        assert!(
            (self.rows)(table).is_empty(),
            "the failed batch left nothing"
        );
    }

    /// Mapped mode against a mixed stream: the sample delivered to a sink
    /// for each (table prefix, settings) of `sinks`, then `rounds` mixed
    /// streams of `changes` changes with transactions (seeds 0, 1, …), each
    /// delivered without a repair: every table equals the file every time.
    pub fn mixed_stream(&self, sinks: &[(&str, &str)], rounds: u64, changes: usize) {
        let home = Home::sample();
        let sinks: Vec<(String, String)> = sinks
            .iter()
            .map(|(prefix, extra)| self.sink(&home, prefix, extra))
            .collect();
        home.demo("error_codes.table");
        for (table, sink) in &sinks {
            home.extract(sink);
            self.assert_equals_file(&home, table);
        }
        let mut keys = home.file_keys();
        for round in 0..rounds {
            home.io("ops.jsonl", &mixed_script(&mut keys, changes, round));
            for (table, sink) in &sinks {
                let out = home.extract(sink);
                assert!(!out.contains("repaired"), "{out}");
                self.assert_equals_file(&home, table);
            }
        }
        for (table, sink) in &sinks {
            (self.drop)(table, sink);
        }
    }

    /// A kill -9 test's start: batch_size `batch`, a sink (`prefix`,
    /// `extra`), `records` generated records, then `changes` mixed changes
    /// (seed 7) unless 0. Returns (home, table, sink).
    pub fn kill_case(
        &self,
        prefix: &str,
        extra: &str,
        batch: u32,
        records: u32,
        changes: usize,
    ) -> (Home, String, String) {
        let home = Home::sample();
        home.batch_size(batch);
        let (table, sink) = self.sink(&home, prefix, extra);
        home.demo_records(records);
        if changes > 0 {
            home.io(
                "ops.jsonl",
                &mixed_script(&mut home.file_keys(), changes, 7),
            );
        }
        (home, table, sink)
    }

    /// The run after the kills goes to the end, and `table` equals the file;
    /// returns its rows, and drops it.
    pub fn rerun_equals_file(&self, home: &Home, table: &str, sink: &str) -> Vec<Vec<String>> {
        home.extract(sink);
        let rows = (self.rows)(table);
        assert_rows_equal_file(home, &rows, self.name);
        (self.drop)(table, sink);
        rows
    }

    /// Out of sync, strict then repaired: a mapped sink delivers the sample;
    /// behind drx's back the row of key `a` (rewritten next) and of `b`
    /// (deleted next) go and 9999 (written next) appears. The strict run
    /// fails, `check_err(error, a)`, and nothing of its batch is applied;
    /// with auto_synchronize the next run reports the three repairs and the
    /// table equals the file. Returns (a, b, the rows then).
    pub fn out_of_sync(&self, check_err: impl FnOnce(&str, i64)) -> (i64, i64, Vec<Vec<String>>) {
        let home = Home::sample();
        let (table, sink) = self.sink(&home, "sync", "mode = \"mapped\"");
        home.demo("error_codes.table");
        home.extract(&sink);
        let keys = home.file_keys();
        let (a, b) = (keys[10], keys[20]);
        (self.tamper)(&table, &[a, b], 9999);
        home.io("ops.jsonl", &out_of_sync_script(a, b));
        let err = home.fails(&["extract", "--file-id", "200", "--sink", &sink]);
        check_err(&err, a);
        // Strict: nothing of the batch was applied.
        assert!(
            (self.rows)(&table)
                .iter()
                .any(|r| r[0] == "9999" && r[1] == "stale")
        );
        home.auto_synchronize();
        let out = home.extract(&sink);
        assert!(
            out.contains("3 repaired (1 updates as inserts, 1 inserts as updates, 1 deletes of missing rows skipped)"),
            "{out}"
        );
        let rows = (self.rows)(&table);
        assert_rows_equal_file(&home, &rows, self.name);
        (self.drop)(&table, &sink);
        (a, b, rows)
    }

    /// Under dead-letter, the change a table refuses (PostgreSQL: a check
    /// refuses err_number 7) is set aside and the other 49 records land.
    pub fn pg_refused_change_to_the_dead_letter_file(&self, prefix: &str, extra: &str) {
        let home = Home::sample();
        home.dead_letter();
        let (table, sink) = self.sink(&home, prefix, extra);
        pg_create_table_refusing_7(&table);
        home.demo_records(50);
        let out = home.extract(&sink);
        assert!(
            out.contains("49 records") && out.contains("1 dead letters"),
            "{out}"
        );
        let rows = (self.rows)(&table);
        assert_eq!(rows.len(), 49);
        assert!(!rows.iter().any(|r| r[0] == "7"));
        let dead = std::fs::read_to_string(home.join("dead_letter/file.200.dead.jsonl")).unwrap();
        assert_eq!(dead.lines().count(), 1, "{dead}");
        assert!(
            dead.contains("\"op\":\"insert\"") && dead.contains("check constraint"),
            "{dead}"
        );
        (self.drop)(&table, &sink);
    }
}
