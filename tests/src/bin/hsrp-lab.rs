//! `hsrp-lab`: the lab demo and the failover benchmark runner, on the same topology as the
//! failover tests (`hsrp_tests::lab`). `cargo xtask lab` and `cargo xtask bench failover`
//! build it and run it; it needs root.
//!
//! ```text
//! hsrp-lab demo [--keep]
//! hsrp-lab bench --impl hsrpd|keepalived|keepalived-vmac --timers 50/150 \
//!                --scenario isolated|sigkill|link-down|sigterm --runs N [--bfd 10x3]
//!     one JSON object per run on stdout, progress on stderr; `--bfd` adds BFD between the
//!     routers (hsrpd: `bfd interval`, HSRP BFD peering; keepalived: its own BFD, tracked)
//! hsrp-lab bfd --links 32 --bfd 10x3 --window-s 10 --minutes 1 [--stress] [--realtime]
//!   [--hsrpd PATH]
//!     BFD cost and stability (see `hsrp_tests::lab_bfd`): hsrpd's CPU with N sessions
//!     against the same groups without BFD, then Up→Down transitions over the minutes
//!     (and again with `stress-ng --cpu 1` with --stress); one JSON object on stdout
//! hsrp-lab flood [--seconds S]
//!     the control-plane flood row: the generator's rate, what each router's XDP program
//!     saw, passed and dropped, and hsrpd's CPU during the flood against its idle CPU
//! hsrp-lab scale --groups 1000 --hello-ms 100 --hold-ms 300 --window-s 10 [--hsrpd PATH]
//!                [--napi threaded|softirq]
//!     the control-plane scale row: one JSON object on stdout (see `hsrp_tests::lab_scale`)
//! hsrp-lab load [--seconds S | --minutes M] [--timers ..] [--loads ..] [--impls ..]
//!     hellos on time under load: the table of `hsrp_tests::lab_load`
//! hsrp-lab soak [--minutes N | --seconds S] [--seed S]
//!     the chaos soak of `hsrp_tests::soak`: random faults, invariants; exit 1 if one broke
//! hsrp-lab churn [--minutes N] [--groups G] [--hsrpd PATH]
//!     RSS and descriptors after N minutes of churn vs after 1 (`hsrp_tests::lab_churn`)
//! ```

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hsrp_tests::lab::{self, Lab, SERVER_IP, VIP};
use hsrp_tests::lab_traffic::{
    failover_lab, hsrpd_bfd_config, hsrpd_config, router_macs, set_lan_link, set_switch_port,
    wait_hsrpd_roles, Bfd, Failure, Keepalived, Stream, Timers,
};
use hsrp_tests::probe::Report;

fn say(msg: impl AsRef<str>) {
    eprintln!("lab: {}", msg.as_ref());
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(args.iter().any(|a| a == "--keep")),
        Some("bench") => bench(&args[1..]),
        Some("scale") => scale(&args[1..]),
        Some("flood") => flood(&args[1..]),
        Some("load") => hsrp_tests::lab_load::main(&args[1..]),
        Some("soak") => soak(&args[1..]),
        Some("churn") => churn(&args[1..]),
        Some("bfd") => bfd_bench(&args[1..]),
        _ => Err(anyhow::anyhow!(
            "usage: hsrp-lab demo [--keep] | hsrp-lab bench --impl I --timers H/D --scenario S \
             --runs N | hsrp-lab scale --groups N --hello-ms H --hold-ms D --window-s S \
             [--hsrpd PATH] [--napi threaded|softirq] | hsrp-lab flood [--seconds S] | {}",
            hsrp_tests::lab_load::USAGE
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsrp-lab: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

// ---- the demo ---------------------------------------------------------------------------

const DEMO_TIMERS: Timers = Timers::ms(50, 150);

fn hsrpd_status(lab: &Lab, i: usize) -> Result<String> {
    let out = Command::new(hsrp_tests::hsrpd_bin())
        .arg("status")
        .arg("--socket")
        .arg(lab.socket(i))
        .output()
        .context("running hsrpd status")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn show_status(lab: &Lab, routers: &[usize]) -> Result<()> {
    for &i in routers {
        println!("--- r{i}: hsrpd status");
        print!("{}", hsrpd_status(lab, i)?);
    }
    Ok(())
}

/// `bpftool map dump` of router `i`'s HSRP_VMAC, only the used elements of the array
/// (the other slots are free), each as bpftool formats it from the BTF.
fn vmac_dump(lab: &Lab, i: usize) -> Result<String> {
    let used = lab.vmac_entries(i)?;
    let mut out = format!(
        "(bpftool -j map dump pinned /sys/fs/bpf/hsrpd/HSRP_VMAC: {} of {} slots used)\n",
        used.len(),
        hsrp_ebpf::VMAC_SLOTS
    );
    for e in used {
        out += &serde_json::to_string(&e)?;
        out.push('\n');
    }
    Ok(out)
}

fn named(lab: &Lab, r: &Report) -> Result<String> {
    let macs = router_macs(lab)?;
    Ok(r.segments
        .iter()
        .map(|s| {
            format!(
                "{} (seq {}-{})",
                macs.get(&s.via).map_or(s.via.as_str(), String::as_str),
                s.first_seq,
                s.last_seq
            )
        })
        .collect::<Vec<_>>()
        .join(" then "))
}

fn demo(keep: bool) -> Result<()> {
    let started = Instant::now();
    say("building namespaces: host -- bridge (lan) -- r1, r2 -- uplink bridge -- server");
    let mut lab = failover_lab()?;
    say(format!(
        "starting hsrpd on r1 (priority 110) and r2 (priority 100): HSRPv2 group 1, VIP {VIP}, \
         timers hello {} ms / hold {} ms, preempt",
        DEMO_TIMERS.hello_ms, DEMO_TIMERS.hold_ms
    ));
    for i in [1, 2] {
        lab.start_hsrpd(i, &hsrpd_config(i, DEMO_TIMERS))?;
    }
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5))?;
    say("elected: r1 Active, r2 Standby");
    show_status(&lab, &[1, 2])?;
    println!("--- r2: bpftool map dump HSRP_VMAC (r2 is Standby: active = 0)");
    print!("{}", vmac_dump(&lab, 2)?);

    let interval = Duration::from_millis(1);
    say(format!(
        "probe stream host -> {SERVER_IP} through the VIP: 1 packet/ms for 3 s; killing r1's \
         hsrpd (SIGKILL) after 1 s"
    ));
    let stream = Stream::start(&lab, interval, 3000)?;
    std::thread::sleep(Duration::from_secs(1));
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))?;
    say("r1's hsrpd killed; its XDP program went with it; waiting for the stream to end");
    let report = stream.finish()?;
    println!(
        "--- measured at the server: outage {:.1} ms, {} of {} packets lost, {} duplicated",
        report.outage_ms, report.lost, report.sent, report.duplicates
    );
    println!("    delivered by: {}", named(&lab, &report)?);
    println!(
        "    bound from the timers: hold {} + hello {} = {} ms",
        DEMO_TIMERS.hold_ms,
        DEMO_TIMERS.hello_ms,
        DEMO_TIMERS.hold_ms + DEMO_TIMERS.hello_ms
    );
    show_status(&lab, &[2])?;
    println!("--- r2: bpftool map dump HSRP_VMAC (flipped: active = 1)");
    print!("{}", vmac_dump(&lab, 2)?);

    say("restoring r1 (it preempts back: Coup, no loss)");
    let stream = Stream::start(&lab, interval, 1500)?;
    std::thread::sleep(Duration::from_millis(300));
    lab.start_hsrpd(1, &hsrpd_config(1, DEMO_TIMERS))?;
    let back = stream.finish()?;
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(3))?;
    println!(
        "--- r1 back: {} packets lost, outage {:.1} ms; delivered by: {}",
        back.lost,
        back.outage_ms,
        named(&lab, &back)?
    );
    show_status(&lab, &[1, 2])?;

    if keep {
        keep_running(lab);
        return Ok(());
    }
    say("tearing down (daemons stopped, namespaces deleted)");
    drop(lab);
    say(format!("done in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Leaves the lab up and prints how to explore it and how to take it down.
fn keep_running(lab: Lab) {
    let ns = |n: &hsrp_tests::Netns| n.name.clone();
    let host = lab.host.as_ref().map(ns).unwrap_or_default();
    let server = lab.server.as_ref().map(ns).unwrap_or_default();
    let routers: Vec<String> = lab.routers.iter().map(|r| ns(&r.ns)).collect();
    let hsrpd = hsrp_tests::hsrpd_bin();
    let mut all = vec![ns(&lab.lan), host.clone(), server.clone()];
    all.extend(routers.iter().cloned());
    let pids: Vec<String> = [1, 2]
        .iter()
        .filter_map(|&i| lab.daemon(i).map(|d| d.pid().to_string()))
        .collect();
    let teardown = lab.dir.join("teardown.sh");
    let mut script = format!("#!/bin/sh\n# Tears down the lab left by `cargo xtask lab --keep`.\nkill {} 2>/dev/null\nsleep 0.2\n", pids.join(" "));
    for n in &all {
        script.push_str(&format!(
            "ip netns pids {n} 2>/dev/null | xargs -r kill 2>/dev/null\nip netns del {n}\n\
             umount -l {root}/{n} 2>/dev/null; rmdir {root}/{n} 2>/dev/null\n",
            root = hsrp_tests::BPFFS_ROOT
        ));
    }
    script.push_str(&format!("rm -rf {}\n", lab.dir.display()));
    let _ = std::fs::write(&teardown, script);
    println!("--- the lab is still running. Explore:");
    println!(
        "  ip netns list                          # {}",
        all.join(" ")
    );
    for (i, r) in routers.iter().enumerate() {
        println!(
            "  {} status --detail --socket {}   # r{} ({r})",
            hsrpd.display(),
            lab.socket(i + 1).display(),
            i + 1
        );
    }
    println!(
        "  bpftool map dump pinned /run/hsrpt/{}/hsrpd/HSRP_VMAC",
        routers[0]
    );
    println!("  ip netns exec {host} ip neigh        # the host's view of the VIP");
    println!(
        "  {p} send --to {SERVER_IP}:9999 --count 5000   # run inside {host}; receive with\n  \
         {p} recv --port 9999 --iface up0 --timeout-ms 8000 (inside {server})",
        p = hsrp_tests::lab_traffic::probe_bin().display()
    );
    println!(
        "  kill -9 {}   # r1's hsrpd; logs in {}",
        pids.first().cloned().unwrap_or_default(),
        lab.dir.display()
    );
    println!("Tear down:  sh {}", teardown.display());
    std::mem::forget(lab);
}

// ---- the benchmark runner ----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Hsrpd,
    Keepalived { use_vmac: bool },
}

impl Impl {
    fn parse(s: &str) -> Result<Impl> {
        Ok(match s {
            "hsrpd" => Impl::Hsrpd,
            "keepalived" => Impl::Keepalived { use_vmac: false },
            "keepalived-vmac" => Impl::Keepalived { use_vmac: true },
            _ => bail!("--impl {s}: hsrpd, keepalived or keepalived-vmac"),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Impl::Hsrpd => "hsrpd",
            Impl::Keepalived { use_vmac: false } => "keepalived",
            Impl::Keepalived { use_vmac: true } => "keepalived-vmac",
        }
    }
}

fn arg<'a>(args: &'a [String], name: &str) -> Result<&'a str> {
    let i = args
        .iter()
        .position(|a| a == name)
        .with_context(|| format!("{name} is required"))?;
    args.get(i + 1)
        .map(String::as_str)
        .with_context(|| format!("{name} needs a value"))
}

/// The FHRP under test, running on both routers.
enum Running {
    Hsrpd,
    Keepalived(Keepalived),
}

fn bench(args: &[String]) -> Result<()> {
    let imp = Impl::parse(arg(args, "--impl")?)?;
    let timers: Timers = arg(args, "--timers")?.parse()?;
    let failures: Vec<Failure> = arg(args, "--scenario")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_>>()?;
    let runs: u32 = arg(args, "--runs")?.parse().context("--runs")?;
    let bfd: Option<Bfd> = match arg(args, "--bfd") {
        Ok("off") | Err(_) => None,
        Ok(b) => Some(b.parse()?),
    };
    let bfd_name = bfd.map_or("off".to_string(), |b| b.to_string());
    let mut lab = failover_lab()?;
    let mut running = start(&mut lab, imp, timers, bfd)?;
    for failure in failures {
        for run in 1..=runs {
            ensure_roles(&mut lab, &mut running, timers, bfd)?;
            let r = one_run(&mut lab, &mut running, timers, bfd, failure)?;
            let macs = router_macs(&lab)?;
            let via: Vec<&str> = r
                .segments
                .iter()
                .map(|s| macs.get(&s.via).map_or("?", String::as_str))
                .collect();
            say(format!(
                "{} {timers} bfd {bfd_name} {} run {run}: {}",
                imp.name(),
                failure.name(),
                r.summary()
            ));
            println!(
                "{}",
                serde_json::json!({
                    "impl": imp.name(), "timers": timers.to_string(),
                    "hello_ms": timers.hello_ms, "hold_ms": timers.hold_ms, "bfd": bfd_name,
                    "scenario": failure.name(), "run": run,
                    "outage_ms": r.outage_ms, "lost": r.lost, "duplicates": r.duplicates,
                    "duplicates_by_two_routers": r.duplicates_by_two_routers,
                    "router_changes": r.router_changes(), "delivered_by": via,
                    "sent": r.sent, "tail_lost": r.tail_lost,
                    "recovered": r.tail_lost == 0,
                })
            );
            restore(&mut lab, &mut running, timers, bfd, failure)?;
        }
    }
    if let Running::Keepalived(k) = &mut running {
        k.stop_all(&lab);
    }
    Ok(())
}

fn start(lab: &mut Lab, imp: Impl, timers: Timers, bfd: Option<Bfd>) -> Result<Running> {
    say(format!(
        "starting {} on r1 (110) and r2 (100), timers {timers}, BFD {}",
        imp.name(),
        bfd.map_or("off".to_string(), |b| b.to_string())
    ));
    Ok(match imp {
        Impl::Hsrpd => {
            for i in [1, 2] {
                lab.start_hsrpd(i, &hsrpd_bfd_config(i, timers, bfd))?;
            }
            Running::Hsrpd
        }
        Impl::Keepalived { use_vmac } => {
            Running::Keepalived(Keepalived::start_with_bfd(lab, timers, use_vmac, bfd)?)
        }
    })
}

/// Time for an election: Init/Listen, Speak for a hold time, then Standby/Active; when
/// both routers reach Speak together, the lower one goes back to Listen and waits one more
/// hold time to Speak and another to Standby (four hold times).
fn settle_limit(timers: Timers) -> Duration {
    Duration::from_millis(u64::from(4 * timers.hold_ms + 2 * timers.hello_ms) + 3000)
}

fn ensure_roles(
    lab: &mut Lab,
    running: &mut Running,
    timers: Timers,
    bfd: Option<Bfd>,
) -> Result<()> {
    match running {
        Running::Hsrpd => wait_hsrpd_roles(lab, 1, 2, settle_limit(timers)),
        Running::Keepalived(k) => k.wait_roles(1, 2, settle_limit(timers)),
    }?;
    // Each run starts from the same steady state: the host re-resolves the VIP (after an
    // isolation, keepalived's r1 stays MASTER without a gratuitous ARP, so the host would
    // keep sending to r2's MAC, which r2 forwards even as BACKUP).
    hsrp_tests::lab_traffic::host_flush_neighbours(lab)?;
    // One hold time more, so the Standby has heard a fresh hello and both are settled.
    std::thread::sleep(Duration::from_millis(u64::from(timers.hold_ms)));
    if let (Some(_), Running::Hsrpd) = (bfd, &*running) {
        // BFD must be Up both ways before the failure, or the row measures the hold timer.
        wait_bfd_up(lab, Duration::from_secs(10))?;
    }
    Ok(())
}

/// Waits until both hsrpd report their BFD session to the other router Up.
fn wait_bfd_up(lab: &Lab, limit: Duration) -> Result<()> {
    let up = |i: usize| {
        lab.status(i).is_ok_and(|s| {
            s.bfd
                .iter()
                .any(|b| b.state == "Up" && b.remote_state == "Up")
        })
    };
    lab::wait_for(limit, || up(1) && up(2))
        .map(|_| ())
        .with_context(|| {
            format!(
                "BFD not Up both ways within {limit:?}\nr1: {:?}\nr2: {:?}",
                lab.status(1).map(|s| s.bfd),
                lab.status(2).map(|s| s.bfd)
            )
        })
}

fn one_run(
    lab: &mut Lab,
    running: &mut Running,
    timers: Timers,
    bfd: Option<Bfd>,
    failure: Failure,
) -> Result<Report> {
    let fail_at = Duration::from_millis(500);
    // With BFD the failover is due one detection time after the failure: 2 s of stream
    // after it show a failover that BFD missed as an outage of 2 s or more (the hold
    // timer's 10 s would make every run a minute long).
    // keepalived's tracked BFD only changes the priority or faults the instance
    // (keepalived.conf(5)); nothing ends a backup's wait for the master-down interval, so
    // the stream runs for one such interval and 1 s more to show its real outage.
    let tail = match (bfd, &*running) {
        (Some(b), Running::Hsrpd) => b.detection() * 2 + Duration::from_millis(2000),
        (Some(_), Running::Keepalived(_)) => {
            timers.silent_failover_bound(0) + Duration::from_millis(1000)
        }
        (None, _) => timers.silent_failover_bound(0) * 2 + Duration::from_millis(1000),
    };
    let interval = Duration::from_millis(1);
    let count = ((fail_at + tail).as_millis()) as u64;
    let stream = Stream::start(lab, interval, count)?;
    std::thread::sleep(fail_at);
    match (failure, &mut *running) {
        (Failure::Isolated, _) => set_switch_port(lab, 1, false)?,
        (Failure::LinkDown, _) => set_lan_link(lab, 1, false)?,
        (Failure::Kill, Running::Hsrpd) => {
            lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))?;
        }
        (Failure::Graceful, Running::Hsrpd) => {
            lab.stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(5))?;
        }
        (Failure::Kill, Running::Keepalived(k)) => k.stop(1, libc::SIGKILL),
        (Failure::Graceful, Running::Keepalived(k)) => k.stop(1, libc::SIGTERM),
    }
    let mut r = stream.finish()?;
    if !r.end_marker_seen && r.sent < count {
        // Nothing arrived after the failure until the stream ended (the end markers were
        // lost too): no failover within the stream. The outage is at least the rest of
        // the stream; the row shows it as not recovered.
        let rest = count - r.sent;
        r.outage_ms = r
            .outage_ms
            .max(rest as f64 * interval.as_secs_f64() * 1000.0);
        r.lost += rest;
        r.tail_lost += rest;
        r.sent = count;
    }
    Ok(r)
}

fn restore(
    lab: &mut Lab,
    running: &mut Running,
    timers: Timers,
    bfd: Option<Bfd>,
    failure: Failure,
) -> Result<()> {
    match failure {
        Failure::Isolated => set_switch_port(lab, 1, true)?,
        Failure::LinkDown => set_lan_link(lab, 1, true)?,
        Failure::Kill | Failure::Graceful => match running {
            Running::Hsrpd => lab.start_hsrpd(1, &hsrpd_bfd_config(1, timers, bfd))?,
            Running::Keepalived(k) => {
                // A SIGKILLed keepalived leaves its VRRP child and the VIP behind.
                hsrp_tests::lab_traffic::kill_in_netns(&lab.router(1).ns, "keepalived");
                let _ = lab.router(1).ns.exec(&format!(
                    "ip addr flush dev {} to {VIP}/32; ip link del vrrp.1 2>/dev/null; true",
                    lab::ROUTER_LAN_IF
                ));
                k.restart(lab, 1)?;
            }
        },
    }
    Ok(())
}

// ---- the control-plane flood row ---------------------------------------------------------

fn flood(args: &[String]) -> Result<()> {
    use hsrp_tests::lab_flood::{self, BUDGET_PPS};
    let seconds: u64 = match arg(args, "--seconds") {
        Ok(s) => s.parse().context("--seconds: not a number")?,
        Err(_) => 10,
    };
    anyhow::ensure!(
        (1..=600).contains(&seconds),
        "--seconds {seconds}: 1 to 600"
    );
    say(format!(
        "two routers (100/300 ms), a rogue host flooding the LAN for {seconds} s"
    ));
    let run = lab_flood::run(Duration::from_secs(seconds))?;
    for line in lab_flood::report(&run) {
        println!("{line}");
    }
    println!(
        "\ncontrol-plane flood: generator {:.0} frames/s ({:.0}x the per-source budget of \
         {BUDGET_PPS:.0}/s)",
        run.flood.pps(),
        run.flood.pps() / BUDGET_PPS
    );
    for (k, r) in run.routers.iter().enumerate() {
        println!(
            "  r{}: XDP saw {:.0} frames/s, passed {:.0}/s ({:.2}x budget), hsrpd CPU {:.1} % \
             of a core ({:.1}x its idle {:.2} %), state changes during the flood: {}",
            k + 1,
            r.seen() as f64 / run.wall,
            r.passed as f64 / run.wall,
            r.passed as f64 / run.wall / BUDGET_PPS,
            r.cpu * 100.0,
            r.cpu / r.idle_cpu.max(1e-6),
            r.idle_cpu * 100.0,
            r.after.state_changes - r.before.state_changes
        );
    }
    Ok(())
}

// ---- BFD cost and stability ----------------------------------------------------------------

fn bfd_bench(args: &[String]) -> Result<()> {
    use hsrp_tests::lab_bfd::{
        bfd_bench_config, bfd_tally, prepare_bfd_lab, wait_bfd_sessions_up, BfdTally,
    };
    use hsrp_tests::lab_scale::ProcSample;
    use hsrp_user::proto::State;
    let num = |name: &str, default: u64| -> Result<u64> {
        match arg(args, name) {
            Err(_) => Ok(default),
            Ok(v) => v.parse().with_context(|| format!("{name}: not a number")),
        }
    };
    let links = usize::try_from(num("--links", 32)?).context("--links")?;
    let bfd: Bfd = arg(args, "--bfd").unwrap_or("10x3").parse()?;
    let window = Duration::from_secs(num("--window-s", 10)?);
    let minutes = num("--minutes", 1)?;
    let stress = args.iter().any(|a| a == "--stress");
    // HSRP 1 s / 3 s: the groups settle within seconds, and their hellos are the same in
    // the baseline and the BFD phase.
    let (hello, hold) = (1, 3);
    let mut lab = Lab::new(lab::LabOptions::default())?;
    if let Ok(p) = arg(args, "--hsrpd") {
        lab.hsrpd = p.into();
    }
    if args.iter().any(|a| a == "--realtime") {
        say("hsrpd runs with --realtime (SCHED_FIFO, memory locked)");
        lab.hsrpd_args = vec!["--realtime".into()];
    }
    anyhow::ensure!(lab.hsrpd.is_file(), "{} is missing", lab.hsrpd.display());
    prepare_bfd_lab(&lab, links)?;
    let roles = |lab: &Lab| -> bool {
        let all = |i: usize, st: State| {
            lab.status(i)
                .is_ok_and(|s| s.groups.len() == links && s.groups.iter().all(|g| g.state == st))
        };
        all(1, State::Active) && all(2, State::Standby)
    };
    let cpu = |lab: &Lab| -> Result<[f64; 2]> {
        let pids = [1, 2].map(|i| lab.daemon(i).map(|d| d.pid()).unwrap_or(-1));
        let before = pids.map(ProcSample::read);
        std::thread::sleep(window);
        let after = pids.map(ProcSample::read);
        let [b1, b2] = before;
        let [a1, a2] = after;
        Ok([b1?.cpu_percent_until(&a1?), b2?.cpu_percent_until(&a2?)])
    };
    let settle = |lab: &Lab| -> Result<()> {
        lab::wait_for(Duration::from_secs(60), || roles(lab))
            .map(|_| ())
            .context("r1 Active and r2 Standby in every group not reached within 60 s")
    };

    say(format!(
        "baseline: {links} groups on {links} links, HSRP {hello} s / {hold} s, no BFD"
    ));
    for i in [1, 2] {
        lab.start_hsrpd(i, &bfd_bench_config(i, links, None, hello, hold))?;
    }
    settle(&lab)?;
    std::thread::sleep(Duration::from_secs(1));
    let base = cpu(&lab)?;
    say(format!(
        "baseline CPU over {} s: r1 {:.2} %, r2 {:.2} % of one core (load {})",
        window.as_secs(),
        base[0],
        base[1],
        load_average()
    ));
    for i in [1, 2] {
        lab.stop_hsrpd(i, libc::SIGTERM, Duration::from_secs(10))?;
    }

    say(format!("the same groups with BFD {bfd} on every link"));
    for i in [1, 2] {
        lab.start_hsrpd(i, &bfd_bench_config(i, links, Some(bfd), hello, hold))?;
    }
    settle(&lab)?;
    wait_bfd_sessions_up(&lab, links, Duration::from_secs(30))?;
    std::thread::sleep(Duration::from_secs(1));
    let with = cpu(&lab)?;
    say(format!(
        "with {links} BFD sessions at {bfd}: r1 {:.2} %, r2 {:.2} % of one core (load {})",
        with[0],
        with[1],
        load_average()
    ));

    // Stability: Up→Down transitions while every peer lives.
    let watch = |lab: &Lab, what: &str| -> Result<serde_json::Value> {
        let before: Vec<BfdTally> = [1, 2]
            .iter()
            .map(|&i| bfd_tally(lab, i))
            .collect::<Result<_>>()?;
        let load_before = load_average();
        let log_lines = [1, 2].map(|i| lab.log(i).lines().count());
        say(format!(
            "{what}: watching the sessions for {minutes} min (load {load_before})"
        ));
        let probe = hsrp_tests::stall_probe::StallProbe::start(Duration::from_millis(10));
        let end = Instant::now() + Duration::from_secs(60 * minutes);
        let mut min_up = links;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(500));
            for i in [1, 2] {
                if let Ok(t) = bfd_tally(lab, i) {
                    min_up = min_up.min(t.up);
                }
            }
        }
        let after: Vec<BfdTally> = [1, 2]
            .iter()
            .map(|&i| bfd_tally(lab, i))
            .collect::<Result<_>>()?;
        let delta = |f: fn(&BfdTally) -> u64| -> Vec<u64> {
            before
                .iter()
                .zip(&after)
                .map(|(b, a)| f(a).saturating_sub(f(b)))
                .collect()
        };
        let downs = delta(|t| t.down_transitions);
        let expiries = delta(|t| t.detection_expiries);
        let deferred = delta(|t| t.detections_deferred);
        let restarts = delta(|t| t.sessions_started);
        let hsrp_changes = delta(|t| t.state_changes);
        let load_after = load_average();
        let machine = probe.stop();
        say(format!("{what}: {}", machine.summary()));
        for i in [1, 2] {
            if downs[i - 1] > 0 || hsrp_changes[i - 1] > 0 {
                explain_flaps(lab, i, log_lines[i - 1]);
            }
        }
        say(format!(
            "{what}: Up->Down transitions r1 {}, r2 {} (detection expiries {}, {}; sessions \
             started again {}, {}); HSRP state changes r1 {}, r2 {}; fewest sessions Up at \
             once {min_up} of {links}; load {load_after}",
            downs[0],
            downs[1],
            expiries[0],
            expiries[1],
            restarts[0],
            restarts[1],
            hsrp_changes[0],
            hsrp_changes[1]
        ));
        Ok(serde_json::json!({
            "what": what, "minutes": minutes, "down_transitions": downs,
            "hsrp_state_changes": hsrp_changes, "sessions_restarted": restarts,
            "detection_expiries": expiries, "detections_deferred": deferred,
            "fewest_up": min_up,
            "load_before": load_before, "load_after": load_after,
            "machine": machine.to_json(),
        }))
    };
    let mut stability = vec![watch(&lab, "as is")?];
    if stress {
        require_stress_ng()?;
        let mut hog = Command::new("stress-ng")
            .args(["--cpu", "1", "--timeout"])
            .arg(format!("{}s", 60 * minutes + 5))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting stress-ng")?;
        std::thread::sleep(Duration::from_secs(1));
        let r = watch(&lab, "stress-ng --cpu 1");
        // SIGTERM: stress-ng stops its workers before it exits.
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(hog.id() as i32, libc::SIGTERM) };
        let _ = lab::wait_exit(&mut hog, Duration::from_secs(10));
        stability.push(r?);
    }
    for i in [1, 2] {
        lab.stop_hsrpd(i, libc::SIGTERM, Duration::from_secs(10))?;
    }
    println!(
        "{}",
        serde_json::json!({
            "links": links, "bfd": bfd.to_string(), "window_s": window.as_secs(),
            "hsrpd": lab.hsrpd.display().to_string(),
            "hsrp_timers_s": [hello, hold],
            "cpu_percent_baseline": base, "cpu_percent_bfd": with,
            "cpu_percent_added": [with[0] - base[0], with[1] - base[1]],
            "stability": stability,
        })
    );
    Ok(())
}

fn require_stress_ng() -> Result<()> {
    let found = Command::new("stress-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    anyhow::ensure!(found, "stress-ng is missing: apt-get install stress-ng");
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---- the control-plane scale row ---------------------------------------------------------

fn scale(args: &[String]) -> Result<()> {
    use hsrp_tests::lab_scale::{
        hello_timing, prepare_scale_lab, read_hellos, scale_config, threaded_napi,
        wait_scale_roles, ProcSample,
    };
    let num = |name: &str| -> Result<u64> {
        arg(args, name)?
            .parse()
            .with_context(|| format!("{name}: not a number"))
    };
    let groups = u16::try_from(num("--groups")?).context("--groups")?;
    anyhow::ensure!(
        (1..=4000).contains(&groups),
        "--groups {groups}: 1 to 4000 (HSRPv2 groups 1-4095, 250 VIPs per /24)"
    );
    let hello_ms = u32::try_from(num("--hello-ms")?).context("--hello-ms")?;
    let hold_ms = u32::try_from(num("--hold-ms")?).context("--hold-ms")?;
    let window = Duration::from_secs(num("--window-s")?);
    let napi = arg(args, "--napi").unwrap_or("threaded");
    anyhow::ensure!(
        ["threaded", "softirq"].contains(&napi),
        "--napi {napi}: threaded or softirq"
    );
    let mut lab = Lab::new(lab::LabOptions {
        xdp_on_switch: true,
        ..lab::LabOptions::default()
    })?;
    if let Ok(p) = arg(args, "--hsrpd") {
        lab.hsrpd = p.into();
    }
    anyhow::ensure!(lab.hsrpd.is_file(), "{} is missing", lab.hsrpd.display());
    prepare_scale_lab(&lab)?;
    say(format!(
        "starting {} on r1 (priority 110) and r2 (100): {groups} HSRPv2 groups on lan0, hello \
         {hello_ms} ms, hold {hold_ms} ms",
        lab.hsrpd.display()
    ));
    for i in [1, 2] {
        lab.start_hsrpd(i, &scale_config(i, groups, hello_ms, hold_ms))?;
    }
    if napi == "threaded" {
        // Both daemons have attached their XDP program: the veths have NAPI now.
        threaded_napi(&lab)?;
        say("veth receive processing in NAPI threads (not charged to the sending hsrpd)");
    }
    wait_scale_roles(&lab, usize::from(groups), Duration::from_secs(60))?;
    say("all groups settled (r1 Active, r2 Standby); 1 s more before measuring");
    std::thread::sleep(Duration::from_secs(1));
    let pids = [1, 2].map(|i| lab.daemon(i).map(|d| d.pid()).unwrap_or(-1));
    // CPU first, without a capture: tcpdump's copy of every frame would be charged to
    // the sending hsrpd (a veth transmits synchronously).
    say(format!(
        "measuring CPU and RSS of both hsrpd for {} s",
        window.as_secs()
    ));
    let before = pids.map(ProcSample::read);
    std::thread::sleep(window);
    let after = pids.map(ProcSample::read);
    let mut routers = Vec::new();
    for (i, (b, a)) in before.into_iter().zip(after).enumerate() {
        let (b, a) = (b?, a?);
        routers.push(serde_json::json!({
            "router": format!("r{}", i + 1),
            "cpu_percent": b.cpu_percent_until(&a),
            "rss_mib": a.rss_kib as f64 / 1024.0,
        }));
    }
    say(format!(
        "capturing every hello on the LAN for {} s",
        window.as_secs()
    ));
    let cap = lab.capture("scale")?;
    std::thread::sleep(window);
    let pcap = cap.stop()?;
    let hellos = read_hellos(&pcap)?;
    let timing = hello_timing(&hellos, hello_ms);
    say(format!("hello timing: {timing}"));
    let mut lateness = Vec::new();
    for i in [1, 2] {
        let status = lab.stop_hsrpd(i, libc::SIGTERM, Duration::from_secs(10))?;
        anyhow::ensure!(status.success(), "hsrpd on r{i} exited with {status}");
        let line = lab
            .log(i)
            .lines()
            .find(|l| l.contains("timer lateness"))
            .map(|l| l.split_once("] ").map_or(l, |(_, m)| m).to_string())
            .unwrap_or_else(|| "(not logged)".into());
        lateness.push(line);
    }
    for (r, l) in routers.iter().zip(&lateness) {
        say(format!(
            "{}: CPU {:.1} % of one core, RSS {:.1} MiB; {l}",
            r["router"].as_str().unwrap_or("?"),
            r["cpu_percent"].as_f64().unwrap_or(0.0),
            r["rss_mib"].as_f64().unwrap_or(0.0)
        ));
    }
    println!(
        "{}",
        serde_json::json!({
            "groups": groups, "hello_ms": hello_ms, "hold_ms": hold_ms,
            "window_s": window.as_secs(), "hsrpd": lab.hsrpd.display().to_string(),
            "napi": napi,
            "routers": routers, "daemon_lateness": lateness,
            "hellos": timing.hellos, "streams": timing.streams, "intervals": timing.intervals,
            "outside_jitter_range": timing.outside,
            "err_p50_ms": timing.err_p50_ms, "err_p99_ms": timing.err_p99_ms,
            "err_max_ms": timing.err_max_ms, "interval_ms": timing.interval_ms,
            "state_changes_seen": timing.state_changes_seen,
        })
    );
    Ok(())
}

// ---- the chaos soak -----------------------------------------------------------------------

fn soak(args: &[String]) -> Result<()> {
    let mut duration = Duration::from_secs(600);
    let mut seed = hsrp_tests::soak::fresh_seed();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().with_context(|| format!("{a} needs a value"))?;
        let n: u64 = v
            .parse()
            .with_context(|| format!("{a} {v}: not a number"))?;
        match a.as_str() {
            "--minutes" => duration = Duration::from_secs(n * 60),
            "--seconds" => duration = Duration::from_secs(n),
            "--seed" => seed = n,
            other => bail!("unknown option {other} (--minutes N | --seconds S, --seed S)"),
        }
    }
    let report = hsrp_tests::soak::run(duration, seed)?;
    println!("{}", report.summary());
    if !report.violations.is_empty() {
        bail!(
            "{} invariant(s) broken; replay with --seed {}",
            report.violations.len(),
            report.seed
        );
    }
    Ok(())
}

// ---- memory and descriptor bounds under churn ---------------------------------------------

fn churn(args: &[String]) -> Result<()> {
    let mut minutes = 5u64;
    let mut groups = 1000u16;
    let mut hsrpd = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--minutes" => minutes = v.parse().with_context(|| format!("--minutes {v}"))?,
            "--groups" => groups = v.parse().with_context(|| format!("--groups {v}"))?,
            "--hsrpd" => hsrpd = Some(std::path::PathBuf::from(v)),
            other => bail!("unknown option {other} (--minutes N, --groups G, --hsrpd PATH)"),
        }
    }
    anyhow::ensure!(
        minutes >= 2,
        "--minutes {minutes}: at least 2 (the baseline is minute 1)"
    );
    let baseline = Duration::from_secs(60);
    let report =
        hsrp_tests::lab_churn::run(groups, Duration::from_secs(minutes * 60), hsrpd.as_deref())?;
    println!("{}", report.summary(baseline));
    let v = report.violations(baseline);
    if !v.is_empty() {
        bail!("{} bound(s) broken", v.len());
    }
    Ok(())
}

/// What router `i` logged about lost BFD sessions and HSRP takeovers after its first
/// `skip` log lines (the first few such lines), and how late its loop served timers: where
/// a false Down came from.
fn explain_flaps(lab: &Lab, i: usize, skip: usize) {
    let log = lab.log(i);
    let lines: Vec<&str> = log
        .lines()
        .skip(skip)
        .filter(|l| l.contains("Up -> Down") || l.contains("-> Active"))
        .take(6)
        .collect();
    say(format!(
        "r{i}: first lines about the flaps:\n  {}",
        lines.join("\n  ")
    ));
    if let Some(l) = lab.status(i).ok().and_then(|s| s.timer_lateness) {
        say(format!(
            "r{i}: timer lateness p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} wake-ups",
            l.p50_ms, l.p99_ms, l.max_ms, l.wakeups
        ));
    }
}
