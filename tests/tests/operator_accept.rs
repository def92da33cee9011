//! `standby G accept` with real daemons: a UDP and a TCP service on the router answer on
//! the virtual IP while its group is Active there, and not otherwise; ARP (IPv4) or the
//! neighbour solicitation (IPv6) for the VIP is still answered exactly once, from the
//! vMAC, and for IPv4 the router never asks for a host's MAC from the VIP; nothing is left
//! in the kernel after a SIGKILL (the sentinel removes the local routes) nor after a start
//! that finds a leftover.

use std::process::{Child, Stdio};
use std::time::Duration;

use hsrp_tests::lab::{router_config, tshark_fields, wait_for, Lab, LabOptions, HOST_IP, VIP};
use hsrp_tests::lab_traffic::wait_hsrpd_roles;
use hsrp_tests::{hsrpd_bin, Netns};

const TIMERS: &str = "timers msec 50 msec 150";

/// `socket.AF_INET6` for an IPv6 address, else `socket.AF_INET` (Python).
fn py_family(addr: &str) -> &'static str {
    if addr.contains(':') {
        "socket.AF_INET6"
    } else {
        "socket.AF_INET"
    }
}

/// A UDP (port 7000, bound to the VIP) and a TCP (port 7001, any address) service that
/// answer with the router's name; killed on drop.
struct Services(Child);

impl Services {
    fn start(ns: &Netns, name: &str, vip: &str) -> Services {
        let family = py_family(vip);
        // The VIP is local only while Active: binding it needs the FREEBIND option
        // (IP_FREEBIND 15 at SOL_IP, IPV6_FREEBIND 78 at IPPROTO_IPV6).
        let (freebind, any) = if vip.contains(':') {
            ("socket.IPPROTO_IPV6, 78", "::")
        } else {
            ("socket.SOL_IP, 15", "0.0.0.0")
        };
        let script = format!(
            "import socket, threading\n\
             u = socket.socket({family}, socket.SOCK_DGRAM)\n\
             u.setsockopt({freebind}, 1)\n\
             u.bind(('{vip}', 7000))\n\
             t = socket.socket({family})\n\
             t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             t.bind(('{any}', 7001))\n\
             t.listen(8)\n\
             def tcp():\n\
             \x20   while True:\n\
             \x20       c, _ = t.accept(); c.sendall(b'{name}'); c.close()\n\
             threading.Thread(target=tcp, daemon=True).start()\n\
             while True:\n\
             \x20   d, a = u.recvfrom(100); u.sendto(b'{name}', a)\n"
        );
        let child = ns
            .command("python3")
            .arg("-c")
            .arg(script)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Services(child)
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the UDP service on `vip` answers the host (None: no answer within 300 ms).
fn udp(lab: &Lab, vip: &str) -> Option<String> {
    let host = lab.host.as_ref().unwrap();
    host.exec(&format!(
        "python3 -c \"import socket; s = socket.socket({}, socket.SOCK_DGRAM); \
         s.settimeout(0.3); s.sendto(b'q', ('{vip}', 7000)); print(s.recv(100).decode())\"",
        py_family(vip)
    ))
    .ok()
    .map(|s| s.trim().to_string())
}

/// What the TCP service on `vip` says to the host (None: no connection within 500 ms).
fn tcp(lab: &Lab, vip: &str) -> Option<String> {
    let host = lab.host.as_ref().unwrap();
    host.exec(&format!(
        "python3 -c \"import socket; s = socket.create_connection(('{vip}', 7001), timeout=0.5); \
         print(s.recv(100).decode())\""
    ))
    .ok()
    .map(|s| s.trim().to_string())
}

/// hsrpd's local routes of one family (`-4` or `-6`) in router `i`'s kernel.
fn local_routes(lab: &Lab, i: usize, family: &str) -> String {
    lab.router(i)
        .ns
        .exec(&format!("ip {family} route show table local proto 72"))
        .unwrap()
        .trim()
        .to_string()
}

fn control(lab: &Lab, i: usize, args: &[&str]) {
    let out = std::process::Command::new(hsrpd_bin())
        .arg("control")
        .args(args)
        .arg("--socket")
        .arg(lab.socket(i))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The second half of both tests, with r1 Active with `accept` and r2 Standby without:
/// r1 resigns (r2 Active without accept: nothing answers on the VIP, r1's routes go once
/// it handed over), is released (Active again, the services answer again), and is
/// SIGKILLed (the sentinel removes the routes, which the daemon cannot).
fn resign_release_and_kill(lab: &mut Lab, vip: &str, family: &str) {
    let routes_gone = |lab: &Lab, what: &str| {
        wait_for(Duration::from_secs(2), || {
            local_routes(lab, 1, family).is_empty()
        })
        .unwrap_or_else(|| {
            panic!(
                "{what}: r1 kept {}:\n{}",
                local_routes(lab, 1, family),
                lab.log(1)
            )
        });
    };
    control(lab, 1, &["resign", "1"]);
    routes_gone(lab, "after the resign");
    assert_eq!(udp(lab, vip), None);
    assert_eq!(tcp(lab, vip), None);

    control(lab, 1, &["release", "1"]);
    wait_hsrpd_roles(lab, 1, 2, Duration::from_secs(3)).unwrap();
    wait_for(Duration::from_secs(2), || {
        udp(lab, vip).as_deref() == Some("r1")
    })
    .unwrap_or_else(|| panic!("{}", lab.log(1)));
    assert_eq!(tcp(lab, vip).as_deref(), Some("r1"));

    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    routes_gone(lab, "after SIGKILL");
    assert!(
        lab.log(1)
            .contains("hsrpd died: removed a local route of an accept group"),
        "{}",
        lab.log(1)
    );
    // r2 took over (without accept): the VIP answers ARP/ND and ping, not the services.
    wait_for(Duration::from_secs(2), || {
        lab.first_group(2).map(|g| g.0) == Some(hsrp_user::proto::State::Active)
    })
    .expect("r2 Active after r1's SIGKILL");
    assert_eq!(udp(lab, vip), None);
}

/// Two routers, a host, XDP on the switch ports.
fn accept_lab() -> Lab {
    Lab::new(LabOptions {
        routers: 2,
        host: true,
        server: false,
        xdp_on_switch: true,
    })
    .expect("building the lab")
}

#[test]
fn services_answer_on_the_vip_only_while_active() {
    // hsrpd attaches to veth in generic mode (docs/architecture.md): frames it passes
    // to the kernel after rewriting the destination MAC are classified anew there.
    let mut lab = accept_lab();
    let vip = VIP.to_string();
    let _s1 = Services::start(&lab.router(1).ns, "r1", &VIP.to_string());
    let _s2 = Services::start(&lab.router(2).ns, "r2", &VIP.to_string());
    // r1 offers its services on the VIP; r2 does not (`accept` only on r1).
    let cfg1 = router_config(2, &[(1, VIP, 150, true)], &format!("{TIMERS}\naccept"));
    let cfg2 = router_config(2, &[(1, VIP, 100, true)], TIMERS);
    // A leftover of a crashed run: the start removes it.
    lab.router(1)
        .ns
        .exec(&format!(
            "ip route add local {VIP} dev lan0 table local proto 72"
        ))
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    assert!(
        lab.log(1).contains(&format!(
            "removed the local route of {VIP} a previous run left"
        )),
        "{}",
        lab.log(1)
    );
    lab.start_hsrpd(2, &cfg2).unwrap();
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5)).unwrap();
    assert_eq!(
        local_routes(&lab, 1, "-4"),
        format!("local {VIP} dev lan0 scope host src {VIP}")
    );

    // Active with accept: both services answer on the VIP. ARP for the VIP: exactly one
    // answer (from the vMAC, by XDP), and no ARP from the router with the VIP as sender.
    let cap = lab.capture("lan").unwrap();
    lab.host
        .as_ref()
        .unwrap()
        .exec("ip neigh flush dev hlan0")
        .unwrap();
    let got = udp(&lab, &vip);
    assert_eq!(got.as_deref(), Some("r1"), "r1 log:\n{}", lab.log(1));
    assert_eq!(tcp(&lab, &vip).as_deref(), Some("r1"));
    let pcap = cap.stop().unwrap();
    // Replies to the host (gratuitous ones of the takeover may fall in the window too).
    let replies = tshark_fields(
        &pcap,
        &format!(
            "arp.opcode == 2 && arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {HOST_IP}"
        ),
        &["eth.src"],
    )
    .unwrap();
    let requests = tshark_fields(
        &pcap,
        &format!("arp.opcode == 1 && arp.dst.proto_ipv4 == {VIP}"),
        &["eth.src"],
    )
    .unwrap();
    assert_eq!(requests.len(), 1, "the host asked once: {requests:?}");
    assert_eq!(replies, ["00:00:0c:9f:f0:01"], "one answer, from the vMAC");
    let from_vip = tshark_fields(
        &pcap,
        &format!("arp.opcode == 1 && arp.src.proto_ipv4 == {VIP}"),
        &["eth.src"],
    )
    .unwrap();
    assert!(
        from_vip.is_empty(),
        "ARP requests with the VIP as sender: {from_vip:?}"
    );

    resign_release_and_kill(&mut lab, &vip, "-4");
}

/// IPv6 group 1 (vMAC 0005.73a0.0001) with the virtual link-local and a global VIP.
const VIP6: &str = "2001:db8::1";
const VLL6: &str = "fe80::5:73ff:fea0:1";
const VMAC6: &str = "00:05:73:a0:00:01";

fn v6_config(priority: u8, extra: &str) -> String {
    let mut c = format!(
        "interface lan0\n standby version 2\n standby 1 ipv6 autoconfig\n \
         standby 1 ipv6 {VIP6}/64\n standby 1 priority {priority}\n standby 1 preempt\n \
         standby 1 {TIMERS}\n"
    );
    for line in extra.lines() {
        c.push_str(&format!(" standby 1 {line}\n"));
    }
    c
}

#[test]
fn ipv6_services_answer_on_the_vip_only_while_active() {
    let mut lab = accept_lab();
    for (i, r) in lab.routers.iter().enumerate() {
        r.ns.exec(&format!(
            "sysctl -qw net.ipv6.conf.all.forwarding=1 && \
             sysctl -qw net.ipv6.conf.lan0.accept_ra=0 && \
             ip addr add 2001:db8::{:x}/64 dev lan0 nodad",
            i + 2
        ))
        .unwrap();
    }
    lab.host
        .as_ref()
        .unwrap()
        .exec(
            "sysctl -qw net.ipv6.conf.hlan0.accept_ra=0 && \
         ip addr add 2001:db8::100/64 dev hlan0 nodad",
        )
        .unwrap();
    // hsrpd speaks from the link-local: wait for duplicate address detection to finish.
    for ns in lab.routers.iter().map(|r| &r.ns) {
        wait_for(Duration::from_secs(5), || {
            ns.exec("ip -6 addr show dev lan0 scope link")
                .is_ok_and(|o| o.contains("fe80") && !o.contains("tentative"))
        })
        .expect("router link-local still tentative after 5 s");
    }
    let _s1 = Services::start(&lab.router(1).ns, "r1", VIP6);
    let _s2 = Services::start(&lab.router(2).ns, "r2", VIP6);
    // A leftover of a crashed run: the start removes it.
    lab.router(1)
        .ns
        .exec(&format!(
            "ip -6 route add local {VIP6} dev lan0 table local proto 72"
        ))
        .unwrap();
    lab.start_hsrpd(1, &v6_config(150, "accept")).unwrap();
    assert!(
        lab.log(1).contains(&format!(
            "removed the local route of {VIP6} a previous run left"
        )),
        "{}",
        lab.log(1)
    );
    lab.start_hsrpd(2, &v6_config(100, "")).unwrap();
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5)).unwrap();
    let routes = wait_for(Duration::from_secs(2), || {
        local_routes(&lab, 1, "-6").lines().count() == 2
    });
    let have = local_routes(&lab, 1, "-6");
    assert!(routes.is_some(), "{have}\n{}", lab.log(1));
    for vip in [VIP6, VLL6] {
        assert!(
            have.lines()
                .any(|l| l.starts_with(&format!("local {vip} dev lan0 "))),
            "{vip}: {have}"
        );
    }

    // Active with accept: both services answer on the VIP. The host's neighbour
    // solicitation for it gets exactly one (solicited) advertisement, from the vMAC: XDP's,
    // the kernel does not answer for an address it only has a local route for.
    let cap = lab.capture("lan6").unwrap();
    lab.host
        .as_ref()
        .unwrap()
        .exec("ip -6 neigh flush dev hlan0")
        .unwrap();
    assert_eq!(
        udp(&lab, VIP6).as_deref(),
        Some("r1"),
        "r1 log:\n{}",
        lab.log(1)
    );
    assert_eq!(tcp(&lab, VIP6).as_deref(), Some("r1"));
    let pcap = cap.stop().unwrap();
    let requests = tshark_fields(
        &pcap,
        &format!("icmpv6.type == 135 && icmpv6.nd.ns.target_address == {VIP6}"),
        &["eth.src"],
    )
    .unwrap();
    let replies = tshark_fields(
        &pcap,
        &format!(
            "icmpv6.type == 136 && icmpv6.nd.na.target_address == {VIP6} && \
             icmpv6.nd.na.flag.s == 1"
        ),
        &["eth.src"],
    )
    .unwrap();
    assert_eq!(requests.len(), 1, "the host asked once: {requests:?}");
    assert_eq!(replies, [VMAC6], "one answer, from the vMAC");

    resign_release_and_kill(&mut lab, VIP6, "-6");
}
