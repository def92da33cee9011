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

mod xdp_common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hsrp_ebpf::{Counter, Counters};
use hsrp_tests::lab::wait_for;
use hsrp_tests::{hsrpd_bin, require_root, require_tool, veth, Netns};
use hsrp_user::dataplane::maps::DataplaneMaps;
use hsrp_user::dataplane::nexthop::NexthopMaps;
use hsrp_user::dataplane::MapSet;
use hsrp_user::dataplane::{Dataplane, LoadOptions};
use xdp_common::*;

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

/// Processes the test started; killed on drop, so a failing assertion leaves none.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Rig {
    router: Netns,
    dir: PathBuf,
    lan_if: u32,
    r2: String,
}

impl Rig {
    fn pins(&self) -> PathBuf {
        self.router.bpffs().join("hsrpd")
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

fn after(v: &[Arrival], t: f64) -> Vec<Arrival> {
    v.iter().copied().filter(|a| a.t > t).collect()
}

/// Waits (at most `limit`) until `f` holds; panics with `what` otherwise.
fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    if wait_for(limit, &mut f).is_none() {
        panic!("timed out after {limit:?} waiting for {what}");
    }
}

#[test]
fn the_cache_follows_route_neighbour_mtu_and_rule_changes() {
    require_root();
    require_tool("nft");
    require_tool("python3");
    require_tool("ethtool");
    let host = Netns::new("nh").unwrap();
    let router = Netns::new("nr").unwrap();
    let sa = Netns::new("na").unwrap();
    let sb = Netns::new("nb").unwrap();
    let tag = hsrp_tests::unique("");
    let (h0, r0, r1, a0, r2, b0) = (
        format!("h{tag}"),
        format!("r0{tag}"),
        format!("r1{tag}"),
        format!("a{tag}"),
        format!("r2{tag}"),
        format!("b{tag}"),
    );
    veth(&h0, Some(&host), &r0, Some(&router)).unwrap();
    veth(&r1, Some(&router), &a0, Some(&sa)).unwrap();
    veth(&r2, Some(&router), &b0, Some(&sb)).unwrap();
    // Checksums filled in by the host (veth offload would leave UDP checksums partial,
    // and XDP forwards the frame as it is).
    // ip_no_pmtu_disc: the host sends without DF and ignores "fragmentation needed", so
    // after the MTU drop in (v) its large datagrams stay large (the kernel path on r
    // would otherwise answer the first with ICMP, and the host would fragment the rest
    // into pieces that the fast path rightly forwards).
    host.exec(&format!(
        "ethtool -K {h0} tx off >/dev/null && ip addr add 10.0.1.10/24 dev {h0} \
         && ip route add default via 10.0.1.1 && sysctl -qw net.ipv4.ip_no_pmtu_disc=1"
    ))
    .unwrap();
    for (ns, dev, net, mac) in [
        (&sa, &a0, 2, "02:00:00:00:0a:02"),
        (&sb, &b0, 3, "02:00:00:00:0b:02"),
    ] {
        ns.exec(&format!(
            "ip link set {dev} address {mac} && ip addr add 10.0.{net}.2/24 dev {dev} \
             && ip addr add 10.9.9.9/32 dev lo && ip route add default via 10.0.{net}.1 \
             && sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.{dev}.rp_filter=0"
        ))
        .unwrap();
    }
    // Permanent neighbours, so a neighbour change is only what the test makes.
    router
        .exec(&format!(
            "ip addr add 10.0.1.2/24 dev {r0} && ip addr add 10.0.2.1/24 dev {r1} \
             && ip addr add 10.0.3.1/24 dev {r2} \
             && ip neigh replace 10.0.2.2 lladdr 02:00:00:00:0a:02 dev {r1} nud permanent \
             && ip neigh replace 10.0.3.2 lladdr 02:00:00:00:0b:02 dev {r2} nud permanent \
             && ip route add 10.9.9.9/32 via 10.0.2.2 \
             && sysctl -qw net.ipv4.ip_forward=1 \
             && nft add table inet t \
             && nft add chain inet t fwdchain '{{ type filter hook forward priority 0; policy drop; }}' \
             && nft add rule inet t fwdchain counter drop"
        ))
        .unwrap();
    // Frames XDP sends into a veth need an XDP program on the receiving end: hsrp with
    // empty maps passes everything.
    let object = std::fs::read(object_path()).unwrap();
    let pass = |ns: &Netns, dev: &str| {
        in_netns(ns, || {
            let mut words = vec![0u64; object.len().div_ceil(8)];
            // SAFETY: the u64 buffer is at least as long as the object.
            let buf = unsafe {
                std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, object.len())
            };
            buf.copy_from_slice(&object);
            let mut dp = Dataplane::load_object(buf, &LoadOptions::unpinned()).unwrap();
            dp.attach(dev).unwrap();
            dp
        })
    };
    let _xdp = [pass(&host, &h0), pass(&sa, &a0), pass(&sb, &b0)];

    let dir = std::env::temp_dir().join(format!("hsrpd-nh-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let stop = dir.join("stop");
    let config = dir.join("r.conf");
    // `fast-path on`: the forward chain's drop-all rule proves that every delivered
    // frame was forwarded by XDP (under `auto` hsrpd would hand them to the kernel).
    std::fs::write(
        &config,
        format!(
            "fast-path on\ninterface {r0}\n standby version 2\n standby 1 ip 10.0.1.1\n \
             standby 1 priority 110\n standby 1 timers msec 100 msec 300\n"
        ),
    )
    .unwrap();
    let log = dir.join("hsrpd.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut procs = Procs(Vec::new());
    procs.0.push(
        router
            .command(&hsrpd_bin().display().to_string())
            .args(["run", "-c"])
            .arg(&config)
            .arg("--socket")
            .arg(dir.join("r.sock"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap(),
    );
    let lan_if = in_netns(&router, || ifindex(&r0));
    let rig = Rig {
        router,
        dir: dir.clone(),
        lan_if,
        r2: r2.clone(),
    };
    let hsrpd_log = || std::fs::read_to_string(&log).unwrap_or_default();
    if wait_for(Duration::from_secs(10), || {
        DataplaneMaps::from_pinned(&rig.pins())
            .and_then(|m| m.is_active(lan_if, VMAC))
            .unwrap_or(false)
    })
    .is_none()
    {
        panic!(
            "the group did not become Active within 10 s; log:\n{}",
            hsrpd_log()
        );
    }
    assert_ne!(
        rig.generation(),
        0,
        "hsrpd turned the cache on: {}",
        hsrpd_log()
    );

    for (ns, name) in [(&sa, "a"), (&sb, "b")] {
        procs.0.push(
            ns.command("python3")
                .arg("-c")
                .arg(RECEIVER_PY)
                .arg(dir.join(format!("{name}.log")))
                .arg(&stop)
                .spawn()
                .unwrap(),
        );
    }
    std::thread::sleep(Duration::from_millis(300)); // receivers bound
    procs.0.push(
        host.command("python3")
            .arg("-c")
            .arg(SENDER_PY)
            .arg(&stop)
            .arg(SMALL.to_string())
            .arg(LARGE.to_string())
            .spawn()
            .unwrap(),
    );

    // (i) Steady flow: delivered to A, served from the cache.
    if wait_for(Duration::from_secs(10), || rig.a().len() >= 300).is_none() {
        panic!(
            "no steady flow at A ({} datagrams); group counters {:?}; log:\n{}",
            rig.a().len(),
            rig.group(),
            hsrpd_log()
        );
    }
    let (c0, c1) = rig.window();
    let fwd = c1.get(Counter::Forwarded) - c0.get(Counter::Forwarded);
    let hits = c1.get(Counter::NhCacheHit) - c0.get(Counter::NhCacheHit);
    assert!(fwd >= 100, "forwarding: {c1:?}");
    assert!(
        hits * 10 >= fwd * 9,
        "steady flow mostly hits: {hits} of {fwd}"
    );
    assert!(rig.b().is_empty(), "nothing at B yet");
    let e = NexthopMaps::from_pinned(&rig.pins())
        .unwrap()
        .entry(lan_if, IpAddr::V4(DST))
        .expect("an entry for the destination");
    assert_eq!(e.dmac, [2, 0, 0, 0, 0x0a, 2]);
    assert_eq!(e.max_len as usize, 28 + LARGE);
    // `hsrpd status` shows the cache on and the group's data-plane counters, read
    // between two direct reads of the counter map.
    let socket = dir.join("r.sock");
    let before = rig.group();
    let snap = hsrp_user::control::query(&socket).unwrap();
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

    // (ii) The route moves to B: after the event every packet goes to B, none to A.
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

    // (iii) B's MAC changes and the neighbour entry follows: frames carry the new MAC
    // (the old one is dropped by B's stack as "other host").
    let new_mac = "02:00:00:00:0b:99";
    sb.exec(&format!("ip link set {b0} address {new_mac}"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let n_before = rig.b().len();
    let t_neigh = rig.change(&format!(
        "ip neigh replace 10.0.3.2 lladdr {new_mac} dev {r2} nud permanent"
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
    let e = NexthopMaps::from_pinned(&rig.pins())
        .unwrap()
        .entry(lan_if, IpAddr::V4(DST))
        .unwrap();
    assert_eq!(
        e.dmac,
        [2, 0, 0, 0, 0x0b, 0x99],
        "the entry has the new MAC"
    );

    // (v) The output MTU drops below the large datagrams: they are not fast-forwarded
    // any more (the kernel gets them, and its forwarding is blocked); small ones are.
    let slow0 = rig.group().get(Counter::SlowPath);
    let t_mtu = rig.change(&format!("ip link set {} mtu {LOW_MTU}", rig.r2));
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
    let t_mtu2 = rig.change(&format!("ip link set {} mtu 1500", rig.r2));
    wait(Duration::from_secs(5), "large datagrams again", || {
        after(&rig.b(), t_mtu2).iter().any(|x| x.len == LARGE)
    });

    // (vi) A policy rule turns the cache off and traffic follows the rule; deleting it
    // turns the cache back on.
    rig.change("ip route add 10.9.9.9/32 via 10.0.2.2 table 100");
    let t_rule = rig.change("ip rule add from 10.0.1.10 table 100 priority 100");
    wait(
        Duration::from_secs(2),
        "the cache off (generation 0)",
        || rig.generation() == 0,
    );
    let snap = hsrp_user::control::query(&socket).unwrap();
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
    let log_text = hsrpd_log();
    assert!(
        log_text.contains("next-hop cache off: a policy routing rule"),
        "the reason is logged: {log_text}"
    );

    // (vii) A change no notification reports to hsrpd (the ingress interface's
    // `forwarding` sysctl: netconf): the periodic refresh bounds how long cached hops
    // outlive it. Forwarding stops within the refresh interval, and resumes when it is
    // turned back on.
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

    // (iv) The route is deleted: no more fast-path forwarding to B (nor to A: the table
    // 100 route is unused without the rule).
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

    std::fs::write(&stop, b"").unwrap();
    // hsrpd stops cleanly on SIGTERM.
    let pid = procs.0[0].id() as i32;
    // SAFETY: plain kill(2) on our child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = procs.0[0].try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "hsrpd did not stop; log:\n{}",
            hsrpd_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "hsrpd exit {status}; log:\n{}",
        hsrpd_log()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
