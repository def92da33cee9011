//! The lab: a LAN switch (a Linux bridge in its own namespace), N router namespaces each
//! with a veth into it, optionally a `host` on the LAN and a `server` behind an uplink
//! bridge that every router also plugs into; and real `hsrpd` processes on the routers.
//! The [`Lab`] value owns all of it: dropping it kills the daemons and deletes the
//! namespaces, so a failing test leaves nothing behind. The daemon tests, the failover
//! tests and `cargo xtask lab` all build on it.
//!
//! ```text
//!   host (10.0.0.100, gw = VIP 10.0.0.1)
//!     | hlan0 ... ph
//!   [lan: bridge br0]  ports p1..pN, ph
//!     | pI ... lan0
//!   rI (lan0 10.0.0.(1+I)/24, up0 10.1.0.(1+I)/24, forwarding on)
//!     | up0 ... uI
//!   [server: bridge up0 10.1.0.100/24]
//! ```
//! Router I (1-based) is `routers[I-1]`. hsrpd attaches to veth in generic (SKB) mode,
//! whose XDP_TX and redirects reach the peer like any frame. [`LabOptions::xdp_on_switch`]
//! still puts hsrp's own program, with empty maps (which passes everything), on every
//! switch-side end for the tests that want the peers as they were with native mode; the
//! plain lab (`lab_plain`: no peer programs, nothing resolved in advance) is what users run.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{hsrpd_bin, unique, Netns};

/// The LAN: 10.0.0.0/24.
pub const LAN_PREFIX: u8 = 24;
/// The address every example configuration uses as the group's virtual IP.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The host on the LAN.
pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// The server behind the uplink.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 100);
/// Interface names inside the router namespaces.
pub const ROUTER_LAN_IF: &str = "lan0";
pub const ROUTER_UPLINK_IF: &str = "up0";
/// The bridge in the `lan` namespace.
pub const LAN_BRIDGE: &str = "br0";

/// What to build.
#[derive(Clone, Debug)]
pub struct LabOptions {
    pub routers: usize,
    /// A `host` namespace on the LAN whose default gateway is [`VIP`].
    pub host: bool,
    /// A `server` namespace behind an uplink bridge that every router plugs into.
    pub server: bool,
    /// XDP (pass-through) on the switch-side veth ends (needed by native-mode XDP into a
    /// veth; hsrpd's generic mode on veth does not need it: see `lab_plain`).
    pub xdp_on_switch: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            routers: 2,
            host: false,
            server: false,
            xdp_on_switch: false,
        }
    }
}

/// One router namespace.
pub struct Router {
    pub ns: Netns,
    /// 1-based: "r1", "r2", ...
    pub name: String,
    /// Its LAN address (10.0.0.1 + index).
    pub lan_ip: Ipv4Addr,
    /// Its bridge port in the `lan` namespace.
    pub switch_port: String,
    /// Its uplink address, when the lab has a server.
    pub uplink_ip: Option<Ipv4Addr>,
}

/// A running hsrpd.
pub struct Daemon {
    pub child: Child,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

/// A packet capture running in a namespace (tcpdump, unbuffered).
pub struct Capture {
    child: Child,
    pub file: PathBuf,
}

impl Capture {
    /// Stops the capture (SIGINT, so tcpdump flushes) and returns the pcap file.
    pub fn stop(mut self) -> Result<PathBuf> {
        // Let frames in flight reach the capture.
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        wait_exit(&mut self.child, Duration::from_secs(5))?;
        Ok(self.file.clone())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole lab; see the module documentation.
pub struct Lab {
    // Drop order = declaration order: daemons die before their namespaces go.
    daemons: Vec<Option<Daemon>>,
    pub routers: Vec<Router>,
    pub host: Option<Netns>,
    pub server: Option<Netns>,
    pub lan: Netns,
    /// Config files, sockets, logs, captures.
    pub dir: PathBuf,
    /// The hsrpd the lab starts: [`hsrpd_bin`] (debug) unless a benchmark sets a release
    /// build.
    pub hsrpd: PathBuf,
    /// Extra arguments of `hsrpd run` for every daemon the lab starts (e.g. `--realtime`).
    pub hsrpd_args: Vec<String>,
}

impl Lab {
    /// State and priority of router `i`'s first group, from its status (None: no answer).
    pub fn first_group(&self, i: usize) -> Option<(hsrp_user::proto::State, u8)> {
        self.status(i)
            .ok()
            .and_then(|s| s.groups.first().map(|g| (g.state, g.priority)))
    }

    /// Router `i`'s status of group `group` (None: no answer, or no such group).
    pub fn group(&self, i: usize, group: u16) -> Option<hsrp_user::control::GroupStatus> {
        let s = self.status(i).ok()?;
        s.groups.into_iter().find(|g| g.group == group)
    }

    /// Waits up to `limit` until router `i`'s group `group` is in state `want`; returns how
    /// long that took, or panics with its log.
    pub fn wait_group_state(
        &self,
        i: usize,
        group: u16,
        want: hsrp_user::proto::State,
        limit: Duration,
    ) -> Duration {
        let state = || self.group(i, group).map(|g| g.state);
        wait_for(limit, || state() == Some(want)).unwrap_or_else(|| {
            panic!(
                "r{i} grp {group} not {want:?} within {limit:?} (is {:?}):\n{}",
                state(),
                self.log(i)
            )
        })
    }

    /// The MAC address of router `i`'s LAN interface.
    pub fn lan_mac(&self, i: usize) -> Result<[u8; 6]> {
        let text = self
            .router(i)
            .ns
            .exec(&format!("cat /sys/class/net/{ROUTER_LAN_IF}/address"))?;
        hsrp_testkit::frames::parse_mac(&text).with_context(|| format!("r{i}'s MAC: {text:?}"))
    }

    /// Waits up to `limit` until r1's first group has `r1` (state, priority) and r2's is
    /// in state `r2`; returns how long that took, or panics with both logs.
    pub fn expect_roles(
        &self,
        limit: Duration,
        r1: (hsrp_user::proto::State, u8),
        r2: hsrp_user::proto::State,
        what: &str,
    ) -> Duration {
        wait_for(limit, || {
            self.first_group(1) == Some(r1) && self.first_group(2).map(|g| g.0) == Some(r2)
        })
        .unwrap_or_else(|| {
            panic!(
                "{what}: want r1 {r1:?}, r2 {r2:?}; have r1 {:?}, r2 {:?}\nr1 log:\n{}\nr2 log:\n{}",
                self.first_group(1),
                self.first_group(2),
                self.log(1),
                self.log(2)
            )
        })
    }

    /// Builds the topology. Fails (never skips) when not root or a tool is missing.
    pub fn new(opts: LabOptions) -> Result<Lab> {
        crate::require_root();
        if opts.routers == 0 || opts.routers > 50 {
            bail!("a lab has 1-50 routers, not {}", opts.routers);
        }
        let dir = std::env::temp_dir().join(format!("hsrpt-lab-{}", unique("")));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let lan = Netns::new("lan")?;
        lan.exec(&format!(
            "ip link add {LAN_BRIDGE} type bridge forward_delay 0 mcast_snooping 0 && \
             ip link set {LAN_BRIDGE} up"
        ))?;
        // The guard exists from here on: an error below still cleans up.
        let mut lab = Lab {
            daemons: Vec::new(),
            routers: Vec::new(),
            host: None,
            server: None,
            lan,
            dir,
            hsrpd: hsrpd_bin(),
            hsrpd_args: Vec::new(),
        };
        if opts.server {
            let server = Netns::new("srv")?;
            server.exec(&format!(
                "ip link add up0 type bridge forward_delay 0 && ip link set up0 up && \
                 ip addr add {SERVER_IP}/24 dev up0"
            ))?;
            lab.server = Some(server);
        }
        for i in 1..=opts.routers {
            let ns = Netns::new(&format!("r{i}"))?;
            let port = format!("p{i}");
            let lan_ip = Ipv4Addr::new(10, 0, 0, 1 + i as u8);
            veth_between(&ns, ROUTER_LAN_IF, &lab.lan, &port)?;
            lab.lan
                .exec(&format!("ip link set {port} master {LAN_BRIDGE}"))?;
            ns.exec(&format!(
                "ip addr add {lan_ip}/{LAN_PREFIX} dev {ROUTER_LAN_IF} && \
                 sysctl -qw net.ipv4.ip_forward=1"
            ))?;
            let mut uplink_ip = None;
            if let Some(server) = &lab.server {
                let up = Ipv4Addr::new(10, 1, 0, 1 + i as u8);
                let sport = format!("u{i}");
                veth_between(&ns, ROUTER_UPLINK_IF, server, &sport)?;
                server.exec(&format!("ip link set {sport} master up0"))?;
                ns.exec(&format!("ip addr add {up}/24 dev {ROUTER_UPLINK_IF}"))?;
                uplink_ip = Some(up);
            }
            lab.routers.push(Router {
                ns,
                name: format!("r{i}"),
                lan_ip,
                switch_port: port,
                uplink_ip,
            });
            lab.daemons.push(None);
        }
        if opts.host {
            let host = Netns::new("host")?;
            veth_between(&host, "hlan0", &lab.lan, "ph")?;
            lab.lan
                .exec(&format!("ip link set ph master {LAN_BRIDGE}"))?;
            host.exec(&format!(
                "ip addr add {HOST_IP}/{LAN_PREFIX} dev hlan0 && ip route add default via {VIP}"
            ))?;
            lab.host = Some(host);
        }
        if let (Some(server), Some(r1)) = (&lab.server, lab.routers.first()) {
            // Replies go back through router 1 unless a test says otherwise.
            let via = r1
                .uplink_ip
                .expect("routers have uplinks when there is a server");
            server.exec(&format!("ip route add 10.0.0.0/24 via {via}"))?;
        }
        if opts.xdp_on_switch {
            lab.xdp_on_switch_ports()?;
        }
        Ok(lab)
    }

    /// Attaches the pass-through XDP program to every switch-side veth end (the LAN
    /// bridge ports and the uplink bridge ports).
    pub fn xdp_on_switch_ports(&self) -> Result<()> {
        let bin = hsrpd_bin();
        let mut ports: Vec<(&Netns, String)> = self
            .routers
            .iter()
            .map(|r| (&self.lan, r.switch_port.clone()))
            .collect();
        if self.host.is_some() {
            ports.push((&self.lan, "ph".into()));
        }
        if let Some(server) = &self.server {
            for i in 1..=self.routers.len() {
                ports.push((server, format!("u{i}")));
            }
        }
        for (ns, port) in ports {
            ns.exec(&format!("{} load --iface {port} >/dev/null", bin.display()))
                .with_context(|| format!("XDP pass-through on {port}"))?;
        }
        Ok(())
    }

    /// Router `i` (1-based).
    pub fn router(&self, i: usize) -> &Router {
        &self.routers[i - 1]
    }

    /// Writes `config` for router `i` and starts `hsrpd run` there; returns once its status
    /// socket answers (at most 10 s). The daemon logs at `RUST_LOG` (default info) into
    /// [`Lab::log`].
    pub fn start_hsrpd(&mut self, i: usize, config: &str) -> Result<()> {
        if self.daemons[i - 1].is_some() {
            bail!("hsrpd already runs on r{i}");
        }
        let d = self.spawn_hsrpd(i, config)?;
        self.daemons[i - 1] = Some(d);
        let socket = self.socket(i);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if hsrp_user::control::query(&socket).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.daemons[i - 1]
                .as_mut()
                .and_then(|d| d.child.try_wait().ok().flatten())
            {
                let log = self.log(i);
                self.daemons[i - 1] = None;
                bail!("hsrpd on r{i} exited at start ({status}); its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "hsrpd on r{i} did not answer on {} within 10 s; log:\n{}",
            socket.display(),
            self.log(i)
        )
    }

    /// Starts hsrpd on router `i` without waiting for it, returning its process (for tests
    /// that expect it to refuse to start).
    pub fn spawn_hsrpd(&self, i: usize, config: &str) -> Result<Daemon> {
        let r = self.router(i);
        let cfg_path = self.dir.join(format!("{}.conf", r.name));
        fs::write(&cfg_path, config).with_context(|| format!("writing {}", cfg_path.display()))?;
        let socket = self.socket(i);
        let log = self.dir.join(format!("{}.log", r.name));
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut cmd = r.ns.command(&self.hsrpd.display().to_string());
        cmd.args(["run", "-c"])
            .arg(&cfg_path)
            .arg("--socket")
            .arg(&socket)
            .args(&self.hsrpd_args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = cmd.spawn().context("spawning hsrpd")?;
        Ok(Daemon {
            child,
            config: cfg_path,
            socket,
            log,
        })
    }

    /// The status socket of router `i`'s daemon.
    pub fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("r{i}.sock"))
    }

    /// Everything router `i`'s daemon logged so far.
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("r{i}.log"))).unwrap_or_default()
    }

    /// The running daemon of router `i`.
    pub fn daemon(&self, i: usize) -> Option<&Daemon> {
        self.daemons[i - 1].as_ref()
    }

    /// Router `i`'s daemon's status (what `hsrpd status --json` prints).
    pub fn status(&self, i: usize) -> Result<hsrp_user::control::Snapshot> {
        hsrp_user::control::query(&self.socket(i))
    }

    /// Sends `signal` to router `i`'s daemon.
    pub fn signal(&self, i: usize, signal: i32) -> Result<()> {
        let d = self.daemons[i - 1]
            .as_ref()
            .with_context(|| format!("no hsrpd on r{i}"))?;
        // SAFETY: kill(2) on our own child's pid.
        if unsafe { libc::kill(d.pid(), signal) } != 0 {
            bail!("kill r{i}: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends `signal` and waits (at most `limit`) for the daemon to exit; returns its
    /// exit status and forgets it.
    pub fn stop_hsrpd(
        &mut self,
        i: usize,
        signal: i32,
        limit: Duration,
    ) -> Result<std::process::ExitStatus> {
        self.signal(i, signal)?;
        let mut d = self.daemons[i - 1].take().expect("checked by signal()");
        wait_exit(&mut d.child, limit).with_context(|| format!("hsrpd on r{i}"))
    }

    /// Starts tcpdump on `iface` in the `lan` namespace (default: the bridge, which sees
    /// every frame on the LAN while tcpdump holds it in promiscuous mode). Returns once
    /// tcpdump is listening.
    pub fn capture(&self, tag: &str) -> Result<Capture> {
        self.capture_in(&self.lan, LAN_BRIDGE, tag)
    }

    /// tcpdump on `iface` in `ns`, into `<lab dir>/<tag>.pcap`.
    pub fn capture_in(&self, ns: &Netns, iface: &str, tag: &str) -> Result<Capture> {
        self.capture_filtered(ns, iface, tag, &[])
    }

    /// [`Lab::capture_in`] with a tcpdump filter expression (as separate words), e.g.
    /// only the control plane while a traffic flood crosses the same interface.
    pub fn capture_filtered(
        &self,
        ns: &Netns,
        iface: &str,
        tag: &str,
        filter: &[&str],
    ) -> Result<Capture> {
        crate::require_tool("tcpdump");
        let file = self.dir.join(format!("{tag}.pcap"));
        let err = self.dir.join(format!("{tag}.tcpdump.log"));
        let mut child = ns
            .command("tcpdump")
            .args(["-i", iface, "-U", "--immediate-mode", "-s", "256", "-w"])
            .arg(&file)
            .args(filter)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err)?)
            .spawn()
            .context("spawning tcpdump")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = fs::read_to_string(&err).unwrap_or_default();
            if text.contains("listening on") {
                return Ok(Capture { child, file });
            }
            if let Some(status) = child.try_wait()? {
                bail!("tcpdump exited ({status}): {text}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("tcpdump did not start within 5 s: {text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `bpftool map dump pinned /sys/fs/bpf/hsrpd/<map>` inside router `i` (JSON text).
    pub fn map_dump(&self, i: usize, map: &str) -> Result<String> {
        crate::require_tool("bpftool");
        self.router(i).ns.exec(&format!(
            "bpftool -j map dump pinned /sys/fs/bpf/hsrpd/{map}"
        ))
    }
}

impl Lab {
    /// Router `i`'s HSRP_VMAC entry for `vmac` as the kernel holds it (read with
    /// bpftool): `Some(active)`, or `None` when the table has no such entry.
    pub fn vmac_active(&self, i: usize, vmac: [u8; 6]) -> Result<Option<bool>> {
        let want: Vec<serde_json::Value> = vmac.iter().map(|b| (*b).into()).collect();
        for e in self.vmac_entries(i)? {
            if e["mac"].as_array() == Some(&want) {
                let active = e["value"]["active"]
                    .as_u64()
                    .with_context(|| format!("no `active` in {e}"))?;
                return Ok(Some(active != 0));
            }
        }
        Ok(None)
    }

    /// The used elements of router `i`'s HSRP_VMAC (a direct-mapped array: the rest are
    /// free or tombstones), as bpftool formats them: `{ifindex, mac, value: {..}}`.
    pub fn vmac_entries(&self, i: usize) -> Result<Vec<serde_json::Value>> {
        let dump = self.map_dump(i, "HSRP_VMAC")?;
        let entries: serde_json::Value =
            serde_json::from_str(&dump).with_context(|| format!("bpftool output: {dump}"))?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["formatted"]["value"].clone())
            .filter(|v| {
                let ifindex = v["ifindex"].as_u64().unwrap_or(0);
                ifindex != 0 && ifindex != u64::from(hsrp_ebpf::VMAC_TOMBSTONE)
            })
            .collect())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for d in self.daemons.iter_mut().flatten() {
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
        self.daemons.clear();
        if std::env::var_os("HSRPT_KEEP_LOGS").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A veth pair with end `a` (in `ns_a`) and end `b` (in `ns_b`), both up. Created
/// directly in the namespaces, so the same names can repeat across labs.
pub fn veth_between(ns_a: &Netns, a: &str, ns_b: &Netns, b: &str) -> Result<()> {
    crate::sh(&format!(
        "ip link add {a} netns {} type veth peer name {b} netns {}",
        ns_a.name, ns_b.name
    ))?;
    ns_a.exec(&format!("ip link set {a} up"))?;
    ns_b.exec(&format!("ip link set {b} up"))?;
    Ok(())
}

/// Waits for a child to exit, killing it after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `cond` every 5 ms until it holds (returns the time it took) or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A minimal hsrpd configuration for the lab's LAN interface: one group per
/// `(group, vip, priority, preempt)`, with `extra` lines appended to each group (timers,
/// authentication, tracking, ...).
pub fn router_config(version: u8, groups: &[(u16, Ipv4Addr, u8, bool)], extra: &str) -> String {
    let mut c = format!("interface {ROUTER_LAN_IF}\n standby version {version}\n");
    for (g, vip, prio, preempt) in groups {
        c.push_str(&format!(
            " standby {g} ip {vip}\n standby {g} priority {prio}\n"
        ));
        if *preempt {
            c.push_str(&format!(" standby {g} preempt\n"));
        }
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            c.push_str(&format!(" standby {g} {}\n", line.trim()));
        }
    }
    c
}

/// The frames of a capture as tshark sees them: one line per frame with the given fields
/// (`-T fields -E separator=|`), optionally filtered.
pub fn tshark_fields(pcap: &Path, filter: &str, fields: &[&str]) -> Result<Vec<String>> {
    crate::require_tool("tshark");
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=|"]);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().context("running tshark")?;
    if !out.status.success() {
        bail!("tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect())
}

/// Frames of a capture that tshark finds malformed or flags with an expert item of
/// severity warning or error (one line each: number, protocols, expert message).
pub fn tshark_problems(pcap: &Path) -> Result<Vec<String>> {
    // Expert severities: chat 0x200000, note 0x400000, warning 0x600000, error 0x800000.
    tshark_fields(
        pcap,
        "_ws.malformed || _ws.expert.severity >= 0x600000",
        &["frame.number", "frame.protocols", "_ws.expert.message"],
    )
}

/// Router `i`'s first group state, as its status socket reports it (`None` while it does
/// not answer).
pub fn group_state(lab: &Lab, i: usize) -> Option<hsrp_user::proto::State> {
    lab.status(i)
        .ok()
        .and_then(|s| s.groups.first().map(|g| g.state))
}

/// Wall-clock seconds, comparable with tshark's `frame.time_epoch`.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// r1 (priority 150, preempt) Active and r2 (100) Standby in one v2 group on `VIP` with the
/// given IOS `timers …` line, a capture on the LAN running from the start.
pub fn elected_pair(timers: &str) -> Result<(Lab, Capture)> {
    use hsrp_user::proto::State;
    let mut lab = Lab::new(LabOptions::default()).context("building the lab")?;
    let cap = lab.capture("lan")?;
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 150, true)], timers))?;
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], timers))?;
    let ok = wait_for(Duration::from_secs(3), || {
        group_state(&lab, 1) == Some(State::Active) && group_state(&lab, 2) == Some(State::Standby)
    });
    if ok.is_none() {
        bail!("no election:\nr1:\n{}\nr2:\n{}", lab.log(1), lab.log(2));
    }
    Ok((lab, cap))
}
