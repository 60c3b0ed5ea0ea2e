//! PostgreSQL restarted (`pg_ctlcluster … restart`) under a following
//! `drx extract` that keeps receiving changes: it reconnects with backoff
//! and resumes from its checkpoint row, nothing lost or doubled. In a test
//! binary of its own, so no other test sees the server go away.
#![allow(clippy::unwrap_used)]

mod common;
use common::{Home, PG_URL, mixed_script, pg_query_rows, pg_quoted, wait_until};
use std::time::Duration;

fn rows(table: &str) -> Option<Vec<Vec<String>>> {
    let mut client = postgres::Client::connect(PG_URL, postgres::NoTls).ok()?;
    pg_query_rows(&mut client, table).ok()
}

fn restart_postgres() {
    let version = std::fs::read_dir("/etc/postgresql")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let status = std::process::Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version.to_string_lossy(),
            "main",
            "restart",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctlcluster restart failed");
}

/// Polls until `table` equals the critical file, for at most about `limit`.
fn wait_for_file(home: &Home, table: &str, limit: Duration) -> bool {
    wait_until(limit, Duration::from_millis(200), || {
        rows(table).is_some_and(|r| r == home.file_rows("error_codes.data"))
    })
}

#[test]
fn a_postgres_restart_mid_run_loses_and_doubles_nothing() {
    let home = Home::sample();
    home.batch_size(200);
    let pid = std::process::id();
    let table = format!("restart_{pid}");
    let sink = format!("pg_restart_{pid}");
    home.append_config(&format!(
        "\n[[sinks]]\nname = \"{sink}\"\ntype = \"postgres\"\nurl = \"{PG_URL}\"\nfile_ids = [200]\ntables = {{ 200 = \"{table}\" }}\nmode = \"mapped\"\n"
    ));
    home.demo("error_codes.table");
    let log = std::fs::File::create(home.join("extract.log")).unwrap();
    let mut follower = home
        .command(&[
            "-v",
            "extract",
            "--file-id",
            "200",
            "--sink",
            &sink,
            "--follow",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(
        wait_for_file(&home, &table, Duration::from_secs(60)),
        "the first records never landed: {:?}; log:\n{}",
        rows(&table).map(|r| r
            .into_iter()
            .zip(home.file_rows("error_codes.data"))
            .find(|(a, b)| a != b)),
        std::fs::read_to_string(home.join("extract.log")).unwrap_or_default()
    );

    // Changes keep coming while the server restarts.
    let mut keys = home.file_keys();
    let scripts: Vec<String> = (0..6)
        .map(|r| mixed_script(&mut keys, 1_500, 100 + r))
        .collect();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for (r, script) in scripts.iter().enumerate() {
                let name = format!("ops{r}.jsonl");
                home.write(&name, script);
                home.ok(&["io", "--script", &name]);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_millis(150));
        restart_postgres();
        writer.join().unwrap();
    });

    let landed = wait_for_file(&home, &table, Duration::from_secs(120));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &follower.id().to_string()])
        .status();
    wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        follower.try_wait().unwrap().is_some()
    });
    let _ = follower.kill();
    let _ = follower.wait();
    let log = std::fs::read_to_string(home.join("extract.log")).unwrap();
    assert!(
        landed,
        "PostgreSQL never caught up with the file; log:\n{log}"
    );
    assert!(
        log.contains("reconnected"),
        "the run never lost its connection; log:\n{log}"
    );
    // A new run finds nothing left to do: nothing doubled, nothing missing.
    let again = home.ok(&["extract", "--file-id", "200", "--sink", &sink]);
    assert!(again.contains(&format!("{sink}: 0 records")), "{again}");
    assert_eq!(rows(&table).unwrap(), home.file_rows("error_codes.data"));
    if let Ok(mut c) = postgres::Client::connect(PG_URL, postgres::NoTls) {
        let _ = c.batch_execute(&format!("drop table if exists {}", pg_quoted(&table)));
    }
}
