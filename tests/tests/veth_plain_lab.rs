//! hsrpd on veth as users run it (containers): the plain lab (see `hsrp_tests::lab_plain`)
//! — default offloads, no XDP program on any peer, no neighbour resolved in advance, host
//! ARP entries going stale within a second — with traffic through real sockets.

use std::time::Duration;

use hsrp_tests::lab::SERVER_IP;
use hsrp_tests::lab_plain::{plain_lab_active, server, tcp_transfer, udp_stream, TcpOutcome};

fn counters(lab: &hsrp_tests::lab::Lab) -> hsrp_user::control::DataplaneCounters {
    let s = lab.status(1).expect("status of r1");
    s.groups[0]
        .dataplane
        .clone()
        .expect("r1 reports its data-plane counters")
}

#[test]
fn veth_gets_generic_xdp_and_carries_udp_and_tcp_from_the_first_packet() {
    let lab = plain_lab_active().expect("plain lab");
    let status = lab.status(1).unwrap();
    assert_eq!(status.interfaces[0].xdp_mode, "generic", "{status:?}");
    assert!(
        lab.log(1).contains("generic (SKB) mode chosen"),
        "the log says why:\n{}",
        lab.log(1)
    );
    let host = lab.host.as_ref().unwrap();
    let srv = lab.server.as_ref().unwrap();

    // 4 s at one datagram per 4 ms: the host's entry for the VIP goes stale (reachable
    // 150-450 ms) and is re-confirmed by unicast ARP to the vMAC several times. The first
    // datagrams wait in the kernels' ARP queues (host for the VIP, r1 for the server),
    // they are not lost. Every datagram must reach the server's socket: a wrong UDP
    // checksum would be discarded there.
    let udp = udp_stream(host, srv, server(7001), 1000, Duration::from_millis(4)).unwrap();
    assert_eq!(udp.received, udp.sent, "{udp:?}\nr1 log:\n{}", lab.log(1));
    let c = counters(&lab);
    assert!(c.forwarded > 900, "the fast path carried the stream: {c:?}");
    // The broadcast request at the start, then unicast re-confirmations of a stale entry
    // (at least one DELAY + PROBE cycle of 1.1 s fits in 4 s).
    assert!(
        c.arp_answered >= 2,
        "answers from XDP reached the host: {c:?}"
    );

    // TCP, 8 MiB: big (GSO) segments the fast path hands to the kernel and small ones it
    // forwards; every byte is checked by the server.
    let tcp = tcp_transfer(host, srv, server(7002), 8 << 20, Duration::from_secs(20)).unwrap();
    assert_eq!(
        tcp,
        TcpOutcome::Delivered {
            peer: hsrp_tests::lab_plain::HOST.into()
        }
    );
    let after = counters(&lab);
    assert!(
        after.forwarded > c.forwarded,
        "TCP used the fast path too: {after:?}"
    );
}

#[test]
fn veth_ttl_1_gets_time_exceeded_from_the_router_and_first_pings_pass() {
    let lab = plain_lab_active().expect("plain lab");
    let host = lab.host.as_ref().unwrap();
    // Nothing resolved yet: the first echo request goes to the kernel (r1 has no
    // neighbour for the server) after the MAC rewrite, and must be routed, not dropped.
    let out = host
        .exec(&format!("ping -c 3 -i 0.2 -W 2 {SERVER_IP}"))
        .expect("3 of 3 pings through the VIP");
    assert!(out.contains("3 received"), "{out}");
    let out = host
        .exec(&format!("ping -c 1 -t 1 -W 2 {SERVER_IP} || true"))
        .unwrap();
    assert!(
        out.contains("Time to live exceeded") && out.contains(&lab.router(1).lan_ip.to_string()),
        "r1 answers TTL 1 with Time Exceeded: {out}"
    );
    let c = counters(&lab);
    assert!(
        c.slow_path >= 2,
        "first ping and TTL 1 went to the kernel: {c:?}"
    );
}
