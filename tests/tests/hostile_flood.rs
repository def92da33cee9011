//! A control-plane flood from a rogue host — HSRP-looking junk and valid
//! Hellos for groups the routers do not run — at 100 000+ frames/s into the LAN during a
//! steady state with 100/300 ms timers. Asserted: no state change on either router; in each
//! router's XDP program the junk that fails the cheap checks is counted as malformed, the
//! rest passes only up to the per-source budget hsrpd sets (2000/s, burst 500) and the
//! excess is counted as rate limited; hsrpd's CPU use stays bounded. Figures are printed.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use hsrp_tests::lab::{router_config, Lab, LabOptions, VIP};
use hsrp_tests::lab_traffic::{wait_hsrpd_roles, Timers, GROUP};
use hsrp_tests::require_root;
use hsrp_tests::rogue::{frame_for_payload, Rogue};
use hsrp_user::control::GroupStatus;
use hsrp_user::proto::{Auth, GroupMessage, Opcode, State, Version};

const TIMERS: Timers = Timers::ms(100, 300);
const FLOOD: Duration = Duration::from_secs(10);
const MIN_PPS: f64 = 100_000.0;
/// What hsrpd configures (daemon/startup.rs): per source, sustained and burst.
const BUDGET_PPS: f64 = 2000.0;
const BUDGET_BURST: f64 = 500.0;
/// hsrpd's share of one core during the flood must stay under this.
const MAX_CPU: f64 = 0.25;

fn group(lab: &Lab, i: usize) -> GroupStatus {
    let s = lab.status(i).expect("hsrpd status");
    s.groups
        .into_iter()
        .find(|g| g.group == GROUP)
        .expect("group 1 in status")
}

/// XDP control counters of router `i`: (passed, malformed, rate limited), summed over CPUs
/// and slots from the pinned HSRP_STATS map.
fn control_counters(lab: &Lab, i: usize) -> (u64, u64, u64) {
    let dump = lab.map_dump(i, "HSRP_STATS").expect("HSRP_STATS dump");
    let v: serde_json::Value = serde_json::from_str(&dump).expect("bpftool json");
    let mut sums = (0, 0, 0);
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
    // bpftool prints both "values" and "formatted": count one of them.
    for e in v.as_array().expect("array") {
        walk(&e["formatted"], &mut sums);
    }
    sums
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

/// The flood mix: (frames, how many of them the XDP sanity checks reject).
fn flood_frames(rogue: &Rogue) -> (Vec<Vec<u8>>, usize) {
    let src = IpAddr::V4(rogue.ip);
    let mut frames = Vec::new();
    // 1. Junk the XDP program rejects: not a TLV type 1/2 first, and a v1 of a wrong length.
    frames.push(frame_for_payload(rogue.mac, src, &[9u8; 44]).unwrap());
    // A v1 Hello (version 0, opcode 0) of 33 bytes, a length no real router sends.
    frames.push(frame_for_payload(rogue.mac, src, &[0u8; 33]).unwrap());
    let rejected = frames.len();
    // 2. HSRP-looking junk that passes XDP: a Group State TLV header with garbage inside.
    let mut junk = vec![0xeeu8; 42];
    junk[..3].copy_from_slice(&[1, 40, 2]);
    frames.push(frame_for_payload(rogue.mac, src, &junk).unwrap());
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
        frames.push(
            rogue
                .hsrp_frame(&m, &Auth::DefaultText, rogue.mac, src)
                .unwrap(),
        );
    }
    (frames, rejected)
}

#[test]
fn flood_of_junk_and_foreign_hellos_changes_nothing() {
    require_root();
    hsrp_tests::require_tool("bpftool");
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    for (i, prio) in [(1usize, 110u8), (2, 100)] {
        lab.start_hsrpd(
            i,
            &router_config(2, &[(GROUP, VIP, prio, true)], &TIMERS.ios()),
        )
        .expect("starting hsrpd");
    }
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5)).unwrap();
    let rogue = Rogue::join(&lab).expect("rogue host");
    let (frames, rejected) = flood_frames(&rogue);

    let pids = [lab.daemon(1).unwrap().pid(), lab.daemon(2).unwrap().pid()];
    // Baseline: 3 s of steady state.
    let base_cpu0 = pids.map(cpu_seconds);
    std::thread::sleep(Duration::from_secs(3));
    let base_cpu = [0, 1].map(|k| (cpu_seconds(pids[k]) - base_cpu0[k]) / 3.0);

    let before = [group(&lab, 1), group(&lab, 2)];
    let ctr0 = [control_counters(&lab, 1), control_counters(&lab, 2)];
    let cpu0 = pids.map(cpu_seconds);
    let started = Instant::now();
    let flood = rogue.flood(&frames, FLOOD).expect("flood");
    let wall = started.elapsed().as_secs_f64();
    let cpu = [0, 1].map(|k| (cpu_seconds(pids[k]) - cpu0[k]) / wall);
    std::thread::sleep(Duration::from_millis(500));
    let ctr1 = [control_counters(&lab, 1), control_counters(&lab, 2)];
    let after = [group(&lab, 1), group(&lab, 2)];

    eprintln!(
        "flood: {} frames in {:.2} s = {:.0} frames/s ({} refused by the socket), {} kinds, \
         {rejected} of them junk XDP rejects",
        flood.sent,
        flood.elapsed.as_secs_f64(),
        flood.pps(),
        flood.failed,
        frames.len()
    );
    let junk_share = rejected as f64 / frames.len() as f64;
    for k in 0..2 {
        let (p, m, r) = (
            ctr1[k].0 - ctr0[k].0,
            ctr1[k].1 - ctr0[k].1,
            ctr1[k].2 - ctr0[k].2,
        );
        let seen = p + m + r;
        // Own-group hellos from the other router: ~11/s; the rest of `passed` is the rogue.
        let legit = wall * 1000.0 / f64::from(TIMERS.hello_ms) * 1.3;
        // 2 % for the bucket's races between CPUs (control.rs: "a packet or two").
        let budget = (BUDGET_PPS * wall + BUDGET_BURST) * 1.02 + legit;
        eprintln!(
            "r{}: XDP saw {seen} control frames ({:.0}/s, {:.1} % of those sent): passed {p} \
             ({:.0}/s, budget {:.0}), malformed {m}, rate limited {r}; hsrpd CPU {:.1} % of a \
             core (idle {:.2} %); state changes {} -> {}",
            k + 1,
            seen as f64 / wall,
            seen as f64 * 100.0 / flood.sent as f64,
            p as f64 / wall,
            budget,
            cpu[k] * 100.0,
            base_cpu[k] * 100.0,
            before[k].state_changes,
            after[k].state_changes
        );
        assert_eq!(
            after[k].state_changes,
            before[k].state_changes,
            "r{}: {}",
            k + 1,
            after[k].last_change_reason
        );
        assert!(
            seen as f64 >= 0.9 * flood.sent as f64,
            "r{}: only {seen} of {} frames reached XDP",
            k + 1,
            flood.sent
        );
        assert!(
            (p as f64) <= budget,
            "r{}: {p} passed, budget {budget}",
            k + 1
        );
        // Malformed: the junk share of what arrived (the mix is sent round-robin).
        let m_share = m as f64 / seen as f64;
        assert!(
            (m_share - junk_share).abs() < 0.02,
            "r{}: malformed share {m_share}, sent {junk_share}",
            k + 1
        );
        // Everything else beyond the budget was dropped by the rate limiter.
        let sane = seen - m;
        assert!(
            r as f64 >= sane as f64 - budget,
            "r{}: rate limited {r} of {sane} sane frames",
            k + 1
        );
        assert!(
            cpu[k] < MAX_CPU,
            "r{}: hsrpd CPU {:.1} %",
            k + 1,
            cpu[k] * 100.0
        );
    }
    assert!(
        flood.pps() >= MIN_PPS,
        "flood only {:.0} frames/s",
        flood.pps()
    );
    assert_eq!(after[0].state, State::Active);
    assert_eq!(after[1].state, State::Standby);
}
