//! Graceful hand-over ("draining") and the Router Advertisements of IPv6 groups, as the
//! state machines decide them, on the simulated LAN.
//!
//! Loss is judged with a model of the switch and the data planes built from the actions
//! the groups returned: a frame to the vMAC at time t goes to the router the switch last
//! saw the vMAC from (a gratuitous ARP/NA or a hello sent from the vMAC, once delivered),
//! and is lost if that router's data plane is not forwarding at t.

use std::net::IpAddr;
use std::time::Duration;

use hsrp_user::fsm::{Action, Event, GroupConfig, Preempt, RaAction, Time, DRAIN_GRACE};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::{RouterId, Sim};

const DELAY: Duration = Duration::from_millis(1);

fn cfg(vip: &str, priority: u8) -> GroupConfig {
    let mut c = GroupConfig::new(7, Version::V2);
    c.vip = Some(vip.parse().unwrap());
    c.priority = priority;
    c.preempt = Some(Preempt::default());
    c
}

/// r0 (priority 110) Active, r1 (100) Standby, settled.
fn pair(local: [&str; 2], vip: &str) -> Sim {
    let mut sim = Sim::new(21);
    sim.set_delay(DELAY);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    sim.add_router("r0", ip(local[0]), vec![cfg(vip, 110)])
        .unwrap();
    sim.add_router("r1", ip(local[1]), vec![cfg(vip, 100)])
        .unwrap();
    sim.interface_up(0);
    sim.interface_up(1);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Active, State::Standby]
    );
    sim
}

/// Frames to the vMAC every 100 µs over `[from, from + span)` that reach a router not
/// forwarding them.
fn lost_frames(sim: &Sim, from: Time, span: Duration) -> Vec<Time> {
    // (time, change): the switch port of the vMAC, or a router's data plane.
    enum Change {
        Port(RouterId),
        Forwarding(RouterId, bool),
    }
    let mut changes: Vec<(Time, Change)> = Vec::new();
    for d in sim.done() {
        match &d.action {
            Action::SetActive { active, .. } => {
                changes.push((d.time, Change::Forwarding(d.router, *active)))
            }
            Action::SendGratuitous { .. }
            | Action::Send {
                from_vmac: true, ..
            } => changes.push((d.time + DELAY, Change::Port(d.router))),
            _ => {}
        }
    }
    changes.sort_by_key(|(t, _)| *t);
    let mut port = None;
    let mut forwarding = [false; 2];
    let mut next = 0;
    let mut lost = Vec::new();
    let step = Duration::from_micros(100);
    let mut t = from;
    while t < from + span {
        while next < changes.len() && changes[next].0 <= t {
            match changes[next].1 {
                Change::Port(r) => port = Some(r),
                Change::Forwarding(r, on) => forwarding[r] = on,
            }
            next += 1;
        }
        if !port.is_some_and(|r| forwarding[r]) {
            lost.push(t);
        }
        t += step;
    }
    lost
}

#[test]
fn a_graceful_stop_hands_over_without_losing_a_frame() {
    let mut sim = pair(["10.7.0.1", "10.7.0.2"], "10.7.0.254");
    let stop = sim.now();
    sim.hand_over(0);
    assert!(
        sim.group(0, 0).draining(),
        "Active with a known Standby drains"
    );
    assert!(sim.group(0, 0).data_plane_active());
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.state(1, 0), State::Active);
    assert!(!sim.group(0, 0).draining());
    assert!(
        !sim.group(0, 0).data_plane_active(),
        "stops forwarding in the end"
    );
    let lost = lost_frames(&sim, stop, Duration::from_secs(1));
    assert!(lost.is_empty(), "frames lost at {lost:?}");
    // Drained once the new Active's hello was heard (one delay after its takeover), and
    // forwarding stopped the grace after that.
    let drained: Vec<_> = sim
        .done()
        .iter()
        .filter(|d| d.router == 0)
        .filter_map(|d| match d.action {
            Action::Drained { to, after } => Some((d.time, to, after)),
            _ => None,
        })
        .collect();
    assert_eq!(drained.len(), 1, "{drained:?}");
    let (at, to, after) = drained[0];
    assert_eq!(to, Some("10.7.0.2".parse().unwrap()));
    assert_eq!(
        after,
        DELAY * 2,
        "Resign there, the new Active's hello back"
    );
    assert_eq!(at, stop + after + DRAIN_GRACE);
}

#[test]
fn a_plain_stop_loses_frames_which_is_what_the_hand_over_prevents() {
    // The loss model sees the gap: the same stop without draining loses frames.
    let mut sim = pair(["10.7.0.1", "10.7.0.2"], "10.7.0.254");
    let stop = sim.now();
    sim.shutdown(0);
    assert!(!sim.group(0, 0).draining());
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.state(1, 0), State::Active);
    let lost = lost_frames(&sim, stop, Duration::from_secs(1));
    assert!(!lost.is_empty());
    assert!(
        lost.iter().all(|t| *t >= stop && *t < stop + DELAY * 3),
        "{lost:?}"
    );
}

#[test]
fn without_a_standby_the_stop_does_not_drain() {
    let mut sim = Sim::new(4);
    sim.add_router(
        "r0",
        "10.7.0.1".parse().unwrap(),
        vec![cfg("10.7.0.254", 110)],
    )
    .unwrap();
    sim.interface_up(0);
    sim.run_for(Duration::from_secs(40));
    sim.hand_over(0);
    assert!(!sim.group(0, 0).draining());
    assert!(!sim.group(0, 0).data_plane_active());
}

#[test]
fn a_drain_gives_up_after_the_hold_time_when_no_successor_is_heard() {
    let mut sim = pair(["10.7.0.1", "10.7.0.2"], "10.7.0.254");
    sim.crash(1); // the Standby dies silently just before the stop
    let stop = sim.now();
    sim.hand_over(0);
    assert!(sim.group(0, 0).draining());
    sim.run_for(Duration::from_secs(20));
    let drained = sim.done().iter().find_map(|d| match d.action {
        Action::Drained { to, after } => Some((d.time, to, after)),
        _ => None,
    });
    // Default hold 10 s, capped at 3 s.
    let cap = hsrp_user::fsm::DRAIN_CAP;
    assert_eq!(drained, Some((stop + cap, None, cap)));
}

/// The RA actions and the related ones of router `r` from `since` on, by kind.
fn ra_kinds(sim: &Sim, r: RouterId, since: Time) -> Vec<&'static str> {
    sim.done()
        .iter()
        .filter(|d| d.router == r && d.time >= since)
        .filter_map(|d| match &d.action {
            Action::Ra(RaAction::Advertise { .. }) => Some("ra"),
            Action::Ra(RaAction::Withdraw) => Some("final-ra"),
            Action::Ra(RaAction::Silence) => Some("silence"),
            Action::SetActive { active: true, .. } => Some("flip"),
            Action::SendGratuitous { .. } => Some("na"),
            Action::Send { msg, .. } if msg.opcode == Opcode::Resign => Some("resign"),
            Action::Send { msg, .. } if msg.opcode == Opcode::Coup => Some("coup"),
            Action::Send { msg, .. } if msg.state == State::Active => Some("hello"),
            _ => None,
        })
        .collect()
}

fn ra_times(sim: &Sim, r: RouterId) -> Vec<Time> {
    sim.done()
        .iter()
        .filter(|d| d.router == r && matches!(d.action, Action::Ra(RaAction::Advertise { .. })))
        .map(|d| d.time)
        .collect()
}

const VLL: &str = "fe80::5:73ff:fea0:7";

#[test]
fn an_ipv6_active_advertises_after_its_takeover_and_withdraws_before_its_resign() {
    let mut sim = pair(["fe80::1", "fe80::2"], VLL);
    // r0's takeover: the first RA after the flip, the NA and the hello; then two more
    // 3 s apart, then the periodic ones.
    let kinds = ra_kinds(&sim, 0, Time::ZERO);
    let first = kinds.iter().position(|k| *k == "flip").unwrap();
    assert_eq!(
        kinds[first..first + 4],
        ["flip", "na", "hello", "ra"],
        "{kinds:?}"
    );
    let times = ra_times(&sim, 0);
    assert!(times.len() >= 3, "{times:?}");
    assert_eq!(times[1].saturating_since(times[0]), Duration::from_secs(3));
    assert_eq!(times[2].saturating_since(times[1]), Duration::from_secs(3));
    assert!(ra_times(&sim, 1).is_empty(), "the Standby never advertises");

    let stop = sim.now();
    sim.hand_over(0);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(ra_kinds(&sim, 0, stop), ["final-ra", "resign"]);
    // The new Active's first RA follows its takeover: the last word hosts hear.
    let kinds = ra_kinds(&sim, 1, stop);
    assert_eq!(kinds[..4], ["flip", "na", "hello", "ra"], "{kinds:?}");
    let lifetimes: Vec<u16> = sim
        .done()
        .iter()
        .filter(|d| d.time >= stop)
        .filter_map(|d| match d.action {
            Action::Ra(RaAction::Advertise { lifetime_s }) => Some(lifetime_s),
            _ => None,
        })
        .collect();
    assert_eq!(lifetimes, [1800]);
}

#[test]
fn an_ipv6_active_deposed_by_a_coup_falls_silent_without_a_final_ra() {
    let mut sim = pair(["fe80::1", "fe80::2"], VLL);
    // r0 goes away without a word; r1 takes over; r0 comes back and preempts.
    sim.interface_down(0);
    sim.run_for(Duration::from_secs(15));
    assert_eq!(sim.state(1, 0), State::Active);
    let back = sim.now();
    sim.interface_up(0);
    sim.run_for(Duration::from_secs(15));
    assert_eq!(sim.state(0, 0), State::Active);
    let deposed = sim
        .transitions()
        .iter()
        .find(|t| t.router == 1 && t.time >= back);
    assert_eq!(
        deposed.map(|t| (t.from, t.to)),
        Some((State::Active, State::Speak))
    );
    let ras: Vec<_> = ra_kinds(&sim, 1, back)
        .into_iter()
        .filter(|k| ["ra", "final-ra", "silence"].contains(k))
        .collect();
    assert_eq!(ras, ["silence"]);
    let kinds = ra_kinds(&sim, 0, back);
    assert_eq!(
        kinds[..5],
        ["flip", "na", "coup", "hello", "ra"],
        "{kinds:?}"
    );
    // The interface going down sent no final RA either: the link could not carry it.
    let down: Vec<_> = sim
        .done()
        .iter()
        .filter(|d| d.router == 0 && matches!(d.action, Action::Ra(RaAction::Withdraw)))
        .collect();
    assert!(down.is_empty(), "{down:?}");
}

#[test]
fn a_router_solicitation_moves_the_next_ra_up() {
    let mut sim = pair(["fe80::1", "fe80::2"], VLL);
    let now = sim.now();
    let periodic = sim.group(0, 0).next_ra().unwrap();
    assert!(
        periodic > now + Duration::from_secs(10),
        "settled: {periodic:?}"
    );
    sim.event(0, 0, Event::RouterSolicitation);
    let solicited = sim.group(0, 0).next_ra().unwrap();
    assert!(
        solicited <= now + Duration::from_millis(500),
        "{solicited:?}"
    );
    // The Standby is not advertising: it ignores the solicitation.
    sim.event(1, 0, Event::RouterSolicitation);
    assert_eq!(sim.group(1, 0).next_ra(), None);
    sim.run_until(solicited);
    assert_eq!(ra_times(&sim, 0).last(), Some(&solicited));
}
