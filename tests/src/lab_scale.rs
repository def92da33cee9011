//! The control-plane scale measurement of `cargo xtask bench scale`: many HSRPv2 groups on
//! one interface of two routers (r1 Active for all, r2 Standby), and what they cost:
//!
//! - CPU: `utime + stime` of each hsrpd from `/proc/PID/stat` over a fixed window, as a
//!   percentage of one core;
//! - memory: `VmRSS` from `/proc/PID/status` at the end of the window;
//! - hello timing: every hello on the LAN captured (tcpdump on the bridge) for the same
//!   window; per (sender, group), the intervals between consecutive hellos. hsrpd jitters
//!   each interval downward by up to 20 % (Cisco's behaviour), so a correct interval lies
//!   in `[0.8 × hello, hello]`; the error of an interval is its distance outside that
//!   range (0 inside). Since the next hello is scheduled from the moment the previous one
//!   went out, lateness shows as an interval that is too long (by the lateness, less
//!   whatever the random cut left as room), so this error is a lower bound of the
//!   scheduling lateness; the daemon's own measure of it (timer lateness, logged when it
//!   stops) is the upper side.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::lab::{Lab, ROUTER_LAN_IF};
use hsrp_user::proto::{Opcode, State};

/// The scale groups' addresses: a /16 beside the lab's /24, so a thousand VIPs fit.
pub fn router_scale_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, 0, 1 + i as u8)
}

/// VIP of scale group `g` (1-based): 10.2.1.1, 10.2.1.2, ... 250 per /24.
pub fn scale_vip(g: u16) -> Ipv4Addr {
    let n = g - 1;
    Ipv4Addr::new(10, 2, 1 + (n / 250) as u8, 1 + (n % 250) as u8)
}

/// Router `i`'s configuration: groups 1..=`groups`, HSRPv2, r1 priority 110, r2 100,
/// msec timers `hello_ms`/`hold_ms`.
pub fn scale_config(i: usize, groups: u16, hello_ms: u32, hold_ms: u32) -> String {
    let prio = if i == 1 { 110 } else { 100 };
    let mut c = format!(
        "interface {ROUTER_LAN_IF}\n ip address {} 255.255.0.0\n standby version 2\n",
        router_scale_ip(i)
    );
    for g in 1..=groups {
        c.push_str(&format!(
            " standby {g} ip {}\n standby {g} priority {prio}\n standby {g} timers msec \
             {hello_ms} msec {hold_ms}\n",
            scale_vip(g)
        ));
    }
    c
}

/// Prepares the lab for the scale run: the scale /16 on every router's LAN interface, and
/// the LAN bridge without netfilter. A veth transmits synchronously: the bridge's work for
/// each hello (with `bridge-nf-call-*` on, a pass through the namespace's netfilter
/// hooks) runs in the sending hsrpd's system time. A real switch is not the router's CPU,
/// so the bridge is made a plain switch (it had no rules to apply anyway).
pub fn prepare_scale_lab(lab: &Lab) -> Result<()> {
    lab.lan.exec(
        "for f in iptables ip6tables arptables; do \
         [ ! -e /proc/sys/net/bridge/bridge-nf-call-$f ] || \
         echo 0 > /proc/sys/net/bridge/bridge-nf-call-$f; done",
    )?;
    for (n, r) in lab.routers.iter().enumerate() {
        r.ns.exec(&format!(
            "ip addr add {}/16 dev {ROUTER_LAN_IF}",
            router_scale_ip(n + 1)
        ))?;
    }
    Ok(())
}

/// CPU time and memory of a process.
#[derive(Clone, Copy, Debug)]
pub struct ProcSample {
    pub at: Instant,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kib: u64,
}

impl ProcSample {
    /// Reads `/proc/PID/stat` and `/proc/PID/status`, checking that PID is an hsrpd.
    pub fn read(pid: i32) -> Result<ProcSample> {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .with_context(|| format!("process {pid}"))?;
        ensure!(
            comm.trim().starts_with("hsrpd"),
            "process {pid} is {comm:?}, not hsrpd"
        );
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let cpu_ticks = stat_cpu_ticks(&stat).with_context(|| format!("/proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rss_kib = status_rss_kib(&status).with_context(|| format!("/proc/{pid}/status"))?;
        Ok(ProcSample {
            at: Instant::now(),
            cpu_ticks,
            rss_kib,
        })
    }

    /// CPU used between `self` and `later`, in percent of one core.
    pub fn cpu_percent_until(&self, later: &ProcSample) -> f64 {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let cpu_s = later.cpu_ticks.saturating_sub(self.cpu_ticks) as f64 / hz;
        let wall = later.at.duration_since(self.at).as_secs_f64();
        if wall > 0.0 {
            100.0 * cpu_s / wall
        } else {
            0.0
        }
    }
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field
/// 2) is in parentheses and may contain spaces, so fields are counted after the last ')'.
pub fn stat_cpu_ticks(stat: &str) -> Result<u64> {
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("no ')' after the command name")?;
    // `rest` starts at field 3 (state): utime is the 12th field of it, stime the 13th.
    let f: Vec<&str> = rest.split_whitespace().collect();
    ensure!(
        f.len() > 12,
        "only {} fields after the command name",
        f.len()
    );
    let n = |i: usize| {
        f[i].parse::<u64>()
            .with_context(|| format!("field {}: {:?}", i + 3, f[i]))
    };
    Ok(n(11)? + n(12)?)
}

/// `VmRSS:   1234 kB` of `/proc/PID/status`, in KiB.
pub fn status_rss_kib(status: &str) -> Result<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .context("VmRSS has no value")?;
    kib.parse().with_context(|| format!("VmRSS {kib:?}"))
}

/// A hello as captured: when, from whom, which group, in what state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CapturedHello {
    pub t: f64,
    pub from: IpAddr,
    pub group: u16,
    pub state: State,
}

/// Every HSRP Hello in a pcap file (classic pcap, Ethernet, µs or ns timestamps).
pub fn read_hellos(pcap: &Path) -> Result<Vec<CapturedHello>> {
    let data = std::fs::read(pcap).with_context(|| format!("reading {}", pcap.display()))?;
    parse_pcap_hellos(&data).with_context(|| format!("{}", pcap.display()))
}

/// The hellos in a pcap image (see [`read_hellos`]); other frames are skipped.
pub fn parse_pcap_hellos(data: &[u8]) -> Result<Vec<CapturedHello>> {
    ensure!(data.len() >= 24, "{} bytes: no pcap header", data.len());
    let magic = u32::from_le_bytes(data[0..4].try_into()?);
    let nanos = match magic {
        0xa1b2_c3d4 => false,
        0xa1b2_3c4d => true,
        other => bail!("not a little-endian pcap file (magic {other:#010x})"),
    };
    let linktype = u32::from_le_bytes(data[20..24].try_into()?);
    ensure!(linktype == 1, "link type {linktype}, not Ethernet");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let word = |o: usize| u32::from_le_bytes(data[at + o..at + o + 4].try_into().unwrap());
        let (sec, frac, caplen) = (word(0), word(4), word(8) as usize);
        let frame = data
            .get(at + 16..at + 16 + caplen)
            .with_context(|| format!("record at byte {at} runs past the end"))?;
        at += 16 + caplen;
        let t = f64::from(sec) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        let Ok(d) = hsrp_user::wire::rx::parse(frame) else {
            continue;
        };
        let Ok(Some(Ok(m))) = hsrp_user::wire::Repr::parse(d.payload).map(|r| r.group_message())
        else {
            continue;
        };
        if m.opcode == Opcode::Hello {
            out.push(CapturedHello {
                t,
                from: d.src_ip,
                group: m.group,
                state: m.state,
            });
        }
    }
    Ok(out)
}

/// Hello timing over a capture, against the configured hello time.
#[derive(Clone, Debug, PartialEq)]
pub struct HelloTiming {
    pub hellos: usize,
    /// (sender, group) pairs heard.
    pub streams: usize,
    pub intervals: usize,
    /// Intervals outside `[0.8 × hello, hello]`.
    pub outside: usize,
    /// Error outside the jitter range, ms: p50, p99, max.
    pub err_p50_ms: f64,
    pub err_p99_ms: f64,
    pub err_max_ms: f64,
    /// Raw intervals, ms: min, p50, p99, max.
    pub interval_ms: [f64; 4],
    /// Hellos not in the steady-state roles (Active from r1 / Standby from r2 expected).
    pub state_changes_seen: usize,
}

/// Nearest-rank percentile of a sorted sample (0 for an empty one).
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Distance of `interval` outside `[0.8 × hello, hello]` (the jitter range), ms.
pub fn jitter_error_ms(interval_ms: f64, hello_ms: f64) -> f64 {
    let low = hello_ms * (1.0 - f64::from(hsrp_user::fsm::jitter::MAX_JITTER_PERCENT) / 100.0);
    (interval_ms - hello_ms).max(0.0) + (low - interval_ms).max(0.0)
}

/// Intervals per (sender, group), their error against the jitter range of `hello_ms`.
pub fn hello_timing(hellos: &[CapturedHello], hello_ms: u32) -> HelloTiming {
    let mut streams: HashMap<(IpAddr, u16), Vec<(f64, State)>> = HashMap::new();
    for h in hellos {
        streams
            .entry((h.from, h.group))
            .or_default()
            .push((h.t, h.state));
    }
    let hello = f64::from(hello_ms);
    let mut errors = Vec::new();
    let mut intervals = Vec::new();
    let mut state_changes_seen = 0;
    for v in streams.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in v.windows(2) {
            if w[0].1 != w[1].1 {
                // A state change sends a hello at once: not a scheduling error.
                state_changes_seen += 1;
                continue;
            }
            let iv = (w[1].0 - w[0].0) * 1000.0;
            intervals.push(iv);
            errors.push(jitter_error_ms(iv, hello));
        }
    }
    errors.sort_by(f64::total_cmp);
    intervals.sort_by(f64::total_cmp);
    HelloTiming {
        hellos: hellos.len(),
        streams: streams.len(),
        intervals: intervals.len(),
        outside: errors.iter().filter(|e| **e > 0.0).count(),
        err_p50_ms: pct(&errors, 0.5),
        err_p99_ms: pct(&errors, 0.99),
        err_max_ms: errors.last().copied().unwrap_or(0.0),
        interval_ms: [
            intervals.first().copied().unwrap_or(0.0),
            pct(&intervals, 0.5),
            pct(&intervals, 0.99),
            intervals.last().copied().unwrap_or(0.0),
        ],
        state_changes_seen,
    }
}

impl fmt::Display for HelloTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [mn, p50, p99, mx] = self.interval_ms;
        write!(
            f,
            "{} hellos from {} (router, group) streams, {} intervals: {:.1} % outside the \
             jitter range; error p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; intervals min \
             {mn:.1} p50 {p50:.1} p99 {p99:.1} max {mx:.1} ms",
            self.hellos,
            self.streams,
            self.intervals,
            100.0 * self.outside as f64 / self.intervals.max(1) as f64,
            self.err_p50_ms,
            self.err_p99_ms,
            self.err_max_ms
        )
    }
}

/// Moves the veths' receive processing (NAPI) into kernel threads: every veth on the LAN
/// path (routers' `lan0`, the bridge ports). A veth transmits synchronously: without this,
/// the bridge's forwarding and the other router's whole receive path for each hello run as
/// softirq in the sending hsrpd's context and are charged to it, which on real hardware
/// happens in the NIC's interrupt and on other machines. A veth has NAPI only with a
/// native XDP program or with GRO on, and hsrpd (like the pass-through on the bridge
/// ports, `LabOptions::xdp_on_switch`) attaches in generic mode: GRO is turned on. A veth
/// hands a frame to its peer's NAPI only if the sender has no TSO (or, for a frame still
/// owned by a local socket, the peer forwards UDP GRO): TSO is turned off, else every frame
/// takes the per-CPU backlog, in softirq of the sender. And NAPI's ring is 256 frames: a
/// FIFO (a NIC's transmit queue) in front of it holds a burst (a thousand groups' GARPs,
/// hellos due together) instead of failing the send with ENOBUFS. Call after hsrpd has
/// attached.
pub fn threaded_napi(lab: &Lab) -> Result<()> {
    for r in &lab.routers {
        r.ns.exec(&napi_thread_commands(ROUTER_LAN_IF))
            .with_context(|| format!("threaded NAPI on {} {ROUTER_LAN_IF}", r.name))?;
        lab.lan
            .exec(&napi_thread_commands(&r.switch_port))
            .with_context(|| format!("threaded NAPI on {}", r.switch_port))?;
    }
    Ok(())
}

/// The shell commands that put veth `dev`'s receive processing in a NAPI thread (see
/// [`threaded_napi`]).
fn napi_thread_commands(dev: &str) -> String {
    format!(
        "ethtool -K {dev} gro on tso off && tc qdisc replace dev {dev} root pfifo limit 4096 \
         && echo 1 > /sys/class/net/{dev}/threaded"
    )
}

/// Waits until every one of `groups` groups is Active on r1 and Standby on r2.
pub fn wait_scale_roles(lab: &Lab, groups: usize, limit: Duration) -> Result<()> {
    let count = |i: usize, want: State| {
        lab.status(i)
            .map(|s| s.groups.iter().filter(|g| g.state == want).count())
            .unwrap_or(0)
    };
    let ok = crate::lab::wait_for(limit, || {
        count(1, State::Active) == groups && count(2, State::Standby) == groups
    });
    ensure!(
        ok.is_some(),
        "not all {groups} groups settled within {limit:?}: r1 Active {}, r2 Standby {}",
        count(1, State::Active),
        count(2, State::Standby)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_parse_even_with_spaces_in_the_name() {
        let stat = "4242 (hs rpd) S 1 4242 4242 0 -1 4194560 300 0 0 0 170 25 0 0 20 0 2 0";
        assert_eq!(stat_cpu_ticks(stat).unwrap(), 195);
        assert!(stat_cpu_ticks("4242 (x) S 1").is_err());
        let status = "Name:\thsrpd\nVmRSS:\t   12345 kB\nThreads:\t1\n";
        assert_eq!(status_rss_kib(status).unwrap(), 12345);
        assert!(status_rss_kib("Name: x\n").is_err());
    }

    #[test]
    fn errors_are_measured_outside_the_jitter_range() {
        assert_eq!(jitter_error_ms(90.0, 100.0), 0.0);
        assert_eq!(jitter_error_ms(80.0, 100.0), 0.0);
        assert!((jitter_error_ms(103.5, 100.0) - 3.5).abs() < 1e-9);
        assert!((jitter_error_ms(78.0, 100.0) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn timing_groups_by_sender_and_group_and_skips_state_changes() {
        let a: IpAddr = "10.2.0.2".parse().unwrap();
        let b: IpAddr = "10.2.0.3".parse().unwrap();
        let h = |t: f64, from, group, state| CapturedHello {
            t,
            from,
            group,
            state,
        };
        let hellos = [
            h(0.000, a, 1, State::Active),
            h(0.000, b, 1, State::Standby),
            h(0.090, a, 1, State::Active),
            h(0.095, b, 1, State::Standby),
            h(0.200, a, 1, State::Active), // 110 ms: 10 ms late
            h(0.100, b, 1, State::Speak),  // out of order in the file, a state change
        ];
        let t = hello_timing(&hellos, 100);
        assert_eq!((t.hellos, t.streams, t.intervals), (6, 2, 3));
        assert_eq!(t.state_changes_seen, 1);
        assert_eq!(t.outside, 1);
        assert!((t.err_max_ms - 10.0).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn scale_vips_stay_distinct_and_in_the_slash_16() {
        assert_eq!(scale_vip(1), Ipv4Addr::new(10, 2, 1, 1));
        assert_eq!(scale_vip(250), Ipv4Addr::new(10, 2, 1, 250));
        assert_eq!(scale_vip(251), Ipv4Addr::new(10, 2, 2, 1));
        assert_eq!(scale_vip(1000), Ipv4Addr::new(10, 2, 4, 250));
        let c = scale_config(2, 3, 100, 300);
        assert!(c.contains(" ip address 10.2.0.3 255.255.0.0\n"), "{c}");
        assert!(c.contains(" standby 3 ip 10.2.1.3\n standby 3 priority 100\n"));
        let cfg = hsrp_user::config::parse(&c, "scale.conf").unwrap();
        assert_eq!(cfg.groups().count(), 3);
    }

    #[test]
    fn pcap_reader_finds_hellos_and_rejects_garbage() {
        assert!(parse_pcap_hellos(&[0u8; 10]).is_err());
        assert!(parse_pcap_hellos(&[0u8; 24]).is_err());
        let mut pcap = Vec::new();
        for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            pcap.extend_from_slice(&w.to_le_bytes());
        }
        // One v1 hello (state Active, group 7) in an Ethernet/IPv4/UDP frame.
        let payload = [
            0x00, 0x00, 0x10, 0x03, 0x0a, 0x64, 0x07, 0x00, 0x63, 0x69, 0x73, 0x63, 0x6f, 0x00,
            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
        ];
        let mut frame = [0u8; 200];
        let n = hsrp_user::wire::hsrp_frame(
            hsrp_user::proto::MacAddr([0, 0, 0x0c, 7, 0xac, 7]),
            "192.168.0.2".parse().unwrap(),
            &payload,
            &mut frame,
        )
        .unwrap();
        for w in [5u32, 250_000, n as u32, n as u32] {
            pcap.extend_from_slice(&w.to_le_bytes());
        }
        pcap.extend_from_slice(&frame[..n]);
        let hellos = parse_pcap_hellos(&pcap).unwrap();
        assert_eq!(hellos.len(), 1);
        assert_eq!(hellos[0].group, 7);
        assert_eq!(hellos[0].state, State::Active);
        assert!((hellos[0].t - 5.25).abs() < 1e-9);
        pcap.truncate(pcap.len() - 3);
        assert!(parse_pcap_hellos(&pcap).is_err(), "truncated record");
    }
}
