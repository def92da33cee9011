//! Two BFD sessions over a simulated link in virtual time (`sim::bfd::BfdLink`): the
//! three-way handshake, negotiation, staying Up through loss below the multiplier, detection
//! within the detection time when the link dies, recovery, Poll/Final and AdminDown.

use std::time::Duration;

use hsrp_user::bfd::{Event, SessionConfig, SLOW_TX_INTERVAL};
use hsrp_user::fsm::Time;
use hsrp_user::sim::bfd::BfdLink;
use hsrp_user::wire::bfd::{Diag, State};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn cfg(tx: u64, rx: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: ms(tx),
        required_min_rx: ms(rx),
        detect_mult: mult,
    }
}

fn both_up(l: &BfdLink) -> bool {
    l.state(0) == State::Up && l.state(1) == State::Up
}

/// Every Down caused by silence happened exactly one detection time after the last packet
/// that side received: never earlier.
fn check_detections(l: &BfdLink) {
    for c in &l.changes {
        if c.diag == Diag::ControlDetectionExpired && c.to == State::Down {
            let last = c.last_rx.expect("detection without any packet received");
            assert!(
                c.time.saturating_since(last) >= c.detection_time,
                "side {} declared Down at {} after a packet at {} (detection time {:?})",
                c.side,
                c.time,
                last,
                c.detection_time
            );
        }
    }
}

#[test]
fn handshake_then_fast_intervals() {
    let mut l = BfdLink::new(1, cfg(10, 10, 3), cfg(20, 15, 4)).unwrap();
    l.set_delay(ms(1));
    // Slow start: both send at once (t = 0), the handshake needs one packet each way plus
    // one more; everything before Up goes at 1 s.
    l.run_until(Time::from_millis(5));
    assert!(both_up(&l), "changes: {:?}", l.changes);
    let first: Vec<_> = l.sent.iter().take(2).map(|p| p.repr).collect();
    for r in &first {
        assert_eq!(r.state, State::Down);
        assert_eq!(r.your_discriminator, 0);
        assert_eq!(u128::from(r.desired_min_tx), SLOW_TX_INTERVAL.as_micros());
    }
    // After Up: a Poll Sequence moves each side to its fast TX.
    l.run_for(ms(500));
    assert!(both_up(&l));
    let a = l.sessions[0].status();
    let b = l.sessions[1].status();
    assert!(!a.polling && !b.polling);
    // A sends at max(10, B's rx 15) = 15 ms; B at max(20, A's rx 10) = 20 ms.
    assert_eq!(a.tx_interval, Some(ms(15)));
    assert_eq!(b.tx_interval, Some(ms(20)));
    // A detects with B's multiplier 4 x max(A's rx 10, B's tx 20) = 80 ms; B with 3 x
    // max(15, 10) = 45 ms.
    assert_eq!(a.detection_time, ms(80));
    assert_eq!(b.detection_time, ms(45));
    assert_eq!(a.remote_discriminator, b.local_discriminator);
    assert_eq!(b.remote_discriminator, a.local_discriminator);
    // Packets from A in the last 400 ms: 75-100 % of 15 ms apart (jitter, §6.8.7).
    let times: Vec<Time> = l
        .sent
        .iter()
        .filter(|p| p.side == 0 && p.time >= Time::from_millis(100) && !p.repr.final_)
        .map(|p| p.time)
        .collect();
    assert!(times.len() > 20);
    for w in times.windows(2) {
        let gap = w[1].saturating_since(w[0]);
        assert!(gap > ms(15) * 3 / 4 && gap <= ms(15), "gap {gap:?}");
    }
    assert_eq!(l.parse_errors, 0);
}

#[test]
fn stays_up_with_loss_below_the_multiplier_then_detects_death_and_recovers() {
    let mut l = BfdLink::new(7, cfg(10, 10, 3), cfg(10, 10, 3)).unwrap();
    l.set_delay(ms(1));
    l.run_until(Time::from_secs(1));
    assert!(both_up(&l));
    // 40 % loss, but never two packets in a row: the gap between deliveries stays below
    // 2 x 10 ms < 30 ms detection time, so the session must never drop.
    l.set_loss(0.4, Some(1));
    l.run_until(Time::from_secs(61));
    let lost = l.sent.iter().filter(|p| p.lost).count();
    assert!(lost > 1000, "only {lost} packets lost");
    assert!(
        l.changes.iter().all(|c| c.time < Time::from_secs(1)),
        "{:?}",
        l.changes
    );
    // The link dies: both sides go Down with diag 1, exactly one detection time after
    // their last received packet, so within 30 ms (+1 ms delay) of the cut.
    l.set_loss(0.0, None);
    l.set_link(false);
    let cut = l.now();
    l.run_for(ms(100));
    for side in 0..2 {
        let c = l
            .changes
            .iter()
            .find(|c| c.side == side && c.time >= cut)
            .unwrap();
        assert_eq!(
            (c.from, c.to, c.diag),
            (State::Up, State::Down, Diag::ControlDetectionExpired)
        );
        assert_eq!(c.time.saturating_since(c.last_rx.unwrap()), ms(30));
        assert!(c.time.saturating_since(cut) <= ms(31));
    }
    // Back: the slow start (1 s, jittered) brings both Up within two slow intervals.
    l.set_link(true);
    let back = l.now();
    l.run_for(ms(2100));
    assert!(
        both_up(&l),
        "{:?}",
        &l.changes[l.changes.len().saturating_sub(6)..]
    );
    let up_again = l
        .changes
        .iter()
        .filter(|c| c.time >= back && c.to == State::Up)
        .count();
    assert_eq!(up_again, 2);
    check_detections(&l);
    assert_eq!(l.parse_errors, 0);
}

/// Random loss of any pattern over many seeds: sessions may flap, but no detection is ever
/// earlier than the detection time, and they always come back once the loss stops.
#[test]
fn random_loss_never_detects_early() {
    for seed in 0..20 {
        let mut l = BfdLink::new(seed, cfg(10, 10, 2), cfg(15, 10, 3)).unwrap();
        l.set_delay(ms(2));
        l.set_loss(0.3, None);
        l.run_until(Time::from_secs(20));
        check_detections(&l);
        l.set_loss(0.0, None);
        l.run_for(ms(3000));
        assert!(both_up(&l), "seed {seed}");
    }
}

#[test]
fn interval_change_goes_through_poll_final() {
    let mut l = BfdLink::new(3, cfg(10, 10, 3), cfg(10, 10, 3)).unwrap();
    l.run_until(Time::from_secs(1));
    assert!(both_up(&l));
    let mark = l.sent.len();
    // A slows its TX to 50 ms and RX to 40 ms.
    l.event(0, Event::Reconfigure(cfg(50, 40, 3)));
    // Until B's Final, A keeps the old (faster) TX and B the old detection time.
    assert!(l.sessions[0].status().polling);
    l.run_for(ms(200));
    let seq: Vec<_> = l.sent[mark..].iter().collect();
    let poll = seq.iter().position(|p| p.side == 0 && p.repr.poll).unwrap();
    assert_eq!(seq[poll].repr.desired_min_tx, 50_000);
    assert_eq!(seq[poll].repr.required_min_rx, 40_000);
    let fin = seq
        .iter()
        .position(|p| p.side == 1 && p.repr.final_)
        .unwrap();
    assert!(fin > poll);
    assert!(!seq[fin].repr.poll, "F and P in one packet");
    // After the Final A polls no more.
    assert!(seq[fin + 1..]
        .iter()
        .filter(|p| p.side == 0)
        .all(|p| !p.repr.poll));
    let a = l.sessions[0].status();
    let b = l.sessions[1].status();
    assert!(!a.polling);
    assert_eq!(a.tx_interval, Some(ms(50)));
    // B sends at max(10, A's new rx 40); A detects with 3 x max(40, 10) = 120 ms.
    assert_eq!(b.tx_interval, Some(ms(40)));
    assert_eq!(a.detection_time, ms(120));
    assert_eq!(b.detection_time, ms(150));
    assert!(both_up(&l));
    assert!(l.changes.iter().all(|c| c.time < Time::from_secs(1)));
}

#[test]
fn admin_down_is_honoured_and_not_a_failure() {
    let mut l = BfdLink::new(5, cfg(10, 10, 3), cfg(10, 10, 3)).unwrap();
    l.run_until(Time::from_secs(1));
    assert!(both_up(&l));
    l.event(1, Event::AdminDown);
    l.run_for(ms(500));
    assert_eq!(l.state(1), State::AdminDown);
    assert_eq!(l.state(0), State::Down);
    let a_down = l
        .changes
        .iter()
        .find(|c| c.side == 0 && c.to == State::Down)
        .unwrap();
    assert_eq!(a_down.diag, Diag::NeighborSignaledDown);
    assert_eq!(l.sessions[0].counters().detection_expiries, 0);
    // A stays Down (no flapping to Init) while B is AdminDown.
    assert!(l
        .changes
        .iter()
        .filter(|c| c.side == 0)
        .all(|c| c.to != State::Init || c.time < Time::from_secs(1)));
    l.event(1, Event::AdminUp);
    l.run_for(ms(2100));
    assert!(both_up(&l));
}

#[test]
fn peer_saying_down_takes_up_session_down_with_diag_3() {
    // B's detection is so short that with A silent for a while B drops, then A hears
    // B's Down while still Up itself.
    let mut l = BfdLink::new(9, cfg(10, 10, 3), cfg(10, 10, 3)).unwrap();
    l.run_until(Time::from_secs(1));
    assert!(both_up(&l));
    l.sessions[0] = hsrp_user::bfd::Session::new(
        cfg(10, 10, 3),
        std::num::NonZeroU32::new(0x0c0c_0003).unwrap(),
        Box::new(hsrp_user::fsm::NoJitter),
    )
    .unwrap();
    // A restarted with a new discriminator: B drops A's packets (Your Discr 0 accepted,
    // state Down) and goes Down with diag 3 at once.
    l.run_for(ms(5));
    let b_down = l
        .changes
        .iter()
        .find(|c| c.side == 1 && c.to == State::Down)
        .unwrap();
    assert_eq!(b_down.diag, Diag::NeighborSignaledDown);
    l.run_for(ms(3000));
    assert!(both_up(&l));
}
