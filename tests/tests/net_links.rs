//! `hsrp_user::net` netlink side and sysctl on a real veth pair inside a namespace:
//! interface facts, the event stream (link down seen within 1 s, addresses, routes),
//! IOS-style route reachability, and the ICMP-redirect switch.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hsrp_tests::within;
use hsrp_tests::{require_root, unique, veth, Netns};
use hsrp_user::net::{
    disable_icmp_redirects, icmp_redirects_enabled, IfAddr, IpPrefix, NetError, NetEvent,
    NetWatcher, Netlink,
};
use hsrp_user::proto::MacAddr;

struct Pair {
    ns: Netns,
    a: String,
    b: String,
}

/// A namespace with a veth pair `a` <-> `b`, both up and operational, and no IPv6 duplicate
/// address detection (so addresses are usable at once).
fn pair() -> Pair {
    require_root();
    let ns = Netns::new("nl").unwrap();
    ns.exec("sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0")
        .unwrap();
    let (a, b) = (unique("la"), unique("lb"));
    veth(&a, Some(&ns), &b, Some(&ns)).unwrap();
    ns.wait_operational(&a);
    ns.wait_operational(&b);
    Pair { ns, a, b }
}

impl Pair {
    fn sh(&self, cmd: &str) -> String {
        self.ns.exec(cmd).unwrap()
    }
}

/// Waits up to `limit` for an event matching `want`; returns it with the time it took.
async fn wait_event(
    watcher: &mut NetWatcher,
    limit: Duration,
    want: impl Fn(&NetEvent) -> bool,
) -> Option<(NetEvent, Duration)> {
    let start = Instant::now();
    let found = within(limit, async {
        loop {
            let event = watcher.recv().await.expect("netlink watcher ended");
            if want(&event) {
                return event;
            }
        }
    })
    .await?;
    Some((found, start.elapsed()))
}

#[test]
fn interface_info_reports_what_the_kernel_has() {
    let p = pair();
    let a = &p.a;
    p.sh(&format!(
        "ip link set {a} down && ip link set {a} address 02:00:5e:10:00:0a mtu 1400 && \
         ip link set {a} up && \
         ip addr add 192.0.2.1/24 dev {a} && ip addr add 192.0.2.9/24 dev {a} && \
         ip addr add 198.51.100.1/30 dev {a} && ip addr add 2001:db8::1/64 dev {a}"
    ));
    p.ns.wait_operational(a);
    let ifindex: u32 = p
        .sh(&format!("cat /sys/class/net/{a}/ifindex"))
        .trim()
        .parse()
        .unwrap();
    let link_local: Ipv6Addr = p
        .sh(&format!("ip -6 -o addr show dev {a} scope link"))
        .split_whitespace()
        .find_map(|w| w.strip_suffix("/64").and_then(|s| s.parse().ok()))
        .expect("kernel made no link-local address");

    let info =
        p.ns.block_on(|| async { Netlink::connect().unwrap().interface_info(a).await.unwrap() });
    assert_eq!(info.name, *a);
    assert_eq!(info.ifindex, ifindex);
    assert_eq!(info.mac, MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a]));
    assert_eq!(info.mtu, 1400);
    assert!(info.admin_up && info.oper_up && info.carrier, "{info:?}");
    let v4 = |a: [u8; 4], len| IfAddr {
        addr: Ipv4Addr::from(a),
        prefix_len: len,
    };
    assert_eq!(
        info.ipv4,
        // Primaries first (one per subnet), then secondaries.
        [
            v4([192, 0, 2, 1], 24),
            v4([198, 51, 100, 1], 30),
            v4([192, 0, 2, 9], 24),
        ]
    );
    assert_eq!(info.ipv6_link_local, Some(link_local));
    assert_eq!(
        info.ipv6_global,
        [IfAddr {
            addr: "2001:db8::1".parse().unwrap(),
            prefix_len: 64
        }]
    );
}

#[test]
fn interface_info_of_a_missing_interface_names_it() {
    let p = pair();
    let err = p.ns.block_on(|| async {
        Netlink::connect()
            .unwrap()
            .interface_info("nosuch0")
            .await
            .unwrap_err()
    });
    match err {
        NetError::NoSuchInterface { iface } => assert_eq!(iface, "nosuch0"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn interface_info_of_a_down_link_says_so() {
    let p = pair();
    p.sh(&format!("ip link set {} down", p.b));
    let (a, b) = p.ns.block_on(|| async {
        let nl = Netlink::connect().unwrap();
        (
            nl.interface_info(&p.a).await.unwrap(),
            nl.interface_info(&p.b).await.unwrap(),
        )
    });
    assert!(!b.admin_up && !b.oper_up, "{b:?}");
    // The peer of a down veth is administratively up but has no carrier: line protocol down.
    assert!(a.admin_up && !a.carrier && !a.oper_up, "{a:?}");
}

#[test]
fn watcher_reports_link_down_within_one_second_and_up_again() {
    let p = pair();
    let (down, peer, up) = p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let name_is = |n: &str, oper: bool| {
            let n = n.to_owned();
            move |e: &NetEvent| matches!(e, NetEvent::Link { name, oper_up, .. } if *name == n && *oper_up == oper)
        };
        p.sh(&format!("ip link set {} down", p.a));
        let down = wait_event(&mut w, Duration::from_secs(1), name_is(&p.a, false)).await;
        let peer = wait_event(&mut w, Duration::from_secs(1), name_is(&p.b, false)).await;
        p.sh(&format!("ip link set {} up", p.a));
        let up = wait_event(&mut w, Duration::from_secs(2), name_is(&p.a, true)).await;
        (down, peer, up)
    });
    let (down, took) = down.expect("no link-down event within 1 s");
    println!("link down reported after {took:?}");
    assert!(
        matches!(
            down,
            NetEvent::Link {
                admin_up: false,
                carrier: false,
                ..
            }
        ),
        "{down:?}"
    );
    let (peer, _) = peer.expect("peer's line protocol down not reported");
    assert!(
        matches!(
            peer,
            NetEvent::Link {
                admin_up: true,
                carrier: false,
                ..
            }
        ),
        "{peer:?}"
    );
    let (up, _) = up.expect("link up not reported");
    assert!(
        matches!(
            up,
            NetEvent::Link {
                admin_up: true,
                carrier: true,
                ..
            }
        ),
        "{up:?}"
    );
}

#[test]
fn watcher_reports_addresses_added_and_removed() {
    let p = pair();
    let a = p.a.clone();
    let (added, removed, ifindex) = p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let ifindex = Netlink::connect()
            .unwrap()
            .interface_info(&a)
            .await
            .unwrap()
            .ifindex;
        let addr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
        p.sh(&format!("ip addr add 203.0.113.5/24 dev {a}"));
        let added = wait_event(
            &mut w,
            Duration::from_secs(1),
            |e| matches!(e, NetEvent::AddressAdded { addr: x, .. } if *x == addr),
        )
        .await;
        p.sh(&format!("ip addr del 203.0.113.5/24 dev {a}"));
        let removed = wait_event(
            &mut w,
            Duration::from_secs(1),
            |e| matches!(e, NetEvent::AddressRemoved { addr: x, .. } if *x == addr),
        )
        .await;
        (added, removed, ifindex)
    });
    let addr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
    assert_eq!(
        added.expect("no AddressAdded").0,
        NetEvent::AddressAdded {
            ifindex,
            addr,
            prefix_len: 24,
            tentative: false
        }
    );
    assert_eq!(
        removed.expect("no AddressRemoved").0,
        NetEvent::AddressRemoved {
            ifindex,
            addr,
            prefix_len: 24
        }
    );
}

/// A [`pair`] whose `a` end has 192.0.2.1/24 and 2001:db8::1/64.
fn routed_pair() -> Pair {
    let p = pair();
    p.sh(&format!(
        "ip addr add 192.0.2.1/24 dev {a} && ip addr add 2001:db8::1/64 dev {a}",
        a = p.a
    ));
    p
}

/// The first event within 1 s that `want` picks; panics naming `what` otherwise.
async fn expect_event(
    w: &mut NetWatcher,
    what: &str,
    want: impl Fn(&NetEvent) -> bool,
) -> NetEvent {
    match wait_event(w, Duration::from_secs(1), want).await {
        Some((ev, _)) => ev,
        None => panic!("no {what} within 1 s"),
    }
}

const NET: &str = "198.51.100.0/24";

#[test]
fn a_route_is_reported_added_and_removed_and_reachable_only_by_its_exact_prefix() {
    let p = routed_pair();
    let net: IpPrefix = NET.parse().unwrap();
    p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let nl = Netlink::connect().unwrap();
        let exists = |s: &'static str| {
            let nl = &nl;
            async move { nl.route_exists(s.parse().unwrap()).await.unwrap() }
        };
        assert!(!nl.route_exists(net).await.unwrap());
        // The connected route of the interface address counts.
        assert!(exists("192.0.2.0/24").await);
        p.sh("ip route add 198.51.100.0/24 via 192.0.2.254");
        let ev = expect_event(
            &mut w,
            "RouteAdded",
            |e| matches!(e, NetEvent::RouteAdded { prefix, .. } if *prefix == net),
        )
        .await;
        assert_eq!(
            ev,
            NetEvent::RouteAdded {
                prefix: net,
                table: 254,
                usable: true
            }
        );
        assert!(nl.route_exists(net).await.unwrap());
        // IOS semantics: exact prefix and length, no covering or covered route.
        assert!(
            !exists("198.51.100.0/25").await,
            "a /24 must not satisfy a /25"
        );
        assert!(
            !exists("198.51.0.0/16").await,
            "a /24 must not satisfy a /16"
        );
        p.sh("ip route del 198.51.100.0/24");
        let ev = expect_event(
            &mut w,
            "RouteRemoved",
            |e| matches!(e, NetEvent::RouteRemoved { prefix, .. } if *prefix == net),
        )
        .await;
        assert_eq!(
            ev,
            NetEvent::RouteRemoved {
                prefix: net,
                table: 254
            }
        );
        assert!(!nl.route_exists(net).await.unwrap());
    });
}

#[test]
fn a_route_over_a_link_without_carrier_is_unreachable_until_the_carrier_returns() {
    let p = routed_pair();
    let net: IpPrefix = NET.parse().unwrap();
    p.sh("ip route add 198.51.100.0/24 via 192.0.2.254");
    p.ns.block_on(|| async {
        let nl = Netlink::connect().unwrap();
        assert!(nl.route_exists(net).await.unwrap());
        // Carrier lost on the next hop's link: the route stays but is inaccessible.
        p.sh(&format!("ip link set {} down", p.b));
        // Polled (1 s at most): the kernel marks the route when it sees the carrier go.
        let reaches = |want: bool| {
            let nl = &nl;
            async move {
                for _ in 0..50 {
                    if nl.route_exists(net).await.unwrap() == want {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                false
            }
        };
        assert!(
            reaches(false).await,
            "route via a link without carrier still reachable"
        );
        assert!(p.sh("ip route show 198.51.100.0/24").contains("linkdown"));
        p.sh(&format!("ip link set {} up", p.b));
        p.ns.wait_operational(&p.b);
        assert!(reaches(true).await, "carrier back, route still unreachable");
    });
}

#[test]
fn a_blackhole_route_is_reported_but_unreachable() {
    let p = routed_pair();
    let net: IpPrefix = NET.parse().unwrap();
    p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let nl = Netlink::connect().unwrap();
        // It exists but reaches nothing: down, as IOS's inaccessible route.
        p.sh("ip route add blackhole 198.51.100.0/24");
        let ev = expect_event(
            &mut w,
            "RouteAdded for the blackhole",
            |e| matches!(e, NetEvent::RouteAdded { prefix, .. } if *prefix == net),
        )
        .await;
        assert_eq!(
            ev,
            NetEvent::RouteAdded {
                prefix: net,
                table: 254,
                usable: false
            }
        );
        assert!(!nl.route_exists(net).await.unwrap());
    });
}

#[test]
fn a_route_in_another_table_is_not_the_main_tables() {
    let p = routed_pair();
    p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let nl = Netlink::connect().unwrap();
        p.sh("ip route add 203.0.113.0/24 via 192.0.2.254 table 100");
        let ev = expect_event(&mut w, "RouteAdded for table 100", |e| {
            matches!(e, NetEvent::RouteAdded { table: 100, .. })
        })
        .await;
        let prefix: IpPrefix = "203.0.113.0/24".parse().unwrap();
        assert_eq!(
            ev,
            NetEvent::RouteAdded {
                prefix,
                table: 100,
                usable: true
            }
        );
        assert!(!nl.route_exists(prefix).await.unwrap());
    });
}

#[test]
fn ipv6_routes_are_reported_and_reachable_only_by_their_exact_prefix() {
    let p = routed_pair();
    let net6: IpPrefix = "2001:db8:99::/48".parse().unwrap();
    p.ns.block_on(|| async {
        let mut w = NetWatcher::new().unwrap();
        let nl = Netlink::connect().unwrap();
        p.sh("ip -6 route add 2001:db8:99::/48 via 2001:db8::fe");
        let ev = expect_event(
            &mut w,
            "IPv6 RouteAdded",
            |e| matches!(e, NetEvent::RouteAdded { prefix, .. } if *prefix == net6),
        )
        .await;
        assert_eq!(
            ev,
            NetEvent::RouteAdded {
                prefix: net6,
                table: 254,
                usable: true
            }
        );
        assert!(nl.route_exists(net6).await.unwrap());
        let covered: IpPrefix = "2001:db8:99::/64".parse().unwrap();
        assert!(!nl.route_exists(covered).await.unwrap());
        p.sh("ip -6 route del 2001:db8:99::/48");
        expect_event(
            &mut w,
            "IPv6 RouteRemoved",
            |e| matches!(e, NetEvent::RouteRemoved { prefix, .. } if *prefix == net6),
        )
        .await;
        assert!(!nl.route_exists(net6).await.unwrap());
    });
}

#[test]
fn icmp_redirects_off_on_the_hsrp_interface_only() {
    let p = pair();
    let read = |conf: &str| {
        p.sh(&format!(
            "cat /proc/sys/net/ipv4/conf/{conf}/send_redirects"
        ))
    };
    assert_eq!(read("all").trim(), "1", "kernel default changed?");
    p.ns.block_on(|| async {
        assert!(icmp_redirects_enabled(&p.a).unwrap());
        disable_icmp_redirects(&p.a).unwrap();
        assert!(!icmp_redirects_enabled(&p.a).unwrap());
        // The other interface still sends them: clearing `all` enabled nothing else and
        // disabled nothing else.
        assert!(icmp_redirects_enabled(&p.b).unwrap());
        match disable_icmp_redirects("nosuch0") {
            Err(NetError::NoSuchInterface { iface }) => assert_eq!(iface, "nosuch0"),
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(read("all").trim(), "0");
    assert_eq!(read(&p.a).trim(), "0");
    assert_eq!(read(&p.b).trim(), "1");
}
