//! `drx ship --to DIR [--seal]` or `drx ship --to-standby` on the primary and `drx apply --from DIR`
//! on the standby: log shipping (docs/LOG_SHIPPING.md). The work is
//! `drx_mirror::ship` and `drx_mirror::apply_shipped`; this prints what
//! they did, with the rates.

use anyhow::{Context, Result};
use drx_config::Config;
use drx_mirror::{
    ApplyOptions, ReplicaConfig, SealOutcome, ShipOptions, ShipToStandbyOptions, ShippedSegment,
};
use std::path::Path;
use std::time::Instant;

const MB: f64 = 1_000_000.0;

fn absolute(dir: &Path) -> Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().context("the current directory")?;
    Ok(drx_config::absolute(&cwd, dir))
}

/// `drx ship`: ships the finished segments of the home's journal to `to`.
pub fn ship(home: &Path, to: &Path, seal: bool, level: i32) -> Result<()> {
    let config = Config::load(home)?;
    let options = ShipOptions {
        seal,
        level,
        ..ShipOptions::new(config.journal.dir.clone(), absolute(to)?)
    };
    let started = Instant::now();
    let report = drx_mirror::ship(&options, |s: &ShippedSegment| {
        let m = &s.manifest;
        println!(
            "shipped seqs {} to {} ({} entries, {:.1} MB, {:.1} MB compressed) to {}",
            m.first_seq,
            m.last_seq,
            m.entries,
            m.raw_len as f64 / MB,
            m.compressed_len as f64 / MB,
            s.path.display()
        );
    })
    .with_context(|| format!("drx ship --to {}", options.to.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    print_seal(report.seal);
    for s in &report.already_shipped {
        println!(
            "seqs {} to {} were already in {}",
            s.manifest.first_seq,
            s.manifest.last_seq,
            s.path.display()
        );
    }
    if let Some((from, to)) = report.lost {
        eprintln!(
            "drx: warning: seqs {from} to {to} were never shipped and the journal no longer holds them"
        );
    }
    let raw: u64 = report.shipped.iter().map(|s| s.manifest.raw_len).sum();
    let compressed: u64 = report
        .shipped
        .iter()
        .map(|s| s.manifest.compressed_len)
        .sum();
    if report.shipped.is_empty() {
        println!("nothing new to ship: shipped up to seq {}", report.position);
    } else {
        println!(
            "shipped {} segments up to seq {}: {:.1} MB of journal in {seconds:.2} s ({:.1} MB/s), {:.1} MB compressed (ratio {:.2})",
            report.shipped.len(),
            report.position,
            raw as f64 / MB,
            raw as f64 / MB / seconds.max(1e-9),
            compressed as f64 / MB,
            raw as f64 / (compressed.max(1) as f64)
        );
    }
    print_open_segment(report.open_segment, report.seal);
    Ok(())
}

/// `drx ship --to-standby`: sends the finished segments the standby has
/// not applied over a transfer session; its server applies them.
pub fn ship_to_standby(home: &Path, seal: bool, level: i32) -> Result<()> {
    let config = Config::load(home)?;
    let options = ShipToStandbyOptions { seal, level };
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let report = runtime
        .block_on(drx_mirror::ship_to_standby(&config, &options, |s| {
            let m = &s.manifest;
            let resumed = if s.resumed > 0 {
                format!(", resumed at byte {}", s.resumed)
            } else {
                String::new()
            };
            println!(
                "shipped seqs {} to {} ({} entries, {:.1} MB, {:.1} MB sent{resumed}): the standby applied {} entries, durable at seq {}",
                m.first_seq,
                m.last_seq,
                m.entries,
                m.raw_len as f64 / MB,
                s.sent as f64 / MB,
                s.applied,
                s.durable
            );
        }))
        .context("drx ship --to-standby")?;
    let seconds = started.elapsed().as_secs_f64();
    print_seal(report.seal);
    let raw: u64 = report.sent.iter().map(|s| s.manifest.raw_len).sum();
    let sent: u64 = report.sent.iter().map(|s| s.sent).sum();
    if report.sent.is_empty() {
        println!(
            "nothing new to ship: the standby {} is durable at seq {}",
            report.peer, report.durable
        );
    } else {
        println!(
            "shipped {} segments to {}: durable there from seq {} to {}; {:.1} MB of journal in {seconds:.2} s ({:.1} MB/s), {:.1} MB sent",
            report.sent.len(),
            report.peer,
            report.from_seq,
            report.durable,
            raw as f64 / MB,
            raw as f64 / MB / seconds.max(1e-9),
            sent as f64 / MB,
        );
    }
    print_open_segment(report.open_segment, report.seal);
    Ok(())
}

fn print_seal(seal: SealOutcome) {
    match seal {
        SealOutcome::Sealed { last_seq } => {
            println!("sealed the current segment at seq {last_seq}");
        }
        SealOutcome::Empty => println!("the current segment holds no entry: nothing to seal"),
        SealOutcome::WriterActive => println!(
            "not sealed: a writer (an application's capture session) holds the journal lock; only finished segments were shipped"
        ),
        SealOutcome::NotAsked => {}
    }
}

fn print_open_segment(open: Option<(u64, u64)>, seal: SealOutcome) {
    if let Some((first, last)) = open
        && last >= first
        && !matches!(seal, SealOutcome::Sealed { .. })
    {
        println!(
            "not shipped: seqs {first} to {last}, in the segment still being appended to (drx ship --seal ships it when no application holds the journal)"
        );
    }
}

/// `drx apply`: applies the shipped segments in `from` to the home's
/// standby journal and replicas.
pub fn apply(home: &Path, from: &Path) -> Result<()> {
    let config = Config::load(home)?;
    let options = ApplyOptions {
        from: absolute(from)?,
        journal: drx_mirror::standby_journal(config.mirror.standby_journal_dir.clone()),
        replica: ReplicaConfig::from_config(&config),
        node_id: drx_mirror::node_id(&config).unwrap_or_else(|_| "standby".to_owned()),
    };
    let started = Instant::now();
    let report = drx_mirror::apply_shipped(&options, |a| {
        println!(
            "applied seqs {} to {} ({} entries, {:.1} MB) from {}",
            a.first_seq,
            a.last_seq,
            a.entries,
            a.bytes as f64 / MB,
            a.path.display()
        );
    })
    .with_context(|| format!("drx apply --from {}", options.from.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let entries: u64 = report.applied.iter().map(|a| a.entries).sum();
    let bytes: u64 = report.applied.iter().map(|a| a.bytes).sum();
    if report.applied.is_empty() {
        println!("up to date at seq {}: nothing to apply", report.durable_seq);
    } else {
        println!(
            "up to date at seq {}: applied {entries} entries from {} shipped segments, {:.1} MB of journal in {seconds:.2} s ({:.1} MB/s)",
            report.durable_seq,
            report.applied.len(),
            bytes as f64 / MB,
            bytes as f64 / MB / seconds.max(1e-9)
        );
    }
    if report.verify_mismatches > 0 {
        eprintln!(
            "drx: warning: {} checksum entries found a replica that differs (see the log)",
            report.verify_mismatches
        );
    }
    Ok(())
}
