//! `drx bench sql`: the server sinks against their anchors, in one run.
//!
//! 1. N inserts (mapped mode: `COPY` into PostgreSQL, multi-row inserts
//!    into MySQL/MariaDB) against `psql \copy` and `LOAD DATA LOCAL INFILE`
//!    of the same rows from CSV into the same schema;
//! 2. a mixed stream, 60 % inserts, 30 % updates, 10 % deletes, each batch
//!    committed with its checkpoint row, in operations per second.
//!
//! Every figure is the wall time of a whole `drx extract` process (start,
//! connect, read the journal, deliver, commit) or of the anchor's client.

use anyhow::{Context, Result, bail};
use drx_capture::{Capture, FileSpec, Target};
use drx_config::Config;
use drx_layouts::Layout;
use drx_templates::Dialect;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

/// The bench's record: a key, text, and an exact decimal.
const LAYOUT: &str = "organization: relative;
key: id;
fields: id fixed bin (31), name char (32), text char (128) varying,
        category char (18), amount fixed dec (15,2);
end;";

const PG_SINK: &str = "drx_bench_pg";
const MY_SINK: &str = "drx_bench_mysql";
const INSERT_TABLE: &str = "drx_bench_insert";
const MIXED_TABLE: &str = "drx_bench_mixed";
const ANCHOR_TABLE: &str = "drx_bench_anchor";

/// What `drx bench sql` measures.
#[derive(Debug, Clone)]
pub struct SqlBench {
    pub records: u64,
    pub base: u64,
    pub mixed: u64,
    pub pg_url: String,
    pub mysql_url: String,
    pub skip_mysql: bool,
    pub dir: Option<PathBuf>,
}

/// A server the bench writes to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Server {
    Postgres,
    MySql,
}

impl Server {
    fn sink(self) -> &'static str {
        match self {
            Server::Postgres => PG_SINK,
            Server::MySql => MY_SINK,
        }
    }

    fn dialect(self) -> Dialect {
        match self {
            Server::Postgres => Dialect::Postgres,
            Server::MySql => Dialect::MySql,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::MySql => "MariaDB",
        }
    }
}

pub fn run(b: &SqlBench) -> Result<()> {
    let tmp;
    let home = match &b.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::path::absolute(d)?
        }
        None => {
            tmp = crate::bench::tempdir()?;
            tmp.0.clone()
        }
    };
    std::fs::create_dir_all(home.join("layouts"))?;
    for id in [300, 301] {
        std::fs::write(home.join(format!("layouts/layout.{id}")), LAYOUT)?;
    }
    let mut servers = vec![Server::Postgres];
    if !b.skip_mysql {
        servers.push(Server::MySql);
    }
    std::fs::write(home.join("drx.toml"), config_text(b, &servers))?;
    let layout = Arc::new(Layout::parse("layout.300", LAYOUT)?);
    println!(
        "drx bench sql: {} inserts, then {} mixed operations on {} rows, {} cores",
        b.records,
        b.mixed,
        b.base,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for &s in &servers {
        reset(b, s)?;
    }

    // 1. Inserts, against the anchors.
    let rows = records(&layout, 1, b.records)?;
    let config = Config::load(&home)?;
    let mut capture = Capture::open(&config, "bench")?;
    let mut file = capture.create(
        &home.join("bulk.data"),
        FileSpec::from_layout(layout.clone()),
    )?;
    for run in rows.chunks(layout.record_len() * 1024) {
        capture.write_many(&mut file, run)?;
    }
    capture.close()?;
    let csv_path = home.join("anchor.csv");
    write_csv(&layout, &rows, &csv_path)?;
    drop(rows);
    for &s in &servers {
        let secs = extract(&home, s, 300)?;
        let landed = count(b, s, INSERT_TABLE)?;
        if landed != b.records {
            bail!(
                "{}: {landed} rows in {INSERT_TABLE}, expected {}",
                s.label(),
                b.records
            );
        }
        let drx_rate = b.records as f64 / secs;
        println!(
            "{:<10} inserts, drx extract (mapped)  {drx_rate:>12.0} rows/s  ({secs:.2} s)",
            s.label()
        );
        let anchor = anchor(b, s, &layout, &csv_path)?;
        let anchor_rate = b.records as f64 / anchor;
        let name = match s {
            Server::Postgres => "psql \\copy",
            Server::MySql => "LOAD DATA LOCAL INFILE",
        };
        println!(
            "{:<10} anchor: {name:<24}{anchor_rate:>12.0} rows/s  ({anchor:.2} s)",
            s.label()
        );
        println!(
            "{:<10} ratio drx/{name}: {:.2}",
            s.label(),
            drx_rate / anchor_rate
        );
    }

    // 2. The mixed stream.
    let mut capture = Capture::open(&config, "bench")?;
    let mut file = capture.create(
        &home.join("mixed.data"),
        FileSpec::from_layout(layout.clone()),
    )?;
    let base = records(&layout, 1, b.base)?;
    for run in base.chunks(layout.record_len() * 1024) {
        capture.write_many(&mut file, run)?;
    }
    capture.journal().flush()?;
    for &s in &servers {
        extract(&home, s, 301)?;
    }
    let mut live: Vec<u64> = (1..=b.base).collect();
    let mut next_id = b.base + 1;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut roll = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut record = Vec::new();
    for op in 0..b.mixed {
        let r = roll(10);
        if r < 6 || live.is_empty() {
            encode(&layout, next_id, op, &mut record)?;
            capture.write(&mut file, &record, Some(next_id))?;
            live.push(next_id);
            next_id += 1;
        } else {
            let i = roll(live.len() as u64) as usize;
            let id = live[i];
            if r < 9 {
                encode(&layout, id, op + 1_000_000_000, &mut record)?;
                capture.rewrite(&mut file, Target::RecNo(id), &record)?;
            } else {
                capture.delete(&mut file, Target::RecNo(id))?;
                live.swap_remove(i);
            }
        }
    }
    capture.close()?;
    for &s in &servers {
        let secs = extract(&home, s, 301)?;
        let landed = count(b, s, MIXED_TABLE)?;
        if landed != live.len() as u64 {
            bail!(
                "{}: {landed} rows in {MIXED_TABLE}, expected {}",
                s.label(),
                live.len()
            );
        }
        println!(
            "{:<10} mixed 60/30/10, exactly once     {:>12.0} ops/s   ({secs:.2} s)",
            s.label(),
            b.mixed as f64 / secs
        );
    }
    Ok(())
}

fn config_text(b: &SqlBench, servers: &[Server]) -> String {
    let mut text = String::from(
        "[journal]\ndir = \"journal\"\ndurability = \"none\"\n\n\
         [[files]]\nsource_path = \"bulk.data\"\nextractor_file_id = 300\n\n\
         [[files]]\nsource_path = \"mixed.data\"\nextractor_file_id = 301\n",
    );
    for s in servers {
        let (kind, url) = match s {
            Server::Postgres => ("postgres", &b.pg_url),
            Server::MySql => ("mysql", &b.mysql_url),
        };
        text += &format!(
            "\n[[sinks]]\nname = \"{}\"\ntype = \"{kind}\"\nurl = \"{url}\"\nmode = \"mapped\"\n\
             tables = {{ 300 = \"{INSERT_TABLE}\", 301 = \"{MIXED_TABLE}\" }}\n",
            s.sink()
        );
    }
    text
}

/// Records `first..first+n`: id, name, text, category, an exact decimal.
fn records(layout: &Layout, first: u64, n: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n as usize * layout.record_len());
    let mut record = Vec::new();
    for id in first..first + n {
        encode(layout, id, id, &mut record)?;
        out.extend_from_slice(&record);
    }
    Ok(out)
}

fn encode(layout: &Layout, id: u64, version: u64, out: &mut Vec<u8>) -> Result<()> {
    let id_text = id.to_string();
    let name = format!("E{version:09}");
    let text = format!("row {id} version {version}: 'quoted' <&> caf\u{e9}");
    let amount = format!("{}.{:02}", (version * 37) % 10_000_000, version % 100);
    *out = layout.encode([
        ("id", id_text.as_str()),
        ("name", name.as_str()),
        ("text", text.as_str()),
        (
            "category",
            if version.is_multiple_of(2) {
                "even"
            } else {
                "odd"
            },
        ),
        ("amount", amount.as_str()),
    ])?;
    Ok(())
}

fn write_csv(layout: &Layout, rows: &[u8], path: &Path) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)?;
    let mut text = String::new();
    for record in rows.chunks(layout.record_len()) {
        let view = layout.view(record)?;
        for i in 0..layout.fields().len() {
            text.clear();
            view.get(i)?.write_text(&mut text)?;
            w.write_field(&text)?;
        }
        w.write_record(None::<&[u8]>)?;
    }
    w.flush()?;
    Ok(())
}

/// Runs `drx extract` of `file_id` into the server's sink; returns seconds.
fn extract(home: &Path, s: Server, file_id: u16) -> Result<f64> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let out = Command::new(exe)
        .arg("--home")
        .arg(home)
        .args([
            "extract",
            "--file-id",
            &file_id.to_string(),
            "--sink",
            s.sink(),
        ])
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "drx extract --sink {}: {}",
            s.sink(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(secs)
}

/// Runs SQL through the server's command-line client.
fn client_sql(b: &SqlBench, s: Server, sql: &str) -> Result<String> {
    let out = match s {
        Server::Postgres => Command::new("psql")
            .args([
                b.pg_url.as_str(),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .context("psql")?,
        Server::MySql => Command::new("mariadb")
            .args(mysql_args(&b.mysql_url)?)
            .args(["--local-infile=1", "-N", "-B", "-e", sql])
            .output()
            .context("mariadb")?,
    };
    if !out.status.success() {
        bail!(
            "{}: {sql}: {}",
            s.label(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `mysql://user[:password]@host[:port]/db` as mariadb client arguments.
fn mysql_args(url: &str) -> Result<Vec<String>> {
    let rest = url
        .strip_prefix("mysql://")
        .context("the MySQL URL starts with mysql://")?;
    let (auth, rest) = rest.split_once('@').unwrap_or(("root", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "test"));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let mut args = vec![
        format!("-h{host}"),
        format!("-P{port}"),
        format!("-u{user}"),
    ];
    if !password.is_empty() {
        args.push(format!("-p{password}"));
    }
    args.push(db.to_owned());
    Ok(args)
}

/// Drops the bench's tables and checkpoint rows.
fn reset(b: &SqlBench, s: Server) -> Result<()> {
    for t in [INSERT_TABLE, MIXED_TABLE, ANCHOR_TABLE] {
        client_sql(b, s, &format!("drop table if exists {t}"))?;
    }
    let _ = client_sql(
        b,
        s,
        &format!("delete from drx_checkpoint where sink = '{}'", s.sink()),
    );
    Ok(())
}

fn count(b: &SqlBench, s: Server, table: &str) -> Result<u64> {
    client_sql(b, s, &format!("select count(*) from {table}"))?
        .parse()
        .context("count(*)")
}

/// Loads the CSV with the server's own bulk loader into a table made as
/// drx makes its own; returns seconds.
fn anchor(b: &SqlBench, s: Server, layout: &Layout, csv: &Path) -> Result<f64> {
    client_sql(
        b,
        s,
        &drx_sinks::create_table_sql(s.dialect(), ANCHOR_TABLE, layout),
    )?;
    let sql = match s {
        Server::Postgres => format!(
            "\\copy {ANCHOR_TABLE} from '{}' with (format csv)",
            csv.display()
        ),
        Server::MySql => format!(
            "load data local infile '{}' into table {ANCHOR_TABLE} character set utf8mb4 \
             fields terminated by ',' optionally enclosed by '\"' escaped by '' lines terminated by '\\n'",
            csv.display()
        ),
    };
    let started = Instant::now();
    client_sql(b, s, &sql)?;
    let secs = started.elapsed().as_secs_f64();
    let landed = count(b, s, ANCHOR_TABLE)?;
    if landed != b.records {
        bail!(
            "{} anchor: {landed} rows, expected {}",
            s.label(),
            b.records
        );
    }
    Ok(secs)
}
