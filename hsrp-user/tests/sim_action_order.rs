//! The state machine's actions are carried out exactly in the order it returns them, so
//! that order must be the one the wire needs: a new Active flips its data plane and
//! announces the vMAC before its Coup or first hello (the old Active stops forwarding on
//! hearing either, and by then the switch must already send the vMAC's frames to us).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{Action, GroupConfig, Preempt};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::{RouterId, Sim};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 3, 0, last))
}

fn cfg(priority: u8, preempt: Option<Preempt>) -> GroupConfig {
    let mut c = GroupConfig::new(4, Version::V2);
    c.vip = Some(ip(254));
    c.priority = priority;
    c.preempt = preempt;
    c
}

/// The takeover-related actions of router `r` from `since` on, by kind, in order.
fn takeover_kinds(sim: &Sim, r: RouterId, since: hsrp_user::fsm::Time) -> Vec<&'static str> {
    sim.done()
        .iter()
        .filter(|d| d.router == r && d.time >= since)
        .filter_map(|d| match &d.action {
            Action::SetActive { active: true, .. } => Some("flip"),
            Action::SendGratuitous { .. } => Some("garp"),
            Action::Send { msg, .. } if msg.opcode == Opcode::Coup => Some("coup"),
            Action::Send { msg, .. }
                if msg.opcode == Opcode::Hello && msg.state == State::Active =>
            {
                Some("hello")
            }
            Action::StateChanged {
                to: State::Active, ..
            } => Some("active"),
            _ => None,
        })
        .collect()
}

#[test]
fn a_lone_router_flips_and_announces_before_its_first_active_hello() {
    let mut sim = Sim::new(3);
    let r = sim.add_router("r", ip(1), vec![cfg(100, None)]).unwrap();
    sim.interface_up(r);
    let became = sim
        .run_until_cond(Duration::from_secs(40), |s| s.state(r, 0) == State::Active)
        .expect("a lone router becomes Active");
    let kinds = takeover_kinds(&sim, r, became);
    assert_eq!(kinds[..4], ["active", "flip", "garp", "hello"], "{kinds:?}");
}

#[test]
fn a_preempting_router_flips_and_announces_before_its_coup() {
    let mut sim = Sim::new(5);
    let low = sim.add_router("low", ip(1), vec![cfg(100, None)]).unwrap();
    let high = sim
        .add_router("high", ip(2), vec![cfg(200, Some(Preempt::default()))])
        .unwrap();
    sim.interface_up(low);
    sim.run_for(Duration::from_secs(40));
    assert_eq!(sim.state(low, 0), State::Active);
    let up = sim.now();
    sim.interface_up(high);
    sim.run_until_cond(Duration::from_secs(10), |s| {
        s.state(high, 0) == State::Active
    })
    .expect("the higher router preempts");
    let kinds = takeover_kinds(&sim, high, up);
    assert_eq!(
        kinds[..5],
        ["active", "flip", "garp", "coup", "hello"],
        "{kinds:?}"
    );
    // The Coup reached the old Active after the vMAC announcement was sent, and it is
    // what deposed it.
    let coup_at = sim
        .sent()
        .iter()
        .find(|s| s.router == high && s.msg.opcode == Opcode::Coup)
        .map(|s| s.time)
        .unwrap();
    let garp_at = sim
        .gratuitous()
        .iter()
        .find(|g| g.router == high && g.time >= up)
        .map(|g| g.time)
        .unwrap();
    assert!(garp_at <= coup_at);
    sim.run_for(Duration::from_millis(1));
    assert_eq!(sim.state(low, 0), State::Speak);
}

#[test]
fn the_repeated_gratuitous_arp_precedes_a_hello_due_at_the_same_time() {
    // One group driven directly, woken late with both timers due at once.
    use hsrp_user::fsm::{Event, Group, NoJitter, Time, Timers};
    use hsrp_user::proto::MacAddr;
    let mut c = cfg(100, None);
    c.timers = Some(Timers::from_millis(3000, 10_000));
    let mut g = Group::new(c, ip(1), MacAddr([2, 0, 0, 0, 0, 1]), Box::new(NoJitter)).unwrap();
    let mut now = Time::ZERO;
    g.handle(now, Event::InterfaceUp);
    while g.state() != State::Active {
        now = g.next_deadline().unwrap();
        g.handle(now, Event::Timer);
    }
    // Both the hello and the gratuitous repeat are due 3 s after the takeover at the
    // latest: wake once, late.
    let actions = g.handle(now + Duration::from_secs(4), Event::Timer);
    let kinds: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::SendGratuitous { .. } => Some("garp"),
            Action::Send { .. } => Some("hello"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.first(), Some(&"garp"), "{kinds:?}");
    assert!(kinds.contains(&"hello"), "{kinds:?}");
}
