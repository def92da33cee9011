//! `cargo xtask bench dataplane`: (a) ns/packet per verdict via BPF_PROG_TEST_RUN with a
//! large repeat count; (b) forwarding throughput through veths in ONE run, same generator
//! and sink for every row: hsrpd's program vs kernel forwarding vs a minimal fib lookup +
//! redirect vs redirect only.
//!
//! (a) The program rewrites frames in place and test_run repeats on the same buffer, so
//! each repetition first restores the frame (`bench_restore_hsrp` in the hsrp-bench
//! object, which wraps the same `classify`); the restore-only time is subtracted.
//! (b) Generator: `bench_gen` run with BPF_PROG_TEST_RUN live frames on gen's veth,
//! XDP_TX into the router's port; sink: `bench_sink` (count, drop) on the far veth. The
//! generating thread is pinned to one CPU, so generator, router and sink share one core.
//! Options: `--repeat N` (a, default 1000000), `--packets N` (b, default 2000000).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use aya::maps::{Array, DevMapHash, HashMap, MapData, PerCpuArray};
use aya::programs::{TestRun, TestRunAttrs, TestRunOptions, Xdp, XdpMode};
use aya::Ebpf;
use hsrp_ebpf::bench::{GenTemplate, RestoreFrame, GEN_HDR_LEN, RESTORE_LEN};
use hsrp_ebpf::{
    map_names, IfaceValue, VipKey, VipValue, VmacKey, VmacValue, FAMILY_V4, FAMILY_V6,
};

use crate::build::{ebpf_object, BPF_TARGET};
use crate::util::{cargo, run as run_cmd, say, workspace_root};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;
const XDP_REDIRECT: u32 = 4;

const VMAC_A: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
const VMAC_B: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x02];
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 0x0a];
const HOST4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 10);
const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10);
const SERVER4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);

pub fn run(args: &[String]) -> Result<()> {
    let repeat = opt(args, "--repeat", 1_000_000)?;
    let packets = opt(args, "--packets", 2_000_000)?;
    ensure!(
        crate::util::is_root(),
        "the benchmark needs root (network namespaces, XDP)"
    );
    build_bench_object()?;
    verdict_costs(repeat as u32)?;
    forwarding_throughput(packets as u32)?;
    Ok(())
}

fn opt(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .with_context(|| format!("{name} needs a number"))?
            .parse()
            .with_context(|| format!("{name}: not a number")),
    }
}

fn bench_object() -> PathBuf {
    workspace_root()
        .join("target/bpf")
        .join(BPF_TARGET)
        .join("release/hsrp-bench")
}

fn build_bench_object() -> Result<()> {
    say("building the benchmark object (hsrp-bench)");
    let mut c = cargo(Some(crate::bootstrap::NIGHTLY));
    c.args([
        "build",
        "-p",
        "hsrp-ebpf",
        "--bin",
        "hsrp-bench",
        "--target",
        BPF_TARGET,
    ])
    .args(["-Z", "build-std=core", "--release", "--target-dir"])
    .arg(workspace_root().join("target/bpf"))
    .env(
        "CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS",
        "-C debuginfo=2 -C link-arg=--btf",
    );
    run_cmd(&mut c)
}

// ---- namespaces ------------------------------------------------------------------------

/// A network namespace deleted on drop.
struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Result<Ns> {
        let name = format!("hsrpb-{tag}-{}", std::process::id());
        sh(&format!("ip netns add {name}"))?;
        let ns = Ns(name);
        ns.exec("ip link set lo up")?;
        Ok(ns)
    }

    fn exec(&self, cmd: &str) -> Result<String> {
        sh(&format!("ip netns exec {} sh -c '{}'", self.0, cmd))
    }

    /// Runs `f` on a thread inside this namespace.
    fn enter<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let path = format!("/run/netns/{}", self.0);
        std::thread::scope(|s| {
            s.spawn(move || {
                let file = std::fs::File::open(&path).with_context(|| path.clone())?;
                // SAFETY: valid namespace fd; affects this thread only.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    bail!("setns {path}: {}", std::io::Error::last_os_error());
                }
                f()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("benchmark thread panicked"))?
        })
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(cmd: &str) -> Result<String> {
    let out = Command::new("sh").arg("-c").arg(cmd).output()?;
    if !out.status.success() {
        bail!("`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    ensure!(i != 0, "no interface {name}");
    Ok(i)
}

fn if_mac(ns: &Ns, name: &str) -> Result<[u8; 6]> {
    let s = ns.exec(&format!("cat /sys/class/net/{name}/address"))?;
    let v: Vec<u8> = s
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("bad MAC for {name}"))
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; affects the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

// ---- object helpers ----------------------------------------------------------------------

fn load_prog<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    let p: &mut Xdp = ebpf
        .program_mut(name)
        .with_context(|| format!("no program {name}"))?
        .try_into()?;
    p.load()
        .with_context(|| format!("verifier rejected {name}"))?;
    Ok(p)
}

fn prog<'a>(ebpf: &'a Ebpf, name: &str) -> Result<&'a Xdp> {
    Ok(ebpf
        .program(name)
        .with_context(|| format!("no program {name}"))?
        .try_into()?)
}

fn map_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut aya::maps::Map> {
    ebpf.map_mut(name).with_context(|| format!("no map {name}"))
}

/// Installs a group (vMAC + VIPs) in an object's HSRP_* maps.
fn install_group(
    ebpf: &mut Ebpf,
    ifindex: u32,
    vmac: [u8; 6],
    group: u16,
    active: bool,
    vips: &[(u8, [u8; 16])],
) -> Result<()> {
    let mut m: HashMap<&mut MapData, VmacKey, VmacValue> =
        HashMap::try_from(map_mut(ebpf, map_names::VMAC)?)?;
    m.insert(
        VmacKey {
            ifindex,
            mac: vmac,
            _pad: [0; 2],
        },
        VmacValue {
            group,
            version: 2,
            active: active as u8,
            flags: 0,
            stats_slot: group,
        },
        0,
    )?;
    let mut v: HashMap<&mut MapData, VipKey, VipValue> =
        HashMap::try_from(map_mut(ebpf, map_names::VIP)?)?;
    for (family, addr) in vips {
        v.insert(
            VipKey {
                ifindex,
                family: *family,
                _pad: [0; 3],
                addr: *addr,
            },
            VipValue { vmac, group },
            0,
        )?;
    }
    Ok(())
}

fn set_iface(ebpf: &mut Ebpf, ifindex: u32, mac: [u8; 6]) -> Result<()> {
    let mut m: HashMap<&mut MapData, u32, IfaceValue> =
        HashMap::try_from(map_mut(ebpf, map_names::IFACE)?)?;
    m.insert(
        ifindex,
        IfaceValue {
            mac,
            stats_slot: 100,
            flags: 0,
        },
        0,
    )?;
    Ok(())
}

fn add_tx(ebpf: &mut Ebpf, map: &str, key: u32, ifindex: u32) -> Result<()> {
    let mut d: DevMapHash<&mut MapData> = DevMapHash::try_from(map_mut(ebpf, map)?)?;
    d.insert(key, ifindex, None, 0)?;
    Ok(())
}

fn xdp_md(ifindex: u32, len: usize) -> Vec<u8> {
    [0u32, len as u32, 0, ifindex, 0, 0]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect()
}

// ---- frames --------------------------------------------------------------------------------

fn csum(data: &[u8]) -> u16 {
    let mut s: u32 = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn eth(dst: [u8; 6], src: [u8; 6], ty: u16) -> Vec<u8> {
    [&dst[..], &src[..], &ty.to_be_bytes()[..]].concat()
}

fn ipv4(
    dmac: [u8; 6],
    smac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, ttl, proto, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    [eth(dmac, smac, 0x0800), ip, l4.to_vec()].concat()
}

fn ipv6(
    dmac: [u8; 6],
    smac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop: u8,
    next: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[next, hop]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let mut l4 = l4.to_vec();
    if next == 58 {
        let pseudo = [
            &src.octets()[..],
            &dst.octets()[..],
            &(l4.len() as u32).to_be_bytes()[..],
            &[0, 0, 0, 58][..],
            &l4[..],
        ]
        .concat();
        let c = csum(&pseudo);
        l4[2..4].copy_from_slice(&c.to_be_bytes());
    }
    [eth(dmac, smac, 0x86dd), ip, l4].concat()
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    [
        &sport.to_be_bytes()[..],
        &dport.to_be_bytes()[..],
        &len.to_be_bytes()[..],
        &[0, 0][..],
        payload,
    ]
    .concat()
}

fn v4key(a: Ipv4Addr) -> [u8; 16] {
    let mut k = [0; 16];
    k[..4].copy_from_slice(&a.octets());
    k
}

/// The per-verdict frames: (row name, frame, expected verdict).
fn verdict_frames(lan_mac: [u8; 6]) -> Vec<(&'static str, Vec<u8>, u32)> {
    let _ = lan_mac;
    let udp4 = |dmac, ttl| {
        ipv4(
            dmac,
            HOST_MAC,
            HOST4,
            SERVER4,
            ttl,
            17,
            &udp(4000, 9, b"payload!"),
        )
    };
    let mut arp = eth([0xff; 6], HOST_MAC, 0x0806);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&HOST_MAC);
    arp.extend_from_slice(&HOST4.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&VIP4.octets());
    let mut echo = vec![8, 0, 0, 0, 0, 1, 0, 1];
    echo.extend_from_slice(b"abcdefgh");
    let c = csum(&echo);
    echo[2..4].copy_from_slice(&c.to_be_bytes());
    let t = VIP6.octets();
    let sn: Ipv6Addr = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | t[13] as u16,
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&t);
    ns.extend_from_slice(&[1, 1]);
    ns.extend_from_slice(&HOST_MAC);
    let mut v2 = vec![1, 40, 2, 0, 6, 4, 0, 1, 0xaa, 0xbb, 0xcc, 0, 0x0a, 0];
    v2.extend_from_slice(&100u32.to_be_bytes());
    v2.extend_from_slice(&3000u32.to_be_bytes());
    v2.extend_from_slice(&10000u32.to_be_bytes());
    v2.extend_from_slice(&[10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut bad = v2.clone();
    bad[1] = 39;
    let ctl = |p: &[u8]| {
        ipv4(
            [1, 0, 0x5e, 0, 0, 0x66],
            HOST_MAC,
            HOST4,
            Ipv4Addr::new(224, 0, 0, 102),
            1,
            17,
            &udp(1985, 1985, p),
        )
    };
    vec![
        ("pass (not ours)", udp4([2, 9, 9, 9, 9, 9], 64), XDP_PASS),
        ("drop (vMAC, not Active)", udp4(VMAC_B, 64), XDP_DROP),
        ("forward IPv4", udp4(VMAC_A, 64), XDP_REDIRECT),
        (
            "forward IPv6",
            ipv6(
                VMAC_A,
                HOST_MAC,
                HOST6,
                SERVER6,
                64,
                17,
                &udp(4000, 9, b"payload!"),
            ),
            XDP_REDIRECT,
        ),
        ("slow path (TTL 1)", udp4(VMAC_A, 1), XDP_PASS),
        ("ARP reply", arp, XDP_TX),
        (
            "ICMP echo reply",
            ipv4(VMAC_A, HOST_MAC, HOST4, VIP4, 64, 1, &echo),
            XDP_TX,
        ),
        (
            "NS -> NA",
            ipv6(
                [0x33, 0x33, 0xff, t[13], t[14], t[15]],
                HOST_MAC,
                HOST6,
                sn,
                255,
                58,
                &ns,
            ),
            XDP_TX,
        ),
        ("control pass (v2)", ctl(&v2), XDP_PASS),
        ("control malformed", ctl(&bad), XDP_DROP),
    ]
}

fn padded(mut f: Vec<u8>) -> Result<RestoreFrame> {
    ensure!(
        f.len() <= RESTORE_LEN,
        "bench frame longer than {RESTORE_LEN}"
    );
    f.resize(RESTORE_LEN, 0);
    let mut r = RestoreFrame::default();
    r.bytes.copy_from_slice(&f);
    Ok(r)
}

// ---- (a) per-verdict cost ------------------------------------------------------------------

fn verdict_costs(repeat: u32) -> Result<()> {
    say(format!(
        "(a) ns/packet per verdict, BPF_PROG_TEST_RUN x {repeat}"
    ));
    let ns = Ns::new("v")?;
    ns.exec(
        "ip link add lan0 type veth peer name lanp && ip link add wan0 type veth peer name wanp \
         && for d in lan0 lanp wan0 wanp; do ip link set $d up; done \
         && ip addr add 10.0.1.2/24 dev lan0 && ip addr add 10.0.2.1/24 dev wan0 \
         && ip -6 addr add 2001:db8:1::2/64 dev lan0 nodad && ip -6 addr add 2001:db8:2::1/64 dev wan0 nodad \
         && sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
         && ip neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent \
         && ip -6 neigh add 2001:db8:2::2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent",
    )?;
    let lan_mac = if_mac(&ns, "lan0")?;
    let object = bench_object();
    let rows = ns.enter(|| {
        pin_to_cpu(0);
        let mut ebpf = Ebpf::load_file(&object).context("loading hsrp-bench")?;
        for p in ["bench_restore", "bench_restore_hsrp", "bench_parse"] {
            load_prog(&mut ebpf, p)?;
        }
        let (lan, wan) = (ifindex("lan0")?, ifindex("wan0")?);
        set_iface(&mut ebpf, lan, lan_mac)?;
        add_tx(&mut ebpf, map_names::TX_PORTS, wan, wan)?;
        install_group(
            &mut ebpf,
            lan,
            VMAC_A,
            1,
            true,
            &[(FAMILY_V4, v4key(VIP4)), (FAMILY_V6, VIP6.octets())],
        )?;
        install_group(&mut ebpf, lan, VMAC_B, 2, false, &[])?;
        let time = |ebpf: &mut Ebpf, name: &str, frame: &[u8]| -> Result<(f64, u32)> {
            let mut fm: Array<&mut MapData, RestoreFrame> =
                Array::try_from(map_mut(ebpf, "BENCH_FRAME")?)?;
            fm.set(0, padded(frame.to_vec())?, 0)?;
            let data = padded(frame.to_vec())?.bytes;
            let ctx = xdp_md(lan, data.len());
            let mut best = f64::MAX;
            let mut verdict = 0;
            // Best of 3 runs: the machine is shared.
            for _ in 0..3 {
                let r = prog(ebpf, name)?.test_run(TestRunOptions {
                    data_in: Some(&data),
                    ctx_in: Some(&ctx),
                    repeat,
                    ..TestRunOptions::new()
                })?;
                best = best.min(r.duration.as_nanos() as f64);
                verdict = r.return_value;
            }
            Ok((best, verdict))
        };
        let frames = verdict_frames(lan_mac);
        let (restore, _) = time(&mut ebpf, "bench_restore", &frames[0].1)?;
        let (parse, _) = time(&mut ebpf, "bench_parse", &frames[0].1)?;
        let mut rows = vec![(
            "parse Ethernet+IP only (reference)".to_string(),
            parse - restore,
            XDP_PASS,
            XDP_PASS,
        )];
        for (name, frame, want) in &frames {
            let (t, v) = time(&mut ebpf, "bench_restore_hsrp", frame)?;
            rows.push((name.to_string(), t - restore, v, *want));
        }
        Ok((restore, rows))
    })?;
    let (restore, rows) = rows;
    let reference = rows[0].1.max(1.0);
    println!("\n  restore-only harness cost: {restore:.0} ns (subtracted below)");
    println!(
        "  {:<36} {:>8} {:>10}  verdict",
        "path", "ns/pkt", "x parse"
    );
    for (name, ns_pkt, got, want) in &rows {
        let ok = if got == want {
            ""
        } else {
            "  <-- UNEXPECTED VERDICT"
        };
        println!(
            "  {name:<36} {ns_pkt:>8.0} {:>10.2}  {}{ok}",
            ns_pkt / reference,
            verdict_name(*got)
        );
    }
    if rows.iter().any(|(_, _, g, w)| g != w) {
        bail!("a benchmark frame got an unexpected verdict (see the table)");
    }
    Ok(())
}

fn verdict_name(v: u32) -> &'static str {
    match v {
        0 => "ABORTED",
        XDP_DROP => "DROP",
        XDP_PASS => "PASS",
        XDP_TX => "TX",
        XDP_REDIRECT => "REDIRECT",
        _ => "?",
    }
}

// ---- (b) forwarding throughput ------------------------------------------------------------

struct Topo {
    gen: Ns,
    rtr: Ns,
    sink: Ns,
    r0_mac: [u8; 6],
    g0_mac: [u8; 6],
}

fn topology() -> Result<Topo> {
    let gen = Ns::new("g")?;
    let rtr = Ns::new("r")?;
    let sink = Ns::new("s")?;
    let pid = std::process::id();
    let (g0, r0, r1, s0) = (
        format!("bg{pid}"),
        format!("br0{pid}"),
        format!("br1{pid}"),
        format!("bs{pid}"),
    );
    for (a, an, b, bn) in [(&g0, &gen, &r0, &rtr), (&r1, &rtr, &s0, &sink)] {
        sh(&format!("ip link add {a} type veth peer name {b}"))?;
        sh(&format!(
            "ip link set {a} netns {} && ip link set {b} netns {}",
            an.0, bn.0
        ))?;
    }
    gen.exec(&format!(
        "ip link set {g0} name g0 && ip link set g0 up && ip addr add 10.1.0.2/24 dev g0"
    ))?;
    sink.exec(&format!(
        "ip link set {s0} name s0 && ip link set s0 up && ip addr add 10.2.0.2/24 dev s0"
    ))?;
    rtr.exec(&format!(
        "ip link set {r0} name r0 && ip link set {r1} name r1 && ip link set r0 up && ip link set r1 up \
         && ip addr add 10.1.0.1/24 dev r0 && ip addr add 10.2.0.1/24 dev r1 \
         && sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.r0.rp_filter=0"
    ))?;
    let s0_mac = if_mac(&sink, "s0")?;
    let m = s0_mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    rtr.exec(&format!(
        "ip neigh add 10.2.0.2 lladdr {m} dev r1 nud permanent"
    ))?;
    Ok(Topo {
        r0_mac: if_mac(&rtr, "r0")?,
        g0_mac: if_mac(&gen, "g0")?,
        gen,
        rtr,
        sink,
    })
}

fn template(dst: [u8; 6], src: [u8; 6]) -> (GenTemplate, Vec<u8>) {
    let frame = ipv4(
        dst,
        src,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        64,
        17,
        &udp(9, 9, &[0u8; 22]),
    );
    let mut t = GenTemplate::default();
    t.hdr.copy_from_slice(&frame[..GEN_HDR_LEN]);
    (t, frame)
}

fn forwarding_throughput(packets: u32) -> Result<()> {
    say(format!(
        "(b) forwarding throughput, {packets} x 64-byte frames per row, one core"
    ));
    let topo = topology()?;
    let bench = bench_object();
    let hsrp = ebpf_object();
    // Sink: count + drop on s0, for every row.
    let mut sink = topo.sink.enter(|| {
        let mut e = Ebpf::load_file(&bench)?;
        load_prog(&mut e, "bench_sink")?.attach("s0", XdpMode::Driver)?;
        Ok(e)
    })?;
    let mut results: Vec<(&str, f64)> = Vec::new();
    for row in [
        "hsrpd (hsrp program)",
        "kernel forwarding (XDP_PASS)",
        "minimal fib lookup + redirect",
        "redirect only",
    ] {
        let (router, dst) = topo.rtr.enter(|| {
            let (r0, r1) = (ifindex("r0")?, ifindex("r1")?);
            let mut e;
            let dst;
            match row {
                r if r.starts_with("hsrpd") => {
                    e = Ebpf::load_file(&hsrp)?;
                    load_prog(&mut e, "hsrp")?.attach("r0", XdpMode::Driver)?;
                    set_iface(&mut e, r0, topo.r0_mac)?;
                    add_tx(&mut e, map_names::TX_PORTS, r1, r1)?;
                    install_group(&mut e, r0, VMAC_A, 1, true, &[])?;
                    dst = VMAC_A;
                }
                r if r.starts_with("kernel") => {
                    e = Ebpf::load_file(&bench)?;
                    load_prog(&mut e, "bench_pass")?.attach("r0", XdpMode::Driver)?;
                    dst = topo.r0_mac;
                }
                r if r.starts_with("minimal") => {
                    e = Ebpf::load_file(&bench)?;
                    load_prog(&mut e, "bench_fib")?.attach("r0", XdpMode::Driver)?;
                    add_tx(&mut e, "BENCH_TX", r1, r1)?;
                    dst = topo.r0_mac;
                }
                _ => {
                    e = Ebpf::load_file(&bench)?;
                    load_prog(&mut e, "bench_redirect")?.attach("r0", XdpMode::Driver)?;
                    add_tx(&mut e, "BENCH_TX", 0, r1)?;
                    dst = topo.r0_mac;
                }
            }
            Ok((e, dst))
        })?;
        let (tmpl, frame) = template(dst, topo.g0_mac);
        let generator = topo.gen.enter(|| {
            let mut e = Ebpf::load_file(&bench)?;
            load_prog(&mut e, "bench_gen")?;
            let mut m: Array<&mut MapData, GenTemplate> =
                Array::try_from(map_mut(&mut e, "BENCH_GEN")?)?;
            m.set(0, tmpl, 0)?;
            Ok(e)
        })?;
        // Runs the generator for `n` frames on one CPU; returns the wall time.
        let generate = |n: u32| -> Result<f64> {
            topo.gen.enter(|| {
                pin_to_cpu(0);
                let ctx = xdp_md(ifindex("g0")?, frame.len());
                let p = prog(&generator, "bench_gen")?;
                let start = Instant::now();
                p.test_run(TestRunOptions {
                    data_in: Some(&frame),
                    ctx_in: Some(&ctx),
                    repeat: n,
                    attrs: TestRunAttrs::new().xdp_live_frames(64),
                    ..TestRunOptions::new()
                })
                .context("BPF_PROG_TEST_RUN live frames")?;
                Ok(start.elapsed().as_secs_f64())
            })
        };
        generate((packets / 20).max(1))?; // warm-up: page pool, caches
        let before = sink_count(&mut sink)?;
        let secs = generate(packets)?;
        let measured = sink_count(&mut sink)? - before;
        ensure!(
            measured as f64 >= packets as f64 * 0.5,
            "{row}: only {measured} of {packets} frames reached the sink"
        );
        results.push((row, measured as f64 / secs));
        drop(router);
    }
    let kernel = results[1].1;
    let fib = results[2].1;
    println!(
        "\n  {:<32} {:>12} {:>10} {:>10}",
        "router program", "Mpps", "x kernel", "x fib"
    );
    for (row, pps) in &results {
        println!(
            "  {row:<32} {:>12.3} {:>10.2} {:>10.2}",
            pps / 1e6,
            pps / kernel,
            pps / fib
        );
    }
    Ok(())
}

fn sink_count(e: &mut Ebpf) -> Result<u64> {
    let m: PerCpuArray<&mut MapData, u64> = PerCpuArray::try_from(map_mut(e, "BENCH_SINK")?)?;
    Ok(m.get(&0, 0)?.iter().sum())
}
