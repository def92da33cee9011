//! Real traffic through the lab and the failures the failover tests, `cargo xtask lab` and
//! `cargo xtask bench failover` inject. Built on [`crate::lab::Lab`] (host — LAN bridge —
//! r1, r2 — uplink bridge — server):
//!
//! - [`Stream`]: an `hsrp-probe` stream host → server through the virtual IP, measured at
//!   the server (which router delivered each packet is its uplink MAC);
//! - [`Failure`]: what happens to the Active (isolated, SIGKILL, link down, SIGTERM, ...);
//! - [`Keepalived`]: the reference FHRP (VRRPv3) on the same routers, for the benchmark.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::lab::{self, Lab, LabOptions, ROUTER_LAN_IF, ROUTER_UPLINK_IF, SERVER_IP, VIP};
use crate::probe::Report;
use crate::Netns;

/// UDP port of the probe stream.
pub const PROBE_PORT: u16 = 9999;
/// The HSRPv2 group of the lab and its virtual MAC.
pub const GROUP: u16 = 1;
pub const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];

/// The `hsrp-probe` binary next to `hsrpd` (built by `cargo build -p hsrp-tests --bins`,
/// and by `cargo test -p hsrp-tests`). Panics, naming the fix, if absent.
pub fn probe_bin() -> PathBuf {
    let bin = crate::hsrpd_bin().with_file_name("hsrp-probe");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p hsrp-tests --bins`",
        bin.display()
    );
    bin
}

/// Hello and hold time of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub hello_ms: u32,
    pub hold_ms: u32,
}

impl Timers {
    pub const fn ms(hello_ms: u32, hold_ms: u32) -> Timers {
        Timers { hello_ms, hold_ms }
    }

    /// The IOS `timers` arguments: whole seconds as seconds (IOS's msec hello stops at
    /// 999), anything else in msec.
    pub fn ios(&self) -> String {
        let one = |ms: u32| {
            if ms.is_multiple_of(1000) {
                format!("{}", ms / 1000)
            } else {
                format!("msec {ms}")
            }
        };
        format!("timers {} {}", one(self.hello_ms), one(self.hold_ms))
    }

    /// The longest outage the timers allow when the Active vanishes silently: the
    /// Standby's hold timer runs out at most `hold` after the last hello it heard, which
    /// was sent at most one `hello` before the failure.
    pub fn silent_failover_bound(&self, slack_ms: u32) -> Duration {
        Duration::from_millis(u64::from(self.hold_ms + self.hello_ms + slack_ms))
    }
}

impl fmt::Display for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |ms: u32| {
            if ms.is_multiple_of(1000) {
                format!("{}s", ms / 1000)
            } else {
                format!("{ms}ms")
            }
        };
        write!(f, "{}/{}", show(self.hello_ms), show(self.hold_ms))
    }
}

impl FromStr for Timers {
    type Err = anyhow::Error;
    /// `HELLO/HOLD` in ms: `50/150`.
    fn from_str(s: &str) -> Result<Timers> {
        let (a, b) = s
            .split_once('/')
            .with_context(|| format!("timers {s}: expected HELLO/HOLD in ms"))?;
        Ok(Timers::ms(
            a.trim()
                .parse()
                .with_context(|| format!("timers {s}: hello"))?,
            b.trim()
                .parse()
                .with_context(|| format!("timers {s}: hold"))?,
        ))
    }
}

/// The lab of the failover tests: host, two routers, server, XDP pass-through on the
/// switch ports, and the routers' neighbour entries for the server resolved (so the first
/// forwarded packets do not wait for ARP on either router).
pub fn failover_lab() -> Result<Lab> {
    failover_lab_of(2)
}

/// [`failover_lab`] with `routers` routers.
pub fn failover_lab_of(routers: usize) -> Result<Lab> {
    let lab = Lab::new(LabOptions {
        routers,
        host: true,
        server: true,
        xdp_on_switch: true,
    })?;
    for r in &lab.routers {
        // One datagram makes the kernel resolve the server (no ping binary needed).
        r.ns.exec(&format!(
            "python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\
             .sendto(b'arp', ('{SERVER_IP}', 9))\""
        ))?;
        let resolved = lab::wait_for(Duration::from_secs(3), || {
            r.ns.exec(&format!("ip neigh show {SERVER_IP} dev {ROUTER_UPLINK_IF}"))
                .is_ok_and(|o| o.contains("lladdr"))
        });
        if resolved.is_none() {
            bail!("{} cannot resolve the server {SERVER_IP}", r.name);
        }
    }
    Ok(lab)
}

/// The hsrpd configuration of router `i` in the failover lab: r1 priority 110, r2 100,
/// both preempt, HSRPv2 group [`GROUP`] with the VIP.
pub fn hsrpd_config(i: usize, timers: Timers) -> String {
    let prio = if i == 1 { 110 } else { 100 };
    lab::router_config(2, &[(GROUP, VIP, prio, true)], &timers.ios())
}

/// Starts hsrpd on r1 and r2 with the roles of [`hsrpd_config`] (r1 priority 110, r2 100,
/// group [`GROUP`] on the VIP), `timers` and the `extra` group lines (authentication, ...),
/// and waits (5 s at most) until r1 is Active and r2 Standby.
pub fn start_elected(lab: &mut Lab, timers: Timers, extra: &str) -> Result<()> {
    for i in [1, 2] {
        let prio = if i == 1 { 110 } else { 100 };
        let lines = format!("{}\n{extra}", timers.ios());
        lab.start_hsrpd(
            i,
            &lab::router_config(2, &[(GROUP, VIP, prio, true)], &lines),
        )
        .with_context(|| format!("starting hsrpd on r{i}"))?;
    }
    wait_hsrpd_roles(lab, 1, 2, Duration::from_secs(5))
}

/// BFD between the two routers of a benchmark row: the interval (Desired Min TX and
/// Required Min RX alike) and the detect multiplier, written `10x3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bfd {
    pub interval_ms: u32,
    pub multiplier: u8,
}

impl Bfd {
    /// How long a session waits before declaring its silent peer down.
    pub fn detection(&self) -> Duration {
        Duration::from_millis(u64::from(self.interval_ms) * u64::from(self.multiplier))
    }
}

impl fmt::Display for Bfd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.interval_ms, self.multiplier)
    }
}

impl FromStr for Bfd {
    type Err = anyhow::Error;
    /// `INTERVALxMULTIPLIER`: `10x3`.
    fn from_str(s: &str) -> Result<Bfd> {
        let (a, b) = s
            .split_once('x')
            .with_context(|| format!("bfd {s}: expected INTERVALxMULTIPLIER (ms), e.g. 10x3"))?;
        Ok(Bfd {
            interval_ms: a.parse().with_context(|| format!("bfd {s}: interval"))?,
            multiplier: b.parse().with_context(|| format!("bfd {s}: multiplier"))?,
        })
    }
}

/// [`hsrpd_config`] with `bfd interval` on the LAN interface (HSRP BFD peering is on by
/// default wherever BFD is configured).
pub fn hsrpd_bfd_config(i: usize, timers: Timers, bfd: Option<Bfd>) -> String {
    let c = hsrpd_config(i, timers);
    match bfd {
        None => c,
        Some(b) => c.replacen(
            '\n',
            &format!(
                "\n bfd interval {ms} min_rx {ms} multiplier {}\n",
                b.multiplier,
                ms = b.interval_ms
            ),
            1,
        ),
    }
}

/// The uplink MAC of each router: who delivered a packet at the server.
pub fn router_macs(lab: &Lab) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for r in &lab.routers {
        let mac =
            r.ns.exec(&format!("cat /sys/class/net/{ROUTER_UPLINK_IF}/address"))?
                .trim()
                .to_string();
        m.insert(mac, r.name.clone());
    }
    Ok(m)
}

/// A probe stream host → server through the VIP, running until [`Stream::finish`].
pub struct Stream {
    receiver: Child,
    sender: Child,
    pub started: Instant,
    pub interval: Duration,
    pub count: u64,
}

impl Stream {
    /// Starts the receiver on the server's uplink bridge, then `count` packets one every
    /// `interval` from the host. Returns once the sender runs.
    pub fn start(lab: &Lab, interval: Duration, count: u64) -> Result<Stream> {
        let server = lab.server.as_ref().context("the lab has no server")?;
        let host = lab.host.as_ref().context("the lab has no host")?;
        let bin = probe_bin().display().to_string();
        let span = interval * u32::try_from(count).context("count")?;
        let timeout_ms = (span + Duration::from_secs(5)).as_millis().to_string();
        let err_file = lab
            .dir
            .join(format!("probe-recv-{}.err", crate::unique("")));
        let mut receiver = server
            .command(&bin)
            .args(["recv", "--port", &PROBE_PORT.to_string(), "--iface", "up0"])
            .args(["--timeout-ms", &timeout_ms])
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&err_file)?)
            .spawn()
            .context("spawning the probe receiver")?;
        // Bounded wait for "ready".
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = fs::read_to_string(&err_file).unwrap_or_default();
            if text.contains("ready") {
                break;
            }
            if let Some(status) = receiver.try_wait()? {
                bail!("probe receiver exited ({status}): {text}");
            }
            if Instant::now() > deadline {
                let _ = receiver.kill();
                let _ = receiver.wait();
                bail!("probe receiver not ready within 5 s: {text}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let sender = host
            .command(&bin)
            .args(["send", "--to", &format!("{SERVER_IP}:{PROBE_PORT}")])
            .args(["--interval-us", &interval.as_micros().to_string()])
            .args(["--count", &count.to_string()])
            .stdout(Stdio::null())
            .spawn();
        let sender = match sender {
            Ok(s) => s,
            Err(e) => {
                let _ = receiver.kill();
                let _ = receiver.wait();
                return Err(e).context("spawning the probe sender");
            }
        };
        Ok(Stream {
            receiver,
            sender,
            started: Instant::now(),
            interval,
            count,
        })
    }

    /// Waits for the stream to end and returns what the server measured.
    pub fn finish(mut self) -> Result<Report> {
        let span = self.interval * u32::try_from(self.count).context("count")?;
        let limit = span + Duration::from_secs(10);
        lab::wait_exit(&mut self.sender, limit).context("probe sender")?;
        let out = {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if self.receiver.try_wait()?.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = self.receiver.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let mut s = String::new();
            if let Some(mut o) = self.receiver.stdout.take() {
                std::io::Read::read_to_string(&mut o, &mut s)?;
            }
            s
        };
        serde_json::from_str(out.trim()).with_context(|| format!("probe receiver output: {out:?}"))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        for c in [&mut self.sender, &mut self.receiver] {
            if c.try_wait().ok().flatten().is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// What happens to a router in a failover scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Its LAN bridge port is disabled (STP state "disabled"): it vanishes from the LAN
    /// while its own link stays up, as with a power or switch-port failure.
    Isolated,
    /// Its daemon is SIGKILLed.
    Kill,
    /// Its LAN interface is set down.
    LinkDown,
    /// Its daemon is stopped with SIGTERM (Resign first).
    Graceful,
}

impl Failure {
    pub const ALL: [Failure; 4] = [
        Failure::Isolated,
        Failure::Kill,
        Failure::LinkDown,
        Failure::Graceful,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Failure::Isolated => "isolated",
            Failure::Kill => "sigkill",
            Failure::LinkDown => "link-down",
            Failure::Graceful => "sigterm",
        }
    }
}

impl FromStr for Failure {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Failure> {
        Failure::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .with_context(|| {
                format!("unknown scenario {s} (isolated, sigkill, link-down, sigterm)")
            })
    }
}

/// Disables (`false`) or re-enables router `i`'s LAN bridge port.
pub fn set_switch_port(lab: &Lab, i: usize, forwarding: bool) -> Result<()> {
    // STP port states: 0 disabled, 3 forwarding.
    let state = if forwarding { 3 } else { 0 };
    lab.lan.exec(&format!(
        "bridge link set dev {} state {state}",
        lab.router(i).switch_port
    ))?;
    Ok(())
}

/// Sets router `i`'s LAN interface up or down.
pub fn set_lan_link(lab: &Lab, i: usize, up: bool) -> Result<()> {
    let state = if up { "up" } else { "down" };
    lab.router(i)
        .ns
        .exec(&format!("ip link set {ROUTER_LAN_IF} {state}"))?;
    Ok(())
}

/// The host's view: forget the neighbour entry of the VIP (between runs).
pub fn host_flush_neighbours(lab: &Lab) -> Result<()> {
    if let Some(host) = &lab.host {
        host.exec("ip neigh flush dev hlan0")?;
    }
    Ok(())
}

/// Who is Active in router `i`'s daemon for [`GROUP`] (None: no daemon answering).
pub fn hsrpd_state(lab: &Lab, i: usize) -> Option<hsrp_user::proto::State> {
    lab.group(i, GROUP).map(|g| g.state)
}

/// Waits until router `active` is Active and `standby` Standby (each per its daemon).
pub fn wait_hsrpd_roles(lab: &Lab, active: usize, standby: usize, limit: Duration) -> Result<()> {
    use hsrp_user::proto::State;
    lab::wait_for(limit, || {
        hsrpd_state(lab, active) == Some(State::Active)
            && hsrpd_state(lab, standby) == Some(State::Standby)
    })
    .map(|_| ())
    .with_context(|| {
        format!(
            "r{active} Active and r{standby} Standby not reached within {limit:?}: r{active} {:?}, \
             r{standby} {:?}\nr{active} log:\n{}\nr{standby} log:\n{}",
            hsrpd_state(lab, active),
            hsrpd_state(lab, standby),
            lab.log(active),
            lab.log(standby)
        )
    })
}

/// keepalived (VRRPv3) on the lab's routers: the reference the benchmark compares with.
pub struct Keepalived {
    children: Vec<Option<Child>>,
    dir: PathBuf,
    pub advert: Timers,
    pub use_vmac: bool,
    /// Extra `global_defs` lines ([`Keepalived::config_with`]).
    pub global: String,
    pub bfd: Option<Bfd>,
}

impl Keepalived {
    /// The keepalived configuration of router `i`: r1 priority 110, r2 100 (both preempt,
    /// keepalived's default), VRID 1, the lab's VIP, `advert_int` = the hello.
    ///
    /// With `bfd`, keepalived's own BFD runs between the two routers (each router's
    /// keepalived is the other's BFD partner) and the VRRP instance tracks it. keepalived
    /// has no "master down" event for BFD (keepalived.conf(5): a tracked BFD instance
    /// either faults the VRRP instance or changes its priority), so the closest to HSRP
    /// BFD peering is a reversed weight: while the session to the other router is down,
    /// this router's priority rises by 50 and it becomes MASTER once it no longer hears a
    /// higher priority.
    pub fn config(i: usize, advert: Timers, use_vmac: bool, bfd: Option<Bfd>) -> String {
        Self::config_with(i, advert, use_vmac, "", bfd)
    }

    /// [`Keepalived::config`] with extra `global_defs` lines (e.g. its real-time options).
    pub fn config_with(
        i: usize,
        advert: Timers,
        use_vmac: bool,
        global: &str,
        bfd: Option<Bfd>,
    ) -> String {
        let prio = if i == 1 { 110 } else { 100 };
        let advert_s = f64::from(advert.hello_ms) / 1000.0;
        let vmac = if use_vmac { "    use_vmac\n" } else { "" };
        let (bfd_instance, track) = match bfd {
            None => (String::new(), String::new()),
            Some(b) => {
                let me = 1 + i as u8;
                let peer = if i == 1 { 3 } else { 2 };
                (
                    format!(
                        "bfd_instance peer {{\n    neighbor_ip 10.0.0.{peer}\n    \
                         source_ip 10.0.0.{me}\n    min_rx {ms}\n    min_tx {ms}\n    \
                         multiplier {}\n    vrrp\n}}\n",
                        b.multiplier,
                        ms = b.interval_ms
                    ),
                    "    track_bfd {\n        peer weight 50 reverse\n    }\n".to_string(),
                )
            }
        };
        format!(
            "global_defs {{\n    vrrp_version 3\n    script_user root\n    \
             vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 1\n{global}}}\n{bfd_instance}\
             vrrp_instance lab {{\n    state BACKUP\n    interface {ROUTER_LAN_IF}\n    \
             virtual_router_id 1\n    priority {prio}\n    advert_int {advert_s}\n{vmac}{track}    \
             virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
        )
    }

    /// Starts keepalived on every router of the lab (none must run hsrpd).
    pub fn start(lab: &Lab, advert: Timers, use_vmac: bool) -> Result<Keepalived> {
        Self::start_with(lab, advert, use_vmac, "", None)
    }

    /// [`Keepalived::start`], with keepalived's BFD between the routers when `bfd` is set.
    pub fn start_with_bfd(
        lab: &Lab,
        advert: Timers,
        use_vmac: bool,
        bfd: Option<Bfd>,
    ) -> Result<Keepalived> {
        Self::start_with(lab, advert, use_vmac, "", bfd)
    }

    /// [`Keepalived::start`] with extra `global_defs` lines, and keepalived's BFD when set.
    pub fn start_with(
        lab: &Lab,
        advert: Timers,
        use_vmac: bool,
        global: &str,
        bfd: Option<Bfd>,
    ) -> Result<Keepalived> {
        crate::require_tool("keepalived");
        let dir = lab.dir.join(format!("keepalived-{}", crate::unique("")));
        fs::create_dir_all(&dir)?;
        let mut k = Keepalived {
            children: Vec::new(),
            dir,
            advert,
            use_vmac,
            global: global.to_string(),
            bfd,
        };
        for i in 1..=lab.routers.len() {
            let c = k.spawn(lab, i)?;
            k.children.push(Some(c));
        }
        Ok(k)
    }

    fn spawn(&self, lab: &Lab, i: usize) -> Result<Child> {
        let cfg = self.dir.join(format!("r{i}.conf"));
        fs::write(
            &cfg,
            Self::config_with(i, self.advert, self.use_vmac, &self.global, self.bfd),
        )?;
        let log = fs::File::create(self.dir.join(format!("r{i}.log")))?;
        let p = |s: &str| self.dir.join(format!("r{i}.{s}.pid")).display().to_string();
        // `--vrrp` would leave the BFD process out; without it keepalived starts the
        // subsystems its configuration uses (VRRP, and BFD when configured).
        let only_vrrp = if self.bfd.is_some() {
            "--log-detail"
        } else {
            "--vrrp"
        };
        lab.router(i)
            .ns
            .command("keepalived")
            .args(["--dont-fork", "--log-console", only_vrrp, "--use-file"])
            .arg(&cfg)
            .args(["--pid", &p("main"), "--vrrp_pid", &p("vrrp")])
            .args(["--bfd_pid", &p("bfd"), "--checkers_pid", &p("check")])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning keepalived")
    }

    /// Restarts keepalived on router `i` after a stop.
    pub fn restart(&mut self, lab: &Lab, i: usize) -> Result<()> {
        self.stop(i, libc::SIGTERM);
        let c = self.spawn(lab, i)?;
        self.children[i - 1] = Some(c);
        Ok(())
    }

    /// Sends `signal` to router `i`'s keepalived (the parent process) and waits for it.
    pub fn stop(&mut self, i: usize, signal: i32) {
        if let Some(mut c) = self.children[i - 1].take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, signal) };
            let _ = lab::wait_exit(&mut c, Duration::from_secs(5));
        }
    }

    /// The VRRP state of router `i` as keepalived logged it last ("MASTER", "BACKUP").
    pub fn state(&self, i: usize) -> Option<&'static str> {
        let log = fs::read_to_string(self.dir.join(format!("r{i}.log"))).ok()?;
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("Entering MASTER STATE") || l.contains("Entering BACKUP STATE"))?;
        Some(if line.contains("MASTER") {
            "MASTER"
        } else {
            "BACKUP"
        })
    }

    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("r{i}.log"))).unwrap_or_default()
    }

    /// Waits until r`master` is MASTER and r`backup` BACKUP.
    pub fn wait_roles(&self, master: usize, backup: usize, limit: Duration) -> Result<()> {
        lab::wait_for(limit, || {
            self.state(master) == Some("MASTER") && self.state(backup) == Some("BACKUP")
        })
        .map(|_| ())
        .with_context(|| {
            format!(
                "keepalived: r{master} MASTER / r{backup} BACKUP not reached within {limit:?}\n\
                 r{master}:\n{}\nr{backup}:\n{}",
                self.log(master),
                self.log(backup)
            )
        })
    }

    /// Kills every keepalived and whatever children (the VRRP process) they left in the
    /// router namespaces.
    pub fn stop_all(&mut self, lab: &Lab) {
        for i in 1..=self.children.len() {
            self.stop(i, libc::SIGTERM);
        }
        for r in &lab.routers {
            kill_in_netns(&r.ns, "keepalived");
            let _ = r.ns.exec(&format!(
                "ip addr del {VIP}/24 dev {ROUTER_LAN_IF} 2>/dev/null; true"
            ));
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Kills the processes named `comm` that live in `ns` (by pid, from `ip netns pids`).
pub fn kill_in_netns(ns: &Netns, comm: &str) {
    let Ok(pids) = crate::sh(&format!("ip netns pids {}", ns.name)) else {
        return;
    };
    for pid in pids.split_whitespace() {
        let name = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if name.trim() == comm {
            if let Ok(p) = pid.parse::<i32>() {
                // SAFETY: kill(2) on a pid we just read from this namespace.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_timers_are_accepted_by_the_config_parser_for_every_bench_row() {
        for (timers, hello, hold) in [
            (Timers::ms(1000, 3000), 1000, 3000),
            (Timers::ms(100, 300), 100, 300),
            (Timers::ms(100, 1000), 100, 1000),
            (Timers::ms(15, 50), 15, 50),
        ] {
            let text = format!(
                "interface lan0\n standby version 2\n standby 1 ip 10.0.0.1\n standby 1 {}\n",
                timers.ios()
            );
            let cfg = hsrp_user::config::parse(&text, "t.conf")
                .unwrap_or_else(|e| panic!("{timers}: {e}"));
            let (_, g) = cfg.groups().next().unwrap();
            assert_eq!((g.hello_ms(), g.hold_ms()), (hello, hold), "{timers}");
        }
    }
}
