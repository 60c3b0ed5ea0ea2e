//! The equalizer with real processes on 127.0.0.1 (docs/DR.md,
//! "Equalizer"): `drx equalize` on the primary copies the equalize
//! records' files that are new or modified (and older) on the standby,
//! reports the same ones, skips a locked one unless `equalize_if_locked`,
//! never copies an excluded `*.kp`, and reports, then deletes, orphans;
//! a star-name in the directory part (`apps/*/conf/*.cfg`) equalizes each
//! matching directory, the copies keeping their path below `apps/`.
#![allow(clippy::unwrap_used)]

mod common;
use common::pair::{Server, free_port, logs, pair};
use common::{Home, wait_until};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

const RECORDS: &str = r#"
[[files]]
record_type = "equalize"
source_path = "conf/*"
destination_dir = "replicas/eqconf"
equalize_interval = 1
equalize_if_new = true
equalize_if_modified = true
equalize_if_locked = false
report_orphans = true
delete_orphans = false

[[files]]
record_type = "exclude"
source_path = "*.kp"
"#;

/// A primary with a journal (the sample's demo) and a standby, both with
/// the equalize record of `conf/*` and the exclude record of `*.kp`.
fn homes() -> (Home, Home) {
    let (prim, stby) = pair(free_port());
    prim.append_config(RECORDS);
    stby.append_config(RECORDS);
    prim.demo("error_codes.table");
    std::fs::create_dir_all(prim.join("conf")).unwrap();
    (prim, stby)
}

/// The standby's copy of `conf/<name>`.
fn copy_of(stby: &Home, name: &str) -> PathBuf {
    stby.join(&format!("replicas/eqconf/{name}"))
}

fn mtime(path: &std::path::Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Sets `path`'s modification time `secs` from now.
fn set_mtime(path: &std::path::Path, secs: i64) {
    let now = SystemTime::now();
    let at = if secs >= 0 {
        now + Duration::from_secs(secs.unsigned_abs())
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(at).unwrap();
}

/// The line of `out` about `name`.
fn line_of<'a>(out: &'a str, name: &str) -> &'a str {
    let needle = format!("/{name}: ");
    out.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no line about {name} in:\n{out}"))
}

#[test]
fn new_and_modified_files_are_copied_same_ones_reported_excluded_ones_never() {
    let (prim, stby) = homes();
    let _server = Server::standby(&stby);
    let a = prim.write("conf/a.cfg", "alpha = 1\n");
    let b = prim.write("conf/b.cfg", &"bravo = 2\n".repeat(2000));
    let kp = prim.write("conf/skip.kp", "never copied");
    set_mtime(&a, -100);
    set_mtime(&b, -100);

    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "a.cfg").ends_with("a.cfg: new, copied (10 B sent)"),
        "{out}"
    );
    assert!(
        line_of(&out, "b.cfg").contains("b.cfg: new, copied (20.0 kB sent)"),
        "{out}"
    );
    assert!(!out.contains("skip.kp"), "{out}");
    for (src, name) in [(&a, "a.cfg"), (&b, "b.cfg")] {
        let copy = copy_of(&stby, name);
        assert_eq!(
            std::fs::read(src).unwrap(),
            std::fs::read(&copy).unwrap(),
            "{name}"
        );
        assert_eq!(
            mtime(src),
            mtime(&copy),
            "{name}: the copy has the primary's time"
        );
    }
    assert!(!copy_of(&stby, "skip.kp").exists());
    assert!(kp.exists());

    // Nothing changed: both the same.
    let out = prim.ok(&["equalize"]);
    assert!(line_of(&out, "a.cfg").ends_with("a.cfg: same"), "{out}");
    assert!(line_of(&out, "b.cfg").ends_with("b.cfg: same"), "{out}");

    // One byte of b.cfg modified on the primary (newer): only its block
    // (4 KiB) is sent.
    let mut text = std::fs::read(&b).unwrap();
    text[5000] = b'X';
    std::fs::write(&b, &text).unwrap();
    let out = prim.ok(&["equalize"]);
    assert!(line_of(&out, "a.cfg").ends_with("a.cfg: same"), "{out}");
    assert!(
        line_of(&out, "b.cfg").ends_with("b.cfg: modified, copied (4.1 kB sent)"),
        "{out}"
    );
    assert_eq!(text, std::fs::read(copy_of(&stby, "b.cfg")).unwrap());

    // The standby's copy of a.cfg differs but is newer: left alone.
    let copy = copy_of(&stby, "a.cfg");
    std::fs::write(&copy, "alpha = 99\n").unwrap();
    set_mtime(&copy, 100);
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "a.cfg")
            .ends_with("a.cfg: modified, skipped (the standby's copy is not older)"),
        "{out}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), b"alpha = 99\n");
    assert!(
        !copy_of(&stby, "skip.kp").exists(),
        "{}",
        logs(&prim, &stby)
    );
}

#[test]
fn locked_files_are_skipped_unless_asked_and_orphans_reported_then_deleted() {
    let (prim, stby) = homes();
    let _server = Server::standby(&stby);
    let c = prim.write("conf/c.cfg", "charlie\n");
    let d = prim.write("conf/d.cfg", "delta\n");

    // c.cfg locked by an application (an exclusive flock held here).
    let holder = std::fs::File::open(&c).unwrap();
    holder.lock().unwrap();
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "c.cfg").ends_with("c.cfg: locked, skipped"),
        "{out}"
    );
    assert!(
        line_of(&out, "d.cfg").contains("d.cfg: new, copied"),
        "{out}"
    );
    assert!(!copy_of(&stby, "c.cfg").exists());

    // equalize_if_locked: copied while still locked.
    prim.edit_config("equalize_if_locked = false", "equalize_if_locked = true");
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "c.cfg").contains("c.cfg: new, copied"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(copy_of(&stby, "c.cfg")).unwrap(),
        b"charlie\n"
    );
    holder.unlock().unwrap();

    // d.cfg gone from the primary: an orphan, reported and kept.
    std::fs::remove_file(&d).unwrap();
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "d.cfg").ends_with("d.cfg: orphan reported"),
        "{out}"
    );
    assert!(line_of(&out, "c.cfg").ends_with("c.cfg: same"), "{out}");
    assert!(copy_of(&stby, "d.cfg").exists());

    // delete_orphans: deleted on the standby.
    prim.edit_config("delete_orphans = false", "delete_orphans = true");
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "d.cfg").ends_with("d.cfg: orphan deleted"),
        "{out}"
    );
    assert!(!copy_of(&stby, "d.cfg").exists(), "{}", logs(&prim, &stby));
    assert!(copy_of(&stby, "c.cfg").exists());

    // --every-secs: rounds until SIGTERM; a new file is copied by one.
    let e = prim.write("conf/e.cfg", "echo\n");
    let mut every = prim
        .command(&["equalize", "--every-secs", "1"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let copied = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        std::fs::read(copy_of(&stby, "e.cfg")).is_ok_and(|b| b == std::fs::read(&e).unwrap())
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &every.id().to_string()])
        .status();
    let stopped = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        every.try_wait().unwrap().is_some()
    });
    if !stopped {
        let _ = every.kill();
    }
    assert!(copied, "{}", logs(&prim, &stby));
    assert!(stopped, "drx equalize --every did not stop on SIGTERM");
    assert!(every.wait().unwrap().success());
}

const STAR_DIR_RECORDS: &str = r#"
[[files]]
record_type = "equalize"
source_path = "apps/*/conf/*.cfg"
destination_dir = "replicas/eqapps"
equalize_interval = 3
equalize_if_new = true
equalize_if_modified = true
report_orphans = true

[[files]]
record_type = "exclude"
source_path = "*.kp"
"#;

/// The standby's copies of files under the primary's `apps/`, by their
/// paths there.
fn app_copy(stby: &Home, below_apps: &str) -> PathBuf {
    stby.join(&format!("replicas/eqapps/{below_apps}"))
}

/// The files under `dir`, walked (bounded), as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        assert!(out.len() < 1000, "too many files under {}", dir.display());
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_star_in_the_directory_equalizes_each_matching_directory() {
    let (prim, stby) = pair(free_port());
    prim.append_config(STAR_DIR_RECORDS);
    stby.append_config(STAR_DIR_RECORDS);
    prim.demo("error_codes.table");
    for d in [
        "apps/one/conf",
        "apps/two/conf",
        "apps/three/etc",
        "elsewhere/conf",
    ] {
        std::fs::create_dir_all(prim.join(d)).unwrap();
    }
    let a = prim.write("apps/one/conf/a.cfg", "one a\n");
    let x1 = prim.write("apps/one/conf/x.cfg", "one x\n");
    let x2 = prim.write(
        "apps/two/conf/x.cfg",
        "two x, another file of the same name\n",
    );
    let b = prim.write("apps/two/conf/b.cfg", "two b, newer here\n");
    prim.write("apps/one/conf/skip.kp", "excluded");
    prim.write("apps/three/etc/c.cfg", "not in a conf directory");
    prim.write("elsewhere/conf/e.cfg", "only through a symbolic link");
    std::os::unix::fs::symlink(prim.join("elsewhere"), prim.join("apps/link")).unwrap();
    for f in [&a, &x1, &x2] {
        set_mtime(f, -100);
    }
    // On the standby: an older b.cfg, and an orphan in one/conf.
    std::fs::create_dir_all(app_copy(&stby, "one/conf")).unwrap();
    std::fs::create_dir_all(app_copy(&stby, "two/conf")).unwrap();
    let old_b = app_copy(&stby, "two/conf/b.cfg");
    std::fs::write(&old_b, "two b, older there\n").unwrap();
    set_mtime(&old_b, -1000);
    let orphan = app_copy(&stby, "one/conf/old.cfg");
    std::fs::write(&orphan, "gone from the primary\n").unwrap();
    let _server = Server::standby(&stby);

    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "one/conf/a.cfg").contains("a.cfg: new, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "one/conf/x.cfg").contains("x.cfg: new, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "two/conf/x.cfg").contains("x.cfg: new, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "two/conf/b.cfg").contains("b.cfg: modified, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "one/conf/old.cfg").ends_with("old.cfg: orphan reported"),
        "{out}"
    );
    for never in ["/apps/three/", "c.cfg", "/apps/link/", "e.cfg", "skip.kp"] {
        assert!(!out.contains(never), "{never}: {out}");
    }
    assert!(orphan.exists(), "a reported orphan is kept");
    assert_eq!(
        files_under(&stby.join("replicas/eqapps")),
        vec![
            "one/conf/a.cfg",
            "one/conf/old.cfg",
            "one/conf/x.cfg",
            "two/conf/b.cfg",
            "two/conf/x.cfg"
        ],
        "{}",
        logs(&prim, &stby)
    );
    for (src, below) in [
        (&a, "one/conf/a.cfg"),
        (&x1, "one/conf/x.cfg"),
        (&x2, "two/conf/x.cfg"),
        (&b, "two/conf/b.cfg"),
    ] {
        let copy = app_copy(&stby, below);
        assert_eq!(
            std::fs::read(src).unwrap(),
            std::fs::read(&copy).unwrap(),
            "{below}"
        );
        assert_eq!(mtime(src), mtime(&copy), "{below}");
    }

    // Modified in both directories: copied in both, the rest the same.
    std::fs::write(&a, "one a, modified\n").unwrap();
    std::fs::write(&x2, "two x, modified\n").unwrap();
    let out = prim.ok(&["equalize"]);
    assert!(
        line_of(&out, "one/conf/a.cfg").contains("a.cfg: modified, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "two/conf/x.cfg").contains("x.cfg: modified, copied"),
        "{out}"
    );
    assert!(
        line_of(&out, "one/conf/x.cfg").ends_with("x.cfg: same"),
        "{out}"
    );
    assert!(
        line_of(&out, "two/conf/b.cfg").ends_with("b.cfg: same"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(app_copy(&stby, "one/conf/a.cfg")).unwrap(),
        b"one a, modified\n"
    );
    assert_eq!(
        std::fs::read(app_copy(&stby, "two/conf/x.cfg")).unwrap(),
        b"two x, modified\n"
    );
    assert_eq!(
        std::fs::read(app_copy(&stby, "one/conf/x.cfg")).unwrap(),
        b"one x\n"
    );
    assert!(!out.contains("c.cfg"), "{out}");

    // --every: each record on its own interval, all due at the start; a
    // new file in each directory is copied by the first round.
    let n1 = prim.write("apps/one/conf/n.cfg", "one n\n");
    let n2 = prim.write("apps/two/conf/n.cfg", "two n\n");
    let mut every = prim
        .command(&["equalize", "--every"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let copied = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        [(&n1, "one/conf/n.cfg"), (&n2, "two/conf/n.cfg")]
            .iter()
            .all(|(src, below)| {
                std::fs::read(app_copy(&stby, below))
                    .is_ok_and(|b| b == std::fs::read(src).unwrap())
            })
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &every.id().to_string()])
        .status();
    let stopped = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        every.try_wait().unwrap().is_some()
    });
    if !stopped {
        let _ = every.kill();
    }
    assert!(copied, "{}", logs(&prim, &stby));
    assert!(stopped, "drx equalize --every did not stop on SIGTERM");
    assert!(every.wait().unwrap().success());
}
