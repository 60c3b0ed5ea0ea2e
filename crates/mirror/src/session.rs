//! A session opened by this node to another node's listening address for
//! one task rather than a stream: `drx rejoin` (as a standby, to the
//! promoted node) and `drx sync` / `drx refresh` (as a transfer, to the
//! standby). The opener proves first; the other side proves back.

use crate::error::LinkError;
use crate::link::{self, FrameReader, WriteHalf};
use crate::protocol::{Hello, Message, Nonce, PROTOCOL_VERSION, Role, Transcript};
use crate::settings::PrimarySettings;
use tokio::net::TcpStream;

/// Connects to `settings.address` (with `settings`' TLS, secret and node
/// ids), says `Hello` as `ours` (this node's epoch, last seq and history),
/// expects the other side to answer as `theirs`, and completes the proofs,
/// all within the handshake timeout; returns the other side's `Hello`.
pub(crate) async fn open(
    settings: &PrimarySettings,
    ours: Role,
    theirs: Role,
    epoch: u64,
    last_seq: u64,
    history: Vec<drx_journal::EpochStart>,
) -> Result<(FrameReader, WriteHalf, Hello), LinkError> {
    let address = &settings.address;
    let timeout = settings.heartbeats.handshake_timeout;
    let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
        .await
        .map_err(|_| LinkError::Timeout(format!("connecting to {address}")))?
        .map_err(LinkError::io(format!("connecting to {address}")))?;
    let handshake = async {
        let (mut reader, mut write) = link::connect(stream, settings.tls.as_ref()).await?;
        let peer = reader.peer();
        let hello = Hello {
            version: PROTOCOL_VERSION,
            role: ours,
            node_id: settings.node_id.clone(),
            epoch,
            last_seq,
            nonce: Nonce::random()?,
            history,
        };
        link::write_message(&mut write, peer, &Message::Hello(hello.clone())).await?;
        let answer = match reader.next_handshake_message().await? {
            Message::Hello(h) if h.role == theirs && h.version == PROTOCOL_VERSION => h,
            other => {
                return Err(LinkError::Stopped(format!(
                    "{address} did not answer as a {theirs}: {}",
                    other.kind()
                )));
            }
        };
        if let Some(expected) = &settings.standby_node_id
            && *expected != answer.node_id
        {
            return Err(LinkError::Stopped(format!(
                "{address} is {}, not {expected}",
                answer.node_id
            )));
        }
        // The transcript takes the standby's Hello in the standby's slot.
        let transcript = if ours == Role::Standby {
            Transcript::new(&answer, &hello, reader.channel_binding())?
        } else {
            Transcript::new(&hello, &answer, reader.channel_binding())?
        };
        let proof = transcript.proof(&settings.secret, ours);
        link::write_message(&mut write, peer, &Message::Proof(proof)).await?;
        match reader.next_handshake_message().await? {
            Message::Proof(p) if transcript.verify(&settings.secret, theirs, &p).is_ok() => {}
            _ => {
                return Err(LinkError::Stopped(format!(
                    "{address} did not prove it knows the shared secret"
                )));
            }
        }
        Ok((reader, write, answer))
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| LinkError::Timeout(format!("the handshake with {address}")))?
}

/// [`open`] as a transfer session (`drx sync`, `drx equalize`, `drx ship
/// --to-standby`) to the standby, saying the epoch, last seq and history
/// of this node's journal (`settings.journal_dir`); the reader is set to
/// streaming.
pub(crate) async fn open_transfer(
    settings: &PrimarySettings,
) -> Result<(FrameReader, WriteHalf, Hello), LinkError> {
    let dir = settings.journal_dir.clone();
    let (epoch, last, history) = tokio::task::spawn_blocking(move || {
        Ok::<_, LinkError>((
            drx_journal::current_epoch(&dir)?,
            drx_journal::last_seq(&dir)?,
            drx_journal::epoch_history(&dir)?,
        ))
    })
    .await
    .map_err(|e| LinkError::Stopped(format!("reading the journal's position: {e}")))??;
    let (mut reader, write, theirs) = open(
        settings,
        Role::Transfer,
        Role::Standby,
        epoch,
        last,
        crate::primary::newest(history),
    )
    .await?;
    reader.streaming();
    Ok((reader, write, theirs))
}
