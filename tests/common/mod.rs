//! Helpers for the end-to-end tests: a drx home in a temporary directory,
//! the `drx` binary, and readers for what landed.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
