//! The control-plane flood scenario, shared by the test (`tests/hostile_flood.rs`, which
//! asserts what hsrpd guarantees) and the benchmark (`hsrp-lab flood`, behind `cargo xtask
//! bench flood`, which prints the rates): two routers elected with 100/300 ms timers, a
//! rogue host on the LAN sending HSRP-looking junk and valid Hellos for groups the routers
//! do not run as fast as its socket takes them, and per router the XDP control counters,
//! hsrpd's CPU use (against the same router's idle use measured just before) and the
//! group's state around it.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hsrp_user::control::GroupStatus;
use hsrp_user::proto::{Auth, GroupMessage, Opcode, State, Version};

use crate::lab::{Lab, LabOptions};
use crate::lab_traffic::{start_elected, Timers, GROUP};
use crate::rogue::{frame_for_payload, Flood, Rogue};

pub const TIMERS: Timers = Timers::ms(100, 300);
/// What hsrpd configures for the XDP control-plane limiter (daemon/startup.rs): per
/// source, sustained and burst.
pub const BUDGET_PPS: f64 = 2000.0;
pub const BUDGET_BURST: f64 = 500.0;

/// One router's view of the flood.
#[derive(Clone, Debug)]
pub struct RouterUnderFlood {
    /// XDP control counters over the flood: passed to hsrpd, malformed, rate limited.
    pub passed: u64,
    pub malformed: u64,
    pub rate_limited: u64,
    /// hsrpd's CPU use (share of one core) during the flood, and while idle before it.
    pub cpu: f64,
    pub idle_cpu: f64,
    pub before: GroupStatus,
    pub after: GroupStatus,
}

impl RouterUnderFlood {
    /// Every control frame the XDP program saw during the flood.
    pub fn seen(&self) -> u64 {
        self.passed + self.malformed + self.rate_limited
    }
}

/// What one flood did.
pub struct FloodRun {
    pub flood: Flood,
    /// Wall time of the flood, as the CPU shares are computed over it.
    pub wall: f64,
    /// How many kinds of frame were sent round-robin, and how many of them are junk the
    /// XDP sanity checks reject.
    pub kinds: usize,
    pub rejected_kinds: usize,
    /// r1 (Active) and r2 (Standby).
    pub routers: [RouterUnderFlood; 2],
    // Last: torn down after the figures are taken.
    _rogue: Rogue,
    _lab: Lab,
}

impl FloodRun {
    /// The share of the flood the XDP program must count as malformed.
    pub fn junk_share(&self) -> f64 {
        self.rejected_kinds as f64 / self.kinds as f64
    }

    /// The most hsrpd may have been passed in the flood: the limiter's budget over the
    /// flood's wall time (2 % for the bucket's races between CPUs: "a packet or two" per
    /// refill, see hsrp-ebpf's control.rs), plus the other router's own hellos (with 30 %
    /// for the jitter that shortens intervals).
    pub fn pass_budget(&self) -> f64 {
        let legit = self.wall * 1000.0 / f64::from(TIMERS.hello_ms) * 1.3;
        (BUDGET_PPS * self.wall + BUDGET_BURST) * 1.02 + legit
    }
}

fn group(lab: &Lab, i: usize) -> Result<GroupStatus> {
    lab.status(i)?
        .groups
        .into_iter()
        .find(|g| g.group == GROUP)
        .context("group 1 in status")
}

/// XDP control counters of router `i`: (passed, malformed, rate limited), summed over CPUs
/// and slots from the pinned HSRP_STATS map.
pub fn control_counters(lab: &Lab, i: usize) -> Result<(u64, u64, u64)> {
    let dump = lab.map_dump(i, "HSRP_STATS")?;
    let v: serde_json::Value = serde_json::from_str(&dump).context("bpftool json")?;
    fn walk(v: &serde_json::Value, sums: &mut (u64, u64, u64)) {
        match v {
            serde_json::Value::Object(m) if m.contains_key("control_rate_limited") => {
                sums.0 += m["control_passed"].as_u64().unwrap_or(0);
                sums.1 += m["control_malformed"].as_u64().unwrap_or(0);
                sums.2 += m["control_rate_limited"].as_u64().unwrap_or(0);
            }
            serde_json::Value::Object(m) => m.values().for_each(|x| walk(x, sums)),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, sums)),
            _ => {}
        }
    }
    let mut sums = (0, 0, 0);
    // bpftool prints both "values" and "formatted": count one of them.
    for e in v.as_array().context("bpftool: an array")? {
        walk(&e["formatted"], &mut sums);
    }
    Ok(sums)
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: i32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("proc stat")?;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 2..))
        .context("proc stat format")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() < 13 {
        bail!("proc stat: {} fields", f.len());
    }
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks as f64 / hz)
}

/// The flood mix: (frames, how many of them the XDP sanity checks reject).
fn flood_frames(rogue: &Rogue) -> Result<(Vec<Vec<u8>>, usize)> {
    let src = IpAddr::V4(rogue.ip);
    let mut frames = Vec::new();
    // 1. Junk the XDP program rejects: not a TLV type 1/2 first, and a v1 of a wrong length.
    frames.push(frame_for_payload(rogue.mac, src, &[9u8; 44])?);
    // A v1 Hello (version 0, opcode 0) of 33 bytes, a length no real router sends.
    frames.push(frame_for_payload(rogue.mac, src, &[0u8; 33])?);
    let rejected = frames.len();
    // 2. HSRP-looking junk that passes XDP: a Group State TLV header with garbage inside.
    let mut junk = vec![0xeeu8; 42];
    junk[..3].copy_from_slice(&[1, 40, 2]);
    frames.push(frame_for_payload(rogue.mac, src, &junk)?);
    // 3. Valid Hellos for foreign groups (v2 and v1), priority 255, claiming Active.
    for (version, g) in [(Version::V2, 77u16), (Version::V2, 4000), (Version::V1, 9)] {
        let vip = Ipv4Addr::new(10, 0, 0, 200 + (g % 50) as u8);
        let m = GroupMessage {
            version,
            opcode: Opcode::Hello,
            state: State::Active,
            group: g,
            priority: 255,
            hello_ms: TIMERS.hello_ms,
            hold_ms: TIMERS.hold_ms,
            vip: Some(IpAddr::V4(vip)),
            identifier: (version == Version::V2).then_some(rogue.mac),
        };
        frames.push(rogue.hsrp_frame(&m, &Auth::DefaultText, rogue.mac, src)?);
    }
    Ok((frames, rejected))
}

/// Builds the lab, elects r1 Active and r2 Standby, measures 3 s of idle CPU, floods for
/// `duration` and takes the figures (counters 500 ms after the flood, so per-CPU updates
/// have landed).
pub fn run(duration: Duration) -> Result<FloodRun> {
    let mut lab = Lab::new(LabOptions::default()).context("building the lab")?;
    start_elected(&mut lab, TIMERS, "")?;
    let rogue = Rogue::join(&lab).context("rogue host")?;
    let (frames, rejected) = flood_frames(&rogue)?;
    let pid = |i| lab.daemon(i).map(|d| d.pid()).context("hsrpd runs");
    let pids = [pid(1)?, pid(2)?];

    let idle0 = [cpu_seconds(pids[0])?, cpu_seconds(pids[1])?];
    std::thread::sleep(Duration::from_secs(3));
    let idle_cpu = [0, 1].map(|k| cpu_seconds(pids[k]).map(|c| (c - idle0[k]) / 3.0));

    let before = [group(&lab, 1)?, group(&lab, 2)?];
    let ctr0 = [control_counters(&lab, 1)?, control_counters(&lab, 2)?];
    let cpu0 = [cpu_seconds(pids[0])?, cpu_seconds(pids[1])?];
    let started = Instant::now();
    let flood = rogue.flood(&frames, duration)?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = [0, 1].map(|k| cpu_seconds(pids[k]).map(|c| (c - cpu0[k]) / wall));
    std::thread::sleep(Duration::from_millis(500));
    let ctr1 = [control_counters(&lab, 1)?, control_counters(&lab, 2)?];
    let after = [group(&lab, 1)?, group(&lab, 2)?];

    let [b0, b1] = before;
    let [a0, a1] = after;
    let [c0, c1] = cpu;
    let [i0, i1] = idle_cpu;
    let router = |k: usize, before, after, cpu, idle_cpu| RouterUnderFlood {
        passed: ctr1[k].0 - ctr0[k].0,
        malformed: ctr1[k].1 - ctr0[k].1,
        rate_limited: ctr1[k].2 - ctr0[k].2,
        cpu,
        idle_cpu,
        before,
        after,
    };
    Ok(FloodRun {
        flood,
        wall,
        kinds: frames.len(),
        rejected_kinds: rejected,
        routers: [router(0, b0, a0, c0?, i0?), router(1, b1, a1, c1?, i1?)],
        _rogue: rogue,
        _lab: lab,
    })
}

/// One line per router with the figures, as the test and the benchmark print them.
pub fn report(run: &FloodRun) -> Vec<String> {
    let mut lines = vec![format!(
        "flood: {} frames in {:.2} s = {:.0} frames/s ({} refused by the socket), {} kinds, {} \
         of them junk XDP rejects",
        run.flood.sent,
        run.flood.elapsed.as_secs_f64(),
        run.flood.pps(),
        run.flood.failed,
        run.kinds,
        run.rejected_kinds
    )];
    for (k, r) in run.routers.iter().enumerate() {
        lines.push(format!(
            "r{}: XDP saw {} control frames ({:.0}/s, {:.1} % of those sent): passed {} ({:.0}/s, \
             budget {:.0}), malformed {}, rate limited {}; hsrpd CPU {:.1} % of a core (idle \
             {:.2} %); state changes {} -> {}",
            k + 1,
            r.seen(),
            r.seen() as f64 / run.wall,
            r.seen() as f64 * 100.0 / run.flood.sent.max(1) as f64,
            r.passed,
            r.passed as f64 / run.wall,
            run.pass_budget(),
            r.malformed,
            r.rate_limited,
            r.cpu * 100.0,
            r.idle_cpu * 100.0,
            r.before.state_changes,
            r.after.state_changes
        ));
    }
    lines
}
