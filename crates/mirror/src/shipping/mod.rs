//! Log shipping (docs/LOG_SHIPPING.md): a batch mode for links that are
//! not always up. On the primary, [`ship`] copies every finished journal
//! segment, checked and zstd-compressed, into a shipping directory, one
//! [`ShippedSegment`] file each (a [`Manifest`] then the compressed
//! segment), written atomically, and keeps the journal consumer
//! [`SHIP_CONSUMER`] at the last shipped seq so that retention keeps what
//! is not shipped yet. On the standby, [`apply_shipped`] applies the
//! shipped segments past the standby's durable seq, in seq order and
//! exactly once across crashes, through the standby server's own apply (the
//! standby journal, then the replica files). Moving the directory's files
//! from one host to the other (rsync, a USB disk, ...) is up to the
//! operator.
//!
//! * (the journal's segments are listed and checked by `drx-journal`:
//!   `segment_files`, `scan_segment`);
//! * `manifest` — the manifest that opens a shipped file;
//! * `shipped_segment` — writing a shipped file atomically, reading one
//!   back verified;
//! * `seal` — `--seal`: making the current segment a finished one;
//! * `ship`, `apply` — the two commands;
//! * `send`, `receive` — `drx ship --to-standby`: the same files sent over
//!   a transfer session, applied by the standby server.

mod apply;
mod error;
mod manifest;
pub(crate) mod receive;
mod seal;
mod send;
mod ship;
mod shipped_segment;

/// The format version of shipped segments this build writes and reads.
pub const SHIP_FORMAT_VERSION: u16 = 1;

pub(crate) use self::receive::{Shipped, apply_received};

pub use self::{
    apply::{AppliedSegment, ApplyOptions, ApplyReport, apply_shipped},
    error::ShippingError,
    manifest::Manifest,
    seal::SealOutcome,
    send::{
        SHIP_STANDBY_CONSUMER, SentSegment, ShipToStandbyOptions, ShipToStandbyReport,
        ship_to_standby,
    },
    ship::{DEFAULT_SHIP_LEVEL, SHIP_CONSUMER, ShipOptions, ShipReport, ship},
    shipped_segment::ShippedSegment,
};
