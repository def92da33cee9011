//! The BFD Control codec (`wire::bfd`): `parse(emit(r)) == r` for every valid `Repr`, any
//! bytes give `Ok`/`Err` but never a panic, and tshark's BFD dissector reads our bytes the
//! way we mean them. tshark is required: the test fails (never skips) when it is missing.

use std::process::Command;

use hsrp_user::wire::bfd::{self, Diag, Packet, Repr, State};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::AdminDown),
        Just(State::Down),
        Just(State::Init),
        Just(State::Up)
    ]
}

/// Only valid Reprs: discriminators as §6.8.6 allows, detect mult non-zero.
fn valid_repr() -> impl Strategy<Value = Repr> {
    (
        (0u8..32, state(), any::<[bool; 4]>(), 1u8..=255),
        (1u32.., any::<u32>(), any::<[u32; 3]>()),
    )
        .prop_map(|((diag, state, f, mult), (my, your, iv))| {
            let your = if matches!(state, State::Init | State::Up) {
                your.max(1)
            } else {
                your
            };
            Repr {
                diag: Diag::from_wire(diag),
                state,
                poll: f[0],
                final_: f[1],
                cpi: f[2],
                demand: f[3],
                detect_mult: mult,
                my_discriminator: my,
                your_discriminator: your,
                desired_min_tx: iv[0],
                required_min_rx: iv[1],
                required_min_echo_rx: iv[2],
            }
        })
}

proptest! {
    #[test]
    fn round_trip(r in valid_repr()) {
        let bytes = r.to_bytes();
        prop_assert_eq!(bytes.len(), r.buffer_len());
        let back = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        prop_assert_eq!(back, r);
    }

    /// Any bytes: an error or a Repr that re-encodes to the same first 24 bytes except the
    /// Length field (always emitted as 24).
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(r) = Packet::new_checked(&b[..]).and_then(|p| Repr::parse(&p)) {
            let out = r.to_bytes();
            prop_assert_eq!(&out[..3], &b[..3]);
            prop_assert_eq!(&out[4..], &b[4..24]);
            prop_assert!(usize::from(b[3]) >= 24 && usize::from(b[3]) <= b.len());
        }
    }
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A raw IPv4/UDP datagram to port 3784 from 49152, TTL 255, UDP checksum 0 (allowed in IPv4).
fn datagram(payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45, 0xc0, 0, 0, 0, 0, 0x40, 0, 255, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    let c = ipv4_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&49152u16.to_be_bytes());
    ip.extend_from_slice(&bfd::PORT.to_be_bytes());
    ip.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(payload);
    ip
}

#[test]
fn tshark_dissects_our_packets() {
    let packets = [
        Repr {
            diag: Diag::None,
            state: State::Down,
            poll: false,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0,
            desired_min_tx: 1_000_000,
            required_min_rx: 10_000,
            required_min_echo_rx: 0,
        },
        Repr {
            diag: Diag::NeighborSignaledDown,
            state: State::Up,
            poll: true,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 5,
            my_discriminator: 7,
            your_discriminator: 0xdead_beef,
            desired_min_tx: 10_000,
            required_min_rx: 20_000,
            required_min_echo_rx: 0,
        },
        Repr {
            diag: Diag::AdministrativelyDown,
            state: State::AdminDown,
            poll: false,
            final_: true,
            cpi: false,
            demand: false,
            detect_mult: 1,
            my_discriminator: 9,
            your_discriminator: 8,
            desired_min_tx: 300_000,
            required_min_rx: 0,
            required_min_echo_rx: 0,
        },
    ];
    let dir = std::env::temp_dir().join(format!("hsrp-bfd-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("bfd.pcap");
    {
        let header = PcapHeader {
            datalink: DataLink::IPV4,
            ..Default::default()
        };
        let mut w = PcapWriter::with_header(std::fs::File::create(&pcap).unwrap(), header).unwrap();
        for r in &packets {
            let d = datagram(&r.to_bytes());
            w.write_packet(&PcapPacket::new(
                std::time::Duration::ZERO,
                d.len() as u32,
                &d,
            ))
            .unwrap();
        }
    }
    let fields = [
        "bfd.version",
        "bfd.diag",
        "bfd.sta",
        "bfd.flags.p",
        "bfd.flags.f",
        "bfd.flags.a",
        "bfd.detect_time_multiplier",
        "bfd.message_length",
        "bfd.my_discriminator",
        "bfd.your_discriminator",
        "bfd.desired_min_tx_interval",
        "bfd.required_min_rx_interval",
        "bfd.required_min_echo_interval",
        "_ws.malformed",
        "_ws.expert",
    ];
    let mut cmd = Command::new("tshark");
    cmd.args(["-r"])
        .arg(&pcap)
        .args(["-T", "fields", "-E", "separator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark is required for this test (apt-get install tshark)");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // tshark prints booleans as True/False or 1/0 depending on its version: normalise.
    let norm = |l: &str| l.replace("True", "1").replace("False", "0");
    assert_eq!(
        lines.iter().map(|l| norm(l)).collect::<Vec<_>>(),
        [
            "1,0x00,0x01,0,0,0,3,24,0x01020304,0x00000000,1000000,10000,0,,",
            "1,0x03,0x03,1,0,0,5,24,0x00000007,0xdeadbeef,10000,20000,0,,",
            "1,0x07,0x00,0,1,0,1,24,0x00000009,0x00000008,300000,0,0,,",
        ]
    );
}
