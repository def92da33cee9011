//! The XDP next-hop cache under route, neighbour, link and rule changes, with the real
//! daemon (`hsrpd run`, which keeps the cache) on the router:
//!
//! ```text
//! host h0 10.0.1.10 ── r0 [router: hsrpd, group 1 VIP 10.0.1.1] r1 ── a0 server A 10.0.2.2
//!                                                                r2 ── b0 server B 10.0.3.2
//! ```
//! Both servers own 10.9.9.9 (on lo) and log every datagram they receive with its arrival
//! time; the host sends a numbered stream to 10.9.9.9 through the VIP, alternating small
//! and large datagrams. Kernel forwarding on the router is blocked (nftables), so only
//! XDP forwards: a packet reaches a server only if XDP sent it there.
//!
//! Each test builds this from scratch ([`Rig::start`], with the route through A or B) and
//! changes one thing; [`Rig::finish`] then checks that hsrpd stops cleanly.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hsrp_ebpf::{Counter, Counters};
use hsrp_tests::lab::wait_for;
use hsrp_tests::xdp::{ifindex, object_path, pass_all_on};
use hsrp_tests::{hsrpd_bin, require_root, require_tool, veth, KillOnDrop, Netns};
use hsrp_user::dataplane::maps::DataplaneMaps;
use hsrp_user::dataplane::nexthop::NexthopMaps;
use hsrp_user::dataplane::Dataplane;
use hsrp_user::dataplane::MapSet;

/// HSRPv2 group 1.
const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
const DST: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
/// UDP payload sizes: even sequence numbers small, odd ones large (IP total 628).
const SMALL: usize = 64;
const LARGE: usize = 600;
/// Below the large datagrams' 628 bytes, above the small ones'.
const LOW_MTU: u32 = 576;
/// Bound on the time from a kernel change to the cache following it.
const EVENT_BOUND: f64 = 0.5;

/// Sends numbered datagrams to 10.9.9.9:9999 every ~1 ms until `stop` exists or 90 s.
const SENDER_PY: &str = r#"
import os, socket, struct, sys, time
stop, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 90
seq = 0
while time.time() < end and not os.path.exists(stop):
    n = small if seq % 2 == 0 else large
    try:
        s.sendto(struct.pack('!Q', seq) + b'x' * (n - 8), ('10.9.9.9', 9999))
    except OSError:
        pass
    seq += 1
    time.sleep(0.001)
"#;

/// Logs "arrival-time seq length" per datagram into `log` until `stop` exists or 90 s.
const RECEIVER_PY: &str = r#"
import os, socket, struct, sys, time
log, stop = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 9999))
s.settimeout(0.1)
end = time.time() + 90
with open(log, 'w') as f:
    while time.time() < end and not os.path.exists(stop):
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        f.write('%.6f %d %d\n' % (time.time(), struct.unpack('!Q', d[:8])[0], len(d)))
        f.flush()
"#;

/// One received datagram.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    t: f64,
    seq: u64,
    len: usize,
}

fn arrivals(log: &Path) -> Vec<Arrival> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(Arrival {
                t: f.next()?.parse().ok()?,
                seq: f.next()?.parse().ok()?,
                len: f.next()?.parse().ok()?,
            })
        })
        .collect()
}

fn after(v: &[Arrival], t: f64) -> Vec<Arrival> {
    v.iter().copied().filter(|a| a.t > t).collect()
}

/// Waits (at most `limit`) until `f` holds; panics with `what` otherwise.
fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    if wait_for(limit, &mut f).is_none() {
        panic!("timed out after {limit:?} waiting for {what}");
    }
}

/// The server the router's route to 10.9.9.9 leads to when a test starts.
#[derive(Clone, Copy, Debug)]
enum Via {
    A,
    B,
}

/// Interface names of one test, unique on the host (each veth pair is made there before its
/// ends move into their namespaces).
struct Names {
    h0: String,
    r0: String,
    r1: String,
    a0: String,
    r2: String,
    b0: String,
}

impl Names {
    fn new(tag: &str) -> Names {
        Names {
            h0: format!("h{tag}"),
            r0: format!("r0{tag}"),
            r1: format!("r1{tag}"),
            a0: format!("a{tag}"),
            r2: format!("r2{tag}"),
            b0: format!("b{tag}"),
        }
    }
}

/// The topology above with hsrpd Active on the router, the receivers logging and the
/// host's stream flowing. Fields drop in order: the processes are killed first, then the
/// pass-all programs detached, then the namespaces deleted.
struct Rig {
    /// hsrpd first, then the receivers and the sender.
    procs: Vec<KillOnDrop>,
    _pass_all: [Dataplane; 3],
    router: Netns,
    host: Netns,
    sa: Netns,
    sb: Netns,
    names: Names,
    dir: PathBuf,
    lan_if: u32,
}

impl Rig {
    /// Builds everything, routes 10.9.9.9 `via` A or B and waits until the stream arrives
    /// there steadily.
    fn start(via: Via) -> Rig {
        require_root();
        require_tool("nft");
        require_tool("python3");
        require_tool("ethtool");
        let tag = hsrp_tests::unique("");
        let names = Names::new(&tag);
        let [host, router, sa, sb] = ["nh", "nr", "na", "nb"].map(|t| Netns::new(t).unwrap());
        wire(&names, &host, &router, &sa, &sb, via);
        let object = std::fs::read(object_path()).unwrap();
        let pass_all = [
            pass_all_on(&host, &names.h0, &object),
            pass_all_on(&sa, &names.a0, &object),
            pass_all_on(&sb, &names.b0, &object),
        ];
        let dir = std::env::temp_dir().join(format!("hsrpd-nh-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let lan_if = router.enter(|| ifindex(&names.r0));
        let mut rig = Rig {
            procs: Vec::new(),
            _pass_all: pass_all,
            router,
            host,
            sa,
            sb,
            names,
            dir,
            lan_if,
        };
        rig.start_hsrpd();
        rig.start_traffic(via);
        rig
    }

    /// Starts hsrpd on the router and waits until its group is Active with the cache on.
    fn start_hsrpd(&mut self) {
        let config = self.dir.join("r.conf");
        // `fast-path on`: the forward chain's drop-all rule proves that every delivered
        // frame was forwarded by XDP (under `auto` hsrpd would hand them to the kernel).
        std::fs::write(
            &config,
            format!(
                "fast-path on\ninterface {}\n standby version 2\n standby 1 ip 10.0.1.1\n \
                 standby 1 priority 110\n standby 1 timers msec 100 msec 300\n",
                self.names.r0
            ),
        )
        .unwrap();
        let log_file = std::fs::File::create(self.dir.join("hsrpd.log")).unwrap();
        let hsrpd = self
            .router
            .command(&hsrpd_bin().display().to_string())
            .args(["run", "-c"])
            .arg(&config)
            .arg("--socket")
            .arg(self.socket())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap();
        self.procs.push(KillOnDrop(hsrpd));
        let active = wait_for(Duration::from_secs(10), || {
            DataplaneMaps::from_pinned(&self.pins())
                .and_then(|m| m.is_active(self.lan_if, VMAC))
                .unwrap_or(false)
        });
        if active.is_none() {
            panic!(
                "the group did not become Active within 10 s; log:\n{}",
                self.log()
            );
        }
        assert_ne!(
            self.generation(),
            0,
            "hsrpd turned the cache on: {}",
            self.log()
        );
    }

    /// Starts the receivers and the sender; waits for a steady flow at the server `via`
    /// leads to.
    fn start_traffic(&mut self, via: Via) {
        let stop = self.dir.join("stop");
        for (ns, name) in [(&self.sa, "a"), (&self.sb, "b")] {
            let receiver = ns
                .command("python3")
                .arg("-c")
                .arg(RECEIVER_PY)
                .arg(self.dir.join(format!("{name}.log")))
                .arg(&stop)
                .spawn()
                .unwrap();
            self.procs.push(KillOnDrop(receiver));
        }
        std::thread::sleep(Duration::from_millis(300)); // receivers bound
        let sender = self
            .host
            .command("python3")
            .arg("-c")
            .arg(SENDER_PY)
            .arg(&stop)
            .arg(SMALL.to_string())
            .arg(LARGE.to_string())
            .spawn()
            .unwrap();
        self.procs.push(KillOnDrop(sender));
        if wait_for(Duration::from_secs(10), || self.at(via).len() >= 300).is_none() {
            panic!(
                "no steady flow at {via:?} ({} datagrams); group counters {:?}; log:\n{}",
                self.at(via).len(),
                self.group(),
                self.log()
            );
        }
    }

    /// Ends the stream and checks that hsrpd stops cleanly on SIGTERM.
    fn finish(mut self) {
        std::fs::write(self.dir.join("stop"), b"").unwrap();
        let hsrpd = &mut self.procs[0].0;
        // SAFETY: plain kill(2) on our child.
        unsafe { libc::kill(hsrpd.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = hsrpd.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "hsrpd did not stop; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "hsrpd exit {status}; log:\n{}",
            self.log()
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn pins(&self) -> PathBuf {
        self.router.bpffs().join("hsrpd")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("r.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hsrpd.log")).unwrap_or_default()
    }

    fn group(&self) -> Counters {
        let maps = DataplaneMaps::from_pinned(&self.pins()).unwrap();
        *maps.stats().unwrap().group(self.lan_if, VMAC).unwrap()
    }

    /// The group's counters before and after a 300 ms window of traffic.
    fn window(&self) -> (Counters, Counters) {
        let c0 = self.group();
        std::thread::sleep(Duration::from_millis(300));
        (c0, self.group())
    }

    fn generation(&self) -> u32 {
        NexthopMaps::from_pinned(&self.pins())
            .unwrap()
            .generation()
            .unwrap()
    }

    /// The cache's entry for 10.9.9.9.
    fn entry(&self) -> hsrp_ebpf::NexthopValue {
        NexthopMaps::from_pinned(&self.pins())
            .unwrap()
            .entry(self.lan_if, IpAddr::V4(DST))
            .expect("an entry for the destination")
    }

    fn at(&self, via: Via) -> Vec<Arrival> {
        match via {
            Via::A => self.a(),
            Via::B => self.b(),
        }
    }

    fn a(&self) -> Vec<Arrival> {
        arrivals(&self.dir.join("a.log"))
    }

    fn b(&self) -> Vec<Arrival> {
        arrivals(&self.dir.join("b.log"))
    }

    /// Runs `cmd` in the router; returns the wall-clock time right after it returned
    /// (read inside the namespace, so the time to enter it is not counted).
    fn change(&self, cmd: &str) -> f64 {
        self.change_between(cmd).1
    }

    /// Runs `cmd` in the router: (time just before, time just after).
    fn change_between(&self, cmd: &str) -> (f64, f64) {
        let out = self
            .router
            .exec(&format!("date +%s.%N && {cmd} && date +%s.%N"))
            .unwrap();
        let t: Vec<f64> = out.split_whitespace().map(|t| t.parse().unwrap()).collect();
        assert_eq!(t.len(), 2, "{out}");
        (t[0], t[1])
    }
}

/// Addresses, routes, the servers' 10.9.9.9 and the router's drop-all forward chain.
fn wire(n: &Names, host: &Netns, router: &Netns, sa: &Netns, sb: &Netns, via: Via) {
    veth(&n.h0, Some(host), &n.r0, Some(router)).unwrap();
    veth(&n.r1, Some(router), &n.a0, Some(sa)).unwrap();
    veth(&n.r2, Some(router), &n.b0, Some(sb)).unwrap();
    // Checksums filled in by the host (veth offload would leave UDP checksums partial,
    // and XDP forwards the frame as it is).
    // ip_no_pmtu_disc: the host sends without DF and ignores "fragmentation needed", so
    // after an MTU drop its large datagrams stay large (the kernel path on r would
    // otherwise answer the first with ICMP, and the host would fragment the rest into
    // pieces that the fast path rightly forwards).
    host.exec(&format!(
        "ethtool -K {} tx off >/dev/null && ip addr add 10.0.1.10/24 dev {} \
         && ip route add default via 10.0.1.1 && sysctl -qw net.ipv4.ip_no_pmtu_disc=1",
        n.h0, n.h0
    ))
    .unwrap();
    for (ns, dev, net, mac) in [
        (sa, &n.a0, 2, "02:00:00:00:0a:02"),
        (sb, &n.b0, 3, "02:00:00:00:0b:02"),
    ] {
        ns.exec(&format!(
            "ip link set {dev} address {mac} && ip addr add 10.0.{net}.2/24 dev {dev} \
             && ip addr add 10.9.9.9/32 dev lo && ip route add default via 10.0.{net}.1 \
             && sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.{dev}.rp_filter=0"
        ))
        .unwrap();
    }
    let gateway = match via {
        Via::A => "10.0.2.2",
        Via::B => "10.0.3.2",
    };
    // Permanent neighbours, so a neighbour change is only what the test makes.
    router
        .exec(&format!(
            "ip addr add 10.0.1.2/24 dev {r0} && ip addr add 10.0.2.1/24 dev {r1} \
             && ip addr add 10.0.3.1/24 dev {r2} \
             && ip neigh replace 10.0.2.2 lladdr 02:00:00:00:0a:02 dev {r1} nud permanent \
             && ip neigh replace 10.0.3.2 lladdr 02:00:00:00:0b:02 dev {r2} nud permanent \
             && ip route add 10.9.9.9/32 via {gateway} \
             && sysctl -qw net.ipv4.ip_forward=1 \
             && nft add table inet t \
             && nft add chain inet t fwdchain '{{ type filter hook forward priority 0; policy drop; }}' \
             && nft add rule inet t fwdchain counter drop",
            r0 = n.r0,
            r1 = n.r1,
            r2 = n.r2,
        ))
        .unwrap();
}

#[test]
fn a_steady_flow_is_served_from_the_cache_and_status_shows_it() {
    let rig = Rig::start(Via::A);
    let (c0, c1) = rig.window();
    let fwd = c1.get(Counter::Forwarded) - c0.get(Counter::Forwarded);
    let hits = c1.get(Counter::NhCacheHit) - c0.get(Counter::NhCacheHit);
    assert!(fwd >= 100, "forwarding: {c1:?}");
    assert!(
        hits * 10 >= fwd * 9,
        "steady flow mostly hits: {hits} of {fwd}"
    );
    assert!(rig.b().is_empty(), "nothing at B");
    let e = rig.entry();
    assert_eq!(e.dmac, [2, 0, 0, 0, 0x0a, 2]);
    assert_eq!(e.max_len as usize, 28 + LARGE);
    // `hsrpd status` shows the cache on and the group's data-plane counters, read
    // between two direct reads of the counter map.
    let before = rig.group();
    let snap = hsrp_user::control::query(&rig.socket()).unwrap();
    let after_status = rig.group();
    assert_eq!(snap.nexthop_cache, "on");
    let d = snap.groups[0]
        .dataplane
        .clone()
        .expect("data-plane counters");
    assert!(
        (before.get(Counter::Forwarded)..=after_status.get(Counter::Forwarded))
            .contains(&d.forwarded),
        "{d:?} vs {before:?} / {after_status:?}"
    );
    assert!(
        (before.get(Counter::NhCacheHit)..=after_status.get(Counter::NhCacheHit))
            .contains(&d.forwarded_from_cache),
        "{d:?}"
    );
    let text = hsrp_user::control::format::detail(&snap);
    assert!(text.contains("XDP next-hop cache: on"), "{text}");
    assert!(text.contains(" from the next-hop cache), "), "{text}");
    rig.finish();
}

#[test]
fn a_route_change_sends_every_packet_on_the_new_path_and_loses_none() {
    let rig = Rig::start(Via::A);
    let (t_before, t_route) = rig.change_between("ip route replace 10.9.9.9/32 via 10.0.3.2");
    wait(Duration::from_secs(5), "200 datagrams at B", || {
        rig.b().len() >= 200
    });
    let (a, b) = (rig.a(), rig.b());
    let last_a = a.iter().map(|x| x.t).fold(0.0, f64::max);
    let window = last_a - t_route;
    eprintln!(
        "route change (`ip route replace` ran {:.1} ms) -> last packet on the old path: \
         {:.1} ms after it returned, {:.1} ms after it started",
        (t_route - t_before) * 1e3,
        window * 1e3,
        (last_a - t_before) * 1e3
    );
    assert!(
        window < EVENT_BOUND,
        "old path used {window:.3} s after the change"
    );
    let max_seq_a = a.iter().map(|x| x.seq).max().unwrap();
    let min_seq_b = b.iter().map(|x| x.seq).min().unwrap();
    assert!(
        max_seq_a < min_seq_b,
        "no packet went back to A after the switch"
    );
    // Nothing lost across the switch: A's and B's sequence numbers join up.
    let mut seqs: Vec<u64> = a.iter().chain(b.iter()).map(|x| x.seq).collect();
    seqs.sort_unstable();
    let gaps = seqs.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert_eq!(gaps, 0, "datagrams lost around the route change");
    rig.finish();
}

#[test]
fn a_neighbour_change_puts_the_new_mac_on_the_frames() {
    let rig = Rig::start(Via::B);
    // B's MAC changes and the neighbour entry follows: frames carry the new MAC (the old
    // one is dropped by B's stack as "other host").
    let new_mac = "02:00:00:00:0b:99";
    rig.sb
        .exec(&format!("ip link set {} address {new_mac}", rig.names.b0))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let n_before = rig.b().len();
    let t_neigh = rig.change(&format!(
        "ip neigh replace 10.0.3.2 lladdr {new_mac} dev {} nud permanent",
        rig.names.r2
    ));
    wait(Duration::from_secs(5), "B receives at its new MAC", || {
        after(&rig.b(), t_neigh + 0.1).len() >= 100
    });
    let first_new = after(&rig.b(), t_neigh)[0].t;
    eprintln!(
        "neighbour change -> first packet to the new MAC: {:.1} ms",
        (first_new - t_neigh) * 1e3
    );
    assert!(rig.b().len() > n_before);
    assert_eq!(
        rig.entry().dmac,
        [2, 0, 0, 0, 0x0b, 0x99],
        "the entry has the new MAC"
    );
    rig.finish();
}

#[test]
fn a_deleted_route_ends_fast_path_forwarding() {
    let rig = Rig::start(Via::B);
    let t_del = rig.change("ip route del 10.9.9.9/32");
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        after(&rig.b(), t_del + EVENT_BOUND).is_empty(),
        "B after the delete"
    );
    assert!(
        after(&rig.a(), t_del + EVENT_BOUND).is_empty(),
        "A after the delete"
    );
    let (c0, c1) = rig.window();
    assert_eq!(
        c1.get(Counter::Forwarded),
        c0.get(Counter::Forwarded),
        "no forwarding"
    );
    assert!(c1.get(Counter::SlowPath) - c0.get(Counter::SlowPath) >= 100);
    rig.finish();
}

#[test]
fn an_mtu_below_a_frame_sends_it_to_the_kernel_and_smaller_ones_stay_fast() {
    let rig = Rig::start(Via::B);
    // The output MTU drops below the large datagrams: they are not fast-forwarded any
    // more (the kernel gets them, and its forwarding is blocked); small ones are.
    let slow0 = rig.group().get(Counter::SlowPath);
    let t_mtu = rig.change(&format!("ip link set {} mtu {LOW_MTU}", rig.names.r2));
    std::thread::sleep(Duration::from_millis(800));
    let since = after(&rig.b(), t_mtu + EVENT_BOUND);
    assert!(
        since.iter().all(|x| x.len == SMALL),
        "large datagram forwarded past the MTU"
    );
    assert!(
        since.len() >= 50,
        "small datagrams still forwarded: {}",
        since.len()
    );
    assert!(
        rig.group().get(Counter::SlowPath) - slow0 >= 50,
        "large ones to the kernel"
    );
    let t_mtu2 = rig.change(&format!("ip link set {} mtu 1500", rig.names.r2));
    wait(Duration::from_secs(5), "large datagrams again", || {
        after(&rig.b(), t_mtu2).iter().any(|x| x.len == LARGE)
    });
    rig.finish();
}

#[test]
fn a_policy_rule_turns_the_cache_off_and_its_removal_turns_it_back_on() {
    let rig = Rig::start(Via::B);
    // The rule sends the host's traffic to A, which the cache cannot know.
    rig.change("ip route add 10.9.9.9/32 via 10.0.2.2 table 100");
    let t_rule = rig.change("ip rule add from 10.0.1.10 table 100 priority 100");
    wait(
        Duration::from_secs(2),
        "the cache off (generation 0)",
        || rig.generation() == 0,
    );
    let snap = hsrp_user::control::query(&rig.socket()).unwrap();
    assert!(
        snap.nexthop_cache.starts_with("off: a policy routing rule"),
        "status: {}",
        snap.nexthop_cache
    );
    wait(Duration::from_secs(5), "datagrams at A by the rule", || {
        after(&rig.a(), t_rule).len() >= 100
    });
    let (c0, c1) = rig.window();
    assert!(c1.get(Counter::Forwarded) - c0.get(Counter::Forwarded) >= 100);
    assert_eq!(
        c1.get(Counter::NhCacheHit) + c1.get(Counter::NhCacheMiss),
        c0.get(Counter::NhCacheHit) + c0.get(Counter::NhCacheMiss),
        "the cache is neither used nor filled while off"
    );
    assert!(
        after(&rig.b(), t_rule + EVENT_BOUND).is_empty(),
        "B got traffic the rule sends to A"
    );
    let t_unrule = rig.change("ip rule del from 10.0.1.10 table 100 priority 100");
    wait(Duration::from_secs(2), "the cache on again", || {
        rig.generation() != 0
    });
    wait(Duration::from_secs(5), "datagrams back at B", || {
        after(&rig.b(), t_unrule).len() >= 100
    });
    let (c0, c1) = rig.window();
    assert!(
        c1.get(Counter::NhCacheHit) - c0.get(Counter::NhCacheHit) >= 100,
        "hits again"
    );
    let log = rig.log();
    assert!(
        log.contains("next-hop cache off: a policy routing rule"),
        "the reason is logged: {log}"
    );
    rig.finish();
}

#[test]
fn the_periodic_refresh_bounds_how_long_a_change_without_an_event_goes_unseen() {
    let rig = Rig::start(Via::B);
    // The ingress interface's `forwarding` sysctl (netconf) is a change no notification
    // reports to hsrpd: the periodic refresh bounds how long cached hops outlive it.
    // Forwarding stops within the refresh interval, and resumes when it is turned back on.
    let r0 = &rig.names.r0;
    let gen0 = rig.generation();
    let t_fwd_off = rig.change(&format!("sysctl -qw net.ipv4.conf.{r0}.forwarding=0"));
    let bound = hsrp_user::nexthop_cache::REFRESH_INTERVAL.as_secs_f64() + 0.2;
    std::thread::sleep(Duration::from_secs_f64(bound));
    assert_ne!(
        rig.generation(),
        gen0,
        "the generation moved without events"
    );
    let (c0, c1) = rig.window();
    assert_eq!(
        c1.get(Counter::Forwarded),
        c0.get(Counter::Forwarded),
        "no fast-path forwarding with forwarding off on the ingress"
    );
    assert!(
        after(&rig.b(), t_fwd_off + bound).is_empty(),
        "B got traffic after forwarding was turned off"
    );
    let t_fwd_on = rig.change(&format!("sysctl -qw net.ipv4.conf.{r0}.forwarding=1"));
    wait(
        Duration::from_secs(5),
        "datagrams at B with forwarding on",
        || after(&rig.b(), t_fwd_on).len() >= 100,
    );
    rig.finish();
}
