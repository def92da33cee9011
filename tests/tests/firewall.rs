//! The XDP fast path never bypasses the router's netfilter rules: on the plain lab
//! (`hsrp_tests::lab_plain`) with real rulesets on the Active router, traffic through the
//! VIP (the data plane) has exactly the outcome of the same traffic through r1's own
//! address (plain kernel forwarding on the same router, same rules), and that outcome is
//! the one the rules ask for.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hsrp_tests::lab::{wait_for, Lab};
use hsrp_tests::lab_plain::{
    forwarding, host_gateway, plain_lab_active, plain_lab_active_with, r1_exec, server, server6,
    tcp_transfer, tcp_transfer_to, udp_stream, wait_mode, TcpOutcome, UdpResult, HOST,
    SWITCH_LIMIT,
};
use hsrp_tests::require_tool;

fn forwarded(lab: &Lab) -> u64 {
    let s = lab.status(1).unwrap();
    s.groups
        .iter()
        .filter_map(|g| g.dataplane.as_ref())
        .map(|c| c.forwarded)
        .sum()
}

fn udp(lab: &Lab, to: SocketAddr, count: u64) -> UdpResult {
    udp_stream(
        lab.host.as_ref().unwrap(),
        lab.server.as_ref().unwrap(),
        to,
        count,
        Duration::from_millis(2),
    )
    .unwrap()
}

fn tcp(lab: &Lab, to: SocketAddr, reverse: bool) -> TcpOutcome {
    let (h, s) = (lab.host.as_ref().unwrap(), lab.server.as_ref().unwrap());
    let (from, at) = if reverse { (s, h) } else { (h, s) };
    tcp_transfer(from, at, to, 256 << 10, Duration::from_secs(3)).unwrap()
}

/// Runs `traffic` through the VIP and through r1's own address; asserts both agree and
/// returns the outcome.
fn same_both_ways<T: PartialEq + std::fmt::Debug>(lab: &Lab, traffic: impl Fn(&Lab) -> T) -> T {
    host_gateway(lab, true).unwrap();
    let via_vip = traffic(lab);
    host_gateway(lab, false).unwrap();
    let kernel = traffic(lab);
    host_gateway(lab, true).unwrap();
    assert_eq!(via_vip, kernel, "XDP data plane vs kernel forwarding");
    via_vip
}

fn host_addr(v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(
            IpAddr::V6(hsrp_tests::lab_plain::HOST6.parse().unwrap()),
            port,
        )
    } else {
        SocketAddr::new(IpAddr::V4(HOST), port)
    }
}

#[test]
fn no_rules_fast_path_then_a_forward_drop_by_port_is_obeyed() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    assert_eq!(
        forwarding(&lab),
        "fast path: no netfilter hook on forwarded traffic"
    );
    // The first datagrams go to the kernel while r1 resolves the server; then XDP.
    assert_eq!(udp(&lab, server(7100), 10).received, 10);
    let before = forwarded(&lab);
    assert_eq!(udp(&lab, server(7100), 50).received, 50);
    assert!(forwarded(&lab) >= before + 50, "XDP forwarded them");

    r1_exec(
        &lab,
        "nft add table inet fw && \
         nft add chain inet fw forward '{ type filter hook forward priority 0; }' && \
         nft add rule inet fw forward udp dport 7100 counter drop",
    );
    let took = wait_mode(
        &lab,
        "kernel path: netfilter sees forwarded traffic: nftables chain inet fw forward",
    );
    println!("switched to the kernel path {took:?} after `nft add` returned");
    for to in [server(7100), server6(7100)] {
        let r = same_both_ways(&lab, |lab| udp(lab, to, 40).received);
        assert_eq!(r, 0, "dropped by the rule ({to})");
    }
    for to in [server(7101), server6(7101)] {
        let r = same_both_ways(&lab, |lab| udp(lab, to, 40).received);
        assert_eq!(r, 40, "another port passes ({to})");
    }
    let out = lab
        .router(1)
        .ns
        .exec("nft list chain inet fw forward")
        .unwrap();
    assert!(
        out.contains("packets 160 "),
        "the rule saw every dropped datagram: {out}"
    );
}

#[test]
fn policy_drop_with_established_accept_is_obeyed_both_directions() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    r1_exec(
        &lab,
        "nft -f - <<'EOF'
table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname lan0 oifname up0 tcp dport 7200 ct state new accept
    iifname lan0 oifname up0 udp dport 7201 accept
  }
}
EOF",
    );
    // The ruleset accepts established flows first: the accepted-flow path (the verdicts
    // must still be the kernel's).
    wait_mode(&lab, "accepted-flow path");
    for v6 in [false, true] {
        let srv = |p| if v6 { server6(p) } else { server(p) };
        // New TCP from the LAN to an allowed port: delivered, answer included.
        let out = same_both_ways(&lab, |lab| tcp(lab, srv(7200), false));
        assert!(matches!(out, TcpOutcome::Delivered { .. }), "{out:?}");
        // Not an allowed port, and new connections from the uplink side: refused.
        let out = same_both_ways(&lab, |lab| tcp(lab, srv(7203), false));
        assert!(matches!(out, TcpOutcome::Failed(_)), "{out:?}");
        let out = same_both_ways(&lab, |lab| tcp(lab, host_addr(v6, 7202), true));
        assert!(matches!(out, TcpOutcome::Failed(_)), "{out:?}");
        // UDP: allowed from the LAN, not from the uplink.
        let n = same_both_ways(&lab, |lab| udp(lab, srv(7201), 30).received);
        assert_eq!(n, 30);
        let n = same_both_ways(&lab, |lab| {
            udp_stream(
                lab.server.as_ref().unwrap(),
                lab.host.as_ref().unwrap(),
                host_addr(v6, 7204),
                30,
                Duration::from_millis(2),
            )
            .unwrap()
            .received
        });
        assert_eq!(n, 0);
    }
}

#[test]
fn masquerade_on_the_uplink_is_applied() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    r1_exec(
        &lab,
        "nft add table ip nat && \
         nft add chain ip nat post '{ type nat hook postrouting priority 100; }' && \
         nft add rule ip nat post oifname up0 masquerade",
    );
    // A NAT chain sees only first packets: the accepted-flow path, which leaves NATed
    // flows to the kernel.
    wait_mode(&lab, "accepted-flow path");
    let uplink: IpAddr = lab.router(1).uplink_ip.unwrap().into();
    let sources = same_both_ways(&lab, |lab| udp(lab, server(7300), 20).sources);
    assert_eq!(sources, vec![uplink], "the server sees r1's uplink address");
    let out = same_both_ways(&lab, |lab| tcp(lab, server(7301), false));
    assert_eq!(out, TcpOutcome::Delivered { peer: uplink });
}

#[test]
fn dnat_of_a_port_is_applied() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    r1_exec(
        &lab,
        "nft add table ip nat && \
         nft add chain ip nat pre '{ type nat hook prerouting priority -100; }' && \
         nft add rule ip nat pre iifname lan0 tcp dport 7400 dnat to 10.1.0.100:7401 && \
         nft add rule ip nat pre iifname lan0 udp dport 7400 dnat to 10.1.0.100:7401",
    );
    wait_mode(&lab, "accepted-flow path");
    // Sent to port 7400, received by the listener on 7401.
    let got = same_both_ways(&lab, |lab| {
        // The listener binds 7401; the client connects to 7400.
        tcp_transfer_to(
            lab.host.as_ref().unwrap(),
            lab.server.as_ref().unwrap(),
            server(7400),
            server(7401),
            64 << 10,
            Duration::from_secs(3),
        )
        .unwrap()
    });
    assert_eq!(got, TcpOutcome::Delivered { peer: HOST.into() });
}

#[test]
fn a_rate_limit_is_applied() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    r1_exec(
        &lab,
        "nft add table inet fw && \
         nft add chain inet fw forward '{ type filter hook forward priority 0; }' && \
         nft add rule inet fw forward udp dport 7500 limit rate over 20/second burst 5 packets drop",
    );
    wait_mode(&lab, "kernel path");
    let via = |vip: bool| {
        host_gateway(&lab, vip).unwrap();
        // Let the bucket refill between runs (20/s: 5 packets in 250 ms).
        std::thread::sleep(Duration::from_millis(500));
        udp(&lab, server(7500), 200).received
    };
    let (xdp, kernel) = (via(true), via(false));
    // 200 datagrams in ~0.4 s at 20/s + burst 5: about 13 pass. Bound 40 allows a slow
    // sender (up to 1.5 s for the stream on a loaded machine) and is far below 200.
    for (what, n) in [("via the VIP", xdp), ("kernel", kernel)] {
        assert!((5..=40).contains(&n), "{what}: {n} of 200 passed the limit");
    }
}

#[test]
fn rules_added_and_removed_while_traffic_runs_take_effect_within_a_second() {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    wait_mode(&lab, "fast path");
    // A stream runs the whole time through the VIP (one datagram per 2 ms, 3 s).
    let (host, srv) = (lab.host.as_ref().unwrap(), lab.server.as_ref().unwrap());
    let r = std::thread::scope(|scope| {
        let stream = scope
            .spawn(|| udp_stream(host, srv, server(7600), 1500, Duration::from_millis(2)).unwrap());
        std::thread::sleep(Duration::from_millis(500));
        r1_exec(
            &lab,
            "nft add table inet fw && \
             nft add chain inet fw forward '{ type filter hook forward priority 0; }' && \
             nft add rule inet fw forward udp dport 7600 counter drop",
        );
        let added = wait_mode(&lab, "kernel path");
        println!("rule added: kernel path {added:?} after nft returned");
        std::thread::sleep(Duration::from_millis(1000));
        // A second rule, added while the kernel path runs: the kernel applies it at once.
        r1_exec(&lab, "nft insert rule inet fw forward udp dport 7601 drop");
        assert_eq!(udp(&lab, server(7601), 20).received, 0);
        r1_exec(&lab, "nft delete table inet fw");
        let removed = wait_mode(&lab, "fast path");
        println!("table removed: fast path {removed:?} after nft returned");
        stream.join().unwrap()
    });
    let dropped = r.sent - r.received;
    // Dropped from at most SWITCH_LIMIT after the add until the delete: ~1 s of 2 ms
    // datagrams (500) plus the switch times; at least the 1 s sleep's worth minus the
    // delete's own switch time.
    assert!(
        dropped >= 300,
        "the rule applied while the stream ran: {r:?}"
    );
    assert!(
        r.received >= 500,
        "traffic before and after the rule passed: {r:?}"
    );
    let out = forwarding(&lab);
    assert_eq!(out, "fast path: no netfilter hook on forwarded traffic");
    let before = forwarded(&lab);
    assert_eq!(udp(&lab, server(7600), 30).received, 30);
    assert!(forwarded(&lab) >= before + 30, "XDP forwards again");
}

#[test]
fn iptables_nft_and_legacy_iptables_rules_are_obeyed() {
    require_tool("iptables-nft");
    require_tool("iptables-legacy");
    let lab = plain_lab_active().unwrap();
    r1_exec(&lab, "iptables-nft -A FORWARD -p udp --dport 7700 -j DROP");
    let s = wait_mode(&lab, "kernel path");
    println!(
        "iptables-nft: kernel path after {s:?}: {}",
        forwarding(&lab)
    );
    assert!(
        forwarding(&lab).contains("nftables chain ip filter FORWARD"),
        "{}",
        forwarding(&lab)
    );
    assert_eq!(
        same_both_ways(&lab, |lab| udp(lab, server(7700), 30).received),
        0
    );
    r1_exec(
        &lab,
        "iptables-nft -F FORWARD && nft delete table ip filter",
    );
    wait_mode(&lab, "fast path");

    // Legacy x_tables: no notification; the periodic re-read finds its hook.
    r1_exec(
        &lab,
        "iptables-legacy -A FORWARD -p udp --dport 7701 -j DROP",
    );
    let s = wait_mode(&lab, "kernel path");
    println!(
        "iptables-legacy: kernel path after {s:?}: {}",
        forwarding(&lab)
    );
    assert!(
        forwarding(&lab).contains("legacy iptables table ip filter"),
        "{}",
        forwarding(&lab)
    );
    assert_eq!(
        same_both_ways(&lab, |lab| udp(lab, server(7701), 30).received),
        0
    );
    assert_eq!(
        same_both_ways(&lab, |lab| udp(lab, server(7702), 30).received),
        30
    );
}

#[test]
fn fast_path_on_is_obeyed_with_a_loud_warning_and_off_forces_the_kernel() {
    require_tool("nft");
    let lab = plain_lab_active_with("fast-path on").unwrap();
    r1_exec(
        &lab,
        "nft add table inet fw && \
         nft add chain inet fw forward '{ type filter hook forward priority 0; }' && \
         nft add rule inet fw forward udp dport 7800 drop",
    );
    wait_for(SWITCH_LIMIT, || {
        lab.log(1).contains("DATA PLANE BYPASSES THE FIREWALL")
    })
    .unwrap_or_else(|| panic!("no warning:\n{}", lab.log(1)));
    assert!(
        forwarding(&lab).contains("BYPASSING netfilter"),
        "{}",
        forwarding(&lab)
    );
    // What the operator asked for: the VIP's traffic skips the rule, r1's own does not.
    // (r1 resolves the server first: a frame without a neighbour goes to the kernel,
    // where the rule drops it before any resolution.)
    r1_exec(
        &lab,
        &format!("ping -c 1 -W 2 {}", hsrp_tests::lab::SERVER_IP),
    );
    host_gateway(&lab, true).unwrap();
    assert_eq!(udp(&lab, server(7800), 30).received, 30);
    host_gateway(&lab, false).unwrap();
    assert_eq!(udp(&lab, server(7800), 30).received, 0);
    drop(lab);

    let lab = plain_lab_active_with("fast-path off").unwrap();
    assert_eq!(
        forwarding(&lab),
        "kernel path: `fast-path off` in the configuration"
    );
    let before = forwarded(&lab);
    assert_eq!(udp(&lab, server(7801), 30).received, 30);
    assert_eq!(forwarded(&lab), before, "nothing forwarded by XDP");

    // A reload with `fast-path auto` (no rules here) brings the fast path back.
    let path = lab.daemon(1).unwrap().config.clone();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("fast-path off", "fast-path auto")).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    wait_mode(&lab, "fast path: no netfilter hook");
    assert_eq!(udp(&lab, server(7801), 30).received, 30);
    assert!(
        forwarded(&lab) >= before + 30,
        "XDP forwards after the reload"
    );
}
