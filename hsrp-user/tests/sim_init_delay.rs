//! `standby delay minimum S reload S`: a group waits `reload` after its interface first
//! comes up and `minimum` after later ones before it starts, in virtual time.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{GroupConfig, InitDelay, Time};
use hsrp_user::proto::{State, Version};
use hsrp_user::sim::Sim;

fn at(ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(ms)
}

#[test]
fn the_group_starts_after_reload_then_after_minimum() {
    let mut sim = Sim::new(1);
    let mut c = GroupConfig::new(1, Version::V2);
    c.vip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    c.init_delay = Some(InitDelay {
        minimum: Duration::from_secs(2),
        reload: Duration::from_secs(5),
    });
    let r = sim
        .add_router("r1", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), vec![c])
        .unwrap();
    sim.interface_up(r);
    sim.run_until(at(4_999));
    assert_eq!(sim.state(r, 0), State::Initial, "reload delay not over");
    assert!(sim.sent().is_empty(), "silent while waiting");
    sim.run_until(at(5_000));
    assert_eq!(sim.state(r, 0), State::Listen);
    let first = &sim.transitions()[0];
    assert_eq!(first.time, at(5_000));
    assert!(
        first.reason.contains("standby delay over"),
        "{}",
        first.reason
    );

    // Alone on the LAN it becomes Active; the link flaps: now the minimum delay.
    sim.run_until(at(30_000));
    assert_eq!(sim.state(r, 0), State::Active);
    sim.interface_down(r);
    assert_eq!(sim.state(r, 0), State::Initial);
    sim.interface_up(r);
    sim.run_until(at(31_999));
    assert_eq!(sim.state(r, 0), State::Initial, "minimum delay not over");
    sim.run_until(at(32_000));
    assert_eq!(sim.state(r, 0), State::Listen);

    // A link that goes down during the wait cancels it.
    sim.interface_down(r);
    sim.interface_up(r);
    sim.run_until(at(33_000));
    sim.interface_down(r);
    sim.run_until(at(40_000));
    assert_eq!(sim.state(r, 0), State::Initial);
}
