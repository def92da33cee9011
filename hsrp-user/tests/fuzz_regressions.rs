//! Inputs the fuzz targets (hsrp-user/fuzz, docs/fuzzing.md) flagged, and the seed corpora
//! they start from, kept as ordinary tests so `cargo test` replays them without libFuzzer.

use std::fs;
use std::path::{Path, PathBuf};

use hsrp_user::config;
use hsrp_user::fsm::Timers;
use hsrp_user::proto::{Auth, Opcode, State, Version};
use hsrp_user::wire::{self, Decoded, Repr};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed directory {} unreadable: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("dir entry").path();
            let b = fs::read(&p).expect("seed readable");
            (p, b)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// payload_v1, first finding: an all-zero v1 Hello (hello 0 s, hold 0 s, priority 0) is
/// well formed and accepted without auth, but re-encoding it sends 1 s timers, because the
/// encoder never puts a 0 (meaning "no timer") on the wire. Not a codec bug — the fuzz
/// invariant was too strict — but the state machine must never learn zero timers from it.
#[test]
fn v1_zero_timers_decode_but_are_never_learned() {
    let payload = [0u8; 20];
    let msg = match wire::decode_payload(&payload, &Auth::None) {
        Ok(Decoded::Group(m)) => m,
        other => panic!("all-zero v1 Hello: {other:?}"),
    };
    assert_eq!(
        (msg.version, msg.opcode, msg.state, msg.priority),
        (Version::V1, Opcode::Hello, State::Initial, 0)
    );
    assert_eq!((msg.hello_ms, msg.hold_ms, msg.vip), (0, 0, None));
    assert_eq!(Timers::from_wire(msg.hello_ms, msg.hold_ms), None);
    assert_eq!(Timers::from_wire(0, 3000), None, "zero hello");
    assert_eq!(Timers::from_wire(3000, 3000), None, "hold == hello");

    let mut buf = [0u8; wire::MAX_PAYLOAD_LEN];
    let n = wire::encode_group(&msg, &Auth::None, "10.0.0.2".parse().unwrap(), &mut buf).unwrap();
    assert_eq!(n, 20);
    assert_eq!(&buf[3..5], &[1, 1], "hello/hold seconds on the wire");
    // Under the default text auth the all-zero text field is an auth failure, not malformed.
    let e = wire::decode_payload(&payload, &Auth::DefaultText).unwrap_err();
    assert!(e.is_auth(), "{e}");
}

/// Every payload seed (real Cisco captures and the MD5 test vectors of docs/protocol.md §3.3)
/// parses, and round-trips through `Repr`.
#[test]
fn payload_seeds_parse_and_round_trip() {
    let mut count = 0;
    for target in ["payload_v1", "payload_v2"] {
        for (path, bytes) in seeds(target) {
            let repr = Repr::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut buf = [0u8; 256];
            let n = repr.emit(&mut buf).unwrap();
            assert_eq!(Repr::parse(&buf[..n]), Ok(repr), "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 30, "only {count} payload seeds");
}

/// The signed_message property on a real capture: the public v1 MD5 Hello (key `openwall`)
/// verifies as captured, and changing any single byte of it, or cutting it short, is
/// rejected — nobody without the key gets an altered message accepted.
#[test]
fn md5_capture_rejects_every_single_byte_change() {
    let hex = "000004030a5a01000000000000000000ac102801041c01000000ac10281400000000\
               f15dfa631a0679e0801f8e6b0c0c17ac";
    let sent: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let auth = Auth::Md5 {
        key: b"openwall".to_vec(),
        key_id: 0,
    };
    assert!(matches!(
        wire::decode_payload(&sent, &auth),
        Ok(Decoded::Group(_))
    ));
    for at in 0..sent.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut t = sent.clone();
            t[at] ^= flip;
            assert!(
                wire::decode_payload(&t, &auth).is_err(),
                "byte {at} ^ {flip:#04x} accepted"
            );
        }
    }
    for len in 0..sent.len() {
        assert!(
            wire::decode_payload(&sent[..len], &auth).is_err(),
            "cut at {len}"
        );
    }
    // The same bytes under a wrong key are an authentication failure (counted), not junk.
    let wrong = Auth::Md5 {
        key: b"openwal".to_vec(),
        key_id: 0,
    };
    assert!(wire::decode_payload(&sent, &wrong).unwrap_err().is_auth());
}

/// signed_message finding (fuzz smoke run): a v1 MD5-signed Coup whose first two bytes were
/// changed to `02 04` parses as a v2 Interface State TLV, a message the wire never
/// authenticates and the daemon never acts on. The property is that no tampered payload is
/// accepted as a *group* message; this one must not be one.
#[test]
fn tampered_md5_payload_may_read_as_interface_state_but_never_as_a_group_message() {
    let tampered: [u8; 50] = [
        0x02, 0x04, 0x01, 0xff, 0x43, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x1c,
        0x01, 0, 0, 0, 0xff, 0, 0, 0x06, 0x01, 0xb8, 0, 0x01, 0x7a, 0x44, 0x6d, 0x71, 0xa8, 0x59,
        0xd0, 0x4c, 0xd2, 0xd7, 0xe1, 0x7f, 0x8e, 0xdc, 0x3a, 0x0d,
    ];
    for key in [&b"openwall"[..], b"x", b"cisco"] {
        let auth = Auth::Md5 {
            key: key.to_vec(),
            key_id: 0,
        };
        match wire::decode_payload(&tampered, &auth) {
            Ok(Decoded::Group(m)) => panic!("tampered payload accepted as {m:?}"),
            Ok(Decoded::InterfaceState { active, passive }) => {
                assert_eq!((active, passive), (0x01ff, 0x43b8))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Every config seed (the example configs and the broken-config table) gives a result, and
/// every error names a line of the file and a reason (the parse_config invariants).
#[test]
fn config_seeds_give_line_numbered_errors_or_a_config() {
    let mut ok = 0;
    let mut bad = 0;
    for (path, bytes) in seeds("parse_config") {
        let text = String::from_utf8(bytes).expect("utf-8 seed");
        match config::parse(&text, "seed.conf") {
            Ok(_) => ok += 1,
            Err(e) => {
                bad += 1;
                let lines = text.lines().count();
                for d in &e.diagnostics {
                    assert!(!d.reason.is_empty(), "{}", path.display());
                    if let Some(n) = d.line {
                        assert!((1..=lines).contains(&n), "{}: line {n}", path.display());
                    }
                }
            }
        }
    }
    assert!(ok >= 3, "the examples must parse ({ok})");
    assert!(bad >= 30, "the broken table must fail ({bad})");
}
