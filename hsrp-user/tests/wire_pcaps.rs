//! Every HSRP packet of every real capture in `tests/data/` decodes; re-emitting the
//! decoded `Repr` gives the original bytes (exactly, or with only the known IOS garbage
//! differing); authentication verifies with the right configuration.

use std::path::PathBuf;

use hsrp_user::decode::{read_capture, CapturedPacket};
use hsrp_user::proto::{Auth, Version};
use hsrp_user::wire::{decode_payload, v2::AuthRepr, Decoded, Repr, V2Body};

mod captures;

fn pcap(name: &str) -> PathBuf {
    captures::path(name)
}

fn all_captures() -> Vec<(String, Vec<CapturedPacket>)> {
    let dir = captures::dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "expected the 6 reference captures, found {names:?}"
    );
    names
        .into_iter()
        .map(|n| {
            let pkts = read_capture(&pcap(&n)).unwrap();
            (n, pkts)
        })
        .collect()
}

/// The byte ranges IOS fills with garbage (ignored on read, sent as zero).
fn garbage_ranges(repr: &Repr) -> Vec<(usize, usize)> {
    match repr {
        // v1 reserved byte; Advertise reserved1 and reserved2.
        Repr::V1 { .. } => vec![(7, 8)],
        Repr::V1Advertise(_) => vec![(7, 8), (12, 16)],
        // The 12 unused bytes of an IPv4 VIP in the Group State TLV.
        Repr::V2 {
            body: V2Body::Group(g),
            ..
        } if g.virtual_ip.is_ipv4() => vec![(30, 42)],
        Repr::V2 { .. } => vec![],
    }
}

#[test]
fn every_packet_decodes_and_reemits() {
    // HSRP packet counts per file, as tshark counts them (`-Y hsrp`, both versions).
    let expected = [
        ("john_HSRP-auth-md5-openwall.pcap", 192),
        ("ndpi_hsrp0.pcap", 4),
        ("ndpi_hsrp2.pcap", 2),
        ("tcpdump_HSRP_coup.pcap", 51),
        ("tcpdump_HSRP_election.pcap", 49),
        ("tcpdump_HSRP_failover.pcap", 39),
    ];
    let (mut exact, mut with_garbage) = (0, 0);
    for (name, pkts) in all_captures() {
        if let Some((_, n)) = expected.iter().find(|(f, _)| *f == name) {
            assert_eq!(pkts.len(), *n, "{name}: HSRP packet count");
        }
        for (i, p) in pkts.iter().enumerate() {
            let repr =
                Repr::parse(&p.payload).unwrap_or_else(|e| panic!("{name} HSRP packet {i}: {e}"));
            let mut out = vec![0u8; repr.buffer_len()];
            let n = repr.emit(&mut out).unwrap();
            assert_eq!(n, p.payload.len(), "{name} packet {i}: length");
            let mut masked = p.payload.clone();
            for r in garbage_ranges(&repr) {
                masked[r.0..r.1].fill(0);
            }
            assert_eq!(out, masked, "{name} packet {i}: re-emitted bytes");
            if out == p.payload {
                exact += 1;
            } else {
                assert!(
                    matches!(repr, Repr::V1Advertise(_)),
                    "{name} packet {i}: garbage"
                );
                with_garbage += 1;
            }
            // Version follows the destination (docs/protocol.md §1).
            let v = if p.dst_ip.to_string() == "224.0.0.2" {
                Version::V1
            } else {
                Version::V2
            };
            assert_eq!(repr.version(), v, "{name} packet {i}");
        }
    }
    // Only Advertise packets carry garbage here, in reserved2 (tshark: 19 packets with
    // `hsrp.adv.reserved2 != 0`); the v2 packets happen to have zeros after their IPv4 VIPs.
    assert_eq!((exact, with_garbage), (318, 19));
}

#[test]
fn john_capture_auth_counts_with_key_openwall() {
    let pkts = read_capture(&pcap("john_HSRP-auth-md5-openwall.pcap")).unwrap();
    let md5 = Auth::Md5 {
        key: b"openwall".to_vec(),
        key_id: 0,
    };
    let (mut md5_ok, mut text, mut advertise) = (0, 0, 0);
    for (i, p) in pkts.iter().enumerate() {
        let repr = Repr::parse(&p.payload).unwrap();
        match repr {
            Repr::V1Advertise(_) => {
                advertise += 1;
                assert!(matches!(
                    decode_payload(&p.payload, &md5),
                    Ok(Decoded::Advertise(_))
                ));
            }
            Repr::V1 { md5: Some(_), .. } => {
                assert_eq!(
                    repr.verify_md5(&p.payload, b"openwall"),
                    Some(true),
                    "packet {i}"
                );
                assert_eq!(
                    repr.verify_md5(&p.payload, b"openwal"),
                    Some(false),
                    "packet {i}"
                );
                assert!(matches!(
                    decode_payload(&p.payload, &md5),
                    Ok(Decoded::Group(_))
                ));
                let e = decode_payload(&p.payload, &Auth::DefaultText).unwrap_err();
                assert!(e.is_auth(), "packet {i}: {e}");
                // Our signer reproduces the router's digest.
                let mut out = vec![0u8; repr.buffer_len()];
                repr.emit_signed(&md5, &mut out).unwrap();
                assert_eq!(out, p.payload, "packet {i}: re-signed");
                md5_ok += 1;
            }
            Repr::V1 { md5: None, msg } => {
                assert_eq!(&msg.auth_data, b"cisco\0\0\0", "packet {i}");
                assert!(matches!(
                    decode_payload(&p.payload, &Auth::DefaultText),
                    Ok(Decoded::Group(_))
                ));
                let e = decode_payload(&p.payload, &md5).unwrap_err();
                assert!(e.is_auth(), "packet {i}: {e}");
                text += 1;
            }
            Repr::V2 { .. } => panic!("packet {i}: unexpected v2"),
        }
    }
    assert_eq!((md5_ok, text, advertise), (70, 112, 10));
}

#[test]
fn v2_capture_text_auth_and_fields() {
    let pkts = read_capture(&pcap("ndpi_hsrp2.pcap")).unwrap();
    let groups: Vec<_> = pkts
        .iter()
        .map(|p| {
            assert_eq!(p.ttl, 255);
            assert!(matches!(
                Repr::parse(&p.payload).unwrap(),
                Repr::V2 { auth: AuthRepr::Text(t), .. } if &t == b"cisco\0\0\0"
            ));
            match decode_payload(&p.payload, &Auth::DefaultText).unwrap() {
                Decoded::Group(m) => (m.group, m.state, m.priority, m.vip.unwrap().to_string()),
                d => panic!("{d:?}"),
            }
        })
        .collect();
    use hsrp_user::proto::State::*;
    assert_eq!(
        groups,
        vec![
            (920, Standby, 90, "10.52.220.126".to_string()),
            (103, Active, 110, "10.52.253.126".to_string())
        ]
    );
    let e = decode_payload(&pkts[0].payload, &Auth::Text(b"other".to_vec())).unwrap_err();
    assert!(e.is_auth());
}
