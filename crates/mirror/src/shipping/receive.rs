//! The standby's side of log shipping over a transfer session (`drx ship
//! --to-standby`; docs/LOG_SHIPPING.md, "Over the mirror connection").
//!
//! An offered shipped file is received into `shipped/.NAME.part` in the
//! standby journal's directory, in order, from where an earlier transfer
//! of it was cut (`ShipHave`). At `ShipEnd` it is read back and verified
//! whole, like a file `drx apply` reads; then **the applier thread**
//! applies its entries past the standby's durable seq ([`Shipped`],
//! through `Command::Shipped`), ordered with the live stream's entries,
//! and makes them durable before `ShipApplied` answers. The part file is
//! removed once the file is applied or found damaged (a damaged one is
//! sent again whole).

use crate::applier::{Command, State};
use crate::error::LinkError;
use crate::protocol::{ShipApplied, ShipData, ShipEnd, ShipOffer};
use crate::shipping::apply::apply_verified;
use crate::shipping::error::ShippingError;
use crate::shipping::manifest::parse_file_name;
use crate::shipping::shipped_segment::{self, Listed, Verified};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The directory, inside the standby journal's, where shipped files are
/// received.
pub(crate) const INBOX: &str = "shipped";

/// A verified shipped file for the applier thread to apply.
#[derive(Debug)]
pub(crate) struct Shipped {
    /// Its name, as offered.
    pub name: String,
    /// Where it was received (in messages).
    pub path: PathBuf,
    /// Its contents, verified.
    pub verified: Verified,
    /// The answer for the transfer session.
    pub reply: oneshot::Sender<ShipApplied>,
}

/// A shipped file being received.
#[derive(Debug)]
pub(crate) struct Receiving {
    name: String,
    first_seq: u64,
    last_seq: u64,
    /// Its length, as offered.
    len: u64,
    /// The part file.
    path: PathBuf,
    file: Arc<File>,
    /// Bytes held, from the start.
    have: u64,
}

impl Receiving {
    /// Bytes of it held already.
    pub(crate) fn have(&self) -> u64 {
        self.have
    }
}

async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| format!("a blocking task failed: {e}"))?
}

/// Starts receiving an offered file into `journal_dir/shipped/`: keeps
/// what an earlier transfer of it left, if no longer than offered.
pub(crate) async fn offer(journal_dir: &Path, offer: &ShipOffer) -> Result<Receiving, String> {
    let (first_seq, last_seq) = parse_file_name(&offer.name).ok_or_else(|| {
        format!(
            "{:?} is not a shipped segment's name ({{first_seq:020}}-{{last_seq:020}}.seg.zst)",
            offer.name
        )
    })?;
    let inbox = journal_dir.join(INBOX);
    let path = inbox.join(format!(".{}.part", offer.name));
    let len = offer.len;
    let (file, have) = {
        let path = path.clone();
        blocking(move || {
            std::fs::create_dir_all(&inbox).map_err(|e| format!("{}: {e}", inbox.display()))?;
            let at = |e: std::io::Error| format!("{}: {e}", path.display());
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(at)?;
            // Held while this session receives it (released when the file
            // closes, also when the process dies).
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(format!(
                        "{}: another drx ship --to-standby is sending this file",
                        path.display()
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(at(e)),
            }
            let mut have = file.metadata().map_err(at)?.len();
            if have > len {
                file.set_len(0).map_err(at)?;
                have = 0;
            }
            Ok((file, have))
        })
        .await?
    };
    Ok(Receiving {
        name: offer.name.clone(),
        first_seq,
        last_seq,
        len,
        path,
        file: Arc::new(file),
        have,
    })
}

/// Writes the next bytes of the file being received.
pub(crate) async fn data(receiving: &mut Receiving, data: ShipData) -> Result<(), String> {
    if data.name != receiving.name {
        return Err(format!(
            "ShipData of {} while {} is being received",
            data.name, receiving.name
        ));
    }
    let end = data.offset + data.data.len() as u64;
    if data.offset != receiving.have || end > receiving.len {
        return Err(format!(
            "ShipData of {} at bytes {} to {end}: {} bytes of {} are held",
            data.name, data.offset, receiving.have, receiving.len
        ));
    }
    let file = Arc::clone(&receiving.file);
    let path = receiving.path.clone();
    blocking(move || {
        file.write_all_at(&data.data, data.offset)
            .map_err(|e| format!("{}: {e}", path.display()))
    })
    .await?;
    receiving.have = end;
    Ok(())
}

/// The file was sent whole: verifies it, has the applier thread apply
/// it, removes the part file; the answer for the session. An error only
/// when the applier has stopped.
pub(crate) async fn end(
    receiving: Receiving,
    end: &ShipEnd,
    commands: &mpsc::Sender<Command>,
) -> Result<ShipApplied, LinkError> {
    let name = receiving.name.clone();
    let failed = |text: String| ShipApplied {
        name: name.clone(),
        entries: 0,
        durable: 0,
        failed: Some(text),
    };
    if end.name != receiving.name {
        return Ok(failed(format!(
            "ShipEnd of {} while {} is being received",
            end.name, receiving.name
        )));
    }
    if receiving.have != receiving.len {
        return Ok(failed(format!(
            "only {} of its {} bytes were received",
            receiving.have, receiving.len
        )));
    }
    let listed = Listed {
        first_seq: receiving.first_seq,
        last_seq: receiving.last_seq,
        path: receiving.path.clone(),
    };
    let part = receiving.path.clone();
    drop(receiving);
    let read = tokio::task::spawn_blocking(move || shipped_segment::read_verified(&listed))
        .await
        .map_err(|e| LinkError::Stopped(format!("verifying a shipped segment: {e}")))?;
    let verified = match read {
        Ok(verified) => verified,
        Err(e) => {
            remove(&part).await;
            tracing::error!(file = %name, error = %e, "log shipping: a received shipped segment does not verify");
            return Ok(failed(e.to_string()));
        }
    };
    let (reply, answer) = oneshot::channel();
    let shipped = Shipped {
        name: name.clone(),
        path: part.clone(),
        verified,
        reply,
    };
    let stopped = || LinkError::Stopped("the standby's apply has stopped".into());
    commands
        .send(Command::Shipped(Box::new(shipped)))
        .await
        .map_err(|_| stopped())?;
    let applied = answer.await.map_err(|_| stopped())?;
    remove(&part).await;
    Ok(applied)
}

async fn remove(path: &Path) {
    let path = path.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
}

/// In the applier thread: applies a received shipped file past the
/// standby's durable seq. A journal or replica failure stops the applier
/// (as it does for the stream's batches); anything else is answered.
pub(crate) fn apply_received(state: &mut State, shipped: Shipped) -> Result<(), LinkError> {
    let Shipped {
        name,
        path,
        verified,
        reply,
    } = shipped;
    let mut answer = ShipApplied {
        name,
        entries: 0,
        durable: 0,
        failed: None,
    };
    let durable = state.position()?.durable;
    let need = durable + 1;
    let first = verified.manifest.first_seq;
    let result = if first > need {
        Err(ShippingError::Refused {
            path: path.clone(),
            text: format!(
                "it starts at seq {first}, and this standby needs seq {need} first: ship the segments before it"
            ),
        })
    } else if verified.manifest.last_seq < need {
        Ok(None)
    } else {
        let mut mismatches = 0;
        let applied = apply_verified(state, &path, &verified, need, &mut mismatches);
        if mismatches > 0 {
            tracing::warn!(
                mismatches,
                "log shipping: checksum entries found a replica that differs"
            );
        }
        applied.map(Some)
    };
    let fatal = match result {
        Ok(applied) => {
            answer.entries = applied.map_or(0, |a| a.entries);
            tracing::info!(file = %answer.name, entries = answer.entries, "log shipping: applied a shipped segment received over the link");
            None
        }
        Err(ShippingError::Apply { source, .. }) => {
            answer.failed = Some(format!("the standby's apply failed: {source}"));
            Some(source)
        }
        Err(e) => {
            tracing::error!(file = %answer.name, error = %e, "log shipping: a shipped segment was refused");
            answer.failed = Some(e.to_string());
            None
        }
    };
    answer.durable = state.position().map_or(durable, |p| p.durable);
    let _ = reply.send(answer);
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "00000000000000000001-00000000000000000009.seg.zst";

    fn offered(len: u64) -> ShipOffer {
        ShipOffer {
            name: NAME.into(),
            len,
        }
    }

    fn bytes_at(offset: u64, bytes: &[u8]) -> ShipData {
        ShipData {
            name: NAME.into(),
            offset,
            data: bytes.to_vec(),
        }
    }

    #[tokio::test]
    async fn a_part_is_kept_resumed_in_order_and_held_by_one_session_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = offer(dir.path(), &offered(10)).await.unwrap();
        assert_eq!(first.have(), 0);
        data(&mut first, bytes_at(0, b"abcd")).await.unwrap();
        // Out of order, or past the offered length: refused, nothing kept.
        assert!(
            data(&mut first, bytes_at(6, b"gh"))
                .await
                .unwrap_err()
                .contains("4 bytes of 10 are held")
        );
        assert!(data(&mut first, bytes_at(4, b"efghijk")).await.is_err());
        // A second session for the same file while the first holds it.
        let busy = offer(dir.path(), &offered(10)).await.unwrap_err();
        assert!(busy.contains("another drx ship --to-standby"), "{busy}");
        drop(first);
        // The next session resumes at the bytes kept.
        let again = offer(dir.path(), &offered(10)).await.unwrap();
        assert_eq!(again.have(), 4);
        drop(again);
        // Offered shorter than what is kept: started over.
        let shorter = offer(dir.path(), &offered(3)).await.unwrap();
        assert_eq!(shorter.have(), 0);
    }

    #[tokio::test]
    async fn only_shipped_file_names_are_received() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "../../etc/passwd",
            "x.seg.zst",
            "00000000000000000002-00000000000000000001.seg.zst",
        ] {
            let offer_of = ShipOffer {
                name: name.into(),
                len: 1,
            };
            let e = offer(dir.path(), &offer_of).await.unwrap_err();
            assert!(e.contains("not a shipped segment's name"), "{e}");
        }
        assert!(!dir.path().join(INBOX).exists());
    }
}
