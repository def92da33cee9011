//! The five public HSRP MD5 vectors of docs/protocol.md §3.3 (John the Ripper's HSRP format):
//! compute (by encoding the message they carry, byte for byte) and verify.

use std::net::IpAddr;

use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire::{self, auth, decode_payload, encode_group, AuthError, Decoded, Error, Repr};

struct Vector {
    /// The packet with the digest zeroed.
    packet: &'static str,
    key: &'static str,
    digest: &'static str,
    /// What the packet says, to build it again with `encode_group`.
    msg: GroupMessage,
    sender: &'static str,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn v1(state: State, priority: u8, vip: &str) -> GroupMessage {
    GroupMessage {
        version: Version::V1,
        opcode: Opcode::Hello,
        state,
        group: 1,
        priority,
        hello_ms: 3000,
        hold_ms: 10000,
        vip: Some(vip.parse().unwrap()),
        identifier: None,
    }
}

fn v2(id_low: u8, priority: u8) -> GroupMessage {
    GroupMessage {
        version: Version::V2,
        opcode: Opcode::Hello,
        state: State::Active,
        group: 1,
        priority,
        hello_ms: 3000,
        hold_ms: 10000,
        vip: Some("10.0.0.100".parse().unwrap()),
        identifier: Some(MacAddr([0xaa, 0xbb, 0xcc, 0x00, id_low, 0x00])),
    }
}

fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            packet: "000004030a64010000000000000000000a000064041c010000000a0000140000000000000000000000000000000000000000",
            key: "password12345",
            digest: "52e1db09d18d695b8fefb3730ff8d9d6",
            msg: v1(State::Speak, 100, "10.0.0.100"),
            sender: "10.0.0.20",
        },
        Vector {
            packet: "000004030a5a01000000000000000000ac102801041c01000000ac1028140000000000000000000000000000000000000000",
            key: "openwall",
            digest: "f15dfa631a0679e0801f8e6b0c0c17ac",
            msg: v1(State::Speak, 90, "172.16.40.1"),
            sender: "172.16.40.20",
        },
        Vector {
            packet: "000010030a64010000000000000000000a000064041c010000000a0000140000000000000000000000000000000000000000",
            key: "openwall12345",
            digest: "f02fc41b1b516e2d1261d8800d39ccea",
            msg: v1(State::Active, 100, "10.0.0.100"),
            sender: "10.0.0.20",
        },
        Vector {
            packet: "0128020006040001aabbcc000a000000006400000bb8000027100a000064000000000000000000000000041c010000000a00000a0000000000000000000000000000000000000000",
            key: "password",
            digest: "642fedafe1f374bd2fdd8f1ba81d87a2",
            msg: v2(0x0a, 100),
            sender: "10.0.0.10",
        },
        Vector {
            packet: "0128020006040001aabbcc001400000000c800000bb8000027100a000064000000000000000000000000041c010000000a0000140000000000000000000000000000000000000000",
            key: "password12345",
            digest: "0481257f0fe583b275f03a48e88de72f",
            msg: v2(0x14, 200),
            sender: "10.0.0.20",
        },
    ]
}

fn md5_auth(key: &str) -> Auth {
    Auth::Md5 {
        key: key.as_bytes().to_vec(),
        key_id: 0,
    }
}

/// The vectors' packets with their digest filled in.
fn signed(v: &Vector) -> Vec<u8> {
    let mut p = hex(v.packet);
    let n = p.len();
    p[n - 16..].copy_from_slice(&hex(v.digest));
    p
}

#[test]
fn compute_digest_over_zeroed_packet() {
    for (i, v) in vectors().iter().enumerate() {
        let p = hex(v.packet);
        let d = auth::md5_digest(v.key.as_bytes(), &p, p.len() - 16);
        assert_eq!(d.to_vec(), hex(v.digest), "vector {i}");
    }
}

#[test]
fn encode_group_reproduces_vectors() {
    for (i, v) in vectors().iter().enumerate() {
        let mut buf = [0u8; wire::MAX_PAYLOAD_LEN];
        let sender: IpAddr = v.sender.parse().unwrap();
        let n = encode_group(&v.msg, &md5_auth(v.key), sender, &mut buf).unwrap();
        assert_eq!(buf[..n], signed(v)[..], "vector {i}");
    }
}

#[test]
fn verify_accepts_right_key_and_rejects_others() {
    for (i, v) in vectors().iter().enumerate() {
        let p = signed(v);
        let got = decode_payload(&p, &md5_auth(v.key)).unwrap();
        assert_eq!(got, Decoded::Group(v.msg.clone()), "vector {i}");

        let wrong = decode_payload(&p, &md5_auth("wrongkey"));
        assert_eq!(
            wrong,
            Err(Error::Auth(AuthError::DigestMismatch)),
            "vector {i}"
        );
        assert!(wrong.unwrap_err().is_auth());

        let wrong_id = Auth::Md5 {
            key: v.key.as_bytes().to_vec(),
            key_id: 1,
        };
        assert_eq!(
            decode_payload(&p, &wrong_id),
            Err(Error::Auth(AuthError::KeyIdMismatch {
                expected: 1,
                got: 0
            }))
        );
        assert!(decode_payload(&p, &Auth::DefaultText)
            .unwrap_err()
            .is_auth());

        // One flipped bit anywhere outside the digest breaks it.
        for bit in [0usize, 8 * 5, 8 * (p.len() - 17)] {
            let mut q = p.clone();
            q[bit / 8] ^= 1 << (bit % 8);
            let repr = match Repr::parse(&q) {
                Ok(r) => r,
                Err(_) => continue, // the flip made it malformed: also a rejection
            };
            assert_eq!(
                repr.verify_md5(&q, v.key.as_bytes()),
                Some(false),
                "vector {i} bit {bit}"
            );
        }
    }
}
