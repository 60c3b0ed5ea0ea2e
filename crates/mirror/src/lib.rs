//! Mirroring: a primary streams its journal to a standby, which applies it
//! to replica files so that they equal the primary's, byte for byte, as of
//! the last applied sequence number.
//!
//! * `protocol` — the versioned wire protocol (docs/PROTOCOL.md): frames
//!   with checksums, the handshake, authentication, entries, acks and
//!   heartbeats; codecs only, no sockets;
//! * `replica` — applying journal entries to replica files: path mapping,
//!   confinement to the replica roots, transactions applied whole or not at
//!   all, durability before an acknowledgement;
//! * [`standby`] and [`primary`] — the link over TCP, optionally inside
//!   mutual TLS ([`ServerTls`], [`ClientTls`]) (tokio): the standby
//!   listens ([`standby::run`]), the primary connects and streams its
//!   journal ([`primary::run`]), each until its shutdown future completes;
//!   both keep a [`StatusBoard`] up to date for `drx status`;
//! * [`sync`] and [`refresh`] — delta resync (`drx sync`, `drx refresh`;
//!   docs/DR.md): a transfer session sends the standby only the blocks of
//!   a file whose blake3 digests differ from its replica's, while
//!   mirroring goes on;
//! * [`equalize`] — the equalizer (`drx equalize`; docs/DR.md): the
//!   Files Table's non-transactional files (equalize records) copied to
//!   the standby when new or modified there, orphans reported or removed;
//! * `shipping` — log shipping (docs/LOG_SHIPPING.md): [`ship`] writes
//!   the finished journal segments, checked and compressed, to a
//!   directory; [`apply_shipped`] applies them on the standby, in order and
//!   exactly once, through the standby's own apply; [`ship_to_standby`]
//!   sends them over a transfer session to the standby server, which
//!   applies them as they arrive.

mod applier;
mod backup;
mod commit_socket;
mod crash_point;
mod delta_sync;
mod equalizer;
mod error;
mod feed;
mod link;
pub mod primary;
mod promotion;
mod protocol;
mod rejoin;
mod repair_server;
mod replica;
mod servers;
mod service;
mod session;
mod settings;
mod shipping;
mod shutdown;
pub mod standby;
mod status;
mod switchover;
mod tls;
mod transfer_server;

pub use crate::backup::{
    BackupCopy, BackupError, BackupFile, BackupManifest, BackupOptions, BackupRange, BackupReport,
    Barrier, MANIFEST_FILE, MANIFEST_VERSION, Pace, RANGE_FILE, RestoreOptions, RestoreReport,
    RestoreTarget, RestoredFile, format_micros, parse_rfc3339, restore, take_backup,
};
pub use crate::delta_sync::{
    DEFAULT_SETTLE, FileSynced, MAX_SYNC_BLOCK, MIN_SYNC_BLOCK, SyncOptions, SyncProgress,
    SyncReport, TARGET_BLOCKS, block_size_for_sync, human_bytes, refresh, sync,
};
pub use crate::equalizer::{
    DEFAULT_EQUALIZE_MINUTES, EqualizeReport, EqualizeSchedule, Equalized, EqualizedFile,
    MAX_DIRS_VISITED, NO_REPLAY, equalize, equalize_record_list, equalize_records, record_interval,
};
pub use crate::protocol::transfer::{ListRequest, Listed, Listing, Touch, TouchFile, Touched};
pub use crate::protocol::{
    AuthError, DecodeError, EncodeError, Entries, EntriesWriter, EntryIter, FrameHeader,
    HEADER_LEN, Hello, MAGIC, MAX_ENTRY_LEN, MAX_FRAME_LEN, MAX_NODE_ID_LEN, MAX_PAYLOAD_LEN,
    MAX_TEXT_LEN, MIN_SECRET_LEN, Message, MessageKind, NONCE_LEN, Nonce, PROOF_LEN,
    PROTOCOL_VERSION, Proof, Reason, Recovery, Role, Secret, TRAILER_LEN, Transcript,
};
pub use crate::protocol::{
    BlockSum, Blocks, BlocksEnd, MAX_BLOCKS_DATA, MAX_SUMS, SUM_LEN, Sums, SumsRequest, Synced,
    block_count,
};
pub use crate::protocol::{
    MAX_HISTORY, MAX_PATH_LEN, MAX_REPAIR_DATA, Repair, RepairRequest, RepairWant, TO_THE_END,
    Verdict, Verified,
};
pub use crate::replica::{
    Outcome, Refusal, Replica, ReplicaConfig, ReplicaError, append_verify_result,
    read_verify_results, verify_results_path,
};
pub use crate::shipping::{
    AppliedSegment, ApplyOptions, ApplyReport, DEFAULT_SHIP_LEVEL, Manifest, SHIP_CONSUMER,
    SHIP_FORMAT_VERSION, SHIP_STANDBY_CONSUMER, SealOutcome, SentSegment, ShipOptions, ShipReport,
    ShipToStandbyOptions, ShipToStandbyReport, ShippedSegment, ShippingError, apply_shipped, ship,
    ship_to_standby,
};
pub use crate::{
    error::LinkError,
    promotion::{PROMOTE_PROCESS, Promotion, promote},
    rejoin::{Rejoined, rejoin},
    servers::{local_roles, recovery, serve_roles},
    service::{read_status, serve_primary, serve_standby},
    settings::{
        DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ENTRIES, Heartbeats, PrimarySettings, StandbySettings,
        link_address, link_host, load_secret, node_id, standby_journal,
    },
    status::{
        AckedSeq, FileCounters, JournalWake, LinkCounters, LinkState, MirrorStatus, StatusBoard,
    },
    switchover::{Handover, Switched, switchover},
    tls::{CHANNEL_BINDING_LEN, ClientTls, EXPORTER_LABEL, ServerTls, TlsError, TlsFiles},
};
