//! Following groups (`standby G follow NAME`) on a simulated LAN: 100 groups follow one
//! master group on each of two routers; the followers take the master's state in the same
//! virtual instant, send nothing but their MAC refresh hellos, and never have two Actives.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{Follow, GroupConfig, Preempt, Time, Timers};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

const FOLLOWERS: u16 = 100;
const REFRESH: Duration = Duration::from_secs(2);

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// Group 1 named MASTER (msec timers, preempt), groups 2..=101 following it.
fn groups(priority: u8) -> Vec<GroupConfig> {
    let mut master = GroupConfig::new(1, Version::V2);
    master.vip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)));
    master.priority = priority;
    master.preempt = Some(Preempt::default());
    master.timers = Some(Timers::from_millis(100, 300));
    master.name = Some("MASTER".into());
    let mut out = vec![master];
    for g in 2..=FOLLOWERS + 1 {
        let mut c = GroupConfig::new(g, Version::V2);
        c.vip = Some(IpAddr::V4(Ipv4Addr::new(
            10,
            0,
            2 + (g / 200) as u8,
            g as u8,
        )));
        c.follow = Some(Follow {
            master: "MASTER".into(),
            mac_refresh: Some(REFRESH),
        });
        out.push(c);
    }
    out
}

fn all_states(sim: &Sim, r: usize) -> Vec<State> {
    (0..=FOLLOWERS as usize).map(|g| sim.state(r, g)).collect()
}

#[test]
fn one_takeover_flips_every_follower_in_the_same_instant() {
    let mut sim = Sim::new(7);
    let r1 = sim.add_router("r1", ip(2), groups(150)).unwrap();
    let r2 = sim.add_router("r2", ip(3), groups(100)).unwrap();
    sim.interface_up(r1);
    sim.interface_up(r2);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(all_states(&sim, r1), vec![State::Active; 101]);
    assert_eq!(all_states(&sim, r2), vec![State::Standby; 101]);
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());

    // Followers send only Active hellos, at the refresh interval, from the vMAC.
    let window_start = sim.now();
    sim.run_for(Duration::from_secs(10));
    let follower_msgs: Vec<_> = sim
        .sent()
        .iter()
        .filter(|s| s.time > window_start && s.msg.group != 1)
        .collect();
    assert!(follower_msgs.iter().all(|s| s.router == r1
        && s.msg.opcode == Opcode::Hello
        && s.msg.state == State::Active
        && s.from_vmac));
    // 10 s / 2 s: exactly 5 refreshes per follower in the window.
    assert_eq!(follower_msgs.len(), 5 * FOLLOWERS as usize);

    // r1 dies: r2's master takes over after its hold time; every follower in that instant.
    let crash = sim.now();
    sim.crash(r1);
    let took = sim
        .run_until_cond(Duration::from_secs(2), |s| s.state(r2, 0) == State::Active)
        .expect("r2's master never became Active");
    assert!(took.saturating_since(crash) <= Duration::from_millis(300));
    assert_eq!(all_states(&sim, r2), vec![State::Active; 101]);
    let changed: Vec<Time> = sim
        .transitions()
        .iter()
        .filter(|t| t.router == r2 && t.to == State::Active)
        .map(|t| t.time)
        .collect();
    assert_eq!(changed.len(), 101);
    assert!(
        changed.iter().all(|t| *t == took),
        "all in the master's instant"
    );
    for g in 2..=FOLLOWERS + 1 {
        assert_eq!(sim.multi_active(g), (Duration::ZERO, 0), "group {g}");
    }
}

#[test]
fn a_preempting_master_takes_its_followers_back() {
    let mut sim = Sim::new(9);
    let r1 = sim.add_router("r1", ip(2), groups(150)).unwrap();
    let r2 = sim.add_router("r2", ip(3), groups(100)).unwrap();
    sim.interface_up(r2);
    sim.run_for(Duration::from_secs(3));
    assert_eq!(all_states(&sim, r2), vec![State::Active; 101]);
    sim.interface_up(r1);
    sim.run_for(Duration::from_secs(3));
    assert_eq!(all_states(&sim, r1), vec![State::Active; 101]);
    let master2 = sim.state(r2, 0);
    assert_ne!(master2, State::Active);
    assert_eq!(
        all_states(&sim, r2),
        vec![master2; 101],
        "r2's followers mirror its master"
    );
    for g in 2..=FOLLOWERS + 1 {
        // The Coup and the follower flips happen in the same instant on each router: no
        // span of virtual time with two Actives.
        assert_eq!(sim.multi_active(g).0, Duration::ZERO, "group {g}");
    }
}
