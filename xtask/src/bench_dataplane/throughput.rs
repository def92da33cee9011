//! (b) throughput through veths: forwarding rows and the cheap (dropping) paths.

use std::net::Ipv4Addr;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use aya::maps::{Array, MapData, PerCpuArray};
use aya::programs::{TestRun, TestRunAttrs, TestRunOptions, Xdp, XdpMode};
use aya::Ebpf;
use hsrp_ebpf::bench::{GenTemplate, GEN_HDR_LEN};
use hsrp_ebpf::map_names;

use super::frames::*;
use super::netns::{if_mac, ifindex, pin_to_cpu, sh, Ns};
use super::objects::*;
use super::*;
use crate::util::say;

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
    /// hsrp with the next-hop cache on.
    HsrpCache,
    /// hsrp in generic (SKB) mode, as hsrpd attaches it on veth, cache on.
    HsrpGenericCache,
    /// hsrp in generic mode with `HSRP_FWD_MODE` = kernel path (netfilter hooks present).
    HsrpGenericKernelPath,
    KernelPass,
    /// XDP_PASS in generic mode: kernel forwarding with the generic hook's cost.
    KernelPassGeneric,
    /// As `KernelPassGeneric`, with [`STATEFUL_RULESET`] on the router.
    KernelPassGenericStateful,
    /// hsrp in generic mode, accepted-flow path, the generator's flow in `HSRP_FLOWS`,
    /// [`STATEFUL_RULESET`] on the router (its rules never see the flow's frames).
    HsrpGenericAcceptedFlow,
    /// As `KernelPass` (native), with [`STATEFUL_RULESET`] on the router.
    KernelPassStateful,
    /// As `HsrpGenericAcceptedFlow` in native mode (what a NIC driver gets).
    HsrpAcceptedFlow,
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

/// The stateful ruleset of the accepted-flow rows: established flows first, new UDP to
/// the generator's port from r0 to r1, everything else dropped (the generator's one-way
/// flow never turns established in conntrack, so the kernel evaluates the port rule for
/// every frame: conntrack lookup plus two rules).
const STATEFUL_RULESET: &str = "nft -f - <<EOF
table inet benchfw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname r0 oifname r1 udp dport 9 accept
  }
}
EOF";

const FORWARD_ROWS: [Row; 12] = [
    Row {
        name: "hsrpd, next-hop cache off",
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
    Row {
        name: "hsrpd, next-hop cache on",
        router: Router::HsrpCache,
        traffic: Traffic::Forward,
    },
    Row {
        name: "generic: hsrpd, cache on (veth)",
        router: Router::HsrpGenericCache,
        traffic: Traffic::Forward,
    },
    Row {
        name: "generic: hsrpd, kernel path",
        router: Router::HsrpGenericKernelPath,
        traffic: Traffic::Forward,
    },
    Row {
        name: "generic: kernel fwd (XDP_PASS)",
        router: Router::KernelPassGeneric,
        traffic: Traffic::Forward,
    },
    Row {
        name: "generic: kernel fwd, stateful",
        router: Router::KernelPassGenericStateful,
        traffic: Traffic::Forward,
    },
    Row {
        name: "generic: hsrpd, accepted flow",
        router: Router::HsrpGenericAcceptedFlow,
        traffic: Traffic::Forward,
    },
    Row {
        name: "kernel fwd, stateful rules",
        router: Router::KernelPassStateful,
        traffic: Traffic::Forward,
    },
    Row {
        name: "hsrpd, accepted flow",
        router: Router::HsrpAcceptedFlow,
        traffic: Traffic::Forward,
    },
];
/// Indices in [`FORWARD_ROWS`] of the accepted-flow comparisons, each (hsrpd without
/// rules, cache on; kernel forwarding without rules; kernel forwarding with the stateful
/// rules; hsrpd with them): native mode, and generic mode (veth, as hsrpd attaches there).
const ACCEPTED_FLOW_NATIVE: [usize; 4] = [4, 1, 10, 11];
const ACCEPTED_FLOW_GENERIC: [usize; 4] = [5, 7, 8, 9];

impl Router {
    /// Attached in generic (SKB) mode: r0 then needs GRO on, so veth receives the
    /// generator's XDP frames through its NAPI and builds skbs (without a native program
    /// or GRO, veth drops frames sent to it by XDP).
    fn generic(self) -> bool {
        matches!(
            self,
            Router::HsrpGenericCache
                | Router::HsrpGenericKernelPath
                | Router::KernelPassGeneric
                | Router::KernelPassGenericStateful
                | Router::HsrpGenericAcceptedFlow
        )
    }

    fn is_hsrp(self) -> bool {
        matches!(
            self,
            Router::Hsrp
                | Router::HsrpCache
                | Router::HsrpGenericCache
                | Router::HsrpGenericKernelPath
                | Router::HsrpGenericAcceptedFlow
                | Router::HsrpAcceptedFlow
        )
    }

    /// Rows measured with [`STATEFUL_RULESET`] on the router.
    fn stateful(self) -> bool {
        matches!(
            self,
            Router::KernelPassGenericStateful
                | Router::HsrpGenericAcceptedFlow
                | Router::KernelPassStateful
                | Router::HsrpAcceptedFlow
        )
    }
}

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

pub fn forwarding_throughput(packets: u32, rounds: u32, objects: &Objects) -> Result<()> {
    say(format!(
        "(b) throughput, {packets} x 64-byte frames per row, one core, {rounds} interleaved \
         rounds (best kept)"
    ));
    let topo = topology()?;
    let (bench, hsrp) = (&objects.bench, &objects.hsrp);
    // Sink: count + drop on s0, for every row.
    let mut sink = topo.sink.enter(|| {
        let mut e = Ebpf::load_file(bench)?;
        load_prog(&mut e, "bench_sink")?.attach("s0", XdpMode::Driver)?;
        Ok(e)
    })?;
    // Every router program is loaded once; a row attaches its program to r0 and detaches
    // it afterwards.
    let (mut hsrp_obj, mut bench_obj) = topo.rtr.enter(|| {
        let (r0, r1) = (ifindex("r0")?, ifindex("r1")?);
        let mut h = Ebpf::load_file(hsrp)?;
        load_prog(&mut h, "hsrp")?;
        set_iface(&mut h, r0, topo.r0_mac)?;
        add_tx(&mut h, map_names::TX_PORTS, r1, r1)?;
        install_group(&mut h, r0, VMAC_A, 1, true, &[])?;
        ensure!(
            add_flow(&mut h, generator_flow())?,
            "the hsrp object has no HSRP_FLOWS"
        );
        install_group(&mut h, r0, VMAC_B, 2, false, &[])?;
        set_control_rate(&mut h, true)?;
        let mut b = Ebpf::load_file(bench)?;
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
        let mut e = Ebpf::load_file(bench)?;
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
    print_table(&rows, &runs);
    Ok(())
}

/// Each row's best round, its ratios and its rounds; the accepted-flow comparisons.
fn print_table(rows: &[&Row], runs: &[Vec<f64>]) {
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
    println!();
    for (mode, [no_rules, kernel, kernel_stateful, accepted]) in [
        ("native", ACCEPTED_FLOW_NATIVE),
        ("generic", ACCEPTED_FLOW_GENERIC),
    ] {
        let k = best[kernel_stateful];
        println!(
            "  stateful ruleset, {mode}: accepted-flow path {:.2}x kernel forwarding with the \
             rules; hsrpd without rules {:.2}x; kernel without rules {:.2}x",
            best[accepted] / k,
            best[no_rules] / k,
            best[kernel] / k,
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
        Traffic::Forward if row.router.is_hsrp() => forward_frame(VMAC_A, topo.g0_mac),
        Traffic::Forward => forward_frame(topo.r0_mac, topo.g0_mac),
        Traffic::NotActive => forward_frame(VMAC_B, topo.g0_mac),
        Traffic::ControlMalformed => control_frame(&malformed_hello()),
        Traffic::ControlOverBudget => control_frame(&v2_hello()),
    };
    let mut m: Array<&mut MapData, GenTemplate> =
        Array::try_from(map_mut(generator, "BENCH_GEN")?)?;
    m.set(0, template(&frame), 0)?;
    let Some(on) = set_up_row(row, topo, hsrp_obj)? else {
        return Ok(0.0);
    };
    let hits_before = if on { nh_cache_hits(hsrp_obj)? } else { None };
    let accepted = matches!(
        row.router,
        Router::HsrpGenericAcceptedFlow | Router::HsrpAcceptedFlow
    );
    let flows_before = flow_hits(hsrp_obj)?;
    let (obj, name) = match row.router {
        Router::Hsrp
        | Router::HsrpCache
        | Router::HsrpGenericCache
        | Router::HsrpGenericKernelPath
        | Router::HsrpGenericAcceptedFlow
        | Router::HsrpAcceptedFlow => (hsrp_obj, "hsrp"),
        Router::KernelPass
        | Router::KernelPassGeneric
        | Router::KernelPassGenericStateful
        | Router::KernelPassStateful => (bench_obj, "bench_pass"),
        Router::Fib => (bench_obj, "bench_fib"),
        Router::Redirect => (bench_obj, "bench_redirect"),
        Router::ParseDrop => (bench_obj, "bench_parse_drop"),
    };
    let generic = row.router.generic();
    if generic {
        topo.rtr.exec("ethtool -K r0 gro on >/dev/null")?;
    }
    let link = topo.rtr.enter(|| {
        let p: &mut Xdp = obj
            .program_mut(name)
            .with_context(|| format!("no program {name}"))?
            .try_into()?;
        let mode = if generic {
            XdpMode::Skb
        } else {
            XdpMode::Driver
        };
        Ok(p.attach("r0", mode)?)
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
    let hits = if on { nh_cache_hits(obj)? } else { None };
    let flows = if accepted { flow_hits(obj)? } else { None };
    if row.router.stateful() {
        topo.rtr.exec("nft delete table inet benchfw")?;
    }
    topo.rtr.enter(|| {
        let p: &mut Xdp = obj.program_mut(name).context("program")?.try_into()?;
        Ok(p.detach(link)?)
    })?;
    if generic {
        topo.rtr.exec("ethtool -K r0 gro off >/dev/null")?;
    }
    // Every frame of the row (and warm-up) but the first should have hit (not checked
    // for an object whose counters have another layout).
    if let (Some(before), Some(after)) = (hits_before, hits) {
        enough(row, "next-hop cache hits", after - before, packets)?;
    }
    if let (Some(before), Some(after)) = (flows_before.filter(|_| accepted), flows) {
        enough(row, "accepted-flow hits", after - before, packets)?;
    }
    result
}

/// The hsrp object's state for `row` (next-hop cache generation, forwarding mode) and the
/// router's ruleset; whether the cache is on, or `None` when the object lacks a map the
/// row needs (said, and the row reads 0).
fn set_up_row(row: &Row, topo: &Topo, hsrp_obj: &mut Ebpf) -> Result<Option<bool>> {
    // The cache is on only for its row (a fresh generation each time: the entry is
    // refilled by the warm-up), off for every other.
    let on = matches!(
        row.router,
        Router::HsrpCache
            | Router::HsrpGenericCache
            | Router::HsrpGenericAcceptedFlow
            | Router::HsrpAcceptedFlow
    );
    if !set_nh_gen(hsrp_obj, if on { next_gen() } else { 0 })? && on {
        say(format!(
            "{}: the hsrp object has no next-hop cache",
            row.name
        ));
        return Ok(None);
    }
    let mode = match row.router {
        Router::HsrpGenericKernelPath => hsrp_ebpf::FWD_KERNEL_PATH,
        Router::HsrpGenericAcceptedFlow | Router::HsrpAcceptedFlow => hsrp_ebpf::FWD_ACCEPTED_FLOW,
        _ => hsrp_ebpf::FWD_FAST_PATH,
    };
    if !set_fwd_mode(hsrp_obj, mode)? && mode != hsrp_ebpf::FWD_FAST_PATH {
        say(format!(
            "{}: the hsrp object has no HSRP_FWD_MODE",
            row.name
        ));
        return Ok(None);
    }
    if row.router.stateful() {
        topo.rtr.exec(STATEFUL_RULESET)?;
    }
    Ok(Some(on))
}

/// At least half the row's frames were counted as `what`.
fn enough(row: &Row, what: &str, counted: u64, packets: u32) -> Result<()> {
    ensure!(
        counted >= u64::from(packets) / 2,
        "{}: only {counted} {what}",
        row.name
    );
    Ok(())
}

/// The generator's flow (10.1.0.2:9 -> 10.2.0.2:9, UDP), as the program keys it.
fn generator_flow() -> hsrp_ebpf::FlowKey {
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[10, 1, 0, 2]);
    let mut dst = [0u8; 16];
    dst[..4].copy_from_slice(&[10, 2, 0, 2]);
    hsrp_ebpf::FlowKey {
        family: hsrp_ebpf::FLOW_V4,
        proto: 17,
        _pad: [0; 2],
        ports: [0, 9, 0, 9],
        src,
        dst,
    }
}

/// A new cache generation per cache row (never 0).
fn next_gen() -> u32 {
    static GEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    GEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
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
