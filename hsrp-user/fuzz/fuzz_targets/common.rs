//! Shared by the payload targets: decode one payload under every kind of authentication
//! and check the codec's own invariants on whatever parses. Included with `#[path]`, so
//! each target stays one binary.

use hsrp_user::proto::{Auth, GroupMessage, Version};
use hsrp_user::wire::{self, Decoded, Repr};

/// The key every MD5 seed was signed with (the public John the Ripper capture's key).
pub const MD5_KEY: &[u8] = b"openwall";

/// What `encode_group` puts on the wire for `msg`: v1 carries whole seconds 1-255 (the
/// encoder never sends 0, which would mean "no timer"; the state machine ignores received
/// zero timers anyway), v2 the milliseconds as they are.
fn as_sent(msg: &GroupMessage) -> GroupMessage {
    let mut m = msg.clone();
    if m.version == Version::V1 {
        m.hello_ms = (m.hello_ms / 1000).clamp(1, 255) * 1000;
        m.hold_ms = (m.hold_ms / 1000).clamp(1, 255) * 1000;
    }
    m
}

/// Decodes `payload` under no, default-text, custom-text and MD5 authentication, then checks:
/// - an authentication failure only ever happens to a message that parses;
/// - whatever `Repr::parse` accepts emits and parses back to itself;
/// - an accepted group message re-encodes (with the same auth) to a payload that decodes
///   to the same message (timers as v1 can carry them) — so nothing the receiver accepts is un-sendable.
pub fn check_payload(payload: &[u8]) {
    let auths = [
        Auth::None,
        Auth::DefaultText,
        Auth::Text(b"s3cr3t".to_vec()),
        Auth::Md5 {
            key: MD5_KEY.to_vec(),
            key_id: 0,
        },
    ];
    let parsed = Repr::parse(payload);
    for auth in &auths {
        match wire::decode_payload(payload, auth) {
            Err(e) if e.is_auth() => assert!(parsed.is_ok(), "auth error {e} on unparsable input"),
            Err(_) => {}
            Ok(Decoded::Group(msg)) => {
                assert!(parsed.is_ok(), "decoded a message Repr::parse rejects");
                let sender = msg
                    .vip
                    .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));
                let mut buf = [0u8; wire::MAX_PAYLOAD_LEN];
                if let Ok(n) = wire::encode_group(&msg, auth, sender, &mut buf) {
                    match wire::decode_payload(&buf[..n], auth) {
                        Ok(Decoded::Group(again)) => {
                            assert_eq!(again, as_sent(&msg), "re-encode changed it")
                        }
                        other => panic!("re-encoded {msg:?} does not decode: {other:?}"),
                    }
                }
            }
            Ok(_) => assert!(parsed.is_ok()),
        }
    }
    if let Ok(repr) = parsed {
        let _ = repr.verify_md5(payload, MD5_KEY);
        let _ = repr.group_message();
        let mut buf = [0u8; 256];
        let n = repr.emit(&mut buf).expect("a parsed Repr always emits");
        assert_eq!(n, repr.buffer_len(), "emit length != buffer_len");
        assert_eq!(Repr::parse(&buf[..n]), Ok(repr), "parse(emit(r)) != r");
    }
}
