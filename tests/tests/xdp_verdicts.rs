//! BPF_PROG_TEST_RUN of the `hsrp` XDP program, one crafted frame per verdict: the verdict,
//! the output bytes (checked against checksums computed from scratch) and the counters.
//! Runs inside a namespace whose FIB and neighbours the program's fib lookups see.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::Ebpf;
use hsrp_ebpf::{
    BfdExpect, Counter, Counters, NexthopValue, FAMILY_V4, FAMILY_V6, VMAC_F_SLOW_PATH_ONLY,
};
use hsrp_testkit::checksum::*;
use hsrp_testkit::frames::*;
use hsrp_tests::xdp::*;
use hsrp_tests::{require_root, Netns};
use hsrp_user::dataplane::bfd_offload::{program_clock_ns, BfdMaps};
use hsrp_user::dataplane::maps::DataplaneMaps;
use hsrp_user::dataplane::nexthop::NexthopMaps;
use hsrp_user::dataplane::MapSet;

const VMAC4: [u8; 6] = [0x00, 0x00, 0x0c, 0x07, 0xac, 0x01];
const VMAC6: [u8; 6] = [0x00, 0x05, 0x73, 0xa0, 0x00, 0x02];
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const VLL6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5, 0x73ff, 0xfea0, 0x2);
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 0x0a];
const HOST4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 10);
const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10);
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 0x02];
const SERVER4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);
/// Routed to wan0 but without a neighbour entry.
const NO_NEIGH4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);

struct Rig {
    ebpf: Ebpf,
    maps: DataplaneMaps,
    lan: u32,
    wan: u32,
    lan_mac: [u8; 6],
    wan_mac: [u8; 6],
}

impl Rig {
    /// (verdict, output) of one run, asserting that exactly one frame was counted, under
    /// `counter`, in the totals, and (when given) in the group of `vmac` too.
    fn run(&self, frame: &[u8], counter: Counter, vmac: Option<[u8; 6]>) -> (u32, Vec<u8>) {
        let before = self.maps.stats().unwrap();
        let out = run(program(&self.ebpf), self.lan, frame);
        let after = self.maps.stats().unwrap();
        let d = diff(&after.total, &before.total);
        assert_eq!(d.frames(), 1, "one frame counted once in the totals: {d:?}");
        assert_eq!(d.get(counter), 1, "counted as {counter:?}: {d:?}");
        if let Some(vmac) = vmac {
            let g = diff(
                after.group(self.lan, vmac).unwrap(),
                before.group(self.lan, vmac).unwrap(),
            );
            assert_eq!(g.get(counter), 1, "group counter {counter:?}: {g:?}");
            assert_eq!(g.frames(), 1, "group counted once: {g:?}");
        }
        out
    }
}

fn diff(a: &Counters, b: &Counters) -> Counters {
    let mut neg = *b;
    // a - b field-wise through wrapping add of the two's complement.
    let p = &mut neg as *mut Counters as *mut u64;
    for i in 0..hsrp_ebpf::COUNTER_FIELDS {
        // SAFETY: Counters is COUNTER_FIELDS u64s.
        unsafe { *p.add(i) = (*p.add(i)).wrapping_neg() };
    }
    let mut r = *a;
    r.add(&neg);
    r
}

/// Builds the router namespace (LAN lan0, uplink wan0 with a permanent neighbour for the
/// server), loads the program, installs group 1 (IPv4, VIP4) and group 2 (IPv6, VIP6 and
/// its virtual link-local), both not Active, and runs `f` inside the namespace.
fn with_rig(f: impl FnOnce(&mut Rig) + Send) {
    require_root();
    let ns = Netns::new("xv").unwrap();
    ns.exec(
        "ip link add lan0 type veth peer name lanp && ip link add wan0 type veth peer name wanp \
         && for d in lan0 lanp wan0 wanp; do ip link set $d up; done \
         && ip addr add 10.0.1.2/24 dev lan0 && ip addr add 10.0.2.1/24 dev wan0 \
         && ip -6 addr add 2001:db8:1::2/64 dev lan0 nodad \
         && ip -6 addr add 2001:db8:2::1/64 dev wan0 nodad \
         && sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
         && ip neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent \
         && ip -6 neigh add 2001:db8:2::2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent",
    )
    .unwrap();
    ns.enter(|| {
        let mut ebpf = load();
        let mut maps = DataplaneMaps::from_ebpf(&mut ebpf).unwrap();
        maps.reset().unwrap();
        let (lan, wan) = (ifindex("lan0"), ifindex("wan0"));
        let (lan_mac, wan_mac) = (if_mac("lan0"), if_mac("wan0"));
        maps.set_interface(lan, lan_mac).unwrap();
        maps.add_tx_port(wan).unwrap();
        maps.add_group(lan, VMAC4, 1, 1, &[IpAddr::V4(VIP4)])
            .unwrap();
        maps.add_group(lan, VMAC6, 2, 2, &[IpAddr::V6(VIP6), IpAddr::V6(VLL6)])
            .unwrap();
        let mut rig = Rig {
            ebpf,
            maps,
            lan,
            wan,
            lan_mac,
            wan_mac,
        };
        f(&mut rig);
    });
}

fn udp4_to_server(ttl: u8, dst: Ipv4Addr) -> Vec<u8> {
    ipv4(
        VMAC4,
        HOST_MAC,
        HOST4,
        dst,
        ttl,
        17,
        &udp(4000, 9, b"payload!"),
    )
}

fn udp6_to_server(hop: u8) -> Vec<u8> {
    ipv6(
        VMAC6,
        HOST_MAC,
        HOST6,
        SERVER6,
        hop,
        17,
        &udp(4000, 9, b"payload!"),
    )
}

#[test]
fn unrelated_frames_pass_untouched() {
    with_rig(|rig| {
        // Unicast to someone else, to the router's own MAC, and a broadcast ARP for a
        // non-VIP address.
        let frames = [
            ipv4(
                [2, 9, 9, 9, 9, 9],
                HOST_MAC,
                HOST4,
                SERVER4,
                64,
                17,
                &udp(1, 2, b"x"),
            ),
            ipv4(
                rig.lan_mac,
                HOST_MAC,
                HOST4,
                SERVER4,
                64,
                17,
                &udp(1, 2, b"x"),
            ),
            arp_request(HOST_MAC, HOST4, Ipv4Addr::new(10, 0, 1, 2)),
            ns(
                HOST_MAC,
                HOST6,
                Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2),
            ),
        ];
        for f in &frames {
            let (v, out) = rig.run(f, Counter::Passed, None);
            assert_eq!(v, XDP_PASS);
            assert_eq!(&out, f, "passed frames are not modified");
        }
    });
}

#[test]
fn frames_to_the_vmac_of_a_group_not_active_are_dropped() {
    with_rig(|rig| {
        let (v, _) = rig.run(
            &udp4_to_server(64, SERVER4),
            Counter::DroppedNotActive,
            Some(VMAC4),
        );
        assert_eq!(v, XDP_DROP);
        let (v, _) = rig.run(&udp6_to_server(64), Counter::DroppedNotActive, Some(VMAC6));
        assert_eq!(v, XDP_DROP);
    });
}

#[test]
fn active_group_forwards_ipv4_with_ttl_checksum_and_macs_rewritten() {
    with_rig(|rig| {
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        let input = udp4_to_server(64, SERVER4);
        let (v, out) = rig.run(&input, Counter::Forwarded, Some(VMAC4));
        assert_eq!(v, XDP_REDIRECT);
        assert_eq!(out.len(), input.len());
        assert_eq!(
            out[0..6],
            SERVER_MAC,
            "destination = the server's neighbour entry"
        );
        assert_eq!(out[6..12], rig.wan_mac, "source = the output interface");
        assert_eq!(out[14 + 8], 63, "TTL decremented");
        assert!(
            ipv4_csum_ok(&out[14..]),
            "IPv4 checksum valid after the TTL change"
        );
        // Everything else identical (TTL and checksum bytes aside).
        let mut a = input[12..].to_vec();
        let mut b = out[12..].to_vec();
        for x in [&mut a, &mut b] {
            x[2 + 8] = 0;
            x[2 + 10] = 0;
            x[2 + 11] = 0;
        }
        assert_eq!(a, b);

        // Checksum carry case: a TTL/checksum combination where the incremental update
        // wraps (checked by recomputing from scratch on many TTLs).
        for ttl in [2u8, 3, 128, 255] {
            let (v, out) = rig.run(&udp4_to_server(ttl, SERVER4), Counter::Forwarded, None);
            assert_eq!(v, XDP_REDIRECT);
            assert_eq!(out[14 + 8], ttl - 1);
            assert!(ipv4_csum_ok(&out[14..]), "checksum after TTL {ttl}");
        }
    });
}

#[test]
fn active_group_forwards_ipv6_with_hop_limit_and_macs_rewritten() {
    with_rig(|rig| {
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        let input = udp6_to_server(64);
        let (v, out) = rig.run(&input, Counter::Forwarded, Some(VMAC6));
        assert_eq!(v, XDP_REDIRECT);
        assert_eq!(out[0..6], SERVER_MAC);
        assert_eq!(out[6..12], rig.wan_mac);
        assert_eq!(out[14 + 7], 63, "hop limit decremented");
        assert_eq!(out[14..14 + 7], input[14..14 + 7]);
        assert_eq!(out[14 + 8..], input[14 + 8..]);
        assert!(l4v6_csum_ok(&out[14..]), "UDP checksum still valid");
    });
}

#[test]
fn what_the_fast_path_cannot_take_goes_to_the_kernel_with_the_interface_mac() {
    with_rig(|rig| {
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("TTL expiring", udp4_to_server(1, SERVER4)),
            ("no neighbour", udp4_to_server(64, NO_NEIGH4)),
            ("hop limit expiring", udp6_to_server(1)),
            ("ARP to the vMAC for a non-VIP", {
                let mut f = arp_request(HOST_MAC, HOST4, Ipv4Addr::new(10, 0, 1, 2));
                f[..6].copy_from_slice(&VMAC4);
                f
            }),
            ("IP options", {
                let mut f = udp4_to_server(64, SERVER4);
                f[14] = 0x46;
                f
            }),
        ];
        for (what, input) in cases {
            let vmac = if input[..6] == VMAC6 { VMAC6 } else { VMAC4 };
            let (v, out) = rig.run(&input, Counter::SlowPath, Some(vmac));
            assert_eq!(v, XDP_PASS, "{what}");
            assert_eq!(out[..6], rig.lan_mac, "{what}: destination = interface MAC");
            assert_eq!(out[6..], input[6..], "{what}: nothing else changed");
        }
        // Output interface not a forwarding target.
        rig.maps.remove_tx_port(rig.wan).unwrap();
        let input = udp4_to_server(64, SERVER4);
        let (v, out) = rig.run(&input, Counter::SlowPath, Some(VMAC4));
        assert_eq!(v, XDP_PASS);
        assert_eq!(out[..6], rig.lan_mac);
        assert_eq!(out[6..], input[6..]);
        // Configured slow path only.
        rig.maps.add_tx_port(rig.wan).unwrap();
        rig.maps
            .set_group_flags(rig.lan, VMAC4, VMAC_F_SLOW_PATH_ONLY)
            .unwrap();
        let (v, _) = rig.run(&input, Counter::SlowPath, Some(VMAC4));
        assert_eq!(v, XDP_PASS);
    });
}

#[test]
fn arp_for_the_vip_is_answered_from_the_vmac_only_while_active() {
    with_rig(|rig| {
        let req = arp_request(HOST_MAC, HOST4, VIP4);
        let (v, out) = rig.run(&req, Counter::ArpDropped, Some(VMAC4));
        assert_eq!(v, XDP_DROP);
        assert_eq!(out, req);

        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        let (v, out) = rig.run(&req, Counter::ArpAnswered, Some(VMAC4));
        assert_eq!(v, XDP_TX);
        assert_eq!(out.len(), 42);
        assert_eq!(out[0..6], HOST_MAC, "to the asker");
        assert_eq!(out[6..12], VMAC4, "from the vMAC");
        assert_eq!(out[12..14], [0x08, 0x06]);
        assert_eq!(
            out[14..22],
            [0, 1, 8, 0, 6, 4, 0, 2],
            "Ethernet/IPv4 ARP reply"
        );
        assert_eq!(out[22..28], VMAC4, "sender hardware = vMAC");
        assert_eq!(out[28..32], VIP4.octets(), "sender protocol = VIP");
        assert_eq!(out[32..38], HOST_MAC, "target hardware = asker");
        assert_eq!(out[38..42], HOST4.octets(), "target protocol = asker");

        // Unicast refresh to the vMAC is answered too.
        let mut uni = req.clone();
        uni[..6].copy_from_slice(&VMAC4);
        let (v, out2) = rig.run(&uni, Counter::ArpAnswered, Some(VMAC4));
        assert_eq!(v, XDP_TX);
        assert_eq!(out2, out);

        // A gratuitous ARP (sender = target = VIP) is an announcement, not a question.
        let garp = arp_request(HOST_MAC, VIP4, VIP4);
        let (v, _) = rig.run(&garp, Counter::Passed, None);
        assert_eq!(v, XDP_PASS);
    });
}

#[test]
fn icmp_echo_to_the_vip_is_answered_with_valid_checksums() {
    with_rig(|rig| {
        let req = ipv4(
            VMAC4,
            HOST_MAC,
            HOST4,
            VIP4,
            61,
            1,
            &icmp4_echo(0x77, 3, b"abcdefgh12345"),
        );
        // Not Active: the frame to the vMAC is dropped like any other.
        let (v, _) = rig.run(&req, Counter::DroppedNotActive, Some(VMAC4));
        assert_eq!(v, XDP_DROP);

        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        let (v, out) = rig.run(&req, Counter::EchoAnswered, Some(VMAC4));
        assert_eq!(v, XDP_TX);
        assert_eq!(out.len(), req.len());
        assert_eq!(out[0..6], HOST_MAC);
        assert_eq!(out[6..12], VMAC4);
        let ip = &out[14..];
        assert_eq!(ip[8], 64, "reply TTL");
        assert_eq!(ip[12..16], VIP4.octets(), "from the VIP");
        assert_eq!(ip[16..20], HOST4.octets(), "to the asker");
        assert!(ipv4_csum_ok(ip), "IPv4 checksum");
        let icmp = &ip[20..];
        assert_eq!(icmp[0], 0, "echo reply");
        assert_eq!(icmp[4..], req[34 + 4..], "id, sequence and data echoed");
        assert_eq!(fold(sum16(icmp)), 0xffff, "ICMP checksum");

        // Other traffic to the VIP is not routed back out: dropped.
        let tcp = ipv4(VMAC4, HOST_MAC, HOST4, VIP4, 64, 6, &[0u8; 20]);
        let (v, _) = rig.run(&tcp, Counter::DroppedVipOther, Some(VMAC4));
        assert_eq!(v, XDP_DROP);
    });
}

#[test]
fn icmpv6_echo_to_a_virtual_ipv6_address_is_answered() {
    with_rig(|rig| {
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        for vip in [VIP6, VLL6] {
            let req = ipv6(
                VMAC6,
                HOST_MAC,
                HOST6,
                vip,
                64,
                58,
                &icmp6_echo(9, 1, b"ping6data"),
            );
            let (v, out) = rig.run(&req, Counter::EchoAnswered, Some(VMAC6));
            assert_eq!(v, XDP_TX);
            assert_eq!(out[0..6], HOST_MAC);
            assert_eq!(out[6..12], VMAC6);
            let ip = &out[14..];
            assert_eq!(ip[7], 64, "hop limit");
            assert_eq!(ip[8..24], vip.octets());
            assert_eq!(ip[24..40], HOST6.octets());
            assert_eq!(ip[40], 129, "echo reply");
            assert!(l4v6_csum_ok(ip), "ICMPv6 checksum");
        }
    });
}

#[test]
fn neighbour_solicitation_for_a_virtual_address_gets_an_na_only_while_active() {
    with_rig(|rig| {
        let req = ns(HOST_MAC, HOST6, VIP6);
        let (v, _) = rig.run(&req, Counter::NdDropped, Some(VMAC6));
        assert_eq!(v, XDP_DROP);

        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        for (target, src, dad) in [
            (VIP6, HOST6, false),
            (VLL6, HOST6, false),
            (VIP6, Ipv6Addr::UNSPECIFIED, true),
        ] {
            let req = ns(HOST_MAC, src, target);
            let (v, out) = rig.run(&req, Counter::NdAnswered, Some(VMAC6));
            assert_eq!(v, XDP_TX);
            assert_eq!(out.len(), 14 + 40 + 32, "NA with a TLLA option");
            let dst_mac = if dad {
                [0x33, 0x33, 0, 0, 0, 1]
            } else {
                HOST_MAC
            };
            assert_eq!(out[0..6], dst_mac);
            assert_eq!(out[6..12], VMAC6);
            assert_eq!(out[12..14], [0x86, 0xdd]);
            let ip = &out[14..];
            assert_eq!(ip[0..8], [0x60, 0, 0, 0, 0, 32, 58, 255]);
            assert_eq!(ip[8..24], target.octets(), "from the target address");
            let dst: Ipv6Addr = if dad {
                "ff02::1".parse().unwrap()
            } else {
                HOST6
            };
            assert_eq!(ip[24..40], dst.octets());
            let na = &ip[40..];
            assert_eq!(na[0..2], [136, 0]);
            let flags = if dad { 0xa0 } else { 0xe0 };
            assert_eq!(na[4..8], [flags, 0, 0, 0], "R, S (unless DAD), O");
            assert_eq!(na[8..24], target.octets());
            assert_eq!(na[24..26], [2, 1], "target link-layer address option");
            assert_eq!(na[26..32], VMAC6);
            assert!(l4v6_csum_ok(ip), "ICMPv6 checksum of the NA");
        }
        // Unicast NS (NUD) to the vMAC.
        let mut uni = ns(HOST_MAC, HOST6, VIP6);
        uni[..6].copy_from_slice(&VMAC6);
        let (v, out) = rig.run(&uni, Counter::NdAnswered, Some(VMAC6));
        assert_eq!(v, XDP_TX);
        assert!(l4v6_csum_ok(&out[14..]));
    });
}

fn hsrp4(dst: Ipv4Addr, payload: &[u8], src: Ipv4Addr) -> Vec<u8> {
    let mac = [0x01, 0x00, 0x5e, 0, 0, dst.octets()[3]];
    ipv4(mac, HOST_MAC, src, dst, 1, 17, &udp(1985, 1985, payload))
}

fn hsrp6(payload: &[u8]) -> Vec<u8> {
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let dst: Ipv6Addr = "ff02::66".parse().unwrap();
    ipv6(
        [0x33, 0x33, 0, 0, 0, 0x66],
        HOST_MAC,
        src,
        dst,
        255,
        17,
        &udp(2029, 2029, payload),
    )
}

#[test]
fn hsrp_control_is_passed_when_sane_and_dropped_when_malformed() {
    with_rig(|rig| {
        let all_routers = Ipv4Addr::new(224, 0, 0, 2);
        let v2_group = Ipv4Addr::new(224, 0, 0, 102);
        let good = [
            hsrp4(all_routers, &V1_HELLO, HOST4),
            hsrp4(v2_group, &v2_hello(4), HOST4),
            hsrp6(&v2_hello(6)),
        ];
        for f in &good {
            let (v, out) = rig.run(f, Counter::ControlPassed, None);
            assert_eq!(v, XDP_PASS);
            assert_eq!(&out, f);
        }
        let after = rig.maps.stats().unwrap();
        assert_eq!(
            after
                .interface(rig.lan)
                .unwrap()
                .get(Counter::ControlPassed),
            3,
            "control counted per interface"
        );

        let mut v1_bad_version = V1_HELLO;
        v1_bad_version[0] = 1;
        let mut v2_bad_len = v2_hello(4);
        v2_bad_len[1] = 39; // Group State TLV must be 40
        let mut v2_overrun = v2_hello(4);
        let n = v2_overrun.len();
        v2_overrun[n - 9] = 30; // auth TLV claims more than the payload holds
        let mut v2_bad_version = v2_hello(6);
        v2_bad_version[2] = 3;
        let mut udp_len_lies = hsrp4(all_routers, &V1_HELLO, HOST4);
        udp_len_lies[14 + 20 + 5] = 200;
        let bad = [
            hsrp4(all_routers, &v1_bad_version, HOST4),
            hsrp4(all_routers, &V1_HELLO[..12], HOST4),
            hsrp4(v2_group, &v2_bad_len, HOST4),
            hsrp4(v2_group, &v2_overrun, HOST4),
            hsrp6(&v2_bad_version),
            udp_len_lies,
        ];
        for (i, f) in bad.iter().enumerate() {
            let (v, _) = rig.run(f, Counter::ControlMalformed, None);
            assert_eq!(v, XDP_DROP, "malformed case {i}");
        }
        // Other traffic to the same groups is not ours.
        let other = ipv4(
            [1, 0, 0x5e, 0, 0, 2],
            HOST_MAC,
            HOST4,
            all_routers,
            1,
            17,
            &udp(5000, 5000, b"x"),
        );
        let (v, _) = rig.run(&other, Counter::Passed, None);
        assert_eq!(v, XDP_PASS);
    });
}

#[test]
fn hsrp_control_over_the_per_source_budget_is_dropped() {
    with_rig(|rig| {
        // 1 packet/s, burst 2: the third back-to-back hello from one source is over.
        rig.maps.set_control_rate(1, 2).unwrap();
        let group = Ipv4Addr::new(224, 0, 0, 2);
        let a = hsrp4(group, &V1_HELLO, HOST4);
        let b = hsrp4(group, &V1_HELLO, Ipv4Addr::new(10, 0, 1, 11));
        assert_eq!(rig.run(&a, Counter::ControlPassed, None).0, XDP_PASS);
        assert_eq!(rig.run(&a, Counter::ControlPassed, None).0, XDP_PASS);
        assert_eq!(rig.run(&a, Counter::ControlRateLimited, None).0, XDP_DROP);
        assert_eq!(
            rig.run(&b, Counter::ControlPassed, None).0,
            XDP_PASS,
            "per source"
        );
        let v6 = hsrp6(&v2_hello(6));
        assert_eq!(rig.run(&v6, Counter::ControlPassed, None).0, XDP_PASS);
        assert_eq!(rig.run(&v6, Counter::ControlPassed, None).0, XDP_PASS);
        assert_eq!(rig.run(&v6, Counter::ControlRateLimited, None).0, XDP_DROP);
        // Limit off again.
        rig.maps.set_control_rate(0, 0).unwrap();
        assert_eq!(rig.run(&a, Counter::ControlPassed, None).0, XDP_PASS);
    });
}

/// The budget refills as time passes: the program's clock (the coarse clock, read once
/// per tick per CPU) moves on between frames, not only when a frame finds a new tick.
#[test]
fn hsrp_control_budget_refills_with_time() {
    with_rig(|rig| {
        // 20 packets/s, no burst: one hello per 50 ms per source.
        rig.maps.set_control_rate(20, 1).unwrap();
        let a = hsrp4(Ipv4Addr::new(224, 0, 0, 2), &V1_HELLO, HOST4);
        for round in 0..3 {
            let (v, _) = rig.run(&a, Counter::ControlPassed, None);
            assert_eq!(
                v, XDP_PASS,
                "round {round}: a fresh interval admits one hello"
            );
            let (v, _) = rig.run(&a, Counter::ControlRateLimited, None);
            assert_eq!(v, XDP_DROP, "round {round}: the next one is over budget");
            // Three intervals and then some ticks of the coarse clock.
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        rig.maps.set_control_rate(0, 0).unwrap();
    });
}

#[test]
fn one_map_write_flips_forwarding_and_answers() {
    with_rig(|rig| {
        let fwd = udp4_to_server(64, SERVER4);
        let arp = arp_request(HOST_MAC, HOST4, VIP4);
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        assert!(rig.maps.is_active(rig.lan, VMAC4).unwrap());
        assert_eq!(
            rig.run(&fwd, Counter::Forwarded, Some(VMAC4)).0,
            XDP_REDIRECT
        );
        assert_eq!(rig.run(&arp, Counter::ArpAnswered, Some(VMAC4)).0, XDP_TX);
        rig.maps.set_active(rig.lan, VMAC4, false).unwrap();
        assert_eq!(
            rig.run(&fwd, Counter::DroppedNotActive, Some(VMAC4)).0,
            XDP_DROP
        );
        assert_eq!(rig.run(&arp, Counter::ArpDropped, Some(VMAC4)).0, XDP_DROP);
        // The other group is untouched by the flip.
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        assert_eq!(
            rig.run(&udp6_to_server(64), Counter::Forwarded, Some(VMAC6))
                .0,
            XDP_REDIRECT
        );

        // Removing the group removes its answers; reset empties everything.
        rig.maps.remove_group(rig.lan, VMAC4).unwrap();
        assert_eq!(rig.run(&arp, Counter::Passed, None).0, XDP_PASS);
        assert_eq!(rig.run(&fwd, Counter::Passed, None).0, XDP_PASS);
        rig.maps.reset().unwrap();
        assert_eq!(rig.maps.stats().unwrap().total, Counters::default());
        assert!(rig.maps.tx_ports().is_empty());
    });
}

/// One run through the next-hop cache path: (verdict, output, counter deltas in the
/// group of `vmac`), asserting the frame was forwarded.
fn run_forwarded(rig: &Rig, frame: &[u8], vmac: [u8; 6]) -> (Vec<u8>, Counters) {
    let before = rig.maps.stats().unwrap();
    let (v, out) = run(program(&rig.ebpf), rig.lan, frame);
    let after = rig.maps.stats().unwrap();
    assert_eq!(v, XDP_REDIRECT);
    let g = diff(
        after.group(rig.lan, vmac).unwrap(),
        before.group(rig.lan, vmac).unwrap(),
    );
    assert_eq!(g.get(Counter::Forwarded), 1, "{g:?}");
    assert_eq!(g.frames(), 1, "one verdict: {g:?}");
    (out, g)
}

/// A cache entry whose MACs differ from what the fib lookup returns, so the output shows
/// which of the two produced it.
fn fake_hop(gen: u32, oif: u32, smac: [u8; 6], max_len: u16) -> NexthopValue {
    NexthopValue {
        gen,
        oif,
        dmac: FAKE_MAC,
        _pad: [0; 2],
        smac,
        max_len,
    }
}

const FAKE_MAC: [u8; 6] = [0x02, 0xfa, 0xce, 0, 0, 0x99];

#[test]
fn nexthop_cache_hit_rewrites_like_the_fib_path_and_stale_entries_are_not_used() {
    with_rig(|rig| {
        let mut nh = NexthopMaps::from_ebpf(&mut rig.ebpf).unwrap();
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        let input = udp4_to_server(64, SERVER4);
        let tot_len = (input.len() - 14) as u16;
        let dst = IpAddr::V4(SERVER4);

        // Cache off (a fresh load): the fib path, nothing used or filled.
        assert_eq!(nh.generation().unwrap(), 0);
        let (by_fib, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(g.get(Counter::NhCacheHit) + g.get(Counter::NhCacheMiss), 0);
        assert!(nh.is_empty(), "gen 0 fills nothing");
        // ... and an entry of generation 0 is not used either.
        nh.insert(rig.lan, dst, fake_hop(0, rig.wan, rig.wan_mac, 1500))
            .unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib, "gen 0: fib path");
        assert_eq!(g.get(Counter::NhCacheHit) + g.get(Counter::NhCacheMiss), 0);
        assert_eq!(
            nh.entry(rig.lan, dst).unwrap().dmac,
            FAKE_MAC,
            "not refilled"
        );

        // On: the first frame misses and fills the entry from the lookup.
        let gen = nh.start().unwrap();
        assert!(nh.is_empty(), "start clears");
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib);
        assert_eq!(
            (g.get(Counter::NhCacheMiss), g.get(Counter::NhCacheHit)),
            (1, 0)
        );
        let e = nh.entry(rig.lan, dst).expect("filled");
        assert_eq!(
            (e.gen, e.oif, e.dmac, e.smac, e.max_len),
            (gen, rig.wan, SERVER_MAC, rig.wan_mac, tot_len)
        );
        // The second one hits: the same bytes as the fib path (MACs, TTL, checksum).
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib, "a hit writes what the fib path writes");
        assert_eq!(
            (g.get(Counter::NhCacheHit), g.get(Counter::NhCacheMiss)),
            (1, 0)
        );
        for ttl in [2u8, 3, 128, 255] {
            let (out, g) = run_forwarded(rig, &udp4_to_server(ttl, SERVER4), VMAC4);
            assert_eq!(g.get(Counter::NhCacheHit), 1);
            assert_eq!(out[14 + 8], ttl - 1);
            assert!(ipv4_csum_ok(&out[14..]), "checksum after TTL {ttl} (hit)");
        }

        // A current entry is what the program uses (proved by its MAC).
        nh.insert(rig.lan, dst, fake_hop(gen, rig.wan, rig.wan_mac, tot_len))
            .unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out[0..6], FAKE_MAC);
        assert_eq!(out[6..], by_fib[6..]);
        assert_eq!(g.get(Counter::NhCacheHit), 1);

        // Too small for this frame: the lookup runs, and the entry learns the size.
        nh.insert(
            rig.lan,
            dst,
            fake_hop(gen, rig.wan, rig.wan_mac, tot_len - 1),
        )
        .unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib, "max_len too small: fib path");
        assert_eq!(
            (g.get(Counter::NhCacheMiss), g.get(Counter::NhCacheHit)),
            (1, 0)
        );
        let e = nh.entry(rig.lan, dst).unwrap();
        assert_eq!((e.dmac, e.max_len, e.gen), (SERVER_MAC, tot_len, gen));

        // A bump makes the entry stale: the lookup runs again.
        nh.insert(rig.lan, dst, fake_hop(gen, rig.wan, rig.wan_mac, 1500))
            .unwrap();
        let gen2 = nh.bump().unwrap();
        assert_ne!(gen2, gen);
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib, "old generation: fib path");
        assert_eq!(
            (g.get(Counter::NhCacheMiss), g.get(Counter::NhCacheHit)),
            (1, 0)
        );
        assert_eq!(nh.entry(rig.lan, dst).unwrap().gen, gen2, "refilled");

        // Off again: a current-looking entry is ignored.
        nh.insert(rig.lan, dst, fake_hop(gen2, rig.wan, rig.wan_mac, 1500))
            .unwrap();
        nh.off().unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(out, by_fib);
        assert_eq!(g.get(Counter::NhCacheHit) + g.get(Counter::NhCacheMiss), 0);
    });
}

#[test]
fn nexthop_cache_serves_ipv6_with_the_hop_limit_decremented() {
    with_rig(|rig| {
        let mut nh = NexthopMaps::from_ebpf(&mut rig.ebpf).unwrap();
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        let input = udp6_to_server(64);
        let tot_len = (input.len() - 14) as u16;
        let dst = IpAddr::V6(SERVER6);
        let (by_fib, _) = run_forwarded(rig, &input, VMAC6);
        let gen = nh.start().unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC6);
        assert_eq!((out, g.get(Counter::NhCacheMiss)), (by_fib.clone(), 1));
        let e = nh.entry(rig.lan, dst).expect("filled");
        assert_eq!((e.gen, e.dmac, e.max_len), (gen, SERVER_MAC, tot_len));
        let (out, g) = run_forwarded(rig, &input, VMAC6);
        assert_eq!(out, by_fib, "hit: same bytes");
        assert_eq!(g.get(Counter::NhCacheHit), 1);
        assert_eq!(out[14 + 7], 63);
        assert!(l4v6_csum_ok(&out[14..]));
        nh.insert(rig.lan, dst, fake_hop(gen, rig.wan, rig.wan_mac, tot_len))
            .unwrap();
        let (out, _) = run_forwarded(rig, &input, VMAC6);
        assert_eq!(out[0..6], FAKE_MAC, "the entry is used");
        nh.insert(rig.lan, dst, fake_hop(gen - 1, rig.wan, rig.wan_mac, 1500))
            .unwrap();
        let (out, g) = run_forwarded(rig, &input, VMAC6);
        assert_eq!(
            (out, g.get(Counter::NhCacheMiss)),
            (by_fib, 1),
            "stale entry"
        );
    });
}

/// `n` MACs whose home slot in HSRP_VMAC on `ifindex` is the same (found by search), so
/// each lives one slot further along the probe sequence than the one before.
fn colliding_vmacs(ifindex: u32, n: usize) -> Vec<[u8; 6]> {
    use hsrp_ebpf::{mac_words, vmac_home_slot};
    let mac = |i: u32| [0x02, 0x00, 0x5e, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let home = |m: [u8; 6]| {
        let (lo, hi) = mac_words(m);
        vmac_home_slot(ifindex, lo, hi)
    };
    let target = home(mac(0));
    let found: Vec<[u8; 6]> = (0..1 << 24)
        .map(mac)
        .filter(|m| home(*m) == target)
        .take(n)
        .collect();
    assert_eq!(found.len(), n, "not enough colliding MACs in 2^24");
    found
}

/// The direct-mapped vMAC table with linear probing, as the program walks it: entries
/// that share a home slot are all found; removing one in the middle leaves a tombstone
/// the program probes past; a MAC of the same home that is not installed passes; an
/// insert beyond the probe limit is refused with a clear error and changes nothing.
#[test]
fn vmac_table_entries_sharing_a_home_slot_are_each_found_by_the_program() {
    with_rig(|rig| {
        let n = hsrp_ebpf::VMAC_PROBES as usize;
        let macs = colliding_vmacs(rig.lan, n + 2);
        for (i, m) in macs[..n].iter().enumerate() {
            rig.maps
                .add_group(rig.lan, *m, 100 + i as u16, 2, &[])
                .unwrap();
            // Alternate: even groups Active, odd ones not.
            rig.maps.set_active(rig.lan, *m, i % 2 == 0).unwrap();
        }
        let to = |m: [u8; 6]| {
            let mut f = udp4_to_server(64, SERVER4);
            f[..6].copy_from_slice(&m);
            f
        };
        let check = |rig: &Rig, i: usize, m: [u8; 6]| {
            if i.is_multiple_of(2) {
                assert_eq!(rig.run(&to(m), Counter::Forwarded, Some(m)).0, XDP_REDIRECT);
            } else {
                assert_eq!(
                    rig.run(&to(m), Counter::DroppedNotActive, Some(m)).0,
                    XDP_DROP
                );
            }
        };
        for (i, m) in macs[..n].iter().enumerate() {
            check(rig, i, *m);
        }
        // Full probe window: the next one is refused, nothing else changes.
        let err = rig
            .maps
            .add_group(rig.lan, macs[n], 200, 2, &[])
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("no free HSRP_VMAC slot within 8"),
            "{err:#}"
        );
        assert_eq!(rig.run(&to(macs[n]), Counter::Passed, None).0, XDP_PASS);
        // A hole in the middle: the later entries are still found, the removed one passes.
        rig.maps.remove_group(rig.lan, macs[2]).unwrap();
        assert_eq!(rig.run(&to(macs[2]), Counter::Passed, None).0, XDP_PASS);
        for (i, m) in macs[..n].iter().enumerate().filter(|(i, _)| *i != 2) {
            check(rig, i, *m);
        }
        // The hole is reused by the next insert, and that one is found too.
        rig.maps
            .add_group(rig.lan, macs[n + 1], 201, 2, &[])
            .unwrap();
        assert_eq!(
            rig.run(
                &to(macs[n + 1]),
                Counter::DroppedNotActive,
                Some(macs[n + 1])
            )
            .0,
            XDP_DROP
        );
        // Removing from the end frees slots (no tombstones left): after removing all,
        // the table is empty again and every frame passes.
        for m in macs[..n].iter().chain([&macs[n + 1]]).rev() {
            rig.maps.remove_group(rig.lan, *m).unwrap();
        }
        for m in &macs {
            assert_eq!(rig.run(&to(*m), Counter::Passed, None).0, XDP_PASS);
        }
        // The original groups are untouched by all of this.
        assert_eq!(
            rig.run(
                &udp4_to_server(64, SERVER4),
                Counter::DroppedNotActive,
                Some(VMAC4)
            )
            .0,
            XDP_DROP
        );
    });
}

/// Pruning removes exactly the entries of other generations (all of them while off),
/// and a pruned destination is refilled by the program from a fresh lookup.
#[test]
fn nexthop_prune_removes_only_entries_of_old_generations() {
    with_rig(|rig| {
        let mut nh = NexthopMaps::from_ebpf(&mut rig.ebpf).unwrap();
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        let old = nh.start().unwrap();
        let stale: Vec<IpAddr> = (1..=50)
            .map(|i| IpAddr::V4(Ipv4Addr::new(10, 9, 0, i)))
            .collect();
        for dst in &stale {
            nh.insert(rig.lan, *dst, fake_hop(old, rig.wan, rig.wan_mac, 1500))
                .unwrap();
        }
        let gen = nh.bump().unwrap();
        // The program fills one entry of the new generation.
        let input = udp4_to_server(64, SERVER4);
        let (_, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(g.get(Counter::NhCacheMiss), 1);
        assert_eq!(nh.len(), 51);
        assert_eq!(nh.prune_stale().unwrap(), 50);
        assert_eq!(nh.len(), 1);
        assert_eq!(nh.entry(rig.lan, IpAddr::V4(SERVER4)).unwrap().gen, gen);
        assert!(stale.iter().all(|d| nh.entry(rig.lan, *d).is_none()));
        // The kept entry is still used.
        let (_, g) = run_forwarded(rig, &input, VMAC4);
        assert_eq!(g.get(Counter::NhCacheHit), 1);
        // Off: everything goes.
        nh.off().unwrap();
        assert_eq!(nh.prune_stale().unwrap(), 1);
        assert!(nh.is_empty());
    });
}

/// A TCP segment host:4000 -> `dst`:9 with `flags` (20-byte header, no options).
fn tcp4_to_server(flags: u8) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&4000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&9u16.to_be_bytes());
    tcp[12] = 0x50;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&1024u16.to_be_bytes());
    tcp.extend_from_slice(b"payload!");
    ipv4(VMAC4, HOST_MAC, HOST4, SERVER4, 64, 6, &tcp)
}

fn flow(src: IpAddr, dst: IpAddr, proto: u8) -> hsrp_user::accepted_flow::CtTuple {
    hsrp_user::accepted_flow::CtTuple {
        src,
        dst,
        proto,
        sport: 4000,
        dport: 9,
    }
}

#[test]
fn accepted_flow_mode_forwards_only_admitted_flows_and_never_syn_fin_rst_or_fragments() {
    use hsrp_user::dataplane::flows::FlowMap;
    use hsrp_user::dataplane::fwd_mode::{ForwardMode, FwdModeMap};
    with_rig(|rig| {
        rig.maps.set_active(rig.lan, VMAC4, true).unwrap();
        rig.maps.set_active(rig.lan, VMAC6, true).unwrap();
        let mut mode = FwdModeMap::from_ebpf(&mut rig.ebpf).unwrap();
        let mut flows = FlowMap::from_ebpf(&mut rig.ebpf).unwrap();
        mode.set(ForwardMode::AcceptedFlow).unwrap();
        let to_kernel = |rig: &Rig, input: &[u8], vmac: [u8; 6], what: &str| {
            let (v, out) = rig.run(input, Counter::SlowPath, Some(vmac));
            assert_eq!(v, XDP_PASS, "{what}");
            assert_eq!(out[..6], rig.lan_mac, "{what}: to the kernel");
        };
        let forwarded = |rig: &Rig, input: &[u8], vmac: [u8; 6], what: &str| {
            let before = rig.maps.stats().unwrap().total;
            let (v, out) = rig.run(input, Counter::Forwarded, Some(vmac));
            assert_eq!(v, XDP_REDIRECT, "{what}");
            assert_eq!(out[..6], SERVER_MAC, "{what}");
            let d = diff(&rig.maps.stats().unwrap().total, &before);
            assert_eq!(d.get(Counter::FlowHit), 1, "{what}: counted as a flow hit");
        };
        let udp4 = udp4_to_server(64, SERVER4);
        let udp6 = udp6_to_server(64);
        to_kernel(rig, &udp4, VMAC4, "UDP, flow not admitted");
        to_kernel(rig, &udp6, VMAC6, "UDP over IPv6, flow not admitted");
        flows
            .insert(&flow(HOST4.into(), SERVER4.into(), 17))
            .unwrap();
        flows
            .insert(&flow(HOST6.into(), SERVER6.into(), 17))
            .unwrap();
        forwarded(rig, &udp4, VMAC4, "UDP of an admitted flow");
        forwarded(rig, &udp6, VMAC6, "UDP over IPv6 of an admitted flow");
        // The same addresses, another port; a fragment of the admitted flow.
        to_kernel(
            rig,
            &ipv4(
                VMAC4,
                HOST_MAC,
                HOST4,
                SERVER4,
                64,
                17,
                &udp(4001, 9, b"payload!"),
            ),
            VMAC4,
            "another source port",
        );
        let mut frag = udp4.clone();
        frag[14 + 6] = 0x20; // more fragments
        to_kernel(rig, &frag, VMAC4, "a fragment");
        // TCP: segments of an admitted flow, but SYN, FIN and RST always to the kernel.
        to_kernel(rig, &tcp4_to_server(0x10), VMAC4, "TCP, flow not admitted");
        flows
            .insert(&flow(HOST4.into(), SERVER4.into(), 6))
            .unwrap();
        forwarded(rig, &tcp4_to_server(0x10), VMAC4, "TCP ACK");
        forwarded(rig, &tcp4_to_server(0x18), VMAC4, "TCP PSH+ACK");
        for (flags, what) in [
            (0x02, "SYN"),
            (0x11, "FIN"),
            (0x04, "RST"),
            (0x14, "RST+ACK"),
        ] {
            to_kernel(rig, &tcp4_to_server(flags), VMAC4, what);
        }
        // Removed, or the mode back to the kernel path: the map no longer counts.
        flows
            .remove(&flow(HOST4.into(), SERVER4.into(), 6))
            .unwrap();
        to_kernel(rig, &tcp4_to_server(0x10), VMAC4, "TCP, flow removed");
        mode.set(ForwardMode::Kernel).unwrap();
        to_kernel(rig, &udp4, VMAC4, "kernel path");
        mode.set(ForwardMode::Fast).unwrap();
        let (v, _) = rig.run(&udp4, Counter::Forwarded, Some(VMAC4));
        assert_eq!(v, XDP_REDIRECT, "fast path");
    });
}

const BFD_DISCR: u32 = 0x0abc_0405;
const BFD_PEER_PORT: u16 = 49_200;
const LAN4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const LAN6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);

/// A BFD Control packet from the peer (version 1, Up, multiplier 3, My Discriminator 77),
/// to Your Discriminator `yours`, with `flags` (P = 0x20, F = 0x10) and 10 ms intervals.
fn bfd_control(yours: u32, flags: u8) -> Vec<u8> {
    let mut b = vec![0x20, 0xc0 | flags, 3, 24, 0, 0, 0, 77];
    b.extend_from_slice(&yours.to_be_bytes());
    b.extend_from_slice(&10_000u32.to_be_bytes());
    b.extend_from_slice(&10_000u32.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b
}

fn bfd4(rig: &Rig, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, sport: u16, payload: &[u8]) -> Vec<u8> {
    ipv4(
        rig.lan_mac,
        HOST_MAC,
        src,
        dst,
        ttl,
        17,
        &udp(sport, 3784, payload),
    )
}

fn bfd_expect(rig: &Rig, family: u8, peer: &[u8], local: &[u8]) -> BfdExpect {
    let mut e = BfdExpect {
        discriminator: BFD_DISCR,
        ifindex: rig.lan,
        family,
        src_port: BFD_PEER_PORT.to_be_bytes(),
        ..BfdExpect::default()
    };
    e.peer[..peer.len()].copy_from_slice(peer);
    e.local[..local.len()].copy_from_slice(local);
    e.packet.copy_from_slice(&bfd_control(BFD_DISCR, 0));
    e
}

/// The steady packet of a session, exactly as expected, is counted in the session's slot
/// (with the program's clock) and dropped; a frame that differs in anything that carries
/// meaning passes untouched and leaves the slot alone.
#[test]
fn a_steady_bfd_session_packet_is_counted_and_dropped_and_nothing_else_is() {
    with_rig(|rig| {
        let mut bfd = BfdMaps::from_ebpf(&mut rig.ebpf).unwrap();
        let steady = bfd_control(BFD_DISCR, 0);
        let good = bfd4(rig, HOST4, LAN4, 255, BFD_PEER_PORT, &steady);
        // Nothing expected yet: passed.
        let (v, _) = rig.run(&good, Counter::Passed, None);
        assert_eq!(v, XDP_PASS);
        bfd.expect(&bfd_expect(rig, FAMILY_V4, &HOST4.octets(), &LAN4.octets()))
            .unwrap();
        let before = program_clock_ns();
        let (v, _) = rig.run(&good, Counter::BfdSteady, None);
        let after = program_clock_ns();
        assert_eq!(v, XDP_DROP);
        let seen = bfd.seen(BFD_DISCR);
        assert_eq!(seen.count, 1);
        assert!(
            (before..=after).contains(&seen.last_ns),
            "{before} <= {} <= {after}",
            seen.last_ns
        );
        let mut options = good.clone();
        options[14] = 0x46;
        let mut fragment = good.clone();
        fragment[14 + 6] = 0x20;
        let mut later_fragment = good.clone();
        later_fragment[14 + 7] = 0x03;
        let mut longer = steady.clone();
        longer.extend_from_slice(&[0; 4]);
        let other_slot_owner = BFD_DISCR + hsrp_ebpf::MAX_BFD_SESSIONS;
        let from_peer = |payload: &[u8]| bfd4(rig, HOST4, LAN4, 255, BFD_PEER_PORT, payload);
        let different = [
            (
                bfd4(rig, HOST4, LAN4, 254, BFD_PEER_PORT, &steady),
                "TTL 254",
            ),
            (from_peer(&bfd_control(BFD_DISCR, 0x20)), "a Poll"),
            (
                bfd4(rig, HOST4, LAN4, 255, BFD_PEER_PORT + 1, &steady),
                "another source port",
            ),
            (
                bfd4(rig, SERVER4, LAN4, 255, BFD_PEER_PORT, &steady),
                "another peer",
            ),
            (
                bfd4(rig, HOST4, VIP4, 255, BFD_PEER_PORT, &steady),
                "another address of ours",
            ),
            (
                from_peer(&bfd_control(other_slot_owner, 0)),
                "the same slot, another discriminator",
            ),
            (from_peer(&longer), "longer"),
            (options, "IP options"),
            (fragment, "a first fragment"),
            (later_fragment, "a later fragment"),
        ];
        for (frame, what) in &different {
            let (v, out) = rig.run(frame, Counter::Passed, None);
            assert_eq!((v, &out), (XDP_PASS, frame), "{what}");
        }
        // The right frame on another interface.
        let (v, _) = run(program(&rig.ebpf), rig.wan, &good);
        assert_eq!(v, XDP_PASS, "another interface");
        assert_eq!(bfd.seen(BFD_DISCR).count, 1, "no other frame counted");
        // Forgotten: the steady packet goes to the kernel again.
        bfd.forget(BFD_DISCR).unwrap();
        let (v, _) = rig.run(&good, Counter::Passed, None);
        assert_eq!(v, XDP_PASS);
        assert_eq!(bfd.seen(BFD_DISCR).count, 1);
    });
}

#[test]
fn a_steady_bfd_session_packet_over_ipv6_needs_hop_limit_255() {
    with_rig(|rig| {
        let mut bfd = BfdMaps::from_ebpf(&mut rig.ebpf).unwrap();
        bfd.expect(&bfd_expect(rig, FAMILY_V6, &HOST6.octets(), &LAN6.octets()))
            .unwrap();
        let frame = |hop: u8, src: Ipv6Addr| {
            let l4 = udp(BFD_PEER_PORT, 3784, &bfd_control(BFD_DISCR, 0));
            ipv6(rig.lan_mac, HOST_MAC, src, LAN6, hop, 17, &l4)
        };
        let (v, _) = rig.run(&frame(255, HOST6), Counter::BfdSteady, None);
        assert_eq!(v, XDP_DROP);
        let mut hop_by_hop = frame(255, HOST6);
        hop_by_hop[14 + 6] = 0;
        let mut padded = frame(255, HOST6);
        padded[14 + 5] += 4;
        padded.extend_from_slice(&[0; 4]);
        for (f, what) in [
            (hop_by_hop, "an extension header"),
            (padded, "a payload length beyond the packet"),
            (frame(254, HOST6), "hop limit 254"),
            (frame(255, SERVER6), "another peer"),
        ] {
            let (v, out) = rig.run(&f, Counter::Passed, None);
            assert_eq!((v, &out), (XDP_PASS, &f), "{what}");
        }
        // An IPv4 packet with the same bytes does not match an IPv6 expectation.
        let v4 = bfd4(
            rig,
            HOST4,
            LAN4,
            255,
            BFD_PEER_PORT,
            &bfd_control(BFD_DISCR, 0),
        );
        let (v, _) = rig.run(&v4, Counter::Passed, None);
        assert_eq!(v, XDP_PASS);
        assert_eq!(bfd.seen(BFD_DISCR).count, 1);
    });
}
