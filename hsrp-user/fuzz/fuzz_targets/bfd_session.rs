//! Fuzz BFD: the codec (`wire::bfd`) on the raw input, then a `bfd::Session` driven by the
//! input read as a script of packets, timer wake-ups, admin and configuration events.
//! Invariants: no panic; whatever parses re-encodes to itself; every packet the session
//! sends parses back unchanged, never has P and F together and carries its own state;
//! a deadline is never left in the past after a wake-up.
#![no_main]

use std::num::NonZeroU32;
use std::time::Duration;

use hsrp_user::bfd::{Action, Event, Session, SessionConfig};
use hsrp_user::fsm::{NoJitter, Time};
use hsrp_user::wire::bfd::{Packet, Repr, PACKET_LEN};
use libfuzzer_sys::fuzz_target;

const ME: u32 = 0x1234;

fn parse(b: &[u8]) -> Option<Repr> {
    Packet::new_checked(b).and_then(|p| Repr::parse(&p)).ok()
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (a, b) = rest.split_at(n.min(rest.len()));
    *rest = b;
    a
}

fuzz_target!(|data: &[u8]| {
    if let Some(r) = parse(data) {
        assert_eq!(parse(&r.to_bytes()), Some(r), "parse(emit(r)) != r");
    }

    let cfg = SessionConfig {
        desired_min_tx: Duration::from_millis(10),
        required_min_rx: Duration::from_millis(10),
        detect_mult: 3,
    };
    let mut s = Session::new(cfg, NonZeroU32::new(ME).unwrap(), Box::new(NoJitter)).unwrap();
    let mut now = Time::ZERO;
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let event = match op % 6 {
            // A packet of 24-31 bytes; op 1 addresses it to us (Your Discriminator).
            k @ (0 | 1) => {
                let n = PACKET_LEN + usize::from(op / 6) % 8;
                let mut b = take(&mut rest, n).to_vec();
                if k == 1 && b.len() >= 12 {
                    b[8..12].copy_from_slice(&ME.to_be_bytes());
                }
                match parse(&b) {
                    Some(r) => Event::Received(r),
                    None => continue,
                }
            }
            2 => {
                let b = take(&mut rest, 2);
                let us = b.iter().fold(0u64, |a, x| a << 8 | u64::from(*x));
                now += Duration::from_micros(us * 16);
                Event::Timer
            }
            3 => Event::AdminDown,
            4 => Event::AdminUp,
            _ => {
                let b = take(&mut rest, 5);
                let get = |i: usize| b.get(i).copied().unwrap_or(0);
                Event::Reconfigure(SessionConfig {
                    desired_min_tx: Duration::from_micros(u64::from(get(0)) << 8 | u64::from(get(1))),
                    required_min_rx: Duration::from_micros(u64::from(get(2)) << 8 | u64::from(get(3))),
                    detect_mult: get(4),
                })
            }
        };
        let is_timer = event == Event::Timer;
        for a in s.handle(now, event) {
            if let Action::Send(r) = a {
                assert!(!(r.poll && r.final_), "P and F together");
                assert_eq!(r.state, s.state());
                assert_eq!(parse(&r.to_bytes()), Some(r), "own packet does not parse");
            }
        }
        if is_timer {
            if let Some(d) = s.next_deadline() {
                assert!(d > now, "deadline {d} left in the past at {now}");
            }
        }
    }
});
