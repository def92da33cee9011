//! The accepted-flow path on the plain lab (`hsrp_tests::lab_plain`): under a stateful
//! ruleset on the Active router (`policy drop`, `ct state established,related accept`
//! first, new connections allowed by port), established flows are forwarded by XDP
//! (counted as accepted-flow frames), new flows the rules refuse are dropped exactly as
//! kernel forwarding drops them, conntrack's entries stay alive and see the TCP close,
//! and a rule inserted before the conntrack rule takes the flows back to the kernel.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hsrp_tests::lab::Lab;
use hsrp_tests::lab_plain::{
    forwarding, host_gateway, in_netns, plain_lab_active, r1_exec, server, server6, tcp_transfer,
    wait_mode, TcpOutcome, HOST, HOST6, SWITCH_LIMIT,
};
use hsrp_tests::{require_tool, Netns};

/// The stateful ruleset: established flows first, then new TCP to 7200 and UDP to
/// 7300-7399 from the LAN side; everything else dropped.
const RULESET: &str = "nft -f - <<'EOF'
table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname lan0 oifname up0 tcp dport 7200 ct state new accept
    iifname lan0 oifname up0 udp dport 7300-7399 accept
  }
}
EOF";

/// Frames the accepted-flow path let on to the fast path, and frames forwarded, all
/// groups.
fn hits(lab: &Lab) -> (u64, u64) {
    let s = lab.status(1).unwrap();
    s.groups
        .iter()
        .filter_map(|g| g.dataplane.as_ref())
        .fold((0, 0), |(h, f), c| (h + c.accepted_flow, f + c.forwarded))
}

/// A stateful ruleset in place and the accepted-flow path on.
fn stateful_lab() -> Lab {
    require_tool("nft");
    let lab = plain_lab_active().unwrap();
    r1_exec(&lab, RULESET);
    wait_mode(&lab, "accepted-flow path: every netfilter hook");
    lab
}

/// What an echo run saw.
struct Echo {
    /// When each echo arrived back.
    echoes: Vec<Instant>,
    /// Datagrams the server received.
    received: u32,
}

/// Sends `count` datagrams `interval` apart from `from` (bound to `src_port`, so every
/// call with the same ports is the same flow) to `to`, where a socket in `at` echoes
/// the first `echoed` of them back.
fn echo(
    from: &Netns,
    at: &Netns,
    (to, src_port): (SocketAddr, u16),
    count: u32,
    echoed: u32,
    interval: Duration,
) -> Result<Echo> {
    let any = |port| -> SocketAddr {
        if to.is_ipv4() {
            ([0, 0, 0, 0], port).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, port).into()
        }
    };
    let (bind_srv, bind_cli) = (any(to.port()), any(src_port));
    let srv = in_netns(at, move || UdpSocket::bind(bind_srv).context("echo server"))?;
    let cli = in_netns(from, move || {
        UdpSocket::bind(bind_cli).context("echo client")
    })?;
    srv.set_read_timeout(Some(Duration::from_millis(100)))?;
    cli.set_read_timeout(Some(Duration::from_millis(1)))?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut received = 0;
        // Bounded: 100 ms reads until the client is done.
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((n, peer)) = srv.recv_from(&mut buf) {
                received += 1;
                if received <= echoed {
                    let _ = srv.send_to(&buf[..n], peer);
                }
            }
        }
        received
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval * seq;
        while let Some(wait) = due.checked_duration_since(Instant::now()) {
            if let Ok(n) = cli.recv(&mut buf) {
                if n == 200 {
                    got.push(Instant::now());
                }
            }
            if wait < Duration::from_millis(1) {
                std::thread::sleep(wait);
            }
        }
        let _ = cli.send_to(&[seq as u8; 200], to);
    }
    // The last echoes: up to 300 ms more.
    let end = Instant::now() + Duration::from_millis(300);
    while Instant::now() < end {
        if let Ok(200) = cli.recv(&mut buf) {
            got.push(Instant::now());
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let received = server
        .join()
        .map_err(|_| anyhow::anyhow!("echo server panicked"))?;
    Ok(Echo {
        echoes: got,
        received,
    })
}

/// Host to server, every datagram echoed; when each echo came back.
fn lab_echo(lab: &Lab, to: SocketAddr, src_port: u16, count: u32, gap_ms: u64) -> Vec<Instant> {
    echo(
        lab.host.as_ref().unwrap(),
        lab.server.as_ref().unwrap(),
        (to, src_port),
        count,
        count,
        Duration::from_millis(gap_ms),
    )
    .unwrap()
    .echoes
}

/// r1's conntrack entries (one line each) whose original tuple has `dport`.
fn conntrack(lab: &Lab, dport: u16) -> Vec<String> {
    r1_exec(lab, "cat /proc/net/nf_conntrack")
        .lines()
        .filter(|l| l.contains(&format!("dport={dport} ")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn established_udp_and_tcp_flows_are_forwarded_by_xdp_in_both_families() {
    let lab = stateful_lab();
    for v6 in [false, true] {
        let srv = |p| if v6 { server6(p) } else { server(p) };
        // UDP: the first datagram opens the flow in the kernel, its echo makes conntrack
        // see a reply; from then on the host's datagrams (to the vMAC) go through XDP. (The
        // echoes come from the uplink, to r1's own MAC: the kernel forwards them.)
        let (h0, _) = hits(&lab);
        let got = lab_echo(&lab, srv(7300), 40300, 300, 3);
        assert_eq!(got.len(), 300, "every echo came back (v6: {v6})");
        let (h1, _) = hits(&lab);
        assert!(
            h1 - h0 >= 200,
            "most of the 300 datagrams took the accepted-flow path (v6: {v6}): {}",
            h1 - h0
        );
        // TCP: 16 MiB; after the handshake its segments take the accepted-flow path. (On
        // veth the sender's segments arrive as GSO aggregates of up to 64 KiB, which the
        // kernel then segments: at least 256 frames.)
        let (h, s) = (lab.host.as_ref().unwrap(), lab.server.as_ref().unwrap());
        let out = tcp_transfer(h, s, srv(7200), 16 << 20, Duration::from_secs(20)).unwrap();
        let host: IpAddr = if v6 {
            HOST6.parse().unwrap()
        } else {
            HOST.into()
        };
        assert_eq!(out, TcpOutcome::Delivered { peer: host });
        let (h2, _) = hits(&lab);
        assert!(
            h2 - h1 >= 100,
            "the transfer's segments took the accepted-flow path (v6: {v6}): {}",
            h2 - h1
        );
    }
    // The TCP close went through the kernel: conntrack saw it.
    let entries = conntrack(&lab, 7200);
    assert!(
        !entries.is_empty(),
        "the closed connections are still tracked"
    );
    for e in &entries {
        assert!(
            ["FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE "]
                .iter()
                .any(|s| e.contains(s)),
            "a closing state: {e}"
        );
    }
}

#[test]
fn new_flows_the_rules_refuse_are_dropped_like_kernel_forwarding_drops_them() {
    let lab = stateful_lab();
    let via = |vip: bool, to: SocketAddr| {
        host_gateway(&lab, vip).unwrap();
        lab_echo(&lab, to, 40400, 30, 3).len()
    };
    for to in [server(7400), server6(7400)] {
        assert_eq!((via(true, to), via(false, to)), (0, 0), "{to}");
    }
    // New from the uplink side (the server opening to the host): refused both ways.
    let host = |v6: bool| -> SocketAddr {
        if v6 {
            SocketAddr::new(HOST6.parse().unwrap(), 7301)
        } else {
            SocketAddr::new(HOST.into(), 7301)
        }
    };
    for v6 in [false, true] {
        let got = echo(
            lab.server.as_ref().unwrap(),
            lab.host.as_ref().unwrap(),
            (host(v6), 40401),
            30,
            30,
            Duration::from_millis(3),
        )
        .unwrap();
        assert_eq!((got.received, got.echoes.len()), (0, 0), "v6 {v6}");
    }
}

#[test]
fn a_long_udp_flow_outlives_a_short_conntrack_timeout() {
    let lab = stateful_lab();
    // 4 s for every UDP state: without the refresh the entry would expire 4 s into a
    // flow that only XDP forwards (the server answers the first datagrams only, so the
    // kernel sees nothing of the flow after its admission).
    r1_exec(
        &lab,
        "sysctl -qw net.netfilter.nf_conntrack_udp_timeout=4 \
         net.netfilter.nf_conntrack_udp_timeout_stream=4",
    );
    let (host, srv) = (lab.host.as_ref().unwrap(), lab.server.as_ref().unwrap());
    let (h0, _) = hits(&lab);
    let (got, seen) = std::thread::scope(|scope| {
        let stream = scope.spawn(|| {
            let gap = Duration::from_millis(10);
            echo(host, srv, (server(7310), 40310), 1000, 5, gap).unwrap()
        });
        // 8 s in (twice the timeout), the entry must be the flow's first, with time left,
        // and the flow still on the fast path.
        std::thread::sleep(Duration::from_secs(8));
        let seen = conntrack(&lab, 7310);
        let line = forwarding(&lab);
        assert!(line.ends_with("(1 flow in XDP now)"), "{line}");
        (stream.join().unwrap(), seen)
    });
    assert_eq!(got.received, 1000, "every datagram arrived");
    assert_eq!(got.echoes.len(), 5, "the first five were answered");
    assert_eq!(seen.len(), 1, "one entry for the flow: {seen:?}");
    // An entry that expired and was created again by a later datagram would have seen
    // no reply.
    assert!(
        !seen[0].contains("UNREPLIED"),
        "the original entry: {}",
        seen[0]
    );
    let left: u32 = seen[0]
        .split_whitespace()
        .nth(4)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a timeout in {}", seen[0]));
    assert!(left >= 1, "refreshed, not about to expire: {}", seen[0]);
    let (h1, _) = hits(&lab);
    assert!(h1 - h0 >= 900, "XDP forwarded the flow: {}", h1 - h0);
}

#[test]
fn a_rule_inserted_before_the_conntrack_rule_takes_the_flow_back_within_a_second() {
    let lab = stateful_lab();
    let (host, srv) = (lab.host.as_ref().unwrap(), lab.server.as_ref().unwrap());
    let (got, inserted) = std::thread::scope(|scope| {
        let stream = scope.spawn(|| {
            let gap = Duration::from_millis(3);
            echo(host, srv, (server(7320), 40320), 1000, 1000, gap)
                .unwrap()
                .echoes
        });
        std::thread::sleep(Duration::from_millis(1000));
        let inserted = Instant::now();
        r1_exec(
            &lab,
            "nft insert rule inet fw forward udp dport 7320 counter drop",
        );
        let took = wait_mode(&lab, "kernel path");
        println!("kernel path {took:?} after the insert returned");
        (stream.join().unwrap(), inserted)
    });
    let before = got.iter().filter(|t| **t < inserted).count();
    let late = got.iter().filter(|t| **t > inserted + SWITCH_LIMIT).count();
    assert!(before >= 200, "the flow ran before the insert: {before}");
    assert_eq!(
        late, 0,
        "no echo more than {SWITCH_LIMIT:?} after the insert"
    );
    assert!(
        forwarding(&lab).contains("does not start with `ct state established,related accept`"),
        "{}",
        forwarding(&lab)
    );
    let counter = r1_exec(&lab, "nft list chain inet fw forward");
    assert!(
        !counter.contains("counter packets 0 "),
        "the inserted rule dropped the rest: {counter}"
    );
    // Deleted again: the accepted-flow path comes back and takes new flows.
    let handle = r1_exec(&lab, "nft -a list chain inet fw forward")
        .lines()
        .find(|l| l.contains("dport 7320"))
        .and_then(|l| l.rsplit(' ').next().map(str::to_owned))
        .unwrap();
    r1_exec(
        &lab,
        &format!("nft delete rule inet fw forward handle {handle}"),
    );
    wait_mode(&lab, "accepted-flow path");
    let (h0, _) = hits(&lab);
    assert_eq!(lab_echo(&lab, server(7321), 40321, 200, 3).len(), 200);
    assert!(hits(&lab).0 - h0 >= 150, "XDP forwards the flow again");
}
