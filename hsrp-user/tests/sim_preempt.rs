//! Preemption (off, on, with delay) and tracking-driven priority changes.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{Event, GroupConfig, Preempt, Track, TrackAction};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, last))
}

fn cfg(priority: u8, preempt: Option<Preempt>) -> GroupConfig {
    let mut c = GroupConfig::new(2, Version::V2);
    c.vip = Some(ip(254));
    c.priority = priority;
    c.preempt = preempt;
    c
}

/// r0 (priority 100) alone becomes Active; then r1 (200, `preempt`) comes up.
fn late_higher(preempt: Option<Preempt>) -> (Sim, hsrp_user::fsm::Time) {
    let mut sim = Sim::new(11);
    let a = sim.add_router("low", ip(1), vec![cfg(100, None)]).unwrap();
    let b = sim
        .add_router("high", ip(2), vec![cfg(200, preempt)])
        .unwrap();
    sim.interface_up(a);
    sim.run_for(Duration::from_secs(40));
    assert_eq!(sim.state(a, 0), State::Active);
    let up = sim.now();
    sim.interface_up(b);
    (sim, up)
}

#[test]
fn preempt_off_later_higher_router_stays_standby() {
    let (mut sim, _) = late_higher(None);
    sim.run_for(Duration::from_secs(120));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Active, State::Standby]
    );
    assert!(sim.sent().iter().all(|s| s.msg.opcode == Opcode::Hello));
}

#[test]
fn preempt_on_higher_router_coups_at_first_hello() {
    let (mut sim, up) = late_higher(Some(Preempt::default()));
    let first_hello = sim
        .run_until_cond(Duration::from_secs(4), |s| {
            s.copies()
                .iter()
                .any(|c| c.from == 0 && c.to == 1 && c.sent_at >= up)
        })
        .unwrap();
    sim.run_until(first_hello);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Speak, State::Active]
    );
    // Coup (from Listen, interface MAC), then Hello(Active) from the vMAC, then GARP, same instant.
    let sent: Vec<_> = sim
        .sent()
        .iter()
        .filter(|s| s.router == 1 && s.time == first_hello)
        .collect();
    assert_eq!(sent[0].msg.opcode, Opcode::Coup);
    assert_eq!(
        (sent[0].msg.state, sent[0].from_vmac),
        (State::Listen, false)
    );
    assert_eq!(
        (sent[1].msg.opcode, sent[1].msg.state, sent[1].from_vmac),
        (Opcode::Hello, State::Active, true)
    );
    assert!(sim
        .gratuitous()
        .iter()
        .any(|g| g.router == 1 && g.time == first_hello));
    // The deposed Active went to Speak without a Resign, and later becomes Standby.
    let t = sim
        .transitions()
        .iter()
        .find(|t| t.router == 0 && t.from == State::Active)
        .unwrap();
    assert!(
        t.reason.starts_with("Coup from higher-priority"),
        "{}",
        t.reason
    );
    sim.run_for(Duration::from_secs(30));
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0)],
        [State::Standby, State::Active]
    );
    assert!(!sim
        .sent()
        .iter()
        .any(|s| s.router == 0 && s.msg.opcode == Opcode::Resign));
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
}

#[test]
fn preempt_delay_minimum_waits_from_bring_up() {
    let delay = Preempt {
        delay_minimum: Duration::from_secs(30),
        ..Preempt::default()
    };
    let (mut sim, up) = late_higher(Some(delay));
    let became = sim
        .run_until_cond(Duration::from_secs(60), |s| s.state(1, 0) == State::Active)
        .unwrap();
    assert_eq!(
        became,
        up + Duration::from_secs(30),
        "preempts when the delay is over, not before"
    );
    let t = sim
        .transitions()
        .iter()
        .find(|t| t.router == 1 && t.to == State::Active)
        .unwrap();
    assert!(t.reason.starts_with("preempt delay over"), "{}", t.reason);
    sim.run_until(became); // deliver the Coup sent at that instant
    assert_eq!(sim.state(0, 0), State::Speak);
}

#[test]
fn preempt_delay_does_not_delay_taking_over_an_empty_group() {
    let mut sim = Sim::new(5);
    let delay = Preempt {
        delay_minimum: Duration::from_secs(300),
        ..Preempt::default()
    };
    let r = sim
        .add_router("alone", ip(1), vec![cfg(150, Some(delay))])
        .unwrap();
    sim.interface_up(r);
    let at = sim.run_until_cond(Duration::from_secs(60), |s| s.state(r, 0) == State::Active);
    assert_eq!(
        at,
        Some(hsrp_user::fsm::Time::from_secs(20)),
        "Listen 10 s, Speak 10 s, then Active"
    );
}

#[test]
fn tracking_decrements_cumulate_cause_coup_and_restore() {
    let mut sim = Sim::new(9);
    let mut a = cfg(115, Some(Preempt::default()));
    a.tracks = vec![
        Track {
            object: 1,
            action: TrackAction::Decrement(10),
        },
        Track {
            object: 2,
            action: TrackAction::Decrement(10),
        },
    ];
    let ra = sim.add_router("a", ip(1), vec![a]).unwrap();
    let rb = sim
        .add_router("b", ip(2), vec![cfg(100, Some(Preempt::default()))])
        .unwrap();
    sim.interface_up(ra);
    sim.run_for(Duration::from_secs(1));
    sim.interface_up(rb);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Active, State::Standby]
    );

    // One object down: 105 > 100, nothing changes.
    sim.event(
        ra,
        0,
        Event::Track {
            object: 1,
            up: false,
        },
    );
    assert_eq!(sim.group(ra, 0).priority(), 105);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Active, State::Standby]
    );

    // Both down: 95 < 100, the preempting Standby takes over with a Coup.
    let before = sim.sent().len();
    sim.event(
        ra,
        0,
        Event::Track {
            object: 2,
            up: false,
        },
    );
    assert_eq!(sim.group(ra, 0).priority(), 95);
    sim.run_for(Duration::from_secs(4));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Speak, State::Active]
    );
    assert!(sim.sent()[before..]
        .iter()
        .any(|s| s.router == rb && s.msg.opcode == Opcode::Coup));
    assert!(!sim.sent()[before..]
        .iter()
        .any(|s| s.msg.opcode == Opcode::Resign));

    // One back: 105 > 100, the original Active preempts back.
    sim.event(
        ra,
        0,
        Event::Track {
            object: 1,
            up: true,
        },
    );
    assert_eq!(sim.group(ra, 0).priority(), 105);
    sim.run_for(Duration::from_secs(4));
    assert_eq!(sim.state(ra, 0), State::Active);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Active, State::Standby]
    );
    sim.event(
        ra,
        0,
        Event::Track {
            object: 2,
            up: true,
        },
    );
    assert_eq!(sim.group(ra, 0).priority(), 115);
    assert!(sim.multi_active(2).0 <= Duration::from_secs(3));
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
}

#[test]
fn track_shutdown_takes_the_group_down_and_back() {
    let mut sim = Sim::new(4);
    let mut a = cfg(150, None);
    a.tracks = vec![Track {
        object: 7,
        action: TrackAction::Shutdown,
    }];
    let ra = sim.add_router("a", ip(1), vec![a]).unwrap();
    let rb = sim.add_router("b", ip(2), vec![cfg(100, None)]).unwrap();
    sim.interface_up(ra);
    sim.interface_up(rb);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Active, State::Standby]
    );
    let at = sim.now();
    sim.event(
        ra,
        0,
        Event::Track {
            object: 7,
            up: false,
        },
    );
    sim.run_until(at);
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Initial, State::Active],
        "Resign hands over at once"
    );
    let t = sim
        .transitions()
        .iter()
        .find(|t| t.router == ra && t.to == State::Initial)
        .unwrap();
    assert_eq!(t.reason, "track 7 down (shutdown)");
    sim.event(
        ra,
        0,
        Event::Track {
            object: 7,
            up: true,
        },
    );
    assert_eq!(sim.state(ra, 0), State::Listen);
    sim.run_for(Duration::from_secs(60));
    assert_eq!(
        [sim.state(ra, 0), sim.state(rb, 0)],
        [State::Standby, State::Active],
        "no preempt"
    );
}
