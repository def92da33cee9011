//! Properties of `bfd::Session` under arbitrary input: any sequence of packets (arbitrary
//! bytes through the codec, or well-formed packets with arbitrary fields), timer wake-ups,
//! admin and configuration events never panics; every packet it sends is valid and parses
//! back; P and F are never set together; outside Up it never advertises a TX below 1 s;
//! and a detection expiry never comes earlier than the detection time after the last
//! packet received (driver stalls only ever defer it).

use std::num::NonZeroU32;
use std::time::Duration;

use hsrp_user::bfd::{Action, Event, Session, SessionConfig, SLOW_TX_INTERVAL};
use hsrp_user::fsm::Time;
use hsrp_user::wire::bfd::{Diag, Packet, Repr, State};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Input {
    Bytes(Vec<u8>),
    Packet {
        state: u8,
        flags: u8,
        mult: u8,
        your_is_ours: bool,
        tx_us: u32,
        rx_us: u32,
    },
    Timer,
    AdminDown,
    AdminUp,
    Reconfigure(u32, u32, u8),
    /// The driver was stalled for this many µs before now.
    Stalled(u32),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Input::Bytes),
        (
            0u8..4,
            any::<u8>(),
            1u8..6,
            any::<bool>(),
            0u32..200_000,
            0u32..200_000
        )
            .prop_map(
                |(state, flags, mult, your_is_ours, tx_us, rx_us)| Input::Packet {
                    state,
                    flags,
                    mult,
                    your_is_ours,
                    tx_us,
                    rx_us
                }
            ),
        Just(Input::Timer),
        Just(Input::Timer),
        Just(Input::Timer),
        Just(Input::AdminDown),
        Just(Input::AdminUp),
        (0u32..100_000, 0u32..100_000, 0u8..5).prop_map(|(a, b, c)| Input::Reconfigure(a, b, c)),
        (0u32..60_000).prop_map(Input::Stalled),
    ]
}

const LOCAL: u32 = 0x1234;

fn packet_bytes(state: u8, flags: u8, mult: u8, your: u32, tx: u32, rx: u32) -> [u8; 24] {
    let mut b = [0u8; 24];
    let mut p = Packet::new_unchecked(&mut b[..]);
    p.set_version_diag(1, 0);
    // Never A or M (those are refused by the codec, covered by the Bytes inputs).
    p.set_state_flags(state, flags & 0x3a);
    p.set_detect_mult(mult);
    p.set_length(24);
    p.set_my_discriminator(0x9999);
    p.set_your_discriminator(your);
    p.set_desired_min_tx(tx);
    p.set_required_min_rx(rx);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn session_invariants(
        inputs in proptest::collection::vec((input(), 0u64..40_000), 1..200),
        seed in any::<u32>(),
    ) {
        let cfg = SessionConfig {
            desired_min_tx: Duration::from_millis(10),
            required_min_rx: Duration::from_millis(10),
            detect_mult: 3,
        };
        let mut rng = seed;
        let jitter = move || {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            rng
        };
        let mut s = Session::new(cfg, NonZeroU32::new(LOCAL).unwrap(), Box::new(jitter)).unwrap();
        let mut now = Time::ZERO;
        // (time of the last accepted packet, detection time right after it)
        let mut last_rx: Option<(Time, Duration)> = None;
        for (inp, advance_us) in inputs {
            now += Duration::from_micros(advance_us);
            let event = match inp {
                Input::Bytes(b) => match Packet::new_checked(&b[..]).and_then(|p| Repr::parse(&p)) {
                    Ok(r) => Event::Received(r),
                    Err(_) => continue,
                },
                Input::Packet { state, flags, mult, your_is_ours, tx_us, rx_us } => {
                    let your = if your_is_ours { LOCAL } else if state < 2 { 0 } else { 77 };
                    let b = packet_bytes(state, flags, mult, your, tx_us, rx_us);
                    Event::Received(Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap())
                }
                Input::Timer => match s.next_deadline() {
                    // Wake at the deadline (or now, if it passed): what a driver does.
                    Some(d) => { now = now.max(d); Event::Timer }
                    None => Event::Timer,
                },
                Input::AdminDown => Event::AdminDown,
                Input::AdminUp => Event::AdminUp,
                Input::Reconfigure(tx, rx, m) => Event::Reconfigure(SessionConfig {
                    desired_min_tx: Duration::from_micros(tx.into()),
                    required_min_rx: Duration::from_micros(rx.into()),
                    detect_mult: m,
                }),
                Input::Stalled(us) => Event::Stalled {
                    since: Time::from_duration(
                        now.as_duration().saturating_sub(Duration::from_micros(us.into())),
                    ),
                },
            };
            let is_timer = event == Event::Timer;
            let rx_before = s.counters().rx;
            let acts = s.handle(now, event);
            if s.counters().rx > rx_before {
                last_rx = Some((now, s.detection_time()));
            }
            for a in acts {
                match a {
                    Action::Send(r) => {
                        prop_assert!(!(r.poll && r.final_), "P and F together");
                        prop_assert_eq!(r.my_discriminator, LOCAL);
                        prop_assert_eq!(r.state, s.state());
                        prop_assert_eq!(r.required_min_echo_rx, 0);
                        prop_assert!(!r.demand);
                        if r.state != State::Up {
                            prop_assert!(u128::from(r.desired_min_tx) >= SLOW_TX_INTERVAL.as_micros());
                        }
                        let b = r.to_bytes();
                        let back = Repr::parse(&Packet::new_checked(&b[..]).unwrap());
                        prop_assert_eq!(back, Ok(r));
                    }
                    Action::StateChange { diag: Diag::ControlDetectionExpired, to, .. } => {
                        prop_assert_eq!(to, State::Down);
                        let (t, dt) = last_rx.expect("expiry with nothing received");
                        prop_assert!(now.saturating_since(t) >= dt,
                            "expired at {} after a packet at {} (detection {:?})", now, t, dt);
                    }
                    Action::StateChange { .. } | Action::ConfigRejected(_) => {}
                }
            }
            if is_timer {
                // After a wake-up nothing is left due: no busy loop for the driver.
                if let Some(d) = s.next_deadline() {
                    prop_assert!(d > now, "deadline {} not after now {}", d, now);
                }
            }
        }
    }
}
