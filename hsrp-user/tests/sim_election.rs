//! Initial election and learning on a simulated LAN (virtual time, real codec).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{GroupConfig, Timers};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 0, last))
}

fn cfg(priority: u8) -> GroupConfig {
    let mut c = GroupConfig::new(1, Version::V1);
    c.vip = Some(ip(1));
    c.priority = priority;
    c
}

/// Bring up three routers (staggered by 300 ms), run 90 s, return the sim.
fn elect(prios: [(u8, u8); 3]) -> Sim {
    let mut sim = Sim::new(7);
    for (i, (last, prio)) in prios.iter().enumerate() {
        let r = sim
            .add_router(&format!("r{i}"), ip(*last), vec![cfg(*prio)])
            .unwrap();
        sim.interface_up(r);
        sim.run_for(Duration::from_millis(300));
    }
    sim.run_for(Duration::from_secs(90));
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    sim
}

#[test]
fn highest_priority_active_second_standby_third_listen() {
    // Priorities against the address order, so only priority can explain the result.
    let sim = elect([(10, 120), (20, 110), (30, 100)]);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Active, State::Standby, State::Listen]
    );
    assert_eq!(
        sim.multi_active(1),
        (Duration::ZERO, 0),
        "never two Actives"
    );
    // Stable: nothing changed in the last 30 s.
    for t in sim.transitions() {
        eprintln!(
            "{:?} r{} {} -> {}: {}",
            t.time, t.router, t.from, t.to, t.reason
        );
    }
    let late = sim.now().as_duration() - Duration::from_secs(30);
    assert!(sim
        .transitions()
        .iter()
        .all(|t| t.time.as_duration() < late));
    // The Active's hellos come from the vMAC; it announced the VIP.
    let active_hellos: Vec<_> = sim
        .sent()
        .iter()
        .filter(|s| s.router == 0 && s.msg.opcode == Opcode::Hello && s.msg.state == State::Active)
        .collect();
    assert!(active_hellos.len() > 5);
    assert!(active_hellos.iter().all(|s| s.from_vmac));
    assert!(sim
        .gratuitous()
        .iter()
        .any(|g| g.router == 0 && g.vip == ip(1)));
    // The Listen router is silent once it is in Listen.
    let listen_since = sim
        .transitions()
        .iter()
        .rev()
        .find(|t| t.router == 2)
        .unwrap()
        .time;
    assert!(sim
        .sent()
        .iter()
        .all(|s| s.router != 2 || s.time <= listen_since));
}

#[test]
fn equal_priorities_resolved_by_interface_address() {
    let sim = elect([(10, 100), (30, 100), (20, 100)]);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Listen, State::Active, State::Standby]
    );
    assert_eq!(sim.multi_active(1).1, 0);
}

#[test]
fn status_names_active_and_standby_routers() {
    let sim = elect([(10, 120), (20, 110), (30, 100)]);
    let st = sim.group(2, 0).status(sim.now());
    use hsrp_user::fsm::RouterInfo;
    match st.active {
        Some(RouterInfo::Peer {
            ip: a,
            priority: 120,
            expires_in,
        }) => {
            assert_eq!(a, ip(10));
            assert!(expires_in <= Duration::from_secs(10) && expires_in > Duration::from_secs(6));
        }
        other => panic!("active router: {other:?}"),
    }
    assert!(matches!(
        st.standby,
        Some(RouterInfo::Peer { priority: 110, .. })
    ));
    assert_eq!(
        sim.group(0, 0).status(sim.now()).active,
        Some(RouterInfo::Local)
    );
    assert!(
        st.last_change_reason
            .unwrap()
            .starts_with("Speak -> Listen")
            || st.state_changes > 0
    );
}

#[test]
fn vip_and_timers_learned_from_the_active() {
    for (version, hello_ms, hold_ms) in [(Version::V1, 1000, 4000), (Version::V2, 200, 700)] {
        let mut sim = Sim::new(3);
        let mut a = GroupConfig::new(1, version);
        a.vip = Some(ip(1));
        a.priority = 150;
        a.timers = Some(Timers::from_millis(hello_ms, hold_ms));
        let b = GroupConfig::new(1, version); // no VIP, no timers
        let ra = sim.add_router("a", ip(10), vec![a]).unwrap();
        let rb = sim.add_router("b", ip(20), vec![b]).unwrap();
        sim.interface_up(ra);
        sim.run_for(Duration::from_secs(30));
        assert_eq!(sim.state(ra, 0), State::Active);
        sim.interface_up(rb);
        assert_eq!(sim.state(rb, 0), State::Learn, "{version:?}: no VIP yet");
        sim.run_for(Duration::from_millis(hello_ms + 1));
        assert_eq!(sim.state(rb, 0), State::Listen, "{version:?}: VIP learned");
        let st = sim.group(rb, 0).status(sim.now());
        assert_eq!(st.vip, Some(ip(1)));
        assert!(st.vip_learned && st.timers_learned);
        assert_eq!(st.timers, Timers::from_millis(hello_ms, hold_ms));
        // It becomes Standby with the learned values in its own hellos.
        sim.run_for(Duration::from_millis(3 * hold_ms));
        assert_eq!(sim.state(rb, 0), State::Standby);
        let last = sim.sent().iter().rev().find(|s| s.router == rb).unwrap();
        assert_eq!(
            (last.msg.hello_ms, last.msg.hold_ms),
            (hello_ms as u32, hold_ms as u32)
        );
        assert_eq!(last.msg.vip, Some(ip(1)));
        assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    }
}

#[test]
fn authentication_mismatch_each_side_ignores_the_other() {
    let mut sim = Sim::new(1);
    let mut a = cfg(120);
    a.auth = hsrp_user::proto::Auth::Md5 {
        key: b"openwall".to_vec(),
        key_id: 0,
    };
    let ra = sim.add_router("a", ip(10), vec![a]).unwrap();
    let rb = sim.add_router("b", ip(20), vec![cfg(100)]).unwrap();
    sim.interface_up(ra);
    sim.interface_up(rb);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Active, State::Active]
    );
    assert!(sim.group(ra, 0).auth_failures() > 10 && sim.group(rb, 0).auth_failures() > 10);
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
}

#[test]
fn ipv6_groups_break_equal_priorities_by_link_local_address() {
    // HSRPv2 over IPv6: routers speak from their link-local addresses, and that is what
    // the election compares (docs/protocol.md §5).
    let link_local =
        |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last));
    let vip = IpAddr::V6(hsrp_user::wire::virtual_link_local(hsrp_user::wire::vmac(
        Version::V2,
        true,
        1,
    )));
    let mut sim = Sim::new(11);
    for (i, last) in [0x10u16, 0x30, 0x20].into_iter().enumerate() {
        let mut c = GroupConfig::new(1, Version::V2);
        c.vip = Some(vip);
        let r = sim
            .add_router(&format!("r{i}"), link_local(last), vec![c])
            .unwrap();
        sim.interface_up(r);
        sim.run_for(Duration::from_millis(300));
    }
    sim.run_for(Duration::from_secs(90));
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Listen, State::Active, State::Standby],
        "fe80::30 > fe80::20 > fe80::10"
    );
    assert_eq!(sim.multi_active(1).1, 0);
    // Every message on the wire was HSRPv2 for IPv6.
    assert!(sim
        .sent()
        .iter()
        .all(|s| s.msg.version == Version::V2 && s.msg.vip.is_none_or(|v| v.is_ipv6())));
}
