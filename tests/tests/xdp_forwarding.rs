//! Real traffic through the XDP data plane: host → bridge → router (XDP) → server.
//! Kernel forwarding on the router is blocked (an nftables forward chain that drops), so
//! every packet the server receives was forwarded by XDP; the flip to not-Active (one map
//! write) stops it, and ARP/ping for the VIP are answered only while Active.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hsrp_ebpf::{Counter, Counters};
use hsrp_tests::xdp::*;
use hsrp_tests::{require_root, require_tool, veth, Netns};
use hsrp_user::dataplane::maps::DataplaneMaps;
use hsrp_user::dataplane::Dataplane;
use hsrp_user::dataplane::MapSet;

const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const VIP6: &str = "2001:db8:1::1";
const PACKETS: u32 = 200;

/// Sends `n` UDP datagrams from `ns` to 10.0.2.2:9999.
fn send_udp(ns: &Netns, n: u32) {
    ns.exec(&format!(
        "python3 -c \"import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         for i in range({n}):\n    s.sendto(b'x'*32,('10.0.2.2',9999))\n    time.sleep(0.0005)\""
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
}

/// Packets counted by the nft rule in `chain` of table inet t.
fn nft_packets(ns: &Netns, chain: &str) -> u64 {
    let out = ns.exec(&format!("nft list chain inet t {chain}")).unwrap();
    let at = out
        .find("packets ")
        .unwrap_or_else(|| panic!("no counter in {out}"));
    out[at + 8..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// ICMP / ICMPv6 echo from a raw socket (no ping binary needed): true when a reply with
/// our identifier arrives within 1 s for either of two requests.
const PING_PY: &str = r#"
import socket, struct, sys, time, os
addr = sys.argv[1]
v6 = ':' in addr
ident = os.getpid() & 0xffff
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s > 0xffff: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.2)
for seq in range(2):
    t = 128 if v6 else 8
    msg = struct.pack('!BBHHH', t, 0, 0, ident, seq) + b'hsrpd-ping'
    if not v6:
        msg = msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
    s.sendto(msg, (addr, 0))
    end = time.time() + 1
    while time.time() < end:
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        icmp = data if v6 else data[(data[0] & 15) * 4:]
        if icmp[0] == (129 if v6 else 0) and struct.unpack('!H', icmp[4:6])[0] == ident:
            sys.exit(0)
sys.exit(1)
"#;

fn ping(ns: &Netns, addr: &str) -> bool {
    let status = ns
        .command("python3")
        .arg("-c")
        .arg(PING_PY)
        .arg(addr)
        .status()
        .expect("running python3");
    status.success()
}

/// host ─ bridge ─ router (hsrp on r0, group 1 installed, not Active) ─ server, with the
/// counters of the router's forward chain and the server's input chain. Fields drop in
/// order: the programs are detached before the namespaces go.
struct Rig {
    _xdp: [Dataplane; 3],
    maps: DataplaneMaps,
    lan_if: u32,
    /// The host's interface.
    h0: String,
    host: Netns,
    router: Netns,
    server: Netns,
    _lan: Netns,
}

impl Rig {
    fn new() -> Rig {
        require_root();
        require_tool("nft");
        require_tool("python3");
        let [host, lan, router, server] = ["fh", "fl", "fr", "fs"].map(|t| Netns::new(t).unwrap());
        let tag = hsrp_tests::unique("");
        let (h0, hp, r0, rp, r1, s0) = (
            format!("h{tag}"),
            format!("hp{tag}"),
            format!("r0{tag}"),
            format!("rp{tag}"),
            format!("r1{tag}"),
            format!("s{tag}"),
        );
        veth(&h0, Some(&host), &hp, Some(&lan)).unwrap();
        veth(&r0, Some(&router), &rp, Some(&lan)).unwrap();
        veth(&r1, Some(&router), &s0, Some(&server)).unwrap();
        lan.exec(&format!(
            "ip link add br0 type bridge && ip link set br0 up \
             && ip link set {hp} master br0 && ip link set {rp} master br0"
        ))
        .unwrap();
        host.exec(&format!(
            "ip addr add 10.0.1.10/24 dev {h0} && ip route add default via 10.0.1.1 \
             && ip -6 addr add 2001:db8:1::10/64 dev {h0} nodad"
        ))
        .unwrap();
        // The forward chain counts the host's datagrams only: the server's ICMP port
        // unreachable answers are routed back by the kernel (no XDP on r1) and dropped too.
        router
            .exec(&format!(
                "ip addr add 10.0.1.2/24 dev {r0} && ip addr add 10.0.2.1/24 dev {r1} \
                 && ip -6 addr add 2001:db8:1::2/64 dev {r0} nodad \
                 && sysctl -qw net.ipv4.ip_forward=1 \
                 && nft add table inet t \
                 && nft add chain inet t fwdchain '{{ type filter hook forward priority 0; policy drop; }}' \
                 && nft add rule inet t fwdchain udp dport 9999 counter drop"
            ))
            .unwrap();
        server
            .exec(&format!(
                "ip addr add 10.0.2.2/24 dev {s0} && ip route add default via 10.0.2.1 \
                 && nft add table inet t \
                 && nft add chain inet t rx '{{ type filter hook input priority 0; }}' \
                 && nft add rule inet t rx udp dport 9999 counter"
            ))
            .unwrap();
        let object = std::fs::read(object_path()).unwrap();
        let lan_xdp = pass_all_on(&lan, &rp, &object);
        let server_xdp = pass_all_on(&server, &s0, &object);
        let (router_xdp, maps, lan_if) = router.enter(|| {
            let mut dp = load_dataplane(&object);
            let mode = dp.attach(&r0).unwrap();
            assert_eq!(
                mode.as_str(),
                "generic",
                "veth gets generic mode (attach_policy)"
            );
            let mut maps = DataplaneMaps::from_dataplane(&mut dp).unwrap();
            maps.reset().unwrap();
            let lan_if = ifindex(&r0);
            maps.set_interface(lan_if, if_mac(&r0)).unwrap();
            maps.add_tx_port(ifindex(&r1)).unwrap();
            maps.add_group(
                lan_if,
                VMAC,
                1,
                2,
                &[
                    IpAddr::V4(VIP4),
                    IpAddr::V6(VIP6.parse::<Ipv6Addr>().unwrap()),
                ],
            )
            .unwrap();
            (dp, maps, lan_if)
        });
        // The router resolves the server itself (kernel forwarding never will: it is
        // dropped).
        assert!(ping(&router, "10.0.2.2"), "router reaches the server");
        Rig {
            _xdp: [router_xdp, lan_xdp, server_xdp],
            maps,
            lan_if,
            h0,
            host,
            router,
            server,
            _lan: lan,
        }
    }

    /// The group's counters.
    fn group(&self) -> Counters {
        *self.maps.stats().unwrap().group(self.lan_if, VMAC).unwrap()
    }

    /// The one map write of a takeover (`true`) or a give-up.
    fn set_active(&mut self, active: bool) {
        self.maps.set_active(self.lan_if, VMAC, active).unwrap();
    }

    /// Forgets what the host resolved for the VIPs.
    fn flush_host_neighbours(&self) {
        self.host
            .exec(&format!("ip neigh flush dev {}", self.h0))
            .unwrap();
    }
}

#[test]
fn the_virtual_ips_answer_arp_nd_and_ping_from_xdp_only_while_active() {
    let mut rig = Rig::new();
    assert!(
        !ping(&rig.host, "10.0.1.1"),
        "VIP answered while not Active"
    );
    rig.set_active(true);
    assert!(ping(&rig.host, "10.0.1.1"), "ping to the VIP while Active");
    assert!(
        ping(&rig.host, VIP6),
        "ping6 to the virtual IPv6 address while Active"
    );
    let g = rig.group();
    assert!(g.get(Counter::ArpAnswered) >= 1, "{g:?}");
    assert!(g.get(Counter::NdAnswered) >= 1, "{g:?}");
    // Each successful ping (v4, v6) was answered by XDP at least once; a request sent while
    // the host was still resolving the VIP may have been lost, so not necessarily twice.
    assert!(g.get(Counter::EchoAnswered) >= 2, "{g:?}");
    rig.set_active(false);
    rig.flush_host_neighbours();
    assert!(!ping(&rig.host, "10.0.1.1"), "VIP answered after give-up");
    assert!(
        !ping(&rig.host, VIP6),
        "virtual IPv6 answered after give-up"
    );
}

#[test]
fn while_active_every_datagram_to_the_vmac_is_forwarded_by_xdp() {
    let mut rig = Rig::new();
    rig.set_active(true);
    assert!(ping(&rig.host, "10.0.1.1"), "the host resolves the VIP");
    let fwd0 = rig.group().get(Counter::Forwarded);
    send_udp(&rig.host, PACKETS);
    let g = rig.group();
    assert_eq!(
        g.get(Counter::Forwarded) - fwd0,
        PACKETS as u64,
        "fast-path counter == packets sent: {g:?}"
    );
    assert_eq!(
        nft_packets(&rig.server, "rx"),
        PACKETS as u64,
        "all arrived"
    );
    assert_eq!(
        nft_packets(&rig.router, "fwdchain"),
        0,
        "nothing went through the kernel"
    );
}

#[test]
fn one_map_write_stops_forwarding_and_one_brings_it_back() {
    let mut rig = Rig::new();
    rig.set_active(true);
    assert!(ping(&rig.host, "10.0.1.1"), "the host resolves the VIP");
    send_udp(&rig.host, PACKETS);
    assert_eq!(
        nft_packets(&rig.server, "rx"),
        PACKETS as u64,
        "all arrived"
    );
    // Give-up: the host still sends to the vMAC it has resolved; nothing passes.
    rig.set_active(false);
    let g = rig.group();
    send_udp(&rig.host, PACKETS);
    let g2 = rig.group();
    assert_eq!(
        g2.get(Counter::Forwarded),
        g.get(Counter::Forwarded),
        "no forwarding"
    );
    assert!(
        g2.get(Counter::DroppedNotActive) - g.get(Counter::DroppedNotActive) >= PACKETS as u64,
        "{g2:?}"
    );
    assert_eq!(
        nft_packets(&rig.server, "rx"),
        PACKETS as u64,
        "nothing more arrived"
    );
    // And back.
    rig.set_active(true);
    rig.flush_host_neighbours();
    assert!(ping(&rig.host, "10.0.1.1"));
    send_udp(&rig.host, PACKETS);
    assert_eq!(nft_packets(&rig.server, "rx"), 2 * PACKETS as u64);
    assert_eq!(nft_packets(&rig.router, "fwdchain"), 0);
}
