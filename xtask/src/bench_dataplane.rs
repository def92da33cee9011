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
//! (b) also runs the cheap paths (not-Active drop, control drops) through the same
//! generator next to a parse-only program that drops the same frames. The rows are
//! interleaved over several rounds and each row keeps its best round, so a burst of load
//! from elsewhere on the shared machine hits every row alike instead of one.
//! Options: `--repeat N` (a, default 1000000), `--packets N` (b, default 2000000),
//! `--rounds N` (b, default 3), `--objects DIR` (measure DIR/hsrp and DIR/hsrp-bench
//! instead of building), `--hsrp-object PATH` (throughput rows of hsrpd with another
//! build of the program, everything else from this build: before/after comparisons in
//! the same harness), `--only a|b`.

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
    map_names, Config, IfaceValue, VipKey, VipValue, VmacKey, VmacValue, FAMILY_V4, FAMILY_V6,
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
    let rounds = opt(args, "--rounds", 3)?.max(1);
    ensure!(
        crate::util::is_root(),
        "the benchmark needs root (network namespaces, XDP)"
    );
    let mut objects = match args.iter().position(|a| a == "--objects") {
        Some(i) => {
            let dir = PathBuf::from(args.get(i + 1).context("--objects needs a directory")?);
            Objects {
                hsrp: dir.join("hsrp"),
                bench: dir.join("hsrp-bench"),
            }
        }
        None => {
            build_bench_object()?;
            Objects {
                hsrp: ebpf_object(),
                bench: bench_object(),
            }
        }
    };
    if let Some(i) = args.iter().position(|a| a == "--hsrp-object") {
        let path = args.get(i + 1).context("--hsrp-object needs a path")?;
        objects.hsrp = PathBuf::from(path);
    }
    for o in [&objects.hsrp, &objects.bench] {
        ensure!(o.is_file(), "no object {}", o.display());
    }
    say(format!(
        "objects: {} and {}",
        objects.hsrp.display(),
        objects.bench.display()
    ));
    let only = match args.iter().position(|a| a == "--only") {
        Some(i) => Some(
            args.get(i + 1)
                .map(String::as_str)
                .context("--only needs a or b")?,
        ),
        None => None,
    };
    ensure!(
        matches!(only, None | Some("a") | Some("b")),
        "--only takes `a` (per-verdict costs) or `b` (throughput)"
    );
    if only != Some("b") {
        verdict_costs(repeat as u32, &objects)?;
    }
    if only != Some("a") {
        forwarding_throughput(packets as u32, rounds as u32, &objects)?;
    }
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

/// The two objects a run measures (`--objects DIR` compares another build, e.g. before
/// and after a change, with the same harness).
struct Objects {
    hsrp: PathBuf,
    bench: PathBuf,
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

/// How a per-verdict row is timed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Harness {
    /// The frame leaves the program as it came (pass, drop): `hsrp` runs on the same
    /// buffer repeatedly, exactly like the parse-only reference `bench_parse_plain`.
    Plain,
    /// The program rewrites the frame: each repetition restores it first and the
    /// restore-only time is subtracted.
    Restore,
}

/// One row of the per-verdict table.
struct VerdictRow {
    name: &'static str,
    frame: Vec<u8>,
    verdict: u32,
    harness: Harness,
    /// Run with a control-rate budget of 1 packet/s (all repetitions but the first are
    /// over budget).
    rate_limited: bool,
}

fn plain(name: &'static str, frame: Vec<u8>, verdict: u32) -> VerdictRow {
    VerdictRow {
        name,
        frame,
        verdict,
        harness: Harness::Plain,
        rate_limited: false,
    }
}

fn restored(name: &'static str, frame: Vec<u8>, verdict: u32) -> VerdictRow {
    VerdictRow {
        harness: Harness::Restore,
        ..plain(name, frame, verdict)
    }
}

/// A v2 Hello (Group State TLV) for 10.0.1.1, the payload of the control rows.
fn v2_hello() -> Vec<u8> {
    let mut v2 = vec![1, 40, 2, 0, 6, 4, 0, 1, 0xaa, 0xbb, 0xcc, 0, 0x0a, 0];
    v2.extend_from_slice(&100u32.to_be_bytes());
    v2.extend_from_slice(&3000u32.to_be_bytes());
    v2.extend_from_slice(&10000u32.to_be_bytes());
    v2.extend_from_slice(&[10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v2
}

/// An HSRPv2 control frame to 224.0.0.102 with `payload`.
fn control_frame(payload: &[u8]) -> Vec<u8> {
    ipv4(
        [1, 0, 0x5e, 0, 0, 0x66],
        HOST_MAC,
        HOST4,
        Ipv4Addr::new(224, 0, 0, 102),
        1,
        17,
        &udp(1985, 1985, payload),
    )
}

/// A v2 Hello whose Group State TLV has the wrong length (dropped as malformed).
fn malformed_hello() -> Vec<u8> {
    let mut bad = v2_hello();
    bad[1] = 39;
    bad
}

/// The per-verdict rows: the cheap paths first (plain harness), then the rewriting ones.
fn verdict_rows() -> Vec<VerdictRow> {
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
    vec![
        plain("pass (not ours)", udp4([2, 9, 9, 9, 9, 9], 64), XDP_PASS),
        plain("drop (vMAC, not Active)", udp4(VMAC_B, 64), XDP_DROP),
        plain("control pass (v2)", control_frame(&v2_hello()), XDP_PASS),
        plain(
            "control malformed",
            control_frame(&malformed_hello()),
            XDP_DROP,
        ),
        VerdictRow {
            rate_limited: true,
            ..plain(
                "control over rate budget",
                control_frame(&v2_hello()),
                XDP_DROP,
            )
        },
        restored(FORWARD4, udp4(VMAC_A, 64), XDP_REDIRECT),
        restored(
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
        restored("slow path (TTL 1)", udp4(VMAC_A, 1), XDP_PASS),
        restored("ARP reply", arp, XDP_TX),
        restored(
            "ICMP echo reply",
            ipv4(VMAC_A, HOST_MAC, HOST4, VIP4, 64, 1, &echo),
            XDP_TX,
        ),
        restored(
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

const PARSE_REFERENCE: &str = "parse Ethernet+IP only (reference)";
const FIB_REFERENCE: &str = "minimal fib + redirect (reference)";
const FORWARD4: &str = "forward IPv4";

/// Best-of repetitions of each BPF_PROG_TEST_RUN measurement (the machine is shared).
const TEST_RUN_TRIES: usize = 5;

fn verdict_costs(repeat: u32, objects: &Objects) -> Result<()> {
    say(format!(
        "(a) ns/packet per verdict, BPF_PROG_TEST_RUN x {repeat}, best of {TEST_RUN_TRIES}"
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
    let object = &objects.bench;
    let (restore, rows) = ns.enter(|| {
        pin_to_cpu(0);
        let mut ebpf = Ebpf::load_file(object).context("loading hsrp-bench")?;
        for p in [
            "hsrp",
            "bench_parse_plain",
            "bench_restore",
            "bench_restore_hsrp",
            "bench_parse",
        ] {
            load_prog(&mut ebpf, p)?;
        }
        // Absent from objects built before it existed (`--objects` of an older build).
        let has_fib_reference = ebpf.program("bench_restore_fib").is_some();
        if has_fib_reference {
            load_prog(&mut ebpf, "bench_restore_fib")?;
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
            for _ in 0..TEST_RUN_TRIES {
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
        let rows = verdict_rows();
        let (restore, _) = time(&mut ebpf, "bench_restore", &rows[0].frame)?;
        let (parse_plain, _) = time(&mut ebpf, "bench_parse_plain", &rows[0].frame)?;
        let (parse_restore, _) = time(&mut ebpf, "bench_parse", &rows[0].frame)?;
        let mut out = vec![
            Timed {
                name: PARSE_REFERENCE,
                harness: Harness::Plain,
                ns: parse_plain,
                got: XDP_PASS,
                want: XDP_PASS,
            },
            Timed {
                name: PARSE_REFERENCE,
                harness: Harness::Restore,
                ns: parse_restore - restore,
                got: XDP_PASS,
                want: XDP_PASS,
            },
        ];
        add_tx(&mut ebpf, "BENCH_TX", wan, wan)?;
        let fwd4 = &rows
            .iter()
            .find(|r| r.name == FORWARD4)
            .context("no forward IPv4 row")?
            .frame;
        let (fib_t, fib_v) = if has_fib_reference {
            time(&mut ebpf, "bench_restore_fib", fwd4)?
        } else {
            (0.0, 0)
        };
        for row in &rows {
            if row.name == FORWARD4 && has_fib_reference {
                out.push(Timed {
                    name: FIB_REFERENCE,
                    harness: Harness::Restore,
                    ns: fib_t - restore,
                    got: fib_v,
                    want: XDP_REDIRECT,
                });
            }
            set_control_rate(&mut ebpf, row.rate_limited)?;
            let (t, got) = match row.harness {
                Harness::Plain => time(&mut ebpf, "hsrp", &row.frame)?,
                Harness::Restore => {
                    let (t, v) = time(&mut ebpf, "bench_restore_hsrp", &row.frame)?;
                    (t - restore, v)
                }
            };
            out.push(Timed {
                name: row.name,
                harness: row.harness,
                ns: t,
                got,
                want: row.verdict,
            });
        }
        Ok((restore, out))
    })?;
    print_verdict_table(restore, &rows);
    if rows.iter().any(|r| r.got != r.want) {
        bail!("a benchmark frame got an unexpected verdict (see the table)");
    }
    Ok(())
}

/// A measured per-verdict row (ns per packet; for `Restore` rows, net of the restore).
struct Timed {
    name: &'static str,
    harness: Harness,
    ns: f64,
    got: u32,
    want: u32,
}

fn print_verdict_table(restore: f64, rows: &[Timed]) {
    let ns_of = |name: &str, h: Harness| {
        rows.iter()
            .find(|r| r.name == name && r.harness == h)
            .map_or(1.0, |r| r.ns.max(1.0))
    };
    println!(
        "\n  plain: the program runs on the same buffer again and again (paths that leave the\n  \
         frame alone); x ref: against the parse-only program in the same harness.\n  \
         restore: the frame is restored before each run ({restore:.0} ns, subtracted); x ref\n  \
         for forward IPv4: against the minimal fib lookup + redirect in the same harness."
    );
    println!(
        "  {:<36} {:>8} {:>8} {:>8}  verdict",
        "path", "harness", "ns/pkt", "x ref"
    );
    for r in rows {
        let unexpected = if r.got == r.want {
            ""
        } else {
            "  <-- UNEXPECTED VERDICT"
        };
        let (harness, ratio) = match r.harness {
            Harness::Plain => (
                "plain",
                format!("{:.2}", r.ns / ns_of(PARSE_REFERENCE, Harness::Plain)),
            ),
            Harness::Restore if r.name == FORWARD4 || r.name == FIB_REFERENCE => (
                "restore",
                format!("{:.2}", r.ns / ns_of(FIB_REFERENCE, Harness::Restore)),
            ),
            Harness::Restore => ("restore", "-".to_string()),
        };
        println!(
            "  {:<36} {harness:>8} {:>8.1} {ratio:>8}  {}{unexpected}",
            r.name,
            r.ns,
            verdict_name(r.got)
        );
    }
}

/// Control budget for the per-verdict rows: 1 packet/s without burst, or none.
fn set_control_rate(ebpf: &mut Ebpf, on: bool) -> Result<()> {
    let cfg = if on {
        Config {
            ctrl_interval_ns: 1_000_000_000,
            ctrl_burst_ns: 0,
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let mut m: Array<&mut MapData, Config> = Array::try_from(map_mut(ebpf, map_names::CONFIG)?)?;
    m.set(0, cfg, 0)?;
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

/// The generator's header template for `frame` (its first GEN_HDR_LEN bytes).
fn template(frame: &[u8]) -> GenTemplate {
    let mut t = GenTemplate::default();
    t.hdr.copy_from_slice(&frame[..GEN_HDR_LEN]);
    t
}

/// A 64-byte UDP frame from the generator to the sink's address, to `dst`.
fn forward_frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    ipv4(
        dst,
        src,
        Ipv4Addr::new(10, 1, 0, 2),
        Ipv4Addr::new(10, 2, 0, 2),
        64,
        17,
        &udp(9, 9, &[0u8; 22]),
    )
}

/// The program on the router's port for one throughput row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Router {
    Hsrp,
    KernelPass,
    Fib,
    Redirect,
    ParseDrop,
}

/// What a row's frames are and how the frames the router handled are counted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Traffic {
    /// Routed to the sink; counted there.
    Forward,
    /// UDP to the vMAC of the group that is not Active; dropped at the router.
    NotActive,
    /// HSRP v2 control with a malformed TLV; dropped at the router.
    ControlMalformed,
    /// Sane HSRP v2 control over the source's budget; dropped at the router.
    ControlOverBudget,
}

struct Row {
    name: &'static str,
    router: Router,
    traffic: Traffic,
}

const FORWARD_ROWS: [Row; 4] = [
    Row {
        name: "hsrpd (hsrp program)",
        router: Router::Hsrp,
        traffic: Traffic::Forward,
    },
    Row {
        name: "kernel forwarding (XDP_PASS)",
        router: Router::KernelPass,
        traffic: Traffic::Forward,
    },
    Row {
        name: "minimal fib lookup + redirect",
        router: Router::Fib,
        traffic: Traffic::Forward,
    },
    Row {
        name: "redirect only",
        router: Router::Redirect,
        traffic: Traffic::Forward,
    },
];

/// The cheap paths, each next to the parse-only program on the same frames.
const DROP_ROWS: [Row; 6] = [
    Row {
        name: "hsrpd: vMAC not Active -> drop",
        router: Router::Hsrp,
        traffic: Traffic::NotActive,
    },
    Row {
        name: "parse-only -> drop (same frames)",
        router: Router::ParseDrop,
        traffic: Traffic::NotActive,
    },
    Row {
        name: "hsrpd: control malformed -> drop",
        router: Router::Hsrp,
        traffic: Traffic::ControlMalformed,
    },
    Row {
        name: "parse-only -> drop (same frames)",
        router: Router::ParseDrop,
        traffic: Traffic::ControlMalformed,
    },
    Row {
        name: "hsrpd: control over budget -> drop",
        router: Router::Hsrp,
        traffic: Traffic::ControlOverBudget,
    },
    Row {
        name: "parse-only -> drop (same frames)",
        router: Router::ParseDrop,
        traffic: Traffic::ControlOverBudget,
    },
];

fn forwarding_throughput(packets: u32, rounds: u32, objects: &Objects) -> Result<()> {
    say(format!(
        "(b) throughput, {packets} x 64-byte frames per row, one core, {rounds} interleaved \
         rounds (best kept)"
    ));
    let topo = topology()?;
    let (bench, hsrp) = (&objects.bench, &objects.hsrp);
    // Sink: count + drop on s0, for every row.
    let mut sink = topo.sink.enter(|| {
        let mut e = Ebpf::load_file(&bench)?;
        load_prog(&mut e, "bench_sink")?.attach("s0", XdpMode::Driver)?;
        Ok(e)
    })?;
    // Every router program is loaded once; a row attaches its program to r0 and detaches
    // it afterwards.
    let (mut hsrp_obj, mut bench_obj) = topo.rtr.enter(|| {
        let (r0, r1) = (ifindex("r0")?, ifindex("r1")?);
        let mut h = Ebpf::load_file(&hsrp)?;
        load_prog(&mut h, "hsrp")?;
        set_iface(&mut h, r0, topo.r0_mac)?;
        add_tx(&mut h, map_names::TX_PORTS, r1, r1)?;
        install_group(&mut h, r0, VMAC_A, 1, true, &[])?;
        install_group(&mut h, r0, VMAC_B, 2, false, &[])?;
        set_control_rate(&mut h, true)?;
        let mut b = Ebpf::load_file(&bench)?;
        for p in [
            "bench_pass",
            "bench_fib",
            "bench_redirect",
            "bench_parse_drop",
        ] {
            load_prog(&mut b, p)?;
        }
        add_tx(&mut b, "BENCH_TX", r1, r1)?;
        add_tx(&mut b, "BENCH_TX", 0, r1)?;
        Ok((h, b))
    })?;
    let mut generator = topo.gen.enter(|| {
        let mut e = Ebpf::load_file(&bench)?;
        load_prog(&mut e, "bench_gen")?;
        Ok(e)
    })?;
    let rows: Vec<&Row> = FORWARD_ROWS.iter().chain(DROP_ROWS.iter()).collect();
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for _ in 0..rounds {
        for (i, row) in rows.iter().enumerate() {
            let pps = measure_row(
                row,
                packets,
                &topo,
                &mut hsrp_obj,
                &mut bench_obj,
                &mut generator,
                &mut sink,
            )?;
            runs[i].push(pps);
        }
    }
    let best: Vec<f64> = runs
        .iter()
        .map(|r| r.iter().cloned().fold(0.0, f64::max))
        .collect();
    let show_runs = |r: &[f64]| {
        r.iter()
            .map(|p| format!("{:.2}", p / 1e6))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (kernel, fib) = (best[1], best[2]);
    println!(
        "\n  forwarding                       {:>8} {:>9} {:>7}   Mpps of each round",
        "Mpps", "x kernel", "x fib"
    );
    for i in 0..FORWARD_ROWS.len() {
        println!(
            "  {:<32} {:>8.3} {:>9.2} {:>7.2}   {}",
            rows[i].name,
            best[i] / 1e6,
            best[i] / kernel,
            best[i] / fib,
            show_runs(&runs[i])
        );
    }
    println!(
        "\n  cheap paths (frames dropped at r0) {:>6} {:>16}   Mpps of each round",
        "Mpps", "cost x parse"
    );
    for i in (FORWARD_ROWS.len()..rows.len()).step_by(2) {
        for j in [i, i + 1] {
            let ratio = if j == i {
                format!("{:.2}", best[i + 1] / best[i])
            } else {
                "1.00".to_string()
            };
            println!(
                "  {:<34} {:>6.3} {:>16}   {}",
                rows[j].name,
                best[j] / 1e6,
                ratio,
                show_runs(&runs[j])
            );
        }
    }
    Ok(())
}

/// Packets per second the router handled for one row: frames counted at the sink
/// (forwarding) or dropped by r0's XDP program (veth `xdp_drops`), over the generator's
/// wall time.
fn measure_row(
    row: &Row,
    packets: u32,
    topo: &Topo,
    hsrp_obj: &mut Ebpf,
    bench_obj: &mut Ebpf,
    generator: &mut Ebpf,
    sink: &mut Ebpf,
) -> Result<f64> {
    let frame = match row.traffic {
        Traffic::Forward if row.router == Router::Hsrp => forward_frame(VMAC_A, topo.g0_mac),
        Traffic::Forward => forward_frame(topo.r0_mac, topo.g0_mac),
        Traffic::NotActive => forward_frame(VMAC_B, topo.g0_mac),
        Traffic::ControlMalformed => control_frame(&malformed_hello()),
        Traffic::ControlOverBudget => control_frame(&v2_hello()),
    };
    let mut m: Array<&mut MapData, GenTemplate> =
        Array::try_from(map_mut(generator, "BENCH_GEN")?)?;
    m.set(0, template(&frame), 0)?;
    let (obj, name) = match row.router {
        Router::Hsrp => (hsrp_obj, "hsrp"),
        Router::KernelPass => (bench_obj, "bench_pass"),
        Router::Fib => (bench_obj, "bench_fib"),
        Router::Redirect => (bench_obj, "bench_redirect"),
        Router::ParseDrop => (bench_obj, "bench_parse_drop"),
    };
    let link = topo.rtr.enter(|| {
        let p: &mut Xdp = obj
            .program_mut(name)
            .with_context(|| format!("no program {name}"))?
            .try_into()?;
        Ok(p.attach("r0", XdpMode::Driver)?)
    })?;
    // Runs the generator for `n` frames on one CPU; returns the wall time.
    let generate = |n: u32| -> Result<f64> {
        topo.gen.enter(|| {
            pin_to_cpu(0);
            let ctx = xdp_md(ifindex("g0")?, frame.len());
            let p = prog(generator, "bench_gen")?;
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
    let counted = |sink: &mut Ebpf| -> Result<u64> {
        match row.traffic {
            Traffic::Forward => sink_count(sink),
            _ => xdp_drops(&topo.rtr, "r0"),
        }
    };
    let result = (|| {
        generate((packets / 20).max(1))?; // warm-up: page pool, caches, rate state
        let before = counted(sink)?;
        let secs = generate(packets)?;
        let measured = counted(sink)? - before;
        ensure!(
            measured as f64 >= packets as f64 * 0.5,
            "{}: only {measured} of {packets} frames were handled as expected",
            row.name
        );
        Ok(measured as f64 / secs)
    })();
    topo.rtr.enter(|| {
        let p: &mut Xdp = obj.program_mut(name).context("program")?.try_into()?;
        Ok(p.detach(link)?)
    })?;
    result
}

/// Frames dropped by the XDP program on a veth (all queues), from `ethtool -S`.
fn xdp_drops(ns: &Ns, dev: &str) -> Result<u64> {
    let out = ns.exec(&format!("ethtool -S {dev}"))?;
    let mut sum = 0;
    let mut seen = false;
    for line in out.lines() {
        let line = line.trim();
        if let Some(v) = line
            .strip_prefix("rx_queue_")
            .and_then(|l| l.split_once("_xdp_drops:"))
        {
            sum += v.1.trim().parse::<u64>().context("ethtool -S: xdp_drops")?;
            seen = true;
        }
    }
    ensure!(seen, "ethtool -S {dev} shows no rx_queue_*_xdp_drops");
    Ok(sum)
}

fn sink_count(e: &mut Ebpf) -> Result<u64> {
    let m: PerCpuArray<&mut MapData, u64> = PerCpuArray::try_from(map_mut(e, "BENCH_SINK")?)?;
    Ok(m.get(&0, 0)?.iter().sum())
}
