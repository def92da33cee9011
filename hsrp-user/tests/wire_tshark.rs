//! Frames built by `wire::frame` are written to a pcap and dissected by tshark (Wireshark's
//! HSRP, ARP and ICMPv6 dissectors, checksum validation on): every field has the expected
//! value and tshark reports nothing malformed and no expert item at all.
//! tshark is required: the test fails (never skips) when it is missing.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire::{self, frame, AdvState, AdvertiseRepr};
use pcap_file::pcap::{PcapPacket, PcapWriter};

const IF_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

fn msg(version: Version, opcode: Opcode, state: State, group: u16, vip: &str) -> GroupMessage {
    GroupMessage {
        version,
        opcode,
        state,
        group,
        priority: 150,
        hello_ms: 3000,
        hold_ms: 10000,
        vip: Some(vip.parse().unwrap()),
        identifier: (version == Version::V2).then_some(IF_MAC),
    }
}

fn md5(key: &str) -> Auth {
    Auth::Md5 {
        key: key.as_bytes().to_vec(),
        key_id: 7,
    }
}

fn hsrp(src_mac: MacAddr, src: &str, m: &GroupMessage, auth: &Auth) -> Vec<u8> {
    let src: IpAddr = src.parse().unwrap();
    let mut p = [0u8; wire::MAX_PAYLOAD_LEN];
    let n = wire::encode_group(m, auth, src, &mut p).unwrap();
    let mut f = [0u8; 200];
    let len = wire::hsrp_frame(src_mac, src, &p[..n], &mut f).unwrap();
    f[..len].to_vec()
}

/// A frame and the tshark fields (name, value) it must show.
type Expected = (Vec<u8>, Vec<(&'static str, &'static str)>);

fn frames() -> Vec<Expected> {
    let v1mac = wire::vmac(Version::V1, false, 1);
    let v2mac = wire::vmac(Version::V2, false, 920);
    let v6mac = wire::vmac(Version::V2, true, 16);
    let ll = wire::virtual_link_local(v6mac);
    let mut out = Vec::new();

    let m = msg(Version::V1, Opcode::Hello, State::Active, 1, "192.168.0.1");
    out.push((
        hsrp(v1mac, "192.168.0.2", &m, &Auth::DefaultText),
        vec![
            ("eth.src", "00:00:0c:07:ac:01"),
            ("eth.dst", "01:00:5e:00:00:02"),
            ("ip.dst", "224.0.0.2"),
            ("ip.ttl", "1"),
            ("ip.dsfield", "0xc0"),
            ("udp.dstport", "1985"),
            ("hsrp.version", "0"),
            ("hsrp.opcode", "0"),
            ("hsrp.state", "16"),
            ("hsrp.hellotime", "3"),
            ("hsrp.holdtime", "10"),
            ("hsrp.priority", "150"),
            ("hsrp.group", "1"),
            ("hsrp.auth_data", "cisco"),
            ("hsrp.virt_ip", "192.168.0.1"),
        ],
    ));
    let m = msg(Version::V1, Opcode::Coup, State::Speak, 7, "10.0.0.1");
    out.push((
        hsrp(IF_MAC, "10.0.0.2", &m, &md5("secret")),
        vec![
            ("eth.src", "02:00:00:00:00:02"),
            ("hsrp.opcode", "1"),
            ("hsrp.state", "4"),
            ("hsrp.group", "7"),
            ("hsrp.virt_ip", "10.0.0.1"),
            ("hsrp2.md5_algorithm", "1"),
            ("hsrp.md5_ip_address", "10.0.0.2"),
            ("hsrp2.md5_key_id", "7"),
        ],
    ));
    let mut adv = [0u8; 16];
    let n = wire::encode_advertise(
        &AdvertiseRepr {
            state: AdvState::Active,
            active_groups: 1,
            passive_groups: 0,
        },
        &mut adv,
    )
    .unwrap();
    let mut f = [0u8; 100];
    let len = wire::hsrp_frame(IF_MAC, "10.0.0.2".parse().unwrap(), &adv[..n], &mut f).unwrap();
    out.push((
        f[..len].to_vec(),
        vec![
            ("hsrp.opcode", "3"),
            ("hsrp.adv.tlvtype", "1"),
            ("hsrp.adv.tlvlength", "14"),
            ("hsrp.adv.state", "3"),
            ("hsrp.adv.activegrp", "1"),
            ("hsrp.adv.passivegrp", "0"),
        ],
    ));
    let m = msg(
        Version::V2,
        Opcode::Hello,
        State::Standby,
        920,
        "10.52.220.126",
    );
    out.push((
        hsrp(IF_MAC, "10.52.220.125", &m, &Auth::DefaultText),
        vec![
            ("eth.dst", "01:00:5e:00:00:66"),
            ("ip.dst", "224.0.0.102"),
            ("ip.ttl", "255"),
            ("ip.dsfield", "0xc0"),
            ("udp.dstport", "1985"),
            ("hsrp2.version", "2"),
            ("hsrp2.opcode", "0"),
            ("hsrp2.state", "5"),
            ("hsrp2.ipversion", "4"),
            ("hsrp2.group", "920"),
            ("hsrp2.identifier", "02:00:00:00:00:02"),
            ("hsrp2.priority", "150"),
            ("hsrp2.hellotime", "3000"),
            ("hsrp2.holdtime", "10000"),
            ("hsrp2.virt_ip", "10.52.220.126"),
            ("hsrp2.auth_data", "cisco"),
        ],
    ));
    let m = msg(
        Version::V2,
        Opcode::Resign,
        State::Active,
        920,
        "10.52.220.126",
    );
    out.push((
        hsrp(v2mac, "10.52.220.125", &m, &md5("k")),
        vec![
            ("eth.src", "00:00:0c:9f:f3:98"),
            ("hsrp2.opcode", "2"),
            ("hsrp2.state", "6"),
            ("hsrp2.md5_algorithm", "1"),
            ("hsrp.md5_ip_address", "10.52.220.125"),
            ("hsrp2.md5_key_id", "7"),
        ],
    ));
    let mut m = msg(Version::V2, Opcode::Hello, State::Active, 16, "::1");
    m.vip = Some(IpAddr::V6(ll));
    m.hello_ms = 250;
    m.hold_ms = 1000;
    out.push((
        hsrp(v6mac, "fe80::1", &m, &md5("v6key")),
        vec![
            ("eth.src", "00:05:73:a0:00:10"),
            ("eth.dst", "33:33:00:00:00:66"),
            ("ipv6.dst", "ff02::66"),
            ("ipv6.hlim", "255"),
            ("ipv6.tclass", "0x000000e0"),
            ("udp.dstport", "2029"),
            ("hsrp2.ipversion", "6"),
            ("hsrp2.group", "16"),
            ("hsrp2.hellotime", "250"),
            ("hsrp2.holdtime", "1000"),
            ("hsrp2.virt_ip_v6", "fe80::5:73ff:fea0:10"),
            ("hsrp.md5_ip_address", "0.0.0.1"),
        ],
    ));
    let mut p = [0u8; 16];
    let n = wire::encode_interface_state(2, 3, &mut p).unwrap();
    let len = wire::hsrp_frame(IF_MAC, "10.0.0.2".parse().unwrap(), &p[..n], &mut f).unwrap();
    out.push((
        f[..len].to_vec(),
        vec![("hsrp2.active_groups", "2"), ("hsrp2.passive_groups", "3")],
    ));
    for dst in [MacAddr::BROADCAST, MacAddr::CISCO_CDCDCD] {
        let len = wire::gratuitous_arp(v1mac, "192.168.0.1".parse().unwrap(), dst, &mut f).unwrap();
        let dst_s = if dst == MacAddr::BROADCAST {
            "ff:ff:ff:ff:ff:ff"
        } else {
            "01:00:0c:cd:cd:cd"
        };
        out.push((
            f[..len].to_vec(),
            vec![
                ("eth.dst", dst_s),
                ("eth.src", "00:00:0c:07:ac:01"),
                ("arp.opcode", "2"),
                ("arp.src.hw_mac", "00:00:0c:07:ac:01"),
                ("arp.src.proto_ipv4", "192.168.0.1"),
                ("arp.dst.hw_mac", "00:00:0c:07:ac:01"),
                ("arp.dst.proto_ipv4", "192.168.0.1"),
                ("arp.isgratuitous", "1"),
            ],
        ));
    }
    let len = wire::unsolicited_na(v6mac, ll, ll, &mut f).unwrap();
    out.push((
        f[..len].to_vec(),
        vec![
            ("eth.dst", "33:33:00:00:00:01"),
            ("eth.src", "00:05:73:a0:00:10"),
            ("ipv6.src", "fe80::5:73ff:fea0:10"),
            ("ipv6.dst", "ff02::1"),
            ("ipv6.hlim", "255"),
            ("icmpv6.type", "136"),
            ("icmpv6.nd.na.flag.r", "1"),
            ("icmpv6.nd.na.flag.s", "0"),
            ("icmpv6.nd.na.flag.o", "1"),
            ("icmpv6.nd.na.target_address", "fe80::5:73ff:fea0:10"),
            ("icmpv6.opt.linkaddr", "00:05:73:a0:00:10"),
            ("icmpv6.checksum.status", "1"),
        ],
    ));
    // All HSRP frames: the UDP and IPv4 checksums verify.
    for (f, fields) in out.iter_mut() {
        match u16::from_be_bytes([f[12], f[13]]) {
            frame::ETHERTYPE_IPV4 => {
                fields.push(("ip.checksum.status", "1"));
                fields.push(("udp.checksum.status", "1"));
            }
            frame::ETHERTYPE_IPV6 if f[20] == 17 => fields.push(("udp.checksum.status", "1")),
            _ => {}
        }
    }
    out
}

/// Flatten tshark's JSON layers into field name -> values.
fn flatten(v: &serde_json::Value, out: &mut BTreeMap<String, Vec<String>>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v {
                    serde_json::Value::String(s) => {
                        out.entry(k.clone()).or_default().push(s.clone())
                    }
                    serde_json::Value::Array(a) => {
                        for x in a {
                            match x {
                                serde_json::Value::String(s) => {
                                    out.entry(k.clone()).or_default().push(s.clone())
                                }
                                other => flatten(other, out),
                            }
                        }
                    }
                    other => {
                        out.entry(k.clone()).or_default();
                        flatten(other, out)
                    }
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        _ => {}
    }
}

#[test]
fn tshark_dissects_our_frames_cleanly() {
    let tshark = Command::new("tshark").arg("--version").output();
    assert!(
        matches!(&tshark, Ok(o) if o.status.success()),
        "tshark is required for this test (apt-get install tshark): {tshark:?}"
    );
    let frames = frames();
    let dir = std::env::temp_dir().join(format!("hsrp-wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("frames.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
        for (i, (f, _)) in frames.iter().enumerate() {
            let ts = Duration::from_millis(i as u64);
            w.write_packet(&PcapPacket::new(ts, f.len() as u32, f))
                .unwrap();
        }
    }
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-T",
            "json",
            "--no-duplicate-keys",
        ])
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packets = json.as_array().unwrap();
    assert_eq!(packets.len(), frames.len());
    for (i, (pkt, (_, expect))) in packets.iter().zip(&frames).enumerate() {
        let mut fields = BTreeMap::new();
        flatten(&pkt["_source"]["layers"], &mut fields);
        for (name, want) in expect {
            let got = fields.get(*name);
            assert!(
                got.is_some_and(|v| v.iter().any(|x| x == want)),
                "frame {i}: {name} = {got:?}, want {want}"
            );
        }
        let bad: Vec<_> = fields
            .iter()
            .filter(|(k, _)| k.starts_with("_ws.malformed") || k.starts_with("_ws.expert"))
            .collect();
        assert!(bad.is_empty(), "frame {i}: tshark reports {bad:?}");
    }
}

/// The IPv6 virtual link-local helper gives what Cisco uses (docs/protocol.md §6).
#[test]
fn virtual_link_local_matches_cisco() {
    let ll = wire::virtual_link_local(wire::vmac(Version::V2, true, 16));
    assert_eq!(ll, "fe80::5:73ff:fea0:10".parse::<Ipv6Addr>().unwrap());
}
