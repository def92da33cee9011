//! Losing the Active: hold-time takeover (default and msec timers) and Resign.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{GroupConfig, Time, Timers};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// Active (150), Standby (120), Listen (100), converged. Returns (sim, hello, hold).
fn converged(version: Version, timers: Option<Timers>, seed: u64) -> (Sim, Duration, Duration) {
    let mut sim = Sim::new(seed);
    let t = timers.unwrap_or(Timers::DEFAULT);
    for (last, prio) in [(1, 150), (2, 120), (3, 100)] {
        let mut c = GroupConfig::new(5, version);
        c.vip = Some(ip(254));
        c.priority = prio;
        c.timers = timers;
        let r = sim
            .add_router(&format!("r{last}"), ip(last), vec![c])
            .unwrap();
        sim.interface_up(r);
    }
    sim.run_for(t.hold * 8);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Active, State::Standby, State::Listen],
        "not converged with {t:?}"
    );
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    (sim, t.hello, t.hold)
}

/// The time the last copy from `from` reached `to` (no delay in these runs).
fn last_heard(sim: &Sim, from: usize, to: usize) -> Time {
    sim.copies()
        .iter()
        .filter(|c| c.from == from && c.to == to && !c.lost)
        .map(|c| c.sent_at)
        .max()
        .unwrap()
}

fn check_takeover(version: Version, timers: Option<Timers>) {
    for seed in 0..20u64 {
        let (mut sim, hello, hold) = converged(version, timers, seed);
        // Crash the Active at a point between two of its hellos that depends on the seed.
        sim.run_for(hello.mul_f64(seed as f64 / 20.0));
        let died = sim.now();
        sim.crash(0);
        let heard = last_heard(&sim, 0, 1);
        let took_over = sim
            .run_until_cond(hold * 2, |s| s.state(1, 0) == State::Active)
            .unwrap_or_else(|| panic!("{timers:?} seed {seed}: Standby never took over"));
        // Exactly when its Active timer (restarted by the last hello) expires: never earlier.
        assert_eq!(took_over, heard + hold, "{timers:?} seed {seed}");
        assert!(
            took_over.saturating_since(died) <= hold + hello,
            "{timers:?} seed {seed}"
        );
        let t = sim
            .transitions()
            .iter()
            .rev()
            .find(|t| t.router == 1)
            .unwrap();
        assert_eq!((t.from, t.to), (State::Standby, State::Active));
        assert!(t.reason.starts_with("active timer expired"), "{}", t.reason);
        // The third router moves up through Speak to Standby.
        let standby_at = sim
            .run_until_cond(hold * 3, |s| s.state(2, 0) == State::Standby)
            .unwrap_or_else(|| panic!("{timers:?} seed {seed}: third router never Standby"));
        assert!(sim.transitions().iter().any(|t| t.router == 2
            && t.from == State::Speak
            && t.to == State::Standby
            && t.time == standby_at));
        assert!(standby_at.saturating_since(died) <= hold * 2 + hello * 2);
        assert_eq!(sim.actives(5), vec![1]);
        assert_eq!(sim.multi_active(5).1, 0, "never two Actives");
        assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    }
}

#[test]
fn standby_takes_over_after_hold_default_timers() {
    check_takeover(Version::V1, None);
}

#[test]
fn standby_takes_over_after_hold_msec_50_150() {
    check_takeover(Version::V2, Some(Timers::from_millis(50, 150)));
}

#[test]
fn standby_takes_over_after_hold_msec_15_50() {
    check_takeover(Version::V2, Some(Timers::from_millis(15, 50)));
}

#[test]
fn resign_hands_over_in_the_same_instant() {
    for (version, timers) in [
        (Version::V1, None),
        (Version::V2, Some(Timers::from_millis(15, 50))),
    ] {
        let (mut sim, _, _) = converged(version, timers, 1);
        let at = sim.now();
        sim.shutdown(0);
        assert_eq!(sim.state(0, 0), State::Initial);
        // Deliver what is in flight at this same instant, no further.
        sim.run_until(at);
        assert_eq!(sim.now(), at);
        assert_eq!(sim.state(1, 0), State::Active, "{version:?}");
        let resign = sim
            .sent()
            .iter()
            .find(|s| s.router == 0 && s.msg.opcode == Opcode::Resign)
            .unwrap();
        assert_eq!((resign.time, resign.msg.state), (at, State::Active));
        let t = sim
            .transitions()
            .iter()
            .find(|t| t.router == 1 && t.to == State::Active)
            .unwrap();
        assert_eq!(t.time, at);
        assert!(t.reason.contains("resigned"), "{}", t.reason);
        // The new Active announced itself at once.
        assert!(sim
            .gratuitous()
            .iter()
            .any(|g| g.router == 1 && g.time == at));
        assert!(sim
            .sent()
            .iter()
            .any(|s| s.router == 1 && s.time == at && s.from_vmac && s.msg.state == State::Active));
        assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    }
}

#[test]
fn gratuitous_arp_repeated_three_seconds_later() {
    let (mut sim, _, _) = converged(Version::V1, None, 2);
    let at = sim.now();
    sim.shutdown(0);
    sim.run_for(Duration::from_secs(5));
    let times: Vec<Time> = sim
        .gratuitous()
        .iter()
        .filter(|g| g.router == 1)
        .map(|g| g.time)
        .collect();
    assert_eq!(times, vec![at, at + Duration::from_secs(3)]);
}
