//! The canary record: a small test record written through a capture
//! session like any application's, so that it travels the whole path —
//! journal, mirror, extractor — and its arrival at each end can be
//! checked (`drx canary`, docs/CANARY.md).
//!
//! The canary file is an indexed file of drx's own layout
//! ([`CANARY_LAYOUT`]) holding one record per node, keyed by the node id:
//! the first round of a node inserts its record, every later one rewrites
//! it with the counter one higher and the time of the round. A sink
//! therefore holds one row per node, with the last canary's time.
//!
//! [`acked_seq`] asks the primary server, through its commit socket
//! (docs/PROTOCOL.md, "The commit socket"), how far the standby has
//! acknowledged, without waiting.

use crate::{Capture, CaptureError, FileSpec, Target};
use drx_layouts::Layout;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The layout of the canary file, shipped by drx: install it as
/// `layout.NNN` for the canary file's `extractor_file_id`.
pub const CANARY_LAYOUT: &str = "\
/* drx's canary record (docs/CANARY.md): one record per node, rewritten by
   every round of `drx canary`. Shipped by drx: do not edit. */
organization: indexed;
key: node_id;
charset: utf-8;
fields: node_id    char(255),
        counter    fixed bin(63),
        written_at char(27),
        written_us fixed bin(63);
end;
";

/// The bytes of the node id field (the key), the longest node id.
pub const CANARY_NODE_ID_LEN: usize = 255;
/// The bytes of `written_at`: RFC 3339 in UTC with microseconds.
const WRITTEN_AT_LEN: usize = 27;
/// The record length of the canary layout.
pub const CANARY_RECORD_LEN: usize = CANARY_NODE_ID_LEN + 8 + WRITTEN_AT_LEN + 8;

/// One canary record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryRecord {
    /// The node that wrote it (`[mirror] node_id`, else the host name).
    pub node_id: String,
    /// This node's round: 1 for its first record, one more each round.
    pub counter: i64,
    /// When it was written: microseconds since 1970-01-01 00:00:00 UTC
    /// (the record also holds it as text, `written_at`).
    pub written_us: i64,
}

impl CanaryRecord {
    /// The node id as the key field holds it: UTF-8, padded with spaces.
    pub fn key(node_id: &str) -> Result<[u8; CANARY_NODE_ID_LEN], CaptureError> {
        let bytes = node_id.as_bytes();
        if bytes.is_empty() || bytes.len() > CANARY_NODE_ID_LEN || node_id.ends_with(' ') {
            return Err(CaptureError::BadRecord {
                path: "canary".into(),
                message: format!(
                    "node id `{node_id}`: a canary node id is 1 to {CANARY_NODE_ID_LEN} bytes, \
                     not ending with a space"
                ),
            });
        }
        let mut key = [b' '; CANARY_NODE_ID_LEN];
        key[..bytes.len()].copy_from_slice(bytes);
        Ok(key)
    }

    /// The record's bytes, as [`CANARY_LAYOUT`] lays them out.
    pub fn encode(&self) -> Result<Vec<u8>, CaptureError> {
        let mut out = Vec::with_capacity(CANARY_RECORD_LEN);
        out.extend_from_slice(&CanaryRecord::key(&self.node_id)?);
        out.extend_from_slice(&self.counter.to_be_bytes());
        out.extend_from_slice(format_micros(self.written_us).as_bytes());
        out.extend_from_slice(&self.written_us.to_be_bytes());
        if out.len() != CANARY_RECORD_LEN {
            return Err(CaptureError::BadRecord {
                path: "canary".into(),
                message: format!("time {} cannot be written", self.written_us),
            });
        }
        Ok(out)
    }

    /// Reads a record of the canary layout; `None` if it is not one.
    pub fn decode(record: &[u8]) -> Option<CanaryRecord> {
        if record.len() != CANARY_RECORD_LEN {
            return None;
        }
        let (node, rest) = record.split_at(CANARY_NODE_ID_LEN);
        let node_id = std::str::from_utf8(node).ok()?.trim_end_matches(' ');
        let (counter, rest) = rest.split_at(8);
        let (_, written_us) = rest.split_at(WRITTEN_AT_LEN);
        Some(CanaryRecord {
            node_id: node_id.to_owned(),
            counter: i64::from_be_bytes(counter.try_into().ok()?),
            written_us: i64::from_be_bytes(written_us.try_into().ok()?),
        })
    }
}

/// What one canary round wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryWritten {
    /// The journal seq of the record's insert or update: a target has the
    /// canary once it has this seq.
    pub seq: u64,
    /// The record.
    pub record: CanaryRecord,
    /// Whether the canary file was created by this round.
    pub created: bool,
}

/// [`CANARY_LAYOUT`], parsed.
pub fn canary_layout() -> Result<Arc<Layout>, CaptureError> {
    Layout::parse("(drx canary layout)", CANARY_LAYOUT)
        .map(Arc::new)
        .map_err(|e| CaptureError::BadRecord {
            path: "canary".into(),
            message: e.to_string(),
        })
}

/// Writes this node's canary record into the canary file at `path`
/// through `capture` (creating the file if it does not exist): an insert
/// the first time, a rewrite with the counter one higher after that.
/// The file must be critical for the session's process, else nothing is
/// journaled and this is an error naming the file.
pub fn write_canary(
    capture: &mut Capture,
    path: &Path,
    node_id: &str,
) -> Result<CanaryWritten, CaptureError> {
    let key = CanaryRecord::key(node_id)?;
    let spec = FileSpec::from_layout(canary_layout()?);
    let created = !path.exists();
    let mut file = if created {
        capture.create(path, spec)?
    } else {
        capture.open_file(path, spec)?
    };
    if !file.is_critical() {
        return Err(CaptureError::BadRecord {
            path: path.to_owned(),
            message: format!(
                "the canary file is not critical for process `{}`: no include record of the \
                 Files Table selects it, so its record would not be journaled",
                capture.process()
            ),
        });
    }
    let mut previous = None;
    file.file().for_each_record(|_, record| {
        if record.starts_with(&key) {
            previous = CanaryRecord::decode(record);
        }
        Ok(())
    })?;
    let record = CanaryRecord {
        node_id: node_id.to_owned(),
        counter: previous.as_ref().map_or(1, |p| p.counter.saturating_add(1)),
        written_us: now_micros(),
    };
    let bytes = record.encode()?;
    let seq = match previous {
        Some(_) => capture.rewrite(&mut file, Target::Key(&key), &bytes)?,
        None => capture.write(&mut file, &bytes, None)?,
    };
    capture.close_file(file)?;
    Ok(CanaryWritten {
        seq,
        record,
        created,
    })
}

/// Asks the primary server of the journal in `journal_dir`, on its commit
/// socket, for the seq the standby has acknowledged, without waiting (so
/// that nothing is counted as a sync commit). A request also wakes the
/// server's journal feed when the standby is behind `seq`. `stream` keeps
/// the connection between calls; it is dropped after an error.
pub fn acked_seq(
    stream: &mut Option<UnixStream>,
    journal_dir: &Path,
    seq: u64,
) -> std::io::Result<u64> {
    if stream.is_none() {
        let socket = drx_config::commit_socket(journal_dir);
        let s = UnixStream::connect(&socket).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("no primary server answers on {}: {e}", socket.display()),
            )
        })?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        *stream = Some(s);
    }
    let Some(s) = stream.as_mut() else {
        return Err(std::io::Error::other("no connection"));
    };
    let mut request = [0u8; 12];
    request[..8].copy_from_slice(&seq.to_le_bytes());
    let result = s.write_all(&request).and_then(|()| {
        let mut answer = [0u8; 8];
        s.read_exact(&mut answer)?;
        Ok(u64::from_le_bytes(answer))
    });
    if result.is_err() {
        *stream = None;
    }
    result
}

/// Microseconds since 1970-01-01 00:00:00 UTC, now.
fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// `micros` since the epoch as RFC 3339 in UTC with microseconds
/// (`2026-11-24T05:44:55.123456Z`).
pub fn format_micros(micros: i64) -> String {
    const PER_DAY: i64 = 86_400_000_000;
    let days = micros.div_euclid(PER_DAY);
    let rest = micros.rem_euclid(PER_DAY);
    // Days to the proleptic Gregorian calendar (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let secs = rest / 1_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1_000_000
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_record_is_what_the_shipped_layout_decodes() {
        let layout = canary_layout().unwrap();
        assert_eq!(layout.record_len(), CANARY_RECORD_LEN);
        let record = CanaryRecord {
            node_id: "prim-ü".to_owned(),
            counter: 42,
            written_us: 1_795_499_095_123_456,
        };
        let bytes = record.encode().unwrap();
        let view = layout.view(&bytes).unwrap();
        let text = |i: usize| {
            let mut s = String::new();
            view.get(i).unwrap().write_text(&mut s).unwrap();
            s
        };
        assert_eq!(text(0), "prim-ü");
        assert_eq!(text(1), "42");
        assert_eq!(text(2), "2026-11-24T05:44:55.123456Z");
        assert_eq!(text(3), "1795499095123456");
        assert_eq!(CanaryRecord::decode(&bytes), Some(record));
        assert_eq!(
            layout
                .key_fields()
                .iter()
                .map(|&i| layout.fields()[i].name.as_str())
                .collect::<Vec<_>>(),
            ["node_id"]
        );
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_micros(951_782_400_000_001),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn node_ids_must_fit_the_key() {
        assert!(CanaryRecord::key("a").is_ok());
        let long = "n".repeat(CANARY_NODE_ID_LEN + 1);
        let e = CanaryRecord::key(&long).unwrap_err().to_string();
        assert!(e.contains("1 to 255 bytes"), "{e}");
        assert!(CanaryRecord::key("").is_err());
    }
}
