//! Hellos on time under load (`hsrp-lab load`, behind `cargo xtask bench load`): two
//! routers of the failover lab (r1 priority 110 Active, r2 100 Standby) at fast timers,
//! while the machine is busy, and how far the hellos on the wire stray from their schedule.
//!
//! - Loads: none (the baseline of the same run), a CPU hog on every core (`stress-ng --cpu
//!   N`), and a forwarding flood through the Active router (iperf3 UDP, small datagrams,
//!   host → VIP → server): softirq work on the routers' CPUs.
//! - Implementations: hsrpd (default scheduling), hsrpd `--realtime`, keepalived (VRRPv3)
//!   with default scheduling and with its own real-time options (`vrrp_rt_priority`,
//!   `vrrp_no_swap`, `vrrp_rlimit_rttime`).
//! - Measure: every hello (HSRP) / advertisement (VRRP) on the LAN bridge, captured with a
//!   filter so the flood is not captured; per (sender, group) the intervals and their error
//!   outside the allowed range (hsrpd: `[0.8 × hello, hello]`, its jitter; keepalived: the
//!   advertisement interval its packets carry, no jitter) — see [`crate::lab_scale`].
//!   False takeovers: how often another router than r1 starts sending as Active / Master.
//!   hsrpd's own timer lateness (logged at stop) is kept beside it.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use crate::lab::{self, Lab, SERVER_IP};
use crate::lab_scale::{hello_timing, read_hellos, CapturedHello, HelloTiming};
use crate::lab_traffic::{hsrpd_config, wait_hsrpd_roles, Keepalived, Timers};
use hsrp_user::proto::State;

/// keepalived's real-time options for the `keepalived-rt` rows: the same priority as
/// hsrpd's default (`--realtime`), memory locked, its own RTTIME bound (µs).
pub const KEEPALIVED_RT: &str =
    "    vrrp_rt_priority 20\n    vrrp_no_swap\n    vrrp_rlimit_rttime 500000\n";

/// What keeps the machine busy during a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    Idle,
    /// `stress-ng --cpu N` on every core.
    Cpu,
    /// A UDP flood forwarded by the Active router.
    Softirq,
}

impl LoadKind {
    pub const ALL: [LoadKind; 3] = [LoadKind::Idle, LoadKind::Cpu, LoadKind::Softirq];
    pub fn name(self) -> &'static str {
        match self {
            LoadKind::Idle => "idle",
            LoadKind::Cpu => "cpu",
            LoadKind::Softirq => "softirq",
        }
    }
}

impl FromStr for LoadKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<LoadKind> {
        LoadKind::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .with_context(|| format!("load {s}: expected idle, cpu or softirq"))
    }
}

/// Which first-hop redundancy daemon a row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Hsrpd,
    HsrpdRt,
    Keepalived,
    KeepalivedRt,
}

impl Impl {
    pub const ALL: [Impl; 4] = [
        Impl::Hsrpd,
        Impl::HsrpdRt,
        Impl::Keepalived,
        Impl::KeepalivedRt,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Impl::Hsrpd => "hsrpd",
            Impl::HsrpdRt => "hsrpd-rt",
            Impl::Keepalived => "keepalived",
            Impl::KeepalivedRt => "keepalived-rt",
        }
    }
    fn is_hsrpd(self) -> bool {
        matches!(self, Impl::Hsrpd | Impl::HsrpdRt)
    }
}

impl FromStr for Impl {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Impl> {
        Impl::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .with_context(|| {
                format!("implementation {s}: expected hsrpd, hsrpd-rt, keepalived or keepalived-rt")
            })
    }
}

/// One measured row.
#[derive(Clone, Debug)]
pub struct Row {
    pub timers: Timers,
    pub load: LoadKind,
    pub imp: Impl,
    /// The interval the row's hellos are measured against, ms (keepalived: what its
    /// packets advertise, which VRRPv3 carries in centiseconds).
    pub interval_ms: f64,
    pub timing: HelloTiming,
    pub false_takeovers: usize,
    /// 1-minute load average when the row started (the machine is shared).
    pub loadavg: f64,
    /// hsrpd's own timer lateness line for r1 (empty for keepalived).
    pub lateness: String,
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>8} {:>8} {:>14} {:>7.1} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>6.1}",
            self.timers.to_string(),
            self.load.name(),
            self.imp.name(),
            self.interval_ms,
            self.timing.intervals,
            self.timing.err_p50_ms,
            self.timing.err_p99_ms,
            self.timing.err_max_ms,
            self.false_takeovers,
            self.loadavg
        )
    }
}

/// The table header matching [`Row`]'s `Display`.
pub const HEADER: &str =
    "  timers     load           impl  ivl ms   ivals  err p50  err p99  err max takeovers  load1";

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A running load; stopped (and its processes reaped) on drop.
pub struct Load {
    children: Vec<Child>,
}

impl Load {
    /// Starts `kind` for at most `limit` (each tool also stops by itself after it).
    pub fn start(lab: &Lab, kind: LoadKind, limit: Duration) -> Result<Load> {
        let secs = limit.as_secs().max(1).to_string();
        let mut children = Vec::new();
        match kind {
            LoadKind::Idle => {}
            LoadKind::Cpu => {
                crate::require_tool("stress-ng");
                let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
                children.push(
                    Command::new("stress-ng")
                        .args(["--cpu", &cpus.to_string(), "--timeout", &secs, "--quiet"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .context("spawning stress-ng")?,
                );
            }
            LoadKind::Softirq => {
                crate::require_tool("iperf3");
                let server = lab.server.as_ref().context("the lab has no server")?;
                let host = lab.host.as_ref().context("the lab has no host")?;
                children.push(
                    server
                        .command("iperf3")
                        .args(["-s", "-1", "-B", &SERVER_IP.to_string()])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .context("spawning the iperf3 server")?,
                );
                // Let the server listen (bounded: iperf3 starts in milliseconds).
                std::thread::sleep(Duration::from_millis(300));
                // 64-byte datagrams as fast as the client can: packets per second, which
                // is what costs softirq time, not bytes.
                children.push(
                    host.command("iperf3")
                        .args(["-c", &SERVER_IP.to_string(), "-u", "-b", "0", "-l", "64"])
                        .args(["-P", "2", "-t", &secs])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .context("spawning the iperf3 client")?,
                );
            }
        }
        Ok(Load { children })
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every VRRP advertisement in a pcap file, as [`CapturedHello`]s (group = VRID, state
/// Active: only a Master advertises), with the interval each advertises, ms.
pub fn read_vrrp(pcap: &Path) -> Result<(Vec<CapturedHello>, Option<f64>)> {
    let data = std::fs::read(pcap).with_context(|| format!("reading {}", pcap.display()))?;
    parse_pcap_vrrp(&data).with_context(|| format!("{}", pcap.display()))
}

/// See [`read_vrrp`]: a little-endian pcap image, Ethernet, IPv4 protocol 112.
pub fn parse_pcap_vrrp(data: &[u8]) -> Result<(Vec<CapturedHello>, Option<f64>)> {
    ensure!(data.len() >= 24, "{} bytes: no pcap header", data.len());
    let magic = u32::from_le_bytes(data[0..4].try_into()?);
    let nanos = match magic {
        0xa1b2_c3d4 => false,
        0xa1b2_3c4d => true,
        other => bail!("not a little-endian pcap file (magic {other:#010x})"),
    };
    let mut out = Vec::new();
    let mut advertised = None;
    let mut at = 24;
    while at + 16 <= data.len() {
        let word = |o: usize| u32::from_le_bytes(data[at + o..at + o + 4].try_into().unwrap());
        let (sec, frac, caplen) = (word(0), word(4), word(8) as usize);
        let frame = data
            .get(at + 16..at + 16 + caplen)
            .with_context(|| format!("record at byte {at} runs past the end"))?;
        at += 16 + caplen;
        let t = f64::from(sec) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        // Ethernet II, IPv4, protocol 112; VRRPv3: version/type, VRID, priority, count,
        // 4 bits reserved + 12 bits max advertisement interval (centiseconds).
        if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[0] >> 4 != 4 || ip[9] != 112 || ip.len() < ihl + 8 {
            continue;
        }
        let from = IpAddr::from([ip[12], ip[13], ip[14], ip[15]]);
        let v = &ip[ihl..];
        let centis = u16::from_be_bytes([v[4] & 0x0f, v[5]]);
        advertised = Some(f64::from(centis) * 10.0);
        out.push(CapturedHello {
            t,
            from,
            group: u16::from(v[1]),
            state: State::Active,
        });
    }
    Ok((out, advertised))
}

/// How often a router other than `active` starts sending as Active (Master), in time
/// order: each switch of the Active sender away from `active` is one takeover.
pub fn false_takeovers(hellos: &[CapturedHello], active: IpAddr) -> usize {
    let mut actives: Vec<&CapturedHello> =
        hellos.iter().filter(|h| h.state == State::Active).collect();
    actives.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut count = 0;
    let mut last = active;
    for h in actives {
        if h.from != last && last == active {
            count += 1;
        }
        last = h.from;
    }
    count
}

/// Runs one row: starts `imp` on both routers, waits for the roles, starts `load`,
/// captures the control plane for `window`, stops everything.
pub fn run_row(
    lab: &mut Lab,
    timers: Timers,
    load: LoadKind,
    imp: Impl,
    window: Duration,
) -> Result<Row> {
    let loadavg = loadavg();
    let settle = Duration::from_millis(u64::from(timers.hold_ms) * 20 + 5000);
    let mut keepalived = None;
    if imp.is_hsrpd() {
        lab.hsrpd_args = if imp == Impl::HsrpdRt {
            vec!["--realtime".into()]
        } else {
            Vec::new()
        };
        for i in [1, 2] {
            lab.start_hsrpd(i, &hsrpd_config(i, timers))?;
        }
        wait_hsrpd_roles(lab, 1, 2, settle)?;
    } else {
        let global = if imp == Impl::KeepalivedRt {
            KEEPALIVED_RT
        } else {
            ""
        };
        let k = Keepalived::start_with(lab, timers, false, global, None)?;
        k.wait_roles(1, 2, settle)?;
        keepalived = Some(k);
    }
    // The roles settled: one second more, then the load, one more for it to ramp up.
    std::thread::sleep(Duration::from_secs(1));
    let running = Load::start(lab, load, window + Duration::from_secs(5))?;
    std::thread::sleep(Duration::from_secs(1));
    let cap = lab.capture_filtered(
        &lab.lan,
        lab::LAN_BRIDGE,
        &format!("load-{}-{}-{}", timers.hello_ms, load.name(), imp.name()),
        &["udp", "port", "1985", "or", "ip", "proto", "112"],
    )?;
    std::thread::sleep(window);
    let pcap = cap.stop()?;
    drop(running);
    let r1 = IpAddr::V4(lab.router(1).lan_ip);
    let (hellos, interval_ms) = if imp.is_hsrpd() {
        (read_hellos(&pcap)?, f64::from(timers.hello_ms))
    } else {
        let (adverts, advertised) = read_vrrp(&pcap)?;
        (adverts, advertised.unwrap_or(f64::from(timers.hello_ms)))
    };
    let timing = if imp.is_hsrpd() {
        hello_timing(&hellos, timers.hello_ms)
    } else {
        vrrp_timing(&hellos, interval_ms)
    };
    let takeovers = false_takeovers(&hellos, r1);
    let mut lateness = String::new();
    if imp.is_hsrpd() {
        for i in [1, 2] {
            let status = lab.stop_hsrpd(i, libc::SIGTERM, Duration::from_secs(10))?;
            ensure!(status.success(), "hsrpd on r{i} exited with {status}");
        }
        lateness = lab
            .log(1)
            .lines()
            .rfind(|l| l.contains("timer lateness"))
            .map(|l| l.split_once("] ").map_or(l, |(_, m)| m).to_string())
            .unwrap_or_default();
    } else if let Some(mut k) = keepalived {
        k.stop_all(lab);
    }
    Ok(Row {
        timers,
        load,
        imp,
        interval_ms,
        timing,
        false_takeovers: takeovers,
        loadavg,
        lateness,
    })
}

/// What `hsrp-lab load` runs (see [`main`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub timers: Vec<Timers>,
    pub loads: Vec<LoadKind>,
    pub impls: Vec<Impl>,
    pub window: Duration,
}

/// Usage of `hsrp-lab load`.
pub const USAGE: &str = "hsrp-lab load [--seconds S | --minutes M] [--timers 50/150,15/50] \
    [--loads idle,cpu,softirq] [--impls hsrpd,hsrpd-rt,keepalived,keepalived-rt] [--hsrpd PATH]";

impl Plan {
    /// Parses the options (defaults: every timer pair, load and implementation, 60 s a row).
    pub fn parse(args: &[String]) -> Result<(Plan, Option<String>)> {
        let mut plan = Plan {
            timers: vec![Timers::ms(50, 150), Timers::ms(15, 50)],
            loads: LoadKind::ALL.to_vec(),
            impls: Impl::ALL.to_vec(),
            window: Duration::from_secs(60),
        };
        let mut hsrpd = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let v = it
                .next()
                .with_context(|| format!("{a} needs a value ({USAGE})"))?;
            let list = || v.split(',').map(str::trim).filter(|s| !s.is_empty());
            match a.as_str() {
                "--seconds" | "--minutes" => {
                    let n: u64 = v
                        .parse()
                        .with_context(|| format!("{a} {v}: not a number"))?;
                    ensure!(n > 0, "{a} must be at least 1");
                    let unit = if a == "--minutes" { 60 } else { 1 };
                    plan.window = Duration::from_secs(n * unit);
                }
                "--timers" => plan.timers = list().map(str::parse).collect::<Result<_>>()?,
                "--loads" => plan.loads = list().map(str::parse).collect::<Result<_>>()?,
                "--impls" => plan.impls = list().map(str::parse).collect::<Result<_>>()?,
                "--hsrpd" => hsrpd = Some(v.clone()),
                other => bail!("unknown option {other} ({USAGE})"),
            }
        }
        ensure!(
            !plan.timers.is_empty() && !plan.loads.is_empty() && !plan.impls.is_empty(),
            "nothing to run ({USAGE})"
        );
        Ok((plan, hsrpd))
    }
}

/// The real-time target: at 15/50 ms with both cores saturated, hsrpd `--realtime` keeps
/// p99 hello error under 2 ms and never loses the Active.
pub const RT_TARGET_P99_MS: f64 = 2.0;

/// `hsrp-lab load`: every (timers, load, implementation) row, the table, the verdict.
pub fn main(args: &[String]) -> Result<()> {
    let (plan, hsrpd) = Plan::parse(args)?;
    let mut lab = crate::lab_traffic::failover_lab()?;
    if let Some(p) = hsrpd {
        lab.hsrpd = p.into();
    }
    ensure!(lab.hsrpd.is_file(), "{} is missing", lab.hsrpd.display());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "load: {} row(s) of {} s each on {cpus} CPU(s); hsrpd {}",
        plan.timers.len() * plan.loads.len() * plan.impls.len(),
        plan.window.as_secs(),
        lab.hsrpd.display()
    );
    let mut rows = Vec::new();
    for &timers in &plan.timers {
        for &load in &plan.loads {
            for &imp in &plan.impls {
                eprintln!("load: {timers} {} {} ...", load.name(), imp.name());
                let row = run_row(&mut lab, timers, load, imp, plan.window)
                    .with_context(|| format!("row {timers} {} {}", load.name(), imp.name()))?;
                eprintln!("load: {}", row.timing);
                if !row.lateness.is_empty() {
                    eprintln!("load: r1 {}", row.lateness);
                }
                rows.push(row);
            }
        }
    }
    println!("\nhellos on time under load: error outside the allowed interval range, on the wire");
    println!("(hsrpd: [0.8 x hello, hello], its jitter; keepalived: the advertised interval)");
    println!("{HEADER}");
    for r in &rows {
        println!("{r}");
    }
    for r in rows.iter().filter(|r| !r.lateness.is_empty()) {
        println!(
            "  {} {} {}: r1 {}",
            r.timers,
            r.load.name(),
            r.imp.name(),
            r.lateness
        );
    }
    let target: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            r.imp == Impl::HsrpdRt && r.timers == Timers::ms(15, 50) && r.load == LoadKind::Cpu
        })
        .collect();
    for r in target {
        let ok = r.timing.err_p99_ms < RT_TARGET_P99_MS && r.false_takeovers == 0;
        println!(
            "target (hsrpd-rt, 15/50 ms, both cores saturated): p99 < {RT_TARGET_P99_MS} ms \
             and 0 false takeovers: {}",
            if ok { "ok" } else { "MISSED" }
        );
    }
    Ok(())
}

/// Like [`hello_timing`], for senders without jitter: the error of an interval is its
/// distance from `interval_ms`.
pub fn vrrp_timing(adverts: &[CapturedHello], interval_ms: f64) -> HelloTiming {
    // hello_timing allows [0.8 × hello, hello]; VRRP allows exactly the interval. Shift
    // each interval so the two agree: an interval below the advertised one is early by
    // that much, above it late by that much.
    let mut t = hello_timing(adverts, interval_ms.round() as u32);
    let mut by: std::collections::HashMap<(IpAddr, u16), Vec<f64>> = Default::default();
    for a in adverts {
        by.entry((a.from, a.group)).or_default().push(a.t);
    }
    let mut errors = Vec::new();
    for v in by.values_mut() {
        v.sort_by(f64::total_cmp);
        for w in v.windows(2) {
            errors.push(((w[1] - w[0]) * 1000.0 - interval_ms).abs());
        }
    }
    errors.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if errors.is_empty() {
            return 0.0;
        }
        let rank = ((p * errors.len() as f64).ceil() as usize).clamp(1, errors.len());
        errors[rank - 1]
    };
    t.err_p50_ms = pct(0.5);
    t.err_p99_ms = pct(0.99);
    t.err_max_ms = errors.last().copied().unwrap_or(0.0);
    // Early counts as outside too (no jitter allowance).
    t.outside = errors.iter().filter(|e| **e > 1.0).count();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::VIP;

    fn h(t: f64, from: &str, state: State) -> CapturedHello {
        CapturedHello {
            t,
            from: from.parse().unwrap(),
            group: 1,
            state,
        }
    }

    #[test]
    fn takeovers_count_switches_away_from_the_expected_active() {
        let r1: IpAddr = "10.0.0.2".parse().unwrap();
        let hellos = [
            h(0.00, "10.0.0.2", State::Active),
            h(0.01, "10.0.0.3", State::Standby),
            h(0.05, "10.0.0.2", State::Active),
            h(0.20, "10.0.0.3", State::Active), // takeover 1
            h(0.21, "10.0.0.3", State::Active),
            h(0.25, "10.0.0.2", State::Active), // back (preempt)
            h(0.40, "10.0.0.3", State::Active), // takeover 2
        ];
        assert_eq!(false_takeovers(&hellos, r1), 2);
        assert_eq!(false_takeovers(&hellos[..3], r1), 0);
    }

    #[test]
    fn vrrp_adverts_are_read_with_their_interval_and_errors_are_two_sided() {
        let mut pcap = Vec::new();
        for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            pcap.extend_from_slice(&w.to_le_bytes());
        }
        let mut frame = vec![0u8; 14 + 20 + 8];
        frame[12] = 0x08;
        frame[14] = 0x45; // IPv4, 20-byte header
        frame[14 + 9] = 112;
        frame[14 + 12..14 + 16].copy_from_slice(&[10, 0, 0, 2]);
        let v = 14 + 20;
        frame[v] = 0x31; // VRRPv3 advertisement
        frame[v + 1] = 1; // VRID
        frame[v + 5] = 2; // 2 centiseconds
        for (sec, usec) in [(1u32, 0u32), (1, 20_000), (1, 43_000), (1, 60_000)] {
            for w in [sec, usec, frame.len() as u32, frame.len() as u32] {
                pcap.extend_from_slice(&w.to_le_bytes());
            }
            pcap.extend_from_slice(&frame);
        }
        // Not VRRP: skipped.
        let mut other = frame.clone();
        other[14 + 9] = 17;
        for w in [2u32, 0, other.len() as u32, other.len() as u32] {
            pcap.extend_from_slice(&w.to_le_bytes());
        }
        pcap.extend_from_slice(&other);
        let (adverts, ivl) = parse_pcap_vrrp(&pcap).unwrap();
        assert_eq!(adverts.len(), 4);
        assert_eq!(ivl, Some(20.0));
        assert_eq!(adverts[0].group, 1);
        let t = vrrp_timing(&adverts, 20.0);
        assert_eq!(t.intervals, 3);
        // 20, 23, 17 ms: errors 0, 3, 3.
        assert!((t.err_max_ms - 3.0).abs() < 1e-6, "{t:?}");
        assert!((t.err_p50_ms - 3.0).abs() < 1e-6, "{t:?}");
        assert_eq!(t.outside, 2);
        assert!(parse_pcap_vrrp(&pcap[..10]).is_err());
    }

    #[test]
    fn options_select_rows_and_bad_ones_are_named() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let (p, h) = Plan::parse(&[]).unwrap();
        assert_eq!((p.timers.len(), p.loads.len(), p.impls.len()), (2, 3, 4));
        assert_eq!(p.window, Duration::from_secs(60));
        assert_eq!(h, None);
        let (p, _) = Plan::parse(&args(
            "--minutes 10 --timers 15/50 --loads cpu --impls hsrpd-rt",
        ))
        .unwrap();
        assert_eq!(p.window, Duration::from_secs(600));
        assert_eq!(p.timers, vec![Timers::ms(15, 50)]);
        assert_eq!((p.loads[0], p.impls[0]), (LoadKind::Cpu, Impl::HsrpdRt));
        let e = Plan::parse(&args("--loads gpu")).unwrap_err().to_string();
        assert!(e.contains("load gpu"), "{e}");
        let e = Plan::parse(&args("--seconds")).unwrap_err().to_string();
        assert!(e.contains("needs a value"), "{e}");
        let e = Plan::parse(&args("--fast 1")).unwrap_err().to_string();
        assert!(e.contains("unknown option --fast"), "{e}");
    }

    #[test]
    fn loads_and_implementations_parse_by_name() {
        assert_eq!("cpu".parse::<LoadKind>().unwrap(), LoadKind::Cpu);
        assert_eq!("hsrpd-rt".parse::<Impl>().unwrap(), Impl::HsrpdRt);
        assert!("gpu".parse::<LoadKind>().is_err());
        assert!("vrrpd".parse::<Impl>().is_err());
    }

    #[test]
    fn keepalived_realtime_options_reach_its_global_defs() {
        let c = Keepalived::config_with(1, Timers::ms(50, 150), false, KEEPALIVED_RT, None);
        let defs = c.split("vrrp_instance").next().unwrap();
        assert!(defs.contains("vrrp_rt_priority 20"), "{c}");
        assert!(defs.contains("vrrp_no_swap") && defs.contains("vrrp_rlimit_rttime"));
        assert!(c.contains(&VIP.to_string()));
    }
}
