use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use sha2::Sha256;

use super::ship::{ShipApplied, ShipData, ShipEnd, ShipHave, ShipOffer};
use super::transfer::{ListRequest, Listed, Listing, Touch, TouchFile, Touched};
use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn hello(role: Role, node_id: &str, nonce: u8) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        role,
        node_id: node_id.to_owned(),
        epoch: 7,
        last_seq: 1234,
        nonce: Nonce([nonce; NONCE_LEN]),
        history: epochs(&[(1, 1), (7, 1000)]),
    }
}

fn epochs(starts: &[(u64, u64)]) -> Vec<drx_journal::EpochStart> {
    starts
        .iter()
        .map(|&(epoch, first_seq)| drx_journal::EpochStart { epoch, first_seq })
        .collect()
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    let len = message.encode(&mut buf).expect("encodes");
    assert_eq!(len, buf.len());
    buf
}

/// A frame with intact checksums around any type code and payload.
fn raw_frame(code: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(b"DRXM");
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&[code, 0, 0, 0]);
    let header_crc = crc32c::crc32c(&frame);
    frame.extend_from_slice(&header_crc.to_le_bytes());
    frame.extend_from_slice(payload);
    frame.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    frame
}

fn entries_frame(first_seq: u64, entries: &[&[u8]]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut writer = EntriesWriter::new(&mut buf, first_seq).expect("first seq");
    for entry in entries {
        writer.push(entry).expect("fits");
    }
    writer.finish().expect("not empty");
    buf
}

/// Decodes a frame that must be whole and alone; checks that every proper
/// prefix of it needs more bytes.
fn decode_whole(buf: &[u8]) -> Message<'_> {
    for cut in 0..buf.len() {
        assert_eq!(
            Message::decode(&buf[..cut]),
            Ok(None),
            "prefix of {cut} bytes"
        );
    }
    let (message, used) = Message::decode(buf).expect("decodes").expect("whole");
    assert_eq!(used, buf.len());
    message
}

fn round_trip(message: &Message<'_>) {
    let buf = encode(message);
    assert_eq!(&decode_whole(&buf), message);
}

/// One message of every kind.
fn samples() -> Vec<Vec<u8>> {
    vec![
        encode(&Message::Hello(hello(Role::Primary, "paris-1", 1))),
        encode(&Message::Proof(Proof([0xA5; PROOF_LEN]))),
        encode(&Message::Welcome { resume_from: 1235 }),
        encode(&Message::Refused {
            reason: Reason::EpochFenced,
            text: "epoch 7 < 8".into(),
        }),
        entries_frame(1235, &[b"first entry", b"", b"third"]),
        encode(&Message::Ack { applied: 1237 }),
        encode(&Message::Heartbeat {
            last_seq: 1240,
            timestamp_us: 1_700_000_000_000_000,
        }),
        encode(&Message::Resend { from_seq: 1236 }),
        encode(&Message::Goodbye {
            reason: Reason::Shutdown,
            text: String::new(),
        }),
        encode(&Message::Verified(verified())),
    ]
}

/// A `Verified` naming a differing block.
fn verified() -> Verified {
    Verified {
        seq: 1238,
        path: "/data/orders.dat".into(),
        reason: drx_journal::ChecksumReason::Verify,
        verdict: Verdict::Differs,
        primary_size: 4 << 20,
        replica_size: 4 << 20,
        primary_records: Some(512),
        replica_records: None,
        block_size: 1 << 20,
        first_difference: Some(3),
        text: String::new(),
    }
}

// ---------------------------------------------------------------- frames

#[test]
fn crc32c_is_castagnoli() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn ack_frame_layout() {
    let buf = encode(&Message::Ack {
        applied: 0x0102_0304_0506_0708,
    });
    let mut expected = vec![b'D', b'R', b'X', b'M', 8, 0, 0, 0, 6, 0, 0, 0];
    let header_crc = crc32c::crc32c(&expected);
    expected.extend_from_slice(&header_crc.to_le_bytes());
    let payload = [8, 7, 6, 5, 4, 3, 2, 1];
    expected.extend_from_slice(&payload);
    expected.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    assert_eq!(buf, expected);
    assert_eq!(buf.len(), HEADER_LEN + 8 + TRAILER_LEN);
    assert_eq!(buf, raw_frame(6, &payload));
}

#[test]
fn ack_example_of_the_protocol_document() {
    // docs/PROTOCOL.md, "Example": Ack { applied: 1000 }.
    let expected = [
        0x44, 0x52, 0x58, 0x4D, 0x08, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0xD7, 0x63, 0x6F,
        0xBC, 0xE8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC7, 0xFB, 0x17, 0x55,
    ];
    assert_eq!(encode(&Message::Ack { applied: 1000 }), expected);
}

#[test]
fn header_announces_the_frame_length() {
    let buf = encode(&Message::Resend { from_seq: 9 });
    assert_eq!(FrameHeader::parse(&buf[..HEADER_LEN - 1]), Ok(None));
    let header = FrameHeader::parse(&buf[..HEADER_LEN])
        .expect("valid")
        .expect("whole header");
    assert_eq!(header.kind, MessageKind::Resend);
    assert_eq!(header.payload_len, 8);
    assert_eq!(header.frame_len(), buf.len());
}

#[test]
fn encode_appends_and_decode_streams() {
    let mut buf = Vec::new();
    Message::Ack { applied: 1 }.encode(&mut buf).expect("ack");
    let first = buf.len();
    Message::Heartbeat {
        last_seq: 2,
        timestamp_us: -3,
    }
    .encode(&mut buf)
    .expect("heartbeat");
    let (message, used) = Message::decode(&buf).expect("valid").expect("whole");
    assert_eq!(message, Message::Ack { applied: 1 });
    assert_eq!(used, first);
    let (message, used) = Message::decode(&buf[first..])
        .expect("valid")
        .expect("whole");
    assert_eq!(
        message,
        Message::Heartbeat {
            last_seq: 2,
            timestamp_us: -3
        }
    );
    assert_eq!(first + used, buf.len());
}

#[test]
fn empty_input_needs_more() {
    assert_eq!(Message::decode(&[]), Ok(None));
}

#[test]
fn bad_magic_is_seen_at_the_first_wrong_byte() {
    assert_eq!(
        Message::decode(b"X"),
        Err(DecodeError::BadMagic {
            offset: 0,
            found: b'X'
        })
    );
    assert_eq!(
        Message::decode(b"DRXm"),
        Err(DecodeError::BadMagic {
            offset: 3,
            found: b'm'
        })
    );
    // A TLS ClientHello sent to a plain port.
    let err = Message::decode(&[0x16, 0x03, 0x01]).expect_err("not drx");
    assert!(err.is_corruption());
    assert_eq!(err.recovery(), Recovery::Close);
    assert_eq!(err.reason(), Reason::CorruptStream);
}

#[test]
fn damaged_length_is_a_header_checksum_error_at_once() {
    let mut buf = encode(&Message::Ack { applied: 5 });
    buf[4] ^= 0x40; // length 8 -> 72: without the header CRC we would wait
    let err = Message::decode(&buf[..HEADER_LEN]).expect_err("damaged");
    assert!(matches!(err, DecodeError::HeaderChecksum { .. }), "{err}");
    assert!(
        err.to_string().contains("length or type is damaged"),
        "{err}"
    );
    assert_eq!(err.recovery(), Recovery::Close);
}

#[test]
fn oversized_length_is_refused_before_the_payload_arrives() {
    let len = (MAX_PAYLOAD_LEN + 1) as u32;
    let mut header = b"DRXM".to_vec();
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&[5, 0, 0, 0]);
    let crc = crc32c::crc32c(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    let err = Message::decode(&header).expect_err("too large");
    assert_eq!(err, DecodeError::FrameTooLarge { len });
    assert!(!err.is_corruption());
    assert_eq!(err.reason(), Reason::ProtocolViolation);
    assert!(err.to_string().contains("exceeds the maximum"), "{err}");
    // The largest allowed length is only waited for.
    let mut header = b"DRXM".to_vec();
    header.extend_from_slice(&(MAX_PAYLOAD_LEN as u32).to_le_bytes());
    header.extend_from_slice(&[5, 0, 0, 0]);
    let crc = crc32c::crc32c(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(Message::decode(&header), Ok(None));
}

#[test]
fn reserved_header_bytes_must_be_zero() {
    let mut frame = raw_frame(6, &[0; 8]);
    frame[10] = 1;
    let crc = crc32c::crc32c(&frame[..12]);
    frame[12..16].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        Message::decode(&frame),
        Err(DecodeError::ReservedNotZero { found: [0, 1, 0] })
    );
}

#[test]
fn unknown_types_are_refused() {
    for code in [0, 28, 0x80, 0xFF] {
        let frame = raw_frame(code, &[]);
        assert_eq!(
            Message::decode(&frame[..HEADER_LEN]),
            Err(DecodeError::UnknownType { code })
        );
    }
    for kind in MessageKind::ALL {
        assert_eq!(MessageKind::from_code(kind.code()), Some(kind));
    }
}

#[test]
fn damaged_payload_is_skipped_and_the_stream_goes_on() {
    let mut buf = entries_frame(10, &[b"abc", b"defg"]);
    let first = buf.len();
    buf[HEADER_LEN + 14] ^= 0x01;
    Message::Heartbeat {
        last_seq: 11,
        timestamp_us: 99,
    }
    .encode(&mut buf)
    .expect("heartbeat");

    let err = Message::decode(&buf).expect_err("damaged payload");
    match &err {
        DecodeError::PayloadChecksum {
            kind, frame_len, ..
        } => {
            assert_eq!(*kind, MessageKind::Entries);
            assert_eq!(*frame_len, first);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        err.to_string()
            .starts_with("Entries frame payload checksum mismatch")
    );
    assert!(err.is_corruption());
    let Recovery::SkipFrame(skip) = err.recovery() else {
        panic!("a damaged payload is skipped");
    };
    let (message, _) = Message::decode(&buf[skip..])
        .expect("valid")
        .expect("whole");
    assert_eq!(
        message,
        Message::Heartbeat {
            last_seq: 11,
            timestamp_us: 99
        }
    );
}

#[test]
fn damaged_trailer_is_a_payload_checksum_error() {
    let mut buf = encode(&Message::Welcome { resume_from: 3 });
    let last = buf.len() - 1;
    buf[last] ^= 0x80;
    assert!(matches!(
        Message::decode(&buf),
        Err(DecodeError::PayloadChecksum { .. })
    ));
}

#[test]
fn every_flipped_bit_of_every_message_is_detected() {
    for frame in samples() {
        let header = FrameHeader::parse(&frame)
            .expect("valid")
            .expect("whole header");
        for bit in 0..frame.len() * 8 {
            let mut damaged = frame.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let err = match Message::decode(&damaged) {
                Err(err) => err,
                Ok(other) => panic!("{} bit {bit}: {other:?}", header.kind),
            };
            assert!(err.is_corruption(), "{} bit {bit}: {err}", header.kind);
            if bit / 8 >= HEADER_LEN {
                assert_eq!(err.recovery(), Recovery::SkipFrame(frame.len()));
            } else {
                assert_eq!(err.recovery(), Recovery::Close);
            }
        }
    }
}

// ---------------------------------------------------------------- messages

#[test]
fn hello_round_trip_and_layout() {
    let h = Hello {
        version: 2,
        role: Role::Standby,
        node_id: "lyon-é".into(),
        epoch: 0x1122_3344_5566_7788,
        last_seq: 42,
        nonce: Nonce(std::array::from_fn(|i| i as u8)),
        history: epochs(&[(1, 1), (3, 40)]),
    };
    let buf = encode(&Message::Hello(h.clone()));
    let payload = &buf[HEADER_LEN..buf.len() - TRAILER_LEN];
    let n = "lyon-é".len();
    assert_eq!(buf[8], 1, "type");
    assert_eq!(payload.len(), 53 + n + 1 + 2 * 16);
    assert_eq!(&payload[0..2], &[2, 0], "version");
    assert_eq!(payload[2], 2, "role: standby");
    assert_eq!(payload[3], 0, "flags");
    assert_eq!(&payload[4..12], &0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(&payload[12..20], &42u64.to_le_bytes());
    assert_eq!(payload[20], 0);
    assert_eq!(payload[51], 31);
    assert_eq!(usize::from(payload[52]), n);
    assert_eq!(&payload[53..53 + n], "lyon-é".as_bytes());
    let h0 = 53 + n;
    assert_eq!(payload[h0], 2, "epoch count");
    assert_eq!(&payload[h0 + 1..h0 + 9], &1u64.to_le_bytes());
    assert_eq!(&payload[h0 + 9..h0 + 17], &1u64.to_le_bytes());
    assert_eq!(&payload[h0 + 17..h0 + 25], &3u64.to_le_bytes());
    assert_eq!(&payload[h0 + 25..h0 + 33], &40u64.to_le_bytes());
    assert_eq!(decode_whole(&buf), Message::Hello(h));
}

#[test]
fn a_hello_carries_one_to_255_epochs_in_order() {
    let mut h = hello(Role::Primary, "p", 1);
    h.history.clear();
    let mut out = Vec::new();
    assert!(Message::Hello(h.clone()).encode(&mut out).is_err());
    assert!(out.is_empty());
    // Epochs that go backwards are malformed.
    let mut body = Vec::new();
    for (epoch, first) in [(3u64, 1u64), (2, 5)] {
        body.extend_from_slice(&epoch.to_le_bytes());
        body.extend_from_slice(&first.to_le_bytes());
    }
    let mut trailing = vec![2];
    trailing.extend_from_slice(&body);
    let err = malformed(&raw_frame(1, &hello_payload(2, 1, 0, b"n", &trailing)));
    assert!(
        err.contains("epoch history: epoch 2 at seq 5 after epoch 3"),
        "{err}"
    );
    let err = malformed(&raw_frame(1, &hello_payload(2, 1, 0, b"n", &[0])));
    assert!(err.contains("epoch count: 0"), "{err}");
}

/// A valid version-2 history: epoch 1 from seq 1.
const ONE_EPOCH: [u8; 17] = [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];

fn hello_payload(version: u16, role: u8, flags: u8, node_id: &[u8], trailing: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&version.to_le_bytes());
    p.push(role);
    p.push(flags);
    p.extend_from_slice(&3u64.to_le_bytes());
    p.extend_from_slice(&4u64.to_le_bytes());
    p.extend_from_slice(&[9; NONCE_LEN]);
    p.push(node_id.len() as u8);
    p.extend_from_slice(node_id);
    p.extend_from_slice(trailing);
    p
}

fn malformed(frame: &[u8]) -> String {
    match Message::decode(frame) {
        Err(err @ DecodeError::Malformed { .. }) => {
            assert_eq!(err.recovery(), Recovery::Close);
            assert_eq!(err.reason(), Reason::ProtocolViolation);
            err.to_string()
        }
        other => panic!("expected a malformed message, got {other:?}"),
    }
}

#[test]
fn hello_of_version_1_is_strict() {
    let ok = raw_frame(1, &hello_payload(2, 1, 0, b"n", &ONE_EPOCH));
    assert!(matches!(decode_whole(&ok), Message::Hello(_)));
    let err = malformed(&raw_frame(
        1,
        &hello_payload(2, 1, 0, b"n", &[ONE_EPOCH.as_slice(), b"x"].concat()),
    ));
    assert_eq!(
        err,
        "malformed Hello message: 1 trailing bytes after the last field"
    );
    let err = malformed(&raw_frame(1, &hello_payload(2, 1, 4, b"n", &ONE_EPOCH)));
    assert!(err.contains("flags"), "{err}");
    let err = malformed(&raw_frame(1, &hello_payload(2, 0, 0, b"n", &ONE_EPOCH)));
    assert!(err.contains("role: unknown role 0"), "{err}");
    let err = malformed(&raw_frame(1, &hello_payload(2, 4, 0, b"n", &ONE_EPOCH)));
    assert!(err.contains("role: unknown role 4"), "{err}");
    let err = malformed(&raw_frame(1, &hello_payload(2, 1, 0, b"", &ONE_EPOCH)));
    assert!(err.contains("node id: empty"), "{err}");
    let err = malformed(&raw_frame(1, &hello_payload(2, 1, 0, b"\xFF", &ONE_EPOCH)));
    assert!(err.contains("node id: not UTF-8"), "{err}");
    let mut short = hello_payload(2, 1, 0, b"node", b"");
    short.pop();
    let err = malformed(&raw_frame(1, &short));
    assert!(
        err.contains("node id: needs 4 bytes, the payload has 3 left"),
        "{err}"
    );
}

#[test]
fn hello_of_another_version_is_read_leniently() {
    let frame = raw_frame(1, &hello_payload(3, 2, 0x81, b"future", b"new fields"));
    let Message::Hello(h) = decode_whole(&frame) else {
        panic!("a Hello");
    };
    assert_eq!(h.version, 3);
    assert_eq!(h.role, Role::Standby);
    assert_eq!(h.node_id, "future");
    assert_eq!((h.epoch, h.last_seq), (3, 4));
}

#[test]
fn hello_node_id_limits() {
    let mut buf = b"keep".to_vec();
    for id in [String::new(), "x".repeat(MAX_NODE_ID_LEN + 1)] {
        let mut h = hello(Role::Primary, "p", 1);
        h.node_id = id.clone();
        assert_eq!(
            Message::Hello(h).encode(&mut buf),
            Err(EncodeError::NodeIdLength { len: id.len() })
        );
        assert_eq!(buf, b"keep", "nothing appended");
    }
    let longest = hello(Role::Primary, &"x".repeat(MAX_NODE_ID_LEN), 1);
    round_trip(&Message::Hello(longest));
}

#[test]
fn proof_round_trip() {
    let buf = encode(&Message::Proof(Proof([7; PROOF_LEN])));
    assert_eq!(buf.len(), HEADER_LEN + PROOF_LEN + TRAILER_LEN);
    assert_eq!(buf[8], 2);
    assert_eq!(decode_whole(&buf), Message::Proof(Proof([7; PROOF_LEN])));
    malformed(&raw_frame(2, &[7; PROOF_LEN - 1]));
    malformed(&raw_frame(2, &[7; PROOF_LEN + 1]));
}

#[test]
fn welcome_round_trip() {
    let buf = encode(&Message::Welcome { resume_from: 77 });
    assert_eq!(buf[8], 3);
    assert_eq!(&buf[HEADER_LEN..HEADER_LEN + 8], &77u64.to_le_bytes());
    assert_eq!(decode_whole(&buf), Message::Welcome { resume_from: 77 });
    malformed(&raw_frame(3, &[0; 7]));
}

#[test]
fn refused_round_trip() {
    let message = Message::Refused {
        reason: Reason::UnsupportedVersion,
        text: "this node speaks version 1".into(),
    };
    let buf = encode(&message);
    assert_eq!(buf[8], 4);
    assert_eq!(&buf[HEADER_LEN..HEADER_LEN + 4], &[2, 0, 26, 0]);
    assert_eq!(decode_whole(&buf), message);
    let err = malformed(&raw_frame(4, &[3, 0, 2, 0, 0xC3, 0x28]));
    assert!(err.contains("text: not UTF-8"), "{err}");
    let err = malformed(&raw_frame(4, &[3, 0, 1, 0, b'a', b'b']));
    assert!(err.contains("trailing"), "{err}");
}

#[test]
fn goodbye_round_trip() {
    let message = Message::Goodbye {
        reason: Reason::Other(999),
        text: "from a newer peer".into(),
    };
    let buf = encode(&message);
    assert_eq!(buf[8], 9);
    assert_eq!(decode_whole(&buf), message);
    let mut buf = Vec::new();
    let long = Message::Goodbye {
        reason: Reason::Timeout,
        text: "x".repeat(MAX_TEXT_LEN + 1),
    };
    assert_eq!(
        long.encode(&mut buf),
        Err(EncodeError::TextTooLong {
            len: MAX_TEXT_LEN + 1
        })
    );
    assert!(buf.is_empty());
    round_trip(&Message::Goodbye {
        reason: Reason::Timeout,
        text: "x".repeat(MAX_TEXT_LEN),
    });
}

#[test]
fn reason_codes() {
    for code in 0..=20u16 {
        assert_eq!(Reason::from_code(code).code(), code);
    }
    assert_eq!(Reason::from_code(0), Reason::Other(0));
    assert_eq!(Reason::from_code(3), Reason::WrongSecret);
    assert_eq!(Reason::from_code(12), Reason::Other(12));
    assert_eq!(Reason::WrongSecret.to_string(), "wrong secret");
}

#[test]
fn entries_round_trip_and_layout() {
    let buf = entries_frame(100, &[b"one", b"", b"three"]);
    assert_eq!(buf[8], 5);
    let payload = &buf[HEADER_LEN..buf.len() - TRAILER_LEN];
    let mut expected = Vec::new();
    expected.extend_from_slice(&100u64.to_le_bytes());
    expected.extend_from_slice(&3u32.to_le_bytes());
    for e in [&b"one"[..], b"", b"three"] {
        expected.extend_from_slice(&(e.len() as u32).to_le_bytes());
        expected.extend_from_slice(e);
    }
    assert_eq!(payload, expected);

    let Message::Entries(entries) = decode_whole(&buf) else {
        panic!("Entries");
    };
    assert_eq!(entries.first_seq(), 100);
    assert_eq!(entries.count(), 3);
    assert_eq!(entries.last_seq(), 102);
    assert_eq!(entries.iter().len(), 3);
    let seqs: Vec<(u64, &[u8])> = entries.with_seqs().collect();
    assert_eq!(seqs, [(100, &b"one"[..]), (101, b""), (102, b"three")]);
    // Zero copy: the entries point into the received bytes.
    let third = entries.iter().nth(2).expect("three entries");
    let range = buf.as_ptr_range();
    assert!(range.contains(&third.as_ptr()));
    // Re-encoding the decoded batch gives the same frame.
    assert_eq!(encode(&Message::Entries(entries)), buf);
}

#[test]
fn entries_writer_refuses_what_cannot_be_sent() {
    let mut buf = b"keep".to_vec();
    assert_eq!(
        EntriesWriter::new(&mut buf, 0).map(|_| ()),
        Err(EncodeError::SeqOutOfRange {
            first_seq: 0,
            count: 0
        })
    );
    assert_eq!(
        EntriesWriter::new(&mut buf, 5).expect("seq 5").finish(),
        Err(EncodeError::EmptyBatch)
    );
    assert_eq!(buf, b"keep");
    {
        let mut writer = EntriesWriter::new(&mut buf, 5).expect("seq 5");
        writer.push(b"abandoned").expect("fits");
        assert_eq!(writer.count(), 1);
        assert_eq!(writer.payload_len(), 12 + 4 + 9);
    }
    assert_eq!(buf, b"keep", "a dropped writer leaves nothing");

    let mut writer = EntriesWriter::new(&mut buf, u64::MAX).expect("last seq");
    writer.push(b"last").expect("seq u64::MAX");
    assert_eq!(
        writer.push(b"past the last"),
        Err(EncodeError::SeqOutOfRange {
            first_seq: u64::MAX,
            count: 2
        })
    );
    let len = writer.finish().expect("one entry");
    let Message::Entries(entries) = decode_whole(&buf[4..]) else {
        panic!("Entries");
    };
    assert_eq!(len, buf.len() - 4);
    assert_eq!(entries.last_seq(), u64::MAX);
}

#[test]
fn entries_writer_fills_a_frame_to_the_maximum() {
    let big = vec![0x5A; MAX_ENTRY_LEN];
    let mut buf = Vec::new();
    let mut writer = EntriesWriter::new(&mut buf, 1).expect("seq 1");
    assert_eq!(
        writer.push(&vec![0; MAX_ENTRY_LEN + 1]),
        Err(EncodeError::EntryTooLarge {
            len: MAX_ENTRY_LEN + 1
        })
    );
    writer.push(&big).expect("the largest entry fits");
    let room = MAX_PAYLOAD_LEN - writer.payload_len() - 4;
    assert!(writer.fits(room));
    assert!(!writer.fits(room + 1));
    assert_eq!(
        writer.push(&vec![1; room + 1]),
        Err(EncodeError::FrameTooLarge {
            len: MAX_PAYLOAD_LEN + 1
        })
    );
    writer.push(&vec![1; room]).expect("fills the frame");
    assert_eq!(writer.payload_len(), MAX_PAYLOAD_LEN);
    let len = writer.finish().expect("two entries");
    assert_eq!(len, MAX_FRAME_LEN);
    let (message, used) = Message::decode(&buf).expect("valid").expect("whole");
    assert_eq!(used, MAX_FRAME_LEN);
    let Message::Entries(entries) = message else {
        panic!("Entries");
    };
    let lens: Vec<usize> = entries.iter().map(<[u8]>::len).collect();
    assert_eq!(lens, [MAX_ENTRY_LEN, room]);
}

#[test]
fn malformed_entries() {
    let payload = |first: u64, count: u32, body: &[u8]| {
        let mut p = first.to_le_bytes().to_vec();
        p.extend_from_slice(&count.to_le_bytes());
        p.extend_from_slice(body);
        raw_frame(5, &p)
    };
    let err = malformed(&payload(1, 0, b""));
    assert!(err.contains("count: 0"), "{err}");
    let err = malformed(&payload(0, 1, &[0, 0, 0, 0]));
    assert!(err.contains("cannot start at seq 0"), "{err}");
    let err = malformed(&payload(u64::MAX, 2, &[0; 8]));
    assert!(err.contains("cannot start at seq"), "{err}");
    // Count says 2, one entry present.
    let err = malformed(&payload(1, 2, &[1, 0, 0, 0, b'a']));
    assert!(err.contains("entry length: needs 4 bytes"), "{err}");
    // An entry longer than the payload.
    let err = malformed(&payload(1, 1, &[9, 0, 0, 0, b'a']));
    assert!(
        err.contains("entry: needs 9 bytes, the payload has 1 left"),
        "{err}"
    );
    // Bytes after the last entry.
    let err = malformed(&payload(1, 1, &[1, 0, 0, 0, b'a', b'b']));
    assert!(err.contains("trailing"), "{err}");
    // An entry length over the maximum.
    let err = malformed(&payload(1, 1, &u32::MAX.to_le_bytes()));
    assert!(err.contains("exceeds the maximum"), "{err}");
    // A huge count with nothing behind it fails fast.
    let err = malformed(&payload(1, u32::MAX, b""));
    assert!(err.contains("entry length"), "{err}");
}

#[test]
fn fixed_size_messages_must_have_their_size() {
    for (code, len) in [(3, 8), (6, 8), (7, 16), (8, 8)] {
        round_trip(&decode_whole(&raw_frame(code, &vec![1; len])).clone());
        malformed(&raw_frame(code, &vec![1; len - 1]));
        malformed(&raw_frame(code, &vec![1; len + 1]));
    }
}

#[test]
fn verified_round_trip_and_layout() {
    let v = verified();
    round_trip(&Message::Verified(v.clone()));
    let buf = encode(&Message::Verified(v.clone()));
    assert_eq!(buf[8], 10);
    let p = &buf[HEADER_LEN..buf.len() - TRAILER_LEN];
    assert_eq!(p.len(), 58 + v.path.len() + 2);
    assert_eq!(&p[0..8], &1238u64.to_le_bytes());
    assert_eq!(&p[8..12], &[4, 2, 0b101, 0]);
    assert_eq!(&p[12..16], &(1u32 << 20).to_le_bytes());
    assert_eq!(&p[32..40], &512u64.to_le_bytes());
    assert_eq!(&p[48..56], &3u64.to_le_bytes());
    assert_eq!(&p[56..58], &(v.path.len() as u16).to_le_bytes());
    assert_eq!(v.difference_range(), Some((3 << 20, 4 << 20)));
    assert_eq!(
        v.to_string(),
        "DIFFERS at block 3 (bytes 3145728..4194304): size 4194304 vs 4194304, records 512 vs ?"
    );
    for verdict in [Verdict::Identical, Verdict::Missing, Verdict::NotChecked] {
        round_trip(&Message::Verified(Verified {
            verdict,
            first_difference: None,
            primary_records: None,
            replica_records: Some(7),
            text: "why".into(),
            ..v.clone()
        }));
    }
    // Unknown codes and flags, a value without its flag, trailing bytes.
    for (at, value) in [
        (8, 0u8),
        (8, 5),
        (9, 0),
        (9, 5),
        (10, 0x08),
        (11, 1),
        (10, 0b001),
    ] {
        let mut payload = p.to_vec();
        payload[at] = value;
        malformed(&raw_frame(10, &payload));
    }
    let mut payload = p.to_vec();
    payload.push(0);
    malformed(&raw_frame(10, &payload));
    // A path or text over its limit is not sent.
    let long = Verified {
        text: "x".repeat(MAX_TEXT_LEN + 1),
        ..v
    };
    assert!(Message::Verified(long).encode(&mut Vec::new()).is_err());
}

#[test]
fn ack_heartbeat_resend_round_trip() {
    round_trip(&Message::Ack { applied: 0 });
    round_trip(&Message::Ack { applied: u64::MAX });
    round_trip(&Message::Heartbeat {
        last_seq: 5,
        timestamp_us: i64::MIN,
    });
    round_trip(&Message::Resend { from_seq: 1 });
    let buf = encode(&Message::Heartbeat {
        last_seq: 5,
        timestamp_us: -2,
    });
    assert_eq!(buf[8], 7);
    assert_eq!(
        &buf[HEADER_LEN + 8..HEADER_LEN + 16],
        &(-2i64).to_le_bytes()
    );
    assert_eq!(encode(&Message::Resend { from_seq: 1 })[8], 8);
    assert_eq!(encode(&Message::Ack { applied: 1 })[8], 6);
}

// ---------------------------------------------------------------- authentication

fn secret() -> Secret {
    Secret::new(SECRET).expect("long enough")
}

fn handshake() -> (Hello, Hello) {
    (
        hello(Role::Primary, "paris-1", 0x11),
        hello(Role::Standby, "lyon-2", 0x22),
    )
}

#[test]
fn proofs_verify_both_ways() {
    let (p, s) = handshake();
    let t = Transcript::new(&p, &s, b"").expect("handshake");
    let secret = secret();
    for role in [Role::Primary, Role::Standby] {
        let proof = t.proof(&secret, role);
        assert_eq!(t.verify(&secret, role, &proof), Ok(()));
    }
    assert_ne!(
        t.proof(&secret, Role::Primary),
        t.proof(&secret, Role::Standby)
    );
}

#[test]
fn proof_is_hmac_sha256_over_the_documented_input() {
    let (p, s) = handshake();
    let binding = [0xCB; 32];
    let t = Transcript::new(&p, &s, &binding).expect("handshake");
    let mut input = b"drx-mirror proof v1".to_vec();
    input.push(2); // prover: standby
    input.extend_from_slice(&2u16.to_le_bytes());
    for h in [&p, &s] {
        input.extend_from_slice(&h.epoch.to_le_bytes());
        input.extend_from_slice(&h.last_seq.to_le_bytes());
        input.extend_from_slice(&h.nonce.0);
        input.push(h.node_id.len() as u8);
        input.extend_from_slice(h.node_id.as_bytes());
        input.push(h.history.len() as u8);
        for e in &h.history {
            input.extend_from_slice(&e.epoch.to_le_bytes());
            input.extend_from_slice(&e.first_seq.to_le_bytes());
        }
    }
    input.extend_from_slice(&32u16.to_le_bytes());
    input.extend_from_slice(&binding);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key");
    mac.update(&input);
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(t.proof(&secret(), Role::Standby), Proof(expected));
}

#[test]
fn a_proof_made_with_another_secret_is_refused() {
    let (p, s) = handshake();
    let t = Transcript::new(&p, &s, b"").expect("handshake");
    let other = Secret::new(b"0123456789abcdef0123456789abcdeF").expect("long enough");
    let forged = t.proof(&other, Role::Primary);
    let err = t
        .verify(&secret(), Role::Primary, &forged)
        .expect_err("another secret");
    assert_eq!(
        err,
        AuthError::ProofMismatch {
            prover: Role::Primary
        }
    );
    assert!(err.to_string().contains("wrong secret"), "{err}");
}

#[test]
fn a_replayed_proof_is_refused() {
    let secret = secret();
    let (p, s) = handshake();
    let old = Transcript::new(&p, &s, b"").expect("handshake");
    let recorded = old.proof(&secret, Role::Primary);
    // The standby draws a fresh nonce for the next connection.
    let mut s2 = s.clone();
    s2.nonce = Nonce([0x33; NONCE_LEN]);
    let new = Transcript::new(&p, &s2, b"").expect("handshake");
    assert!(new.verify(&secret, Role::Primary, &recorded).is_err());
    // Or the attacker's own primary nonce.
    let mut p2 = p.clone();
    p2.nonce = Nonce([0x44; NONCE_LEN]);
    let new = Transcript::new(&p2, &s, b"").expect("handshake");
    assert!(new.verify(&secret, Role::Primary, &recorded).is_err());
}

#[test]
fn a_reflected_proof_is_refused() {
    let secret = secret();
    let (p, s) = handshake();
    let t = Transcript::new(&p, &s, b"").expect("handshake");
    // The standby's own proof sent back to it as the primary's.
    let standby_proof = t.proof(&secret, Role::Standby);
    assert_eq!(
        t.verify(&secret, Role::Primary, &standby_proof),
        Err(AuthError::ProofMismatch {
            prover: Role::Primary
        })
    );
    let primary_proof = t.proof(&secret, Role::Primary);
    assert!(t.verify(&secret, Role::Standby, &primary_proof).is_err());
    // An echoed nonce is refused before any proof.
    let mut echo = s.clone();
    echo.nonce = p.nonce;
    assert_eq!(
        Transcript::new(&p, &echo, b""),
        Err(AuthError::ReflectedNonce)
    );
}

#[test]
fn every_handshake_field_is_covered() {
    let secret = secret();
    let (p, s) = handshake();
    let t = Transcript::new(&p, &s, b"").expect("handshake");
    let proof = t.proof(&secret, Role::Primary);
    let changes: [fn(&mut Hello); 4] = [
        |h| h.epoch += 1,
        |h| h.last_seq += 1,
        |h| h.node_id.push('x'),
        |h| h.nonce.0[31] ^= 1,
    ];
    for change in changes {
        for side in [Role::Primary, Role::Standby] {
            let (mut p2, mut s2) = (p.clone(), s.clone());
            change(if side == Role::Primary {
                &mut p2
            } else {
                &mut s2
            });
            let t2 = Transcript::new(&p2, &s2, b"").expect("handshake");
            assert!(t2.verify(&secret, Role::Primary, &proof).is_err());
        }
    }
    // Swapping node ids between the roles changes the proof too.
    let (mut p2, mut s2) = (p.clone(), s.clone());
    std::mem::swap(&mut p2.node_id, &mut s2.node_id);
    let t2 = Transcript::new(&p2, &s2, b"").expect("handshake");
    assert!(t2.verify(&secret, Role::Primary, &proof).is_err());
    // And the channel binding.
    let t2 = Transcript::new(&p, &s, b"tls session").expect("handshake");
    assert!(t2.verify(&secret, Role::Primary, &proof).is_err());
}

#[test]
fn transcript_checks_the_hellos() {
    let (p, s) = handshake();
    let bad = |r: Result<Transcript, AuthError>| match r {
        Err(AuthError::BadHandshake { detail }) => detail,
        other => panic!("expected a bad handshake, got {other:?}"),
    };
    assert!(bad(Transcript::new(&s, &p, b"")).contains("primary's Hello has role standby"));
    assert!(bad(Transcript::new(&p, &p, b"")).contains("standby's Hello has role primary"));
    let mut v3 = s.clone();
    v3.version = 3;
    assert!(bad(Transcript::new(&p, &v3, b"")).contains("version 3, not 2"));
    let mut no_history = s.clone();
    no_history.history.clear();
    assert!(bad(Transcript::new(&p, &no_history, b"")).contains("carries 0 epochs"));
    let mut empty = p.clone();
    empty.node_id.clear();
    assert!(bad(Transcript::new(&empty, &s, b"")).contains("node id is 0 bytes"));
    assert!(bad(Transcript::new(&p, &s, &vec![0; 65_536])).contains("channel binding"));
}

#[test]
fn secrets_and_nonces() {
    assert_eq!(
        Secret::new(&[1; MIN_SECRET_LEN - 1]).map(|_| ()),
        Err(AuthError::SecretTooShort {
            len: MIN_SECRET_LEN - 1
        })
    );
    assert!(Secret::new(&[1; MIN_SECRET_LEN]).is_ok());
    assert_eq!(format!("{:?}", secret()), "Secret(<redacted>)");
    let a = Nonce::random().expect("random");
    let b = Nonce::random().expect("random");
    assert_ne!(a, b);
}

// ---------------------------------------------------------------- properties

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max)
        .prop_map(|chars| chars.into_iter().collect::<String>())
}

fn arb_node_id() -> impl Strategy<Value = String> {
    arb_text(60).prop_map(|mut s| {
        if s.is_empty() {
            s.push('n');
        }
        while s.len() > MAX_NODE_ID_LEN {
            s.pop();
        }
        s
    })
}

fn arb_reason() -> impl Strategy<Value = Reason> {
    any::<u16>().prop_map(Reason::from_code)
}

fn arb_hello() -> impl Strategy<Value = Hello> {
    (
        prop_oneof![Just(Role::Primary), Just(Role::Standby)],
        arb_node_id(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; NONCE_LEN]>(),
        proptest::collection::vec((1u64..1000, 0u64..1000), 0..5),
    )
        .prop_map(|(role, node_id, epoch, last_seq, nonce, steps)| {
            // Epochs and first seqs that grow.
            let mut history = epochs(&[(1, 1)]);
            for (de, ds) in steps {
                let last = history[history.len() - 1];
                history.push(drx_journal::EpochStart {
                    epoch: last.epoch + de,
                    first_seq: last.first_seq + ds,
                });
            }
            Hello {
                version: PROTOCOL_VERSION,
                role,
                node_id,
                epoch,
                last_seq,
                nonce: Nonce(nonce),
                history,
            }
        })
}

/// Every message but `Entries` (which borrows; see `entries_round_trip`).
fn arb_owned_message() -> impl Strategy<Value = Message<'static>> {
    prop_oneof![
        arb_hello().prop_map(Message::Hello),
        any::<[u8; PROOF_LEN]>().prop_map(|p| Message::Proof(Proof(p))),
        any::<u64>().prop_map(|resume_from| Message::Welcome { resume_from }),
        (arb_reason(), arb_text(40)).prop_map(|(reason, text)| Message::Refused { reason, text }),
        any::<u64>().prop_map(|applied| Message::Ack { applied }),
        (any::<u64>(), any::<i64>()).prop_map(|(last_seq, timestamp_us)| Message::Heartbeat {
            last_seq,
            timestamp_us
        }),
        any::<u64>().prop_map(|from_seq| Message::Resend { from_seq }),
        (arb_reason(), arb_text(40)).prop_map(|(reason, text)| Message::Goodbye { reason, text }),
        arb_verified().prop_map(Message::Verified),
        arb_repair_request().prop_map(Message::RepairRequest),
        arb_repair().prop_map(Message::Repair),
        any::<u64>().prop_map(|last_seq| Message::Handover { last_seq }),
        (arb_text(12), arb_text(30), 1u32..).prop_map(|(process, file, block_size)| {
            Message::SumsRequest(SumsRequest {
                process,
                file,
                block_size,
            })
        }),
        arb_sums().prop_map(Message::Sums),
        (
            arb_text(12),
            arb_text(30),
            0u64..u64::MAX / 2,
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(process, file, offset, data)| Message::Blocks(Blocks {
                process,
                file,
                offset,
                data
            })),
        (arb_text(12), arb_text(30), any::<u64>(), any::<u64>()).prop_map(
            |(process, file, len, from_seq)| Message::BlocksEnd(BlocksEnd {
                process,
                file,
                len,
                from_seq
            })
        ),
        (
            arb_text(12),
            arb_text(30),
            any::<(u64, u64, u64)>(),
            proptest::option::of(arb_text(40))
        )
            .prop_map(
                |(process, file, (blocks, bytes, replayed), failed)| Message::Synced(Synced {
                    process,
                    file,
                    blocks,
                    bytes,
                    replayed,
                    failed
                })
            ),
        (arb_text(12), arb_text(30), arb_text(8)).prop_map(|(process, dir, pattern)| {
            Message::ListRequest(ListRequest {
                process,
                dir,
                pattern,
            })
        }),
        (
            arb_text(12),
            arb_text(30),
            proptest::collection::vec((arb_text(20), any::<u64>(), any::<u64>()), 0..5)
        )
            .prop_map(|(process, dir, files)| Message::Listing(Listing {
                process,
                dir,
                files: files
                    .into_iter()
                    .map(|(name, len, mtime_ns)| Listed {
                        name,
                        len,
                        mtime_ns
                    })
                    .collect(),
            })),
        (
            arb_text(12),
            arb_text(30),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(process, file, stamp)| Message::TouchFile(TouchFile {
                process,
                file,
                touch: stamp.map_or(Touch::Remove, Touch::Stamp),
            })),
        (
            arb_text(12),
            arb_text(30),
            proptest::option::of(arb_text(40))
        )
            .prop_map(|(process, file, failed)| Message::Touched(Touched {
                process,
                file,
                failed
            })),
        (arb_text(30), any::<u64>())
            .prop_map(|(name, len)| Message::ShipOffer(ShipOffer { name, len })),
        (arb_text(30), any::<u64>())
            .prop_map(|(name, have)| Message::ShipHave(ShipHave { name, have })),
        (
            arb_text(30),
            0..=u64::MAX / 2,
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(name, offset, data)| Message::ShipData(ShipData {
                name,
                offset,
                data
            })),
        arb_text(30).prop_map(|name| Message::ShipEnd(ShipEnd { name })),
        (
            arb_text(30),
            any::<(u64, u64)>(),
            proptest::option::of(arb_text(40))
        )
            .prop_map(|(name, (entries, durable), failed)| Message::ShipApplied(
                ShipApplied {
                    name,
                    entries,
                    durable,
                    failed
                }
            )),
    ]
}

/// A `TouchFile` of an unknown kind, or a removal with a time, is
/// malformed; a `Listing` is checked against its count.
#[test]
fn equalizer_messages_are_checked() {
    let stamp = TouchFile {
        process: "p".into(),
        file: "/a/b.cfg".into(),
        touch: Touch::Stamp(1_700_000_000_123_456_789),
    };
    round_trip(&Message::TouchFile(stamp.clone()));
    let mut payload = encode(&Message::TouchFile(stamp));
    payload.drain(..HEADER_LEN);
    payload.truncate(payload.len() - TRAILER_LEN);
    payload[0] = 9;
    let text = malformed(&raw_frame(MessageKind::TouchFile.code(), &payload));
    assert!(text.contains("what: unknown 0x09"), "{text}");
    payload[0] = 2;
    let text = malformed(&raw_frame(MessageKind::TouchFile.code(), &payload));
    assert!(
        text.contains("a removal with a modification time"),
        "{text}"
    );
    let listing = Listing {
        process: "p".into(),
        dir: "/a".into(),
        files: vec![Listed {
            name: "b.cfg".into(),
            len: 3,
            mtime_ns: 5,
        }],
    };
    round_trip(&Message::Listing(listing.clone()));
    let mut payload = encode(&Message::Listing(listing));
    payload.drain(..HEADER_LEN);
    payload.truncate(payload.len() - TRAILER_LEN);
    // The count (after two names of 2+1 and 2+2 bytes) says two files.
    payload[7] = 2;
    let text = malformed(&raw_frame(MessageKind::Listing.code(), &payload));
    assert!(text.contains("file name"), "{text}");
}

fn arb_sums() -> impl Strategy<Value = Sums> {
    (
        arb_text(12),
        arb_text(30),
        proptest::option::of(0u64..5000),
        1u32..700,
    )
        .prop_flat_map(|(process, file, len, block_size)| {
            let count = len.map_or(0, |l| l.div_ceil(u64::from(block_size)) as usize);
            proptest::collection::vec(any::<[u8; SUM_LEN]>(), count).prop_map(move |sums| Sums {
                process: process.clone(),
                file: file.clone(),
                len,
                block_size,
                sums,
            })
        })
}

#[test]
fn sums_layout_and_consistency() {
    let sums = Sums {
        process: "p".into(),
        file: "/f".into(),
        len: Some(10),
        block_size: 4,
        sums: vec![[1; SUM_LEN], [2; SUM_LEN], [3; SUM_LEN]],
    };
    let frame = encode(&Message::Sums(sums.clone()));
    let payload = &frame[HEADER_LEN..frame.len() - TRAILER_LEN];
    // flags, "p", "/f", length 10, block size 4, count 3, the digests.
    assert_eq!(payload[0], 0);
    assert_eq!(&payload[1..4], b"\x01\x00p");
    assert_eq!(&payload[4..8], b"\x02\x00/f");
    assert_eq!(&payload[8..16], &10u64.to_le_bytes());
    assert_eq!(&payload[16..20], &4u32.to_le_bytes());
    assert_eq!(&payload[20..24], &3u32.to_le_bytes());
    assert_eq!(payload.len(), 24 + 3 * SUM_LEN);
    round_trip(&Message::Sums(sums.clone()));
    // A digest count that does not match the length is refused both ways.
    let short = Sums {
        sums: vec![[1; SUM_LEN]; 2],
        ..sums.clone()
    };
    assert!(Message::Sums(short).encode(&mut Vec::new()).is_err());
    let mut lying = payload.to_vec();
    lying[20..24].copy_from_slice(&2u32.to_le_bytes());
    lying.truncate(24 + 2 * SUM_LEN);
    let text = malformed(&raw_frame(MessageKind::Sums.code(), &lying));
    assert!(
        text.contains("block count 2 for a length of 10 in blocks of 4"),
        "{text}"
    );
    // An absent replica has no length and no digests.
    let absent = Sums {
        len: None,
        sums: Vec::new(),
        ..sums
    };
    round_trip(&Message::Sums(absent));
}

#[test]
fn transfer_is_role_3_and_proves_in_the_primarys_place() {
    assert_eq!(Role::from_code(3), Some(Role::Transfer));
    assert_eq!(Role::Transfer.peer(), Role::Standby);
    let mut transfer = hello(Role::Transfer, "paris", 1);
    let standby = hello(Role::Standby, "lyon", 2);
    round_trip(&Message::Hello(transfer.clone()));
    let t = Transcript::new(&transfer, &standby, b"").expect("a transfer's handshake");
    let proof = t.proof(&secret(), Role::Transfer);
    t.verify(&secret(), Role::Transfer, &proof)
        .expect("verifies");
    // A primary's proof is not a transfer's, nor the reverse.
    assert!(t.verify(&secret(), Role::Primary, &proof).is_err());
    assert!(
        t.verify(
            &secret(),
            Role::Transfer,
            &t.proof(&secret(), Role::Primary)
        )
        .is_err()
    );
    transfer.role = Role::Standby;
    assert!(Transcript::new(&transfer, &standby, b"").is_err());
}

fn arb_repair_request() -> impl Strategy<Value = RepairRequest> {
    proptest::collection::vec(
        (
            arb_text(12),
            arb_text(30),
            proptest::collection::vec((any::<u64>(), any::<u64>()), 0..4),
        )
            .prop_map(|(process, file, ranges)| RepairWant {
                process,
                file,
                ranges,
            }),
        0..4,
    )
    .prop_map(|files| RepairRequest { files })
}

fn arb_repair() -> impl Strategy<Value = Repair> {
    (
        arb_text(12),
        arb_text(30),
        any::<Option<u64>>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(process, file, len, offset, data, last)| Repair {
            process,
            file,
            data: if len.is_some() { data } else { Vec::new() },
            len,
            offset,
            last,
        })
}

fn arb_verified() -> impl Strategy<Value = Verified> {
    (
        (any::<u64>(), arb_text(40), 0usize..4, 1u8..=4),
        (
            any::<u64>(),
            any::<u64>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
        ),
        (any::<u32>(), any::<Option<u64>>(), arb_text(30)),
    )
        .prop_map(
            |(
                (seq, path, reason, verdict),
                (primary_size, replica_size, primary_records, replica_records),
                (block_size, first_difference, text),
            )| Verified {
                seq,
                path,
                reason: drx_journal::ChecksumReason::ALL[reason],
                verdict: Verdict::from_code(verdict).unwrap_or(Verdict::Identical),
                primary_size,
                replica_size,
                primary_records,
                replica_records,
                block_size,
                first_difference,
                text,
            },
        )
}

fn arb_batch() -> impl Strategy<Value = (u64, Vec<Vec<u8>>)> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..12).prop_flat_map(
        |entries| {
            let max_first = u64::MAX - (entries.len() as u64 - 1);
            (
                prop_oneof![1..=1000u64, 1..=max_first, Just(max_first)],
                Just(entries),
            )
        },
    )
}

/// A stream of frames of every kind.
fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            arb_owned_message().prop_map(|m| encode(&m)),
            arb_batch().prop_map(|(first, entries)| {
                let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                entries_frame(first, &slices)
            }),
        ],
        1..6,
    )
    .prop_map(|frames| frames.concat())
}

/// Decodes every frame of `buf`; panics on an error.
fn decode_all(buf: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let (message, used) = Message::decode(&buf[at..]).expect("valid").expect("whole");
        frames.push(encode(&message));
        at += used;
    }
    frames
}

proptest! {
    #[test]
    fn every_message_round_trips(message in arb_owned_message()) {
        let buf = encode(&message);
        let (decoded, used) = Message::decode(&buf).expect("valid").expect("whole");
        prop_assert_eq!(used, buf.len());
        prop_assert_eq!(decoded.clone().into_owned(), Some(message.clone()));
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn entries_round_trip((first_seq, entries) in arb_batch()) {
        let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let buf = entries_frame(first_seq, &slices);
        let (decoded, used) = Message::decode(&buf).expect("valid").expect("whole");
        prop_assert_eq!(used, buf.len());
        let Message::Entries(batch) = decoded else {
            return Err(TestCaseError::fail("not Entries"));
        };
        prop_assert_eq!(batch.first_seq(), first_seq);
        prop_assert_eq!(batch.count() as usize, entries.len());
        prop_assert_eq!(batch.last_seq(), first_seq + (entries.len() as u64 - 1));
        prop_assert_eq!(batch.iter().collect::<Vec<_>>(), slices);
        prop_assert_eq!(encode(&Message::Entries(batch)), buf);
    }

    #[test]
    fn any_bytes_decode_need_more_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&bytes);
        let _ = FrameHeader::parse(&bytes);
        // Behind a valid magic too.
        let mut framed = b"DRXM".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = Message::decode(&framed);
    }

    /// Arbitrary payloads behind intact checksums reach every payload
    /// decoder; whatever decodes is canonical (it encodes back to the same
    /// frame), except a lenient `Hello` of another version.
    #[test]
    fn any_payload_decodes_or_is_malformed(
        code in 0u8..=27,
        payload in prop::collection::vec(any::<u8>(), 0..160),
    ) {
        let frame = raw_frame(code, &payload);
        match Message::decode(&frame) {
            Ok(Some((message, used))) => {
                prop_assert_eq!(used, frame.len());
                let lenient = matches!(&message, Message::Hello(h) if h.version != PROTOCOL_VERSION);
                if !lenient {
                    prop_assert_eq!(encode(&message), frame);
                }
            }
            Ok(None) => return Err(TestCaseError::fail("a whole frame needs no more")),
            Err(err) => prop_assert!(!err.is_corruption(), "{}", err),
        }
    }

    #[test]
    fn a_flipped_bit_is_detected(stream in arb_stream(), pick in any::<prop::sample::Index>()) {
        let first = FrameHeader::parse(&stream).expect("valid").expect("header").frame_len();
        let bit = pick.index(first * 8);
        let mut damaged = stream.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let err = Message::decode(&damaged);
        prop_assert!(matches!(err, Err(ref e) if e.is_corruption()), "{:?}", err);
    }

    #[test]
    fn a_stream_decodes_in_any_pieces(stream in arb_stream(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let expected = decode_all(&stream);
        // Feed the bytes in pieces, as reads from a socket would.
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        let mut buffer = Vec::new();
        let mut got = Vec::new();
        let mut fed = 0;
        for cut in cuts {
            buffer.extend_from_slice(&stream[fed..cut]);
            fed = cut;
            while let Some((message, used)) = Message::decode(&buffer).expect("valid") {
                got.push(encode(&message));
                buffer.drain(..used);
            }
        }
        prop_assert!(buffer.is_empty());
        prop_assert_eq!(got, expected);
    }
}
