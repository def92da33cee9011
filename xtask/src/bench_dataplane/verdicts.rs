//! (a) ns/packet per verdict via BPF_PROG_TEST_RUN.

use anyhow::{bail, ensure, Context, Result};
use aya::maps::{Array, MapData};
use aya::programs::{TestRun, TestRunOptions};
use aya::Ebpf;
use hsrp_ebpf::bench::{RestoreFrame, RESTORE_LEN};
use hsrp_ebpf::{map_names, FAMILY_V4, FAMILY_V6};

use super::frames::*;
use super::netns::{if_mac, ifindex, pin_to_cpu, Ns};
use super::objects::*;
use super::*;
use crate::util::say;

const PARSE_REFERENCE: &str = "parse Ethernet+IP only (reference)";
const FIB_REFERENCE: &str = "minimal fib + redirect (reference)";
const FORWARD4: &str = "forward IPv4";
const FORWARD4_CACHED: &str = "forward IPv4, next-hop cache hit";

/// Best-of repetitions of each BPF_PROG_TEST_RUN measurement (the machine is shared).
const TEST_RUN_TRIES: usize = 5;

pub fn verdict_costs(repeat: u32, objects: &Objects) -> Result<()> {
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
            // Cache rows: on (the first repetition fills the entry, the rest hit);
            // every other row runs with the cache off, as before it existed.
            if !set_nh_gen(&mut ebpf, row.nh_cache as u32)? && row.nh_cache {
                continue; // an object from before the cache (`--objects`)
            }
            let hits0 = nh_cache_hits(&mut ebpf)?;
            let (t, got) = match row.harness {
                Harness::Plain => time(&mut ebpf, "hsrp", &row.frame)?,
                Harness::Restore => {
                    let (t, v) = time(&mut ebpf, "bench_restore_hsrp", &row.frame)?;
                    (t - restore, v)
                }
            };
            if row.nh_cache {
                // An object whose counters cannot be read (another layout) is not checked.
                if let (Some(before), Some(after)) = (hits0, nh_cache_hits(&mut ebpf)?) {
                    let hits = after - before;
                    ensure!(
                        hits >= u64::from(repeat) * TEST_RUN_TRIES as u64 - TEST_RUN_TRIES as u64,
                        "{}: only {hits} next-hop cache hits",
                        row.name
                    );
                }
            }
            out.push(Timed {
                name: row.name,
                harness: row.harness,
                ns: t,
                got,
                want: row.verdict,
            });
        }
        set_nh_gen(&mut ebpf, 0)?;
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
            .map(|r| r.ns.max(1.0))
    };
    let ratio = |ns: f64, reference: Option<f64>| {
        reference.map_or("-".to_string(), |d| format!("{:.2}", ns / d))
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
            Harness::Plain => ("plain", ratio(r.ns, ns_of(PARSE_REFERENCE, Harness::Plain))),
            Harness::Restore
                if r.name == FORWARD4 || r.name == FORWARD4_CACHED || r.name == FIB_REFERENCE =>
            {
                (
                    "restore",
                    ratio(r.ns, ns_of(FIB_REFERENCE, Harness::Restore)),
                )
            }
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

// ---- the rows ----------------------------------------------------------------------------

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
    /// Run with the next-hop cache on (generation 1); all other rows run with it off.
    nh_cache: bool,
}

fn plain(name: &'static str, frame: Vec<u8>, verdict: u32) -> VerdictRow {
    VerdictRow {
        name,
        frame,
        verdict,
        harness: Harness::Plain,
        rate_limited: false,
        nh_cache: false,
    }
}

fn restored(name: &'static str, frame: Vec<u8>, verdict: u32) -> VerdictRow {
    VerdictRow {
        harness: Harness::Restore,
        ..plain(name, frame, verdict)
    }
}

/// The per-verdict rows: the cheap paths first (plain harness), then the rewriting ones.
fn verdict_rows() -> Vec<VerdictRow> {
    let udp6 = ipv6(
        VMAC_A,
        HOST_MAC,
        HOST6,
        SERVER6,
        64,
        17,
        &udp(4000, 9, b"payload!"),
    );
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
        restored("forward IPv6", udp6.clone(), XDP_REDIRECT),
        VerdictRow {
            nh_cache: true,
            ..restored(FORWARD4_CACHED, udp4(VMAC_A, 64), XDP_REDIRECT)
        },
        VerdictRow {
            nh_cache: true,
            ..restored("forward IPv6, next-hop cache hit", udp6, XDP_REDIRECT)
        },
        restored("slow path (TTL 1)", udp4(VMAC_A, 1), XDP_PASS),
        restored("ARP reply", arp_request(HOST_MAC, HOST4, VIP4), XDP_TX),
        restored(
            "ICMP echo reply",
            ipv4(
                VMAC_A,
                HOST_MAC,
                HOST4,
                VIP4,
                64,
                PROTO_ICMP,
                &icmp4_echo(1, 1, b"abcdefgh"),
            ),
            XDP_TX,
        ),
        restored("NS -> NA", ns(HOST_MAC, HOST6, VIP6), XDP_TX),
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
