//! Replays of real Cisco captures: the other routers' messages are fed to a local group
//! configured like one of the captured routers, and the transitions that router made (as
//! its own packets show) must be reproduced. Our hellos must also be byte-identical to its.
//!
//! Transitions checked (times relative to the first packet of each capture):
//! - failover, as 192.168.0.20 (priority 100): up at 9.632 (its first Advertise) → Listen;
//!   Listen → Speak when the dead Active's (192.168.0.10) hold time runs out (captured
//!   Speak hello at 20.265); Speak → Standby a hold time later (captured 30.257); nothing else.
//! - election, as 192.168.0.30 (priority 100): Speak at 1.408 (its first captured hello;
//!   it came up before the capture, so it is started 10 s earlier), Speak → Listen on the
//!   priority-200 Speak hello at 3.024 (it falls silent), Listen → Speak when the Standby
//!   role is vacated (captured 20.037), Speak → Standby (captured 30.038); nothing else.
//! - coup, as 192.168.0.10 (priority 200, preempt): up at 20.685 (its first Advertise),
//!   Listen → Active by Coup on the first lower-priority Active hello (captured Coup at
//!   21.034, sent in state Listen from the interface MAC, then Hello(Active) from the vMAC).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::decode::{read_capture, CapturedPacket};
use hsrp_user::fsm::{Action, Event, Group, GroupConfig, NoJitter, Preempt, Time};
use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire;

mod captures;

/// Virtual time of the first packet (leaves room to start a group before it).
const BASE: Duration = Duration::from_secs(100);
/// Cisco's timers tick coarsely; captured transitions land within tens of ms of ours.
const TOLERANCE: f64 = 0.1;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 0, last))
}

struct Replay {
    /// (seconds since the first packet, from, to, reason)
    transitions: Vec<(f64, State, State, String)>,
    /// (seconds, message, from_vmac)
    sent: Vec<(f64, GroupMessage, bool)>,
    packets: Vec<CapturedPacket>,
    first: Duration,
}

impl Replay {
    fn rel(&self, p: &CapturedPacket) -> f64 {
        (p.time - self.first).as_secs_f64()
    }

    /// Captured group messages of `who`: (seconds, message, payload, source MAC).
    fn captured(&self, who: IpAddr) -> Vec<(f64, GroupMessage, Vec<u8>, MacAddr)> {
        self.packets
            .iter()
            .filter(|p| p.src_ip == who)
            .filter_map(
                |p| match wire::decode_payload(&p.payload, &Auth::DefaultText) {
                    Ok(wire::Decoded::Group(m)) => {
                        Some((self.rel(p), m, p.payload.clone(), p.src_mac))
                    }
                    _ => None,
                },
            )
            .collect()
    }
}

fn replay(file: &str, cfg: GroupConfig, local: IpAddr, up_at: f64) -> Replay {
    let path = captures::path(file);
    let packets = read_capture(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    assert!(!packets.is_empty(), "{}: no HSRP packets", path.display());
    let first = packets[0].time;
    let vt = |rel: f64| {
        if rel >= 0.0 {
            Time::from_duration(BASE + Duration::from_secs_f64(rel))
        } else {
            Time::from_duration(BASE - Duration::from_secs_f64(-rel))
        }
    };
    let secs = |t: Time| t.as_duration().as_secs_f64() - BASE.as_secs_f64();
    let mut g = Group::new(
        cfg,
        local,
        MacAddr([0xc2, 0, 0, 0, 0, 1]),
        Box::new(NoJitter),
    )
    .unwrap();
    let mut r = Replay {
        transitions: Vec::new(),
        sent: Vec::new(),
        packets: Vec::new(),
        first,
    };
    let record = |now: Time, actions: Vec<Action>, r: &mut Replay| {
        for a in actions {
            match a {
                Action::StateChanged { from, to, reason } => {
                    r.transitions.push((secs(now), from, to, reason))
                }
                Action::Send { msg, from_vmac } => r.sent.push((secs(now), msg, from_vmac)),
                _ => {}
            }
        }
    };
    let up = vt(up_at);
    let actions = g.handle(up, Event::InterfaceUp);
    record(up, actions, &mut r);
    let run_timers = |g: &mut Group, until: Time, r: &mut Replay| {
        for _ in 0..10_000 {
            match g.next_deadline() {
                Some(d) if d <= until => {
                    let actions = g.handle(d, Event::Timer);
                    record(d, actions, r);
                }
                _ => return,
            }
        }
        panic!("timers do not settle");
    };
    for p in &packets {
        let t = vt((p.time - first).as_secs_f64());
        if t < up || p.src_ip == local {
            continue;
        }
        run_timers(&mut g, t, &mut r);
        if let Ok(wire::Decoded::Group(msg)) = wire::decode_payload(&p.payload, &Auth::DefaultText)
        {
            let actions = g.handle(
                t,
                Event::Received {
                    from: p.src_ip,
                    msg,
                },
            );
            record(t, actions, &mut r);
        }
    }
    let end = vt((packets.last().unwrap().time - first).as_secs_f64());
    run_timers(&mut g, end, &mut r);
    r.packets = packets;
    r
}

fn v1_cfg(priority: u8, preempt: bool) -> GroupConfig {
    let mut c = GroupConfig::new(1, Version::V1);
    c.vip = Some(ip(1));
    c.priority = priority;
    c.preempt = preempt.then(Preempt::default);
    c
}

fn assert_transitions(r: &Replay, expected: &[(f64, State, State)]) {
    let got: Vec<_> = r
        .transitions
        .iter()
        .map(|(t, f, to, _)| (*t, *f, *to))
        .collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "transitions: {:#?}",
        r.transitions
    );
    for ((t, f, to), (et, ef, eto)) in got.iter().zip(expected) {
        assert_eq!((f, to), (ef, eto), "transitions: {:#?}", r.transitions);
        assert!(
            (t - et).abs() <= TOLERANCE,
            "{f} -> {to} at {t:.3}, captured {et:.3}"
        );
    }
}

/// Our first hello in `state` encodes to exactly the captured router's payload.
fn assert_same_bytes(r: &Replay, who: IpAddr, opcode: Opcode, state: State) {
    let (_, ours, _) = r
        .sent
        .iter()
        .find(|(_, m, _)| m.opcode == opcode && m.state == state)
        .unwrap();
    let (_, _, theirs, _) = r
        .captured(who)
        .into_iter()
        .find(|(_, m, _, _)| m.opcode == opcode && m.state == state)
        .unwrap();
    let mut buf = [0u8; 64];
    let n = wire::encode_group(ours, &Auth::DefaultText, who, &mut buf).unwrap();
    assert_eq!(&buf[..n], &theirs[..], "{opcode:?} {state}");
}

#[test]
fn failover_as_the_listen_router() {
    let me = ip(20);
    let r = replay(
        "tcpdump_HSRP_failover.pcap",
        v1_cfg(100, false),
        me,
        9.632275,
    );
    let cap = r.captured(me);
    let speak = cap
        .iter()
        .find(|(_, m, _, _)| m.state == State::Speak)
        .unwrap()
        .0;
    let standby = cap
        .iter()
        .find(|(_, m, _, _)| m.state == State::Standby)
        .unwrap()
        .0;
    assert_transitions(
        &r,
        &[
            (9.632, State::Initial, State::Listen),
            (speak, State::Listen, State::Speak),
            (standby, State::Speak, State::Standby),
        ],
    );
    assert!(r.transitions[1]
        .3
        .starts_with("active timer expired (hold 10000 ms, Active was 192.168.0.10)"));
    assert_same_bytes(&r, me, Opcode::Hello, State::Speak);
    assert_same_bytes(&r, me, Opcode::Hello, State::Standby);
}

#[test]
fn election_as_the_second_router() {
    let me = ip(30);
    let cap_first = 1.408046;
    let r = replay(
        "tcpdump_HSRP_election.pcap",
        v1_cfg(100, false),
        me,
        cap_first - 10.0,
    );
    let cap = r.captured(me);
    assert!((cap[0].0 - cap_first).abs() < 1e-6 && cap[0].1.state == State::Speak);
    let speak_again = cap
        .iter()
        .find(|(t, m, _, _)| *t > 10.0 && m.state == State::Speak)
        .unwrap()
        .0;
    let standby = cap
        .iter()
        .find(|(_, m, _, _)| m.state == State::Standby)
        .unwrap()
        .0;
    // It is silent between its first hello and `speak_again`: it was in Listen.
    assert!(cap
        .iter()
        .all(|(t, _, _, _)| *t <= cap_first + 1e-6 || *t >= speak_again));
    assert_transitions(
        &r,
        &[
            (cap_first - 10.0, State::Initial, State::Listen),
            (cap_first, State::Listen, State::Speak),
            (3.024169, State::Speak, State::Listen),
            (speak_again, State::Listen, State::Speak),
            (standby, State::Speak, State::Standby),
        ],
    );
    assert!(r.transitions[2]
        .3
        .contains("higher-priority Speak router 192.168.0.10 (priority 200)"));
    assert_same_bytes(&r, me, Opcode::Hello, State::Speak);
    assert_same_bytes(&r, me, Opcode::Hello, State::Standby);
}

#[test]
fn coup_as_the_preempting_router() {
    let me = ip(10);
    let r = replay("tcpdump_HSRP_coup.pcap", v1_cfg(200, true), me, 20.684605);
    let cap = r.captured(me);
    let (coup_t, coup, _, coup_mac) = cap
        .iter()
        .find(|(_, m, _, _)| m.opcode == Opcode::Coup)
        .unwrap()
        .clone();
    assert_eq!(coup.state, State::Listen);
    assert_transitions(
        &r,
        &[
            (20.685, State::Initial, State::Listen),
            (coup_t, State::Listen, State::Active),
        ],
    );
    // Coup from the interface MAC, in state Listen; then Hello(Active) from the vMAC.
    let coup_ours = r
        .sent
        .iter()
        .position(|(_, m, _)| m.opcode == Opcode::Coup)
        .unwrap();
    assert!(!r.sent[coup_ours].2 && coup_mac != MacAddr([0, 0, 0x0c, 0x07, 0xac, 0x01]));
    let hello = &r.sent[coup_ours + 1];
    assert_eq!(
        (hello.1.opcode, hello.1.state, hello.2),
        (Opcode::Hello, State::Active, true)
    );
    let captured_active = cap
        .iter()
        .find(|(_, m, _, _)| m.state == State::Active)
        .unwrap();
    assert_eq!(captured_active.3, MacAddr([0, 0, 0x0c, 0x07, 0xac, 0x01]));
    assert_same_bytes(&r, me, Opcode::Coup, State::Listen);
    assert_same_bytes(&r, me, Opcode::Hello, State::Active);
}
