//! Capture: the library an application links to do record I/O on critical
//! files, every completed operation appended to the journal.
//!
//! A [`Capture`] is one process's session: its process name, the Files Table
//! (which files are critical for which processes) and the journal writer.
//! Files are opened through it in one of four organizations ([`Org`]): fixed,
//! relative, sequential and indexed. Each write, rewrite, delete, truncate,
//! rename, copy and file deletion is done first, then journaled with its
//! exact byte effect and its record meaning; a file that no include record
//! selects (or that an exclude record drops) is not journaled.
//! Transactions (`begin`/`commit`/`abort`) group changes; an abort undoes
//! them in the files byte for byte, and consumers never deliver them.
//! On a mirrored primary the session also journals checksums of its
//! critical files for the standby to compare (at open and close, every
//! `check_file_interval`, and for `drx verify`: [`Capture::checksum_files`],
//! [`request_checksums`]), never inside a transaction.
//! [`write_canary`] writes the canary record of `drx canary` (docs/CANARY.md)
//! through a session, like any application's record.
//!
//! ```
//! # let home = tempfile::tempdir().unwrap();
//! use drx_capture::{Capture, FileSpec, Org};
//! let config = drx_config::Config::parse("drx.toml",
//!     "[[files]]\nsource_path = \"*.dat\"\n", home.path()).unwrap();
//! let mut capture = Capture::open(&config, "example").unwrap();
//! let spec = FileSpec { organization: Org::Fixed, record_len: 4, layout: None };
//! let mut file = capture.create(&home.path().join("a.dat"), spec).unwrap();
//! let seq = capture.write(&mut file, b"abcd", None).unwrap();
//! assert_eq!(seq, 2); // 1 is the create
//! capture.close().unwrap();
//! ```

mod barrier;
mod canary;
mod capture;
mod checks;
mod demo;
mod error;
mod layouts;
mod record_file;
mod script;
mod spec;
mod sync_commit;

pub use crate::{
    barrier::journal_barrier,
    canary::{
        CANARY_LAYOUT, CANARY_NODE_ID_LEN, CANARY_RECORD_LEN, CanaryRecord, CanaryWritten,
        acked_seq, canary_layout, format_micros, write_canary,
    },
    capture::{Capture, CapturedFile, LOCK_WAIT},
    checks::{
        ChecksumRequest, ChecksumTicket, PostedRequest, is_mirrored, request_checksums, verify_dir,
    },
    demo::demo,
    error::CaptureError,
    layouts::{LayoutLoadError, layout_path, load_layout},
    record_file::{AppendRun, Applied, RecordFile, RecordOpKind, Target},
    script::{Script, ScriptError, ScriptSummary, encode},
    spec::{FileSpec, Org},
    sync_commit::SyncStats,
};
