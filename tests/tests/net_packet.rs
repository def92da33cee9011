//! `hsrp_user::net::PacketSocket` on a real veth pair inside a namespace: frames cross
//! byte for byte, the kernel filter lets only HSRP and Router Solicitations through, the
//! host's own frames never come back, and the multicast/unicast filter entries appear in
//! the kernel and vanish with the socket.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hsrp_testkit::frames::{arp_request, ipv4, ipv6, udp, PROTO_UDP, V1_HELLO};
use hsrp_tests::within;
use hsrp_tests::{require_root, unique, veth, Netns};
use hsrp_user::net::{NetError, PacketSocket};
use hsrp_user::proto::MacAddr;

/// The v1 group 1 vMAC, and the destination MACs of v1 and v6 Hellos.
const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x07, 0xac, 0x01];
const MCAST_V1: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x02];
const MCAST_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x66];

/// How long "nothing arrives" is waited for. Frames on a veth arrive in microseconds.
const QUIET: Duration = Duration::from_millis(300);

/// A namespace with a veth pair `a` <-> `b`, both up.
struct Pair {
    ns: Netns,
    a: String,
    b: String,
}

fn pair() -> Pair {
    require_root();
    let ns = Netns::new("np").unwrap();
    let (a, b) = (unique("pa"), unique("pb"));
    veth(&a, Some(&ns), &b, Some(&ns)).unwrap();
    // Until the kernel's link watcher marks the pair operational (asynchronously, up to
    // a second), the transmit queue is a no-op that drops every frame.
    ns.wait_operational(&a);
    ns.wait_operational(&b);
    Pair { ns, a, b }
}

/// A frame as a v1 Hello travels (192.0.2.1 to 224.0.0.2, TTL 1, from the vMAC), to UDP
/// `port` with `payload`.
fn udp4_multicast(port: u16, payload: &[u8]) -> Vec<u8> {
    ipv4(
        MCAST_V1,
        VMAC,
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(224, 0, 0, 2),
        1,
        PROTO_UDP,
        &udp(port, port, payload),
    )
}

/// A frame as a v6 Hello travels (fe80::1 to ff02::66, hop limit 255, from the vMAC), to
/// UDP `port` with `payload`.
fn udp6_multicast(port: u16, payload: &[u8]) -> Vec<u8> {
    ipv6(
        MCAST_V6,
        VMAC,
        "fe80::1".parse().unwrap(),
        "ff02::66".parse().unwrap(),
        255,
        PROTO_UDP,
        &udp(port, port, payload),
    )
}

fn v4_hello() -> Vec<u8> {
    udp4_multicast(1985, &V1_HELLO)
}

fn v6_hello() -> Vec<u8> {
    udp6_multicast(2029, &[0x01, 0x28, 0x02, 0x06, 0, 0, 0, 1])
}

async fn recv_one(sock: &PacketSocket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    let n = within(QUIET, sock.recv(&mut buf)).await?.unwrap();
    Some(buf[..n].to_vec())
}

#[test]
fn hsrp_frames_from_a_virtual_mac_cross_the_veth_unchanged() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        for frame in [v4_hello(), v6_hello()] {
            tx.send(&frame).await.unwrap();
            let got = recv_one(&rx).await.expect("HSRP frame not received");
            assert_eq!(got, frame);
        }
    });
}

#[test]
fn only_hsrp_control_frames_are_delivered() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        let payload = V1_HELLO;
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let others = [
            ("UDP 1986", udp4_multicast(1986, &payload)),
            ("ARP", arp_request(VMAC, src, Ipv4Addr::new(192, 0, 2, 254))),
            ("IPv6 UDP 1985", udp6_multicast(1985, &payload)),
            ("IPv4 UDP 2029", udp4_multicast(2029, &payload)),
        ];
        for (_, frame) in &others {
            tx.send(frame).await.unwrap();
        }
        let hello = v4_hello();
        tx.send(&hello).await.unwrap();
        // Delivery on a veth is in order: if any other frame passed the filter, it would
        // come first.
        let first = recv_one(&rx).await.expect("HSRP frame not received");
        if first != hello {
            let which = others.iter().find(|(_, f)| *f == first).map(|(n, _)| *n);
            panic!("delivered a non-HSRP frame: {which:?} {first:02x?}");
        }
        assert_eq!(recv_one(&rx).await, None, "a second frame was delivered");
    });
}

/// A Router Solicitation from `src` as a host sends it (SLLA unless from ::).
fn router_solicitation(src: &str) -> Vec<u8> {
    let src: Ipv6Addr = src.parse().unwrap();
    let rs = hsrp_user::wire::RsRepr {
        source_mac: (!src.is_unspecified()).then_some(MacAddr(VMAC)),
    };
    let mut buf = [0u8; 128];
    let n = hsrp_user::wire::router_solicitation(MacAddr(VMAC), src, &rs, &mut buf).unwrap();
    buf[..n].to_vec()
}

/// The same ICMPv6 frame with another message type (checksum left stale: the filter does
/// not look at it).
fn icmpv6_of_type(mut frame: Vec<u8>, icmp_type: u8) -> Vec<u8> {
    frame[14 + 40] = icmp_type;
    frame
}

#[test]
fn router_solicitations_are_delivered_and_other_icmpv6_is_not() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        let rs = router_solicitation("fe80::42");
        // The filter's limit: an RS behind a Hop-by-Hop header (8 bytes, next = ICMPv6).
        let mut hbh = rs[..14 + 40].to_vec();
        hbh[14 + 6] = 0;
        hbh.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
        hbh.extend_from_slice(&rs[14 + 40..]);
        let plen = (hbh.len() - 54) as u16;
        hbh[18..20].copy_from_slice(&plen.to_be_bytes());
        let others = [
            ("RA", icmpv6_of_type(rs.clone(), 134)),
            ("NS", icmpv6_of_type(rs.clone(), 135)),
            ("NA", icmpv6_of_type(rs.clone(), 136)),
            ("echo request", icmpv6_of_type(rs.clone(), 128)),
            ("MLDv2 report", icmpv6_of_type(rs.clone(), 143)),
            ("RS behind a Hop-by-Hop header", hbh),
        ];
        for (_, frame) in &others {
            tx.send(frame).await.unwrap();
        }
        let unspecified = router_solicitation("::");
        for want in [&rs, &unspecified] {
            tx.send(want).await.unwrap();
            // In order on a veth: another frame that passed the filter would come first.
            let got = recv_one(&rx)
                .await
                .expect("Router Solicitation not received");
            if got != *want {
                let which = others.iter().find(|(_, f)| *f == got).map(|(n, _)| *n);
                panic!("delivered {which:?} instead of the RS: {got:02x?}");
            }
        }
        assert_eq!(recv_one(&rx).await, None, "another frame was delivered");
    });
}

/// `try_recv` reads what waits without waiting itself, stamped with its arrival: a frame
/// read 300 ms after it arrived carries a stamp about 300 ms old (the wall clock, the
/// kernel's receive timestamp), and an empty socket answers None at once.
#[test]
fn try_recv_returns_a_waiting_frame_with_its_arrival_time() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        let mut buf = [0u8; 2048];
        assert_eq!(rx.try_recv(&mut buf).unwrap(), None);
        let hello = v4_hello();
        let sent = std::time::SystemTime::now();
        tx.send(&hello).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (n, at) = rx.try_recv(&mut buf).unwrap().expect("the frame waits");
        assert_eq!(&buf[..n], &hello[..]);
        let at = at.expect("no receive timestamp");
        let after_send = at.duration_since(sent).expect("stamped before it was sent");
        // Bound: the frame crosses a veth in microseconds; 150 ms leaves room for a busy
        // host while staying far from the 300 ms it then waited.
        assert!(after_send < Duration::from_millis(150), "{after_send:?}");
        // A stamp of the read would be about 0 old; the arrival is about 300 ms old.
        assert!(
            at.elapsed().unwrap() >= Duration::from_millis(150),
            "stamp {at:?} is the read, not the arrival"
        );
        assert_eq!(rx.try_recv(&mut buf).unwrap(), None);
    });
}

#[test]
fn frames_the_host_sends_are_not_received() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        // A second socket on the sending interface: without the outgoing filter it would
        // see `tx`'s frame (AF_PACKET shows every socket the host's transmissions).
        let same_side = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        let hello = v4_hello();
        tx.send(&hello).await.unwrap();
        assert_eq!(
            recv_one(&rx).await,
            Some(hello),
            "control: the peer must get it"
        );
        assert_eq!(
            recv_one(&tx).await,
            None,
            "own frame looped back to the sender"
        );
        assert_eq!(
            recv_one(&same_side).await,
            None,
            "host's outgoing frame delivered"
        );
    });
}

#[test]
fn oversized_frame_is_an_error_naming_the_interface_and_the_socket_goes_on() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        let hello = v4_hello();
        tx.send(&hello).await.unwrap();
        let mut small = [0u8; 20];
        let err = within(QUIET, rx.recv(&mut small))
            .await
            .expect("nothing received");
        match err {
            Err(e @ NetError::Truncated { .. }) => {
                assert!(e.is_transient());
                let text = e.to_string();
                assert!(
                    text.contains(&p.b) && text.contains(&hello.len().to_string()),
                    "{text}"
                );
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        tx.send(&hello).await.unwrap();
        assert_eq!(recv_one(&rx).await, Some(hello));
    });
}

#[test]
fn a_batch_crosses_in_order_and_a_frame_that_fails_is_reported_and_skipped() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        // More than two sendmmsg calls' worth; each frame told apart by its IPv4
        // identification. Frame 0 (first of a call) and frame 70 (inside the second call)
        // are longer than the veth's MTU: EMSGSIZE.
        let count = 2 * hsrp_user::net::SEND_BATCH + 22;
        let oversized = [0, 70];
        let frames: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                if oversized.contains(&i) {
                    return vec![0u8; 3000];
                }
                let mut f = v4_hello();
                f[18..20].copy_from_slice(&(i as u16).to_be_bytes());
                f
            })
            .collect();
        let slices: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        let mut failed = Vec::new();
        tx.send_batch(&slices, |i, e| failed.push((i, e.to_string())))
            .await;
        assert_eq!(
            failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            oversized,
            "{failed:?}"
        );
        assert!(failed.iter().all(|(_, e)| e.contains(&p.a)), "{failed:?}");
        for (i, frame) in frames.iter().enumerate() {
            if !oversized.contains(&i) {
                let got = recv_one(&rx).await;
                assert_eq!(got.as_ref(), Some(frame), "frame {i}");
            }
        }
        assert_eq!(recv_one(&rx).await, None, "more frames than sent");
    });
}

#[test]
fn a_burst_is_received_with_one_call_per_ring_in_order_with_arrival_stamps_and_long_frames_are_reported(
) {
    use hsrp_user::net::{RecvRing, RECV_BATCH};
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        // More than a ring holds, each frame told apart by its IPv4 identification.
        let count = RECV_BATCH + 6;
        let frames: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                let mut f = v4_hello();
                f[18..20].copy_from_slice(&(i as u16).to_be_bytes());
                f
            })
            .collect();
        let slices: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        let sent_from = std::time::SystemTime::now();
        tx.send_batch(&slices, |i, e| panic!("frame {i}: {e}"))
            .await;
        let mut ring = RecvRing::default();
        let mut stamps = Vec::new();
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut calls = 0;
        // Bounded: every call returns at least one frame.
        while got.len() < count && calls < count {
            let n = within(QUIET, rx.recv_batch(&mut ring))
                .await
                .expect("frames missing")
                .unwrap();
            calls += 1;
            assert!((1..=RECV_BATCH).contains(&n), "{n}");
            assert_eq!(n, ring.received());
            for f in ring.frames(rx.iface()) {
                let f = f.unwrap();
                got.push(f.data.to_vec());
                stamps.push(f.at);
            }
        }
        let read_by = std::time::SystemTime::now();
        assert_eq!(got, frames);
        // Each frame carries the kernel's arrival stamp, from between sending and reading
        // (the loop judges a peer's silence by it), in arrival order.
        let stamps: Vec<_> = stamps
            .into_iter()
            .map(|t| t.expect("a frame without its arrival stamp"))
            .collect();
        assert!(
            stamps.iter().all(|t| sent_from <= *t && *t <= read_by),
            "{sent_from:?} {stamps:?} {read_by:?}"
        );
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
        // The ring is drained: nothing more, and no frame of the host's own.
        assert!(within(QUIET, rx.recv_batch(&mut ring)).await.is_none());
        // A frame longer than the ring's buffers: Truncated, naming the interface; the
        // frame after it still arrives.
        let hello = v4_hello();
        let short = udp4_multicast(1985, &[0; 4]);
        let mut small = RecvRing::new(short.len());
        assert!(hello.len() > short.len());
        tx.send_batch(&[&hello, &short], |i, e| panic!("frame {i}: {e}"))
            .await;
        let mut seen = Vec::new();
        while seen.len() < 2 {
            within(QUIET, rx.recv_batch(&mut small))
                .await
                .expect("frames missing")
                .unwrap();
            seen.extend(small.frames(rx.iface()).map(|f| f.map(|b| b.data.to_vec())));
        }
        match &seen[0] {
            Err(e @ NetError::Truncated { len, cap, .. }) => {
                assert_eq!((*len, *cap), (hello.len(), short.len()));
                assert!(e.is_transient());
                assert!(e.to_string().contains(&p.b), "{e}");
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        assert_eq!(seen[1].as_ref().unwrap(), &short);
    });
}

#[test]
fn socket_survives_its_interface_going_down_and_up() {
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        p.ns.exec(&format!("ip link set {} down", p.b)).unwrap();
        let mut buf = [0u8; 2048];
        match within(QUIET, rx.recv(&mut buf)).await {
            Some(Err(e)) => {
                assert!(e.is_transient(), "{e}");
                assert!(e.to_string().contains(&p.b), "{e}");
            }
            other => panic!("expected ENETDOWN on the down interface, got {other:?}"),
        }
        p.ns.exec(&format!("ip link set {} up", p.b)).unwrap();
        // The veth carrier comes back asynchronously: retry the send a few times.
        let hello = v4_hello();
        let mut got = None;
        for _ in 0..20 {
            if tx.send(&hello).await.is_ok() {
                got = recv_one(&rx).await;
                if got.is_some() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            got,
            Some(hello),
            "no frame after the interface came back up"
        );
    });
}

#[test]
fn open_on_a_missing_interface_names_it() {
    let p = pair();
    p.ns.block_on(|| async {
        match PacketSocket::open("nosuch0") {
            Err(NetError::NoSuchInterface { iface }) => assert_eq!(iface, "nosuch0"),
            other => panic!("{other:?}"),
        }
    });
}

fn maddr(p: &Pair) -> String {
    p.ns.exec(&format!("ip maddr show dev {}", p.a)).unwrap()
}

#[test]
fn hsrp_multicast_macs_are_joined_while_the_socket_lives() {
    let p = pair();
    let wanted = [
        "01:00:5e:00:00:02",
        "01:00:5e:00:00:66",
        "33:33:00:00:00:66",
        "33:33:00:00:00:02",
    ];
    let before = maddr(&p);
    for mac in wanted {
        assert!(
            !before.contains(mac),
            "{mac} joined before the socket: {before}"
        );
    }
    p.ns.block_on(|| async {
        let _sock = PacketSocket::open(&p.a).unwrap();
        let during = maddr(&p);
        for mac in wanted {
            assert!(
                during.contains(&format!("link  {mac}")),
                "{mac} missing: {during}"
            );
        }
    });
    let after = maddr(&p);
    for mac in wanted {
        assert!(!after.contains(mac), "{mac} left behind: {after}");
    }
}

/// The kernel's view of the interface's unicast address list: `bridge fdb show dev X`
/// prints a non-bridge device's own uc/mc lists as "self permanent" entries.
fn fdb_has(p: &Pair, mac: &str) -> bool {
    let fdb = p.ns.exec(&format!("bridge fdb show dev {}", p.a)).unwrap();
    fdb.lines()
        .any(|l| l.starts_with(mac) && l.contains("self permanent"))
}

/// veth has no unicast filter (no IFF_UNICAST_FLT), so the kernel falls back to
/// promiscuous mode for a secondary unicast address: its promiscuity counter shows it.
fn promiscuity(p: &Pair) -> u32 {
    let out = p.ns.exec(&format!("ip -d link show dev {}", p.a)).unwrap();
    let word = out
        .split_whitespace()
        .skip_while(|w| *w != "promiscuity")
        .nth(1)
        .unwrap_or_else(|| panic!("no promiscuity in {out}"));
    word.parse().unwrap()
}

#[test]
fn unicast_virtual_mac_entry_is_explicit_and_dies_with_the_socket() {
    let p = pair();
    let vmac = MacAddr(VMAC);
    let text = "00:00:0c:07:ac:01";
    assert!(!fdb_has(&p, text));
    assert_eq!(promiscuity(&p), 0);
    p.ns.block_on(|| async {
        let sock = PacketSocket::open(&p.a).unwrap();
        assert!(!fdb_has(&p, text), "entry present before add_unicast_mac");

        sock.add_unicast_mac(vmac).unwrap();
        assert!(fdb_has(&p, text), "vMAC not in the unicast list");
        assert_eq!(
            promiscuity(&p),
            1,
            "veth: unicast entry -> promiscuous fallback"
        );

        sock.remove_unicast_mac(vmac).unwrap();
        assert!(!fdb_has(&p, text), "vMAC still listed after remove");
        assert_eq!(promiscuity(&p), 0);

        // Removing what is not there: the kernel says yes and nothing changes.
        sock.remove_unicast_mac(vmac).unwrap();
        assert_eq!(promiscuity(&p), 0);

        // A daemon that dies holding the entry: the kernel removes it with the socket.
        sock.add_unicast_mac(vmac).unwrap();
        assert!(fdb_has(&p, text));
        drop(sock);
        assert!(!fdb_has(&p, text), "entry survived the socket");
        assert_eq!(promiscuity(&p), 0);
    });
}

#[test]
fn frames_to_the_virtual_mac_are_received_after_add_unicast_mac() {
    // On veth this holds even without the entry (veth filters nothing); the point is the
    // end-to-end path an HSRP frame unicast to the vMAC would take.
    let p = pair();
    p.ns.block_on(|| async {
        let tx = PacketSocket::open(&p.a).unwrap();
        let rx = PacketSocket::open(&p.b).unwrap();
        rx.add_unicast_mac(MacAddr(VMAC)).unwrap();
        let frame = ipv4(
            VMAC,
            [0x02, 0, 0, 0, 0, 1],
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
            1,
            PROTO_UDP,
            &udp(1985, 1985, &V1_HELLO),
        );
        tx.send(&frame).await.unwrap();
        assert_eq!(recv_one(&rx).await, Some(frame));
    });
}
