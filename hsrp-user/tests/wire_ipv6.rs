//! HSRPv2 over IPv6 as the daemon sends it, dissected by tshark (checksum validation on):
//! every opcode and state of an IPv6 group (Hello Speak/Standby/Active, Coup, Resign) with
//! plain and text authentication, the unsolicited NA for a global virtual address, and
//! the Router Advertisement of `wire::ra` (active and final, lifetime 0). wire_tshark.rs
//! covers the MD5-signed IPv6 Hello and the NA for the virtual link-local; this file adds
//! the rest. tshark is required: the test fails (never skips) when it is missing.

use std::net::{IpAddr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire::{self, frame, PrefixInfo, RaRepr};
use pcap_file::pcap::{PcapPacket, PcapWriter};

const IF_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x0b]);
const IF_LL: &str = "fe80::ff:fe00:b";

/// A frame and the tshark fields it must show, in the order given to `-e`.
struct Case {
    frame: Vec<u8>,
    fields: Vec<(&'static str, String)>,
}

fn hsrp6(opcode: Opcode, state: State, auth: &Auth, from_vmac: bool) -> Case {
    let vmac = wire::vmac(Version::V2, true, 4095);
    let ll = wire::virtual_link_local(vmac);
    let msg = GroupMessage {
        version: Version::V2,
        opcode,
        state,
        group: 4095,
        priority: 254,
        hello_ms: 3000,
        hold_ms: 10000,
        vip: Some(IpAddr::V6(ll)),
        identifier: Some(IF_MAC),
    };
    let src: IpAddr = IF_LL.parse().unwrap();
    let mut p = [0u8; wire::MAX_PAYLOAD_LEN];
    let n = wire::encode_group(&msg, auth, src, &mut p).unwrap();
    let mut f = [0u8; 200];
    let src_mac = if from_vmac { vmac } else { IF_MAC };
    let len = wire::hsrp_frame(src_mac, src, &p[..n], &mut f).unwrap();
    let opcode_n = match opcode {
        Opcode::Hello => 0,
        Opcode::Coup => 1,
        Opcode::Resign => 2,
    };
    let state_n = match state {
        State::Speak => 4,
        State::Standby => 5,
        State::Active => 6,
        other => panic!("not used here: {other:?}"),
    };
    Case {
        frame: f[..len].to_vec(),
        fields: vec![
            ("eth.src", src_mac.to_string()),
            ("eth.dst", "33:33:00:00:00:66".into()),
            ("ipv6.src", IF_LL.into()),
            ("ipv6.dst", "ff02::66".into()),
            ("ipv6.hlim", "255".into()),
            ("udp.srcport", "2029".into()),
            ("udp.dstport", "2029".into()),
            ("udp.checksum.status", "1".into()),
            ("hsrp2.version", "2".into()),
            ("hsrp2.opcode", opcode_n.to_string()),
            ("hsrp2.state", state_n.to_string()),
            ("hsrp2.ipversion", "6".into()),
            ("hsrp2.group", "4095".into()),
            ("hsrp2.identifier", IF_MAC.to_string()),
            ("hsrp2.priority", "254".into()),
            ("hsrp2.hellotime", "3000".into()),
            ("hsrp2.holdtime", "10000".into()),
            ("hsrp2.virt_ip_v6", "fe80::5:73ff:fea0:fff".into()),
        ],
    }
}

fn cases() -> Vec<Case> {
    let text = Auth::Text(b"v6".to_vec());
    let mut out = vec![
        hsrp6(Opcode::Hello, State::Speak, &Auth::None, false),
        hsrp6(Opcode::Hello, State::Standby, &text, false),
        hsrp6(Opcode::Hello, State::Active, &Auth::DefaultText, true),
        hsrp6(Opcode::Coup, State::Active, &Auth::None, true),
        hsrp6(Opcode::Resign, State::Active, &text, true),
    ];
    // Text authentication shows as the v2 Text TLV.
    out[1].fields.push(("hsrp2.auth_data", "v6".into()));
    out[2].fields.push(("hsrp2.auth_data", "cisco".into()));

    let vmac = wire::vmac(Version::V2, true, 1);
    let ll = wire::virtual_link_local(vmac);
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mut f = [0u8; 200];
    let n = wire::unsolicited_na(vmac, ll, global, &mut f).unwrap();
    out.push(Case {
        frame: f[..n].to_vec(),
        fields: vec![
            ("eth.src", "00:05:73:a0:00:01".into()),
            ("ipv6.src", "fe80::5:73ff:fea0:1".into()),
            ("ipv6.hlim", "255".into()),
            ("icmpv6.type", "136".into()),
            ("icmpv6.nd.na.flag.r", "1".into()),
            ("icmpv6.nd.na.flag.s", "0".into()),
            ("icmpv6.nd.na.flag.o", "1".into()),
            ("icmpv6.nd.na.target_address", "2001:db8::1".into()),
            ("icmpv6.opt.linkaddr", "00:05:73:a0:00:01".into()),
            ("icmpv6.checksum.status", "1".into()),
        ],
    });

    let prefixes = vec![
        PrefixInfo::of_address(global, 64).unwrap(),
        PrefixInfo::of_address("fd00:1:2::9".parse().unwrap(), 48).unwrap(),
    ];
    for lifetime in [1800u16, 0] {
        let ra = RaRepr::virtual_router(vmac, lifetime, Some(1500), prefixes.clone());
        let mut f = [0u8; 300];
        let n = wire::router_advertisement(vmac, ll, frame::ALL_NODES, &ra, &mut f).unwrap();
        out.push(Case {
            frame: f[..n].to_vec(),
            fields: vec![
                ("eth.src", "00:05:73:a0:00:01".into()),
                ("eth.dst", "33:33:00:00:00:01".into()),
                ("ipv6.src", "fe80::5:73ff:fea0:1".into()),
                ("ipv6.dst", "ff02::1".into()),
                ("ipv6.hlim", "255".into()),
                ("icmpv6.type", "134".into()),
                ("icmpv6.checksum.status", "1".into()),
                ("icmpv6.nd.ra.cur_hop_limit", "64".into()),
                ("icmpv6.nd.ra.flag.m", "0".into()),
                ("icmpv6.nd.ra.flag.o", "0".into()),
                ("icmpv6.nd.ra.router_lifetime", lifetime.to_string()),
                ("icmpv6.opt.linkaddr", "00:05:73:a0:00:01".into()),
                ("icmpv6.opt.mtu", "1500".into()),
                ("icmpv6.opt.prefix", "2001:db8::,fd00:1:2::".into()),
                ("icmpv6.opt.prefix.length", "64,48".into()),
                ("icmpv6.opt.prefix.flag.l", "1,1".into()),
                ("icmpv6.opt.prefix.flag.a", "1,0".into()),
                ("icmpv6.opt.prefix.valid_lifetime", "2592000,2592000".into()),
                (
                    "icmpv6.opt.prefix.preferred_lifetime",
                    "604800,604800".into(),
                ),
            ],
        });
    }
    out
}

/// tshark's value of each field for one frame (`-T fields`, occurrences joined by ",").
fn dissect(frame: &[u8], fields: &[&str]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "hsrp-wire-ipv6-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
        w.write_packet(&PcapPacket::new(Duration::ZERO, frame.len() as u32, frame))
            .unwrap();
    }
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&path).args([
        "-o",
        "udp.check_checksum:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields
        .iter()
        .chain(&["_ws.malformed", "_ws.expert.message"])
    {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark is required for this test");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim_end_matches('\n')
        .split('|')
        .map(str::to_owned)
        .collect()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn tshark_decodes_ipv6_groups_na_and_ra_with_the_right_fields() {
    let ok = Command::new("tshark").arg("--version").output();
    assert!(
        matches!(&ok, Ok(o) if o.status.success()),
        "tshark is required for this test (apt-get install tshark): {ok:?}"
    );
    for (i, case) in cases().into_iter().enumerate() {
        let names: Vec<&str> = case.fields.iter().map(|(n, _)| *n).collect();
        let got = dissect(&case.frame, &names);
        for (k, (name, want)) in case.fields.iter().enumerate() {
            assert_eq!(&got[k], want, "frame {i}: {name}");
        }
        let n = names.len();
        assert_eq!(got[n], "", "frame {i}: tshark finds it malformed");
        assert_eq!(got[n + 1], "", "frame {i}: tshark expert items");
    }
}

/// The MD5 sender field of an IPv6 group is the low 32 bits of the link-local source.
#[test]
fn md5_sender_of_an_ipv6_group_is_the_low_32_bits_of_the_link_local() {
    let auth = Auth::Md5 {
        key: b"k6".to_vec(),
        key_id: 0,
    };
    let vmac = wire::vmac(Version::V2, true, 7);
    let msg = GroupMessage {
        version: Version::V2,
        opcode: Opcode::Hello,
        state: State::Active,
        group: 7,
        priority: 100,
        hello_ms: 3000,
        hold_ms: 10000,
        vip: Some(IpAddr::V6(wire::virtual_link_local(vmac))),
        identifier: Some(IF_MAC),
    };
    let src: IpAddr = "fe80::1234:5678:9abc:def0".parse().unwrap();
    let mut p = [0u8; wire::MAX_PAYLOAD_LEN];
    let n = wire::encode_group(&msg, &auth, src, &mut p).unwrap();
    let mut f = [0u8; 200];
    let len = wire::hsrp_frame(vmac, src, &p[..n], &mut f).unwrap();
    let got = dissect(&f[..len], &["hsrp.md5_ip_address", "hsrp2.md5_key_id"]);
    assert_eq!(got[0], "154.188.222.240");
    assert_eq!(got[1], "0");
    // And it verifies on the receive side with the same key.
    assert!(matches!(
        wire::decode_payload(&p[..n], &auth),
        Ok(wire::Decoded::Group(m)) if m == msg
    ));
}
