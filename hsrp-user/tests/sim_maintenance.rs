//! Operator control in the pure state machine, through the simulated LAN: maintenance
//! (`hsrpd control resign` / `release`) and the temporary priority (`hsrpd control
//! priority`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{Event, GroupConfig, Preempt};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, last))
}

fn cfg(priority: u8, preempt: bool) -> GroupConfig {
    let mut c = GroupConfig::new(7, Version::V2);
    c.vip = Some(ip(254));
    c.priority = priority;
    c.preempt = preempt.then(Preempt::default);
    c
}

/// r0 (150, preempt) Active, r1 (100) Standby.
fn elected(r1_preempt: bool) -> Sim {
    let mut sim = Sim::new(5);
    let a = sim.add_router("r0", ip(1), vec![cfg(150, true)]).unwrap();
    let b = sim
        .add_router("r1", ip(2), vec![cfg(100, r1_preempt)])
        .unwrap();
    sim.interface_up(a);
    sim.interface_up(b);
    sim.run_for(Duration::from_secs(40));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Active, State::Standby]
    );
    sim
}

#[test]
fn maintenance_resigns_the_active_and_keeps_it_out_until_released() {
    let mut sim = elected(false);
    let before = sim.sent().len();
    sim.event(0, 0, Event::Maintenance(true));
    // The Resign goes out at once and the Standby takes over without waiting a hold time.
    sim.run_for(Duration::from_millis(50));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Initial, State::Active]
    );
    assert!(sim.sent()[before..]
        .iter()
        .any(|s| s.router == 0 && s.msg.opcode == Opcode::Resign));
    assert!(sim.group(0, 0).in_maintenance());
    // Though r0 has the higher priority and preempt, it never speaks while held out: no
    // message at all from it for minutes, and r1 stays Active with no Standby.
    let mark = sim.sent().len();
    sim.run_for(Duration::from_secs(300));
    assert!(sim.sent()[mark..].iter().all(|s| s.router != 0));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Initial, State::Active]
    );
    // Released: it comes back and, with preempt and the higher priority, takes over again.
    sim.event(0, 0, Event::Maintenance(false));
    sim.run_for(Duration::from_secs(40));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Active, State::Standby]
    );
    assert!(!sim.group(0, 0).in_maintenance());
    let (overlap, _) = sim.multi_active(7);
    assert_eq!(overlap, Duration::ZERO);
}

#[test]
fn maintenance_survives_link_flaps() {
    let mut sim = elected(false);
    sim.event(0, 0, Event::Maintenance(true));
    sim.run_for(Duration::from_secs(1));
    sim.interface_down(0);
    sim.run_for(Duration::from_secs(1));
    sim.interface_up(0);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Initial, State::Active]
    );
}

#[test]
fn a_temporary_priority_moves_the_active_and_restoring_it_moves_it_back() {
    // Both preempt: lowering the Active below its peer makes the peer coup.
    let mut sim = elected(true);
    sim.event(0, 0, Event::PriorityOverride(Some(50)));
    // The Coup is at once; the deposed router is Standby after a hold time (10 s).
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.state(1, 0), State::Active);
    sim.run_for(Duration::from_secs(15));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Standby, State::Active]
    );
    assert_eq!(sim.group(0, 0).priority(), 50);
    assert_eq!(sim.group(0, 0).priority_override(), Some(50));
    sim.event(0, 0, Event::PriorityOverride(None));
    sim.run_for(Duration::from_secs(15));
    assert_eq!(sim.group(0, 0).priority(), 150);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Active, State::Standby]
    );
}
