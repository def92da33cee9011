//! `standby G accept` with real daemons: a UDP and a TCP service on the router answer on
//! the virtual IP while its group is Active there, and not otherwise; ARP for the VIP is
//! still answered exactly once, from the vMAC, and the router never asks for a host's MAC
//! from the VIP; nothing is left in the kernel after a SIGKILL (the sentinel removes the
//! local route) nor after a start that finds a leftover.

use std::process::{Child, Stdio};
use std::time::Duration;

use hsrp_tests::lab::{router_config, tshark_fields, wait_for, Lab, LabOptions, VIP};
use hsrp_tests::lab_traffic::wait_hsrpd_roles;
use hsrp_tests::{hsrpd_bin, Netns};

const TIMERS: &str = "timers msec 50 msec 150";

/// A UDP (port 7000, bound to the VIP) and a TCP (port 7001, any address) service that
/// answer with the router's name; killed on drop.
struct Services(Child);

impl Services {
    fn start(ns: &Netns, name: &str) -> Services {
        let script = format!(
            "import socket, threading\n\
             u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             u.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the VIP is local only while Active\n\
             u.bind(('{VIP}', 7000))\n\
             t = socket.socket()\n\
             t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             t.bind(('0.0.0.0', 7001))\n\
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

/// What the UDP service on the VIP answers the host (None: no answer within 300 ms).
fn udp(lab: &Lab) -> Option<String> {
    let host = lab.host.as_ref().unwrap();
    host.exec(&format!(
        "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         s.settimeout(0.3); s.sendto(b'q', ('{VIP}', 7000)); print(s.recv(100).decode())\""
    ))
    .ok()
    .map(|s| s.trim().to_string())
}

/// What the TCP service on the VIP says to the host (None: no connection within 500 ms).
fn tcp(lab: &Lab) -> Option<String> {
    let host = lab.host.as_ref().unwrap();
    host.exec(&format!(
        "python3 -c \"import socket; s = socket.create_connection(('{VIP}', 7001), timeout=0.5); \
         print(s.recv(100).decode())\""
    ))
    .ok()
    .map(|s| s.trim().to_string())
}

/// hsrpd's local routes in router `i`'s kernel.
fn local_routes(lab: &Lab, i: usize) -> String {
    lab.router(i)
        .ns
        .exec("ip route show table local proto 72")
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

#[test]
fn services_answer_on_the_vip_only_while_active() {
    // hsrpd attaches to veth in generic mode (docs/architecture.md): frames it passes
    // to the kernel after rewriting the destination MAC are classified anew there.
    let mut lab = Lab::new(LabOptions {
        routers: 2,
        host: true,
        server: false,
        xdp_on_switch: true,
    })
    .expect("building the lab");
    let _s1 = Services::start(&lab.router(1).ns, "r1");
    let _s2 = Services::start(&lab.router(2).ns, "r2");
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
        local_routes(&lab, 1),
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
    let got = udp(&lab);
    assert_eq!(got.as_deref(), Some("r1"), "r1 log:\n{}", lab.log(1));
    assert_eq!(tcp(&lab).as_deref(), Some("r1"));
    let pcap = cap.stop().unwrap();
    let replies = tshark_fields(
        &pcap,
        &format!("arp.opcode == 2 && arp.src.proto_ipv4 == {VIP}"),
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

    // r1 resigns: r2 is Active without accept, so nothing answers on the VIP, and r1's
    // route is gone once it handed over.
    control(&lab, 1, &["resign", "1"]);
    wait_for(Duration::from_secs(2), || local_routes(&lab, 1).is_empty())
        .unwrap_or_else(|| panic!("r1 kept {}:\n{}", local_routes(&lab, 1), lab.log(1)));
    assert_eq!(udp(&lab), None);
    assert_eq!(tcp(&lab), None);

    // Back: r1 Active again, services answer again.
    control(&lab, 1, &["release", "1"]);
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(3)).unwrap();
    wait_for(Duration::from_secs(2), || {
        udp(&lab).as_deref() == Some("r1")
    })
    .unwrap_or_else(|| panic!("{}", lab.log(1)));
    assert_eq!(tcp(&lab).as_deref(), Some("r1"));

    // SIGKILL: the sentinel removes the route (the daemon cannot).
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    wait_for(Duration::from_secs(2), || local_routes(&lab, 1).is_empty())
        .unwrap_or_else(|| panic!("left behind: {}\n{}", local_routes(&lab, 1), lab.log(1)));
    assert!(
        lab.log(1)
            .contains("hsrpd died: removed a local route of an accept group"),
        "{}",
        lab.log(1)
    );
    // r2 took over (without accept): the VIP answers ARP and ping, not the services.
    assert_eq!(udp(&lab), None);
}
