//! `fsm::Event::BfdPeerDown`: with calm HSRP timers (3 s / 10 s), the BFD session to the
//! Active going Down makes the Standby act at once exactly as if the Active timer had
//! expired; a report about any other router changes nothing.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{Event, GroupConfig};
use hsrp_user::proto::{State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// Active (150), Standby (120), Listen (100) with the default 3 s / 10 s timers.
fn converged(seed: u64) -> Sim {
    let mut sim = Sim::new(seed);
    for (last, prio) in [(1, 150), (2, 120), (3, 100)] {
        let mut c = GroupConfig::new(5, Version::V2);
        c.vip = Some(ip(254));
        c.priority = prio;
        let r = sim
            .add_router(&format!("r{last}"), ip(last), vec![c])
            .unwrap();
        sim.interface_up(r);
    }
    sim.run_for(Duration::from_secs(80));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Active, State::Standby, State::Listen]
    );
    sim
}

#[test]
fn bfd_loss_of_the_active_is_an_active_timer_expiry() {
    for seed in 0..5 {
        let mut sim = converged(seed);
        sim.crash(0);
        // BFD with 10 ms x 3 notices 30 ms later; the HSRP hold timer would need up to 10 s.
        sim.run_for(Duration::from_millis(30));
        let detected = sim.now();
        sim.event(1, 0, Event::BfdPeerDown { peer: ip(1) });
        sim.event(2, 0, Event::BfdPeerDown { peer: ip(1) });
        assert_eq!(sim.state(1, 0), State::Active, "seed {seed}");
        // The Listen router does what event c says in Listen: Speak.
        assert_eq!(sim.state(2, 0), State::Speak, "seed {seed}");
        let t = sim
            .transitions()
            .iter()
            .find(|t| t.router == 1 && t.to == State::Active)
            .unwrap();
        assert_eq!(t.time, detected);
        assert!(
            t.reason.contains("BFD session to Active 10.0.0.1 down"),
            "{}",
            t.reason
        );
        // And the group settles as after a hold-time takeover: r3 becomes Standby.
        sim.run_for(Duration::from_secs(20));
        assert_eq!(sim.actives(5), [1]);
        assert_eq!(sim.state(2, 0), State::Standby);
        assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    }
}

#[test]
fn bfd_loss_of_another_router_changes_nothing() {
    let mut sim = converged(1);
    let before = sim.transitions().len();
    // The Standby hears that the Listen router's session went down; the Listen router
    // hears that the Standby's did; the Active hears about the Standby. None is the
    // Active they follow.
    sim.event(1, 0, Event::BfdPeerDown { peer: ip(3) });
    sim.event(2, 0, Event::BfdPeerDown { peer: ip(2) });
    sim.event(0, 0, Event::BfdPeerDown { peer: ip(2) });
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.transitions().len(), before);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Active, State::Standby, State::Listen]
    );
}
