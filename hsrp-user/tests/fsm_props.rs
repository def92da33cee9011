//! Property test over random event sequences, plus table entries the simulations do not
//! reach (authentication failures, an Active never learning timers, bad configuration).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proptest::prelude::*;

use hsrp_user::fsm::{
    Action, Event, Group, GroupConfig, PeerRole, Preempt, RouterInfo, Time, Timers, Track,
    TrackAction,
};
use hsrp_user::proto::{GroupMessage, MacAddr, Opcode, State, Version};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn base_cfg() -> GroupConfig {
    let mut c = GroupConfig::new(1, Version::V2);
    c.vip = Some(ip(254));
    c.priority = 100;
    c.preempt = Some(Preempt {
        delay_minimum: Duration::from_secs(5),
        ..Preempt::default()
    });
    c.tracks = vec![
        Track {
            object: 1,
            action: TrackAction::Decrement(30),
        },
        Track {
            object: 2,
            action: TrackAction::Shutdown,
        },
    ];
    c
}

fn msg(
    opcode: Opcode,
    state: State,
    priority: u8,
    hello_ms: u32,
    hold_ms: u32,
    group: u16,
    vip: bool,
) -> GroupMessage {
    GroupMessage {
        version: Version::V2,
        opcode,
        state,
        group,
        priority,
        hello_ms,
        hold_ms,
        vip: vip.then_some(ip(254)),
        identifier: Some(MacAddr([2, 0, 0, 0, 0, 9])),
    }
}

fn any_state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Disabled),
        Just(State::Initial),
        Just(State::Learn),
        Just(State::Listen),
        Just(State::Speak),
        Just(State::Standby),
        Just(State::Active)
    ]
}

fn any_event() -> impl Strategy<Value = Event> {
    let received = (
        prop_oneof![
            Just(Opcode::Hello),
            Just(Opcode::Coup),
            Just(Opcode::Resign)
        ],
        any_state(),
        any::<u8>(),
        prop_oneof![Just(0u32), Just(15), Just(3000), any::<u32>()],
        prop_oneof![Just(0u32), Just(50), Just(10_000), any::<u32>()],
        prop_oneof![Just(1u16), Just(2)],
        any::<bool>(),
        1u8..5,
    )
        .prop_map(
            |(op, st, prio, hello, hold, group, vip, from)| Event::Received {
                from: ip(from),
                msg: msg(op, st, prio, hello, hold, group, vip),
            },
        );
    prop_oneof![
        6 => received,
        4 => Just(Event::Timer),
        1 => Just(Event::InterfaceUp),
        1 => Just(Event::InterfaceDown),
        1 => Just(Event::AuthFailed { from: ip(4) }),
        1 => (1u32..4, any::<bool>()).prop_map(|(object, up)| Event::Track { object, up }),
        1 => (1u8..=255, any::<bool>()).prop_map(|(p, timers)| {
            let mut c = base_cfg();
            c.priority = p;
            c.timers = timers.then(|| Timers::from_millis(100, 400));
            Event::ConfigChange(Box::new(c))
        }),
        1 => Just(Event::ConfigChange(Box::new({ let mut c = base_cfg(); c.priority = 0; c }))),
        1 => Just(Event::Shutdown),
        1 => Just(Event::HandOver),
        1 => any::<bool>().prop_map(Event::Maintenance),
        1 => Just(Event::RouterSolicitation),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_sequences_keep_the_invariants(
        steps in prop::collection::vec((0u64..15_000, any_event()), 1..120),
        learn_vip in any::<bool>(),
    ) {
        let mut cfg = base_cfg();
        if learn_vip { cfg.vip = None; }
        let mut g = Group::new(cfg, ip(3), MacAddr([2, 0, 0, 0, 0, 3]), Box::new(|| 0x9e37_79b9u32)).unwrap();
        let mut now = Time::ZERO;
        let mut state = g.state();
        let mut dp_active = false;
        // The other Active and Standby routers as the PeerChanged actions tell them.
        let mut peers: [Option<IpAddr>; 2] = [None, None];
        for (dt, ev) in steps {
            // Half the time wake exactly at the deadline, as a driver would.
            now = match (dt % 2, g.next_deadline()) {
                (0, Some(d)) if d > now => d,
                _ => now + Duration::from_millis(dt),
            };
            let actions = g.handle(now, ev);
            for a in &actions {
                match a {
                    Action::StateChanged { from, to, reason } => {
                        // One state at a time: every change starts where the last ended.
                        prop_assert_eq!(*from, state);
                        prop_assert_ne!(from, to);
                        prop_assert!(!reason.is_empty());
                        state = *to;
                    }
                    Action::SetActive { active, .. } => {
                        prop_assert_ne!(*active, dp_active, "SetActive repeated");
                        dp_active = *active;
                    }
                    Action::Send { msg, from_vmac } => {
                        prop_assert_eq!(msg.group, 1);
                        prop_assert!(!*from_vmac || state == State::Active);
                    }
                    Action::Drained { after, .. } => {
                        prop_assert!(!dp_active, "Drained before the data plane stopped");
                        prop_assert!(*after <= hsrp_user::fsm::DRAIN_CAP);
                    }
                    Action::PeerChanged { role, from, to } => {
                        let slot = &mut peers[*role as usize];
                        prop_assert_eq!(*from, *slot);
                        prop_assert_ne!(from, to);
                        *slot = *to;
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(state, g.state());
            prop_assert_ne!(g.state(), State::Disabled);
            // Forwarding while Active, and while a resigned group hands over (`drain`).
            prop_assert_eq!(dp_active, g.state() == State::Active || g.draining());
            prop_assert_eq!(g.data_plane_active(), dp_active);
            if let Some(d) = g.next_deadline() {
                prop_assert!(d > now, "deadline {} not after now {}", d, now);
            }
            let st = g.status(now);
            prop_assert_eq!(st.state, g.state());
            let peer = |r: Option<RouterInfo>| match r {
                Some(RouterInfo::Peer { ip, .. }) => Some(ip),
                _ => None,
            };
            prop_assert_eq!(peers, [peer(st.active), peer(st.standby)]);
        }
    }
}

fn running(cfg: GroupConfig) -> (Group, Time) {
    let mut g = Group::new(
        cfg,
        ip(3),
        MacAddr([2, 0, 0, 0, 0, 3]),
        Box::new(hsrp_user::fsm::NoJitter),
    )
    .unwrap();
    g.handle(Time::ZERO, Event::InterfaceUp);
    (g, Time::ZERO)
}

#[test]
fn a_drain_ended_by_a_late_driver_reports_the_wait_it_bounded() {
    let mut cfg = base_cfg();
    cfg.preempt = None;
    let (mut g, _) = running(cfg);
    while g.state() != State::Active {
        let d = g.next_deadline().unwrap();
        g.handle(d, Event::Timer);
    }
    let standby = msg(Opcode::Hello, State::Standby, 50, 0, 0, 1, true);
    let now = Time::from_secs(20);
    g.handle(
        now,
        Event::Received {
            from: ip(1),
            msg: standby,
        },
    );
    g.handle(now, Event::HandOver);
    assert!(g.draining());
    // The driver comes back 10 s later (default hold 10 s, so the cap of 3 s bounds it).
    let actions = g.handle(now + Duration::from_secs(10), Event::Timer);
    let drained = actions.iter().find_map(|a| match a {
        Action::Drained { to, after } => Some((*to, *after)),
        _ => None,
    });
    assert_eq!(drained, Some((None, hsrp_user::fsm::DRAIN_CAP)));
}

#[test]
fn auth_failures_are_counted_never_acted_upon() {
    let (mut g, _) = running(base_cfg());
    let now = Time::from_secs(1);
    for _ in 0..5 {
        let actions = g.handle(now, Event::AuthFailed { from: ip(9) });
        assert!(actions.is_empty());
    }
    assert_eq!(g.auth_failures(), 5);
    assert_eq!(g.state(), State::Listen);
    assert_eq!(g.status(now).last_auth_failure_from, Some(ip(9)));
    // The group goes on as if nothing had been heard: Speak when its timers run out.
    g.handle(Time::from_secs(10), Event::Timer);
    assert_eq!(g.state(), State::Speak);
}

#[test]
fn an_active_never_learns_timers_others_do() {
    let mut cfg = base_cfg();
    cfg.preempt = None;
    let (mut g, _) = running(cfg);
    for _ in 0..10 {
        let d = g.next_deadline().unwrap();
        g.handle(d, Event::Timer);
    }
    assert_eq!(
        g.state(),
        State::Active,
        "alone: Listen, Speak, Standby, Active"
    );
    let lower = msg(Opcode::Hello, State::Active, 50, 1000, 4000, 1, true);
    let actions = g.handle(
        Time::from_secs(21),
        Event::Received {
            from: ip(1),
            msg: lower,
        },
    );
    // Two Actives: we are higher, we answer with a Coup from the vMAC and learn nothing.
    assert!(
        matches!(&actions[..], [Action::Send { msg, from_vmac: true }] if msg.opcode == Opcode::Coup && msg.state == State::Active)
    );
    assert_eq!(g.timers(), Timers::DEFAULT);
    // A higher Active: we step down to Speak (no Resign) and learn its timers.
    let higher = msg(Opcode::Hello, State::Active, 200, 1000, 4000, 1, true);
    let actions = g.handle(
        Time::from_secs(22),
        Event::Received {
            from: ip(1),
            msg: higher.clone(),
        },
    );
    assert!(actions
        .iter()
        .all(|a| !matches!(a, Action::Send { msg, .. } if msg.opcode == Opcode::Resign)));
    assert!(actions.contains(&Action::SetActive {
        active: false,
        vip: Some(ip(254)),
        vmac: g.virtual_mac()
    }));
    assert_eq!(g.state(), State::Speak);
    g.handle(
        Time::from_secs(23),
        Event::Received {
            from: ip(1),
            msg: higher,
        },
    );
    assert_eq!(g.timers(), Timers::from_millis(1000, 4000));
}

#[test]
fn state_change_reason_names_the_hold_time() {
    let mut cfg = base_cfg();
    cfg.timers = Some(Timers::from_millis(250, 750));
    let (mut g, _) = running(cfg);
    let active = msg(Opcode::Hello, State::Active, 200, 250, 750, 1, true);
    // Nobody is Standby: Listen -> Speak -> Standby while the Active says hello every 250 ms.
    let mut t = Time::ZERO;
    for _ in 0..100 {
        t += Duration::from_millis(250);
        g.handle(
            t,
            Event::Received {
                from: ip(1),
                msg: active.clone(),
            },
        );
        if g.state() == State::Standby {
            break;
        }
    }
    assert_eq!(g.state(), State::Standby);
    let last_hello = t;
    // Then the Active falls silent.
    let mut lines = Vec::new();
    for _ in 0..100 {
        let Some(d) = g.next_deadline() else { break };
        t = d;
        lines.extend(
            g.handle(t, Event::Timer)
                .iter()
                .filter(|a| matches!(a, Action::StateChanged { .. }))
                .map(|a| a.to_string()),
        );
        if g.state() == State::Active {
            break;
        }
    }
    assert_eq!(
        lines,
        ["Standby -> Active: active timer expired (hold 750 ms, Active was 10.0.0.1)"]
    );
    assert_eq!(
        t,
        last_hello + Duration::from_millis(750),
        "exactly hold after the last hello"
    );
}

#[test]
fn invalid_configuration_is_refused_with_a_reason() {
    let mut c = base_cfg();
    c.priority = 0;
    let e = Group::new(
        c,
        ip(3),
        MacAddr::default(),
        Box::new(hsrp_user::fsm::NoJitter),
    )
    .unwrap_err();
    assert!(e.to_string().contains("priority 0"), "{e}");
    let mut c = base_cfg();
    c.timers = Some(Timers::from_millis(100, 200));
    let e = Group::new(
        c,
        ip(3),
        MacAddr::default(),
        Box::new(hsrp_user::fsm::NoJitter),
    )
    .unwrap_err();
    assert!(e.to_string().contains("3 x hello"), "{e}");
    let mut c = GroupConfig::new(300, Version::V1);
    c.vip = Some(ip(1));
    assert!(Group::new(
        c,
        ip(3),
        MacAddr::default(),
        Box::new(hsrp_user::fsm::NoJitter)
    )
    .is_err());
    // At run time, an invalid config is refused and the old one kept.
    let (mut g, _) = running(base_cfg());
    let mut bad = base_cfg();
    bad.priority = 0;
    let actions = g.handle(Time::from_secs(1), Event::ConfigChange(Box::new(bad)));
    assert!(matches!(&actions[..], [Action::ConfigRejected { .. }]));
    assert_eq!(g.priority(), 100);
}

#[test]
fn ipv6_group_elects_by_link_local_and_uses_the_v6_vmac() {
    let ll = |x: u16| IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, x));
    let mut c = GroupConfig::new(16, Version::V2);
    c.vip = Some(ll(0x100));
    let mut g = Group::new(
        c,
        ll(2),
        MacAddr::default(),
        Box::new(hsrp_user::fsm::NoJitter),
    )
    .unwrap();
    assert_eq!(
        g.virtual_mac(),
        MacAddr([0x00, 0x05, 0x73, 0xa0, 0x00, 0x10])
    );
    g.handle(Time::ZERO, Event::InterfaceUp);
    g.handle(Time::from_secs(10), Event::Timer);
    assert_eq!(g.state(), State::Speak);
    // Same priority, higher link-local: we yield.
    let mut m = msg(Opcode::Hello, State::Speak, 100, 3000, 10000, 16, true);
    m.vip = Some(ll(0x100));
    g.handle(
        Time::from_secs(11),
        Event::Received {
            from: ll(3),
            msg: m.clone(),
        },
    );
    assert_eq!(g.state(), State::Listen);
}

/// The peer changes a group reports, in order: (role, from, to).
fn peer_changes(actions: &[Action]) -> Vec<(PeerRole, Option<IpAddr>, Option<IpAddr>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::PeerChanged { role, from, to } => Some((*role, *from, *to)),
            _ => None,
        })
        .collect()
}

#[test]
fn new_and_lost_active_and_standby_routers_are_reported_once() {
    let mut cfg = base_cfg();
    cfg.preempt = None;
    cfg.priority = 50;
    let (mut g, _) = running(cfg);
    let active = msg(Opcode::Hello, State::Active, 200, 3000, 10000, 1, true);
    let standby = msg(Opcode::Hello, State::Standby, 150, 3000, 10000, 1, true);
    let heard = |g: &mut Group, s: u64, from: u8, m: &GroupMessage| {
        g.handle(
            Time::from_secs(s),
            Event::Received {
                from: ip(from),
                msg: m.clone(),
            },
        )
    };
    // A new Active, then a new Standby: one change each.
    let a = heard(&mut g, 1, 1, &active);
    assert_eq!(
        peer_changes(&a),
        vec![(PeerRole::Active, None, Some(ip(1)))]
    );
    let a = heard(&mut g, 1, 2, &standby);
    assert_eq!(
        peer_changes(&a),
        vec![(PeerRole::Standby, None, Some(ip(2)))]
    );
    // The same routers again, even with another priority: no change.
    assert!(peer_changes(&heard(&mut g, 2, 1, &active)).is_empty());
    let mut standby_lower = standby.clone();
    standby_lower.priority = 120;
    assert!(peer_changes(&heard(&mut g, 2, 2, &standby_lower)).is_empty());
    assert_eq!(g.state(), State::Listen);
    // The Active resigns: the Active role is vacated (the Standby takes it over when its
    // own Active hello is heard).
    let resign = msg(Opcode::Resign, State::Active, 200, 3000, 10000, 1, true);
    let a = heard(&mut g, 3, 1, &resign);
    assert_eq!(
        peer_changes(&a),
        vec![(PeerRole::Active, Some(ip(1)), None)]
    );
    let a = heard(
        &mut g,
        3,
        2,
        &msg(Opcode::Hello, State::Active, 150, 3000, 10000, 1, true),
    );
    assert_eq!(
        peer_changes(&a),
        vec![
            (PeerRole::Active, None, Some(ip(2))),
            (PeerRole::Standby, Some(ip(2)), None)
        ]
    );
    // Nothing more is heard: the Active is lost when its hold time (10 s) runs out, and this
    // router, alone, ends up Active itself; each step is reported once.
    let mut changes = Vec::new();
    let mut now = Time::from_secs(3);
    for _ in 0..20 {
        let Some(d) = g.next_deadline() else { break };
        now = d;
        changes.extend(peer_changes(&g.handle(now, Event::Timer)));
        if g.state() == State::Active {
            break;
        }
    }
    assert_eq!(g.state(), State::Active, "at {now}");
    assert_eq!(changes, vec![(PeerRole::Active, Some(ip(2)), None)]);
}

#[test]
fn aligned_hellos_of_different_groups_share_grid_points_within_the_jitter_range() {
    // Two lone groups started at odd moments, each with its own random source: every
    // hello deadline lies in [80 %, 100 %] of the hello after the hello that set it, on
    // the common 4 ms grid of 100 ms hellos, so the two groups' hellos meet on it.
    let seeds = [0x9e37_79b9u32, 0x7f4a_7c15u32];
    let mut deadlines: Vec<std::collections::BTreeSet<Time>> = Vec::new();
    for (n, start_us) in [(0usize, 1_234u64), (1, 77_777)] {
        let mut cfg = base_cfg();
        cfg.group = u16::try_from(n + 1).unwrap();
        cfg.timers = Some(Timers {
            hello: Duration::from_millis(100),
            hold: Duration::from_millis(300),
        });
        let mut state = seeds[n];
        let rng = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut g = Group::new(cfg, ip(3), MacAddr([2, 0, 0, 0, 0, 3]), Box::new(rng)).unwrap();
        g.align_hellos();
        let start = Time::from_duration(Duration::from_micros(start_us));
        g.handle(start, Event::InterfaceUp);
        // When the group sent hellos as Active, after its first (sent at the change).
        let mut sent_at: Vec<Time> = Vec::new();
        for _ in 0..400 {
            let next = g.next_deadline().expect("a running group has a deadline");
            let was_active = g.state() == State::Active;
            let hello = g
                .handle(next, Event::Timer)
                .iter()
                .any(|a| matches!(a, Action::Send { msg, .. } if msg.opcode == Opcode::Hello));
            if hello && was_active {
                sent_at.push(next);
            }
        }
        for w in sent_at.windows(2) {
            let wait = w[1].saturating_since(w[0]);
            assert!(
                (Duration::from_millis(80)..=Duration::from_millis(98)).contains(&wait),
                "group {}: hello after {wait:?}",
                n + 1
            );
        }
        for at in &sent_at[1..] {
            assert_eq!(at.as_duration().as_micros() % 4_000, 0, "{at:?}");
        }
        let seen: std::collections::BTreeSet<Time> = sent_at[1..].iter().copied().collect();
        assert!(seen.len() > 100, "group {}: {} hellos", n + 1, seen.len());
        deadlines.push(seen);
    }
    let shared = deadlines[0].intersection(&deadlines[1]).count();
    assert!(shared > 10, "only {shared} common hello instants");
}
